package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;
import static io.leviathan.backend.cpu.CpuSeparableModes.signedEps;

import io.leviathan.backend.cpu.CpuSeparableModes.Dims;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * The fast path of {@link CpuSeparableModes} when the mode count {@code R} is a multiple of the vector length
 * (the generator's R 64 is): the same operations per lane in the same order, so the same bits, arranged so
 * that the hot loops run on heap arrays.
 *
 * <p><b>Why.</b> Each window is a few vector operations per mode block, and every access to native memory
 * through a {@code MemorySegment} carries its own bounds and liveness checks, which here cost as much as the
 * arithmetic. One head's spline slice for one seed dimension ({@code [K, R]}, 8 KiB at K 32, R 64) is read
 * by every row, so it is copied once into an array and all rows' windows then read the array.
 *
 * <p><b>Forward.</b> Work is split into (head, block of {@link #BLOCK} rows) units. A unit keeps its rows'
 * running products in an array and walks the seed dimensions in order, multiplying each row's factor in:
 * per mode the product is taken over {@code i = 0, 1, ...} exactly as the row-at-a-time loop does.
 *
 * <p><b>Backward.</b> Split by (head, group of {@link #DIMS} seed dimensions), so each worker owns its
 * {@code dSpline[h, i]} slices and {@code dWeights[h, :, i, :]}: no races. The slices are accumulated in arrays
 * (loaded from, and stored back to, the tensor), each in the row order of the general loop; rows are taken in
 * blocks whose windows are copied to arrays once for all the group's dimensions.
 */
final class CpuSeparableModesBlocked {
    private CpuSeparableModesBlocked() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    /**
     * Rows per forward unit: their products ({@code BLOCK * R} floats, 16 KiB at R 64) and a spline slice stay
     * in L1, and the slice's copy is shared by this many windows (64 ran about 15 % faster than 32).
     */
    static final int BLOCK = 64;

    /**
     * Seed dimensions per backward unit: their spline and gradient slices ({@code 2 * DIMS * K * R} floats,
     * 256 KiB at K 32, R 64) stay in L2 while the unit walks all rows, and a block of rows' windows for them are
     * {@code DIMS} contiguous elements per row (a row's windows for one dimension are {@code d} apart).
     */
    static final int DIMS = 16;

    /**
     * A thread's working arrays, grown to the largest shape seen and then reused, so a training step's
     * generator allocates nothing here (the backward's slices of a group of seed dimensions are 256 KiB).
     * Only a prefix of each is used; callers pass the lengths.
     */
    private static final class Scratch {
        float[] acc = new float[0], sp = new float[0], dsp = new float[0], gm = new float[0];
        float[] wts = new float[0], dwts = new float[0];
        int[] firsts = new int[0];
        /** Lane accumulators of the weight gradients of {@code L} windows, {@code [3, L, L]}, and their sums {@code [3, L]}. */
        final float[] accs = new float[3 * L * L], sums = new float[3 * L];

        static float[] atLeast(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }

        static int[] atLeast(int[] a, int n) {
            return a.length >= n ? a : new int[n];
        }
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Whether the fast path computes these shapes: {@code R} a multiple of the vector length. */
    static boolean applies(Dims s) {
        return s.r() % L == 0 && s.knots() * s.r() <= Integer.MAX_VALUE / 4;
    }

    // ================================================================ forward

    static void forward(Parallel par, Dims s, MemorySegment first, MemorySegment weights, MemorySegment spline,
                        MemorySegment modes) {
        long blocks = (s.n() + BLOCK - 1) / BLOCK;
        long grain = Math.max(1, CpuElementwise.ELEMENT_GRAIN / Math.max(1, BLOCK * s.d() * s.r()));
        Job job = Job.claim(true, s, null, first, weights, spline, modes, null, null);
        job.dispatch(par, s.groups() * blocks, grain);
    }

    /** Forward units {@code [u0, u1)}: unit {@code u} is rows block {@code u % blocks} of head {@code u / blocks}. */
    private static void forwardUnits(Job j, long u0, long u1) {
        Dims s = j.s;
        int r = (int) s.r();
        int slice = (int) (s.knots() * s.r());
        long blocks = (s.n() + BLOCK - 1) / BLOCK;
        Scratch w = SCRATCH.get();
        float[] acc = w.acc = Scratch.atLeast(w.acc, BLOCK * r);
        float[] sp = w.sp = Scratch.atLeast(w.sp, slice);
        int[] fv = w.firsts = Scratch.atLeast(w.firsts, (int) (BLOCK * s.d()));
        float[] wv = w.wts = Scratch.atLeast(w.wts, (int) (BLOCK * s.d() * 3));
        for (long u = u0; u < u1; u++) {
            long g = u / blocks;
            long n0 = u % blocks * BLOCK;
            int rows = (int) Math.min(BLOCK, s.n() - n0);
            forwardUnit(s, j.first, j.weights, j.spline, j.modes, g, n0, rows, acc, sp, slice, fv, wv);
        }
    }

    /**
     * The arguments of one call, forward or backward, in an object the calling thread reuses rather than a
     * capturing lambda, so the generator's training step leaves no garbage behind.
     */
    private static final class Job implements Parallel.RangeBody {
        private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);

        boolean forward;
        Dims s;
        MemorySegment dModes, first, weights, spline, modes, dWeights, dSpline;

        static Job claim(boolean forward, Dims s, MemorySegment dModes, MemorySegment first, MemorySegment weights,
                         MemorySegment spline, MemorySegment modes, MemorySegment dWeights, MemorySegment dSpline) {
            Job j = JOBS.get();
            j.forward = forward;
            j.s = s;
            j.dModes = dModes;
            j.first = first;
            j.weights = weights;
            j.spline = spline;
            j.modes = modes;
            j.dWeights = dWeights;
            j.dSpline = dSpline;
            return j;
        }

        void dispatch(Parallel par, long units, long grain) {
            try {
                par.forRange(units, grain, this);
            } finally {
                dModes = first = weights = spline = modes = dWeights = dSpline = null; // no closed arena kept reachable
                s = null;
            }
        }

        @Override
        public void run(long u0, long u1) {
            if (forward) {
                forwardUnits(this, u0, u1);
            } else {
                backwardUnits(this, u0, u1);
            }
        }
    }

    /**
     * Rows {@code [n0, n0 + rows)} of head {@code g}: every seed dimension's factor, then the products out. The
     * rows' windows ({@code first}, {@code weights}: contiguous for a block of rows) are copied to arrays first,
     * since each window is only {@code R / L} vector steps, per-access checks on native memory add up.
     */
    private static void forwardUnit(Dims s, MemorySegment first, MemorySegment weights, MemorySegment spline,
                                    MemorySegment modes, long g, long n0, int rows, float[] acc, float[] sp,
                                    int slice, int[] fv, float[] wv) {
        int r = (int) s.r();
        int d = (int) s.d();
        long e0 = (g * s.n() + n0) * d;
        MemorySegment.copy(first, I32, e0 * 4, fv, 0, rows * d);
        MemorySegment.copy(weights, F32, e0 * 12, wv, 0, rows * d * 3);
        Arrays.fill(acc, 0, rows * r, 1f);
        for (int i = 0; i < d; i++) {
            MemorySegment.copy(spline, F32, (g * d + i) * slice * 4L, sp, 0, slice);
            for (int k = 0; k < rows; k++) {
                int e = k * d + i;
                int f = fv[e];
                boolean left = f >= 0, right = f + 2 < s.knots();
                int mid = (f + 1) * r;
                float w0 = left ? wv[e * 3] : 0f;
                float w1 = wv[e * 3 + 1];
                float w2 = right ? wv[e * 3 + 2] : 0f;
                multiplyWindow(sp, left ? mid - r : mid, mid, right ? mid + r : mid, w0, w1, w2, acc, k * r, r);
            }
        }
        for (int k = 0; k < rows; k++) {
            MemorySegment.copy(acc, k * r, modes, F32, s.modesRow(n0 + k, g) * 4, r);
        }
    }

    /** {@code acc[a + q] *= f[q]} for one window; {@link CpuSeparableModes#multiplyFactor}'s operations. */
    private static void multiplyWindow(float[] sp, int r0, int r1, int r2, float w0, float w1, float w2,
                                       float[] acc, int a, int r) {
        FloatVector bw1 = FloatVector.broadcast(F, w1), bw2 = FloatVector.broadcast(F, w2);
        for (int q = 0; q < r; q += L) {
            FloatVector s0 = FloatVector.fromArray(F, sp, r0 + q);
            FloatVector s1 = FloatVector.fromArray(F, sp, r1 + q);
            FloatVector s2 = FloatVector.fromArray(F, sp, r2 + q);
            FloatVector phi = s2.fma(bw2, s1.fma(bw1, s0.mul(w0)));
            FloatVector.fromArray(F, acc, a + q).mul(phi.add(signedEps(phi))).intoArray(acc, a + q);
        }
    }

    // ================================================================ backward

    static void backward(Parallel par, Dims s, MemorySegment dModes, MemorySegment first, MemorySegment weights,
                         MemorySegment spline, MemorySegment modes, MemorySegment dWeights, MemorySegment dSpline) {
        long dimGroups = (s.d() + DIMS - 1) / DIMS;
        long grain = Math.max(1, CpuElementwise.ELEMENT_GRAIN / Math.max(1, s.n() * DIMS * s.r()));
        Job job = Job.claim(false, s, dModes, first, weights, spline, modes, dWeights, dSpline);
        job.dispatch(par, s.groups() * dimGroups, grain);
    }

    /**
     * Backward units {@code [u0, u1)}: unit {@code u} is seed-dimension group {@code u % dimGroups} of head
     * {@code u / dimGroups}.
     */
    private static void backwardUnits(Job j, long u0, long u1) {
        Dims s = j.s;
        MemorySegment dModes = j.dModes, first = j.first, weights = j.weights, spline = j.spline, modes = j.modes;
        MemorySegment dWeights = j.dWeights, dSpline = j.dSpline;
        int r = (int) s.r();
        int slice = (int) (s.knots() * s.r());
        long dimGroups = (s.d() + DIMS - 1) / DIMS;
        Scratch w = SCRATCH.get();
        float[] gm = w.gm = Scratch.atLeast(w.gm, Math.toIntExact(s.n() * r)); // dModes * modes of one head, [N, R]
        float[] sp = w.sp = Scratch.atLeast(w.sp, DIMS * slice);
        float[] dsp = w.dsp = Scratch.atLeast(w.dsp, DIMS * slice);
        int[] fv = w.firsts = Scratch.atLeast(w.firsts, BLOCK * DIMS);
        float[] wv = w.wts = Scratch.atLeast(w.wts, BLOCK * DIMS * 3);
        float[] dwv = w.dwts = Scratch.atLeast(w.dwts, BLOCK * DIMS * 3);
        long gmHead = -1;
        for (long u = u0; u < u1; u++) { // u = h * dimGroups + c: seed dimensions [DIMS c, DIMS (c + 1)) of head h
            long h = u / dimGroups;
            int i0 = (int) (u % dimGroups * DIMS);
            int dims = (int) Math.min(DIMS, s.d() - i0);
            if (h != gmHead) { // a worker's units are consecutive, so mostly one head after another
                CpuSeparableModes.modesTimesGrad(s, dModes, modes, h, gm);
                gmHead = h;
            }
            long sliceAt = (h * s.d() + i0) * slice * 4L;
            MemorySegment.copy(spline, F32, sliceAt, sp, 0, dims * slice);
            MemorySegment.copy(dSpline, F32, sliceAt, dsp, 0, dims * slice);
            for (long n0 = 0; n0 < s.n(); n0 += BLOCK) {
                int rows = (int) Math.min(BLOCK, s.n() - n0);
                backwardUnit(s, first, weights, dWeights, h, n0, rows, i0, dims, gm, sp, dsp, fv, wv, dwv, w);
            }
            MemorySegment.copy(dsp, 0, dSpline, F32, sliceAt, dims * slice);
        }
    }

    /**
     * Rows {@code [n0, n0 + rows)} of head {@code h}, seed dimensions {@code [i0, i0 + dims)}: the rows' windows
     * and weight gradients are copied to arrays ({@code [rows, dims]}, {@code [rows, dims, 3]}) and back, so the
     * strided reads of the tensors (a row's windows are {@code d} apart) happen once per block, not per window.
     * Each seed dimension takes the rows in order, so {@code dSpline} sums in the same order as the general loop.
     * The weight gradients' lane sums are taken {@code L} windows at a time ({@link CpuLaneReductions#laneSums}).
     */
    private static void backwardUnit(Dims s, MemorySegment first, MemorySegment weights, MemorySegment dWeights,
                                     long h, long n0, int rows, int i0, int dims, float[] gm, float[] sp, float[] dsp,
                                     int[] fv, float[] wv, float[] dwv, Scratch w) {
        int r = (int) s.r();
        int d = (int) s.d();
        int knots = (int) s.knots();
        int slice = knots * r;
        for (int k = 0; k < rows; k++) {
            long e = (h * s.n() + n0 + k) * d + i0;
            MemorySegment.copy(first, I32, e * 4, fv, k * dims, dims);
            MemorySegment.copy(weights, F32, e * 12, wv, k * dims * 3, dims * 3);
            MemorySegment.copy(dWeights, F32, e * 12, dwv, k * dims * 3, dims * 3);
        }
        float[] accs = w.accs, sums = w.sums;
        for (int j = 0; j < dims; j++) {
            int base = j * slice;
            for (int k0 = 0; k0 < rows; k0 += L) {
                int count = Math.min(L, rows - k0);
                for (int t = 0; t < count; t++) {
                    int k = k0 + t;
                    int e = k * dims + j;
                    int f = fv[e];
                    int o = (int) (n0 + k) * r;
                    if (f >= 0 && f + 2 < knots) {
                        interiorGrad(sp, dsp, gm, o, r, base + f * r, wv[e * 3], wv[e * 3 + 1], wv[e * 3 + 2], accs, t);
                    } else {
                        edgeGrad(knots, sp, dsp, gm, o, r, base, f, wv, e, accs, t);
                    }
                }
                for (int m = 0; m < 3; m++) {
                    CpuLaneReductions.laneSums(accs, m * L * L, sums, m * L);
                }
                for (int t = 0; t < count; t++) {
                    int e = (k0 + t) * dims + j;
                    int f = fv[e];
                    for (int m = 0; m < 3; m++) {
                        if (f + m >= 0 && f + m < knots) { // an off-grid knot gets no gradient
                            dwv[e * 3 + m] += sums[m * L + t];
                        }
                    }
                }
            }
        }
        for (int k = 0; k < rows; k++) {
            long e = (h * s.n() + n0 + k) * d + i0;
            MemorySegment.copy(dwv, k * dims * 3, dWeights, F32, e * 12, dims * 3);
        }
    }

    /**
     * A window with all three knots on the grid, rows at {@code row0}, {@code row0 + R}, {@code row0 + 2R}:
     * {@code dsp[row_m + q] += w_m * dphi[q]}, with {@code dphi = gm / f} (0 where {@code phi == 0});
     * {@link CpuSeparableModes#windowGrad}'s operations. The lane accumulators of
     * {@code dw[m] = sum_q dphi[q] * sp[row_m + q]} are stored as vector {@code t} of {@code accs}'s block
     * {@code m}, to be summed {@code L} windows at a time.
     */
    private static void interiorGrad(float[] sp, float[] dsp, float[] gm, int o, int r, int row0,
                                     float wt0, float wt1, float wt2, float[] accs, int t) {
        FloatVector w0 = FloatVector.broadcast(F, wt0);
        FloatVector w1 = FloatVector.broadcast(F, wt1);
        FloatVector w2 = FloatVector.broadcast(F, wt2);
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0;
        for (int q = 0; q < r; q += L) {
            int b0 = row0 + q, b1 = b0 + r, b2 = b1 + r;
            FloatVector s0 = FloatVector.fromArray(F, sp, b0);
            FloatVector s1 = FloatVector.fromArray(F, sp, b1);
            FloatVector s2 = FloatVector.fromArray(F, sp, b2);
            FloatVector phi = s2.fma(w2, s1.fma(w1, s0.mul(wt0)));
            FloatVector dp = FloatVector.fromArray(F, gm, o + q).div(phi.add(signedEps(phi)))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f));
            dp.fma(w0, FloatVector.fromArray(F, dsp, b0)).intoArray(dsp, b0);
            dp.fma(w1, FloatVector.fromArray(F, dsp, b1)).intoArray(dsp, b1);
            dp.fma(w2, FloatVector.fromArray(F, dsp, b2)).intoArray(dsp, b2);
            acc0 = dp.fma(s0, acc0);
            acc1 = dp.fma(s1, acc1);
            acc2 = dp.fma(s2, acc2);
        }
        acc0.intoArray(accs, t * L);
        acc1.intoArray(accs, (L + t) * L);
        acc2.intoArray(accs, (2 * L + t) * L);
    }

    /**
     * A window next to an end of the grid (first {@code f}, window {@code e} of the block, its slice at
     * {@code base}): only the knots on the grid get gradients; {@link CpuSeparableModes#factorGrad} and
     * {@code knotGrad}'s operations. An off-grid knot reads the middle row with weight 0 for the factor, as the
     * general loop does; its accumulator stays zero and the caller skips it.
     */
    private static void edgeGrad(int knots, float[] sp, float[] dsp, float[] gm, int o, int r, int base, int f,
                                 float[] wv, int e, float[] accs, int t) {
        boolean left = f >= 0, right = f + 2 < knots;
        int mid = base + (f + 1) * r, row0 = left ? mid - r : mid, row2 = right ? mid + r : mid;
        float wt0 = left ? wv[e * 3] : 0f;
        float wt1 = wv[e * 3 + 1];
        float wt2 = right ? wv[e * 3 + 2] : 0f;
        FloatVector w0 = FloatVector.broadcast(F, wt0);
        FloatVector w1 = FloatVector.broadcast(F, wt1);
        FloatVector w2 = FloatVector.broadcast(F, wt2);
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0, acc2 = acc0;
        for (int q = 0; q < r; q += L) {
            FloatVector s0 = FloatVector.fromArray(F, sp, row0 + q);
            FloatVector s1 = FloatVector.fromArray(F, sp, mid + q);
            FloatVector s2 = FloatVector.fromArray(F, sp, row2 + q);
            FloatVector phi = s2.fma(w2, s1.fma(w1, s0.mul(wt0)));
            FloatVector dp = FloatVector.fromArray(F, gm, o + q).div(phi.add(signedEps(phi)))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f));
            if (left) {
                dp.fma(w0, FloatVector.fromArray(F, dsp, row0 + q)).intoArray(dsp, row0 + q);
                acc0 = dp.fma(s0, acc0);
            }
            dp.fma(w1, FloatVector.fromArray(F, dsp, mid + q)).intoArray(dsp, mid + q);
            acc1 = dp.fma(s1, acc1);
            if (right) {
                dp.fma(w2, FloatVector.fromArray(F, dsp, row2 + q)).intoArray(dsp, row2 + q);
                acc2 = dp.fma(s2, acc2);
            }
        }
        acc0.intoArray(accs, t * L);
        acc1.intoArray(accs, (L + t) * L);
        acc2.intoArray(accs, (2 * L + t) * L);
    }
}
