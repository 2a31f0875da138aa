package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuAttentionTest {

    /** Naive causal attention in double: returns out [B,T,H,Dh] and, if probs != null, fills probs [B,H,T,T]. */
    static double[] reference(double[] q, double[] k, double[] v, int B, int T, int H, int Dh, double[] probs) {
        double[] out = new double[B * T * H * Dh];
        double scale = 1.0 / Math.sqrt(Dh);
        for (int b = 0; b < B; b++) {
            for (int h = 0; h < H; h++) {
                for (int t = 0; t < T; t++) {
                    double[] p = new double[T];
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
                        p[s] /= sum;
                        for (int d = 0; d < Dh; d++) {
                            out[idx(b, t, h, d, T, H, Dh)] += p[s] * v[idx(b, s, h, d, T, H, Dh)];
                        }
                    }
                    if (probs != null) {
                        System.arraycopy(p, 0, probs, ((b * H + h) * T + t) * T, T);
                    }
                }
            }
        }
        return out;
    }

    private static int idx(int b, int t, int h, int d, int T, int H, int Dh) {
        return ((b * T + t) * H + h) * Dh + d;
    }

    @Test
    void forwardMatchesReference() {
        for (int B : new int[] {1, 2}) {
            for (int T : new int[] {1, 7, 20}) {
                for (int H : new int[] {1, 3}) {
                    for (int Dh : new int[] {5, 16, 24}) {
                        checkForward(B, T, H, Dh, 2);
                    }
                }
            }
        }
    }

    @Test
    void forwardLongSequenceWideHead() {
        checkForward(1, 65, 2, 40, 2);
        checkForward(2, 33, 4, 64, 1);
    }

    private void checkForward(int B, int T, int H, int Dh, int threads) {
        String what = "attention B=" + B + " T=" + T + " H=" + H + " Dh=" + Dh;
        int n = B * T * H * Dh;
        float[] q = TestData.normal(1 + T, n, 1.0), k = TestData.normal(2 + H, n, 1.0), v = TestData.normal(3 + Dh, n, 1.0);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
            Tensor out = arena.of(TestData.uniform(9, n, 5.0), B, T, H, Dh); // garbage: forward overwrites
            Tensor probs = arena.of(TestData.uniform(8, B * H * T * T, 5.0), B, H, T, T);
            be.attention(arena.of(q, B, T, H, Dh), arena.of(k, B, T, H, Dh), arena.of(v, B, T, H, Dh), out, probs);
            double[] refProbs = new double[B * H * T * T];
            double[] ref = reference(TestData.toDouble(q), TestData.toDouble(k), TestData.toDouble(v), B, T, H, Dh, refProbs);
            Approx.assertClose(what + " out", ref, out.toFloatArray(), 1e-5, 1e-6);
            Approx.assertClose(what + " probs", refProbs, probs.toFloatArray(), 1e-5, 1e-7);
            float[] p = probs.toFloatArray();
            for (int r = 0; r < B * H * T; r++) {
                int t = r % T;
                for (int s = t + 1; s < T; s++) {
                    assertEquals(0f, p[r * T + s], what + ": probability above the diagonal");
                }
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferencesAndAccumulates() {
        int[][] shapes = {{1, 1, 1, 5}, {1, 7, 3, 5}, {2, 7, 1, 16}, {1, 20, 1, 24}, {2, 7, 3, 24}, {1, 20, 3, 5}};
        for (int[] s : shapes) {
            checkBackward(s[0], s[1], s[2], s[3]);
        }
    }

    private void checkBackward(int B, int T, int H, int Dh) {
        String what = "attentionBackward B=" + B + " T=" + T + " H=" + H + " Dh=" + Dh;
        int n = B * T * H * Dh;
        float[] q = TestData.normal(11, n, 1.0), k = TestData.normal(12, n, 1.0), v = TestData.normal(13, n, 1.0);
        float[] r = TestData.uniform(14, n, 1.0);
        float[] g0q = TestData.uniform(15, n, 0.5), g0k = TestData.uniform(16, n, 0.5), g0v = TestData.uniform(17, n, 0.5);
        double[] qd = TestData.toDouble(q), kd = TestData.toDouble(k), vd = TestData.toDouble(v), rd = TestData.toDouble(r);
        double[] numQ = GradCheck.numeric(x -> reference(x, kd, vd, B, T, H, Dh, null), qd, rd);
        double[] numK = GradCheck.numeric(x -> reference(qd, x, vd, B, T, H, Dh, null), kd, rd);
        double[] numV = GradCheck.numeric(x -> reference(qd, kd, x, B, T, H, Dh, null), vd, rd);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor qt = arena.of(q, B, T, H, Dh), kt = arena.of(k, B, T, H, Dh), vt = arena.of(v, B, T, H, Dh);
            Tensor out = arena.allocate(DType.F32, B, T, H, Dh), probs = arena.allocate(DType.F32, B, H, T, T);
            be.attention(qt, kt, vt, out, probs);
            Tensor dQ = arena.of(g0q, B, T, H, Dh), dK = arena.of(g0k, B, T, H, Dh), dV = arena.of(g0v, B, T, H, Dh);
            be.attentionBackward(arena.of(r, B, T, H, Dh), qt, kt, vt, probs, dQ, dK, dV);
            Approx.assertClose(what + " dQ", plus(g0q, numQ), dQ.toFloatArray(), 1e-4, 1e-6);
            Approx.assertClose(what + " dK", plus(g0k, numK), dK.toFloatArray(), 1e-4, 1e-6);
            Approx.assertClose(what + " dV", plus(g0v, numV), dV.toFloatArray(), 1e-4, 1e-6);
        }
    }

    static double[] plus(float[] a, double[] b) {
        double[] s = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            s[i] = a[i] + b[i];
        }
        return s;
    }

    @Test
    void oneAndTwoThreadsAgree() {
        int B = 2, T = 20, H = 3, Dh = 24, n = B * T * H * Dh;
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor q = arena.of(TestData.normal(21, n, 1.0), B, T, H, Dh);
                Tensor k = arena.of(TestData.normal(22, n, 1.0), B, T, H, Dh);
                Tensor v = arena.of(TestData.normal(23, n, 1.0), B, T, H, Dh);
                Tensor out = arena.allocate(DType.F32, B, T, H, Dh), probs = arena.allocate(DType.F32, B, H, T, T);
                be.attention(q, k, v, out, probs);
                Tensor dQ = arena.allocate(DType.F32, B, T, H, Dh), dK = arena.allocate(DType.F32, B, T, H, Dh);
                Tensor dV = arena.allocate(DType.F32, B, T, H, Dh);
                be.attentionBackward(arena.of(TestData.uniform(24, n, 1.0), B, T, H, Dh), q, k, v, probs, dQ, dK, dV);
                results[threads - 1] = concat(out.toFloatArray(), probs.toFloatArray(), dQ.toFloatArray(),
                        dK.toFloatArray(), dV.toFloatArray());
            }
        }
        // not bitwise: the Vector API may reduce lanes in another order once a loop is JIT-compiled
        Approx.assertClose("1 vs 2 threads", results[0], results[1], 1e-6, 0);
    }

    private static float[] concat(float[]... parts) {
        int n = 0;
        for (float[] p : parts) {
            n += p.length;
        }
        float[] all = new float[n];
        int at = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    @Test
    void shapeMismatchesNameEveryShape() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor q = arena.allocate(DType.F32, 1, 4, 2, 8), k = arena.allocate(DType.F32, 1, 5, 2, 8);
            Tensor v = arena.allocate(DType.F32, 1, 4, 2, 8), out = arena.allocate(DType.F32, 1, 4, 2, 8);
            Tensor probs = arena.allocate(DType.F32, 1, 2, 4, 4);
            var e = assertThrows(ShapeMismatchException.class, () -> be.attention(q, k, v, out, probs));
            assertTrue(e.getMessage().contains("attention") && e.getMessage().contains("[1, 5, 2, 8]")
                    && e.getMessage().contains("[1, 4, 2, 8]"), e.getMessage());

            Tensor badProbs = arena.allocate(DType.F32, 1, 4, 4, 2);
            e = assertThrows(ShapeMismatchException.class, () -> be.attention(q, v, v, out, badProbs));
            assertTrue(e.getMessage().contains("probs") && e.getMessage().contains("[1, 2, 4, 4]")
                    && e.getMessage().contains("[1, 4, 4, 2]"), e.getMessage());

            Tensor flat = arena.allocate(DType.F32, 4, 16);
            e = assertThrows(ShapeMismatchException.class, () -> be.attention(flat, flat, flat, flat, probs));
            assertTrue(e.getMessage().contains("[4, 16]"), e.getMessage());

            Tensor dQ = arena.allocate(DType.F32, 1, 4, 2, 7);
            e = assertThrows(ShapeMismatchException.class,
                    () -> be.attentionBackward(out, q, v, v, probs, dQ, out, out));
            assertTrue(e.getMessage().contains("attentionBackward") && e.getMessage().contains("dQ[1, 4, 2, 7]"),
                    e.getMessage());

            Tensor ints = arena.allocate(DType.I32, 1, 4, 2, 8);
            assertThrows(IllegalArgumentException.class, () -> be.attention(ints, v, v, out, probs));
        }
    }

    @Test
    void closedArenaThrows() {
        try (CpuBackend be = new CpuBackend(2)) {
            TensorArena arena = new TensorArena();
            Tensor q = arena.allocate(DType.F32, 1, 3, 1, 4), probs = arena.allocate(DType.F32, 1, 1, 3, 3);
            arena.close();
            assertThrows(TensorClosedException.class, () -> be.attention(q, q, q, q, probs));
            assertThrows(TensorClosedException.class, () -> be.attentionBackward(q, q, q, q, probs, q, q, q));
        }
    }
}
