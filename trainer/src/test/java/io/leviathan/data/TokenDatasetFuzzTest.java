package io.leviathan.data;

import io.leviathan.fuzz.Fuzzer;
import io.leviathan.fuzz.Mutations;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shard and manifest readers over mutations of a prepared dataset: every dataset opens and reads to its
 * last token, or is refused with an error naming the dataset folder.
 */
class TokenDatasetFuzzTest {
    private static final String DIR = "fuzz-dataset";

    @TempDir
    static Path tmp;
    /** The prepared dataset's files by name. */
    private static final Map<String, byte[]> FILES = new LinkedHashMap<>();
    private static final List<String> SHARDS = new ArrayList<>();

    @BeforeAll
    static void prepare() throws IOException {
        StringBuilder text = new StringBuilder();
        SplittableRandom r = new SplittableRandom(5);
        String[] words = "a cat sees the dog near one old tree and runs far".split(" ");
        for (int line = 0; line < 120; line++) {
            for (int w = 0; w < 4 + r.nextInt(6); w++) {
                text.append(w == 0 ? "" : " ").append(words[r.nextInt(words.length)]);
            }
            text.append(".\n");
        }
        Path txt = tmp.resolve("corpus.txt");
        Files.writeString(txt, text, StandardCharsets.UTF_8);
        Path ds = DataPrepare.prepare(List.of(txt), tmp.resolve("prepared"), "o200k_base", 0.2, true, false, 300,
                new PrintStream(PrintStream.nullOutputStream()));
        try (Stream<Path> s = Files.list(ds)) {
            for (Path p : s.sorted().toList()) {
                String name = p.getFileName().toString();
                FILES.put(name, Files.readAllBytes(p));
                if (name.endsWith(".tok")) {
                    SHARDS.add(name);
                }
            }
        }
        if (SHARDS.size() < 3 || !FILES.containsKey(DataPrepare.VOCAB_MAP)) {
            throw new IllegalStateException("expected several shards and a vocabulary map, got " + FILES.keySet());
        }
    }

    @Test
    void mutatedShards() {
        Fuzzer.run("shard", Fuzzer.tries(800), DIR, r -> encode(r, SHARDS.get(r.nextInt(SHARDS.size()))),
                TokenDatasetFuzzTest::open);
    }

    @Test
    void mutatedManifestsAndVocabularyMaps() {
        Fuzzer.run("manifest", Fuzzer.tries(800), DIR,
                r -> encode(r, r.nextInt(3) == 0 ? DataPrepare.VOCAB_MAP : DataPrepare.MANIFEST),
                TokenDatasetFuzzTest::open);
    }

    /**
     * An input names the mutated file and carries its new bytes: {@code name '\n' bytes}, so kept findings
     * replay as they were.
     */
    private static byte[] encode(SplittableRandom r, String name) {
        byte[] mutated = Mutations.mutate(FILES.get(name), r, 3);
        byte[] prefix = (name + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[prefix.length + mutated.length];
        System.arraycopy(prefix, 0, out, 0, prefix.length);
        System.arraycopy(mutated, 0, out, prefix.length, mutated.length);
        return out;
    }

    /** Writes the dataset with one file replaced, opens it, reads every token of both splits and verifies it. */
    private static void open(byte[] input) throws IOException {
        int nl = 0;
        while (nl < input.length && input[nl] != '\n') {
            nl++;
        }
        String replaced = new String(input, 0, nl, StandardCharsets.UTF_8);
        if (!FILES.containsKey(replaced) || nl == input.length) {
            throw new IllegalArgumentException("not a dataset input for " + DIR + ": names no file of the dataset");
        }
        Path ds = tmp.resolve(DIR);
        Files.createDirectories(ds);
        for (Map.Entry<String, byte[]> e : FILES.entrySet()) {
            byte[] b = e.getKey().equals(replaced)
                    ? java.util.Arrays.copyOfRange(input, nl + 1, input.length) : e.getValue();
            Files.write(ds.resolve(e.getKey()), b);
        }
        if (replaced.endsWith(".tok")) {
            TokenShard.readHeader(ds.resolve(replaced));
        }
        try (TokenDataset d = TokenDataset.open(ds)) {
            int[] buf = new int[64];
            for (Split s : Split.values()) {
                for (long i = 0; i < d.tokens(s); i += buf.length) {
                    int n = (int) Math.min(buf.length, d.tokens(s) - i);
                    d.read(s, i, buf, 0, n);
                    for (int k = 0; k < n; k++) {
                        d.toOriginal(buf[k]);
                    }
                }
            }
            d.verify();
        }
    }
}
