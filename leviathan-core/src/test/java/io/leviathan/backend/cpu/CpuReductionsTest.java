package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwiseTest.assertAccumulated;
import static io.leviathan.backend.cpu.CpuElementwiseTest.assertMessage;
import static io.leviathan.backend.cpu.CpuElementwiseTest.numel;
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
class CpuReductionsTest {
    private static final int[] COLS = {1, 7, 16, 33, 130};


    /** Shapes {@code [C]}, {@code [3, C]} and {@code [2, 3, C]} for every C. */
    private static long[][] shapes() {
        long[][] s = new long[COLS.length * 3][];
        for (int i = 0; i < COLS.length; i++) {
            s[3 * i] = new long[] {COLS[i]};
            s[3 * i + 1] = new long[] {3, COLS[i]};
            s[3 * i + 2] = new long[] {2, 3, COLS[i]};
        }
        return s;
    }

    @Test
    void sumAndMeanLastDimMatchReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : shapes()) {
                int n = numel(shape);
                int c = (int) shape[shape.length - 1];
                long[] rowsShape = Arrays.copyOf(shape, shape.length - 1);
                double[] x = TestData.toDouble(TestData.normal(n, n, 2));
                Tensor tx = arena.of(toFloat(x), shape);
                Tensor out = arena.of(TestData.uniform(1, n / c, 1), rowsShape);
                be.sumLastDim(tx, out);
                Approx.assertClose("sumLastDim " + Arrays.toString(shape), sumRows(x, c), out.toFloatArray(), 1e-6, 0);
                be.meanLastDim(tx, out);
                Approx.assertClose("meanLastDim " + Arrays.toString(shape), meanRows(x, c), out.toFloatArray(), 1e-6, 0);
            }
        }
    }

    @Test
    void sumAndMeanLastDimBackwardMatchFiniteDifferencesAndAccumulate() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : shapes()) {
                int n = numel(shape);
                int c = (int) shape[shape.length - 1];
                long[] rowsShape = Arrays.copyOf(shape, shape.length - 1);
                double[] x = TestData.toDouble(TestData.normal(n + 1, n, 2));
                float[] r = TestData.normal(n + 2, n / c, 1);
                float[] g0 = TestData.uniform(n + 3, n, 0.5);
                double[] dr = TestData.toDouble(r);

                Tensor dX = arena.of(g0, shape);
                be.sumLastDimBackward(arena.of(r, rowsShape), dX);
                assertAccumulated("sumLastDimBackward " + Arrays.toString(shape), g0,
                        GradCheck.numeric(v -> sumRows(v, c), x, dr), dX.toFloatArray());

                Tensor dXm = arena.of(g0, shape);
                be.meanLastDimBackward(arena.of(r, rowsShape), dXm);
                assertAccumulated("meanLastDimBackward " + Arrays.toString(shape), g0,
                        GradCheck.numeric(v -> meanRows(v, c), x, dr), dXm.toFloatArray());
            }
        }
    }

    @Test
    void sumAndMeanOfEverythingAccumulateInDouble() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int n : new int[] {1, 7, 16, 33, 130, 16_384, 50_001}) {
                float[] x = TestData.normal(n, n, 3);
                double expected = 0, abs = 0;
                for (float v : x) {
                    expected += v;
                    abs += Math.abs(v);
                }
                Tensor t = arena.of(x, 1, n);
                // Accumulated in double, delivered as an F32 device scalar: the double sum rounded once.
                float sum = (float) expected, mean = (float) (expected / n);
                assertEquals(sum, be.sum(t), Math.ulp(sum) + 1e-12 * abs, "sum of " + n);
                assertEquals(mean, be.mean(t), Math.ulp(mean) + 1e-12 * abs / n, "mean of " + n);
            }
            // Float accumulation would lose the small terms next to a large one; double keeps them.
            float[] x = new float[4097];
            Arrays.fill(x, 1f);
            x[0] = 1e8f;
            assertEquals(1e8 + 4096, be.sum(arena.of(x, x.length)), 0);
        }
    }

    @Test
    void errorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2)) {
            try (TensorArena arena = new TensorArena()) {
                Tensor x = arena.allocate(DType.F32, 3, 7);
                Tensor bad = arena.allocate(DType.F32, 7);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.sumLastDim(x, bad)),
                        "sumLastDim", "[3, 7]", "[7]", "[3]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.meanLastDim(x, bad)),
                        "meanLastDim", "[3, 7]", "[7]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.sumLastDimBackward(bad, x)),
                        "sumLastDimBackward", "[3, 7]", "[7]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.meanLastDimBackward(bad, x)),
                        "meanLastDimBackward", "[3, 7]", "[7]");
                Tensor scalar = arena.allocate(DType.F32);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.sumLastDim(scalar, scalar)),
                        "sumLastDim", "dimension");
                Tensor ints = arena.allocate(DType.I32, 3, 7);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.sum(ints)), "sum", "I32");
                assertMessage(assertThrows(IllegalArgumentException.class,
                        () -> be.sumLastDim(x, arena.allocate(DType.BF16, 3))), "sumLastDim", "BF16");
            }
            TensorArena closed = new TensorArena();
            Tensor dead = closed.allocate(DType.F32, 3, 7);
            closed.close();
            assertMessage(assertThrows(TensorClosedException.class, () -> be.mean(dead)), "mean", "[3, 7]");
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int rows = 2000, c = 33;
        float[] x = TestData.normal(1, rows * c, 2);
        float[] g = TestData.normal(2, rows, 1);
        float[] g0 = TestData.uniform(3, rows * c, 1);
        float[][] results = new float[2][];
        double[][] totals = new double[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor tx = arena.of(x, rows, c);
                Tensor s = arena.allocate(DType.F32, rows), m = arena.allocate(DType.F32, rows);
                Tensor dX = arena.of(g0, rows, c);
                be.sumLastDim(tx, s);
                be.meanLastDim(tx, m);
                be.sumLastDimBackward(arena.of(g, rows), dX);
                be.meanLastDimBackward(arena.of(g, rows), dX);
                results[threads - 1] = concat(s.toFloatArray(), m.toFloatArray(), dX.toFloatArray());
                totals[threads - 1] = new double[] {be.sum(tx), be.mean(tx)};
            }
        }
        assertArrayEquals(results[0], results[1]);
        assertArrayEquals(totals[0], totals[1]);
    }

    // ---------------------------------------------------------------- references

    static double[] sumRows(double[] x, int c) {
        double[] o = new double[x.length / c];
        for (int r = 0; r < o.length; r++) {
            for (int j = 0; j < c; j++) {
                o[r] += x[r * c + j];
            }
        }
        return o;
    }

    static double[] meanRows(double[] x, int c) {
        double[] o = sumRows(x, c);
        for (int r = 0; r < o.length; r++) {
            o[r] /= c;
        }
        return o;
    }

    static float[] toFloat(double[] x) {
        float[] f = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            f[i] = (float) x[i];
        }
        return f;
    }

    static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] out = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, at, p.length);
            at += p.length;
        }
        return out;
    }
}
