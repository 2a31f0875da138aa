package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.backend.KernelDataException;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** End-to-end checks of {@link LlamaModel}: gradients, learning, determinism, allocation. */
class LlamaModelTest {

    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** V 11, D 8, 2 layers, 2 heads (head dim 4), SwiGLU 16. */
    static ModelConfig tinyDense() {
        return new ModelConfig(Family.DENSE, 11, 8, 2, 2, 16, 1e-5f, 10_000f, 16, false, null);
    }

    /** A small generator so the Leviathan tests stay fast: k 3, d_seed 16, 2 heads, 8 knots, rank 16. */
    static GeneratorConfig smallGenerator() {
        return new GeneratorConfig(3, 16, 2, 8, 16, false, true, 1e-5f);
    }

    // ------------------------------------------------------------------ (a) gradient check

    /**
     * Directional-derivative check of every parameter tensor of a 2-layer dense model (batch 2, seq 5).
     *
     * <p>For each tensor P we take a unit direction u over P's elements, half along P's analytic gradient
     * and half random (so that L changes enough along u to rise above float32 noise, while an error in any
     * component of the gradient still shows: a wrong g changes g . u but not the loss), evaluate the loss at
     * {@code P +- h u} (rounded to float, as the model stores them) and form the ratio
     * {@code rho(h) = (L+ - L-) / sum_i g_i (p+_i - p-_i)}. Using the perturbation actually stored removes
     * the rounding of the parameters; the central difference leaves a truncation error c h^2, which
     * Richardson extrapolation {@code (4 rho(h/2) - rho(h)) / 3} cancels to O(h^4). What remains is the
     * float32 noise of the loss evaluations: the loss is accumulated in double from float32 activations,
     * about 1e-7 |L| ~ 3e-7 per evaluation, against differences {@code L+ - L-} of 1e-4 to 1e-3 at
     * h = 2e-2, i.e. well under 1e-3 relative; a wrong backward (a missing term, a transposed weight, a
     * dropped residual) is off by 1e-2 or more. Tolerance: |rho - 1| <= 1e-3.
     */
    @Test
    void gradientsMatchDirectionalFiniteDifferences() {
        ModelConfig c = tinyDense();
        int batch = 2;
        int seq = 5;
        try (LlamaModel m = new LlamaModel(be, c, batch, seq); TensorArena io = be.newArena()) {
            m.initialize(3);
            randomise(m, 11);
            SplittableRandom r = new SplittableRandom(5);
            int[] in = new int[batch * seq];
            int[] tg = new int[batch * seq];
            for (int i = 0; i < in.length; i++) {
                in[i] = r.nextInt(c.vocab());
                tg[i] = r.nextInt(c.vocab());
            }
            tg[3] = LlamaModel.IGNORE_INDEX;
            Tensor ids = ints(io, in, batch, seq);
            Tensor targets = ints(io, tg, batch, seq);

            m.parameters().zeroGrads(be);
            double loss = m.forward(ids, targets);
            assertTrue(loss > 0 && Double.isFinite(loss), "loss " + loss);
            m.backward();

            List<Parameter> params = m.parameters().all();
            assertEquals(2 + 9 * 2 + 1, params.size(), "table, 2 x 9 layer tensors, final norm, head");
            List<String> report = new ArrayList<>();
            double worst = 0;
            for (Parameter p : params) {
                double err = checkDirection(m, ids, targets, List.of(p), 2e-2, r, report, p.name());
                worst = Math.max(worst, err);
            }
            worst = Math.max(worst, checkDirection(m, ids, targets, params, 2e-2, r, report, "all tensors"));
            System.out.println("[LlamaModelTest] directional derivatives (worst |rho - 1| " + worst + "):\n  "
                    + String.join("\n  ", report));
        }
    }

    /** Checks one direction over {@code tensors}; returns |rho - 1| after Richardson extrapolation. */
    static double checkDirection(LlamaModel m, Tensor ids, Tensor targets, List<Parameter> tensors, double h,
                                 SplittableRandom r, List<String> report, String what) {
        List<double[]> u = direction(tensors, r);
        double[] coarse = directional(m, ids, targets, tensors, u, h);
        double[] fine = directional(m, ids, targets, tensors, u, h / 2);
        double rhoCoarse = coarse[0] / coarse[1];
        double rhoFine = fine[0] / fine[1];
        double rho = (4 * rhoFine - rhoCoarse) / 3;
        double err = Math.abs(rho - 1);
        report.add(String.format("%s: L+ - L- %.4e, g . dp %.4e, rho(h) - 1 %.1e, rho(h/2) - 1 %.1e, extrapolated %.1e",
                what, coarse[0], coarse[1], rhoCoarse - 1, rhoFine - 1, rho - 1));
        assertTrue(Math.abs(coarse[1]) > 1e-5, what + " has a vanishing gradient: " + report.getLast());
        assertTrue(err <= 1e-3, "gradient of " + report.getLast());
        return err;
    }

    /** A unit direction over {@code tensors}: half the normalised gradient, half a random unit vector. */
    private static List<double[]> direction(List<Parameter> tensors, SplittableRandom r) {
        List<double[]> g = new ArrayList<>();
        List<double[]> z = new ArrayList<>();
        double gn = 0;
        double zn = 0;
        for (Parameter p : tensors) {
            float[] gf = be.downloadFloats(p.grad());
            double[] gd = new double[gf.length];
            double[] zd = new double[gf.length];
            for (int i = 0; i < gf.length; i++) {
                gd[i] = gf[i];
                zd[i] = gaussian(r);
                gn += gd[i] * gd[i];
                zn += zd[i] * zd[i];
            }
            g.add(gd);
            z.add(zd);
        }
        List<double[]> u = new ArrayList<>();
        double un = 0;
        for (int t = 0; t < g.size(); t++) {
            double[] ut = new double[g.get(t).length];
            for (int i = 0; i < ut.length; i++) {
                ut[i] = g.get(t)[i] / Math.sqrt(gn) + z.get(t)[i] / Math.sqrt(zn);
                un += ut[i] * ut[i];
            }
            u.add(ut);
        }
        for (double[] ut : u) {
            for (int i = 0; i < ut.length; i++) {
                ut[i] /= Math.sqrt(un);
            }
        }
        return u;
    }

    /**
     * {@code {L(p + h u) - L(p - h u), sum grad . (p+ - p-)}} over {@code tensors}, with p+- rounded to
     * float; restores the parameters afterwards. The gradients must be those at {@code p}.
     */
    private static double[] directional(LlamaModel m, Tensor ids, Tensor targets, List<Parameter> tensors,
                                        List<double[]> dirs, double h) {
        List<float[]> base = new ArrayList<>();
        List<float[]> plus = new ArrayList<>();
        List<float[]> minus = new ArrayList<>();
        double analytic = 0;
        for (int t = 0; t < tensors.size(); t++) {
            float[] v = be.downloadFloats(tensors.get(t).value());
            double[] u = dirs.get(t);
            float[] g = be.downloadFloats(tensors.get(t).grad());
            float[] pp = new float[v.length];
            float[] pm = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                pp[i] = (float) (v[i] + h * u[i]);
                pm[i] = (float) (v[i] - h * u[i]);
                analytic += (double) g[i] * ((double) pp[i] - pm[i]);
            }
            base.add(v);
            plus.add(pp);
            minus.add(pm);
        }
        for (int t = 0; t < tensors.size(); t++) {
            be.upload(plus.get(t), tensors.get(t).value());
        }
        double lp = m.evaluate(ids, targets);
        for (int t = 0; t < tensors.size(); t++) {
            be.upload(minus.get(t), tensors.get(t).value());
        }
        double lm = m.evaluate(ids, targets);
        for (int t = 0; t < tensors.size(); t++) {
            be.upload(base.get(t), tensors.get(t).value());
        }
        return new double[] {lp - lm, analytic};
    }

    /** Larger-than-default weights so every gradient is far from zero (norm gains 1 + N(0, 0.2^2)). */
    private static void randomise(LlamaModel m, long seed) {
        for (Parameter p : m.parameters().all()) {
            if (p.name().endsWith("norm.weight")) {
                Init.normal(m.backend(), p.value(), seed, p.name(), 1.0, 0.2);
            } else if (p.name().equals(DenseEmbedding.WEIGHT)) {
                Init.normal(m.backend(), p.value(), seed, p.name(), 0.0, 1.0);
            } else {
                Init.normal(m.backend(), p.value(), seed, p.name(), 0.0, 0.4);
            }
        }
    }

    private static double gaussian(SplittableRandom r) {
        double u1 = 1 - r.nextDouble();
        double u2 = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    // ------------------------------------------------------------------ (b) learning, (d) no allocation

    /**
     * A dense model memorises one fixed batch of random tokens (batch 2, seq 16, V 32) in 120 AdamW steps
     * (lr 1e-2). Random targets carry no structure, so the only way below the uniform loss ln V = 3.47 is to
     * memorise each position. We require the mean loss to fall below 0.05 (under 0.015 ln V: about 95 % of
     * the probability on the right token everywhere); a correct model reaches about 1e-3, while a broken
     * gradient (a sign, a missing branch) stalls far above. The training loop (forward, backward, AdamW) must
     * not allocate native memory, and closing the model must free everything.
     */
    @Test
    void denseModelOverfitsOneBatchWithoutAllocating() {
        ModelConfig c = new ModelConfig(Family.DENSE, 32, 32, 2, 2, 64, 1e-5f, 10_000f, 32, false, null);
        overfit(c, STEPS, LR);
    }

    @Test
    void tiedDenseModelOverfitsOneBatch() {
        ModelConfig c = new ModelConfig(Family.DENSE, 32, 32, 2, 2, 64, 1e-5f, 10_000f, 32, true, null);
        overfit(c, STEPS, LR);
    }

    /** The same for a Leviathan model (small generator), trained end to end through the generator. */
    @Test
    void leviathanModelOverfitsOneBatchWithoutAllocating() {
        ModelConfig c = new ModelConfig(Family.DENSE, 32, 32, 2, 2, 64, 1e-5f, 10_000f, 32, false, null)
                .asLeviathan(smallGenerator());
        overfit(c, STEPS, LR);
    }

    static final int STEPS = 120;
    static final float LR = 1e-2f;

    private static void overfit(ModelConfig c, int steps, float lr) {
        int batch = 2;
        int seq = 16;
        long baseline = NativeMemory.allocatedBytes();
        try (LlamaModel m = new LlamaModel(be, c, batch, seq); TensorArena io = be.newArena()) {
            m.initialize(42);
            SplittableRandom r = new SplittableRandom(17);
            int[] in = new int[batch * seq];
            int[] tg = new int[batch * seq];
            for (int i = 0; i < in.length; i++) {
                in[i] = r.nextInt(c.vocab());
                tg[i] = r.nextInt(c.vocab());
            }
            Tensor ids = ints(io, in, batch, seq);
            Tensor targets = ints(io, tg, batch, seq);
            List<Parameter> params = m.parameters().all();
            List<Tensor> ms = new ArrayList<>();
            List<Tensor> vs = new ArrayList<>();
            for (Parameter p : params) {
                ms.add(io.allocate(DType.F32, p.value().shape()));
                vs.add(io.allocate(DType.F32, p.value().shape()));
            }
            double first = Double.NaN;
            double last = Double.NaN;
            long before = NativeMemory.allocatedBytes();
            long t0 = System.nanoTime();
            for (int step = 1; step <= steps; step++) {
                m.parameters().zeroGrads(be);
                double loss = m.forward(ids, targets);
                m.backward();
                if (step == 1) {
                    first = loss;
                }
                last = loss;
                AdamWStep hp = new AdamWStep(lr, 0.9f, 0.95f, 1e-8f, 0.01f, step);
                for (int i = 0; i < params.size(); i++) {
                    Parameter p = params.get(i);
                    be.adamw(p.value(), p.grad(), ms.get(i), vs.get(i), p.decay() ? hp : hp.withWeightDecay(0f));
                }
            }
            assertEquals(before, NativeMemory.allocatedBytes(), "the training loop must not allocate native memory");
            System.out.printf("[LlamaModelTest] %s%s: loss %.4f -> %.4f in %d steps (%.0f ms)%n", c.family(),
                    c.tiedHead() ? " tied" : "", first, last, steps, (System.nanoTime() - t0) / 1e6);
            double lnV = Math.log(c.vocab());
            assertTrue(Math.abs(first - lnV) < 0.1 * lnV, "initial loss " + first + " should be near ln V = " + lnV);
            assertTrue(last < 0.05, c.family() + (c.tiedHead() ? " (tied)" : "") + ": loss should fall from "
                    + first + " below 0.05 in " + steps + " steps, got " + last);
        }
        assertEquals(baseline, NativeMemory.allocatedBytes(), "closing the model frees everything");
    }

    // ------------------------------------------------------------------ (c) determinism

    @Test
    void sameSeedGivesTheSameWeightsBitForBitAndAnotherSeedDoesNot() {
        ModelConfig dense = tinyDense();
        ModelConfig lev = tinyDense().withVocab(40).asLeviathan(smallGenerator());
        for (ModelConfig c : List.of(dense, lev)) {
            try (LlamaModel a = new LlamaModel(be, c, 1, 4);
                 LlamaModel b = new LlamaModel(be, c, 2, 3);
                 LlamaModel other = new LlamaModel(be, c, 1, 4)) {
                a.initialize(1234);
                b.initialize(1234);
                other.initialize(1235);
                List<Parameter> pa = a.parameters().all();
                List<Parameter> pb = b.parameters().all();
                List<Parameter> po = other.parameters().all();
                assertEquals(pa.size(), pb.size());
                for (int i = 0; i < pa.size(); i++) {
                    String name = pa.get(i).name();
                    assertEquals(name, pb.get(i).name());
                    float[] va = be.downloadFloats(pa.get(i).value());
                    assertTrue(Arrays.equals(va, be.downloadFloats(pb.get(i).value())), name + " differs for one seed");
                    boolean constant = va.length > 0 && allEqual(va);
                    if (!constant) {
                        assertFalse(Arrays.equals(va, be.downloadFloats(po.get(i).value())),
                                name + " is the same under another seed");
                    }
                }
            }
        }
    }

    @Test
    void initialisationFollowsTheReferenceScheme() {
        try (LlamaModel m = new LlamaModel(be, tinyDense().withVocab(64), 1, 2)) {
            m.initialize(7);
            for (Parameter p : m.parameters().all()) {
                float[] v = be.downloadFloats(p.value());
                if (p.name().endsWith("norm.weight")) {
                    assertTrue(allEqual(v) && v[0] == 1f, p.name() + " should be all ones");
                    assertFalse(p.decay(), p.name() + " is a norm gain: no decay");
                } else {
                    double ss = 0;
                    for (float x : v) {
                        ss += x * (double) x;
                    }
                    double std = Math.sqrt(ss / v.length);
                    assertTrue(Math.abs(std - 0.02) < 0.006, p.name() + " std " + std);
                    assertTrue(p.decay(), p.name() + " is a matrix: decayed");
                }
            }
        }
    }

    /** Both generator initialisations: "unit" (N(0, 1) and N(0, 1/d_seed)) and "small" (N(0, 0.02^2) for both). */
    @Test
    void generatorInitialisationFollowsItsOption() {
        for (String init : GeneratorConfig.INITS) {
            ModelConfig c = tinyDense().withVocab(200).asLeviathan(smallGenerator().withInit(init));
            assertEquals(init, ModelConfigFiles.parse(ModelConfigFiles.toJson(ModelConfigFiles.toMap(null, c)), "round trip").config()
                    .generator().init(), "init survives the config file");
            try (LlamaModel m = new LlamaModel(be, c, 1, 2)) {
                m.initialize(5);
                for (Parameter p : m.parameters().all()) {
                    boolean codebook = p.name().endsWith("codebooks");
                    if (!codebook && !p.name().endsWith("seed_proj")) {
                        continue;
                    }
                    double want = init.equals(GeneratorConfig.INIT_SMALL) ? 0.02
                            : codebook ? 1 : 1 / Math.sqrt(c.generator().seedDim());
                    double std = rms(be.downloadFloats(p.value()));
                    assertTrue(Math.abs(std / want - 1) < 0.1, init + ": " + p.name() + " std " + std + ", want " + want);
                }
            }
        }
        assertThrows(IllegalArgumentException.class, () -> smallGenerator().withInit("xavier"));
    }

    private static double rms(float[] v) {
        double ss = 0;
        for (float x : v) {
            ss += x * (double) x;
        }
        return Math.sqrt(ss / v.length);
    }

    private static boolean allEqual(float[] v) {
        for (float x : v) {
            if (Float.floatToIntBits(x) != Float.floatToIntBits(v[0])) {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ API behaviour

    @Test
    void namesShapesAndOrderFollowHuggingFaceLlama() {
        ModelConfig c = tinyDense();
        try (LlamaModel m = new LlamaModel(be, c, 1, 4)) {
            List<String> names = m.parameters().all().stream().map(Parameter::name).toList();
            assertEquals("model.embed_tokens.weight", names.getFirst());
            assertEquals(List.of("model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight",
                    "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight",
                    "model.layers.0.self_attn.o_proj.weight", "model.layers.0.post_attention_layernorm.weight",
                    "model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight",
                    "model.layers.0.mlp.down_proj.weight"), names.subList(1, 10));
            assertEquals(List.of("model.norm.weight", "lm_head.weight"), names.subList(names.size() - 2, names.size()));
            assertArrayEquals(new long[] {16, 8}, m.parameters().get("model.layers.1.mlp.gate_proj.weight").value().shape());
            assertArrayEquals(new long[] {8, 16}, m.parameters().get("model.layers.1.mlp.down_proj.weight").value().shape());
            assertArrayEquals(new long[] {11, 8}, m.parameters().get("lm_head.weight").value().shape());
            assertArrayEquals(new long[] {4, 11}, m.logits().shape());
            assertArrayEquals(new long[] {1, 4, 8}, m.embeddingOutput().shape());
            assertArrayEquals(new long[] {1, 4, 8}, m.finalHidden().shape());
            assertTrue(m.embedding() instanceof DenseEmbedding);
        }
        ModelConfig tiedConfig = new ModelConfig(Family.DENSE, 11, 8, 2, 2, 16, 1e-5f, 10_000f, 16, true, null);
        try (LlamaModel tied = new LlamaModel(be, tiedConfig, 1, 4)) {
            assertTrue(tied.parameters().all().stream().noneMatch(p -> p.name().equals("lm_head.weight")));
        }
    }

    @Test
    void tiedHeadCollectsBothGradientsInTheTable() {
        ModelConfig tied = new ModelConfig(Family.DENSE, 11, 8, 2, 2, 16, 1e-5f, 10_000f, 16, true, null);
        try (LlamaModel m = new LlamaModel(be, tied, 2, 5); TensorArena io = be.newArena()) {
            m.initialize(9);
            randomise(m, 4);
            SplittableRandom r = new SplittableRandom(8);
            int[] in = new int[10];
            int[] tg = new int[10];
            for (int i = 0; i < 10; i++) {
                in[i] = r.nextInt(11);
                tg[i] = r.nextInt(11);
            }
            Tensor ids = ints(io, in, 2, 5);
            Tensor targets = ints(io, tg, 2, 5);
            m.parameters().zeroGrads(be);
            m.forward(ids, targets);
            m.backward();
            List<String> report = new ArrayList<>();
            for (Parameter p : m.parameters().all()) {
                checkDirection(m, ids, targets, List.of(p), 2e-2, r, report, p.name());
            }
        }
    }

    @Test
    void forwardWithoutTargetsGivesLogitsOnlyAndBadInputsThrow() {
        try (LlamaModel m = new LlamaModel(be, tinyDense(), 2, 3); TensorArena io = be.newArena()) {
            m.initialize(1);
            Tensor ids = ints(io, new int[] {1, 2, 3, 4, 5, 6}, 2, 3);
            assertTrue(Double.isNaN(m.forward(ids, null)));
            assertThrows(IllegalStateException.class, m::backward);
            assertTrue(Double.isFinite(be.downloadFloats(m.logits().select(0, 5))[10]));
            double l1 = m.evaluate(ids, ids);
            double l2 = m.forward(ids, ids);
            assertEquals(l1, l2, 0.0, "evaluate and forward compute the same loss");
            assertThrows(ShapeMismatchException.class, () -> m.forward(ints(io, new int[] {1, 2, 3}, 1, 3), null));
            assertThrows(IllegalArgumentException.class, () -> m.forward(io.allocate(DType.F32, 2, 3), null));
            Tensor bad = ints(io, new int[] {1, 2, 3, 4, 5, 11}, 2, 3);
            // On the CPU the embedding throws; a device (and the strict backend) reports it at the next sync.
            assertThrows(KernelDataException.class, () -> {
                m.forward(bad, null);
                be.synchronize();
            });
            // Host arrays are checked on the host, before anything is issued.
            IllegalArgumentException hostCheck = assertThrows(IllegalArgumentException.class,
                    () -> m.forwardLogits(new int[] {1, 2, 3, 4, 5, 11}));
            assertTrue(hostCheck.getMessage().contains("id 11 at position 5"), hostCheck.getMessage());
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LlamaModel(be, tinyDense(), 1, 17));
        assertTrue(e.getMessage().contains("maxSeq"), e.getMessage());
    }

    @Test
    void forwardAndBackwardAllocateNoNativeMemory() {
        for (ModelConfig c : List.of(tinyDense(), tinyDense().withVocab(40).asLeviathan(smallGenerator()))) {
            try (LlamaModel m = new LlamaModel(be, c, 2, 5); TensorArena io = be.newArena()) {
                m.initialize(2);
                int[] in = new int[10];
                for (int i = 0; i < in.length; i++) {
                    in[i] = (i * 7) % c.vocab();
                }
                Tensor ids = ints(io, in, 2, 5);
                long before = NativeMemory.allocatedBytes();
                for (int step = 0; step < 3; step++) {
                    m.parameters().zeroGrads(be);
                    m.forward(ids, ids);
                    m.backward();
                    m.evaluate(ids, ids);
                    m.forward(ids, null);
                }
                assertEquals(before, NativeMemory.allocatedBytes(), c.family() + ": forward/backward allocated");
                assertNotEquals(0.0, be.globalL2Norm(m.parameters().grads()));
            }
        }
    }

    /** A new I32 tensor of {@code arena} (a backend arena) holding {@code data}, uploaded through the backend. */
    static Tensor ints(TensorArena arena, int[] data, long... shape) {
        Tensor t = arena.allocate(DType.I32, shape);
        be.upload(data, t);
        return t;
    }

    private static void assertArrayEquals(long[] expected, long[] actual) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(expected, actual,
                Arrays.toString(expected) + " vs " + Arrays.toString(actual));
    }
}
