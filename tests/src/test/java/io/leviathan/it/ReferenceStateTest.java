package io.leviathan.it;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.io.SafeTensors;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Parameter;
import io.leviathan.model.Precision;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * llm.c's reference-state test: an independent PyTorch implementation of the same model wrote its weights,
 * a batch, two activations, the loss, every gradient and the losses of five AdamW steps
 * ({@code shared/reference}); we load the weights, run the batch, and compare everything.
 */
class ReferenceStateTest {

    static Path referenceDir() {
        Path p = Path.of("").toAbsolutePath();
        for (int i = 0; i < 5 && p != null; i++, p = p.getParent()) {
            Path cand = p.resolve("shared/reference/reference.json");
            if (Files.isRegularFile(cand)) {
                return cand.getParent();
            }
            Path sibling = p.resolveSibling("shared").resolve("reference/reference.json");
            if (Files.isRegularFile(sibling)) {
                return sibling.getParent();
            }
        }
        return null;
    }

    /**
     * Tolerances per precision. fp32: the reference README's (activations and loss 1e-5 relative, gradients
     * 1e-4 of each tensor's largest entry, the five-step losses 1e-4). bf16 (matmul and attention operands
     * rounded to bf16, relative error up to 2^-9 each, fp32 accumulation) against the fp32 PyTorch state:
     * the embedding output is computed in fp32 and keeps 1e-5; what passes through the bf16 matmuls gets
     * bounds about three times the measured error (final hidden 0.41 %, gradients 0.92 % of each tensor's
     * largest entry; measured with {@code -Dleviathan.test.flags=-Dreference.report=true}), and the losses
     * 0.3 % at the initial weights and 1 % after five steps.
     */
    record Tolerances(double embed, double hidden, double loss, double grad, double steps) {
        static Tolerances of(Precision p) {
            return p == Precision.FP32 ? new Tolerances(1e-5, 1e-5, 1e-5, 1e-4, 1e-4)
                    : new Tolerances(1e-5, 1.5e-2, 3e-3, 3e-2, 1e-2);
        }
    }

    @ParameterizedTest
    @CsvSource({"dense, fp32", "leviathan, fp32", "dense, bf16", "leviathan, bf16"})
    void forwardBackwardAndFiveAdamWStepsMatchPyTorch(String family, String precisionName) throws IOException {
        Precision precision = Precision.of(precisionName);
        Tolerances tol = Tolerances.of(precision);
        Path dir = referenceDir();
        if (dir == null) { // a skip on a user's machine, a failure under CI (which always lays out shared/)
            String where = "the PyTorch reference state reference/reference.json not found in shared/ beside or above "
                    + Path.of("").toAbsolutePath();
            assertFalse("true".equalsIgnoreCase(System.getenv("CI")), where + " (CI=true: a missing fixture is an error)");
            Assumptions.abort(where + "; skipped. For the full suite put the project's shared/ folder beside the"
                    + " checkout and run ./leviathan test again");
        }
        JsonNode ref = new ObjectMapper().readTree(dir.resolve("reference.json").toFile());
        JsonNode c = ref.get("config");
        JsonNode fam = ref.get("families").get(family);
        int batch = ref.get("batch").get("batch").asInt();
        int seq = ref.get("batch").get("seq").asInt();

        ModelConfig dense = new ModelConfig(Family.DENSE, c.get("vocab").asInt(), c.get("d_model").asInt(),
                c.get("n_layers").asInt(), c.get("n_heads").asInt(), c.get("ffn").asInt(),
                (float) c.get("norm_eps").asDouble(), (float) c.get("rope_theta").asDouble(), seq, false, null);
        GeneratorConfig g = new GeneratorConfig(c.get("k").asInt(), c.get("d_seed").asInt(), c.get("gen_heads").asInt(),
                c.get("knots").asInt(), c.get("rank").asInt(), false, true, (float) c.get("norm_eps").asDouble());
        ModelConfig config = family.equals("dense") ? dense : dense.asLeviathan(g);
        if (family.equals("leviathan")) {
            assertEquals(c.get("base").asInt(), g.base(config.vocab()), "digit base");
        }

        long baseline = NativeMemory.allocatedBytes();
        try (Backend be = Backends.cpu(2);
             TensorArena files = new TensorArena();
             TensorArena state = be.newArena();
             LlamaModel model = new LlamaModel(be, config, batch, seq, precision)) {
            SafeTensors init = SafeTensors.open(dir.resolve(family + "_init.safetensors"), files);
            SafeTensors grads = SafeTensors.open(dir.resolve(family + "_grads.safetensors"), files);

            // Every parameter is in the file with the same shape; nothing in the file is left over.
            Set<String> fileParams = new HashSet<>(init.names());
            fileParams.removeIf(n -> n.startsWith("act.") || n.equals("input_ids") || n.equals("target_ids"));
            Set<String> ours = new HashSet<>();
            for (Parameter p : model.parameters().all()) {
                ours.add(p.name());
                Tensor src = init.get(p.name());
                assertArrayEquals(src.shape(), p.value().shape(), p.name());
                be.upload(src.toFloatArray(), p.value()); // the file is host memory; the model's may not be
            }
            assertEquals(fileParams, ours, "parameter names");
            assertEquals(fam.get("params").get("total").asLong(), model.parameters().count(), "parameter total");

            // The same tensors are decayed.
            Set<String> decayed = new HashSet<>();
            fam.get("params").get("decayed").forEach(n -> decayed.add(n.asText()));
            for (Parameter p : model.parameters().all()) {
                assertEquals(decayed.contains(p.name()), p.decay(), "decay flag of " + p.name());
            }

            Tensor fileIds = init.get("input_ids");
            Tensor fileTargets = init.get("target_ids");
            assertEquals(DType.I32, fileIds.dtype());
            Tensor ids = state.allocate(DType.I32, fileIds.shape());
            Tensor targets = state.allocate(DType.I32, fileTargets.shape());
            be.upload(fileIds.toIntArray(), ids);
            be.upload(fileTargets.toIntArray(), targets);

            double loss = model.forward(ids, targets);
            assertClose(be, "act.embed_out", init.get("act.embed_out"), model.embeddingOutput(), tol.embed());
            assertClose(be, "act.final_hidden", init.get("act.final_hidden"), model.finalHidden(), tol.hidden());
            double expectLoss = fam.get("loss_initial").asDouble();
            assertEquals(expectLoss, loss, tol.loss() * expectLoss, "initial loss");

            model.parameters().zeroGrads(be);
            model.backward();
            for (Parameter p : model.parameters().all()) {
                assertClose(be, "grad." + p.name(), grads.get("grad." + p.name()), p.grad(), tol.grad());
            }
            assertEquals(fam.get("grad_norms").get(0).asDouble(), be.globalL2Norm(model.parameters().grads()),
                    tol.grad() * fam.get("grad_norms").get(0).asDouble(), "gradient norm");

            // Five AdamW steps on the same batch; the loss after each must match.
            JsonNode opt = ref.get("optimizer");
            List<Tensor> ms = new ArrayList<>();
            List<Tensor> vs = new ArrayList<>();
            for (Parameter p : model.parameters().all()) {
                ms.add(state.allocate(DType.F32, p.value().shape()));
                vs.add(state.allocate(DType.F32, p.value().shape()));
            }
            JsonNode losses = fam.get("losses");
            for (int step = 1; step <= opt.get("steps").asInt(); step++) {
                AdamWStep hp = new AdamWStep((float) opt.get("lr").asDouble(), (float) opt.get("betas").get(0).asDouble(),
                        (float) opt.get("betas").get(1).asDouble(), (float) opt.get("eps").asDouble(),
                        (float) opt.get("weight_decay").asDouble(), step);
                List<Parameter> ps = model.parameters().all();
                for (int i = 0; i < ps.size(); i++) {
                    Parameter p = ps.get(i);
                    be.adamw(p.value(), p.grad(), ms.get(i), vs.get(i), p.decay() ? hp : hp.withWeightDecay(0f));
                }
                double l = model.forward(ids, targets);
                double expect = losses.get(step).asDouble();
                assertEquals(expect, l, tol.steps() * expect, "loss after AdamW step " + step);
                model.parameters().zeroGrads(be);
                model.backward();
            }
        }
        assertEquals(baseline, NativeMemory.allocatedBytes(), "all native memory returned");
    }

    /** |ours - ref| <= tol * max|ref| element-wise, naming the worst element; {@code actual} is downloaded through {@code be}. */
    static void assertClose(Backend be, String what, Tensor expected, Tensor actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        float[] e = expected.toFloatArray();
        float[] a = be.downloadFloats(actual);
        double scale = 0;
        for (float v : e) {
            scale = Math.max(scale, Math.abs(v));
        }
        assertTrue(scale > 0, what + " reference is all zeros");
        int worst = 0;
        double worstErr = -1;
        for (int i = 0; i < e.length; i++) {
            double err = Math.abs((double) a[i] - e[i]);
            if (!(err <= worstErr)) {
                worst = i;
                worstErr = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
            }
        }
        if (Boolean.getBoolean("reference.report")) {
            System.out.printf("[ReferenceStateTest] %s: worst error %.3g of the largest entry%n", what, worstErr / scale);
        }
        if (worstErr > tol * scale) {
            fail(String.format("%s: element %d is %.8g, reference %.8g (error %.3g, %.3g of the largest entry %.4g)",
                    what, worst, a[worst], e[worst], worstErr, worstErr / scale, scale));
        }
    }
}
