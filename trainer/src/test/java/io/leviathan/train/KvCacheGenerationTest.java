package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.KvCacheSession;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Parameter;
import io.leviathan.model.Precision;
import io.leviathan.tensor.NativeMemory;
import java.util.Arrays;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Generation with the key/value cache against full recomputation: the same tokens for the same seed (dense
 * and Leviathan models, several prompts, generation past the cache's first 64-key tile and past the window),
 * logits equal bit for bit on the CPU (fp32 and bf16 models), and no native memory allocated per token.
 */
class KvCacheGenerationTest {
    private static final int WINDOW = 100;
    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** V 37, D 16, 2 layers, 2 heads (head dim 8), SwiGLU 32, max seq 128. */
    private static ModelConfig dense() {
        return new ModelConfig(Family.DENSE, 37, 16, 2, 2, 32, 1e-5f, 10_000f, 128, false, null);
    }

    private static int[] randomIds(long seed, int n, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return ids;
    }

    @Test
    void cachedLogitsEqualAFullForwardPassBitForBit() {
        try (LlamaModel m = TextGeneratorTest.randomModel(be, dense(), 1, WINDOW, 3);
             LlamaModel bf16 = new LlamaModel(be, dense(), 1, WINDOW, Precision.BF16)) {
            for (Parameter p : m.parameters().all()) {
                be.copy(p.value(), bf16.parameters().get(p.name()).value());
            }
            for (LlamaModel model : new LlamaModel[] {m, bf16}) {
                try (KvCacheSession cache = new KvCacheSession(model)) {
                    assertCachedLogitsEqualFullForward(model, cache, model.precision().toString());
                }
            }
        }
    }

    /** After a prompt block of 9 tokens, one token at a time up to the window: every position's logits. */
    private static void assertCachedLogitsEqualFullForward(LlamaModel m, KvCacheSession cache, String what) {
        int[] ids = randomIds(4, WINDOW, 37);
        float[] cached = new float[37], full = new float[37];
        int prompt = 9;
        be.download(cache.append(ids, 0, prompt), cached, 0);
        for (int len = prompt; len <= WINDOW; len++) {
            if (len > prompt) {
                be.download(cache.append(ids, len - 1, 1), cached, 0);
            }
            m.forwardLogits(ids); // positions >= len do not influence position len - 1
            be.download(m.logits().select(0, len - 1), full, 0);
            for (int i = 0; i < full.length; i++) {
                if (Float.floatToIntBits(cached[i]) != Float.floatToIntBits(full[i])) {
                    throw new AssertionError(what + ": position " + (len - 1) + " logit " + i + ": cached "
                            + cached[i] + ", full forward " + full[i]);
                }
            }
        }
        assertEquals(WINDOW, cache.length());
        IllegalArgumentException tooMany = assertThrows(IllegalArgumentException.class, () -> cache.append(ids, 0, 1));
        assertTrue(tooMany.getMessage().contains("do not fit"), tooMany.getMessage());
        cache.rewind(3);
        assertEquals(3, cache.length());
        assertThrows(IllegalArgumentException.class, () -> cache.rewind(4));
        cache.reset();
        IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
                () -> cache.append(new int[] {3, 37}, 0, 2));
        assertTrue(bad.getMessage().contains("id 37"), bad.getMessage());
    }

    @Test
    void cachedGenerationGivesTheTokensOfFullRecomputation() {
        ModelConfig lev = dense().asLeviathan(new GeneratorConfig(3, 16, 2, 8, 16, false, true, 1e-5f));
        for (ModelConfig c : new ModelConfig[] {dense(), lev}) {
            try (LlamaModel trained = TextGeneratorTest.randomModel(be, c, 2, WINDOW, 11);
                 LlamaModel m = TextGenerator.denseTwin(be, trained, 1, WINDOW)) {
                // prompts of 1, 5, 70 (a prefill past the first tile) and 130 tokens (longer than the window)
                for (int promptLength : new int[] {1, 5, 70, 130}) {
                    int[] prompt = randomIds(promptLength, promptLength, 37);
                    float[][] settings = {{0f, 0, 1f}, {1.3f, 0, 1f}, {0.9f, 8, 0.9f}};
                    for (float[] s : settings) {
                        String what = c.family() + " prompt " + promptLength + " settings " + Arrays.toString(s);
                        int maxTokens = 160; // past the first tile, and the window shrinks at least once
                        TextGenerator.Generation cached = TextGenerator.generateIds(m, prompt, maxTokens, s[0],
                                (int) s[1], s[2], 5, -1, true, id -> { });
                        TextGenerator.Generation full = TextGenerator.generateIds(m, prompt, maxTokens, s[0],
                                (int) s[1], s[2], 5, -1, false, id -> { });
                        assertEquals(maxTokens, cached.ids().length, what);
                        assertArrayEquals(full.ids(), cached.ids(), what);
                        assertEquals(Math.min(promptLength, WINDOW), cached.promptTokens(), what);
                    }
                }
            }
        }
        try (LlamaModel levModel = TextGeneratorTest.randomModel(be, lev, 1, 8, 1)) {
            assertThrows(IllegalArgumentException.class, () -> new KvCacheSession(levModel));
        }
    }

    @Test
    void tokensStreamAsTheyAreSampledAndThePiecesAreTheText() {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = TextGeneratorTest.map(tok, 31);
        try (LlamaModel m = TextGeneratorTest.randomModel(be, TextGeneratorTest.tinyDense(map.size()), 1, 8, 29)) {
            StringBuilder pieces = new StringBuilder();
            int[] calls = {0};
            TextGenerator.Generation g = TextGenerator.generate(be, m, tok, Optional.of(map), "The cat", 12, 1f, 0, 1f,
                    3, true, piece -> {
                        pieces.append(piece);
                        calls[0]++;
                    });
            String text = TextGenerator.generate(m, tok, Optional.of(map), "The cat", 12, 1f, 0, 1f, 3);
            assertEquals(text, pieces.toString());
            assertEquals(TextGenerator.decode(tok, Optional.of(map), g.ids()), text);
            assertTrue(calls[0] > 1, "the text arrives in pieces, not at the end");
            assertTrue(g.summary().matches("prompt: \\d+ tokens, [0-9.]+ tok/s; generated: "
                    + g.ids().length + " tokens, [0-9.]+ tok/s"), g.summary());
        }
    }

    @Test
    void generateCommandStreamsTheSameTextWithAndWithoutTheCache(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = TextGeneratorTest.map(tok, 31);
        try (LlamaModel m = TextGeneratorTest.randomModel(be, TextGeneratorTest.tinyDense(map.size()), 1, 8, 29)) {
            java.nio.file.Path dir = tmp.resolve("model");
            HfLlamaExport.export(m, tok.name(), Optional.of(map), dir, false);
            String[] args = {"generate", "--checkpoint", dir.toString(), "--prompt", "The cat", "--max-tokens", "12",
                    "--seed", "4", "--temperature", "1"};
            HfLlamaExportTest.Cli cached = HfLlamaExportTest.cli(args);
            String[] noCache = Arrays.copyOf(args, args.length + 1);
            noCache[args.length] = "--no-cache";
            HfLlamaExportTest.Cli full = HfLlamaExportTest.cli(noCache);
            assertEquals(0, cached.status(), cached.err());
            assertEquals(0, full.status(), full.err());
            assertEquals(full.out(), cached.out());
            assertTrue(cached.out().startsWith("The cat"), cached.out());
            assertTrue(cached.err().matches("(?s)prompt: \\d+ tokens, [0-9.]+ tok/s; generated: \\d+ tokens, [0-9.]+ tok/s\\R"),
                    cached.err());
        }
    }

    @Test
    void aDecodeStepAllocatesNoNativeMemory() {
        try (LlamaModel m = TextGeneratorTest.randomModel(be, dense(), 1, WINDOW, 3);
             KvCacheSession cache = new KvCacheSession(m)) {
            int[] ids = randomIds(8, WINDOW, 37);
            for (int round = 0; round < 2; round++) {
                cache.reset();
                cache.append(ids, 0, 4);
                long before = NativeMemory.allocatedBytes();
                for (int p = 4; p < WINDOW; p++) {
                    cache.append(ids, p, 1);
                }
                be.synchronize();
                assertEquals(before, NativeMemory.allocatedBytes(), "native bytes allocated by decode steps");
            }
        }
    }
}
