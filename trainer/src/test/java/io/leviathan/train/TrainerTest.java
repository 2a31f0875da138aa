package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Split;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Parameter;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The training loop: accumulation, allocation, exact resume, refusals, and an end-to-end run. */
class TrainerTest {

    // ------------------------------------------------------------------ gradient accumulation

    /** accum = 2 micro-batches of B equal one batch of 2B: same gradients and same update, to float rounding. */
    @Test
    void accumulationOfTwoHalvesEqualsTheDoubleBatch() {
        ModelConfig c = CheckpointTest.dense();
        int b = 2;
        int seq = 8;
        SplittableRandom r = new SplittableRandom(3);
        int[] in = new int[2 * b * seq];
        int[] tg = new int[2 * b * seq];
        for (int i = 0; i < in.length; i++) {
            in[i] = r.nextInt(c.vocab());
            tg[i] = r.nextInt(c.vocab());
        }
        try (Backend be = Backends.cpu(2);
             LlamaModel whole = new LlamaModel(be, c, 2 * b, seq);
             LlamaModel half = new LlamaModel(be, c, b, seq);
             TensorArena io = be.newArena();
             AdamW ow = new AdamW(be, whole.parameters(), AdamWConfig.defaults());
             AdamW oh = new AdamW(be, half.parameters(), AdamWConfig.defaults())) {
            whole.initialize(1);
            half.initialize(1);
            Tensor wi = ints(be, io, in, 2 * b, seq);
            Tensor wt = ints(be, io, tg, 2 * b, seq);
            whole.parameters().zeroGrads(be);
            double lossWhole = whole.forward(wi, wt);
            whole.backward();

            half.setGradScale(0.5f);
            half.parameters().zeroGrads(be);
            double lossHalves = 0;
            for (int k = 0; k < 2; k++) {
                Tensor hi = ints(be, io, java.util.Arrays.copyOfRange(in, k * b * seq, (k + 1) * b * seq), b, seq);
                Tensor ht = ints(be, io, java.util.Arrays.copyOfRange(tg, k * b * seq, (k + 1) * b * seq), b, seq);
                lossHalves += half.forward(hi, ht) / 2;
                half.backward();
            }
            assertEquals(lossWhole, lossHalves, 1e-6 * lossWhole);
            double scale = 0;
            for (Parameter p : whole.parameters().all()) {
                for (float g : be.downloadFloats(p.grad())) {
                    scale = Math.max(scale, Math.abs(g));
                }
            }
            List<Parameter> pw = whole.parameters().all();
            List<Parameter> ph = half.parameters().all();
            for (int i = 0; i < pw.size(); i++) {
                float[] gw = be.downloadFloats(pw.get(i).grad());
                float[] gh = be.downloadFloats(ph.get(i).grad());
                for (int j = 0; j < gw.length; j++) {
                    assertEquals(gw[j], gh[j], 1e-5 * scale, pw.get(i).name() + "[" + j + "]");
                }
            }
            double nw = ow.step(1e-3f, 1f);
            double nh = oh.step(1e-3f, 1f);
            assertEquals(nw, nh, 1e-5 * nw);
            for (int i = 0; i < pw.size(); i++) {
                float[] a = be.downloadFloats(pw.get(i).value());
                float[] h = be.downloadFloats(ph.get(i).value());
                for (int j = 0; j < a.length; j++) {
                    // an Adam step moves each weight by ~lr; the two differ only through rounding of g
                    assertEquals(a[j], h[j], 2e-5, pw.get(i).name() + "[" + j + "]");
                }
            }
        }
    }

    /** A new I32 tensor of {@code arena} (a backend arena) holding {@code data}, uploaded through {@code be}. */
    private static Tensor ints(Backend be, TensorArena arena, int[] data, long... shape) {
        Tensor t = arena.allocate(DType.I32, shape);
        be.upload(data, t);
        return t;
    }

    /** The trainer's own accumulation: accum 2 x batch 2 vs accum 1 x batch 4 see the same tokens. */
    @Test
    void trainerAccumulationMatchesTheLargerBatch(@TempDir Path tmp) {
        Path data = TestData.synthetic();
        double[] losses = new double[2];
        float[][] weights = new float[2][];
        for (int k = 0; k < 2; k++) {
            TrainConfig cfg = TestData.config(TestData.DENSE, data, tmp.resolve("run" + k), 1)
                    .with("batch", k == 0 ? "4" : "2").with("accum", k == 0 ? "1" : "2");
            try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
                losses[k] = t.trainStep();
                weights[k] = t.model().backend().downloadFloats(t.model().parameters().all().get(1).value());
            }
        }
        // the sampler draws windows in order, so 2 x 2 windows are the 4 windows of the single batch
        assertEquals(losses[0], losses[1], 1e-5 * losses[0]);
        for (int j = 0; j < weights[0].length; j++) {
            assertEquals(weights[0][j], weights[1][j], 2e-5);
        }
    }

    // ------------------------------------------------------------------ allocation

    @Test
    void aTrainingStepAndAnEvaluationAllocateNoNativeMemory(@TempDir Path tmp) {
        long baseline = NativeMemory.allocatedBytes();
        TrainConfig cfg = TestData.config(TestData.LEVIATHAN, TestData.synthetic(), tmp.resolve("run"), 10)
                .with("accum", "2");
        try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
            t.trainStep();
            t.evaluate();
            long before = NativeMemory.allocatedBytes();
            for (int i = 0; i < 3; i++) {
                t.trainStep();
            }
            t.evaluate();
            assertEquals(before, NativeMemory.allocatedBytes(), "native bytes allocated by training steps");
        }
        assertEquals(baseline, NativeMemory.allocatedBytes(), "everything freed on close");
    }

    // ------------------------------------------------------------------ exact resume

    /**
     * A run stopped at step s and resumed reaches, at step 2s, the same losses and weights as a run that never
     * stopped, bit for bit. The uninterrupted run and the stopped run train in this (warm) JVM; the resumed
     * run continues in a fresh JVM through {@code ./leviathan train --resume}, as a user would, so its
     * kernels start interpreted while the uninterrupted run's are compiled: any kernel whose bits depend
     * on the JIT state (an unordered {@code reduceLanes(ADD)}, a vector {@code EXP} that compiles to a
     * different approximation than the interpreter's) shows up here.
     */
    @ParameterizedTest
    @ValueSource(strings = {"dense", "leviathan"})
    void resumeContinuesBitForBit(String family, @TempDir Path tmp) throws Exception {
        String model = family.equals("dense") ? TestData.DENSE : TestData.LEVIATHAN;
        int s = 8;
        Path data = TestData.synthetic();
        TrainConfig base = TestData.config(model, data, tmp.resolve("x"), 2 * s)
                .with("evalEvery", "4").with("checkpointEvery", "5").with("accum", "2");

        Path full = tmp.resolve("full");
        try (Trainer t = Trainer.create(base.with("out", full.toString()), null, TestData.QUIET, false)) {
            t.run();
        }
        Path stopped = tmp.resolve("stopped");
        try (Trainer t = Trainer.create(base.with("out", stopped.toString()), null, TestData.QUIET, false)) {
            Trainer.Summary sum = t.runUntil(s);
            assertEquals(s, sum.steps());
        }
        assertTrue(Files.exists(stopped.resolve("checkpoints").resolve(Checkpoint.fileName(s))));
        Cli.Result r = Cli.run(tmp, "train", "--resume", stopped.toString());
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains("resumed from"), r.output());

        // metrics: every row of the resumed run equals the uninterrupted run's (losses printed exactly)
        List<Map<String, String>> a = rows(full.resolve("metrics.jsonl"));
        List<Map<String, String>> b = rows(stopped.resolve("metrics.jsonl"));
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            for (String k : List.of("step", "loss", "lr", "grad_norm", "val_loss")) {
                assertEquals(a.get(i).get(k), b.get(i).get(k), k + " in row " + i + " of " + family
                        + " (the resumed run diverged from the uninterrupted one)");
            }
        }
        // the final checkpoints hold identical weights and moments
        try (Checkpoint x = Checkpoint.load(full); Checkpoint y = Checkpoint.load(stopped)) {
            assertEquals(2 * s, x.step());
            assertEquals(2 * s, y.step());
            assertEquals(x.tensors().names(), y.tensors().names());
            for (String name : x.tensors().names()) {
                assertTrue(x.tensors().get(name).segment().mismatch(y.tensors().get(name).segment()) == -1,
                        family + ": tensor " + name + " differs after resuming");
            }
            assertEquals(x.metadata("sampler_state"), y.metadata("sampler_state"));
        }
    }

    /** Resuming within one JVM (the in-process API) continues exactly too, with either training sampler. */
    @ParameterizedTest
    @ValueSource(strings = {"random", "epochs"})
    void resumeInProcessContinuesExactly(String sampler, @TempDir Path tmp) {
        TrainConfig base = TestData.config(TestData.LEVIATHAN, TestData.synthetic(), tmp.resolve("x"), 6)
                .with("sampler", sampler);
        double[] full = new double[6];
        try (Trainer t = Trainer.create(base.with("out", tmp.resolve("a").toString()), null, TestData.QUIET, false)) {
            for (int i = 0; i < 6; i++) {
                full[i] = t.trainStep();
            }
        }
        try (Trainer t = Trainer.create(base.with("out", tmp.resolve("b").toString()), null, TestData.QUIET, false)) {
            t.runUntil(3);
        }
        try (Trainer t = Trainer.create(base.with("out", null), tmp.resolve("b"), TestData.QUIET, false)) {
            assertEquals(3, t.step());
            assertEquals(tmp.resolve("b").toAbsolutePath().normalize(), t.runDir());
            for (int i = 3; i < 6; i++) {
                assertEquals(full[i], t.trainStep(), 0.0, "loss of step " + (i + 1));
            }
        }
    }

    private static List<Map<String, String>> rows(Path metrics) throws IOException {
        ObjectMapper om = new ObjectMapper();
        List<Map<String, String>> out = new ArrayList<>();
        for (String line : Files.readAllLines(metrics)) {
            JsonNode n = om.readTree(line);
            Map<String, String> m = new LinkedHashMap<>();
            n.fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue().asText()));
            out.add(m);
        }
        return out;
    }

    // ------------------------------------------------------------------ refusals

    @Test
    void badResumesAreRefusedAndNothingSavedIsTouched(@TempDir Path tmp) throws IOException {
        Path data = TestData.synthetic();
        Path run = tmp.resolve("run");
        TrainConfig cfg = TestData.config(TestData.DENSE, data, run, 4).with("checkpointEvery", "2");
        try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
            t.run();
        }
        Map<Path, byte[]> before = snapshot(run);
        assertEquals(2, Checkpoint.list(run.resolve("checkpoints")).size());

        // a different model
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(
                cfg.with("model", TestData.LEVIATHAN.replace("\"family\":\"leviathan\"", "\"family\":\"leviathan\""))
                        .with("steps", "8"), run, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("different model"), e.getMessage());
        // a different width, through the command line's model key
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(cfg.with("model", "tiny").with("steps", "8"),
                run, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("dModel 16 in the checkpoint, 64 here"), e.getMessage());
        // an older checkpoint while newer ones exist in the run folder
        Path older = run.resolve("checkpoints").resolve(Checkpoint.fileName(2));
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(cfg.with("steps", "8").with("out", null),
                older, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("after step 2"), e.getMessage());
        // nothing left to do
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(cfg, run, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("nothing to do"), e.getMessage());
        // a fresh run into a folder that holds checkpoints
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(cfg, null, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("already holds checkpoints"), e.getMessage());
        // another vocabulary: the same model shape trained on different data
        Path otherData = tmp.resolve("other.txt");
        Files.writeString(otherData, "zebra quagga xylophone ".repeat(200) + "\n" + "jumbo ".repeat(100) + "\n");
        Path prepared = io.leviathan.data.DataPrepare.prepare(List.of(otherData), tmp.resolve("other"), "o200k_base",
                0.5, true, false, TestData.QUIET);
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(
                cfg.with("steps", "8").with("data", prepared.toString()).with("vocab",
                        Integer.toString(checkpointVocab(run))), run, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("another vocabulary"), e.getMessage());
        // a truncated checkpoint
        Path cut = tmp.resolve("cut.safetensors");
        byte[] last = Files.readAllBytes(Checkpoint.resolve(run));
        Files.write(cut, java.util.Arrays.copyOf(last, last.length / 2));
        e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(cfg.with("steps", "8"), cut, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("cut.safetensors") && e.getMessage().contains("damaged"), e.getMessage());

        assertEquals(before.keySet(), snapshot(run).keySet(), "no file added or removed");
        Map<Path, byte[]> after = snapshot(run);
        for (Path p : before.keySet()) {
            assertArrayEquals(before.get(p), after.get(p), p + " changed");
        }
    }

    private static int checkpointVocab(Path run) {
        try (Checkpoint c = Checkpoint.load(run)) {
            return c.modelConfig().vocab();
        }
    }

    private static Map<Path, byte[]> snapshot(Path dir) throws IOException {
        Map<Path, byte[]> m = new LinkedHashMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).sorted().toList()) {
                m.put(p, Files.readAllBytes(p));
            }
        }
        return m;
    }

    @Test
    void cudaIsRefusedSayingWhy(@TempDir Path tmp) {
        org.junit.jupiter.api.Assumptions.assumeFalse(io.leviathan.backend.Backends.probe().stream()
                .anyMatch(b -> b.name().equals("cuda") && b.available()), "a GPU is present: cuda is not refused here");
        TrainConfig cfg = TestData.config(TestData.DENSE, TestData.synthetic(), tmp.resolve("run"), 2).with("device", "cuda");
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Trainer.create(cfg, null, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("cuda") && e.getMessage().contains("unavailable"), e.getMessage());
    }

    // ------------------------------------------------------------------ end to end

    /**
     * The bf16 precision policy trains like fp32: from the same seed on the same batches, the per-step
     * training loss of a bf16 run stays within {@link #BF16_LOSS_TOLERANCE} nats of the fp32 run's over 60 steps,
     * and both learn. bf16 rounding (relative error up to 2^-9) perturbs each step a little and the two runs
     * drift apart slowly, so the bound is on the absolute difference of the curves, not on bit equality.
     */
    @Test
    void bf16LossCurveTracksFp32(@TempDir Path tmp) throws IOException {
        Path corpus = SharedFixture.require(TestData.devCorpus(), "the development corpus data/nlp-corpus.jsonl.zst");
        Path slice = TestData.devSlice(corpus, tmp, 3000);
        double[][] curves = new double[2][];
        String[] precisions = {"fp32", "bf16"};
        for (int r = 0; r < 2; r++) {
            TrainConfig cfg = TestData.config(TestData.DENSE, slice, tmp.resolve(precisions[r]), 60)
                    .with("batch", "4").with("seq", "32").with("lr", "0.01").with("precision", precisions[r]);
            try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
                assertEquals(precisions[r], t.model().precision().label());
                t.run();
            }
            curves[r] = Files.readAllLines(tmp.resolve(precisions[r]).resolve("metrics.jsonl"), StandardCharsets.UTF_8)
                    .stream().filter(l -> l.startsWith("{\"step\"") && l.contains("\"loss\""))
                    .mapToDouble(l -> Double.parseDouble(l.replaceAll(".*\"loss\":([-0-9.Ee]+).*", "$1"))).toArray();
        }
        assertEquals(60, curves[0].length);
        assertEquals(60, curves[1].length);
        double worst = 0;
        StringBuilder table = new StringBuilder("step fp32 bf16\n");
        for (int i = 0; i < 60; i++) {
            worst = Math.max(worst, Math.abs(curves[1][i] - curves[0][i]));
            if (i % 10 == 9 || i == 0) {
                table.append(String.format(java.util.Locale.ROOT, "%d %.4f %.4f%n", i + 1, curves[0][i], curves[1][i]));
            }
        }
        System.out.print("[TrainerTest] bf16 vs fp32 loss, worst |difference| " + worst + "\n" + table);
        assertTrue(worst <= BF16_LOSS_TOLERANCE, "bf16 loss curve left fp32's by " + worst + " nats\n" + table);
        assertTrue(curves[1][59] < curves[1][0] - 1, "bf16 learns: " + curves[1][0] + " -> " + curves[1][59]);
        assertTrue(Math.abs(curves[1][0] - curves[0][0]) < 0.01, "same start: " + curves[0][0] + " vs " + curves[1][0]);
    }

    /** Nats: the largest per-step distance allowed between the bf16 and fp32 training-loss curves. */
    static final double BF16_LOSS_TOLERANCE = 0.1;

    /** A tiny model trained for a few dozen steps on a slice of the development corpus: validation loss falls. */
    @Test
    void validationLossFallsOnTheDevelopmentCorpus(@TempDir Path tmp) throws IOException {
        Path corpus = SharedFixture.require(TestData.devCorpus(), "the development corpus data/nlp-corpus.jsonl.zst");
        Path slice = TestData.devSlice(corpus, tmp, 3000);
        TrainConfig cfg = TestData.config(TestData.DENSE, slice, tmp.resolve("run"), 40)
                .with("batch", "4").with("seq", "32").with("lr", "0.01").with("evalEvery", "20").with("evalBatches", "8");
        double before;
        Trainer.Summary s;
        try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
            assertTrue(t.dataset().vocabularyMap().isPresent(), "raw files are prepared with a compacted vocabulary");
            assertEquals(t.dataset().vocabSize(), t.model().config().vocab());
            before = t.evaluate();
            s = t.run();
            double[] full = Trainer.evaluateSplit(t.model(), t.dataset(), Split.VAL, 4, null);
            assertTrue(full[0] < before, "whole-split loss " + full[0] + " vs initial " + before);
        }
        assertTrue(Files.isDirectory(tmp.resolve("run/data")), "the raw file was prepared into the run folder");
        assertTrue(s.valLoss() < before - 0.5, "validation loss " + before + " -> " + s.valLoss());
        assertTrue(s.lastLoss() < s.firstLoss(), "train loss " + s.firstLoss() + " -> " + s.lastLoss());
        List<String> lines = Files.readAllLines(tmp.resolve("run/metrics.jsonl"), StandardCharsets.UTF_8);
        assertEquals(40 + 2, lines.size(), "40 step rows and 2 evaluation rows");
        assertTrue(lines.get(19).startsWith("{\"step\":20,\"loss\":"), lines.get(19));
        assertTrue(lines.get(20).startsWith("{\"step\":20,\"val_loss\":"), lines.get(20));
        assertTrue(Files.exists(tmp.resolve("run/config.json")));
        assertTrue(Files.exists(s.checkpoint()));
    }
}
