package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwiseTest.assertAccumulated;
import static io.leviathan.backend.cpu.CpuElementwiseTest.assertMessage;
import static io.leviathan.backend.cpu.CpuElementwiseTest.numel;
import static io.leviathan.backend.cpu.CpuReductionsTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.util.Arrays;
import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuActivationsTest {
    private static final long[][] SHAPES = {{1}, {7}, {16}, {33}, {130}, {2, 3, 33}, {5, 17}};
    private static final int[] COLS = {1, 7, 16, 33, 130};


    // ---------------------------------------------------------------- SiLU, sigmoid, SwiGLU

    @Test
    void elementwiseActivationsMatchReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : SHAPES) {
                int n = numel(shape);
                float[] x = TestData.normal(n, n, 3);
                float[] up = TestData.normal(n + 1, n, 2);
                double[] dx = TestData.toDouble(x), dup = TestData.toDouble(up);
                Tensor tx = arena.of(x, shape), out = arena.of(TestData.uniform(1, n, 1), shape);
                String s = Arrays.toString(shape);
                be.silu(tx, out);
                Approx.assertClose("silu " + s, silu(dx), out.toFloatArray(), 1e-6, 0);
                be.sigmoid(tx, out);
                Approx.assertClose("sigmoid " + s, sigmoid(dx), out.toFloatArray(), 1e-6, 0);
                be.swiglu(tx, arena.of(up, shape), out);
                Approx.assertClose("swiglu " + s, swiglu(dx, dup), out.toFloatArray(), 1e-6, 0);
            }
        }
    }

    @Test
    void expIsAccurateAndVectorLanesMatchScalar() {
        int n = 20_000;
        float[] x = new float[n];
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < n; i++) {
            x[i] = i < n / 2 ? -87f + 175f * i / (n / 2) : (float) (r.nextDouble() * 40 - 20);
        }
        int lanes = CpuElementwise.L;
        for (int i = 0; i + lanes <= n; i += lanes) {
            FloatVector v = CpuActivations.expOf(FloatVector.fromArray(CpuElementwise.F, x, i));
            for (int k = 0; k < lanes; k++) {
                float scalar = CpuActivations.expOf(x[i + k]);
                assertEquals(Float.floatToRawIntBits(scalar), Float.floatToRawIntBits(v.lane(k)),
                        "vector and scalar exp of " + x[i + k]);
                double exact = Math.exp(x[i + k]);
                assertTrue(Math.abs(scalar - exact) <= 3e-7 * exact, "exp(" + x[i + k] + ") = " + scalar + ", exact " + exact);
            }
        }
        assertEquals(1f, CpuActivations.expOf(0f), 0f);
        assertEquals(Float.POSITIVE_INFINITY, CpuActivations.expOf(100f), 0f);
        assertEquals(0f, CpuActivations.expOf(-100f), 0f);
        assertTrue(Float.isNaN(CpuActivations.expOf(Float.NaN)));
        float[] special = new float[CpuElementwise.L];
        Arrays.fill(special, Float.NaN);
        special[0] = Float.NEGATIVE_INFINITY;
        special[1] = Float.POSITIVE_INFINITY;
        FloatVector v = CpuActivations.expOf(FloatVector.fromArray(CpuElementwise.F, special, 0));
        assertEquals(0f, v.lane(0), 0f);
        assertEquals(Float.POSITIVE_INFINITY, v.lane(1), 0f);
        assertTrue(Float.isNaN(v.lane(2)));
    }

    @Test
    void nonPositiveExpEqualsExpBitForBit() {
        SplittableRandom r = new SplittableRandom(9);
        int lanes = CpuElementwise.L;
        float[] x = new float[lanes * 400];
        for (int i = 0; i < x.length; i++) {
            x[i] = switch (i % 7) {
                case 0 -> (float) -r.nextDouble(0, 1e-6); // next to 0, both signs of zero below
                case 1 -> -87f - (float) r.nextDouble(0, 2); // around the underflow limit
                default -> (float) -r.nextDouble(0, 120);
            };
        }
        float[] special = {0f, -0f, Float.NEGATIVE_INFINITY, Float.NaN, -88f, -88.000001f, -Float.MIN_VALUE, -1e30f};
        System.arraycopy(special, 0, x, 0, special.length);
        for (int i = 0; i < x.length; i += lanes) {
            FloatVector v = FloatVector.fromArray(CpuElementwise.F, x, i);
            FloatVector expected = CpuActivations.expOf(v), actual = CpuActivations.expOfNonPositive(v);
            for (int k = 0; k < lanes; k++) {
                assertEquals(Float.floatToRawIntBits(expected.lane(k)), Float.floatToRawIntBits(actual.lane(k)),
                        "exp of " + x[i + k]);
            }
        }
    }

    @Test
    void extremeInputsStayFinite() {
        float[] x = {-1000f, -100f, -88.5f, -20f, -1e-3f, 1e-3f, 20f, 88.5f, 100f, 1000f};
        float[] wide = new float[3 * 16 + 3];
        for (int i = 0; i < wide.length; i++) {
            wide[i] = x[i % x.length];
        }
        double[] dx = TestData.toDouble(wide);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor tx = arena.of(wide, wide.length), out = arena.allocate(DType.F32, wide.length);
            be.sigmoid(tx, out);
            Approx.assertClose("sigmoid extremes", sigmoid(dx), out.toFloatArray(), 1e-6, 0);
            be.silu(tx, out);
            Approx.assertClose("silu extremes", silu(dx), out.toFloatArray(), 1e-6, 0);
            Tensor dX = arena.allocate(DType.F32, wide.length);
            be.siluBackward(arena.of(ones(wide.length), wide.length), tx, dX);
            for (float v : dX.toFloatArray()) {
                assertTrue(Float.isFinite(v), "silu gradient finite: " + Arrays.toString(dX.toFloatArray()));
            }
            // Softmax of huge logits: max subtraction keeps it finite.
            Tensor row = arena.of(new float[] {1000f, 999f, -1000f, 998f, 1000f}, 1, 5);
            be.softmax(row, row);
            Approx.assertClose("softmax huge logits", softmax(new double[] {1000, 999, -1000, 998, 1000}, 5),
                    row.toFloatArray(), 1e-6, 0);
        }
    }

    @Test
    void elementwiseBackwardsMatchFiniteDifferencesAndAccumulate() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : SHAPES) {
                int n = numel(shape);
                String s = Arrays.toString(shape);
                float[] x = TestData.normal(n + 10, n, 3);
                float[] up = TestData.normal(n + 11, n, 2);
                float[] r = TestData.normal(n + 12, n, 1);
                float[] g0 = TestData.uniform(n + 13, n, 0.5);
                float[] g1 = TestData.uniform(n + 14, n, 0.5);
                double[] dx = TestData.toDouble(x), dup = TestData.toDouble(up), dr = TestData.toDouble(r);
                Tensor tx = arena.of(x, shape), tup = arena.of(up, shape), tr = arena.of(r, shape);

                Tensor dX = arena.of(g0, shape);
                be.siluBackward(tr, tx, dX);
                assertAccumulated("siluBackward " + s, g0, GradCheck.numeric(CpuActivationsTest::silu, dx, dr),
                        dX.toFloatArray());

                Tensor y = arena.allocate(DType.F32, shape);
                be.sigmoid(tx, y);
                Tensor dXs = arena.of(g0, shape);
                be.sigmoidBackward(tr, y, dXs);
                assertAccumulated("sigmoidBackward " + s, g0, GradCheck.numeric(CpuActivationsTest::sigmoid, dx, dr),
                        dXs.toFloatArray());

                Tensor dGate = arena.of(g0, shape), dUp = arena.of(g1, shape);
                be.swigluBackward(tr, tx, tup, dGate, dUp);
                assertAccumulated("swigluBackward dGate " + s, g0, GradCheck.numeric(v -> swiglu(v, dup), dx, dr),
                        dGate.toFloatArray());
                assertAccumulated("swigluBackward dUp " + s, g1, GradCheck.numeric(v -> swiglu(dx, v), dup, dr),
                        dUp.toFloatArray());
            }
        }
    }

    // ---------------------------------------------------------------- softmax

    @Test
    void softmaxMatchesReferenceAndMayRunInPlace() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int c : COLS) {
                for (long[] shape : new long[][] {{c}, {3, c}, {2, 3, c}}) {
                    int n = numel(shape);
                    float[] x = TestData.normal(n + c, n, 4);
                    Tensor out = arena.of(TestData.uniform(1, n, 1), shape);
                    be.softmax(arena.of(x, shape), out);
                    double[] expected = softmax(TestData.toDouble(x), c);
                    Approx.assertClose("softmax " + Arrays.toString(shape), expected, out.toFloatArray(), 1e-6, 0);
                    Tensor inPlace = arena.of(x, shape);
                    be.softmax(inPlace, inPlace);
                    assertArrayEquals(out.toFloatArray(), inPlace.toFloatArray(), "softmax in place");
                }
            }
        }
    }

    @Test
    void softmaxBackwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int c : COLS) {
                for (long[] shape : new long[][] {{3, c}, {2, 3, c}}) {
                    int n = numel(shape);
                    float[] x = TestData.normal(n + 20, n, 2);
                    float[] r = TestData.normal(n + 21, n, 1);
                    float[] g0 = TestData.uniform(n + 22, n, 0.5);
                    Tensor y = arena.allocate(DType.F32, shape);
                    be.softmax(arena.of(x, shape), y);
                    Tensor dX = arena.of(g0, shape);
                    be.softmaxBackward(arena.of(r, shape), y, dX);
                    assertAccumulated("softmaxBackward " + Arrays.toString(shape), g0,
                            GradCheck.numeric(v -> softmax(v, c), TestData.toDouble(x), TestData.toDouble(r)),
                            dX.toFloatArray());
                }
            }
        }
    }

    // ---------------------------------------------------------------- errors and threads

    @Test
    void errorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2)) {
            try (TensorArena arena = new TensorArena()) {
                Tensor a = arena.allocate(DType.F32, 2, 3);
                Tensor b = arena.allocate(DType.F32, 3, 2);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.silu(a, b)), "silu", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.siluBackward(a, a, b)),
                        "siluBackward", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.sigmoid(a, b)), "sigmoid", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.sigmoidBackward(a, b, a)),
                        "sigmoidBackward", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.swiglu(a, b, a)), "swiglu", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.swigluBackward(a, a, a, a, b)),
                        "swigluBackward", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.softmax(a, b)), "softmax", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.softmaxBackward(a, b, a)),
                        "softmaxBackward", "[2, 3]", "[3, 2]");
                Tensor bf = arena.allocate(DType.BF16, 2, 3);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.softmax(bf, a)), "softmax", "BF16");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.swiglu(a, a, bf)), "swiglu", "out", "BF16");
            }
            TensorArena closed = new TensorArena();
            Tensor dead = closed.allocate(DType.F32, 2, 3);
            closed.close();
            try (TensorArena arena = new TensorArena()) {
                Tensor a = arena.allocate(DType.F32, 2, 3);
                assertMessage(assertThrows(TensorClosedException.class, () -> be.silu(dead, a)), "silu", "[2, 3]");
                assertMessage(assertThrows(TensorClosedException.class, () -> be.softmaxBackward(a, a, dead)),
                        "softmaxBackward", "[2, 3]");
            }
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int n = 100_003;
        float[] x = TestData.normal(1, n, 3);
        float[] up = TestData.normal(2, n, 2);
        float[] g = TestData.normal(3, n, 1);
        int rows = 1000, c = 130;
        float[] logits = TestData.normal(4, rows * c, 3);
        float[] gl = TestData.normal(5, rows * c, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor tx = arena.of(x, n), tup = arena.of(up, n), tg = arena.of(g, n);
                Tensor silu = arena.allocate(DType.F32, n), sig = arena.allocate(DType.F32, n);
                Tensor swi = arena.allocate(DType.F32, n);
                Tensor dX = arena.allocate(DType.F32, n), dGate = arena.allocate(DType.F32, n);
                Tensor dUp = arena.allocate(DType.F32, n);
                be.silu(tx, silu);
                be.sigmoid(tx, sig);
                be.swiglu(tx, tup, swi);
                be.siluBackward(tg, tx, dX);
                be.sigmoidBackward(tg, sig, dX);
                be.swigluBackward(tg, tx, tup, dGate, dUp);
                Tensor y = arena.allocate(DType.F32, rows, c), dL = arena.allocate(DType.F32, rows, c);
                be.softmax(arena.of(logits, rows, c), y);
                be.softmaxBackward(arena.of(gl, rows, c), y, dL);
                results[threads - 1] = concat(silu.toFloatArray(), sig.toFloatArray(), swi.toFloatArray(),
                        dX.toFloatArray(), dGate.toFloatArray(), dUp.toFloatArray(), y.toFloatArray(), dL.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    // ---------------------------------------------------------------- double-precision references

    static double[] sigmoid(double[] x) {
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            o[i] = 1 / (1 + Math.exp(-x[i]));
        }
        return o;
    }

    static double[] silu(double[] x) {
        double[] s = sigmoid(x);
        for (int i = 0; i < x.length; i++) {
            s[i] *= x[i];
        }
        return s;
    }

    static double[] swiglu(double[] gate, double[] up) {
        double[] o = silu(gate);
        for (int i = 0; i < o.length; i++) {
            o[i] *= up[i];
        }
        return o;
    }

    static double[] softmax(double[] x, int c) {
        double[] o = new double[x.length];
        for (int r = 0; r < x.length / c; r++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                max = Math.max(max, x[r * c + j]);
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                o[r * c + j] = Math.exp(x[r * c + j] - max);
                sum += o[r * c + j];
            }
            for (int j = 0; j < c; j++) {
                o[r * c + j] /= sum;
            }
        }
        return o;
    }

    static float[] ones(int n) {
        float[] o = new float[n];
        Arrays.fill(o, 1f);
        return o;
    }
}
