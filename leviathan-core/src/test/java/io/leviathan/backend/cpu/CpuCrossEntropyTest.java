package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
class CpuCrossEntropyTest {
    private static final int IGNORE = -100;

    /** Per-position losses in double, 0 where ignored. */
    static double[] referenceLosses(double[] logits, int[] targets, int V, int ignore) {
        double[] losses = new double[targets.length];
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] == ignore) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < V; j++) {
                max = Math.max(max, logits[r * V + j]);
            }
            double sum = 0;
            for (int j = 0; j < V; j++) {
                sum += Math.exp(logits[r * V + j] - max);
            }
            losses[r] = Math.log(sum) + max - logits[r * V + targets[r]];
        }
        return losses;
    }

    /** The mean loss over the counted positions, 0 when none. */
    static double referenceMean(double[] logits, int[] targets, int V, int ignore) {
        double[] l = referenceLosses(logits, targets, V, ignore);
        double sum = 0;
        int counted = 0;
        for (int r = 0; r < targets.length; r++) {
            if (targets[r] != ignore) {
                sum += l[r];
                counted++;
            }
        }
        return counted == 0 ? 0 : sum / counted;
    }

    /** Random targets in [0, V) with every third position ignored. */
    private static int[] targets(long seed, int n, int V, int ignore) {
        int[] t = TestData.ints(seed, n, V);
        for (int i = 1; i < n; i += 3) {
            t[i] = ignore;
        }
        return t;
    }

    @Test
    void lossAndGradientMatchReference() {
        for (int V : new int[] {1, 5, 16, 37, 100}) {
            for (int n : new int[] {1, 7, 20}) {
                check(new long[] {n, V}, n, V, IGNORE, 1.0f);
            }
        }
        check(new long[] {2, 7, 37}, 14, 37, IGNORE, 0.25f); // [B, T, V] logits, gradScale
        check(new long[] {3, 50}, 3, 50, 7, 3.0f);          // an ignore index that is also a valid class
    }

    private void check(long[] shape, int n, int V, int ignore, float gradScale) {
        String what = "crossEntropy n=" + n + " V=" + V + " ignore=" + ignore + " gradScale=" + gradScale;
        float[] logits = TestData.normal(n * 31L + V, n * V, 3.0);
        int[] tg = targets(n + V, n, V, ignore);
        if (ignore >= 0) {
            tg[0] = ignore;
            tg[n - 1] = (ignore + 1) % V;
        }
        double[] ld = TestData.toDouble(logits);
        double[] refLosses = referenceLosses(ld, tg, V, ignore);
        double refMean = referenceMean(ld, tg, V, ignore);
        double[] num = GradCheck.numeric(x -> new double[] {referenceMean(x, tg, V, ignore)}, ld,
                new double[] {gradScale}, 1e-5);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor losses = arena.of(TestData.uniform(1, n, 9.0), n); // garbage: overwritten
            Tensor dLogits = arena.of(TestData.uniform(2, n * V, 9.0), shape);
            double loss = be.crossEntropy(arena.of(logits, shape), arena.ofInts(tg, n), ignore, losses, dLogits, gradScale);
            assertEquals(refMean, loss, 1e-5 * Math.max(1, Math.abs(refMean)), what + " mean loss");
            Approx.assertClose(what + " losses", refLosses, losses.toFloatArray(), 1e-5, 1e-6);
            Approx.assertClose(what + " dLogits", num, dLogits.toFloatArray(), 1e-4, 1e-7);
            float[] g = dLogits.toFloatArray();
            for (int r = 0; r < n; r++) {
                if (tg[r] == ignore) {
                    for (int j = 0; j < V; j++) {
                        assertEquals(0f, g[r * V + j], what + ": ignored row " + r);
                    }
                }
            }
            // the optional outputs may be left out
            assertEquals(loss, be.crossEntropy(arena.of(logits, shape), arena.ofInts(tg, n), ignore, null, null, 1f),
                    1e-6 * Math.abs(loss));
        }
    }

    @Test
    void targetsMayHaveLogitsRowShape() {
        int B = 2, T = 3, V = 20;
        float[] logits = TestData.normal(5, B * T * V, 2.0);
        int[] tg = TestData.ints(6, B * T, V);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor losses = arena.allocate(DType.F32, B, T);
            double loss = be.crossEntropy(arena.of(logits, B, T, V), arena.ofInts(tg, B, T), IGNORE, losses, null, 1f);
            assertEquals(referenceMean(TestData.toDouble(logits), tg, V, IGNORE), loss, 1e-5);
            Approx.assertClose("losses [B, T]", referenceLosses(TestData.toDouble(logits), tg, V, IGNORE),
                    losses.toFloatArray(), 1e-5, 1e-6);
        }
    }

    @Test
    void gradientMayOverwriteLogitsInPlace() {
        int n = 9, V = 37;
        float[] logits = TestData.normal(80, n * V, 2.0);
        int[] tg = targets(81, n, V, IGNORE);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor dLogits = arena.allocate(DType.F32, n, V);
            double loss = be.crossEntropy(arena.of(logits, n, V), arena.ofInts(tg, n), IGNORE, null, dLogits, 0.5f);
            Tensor inPlace = arena.of(logits, n, V);
            double lossInPlace = be.crossEntropy(inPlace, arena.ofInts(tg, n), IGNORE, null, inPlace, 0.5f);
            assertEquals(loss, lossInPlace, 1e-6 * loss);
            Approx.assertClose("in-place dLogits", dLogits.toFloatArray(), inPlace.toFloatArray(), 1e-6, 0);
        }
    }

    @Test
    void everyPositionIgnoredGivesZero() {
        int n = 4, V = 9;
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor losses = arena.of(TestData.uniform(3, n, 1.0), n);
            Tensor dLogits = arena.of(TestData.uniform(4, n * V, 1.0), n, V);
            double loss = be.crossEntropy(arena.of(TestData.normal(5, n * V, 1.0), n, V),
                    arena.ofInts(new int[] {IGNORE, IGNORE, IGNORE, IGNORE}, n), IGNORE, losses, dLogits, 1f);
            assertEquals(0.0, loss);
            assertArrayEquals(new float[n], losses.toFloatArray());
            assertArrayEquals(new float[n * V], dLogits.toFloatArray());
        }
    }

    @Test
    void largeLogitsStayFinite() {
        // max-subtraction: exp(1000) would overflow
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor dLogits = arena.allocate(DType.F32, 1, 3);
            double loss = be.crossEntropy(arena.of(new float[] {1000f, 999f, 998f}, 1, 3), arena.ofInts(new int[] {1}, 1),
                    IGNORE, null, dLogits, 1f);
            double lse = 1000 + Math.log(1 + Math.exp(-1) + Math.exp(-2));
            assertEquals(lse - 999, loss, 1e-4);
            float[] g = dLogits.toFloatArray();
            assertTrue(Float.isFinite(g[0]) && Float.isFinite(g[1]) && Float.isFinite(g[2]));
        }
    }

    /**
     * Vocabularies wide enough that a row's exponentials are summed in several blocks of
     * {@link CpuCrossEntropy#SUM_BLOCK_VECTORS} vectors (8192: whole blocks only; 1000 + 3: a partial block
     * and a scalar tail), against the double reference, and bit for bit the same on 1, 2 and 3 threads.
     */
    @Test
    void wideVocabularyMatchesReferenceOnAnyThreadCount() {
        for (int V : new int[] {8192, 1003}) {
            int n = 40;
            float[] logits = TestData.normal(V, n * V, 4.0);
            int[] tg = targets(V + 1, n, V, IGNORE);
            double[] ld = TestData.toDouble(logits);
            double[] refLosses = referenceLosses(ld, tg, V, IGNORE);
            double refMean = referenceMean(ld, tg, V, IGNORE);
            float[] firstLosses = null, firstGrad = null;
            double firstLoss = 0;
            for (int threads = 1; threads <= 3; threads++) {
                String what = "crossEntropy V=" + V + " on " + threads + " threads";
                try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                    Tensor losses = arena.allocate(DType.F32, n), dLogits = arena.allocate(DType.F32, n, V);
                    double loss = be.crossEntropy(arena.of(logits, n, V), arena.ofInts(tg, n), IGNORE, losses,
                            dLogits, 1f);
                    assertEquals(refMean, loss, 1e-6 * Math.abs(refMean), what + " mean loss");
                    Approx.assertClose(what + " losses", refLosses, losses.toFloatArray(), 1e-6, 1e-6);
                    float[] g = dLogits.toFloatArray();
                    checkGradientRows(what, ld, tg, V, IGNORE, g);
                    if (threads == 1) {
                        firstLoss = loss;
                        firstLosses = losses.toFloatArray();
                        firstGrad = g;
                    } else {
                        assertEquals(firstLoss, loss, 0.0, what + ": loss differs from 1 thread");
                        assertArrayEquals(firstLosses, losses.toFloatArray(), what + ": losses differ from 1 thread");
                        assertArrayEquals(firstGrad, g, what + ": dLogits differ from 1 thread");
                    }
                }
            }
        }
    }

    /** dLogits against {@code (softmax - onehot) / counted} in double, 0 on ignored rows. */
    private static void checkGradientRows(String what, double[] logits, int[] tg, int V, int ignore, float[] g) {
        int counted = 0;
        for (int t : tg) {
            counted += t == ignore ? 0 : 1;
        }
        double[] expected = new double[g.length];
        for (int r = 0; r < tg.length; r++) {
            if (tg[r] == ignore) {
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < V; j++) {
                max = Math.max(max, logits[r * V + j]);
            }
            double sum = 0;
            for (int j = 0; j < V; j++) {
                sum += Math.exp(logits[r * V + j] - max);
            }
            for (int j = 0; j < V; j++) {
                expected[r * V + j] = (Math.exp(logits[r * V + j] - max) / sum - (j == tg[r] ? 1 : 0)) / counted;
            }
        }
        Approx.assertClose(what + " dLogits", expected, g, 1e-5, 1e-9);
    }

    @Test
    void oneAndTwoThreadsAgree() {
        int n = 300, V = 70;
        float[] logits = TestData.normal(70, n * V, 2.0);
        int[] tg = targets(71, n, V, IGNORE);
        float[][] results = new float[2][];
        double[] loss = new double[2];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor losses = arena.allocate(DType.F32, n), dLogits = arena.allocate(DType.F32, n, V);
                loss[threads - 1] = be.crossEntropy(arena.of(logits, n, V), arena.ofInts(tg, n), IGNORE, losses, dLogits, 1f);
                float[] l = losses.toFloatArray(), g = dLogits.toFloatArray();
                results[threads - 1] = java.util.Arrays.copyOf(l, n + n * V);
                System.arraycopy(g, 0, results[threads - 1], n, g.length);
            }
        }
        // not bitwise: the Vector API may reduce lanes in another order once a loop is JIT-compiled
        assertEquals(loss[0], loss[1], 1e-6 * loss[0]);
        Approx.assertClose("1 vs 2 threads", results[0], results[1], 1e-6, 0);
    }

    @Test
    void outOfRangeTargetNamesTargetPositionAndVocabulary() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor logits = arena.allocate(DType.F32, 4, 10);
            var e = assertThrows(IllegalArgumentException.class, () -> be.crossEntropy(logits,
                    arena.ofInts(new int[] {1, IGNORE, 10, 2}, 4), IGNORE, null, null, 1f));
            assertTrue(e.getMessage().contains("target 10") && e.getMessage().contains("position 2")
                    && e.getMessage().contains("10)"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> be.crossEntropy(logits,
                    arena.ofInts(new int[] {1, -1, 3, 2}, 4), IGNORE, null, null, 1f));
            assertTrue(e.getMessage().contains("target -1") && e.getMessage().contains("position 1"), e.getMessage());
        }
    }

    @Test
    void shapeAndDtypeMismatches() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor logits = arena.allocate(DType.F32, 4, 10);
            Tensor targets = arena.ofInts(new int[] {1, 2, 3, 4}, 4);
            var e = assertThrows(ShapeMismatchException.class, () -> be.crossEntropy(logits,
                    arena.ofInts(new int[] {1, 2, 3}, 3), IGNORE, null, null, 1f));
            assertTrue(e.getMessage().contains("targets") && e.getMessage().contains("[3]")
                    && e.getMessage().contains("[4, 10]"), e.getMessage());
            e = assertThrows(ShapeMismatchException.class, () -> be.crossEntropy(logits, targets, IGNORE,
                    arena.allocate(DType.F32, 5), null, 1f));
            assertTrue(e.getMessage().contains("losses") && e.getMessage().contains("[5]"), e.getMessage());
            e = assertThrows(ShapeMismatchException.class, () -> be.crossEntropy(logits, targets, IGNORE, null,
                    arena.allocate(DType.F32, 4, 11), 1f));
            assertTrue(e.getMessage().contains("dLogits[4, 11]") && e.getMessage().contains("logits[4, 10]"),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> be.crossEntropy(logits,
                    arena.allocate(DType.F32, 4), IGNORE, null, null, 1f));
        }
    }

    @Test
    void closedArenaThrows() {
        try (CpuBackend be = new CpuBackend(2)) {
            TensorArena arena = new TensorArena();
            Tensor logits = arena.allocate(DType.F32, 2, 3);
            Tensor targets = arena.ofInts(new int[] {0, 1}, 2);
            arena.close();
            assertThrows(TensorClosedException.class, () -> be.crossEntropy(logits, targets, IGNORE, null, null, 1f));
        }
    }
}
