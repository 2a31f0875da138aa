package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.cli.Main;
import io.leviathan.data.DataPrepare;
import io.leviathan.io.SafeTensors;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Refusals that name what is wrong: the vocabulary of compacted data, a sampler state, generate's errors. */
class ResumeChecksTest {

    @Test
    void compactedDataTakesOnlyItsOwnVocabularySize(@TempDir Path tmp) {
        Path data = TestData.synthetic();
        int compacted;
        try (io.leviathan.data.TokenDataset ds = io.leviathan.data.TokenDataset.open(data)) {
            assertTrue(ds.compacted(), "the synthetic dataset is compacted");
            compacted = ds.vocabSize();
        }
        for (int vocab : new int[] {compacted + 1, compacted + 1000, compacted - 1}) {
            TrainConfig cfg = TestData.config(TestData.DENSE, data, tmp.resolve("run" + vocab), 1)
                    .with("vocab", Integer.toString(vocab));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Trainer.create(cfg, null, TestData.QUIET, false));
            assertTrue(e.getMessage().contains(Integer.toString(vocab)) && e.getMessage().contains(Integer.toString(compacted)),
                    "names both sizes: " + e.getMessage());
        }
        // the compacted size itself is accepted
        TrainConfig exact = TestData.config(TestData.DENSE, data, tmp.resolve("exact"), 1)
                .with("vocab", Integer.toString(compacted));
        try (Trainer t = Trainer.create(exact, null, TestData.QUIET, false)) {
            assertEquals(compacted, t.model().config().vocab());
        }
    }

    @Test
    void aSamplerStateThatDoesNotFitNamesTheCheckpoint(@TempDir Path tmp) {
        Path data = TestData.synthetic();
        Path run = tmp.resolve("run");
        TrainConfig cfg = TestData.config(TestData.DENSE, data, run, 2);
        Path ckpt;
        try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
            ckpt = t.run().checkpoint();
        }
        // the same text with another validation fraction: the same vocabulary, other split sizes
        Path text = data.getParent().resolve("synthetic.txt");
        Path other = DataPrepare.prepare(List.of(text), tmp.resolve("other"), "o200k_base", 0.3, true, false,
                TestData.QUIET);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(
                cfg.with("steps", "4").with("data", other.toString()), run, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("sampler state") && e.getMessage().contains(ckpt.getFileName().toString()),
                "names the checkpoint: " + e.getMessage());
    }

    @Test
    void generateErrorsAreLabelledGenerate(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        try (Trainer t = Trainer.create(TestData.config(TestData.DENSE, TestData.synthetic(), run, 1), null,
                TestData.QUIET, false)) {
            t.run();
        }
        Path exported = tmp.resolve("hf");
        HfLlamaExport.export(run, exported);
        // drop one weight from the exported file
        Path weights = exported.resolve("model.safetensors");
        Path copy = tmp.resolve("copy.safetensors");
        Files.copy(weights, copy);
        String dropped;
        try (TensorArena arena = new TensorArena()) {
            SafeTensors st = SafeTensors.open(copy, arena);
            Map<String, Tensor> kept = new LinkedHashMap<>();
            for (String name : st.names()) {
                kept.put(name, st.get(name));
            }
            dropped = "model.norm.weight";
            assertTrue(kept.remove(dropped) != null, "the export has " + dropped);
            SafeTensors.write(weights, kept, st.metadata());
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(new String[] {"generate", "--checkpoint", exported.toString(), "--prompt", "the",
                "--max-tokens", "2"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        String msg = err.toString(StandardCharsets.UTF_8);
        assertEquals(1, status, msg);
        assertTrue(msg.startsWith("leviathan generate: ") && msg.contains(dropped), msg);
        assertFalse(msg.contains("export:"), msg);
    }
}
