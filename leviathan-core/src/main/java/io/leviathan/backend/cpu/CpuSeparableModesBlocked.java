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
 * arithmetic. The spline is read by every row, so it is copied once into an array (the forward: a head's
 * {@code [d, K, R]}, 1 MiB at d 128, K 32, R 64; the backward: a group of seed dimensions' slices) and all rows'
 * windows then read the array.
 *
 * <p><b>Forward.</b> Work is split into (head, block of {@link #BLOCK} rows) units. A unit keeps its rows'
 * running products in an array and walks the seed dimensions in order, two at a time, multiplying each row's
 * two factors in one after the other ({@link #multiplyTwoWindows}): per mode the product is taken over
 * {@code i = 0, 1, ...} exactly as the row-at-a-time loop does, with the running product loaded and stored once
 * per pair. Where R is four vectors and the head's spline is in the array, {@link #DIM_GROUP} seed dimensions at
 * a time instead, the row's four product vectors held in registers across them ({@link #multiplyRowWindows}).
 *
 * <p><b>Backward.</b> Split by (head, group of {@link #DIMS} seed dimensions), so each worker owns its
 * {@code dSpline[h, i]} slices and {@code dWeights[h, :, i, :]}: no races. Per seed dimension the rows are taken
 * by window start, as the general loop takes them ({@link CpuSeparableModes#bucketByFirst}): the rows of one
 * start read the same three spline rows, and their {@code dSpline} shares are summed in registers
 * ({@link #chunkOfFour}) and added to {@code dSpline} once, instead of read, added to and stored per row. At the
 * generator's shapes that made the backward about 0.83x its time (and the forward, reading a head's spline copied
 * once, about 0.9x), with 512-bit vectors; with AVX2 the backward measured about 1.05x and the forward 0.9x.
 *
 * <p><b>Fused with the spline basis.</b> {@link #forwardFused} and {@link #backwardFused} take the coordinates
 * instead of {@code first} and {@code weights}: a forward block, or a backward pass of rows, computes its windows
 * from them in cache ({@link CpuSplineBasisLanes}, the same bits as the basis op), and the backward turns the
 * weights' gradients into {@code dT} before the pass ends. Everything else is the same code.
 */
final class CpuSeparableModesBlocked {
    private CpuSeparableModesBlocked() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    /**
     * Rows per forward unit: their products ({@code BLOCK * R} floats, 16 KiB at R 64) and two seed dimensions'
     * spline slices stay in L1, and the slices are shared by this many windows (64 ran about 15 % faster than 32).
     */
    static final int BLOCK = 64;

    /**
     * Seed dimensions per backward unit: their spline slices ({@code DIMS * K * R} floats, 128 KiB at K 32, R 64;
     * the gradient's knot rows are added to in place) stay in L2 while the unit walks all rows, and the rows'
     * windows for them are {@code DIMS} contiguous elements per row (a row's windows for one dimension are
     * {@code d} apart), copied once per unit. 8, 16, 32 and 64 measured the same, within noise.
     */
    static final int DIMS = 16;

    /**
     * A thread's working arrays, grown to the largest shape seen and then reused, so a training step's
     * generator allocates nothing here (the backward's spline slices of a group of seed dimensions are 128 KiB).
     * Only a prefix of each is used; callers pass the lengths.
     */
    private static final class Scratch {
        float[] acc = new float[0], sp = new float[0], gm = new float[0];
        float[] wts = new float[0], dwts = new float[0];
        /** The fused form's coordinates of the rows' windows, and the gradients they get ({@code [rows, dims]}). */
        float[] coords = new float[0], dCoords = new float[0];
        int[] firsts = new int[0], column = new int[0], order = new int[0], starts = new int[0];
        float[] knotSums = new float[0];
        /**
         * Lane accumulators of the weight gradients of {@code L} windows, {@code [3, L, L]}, then one vector of
         * zeros (at {@link #ZEROS}, never written: a fresh window's start); and their sums, {@code [3, L]}.
         */
        final float[] accs = new float[3 * L * L + L], sums = new float[3 * L];

        static float[] atLeast(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }

        static int[] atLeast(int[] a, int n) {
            return a.length >= n ? a : new int[n];
        }
    }

    /** The size of one block of {@link Scratch#accs}, and where its vector of zeros starts. */
    private static final int LL = L * L, ZEROS = 3 * LL;

    /**
     * The most spline floats of one head ({@code d * K * R}) the forward copies to an array at once (16 MiB; the
     * generator's head is 1 MiB): each row block then reads it there, instead of copying every seed dimension's
     * slice again per block of rows.
     */
    static final long HEAD_SPLINE = 1 << 22;

    /**
     * Whether the backward keeps a bucket's 12 knot-sum vectors in registers ({@link #chunkOfFour}): with 512-bit
     * vectors (32 registers on x86). With narrower ones (AVX2's 16 registers) they would spill, and
     * {@link #chunkOfRest} keeps them in L1 instead; both give the same bits.
     */
    private static final boolean REGISTER_SUMS = F.vectorBitSize() >= 512;

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** Whether the fast path computes these shapes: {@code R} a multiple of the vector length. */
    static boolean applies(Dims s) {
        return s.r() % L == 0 && s.knots() * s.r() <= Integer.MAX_VALUE / 4;
    }

    // ================================================================ forward

    static void forward(Parallel par, Dims s, MemorySegment first, MemorySegment weights, MemorySegment spline,
                        MemorySegment modes) {
        forward(par, s, first, weights, spline, modes, HEAD_SPLINE);
    }

    /**
     * The forward with a given limit on the spline floats of a head copied at once ({@link #HEAD_SPLINE} in use):
     * past it each pair of seed dimensions' slices is copied per block of rows instead (tests take that path at
     * small shapes with a limit of 0).
     */
    static void forward(Parallel par, Dims s, MemorySegment first, MemorySegment weights, MemorySegment spline,
                        MemorySegment modes, long headSpline) {
        long blocks = (s.n() + BLOCK - 1) / BLOCK;
        long grain = Math.max(1, CpuElementwise.ELEMENT_GRAIN / Math.max(1, BLOCK * s.d() * s.r()));
        Job job = Job.claim(true, s, null, first, weights, spline, modes, null, null);
        job.headSpline = headSpline;
        job.dispatch(par, s.groups() * blocks, grain);
    }

    /**
     * The fused forward: the windows are the spline basis of the coordinates {@code t} ({@code [G, N, d]}, on the
     * spline's knots), computed per block of rows in cache ({@link CpuSplineBasisLanes}, the same bits as
     * {@link CpuSplineBasis#splineBasis}) instead of read from {@code first} and {@code weights}: the same modes,
     * without writing or reading 16 bytes a window.
     */
    static void forwardFused(Parallel par, Dims s, MemorySegment t, boolean normalize, MemorySegment spline,
                             MemorySegment modes, long headSpline) {
        long blocks = (s.n() + BLOCK - 1) / BLOCK;
        long grain = Math.max(1, CpuElementwise.ELEMENT_GRAIN / Math.max(1, BLOCK * s.d() * s.r()));
        Job job = Job.claim(true, s, null, null, null, spline, modes, null, null);
        job.fuse(t, null, normalize);
        job.headSpline = headSpline;
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
        boolean wholeHead = s.d() * slice <= j.headSpline;
        float[] sp = w.sp = Scratch.atLeast(w.sp, wholeHead ? (int) (s.d() * slice) : 2 * slice);
        int[] fv = w.firsts = Scratch.atLeast(w.firsts, (int) (BLOCK * s.d()));
        float[] wv = w.wts = Scratch.atLeast(w.wts, (int) (BLOCK * s.d() * 3));
        float[] tv = j.t == null ? null : (w.coords = Scratch.atLeast(w.coords, (int) (BLOCK * s.d())));
        long spHead = -1;
        for (long u = u0; u < u1; u++) {
            long g = u / blocks;
            long n0 = u % blocks * BLOCK;
            int rows = (int) Math.min(BLOCK, s.n() - n0);
            if (wholeHead && g != spHead) { // a worker's units are consecutive, so mostly one head after another
                MemorySegment.copy(j.spline, F32, g * s.d() * slice * 4L, sp, 0, (int) (s.d() * slice));
                spHead = g;
            }
            long e0 = (g * s.n() + n0) * s.d();
            int count = (int) (rows * s.d());
            if (tv == null) {
                MemorySegment.copy(j.first, I32, e0 * 4, fv, 0, count);
                MemorySegment.copy(j.weights, F32, e0 * 12, wv, 0, count * 3);
            } else { // fused: the block's windows from its coordinates
                MemorySegment.copy(j.t, F32, e0 * 4, tv, 0, count);
                CpuSplineBasisLanes.forward(tv, count, (int) s.knots(), j.normalize, fv, wv);
            }
            forwardUnit(s, j.spline, j.modes, g, n0, rows, acc, sp, wholeHead, slice, fv, wv);
        }
    }

    /**
     * The arguments of one call, forward or backward, in an object the calling thread reuses rather than a
     * capturing lambda, so the generator's training step leaves no garbage behind.
     */
    private static final class Job implements Parallel.RangeBody {
        private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);

        boolean forward;
        long headSpline;
        Dims s;
        MemorySegment dModes, first, weights, spline, modes, dWeights, dSpline;
        /** The fused form's coordinates and their gradient (null otherwise), and its basis's normalisation. */
        MemorySegment t, dT;
        boolean normalize;
        /** The fused backward adds to {@code dT} (or writes it). */
        boolean accumulate;

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
            j.t = j.dT = null;
            return j;
        }

        /** The fused form: windows from the coordinates {@code t}; the backward's gradient into {@code dT}. */
        void fuse(MemorySegment t, MemorySegment dT, boolean normalize) {
            this.t = t;
            this.dT = dT;
            this.normalize = normalize;
        }

        void dispatch(Parallel par, long units, long grain) {
            try {
                par.forRange(units, grain, this);
            } finally {
                dModes = first = weights = spline = modes = dWeights = dSpline = t = dT = null; // no closed arena kept reachable
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
     * rows' windows are in arrays ({@code fv}, {@code wv}: copied from {@code first} and {@code weights}, where a
     * block of rows is contiguous, or computed from the coordinates), since each window is only {@code R / L}
     * vector steps, per-access checks on native memory add up.
     */
    private static void forwardUnit(Dims s, MemorySegment spline, MemorySegment modes, long g, long n0, int rows,
                                    float[] acc, float[] sp, boolean wholeHead, int slice, int[] fv, float[] wv) {
        int r = (int) s.r();
        int d = (int) s.d();
        Arrays.fill(acc, 0, rows * r, 1f);
        int knots = (int) s.knots();
        int i = 0;
        if (r == 4 * L && wholeHead) { // the generator's 64 modes with 512-bit vectors: a row's products in registers
            for (; i + DIM_GROUP <= d; i += DIM_GROUP) {
                for (int k = 0; k < rows; k++) {
                    multiplyRowWindows(sp, i * slice, slice, fv, wv, k * d + i, DIM_GROUP, knots, acc, k * r);
                }
            }
        }
        for (; i + 1 < d; i += 2) { // two seed dimensions per pass over the rows: one load and store of acc for both
            int at = wholeHead ? i * slice : 0; // the head's spline is in sp already, or these slices are copied now
            if (!wholeHead) {
                MemorySegment.copy(spline, F32, (g * d + i) * slice * 4L, sp, 0, 2 * slice);
            }
            for (int k = 0; k < rows; k++) {
                int e = k * d + i;
                int f = fv[e], f2 = fv[e + 1];
                boolean left = f >= 0, right = f + 2 < knots, left2 = f2 >= 0, right2 = f2 + 2 < knots;
                int mid = at + (f + 1) * r, mid2 = at + slice + (f2 + 1) * r;
                if (r == 4 * L) { // the generator's 64 modes with 512-bit vectors: a constant trip count (below)
                    multiplyTwoWindows(sp, left ? mid - r : mid, mid, right ? mid + r : mid,
                            left ? wv[e * 3] : 0f, wv[e * 3 + 1], right ? wv[e * 3 + 2] : 0f,
                            left2 ? mid2 - r : mid2, mid2, right2 ? mid2 + r : mid2,
                            left2 ? wv[e * 3 + 3] : 0f, wv[e * 3 + 4], right2 ? wv[e * 3 + 5] : 0f, acc, k * r, 4 * L);
                } else {
                    multiplyTwoWindows(sp, left ? mid - r : mid, mid, right ? mid + r : mid,
                            left ? wv[e * 3] : 0f, wv[e * 3 + 1], right ? wv[e * 3 + 2] : 0f,
                            left2 ? mid2 - r : mid2, mid2, right2 ? mid2 + r : mid2,
                            left2 ? wv[e * 3 + 3] : 0f, wv[e * 3 + 4], right2 ? wv[e * 3 + 5] : 0f, acc, k * r, r);
                }
            }
        }
        if (i < d) { // an odd d's last seed dimension
            int at = wholeHead ? i * slice : 0;
            if (!wholeHead) {
                MemorySegment.copy(spline, F32, (g * d + i) * slice * 4L, sp, 0, slice);
            }
            for (int k = 0; k < rows; k++) {
                int e = k * d + i;
                int f = fv[e];
                boolean left = f >= 0, right = f + 2 < knots;
                int mid = at + (f + 1) * r;
                multiplyWindow(sp, left ? mid - r : mid, mid, right ? mid + r : mid,
                        left ? wv[e * 3] : 0f, wv[e * 3 + 1], right ? wv[e * 3 + 2] : 0f, acc, k * r, r);
            }
        }
        for (int k = 0; k < rows; k++) {
            MemorySegment.copy(acc, k * r, modes, F32, s.modesRow(n0 + k, g) * 4, r);
        }
    }

    /**
     * {@code acc[a + q] *= f[q]}, then {@code *= f'[q]}, for two windows of one row (seed dimensions {@code i} and
     * {@code i + 1}): the same two multiplications in the same order as two {@link #multiplyWindow} calls, with
     * {@code acc} loaded and stored once (the forward measured about 0.9x its time). Called with the constant
     * {@code 4L} where R is four vectors: inlined, the loop then has a constant trip count and C2 unrolls it whole,
     * where over a variable R it splits four steps into a peeled first one, a main loop and a tail, each with its
     * own checks (the forward measured about 0.92x its time).
     */
    private static void multiplyTwoWindows(float[] sp, int r0, int r1, int r2, float w0, float w1, float w2,
                                           int u0, int u1, int u2, float v0, float v1, float v2, float[] acc, int a,
                                           int r) {
        FloatVector bw1 = FloatVector.broadcast(F, w1), bw2 = FloatVector.broadcast(F, w2);
        FloatVector bv1 = FloatVector.broadcast(F, v1), bv2 = FloatVector.broadcast(F, v2);
        for (int q = 0; q < r; q += L) {
            FloatVector s0 = FloatVector.fromArray(F, sp, r0 + q);
            FloatVector s1 = FloatVector.fromArray(F, sp, r1 + q);
            FloatVector s2 = FloatVector.fromArray(F, sp, r2 + q);
            FloatVector phi = s2.fma(bw2, s1.fma(bw1, s0.mul(w0)));
            FloatVector t0 = FloatVector.fromArray(F, sp, u0 + q);
            FloatVector t1 = FloatVector.fromArray(F, sp, u1 + q);
            FloatVector t2 = FloatVector.fromArray(F, sp, u2 + q);
            FloatVector psi = t2.fma(bv2, t1.fma(bv1, t0.mul(v0)));
            FloatVector.fromArray(F, acc, a + q).mul(phi.add(signedEps(phi))).mul(psi.add(signedEps(psi)))
                    .intoArray(acc, a + q);
        }
    }

    /**
     * Seed dimensions per pass of {@link #multiplyRowWindows} over a block's rows: their spline slices (64 KiB at
     * K 32, R 64) are read by every row of the block. FusedAB at the generator's shapes, alternated: the forward
     * took 11.3-11.6 ms with 8 or 16, 11.9-12.4 with 4, 13.0 ms with pairs whose products were loaded and stored
     * per pair; all 128 at once (no slice shared by the block's rows) was slower than pairs.
     */
    static final int DIM_GROUP = 8;

    /**
     * {@code acc[a .. a + 4L) *= f} of {@code count} consecutive seed dimensions' windows of one row (window
     * {@code e}, {@code e + 1}, ...; the first's spline slice at {@code at} of {@code sp}, the next {@code slice}
     * further on), in that order: the same multiplications as {@link #multiplyWindow} for each, with the four
     * product vectors held in registers across the windows instead of loaded and stored per window or pair.
     * Only for R = 4L (the generator's 64 modes with 512-bit vectors), written out per vector.
     */
    private static void multiplyRowWindows(float[] sp, int at, int slice, int[] fv, float[] wv, int e, int count,
                                           int knots, float[] acc, int a) {
        final int r = 4 * L;
        FloatVector c0 = FloatVector.fromArray(F, acc, a), c1 = FloatVector.fromArray(F, acc, a + L);
        FloatVector c2 = FloatVector.fromArray(F, acc, a + 2 * L), c3 = FloatVector.fromArray(F, acc, a + 3 * L);
        FloatVector eps = FloatVector.broadcast(F, CpuSeparableModes.EPS), negEps = FloatVector.broadcast(F, -CpuSeparableModes.EPS);
        for (int m = 0; m < count; m++, e++, at += slice) {
            int f = fv[e];
            boolean left = f >= 0, right = f + 2 < knots;
            int mid = at + (f + 1) * r, r0 = left ? mid - r : mid, r2 = right ? mid + r : mid;
            float w0 = left ? wv[e * 3] : 0f;
            FloatVector bw1 = FloatVector.broadcast(F, wv[e * 3 + 1]);
            FloatVector bw2 = FloatVector.broadcast(F, right ? wv[e * 3 + 2] : 0f);
            FloatVector phi = FloatVector.fromArray(F, sp, r2).fma(bw2,
                    FloatVector.fromArray(F, sp, mid).fma(bw1, FloatVector.fromArray(F, sp, r0).mul(w0)));
            c0 = c0.mul(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))));
            phi = FloatVector.fromArray(F, sp, r2 + L).fma(bw2,
                    FloatVector.fromArray(F, sp, mid + L).fma(bw1, FloatVector.fromArray(F, sp, r0 + L).mul(w0)));
            c1 = c1.mul(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))));
            phi = FloatVector.fromArray(F, sp, r2 + 2 * L).fma(bw2,
                    FloatVector.fromArray(F, sp, mid + 2 * L).fma(bw1, FloatVector.fromArray(F, sp, r0 + 2 * L).mul(w0)));
            c2 = c2.mul(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))));
            phi = FloatVector.fromArray(F, sp, r2 + 3 * L).fma(bw2,
                    FloatVector.fromArray(F, sp, mid + 3 * L).fma(bw1, FloatVector.fromArray(F, sp, r0 + 3 * L).mul(w0)));
            c3 = c3.mul(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))));
        }
        c0.intoArray(acc, a);
        c1.intoArray(acc, a + L);
        c2.intoArray(acc, a + 2 * L);
        c3.intoArray(acc, a + 3 * L);
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
     * The fused backward: the windows are the spline basis of {@code t} ({@code [G, N, d]}), computed per pass of
     * rows as the fused forward computes them, and the weights' gradients, summed in arrays from zero as the
     * unfused backward sums them into a zeroed {@code dWeights}, go on through the basis into
     * {@code dT += d modes / d t} ({@link CpuSplineBasisLanes}, the same bits as
     * {@link CpuSplineBasis#splineBasisBackward}). Reads 4 bytes a window and updates 4 instead of reading 16 and
     * updating 12, then reading those 12 again. Without {@code accumulate} the gradients start from zero instead
     * of from {@code dT}, which is then only written.
     */
    static void backwardFused(Parallel par, Dims s, MemorySegment dModes, MemorySegment t, boolean normalize,
                              MemorySegment spline, MemorySegment modes, MemorySegment dT, MemorySegment dSpline,
                              boolean accumulate) {
        long dimGroups = (s.d() + DIMS - 1) / DIMS;
        long grain = Math.max(1, CpuElementwise.ELEMENT_GRAIN / Math.max(1, s.n() * DIMS * s.r()));
        Job job = Job.claim(false, s, dModes, null, null, spline, modes, null, dSpline);
        job.fuse(t, dT, normalize);
        job.accumulate = accumulate;
        job.dispatch(par, s.groups() * dimGroups, grain);
    }

    /**
     * Backward units {@code [u0, u1)}: unit {@code u} is seed-dimension group {@code u % dimGroups} of head
     * {@code u / dimGroups}. The group's windows and weight gradients for a pass of rows
     * ({@link CpuSeparableModes#ROW_PASS}) are copied to arrays ({@code [rows, dims]}, {@code [rows, dims, 3]})
     * and back, so the strided reads of the tensors (a row's windows are {@code d} apart) happen once per unit.
     */
    private static void backwardUnits(Job j, long u0, long u1) {
        Dims s = j.s;
        MemorySegment dModes = j.dModes, first = j.first, weights = j.weights, spline = j.spline, modes = j.modes;
        MemorySegment dWeights = j.dWeights, dSpline = j.dSpline;
        int r = (int) s.r();
        int n = (int) s.n();
        int d = (int) s.d();
        int knots = (int) s.knots();
        int slice = knots * r;
        long dimGroups = (s.d() + DIMS - 1) / DIMS;
        Scratch w = SCRATCH.get();
        float[] gm = w.gm = Scratch.atLeast(w.gm, Math.toIntExact(s.n() * r)); // dModes * modes of one head, [N, R]
        float[] sp = w.sp = Scratch.atLeast(w.sp, DIMS * slice);
        int pass = Math.min(n, CpuSeparableModes.ROW_PASS);
        int[] fv = w.firsts = Scratch.atLeast(w.firsts, pass * DIMS);
        float[] wv = w.wts = Scratch.atLeast(w.wts, pass * DIMS * 3);
        float[] dwv = w.dwts = Scratch.atLeast(w.dwts, pass * DIMS * 3);
        int[] column = w.column = Scratch.atLeast(w.column, pass);
        int[] order = w.order = Scratch.atLeast(w.order, pass);
        int[] starts = w.starts = Scratch.atLeast(w.starts, knots + 1);
        float[] knotSums = w.knotSums = Scratch.atLeast(w.knotSums, 3 * r);
        boolean fused = j.t != null;
        float[] tv = fused ? (w.coords = Scratch.atLeast(w.coords, pass * DIMS)) : null;
        float[] dtv = fused ? (w.dCoords = Scratch.atLeast(w.dCoords, pass * DIMS)) : null;
        long gmHead = -1;
        for (long u = u0; u < u1; u++) { // u = h * dimGroups + c: seed dimensions [DIMS c, DIMS (c + 1)) of head h
            long h = u / dimGroups;
            int i0 = (int) (u % dimGroups * DIMS);
            int dims = Math.min(DIMS, d - i0);
            if (h != gmHead) { // a worker's units are consecutive, so mostly one head after another
                CpuSeparableModes.modesTimesGrad(s, dModes, modes, h, gm);
                gmHead = h;
            }
            long sliceAt = (h * s.d() + i0) * slice * 4L;
            MemorySegment.copy(spline, F32, sliceAt, sp, 0, dims * slice);
            for (int n0 = 0; n0 < n; n0 += CpuSeparableModes.ROW_PASS) { // rows [n0, n0 + count): one pass
                int count = Math.min(CpuSeparableModes.ROW_PASS, n - n0);
                if (fused) { // the pass's windows from its coordinates; the weights' gradients from zero
                    for (int k = 0; k < count; k++) {
                        MemorySegment.copy(j.t, F32, ((h * s.n() + n0 + k) * d + i0) * 4, tv, k * dims, dims);
                    }
                    CpuSplineBasisLanes.forward(tv, count * dims, knots, j.normalize, fv, wv);
                    Arrays.fill(dwv, 0, count * dims * 3, 0f);
                } else {
                    for (int k = 0; k < count; k++) {
                        long e = (h * s.n() + n0 + k) * d + i0;
                        MemorySegment.copy(first, I32, e * 4, fv, k * dims, dims);
                        MemorySegment.copy(weights, F32, e * 12, wv, k * dims * 3, dims * 3);
                        MemorySegment.copy(dWeights, F32, e * 12, dwv, k * dims * 3, dims * 3);
                    }
                }
                for (int jd = 0; jd < dims; jd++) {
                    for (int k = 0; k < count; k++) {
                        column[k] = fv[k * dims + jd];
                    }
                    CpuSeparableModes.bucketByFirst(column, count, knots, order, starts);
                    for (int b = 0; b < knots; b++) {
                        if (starts[b] < starts[b + 1]) {
                            bucketGrad(r, knots, b - 1, jd * slice, jd, dims, order, starts[b], starts[b + 1],
                                    gm, n0 * r, sp, dSpline, sliceAt + jd * slice * 4L, wv, dwv, knotSums, w);
                        }
                    }
                }
                if (fused) { // dT (+)= the pass's weight gradients through the basis
                    if (j.accumulate) {
                        for (int k = 0; k < count; k++) {
                            MemorySegment.copy(j.dT, F32, ((h * s.n() + n0 + k) * d + i0) * 4, dtv, k * dims, dims);
                        }
                    } else {
                        Arrays.fill(dtv, 0, count * dims, 0f);
                    }
                    CpuSplineBasisLanes.backward(dwv, tv, fv, count * dims, knots, j.normalize, dtv);
                    for (int k = 0; k < count; k++) {
                        MemorySegment.copy(dtv, k * dims, j.dT, F32, ((h * s.n() + n0 + k) * d + i0) * 4, dims);
                    }
                } else {
                    for (int k = 0; k < count; k++) {
                        long e = (h * s.n() + n0 + k) * d + i0;
                        MemorySegment.copy(dwv, k * dims * 3, dWeights, F32, e * 12, dims * 3);
                    }
                }
            }
        }
    }

    /**
     * The rows {@code order[t0 .. t1)} (of the pass; their {@code gm} rows start at {@code gmAt}) of seed dimension
     * {@code jd} (of the unit's {@code dims}), whose windows all start at {@code f}: their three spline rows are the
     * same, at {@code base + (f + m) R} of {@code sp}. The {@code dSpline} shares are summed into {@code knotSums}
     * ({@code [3, R]}, from zero), {@code L} rows at a time and four vectors of modes at a time with the sums in
     * registers ({@link #chunkOfFour}; the rest through L1, {@link #chunkOfRest}), then added once to
     * {@code dSpline}, whose slice for seed dimension {@code jd} starts at byte {@code dsAt}.
     * The weight gradients' lane accumulators run across the chunks in {@code accs} and are summed {@code L} rows
     * at a time ({@link CpuLaneReductions#laneSums}). A knot off the grid reads the middle row with weight 0 for
     * the factor, as the general loop does, and gets no gradient.
     */
    private static void bucketGrad(int r, int knots, int f, int base, int jd, int dims, int[] order, int t0, int t1,
                                   float[] gm, int gmAt, float[] sp, MemorySegment dSpline, long dsAt, float[] wv,
                                   float[] dwv, float[] knotSums, Scratch w) {
        boolean left = f >= 0, right = f + 2 < knots;
        int mid = base + (f + 1) * r, row0 = left ? mid - r : mid, row2 = right ? mid + r : mid;
        float[] accs = w.accs, sums = w.sums;
        Arrays.fill(knotSums, 0, 3 * r, 0f);
        for (int a = t0; a < t1; a += L) {
            int count = Math.min(L, t1 - a);
            int q = 0;
            if (REGISTER_SUMS) {
                for (; q + 4 * L <= r; q += 4 * L) {
                    chunkOfFour(sp, gm, gmAt, wv, order, a, count, dims, jd, row0, mid, row2, left, right, q, r,
                            knotSums, accs, q == 0);
                }
            }
            if (q < r) {
                chunkOfRest(sp, gm, gmAt, wv, order, a, count, dims, jd, row0, mid, row2, left, right, q, r, knotSums,
                        accs, q == 0);
            }
            for (int m = 0; m < 3; m++) {
                CpuLaneReductions.laneSums(accs, m * LL, sums, m * L);
            }
            for (int t = 0; t < count; t++) { // an off-grid knot gets no gradient (the middle one is always on the grid)
                int e = (order[a + t] * dims + jd) * 3;
                if (left) {
                    dwv[e] += sums[t];
                }
                dwv[e + 1] += sums[L + t];
                if (right) {
                    dwv[e + 2] += sums[2 * L + t];
                }
            }
        }
        for (int m = 0; m < 3; m++) {
            if (f + m >= 0 && f + m < knots) {
                long row = dsAt + (long) (f + m) * r * 4;
                for (int q = 0; q < r; q += L) {
                    FloatVector.fromMemorySegment(F, dSpline, row + q * 4L, NO)
                            .add(FloatVector.fromArray(F, knotSums, m * r + q))
                            .intoMemorySegment(dSpline, row + q * 4L, NO);
                }
            }
        }
    }

    /**
     * Modes {@code [q, q + 4L)} of the rows {@code order[a .. a + count)}, all with the window rows
     * {@code row0, row1, row2} of {@code sp}: per row {@code phi}, then {@code dphi = gm / f} (0 where
     * {@code phi == 0}); {@code knotSums[m R + q ...] += w_m * dphi}, held in registers across the rows; and the
     * lane accumulators of {@code dw[m] = sum dphi * sp[row_m]} carried on in {@code accs} (row {@code t}'s
     * vector {@code t} of block {@code m}; from zero when {@code fresh}). The per-lane operations of
     * {@link CpuSeparableModes#factorGrad} and {@code knotGrad}, written out four vectors at a time: no vector
     * crosses a method boundary, so C2 neither boxes one nor runs out of inlining budget.
     */
    private static void chunkOfFour(float[] sp, float[] gm, int gmAt, float[] wv, int[] order, int a, int count,
                                    int dims, int jd, int row0, int row1, int row2, boolean left, boolean right,
                                    int q, int r, float[] knotSums, float[] accs, boolean fresh) {
        int k0 = q, k1 = r + q, k2 = 2 * r + q;
        FloatVector p00 = FloatVector.fromArray(F, knotSums, k0), p01 = FloatVector.fromArray(F, knotSums, k0 + L);
        FloatVector p02 = FloatVector.fromArray(F, knotSums, k0 + 2 * L), p03 = FloatVector.fromArray(F, knotSums, k0 + 3 * L);
        FloatVector p10 = FloatVector.fromArray(F, knotSums, k1), p11 = FloatVector.fromArray(F, knotSums, k1 + L);
        FloatVector p12 = FloatVector.fromArray(F, knotSums, k1 + 2 * L), p13 = FloatVector.fromArray(F, knotSums, k1 + 3 * L);
        FloatVector p20 = FloatVector.fromArray(F, knotSums, k2), p21 = FloatVector.fromArray(F, knotSums, k2 + L);
        FloatVector p22 = FloatVector.fromArray(F, knotSums, k2 + 2 * L), p23 = FloatVector.fromArray(F, knotSums, k2 + 3 * L);
        FloatVector eps = FloatVector.broadcast(F, CpuSeparableModes.EPS), negEps = FloatVector.broadcast(F, -CpuSeparableModes.EPS);
        int s0 = row0 + q, s1 = row1 + q, s2 = row2 + q;
        for (int t = 0; t < count; t++) {
            int n = order[a + t];
            int e = (n * dims + jd) * 3;
            float wt0 = left ? wv[e] : 0f, wt1 = wv[e + 1], wt2 = right ? wv[e + 2] : 0f;
            FloatVector w0 = FloatVector.broadcast(F, wt0), w1 = FloatVector.broadcast(F, wt1), w2 = FloatVector.broadcast(F, wt2);
            int g = gmAt + n * r + q;
            int to = t * L; // a fresh row's accumulators start from the zero block
            FloatVector acc0 = FloatVector.fromArray(F, accs, fresh ? ZEROS : to);
            FloatVector acc1 = FloatVector.fromArray(F, accs, fresh ? ZEROS : LL + to);
            FloatVector acc2 = FloatVector.fromArray(F, accs, fresh ? ZEROS : 2 * LL + to);
            // vector 0
            FloatVector x0 = FloatVector.fromArray(F, sp, s0), x1 = FloatVector.fromArray(F, sp, s1);
            FloatVector x2 = FloatVector.fromArray(F, sp, s2);
            FloatVector phi = x2.fma(w2, x1.fma(w1, x0.mul(wt0)));
            FloatVector dp = FloatVector.fromArray(F, gm, g).div(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f));
            p00 = dp.fma(w0, p00);
            p10 = dp.fma(w1, p10);
            p20 = dp.fma(w2, p20);
            acc0 = dp.fma(x0, acc0);
            acc1 = dp.fma(x1, acc1);
            acc2 = dp.fma(x2, acc2);
            // vector 1
            x0 = FloatVector.fromArray(F, sp, s0 + L);
            x1 = FloatVector.fromArray(F, sp, s1 + L);
            x2 = FloatVector.fromArray(F, sp, s2 + L);
            phi = x2.fma(w2, x1.fma(w1, x0.mul(wt0)));
            dp = FloatVector.fromArray(F, gm, g + L).div(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f));
            p01 = dp.fma(w0, p01);
            p11 = dp.fma(w1, p11);
            p21 = dp.fma(w2, p21);
            acc0 = dp.fma(x0, acc0);
            acc1 = dp.fma(x1, acc1);
            acc2 = dp.fma(x2, acc2);
            // vector 2
            x0 = FloatVector.fromArray(F, sp, s0 + 2 * L);
            x1 = FloatVector.fromArray(F, sp, s1 + 2 * L);
            x2 = FloatVector.fromArray(F, sp, s2 + 2 * L);
            phi = x2.fma(w2, x1.fma(w1, x0.mul(wt0)));
            dp = FloatVector.fromArray(F, gm, g + 2 * L).div(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f));
            p02 = dp.fma(w0, p02);
            p12 = dp.fma(w1, p12);
            p22 = dp.fma(w2, p22);
            acc0 = dp.fma(x0, acc0);
            acc1 = dp.fma(x1, acc1);
            acc2 = dp.fma(x2, acc2);
            // vector 3
            x0 = FloatVector.fromArray(F, sp, s0 + 3 * L);
            x1 = FloatVector.fromArray(F, sp, s1 + 3 * L);
            x2 = FloatVector.fromArray(F, sp, s2 + 3 * L);
            phi = x2.fma(w2, x1.fma(w1, x0.mul(wt0)));
            dp = FloatVector.fromArray(F, gm, g + 3 * L).div(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f));
            p03 = dp.fma(w0, p03);
            p13 = dp.fma(w1, p13);
            p23 = dp.fma(w2, p23);
            acc0 = dp.fma(x0, acc0);
            acc1 = dp.fma(x1, acc1);
            acc2 = dp.fma(x2, acc2);
            acc0.intoArray(accs, to);
            acc1.intoArray(accs, LL + to);
            acc2.intoArray(accs, 2 * LL + to);
        }
        p00.intoArray(knotSums, k0);
        p01.intoArray(knotSums, k0 + L);
        p02.intoArray(knotSums, k0 + 2 * L);
        p03.intoArray(knotSums, k0 + 3 * L);
        p10.intoArray(knotSums, k1);
        p11.intoArray(knotSums, k1 + L);
        p12.intoArray(knotSums, k1 + 2 * L);
        p13.intoArray(knotSums, k1 + 3 * L);
        p20.intoArray(knotSums, k2);
        p21.intoArray(knotSums, k2 + L);
        p22.intoArray(knotSums, k2 + 2 * L);
        p23.intoArray(knotSums, k2 + 3 * L);
    }

    /**
     * {@link #chunkOfFour}'s operations for modes {@code [q, R)}, vector by vector, with the knot sums read and
     * written in {@code knotSums} (L1) instead of held in registers: the modes after the last full chunk of four
     * vectors, or all of them where 12 sums would not fit in the registers ({@link #REGISTER_SUMS}).
     */
    private static void chunkOfRest(float[] sp, float[] gm, int gmAt, float[] wv, int[] order, int a, int count,
                                    int dims, int jd, int row0, int row1, int row2, boolean left, boolean right,
                                    int q, int r, float[] knotSums, float[] accs, boolean fresh) {
        FloatVector eps = FloatVector.broadcast(F, CpuSeparableModes.EPS), negEps = FloatVector.broadcast(F, -CpuSeparableModes.EPS);
        for (int t = 0; t < count; t++) {
            int n = order[a + t];
            int e = (n * dims + jd) * 3;
            float wt0 = left ? wv[e] : 0f, wt1 = wv[e + 1], wt2 = right ? wv[e + 2] : 0f;
            FloatVector w0 = FloatVector.broadcast(F, wt0), w1 = FloatVector.broadcast(F, wt1), w2 = FloatVector.broadcast(F, wt2);
            int to = t * L;
            FloatVector acc0 = FloatVector.fromArray(F, accs, fresh ? ZEROS : to);
            FloatVector acc1 = FloatVector.fromArray(F, accs, fresh ? ZEROS : LL + to);
            FloatVector acc2 = FloatVector.fromArray(F, accs, fresh ? ZEROS : 2 * LL + to);
            for (int v = q; v < r; v += L) {
                FloatVector x0 = FloatVector.fromArray(F, sp, row0 + v), x1 = FloatVector.fromArray(F, sp, row1 + v);
                FloatVector x2 = FloatVector.fromArray(F, sp, row2 + v);
                FloatVector phi = x2.fma(w2, x1.fma(w1, x0.mul(wt0)));
                FloatVector dp = FloatVector.fromArray(F, gm, gmAt + n * r + v)
                        .div(phi.add(negEps.blend(eps, phi.compare(VectorOperators.GE, 0f))))
                        .blend(0f, phi.compare(VectorOperators.EQ, 0f));
                dp.fma(w0, FloatVector.fromArray(F, knotSums, v)).intoArray(knotSums, v);
                dp.fma(w1, FloatVector.fromArray(F, knotSums, r + v)).intoArray(knotSums, r + v);
                dp.fma(w2, FloatVector.fromArray(F, knotSums, 2 * r + v)).intoArray(knotSums, 2 * r + v);
                acc0 = dp.fma(x0, acc0);
                acc1 = dp.fma(x1, acc1);
                acc2 = dp.fma(x2, acc2);
            }
            acc0.intoArray(accs, to);
            acc1.intoArray(accs, LL + to);
            acc2.intoArray(accs, 2 * LL + to);
        }
    }
}
