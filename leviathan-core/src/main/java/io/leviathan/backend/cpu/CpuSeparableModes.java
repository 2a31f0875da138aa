package io.leviathan.backend.cpu;

import io.leviathan.backend.SeparableModesChecks;
import static io.leviathan.backend.cpu.CpuElementwise.ELEMENT_GRAIN;
import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;

import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

/**
 * Rank-1 separable modes of a Leviathan generator head, and their backward. For row {@code n}, seed
 * dimension {@code i} and mode {@code r} the factor is
 * {@code phi[i, r] = sum_m w[n, i, m] * spline[i, first[n, i] + m, r]} (knots off the grid skipped) and
 * {@code modes[n, r] = sign * exp(sum_i log(|phi[i, r]| + EPS))}, {@code sign} the parity of the negative
 * factors.
 *
 * <p>That is exactly the plain product of {@code f_i = phi_i + EPS} ({@code phi_i >= 0}) or
 * {@code phi_i - EPS} ({@code phi_i < 0}): {@code |f_i| = |phi_i| + EPS} and {@code f_i} carries the sign of
 * {@code phi_i}. The forward computes that product, with no log or exp.
 *
 * <p>The backward is exact for the log-magnitude formula:
 * {@code d modes / d phi_i = modes * sign(phi_i) / (|phi_i| + EPS)}, which is {@code modes / f_i} for
 * {@code phi_i != 0} and 0 for {@code phi_i == 0}. The factors are recomputed, never stored.
 *
 * <p>The backward takes a seed dimension's rows by window start ({@link #bucketByFirst}): rows that start at
 * the same knot share their three spline rows, so their {@code dSpline} shares are summed per knot first (rows
 * in order, from zero) and each sum is added to {@code dSpline} once, starts ascending; rows are taken
 * {@link #ROW_PASS} at a time, so the fast path's per-thread arrays stay bounded for large batches. That order is
 * part of the result's definition: {@link CpuSeparableModesBlocked} sums the same way, with the sums in
 * registers.
 *
 * <p>A window is three spline rows and three weights; a knot off the grid gets weight 0 and the middle row
 * (always on the grid) as its row, so the factor is three fmas with no branch. Vector lanes and scalar
 * tails run the same operations in the same order, so a mode gets the same bits in either, and the forward
 * and backward the same factors. The forward splits rows between workers; the backward splits seed
 * dimensions, so each worker owns {@code dSpline[i]} and {@code dWeights[:, i, :]} for its {@code i}: no
 * races, and the same bits for any thread count. Scratch is per worker, on the heap: the backward keeps
 * {@code dModes * modes} of the head it works on as one contiguous {@code [N, R]} array, read once per seed
 * dimension.
 *
 * <p>The grouped form runs {@code G} heads in one call: {@code first [G, N, d]}, {@code weights [G, N, d, 3]}
 * and {@code spline [G, d, K, R]} per head, and {@code modes [N, G, R]}, so that the heads' modes of a row
 * are one contiguous {@code G * R} vector (the input of the output projection). The ungrouped form is the
 * grouped one with {@code G = 1}. The forward splits the {@code G * N} (head, row) pairs, the backward the
 * {@code G * d} (head, seed dimension) pairs.
 *
 * <p>When {@code R} is a multiple of the vector length, {@link CpuSeparableModesBlocked} computes the same
 * bits faster; the loops here are then its control (and serve every other {@code R}).
 */
final class CpuSeparableModes {
    private CpuSeparableModes() {}

    /**
     * Rows per pass of the backward's sums by window start (a pass's rows are sorted together): the fast path
     * keeps a pass's windows of a group of seed dimensions in arrays, 448 bytes a row (1.8 MiB per worker).
     */
    static final int ROW_PASS = 4096;

    /** The {@code 1e-9} of {@code log(|phi| + 1e-9)}. */
    static final float EPS = 1e-9f;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    // ================================================================ forward

    /**
     * {@code modes[n, g, r] = prod_i f_i[n, r]} of head {@code g}; see the class comment. Shapes as in
     * {@code Backend}: ungrouped, or grouped with {@code first [G, N, d]}.
     */
    static void separableModes(Parallel par, Tensor first, Tensor weights, Tensor spline, Tensor modes) {
        separableModes(par, first, weights, spline, modes, true);
    }

    /**
     * {@link #separableModes} through {@link CpuSeparableModesBlocked} where it applies ({@code fast}), or
     * through the general loop below (the control the tests compare the fast path with).
     */
    static void separableModes(Parallel par, Tensor first, Tensor weights, Tensor spline, Tensor modes, boolean fast) {
        String op = "separableModes";
        Dims s = Dims.of(SeparableModesChecks.separableModes(first, weights, spline, modes));
        MemorySegment sf = first.segment(CpuMemory.KEY), sw = weights.segment(CpuMemory.KEY), ss = spline.segment(CpuMemory.KEY), so = modes.segment(CpuMemory.KEY);
        checkFirst(op, sf, s);
        if (fast && CpuSeparableModesBlocked.applies(s)) {
            CpuSeparableModesBlocked.forward(par, s, sf, sw, ss, so);
            return;
        }
        forwardGeneral(par, s, sf, sw, ss, so);
    }

    /** The general loop of {@link #separableModes}, one (head, row) pair at a time. */
    private static void forwardGeneral(Parallel par, Dims s, MemorySegment sf, MemorySegment sw, MemorySegment ss,
                                       MemorySegment so) {
        int r = (int) s.r;
        par.forRange(s.groups * s.n, Math.max(1, ELEMENT_GRAIN / Math.max(1, s.d * s.r)), (p0, p1) -> {
            float[] acc = new float[r];
            long[] rows = new long[3];
            float[] wt = new float[3];
            for (long p = p0; p < p1; p++) { // p = g * N + n: row n of head g
                long g = p / s.n, n = p % s.n;
                Arrays.fill(acc, 1f);
                for (long i = 0; i < s.d; i++) {
                    window(s, sf, sw, g, p, i, rows, wt);
                    multiplyFactor(ss, rows, wt, acc);
                }
                MemorySegment.copy(acc, 0, so, F32, s.modesRow(n, g) * 4, r);
            }
        });
    }

    /** {@code acc[r] *= f[r]}, the factor of one window ({@code rows}, {@code wt}) made safe for the log. */
    static void multiplyFactor(MemorySegment spline, long[] rows, float[] wt, float[] acc) {
        int r = 0;
        for (; r + L <= acc.length; r += L) {
            FloatVector phi = factor(spline, rows, wt, r);
            FloatVector.fromArray(F, acc, r).mul(phi.add(signedEps(phi))).intoArray(acc, r);
        }
        for (; r < acc.length; r++) {
            float phi = factorScalar(spline, rows, wt, r);
            acc[r] = acc[r] * (phi + signedEps(phi));
        }
    }

    // ================================================================ backward

    /**
     * With {@code dphi_i[r] = dModes[n, r] * modes[n, r] * sign(phi_i) / (|phi_i| + EPS)}:
     * {@code dWeights[n, i, m] += sum_r dphi_i[r] * spline[i, first + m, r]} and
     * {@code dSpline[i, first + m, r] += w[n, i, m] * dphi_i[r]}, for the knots of the window on the grid
     * (per head {@code g} in the grouped form, with {@code dModes[n, g, r]} and {@code modes[n, g, r]}).
     */
    static void separableModesBackward(Parallel par, Tensor dModes, Tensor first, Tensor weights, Tensor spline,
                                       Tensor modes, Tensor dWeights, Tensor dSpline) {
        separableModesBackward(par, dModes, first, weights, spline, modes, dWeights, dSpline, true);
    }

    /** {@link #separableModesBackward} with the fast path ({@code fast}) or the general loop; as the forward. */
    static void separableModesBackward(Parallel par, Tensor dModes, Tensor first, Tensor weights, Tensor spline,
                                       Tensor modes, Tensor dWeights, Tensor dSpline, boolean fast) {
        String op = "separableModesBackward";
        Dims s = Dims.of(SeparableModesChecks.separableModesBackward(dModes, first, weights, spline, modes,
                dWeights, dSpline));
        MemorySegment g = dModes.segment(CpuMemory.KEY), sf = first.segment(CpuMemory.KEY), sw = weights.segment(CpuMemory.KEY), ss = spline.segment(CpuMemory.KEY);
        MemorySegment so = modes.segment(CpuMemory.KEY), sdw = dWeights.segment(CpuMemory.KEY), sds = dSpline.segment(CpuMemory.KEY);
        checkFirst(op, sf, s);
        if (fast && CpuSeparableModesBlocked.applies(s)) {
            CpuSeparableModesBlocked.backward(par, s, g, sf, sw, ss, so, sdw, sds);
            return;
        }
        backwardGeneral(par, s, g, sf, sw, ss, so, sdw, sds);
    }

    /** The general loop of {@link #separableModesBackward}, one (head, seed dimension) pair at a time. */
    private static void backwardGeneral(Parallel par, Dims s, MemorySegment g, MemorySegment sf, MemorySegment sw,
                                        MemorySegment ss, MemorySegment so, MemorySegment sdw, MemorySegment sds) {
        int r = (int) s.r;
        int rows = Math.toIntExact(s.n);
        int headModes = Math.toIntExact(s.n * s.r);
        par.forRange(s.groups * s.d, Math.max(1, ELEMENT_GRAIN / Math.max(1, s.n * s.r)), (q0, q1) -> {
            float[] dphi = new float[r];
            float[] dw = new float[3];
            long[] windowRows = new long[3];
            float[] wt = new float[3];
            float[] gm = new float[headModes]; // dModes * modes of one head, [N, R]: read once per seed dimension
            float[] knotSums = new float[3 * r]; // one bucket's dSpline shares, [3, R]
            int pass = Math.min(rows, ROW_PASS);
            int[] firsts = new int[pass], order = new int[pass], starts = new int[(int) s.knots + 1];
            long gmHead = -1;
            for (long q = q0; q < q1; q++) { // q = h * d + i: seed dimension i of head h
                long h = q / s.d, i = q % s.d;
                if (h != gmHead) {
                    modesTimesGrad(s, g, so, h, gm);
                    gmHead = h;
                }
                for (int n0 = 0; n0 < rows; n0 += ROW_PASS) { // rows [n0, n0 + count): one pass
                    int count = Math.min(ROW_PASS, rows - n0);
                    for (int k = 0; k < count; k++) {
                        firsts[k] = sf.get(I32, ((h * s.n + n0 + k) * s.d + i) * 4);
                    }
                    bucketByFirst(firsts, count, (int) s.knots, order, starts);
                    for (int b = 0; b < s.knots; b++) {
                        if (starts[b] == starts[b + 1]) {
                            continue; // no row starts its window here: nothing to add (not even a zero)
                        }
                        int f = b - 1;
                        Arrays.fill(knotSums, 0f);
                        for (int t = starts[b]; t < starts[b + 1]; t++) {
                            int n = n0 + order[t];
                            long p = h * s.n + n;
                            window(s, sf, sw, h, p, i, windowRows, wt);
                            factorGrad(ss, windowRows, wt, gm, n * r, dphi);
                            long e = p * s.d + i;
                            for (int m = 0; m < 3; m++) {
                                if (f + m >= 0 && f + m < s.knots) { // an off-grid knot gets no gradient
                                    dw[m] = knotGrad(ss, windowRows[m], dphi, wt[m], knotSums, m * r);
                                    sdw.set(F32, (e * 3 + m) * 4, sdw.get(F32, (e * 3 + m) * 4) + dw[m]);
                                }
                            }
                        }
                        for (int m = 0; m < 3; m++) {
                            if (f + m >= 0 && f + m < s.knots) {
                                addKnotSum(sds, ((h * s.d + i) * s.knots + f + m) * s.r, knotSums, m * r, r);
                            }
                        }
                    }
                }
            }
        });
    }

    // ================================================================ fused with the spline basis

    /**
     * The separable modes of the spline basis of the coordinates {@code t} on the spline's knots: the same bits as
     * {@link CpuSplineBasis#splineBasis} into {@code first} and {@code weights}, then {@link #separableModes}.
     * The fast path computes each block's windows in cache ({@link CpuSeparableModesBlocked#forwardFused}); other
     * shapes, and {@code fast == false} (the tests' control), run the two unfused ops through heap arrays.
     */
    static void separableModesOfCoordinates(Parallel par, Tensor t, boolean normalize, Tensor spline, Tensor modes,
                                            boolean fast) {
        Dims s = Dims.of(SeparableModesChecks.separableModesOfCoordinates(t, spline, modes));
        MemorySegment st = t.segment(CpuMemory.KEY), ss = spline.segment(CpuMemory.KEY), so = modes.segment(CpuMemory.KEY);
        if (fast && CpuSeparableModesBlocked.applies(s)) {
            CpuSeparableModesBlocked.forwardFused(par, s, st, normalize, ss, so, CpuSeparableModesBlocked.HEAD_SPLINE);
            return;
        }
        UnfusedWindows w = UnfusedWindows.of(s, false);
        CpuSplineBasis.splineBasis(par, st, s.groups * s.n * s.d, (int) s.knots, normalize, w.first, w.weights, fast);
        forwardGeneral(par, s, w.first, w.weights, ss, so);
    }

    /**
     * The backward of {@link #separableModesOfCoordinates}: {@code dT += d loss / d t} ({@code accumulate}; else
     * {@code dT =}, as zeroed and added to) and {@code dSpline += d loss / d spline}, the same bits as a zeroed
     * {@code dWeights}, {@link #separableModesBackward} and {@link CpuSplineBasis#splineBasisBackward}.
     */
    static void separableModesOfCoordinatesBackward(Parallel par, Tensor dModes, Tensor t, boolean normalize,
                                                    Tensor spline, Tensor modes, Tensor dT, Tensor dSpline,
                                                    boolean accumulate, boolean fast) {
        Dims s = Dims.of(SeparableModesChecks.separableModesOfCoordinatesBackward(dModes, t, spline, modes, dT,
                dSpline));
        MemorySegment g = dModes.segment(CpuMemory.KEY), st = t.segment(CpuMemory.KEY), ss = spline.segment(CpuMemory.KEY);
        MemorySegment so = modes.segment(CpuMemory.KEY), sdt = dT.segment(CpuMemory.KEY), sds = dSpline.segment(CpuMemory.KEY);
        if (fast && CpuSeparableModesBlocked.applies(s)) {
            CpuSeparableModesBlocked.backwardFused(par, s, g, st, normalize, ss, so, sdt, sds, accumulate);
            return;
        }
        if (!accumulate) {
            sdt.fill((byte) 0); // +0f: written is zeroed and added to
        }
        UnfusedWindows w = UnfusedWindows.of(s, true);
        long count = s.groups * s.n * s.d;
        CpuSplineBasis.splineBasis(par, st, count, (int) s.knots, normalize, w.first, w.weights, fast);
        backwardGeneral(par, s, g, w.first, w.weights, ss, so, w.dWeights, sds);
        CpuSplineBasis.splineBasisBackward(par, w.dWeights, st, w.first, count, (int) s.knots, normalize, sdt, fast);
    }

    /**
     * The windows (and their gradients) of the fused ops' general path, on the heap and grown to the largest
     * shape seen by the calling thread: that path serves shapes the fast path does not (and the tests' control),
     * so it keeps the unfused ops' buffers rather than a fused loop of its own. Its segments are made per call (a
     * few small objects; the fast path, which the generator's shapes take, makes none).
     */
    private static final class UnfusedWindows {
        private static final ThreadLocal<UnfusedWindows> OF_THREAD = ThreadLocal.withInitial(UnfusedWindows::new);

        private int[] firstArray = new int[0];
        private float[] weightArray = new float[0], dWeightArray = new float[0];
        MemorySegment first, weights, dWeights;

        static UnfusedWindows of(Dims s, boolean backward) {
            UnfusedWindows w = OF_THREAD.get();
            int count = Math.toIntExact(s.groups * s.n * s.d);
            if (w.firstArray.length < count) {
                w.firstArray = new int[count];
                w.weightArray = new float[Math.multiplyExact(count, 3)];
                w.dWeightArray = new float[0];
            }
            if (backward && w.dWeightArray.length < 3 * count) {
                w.dWeightArray = new float[3 * count];
            }
            w.first = MemorySegment.ofArray(w.firstArray).asSlice(0, count * 4L);
            w.weights = MemorySegment.ofArray(w.weightArray).asSlice(0, count * 12L);
            if (backward) {
                w.dWeights = MemorySegment.ofArray(w.dWeightArray).asSlice(0, count * 12L);
                Arrays.fill(w.dWeightArray, 0, 3 * count, 0f);
            }
            return w;
        }
    }

    /**
     * Rows {@code 0..rows-1} ordered by their window start, ascending, rows in order within one start (a counting
     * sort; the starts are in {@code [-1, knots - 2]}): the rows with {@code first == b - 1} are
     * {@code order[starts[b] .. starts[b + 1])}, {@code starts} holding {@code knots + 1} entries.
     */
    static void bucketByFirst(int[] firsts, int rows, int knots, int[] order, int[] starts) {
        Arrays.fill(starts, 0, knots + 1, 0);
        for (int n = 0; n < rows; n++) {
            starts[firsts[n] + 2]++; // bucket b's count lands in starts[b + 1]; the prefix sum makes it b + 1's start
        }
        for (int b = 1; b <= knots; b++) {
            starts[b] += starts[b - 1];
        }
        for (int n = 0; n < rows; n++) {
            order[starts[firsts[n] + 1]++] = n;
        }
        for (int b = knots; b > 0; b--) { // each start has advanced to its bucket's end: shift back by one
            starts[b] = starts[b - 1];
        }
        starts[0] = 0;
    }

    /** {@code dSpline[row + q] += sums[at + q]} for the {@code r} modes of one knot's row. */
    static void addKnotSum(MemorySegment dSpline, long row, float[] sums, int at, int r) {
        int q = 0;
        for (; q + L <= r; q += L) {
            long b = (row + q) * 4;
            FloatVector.fromMemorySegment(F, dSpline, b, NO).add(FloatVector.fromArray(F, sums, at + q))
                    .intoMemorySegment(dSpline, b, NO);
        }
        for (; q < r; q++) {
            long b = (row + q) * 4;
            dSpline.set(F32, b, dSpline.get(F32, b) + sums[at + q]);
        }
    }

    /** {@code gm[n, r] = dModes[n, h, r] * modes[n, h, r]} for every row {@code n} of head {@code h}. */
    static void modesTimesGrad(Dims s, MemorySegment dModes, MemorySegment modes, long h, float[] gm) {
        int r = (int) s.r;
        for (long n = 0; n < s.n; n++) {
            long o = s.modesRow(n, h);
            int out = (int) (n * r);
            int q = 0;
            for (; q + L <= r; q += L) {
                FloatVector.fromMemorySegment(F, dModes, (o + q) * 4, NO)
                        .mul(FloatVector.fromMemorySegment(F, modes, (o + q) * 4, NO)).intoArray(gm, out + q);
            }
            for (; q < r; q++) {
                gm[out + q] = dModes.get(F32, (o + q) * 4) * modes.get(F32, (o + q) * 4);
            }
        }
    }

    /** {@code dphi[r] = gm[o + r] / f[r]}, or 0 where {@code phi[r] == 0} ({@code gm = dModes * modes}). */
    static void factorGrad(MemorySegment spline, long[] rows, float[] wt, float[] gm, int o, float[] dphi) {
        int r = 0;
        for (; r + L <= dphi.length; r += L) {
            FloatVector phi = factor(spline, rows, wt, r);
            FloatVector.fromArray(F, gm, o + r).div(phi.add(signedEps(phi)))
                    .blend(0f, phi.compare(VectorOperators.EQ, 0f)).intoArray(dphi, r);
        }
        for (; r < dphi.length; r++) {
            float phi = factorScalar(spline, rows, wt, r);
            dphi[r] = phi == 0f ? 0f : gm[o + r] / (phi + signedEps(phi));
        }
    }

    /**
     * One knot's share of a window, spline row at element offset {@code row}:
     * {@code sums[at + r] += wm * dphi[r]} (the bucket's running sum for that knot's {@code dSpline} row); returns
     * {@code sum_r dphi[r] * spline[row + r]}, its weight's gradient.
     */
    static float knotGrad(MemorySegment spline, long row, float[] dphi, float wm, float[] sums, int at) {
        FloatVector acc = FloatVector.zero(F);
        FloatVector w = FloatVector.broadcast(F, wm);
        int r = 0;
        for (; r + L <= dphi.length; r += L) {
            FloatVector dp = FloatVector.fromArray(F, dphi, r);
            dp.fma(w, FloatVector.fromArray(F, sums, at + r)).intoArray(sums, at + r);
            acc = dp.fma(FloatVector.fromMemorySegment(F, spline, (row + r) * 4, NO), acc);
        }
        double sum = laneSum(acc);
        for (; r < dphi.length; r++) {
            sums[at + r] = Math.fma(dphi[r], wm, sums[at + r]);
            sum += dphi[r] * spline.get(F32, (row + r) * 4);
        }
        return (float) sum;
    }

    /** {@link CpuLaneReductions#laneSum}: each window needs three sums, in a fixed order. */
    static float laneSum(FloatVector v) {
        return CpuLaneReductions.laneSum(v);
    }

    // ================================================================ the window and its factor

    /**
     * The window of element {@code [p, i]} ({@code p = g * N + n}, row {@code n} of head {@code g}): offsets
     * (in elements) of the rows of head {@code g}'s spline, and weights, of knots {@code first + m}; a knot off
     * the grid gets the middle row and weight 0. Returns {@code first}.
     */
    static int window(Dims s, MemorySegment first, MemorySegment w, long g, long p, long i, long[] rows, float[] wt) {
        long e = p * s.d + i;
        int f = first.get(I32, e * 4);
        long mid = ((g * s.d + i) * s.knots + f + 1) * s.r;
        boolean left = f >= 0, right = f + 2 < s.knots;
        rows[0] = left ? mid - s.r : mid;
        rows[1] = mid;
        rows[2] = right ? mid + s.r : mid;
        wt[0] = left ? w.get(F32, e * 12) : 0f;
        wt[1] = w.get(F32, e * 12 + 4);
        wt[2] = right ? w.get(F32, e * 12 + 8) : 0f;
        return f;
    }

    /** {@code phi[r..r+L)} of a window: {@code w0*s0}, then fma {@code w1*s1}, then fma {@code w2*s2}. */
    static FloatVector factor(MemorySegment spline, long[] rows, float[] wt, int r) {
        FloatVector s0 = FloatVector.fromMemorySegment(F, spline, (rows[0] + r) * 4, NO);
        FloatVector s1 = FloatVector.fromMemorySegment(F, spline, (rows[1] + r) * 4, NO);
        FloatVector s2 = FloatVector.fromMemorySegment(F, spline, (rows[2] + r) * 4, NO);
        return s2.fma(FloatVector.broadcast(F, wt[2]), s1.fma(FloatVector.broadcast(F, wt[1]), s0.mul(wt[0])));
    }

    /** The scalar twin of {@link #factor}: the same operations, so the same bits. */
    static float factorScalar(MemorySegment spline, long[] rows, float[] wt, int r) {
        float s0 = spline.get(F32, (rows[0] + r) * 4);
        float s1 = spline.get(F32, (rows[1] + r) * 4);
        float s2 = spline.get(F32, (rows[2] + r) * 4);
        return Math.fma(s2, wt[2], Math.fma(s1, wt[1], s0 * wt[0]));
    }

    /** {@code +EPS} where {@code phi >= 0} (zero included), else {@code -EPS}: {@code phi + it = f}. */
    static FloatVector signedEps(FloatVector phi) {
        VectorMask<Float> nonNegative = phi.compare(VectorOperators.GE, 0f);
        return FloatVector.broadcast(F, -EPS).blend(EPS, nonNegative);
    }

    /** The scalar twin of {@link #signedEps(FloatVector)}. */
    static float signedEps(float phi) {
        return phi >= 0f ? EPS : -EPS;
    }

    // ================================================================ shapes

    /** Groups (heads) {@code groups}, rows {@code n}, seed dimensions {@code d}, knots and modes {@code r}. */
    record Dims(long groups, long n, long d, long knots, long r) {
        /** As {@code m}; the last call's record when the sizes are the same (a step then allocates none). */
        static Dims of(SeparableModesChecks.ModeDims m) {
            Dims s = last;
            if (s == null || s.groups != m.groups() || s.n != m.n() || s.d != m.d() || s.knots != m.knots() || s.r != m.r()) {
                s = new Dims(m.groups(), m.n(), m.d(), m.knots(), m.r());
                last = s;
            }
            return s;
        }

        private static volatile Dims last;

        /** The element offset of {@code modes[n, g, :]} ({@code [N, G, R]}; {@code [N, R]} when ungrouped). */
        long modesRow(long row, long group) {
            return (row * groups + group) * r;
        }
    }

    /**
     * Every window start on the grid; when one is not, the scalar check per head finds the first (so a message
     * names the head as well as [n, i]).
     */
    private static void checkFirst(String op, MemorySegment first, Dims s) {
        if (CpuSplineBasis.firstInRange(first, s.groups * s.n * s.d, s.knots)) {
            return; // the usual case: one pass, and no per-head names or slices made
        }
        long perGroup = s.n * s.d * 4;
        for (long g = 0; g < s.groups; g++) {
            CpuSplineBasis.checkFirst(s.groups == 1 ? op : op + " (head " + g + ")",
                    first.asSlice(g * perGroup, perGroup), s.n * s.d, s.d, s.knots);
        }
    }
}
