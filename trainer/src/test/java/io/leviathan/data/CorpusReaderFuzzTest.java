package io.leviathan.data;

import com.github.luben.zstd.Zstd;
import io.leviathan.fuzz.Fuzzer;
import io.leviathan.fuzz.Mutations;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The JSON Lines reader (plain and zstd-compressed) over mutated corpora: every corpus reads to its end or
 * is refused with an error naming the file (and line).
 */
class CorpusReaderFuzzTest {
    private static final String FILE = "fuzz-corpus.jsonl";

    private static final byte[] VALID = ("""
            {"text": "The cat sat.", "meta": {"pile_set_name": "Pile-CC"}}
            {"text": "Zwei Wörter \\u00e9 \\ud83d\\ude00 emoji"}

            {"text": "", "meta": null}
            \uFEFF{"text": "line\\nbreak", "id": 12345}
            {"text": "last line without newline"}""").getBytes(StandardCharsets.UTF_8);

    /** Reads the whole corpus, with and without skipping malformed lines. */
    private static void read(byte[] input, boolean zstd, boolean skip) {
        String name = zstd ? FILE + ".zst" : FILE;
        CorpusReader.Source src = CorpusReader.describe(name, input.length, () -> new ByteArrayInputStream(input));
        CorpusReader.Counts counts = new CorpusReader.Counts();
        long[] chars = {0};
        CorpusReader.read(src, skip, doc -> chars[0] += doc.length(), counts);
        if (counts.documents < 0 || counts.skippedLines > counts.lines) {
            throw new AssertionError("inconsistent counts for " + name);
        }
    }

    @Test
    void mutatedJsonLines() {
        Fuzzer.run("jsonl", Fuzzer.tries(4000), FILE, r -> Mutations.mutate(VALID, r, 6),
                input -> read(input, false, input.length % 2 == 0));
    }

    @Test
    void mutatedZstdJsonLines() {
        byte[] compressed = Zstd.compress(VALID);
        Fuzzer.run("jsonl-zstd", Fuzzer.tries(2000), FILE, r -> zstdMutant(r, compressed),
                input -> read(input, true, input.length % 2 == 0));
    }

    /** A damaged compressed stream, or a valid stream of a damaged corpus. */
    private static byte[] zstdMutant(SplittableRandom r, byte[] compressed) {
        return r.nextBoolean() ? Mutations.mutate(compressed, r, 3) : Zstd.compress(Mutations.mutate(VALID, r, 6));
    }
}
