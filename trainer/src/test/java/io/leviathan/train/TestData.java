package io.leviathan.train;

import com.github.luben.zstd.ZstdInputStream;
import io.leviathan.data.DataPrepare;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** Small datasets and models for the trainer's tests. */
public final class TestData {
    private TestData() {}

    static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    /** A 1-layer dense model of width 16 (the vocabulary comes from the dataset). */
    static final String DENSE = "{\"family\":\"dense\",\"dModel\":16,\"layers\":1,\"heads\":2,\"ffnHidden\":32,\"maxSeq\":32}";
    /** A 1-layer Leviathan model of width 16 with a small generator. */
    static final String LEVIATHAN = "{\"family\":\"leviathan\",\"dModel\":16,\"layers\":1,\"heads\":2,\"ffnHidden\":32,"
            + "\"maxSeq\":32,\"generator\":{\"digits\":2,\"seedDim\":8,\"heads\":2,\"knots\":8,\"rank\":8}}";

    private static Path synthetic;

    /**
     * A prepared dataset of synthetic sentences over a 40-word vocabulary (about 12k tokens), prepared once
     * per test run.
     */
    static synchronized Path synthetic() {
        if (synthetic != null) {
            return synthetic;
        }
        try {
            Path dir = Files.createTempDirectory("leviathan-train-test");
            String[] words = ("the a cat dog bird sees eats likes small big red green runs sleeps under over house tree "
                    + "river stone quickly slowly and or but near far old young one two three four sun moon sky blue "
                    + "day night warm cold").split(" ");
            SplittableRandom r = new SplittableRandom(7);
            StringBuilder sb = new StringBuilder();
            for (int line = 0; line < 600; line++) {
                int n = 5 + r.nextInt(8);
                for (int w = 0; w < n; w++) {
                    // a Zipf-like choice, so there is something to learn beyond the unigram
                    int i = (int) Math.min(words.length - 1, Math.floor(Math.pow(r.nextDouble(), 2) * words.length));
                    sb.append(w == 0 ? "" : " ").append(words[(i + 3 * w) % words.length]);
                }
                sb.append(".\n");
            }
            Path txt = dir.resolve("synthetic.txt");
            Files.writeString(txt, sb, StandardCharsets.UTF_8);
            synthetic = DataPrepare.prepare(List.of(txt), dir.resolve("prepared"), "o200k_base", 0.1, true, false, QUIET);
            return synthetic;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The development corpus ({@code shared/data/nlp-corpus.jsonl.zst}), found by walking up; null if absent. */
    public static Path devCorpus() {
        Path p = Path.of("").toAbsolutePath();
        for (int i = 0; i < 6 && p != null; i++, p = p.getParent()) {
            for (Path cand : List.of(p.resolve("shared/data/nlp-corpus.jsonl.zst"),
                    p.resolveSibling("shared").resolve("data/nlp-corpus.jsonl.zst"))) {
                if (Files.isRegularFile(cand)) {
                    return cand;
                }
            }
        }
        return null;
    }

    /** The first {@code lines} records of the development corpus as a .jsonl file in {@code dir}. */
    public static Path devSlice(Path corpus, Path dir, int lines) throws IOException {
        Path out = dir.resolve("slice.jsonl");
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new ZstdInputStream(Files.newInputStream(corpus)), StandardCharsets.UTF_8));
             var w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
            for (int i = 0; i < lines; i++) {
                String line = r.readLine();
                if (line == null) {
                    break;
                }
                w.write(line);
                w.newLine();
            }
        }
        return out;
    }

    /** A configuration for a short test run of {@code model} on {@code data} into {@code out}. */
    static TrainConfig config(String model, Path data, Path out, int steps) {
        return TrainConfig.parse("{\"model\":" + model + ",\"family\":null,\"steps\":" + steps
                + ",\"batch\":2,\"seq\":16,\"lr\":0.01,\"warmup\":" + Math.min(2, steps) + ",\"evalEvery\":0,\"evalBatches\":2,\"checkpointEvery\":0,"
                + "\"keepCheckpoints\":5,\"sampleTokens\":0,\"seed\":11}", "test")
                .with("data", data.toString()).with("out", out.toString());
    }
}
