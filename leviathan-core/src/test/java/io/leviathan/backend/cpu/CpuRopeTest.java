package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwiseTest.assertAccumulated;
import static io.leviathan.backend.cpu.CpuElementwiseTest.assertMessage;
import static io.leviathan.backend.cpu.CpuElementwiseTest.numel;
import static io.leviathan.backend.cpu.CpuReductionsTest.concat;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuRopeTest {
    /** Dh/2 in {1, 7, 16, 33, 130}. */
    private static final int[] HEAD_DIMS = {2, 14, 32, 66, 260};
    private static final float THETA = 10000f;


    @Test
    void tablesMatchDoubleFormula() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int dh : HEAD_DIMS) {
                int maxT = 37;
                Tensor cos = arena.of(TestData.uniform(1, maxT * dh / 2, 1), maxT, dh / 2);
                Tensor sin = arena.of(TestData.uniform(2, maxT * dh / 2, 1), maxT, dh / 2);
                be.ropeTables(THETA, cos, sin);
                double[][] ref = tables(THETA, maxT, dh);
                Approx.assertClose("cos Dh=" + dh, ref[0], cos.toFloatArray(), 0, 1e-7);
                Approx.assertClose("sin Dh=" + dh, ref[1], sin.toFloatArray(), 0, 1e-7);
            }
            // Known values: Dh = 4, position 1 rotates pair 0 by 1 radian and pair 1 by 10000^(-1/2) = 0.01.
            Tensor cos = arena.allocate(DType.F32, 3, 2), sin = arena.allocate(DType.F32, 3, 2);
            be.ropeTables(THETA, cos, sin);
            assertEquals(1f, cos.getFloat(0, 0), 0f);
            assertEquals(0f, sin.getFloat(0, 1), 0f);
            assertEquals((float) Math.cos(1), cos.getFloat(1, 0), 0f);
            assertEquals((float) Math.sin(0.01), sin.getFloat(1, 1), 0f);
            assertEquals((float) Math.sin(2 * 0.01), sin.getFloat(2, 1), 0f);
        }
    }

    @Test
    void ropeMatchesRotateHalfReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int dh : HEAD_DIMS) {
                long[] shape = {2, 5, 3, dh};
                int n = numel(shape);
                int maxT = 9; // longer than T: rows past T are unused
                Tensor cos = arena.allocate(DType.F32, maxT, dh / 2), sin = arena.allocate(DType.F32, maxT, dh / 2);
                be.ropeTables(THETA, cos, sin);
                float[] x = TestData.normal(dh, n, 2);
                Tensor out = arena.of(TestData.uniform(1, n, 1), shape);
                be.rope(arena.of(x, shape), cos, sin, out);
                double[] expected = rope(TestData.toDouble(x), shape, cos.toFloatArray(), sin.toFloatArray());
                Approx.assertClose("rope " + Arrays.toString(shape), expected, out.toFloatArray(), 1e-6, 0);

                // In place gives the same result.
                Tensor inPlace = arena.of(x, shape);
                be.rope(inPlace, cos, sin, inPlace);
                assertArrayEquals(out.toFloatArray(), inPlace.toFloatArray(), "rope in place");
            }
        }
    }

    @Test
    void ropeBackwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int dh : HEAD_DIMS) {
                long[] shape = {2, 4, 3, dh};
                int n = numel(shape);
                Tensor cos = arena.allocate(DType.F32, 6, dh / 2), sin = arena.allocate(DType.F32, 6, dh / 2);
                be.ropeTables(THETA, cos, sin);
                float[] fc = cos.toFloatArray(), fs = sin.toFloatArray();
                double[] x = TestData.toDouble(TestData.normal(dh + 1, n, 2));
                float[] r = TestData.normal(dh + 2, n, 1);
                float[] g0 = TestData.uniform(dh + 3, n, 0.5);
                Tensor dX = arena.of(g0, shape);
                be.ropeBackward(arena.of(r, shape), cos, sin, dX);
                assertAccumulated("ropeBackward " + Arrays.toString(shape), g0,
                        GradCheck.numeric(v -> rope(v, shape, fc, fs), x, TestData.toDouble(r)), dX.toFloatArray());
            }
        }
    }

    @Test
    void errorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2)) {
            try (TensorArena arena = new TensorArena()) {
                Tensor x = arena.allocate(DType.F32, 2, 5, 3, 8);
                Tensor cos = arena.allocate(DType.F32, 5, 4), sin = arena.allocate(DType.F32, 5, 4);
                Tensor shortTab = arena.allocate(DType.F32, 4, 4);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.rope(x, shortTab, shortTab, x)),
                        "rope", "[2, 5, 3, 8]", "[4, 4]");
                Tensor wide = arena.allocate(DType.F32, 5, 8);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.rope(x, wide, wide, x)),
                        "rope", "[2, 5, 3, 8]", "[5, 8]");
                Tensor odd = arena.allocate(DType.F32, 2, 5, 3, 7);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.rope(odd, cos, sin, odd)),
                        "rope", "[2, 5, 3, 7]");
                Tensor rank3 = arena.allocate(DType.F32, 5, 3, 8);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.ropeBackward(rank3, cos, sin, rank3)),
                        "ropeBackward", "[5, 3, 8]", "[5, 4]");
                assertMessage(assertThrows(ShapeMismatchException.class,
                        () -> be.rope(x, cos, sin, arena.allocate(DType.F32, 2, 5, 8, 3))), "rope", "[2, 5, 3, 8]",
                        "[2, 5, 8, 3]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.ropeTables(THETA, cos, wide)),
                        "ropeTables", "[5, 4]", "[5, 8]");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.ropeTables(-1f, cos, sin)),
                        "ropeTables", "theta");
                Tensor bf = arena.allocate(DType.BF16, 5, 4);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.rope(x, bf, sin, x)),
                        "rope", "cos", "BF16");
            }
            TensorArena closed = new TensorArena();
            Tensor dead = closed.allocate(DType.F32, 5, 4);
            closed.close();
            try (TensorArena arena = new TensorArena()) {
                Tensor x = arena.allocate(DType.F32, 1, 5, 1, 8);
                assertMessage(assertThrows(TensorClosedException.class, () -> be.rope(x, dead, dead, x)), "rope", "[5, 4]");
            }
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        long[] shape = {2, 64, 8, 66};
        int n = numel(shape);
        float[] x = TestData.normal(1, n, 2);
        float[] g = TestData.normal(2, n, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor cos = arena.allocate(DType.F32, 64, 33), sin = arena.allocate(DType.F32, 64, 33);
                be.ropeTables(THETA, cos, sin);
                Tensor out = arena.allocate(DType.F32, shape), dX = arena.allocate(DType.F32, shape);
                be.rope(arena.of(x, shape), cos, sin, out);
                be.ropeBackward(arena.of(g, shape), cos, sin, dX);
                results[threads - 1] = concat(out.toFloatArray(), dX.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    // ---------------------------------------------------------------- double-precision references

    /** {cos, sin} of {@code t * theta^(-2i/Dh)}, each {@code [maxT, Dh/2]} row-major. */
    static double[][] tables(double theta, int maxT, int dh) {
        int half = dh / 2;
        double[] c = new double[maxT * half], s = new double[maxT * half];
        for (int t = 0; t < maxT; t++) {
            for (int i = 0; i < half; i++) {
                double angle = t * Math.pow(theta, -2.0 * i / dh);
                c[t * half + i] = Math.cos(angle);
                s[t * half + i] = Math.sin(angle);
            }
        }
        return new double[][] {c, s};
    }

    /** Rotate-half RoPE on {@code [B, T, H, Dh]} with the given (float) tables. */
    static double[] rope(double[] x, long[] shape, float[] cos, float[] sin) {
        int b = (int) shape[0], t = (int) shape[1], h = (int) shape[2], dh = (int) shape[3], half = dh / 2;
        double[] o = new double[x.length];
        for (int bi = 0; bi < b; bi++) {
            for (int ti = 0; ti < t; ti++) {
                for (int hi = 0; hi < h; hi++) {
                    int base = ((bi * t + ti) * h + hi) * dh;
                    for (int i = 0; i < half; i++) {
                        double c = cos[ti * half + i], s = sin[ti * half + i];
                        double lo = x[base + i], up = x[base + half + i];
                        o[base + i] = lo * c - up * s;
                        o[base + half + i] = up * c + lo * s;
                    }
                }
            }
        }
        return o;
    }
}
