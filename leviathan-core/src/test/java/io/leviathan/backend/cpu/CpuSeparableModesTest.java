package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwiseTest.assertAccumulated;
import static io.leviathan.backend.cpu.CpuElementwiseTest.assertMessage;
import static io.leviathan.backend.cpu.CpuReductionsTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuSeparableModesTest {
    private static final int[] MODES = {1, 7, 16, 64};
    private static final double EPS = 1e-9;


    // ---------------------------------------------------------------- forward

    @Test
    void modesMatchDenseLogMagnitudeReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int knots : CpuSplineBasisTest.KNOTS) {
                for (int d : CpuSplineBasisTest.DIMS) {
                    for (int r : MODES) {
                        for (int n : CpuSplineBasisTest.ROWS) {
                            boolean normalize = (knots + r) % 2 == 1;
                            float[] t = CpuSplineBasisTest.coordinates(knots + 10L * d + 100L * r + n, n * d, knots);
                            float[] spline = initSpline(knots * r + d, d, knots, r);
                            float[] modes = runForward(arena, be, t, n, d, knots, normalize, spline, r);
                            double[] expected = denseModes(TestData.toDouble(t), n, d, knots, normalize,
                                    TestData.toDouble(spline), r);
                            assertRelative("separableModes K=" + knots + " d=" + d + " R=" + r + " N=" + n
                                    + " normalize=" + normalize, expected, modes, 1e-6 + d * 2.5e-7);
                        }
                    }
                }
            }
        }
    }

    @Test
    void negativeAndZeroFactors() {
        int n = 9, d = 5, knots = 4, r = 19; // 19 modes: a vector and a scalar tail
        float[] t = CpuSplineBasisTest.coordinates(3, n * d, knots);
        float[] spline = initSpline(4, d, knots, r);
        for (int i = 0; i < d; i++) {
            for (int q = 0; q < r; q++) {
                if ((i * 7 + q) % 3 == 0) {
                    setColumn(spline, d, knots, r, i, q, -1f); // phi < 0 for every row
                }
            }
        }
        setColumn(spline, d, knots, r, 2, 5, 0f); // phi == 0 exactly: a vector lane
        setColumn(spline, d, knots, r, 3, 17, 0f); // ... and a tail lane
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor tt = arena.of(t, n, d);
            Tensor first = arena.allocate(DType.I32, n, d), weights = arena.allocate(DType.F32, n, d, 3);
            be.splineBasis(tt, knots, true, first, weights);
            Tensor ts = arena.of(spline, d, knots, r), modes = arena.allocate(DType.F32, n, r);
            be.separableModes(first, weights, ts, modes);
            float[] m = modes.toFloatArray();
            double[] expected = denseModes(TestData.toDouble(t), n, d, knots, true, TestData.toDouble(spline), r);
            assertRelative("separableModes with negative and zero factors", expected, m, 1e-5);
            boolean negative = false;
            for (float v : m) {
                negative |= v < 0;
            }
            assertTrue(negative, "some modes are negative");
            assertTrue(Math.abs(m[5]) < 1e-7 && m[5] != 0, "a zero factor contributes 1e-9: " + m[5]);

            // Backward: exact against the double formula, with dphi = 0 where phi == 0.
            float[] g = TestData.normal(5, n * r, 1);
            float[] gw0 = TestData.uniform(6, n * d * 3, 0.5), gs0 = TestData.uniform(7, d * knots * r, 0.5);
            Tensor dW = arena.of(gw0, n, d, 3), dS = arena.of(gs0, d, knots, r);
            be.separableModesBackward(arena.of(g, n, r), first, weights, ts, modes, dW, dS);
            double[][] ref = referenceBackward(TestData.toDouble(g), first.toIntArray(),
                    TestData.toDouble(weights.toFloatArray()), TestData.toDouble(spline), TestData.toDouble(m),
                    n, d, knots, r);
            assertAccumulated("separableModesBackward dWeights, zero factors", gw0, ref[0], dW.toFloatArray());
            assertAccumulated("separableModesBackward dSpline, zero factors", gs0, ref[1], dS.toFloatArray());
            float[] ds = dS.toFloatArray();
            for (int j = 0; j < knots; j++) {
                int o1 = (2 * knots + j) * r + 5, o2 = (3 * knots + j) * r + 17;
                assertEquals(gs0[o1], ds[o1], "dSpline untouched where phi == 0 (lane)");
                assertEquals(gs0[o2], ds[o2], "dSpline untouched where phi == 0 (tail)");
            }
        }
    }

    // ---------------------------------------------------------------- backward

    @Test
    void backwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int knots : CpuSplineBasisTest.KNOTS) {
                for (int d : new int[] {3, 6}) {
                    for (int r : MODES) {
                        for (int n : CpuSplineBasisTest.ROWS) {
                            long seed = knots + 10L * d + 100L * r + n;
                            float[] t = CpuSplineBasisTest.coordinates(seed, n * d, knots);
                            float[] spline = initSpline(seed + 1, d, knots, r);
                            for (int q = 1; q < r; q += 3) {
                                setColumn(spline, d, knots, r, 0, q, -1f); // some negative factors
                            }
                            Tensor first = arena.allocate(DType.I32, n, d), weights = arena.allocate(DType.F32, n, d, 3);
                            be.splineBasis(arena.of(t, n, d), knots, true, first, weights);
                            Tensor ts = arena.of(spline, d, knots, r), modes = arena.allocate(DType.F32, n, r);
                            be.separableModes(first, weights, ts, modes);
                            float[] g = TestData.normal(seed + 2, n * r, 1);
                            float[] gw0 = TestData.uniform(seed + 3, n * d * 3, 0.5);
                            float[] gs0 = TestData.uniform(seed + 4, d * knots * r, 0.5);
                            Tensor dW = arena.of(gw0, n, d, 3), dS = arena.of(gs0, d, knots, r);
                            be.separableModesBackward(arena.of(g, n, r), first, weights, ts, modes, dW, dS);

                            int[] f = first.toIntArray();
                            double[] w = TestData.toDouble(weights.toFloatArray()), sp = TestData.toDouble(spline);
                            double[] dg = TestData.toDouble(g);
                            String what = "separableModesBackward K=" + knots + " d=" + d + " R=" + r + " N=" + n;
                            assertAccumulated(what + " dWeights", gw0,
                                    GradCheck.numeric(v -> windowModes(f, v, sp, n, d, knots, r), w, dg),
                                    dW.toFloatArray());
                            assertAccumulated(what + " dSpline", gs0,
                                    GradCheck.numeric(v -> windowModes(f, w, v, n, d, knots, r), sp, dg),
                                    dS.toFloatArray());
                        }
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- grouped form: G heads in one call

    /**
     * The grouped inputs of {@code heads} heads: {@code first [G, N, d]} and {@code weights [G, N, d, 3]} of
     * random coordinates, and a spline {@code [G, d, K, R]} with some negative columns.
     */
    private record Heads(Tensor first, Tensor weights, float[] spline) {}

    private static Heads heads(TensorArena arena, CpuBackend be, long seed, int heads, int n, int d, int knots, int r) {
        float[] t = CpuSplineBasisTest.coordinates(seed, heads * n * d, knots);
        Tensor first = arena.allocate(DType.I32, heads * n, d), weights = arena.allocate(DType.F32, heads * n, d, 3);
        be.splineBasis(arena.of(t, heads * n, d), knots, true, first, weights);
        float[] spline = concat();
        for (int g = 0; g < heads; g++) {
            float[] sg = initSpline(seed + 1 + g, d, knots, r);
            for (int q = g; q < r; q += 3) {
                setColumn(sg, d, knots, r, g % d, q, -1f); // some negative factors, different per head
            }
            spline = concat(spline, sg);
        }
        return new Heads(first.reshape(heads, n, d), weights.reshape(heads, n, d, 3), spline);
    }

    @Test
    void groupedEqualsOneCallPerHead() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int[] c : new int[][] {{3, 9, 5, 4, 19}, {2, 1, 6, 32, 16}, {4, 7, 3, 3, 1}}) {
                int heads = c[0], n = c[1], d = c[2], knots = c[3], r = c[4];
                Heads h = heads(arena, be, heads + 10L * n + 100L * r, heads, n, d, knots, r);
                Tensor spline = arena.of(h.spline, heads, d, knots, r);
                Tensor modes = arena.of(TestData.uniform(1, n * heads * r, 1), n, heads, r);
                be.separableModes(h.first, h.weights, spline, modes);
                float[] g = TestData.normal(2, n * heads * r, 1);
                float[] gw0 = TestData.uniform(3, heads * n * d * 3, 0.5);
                float[] gs0 = TestData.uniform(4, heads * d * knots * r, 0.5);
                Tensor dW = arena.of(gw0, heads, n, d, 3), dS = arena.of(gs0, heads, d, knots, r);
                be.separableModesBackward(arena.of(g, n, heads, r), h.first, h.weights, spline, modes, dW, dS);

                float[] m = modes.toFloatArray(), dw = dW.toFloatArray(), ds = dS.toFloatArray();
                String what = "grouped separableModes " + Arrays.toString(c);
                for (int k = 0; k < heads; k++) {
                    Tensor first = h.first.select(0, k), weights = h.weights.select(0, k);
                    int so = k * d * knots * r, wo = k * n * d * 3;
                    Tensor sk = arena.of(Arrays.copyOfRange(h.spline, so, so + d * knots * r), d, knots, r);
                    Tensor mk = arena.allocate(DType.F32, n, r);
                    be.separableModes(first, weights, sk, mk);
                    Tensor dWk = arena.of(Arrays.copyOfRange(gw0, wo, wo + n * d * 3), n, d, 3);
                    Tensor dSk = arena.of(Arrays.copyOfRange(gs0, so, so + d * knots * r), d, knots, r);
                    be.separableModesBackward(arena.of(headRows(g, n, heads, r, k), n, r), first, weights, sk, mk,
                            dWk, dSk);
                    assertArrayEquals(mk.toFloatArray(), headRows(m, n, heads, r, k), what + " modes of head " + k);
                    assertArrayEquals(dWk.toFloatArray(), Arrays.copyOfRange(dw, wo, wo + n * d * 3),
                            what + " dWeights of head " + k);
                    assertArrayEquals(dSk.toFloatArray(), Arrays.copyOfRange(ds, so, so + d * knots * r),
                            what + " dSpline of head " + k);
                }
            }
        }
    }

    @Test
    void groupedBackwardMatchesFiniteDifferences() {
        int heads = 3, n = 4, d = 3, knots = 5, r = 7;
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Heads h = heads(arena, be, 21, heads, n, d, knots, r);
            Tensor spline = arena.of(h.spline, heads, d, knots, r);
            Tensor modes = arena.allocate(DType.F32, n, heads, r);
            be.separableModes(h.first, h.weights, spline, modes);
            float[] g = TestData.normal(22, n * heads * r, 1);
            float[] gw0 = TestData.uniform(23, heads * n * d * 3, 0.5);
            float[] gs0 = TestData.uniform(24, heads * d * knots * r, 0.5);
            Tensor dW = arena.of(gw0, heads, n, d, 3), dS = arena.of(gs0, heads, d, knots, r);
            be.separableModesBackward(arena.of(g, n, heads, r), h.first, h.weights, spline, modes, dW, dS);

            int[] f = h.first.toIntArray();
            double[] w = TestData.toDouble(h.weights.toFloatArray()), sp = TestData.toDouble(h.spline);
            double[] dg = TestData.toDouble(g);
            Approx.assertClose("grouped separableModes forward", groupedWindowModes(f, w, sp, heads, n, d, knots, r),
                    modes.toFloatArray(), 1e-5, 0);
            assertAccumulated("grouped separableModesBackward dWeights", gw0,
                    GradCheck.numeric(v -> groupedWindowModes(f, v, sp, heads, n, d, knots, r), w, dg),
                    dW.toFloatArray());
            assertAccumulated("grouped separableModesBackward dSpline", gs0,
                    GradCheck.numeric(v -> groupedWindowModes(f, w, v, heads, n, d, knots, r), sp, dg),
                    dS.toFloatArray());
        }
    }

    @Test
    void groupedShapeErrorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2); TensorArena arena = new TensorArena()) {
            int heads = 2, n = 4, d = 6, knots = 8, r = 16;
            Tensor first = arena.allocate(DType.I32, heads, n, d);
            Tensor weights = arena.allocate(DType.F32, heads, n, d, 3);
            Tensor spline = arena.allocate(DType.F32, heads, d, knots, r);
            Tensor modes = arena.allocate(DType.F32, n, heads, r);
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, weights, spline, arena.allocate(DType.F32, heads, n, r))),
                    "separableModes", "modes", "[4, 2, 16]", "[2, 4, 16]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, weights, arena.allocate(DType.F32, d, knots, r), modes)),
                    "separableModes", "spline", "[G, d, knots, R]", "[2, 4, 6]", "[6, 8, 16]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, weights, arena.allocate(DType.F32, heads + 1, d, knots, r), modes)),
                    "separableModes", "spline", "[3, 6, 8, 16]", "[2, 4, 6]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, arena.allocate(DType.F32, n, d, 3), spline, modes)),
                    "separableModes", "weights", "[2, 4, 6, 3]", "[4, 6, 3]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(arena.allocate(DType.I32, 1, heads, n, d), weights, spline, modes)),
                    "separableModes", "first", "[1, 2, 4, 6]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModesBackward(arena.allocate(DType.F32, n, r), first, weights, spline, modes,
                            weights, spline)),
                    "separableModesBackward", "dModes", "[4, 2, 16]", "[4, 16]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModesBackward(modes, first, weights, spline, modes, weights,
                            arena.allocate(DType.F32, d, knots, r))),
                    "separableModesBackward", "dSpline", "[2, 6, 8, 16]", "[6, 8, 16]");
            Tensor bad = arena.allocate(DType.I32, heads, n, d);
            bad.setInt(knots - 1, 1, 2, 3);
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.separableModes(bad, weights, spline, modes)),
                    "separableModes (head 1)", "first 7", "[2, 3]", "[-1, 6]");
        }
    }

    @Test
    void groupedIsIndependentOfThreadCount() {
        int heads = 4, n = 64, d = 128, knots = 32, r = 71;
        float[] g = TestData.normal(30, n * heads * r, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Heads h = heads(arena, be, 31, heads, n, d, knots, r);
                Tensor spline = arena.of(h.spline, heads, d, knots, r);
                Tensor modes = arena.allocate(DType.F32, n, heads, r);
                be.separableModes(h.first, h.weights, spline, modes);
                Tensor dW = arena.allocate(DType.F32, heads, n, d, 3), dS = arena.allocate(DType.F32, heads, d, knots, r);
                be.separableModesBackward(arena.of(g, n, heads, r), h.first, h.weights, spline, modes, dW, dS);
                results[threads - 1] = concat(modes.toFloatArray(), dW.toFloatArray(), dS.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    /** Head {@code k}'s rows {@code x[:, k, :]} of an {@code [N, G, R]} array, as {@code [N, R]}. */
    static float[] headRows(float[] x, int n, int heads, int r, int k) {
        float[] out = new float[n * r];
        for (int row = 0; row < n; row++) {
            System.arraycopy(x, (row * heads + k) * r, out, row * r, r);
        }
        return out;
    }

    /** Grouped modes {@code [N, G, R]} of the sparse windows, each head on its own spline (double). */
    static double[] groupedWindowModes(int[] first, double[] w, double[] spline, int heads, int n, int d, int knots,
                                       int r) {
        double[] out = new double[n * heads * r];
        for (int k = 0; k < heads; k++) {
            int fo = k * n * d, so = k * d * knots * r;
            double[] mk = windowModes(Arrays.copyOfRange(first, fo, fo + n * d),
                    Arrays.copyOfRange(w, fo * 3, (fo + n * d) * 3),
                    Arrays.copyOfRange(spline, so, so + d * knots * r), n, d, knots, r);
            for (int row = 0; row < n; row++) {
                System.arraycopy(mk, row * r, out, (row * heads + k) * r, r);
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- errors and threads

    @Test
    void errorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2); TensorArena arena = new TensorArena()) {
            int n = 4, d = 6, knots = 8, r = 16;
            Tensor first = arena.allocate(DType.I32, n, d);
            Tensor weights = arena.allocate(DType.F32, n, d, 3);
            Tensor spline = arena.allocate(DType.F32, d, knots, r);
            Tensor modes = arena.allocate(DType.F32, n, r);
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, arena.allocate(DType.F32, n, d, 2), spline, modes)),
                    "separableModes", "weights", "[4, 6, 3]", "[4, 6, 2]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, weights, arena.allocate(DType.F32, d + 1, knots, r), modes)),
                    "separableModes", "spline", "[7, 8, 16]", "[4, 6]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, weights, arena.allocate(DType.F32, d, knots * r), modes)),
                    "separableModes", "spline", "[6, 128]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModes(first, weights, spline, arena.allocate(DType.F32, n, r + 1))),
                    "separableModes", "modes", "[4, 16]", "[4, 17]");
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.separableModes(arena.allocate(DType.F32, n, d), weights, spline, modes)),
                    "separableModes", "first", "I32");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModesBackward(modes, first, weights, spline, modes, weights,
                            arena.allocate(DType.F32, d, knots + 1, r))),
                    "separableModesBackward", "dSpline", "[6, 8, 16]", "[6, 9, 16]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.separableModesBackward(arena.allocate(DType.F32, n, r + 1), first, weights, spline,
                            modes, weights, spline)),
                    "separableModesBackward", "dModes", "[4, 16]", "[4, 17]");
            Tensor bad = arena.allocate(DType.I32, n, d);
            bad.setInt(knots - 1, 2, 3);
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.separableModes(bad, weights, spline, modes)),
                    "separableModes", "first 7", "[2, 3]", "[-1, 6]");
            bad.setInt(-2, 2, 3);
            assertMessage(assertThrows(IllegalArgumentException.class,
                    () -> be.separableModesBackward(modes, bad, weights, spline, modes, weights, spline)),
                    "separableModesBackward", "first -2", "[2, 3]");
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int n = 256, d = 128, knots = 32, r = 71;
        float[] t = CpuSplineBasisTest.coordinates(8, n * d, knots);
        float[] spline = initSpline(9, d, knots, r);
        float[] g = TestData.normal(10, n * r, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor first = arena.allocate(DType.I32, n, d), weights = arena.allocate(DType.F32, n, d, 3);
                be.splineBasis(arena.of(t, n, d), knots, true, first, weights);
                Tensor ts = arena.of(spline, d, knots, r), modes = arena.allocate(DType.F32, n, r);
                be.separableModes(first, weights, ts, modes);
                Tensor dW = arena.allocate(DType.F32, n, d, 3), dS = arena.allocate(DType.F32, d, knots, r);
                be.separableModesBackward(arena.of(g, n, r), first, weights, ts, modes, dW, dS);
                results[threads - 1] = concat(modes.toFloatArray(), dW.toFloatArray(), dS.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    // ---------------------------------------------------------------- inputs and double-precision references

    /** The spline table as the model initialises it: {@code 1 + N(0, 0.1^2)}, shape {@code [d, K, R]}. */
    static float[] initSpline(long seed, int d, int knots, int r) {
        float[] s = TestData.normal(seed, d * knots * r, 0.1);
        for (int i = 0; i < s.length; i++) {
            s[i] += 1f;
        }
        return s;
    }

    /** Scales {@code spline[i, :, q]} by {@code factor}. */
    static void setColumn(float[] spline, int d, int knots, int r, int i, int q, float factor) {
        for (int j = 0; j < knots; j++) {
            spline[(i * knots + j) * r + q] *= factor;
        }
    }

    private static float[] runForward(TensorArena arena, CpuBackend be, float[] t, int n, int d, int knots,
                                      boolean normalize, float[] spline, int r) {
        Tensor first = arena.allocate(DType.I32, n, d), weights = arena.allocate(DType.F32, n, d, 3);
        be.splineBasis(arena.of(t, n, d), knots, normalize, first, weights);
        Tensor modes = arena.of(TestData.uniform(1, n * r, 1), n, r);
        be.separableModes(first, weights, arena.of(spline, d, knots, r), modes);
        return modes.toFloatArray();
    }

    /** {@code sign * exp(sum_i log(|phi_i| + 1e-9))} for factors {@code phi [N, d, R]}. */
    static double[] logMagnitudeProduct(double[] phi, int n, int d, int r) {
        double[] modes = new double[n * r];
        for (int row = 0; row < n; row++) {
            for (int q = 0; q < r; q++) {
                double logs = 0;
                int negatives = 0;
                for (int i = 0; i < d; i++) {
                    double p = phi[(row * d + i) * r + q];
                    logs += Math.log(Math.abs(p) + EPS);
                    negatives += p < 0 ? 1 : 0;
                }
                modes[row * r + q] = (negatives % 2 == 0 ? 1 : -1) * Math.exp(logs);
            }
        }
        return modes;
    }

    /** Modes from the dense basis of {@code t} over every knot. */
    static double[] denseModes(double[] t, int n, int d, int knots, boolean normalize, double[] spline, int r) {
        double[] basis = CpuSplineBasisTest.denseBasis(t, knots, normalize);
        double[] phi = new double[n * d * r];
        for (int row = 0; row < n; row++) {
            for (int i = 0; i < d; i++) {
                for (int j = 0; j < knots; j++) {
                    double b = basis[(row * d + i) * knots + j];
                    for (int q = 0; q < r; q++) {
                        phi[(row * d + i) * r + q] += b * spline[(i * knots + j) * r + q];
                    }
                }
            }
        }
        return logMagnitudeProduct(phi, n, d, r);
    }

    /** The factors of the sparse windows: {@code phi [N, d, R]}, knots off the grid skipped. */
    static double[] windowFactors(int[] first, double[] w, double[] spline, int n, int d, int knots, int r) {
        double[] phi = new double[n * d * r];
        for (int e = 0; e < n * d; e++) {
            int i = e % d;
            for (int m = 0; m < 3; m++) {
                int j = first[e] + m;
                for (int q = 0; j >= 0 && j < knots && q < r; q++) {
                    phi[e * r + q] += w[e * 3 + m] * spline[(i * knots + j) * r + q];
                }
            }
        }
        return phi;
    }

    /** Modes of the sparse windows as a function of the weights and the spline (for finite differences). */
    static double[] windowModes(int[] first, double[] w, double[] spline, int n, int d, int knots, int r) {
        return logMagnitudeProduct(windowFactors(first, w, spline, n, d, knots, r), n, d, r);
    }

    /** The formula's gradients {dWeights, dSpline} given {@code modes}, with sign(0) = 0. */
    static double[][] referenceBackward(double[] g, int[] first, double[] w, double[] spline, double[] modes,
                                        int n, int d, int knots, int r) {
        double[] phi = windowFactors(first, w, spline, n, d, knots, r);
        double[] dw = new double[n * d * 3], ds = new double[d * knots * r];
        for (int e = 0; e < n * d; e++) {
            int row = e / d, i = e % d;
            for (int q = 0; q < r; q++) {
                double p = phi[e * r + q];
                double dphi = g[row * r + q] * modes[row * r + q] * Math.signum(p) / (Math.abs(p) + EPS);
                for (int m = 0; m < 3; m++) {
                    int j = first[e] + m;
                    if (j >= 0 && j < knots) {
                        dw[e * 3 + m] += dphi * spline[(i * knots + j) * r + q];
                        ds[(i * knots + j) * r + q] += w[e * 3 + m] * dphi;
                    }
                }
            }
        }
        return new double[][] {dw, ds};
    }

    /** Element-wise relative closeness: a product's error is relative to its own size. */
    static void assertRelative(String what, double[] expected, float[] actual, double rtol) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int k = 0; k < expected.length; k++) {
            double err = Math.abs(actual[k] - expected[k]);
            if (!(err <= rtol * Math.abs(expected[k]) + 1e-30)) {
                fail(String.format("%s: element %d is %.9g, expected %.9g (relative error %.3g > %.3g)", what, k,
                        actual[k], expected[k], err / Math.abs(expected[k]), rtol));
            }
        }
    }
}
