package io.leviathan.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DefaultCorpusTest {
    @TempDir
    Path tmp;

    @Test
    void preparesOnceAndReuses() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path dir = DefaultCorpus.prepared(tmp, new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(tmp.resolve(DefaultCorpus.FOLDER), dir);
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("50,000 documents: 47,500 train, 2,500 val"),
                log.toString(StandardCharsets.UTF_8));
        try (TokenDataset ds = TokenDataset.open(dir)) {
            assertEquals("o200k_base", ds.tokenizerName());
            assertTrue(ds.compacted());
            assertTrue(ds.tokens(Split.TRAIN) > 500_000, "train tokens " + ds.tokens(Split.TRAIN));
            assertTrue(ds.vocabSize() > 10_000 && ds.vocabSize() < 60_000, "vocab " + ds.vocabSize());
        }
        var stamp = Files.getLastModifiedTime(dir.resolve("manifest.json"));
        ByteArrayOutputStream again = new ByteArrayOutputStream();
        assertEquals(dir, DefaultCorpus.prepared(tmp, new PrintStream(again, true, StandardCharsets.UTF_8)));
        assertEquals("", again.toString(StandardCharsets.UTF_8), "a valid cached dataset is reused");
        assertEquals(stamp, Files.getLastModifiedTime(dir.resolve("manifest.json")));
    }
}
