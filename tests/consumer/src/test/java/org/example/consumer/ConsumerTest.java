package org.example.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.model.Family;
import io.leviathan.model.LeviathanGenerator;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.Presets;
import io.leviathan.model.TokenEmbedding;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.train.AdamW;
import io.leviathan.train.AdamWConfig;
import io.leviathan.train.Checkpoint;
import io.leviathan.train.CosineSchedule;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.reflect.InaccessibleObjectException;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.spi.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user's project does with the library, through its exported packages only: a Leviathan model from a
 * preset, a few AdamW steps on an in-memory corpus, a checkpoint saved and loaded back, the generator
 * materialised into an embedding table. And what it cannot do: reach a package the library does not export.
 */
class ConsumerTest {
    static final int BATCH = 2;
    static final int SEQ = 32;
    static final int STEPS = 6;
    static final float CLIP = 1f;

    static final List<String> DOCUMENTS = List.of(
            "The river runs past the mill and under the old stone bridge.",
            "A baker opens her shop before the sun is up and sells bread until noon.",
            "Children walk to school along the river, counting the boats they pass.",
            "The mill grinds wheat into flour, and the flour goes to the baker.",
            "In winter the river freezes and the boats stay tied to the bank.",
            "The old bridge has seven arches; the middle one is the widest.",
            "Every market day the farmers bring apples, cheese and eggs into town.",
            "The baker buys eggs from the farmers and bakes them into cakes.",
            "When the bell rings at noon, the children run home for lunch.",
            "At night the town is quiet and only the river can be heard.",
            "The miller and the baker have been friends since they were children.",
            "Boats carry flour down the river to the city by the sea.");

    @Test
    void runsOnTheModulePath() {
        assertEquals("org.example.consumer", ConsumerTest.class.getModule().getName());
        assertEquals("io.leviathan.core", LlamaModel.class.getModule().getName());
        assertEquals("io.leviathan.trainer", AdamW.class.getModule().getName());
    }

    @Test
    void trainsSavesReloadsAndMaterialisesALeviathanModel(@TempDir Path dir) {
        Tokenizer tokenizer = Tokenizer.of(Tokenizer.DEFAULT);
        InMemoryCorpus corpus = InMemoryCorpus.of(tokenizer, DOCUMENTS);
        VocabularyMap vocabulary = corpus.vocabulary();
        int vocab = vocabulary.size();
        assertTrue(corpus.windows(SEQ) >= BATCH, "corpus of " + corpus.length() + " tokens is too short");
        ModelConfig config = ModelConfigs.isoBody(Presets.get("tiny").withVocab(vocab));
        assertEquals(Family.LEVIATHAN, config.family());

        int[] ids = new int[BATCH * SEQ];
        int[] targets = new int[BATCH * SEQ];
        int[] evalIds = new int[BATCH * SEQ];
        int[] evalTargets = new int[BATCH * SEQ];
        corpus.batch(0, SEQ, evalIds, evalTargets);
        CosineSchedule schedule = new CosineSchedule(1e-2f, 1e-3f, 1, STEPS);

        try (Backend be = Backends.cpu(); TensorArena arena = be.newArena();
             LlamaModel model = new LlamaModel(be, config, BATCH, SEQ);
             AdamW opt = new AdamW(be, model.parameters(), AdamWConfig.defaults())) {
            model.initialize(1234);
            Tensor lossSum = arena.allocate(DType.F32, 1);

            // ---- train
            double before = model.evaluate(evalIds, evalTargets);
            assertEquals(Math.log(vocab), before, 0.5, "an untrained model predicts about uniformly over " + vocab);
            for (int step = 0; step < STEPS; step++) {
                corpus.batch(step * BATCH, SEQ, ids, targets);
                double loss = trainStep(be, model, opt, lossSum, ids, targets, schedule.lr(step));
                assertTrue(Double.isFinite(loss), "loss at step " + step + " is " + loss);
            }
            double after = model.evaluate(evalIds, evalTargets);
            assertTrue(after < before - 0.5, "loss should fall by more than 0.5 in " + STEPS + " steps: " + before
                    + " -> " + after);

            // ---- save and load back
            Path file = Checkpoint.save(dir, STEPS, model, opt, Map.of(
                    "tokenizer", tokenizer.name(),
                    "vocabulary_map", Checkpoint.vocabularyText(vocabulary),
                    "vocabulary_sha256", Checkpoint.vocabularyHash(Optional.of(vocabulary))), 1);
            try (Checkpoint ckpt = Checkpoint.load(file);
                 LlamaModel reloaded = new LlamaModel(be, ckpt.modelConfig(), BATCH, SEQ);
                 AdamW reloadedOpt = new AdamW(be, reloaded.parameters(), AdamWConfig.defaults())) {
                assertEquals(config, ckpt.modelConfig());
                assertEquals(STEPS, ckpt.step());
                assertEquals(vocabulary, ckpt.vocabularyMap().orElseThrow());
                ckpt.restoreWeights(reloaded);
                ckpt.restoreOptimizer(reloadedOpt);
                assertArrayEquals(be.downloadFloats(model.parameters().flatValues()),
                        be.downloadFloats(reloaded.parameters().flatValues()), "weights after reload");
                assertEquals(after, reloaded.evaluate(evalIds, evalTargets), "loss after reload");

                // one more step on each: equal only if the moments and AdamW's step count came back too
                corpus.batch(STEPS * BATCH, SEQ, ids, targets);
                float lr = schedule.lr(STEPS - 1);
                double next = trainStep(be, model, opt, lossSum, ids, targets, lr);
                assertEquals(next, trainStep(be, reloaded, reloadedOpt, lossSum, ids, targets, lr), "loss of the next step");
                assertArrayEquals(be.downloadFloats(model.parameters().flatValues()),
                        be.downloadFloats(reloaded.parameters().flatValues()), "weights after the next step");
            }

            // ---- the generator as an ordinary [V, D] table
            TokenEmbedding generator = model.embedding();
            assertInstanceOf(LeviathanGenerator.class, generator);
            int d = config.dModel();
            Tensor table = arena.allocate(DType.F32, vocab, d);
            generator.materialize(table);
            float[] rows = be.downloadFloats(table);
            int[] probe = {0, 1, vocab / 2, vocab - 1};
            Tensor probeIds = arena.allocate(DType.I32, probe.length);
            be.upload(probe, probeIds);
            Tensor generated = arena.allocate(DType.F32, probe.length, d);
            generator.forward(probeIds, probe, generated);
            float[] direct = be.downloadFloats(generated);
            for (int i = 0; i < probe.length; i++) {
                for (int j = 0; j < d; j++) {
                    float want = direct[i * d + j];
                    assertEquals(want, rows[probe[i] * d + j], 1e-5f * (1 + Math.abs(want)),
                            "table row " + probe[i] + ", column " + j);
                }
            }
            float diff = 0;
            for (int j = 0; j < d; j++) {
                diff += Math.abs(rows[j] - rows[d + j]);
            }
            assertTrue(diff > 1e-3f, "rows 0 and 1 of the table should differ, differ by " + diff);
        }
    }

    /** One AdamW update on one batch; returns its loss. */
    private static double trainStep(Backend be, LlamaModel model, AdamW opt, Tensor lossSum, int[] ids, int[] targets,
                                    float lr) {
        model.parameters().zeroGrads(be);
        be.fill(lossSum, 0f);
        model.accumulateLoss(ids, targets, lossSum);
        model.backward();
        opt.step(lr, CLIP);
        return be.downloadScalar(lossSum);
    }

    @Test
    void theCpuBackendIsReachableOnlyThroughTheExportedInterface() throws ReflectiveOperationException {
        Class<?> cpu = Class.forName("io.leviathan.backend.cpu.CpuBackend"); // loading is allowed, access is not
        assertTrue(!cpu.getModule().isExported(cpu.getPackageName()), "io.leviathan.backend.cpu is exported");
        try (Backend be = Backends.cpu(1)) {
            assertSame(cpu, be.getClass());
            Method name = cpu.getMethod("name");
            assertThrows(IllegalAccessException.class, () -> name.invoke(be));
            assertThrows(InaccessibleObjectException.class, () -> name.setAccessible(true));
            assertEquals("cpu", be.name());
        }
    }

    @Test
    void javacRefusesToCompileAgainstANonExportedPackage(@TempDir Path dir) throws IOException {
        // the control: the same code against an exported class compiles
        Compilation exported = compileProbe(dir.resolve("exported"), "io.leviathan.backend.Backends");
        assertEquals(0, exported.exitCode(), exported.output());
        Compilation internal = compileProbe(dir.resolve("internal"), "io.leviathan.backend.cpu.CpuBackend");
        assertNotEquals(0, internal.exitCode(), "javac compiled a use of io.leviathan.backend.cpu");
        assertTrue(internal.output().contains("package io.leviathan.backend.cpu is declared in module io.leviathan.core,"
                + " which does not export it"), internal.output());
    }

    record Compilation(int exitCode, String output) {}

    /** Compiles a module like this one, whose one class names {@code className}, against the library's jars. */
    private static Compilation compileProbe(Path root, String className) throws IOException {
        String modulePath = System.getProperty("jdk.module.path");
        assertNotNull(modulePath, "the tests must run on the module path");
        Path src = Files.createDirectories(root.resolve("src/probe"));
        Files.writeString(root.resolve("src/module-info.java"), "module probe { requires io.leviathan.trainer; }\n");
        Files.writeString(src.resolve("Probe.java"),
                "package probe;\nclass Probe {\n    Class<?> used = " + className + ".class;\n}\n");
        ToolProvider javac = ToolProvider.findFirst("javac").orElseThrow();
        ByteArrayOutputStream text = new ByteArrayOutputStream();
        List<String> args = new ArrayList<>(List.of("-d", root.resolve("out").toString(), "--module-path", modulePath,
                root.resolve("src/module-info.java").toString(), src.resolve("Probe.java").toString()));
        try (PrintStream out = new PrintStream(text, true, StandardCharsets.UTF_8)) {
            int code = javac.run(out, out, args.toArray(String[]::new));
            return new Compilation(code, text.toString(StandardCharsets.UTF_8));
        }
    }
}
