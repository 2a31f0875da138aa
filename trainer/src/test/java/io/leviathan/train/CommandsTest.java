package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.BackendInfo;
import io.leviathan.backend.Backends;
import io.leviathan.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./leviathan train} and {@code ./leviathan eval} through {@link Main#run}. */
class CommandsTest {

    record Run(int status, String out, String err) {}

    static Run main(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int status = Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Run(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    static String[] tinyRun(Path out, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("train", "--data", TestData.synthetic().toString(),
                "--model", TestData.DENSE, "--family", "dense", "--steps", "3", "--batch", "2", "--seq", "16",
                "--out", out.toString(), "--set", "sampleTokens=0", "--set", "evalBatches=2"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void trainThenEvaluate(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        Run r = main(tinyRun(run));
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("done: 3 steps"), r.out());
        assertTrue(Files.exists(run.resolve("loss.png")), "loss plot written");
        assertTrue(Files.exists(run.resolve("checkpoints").resolve(Checkpoint.fileName(3))));

        Run e = main("eval", "--checkpoint", run.toString());
        assertEquals(0, e.status(), e.err());
        assertTrue(e.out().contains("val split") && e.out().contains("perplexity"), e.out());

        // resuming with more steps continues the same folder
        Run more = main("train", "--resume", run.toString(), "--steps", "5");
        assertEquals(0, more.status(), more.err());
        assertTrue(more.out().contains("resumed from") && more.out().contains("done: 5 steps"), more.out());
        assertTrue(Files.exists(run.resolve("checkpoints").resolve(Checkpoint.fileName(5))));
    }

    @Test
    void evalRefusesADatasetOfAnotherVocabulary(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        assertEquals(0, main(tinyRun(run)).status());
        Path txt = tmp.resolve("other.txt");
        Files.writeString(txt, "zebra quagga xylophone ".repeat(100) + "\n" + "jumbo ".repeat(60) + "\n");
        Path other = io.leviathan.data.DataPrepare.prepare(List.of(txt), tmp.resolve("other"), "o200k_base", 0.5, true,
                false, TestData.QUIET);
        Run e = main("eval", "--checkpoint", run.toString(), "--data", other.toString());
        assertEquals(1, e.status());
        assertTrue(e.err().contains("is not the vocabulary"), e.err());
    }

    @Test
    void badCommandLinesSayWhatIsValid(@TempDir Path tmp) throws Exception {
        Run r = main("train", "--stepz", "3");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Unknown option") && r.err().contains("'--stepz'") && r.err().contains("--steps=N"), r.err());

        r = main("train", "--steps");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Missing required parameter for option '--steps'"), r.err());

        r = main("train", "--batch", "many");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Invalid value for option '--batch': 'many' is not an int"), r.err());

        r = main("train", "--set", "colour=red");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("valid keys: model, family"), r.err());

        Path cfg = tmp.resolve("cfg.json");
        Files.writeString(cfg, "{\"steps\": 3, \"learning_rate\": 0.1}");
        r = main("train", "--config", cfg.toString());
        assertEquals(2, r.status(), "a usage error, as the same key given with --set");
        assertTrue(r.err().contains("unknown key 'learning_rate'") && r.err().contains("valid keys:"), r.err());

        if (!cudaAvailable()) { // where a GPU is present the same command trains on it instead
            r = main(tinyRun(tmp.resolve("cuda"), "--device", "cuda"));
            assertEquals(1, r.status());
            assertTrue(r.err().contains("backend 'cuda' is unavailable"), r.err());
            assertTrue(!Files.exists(tmp.resolve("cuda").resolve("checkpoints")),
                    "nothing written for an unavailable device");
        }

        for (String[] command : List.of(new String[] {"eval", "--checkpoint", "x"},
                new String[] {"generate", "--checkpoint", "x", "--prompt", "hi"},
                new String[] {"export", "--checkpoint", "x", "--out", "y"}, new String[] {"sweep", "--config", "x"})) {
            List<String> a = new java.util.ArrayList<>(List.of(command));
            a.addAll(List.of("--device", "tpu"));
            r = main(a.toArray(String[]::new));
            assertEquals(2, r.status(), command[0] + ": " + r.err());
            assertTrue(r.err().contains("Invalid value for option '--device': must be one of cpu, cuda, auto, got 'tpu'"),
                    command[0] + ": " + r.err());
        }
        r = main(tinyRun(tmp.resolve("tpu"), "--device", "tpu"));
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Invalid value for option '--device': must be one of cpu, cuda, auto, got 'tpu'"), r.err());

        r = main("eval");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Missing required option: '--checkpoint=DIR|FILE'"), r.err());

        r = main("eval", "--checkpoint", tmp.resolve("nothing").toString());
        assertEquals(1, r.status());
        assertTrue(r.err().contains("no such file or folder"), r.err());
    }

    @Test
    void autoTrainsOnWhatTheProbeAllows(@TempDir Path tmp) {
        BackendInfo cuda = Backends.probe().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        Run r = main(tinyRun(tmp.resolve("auto"), "--device", "auto"));
        assertEquals(0, r.status(), r.err());
        String expected;
        try (Backend cpu = Backends.cpu()) {
            expected = (cuda.available() ? "cuda" : cpu.name()) + " backend";
        }
        assertTrue(r.out().contains(", " + expected + ", "), "expected the " + expected + " (CUDA: " + cuda.detail()
                + "): " + r.out());
        assertTrue(r.out().contains("done: 3 steps"), r.out());
    }

    private static boolean cudaAvailable() {
        return Backends.probe().stream().anyMatch(b -> b.name().equals("cuda") && b.available());
    }
}
