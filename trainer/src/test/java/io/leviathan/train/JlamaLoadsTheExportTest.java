package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.github.tjake.jlama.model.AbstractModel;
import com.github.tjake.jlama.model.ModelSupport;
import com.github.tjake.jlama.tensor.AbstractTensor;
import com.github.tjake.jlama.tensor.KvBufferCache;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.nio.file.Path;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jlama (an independent Java LLaMA runtime, {@code com.github.tjake:jlama-core} from Maven Central) loads an
 * exported folder, weights and tokenizer, and its next-token distribution for every position of a prompt is
 * ours. Jlama is given our tokenizer's ids: its own BPE merges the leftmost pair found in the vocabulary rather
 * than the pair of lowest rank, so its ids for a text can differ from every tiktoken-style tokenizer's; it still
 * decodes our ids to the text. Jlama computes in F32 here (F32 weights, F32 working memory); its softmax
 * sums the 200,019 exponentials in a single float, whose rounding scales every probability alike (by up to
 * about 3e-3 in these models), so the test compares that common scale (within 1e-2) and, apart from it, each
 * probability above 1e-6 (within 1e-4 relative); the greedy token must agree at every position.
 */
class JlamaLoadsTheExportTest {
    private static Backend be;

    @TempDir
    Path tmp;

    @BeforeAll
    static void open() {
        // HfLlamaExportTest runs the export and load on the strict backend; Jlama's side is the same in both passes
        org.junit.jupiter.api.Assumptions.assumeFalse(Boolean.getBoolean(Backends.STRICT_PROPERTY),
                "Jlama's check runs in the first test pass only");
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        if (be != null) {
            be.close();
        }
    }

    /**
     * A small dense model whose widths are multiples of 64: Jlama's vector kernels read whole vectors of up to 16
     * floats along the head and hidden dimensions (a head dimension of 8 fails inside Jlama with an
     * {@code IndexOutOfBoundsException} from {@code FloatVector.fromMemorySegment}).
     */
    static ModelConfig jlamaSized(int vocab) {
        return new ModelConfig(Family.DENSE, vocab, 64, 2, 1, 128, 1e-5f, 10_000f, 32, false, null);
    }

    @Test
    void denseCompactedExport() {
        check(jlamaSized(31), 11);
    }

    @Test
    void leviathanCompactedExport() {
        check(jlamaSized(31).asLeviathan(new GeneratorConfig(3, 16, 2, 8, 16, false, true, 1e-5f)), 12);
    }

    private void check(ModelConfig compact, long seed) {
        Tokenizer tok = Tokenizer.of("o200k_base");
        VocabularyMap map = TextGeneratorTest.map(tok, compact.vocab());
        String prompt = "The cat sat on the mat. Hello";
        int[] ids = tok.encode(prompt);
        int t = ids.length;
        Path out = tmp.resolve("hf-" + compact.family());
        try (LlamaModel m = TextGeneratorTest.randomModel(be, compact, 1, t, seed)) {
            HfLlamaExport.export(m, tok.name(), Optional.of(map), out, false);
        }
        float[] ours;
        try (LlamaModel exported = HfLlamaExport.load(be, out, 1, t); TensorArena io = be.newArena()) {
            Tensor in = io.allocate(DType.I32, 1, t);
            be.upload(ids, in);
            exported.forward(in, null);
            ours = be.downloadFloats(exported.logits());
        }
        int n = tok.vocabSize();
        AbstractModel jlama = ModelSupport.loadModel(out.toFile(), com.github.tjake.jlama.safetensors.DType.F32,
                com.github.tjake.jlama.safetensors.DType.F32);
        try (KvBufferCache cache = new KvBufferCache(jlama)) {
            assertEquals(n, jlama.getConfig().vocabularySize);
            long[] asLong = java.util.Arrays.stream(ids).asLongStream().toArray();
            assertEquals(prompt, jlama.getTokenizer().decode(asLong), "Jlama decodes our ids");
            KvBufferCache.KvBuffer kv = cache.getKvBuffer(UUID.randomUUID());
            double worstShape = 0;
            double worstScale = 0;
            for (int pos = 0; pos < t; pos++) {
                AbstractTensor h = jlama.forward(ids[pos], pos, kv, Optional.empty());
                float[] probs = jlama.getLogits(h); // Jlama's getLogits returns the softmax
                double[] want = softmax(ours, pos * n, n);
                int ourBest = argmax(want);
                int theirBest = argmax(probs);
                assertEquals(ourBest, theirBest, "greedy token at position " + pos);
                assertTrue(map.contains(theirBest), "greedy picks a trained id at position " + pos);
                // Jlama normalises by a sum of 200,019 terms accumulated in a float: every probability shares
                // that sum's rounding error, so compare the scale and, apart from it, the distribution's shape
                double scale = probs[theirBest] / want[ourBest];
                worstScale = Math.max(worstScale, Math.abs(scale - 1));
                for (int j = 0; j < n; j++) {
                    if (want[j] > 1e-6) {
                        worstShape = Math.max(worstShape, Math.abs(probs[j] / (scale * want[j]) - 1));
                    }
                }
            }
            System.out.printf("Jlama vs ours, %s: normalisation differs by up to %.2e (relative), probabilities above 1e-6"
                    + " by up to %.2e apart from it%n", compact.family(), worstScale, worstShape);
            assertTrue(worstShape < 1e-4, "largest relative difference of a probability above 1e-6, apart from the"
                    + " common scale: " + worstShape);
            assertTrue(worstScale < 1e-2, "normalisation differs by " + worstScale);
        } finally {
            jlama.close();
        }
    }

    private static double[] softmax(float[] logits, int from, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < n; j++) {
            max = Math.max(max, logits[from + j]);
        }
        double z = 0;
        double[] p = new double[n];
        for (int j = 0; j < n; j++) {
            p[j] = Math.exp(logits[from + j] - max);
            z += p[j];
        }
        for (int j = 0; j < n; j++) {
            p[j] /= z;
        }
        return p;
    }

    private static int argmax(double[] p) {
        int best = 0;
        for (int j = 1; j < p.length; j++) {
            best = p[j] > p[best] ? j : best;
        }
        return best;
    }

    private static int argmax(float[] p) {
        int best = 0;
        for (int j = 1; j < p.length; j++) {
            best = p[j] > p[best] ? j : best;
        }
        return best;
    }
}
