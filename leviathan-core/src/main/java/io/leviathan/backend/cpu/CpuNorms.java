package io.leviathan.backend.cpu;

import io.leviathan.backend.NormChecks;
import static io.leviathan.backend.cpu.CpuElementwise.ELEMENT_GRAIN;
import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;
import static io.leviathan.backend.cpu.CpuElementwise.sumLanes;
import static io.leviathan.backend.cpu.CpuReductions.rowGrain;

import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;

/**
 * RMSNorm and LayerNorm over the last dimension, rows of {@code C} elements. The forward saves per-row
 * statistics; the backward computes {@code dX} row by row in parallel, then {@code dWeight} (and
 * {@code dBias}) column block by column block, so no two threads write the same gradient element and the
 * result does not depend on the thread count. LayerNorm also has a grouped form: {@code x [G, M, C]} with a
 * gain and shift {@code [G, C]}, one row of them per group (the Leviathan generator's heads); its parameter
 * gradients are split by (group, column block).
 */
final class CpuNorms {
    private CpuNorms() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;

    // ================================================================ RMSNorm: out = x * rstd * w
    //                                                                   rstd = 1 / sqrt(mean(x^2) + eps)

    static void rmsNorm(Parallel par, Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        long c = NormChecks.rmsNorm(x, weight, out, rstd);
        RmsNormJob job = RMS_JOBS.get();
        job.set(RmsNormJob.FORWARD, c, 0, eps, x.segment(CpuMemory.KEY), weight.segment(CpuMemory.KEY),
                rstd.segment(CpuMemory.KEY), out.segment(CpuMemory.KEY), null, null);
        try {
            par.forRange(rstd.numel(), rowGrain(c), job);
        } finally {
            job.clear();
        }
    }

    /**
     * With {@code xhat = x * rstd}: {@code dX += rstd * (dOut*w - xhat * mean(dOut*w*xhat))}, which is
     * {@code rstd*dOut*w - (rstd^3 * sum(dOut*w*x) / C) * x}; {@code dWeight += sum_rows dOut * xhat}.
     */
    static void rmsNormBackward(Parallel par, Tensor dOut, Tensor x, Tensor weight, Tensor rstd,
                                Tensor dX, Tensor dWeight) {
        long c = NormChecks.rmsNormBackward(dOut, x, weight, rstd, dX, dWeight);
        long rows = rstd.numel();
        RmsNormJob job = RMS_JOBS.get();
        job.set(RmsNormJob.BACKWARD_ROWS, c, rows, 0f, x.segment(CpuMemory.KEY), weight.segment(CpuMemory.KEY),
                rstd.segment(CpuMemory.KEY), dX.segment(CpuMemory.KEY), dOut.segment(CpuMemory.KEY),
                dWeight.segment(CpuMemory.KEY));
        try {
            par.forRange(rows, rowGrain(c), job);
            // The weight gradient by column blocks (see columnBlockGrain).
            job.pass = RmsNormJob.WEIGHT_GRAD;
            par.forRange((c + L - 1) / L, columnBlockGrain(rows), job);
        } finally {
            job.clear();
        }
    }

    private static final ThreadLocal<RmsNormJob> RMS_JOBS = ThreadLocal.withInitial(RmsNormJob::new);

    /**
     * One pass of RMSNorm over {@code [start, end)}: rows of the forward or of the input gradient, or column
     * blocks of the weight gradient. A job object reused by the calling thread rather than capturing lambdas,
     * so the training step's norms leave no garbage behind.
     */
    private static final class RmsNormJob implements Parallel.RangeBody {
        static final int FORWARD = 0, BACKWARD_ROWS = 1, WEIGHT_GRAD = 2;
        int pass;
        private long c, rows;
        private float eps;
        /** x, weight, rstd; out (forward) or dX (backward); dOut and dWeight (backward only). */
        private MemorySegment sx, sw, sr, so, g, sdw;

        void set(int pass, long c, long rows, float eps, MemorySegment sx, MemorySegment sw, MemorySegment sr,
                 MemorySegment so, MemorySegment g, MemorySegment sdw) {
            this.pass = pass;
            this.c = c;
            this.rows = rows;
            this.eps = eps;
            this.sx = sx;
            this.sw = sw;
            this.sr = sr;
            this.so = so;
            this.g = g;
            this.sdw = sdw;
        }

        void clear() {
            sx = sw = sr = so = g = sdw = null; // a closed arena's memory must not stay reachable
        }

        @Override
        public void run(long start, long end) {
            switch (pass) {
                case FORWARD -> {
                    for (long r = start; r < end; r++) {
                        long off = r * c;
                        double ms = sumSquares(sx, off, c) / c;
                        float rs = (float) (1.0 / Math.sqrt(ms + eps));
                        sr.set(F32, r * 4, rs);
                        scaleByWeight(sx, rs, sw, so, off, c);
                    }
                }
                case BACKWARD_ROWS -> {
                    for (long r = start; r < end; r++) {
                        long off = r * c;
                        float rs = sr.get(F32, r * 4);
                        float k = (float) ((double) rs * rs * rs * dotWeighted(g, sw, sx, off, c) / c);
                        rmsNormRowGrad(g, sw, sx, rs, k, so, off, c);
                    }
                }
                default -> {
                    long c0 = start * L, c1 = Math.min(end * L, c);
                    for (long r = 0; r < rows; r++) {
                        weightGradRow(g, sx, r * c, 0f, sr.get(F32, r * 4), sdw, null, 0, c0, c1);
                    }
                }
            }
        }
    }

    /** {@code sum_c x^2} of one row. */
    static double sumSquares(MemorySegment x, long off, long n) {
        FloatVector acc = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO);
            acc = v.fma(v, acc);
        }
        double s = sumLanes(acc);
        for (; i < n; i++) {
            float v = x.get(F32, (off + i) * 4);
            s += v * v;
        }
        return s;
    }

    /** {@code out = x * s * w} for one row ({@code w} indexed from 0). */
    static void scaleByWeight(MemorySegment x, float s, MemorySegment w, MemorySegment out, long off, long n) {
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector vx = FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO);
            FloatVector vw = FloatVector.fromMemorySegment(F, w, i * 4, NO);
            vx.mul(s).mul(vw).intoMemorySegment(out, (off + i) * 4, NO);
        }
        for (; i < n; i++) {
            out.set(F32, (off + i) * 4, x.get(F32, (off + i) * 4) * s * w.get(F32, i * 4));
        }
    }

    /** {@code sum_c g*w*x} of one row. */
    static double dotWeighted(MemorySegment g, MemorySegment w, MemorySegment x, long off, long n) {
        FloatVector acc = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector vg = FloatVector.fromMemorySegment(F, g, (off + i) * 4, NO);
            FloatVector vw = FloatVector.fromMemorySegment(F, w, i * 4, NO);
            FloatVector vx = FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO);
            acc = vg.mul(vw).fma(vx, acc);
        }
        double s = sumLanes(acc);
        for (; i < n; i++) {
            s += g.get(F32, (off + i) * 4) * w.get(F32, i * 4) * x.get(F32, (off + i) * 4);
        }
        return s;
    }

    /** {@code dX += rs*g*w - k*x} for one row. */
    static void rmsNormRowGrad(MemorySegment g, MemorySegment w, MemorySegment x, float rs, float k,
                               MemorySegment dx, long off, long n) {
        long i = 0;
        for (; i + L <= n; i += L) {
            long b = (off + i) * 4;
            FloatVector vg = FloatVector.fromMemorySegment(F, g, b, NO);
            FloatVector vw = FloatVector.fromMemorySegment(F, w, i * 4, NO);
            FloatVector vx = FloatVector.fromMemorySegment(F, x, b, NO);
            FloatVector vd = FloatVector.fromMemorySegment(F, dx, b, NO);
            vd.add(vg.mul(vw).mul(rs)).sub(vx.mul(k)).intoMemorySegment(dx, b, NO);
        }
        for (; i < n; i++) {
            long b = (off + i) * 4;
            dx.set(F32, b, dx.get(F32, b) + g.get(F32, b) * w.get(F32, i * 4) * rs - x.get(F32, b) * k);
        }
    }

    // ================================================================ LayerNorm: out = (x - mean) * rstd * w + b

    static void layerNorm(Parallel par, Tensor x, Tensor weight, Tensor bias, float eps, Tensor out,
                          Tensor mean, Tensor rstd) {
        NormChecks.LayerNormDims dims = NormChecks.layerNorm(x, weight, bias, out, mean, rstd);
        long c = dims.c(), groups = dims.groups();
        MemorySegment sx = x.segment(CpuMemory.KEY), sw = weight.segment(CpuMemory.KEY), sb = bias.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        MemorySegment sm = mean.segment(CpuMemory.KEY), sr = rstd.segment(CpuMemory.KEY);
        long rows = rstd.numel();
        LayerNormJob job = LN_JOBS.get();
        job.set(c, rows, groups, eps, sx, sw, sb, so, sm, sr, null, null, null, null);
        job.dispatch(par, LayerNormJob.FORWARD, rows, rowGrain(c));
    }

    /**
     * With {@code xhat = (x - mean) * rstd} and {@code dn = dOut * w}:
     * {@code dX += rstd * (dn - mean(dn) - xhat * mean(dn * xhat))}; {@code dWeight += sum_rows dOut * xhat},
     * {@code dBias += sum_rows dOut}.
     */
    static void layerNormBackward(Parallel par, Tensor dOut, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                  Tensor dX, Tensor dWeight, Tensor dBias) {
        NormChecks.LayerNormDims dims = NormChecks.layerNormBackward(dOut, x, weight, mean, rstd, dX, dWeight, dBias);
        long c = dims.c(), groups = dims.groups();
        MemorySegment g = dOut.segment(CpuMemory.KEY), sx = x.segment(CpuMemory.KEY), sw = weight.segment(CpuMemory.KEY);
        MemorySegment sm = mean.segment(CpuMemory.KEY), sr = rstd.segment(CpuMemory.KEY);
        MemorySegment sdx = dX.segment(CpuMemory.KEY), sdw = dWeight.segment(CpuMemory.KEY), sdb = dBias.segment(CpuMemory.KEY);
        long rows = rstd.numel();
        LayerNormJob job = LN_JOBS.get();
        job.set(c, rows, groups, 0f, sx, sw, null, null, sm, sr, g, sdx, sdw, sdb);
        job.dispatch(par, LayerNormJob.BACKWARD_ROWS, rows, rowGrain(c));
        // The gain and shift gradients by (group, column block) (see columnBlockGrain).
        job.dispatch(par, LayerNormJob.PARAM_GRADS, groups * job.blocks, columnBlockGrain(job.rowsPerGroup));
    }

    private static final ThreadLocal<LayerNormJob> LN_JOBS = ThreadLocal.withInitial(LayerNormJob::new);
    /** A worker's two row sums of the input gradient (mean(dn) and mean(dn * xhat), before the division). */
    private static final ThreadLocal<double[]> ROW_SUMS = ThreadLocal.withInitial(() -> new double[2]);

    /**
     * One pass of LayerNorm over {@code [start, end)}: rows of the forward or of the input gradient, or
     * (group, column block) pairs of the gain and shift gradients. A job object reused by the calling thread
     * rather than capturing lambdas, so the generator's layer norm leaves no garbage behind.
     */
    private static final class LayerNormJob implements Parallel.RangeBody {
        static final int FORWARD = 0, BACKWARD_ROWS = 1, PARAM_GRADS = 2;
        int pass;
        long c, rowsPerGroup, blocks;
        float eps;
        /** x, weight, bias (forward), out (forward), mean, rstd; dOut, dX, dWeight, dBias (backward). */
        MemorySegment sx, sw, sb, so, sm, sr, g, sdx, sdw, sdb;

        void set(long c, long rows, long groups, float eps, MemorySegment sx, MemorySegment sw, MemorySegment sb,
                 MemorySegment so, MemorySegment sm, MemorySegment sr, MemorySegment g, MemorySegment sdx,
                 MemorySegment sdw, MemorySegment sdb) {
            this.c = c;
            this.rowsPerGroup = groups == 0 ? 0 : rows / groups;
            this.blocks = (c + L - 1) / L;
            this.eps = eps;
            this.sx = sx;
            this.sw = sw;
            this.sb = sb;
            this.so = so;
            this.sm = sm;
            this.sr = sr;
            this.g = g;
            this.sdx = sdx;
            this.sdw = sdw;
            this.sdb = sdb;
        }

        void dispatch(Parallel par, int pass, long count, long grain) {
            this.pass = pass;
            try {
                par.forRange(count, grain, this);
            } finally {
                if (pass != BACKWARD_ROWS) { // the backward's rows pass is followed by its gradients pass
                    sx = sw = sb = so = sm = sr = g = sdx = sdw = sdb = null; // no closed arena kept reachable
                }
            }
        }

        @Override
        public void run(long start, long end) {
            switch (pass) {
                case FORWARD -> {
                    for (long r = start; r < end; r++) {
                        long off = r * c;
                        long wOff = r / rowsPerGroup * c;
                        float m = (float) (CpuReductions.sumRange(sx, off, off + c) / c);
                        double var = sumSquaredDeviations(sx, m, off, c) / c;
                        float rs = (float) (1.0 / Math.sqrt(var + eps));
                        sm.set(F32, r * 4, m);
                        sr.set(F32, r * 4, rs);
                        normalizeAffine(sx, m, rs, sw, sb, wOff, so, off, c);
                    }
                }
                case BACKWARD_ROWS -> {
                    double[] sums = ROW_SUMS.get();
                    for (long r = start; r < end; r++) {
                        long off = r * c;
                        long wOff = r / rowsPerGroup * c;
                        float m = sm.get(F32, r * 4);
                        float rs = sr.get(F32, r * 4);
                        layerNormRowSums(g, sw, wOff, sx, m, rs, off, c, sums);
                        float meanDn = (float) (sums[0] / c);
                        float meanDnXhat = (float) (sums[1] / c);
                        layerNormRowGrad(g, sw, wOff, sx, m, rs, meanDn, meanDnXhat, sdx, off, c);
                    }
                }
                default -> {
                    // (group, column block) pairs: a chunk may span the end of one group's row and the next
                    long t = start;
                    while (t < end) {
                        long group = t / blocks;
                        long b0 = t % blocks;
                        long b1 = Math.min(blocks, b0 + (end - t));
                        long c0 = b0 * L, c1 = Math.min(b1 * L, c);
                        for (long r = group * rowsPerGroup; r < (group + 1) * rowsPerGroup; r++) {
                            weightGradRow(g, sx, r * c, sm.get(F32, r * 4), sr.get(F32, r * 4), sdw, sdb,
                                    group * c, c0, c1);
                        }
                        t += b1 - b0;
                    }
                }
            }
        }
    }

    /** {@code sum_c (x - m)^2} of one row. */
    static double sumSquaredDeviations(MemorySegment x, float m, long off, long n) {
        FloatVector acc = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector d = FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO).sub(m);
            acc = d.fma(d, acc);
        }
        double s = sumLanes(acc);
        for (; i < n; i++) {
            float d = x.get(F32, (off + i) * 4) - m;
            s += d * d;
        }
        return s;
    }

    /** {@code out = (x - m) * rs * w + b} for one row; {@code w} and {@code b} start at element {@code wOff}. */
    static void normalizeAffine(MemorySegment x, float m, float rs, MemorySegment w, MemorySegment b, long wOff,
                                MemorySegment out, long off, long n) {
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector vx = FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO);
            FloatVector vw = FloatVector.fromMemorySegment(F, w, (wOff + i) * 4, NO);
            FloatVector vb = FloatVector.fromMemorySegment(F, b, (wOff + i) * 4, NO);
            vx.sub(m).mul(rs).fma(vw, vb).intoMemorySegment(out, (off + i) * 4, NO);
        }
        for (; i < n; i++) {
            float xhat = (x.get(F32, (off + i) * 4) - m) * rs;
            out.set(F32, (off + i) * 4, Math.fma(xhat, w.get(F32, (wOff + i) * 4), b.get(F32, (wOff + i) * 4)));
        }
    }

    /**
     * {@code sums[0] = sum dn}, {@code sums[1] = sum dn * xhat} over one row, {@code dn = g * w} ({@code w}
     * from element {@code wOff}).
     */
    static void layerNormRowSums(MemorySegment g, MemorySegment w, long wOff, MemorySegment x, float m, float rs,
                                 long off, long n, double[] sums) {
        FloatVector acc0 = FloatVector.zero(F);
        FloatVector acc1 = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= n; i += L) {
            long b = (off + i) * 4;
            FloatVector dn = FloatVector.fromMemorySegment(F, g, b, NO)
                    .mul(FloatVector.fromMemorySegment(F, w, (wOff + i) * 4, NO));
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, b, NO).sub(m).mul(rs);
            acc0 = acc0.add(dn);
            acc1 = dn.fma(xhat, acc1);
        }
        double s0 = sumLanes(acc0);
        double s1 = sumLanes(acc1);
        for (; i < n; i++) {
            long b = (off + i) * 4;
            float dn = g.get(F32, b) * w.get(F32, (wOff + i) * 4);
            s0 += dn;
            s1 += dn * ((x.get(F32, b) - m) * rs);
        }
        sums[0] = s0;
        sums[1] = s1;
    }

    /** {@code dX += rs * (g*w - meanDn - xhat * meanDnXhat)} for one row ({@code w} from element {@code wOff}). */
    static void layerNormRowGrad(MemorySegment g, MemorySegment w, long wOff, MemorySegment x, float m, float rs,
                                 float meanDn, float meanDnXhat, MemorySegment dx, long off, long n) {
        FloatVector vrs = FloatVector.broadcast(F, rs);
        long i = 0;
        for (; i + L <= n; i += L) {
            long b = (off + i) * 4;
            FloatVector dn = FloatVector.fromMemorySegment(F, g, b, NO)
                    .mul(FloatVector.fromMemorySegment(F, w, (wOff + i) * 4, NO));
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, b, NO).sub(m).mul(rs);
            FloatVector vd = FloatVector.fromMemorySegment(F, dx, b, NO);
            dn.sub(meanDn).sub(xhat.mul(meanDnXhat)).fma(vrs, vd).intoMemorySegment(dx, b, NO);
        }
        for (; i < n; i++) {
            long b = (off + i) * 4;
            float dn = g.get(F32, b) * w.get(F32, (wOff + i) * 4);
            float xhat = (x.get(F32, b) - m) * rs;
            dx.set(F32, b, Math.fma(dn - meanDn - xhat * meanDnXhat, rs, dx.get(F32, b)));
        }
    }

    // ================================================================ shared: weight and bias gradients

    /**
     * Column blocks (of L columns) per chunk for a weight gradient over {@code rows} rows. The gradients are
     * split by column blocks of lane-multiple boundaries, each owned by one thread, which walks every row in
     * order (per group of rows for a grouped LayerNorm).
     */
    static long columnBlockGrain(long rows) {
        return Math.max(1, ELEMENT_GRAIN / Math.max(1, rows * L));
    }

    /**
     * One row's contribution to the parameter gradients over columns {@code [c0, c1)}, with
     * {@code xhat = (x - m) * rs}: {@code dW += g * xhat}, and {@code dB += g} when {@code dB} is not null; the
     * parameter row starts at element {@code pOff} of {@code dW} and {@code dB}.
     */
    static void weightGradRow(MemorySegment g, MemorySegment x, long off, float m, float rs,
                              MemorySegment dw, MemorySegment db, long pOff, long c0, long c1) {
        long i = c0;
        for (; i + L <= c1; i += L) {
            long b = (off + i) * 4, p = (pOff + i) * 4;
            FloatVector vg = FloatVector.fromMemorySegment(F, g, b, NO);
            FloatVector xhat = FloatVector.fromMemorySegment(F, x, b, NO).sub(m).mul(rs);
            FloatVector vdw = FloatVector.fromMemorySegment(F, dw, p, NO);
            vg.fma(xhat, vdw).intoMemorySegment(dw, p, NO);
            if (db != null) {
                FloatVector.fromMemorySegment(F, db, p, NO).add(vg).intoMemorySegment(db, p, NO);
            }
        }
        for (; i < c1; i++) {
            long b = (off + i) * 4, p = (pOff + i) * 4;
            float gi = g.get(F32, b);
            float xhat = (x.get(F32, b) - m) * rs;
            dw.set(F32, p, Math.fma(gi, xhat, dw.get(F32, p)));
            if (db != null) {
                db.set(F32, p, db.get(F32, p) + gi);
            }
        }
    }
}
