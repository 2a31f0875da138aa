package io.leviathan.data;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** A full disk while preparing data is reported against the output, never the input being read. */
class OutputFailureTest {

    private static final String DISK_FULL = "No space left on device";

    @Test
    void aWriterThatFailsIsNotAReadErrorOfTheInput() {
        byte[] text = "{\"text\":\"one\"}\n{\"text\":\"two\"}\n".getBytes(StandardCharsets.UTF_8);
        CorpusReader.Source src = CorpusReader.describe("input.jsonl", text.length, () -> new ByteArrayInputStream(text));
        IOException full = new IOException(DISK_FULL);
        int[] calls = {0};
        CorpusReader.SinkException e = assertThrows(CorpusReader.SinkException.class,
                () -> CorpusReader.read(src, false, doc -> {
                    if (++calls[0] == 2) {
                        throw full;
                    }
                }, new CorpusReader.Counts()));
        assertSame(full, e.getCause());
        assertFalse(e.getMessage().contains("read error") || e.getMessage().contains("input.jsonl"), e.getMessage());

        Path out = Path.of("/data/prepared");
        UncheckedIOException reported = DataPrepare.writeFailure(out, e.getCause());
        assertTrue(reported.getMessage().contains(out.toString()) && reported.getMessage().contains(DISK_FULL),
                reported.getMessage());
        assertFalse(reported.getMessage().contains("input.jsonl"), reported.getMessage());
    }

    @Test
    void aReadErrorOfTheInputIsStillNamedAsSuch() {
        CorpusReader.Source src = CorpusReader.describe("input.txt", 10, () -> new java.io.InputStream() {
            @Override
            public int read() throws IOException {
                throw new IOException("Input/output error");
            }
        });
        UncheckedIOException e = assertThrows(UncheckedIOException.class,
                () -> CorpusReader.read(src, false, doc -> { }, new CorpusReader.Counts()));
        assertFalse(e instanceof CorpusReader.SinkException);
        assertTrue(e.getMessage().contains("input.txt") && e.getMessage().contains("read error"), e.getMessage());
    }
}
