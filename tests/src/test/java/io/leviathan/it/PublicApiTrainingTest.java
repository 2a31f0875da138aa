package io.leviathan.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.BackendInfo;
import io.leviathan.backend.Backends;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Trains a one-layer next-token model (embedding, RMSNorm, linear head, cross-entropy, AdamW) through the
 * public API alone: the composition later models use, explicit buffers allocated once, forward then
 * backward written out layer by layer.
 */
class PublicApiTrainingTest {

    static final int V = 37;
    static final int D = 24;
    static final int N = 48;

    @Test
    void aTinyModelLearnsAFixedBatchThroughThePublicApi() {
        long baseline = NativeMemory.allocatedBytes();
        SplittableRandom rnd = new SplittableRandom(7);
        try (Backend be = Backends.cpu(2); TensorArena arena = be.newArena()) {
            // Parameters, gradients, AdamW moments.
            Tensor table = arena.allocate(DType.F32, V, D);
            Tensor gain = arena.allocate(DType.F32, D);
            Tensor head = arena.allocate(DType.F32, V, D);
            fillNormal(be, table, rnd, 1.0);
            be.fill(gain, 1f);
            fillNormal(be, head, rnd, 0.1);
            List<Tensor> params = List.of(table, gain, head);
            List<Tensor> grads = params.stream().map(p -> arena.allocate(DType.F32, p.shape())).toList();
            List<Tensor> ms = params.stream().map(p -> arena.allocate(DType.F32, p.shape())).toList();
            List<Tensor> vs = params.stream().map(p -> arena.allocate(DType.F32, p.shape())).toList();

            // A fixed batch: each token's target is a fixed function of it.
            int[] in = new int[N];
            int[] tgt = new int[N];
            for (int i = 0; i < N; i++) {
                in[i] = rnd.nextInt(V);
                tgt[i] = (in[i] * 7 + 3) % V;
            }
            tgt[5] = -100; // one ignored position
            Tensor ids = arena.allocate(DType.I32, N);
            Tensor targets = arena.allocate(DType.I32, N);
            be.upload(in, ids);
            be.upload(tgt, targets);

            // Activations and their gradients, allocated once.
            Tensor x = arena.allocate(DType.F32, N, D);
            Tensor xn = arena.allocate(DType.F32, N, D);
            Tensor rstd = arena.allocate(DType.F32, N);
            Tensor logits = arena.allocate(DType.F32, N, V);
            Tensor dLogits = arena.allocate(DType.F32, N, V);
            Tensor dXn = arena.allocate(DType.F32, N, D);
            Tensor dX = arena.allocate(DType.F32, N, D);

            long before = NativeMemory.allocatedBytes();
            double first = Double.NaN;
            double last = Double.NaN;
            for (int step = 1; step <= 60; step++) {
                // forward
                be.embedding(ids, table, x);
                be.rmsNorm(x, gain, 1e-5f, xn, rstd);
                be.matmul(xn, false, head, true, logits, 1f, 0f);
                double loss = be.crossEntropy(logits, targets, -100, null, dLogits, 1f);
                if (step == 1) {
                    first = loss;
                }
                last = loss;
                // backward
                for (Tensor g : grads) {
                    be.fill(g, 0f);
                }
                be.fill(dXn, 0f);
                be.fill(dX, 0f);
                be.matmul(dLogits, false, head, false, dXn, 1f, 1f);
                be.matmul(dLogits, true, xn, false, grads.get(2), 1f, 1f);
                be.rmsNormBackward(dXn, x, gain, rstd, dX, grads.get(1));
                be.embeddingBackward(dX, ids, grads.get(0));
                // update
                double norm = be.globalL2Norm(grads);
                assertTrue(Double.isFinite(norm) && norm > 0, "gradient norm " + norm);
                AdamWStep hp = new AdamWStep(0.05f, 0.9f, 0.95f, 1e-8f, 0.01f, step);
                for (int i = 0; i < params.size(); i++) {
                    AdamWStep h = params.get(i).rank() >= 2 ? hp : hp.withWeightDecay(0f);
                    be.adamw(params.get(i), grads.get(i), ms.get(i), vs.get(i), h);
                }
            }
            assertEquals(before, NativeMemory.allocatedBytes(), "the training loop must not allocate native memory");
            assertTrue(first > Math.log(V) * 0.8, "initial loss " + first + " should be near ln V = " + Math.log(V));
            assertTrue(last < 0.25, "loss should fall from " + first + " to below 0.25 on a learnable batch, got " + last);
        }
        assertEquals(baseline, NativeMemory.allocatedBytes(), "closing the arena frees everything");
    }

    @Test
    void backendsReportCpuAndExplainUnavailableOnes() {
        List<BackendInfo> infos = Backends.probe();
        assertTrue(infos.stream().anyMatch(b -> b.name().equals("cpu") && b.available()));
        for (BackendInfo b : infos) {
            assertTrue(!b.detail().isBlank(), b.name() + " needs a reason");
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("tpu"));
        assertTrue(e.getMessage().contains("tpu") && e.getMessage().contains("cpu"), e.getMessage());
    }

    @Test
    void shapeErrorsNameOperationAndShapes() {
        try (Backend be = Backends.cpu(1); TensorArena arena = be.newArena()) {
            Tensor a = arena.allocate(DType.F32, 3, 4);
            Tensor b = arena.allocate(DType.F32, 5, 6);
            Tensor c = arena.allocate(DType.F32, 3, 6);
            ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                    () -> be.matmul(a, false, b, false, c, 1f, 0f));
            assertTrue(e.getMessage().contains("matmul") && e.getMessage().contains("[3, 4]")
                    && e.getMessage().contains("[5, 6]"), e.getMessage());
        }
    }

    private static void fillNormal(Backend be, Tensor t, SplittableRandom rnd, double std) {
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            double u1 = 1 - rnd.nextDouble();
            double u2 = rnd.nextDouble();
            v[i] = (float) (Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2) * std);
        }
        be.upload(v, t);
    }
}
