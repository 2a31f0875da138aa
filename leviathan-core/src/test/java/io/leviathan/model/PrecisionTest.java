package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The bf16 precision policy: bf16 weight copies and activations for matmuls and attention, fp32 master
 * weights, gradients and loss. On the CPU bf16 is stored rounded to nearest even and computed in fp32, so
 * the only difference from fp32 is that rounding; the tolerances below are what bf16's 8-bit mantissa
 * (relative rounding error up to 2^-9 = 0.2 %) allows after a few layers.
 */
class PrecisionTest {
    /** Loss at the same weights: bf16 within this relative distance of fp32. */
    static final double LOSS_REL = 1e-2;
    /**
     * Each gradient tensor: ||g_bf16 - g_fp32|| / ||g_fp32|| at most this. Backward matmuls read bf16 weights
     * and activations, so every gradient carries their rounding; measured worst cases are 3-6 % (a
     * Leviathan model's first-layer q_proj), hence 10 %.
     */
    static final double GRAD_REL = 0.1;

    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    static List<ModelConfig> configs() {
        ModelConfig dense = new ModelConfig(Family.DENSE, 61, 32, 2, 2, 48, 1e-5f, 10_000f, 32, false, null);
        ModelConfig tied = new ModelConfig(Family.DENSE, 61, 32, 2, 2, 48, 1e-5f, 10_000f, 32, true, null);
        // The tolerances were measured with the "unit" generator initialisation. With "small" (the default since
        // the init comparison in docs/scaling.md) the Leviathan first-layer q_proj gradient differs by about 12 %
        // at initial weights, which is open (docs/scaling.md, section 6); this test keeps checking "unit".
        return List.of(dense, tied, dense.asLeviathan(LlamaModelTest.smallGenerator().withInit(GeneratorConfig.INIT_UNIT)));
    }

    @Test
    void bf16LossAndGradientsTrackFp32AtTheSameWeights() {
        for (ModelConfig c : configs()) {
            int batch = 3, seq = 32;
            int[] ids = randomIds(batch * seq, c.vocab(), 1), targets = randomIds(batch * seq, c.vocab(), 2);
            try (LlamaModel f = new LlamaModel(be, c, batch, seq, Precision.FP32);
                 LlamaModel h = new LlamaModel(be, c, batch, seq, Precision.BF16)) {
                assertEquals(Precision.BF16, h.precision());
                f.initialize(7);
                h.initialize(7);
                double lf = forwardBackward(f, ids, targets);
                double lh = forwardBackward(h, ids, targets);
                assertTrue(Math.abs(lh - lf) <= LOSS_REL * lf, c.family() + ": bf16 loss " + lh + " vs fp32 " + lf);
                assertNotEquals(lf, lh, "bf16 must actually round something");
                for (Parameter p : f.parameters().all()) {
                    float[] gf = be.downloadFloats(p.grad());
                    float[] gh = be.downloadFloats(h.parameters().get(p.name()).grad());
                    double diff = 0, norm = 0;
                    for (int i = 0; i < gf.length; i++) {
                        diff += (gh[i] - gf[i]) * (double) (gh[i] - gf[i]);
                        norm += gf[i] * (double) gf[i];
                    }
                    double rel = Math.sqrt(diff / Math.max(norm, 1e-30));
                    assertTrue(rel <= GRAD_REL, c.family() + " " + p.name() + ": relative gradient difference " + rel);
                }
            }
        }
    }

    @Test
    void computeCopiesAreTheMasterWeightsRoundedAndFollowEveryChange() {
        ModelConfig c = configs().get(0);
        try (LlamaModel h = new LlamaModel(be, c, 1, 8, Precision.BF16)) {
            h.initialize(3);
            int[] ids = randomIds(8, c.vocab(), 4);
            h.evaluate(ids, ids);
            Parameter wq = h.parameters().get("model.layers.0.self_attn.q_proj.weight");
            assertEquals(DType.BF16, wq.compute().dtype());
            assertEquals(DType.F32, wq.value().dtype());
            float[] master = be.downloadFloats(wq.value());
            float[] copy = be.downloadFloats(wq.compute());
            for (int i = 0; i < master.length; i++) {
                assertEquals(Bf16.toFloat(Bf16.fromFloat(master[i])), copy[i], 0f, "round to nearest even at " + i);
            }
            // Changing the master weights changes the next forward pass: the copies are refreshed.
            double before = h.evaluate(ids, ids);
            float[] scaled = master.clone();
            for (int i = 0; i < scaled.length; i++) {
                scaled[i] *= 3f;
            }
            be.upload(scaled, wq.value());
            assertNotEquals(before, h.evaluate(ids, ids));
            // Under fp32 the compute view is the master tensor itself.
            try (LlamaModel f = new LlamaModel(be, c, 1, 8)) {
                Parameter p = f.parameters().get("model.layers.0.self_attn.q_proj.weight");
                assertTrue(p.compute() == p.value());
            }
        }
    }

    /**
     * bf16 training tracks fp32: the same model, weights and batches trained side by side with AdamW for 60
     * steps on a learnable stream, the largest relative loss gap over the run bounded per model. Measured here
     * (2 December 2026): dense 0.09 %, Leviathan with the "unit" generator init 0.86 %, with "small" (the
     * default) 3.6 %. The "small" init tracks fp32 about four times less closely; the bounds keep that known
     * and stop it from growing unnoticed (docs/scaling.md, section 6). Gradients are not compared after
     * training: near a minimum they are small and both precisions' are mostly rounding noise.
     */
    @Test
    void bf16TrainingTracksFp32() {
        ModelConfig dense = new ModelConfig(Family.DENSE, 61, 32, 2, 2, 48, 1e-5f, 10_000f, 32, false, null);
        assertTrainingTracks(dense, 0.01);
        assertTrainingTracks(dense.asLeviathan(LlamaModelTest.smallGenerator().withInit(GeneratorConfig.INIT_UNIT)), 0.02);
        assertTrainingTracks(dense.asLeviathan(LlamaModelTest.smallGenerator().withInit(GeneratorConfig.INIT_SMALL)), 0.06);
    }

    private static void assertTrainingTracks(ModelConfig c, double bound) {
        String name = c.generator() == null ? "dense" : "leviathan, init " + c.generator().init();
        int batch = 3, seq = 32, steps = 60;
        // a learnable stream: a fixed random sequence of period 23, so the loss falls well below ln(61)
        int[] period = randomIds(23, c.vocab(), 5);
        int[] ids = new int[batch * seq], targets = new int[batch * seq];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = period[i % period.length];
            targets[i] = period[(i + 1) % period.length];
        }
        try (LlamaModel f = new LlamaModel(be, c, batch, seq, Precision.FP32);
             LlamaModel h = new LlamaModel(be, c, batch, seq, Precision.BF16);
             var arena = be.newArena()) {
            f.initialize(7);
            h.initialize(7);
            long n = f.parameters().flatSize();
            Tensor mf = arena.allocate(DType.F32, n), vf = arena.allocate(DType.F32, n);
            Tensor mh = arena.allocate(DType.F32, n), vh = arena.allocate(DType.F32, n);
            for (Tensor t : List.of(mf, vf, mh, vh)) {
                be.fill(t, 0f);
            }
            double first = 0, lf = 0, lh = 0, worst = 0;
            for (int step = 1; step <= steps; step++) {
                lf = forwardBackward(f, ids, targets);
                lh = forwardBackward(h, ids, targets);
                first = step == 1 ? lf : first;
                worst = Math.max(worst, Math.abs(lh - lf) / lf);
                AdamWStep a = new AdamWStep(3e-3f, 0.9f, 0.95f, 1e-8f, 0f, step);
                be.adamw(f.parameters().flatValues(), f.parameters().flatGrads(), mf, vf, a);
                be.adamw(h.parameters().flatValues(), h.parameters().flatGrads(), mh, vh, a);
            }
            System.out.printf("bf16 vs fp32, %s, %d steps: final loss %.4f vs %.4f (from %.4f), largest gap %.4f%n",
                    name, steps, lh, lf, first, worst);
            assertTrue(lf < 0.5 * first, name + ": fp32 must learn the periodic stream: " + first + " -> " + lf);
            assertTrue(lh < 0.5 * first, name + ": bf16 must learn the periodic stream: " + first + " -> " + lh);
            assertTrue(worst <= bound, name + ": bf16 loss left fp32's by " + worst + " (bound " + bound + ")");
        }
    }

    @Test
    void bf16SavesActivationMemoryWhereActivationsDominate() {
        // 8 layers: each saves 6 [N, D] and one [N, F] activation in bf16, against a fixed bf16 scratch.
        ModelConfig c = new ModelConfig(Family.DENSE, 32, 64, 8, 2, 128, 1e-5f, 10_000f, 128, false, null);
        long fp32, bf16;
        try (LlamaModel f = new LlamaModel(be, c, 8, 128, Precision.FP32)) {
            fp32 = f.arena().allocatedBytes();
        }
        try (LlamaModel h = new LlamaModel(be, c, 8, 128, Precision.BF16)) {
            bf16 = h.arena().allocatedBytes();
        }
        assertTrue(bf16 < 0.85 * fp32, "bf16 model holds " + bf16 + " bytes, fp32 " + fp32);
    }

    @Test
    void unknownPrecisionNamesTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Precision.of("fp16"));
        assertTrue(e.getMessage().contains("fp32, bf16"), e.getMessage());
        assertEquals(Precision.BF16, Precision.of("bf16"));
    }

    private static double forwardBackward(LlamaModel m, int[] ids, int[] targets) {
        m.parameters().zeroGrads(be);
        try (var arena = be.newArena()) {
            var loss = arena.allocate(DType.F32, 1);
            m.accumulateLoss(ids, targets, loss);
            m.backward();
            return be.downloadScalar(loss);
        }
    }

    static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] a = new int[n];
        for (int i = 0; i < n; i++) {
            a[i] = r.nextInt(vocab);
        }
        return a;
    }
}
