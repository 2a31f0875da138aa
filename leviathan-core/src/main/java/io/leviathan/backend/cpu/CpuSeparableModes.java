package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwise.ELEMENT_GRAIN;
import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;
import static io.leviathan.backend.cpu.CpuElementwise.sumLanes;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
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
 * <p>A window is three spline rows and three weights; a knot off the grid gets weight 0 and the middle row
 * (always on the grid) as its row, so the factor is three fmas with no branch. Vector lanes and scalar
 * tails run the same operations in the same order, so a mode gets the same bits in either, and the forward
 * and backward the same factors. The forward splits rows between workers; the backward splits seed
 * dimensions, so each worker owns {@code dSpline[i]} and {@code dWeights[:, i, :]} for its {@code i}: no
 * races, and the same bits for any thread count. Scratch is per worker, on the heap.
 */
final class CpuSeparableModes {
    private CpuSeparableModes() {}

    /** The {@code 1e-9} of {@code log(|phi| + 1e-9)}. */
    static final float EPS = 1e-9f;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    // ================================================================ forward

    /** {@code modes[n, r] = prod_i f_i[n, r]}; see the class comment. Shapes as in {@code Backend}. */
    static void separableModes(Parallel par, Tensor first, Tensor weights, Tensor spline, Tensor modes) {
        String op = "separableModes";
        Checks.host(op, "first", first, DType.I32);
        Checks.f32(op, "weights", weights);
        Checks.f32(op, "spline", spline);
        Checks.f32Out(op, "modes", modes);
        Dims s = checkShapes(op, first, weights, spline, "modes", modes);
        MemorySegment sf = first.segment(CpuMemory.KEY), sw = weights.segment(CpuMemory.KEY), ss = spline.segment(CpuMemory.KEY), so = modes.segment(CpuMemory.KEY);
        CpuSplineBasis.checkFirst(op, sf, s.n * s.d, s.d, s.knots);
        int r = (int) s.r;
        par.forRange(s.n, Math.max(1, ELEMENT_GRAIN / Math.max(1, s.d * s.r)), (n0, n1) -> {
            float[] acc = new float[r];
            long[] rows = new long[3];
            float[] wt = new float[3];
            for (long n = n0; n < n1; n++) {
                Arrays.fill(acc, 1f);
                for (long i = 0; i < s.d; i++) {
                    window(s, sf, sw, n, i, rows, wt);
                    multiplyFactor(ss, rows, wt, acc);
                }
                MemorySegment.copy(acc, 0, so, F32, n * s.r * 4, r);
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
     * {@code dSpline[i, first + m, r] += w[n, i, m] * dphi_i[r]}, for the knots of the window on the grid.
     */
    static void separableModesBackward(Parallel par, Tensor dModes, Tensor first, Tensor weights, Tensor spline,
                                       Tensor modes, Tensor dWeights, Tensor dSpline) {
        String op = "separableModesBackward";
        Checks.f32(op, "dModes", dModes);
        Checks.host(op, "first", first, DType.I32);
        Checks.f32(op, "weights", weights);
        Checks.f32(op, "spline", spline);
        Checks.f32(op, "modes", modes);
        Checks.f32Out(op, "dWeights", dWeights);
        Checks.f32Out(op, "dSpline", dSpline);
        Dims s = checkShapes(op, first, weights, spline, "modes", modes);
        Checks.sameShape(op, new String[] {"modes", "dModes"}, modes, dModes);
        Checks.sameShape(op, new String[] {"weights", "dWeights"}, weights, dWeights);
        Checks.sameShape(op, new String[] {"spline", "dSpline"}, spline, dSpline);
        MemorySegment g = dModes.segment(CpuMemory.KEY), sf = first.segment(CpuMemory.KEY), sw = weights.segment(CpuMemory.KEY), ss = spline.segment(CpuMemory.KEY);
        MemorySegment so = modes.segment(CpuMemory.KEY), sdw = dWeights.segment(CpuMemory.KEY), sds = dSpline.segment(CpuMemory.KEY);
        CpuSplineBasis.checkFirst(op, sf, s.n * s.d, s.d, s.knots);
        int r = (int) s.r;
        par.forRange(s.d, Math.max(1, ELEMENT_GRAIN / Math.max(1, s.n * s.r)), (i0, i1) -> {
            float[] dphi = new float[r];
            long[] rows = new long[3];
            float[] wt = new float[3];
            for (long i = i0; i < i1; i++) {
                for (long n = 0; n < s.n; n++) {
                    int f = window(s, sf, sw, n, i, rows, wt);
                    factorGrad(ss, rows, wt, g, so, n * s.r, dphi);
                    long e = n * s.d + i;
                    for (int m = 0; m < 3; m++) {
                        if (f + m >= 0 && f + m < s.knots) {
                            float dw = knotGrad(ss, sds, rows[m], dphi, wt[m]);
                            sdw.set(F32, (e * 3 + m) * 4, sdw.get(F32, (e * 3 + m) * 4) + dw);
                        }
                    }
                }
            }
        });
    }

    /** {@code dphi[r] = dModes[r] * modes[r] / f[r]}, or 0 where {@code phi[r] == 0} ({@code o}: row offset). */
    static void factorGrad(MemorySegment spline, long[] rows, float[] wt, MemorySegment dModes, MemorySegment modes,
                           long o, float[] dphi) {
        int r = 0;
        for (; r + L <= dphi.length; r += L) {
            FloatVector phi = factor(spline, rows, wt, r);
            FloatVector gm = FloatVector.fromMemorySegment(F, dModes, (o + r) * 4, NO)
                    .mul(FloatVector.fromMemorySegment(F, modes, (o + r) * 4, NO));
            gm.div(phi.add(signedEps(phi))).blend(0f, phi.compare(VectorOperators.EQ, 0f)).intoArray(dphi, r);
        }
        for (; r < dphi.length; r++) {
            float phi = factorScalar(spline, rows, wt, r);
            float gm = dModes.get(F32, (o + r) * 4) * modes.get(F32, (o + r) * 4);
            dphi[r] = phi == 0f ? 0f : gm / (phi + signedEps(phi));
        }
    }

    /**
     * One knot's share, spline row at element offset {@code row}: {@code dSpline[row + r] += wm * dphi[r]};
     * returns {@code sum_r dphi[r] * spline[row + r]}, its weight's gradient.
     */
    static float knotGrad(MemorySegment spline, MemorySegment dSpline, long row, float[] dphi, float wm) {
        FloatVector acc = FloatVector.zero(F);
        int r = 0;
        for (; r + L <= dphi.length; r += L) {
            long b = (row + r) * 4;
            FloatVector dp = FloatVector.fromArray(F, dphi, r);
            dp.fma(FloatVector.broadcast(F, wm), FloatVector.fromMemorySegment(F, dSpline, b, NO)).intoMemorySegment(dSpline, b, NO);
            acc = dp.fma(FloatVector.fromMemorySegment(F, spline, b, NO), acc);
        }
        double sum = sumLanes(acc);
        for (; r < dphi.length; r++) {
            long b = (row + r) * 4;
            dSpline.set(F32, b, Math.fma(dphi[r], wm, dSpline.get(F32, b)));
            sum += dphi[r] * spline.get(F32, b);
        }
        return (float) sum;
    }

    // ================================================================ the window and its factor

    /**
     * The window of element {@code [n, i]}: spline row offsets (in elements) and weights of knots
     * {@code first + m}; a knot off the grid gets the middle row and weight 0. Returns {@code first}.
     */
    static int window(Dims s, MemorySegment first, MemorySegment w, long n, long i, long[] rows, float[] wt) {
        long e = n * s.d + i;
        int f = first.get(I32, e * 4);
        long mid = (i * s.knots + f + 1) * s.r;
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

    /** Rows {@code n}, seed dimensions {@code d}, knots and modes {@code r}. */
    record Dims(long n, long d, long knots, long r) {}

    /** first {@code [N, d]}, weights {@code [N, d, 3]}, spline {@code [d, K, R]}, modes {@code [N, R]}. */
    private static Dims checkShapes(String op, Tensor first, Tensor weights, Tensor spline, String modesName,
                                    Tensor modes) {
        if (first.rank() != 2) {
            throw new ShapeMismatchException(op + ": first must be [N, d] but has shape "
                    + Arrays.toString(first.shape()));
        }
        if (spline.rank() != 3) {
            throw new ShapeMismatchException(op + ": spline must be [d, knots, R] but has shape "
                    + Arrays.toString(spline.shape()));
        }
        long n = first.size(0), d = first.size(1), knots = spline.size(1), r = spline.size(2);
        Checks.shape(op, "weights", weights, n, d, 3);
        if (spline.size(0) != d) {
            throw new ShapeMismatchException(op + ": spline " + Arrays.toString(spline.shape())
                    + " must have d = " + d + " rows, as first " + Arrays.toString(first.shape()));
        }
        Checks.shape(op, modesName, modes, n, r);
        return new Dims(n, d, knots, r);
    }
}
