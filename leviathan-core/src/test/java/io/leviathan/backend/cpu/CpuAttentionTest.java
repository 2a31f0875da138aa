package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.TestData.bits;
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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The flash-attention style kernel ({@link CpuAttention}: out and lse forward, recomputing backward) against a
 * naive double-precision reference, its finite differences, and the probabilities-saving kernel it replaced
 * ({@link ProbsAttentionControl}). Sequence lengths and head sizes are chosen to not be multiples of the
 * vector length or of {@link CpuAttention#TILE}.
 */
@ExtendWith(NativeMemoryCheck.class)
class CpuAttentionTest {

    /**
     * Naive causal attention in double: returns out [B,T,H,Dh]; if {@code lse != null} fills it [B,H,T] with
     * each query row's log sum_j exp(s_ij).
     */
    static double[] reference(double[] q, double[] k, double[] v, int B, int T, int H, int Dh, double[] lse) {
        double[] out = new double[B * T * H * Dh];
        double scale = 1.0 / Math.sqrt(Dh);
        double[] p = new double[T];
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int t = 0; t < T; t++) {
                    double max = Double.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        double dot = 0;
                        for (int d = 0; d < Dh; d++) {
                            dot += q[idx(b, t, h, d, T, H, Dh)] * k[idx(b, s, h, d, T, H, Dh)];
                        }
                        p[s] = dot * scale;
                        max = Math.max(max, p[s]);
                    }
                    double sum = 0;
                    for (int s = 0; s <= t; s++) {
                        p[s] = Math.exp(p[s] - max);
                        sum += p[s];
                    }
                    for (int s = 0; s <= t; s++) {
                        for (int d = 0; d < Dh; d++) {
                            out[idx(b, t, h, d, T, H, Dh)] += p[s] / sum * v[idx(b, s, h, d, T, H, Dh)];
                        }
                    }
                    if (lse != null) {
                        lse[(b * H + h) * T + t] = max + Math.log(sum);
                    }
                }
            }
        }
        return out;
    }

    @Test
    void referenceLseIsTheLogOfTheSoftmaxDenominator() {
        // a guard on the reference itself: for T = 1 the only score is q.k / sqrt(Dh), so lse equals it
        double[] q = {1, 2}, k = {3, -1}, v = {0.5, 0.25}, lse = new double[1];
        double[] out = reference(q, k, v, 1, 1, 1, 2, lse);
        assertEquals((3 - 2) / Math.sqrt(2), lse[0], 1e-15);
        assertArrayEquals(v, out, 1e-15);
    }

    private static int idx(int b, int t, int h, int d, int T, int H, int Dh) {
        return ((b * T + t) * H + h) * Dh + d;
    }

    /** Seeded inputs for one shape: q is wider than k so that softmax rows are peaked, not flat. */
    private record Inputs(float[] q, float[] k, float[] v, float[] dOut) {
        static Inputs random(long seed, int n) {
            return new Inputs(TestData.normal(seed, n, 1.5), TestData.normal(seed + 1, n, 1.0),
                    TestData.normal(seed + 2, n, 1.0), TestData.uniform(seed + 3, n, 1.0));
        }

        Inputs roundedToBf16() {
            return new Inputs(bf16(q), bf16(k), bf16(v), bf16(dOut));
        }
    }

    // ---------------------------------------------------------------- forward

    @Test
    void forwardMatchesReference() {
        for (int T : new int[] {1, 7, 33, 130}) {
            for (int Dh : new int[] {8, 24, 64}) {
                checkForward(2, T, 3, Dh);
            }
        }
        checkForward(3, 65, 2, 40);
    }

    private void checkForward(int B, int T, int H, int Dh) {
        String what = "attention B=" + B + " T=" + T + " H=" + H + " Dh=" + Dh;
        int n = B * T * H * Dh;
        Inputs in = Inputs.random(T * 100 + Dh, n);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor out = arena.of(TestData.uniform(9, n, 5.0), B, T, H, Dh); // garbage: forward overwrites
            Tensor lse = arena.of(TestData.uniform(8, B * H * T, 5.0), B, H, T);
            be.attention(arena.of(in.q, B, T, H, Dh), arena.of(in.k, B, T, H, Dh), arena.of(in.v, B, T, H, Dh), out, lse);
            double[] refLse = new double[B * H * T];
            double[] ref = reference(d(in.q), d(in.k), d(in.v), B, T, H, Dh, refLse);
            Approx.assertClose(what + " out", ref, out.toFloatArray(), 1e-5, 1e-6);
            Approx.assertClose(what + " lse", refLse, lse.toFloatArray(), 1e-6, 1e-6);
        }
    }

    // ---------------------------------------------------------------- backward

    @Test
    void backwardMatchesFiniteDifferencesAndAccumulates() {
        int[][] shapes = {{1, 1, 1, 8}, {2, 7, 3, 8}, {2, 7, 2, 24}, {2, 33, 2, 8}, {1, 130, 1, 8}, {1, 20, 2, 64}};
        for (int[] s : shapes) {
            checkBackwardNumeric(s[0], s[1], s[2], s[3]);
        }
    }

    private void checkBackwardNumeric(int B, int T, int H, int Dh) {
        String what = "attentionBackward B=" + B + " T=" + T + " H=" + H + " Dh=" + Dh;
        int n = B * T * H * Dh;
        Inputs in = Inputs.random(11 + T, n);
        float[] g0q = TestData.uniform(15, n, 0.5), g0k = TestData.uniform(16, n, 0.5), g0v = TestData.uniform(17, n, 0.5);
        double[] qd = d(in.q), kd = d(in.k), vd = d(in.v), rd = d(in.dOut);
        double[] numQ = GradCheck.numeric(x -> reference(x, kd, vd, B, T, H, Dh, null), qd, rd);
        double[] numK = GradCheck.numeric(x -> reference(qd, x, vd, B, T, H, Dh, null), kd, rd);
        double[] numV = GradCheck.numeric(x -> reference(qd, kd, x, B, T, H, Dh, null), vd, rd);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor qt = arena.of(in.q, B, T, H, Dh), kt = arena.of(in.k, B, T, H, Dh), vt = arena.of(in.v, B, T, H, Dh);
            Tensor out = arena.allocate(DType.F32, B, T, H, Dh), lse = arena.allocate(DType.F32, B, H, T);
            be.attention(qt, kt, vt, out, lse);
            // gradients pre-filled with random values: the backward must add to them
            Tensor dQ = arena.of(g0q, B, T, H, Dh), dK = arena.of(g0k, B, T, H, Dh), dV = arena.of(g0v, B, T, H, Dh);
            be.attentionBackward(arena.of(in.dOut, B, T, H, Dh), qt, kt, vt, out, lse, dQ, dK, dV);
            Approx.assertClose(what + " dQ", plus(g0q, numQ), dQ.toFloatArray(), 1e-4, 1e-6);
            Approx.assertClose(what + " dK", plus(g0k, numK), dK.toFloatArray(), 1e-4, 1e-6);
            Approx.assertClose(what + " dV", plus(g0v, numV), dV.toFloatArray(), 1e-4, 1e-6);
        }
    }

    @Test
    void forwardAndBackwardMatchTheProbabilitiesControl() {
        int[][] shapes = {{2, 130, 3, 64}, {1, 200, 2, 24}, {3, 33, 2, 8}, {2, 70, 2, 40}};
        for (int[] s : shapes) {
            checkAgainstControl(s[0], s[1], s[2], s[3]);
        }
    }

    /** The new kernel against the old one: same out, and the same gradients added to random pre-filled ones. */
    private void checkAgainstControl(int B, int T, int H, int Dh) {
        String what = "B=" + B + " T=" + T + " H=" + H + " Dh=" + Dh;
        int n = B * T * H * Dh;
        Inputs in = Inputs.random(31 + T, n);
        float[] g0q = TestData.uniform(35, n, 0.5), g0k = TestData.uniform(36, n, 0.5), g0v = TestData.uniform(37, n, 0.5);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2); Parallel par = new Parallel(2)) {
            Tensor q = arena.of(in.q, B, T, H, Dh), k = arena.of(in.k, B, T, H, Dh), v = arena.of(in.v, B, T, H, Dh);
            Tensor dOut = arena.of(in.dOut, B, T, H, Dh);

            Tensor out = arena.allocate(DType.F32, B, T, H, Dh), lse = arena.allocate(DType.F32, B, H, T);
            be.attention(q, k, v, out, lse);
            Tensor dQ = arena.of(g0q, B, T, H, Dh), dK = arena.of(g0k, B, T, H, Dh), dV = arena.of(g0v, B, T, H, Dh);
            be.attentionBackward(dOut, q, k, v, out, lse, dQ, dK, dV);

            Tensor cOut = arena.allocate(DType.F32, B, T, H, Dh), probs = arena.allocate(DType.F32, B, H, T, T);
            ProbsAttentionControl.attention(par, q, k, v, cOut, probs);
            Tensor cdQ = arena.of(g0q, B, T, H, Dh), cdK = arena.of(g0k, B, T, H, Dh), cdV = arena.of(g0v, B, T, H, Dh);
            ProbsAttentionControl.attentionBackward(par, dOut, q, k, v, probs, cdQ, cdK, cdV);

            Approx.assertClose(what + " out", cOut.toFloatArray(), out.toFloatArray(), 1e-5, 1e-6);
            Approx.assertClose(what + " dQ", cdQ.toFloatArray(), dQ.toFloatArray(), 1e-5, 1e-6);
            Approx.assertClose(what + " dK", cdK.toFloatArray(), dK.toFloatArray(), 1e-5, 1e-6);
            Approx.assertClose(what + " dV", cdV.toFloatArray(), dV.toFloatArray(), 1e-5, 1e-6);
        }
    }

    static double[] plus(float[] a, double[] b) {
        double[] s = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = a[i] + b[i];
        }
        return s;
    }

    // ---------------------------------------------------------------- BF16

    /**
     * BF16 q, k, v (and out, dOut): the arithmetic is F32 on the widened values, so out must be exactly the
     * F32 kernel's out on those values rounded to nearest even, lse and the gradients bit-identical to the
     * F32 kernel's. Against the double reference on the rounded inputs, out may differ by its own rounding
     * (at most 2^-9 of an element) plus F32 error: tolerance 4e-3 of max|out|.
     */
    @Test
    void bf16InputsComputeInF32AndRoundOut() {
        int[][] shapes = {{2, 130, 3, 64}, {2, 33, 2, 24}, {1, 7, 2, 8}};
        for (int[] s : shapes) {
            checkBf16(s[0], s[1], s[2], s[3]);
        }
    }

    private void checkBf16(int B, int T, int H, int Dh) {
        String what = "bf16 B=" + B + " T=" + T + " H=" + H + " Dh=" + Dh;
        int n = B * T * H * Dh;
        Inputs in = Inputs.random(51 + T, n).roundedToBf16(); // values a BF16 tensor holds exactly
        float[] g0 = TestData.uniform(55, n, 0.5);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor q = bf16Tensor(arena, in.q, B, T, H, Dh), k = bf16Tensor(arena, in.k, B, T, H, Dh);
            Tensor v = bf16Tensor(arena, in.v, B, T, H, Dh), dOut = bf16Tensor(arena, in.dOut, B, T, H, Dh);
            Tensor out = arena.allocate(DType.BF16, B, T, H, Dh), lse = arena.allocate(DType.F32, B, H, T);
            be.attention(q, k, v, out, lse);
            Tensor dQ = arena.of(g0, B, T, H, Dh), dK = arena.of(g0, B, T, H, Dh), dV = arena.of(g0, B, T, H, Dh);
            be.attentionBackward(dOut, q, k, v, out, lse, dQ, dK, dV);

            // the same values in F32 tensors
            Tensor q32 = arena.of(in.q, B, T, H, Dh), k32 = arena.of(in.k, B, T, H, Dh), v32 = arena.of(in.v, B, T, H, Dh);
            Tensor out32 = arena.allocate(DType.F32, B, T, H, Dh), lse32 = arena.allocate(DType.F32, B, H, T);
            be.attention(q32, k32, v32, out32, lse32);
            float[] expectedOut = bf16(out32.toFloatArray());
            assertArrayEquals(bits(expectedOut), bits(out.toFloatArray()), what + ": out is the F32 result rounded to nearest even");
            assertArrayEquals(bits(lse32.toFloatArray()), bits(lse.toFloatArray()), what + ": lse as in F32");

            Tensor outWidened = arena.of(out.toFloatArray(), B, T, H, Dh);
            Tensor dQ32 = arena.of(g0, B, T, H, Dh), dK32 = arena.of(g0, B, T, H, Dh), dV32 = arena.of(g0, B, T, H, Dh);
            be.attentionBackward(arena.of(in.dOut, B, T, H, Dh), q32, k32, v32, outWidened, lse32, dQ32, dK32, dV32);
            assertArrayEquals(bits(dQ32.toFloatArray()), bits(dQ.toFloatArray()), what + ": dQ as in F32");
            assertArrayEquals(bits(dK32.toFloatArray()), bits(dK.toFloatArray()), what + ": dK as in F32");
            assertArrayEquals(bits(dV32.toFloatArray()), bits(dV.toFloatArray()), what + ": dV as in F32");

            double[] refLse = new double[B * H * T];
            double[] ref = reference(d(in.q), d(in.k), d(in.v), B, T, H, Dh, refLse);
            Approx.assertClose(what + " out vs reference", ref, out.toFloatArray(), 4e-3, 0);
            Approx.assertClose(what + " lse vs reference", refLse, lse.toFloatArray(), 1e-6, 1e-6);
        }
    }

    @Test
    void f32InputsWithBf16GradientOfOutput() {
        int B = 2, T = 70, H = 2, Dh = 24, n = B * T * H * Dh;
        Inputs in = Inputs.random(61, n);
        float[] dOutRounded = bf16(in.dOut);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor q = arena.of(in.q, B, T, H, Dh), k = arena.of(in.k, B, T, H, Dh), v = arena.of(in.v, B, T, H, Dh);
            Tensor out = arena.allocate(DType.F32, B, T, H, Dh), lse = arena.allocate(DType.F32, B, H, T);
            be.attention(q, k, v, out, lse);
            Tensor[] bf = {arena.allocate(DType.F32, B, T, H, Dh), arena.allocate(DType.F32, B, T, H, Dh), arena.allocate(DType.F32, B, T, H, Dh)};
            Tensor[] f32 = {arena.allocate(DType.F32, B, T, H, Dh), arena.allocate(DType.F32, B, T, H, Dh), arena.allocate(DType.F32, B, T, H, Dh)};
            be.attentionBackward(bf16Tensor(arena, dOutRounded, B, T, H, Dh), q, k, v, out, lse, bf[0], bf[1], bf[2]);
            be.attentionBackward(arena.of(dOutRounded, B, T, H, Dh), q, k, v, out, lse, f32[0], f32[1], f32[2]);
            for (int i = 0; i < 3; i++) {
                assertArrayEquals(bits(f32[i].toFloatArray()), bits(bf[i].toFloatArray()), "gradient " + i);
            }
        }
    }

    // ---------------------------------------------------------------- determinism

    @Test
    void resultsDoNotDependOnTheThreadCount() {
        int B = 2, T = 130, H = 5, Dh = 24, n = B * T * H * Dh; // 10 (batch, head) pairs: uneven over 3 threads
        Inputs in = Inputs.random(71, n);
        int[][] first = null;
        for (int threads = 1; threads <= 3; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor q = arena.of(in.q, B, T, H, Dh), k = arena.of(in.k, B, T, H, Dh), v = arena.of(in.v, B, T, H, Dh);
                Tensor out = arena.allocate(DType.F32, B, T, H, Dh), lse = arena.allocate(DType.F32, B, H, T);
                be.attention(q, k, v, out, lse);
                Tensor dQ = arena.allocate(DType.F32, B, T, H, Dh), dK = arena.allocate(DType.F32, B, T, H, Dh);
                Tensor dV = arena.allocate(DType.F32, B, T, H, Dh);
                be.attentionBackward(arena.of(in.dOut, B, T, H, Dh), q, k, v, out, lse, dQ, dK, dV);
                int[][] result = {bits(out.toFloatArray()), bits(lse.toFloatArray()), bits(dQ.toFloatArray()),
                        bits(dK.toFloatArray()), bits(dV.toFloatArray())};
                if (first == null) {
                    first = result;
                } else {
                    String[] names = {"out", "lse", "dQ", "dK", "dV"};
                    for (int i = 0; i < names.length; i++) {
                        assertArrayEquals(first[i], result[i], names[i] + ": 1 thread vs " + threads + " threads");
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------- argument checks

    @Test
    void badShapesNameTheOperationAndEveryShape() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor q = arena.allocate(DType.F32, 1, 4, 2, 8), k = arena.allocate(DType.F32, 1, 5, 2, 8);
            Tensor v = arena.allocate(DType.F32, 1, 4, 2, 8), out = arena.allocate(DType.F32, 1, 4, 2, 8);
            Tensor lse = arena.allocate(DType.F32, 1, 2, 4);
            var e = assertThrows(ShapeMismatchException.class, () -> be.attention(q, k, v, out, lse));
            assertTrue(e.getMessage().contains("attention") && e.getMessage().contains("k[1, 5, 2, 8]")
                    && e.getMessage().contains("q[1, 4, 2, 8]"), e.getMessage());

            Tensor badLse = arena.allocate(DType.F32, 1, 4, 2);
            e = assertThrows(ShapeMismatchException.class, () -> be.attention(q, v, v, out, badLse));
            assertTrue(e.getMessage().startsWith("attention: lse") && e.getMessage().contains("[1, 2, 4]")
                    && e.getMessage().contains("[1, 4, 2]") && e.getMessage().contains("[1, 4, 2, 8]"), e.getMessage());

            Tensor flat = arena.allocate(DType.F32, 4, 16);
            e = assertThrows(ShapeMismatchException.class, () -> be.attention(flat, flat, flat, flat, lse));
            assertTrue(e.getMessage().startsWith("attention:") && e.getMessage().contains("[4, 16]"), e.getMessage());

            Tensor dQ = arena.allocate(DType.F32, 1, 4, 2, 7);
            e = assertThrows(ShapeMismatchException.class,
                    () -> be.attentionBackward(out, q, v, v, out, lse, dQ, out, out));
            assertTrue(e.getMessage().startsWith("attentionBackward:") && e.getMessage().contains("dQ[1, 4, 2, 7]")
                    && e.getMessage().contains("q[1, 4, 2, 8]"), e.getMessage());

            e = assertThrows(ShapeMismatchException.class,
                    () -> be.attentionBackward(out, q, v, v, out, badLse, q, v, v));
            assertTrue(e.getMessage().startsWith("attentionBackward: lse") && e.getMessage().contains("[1, 4, 2]"),
                    e.getMessage());
        }
    }

    @Test
    void badDtypesNameTheOperationAndTheTensor() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor q = arena.allocate(DType.F32, 1, 4, 2, 8), out = arena.allocate(DType.F32, 1, 4, 2, 8);
            Tensor lse = arena.allocate(DType.F32, 1, 2, 4);
            Tensor ints = arena.allocate(DType.I32, 1, 4, 2, 8), half = arena.allocate(DType.BF16, 1, 4, 2, 8);

            var e = assertThrows(IllegalArgumentException.class, () -> be.attention(ints, q, q, out, lse));
            assertTrue(e.getMessage().startsWith("attention: q must be F32 or BF16"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> be.attention(q, half, q, out, lse));
            assertTrue(e.getMessage().startsWith("attention: k") && e.getMessage().contains("BF16")
                    && e.getMessage().contains("F32"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> be.attention(half, half, half, out, lse));
            assertTrue(e.getMessage().startsWith("attention: out"), e.getMessage());

            Tensor halfLse = arena.allocate(DType.BF16, 1, 2, 4);
            e = assertThrows(IllegalArgumentException.class, () -> be.attention(q, q, q, out, halfLse));
            assertTrue(e.getMessage().startsWith("attention: lse must be F32"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class,
                    () -> be.attentionBackward(ints, q, q, q, out, lse, q, q, q));
            assertTrue(e.getMessage().startsWith("attentionBackward: dOut must be F32 or BF16"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class,
                    () -> be.attentionBackward(q, q, q, q, out, lse, half, q, q));
            assertTrue(e.getMessage().startsWith("attentionBackward: dQ must be F32"), e.getMessage());
        }
    }

    @Test
    void closedArenaThrows() {
        try (CpuBackend be = new CpuBackend(2)) {
            TensorArena arena = new TensorArena();
            Tensor q = arena.allocate(DType.F32, 1, 3, 1, 4), lse = arena.allocate(DType.F32, 1, 1, 3);
            arena.close();
            assertThrows(TensorClosedException.class, () -> be.attention(q, q, q, q, lse));
            assertThrows(TensorClosedException.class, () -> be.attentionBackward(q, q, q, q, q, lse, q, q, q));
        }
    }

    // ---------------------------------------------------------------- helpers

    private static double[] d(float[] x) {
        return TestData.toDouble(x);
    }

    /** Each value rounded to BF16 (nearest even) and widened back. */
    private static float[] bf16(float[] x) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = Bf16.toFloat(Bf16.fromFloat(x[i]));
        }
        return r;
    }

    private static Tensor bf16Tensor(TensorArena arena, float[] x, long... shape) {
        return arena.allocate(DType.BF16, shape).copyFrom(x);
    }

}
