package io.leviathan.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.train.TestData;
import com.github.luben.zstd.ZstdInputStream;
import io.leviathan.cli.Main;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.ParameterCount;
import io.leviathan.train.Checkpoint;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * End to end: a tiny sweep (four dense sizes and their iso-body twins, six steps each) on a slice of the
 * development corpus; its result files, skip-on-restart, resume of an interrupted run, and the fit's outputs.
 * Skipped (visibly) when {@code shared/data/nlp-corpus.jsonl.zst} is not found above the working folder.
 */
class SweepTest {
    static final ObjectMapper JSON = new ObjectMapper();

    static Path devCorpus() {
        return TestData.devCorpus();
    }

    static Path slice(Path corpus, Path dir, int lines) throws IOException {
        return TestData.devSlice(corpus, dir, lines);
    }

    static String model(int d) {
        return "{\"name\":\"d" + d + "\",\"model\":{\"family\":\"dense\",\"dModel\":" + d
                + ",\"layers\":1,\"heads\":2,\"maxSeq\":32}}";
    }

    static Map<String, byte[]> results(Path out) throws IOException {
        Map<String, byte[]> m = new HashMap<>();
        try (Stream<Path> s = Files.list(out)) {
            for (Path p : s.toList()) {
                if (Files.isRegularFile(p.resolve(Sweep.RESULT))) {
                    m.put(p.getFileName().toString(), Files.readAllBytes(p.resolve(Sweep.RESULT)));
                }
            }
        }
        return m;
    }

    @Test
    void tinySweepRunsSkipsResumesAndFits(@TempDir Path tmp) throws IOException {
        Path corpus = devCorpus();
        assumeTrue(corpus != null, "shared/data/nlp-corpus.jsonl.zst not found above " + Path.of("").toAbsolutePath()
                + ": end-to-end sweep test skipped");
        Path data = slice(corpus, tmp, 1500);
        Path cfgFile = tmp.resolve("tiny-sweep.json");
        Files.writeString(cfgFile, """
                {"name": "tiny", "data": "slice.jsonl", "valFraction": 0.1, "compactVocab": true,
                 "dense": [%s, %s, %s, %s],
                 "variants": ["iso-body"],
                 "generator": {"digits": 2, "seedDim": 8, "heads": 2, "knots": 8, "rank": 8},
                 "steps": 6,
                 "train": {"batch": 2, "seq": 16, "lr": 0.01, "warmup": 1, "evalBatches": 2, "checkpointEvery": 3,
                           "keepCheckpoints": 5, "seed": 5},
                 "evalTokens": 512}
                """.formatted(model(16), model(24), model(32), model(48)));
        SweepConfig cfg = SweepConfig.read(cfgFile);
        assertEquals(data.toString(), cfg.data(), "a relative data path is taken from the config file's folder");
        Path out = tmp.resolve("sweep");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(buf, true, StandardCharsets.UTF_8);

        Sweep.Summary s = Sweep.run(cfg, out, "./leviathan sweep --config " + cfgFile, log);
        String text = buf.toString(StandardCharsets.UTF_8);
        assertEquals(8, s.runs(), text);
        assertEquals(8, s.trained(), text);
        assertTrue(s.failed().isEmpty(), s.failed().toString());
        assertTrue(text.contains("[1/8] dense-d16"), text);
        assertTrue(text.contains("ETA"), text);

        Map<String, byte[]> first = results(out);
        assertEquals(8, first.size(), first.keySet().toString());
        int vocab = JSON.readTree(out.resolve(Sweep.SWEEP_FILE).toFile()).get("vocab").asInt();
        for (Map.Entry<String, byte[]> e : first.entrySet()) {
            JsonNode r = JSON.readTree(e.getValue());
            String name = e.getKey();
            assertEquals(name, r.get("run").asText());
            boolean dense = name.startsWith("dense-");
            assertEquals(dense ? "dense" : "leviathan", r.get("family").asText());
            assertEquals(dense ? "dense" : "iso-body", r.get("variant").asText());
            assertEquals(dense ? name : name.replace("leviathan-iso-body-", "dense-"), r.get("twin").asText());
            ModelConfig mc = ModelConfigFiles.parse(r.get("model").toString(), name).config();
            assertEquals(vocab, mc.vocab());
            ParameterCount pc = ParameterCount.of(mc);
            assertEquals(pc.total(), r.get("parameters").get("total").asLong());
            assertEquals(pc.nonEmbedding(), r.get("parameters").get("non_embedding").asLong());
            assertEquals(pc.components().size(), r.get("parameters").get("components").size());
            assertEquals(6, r.get("steps").asLong());
            assertEquals(6 * 2 * 16, r.get("tokens_seen").asLong());
            assertTrue(Double.isFinite(r.get("val_loss").asDouble()) && r.get("val_loss").asDouble() > 0);
            assertTrue(r.get("val_tokens").asLong() > 0 && r.get("val_tokens").asLong() <= 512);
            assertTrue(r.get("tokens_per_s").asDouble() > 0);
            assertTrue(r.get("step_time_s").asDouble() > 0);
            assertTrue(r.get("wall_s").asDouble() > 0);
            assertEquals(1, r.get("depth").asInt());
        }

        // a restart skips every finished run and leaves its result untouched
        buf.reset();
        Sweep.Summary again = Sweep.run(cfg, out, null, log);
        assertEquals(0, again.trained(), buf.toString(StandardCharsets.UTF_8));
        assertEquals(8, again.alreadyDone());
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("finished already"));
        Map<String, byte[]> second = results(out);
        for (String k : first.keySet()) {
            assertArrayEquals(first.get(k), second.get(k), k);
        }

        // interrupted mid-run (checkpoint at step 3, no result): resumes and lands on the same loss, bit for bit;
        // stopped after its final checkpoint: only evaluated
        double resumedLoss = JSON.readTree(first.get("dense-d24-s5")).get("val_loss").asDouble();
        double evaluatedLoss = JSON.readTree(first.get("leviathan-iso-body-d16-s5")).get("val_loss").asDouble();
        Files.delete(out.resolve("dense-d24-s5").resolve(Sweep.RESULT));
        Files.delete(out.resolve("dense-d24-s5").resolve(Checkpoint.DIR).resolve(Checkpoint.fileName(6)));
        Files.delete(out.resolve("leviathan-iso-body-d16-s5").resolve(Sweep.RESULT));
        buf.reset();
        Sweep.Summary third = Sweep.run(cfg, out, null, log);
        String t3 = buf.toString(StandardCharsets.UTF_8);
        assertEquals(2, third.trained(), t3);
        assertTrue(t3.contains("resuming from"), t3);
        assertTrue(t3.contains("evaluating it"), t3);
        JsonNode resumed = JSON.readTree(out.resolve("dense-d24-s5").resolve(Sweep.RESULT).toFile());
        assertEquals(3, resumed.get("resumed_from_step").asLong());
        assertEquals(resumedLoss, resumed.get("val_loss").asDouble(), 0.0, "resumed run reaches the same loss");
        assertEquals(evaluatedLoss, JSON.readTree(out.resolve("leviathan-iso-body-d16-s5").resolve(Sweep.RESULT).toFile())
                .get("val_loss").asDouble(), 0.0);

        // another configuration in the same folder is refused, not overwritten
        Path other = tmp.resolve("other.json");
        Files.writeString(other, Files.readString(cfgFile).replace("\"lr\": 0.01", "\"lr\": 0.02"));
        byte[] sweepFile = Files.readAllBytes(out.resolve(Sweep.SWEEP_FILE));
        IllegalArgumentException refused = assertThrows(IllegalArgumentException.class, () -> Sweep.run(
                SweepConfig.read(other), out, null, new PrintStream(PrintStream.nullOutputStream())));
        assertTrue(refused.getMessage().contains("another configuration") && refused.getMessage().contains("lr"),
                refused.getMessage());
        assertArrayEquals(sweepFile, Files.readAllBytes(out.resolve(Sweep.SWEEP_FILE)), "nothing rewritten");

        // the fit's outputs, through the command line
        ByteArrayOutputStream fitOut = new ByteArrayOutputStream();
        PrintStream fp = new PrintStream(fitOut, true, StandardCharsets.UTF_8);
        assertEquals(0, Main.run(new String[] {"fit", out.toString(), "--bootstrap", "200"}, fp, fp),
                fitOut.toString(StandardCharsets.UTF_8));
        for (String f : List.of("report.md", "fit.json", "scaling.png")) {
            assertTrue(Files.size(out.resolve(f)) > 0, f);
        }
        JsonNode fit = JSON.readTree(out.resolve("fit.json").toFile());
        assertEquals(8, fit.get("runs").size());
        assertTrue(Files.readString(out.resolve("report.md")).contains("./leviathan sweep --config"));
        try (Stream<Path> st = Files.list(out)) {
            assertFalse(st.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }

    /**
     * The cluster path without a scheduler: --list prints the runs, --slurm writes an array script with one task
     * per run, each task's command (--run ID, as Slurm would start it) trains its run, a repeated task returns
     * at once, and fit gathers every task's result, with both baseline laws and the arm comparison.
     */
    @Test
    void slurmArrayTasksRunOneEachAndFitGathersThem(@TempDir Path tmp) throws Exception {
        Path corpus = devCorpus();
        assumeTrue(corpus != null, "shared/data/nlp-corpus.jsonl.zst not found: Slurm gathering test skipped");
        slice(corpus, tmp, 1200);
        Path cfgFile = tmp.resolve("cluster.json");
        Files.writeString(cfgFile, """
                {"name": "cluster", "data": "slice.jsonl", "valFraction": 0.1,
                 "dense": [%s, %s, %s, %s], "arms": ["dense", "dense-tied"], "seeds": [3],
                 "generator": {"digits": 2, "seedDim": 8, "heads": 2, "knots": 8, "rank": 8},
                 "steps": 4, "train": {"batch": 2, "seq": 16, "lr": 0.01, "warmup": 1, "evalBatches": 1},
                 "evalTokens": 256}
                """.formatted(model(16), model(24),
                model(32).replace("}}", "}, \"arms\": [\"dense\", \"dense-tied\", \"iso-body\"], \"seeds\": [3, 4]}"),
                model(48)));
        Path out = tmp.resolve("runs");
        Path script = tmp.resolve("cluster.sbatch");
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream log = new PrintStream(buf, true, StandardCharsets.UTF_8);
        assertEquals(0, Main.run(new String[] {"sweep", "--config", cfgFile.toString(), "--out", out.toString(), "--list"},
                log, log), buf.toString(StandardCharsets.UTF_8));
        String listing = buf.toString(StandardCharsets.UTF_8);
        assertTrue(listing.contains("leviathan-iso-body-d32-s4") && listing.contains("pending"), listing);
        assertEquals(0, Main.run(new String[] {"sweep", "--config", cfgFile.toString(), "--out", out.toString(),
                "--slurm", script.toString()}, log, log), buf.toString(StandardCharsets.UTF_8));
        String text = Files.readString(script);
        List<String> ids = List.of("dense-d16-s3", "dense-tied-d16-s3", "dense-d24-s3", "dense-tied-d24-s3",
                "dense-d32-s3", "dense-tied-d32-s3", "leviathan-iso-body-d32-s3", "dense-d32-s4", "dense-tied-d32-s4",
                "leviathan-iso-body-d32-s4", "dense-d48-s3", "dense-tied-d48-s3");
        assertTrue(text.contains("#SBATCH --array=0-" + (ids.size() - 1) + "\n"), text);
        List<String> listed = text.lines().dropWhile(l -> !l.equals("RUNS=(")).skip(1).takeWhile(l -> !l.equals(")"))
                .map(String::strip).toList();
        assertEquals(ids, listed, "one array task per run, in plan order");
        assertTrue(text.contains("--run \"$ID\"") && text.contains("ID=\"${RUNS[$SLURM_ARRAY_TASK_ID]}\""), text);
        assertTrue(text.contains("--out " + out.toAbsolutePath().normalize()), text);
        Process bash = new ProcessBuilder("bash", "-n", script.toString()).redirectErrorStream(true).start();
        assertEquals(0, bash.waitFor(), "bash -n: " + new String(bash.getInputStream().readAllBytes()));

        for (String id : listed) { // what each array task runs
            assertEquals(0, Main.run(new String[] {"sweep", "--config", cfgFile.toString(), "--out", out.toString(),
                    "--run", id}, log, log), buf.toString(StandardCharsets.UTF_8));
        }
        buf.reset();
        assertEquals(0, Main.run(new String[] {"sweep", "--config", cfgFile.toString(), "--out", out.toString(),
                "--run", ids.get(6)}, log, log));
        assertTrue(buf.toString(StandardCharsets.UTF_8).contains("finished already"), "a resubmitted task returns");
        assertEquals(1, Main.run(new String[] {"sweep", "--config", cfgFile.toString(), "--out", out.toString(),
                "--run", "dense-d99-s3"}, log, log), "an unknown ID is an error");

        assertEquals(0, Main.run(new String[] {"fit", out.toString()}, log, log), buf.toString(StandardCharsets.UTF_8));
        JsonNode fit = JSON.readTree(out.resolve("fit.json").toFile());
        assertEquals(ids.size(), fit.get("runs").size(), "every task's result gathered");
        JsonNode arms = fit.get("arms");
        assertEquals(2, arms.size(), "iso-body at d32 against the untied and the tied law");
        for (JsonNode a : arms) {
            assertEquals(List.of("leviathan-iso-body-d32-s3", "leviathan-iso-body-d32-s4"),
                    JSON.convertValue(a.get("runs"), List.class));
            assertTrue(a.get("loss_minus_twin").isNumber() && a.get("loss_minus_twin_sd").isNumber(), a.toString());
            assertTrue(a.get("n_eff_over_n_twin").isNumber() || a.get("n_eff_over_n_twin").isTextual(), a.toString());
        }
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("## Arms against both baselines") && report.contains("tied dense law"), report);
        assertTrue(Files.size(out.resolve("loss-vs-flops.png")) > 0);
    }

    @Test
    void sweepCommandNeedsAConfig() {
        PrintStream q = new PrintStream(PrintStream.nullOutputStream());
        assertEquals(2, Main.run(new String[] {"sweep"}, q, q));
        assertEquals(2, Main.run(new String[] {"sweep", "--config", "x.json", "--device", "tpu"}, q, q));
        assertEquals(2, Main.run(new String[] {"sweep", "--config", "/nonexistent/sweep.json"}, q, q),
                "a config file that cannot be read is a usage error");
        assertThrows(IllegalArgumentException.class, () -> SweepConfig.read(Path.of("/nonexistent/sweep.json")));
    }
}
