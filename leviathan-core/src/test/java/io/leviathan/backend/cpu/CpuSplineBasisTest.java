package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwiseTest.assertAccumulated;
import static io.leviathan.backend.cpu.CpuElementwiseTest.assertMessage;
import static io.leviathan.backend.cpu.CpuReductionsTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuSplineBasisTest {
    static final int[] KNOTS = {3, 4, 32};
    static final int[] DIMS = {1, 5, 128};
    static final int[] ROWS = {1, 9};


    /**
     * The one-pass range check of window starts agrees with the element-by-element rule, wherever the one bad
     * start sits: first, in the middle, last.
     */
    @Test
    void firstInRangeFindsAnOutOfRangeStartAnywhere() {
        int knots = 32;
        try (TensorArena arena = new TensorArena()) {
            // nothing to check: true, whatever the memory holds
            assertTrue(CpuSplineBasis.firstInRange(arena.ofInts(new int[] {-5}, 1).segment(), 0, knots));
            for (int count : new int[] {1, 15, 16, 17, 1000 + 7}) {
                int[] starts = TestData.ints(count, count, knots - 1); // [0, knots - 2]
                for (int i = 0; i < count; i += 3) {
                    starts[i] -= 1; // some down to -1, the lowest legal start
                }
                assertTrue(CpuSplineBasis.firstInRange(arena.ofInts(starts, count).segment(), count, knots),
                        "legal starts, n=" + count);
                for (int at : new int[] {0, count / 2, count - 1}) {
                    for (int bad : new int[] {-2, knots - 1, Integer.MIN_VALUE, Integer.MAX_VALUE}) {
                        int[] copy = starts.clone();
                        copy[at] = bad;
                        assertFalse(CpuSplineBasis.firstInRange(arena.ofInts(copy, count).segment(), count, knots),
                                "start " + bad + " at " + at + " of " + count);
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- forward

    @Test
    void basisMatchesDenseReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int knots : KNOTS) {
                for (int d : DIMS) {
                    for (int n : ROWS) {
                        for (boolean normalize : new boolean[] {false, true}) {
                            float[] t = coordinates(knots * 1000 + d * 10 + n, n * d, knots);
                            Tensor first = arena.ofInts(TestData.ints(1, n * d, 7), n, d);
                            Tensor weights = arena.of(TestData.uniform(2, n * d * 3, 1), n, d, 3);
                            be.splineBasis(arena.of(t, n, d), knots, normalize, first, weights);
                            String what = "splineBasis K=" + knots + " [" + n + ", " + d + "] normalize=" + normalize;
                            double[] dense = sparseToDense(what, first.toIntArray(), weights.toFloatArray(), knots);
                            Approx.assertClose(what, denseBasis(TestData.toDouble(t), knots, normalize), toFloat(dense),
                                    1e-6, 0);
                        }
                    }
                }
            }
        }
    }

    @Test
    void windowIsNearestKnotMinusOneAndClampsOutsideTheUnitInterval() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(1)) {
            int knots = 5; // knots at c = 0, 1, 2, 3, 4
            float[] t = {0f, 1f, 0.5f, 0.125f, 0.375f, 0.374f, -0.25f, 1.25f};
            int[] expectFirst = {-1, 3, 1, 0, 1, 0, -1, 3};
            Tensor first = arena.allocate(DType.I32, 1, t.length);
            Tensor weights = arena.allocate(DType.F32, 1, t.length, 3);
            be.splineBasis(arena.of(t, 1, t.length), knots, false, first, weights);
            assertArrayEquals(expectFirst, first.toIntArray());
            float[] w = weights.toFloatArray();
            // t = 0: knot 0 at distance 0 (0.75), knot 1 at distance 1 (0.125); the slot before the grid is 0.
            assertArrayEquals(new float[] {0f, 0.75f, 0.125f}, slot(w, 0));
            assertArrayEquals(new float[] {0.125f, 0.75f, 0f}, slot(w, 1));
            // c = 0.5 exactly half-way: ties go up, to knot 1.
            assertArrayEquals(new float[] {0.5f, 0.5f, 0f}, slot(w, 3));
            assertArrayEquals(slot(w, 0), slot(w, 6));
            assertArrayEquals(slot(w, 1), slot(w, 7));
        }
    }

    // ---------------------------------------------------------------- backward

    @Test
    void backwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int knots : KNOTS) {
                for (int d : DIMS) {
                    for (int n : ROWS) {
                        for (boolean normalize : new boolean[] {false, true}) {
                            int count = n * d;
                            float[] t = TestData.uniform(knots + d + n, count, 0.48);
                            for (int e = 0; e < count; e++) {
                                t[e] += 0.5f; // in [0.02, 0.98]: no clamping
                            }
                            float[] r = TestData.normal(7, count * 3, 1);
                            float[] gt0 = TestData.uniform(8, count, 0.5);
                            Tensor tt = arena.of(t, n, d);
                            Tensor first = arena.allocate(DType.I32, n, d);
                            be.splineBasis(tt, knots, normalize, first, arena.allocate(DType.F32, n, d, 3));
                            Tensor dT = arena.of(gt0, n, d);
                            be.splineBasisBackward(arena.of(r, n, d, 3), tt, first, knots, normalize, dT);

                            int[] f = first.toIntArray();
                            double[] numeric = GradCheck.numeric(v -> windowWeights(v, f, knots, normalize),
                                    TestData.toDouble(t), TestData.toDouble(r));
                            assertAccumulated("splineBasisBackward K=" + knots + " [" + n + ", " + d + "] normalize="
                                    + normalize, gt0, numeric, dT.toFloatArray());
                        }
                    }
                }
            }
        }
    }

    @Test
    void backwardIsZeroWhereTWasClamped() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(1)) {
            float[] t = {-0.5f, 1.5f, -1e-3f, 1.001f};
            for (boolean normalize : new boolean[] {false, true}) {
                Tensor tt = arena.of(t, 2, 2);
                Tensor first = arena.allocate(DType.I32, 2, 2);
                be.splineBasis(tt, 8, normalize, first, arena.allocate(DType.F32, 2, 2, 3));
                float[] gt0 = {0.25f, -0.5f, 1f, 2f};
                Tensor dT = arena.of(gt0, 2, 2);
                be.splineBasisBackward(arena.of(TestData.normal(3, 12, 1), 2, 2, 3), tt, first, 8, normalize, dT);
                assertArrayEquals(gt0, dT.toFloatArray());
            }
        }
    }

    // ---------------------------------------------------------------- errors and threads

    @Test
    void errorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2); TensorArena arena = new TensorArena()) {
            Tensor t = arena.allocate(DType.F32, 4, 6);
            Tensor first = arena.allocate(DType.I32, 4, 6);
            Tensor weights = arena.allocate(DType.F32, 4, 6, 3);
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.splineBasis(t, 8, true, first, arena.allocate(DType.F32, 4, 6, 2))),
                    "splineBasis", "weights", "[4, 6, 3]", "[4, 6, 2]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.splineBasis(t, 8, true, arena.allocate(DType.I32, 4, 5), weights)),
                    "splineBasis", "first", "[4, 6]", "[4, 5]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.splineBasis(arena.allocate(DType.F32, 24), 8, true, first, weights)),
                    "splineBasis", "t", "[N, d]", "[24]");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> be.splineBasis(t, 1, true, first, weights)),
                    "splineBasis", "knots", "1");
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.splineBasis(t, 8, true, arena.allocate(DType.F32, 4, 6), weights)),
                    "splineBasis", "first", "I32");
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.splineBasis(arena.allocate(DType.BF16, 4, 6), 8, true, first, weights)),
                    "splineBasis", "t", "BF16");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.splineBasisBackward(weights, t, first, 8, true, arena.allocate(DType.F32, 6, 4))),
                    "splineBasisBackward", "[4, 6]", "[6, 4]");
            Tensor bad = arena.allocate(DType.I32, 4, 6);
            bad.setInt(7, 1, 2);
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.splineBasisBackward(weights, t, bad, 8, true, t)),
                    "splineBasisBackward", "first 7", "[1, 2]", "[-1, 6]");
            Tensor stale = arena.allocate(DType.I32, 4, 6); // t = 0 has window -1, not 0
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.splineBasisBackward(weights, t, stale, 8, true, t)),
                    "splineBasisBackward", "first 0", "[0, 0]", "not the window", "(-1)");
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int n = 1000, d = 128, knots = 32;
        float[] t = coordinates(5, n * d, knots);
        float[] g = TestData.normal(6, n * d * 3, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor tt = arena.of(t, n, d);
                Tensor first = arena.allocate(DType.I32, n, d);
                Tensor weights = arena.allocate(DType.F32, n, d, 3);
                Tensor dT = arena.allocate(DType.F32, n, d);
                be.splineBasis(tt, knots, true, first, weights);
                be.splineBasisBackward(arena.of(g, n, d, 3), tt, first, knots, true, dT);
                be.splineBasisBackward(arena.of(g, n, d, 3), tt, first, knots, false, dT);
                int[] f = first.toIntArray();
                float[] ff = new float[f.length];
                for (int i = 0; i < f.length; i++) {
                    ff[i] = f[i];
                }
                results[threads - 1] = concat(ff, weights.toFloatArray(), dT.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    // ---------------------------------------------------------------- inputs and double-precision references

    /**
     * {@code count} coordinates uniform in (0, 1), every fifth replaced by an edge case: 0, 1, exactly on a
     * knot, exactly half-way between two knots, or outside [0, 1] (clamped).
     */
    static float[] coordinates(long seed, int count, int knots) {
        float[] t = TestData.uniform(seed, count, 0.5);
        for (int e = 0; e < count; e++) {
            t[e] = Math.max(t[e] + 0.5f, 1e-4f);
            if (e % 5 == 2) {
                int k = e / 5;
                int j = k % (knots - 1);
                t[e] = switch (k % 6) {
                    case 0 -> 0f;
                    case 1 -> 1f;
                    case 2 -> (float) j / (knots - 1);
                    case 3 -> (float) ((j + 0.5) / (knots - 1));
                    case 4 -> -0.25f;
                    default -> 1.25f;
                };
            }
        }
        return t;
    }

    /** The quadratic B-spline at {@code dist >= 0}. */
    static double bspline(double dist) {
        return dist < 0.5 ? 0.75 - dist * dist : dist < 1.5 ? 0.5 * (1.5 - dist) * (1.5 - dist) : 0;
    }

    /** The dense {@code [count, K]} basis: every knot's weight by the formula (normalised if asked). */
    static double[] denseBasis(double[] t, int knots, boolean normalize) {
        double[] b = new double[t.length * knots];
        for (int e = 0; e < t.length; e++) {
            double c = Math.min(Math.max(t[e], 0), 1) * (knots - 1);
            double sum = 0;
            for (int j = 0; j < knots; j++) {
                b[e * knots + j] = bspline(Math.abs(c - j));
                sum += b[e * knots + j];
            }
            for (int j = 0; normalize && j < knots; j++) {
                b[e * knots + j] /= sum;
            }
        }
        return b;
    }

    /** The sparse basis spread over all knots; asserts the windows are in range and off-grid slots are 0. */
    static double[] sparseToDense(String what, int[] first, float[] weights, int knots) {
        double[] dense = new double[first.length * knots];
        for (int e = 0; e < first.length; e++) {
            assertTrue(first[e] >= -1 && first[e] <= knots - 2, what + ": first " + first[e] + " at " + e);
            for (int m = 0; m < 3; m++) {
                int j = first[e] + m;
                if (j >= 0 && j < knots) {
                    dense[e * knots + j] += weights[e * 3 + m];
                } else {
                    assertEquals(0f, weights[e * 3 + m], what + ": off-grid weight at " + e + ", slot " + m);
                }
            }
        }
        return dense;
    }

    /** The weights of the fixed windows {@code first} as a function of {@code t} (for finite differences). */
    static double[] windowWeights(double[] t, int[] first, int knots, boolean normalize) {
        double[] w = new double[t.length * 3];
        for (int e = 0; e < t.length; e++) {
            double c = Math.min(Math.max(t[e], 0), 1) * (knots - 1);
            double sum = 0;
            for (int m = 0; m < 3; m++) {
                int j = first[e] + m;
                w[e * 3 + m] = j >= 0 && j < knots ? bspline(Math.abs(c - j)) : 0;
                sum += w[e * 3 + m];
            }
            for (int m = 0; normalize && m < 3; m++) {
                w[e * 3 + m] /= sum;
            }
        }
        return w;
    }

    private static float[] slot(float[] w, int e) {
        return new float[] {w[e * 3], w[e * 3 + 1], w[e * 3 + 2]};
    }

    static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }
}
