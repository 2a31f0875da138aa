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
import io.leviathan.model.Init;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Parameter;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class TextGeneratorTest {

    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** V 23, D 16, 2 layers, 2 heads (head dim 8), SwiGLU 32, max seq 16. */
    static ModelConfig tinyDense(int vocab) {
        return new ModelConfig(Family.DENSE, vocab, 16, 2, 2, 32, 1e-5f, 10_000f, 16, false, null);
    }

    static ModelConfig tinyLeviathan(int vocab) {
        return tinyDense(vocab).asLeviathan(new GeneratorConfig(3, 16, 2, 8, 16, false, true, 1e-5f));
    }

    /** Initialised, then every body tensor perturbed strongly so that logits depend visibly on every weight. */
    static LlamaModel randomModel(ModelConfig c, int batch, int seq, long seed) {
        return randomModel(be, c, batch, seq, seed);
    }

    static LlamaModel randomModel(Backend backend, ModelConfig c, int batch, int seq, long seed) {
        LlamaModel m = new LlamaModel(backend, c, batch, seq);
        m.initialize(seed);
        for (Parameter p : m.parameters().all()) {
            if (p.name().startsWith("model.generator.")) {
                continue;
            }
            float[] v = backend.downloadFloats(p.value());
            SplittableRandom r = Init.stream(seed + 1, p.name());
            boolean gain = p.value().rank() == 1;
            for (int i = 0; i < v.length; i++) {
                v[i] = gain ? (float) (1 + 0.3 * r.nextGaussian()) : (float) (0.3 * r.nextGaussian());
            }
            backend.upload(v, p.value());
        }
        return m;
    }

    // ------------------------------------------------------------------ sampling

    @Test
    void greedyIsArgmaxAndTopKOneAndTinyTopPAreGreedy() {
        SplittableRandom data = new SplittableRandom(1);
        for (int trial = 0; trial < 50; trial++) {
            float[] logits = new float[37];
            for (int i = 0; i < logits.length; i++) {
                logits[i] = (float) (3 * data.nextGaussian());
            }
            int best = TextGenerator.argmax(logits);
            for (int i = 0; i < logits.length; i++) {
                assertTrue(logits[i] <= logits[best]);
            }
            SplittableRandom rng = new SplittableRandom(trial);
            assertEquals(best, TextGenerator.sample(logits, 0f, 0, 1f, rng), "temperature 0");
            assertEquals(best, TextGenerator.sample(logits, 0f, 5, 0.5f, rng), "temperature 0 ignores the filters");
            assertEquals(best, TextGenerator.sample(logits, 1.5f, 1, 1f, rng), "top-k 1");
            assertEquals(best, TextGenerator.sample(logits, 1.5f, 0, 1e-6f, rng), "tiny top-p");
            assertEquals(best, TextGenerator.sample(logits, 100f, 3, 1e-6f, rng), "tiny top-p after top-k");
        }
        // ties go to the lower id, in every greedy path
        float[] tied = {0f, 2f, 1f, 2f};
        assertEquals(1, TextGenerator.argmax(tied));
        assertEquals(1, TextGenerator.sample(tied, 1f, 1, 1f, new SplittableRandom(3)));
        assertEquals(1, TextGenerator.sample(tied, 1f, 0, 1e-6f, new SplittableRandom(3)));
    }

    @Test
    void topKAndTopPKeepOnlyTheLikeliestTokens() {
        float[] logits = {0f, 5f, 1f, 4.5f, -2f, 3f, 0.5f};
        SplittableRandom rng = new SplittableRandom(9);
        Set<Integer> seenK = new TreeSet<>();
        Set<Integer> seenP = new TreeSet<>();
        Set<Integer> seenAll = new TreeSet<>();
        for (int i = 0; i < 4000; i++) {
            seenK.add(TextGenerator.sample(logits, 5f, 3, 1f, rng));
            // probabilities at temperature 1: 0.57, 0.35, 0.08, ... so p = 0.9 keeps ids 1 and 3
            seenP.add(TextGenerator.sample(logits, 1f, 0, 0.9f, rng));
            seenAll.add(TextGenerator.sample(logits, 5f, 0, 1f, rng));
        }
        assertEquals(Set.of(1, 3, 5), seenK);
        assertEquals(Set.of(1, 3), seenP);
        assertEquals(7, seenAll.size(), "a high temperature without filters reaches every token");
    }

    @Test
    void samplingFrequenciesFollowTheSoftmax() {
        float[] logits = {0f, (float) Math.log(3)}; // probabilities 1/4, 3/4
        SplittableRandom rng = new SplittableRandom(4);
        int ones = 0;
        int n = 20_000;
        for (int i = 0; i < n; i++) {
            ones += TextGenerator.sample(logits, 1f, 0, 1f, rng);
        }
        assertEquals(0.75, ones / (double) n, 0.015);
    }

    @Test
    void invalidSettingsAreErrors() {
        float[] logits = {1f, 2f};
        SplittableRandom rng = new SplittableRandom(1);
        for (float t : new float[] {-0.1f, Float.NaN, Float.POSITIVE_INFINITY}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TextGenerator.sample(logits, t, 0, 1f, rng));
            assertTrue(e.getMessage().contains("temperature"), e.getMessage());
        }
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TextGenerator.sample(logits, 1f, -1, 1f, rng))
                .getMessage().contains("top-k"));
        for (float p : new float[] {0f, -0.5f, 1.01f, Float.NaN}) {
            assertTrue(assertThrows(IllegalArgumentException.class, () -> TextGenerator.sample(logits, 1f, 0, p, rng))
                    .getMessage().contains("top-p"));
        }
        try (LlamaModel m = randomModel(tinyDense(23), 1, 8, 1)) {
            assertTrue(assertThrows(IllegalArgumentException.class,
                    () -> TextGenerator.generateIds(m, new int[] {1}, -1, 0f, 0, 1f, 0, -1)).getMessage().contains("max tokens"));
            assertThrows(IllegalArgumentException.class, () -> TextGenerator.generateIds(m, new int[0], 3, 0f, 0, 1f, 0, -1));
            assertThrows(IllegalArgumentException.class, () -> TextGenerator.generateIds(m, new int[] {23}, 3, 0f, 0, 1f, 0, -1));
        }
    }

    // ------------------------------------------------------------------ the generation loop

    /** Greedy decoding token by token equals the argmax of a fresh forward pass over exactly the context. */
    @Test
    void greedyGenerationMatchesArgmaxOfUnpaddedForwardPasses() {
        ModelConfig c = tinyDense(23);
        int[] context = {3, 17, 5};
        int steps = 4;
        try (LlamaModel m = randomModel(c, 1, 8, 7)) {
            int[] got = TextGenerator.generateIds(m, context, steps, 0f, 0, 1f, 0, -1);
            assertEquals(steps, got.length);
            int[] seqSoFar = context.clone();
            for (int s = 0; s < steps; s++) {
                int len = seqSoFar.length;
                // a model whose seq is exactly the context length: no padding at all
                try (LlamaModel exact = new LlamaModel(be, c, 1, len); TensorArena io = be.newArena()) {
                    for (Parameter p : m.parameters().all()) {
                        be.copy(p.value(), exact.parameters().get(p.name()).value());
                    }
                    exact.forward(ints(io, seqSoFar, 1, len), null);
                    int expect = TextGenerator.argmax(be.downloadFloats(exact.logits().select(0, len - 1)));
                    assertEquals(expect, got[s], "token " + s);
                }
                seqSoFar = Arrays.copyOf(seqSoFar, len + 1);
                seqSoFar[len] = got[s];
            }
        }
    }

    @Test
    void sameSeedSameTokensAndTheWindowSlides() {
        ModelConfig c = tinyDense(23);
        try (LlamaModel m = randomModel(c, 1, 6, 3)) {
            int[] ctx = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
            int[] a = TextGenerator.generateIds(m, ctx, 12, 1.2f, 0, 1f, 42, -1);
            int[] b = TextGenerator.generateIds(m, ctx, 12, 1.2f, 0, 1f, 42, -1);
            assertArrayEquals(a, b);
            Set<String> others = new HashSet<>();
            for (long seed = 0; seed < 5; seed++) {
                others.add(Arrays.toString(TextGenerator.generateIds(m, ctx, 12, 1.2f, 0, 1f, seed, -1)));
            }
            assertTrue(others.size() > 1, "different seeds give different samples");
            // a context longer than the window keeps only its last seq tokens
            int[] tail = Arrays.copyOfRange(ctx, ctx.length - 6, ctx.length);
            assertArrayEquals(TextGenerator.generateIds(m, tail, 12, 1.2f, 0, 1f, 42, -1), a);
            assertArrayEquals(new int[0], TextGenerator.generateIds(m, ctx, 0, 1f, 0, 1f, 42, -1));
        }
    }

    @Test
    void generationStopsAtTheStopToken() {
        try (LlamaModel m = randomModel(tinyDense(23), 1, 8, 5)) {
            int[] free = TextGenerator.generateIds(m, new int[] {4}, 6, 0f, 0, 1f, 0, -1);
            int[] stopped = TextGenerator.generateIds(m, new int[] {4}, 6, 0f, 0, 1f, 0, free[2]);
            int firstStop = 0;
            while (free[firstStop] != free[2]) {
                firstStop++;
            }
            assertArrayEquals(Arrays.copyOf(free, firstStop), stopped);
        }
    }

    // ------------------------------------------------------------------ Leviathan twin

    @Test
    void denseTwinOfALeviathanModelHasTheSameLogits() {
        ModelConfig c = tinyLeviathan(29);
        int batch = 2;
        int seq = 7;
        try (LlamaModel lev = randomModel(c, batch, seq, 11);
             LlamaModel twin = TextGenerator.denseTwin(be, lev, batch, seq);
             TensorArena io = be.newArena()) {
            assertEquals(Family.DENSE, twin.config().family());
            SplittableRandom r = new SplittableRandom(2);
            int[] ids = new int[batch * seq];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(c.vocab());
            }
            Tensor t = ints(io, ids, batch, seq);
            lev.forward(t, null);
            float[] want = be.downloadFloats(lev.logits());
            twin.forward(t, null);
            float[] got = be.downloadFloats(twin.logits());
            assertClose(want, got, 1e-5, "twin logits");
            // a twin of another shape (what generation uses) agrees too
            try (LlamaModel one = TextGenerator.denseTwin(be, lev, 1, seq)) {
                one.forward(ints(io, Arrays.copyOf(ids, seq), 1, seq), null);
                assertClose(Arrays.copyOf(want, seq * c.vocab()), be.downloadFloats(one.logits()), 1e-5, "batch-1 twin");
            }
        }
    }

    @Test
    void leviathanGenerationEqualsGenerationWithItsTwin() {
        ModelConfig c = tinyLeviathan(29);
        try (LlamaModel lev = randomModel(c, 2, 8, 13); LlamaModel twin = TextGenerator.denseTwin(be, lev, 1, 8)) {
            Tokenizer tok = Tokenizer.of("o200k_base");
            VocabularyMap map = map(tok, 29);
            int[] prompt = TextGenerator.encodePrompt(tok, Optional.of(map), "");
            int[] want = TextGenerator.generateIds(twin, prompt, 6, 0.8f, 5, 0.9f, 21, map.toCompact(tok.endOfText()));
            String text = TextGenerator.generate(be, lev, tok, Optional.of(map), "", 6, 0.8f, 5, 0.9f, 21);
            assertEquals(TextGenerator.decode(tok, Optional.of(map), want), text);
        }
    }

    // ------------------------------------------------------------------ text, vocabulary compaction

    /** A compacted vocabulary: end-of-text, the tokens of a few words, then arbitrary ids up to {@code size}. */
    static VocabularyMap map(Tokenizer tok, int size) {
        TreeSet<Integer> ids = new TreeSet<>();
        ids.add(tok.endOfText());
        for (int id : tok.encode("The cat sat on the mat. Hello world")) {
            ids.add(id);
        }
        for (int id = 1000; ids.size() < size; id += 7) {
            ids.add(id);
        }
        return VocabularyMap.of(tok.name(), tok.vocabSize(), ids.stream().mapToInt(Integer::intValue).toArray());
    }

    @Test
    void textGenerationMapsPromptAndOutputThroughTheVocabulary() {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = map(tok, 31);
        ModelConfig c = tinyDense(map.size());
        try (LlamaModel m = randomModel(c, 3, 8, 17)) {
            String prompt = "The cat sat";
            String a = TextGenerator.generate(m, tok, Optional.of(map), prompt, 5, 0f, 0, 1f, 1);
            String b = TextGenerator.generate(m, tok, Optional.of(map), prompt, 5, 0f, 0, 1f, 99);
            assertEquals(a, b, "greedy does not depend on the seed");
            int[] ctx = TextGenerator.encodePrompt(tok, Optional.of(map), prompt);
            assertEquals(tok.encode(prompt).length, ctx.length);
            for (int i = 0; i < ctx.length; i++) {
                assertEquals(tok.encode(prompt)[i], map.toOriginal(ctx[i]));
            }
            try (LlamaModel one = TextGenerator.denseTwin(be, m, 1, 8)) {
                int[] ids = TextGenerator.generateIds(one, ctx, 5, 0f, 0, 1f, 1, map.toCompact(tok.endOfText()));
                assertEquals(TextGenerator.decode(tok, Optional.of(map), ids), a);
            }
            String s1 = TextGenerator.generate(m, tok, Optional.of(map), prompt, 8, 1f, 10, 0.95f, 5);
            String s2 = TextGenerator.generate(m, tok, Optional.of(map), prompt, 8, 1f, 10, 0.95f, 5);
            assertEquals(s1, s2, "same seed, same text");

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> TextGenerator.generate(m, tok, Optional.of(map), "The zebra sat", 5, 0f, 0, 1f, 1));
            assertTrue(e.getMessage().contains("zebra") && e.getMessage().contains("compacted vocabulary"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> TextGenerator.generate(m, tok, Optional.of(map), "The cat", 5, -1f, 0, 1f, 1));
        }
    }

    @Test
    void generateCommandPrintsThePromptAndItsContinuation(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = map(tok, 31);
        try (LlamaModel m = randomModel(tinyDense(map.size()), 1, 8, 29)) {
            java.nio.file.Path dir = tmp.resolve("model");
            HfLlamaExport.export(m, tok.name(), Optional.of(map), dir, false);
            String want = "The cat" + TextGenerator.generate(m, tok, Optional.of(map), "The cat", 5, 0f, 0, 1f, 0);
            HfLlamaExportTest.Cli r = HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt", "The cat",
                    "--max-tokens", "5", "--temperature", "0");
            assertEquals(0, r.status(), r.err());
            assertEquals(want + System.lineSeparator(), r.out());
            HfLlamaExportTest.Cli sampled1 = HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt",
                    "The cat", "--max-tokens", "6", "--seed", "7", "--top-k", "5", "--top-p=0.9", "--temperature", "1.1");
            HfLlamaExportTest.Cli sampled2 = HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt",
                    "The cat", "--max-tokens", "6", "--seed", "7", "--top-k", "5", "--top-p=0.9", "--temperature", "1.1");
            assertEquals(0, sampled1.status(), sampled1.err());
            assertEquals(sampled1.out(), sampled2.out(), "same seed, same text");

            HfLlamaExportTest.Cli neg = HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt", "x",
                    "--temperature", "-1");
            assertEquals(2, neg.status());
            assertTrue(neg.err().contains("temperature"), neg.err());
            assertEquals(2, HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt", "x", "--top-p", "0").status());
            assertEquals(2, HfLlamaExportTest.cli("generate", "--prompt", "x").status());
            assertEquals(2, HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt", "x", "--top-k", "two").status());
            // the export is expanded to the tokenizer's ids: a word the compacted model never saw is still read
            HfLlamaExportTest.Cli unseenWord = HfLlamaExportTest.cli("generate", "--checkpoint", dir.toString(), "--prompt",
                    "zebra", "--max-tokens", "2", "--temperature", "0");
            assertEquals(0, unseenWord.status(), unseenWord.err());
            assertTrue(unseenWord.out().startsWith("zebra"), unseenWord.out());
        }
    }

    @Test
    void decodingSkipsIdsWithoutText() {
        Tokenizer tok = Tokenizer.of("o200k_base");
        int[] hello = tok.encode("Hello");
        int[] withHole = Arrays.copyOf(hello, hello.length + 1);
        withHole[hello.length] = 200_005; // inside o200k_base's range, but no token
        assertEquals("Hello", TextGenerator.decode(tok, Optional.empty(), withHole));
    }

    /** A new I32 tensor of {@code arena} (a backend arena) holding {@code data}, uploaded through the backend. */
    static Tensor ints(TensorArena arena, int[] data, long... shape) {
        Tensor t = arena.allocate(DType.I32, shape);
        be.upload(data, t);
        return t;
    }

    static void assertClose(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + " length");
        double scale = 0;
        for (float w : want) {
            scale = Math.max(scale, Math.abs(w));
        }
        assertTrue(scale > 0.1, what + ": logits too small to compare meaningfully (" + scale + ")");
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            worst = Math.max(worst, Math.abs(want[i] - got[i]));
        }
        assertTrue(worst <= tol * Math.max(1, scale), what + ": max abs difference " + worst + " (scale " + scale + ")");
    }

    @Test
    void reusableDenseBatchOneModelNeedsNoExtraBackend() {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = map(tok, 31);
        try (LlamaModel m = randomModel(tinyDense(map.size()), 1, 8, 23)) {
            String t = TextGenerator.generate(m, tok, Optional.of(map), "The mat", 4, 0f, 0, 1f, 0);
            int[] ids = TextGenerator.generateIds(m, TextGenerator.encodePrompt(tok, Optional.of(map), "The mat"), 4,
                    0f, 0, 1f, 0, map.toCompact(tok.endOfText()));
            assertEquals(TextGenerator.decode(tok, Optional.of(map), ids), t);
        }
    }
}
