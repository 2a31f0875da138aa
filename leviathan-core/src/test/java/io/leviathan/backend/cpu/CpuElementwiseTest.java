package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuElementwiseTest {
    private static final int[] SIZES = {1, 7, 16, 33, 130};
    private static final long[][] SHAPES = {{1}, {7}, {16}, {33}, {130}, {2, 3, 33}, {5, 17}};


    // ---------------------------------------------------------------- copy and bf16

    @Test
    void copySameDtypeIsExact() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int n : SIZES) {
                float[] x = TestData.normal(n, n, 3);
                Tensor dst = arena.allocate(DType.F32, n);
                be.copy(arena.of(x, n), dst);
                assertArrayEquals(x, dst.toFloatArray(), "F32 copy, n=" + n);

                Tensor b1 = arena.allocate(DType.BF16, n).copyFrom(x);
                Tensor b2 = arena.allocate(DType.BF16, n);
                be.copy(b1, b2);
                assertArrayEquals(rawBf16(b1), rawBf16(b2), "BF16 copy, n=" + n);

                int[] ids = TestData.ints(n, n, 1000);
                Tensor i2 = arena.allocate(DType.I32, n);
                be.copy(arena.ofInts(ids, n), i2);
                assertArrayEquals(ids, i2.toIntArray(), "I32 copy, n=" + n);
            }
        }
    }

    @Test
    void bf16RoundingOnKnownValues() {
        float[] in = {
            1.0f,
            Float.intBitsToFloat(0x3F808000),   // 1 + 2^-8: a tie, rounds to even (down)
            Float.intBitsToFloat(0x3F818000),   // 1 + 3 * 2^-8: a tie, rounds to even (up)
            Float.intBitsToFloat(0x3F808001),   // just above the tie: up
            -0.0f, 0.0f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MAX_VALUE, -Float.MAX_VALUE,  // largest finite: rounds to infinity
            Float.MIN_VALUE,                    // smallest subnormal: rounds to zero
            Float.intBitsToFloat(0x00010000),   // subnormal exactly representable
            Float.intBitsToFloat(0x00018000),   // subnormal tie: rounds to even (up)
            Float.intBitsToFloat(0x00008000),   // subnormal tie: rounds to even (down, to zero)
            Float.intBitsToFloat(0x007FFFFF),   // largest subnormal: rounds up to the smallest normal
            -2.5f,
        };
        short[] expected = {
            0x3F80, 0x3F80, 0x3F82, 0x3F81, (short) 0x8000, 0x0000, 0x7F80, (short) 0xFF80,
            0x7F80, (short) 0xFF80, 0x0000, 0x0001, 0x0002, 0x0000, 0x0080, (short) 0xC020,
        };
        // Repeat the values so each lands both in vector lanes and in the scalar tail.
        int n = 3 * 16 + 5;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = in[i % in.length];
        }
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor b = arena.allocate(DType.BF16, n);
            be.copy(arena.of(x, n), b);
            short[] got = rawBf16(b);
            for (int i = 0; i < n; i++) {
                assertEquals(expected[i % in.length], got[i], String.format("bf16 of %a (element %d): got 0x%04X",
                        x[i], i, got[i] & 0xffff));
                assertEquals(expected[i % in.length], Bf16.fromFloat(x[i]), "Bf16.fromFloat agrees");
            }
        }
    }

    @Test
    void bf16NanStaysNan() {
        int[] nanBits = {0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0x7F80FFFF, 0xFFC12345};
        int n = 37;
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = Float.intBitsToFloat(nanBits[i % nanBits.length]);
        }
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor b = arena.allocate(DType.BF16, n);
            be.copy(arena.of(x, n), b);
            short[] got = rawBf16(b);
            Tensor back = arena.allocate(DType.F32, n);
            be.copy(b, back);
            float[] f = back.toFloatArray();
            for (int i = 0; i < n; i++) {
                assertTrue(Float.isNaN(Bf16.toFloat(got[i])), String.format("NaN 0x%08X became 0x%04X",
                        nanBits[i % nanBits.length], got[i] & 0xffff));
                assertTrue(Float.isNaN(f[i]));
                assertEquals(Bf16.fromFloat(x[i]), got[i]);
            }
        }
    }

    @Test
    void f32ToBf16MatchesScalarRoundingOnRandomBitPatterns() {
        int n = 10_007;
        SplittableRandom r = new SplittableRandom(7);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = Float.intBitsToFloat(r.nextInt());
        }
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor b = arena.allocate(DType.BF16, n);
            be.copy(arena.of(x, n), b);
            short[] got = rawBf16(b);
            for (int i = 0; i < n; i++) {
                assertEquals(Bf16.fromFloat(x[i]), got[i], String.format("bf16 of bits 0x%08X",
                        Float.floatToRawIntBits(x[i])));
            }
        }
    }

    @Test
    void f32Bf16RoundTripThroughCopy() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : SHAPES) {
                int n = numel(shape);
                float[] x = TestData.normal(n + 11, n, 10);
                Tensor b = arena.allocate(DType.BF16, shape);
                Tensor back = arena.allocate(DType.F32, shape);
                be.copy(arena.of(x, shape), b);
                be.copy(b, back);
                float[] y = back.toFloatArray();
                for (int i = 0; i < n; i++) {
                    assertEquals(Bf16.toFloat(Bf16.fromFloat(x[i])), y[i], 0f);
                    assertTrue(Math.abs(y[i] - x[i]) <= Math.abs(x[i]) * 0x1p-8f, "relative error within 2^-8");
                }
                // BF16 -> F32 -> BF16 is the identity.
                Tensor b2 = arena.allocate(DType.BF16, shape);
                be.copy(back, b2);
                assertArrayEquals(rawBf16(b), rawBf16(b2));
            }
        }
    }

    @Test
    void copyRejectsIntFloatConversionAndShapeMismatch() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor ids = arena.allocate(DType.I32, 4);
            Tensor f = arena.allocate(DType.F32, 4);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> be.copy(ids, f));
            assertTrue(e.getMessage().contains("copy") && e.getMessage().contains("I32"), e.getMessage());
            ShapeMismatchException s = assertThrows(ShapeMismatchException.class,
                    () -> be.copy(f, arena.allocate(DType.F32, 2, 2)));
            assertTrue(s.getMessage().contains("copy") && s.getMessage().contains("[4]")
                    && s.getMessage().contains("[2, 2]"), s.getMessage());
        }
    }

    @Test
    void fillSetsEveryElement() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int n : SIZES) {
                Tensor t = arena.of(TestData.uniform(n, n, 1), n);
                be.fill(t, -1.75f);
                for (float v : t.toFloatArray()) {
                    assertEquals(-1.75f, v, 0f);
                }
                Tensor b = arena.allocate(DType.BF16, n);
                be.fill(b, 3.0f);
                for (short v : rawBf16(b)) {
                    assertEquals((short) 0x4040, v);
                }
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> be.fill(arena.allocate(DType.I32, 3), 1f));
            assertTrue(e.getMessage().contains("fill"), e.getMessage());
        }
    }

    // ---------------------------------------------------------------- add, mul, scale, axpy

    @Test
    void addMulScaleMatchReference() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : SHAPES) {
                int n = numel(shape);
                float[] a = TestData.uniform(1, n, 2);
                float[] b = TestData.normal(2, n, 2);
                Tensor ta = arena.of(a, shape), tb = arena.of(b, shape), out = arena.of(TestData.uniform(3, n, 1), shape);
                double[] da = TestData.toDouble(a), db = TestData.toDouble(b);

                be.add(ta, tb, out);
                Approx.assertClose("add " + n, add(da, db), out.toFloatArray(), 1e-6, 0);
                be.mul(ta, tb, out);
                Approx.assertClose("mul " + n, mul(da, db), out.toFloatArray(), 1e-6, 0);
                be.scale(ta, -0.37f, out);
                Approx.assertClose("scale " + n, scale(da, -0.37f), out.toFloatArray(), 1e-6, 0);

                float[] y0 = TestData.uniform(4, n, 1);
                Tensor y = arena.of(y0, shape);
                be.axpy(0.625f, ta, y);
                double[] expected = new double[n];
                for (int i = 0; i < n; i++) {
                    expected[i] = y0[i] + 0.625 * a[i];
                }
                Approx.assertClose("axpy " + n, expected, y.toFloatArray(), 1e-6, 0);
            }
        }
    }

    @Test
    void outputMayAliasAnInput() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            int n = 133;
            float[] a = TestData.uniform(1, n, 2);
            float[] b = TestData.uniform(2, n, 2);
            Tensor ta = arena.of(a, n);
            be.mul(ta, arena.of(b, n), ta);
            Approx.assertClose("mul in place", mul(TestData.toDouble(a), TestData.toDouble(b)), ta.toFloatArray(), 1e-6, 0);
        }
    }

    @Test
    void mulBackwardMatchesFiniteDifferencesAndAccumulates() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : SHAPES) {
                int n = numel(shape);
                float[] a = TestData.uniform(10, n, 2);
                float[] b = TestData.uniform(11, n, 2);
                float[] r = TestData.normal(12, n, 1);
                double[] da = TestData.toDouble(a), db = TestData.toDouble(b), dr = TestData.toDouble(r);
                double[] numA = GradCheck.numeric(x -> mul(x, db), da, dr);
                double[] numB = GradCheck.numeric(x -> mul(da, x), db, dr);
                float[] gA0 = TestData.uniform(13, n, 0.5), gB0 = TestData.uniform(14, n, 0.5);

                Tensor ta = arena.of(a, shape), tb = arena.of(b, shape), g = arena.of(r, shape);
                Tensor dA = arena.of(gA0, shape), dB = arena.of(gB0, shape);
                be.mulBackward(g, ta, tb, dA, dB);
                assertAccumulated("mulBackward dA " + n, gA0, numA, dA.toFloatArray());
                assertAccumulated("mulBackward dB " + n, gB0, numB, dB.toFloatArray());

                Tensor onlyA = arena.of(gA0, shape);
                be.mulBackward(g, ta, tb, onlyA, null);
                assertAccumulated("mulBackward dA only " + n, gA0, numA, onlyA.toFloatArray());
                Tensor onlyB = arena.of(gB0, shape);
                be.mulBackward(g, ta, tb, null, onlyB);
                assertAccumulated("mulBackward dB only " + n, gB0, numB, onlyB.toFloatArray());
            }
        }
    }

    @Test
    void addAndScaleBackwardViaAxpyMatchFiniteDifferences() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (long[] shape : SHAPES) {
                int n = numel(shape);
                double[] a = TestData.toDouble(TestData.uniform(20, n, 2));
                double[] b = TestData.toDouble(TestData.uniform(21, n, 2));
                float[] r = TestData.normal(22, n, 1);
                double[] dr = TestData.toDouble(r);
                float s = 1.3f;
                double[] numAdd = GradCheck.numeric(x -> add(x, b), a, dr);
                double[] numScale = GradCheck.numeric(x -> scale(x, s), a, dr);
                float[] g0 = TestData.uniform(23, n, 0.5);

                Tensor dA = arena.of(g0, shape);
                be.axpy(1f, arena.of(r, shape), dA);
                assertAccumulated("add backward " + n, g0, numAdd, dA.toFloatArray());
                Tensor dS = arena.of(g0, shape);
                be.axpy(s, arena.of(r, shape), dS);
                assertAccumulated("scale backward " + n, g0, numScale, dS.toFloatArray());
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
                Tensor out = arena.allocate(DType.F32, 2, 3);
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.add(a, b, out)), "add", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.mul(a, out, b)), "mul", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.axpy(1, a, b)), "axpy", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.scale(a, 2, b)), "scale", "[2, 3]", "[3, 2]");
                assertMessage(assertThrows(ShapeMismatchException.class, () -> be.mulBackward(a, a, a, b, null)),
                        "mulBackward", "[2, 3]", "[3, 2]");
                Tensor bf = arena.allocate(DType.BF16, 2, 3);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.add(a, bf, out)), "add", "BF16");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.axpy(1, a, bf)), "axpy", "BF16");
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.add(a, null, out)), "add", "b");
                Tensor strided = arena.allocate(DType.F32, 3, 2).transpose(0, 1);
                assertMessage(assertThrows(IllegalArgumentException.class, () -> be.add(a, strided, out)),
                        "add", "contiguous");
            }
            TensorArena closed = new TensorArena();
            Tensor dead = closed.allocate(DType.F32, 4);
            closed.close();
            try (TensorArena arena = new TensorArena()) {
                Tensor live = arena.allocate(DType.F32, 4);
                assertMessage(assertThrows(TensorClosedException.class, () -> be.add(live, dead, live)), "add", "[4]");
                assertMessage(assertThrows(TensorClosedException.class, () -> be.copy(dead, live)), "copy", "[4]");
            }
        }
    }

    @Test
    void oneAndTwoThreadsGiveIdenticalResults() {
        int n = 100_003;
        float[] a = TestData.normal(1, n, 2);
        float[] b = TestData.normal(2, n, 2);
        float[] g0 = TestData.uniform(3, n, 1);
        float[][][] results = new float[2][][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor ta = arena.of(a, n), tb = arena.of(b, n);
                Tensor add = arena.allocate(DType.F32, n), mul = arena.allocate(DType.F32, n);
                Tensor scale = arena.allocate(DType.F32, n), y = arena.of(g0, n), dA = arena.of(g0, n);
                Tensor bf = arena.allocate(DType.BF16, n), back = arena.allocate(DType.F32, n);
                be.add(ta, tb, add);
                be.mul(ta, tb, mul);
                be.scale(ta, 0.3f, scale);
                be.axpy(-1.7f, ta, y);
                be.mulBackward(ta, tb, ta, dA, null);
                be.copy(ta, bf);
                be.copy(bf, back);
                results[threads - 1] = new float[][] {
                    add.toFloatArray(), mul.toFloatArray(), scale.toFloatArray(), y.toFloatArray(),
                    dA.toFloatArray(), back.toFloatArray()};
            }
        }
        for (int k = 0; k < results[0].length; k++) {
            assertArrayEquals(results[0][k], results[1][k], "result " + k);
        }
    }

    // ---------------------------------------------------------------- references and helpers

    static double[] add(double[] a, double[] b) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i] + b[i];
        }
        return o;
    }

    static double[] mul(double[] a, double[] b) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i] * b[i];
        }
        return o;
    }

    static double[] scale(double[] a, double s) {
        double[] o = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            o[i] = a[i] * s;
        }
        return o;
    }

    /** {@code actual} must be {@code init + numeric}, within 1e-4 of the gradient's largest entry. */
    static void assertAccumulated(String what, float[] init, double[] numeric, float[] actual) {
        double scale = 0;
        double[] expected = new double[numeric.length];
        for (int i = 0; i < numeric.length; i++) {
            scale = Math.max(scale, Math.abs(numeric[i]));
            expected[i] = init[i] + numeric[i];
        }
        Approx.assertClose(what, expected, actual, 0, 1e-4 * scale + 1e-6);
    }

    static void assertMessage(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(p),
                    "message should contain '" + p + "': " + e.getMessage());
        }
    }

    static short[] rawBf16(Tensor t) {
        return t.segment().toArray(ValueLayout.JAVA_SHORT_UNALIGNED);
    }

    static int numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return Math.toIntExact(n);
    }
}
