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
class CpuNormsTest {
    private static final int[] COLS = {1, 7, 16, 33, 130};
    private static final float EPS = 1e-5f;


    /** Shapes {@code [3, C]} and {@code [2, 3, C]} for every C, and a single row {@code [C]}. */
    private static long[][] shapes() {
        long[][] s = new long[COLS.length * 2 + 1][];
        for (int i = 0; i < COLS.length; i++) {
            s[2 * i] = new long[] {3, COLS[i]};
            s[2 * i + 1] = new long[] {2, 3, COLS[i]};
        }
        s[s.length - 1] = new long[] {33};
        return s;
    }

    // ---------------------------------------------------------------- RMSNorm

    @Test
    void rmsNormMatchesReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : shapes()) {
                int n = numel(shape);
                int c = (int) shape[shape.length - 1];
                long[] rowsShape = Arrays.copyOf(shape, shape.length - 1);
                float[] x = TestData.normal(n, n, 2);
                float[] w = TestData.uniform(n + 1, c, 1.5);
                Tensor out = arena.of(TestData.uniform(1, n, 1), shape);
                Tensor rstd = arena.of(TestData.uniform(2, n / c, 1), rowsShape);
                be.rmsNorm(arena.of(x, shape), arena.of(w, c), EPS, out, rstd);
                double[] dx = TestData.toDouble(x), dw = TestData.toDouble(w);
                String what = "rmsNorm " + Arrays.toString(shape);
                Approx.assertClose(what + " out", rmsNorm(dx, dw, c), out.toFloatArray(), 1e-5, 0);
                Approx.assertClose(what + " rstd", rmsRstd(dx, c), rstd.toFloatArray(), 1e-5, 0);
            }
        }
    }

    @Test
    void rmsNormBackwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : shapes()) {
                int n = numel(shape);
                int c = (int) shape[shape.length - 1];
                long[] rowsShape = Arrays.copyOf(shape, shape.length - 1);
                float[] x = TestData.normal(n + 10, n, 2);
                float[] w = TestData.uniform(n + 11, c, 1.5);
                float[] r = TestData.normal(n + 12, n, 1);
                float[] gx0 = TestData.uniform(n + 13, n, 0.5);
                float[] gw0 = TestData.uniform(n + 14, c, 0.5);
                Tensor tx = arena.of(x, shape), tw = arena.of(w, c);
                Tensor rstd = arena.allocate(DType.F32, rowsShape);
                be.rmsNorm(tx, tw, EPS, arena.allocate(DType.F32, shape), rstd);
                Tensor dX = arena.of(gx0, shape), dW = arena.of(gw0, c);
                be.rmsNormBackward(arena.of(r, shape), tx, tw, rstd, dX, dW);

                double[] dx = TestData.toDouble(x), dw = TestData.toDouble(w), dr = TestData.toDouble(r);
                String what = "rmsNormBackward " + Arrays.toString(shape);
                assertAccumulated(what + " dX", gx0, GradCheck.numeric(v -> rmsNorm(v, dw, c), dx, dr), dX.toFloatArray());
                assertAccumulated(what + " dWeight", gw0, GradCheck.numeric(v -> rmsNorm(dx, v, c), dw, dr),
                        dW.toFloatArray());
            }
        }
    }

    // ---------------------------------------------------------------- LayerNorm

    @Test
    void layerNormMatchesReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : shapes()) {
                for (double offset : new double[] {0, 50}) {
                    int n = numel(shape);
                    int c = (int) shape[shape.length - 1];
                    long[] rowsShape = Arrays.copyOf(shape, shape.length - 1);
                    float[] x = TestData.normal(n, n, 2);
                    for (int i = 0; i < n; i++) {
                        x[i] += (float) offset;
                    }
                    float[] w = TestData.uniform(n + 1, c, 1.5);
                    float[] b = TestData.uniform(n + 2, c, 1);
                    Tensor out = arena.of(TestData.uniform(1, n, 1), shape);
                    Tensor mean = arena.of(TestData.uniform(2, n / c, 1), rowsShape);
                    Tensor rstd = arena.of(TestData.uniform(3, n / c, 1), rowsShape);
                    be.layerNorm(arena.of(x, shape), arena.of(w, c), arena.of(b, c), EPS, out, mean, rstd);
                    double[] dx = TestData.toDouble(x), dw = TestData.toDouble(w), db = TestData.toDouble(b);
                    String what = "layerNorm " + Arrays.toString(shape) + " offset " + offset;
                    // A mean of 50 leaves float x only ~6 significant digits of the deviation.
                    double tol = offset == 0 ? 1e-5 : 1e-4;
                    Approx.assertClose(what + " out", layerNorm(dx, dw, db, c), out.toFloatArray(), tol, 0);
                    Approx.assertClose(what + " mean", meanRows(dx, c), mean.toFloatArray(), 1e-6, 0);
                    Approx.assertClose(what + " rstd", layerRstd(dx, c), rstd.toFloatArray(), tol, 0);
                }
            }
        }
    }

    @Test
    void layerNormBackwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : shapes()) {
                int n = numel(shape);
                int c = (int) shape[shape.length - 1];
                long[] rowsShape = Arrays.copyOf(shape, shape.length - 1);
                float[] x = TestData.normal(n + 20, n, 2);
                float[] w = TestData.uniform(n + 21, c, 1.5);
                float[] b = TestData.uniform(n + 22, c, 1);
                float[] r = TestData.normal(n + 23, n, 1);
                float[] gx0 = TestData.uniform(n + 24, n, 0.5);
                float[] gw0 = TestData.uniform(n + 25, c, 0.5);
                float[] gb0 = TestData.uniform(n + 26, c, 0.5);
                Tensor tx = arena.of(x, shape), tw = arena.of(w, c);
                Tensor mean = arena.allocate(DType.F32, rowsShape), rstd = arena.allocate(DType.F32, rowsShape);
                be.layerNorm(tx, tw, arena.of(b, c), EPS, arena.allocate(DType.F32, shape), mean, rstd);
                Tensor dX = arena.of(gx0, shape), dW = arena.of(gw0, c), dB = arena.of(gb0, c);
                be.layerNormBackward(arena.of(r, shape), tx, tw, mean, rstd, dX, dW, dB);

                double[] dx = TestData.toDouble(x), dw = TestData.toDouble(w), db = TestData.toDouble(b);
                double[] dr = TestData.toDouble(r);
                String what = "layerNormBackward " + Arrays.toString(shape);
                assertAccumulated(what + " dX", gx0, GradCheck.numeric(v -> layerNorm(v, dw, db, c), dx, dr),
                        dX.toFloatArray());
                assertAccumulated(what + " dWeight", gw0, GradCheck.numeric(v -> layerNorm(dx, v, db, c), dw, dr),
                        dW.toFloatArray());
                assertAccumulated(what + " dBias", gb0, GradCheck.numeric(v -> layerNorm(dx, dw, v, c), db, dr),
                        dB.toFloatArray());
            }
        }
    }

    // ---------------------------------------------------------------- grouped LayerNorm: a gain and shift per group

    /** Grouped shapes {@code [G, M, C]}: vector bodies and scalar tails, a single row per group. */
    private static final int[][] GROUPED = {{3, 5, 7}, {2, 9, 33}, {4, 1, 16}, {2, 3, 130}};

    @Test
    void groupedLayerNormEqualsOneCallPerGroup() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int[] s : GROUPED) {
                int groups = s[0], m = s[1], c = s[2], n = groups * m * c;
                float[] x = TestData.normal(n + 30, n, 2);
                float[] w = TestData.uniform(n + 31, groups * c, 1.5);
                float[] b = TestData.uniform(n + 32, groups * c, 1);
                float[] g = TestData.normal(n + 33, n, 1);
                float[] gx0 = TestData.uniform(n + 34, n, 0.5);
                float[] gw0 = TestData.uniform(n + 35, groups * c, 0.5);
                float[] gb0 = TestData.uniform(n + 36, groups * c, 0.5);

                Tensor tx = arena.of(x, groups, m, c), tw = arena.of(w, groups, c);
                Tensor out = arena.allocate(DType.F32, groups, m, c);
                Tensor mean = arena.allocate(DType.F32, groups, m), rstd = arena.allocate(DType.F32, groups, m);
                be.layerNorm(tx, tw, arena.of(b, groups, c), EPS, out, mean, rstd);
                Tensor dX = arena.of(gx0, groups, m, c), dW = arena.of(gw0, groups, c), dB = arena.of(gb0, groups, c);
                be.layerNormBackward(arena.of(g, groups, m, c), tx, tw, mean, rstd, dX, dW, dB);

                float[][] perGroup = new float[6][]; // out, mean, rstd, dX, dWeight, dBias, groups concatenated
                for (int q = 0; q < perGroup.length; q++) {
                    perGroup[q] = new float[0];
                }
                for (int k = 0; k < groups; k++) {
                    int x0 = k * m * c, w0 = k * c;
                    Tensor gx = arena.of(Arrays.copyOfRange(x, x0, x0 + m * c), m, c);
                    Tensor gw = arena.of(Arrays.copyOfRange(w, w0, w0 + c), c);
                    Tensor gOut = arena.allocate(DType.F32, m, c);
                    Tensor gMean = arena.allocate(DType.F32, m), gRstd = arena.allocate(DType.F32, m);
                    be.layerNorm(gx, gw, arena.of(Arrays.copyOfRange(b, w0, w0 + c), c), EPS, gOut, gMean, gRstd);
                    Tensor gdX = arena.of(Arrays.copyOfRange(gx0, x0, x0 + m * c), m, c);
                    Tensor gdW = arena.of(Arrays.copyOfRange(gw0, w0, w0 + c), c);
                    Tensor gdB = arena.of(Arrays.copyOfRange(gb0, w0, w0 + c), c);
                    be.layerNormBackward(arena.of(Arrays.copyOfRange(g, x0, x0 + m * c), m, c), gx, gw, gMean, gRstd,
                            gdX, gdW, gdB);
                    float[][] parts = {gOut.toFloatArray(), gMean.toFloatArray(), gRstd.toFloatArray(),
                            gdX.toFloatArray(), gdW.toFloatArray(), gdB.toFloatArray()};
                    for (int q = 0; q < parts.length; q++) {
                        perGroup[q] = concat(perGroup[q], parts[q]);
                    }
                }
                String what = "grouped layerNorm " + Arrays.toString(s);
                assertArrayEquals(perGroup[0], out.toFloatArray(), what + " out");
                assertArrayEquals(perGroup[1], mean.toFloatArray(), what + " mean");
                assertArrayEquals(perGroup[2], rstd.toFloatArray(), what + " rstd");
                assertArrayEquals(perGroup[3], dX.toFloatArray(), what + " dX");
                assertArrayEquals(perGroup[4], dW.toFloatArray(), what + " dWeight");
                assertArrayEquals(perGroup[5], dB.toFloatArray(), what + " dBias");
            }
        }
    }

    @Test
    void groupedLayerNormMatchesReferenceAndFiniteDifferences() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int[] s : new int[][] {{3, 4, 7}, {2, 3, 33}}) {
                int groups = s[0], m = s[1], c = s[2], n = groups * m * c;
                float[] x = TestData.normal(n + 40, n, 2);
                float[] w = TestData.uniform(n + 41, groups * c, 1.5);
                float[] b = TestData.uniform(n + 42, groups * c, 1);
                float[] r = TestData.normal(n + 43, n, 1);
                float[] gx0 = TestData.uniform(n + 44, n, 0.5);
                float[] gw0 = TestData.uniform(n + 45, groups * c, 0.5);
                float[] gb0 = TestData.uniform(n + 46, groups * c, 0.5);
                Tensor tx = arena.of(x, groups, m, c), tw = arena.of(w, groups, c);
                Tensor out = arena.allocate(DType.F32, groups, m, c);
                Tensor mean = arena.allocate(DType.F32, groups, m), rstd = arena.allocate(DType.F32, groups, m);
                be.layerNorm(tx, tw, arena.of(b, groups, c), EPS, out, mean, rstd);
                Tensor dX = arena.of(gx0, groups, m, c), dW = arena.of(gw0, groups, c), dB = arena.of(gb0, groups, c);
                be.layerNormBackward(arena.of(r, groups, m, c), tx, tw, mean, rstd, dX, dW, dB);

                double[] dx = TestData.toDouble(x), dw = TestData.toDouble(w), db = TestData.toDouble(b);
                double[] dr = TestData.toDouble(r);
                int rows = m * c;
                String what = "grouped layerNorm " + Arrays.toString(s);
                Approx.assertClose(what + " out", groupedLayerNorm(dx, dw, db, rows, c), out.toFloatArray(), 1e-5, 0);
                assertAccumulated(what + " dX", gx0,
                        GradCheck.numeric(v -> groupedLayerNorm(v, dw, db, rows, c), dx, dr), dX.toFloatArray());
                assertAccumulated(what + " dWeight", gw0,
                        GradCheck.numeric(v -> groupedLayerNorm(dx, v, db, rows, c), dw, dr), dW.toFloatArray());
                assertAccumulated(what + " dBias", gb0,
                        GradCheck.numeric(v -> groupedLayerNorm(dx, dw, v, rows, c), db, dr), dB.toFloatArray());
            }
        }
    }

    @Test
    void groupedLayerNormShapeErrorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2); TensorArena arena = new TensorArena()) {
            Tensor x = arena.allocate(DType.F32, 2, 4, 7), out = arena.allocate(DType.F32, 2, 4, 7);
            Tensor w = arena.allocate(DType.F32, 2, 7), w3 = arena.allocate(DType.F32, 3, 7);
            Tensor w1 = arena.allocate(DType.F32, 7), rows = arena.allocate(DType.F32, 2, 4);
            assertMessage(assertThrows(ShapeMismatchException.class, () -> be.layerNorm(x, w3, w3, EPS, out, rows, rows)),
                    "layerNorm", "weight", "[3, 7]", "[2, 4, 7]");
            assertMessage(assertThrows(ShapeMismatchException.class, () -> be.layerNorm(x, w, w1, EPS, out, rows, rows)),
                    "layerNorm", "bias", "[2, 7]", "[7]");
            Tensor x2 = arena.allocate(DType.F32, 4, 7);
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.layerNorm(x2, w, w, EPS, x2, arena.allocate(DType.F32, 4), arena.allocate(DType.F32, 4))),
                    "layerNorm", "weight", "[2, 7]", "[4, 7]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.layerNormBackward(out, x, w, rows, rows, out, w, w1)),
                    "layerNormBackward", "[2, 7]", "[7]");
            assertMessage(assertThrows(ShapeMismatchException.class,
                    () -> be.layerNormBackward(out, x, w3, rows, rows, out, w3, w3)),
                    "layerNormBackward", "weight", "[3, 7]", "[2, 4, 7]");
        }
    }

    @Test
    void groupedLayerNormIsIndependentOfThreadCount() {
        int groups = 8, m = 300, c = 130, n = groups * m * c;
        float[] x = TestData.normal(5, n, 2);
        float[] w = TestData.uniform(6, groups * c, 1.5);
        float[] b = TestData.uniform(7, groups * c, 1);
        float[] g = TestData.normal(8, n, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor tx = arena.of(x, groups, m, c), tw = arena.of(w, groups, c);
                Tensor out = arena.allocate(DType.F32, groups, m, c);
                Tensor mean = arena.allocate(DType.F32, groups, m), rstd = arena.allocate(DType.F32, groups, m);
                be.layerNorm(tx, tw, arena.of(b, groups, c), EPS, out, mean, rstd);
                Tensor dX = arena.allocate(DType.F32, groups, m, c);
                Tensor dW = arena.allocate(DType.F32, groups, c), dB = arena.allocate(DType.F32, groups, c);
                be.layerNormBackward(arena.of(g, groups, m, c), tx, tw, mean, rstd, dX, dW, dB);
                results[threads - 1] = concat(out.toFloatArray(), mean.toFloatArray(), rstd.toFloatArray(),
                        dX.toFloatArray(), dW.toFloatArray(), dB.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    // ---------------------------------------------------------------- errors and threads

    @Test
    void errorsNameTheOpAndShapes() {
        try (CpuBackend be = new CpuBackend(2)) {
            try (TensorArena arena = new TensorArena()) {
                Tensor x = arena.allocate(DType.F32, 4, 7);
                Tensor out = arena.allocate(DType.F32, 4, 7);
                Tensor w = arena.allocate(DType.F32, 7);
                Tensor w8 = arena.allocate(DType.F32, 8);
                Tensor rows = arena.allocate(DType.F32, 4);
                Tensor rows5 = arena.allocate(DType.F32, 5);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.rmsNorm(x, w8, EPS, out, rows)),
                        "rmsNorm", "weight", "[7]", "[8]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.rmsNorm(x, w, EPS, out, rows5)),
                        "rmsNorm", "rstd", "[4, 7]", "[4]", "[5]");
                assertMessage(assertThrows(ShapeMismatchException.class,
                        () -> be.rmsNorm(x, w, EPS, arena.allocate(DType.F32, 7, 4), rows)), "rmsNorm", "[4, 7]", "[7, 4]");
                assertMessage(assertThrows(ShapeMismatchException.class,
                        () -> be.rmsNormBackward(out, x, w, rows, x, w8)), "rmsNormBackward", "[7]", "[8]");
                assertMessage(assertThrows(ShapeMismatchException.class,
                        () -> be.layerNorm(x, w, w8, EPS, out, rows, rows)), "layerNorm", "bias", "[7]", "[8]");
                assertMessage(assertThrows(ShapeMismatchException.class,
                        () -> be.layerNorm(x, w, w, EPS, out, rows5, rows)), "layerNorm", "mean", "[4]", "[5]");
                assertMessage(assertThrows(ShapeMismatchException.class,
                        () -> be.layerNormBackward(out, x, w, rows, rows, x, w, w8)), "layerNormBackward", "[7]", "[8]");
                Tensor bf = arena.allocate(DType.BF16, 7);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.rmsNorm(x, bf, EPS, out, rows)),
                        "rmsNorm", "weight", "BF16");
            }
            TensorArena closed = new TensorArena();
            Tensor dead = closed.allocate(DType.F32, 4, 7);
            closed.close();
            try (TensorArena arena = new TensorArena()) {
                Tensor w = arena.allocate(DType.F32, 7);
                Tensor rows = arena.allocate(DType.F32, 4);
                assertMessage(assertThrows(TensorClosedException.class,
                        () -> be.layerNorm(dead, w, w, EPS, dead, rows, rows)), "layerNorm", "[4, 7]");
            }
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int rows = 1000, c = 130;
        float[] x = TestData.normal(1, rows * c, 2);
        float[] w = TestData.uniform(2, c, 1.5);
        float[] b = TestData.uniform(3, c, 1);
        float[] g = TestData.normal(4, rows * c, 1);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor tx = arena.of(x, rows, c), tw = arena.of(w, c), tg = arena.of(g, rows, c);
                Tensor out1 = arena.allocate(DType.F32, rows, c), out2 = arena.allocate(DType.F32, rows, c);
                Tensor rstd1 = arena.allocate(DType.F32, rows), rstd2 = arena.allocate(DType.F32, rows);
                Tensor mean = arena.allocate(DType.F32, rows);
                Tensor dX = arena.allocate(DType.F32, rows, c), dW = arena.allocate(DType.F32, c);
                Tensor dB = arena.allocate(DType.F32, c);
                be.rmsNorm(tx, tw, EPS, out1, rstd1);
                be.rmsNormBackward(tg, tx, tw, rstd1, dX, dW);
                be.layerNorm(tx, tw, arena.of(b, c), EPS, out2, mean, rstd2);
                be.layerNormBackward(tg, tx, tw, mean, rstd2, dX, dW, dB);
                results[threads - 1] = concat(out1.toFloatArray(), rstd1.toFloatArray(), out2.toFloatArray(),
                        mean.toFloatArray(), rstd2.toFloatArray(), dX.toFloatArray(), dW.toFloatArray(),
                        dB.toFloatArray());
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    // ---------------------------------------------------------------- double-precision references

    static double[] rmsRstd(double[] x, int c) {
        double[] rs = new double[x.length / c];
        for (int r = 0; r < rs.length; r++) {
            double ss = 0;
            for (int j = 0; j < c; j++) {
                ss += x[r * c + j] * x[r * c + j];
            }
            rs[r] = 1 / Math.sqrt(ss / c + EPS);
        }
        return rs;
    }

    static double[] rmsNorm(double[] x, double[] w, int c) {
        double[] rs = rmsRstd(x, c);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            o[i] = x[i] * rs[i / c] * w[i % c];
        }
        return o;
    }

    static double[] meanRows(double[] x, int c) {
        double[] m = new double[x.length / c];
        for (int i = 0; i < x.length; i++) {
            m[i / c] += x[i] / c;
        }
        return m;
    }

    static double[] layerRstd(double[] x, int c) {
        double[] m = meanRows(x, c);
        double[] var = new double[m.length];
        for (int i = 0; i < x.length; i++) {
            double d = x[i] - m[i / c];
            var[i / c] += d * d / c;
        }
        for (int r = 0; r < var.length; r++) {
            var[r] = 1 / Math.sqrt(var[r] + EPS);
        }
        return var;
    }

    /** LayerNorm of rows of {@code c}; the {@code elementsPerGroup} elements of group g use row g of w and b. */
    static double[] groupedLayerNorm(double[] x, double[] w, double[] b, int elementsPerGroup, int c) {
        double[] m = meanRows(x, c);
        double[] rs = layerRstd(x, c);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            int p = i / elementsPerGroup * c + i % c;
            o[i] = (x[i] - m[i / c]) * rs[i / c] * w[p] + b[p];
        }
        return o;
    }

    static double[] layerNorm(double[] x, double[] w, double[] b, int c) {
        double[] m = meanRows(x, c);
        double[] rs = layerRstd(x, c);
        double[] o = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            o[i] = (x[i] - m[i / c]) * rs[i / c] * w[i % c] + b[i % c];
        }
        return o;
    }
}
