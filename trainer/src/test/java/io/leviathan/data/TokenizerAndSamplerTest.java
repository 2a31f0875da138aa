package io.leviathan.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TokenizerAndSamplerTest {
    @TempDir
    static Path tmp;
    static TokenDataset ds;

    @BeforeAll
    static void prepare() throws IOException {
        Path src = Fixtures.write(tmp.resolve("s.txt"), Fixtures.sentences(400, "Sampler"));
        ds = TokenDataset.open(DataPrepare.prepare(List.of(src), tmp.resolve("ds"), "o200k_base", 0.05, true, false,
                2000, null));
    }

    @AfterAll
    static void close() {
        ds.close();
    }

    @Test
    void tokenizers() {
        Tokenizer o = Tokenizer.of("o200k_base");
        assertEquals(200_019, o.vocabSize());
        assertEquals(199_999, o.endOfText());
        assertEquals("<|endoftext|>", o.decode(new int[] {199_999}));
        assertEquals("<|endofprompt|>", o.decode(new int[] {200_018})); // the highest id
        Exception e = assertThrows(IllegalArgumentException.class, () -> o.decode(new int[] {1, 200_019}));
        assertTrue(e.getMessage().contains("200019"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> o.decode(new int[] {1, 200_005}));
        assertTrue(e.getMessage().contains("200005") && e.getMessage().contains("position 1"), e.getMessage());
        String text = "Hello, wörld! <|endoftext|> is text here.";
        int[] ids = o.encode(text);
        for (int id : ids) {
            assertNotEquals(o.endOfText(), id, "special-token text is encoded as ordinary text");
        }
        assertEquals(text, o.decode(ids));
        Tokenizer c = Tokenizer.of("cl100k_base");
        assertEquals(100_277, c.vocabSize());
        assertEquals(100_257, c.endOfText());
        assertEquals(text, c.decode(c.encode(text)));
        assertThrows(IllegalArgumentException.class, () -> Tokenizer.of("p50k_base"));
    }

    @Test
    void vocabularyMapRoundTripsAndRejectsBadInput() throws IOException {
        VocabularyMap m = VocabularyMap.of("o200k_base", 200_019, new int[] {3, 17, 500, 199_999});
        assertEquals(4, m.size());
        assertEquals(2, m.toCompact(500));
        assertEquals(199_999, m.toOriginal(3));
        Exception e = assertThrows(IllegalArgumentException.class, () -> m.toCompact(4));
        assertTrue(e.getMessage().contains("token id 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> m.toOriginal(4));
        Path f = tmp.resolve("map.json");
        m.save(f);
        assertEquals(m, VocabularyMap.load(f));
        assertEquals(m, VocabularyMap.fromJsonString(m.toJsonString(), "metadata"));
        assertThrows(IllegalArgumentException.class, () -> VocabularyMap.of("o200k_base", 200_019, new int[] {5, 5}));
        java.nio.file.Files.writeString(f, "{\"format\": \"leviathan-vocab-map\", \"version\": 1}");
        e = assertThrows(IllegalArgumentException.class, () -> VocabularyMap.load(f));
        assertTrue(e.getMessage().contains(f.toString()), e.getMessage());
    }

    private static int[][] draw(BatchSampler s, int batches) {
        int n = s.batch() * s.seq();
        int[][] out = new int[batches * 2][];
        for (int i = 0; i < batches; i++) {
            out[2 * i] = new int[n];
            out[2 * i + 1] = new int[n];
            s.next(out[2 * i], out[2 * i + 1]);
        }
        return out;
    }

    @Test
    void randomWindowsAreDeterministicShiftedAndResumable() {
        BatchSampler a = new BatchSampler(ds, Split.TRAIN, 4, 16, 42);
        BatchSampler b = new BatchSampler(ds, Split.TRAIN, 4, 16, 42);
        int[][] x = draw(a, 5);
        assertArrayEquals(x, draw(b, 5));
        assertFalse(java.util.Arrays.deepEquals(x, draw(new BatchSampler(ds, Split.TRAIN, 4, 16, 43), 5)));
        int[] window = new int[17];
        int[] in = x[0];
        int[] tg = x[1];
        for (int r = 0; r < 4; r++) {
            for (int t = 0; t < 15; t++) {
                assertEquals(in[r * 16 + t + 1], tg[r * 16 + t], "targets are the inputs shifted by one");
            }
            for (int v : in) {
                assertTrue(v >= 0 && v < ds.vocabSize());
            }
        }
        // each row is a real window of the split
        int[] all = Fixtures.all(ds, Split.TRAIN);
        boolean found = false;
        for (int s = 0; s + 17 <= all.length && !found; s++) {
            System.arraycopy(all, s, window, 0, 17);
            found = java.util.Arrays.equals(window, 0, 16, in, 0, 16) && window[16] == tg[15];
        }
        assertTrue(found, "the first row is a window of the training split");

        long[] state = a.state();
        int[][] rest = draw(a, 7);
        BatchSampler c = new BatchSampler(ds, Split.TRAIN, 4, 16, 999);
        c.restore(state);
        assertArrayEquals(rest, draw(c, 7), "restored sampler continues bit-exactly");
        assertEquals(a.sequencesDrawn(), c.sequencesDrawn());

        Exception e = assertThrows(IllegalArgumentException.class,
                () -> new BatchSampler(ds, Split.TRAIN, 2, 16, 42).restore(state));
        assertTrue(e.getMessage().contains("batch"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> BatchSampler.shuffled(ds, Split.TRAIN, 4, 16, 42, 100).restore(state));
        assertTrue(e.getMessage().contains("mode"), e.getMessage());
    }

    @Test
    void shuffleBufferAndSequential() {
        BatchSampler a = BatchSampler.shuffled(ds, Split.TRAIN, 3, 8, 7, BatchSampler.PAPER_SHUFFLE_BUFFER);
        BatchSampler b = BatchSampler.shuffled(ds, Split.TRAIN, 3, 8, 7, BatchSampler.PAPER_SHUFFLE_BUFFER);
        assertArrayEquals(draw(a, 4), draw(b, 4));
        long[] state = a.state();
        int[][] rest = draw(a, 50);
        BatchSampler c = BatchSampler.shuffled(ds, Split.TRAIN, 3, 8, 1, BatchSampler.PAPER_SHUFFLE_BUFFER);
        c.restore(state);
        assertArrayEquals(rest, draw(c, 50));

        // a small buffer over a whole epoch yields every window exactly once in windowsPerEpoch draws
        BatchSampler d = BatchSampler.shuffled(ds, Split.TRAIN, 1, 8, 3, 10);
        long w = d.windowsPerEpoch();
        assertEquals((ds.tokens(Split.TRAIN) - 1) / 8, w);
        java.util.Set<Long> starts = new java.util.HashSet<>();
        for (long i = 0; i < w; i++) {
            starts.add(d.nextStart());
        }
        assertTrue(starts.size() > w - 10, starts.size() + " of " + w);

        BatchSampler seq = BatchSampler.sequential(ds, Split.VAL, 2, 8);
        int[] in = new int[16];
        int[] tg = new int[16];
        seq.next(in, tg);
        int[] val = Fixtures.all(ds, Split.VAL);
        assertArrayEquals(java.util.Arrays.copyOfRange(val, 0, 16), in);
        assertArrayEquals(java.util.Arrays.copyOfRange(val, 1, 9), java.util.Arrays.copyOfRange(tg, 0, 8));
    }

    @Test
    void tooShortSplitIsAClearError() {
        long n = ds.tokens(Split.VAL);
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> new BatchSampler(ds, Split.VAL, 1, (int) n, 1));
        assertTrue(e.getMessage().contains("val split") && e.getMessage().contains("fewer than"), e.getMessage());
        new BatchSampler(ds, Split.VAL, 1, (int) n - 1, 1).next(new int[(int) n - 1], new int[(int) n - 1]);
        assertThrows(IllegalArgumentException.class,
                () -> new BatchSampler(ds, Split.TRAIN, 2, 4, 1).next(new int[7], new int[8]));
    }
}
