package io.leviathan.backend.cpu;

import io.leviathan.backend.SplineBasisChecks;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The quadratic B-spline basis of the Leviathan generator, stored sparsely as a three-knot window per
 * coordinate, and its backward.
 *
 * <p>With {@code K} knots on [0, 1] and a coordinate {@code t}, let {@code c = clamp(t, 0, 1) * (K - 1)}
 * (the position in knot units), {@code jn} the nearest knot (ties up) and {@code x = c - jn} in [-0.5, 0.5).
 * A knot at distance {@code dist = |c - j|} has weight
 * <pre>
 *   B(dist) = 0.75 - dist^2              dist in [0, 0.5)
 *           = 0.5 * (1.5 - dist)^2       dist in [0.5, 1.5)
 *           = 0                          otherwise
 * </pre>
 * so only knots {@code jn - 1, jn, jn + 1} (the window, {@code first = jn - 1}) can be non-zero, and there
 * the formula is branch-free in {@code x}:
 * <pre>
 *   u0 = 0.5 * (0.5 - x)^2     u1 = 0.75 - x^2     u2 = 0.5 * (0.5 + x)^2
 * </pre>
 * A knot outside {@code [0, K)} gets 0. With {@code normalize} the weights are divided by their sum, which is
 * at least 0.5 (the nearest knot is always on the grid).
 *
 * <p>Each coordinate is independent, so both passes split the {@code N * d} coordinates between workers and
 * give the same bits for any thread count. The work per coordinate is a handful of flops in double
 * ({@code c} is exact in double, so the float weights are the basis of the float {@code t} to within a
 * rounding, and the backward recomputes exactly the forward's window). {@link CpuSplineBasisLanes} runs the
 * same operations on vector lanes (the default); the scalar loops here are its control and its fallback.
 */
final class CpuSplineBasis {
    private CpuSplineBasis() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    /** Coordinates per parallel chunk (each costs a few dozen flops). */
    private static final long GRAIN = 1 << 13;

    // ================================================================ forward

    /**
     * {@code first[n, i]} and {@code weights[n, i, 0..2]} of the sparse basis of {@code t[n, i]} on
     * {@code knots} knots (at least 2); see the class comment. NaN coordinates give NaN weights.
     */
    static void splineBasis(Parallel par, Tensor t, int knots, boolean normalize, Tensor first, Tensor weights) {
        splineBasis(par, t, knots, normalize, first, weights, true);
    }

    /** {@link #splineBasis} with the vector loop ({@code fast}) or the scalar one (the tests' control). */
    static void splineBasis(Parallel par, Tensor t, int knots, boolean normalize, Tensor first, Tensor weights,
                            boolean fast) {
        SplineBasisChecks.splineBasis(t, knots, first, weights);
        MemorySegment st = t.segment(CpuMemory.KEY), sf = first.segment(CpuMemory.KEY), sw = weights.segment(CpuMemory.KEY);
        splineBasis(par, st, t.numel(), knots, normalize, sf, sw, fast);
    }

    /** {@link #splineBasis} of {@code count} coordinates in segments, unchecked (the fused ops' general path). */
    static void splineBasis(Parallel par, MemorySegment st, long count, int knots, boolean normalize,
                            MemorySegment sf, MemorySegment sw, boolean fast) {
        Job.claim(Job.FORWARD, st, sf, sw, null, knots, normalize, fast).dispatch(par, count);
    }

    /** The coordinates {@code [e0, e1)} of {@link #splineBasis}, one at a time. */
    static void forwardScalar(MemorySegment st, MemorySegment sf, MemorySegment sw, int knots, boolean normalize,
                              long e0, long e1) {
        double scale = knots - 1;
        for (long e = e0; e < e1; e++) {
            double c = clamp01(st.get(F32, e * 4)) * scale;
            int jn = nearestKnot(c);
            double x = c - jn;
            double u0 = jn >= 1 ? leftWeight(x) : 0;
            double u1 = 0.75 - x * x;
            double u2 = jn + 1 < knots ? rightWeight(x) : 0;
            double scaleW = normalize ? 1 / (u0 + u1 + u2) : 1;
            sf.set(I32, e * 4, jn - 1);
            sw.set(F32, e * 12, (float) (u0 * scaleW));
            sw.set(F32, e * 12 + 4, (float) (u1 * scaleW));
            sw.set(F32, e * 12 + 8, (float) (u2 * scaleW));
        }
    }

    // ================================================================ backward

    /**
     * {@code dT[n, i] += sum_m g_m * d weights[n, i, m] / d t[n, i]}, {@code g = dWeights[n, i, :]}. With
     * {@code u'_m = du_m / dx} ({@code x - 0.5}, {@code -2x}, {@code x + 0.5}; 0 off the grid),
     * {@code S = sum u} and {@code S' = sum u'}: without normalisation {@code dc = sum g_m u'_m}; with it
     * {@code dc = (sum g_m u'_m - S' * sum g_m u_m / S) / S}. Then {@code dt = dc * (K - 1)}, and 0 where
     * {@code t} was clamped (outside [0, 1]). {@code first} must be the forward's window for {@code t}.
     */
    static void splineBasisBackward(Parallel par, Tensor dWeights, Tensor t, Tensor first, int knots,
                                    boolean normalize, Tensor dT) {
        splineBasisBackward(par, dWeights, t, first, knots, normalize, dT, true);
    }

    /** {@link #splineBasisBackward} with the vector loop ({@code fast}) or the scalar one (the tests' control). */
    static void splineBasisBackward(Parallel par, Tensor dWeights, Tensor t, Tensor first, int knots,
                                    boolean normalize, Tensor dT, boolean fast) {
        String op = "splineBasisBackward";
        SplineBasisChecks.splineBasisBackward(dWeights, t, first, knots, dT);
        MemorySegment g = dWeights.segment(CpuMemory.KEY), st = t.segment(CpuMemory.KEY), sf = first.segment(CpuMemory.KEY), sdt = dT.segment(CpuMemory.KEY);
        if (!fast || !windowsMatch(par, st, sf, t.numel(), knots)) {
            // the scalar checks name the first bad window (the parallel pass above only finds that there is one)
            checkFirst(op, sf, t.numel(), t.size(1), knots);
            checkWindows(op, st, sf, t.numel(), t.size(1), knots);
        }
        splineBasisBackward(par, g, st, sf, t.numel(), knots, normalize, sdt, fast);
    }

    /**
     * {@link #splineBasisBackward} of {@code count} coordinates in segments, unchecked: {@code first} must be the
     * forward's windows (the fused ops' general path computes them just before).
     */
    static void splineBasisBackward(Parallel par, MemorySegment g, MemorySegment st, MemorySegment sf, long count,
                                    int knots, boolean normalize, MemorySegment sdt, boolean fast) {
        Job.claim(Job.BACKWARD, g, st, sf, sdt, knots, normalize, fast).dispatch(par, count);
    }

    /** Whether every window in {@code first} is the forward's for {@code t}, checked in parallel. */
    private static boolean windowsMatch(Parallel par, MemorySegment st, MemorySegment sf, long count, int knots) {
        Job job = Job.claim(Job.WINDOWS_MATCH, st, sf, null, null, knots, false, true);
        job.bad = false;
        job.dispatch(par, count);
        return !job.bad;
    }

    /**
     * The arguments of one call, in an object the calling thread reuses rather than a capturing lambda, so the
     * generator's training step leaves no garbage behind. The segments' roles follow the kind: forward
     * {@code t, first, weights}; backward {@code dWeights, t, first, dT}; windows check {@code t, first}.
     */
    private static final class Job implements Parallel.RangeBody {
        static final int FORWARD = 0, BACKWARD = 1, WINDOWS_MATCH = 2;
        private static final ThreadLocal<Job> JOBS = ThreadLocal.withInitial(Job::new);

        int kind, knots;
        boolean normalize, fast;
        MemorySegment a, b, c, d;
        /** Set by a chunk of a windows check that found a mismatch (a benign race: chunks only ever set it). */
        volatile boolean bad;

        static Job claim(int kind, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment d, int knots,
                         boolean normalize, boolean fast) {
            Job j = JOBS.get();
            j.kind = kind;
            j.a = a;
            j.b = b;
            j.c = c;
            j.d = d;
            j.knots = knots;
            j.normalize = normalize;
            j.fast = fast;
            return j;
        }

        void dispatch(Parallel par, long count) {
            try {
                par.forRange(count, GRAIN, this);
            } finally {
                a = b = c = d = null; // a closed arena's memory must not stay reachable
            }
        }

        @Override
        public void run(long e0, long e1) {
            switch (kind) {
                case FORWARD -> {
                    if (fast) {
                        CpuSplineBasisLanes.forward(a, b, c, knots, normalize, e0, e1);
                    } else {
                        forwardScalar(a, b, c, knots, normalize, e0, e1);
                    }
                }
                case BACKWARD -> {
                    if (fast) {
                        CpuSplineBasisLanes.backward(a, b, c, d, knots, normalize, e0, e1);
                    } else {
                        backwardScalar(a, b, c, d, knots, normalize, e0, e1);
                    }
                }
                default -> {
                    if (!CpuSplineBasisLanes.windowsMatch(a, b, knots, e0, e1)) {
                        bad = true;
                    }
                }
            }
        }
    }

    /** The coordinates {@code [e0, e1)} of {@link #splineBasisBackward}, one at a time. */
    static void backwardScalar(MemorySegment g, MemorySegment st, MemorySegment sf, MemorySegment sdt, int knots,
                               boolean normalize, long e0, long e1) {
        double scale = knots - 1;
        for (long e = e0; e < e1; e++) {
            float tv = st.get(F32, e * 4);
            if (tv < 0f || tv > 1f) {
                continue; // clamped: the weights do not depend on t here
            }
            double c = tv * scale;
            int jn = sf.get(I32, e * 4) + 1;
            double dc = windowGrad(c - jn, jn >= 1, jn + 1 < knots, normalize,
                    g.get(F32, e * 12), g.get(F32, e * 12 + 4), g.get(F32, e * 12 + 8));
            sdt.set(F32, e * 4, sdt.get(F32, e * 4) + (float) (dc * scale));
        }
    }

    /** Whether each {@code first[e]}, {@code e} in {@code [e0, e1)}, is the forward's window for {@code t[e]}. */
    static boolean windowsMatchScalar(MemorySegment st, MemorySegment sf, int knots, long e0, long e1) {
        for (long e = e0; e < e1; e++) {
            if (sf.get(I32, e * 4) != nearestKnot(clamp01(st.get(F32, e * 4)) * (knots - 1)) - 1) {
                return false;
            }
        }
        return true;
    }

    /** {@code sum_m g_m * d w_m / dx} at offset {@code x} from the nearest knot; see {@link #splineBasisBackward}. */
    static double windowGrad(double x, boolean leftOnGrid, boolean rightOnGrid, boolean normalize,
                             double g0, double g1, double g2) {
        double u0 = leftOnGrid ? leftWeight(x) : 0, du0 = leftOnGrid ? x - 0.5 : 0;
        double u1 = 0.75 - x * x, du1 = -2 * x;
        double u2 = rightOnGrid ? rightWeight(x) : 0, du2 = rightOnGrid ? x + 0.5 : 0;
        double gDu = g0 * du0 + g1 * du1 + g2 * du2;
        if (!normalize) {
            return gDu;
        }
        double sum = u0 + u1 + u2, dSum = du0 + du1 + du2;
        double gU = g0 * u0 + g1 * u1 + g2 * u2;
        return (gDu - dSum * gU / sum) / sum;
    }

    // ================================================================ one coordinate

    /** {@code t} clamped to [0, 1] (NaN stays NaN). */
    static double clamp01(double t) {
        return Math.min(Math.max(t, 0), 1);
    }

    /**
     * The knot nearest to {@code c >= 0}, ties going up (as {@code floor(c + 0.5)}). {@code c - floor(c)} is
     * exact, so unlike {@code floor(c + 0.5)} this never rounds into the wrong knot.
     */
    static int nearestKnot(double c) {
        int fl = (int) c; // c >= 0, so truncation is floor
        return c - fl >= 0.5 ? fl + 1 : fl;
    }

    /** {@code B(1 + x)}: the weight of the knot left of the nearest, {@code x} in [-0.5, 0.5]. */
    static double leftWeight(double x) {
        double a = 0.5 - x;
        return 0.5 * a * a;
    }

    /** {@code B(1 - x)}: the weight of the knot right of the nearest, {@code x} in [-0.5, 0.5]. */
    static double rightWeight(double x) {
        double a = 0.5 + x;
        return 0.5 * a * a;
    }

    // ================================================================ checks

    /**
     * Whether every window start {@code first[0, count)} lies in {@code [-1, knots - 2]}, in one pass over
     * their minimum and maximum. It names no window; a caller that gets false runs {@link #checkFirst}, which
     * does. (Plain scalar code: a vector loop here would be one more place C2 can box vectors.)
     */
    static boolean firstInRange(MemorySegment sf, long count, long knots) {
        int min = Integer.MAX_VALUE, max = Integer.MIN_VALUE;
        for (long e = 0; e < count; e++) {
            int f = sf.get(I32, e * 4);
            min = Math.min(min, f);
            max = Math.max(max, f);
        }
        return count == 0 || (min >= -1 && max <= knots - 2);
    }

    /**
     * Throws for the first window start outside {@code [-1, knots - 2]}, naming it and its position
     * {@code [n, i]} in {@code first} ({@code count} elements, rows of {@code d}).
     */
    static void checkFirst(String op, MemorySegment first, long count, long d, long knots) {
        for (long e = 0; e < count; e++) {
            int f = first.get(I32, e * 4);
            if (f < -1 || f > knots - 2) {
                throw new IllegalArgumentException(op + ": first " + f + " at [" + e / d + ", " + e % d
                        + "] is outside [-1, " + (knots - 2) + "] (the window starts for " + knots + " knots)");
            }
        }
    }

    /** Throws for the first window that is not the one the forward computes for {@code t}. */
    private static void checkWindows(String op, MemorySegment t, MemorySegment first, long count, long d, int knots) {
        for (long e = 0; e < count; e++) {
            float tv = t.get(F32, e * 4);
            int expected = nearestKnot(clamp01(tv) * (knots - 1)) - 1;
            int f = first.get(I32, e * 4);
            if (f != expected) {
                throw new IllegalArgumentException(op + ": first " + f + " at [" + e / d + ", " + e % d
                        + "] is not the window of t = " + tv + " on " + knots + " knots (" + expected + ")");
            }
        }
    }
}
