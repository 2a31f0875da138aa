package io.leviathan.backend.cpu;

import io.leviathan.backend.RopeChecks;
import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;
import static io.leviathan.backend.cpu.CpuReductions.rowGrain;

import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * Rotary position embedding, rotate-half convention (Hugging Face LLaMA), on {@code x [B, T, H, Dh]}. With
 * {@code h = Dh/2} and {@code (c, s)} the cos and sin of {@code t * theta^(-2i/Dh)} from row {@code t} of
 * the tables, for {@code i < h}:
 * <pre>
 *   out[i]     = x[i] * c - x[i+h] * s
 *   out[i+h]   = x[i+h] * c + x[i] * s
 * </pre>
 * The backward is the rotation by the negative angle. Every {@code Dh}-row is independent, so {@code out}
 * may be {@code x}.
 */
final class CpuRope {
    private CpuRope() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    static void rope(Parallel par, Tensor x, Tensor cos, Tensor sin, Tensor out) {
        RopeChecks.rotation("rope", "x", x, cos, sin, "out", out);
        rotateAll(par, x, cos, sin, out, FORWARD);
    }

    /**
     * Backward of rope: adds the rotation by the negative angle to {@code dX}, or with {@code accumulate} false
     * writes it there as if added to zeros (the same bits, without reading or zeroing {@code dX} first).
     */
    static void ropeBackward(Parallel par, Tensor dOut, Tensor cos, Tensor sin, Tensor dX, boolean accumulate) {
        RopeChecks.rotation("ropeBackward", "dOut", dOut, cos, sin, "dX", dX);
        rotateAll(par, dOut, cos, sin, dX, accumulate ? BACK_ADD : BACK_WRITE);
    }

    /** The three rotations {@link #rotateAll} runs: the forward's, and the backward's added or written. */
    private static final int FORWARD = 0, BACK_ADD = 1, BACK_WRITE = 2;

    /**
     * Rotates every {@code Dh}-row of {@code src} by its angle into {@code dst} ({@link #FORWARD}), or by the
     * negative angle, added to {@code dst} ({@link #BACK_ADD}) or written over it ({@link #BACK_WRITE}).
     */
    private static void rotateAll(Parallel par, Tensor src, Tensor cos, Tensor sin, Tensor dst, int how) {
        long t = src.size(1);
        long heads = src.size(2);
        long dh = src.size(3);
        long rows = src.numel() / Math.max(dh, 1);
        RotateJob job = JOBS.get();
        job.set(src.segment(CpuMemory.KEY), cos.segment(CpuMemory.KEY), sin.segment(CpuMemory.KEY),
                dst.segment(CpuMemory.KEY), t, heads, dh, how);
        try {
            par.forRange(rows, rowGrain(dh), job);
        } finally {
            job.clear(); // drop the segments so a closed arena's memory is not kept reachable
        }
    }

    private static final ThreadLocal<RotateJob> JOBS = ThreadLocal.withInitial(RotateJob::new);

    /**
     * The rows {@code [r0, r1)} of one rotation. A job object reused by the calling thread rather than a
     * capturing lambda, so the training step's rotations leave no garbage behind.
     */
    private static final class RotateJob implements Parallel.RangeBody {
        private MemorySegment sx, sc, ss, so;
        private long t, heads, dh;
        private int how;

        void set(MemorySegment sx, MemorySegment sc, MemorySegment ss, MemorySegment so, long t, long heads,
                 long dh, int how) {
            this.sx = sx;
            this.sc = sc;
            this.ss = ss;
            this.so = so;
            this.t = t;
            this.heads = heads;
            this.dh = dh;
            this.how = how;
        }

        void clear() {
            sx = sc = ss = so = null;
        }

        @Override
        public void run(long r0, long r1) {
            long half = dh / 2;
            for (long r = r0; r < r1; r++) {
                long pos = (r / heads) % t;
                if (how == FORWARD) {
                    rotateRow(sx, sc, ss, so, r * dh, pos * half, half);
                } else {
                    rotateRowBack(sx, sc, ss, so, r * dh, pos * half, half, how == BACK_ADD);
                }
            }
        }
    }

    /** {@code out[lo] = x[lo]*c - x[hi]*s; out[hi] = x[hi]*c + x[lo]*s} for one row. */
    static void rotateRow(MemorySegment x, MemorySegment cos, MemorySegment sin, MemorySegment out,
                          long off, long tab, long half) {
        long i = 0;
        for (; i + L <= half; i += L) {
            long lo = (off + i) * 4, hi = (off + half + i) * 4;
            FloatVector c = FloatVector.fromMemorySegment(F, cos, (tab + i) * 4, NO);
            FloatVector s = FloatVector.fromMemorySegment(F, sin, (tab + i) * 4, NO);
            FloatVector a = FloatVector.fromMemorySegment(F, x, lo, NO);
            FloatVector b = FloatVector.fromMemorySegment(F, x, hi, NO);
            a.mul(c).sub(b.mul(s)).intoMemorySegment(out, lo, NO);
            b.mul(c).add(a.mul(s)).intoMemorySegment(out, hi, NO);
        }
        for (; i < half; i++) {
            long lo = (off + i) * 4, hi = (off + half + i) * 4;
            float c = cos.get(F32, (tab + i) * 4), s = sin.get(F32, (tab + i) * 4);
            float a = x.get(F32, lo), b = x.get(F32, hi);
            out.set(F32, lo, a * c - b * s);
            out.set(F32, hi, b * c + a * s);
        }
    }

    /**
     * {@code dX[lo] += g[lo]*c + g[hi]*s; dX[hi] += g[hi]*c - g[lo]*s} for one row, or when not {@code accumulate}
     * the same sums with +0 in place of {@code dX} (so -0 comes out +0, as after zeroing).
     */
    static void rotateRowBack(MemorySegment g, MemorySegment cos, MemorySegment sin, MemorySegment dx,
                              long off, long tab, long half, boolean accumulate) {
        FloatVector zero = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= half; i += L) {
            long lo = (off + i) * 4, hi = (off + half + i) * 4;
            FloatVector c = FloatVector.fromMemorySegment(F, cos, (tab + i) * 4, NO);
            FloatVector s = FloatVector.fromMemorySegment(F, sin, (tab + i) * 4, NO);
            FloatVector a = FloatVector.fromMemorySegment(F, g, lo, NO);
            FloatVector b = FloatVector.fromMemorySegment(F, g, hi, NO);
            FloatVector dlo = accumulate ? FloatVector.fromMemorySegment(F, dx, lo, NO) : zero;
            FloatVector dhi = accumulate ? FloatVector.fromMemorySegment(F, dx, hi, NO) : zero;
            dlo.add(a.mul(c).add(b.mul(s))).intoMemorySegment(dx, lo, NO);
            dhi.add(b.mul(c).sub(a.mul(s))).intoMemorySegment(dx, hi, NO);
        }
        for (; i < half; i++) {
            long lo = (off + i) * 4, hi = (off + half + i) * 4;
            float c = cos.get(F32, (tab + i) * 4), s = sin.get(F32, (tab + i) * 4);
            float a = g.get(F32, lo), b = g.get(F32, hi);
            float dlo = accumulate ? dx.get(F32, lo) : 0f, dhi = accumulate ? dx.get(F32, hi) : 0f;
            dx.set(F32, lo, dlo + (a * c + b * s));
            dx.set(F32, hi, dhi + (b * c - a * s));
        }
    }

    /** {@code cos[t, i] = cos(t * theta^(-2i/Dh))}, likewise sin, computed in double; {@code Dh = 2 * cols}. */
    static void ropeTables(float theta, Tensor cos, Tensor sin) {
        RopeChecks.tables(theta, cos, sin);
        long maxT = cos.size(0);
        long half = cos.size(1);
        double dh = 2.0 * half;
        MemorySegment sc = cos.segment(CpuMemory.KEY), ss = sin.segment(CpuMemory.KEY);
        for (long i = 0; i < half; i++) {
            double invFreq = Math.pow(theta, -2.0 * i / dh);
            for (long t = 0; t < maxT; t++) {
                double angle = t * invFreq;
                sc.set(F32, (t * half + i) * 4, (float) Math.cos(angle));
                ss.set(F32, (t * half + i) * 4, (float) Math.sin(angle));
            }
        }
    }
}
