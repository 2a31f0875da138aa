package io.leviathan.train;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.model.DenseEmbedding;
import io.leviathan.model.Family;
import io.leviathan.model.KvCacheSession;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Parameter;
import io.leviathan.model.ParameterStore;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * Autoregressive text generation from a {@link LlamaModel}: temperature, top-k and nucleus (top-p)
 * sampling with a seeded random number generator.
 *
 * <h2>How a token is chosen</h2>
 * From the logits {@code z} of the last position: with {@code temperature == 0} the arg-max (the lowest id
 * on ties), i.e. greedy decoding. Otherwise the logits are divided by the temperature; {@code topK > 0}
 * keeps the {@code k} largest (ties broken towards the lower id); {@code topP < 1} then keeps the smallest
 * prefix of those, in decreasing probability, whose softmax probability mass reaches {@code topP} (at least
 * one token); the token is drawn from the softmax of what is kept. {@code topK == 0} and {@code topP == 1}
 * disable the filters. Hence {@code topK == 1}, and a tiny {@code topP}, are greedy decoding.
 *
 * <h2>Context window and the key/value cache</h2>
 * The context window is the model's {@code seq}. By default generation runs a {@link KvCacheSession}: the
 * prompt goes through the model once (prefill), then each new token is one position, attending to the
 * keys and values the cache kept, so a token costs one row of every projection plus attention over the
 * window instead of a whole forward pass. Without the cache ({@code cached = false}) each token runs one
 * full forward pass of a {@code [1, seq]} model over the whole window (positions after the current length
 * hold padding, which causal attention keeps from influencing the positions before it). Both give the same
 * tokens for the same seed: on the CPU backend their logits are equal bit for bit.
 *
 * <p>A prompt longer than the window keeps its last {@code seq} tokens. When the window is full, the
 * oldest tokens are dropped so that its last {@code seq / 2} remain (at least one), and positions restart at
 * 0: with the cache that is one new prefill of the kept half (rotary positions change, so cached keys
 * cannot be shifted); without it the next forward pass sees the same shortened window, so both paths keep
 * giving the same tokens. The inference model, its cache and its input tensor are allocated once per
 * generation; nothing native is allocated per token.
 *
 * <h2>Leviathan models</h2>
 * The generator's {@code V x D} table is materialised once ({@link io.leviathan.model.TokenEmbedding#materialize})
 * into a dense twin ({@link #denseTwin}): the same body with a plain lookup of that table, whose logits equal
 * the Leviathan model's. The twin is also what {@link HfLlamaExport} writes.
 *
 * <h2>Vocabulary compaction</h2>
 * With a {@link VocabularyMap} the model's ids are compact: the prompt is encoded with the tokenizer and
 * mapped {@code toCompact}; generated ids are mapped {@code toOriginal} before decoding. A prompt token that
 * the map does not contain (a word the training corpus never had) is an {@link IllegalArgumentException}
 * naming the token and its text, rather than being silently dropped, so that what the model sees is always
 * exactly the prompt.
 *
 * <h2>End of text</h2>
 * Generation stops early when the model samples the tokenizer's end-of-text token (which is not part of the
 * returned text). An empty prompt starts from end-of-text (the document separator the model was trained on),
 * provided the vocabulary contains it.
 */
public final class TextGenerator {
    private TextGenerator() {}

    /**
     * Generates up to {@code maxTokens} tokens after {@code prompt} and returns them decoded (the continuation
     * only, without the prompt). Uses a CPU backend of its own for the inference model when {@code model}
     * is not already a dense model of batch 1.
     *
     * @param model the trained model (any batch and seq; the window is its {@code seq})
     * @param tok the tokenizer the model was trained with
     * @param map the vocabulary compaction map, when the model's ids are compact
     * @param maxTokens how many tokens at most (>= 0)
     * @param temperature 0 for greedy decoding, else > 0
     * @param topK keep the k most likely tokens; 0 for all
     * @param topP nucleus mass in (0, 1]; 1 for all
     * @param seed the sampling RNG's seed (same seed, same text)
     * @throws IllegalArgumentException for invalid sampling settings or a prompt token outside the vocabulary
     */
    public static String generate(LlamaModel model, Tokenizer tok, Optional<VocabularyMap> map, String prompt,
                                  int maxTokens, float temperature, int topK, float topP, long seed) {
        validate(maxTokens, temperature, topK, topP);
        return generate(model.backend(), model, tok, map, prompt, maxTokens, temperature, topK, topP, seed);
    }

    /**
     * As {@link #generate(LlamaModel, Tokenizer, Optional, String, int, float, int, float, long)}, building the
     * inference model (when one is needed) on {@code be}, which must be the backend {@code model} runs on.
     */
    public static String generate(Backend be, LlamaModel model, Tokenizer tok, Optional<VocabularyMap> map,
                                  String prompt, int maxTokens, float temperature, int topK, float topP, long seed) {
        Generation g = generate(be, model, tok, map, prompt, maxTokens, temperature, topK, topP, seed, true, text -> { });
        return decode(tok, map, g.ids());
    }

    /**
     * As {@link #generate(Backend, LlamaModel, Tokenizer, Optional, String, int, float, int, float, long)},
     * streaming: {@code onText} receives the continuation piece by piece as tokens are produced (a piece is
     * held back while it ends inside a multi-byte character), and together the pieces are the decoded text.
     * {@code cached} chooses the key/value cache (the default) or a full forward pass per token.
     *
     * @return the generated ids and the prompt and generation speeds
     */
    public static Generation generate(Backend be, LlamaModel model, Tokenizer tok, Optional<VocabularyMap> map,
                                      String prompt, int maxTokens, float temperature, int topK, float topP,
                                      long seed, boolean cached, Consumer<String> onText) {
        validate(maxTokens, temperature, topK, topP);
        int[] context = encodePrompt(tok, map, prompt);
        int stop = modelId(map, tok.endOfText());
        TextStream stream = new TextStream(tok, map, onText);
        Generation g;
        if (isReusable(model)) {
            g = generateIds(model, context, maxTokens, temperature, topK, topP, seed, stop, cached, stream::add);
        } else {
            if (be == null) {
                throw new IllegalArgumentException("a backend is needed to build the inference model");
            }
            try (LlamaModel twin = denseTwin(be, model, 1, model.seq())) {
                g = generateIds(twin, context, maxTokens, temperature, topK, topP, seed, stop, cached, stream::add);
            }
        }
        stream.finish();
        return g;
    }

    private static boolean isReusable(LlamaModel model) {
        return model.config().family() == Family.DENSE && model.batch() == 1;
    }

    /**
     * Generates up to {@code maxTokens} model ids after {@code context} (model ids, at least one) with a
     * dense model of batch 1 ({@code model.seq()} is the window), using the key/value cache. Stops before
     * {@code stopId} when it is sampled ({@code -1}: never). Allocates nothing on the device per token.
     */
    public static int[] generateIds(LlamaModel model, int[] context, int maxTokens, float temperature, int topK,
                                    float topP, long seed, int stopId) {
        return generateIds(model, context, maxTokens, temperature, topK, topP, seed, stopId, true, id -> { }).ids();
    }

    /**
     * {@link #generateIds(LlamaModel, int[], int, float, int, float, long, int)} with the choice of the
     * key/value cache ({@code cached}) or a full forward pass per token, calling {@code onToken} with each id
     * as soon as it is sampled. Both choices give the same ids (see the class comment).
     */
    public static Generation generateIds(LlamaModel model, int[] context, int maxTokens, float temperature, int topK,
                                         float topP, long seed, int stopId, boolean cached, IntConsumer onToken) {
        validate(maxTokens, temperature, topK, topP);
        if (model.batch() != 1) {
            throw new IllegalArgumentException("generateIds needs a model of batch 1, got batch " + model.batch());
        }
        if (context.length == 0) {
            throw new IllegalArgumentException("generation needs at least one context token");
        }
        int vocab = model.config().vocab();
        for (int id : context) {
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("context id " + id + " is outside the model's vocabulary [0, " + vocab + ")");
            }
        }
        int seq = model.seq();
        int keep = Math.max(1, seq / 2); // what a full window shrinks to
        SplittableRandom rng = new SplittableRandom(seed);
        int[] window = new int[seq];
        int len = Math.min(context.length, seq);
        System.arraycopy(context, context.length - len, window, 0, len);
        int promptTokens = len;
        int[] generated = new int[maxTokens];
        int count = 0;
        float[] row = new float[vocab];
        Backend be = model.backend();
        long begin = System.nanoTime(), promptDone = begin;
        try (KvCacheSession cache = cached ? new KvCacheSession(model) : null) {
            for (int step = 0; step < maxTokens; step++) {
                if (cache != null) {
                    // the positions not cached yet: the prompt (or a shrunk window) at once, then the last token
                    be.download(cache.append(window, cache.length(), len - cache.length()), row, 0);
                } else {
                    model.forwardLogits(window); // positions >= len hold stale ids: causal attention ignores them
                    be.download(model.logits().select(0, len - 1), row, 0);
                }
                if (step == 0) {
                    promptDone = System.nanoTime();
                }
                int next = sample(row, temperature, topK, topP, rng);
                if (next == stopId) {
                    break;
                }
                generated[count++] = next;
                onToken.accept(next);
                if (len == seq) {
                    System.arraycopy(window, seq - keep, window, 0, keep);
                    len = keep;
                    if (cache != null) {
                        cache.reset();
                    }
                }
                window[len++] = next;
            }
        }
        long end = System.nanoTime();
        return new Generation(Arrays.copyOf(generated, count), promptTokens, promptDone - begin, end - promptDone);
    }

    /**
     * What a generation produced and how fast. The prompt time runs until the first token's logits are
     * ready (prefill and first download); the generation time is the rest, re-prefills after the window
     * shrinks included.
     *
     * @param ids the generated model ids, without the stop token
     * @param promptTokens the context tokens the model saw at first (at most the window)
     * @param promptNanos the prompt time
     * @param generationNanos the generation time
     */
    public record Generation(int[] ids, int promptTokens, long promptNanos, long generationNanos) {
        /** Prompt tokens per second. */
        public double promptTokensPerSecond() {
            return perSecond(promptTokens, promptNanos);
        }

        /** Generated tokens per second. */
        public double generatedTokensPerSecond() {
            return perSecond(ids.length, generationNanos);
        }

        /** {@code "prompt: N tokens, X tok/s; generated: M tokens, Y tok/s"}. */
        public String summary() {
            return String.format(java.util.Locale.ROOT, "prompt: %d tokens, %.1f tok/s; generated: %d tokens, %.1f tok/s",
                    promptTokens, promptTokensPerSecond(), ids.length, generatedTokensPerSecond());
        }

        private static double perSecond(int tokens, long nanos) {
            return nanos <= 0 ? 0 : tokens * 1e9 / nanos;
        }
    }

    /**
     * Decodes a growing list of ids into text pieces: after each id, the part of the decoded text not yet
     * passed on, unless it ends inside a multi-byte character (the tokenizer's replacement character), which
     * waits for the next id.
     */
    private static final class TextStream {
        private final Tokenizer tok;
        private final Optional<VocabularyMap> map;
        private final Consumer<String> onText;
        private int[] ids = new int[16];
        private int count;
        private int emitted; // characters of the decoded text passed on so far

        TextStream(Tokenizer tok, Optional<VocabularyMap> map, Consumer<String> onText) {
            this.tok = tok;
            this.map = map;
            this.onText = onText;
        }

        void add(int id) {
            if (count == ids.length) {
                ids = Arrays.copyOf(ids, 2 * count);
            }
            ids[count++] = id;
            String text = decode(tok, map, Arrays.copyOf(ids, count));
            int stable = text.length();
            while (stable > emitted && text.charAt(stable - 1) == '\uFFFD') {
                stable--;
            }
            pass(text, stable);
        }

        /** Passes on whatever is left, replacement characters included. */
        void finish() {
            String text = decode(tok, map, Arrays.copyOf(ids, count));
            pass(text, text.length());
        }

        private void pass(String text, int upTo) {
            if (upTo > emitted) {
                onText.accept(text.substring(emitted, upTo));
                emitted = upTo;
            }
        }
    }

    /**
     * A dense model of shape {@code [batch, seq]} on {@code be} computing the same function as {@code model}:
     * for a dense model a copy; for a Leviathan model the same body with the generator's table materialised
     * into {@code model.embed_tokens.weight} (and its own untied {@code lm_head}). Materialising overwrites
     * the generator's saved forward state, so do not call this between a forward and a backward pass of
     * {@code model}. The caller closes the twin.
     */
    public static LlamaModel denseTwin(Backend be, LlamaModel model, int batch, int seq) {
        ModelConfig c = model.config();
        boolean leviathan = c.family() == Family.LEVIATHAN;
        ModelConfig twinConfig = leviathan ? c.asDense() : c;
        LlamaModel twin = new LlamaModel(be, twinConfig, batch, seq);
        try {
            ParameterStore dst = twin.parameters();
            if (leviathan) {
                model.embedding().materialize(dst.get(DenseEmbedding.WEIGHT).value());
            }
            for (Parameter p : model.parameters().all()) {
                if (leviathan && p.name().startsWith("model.generator.")) {
                    continue;
                }
                be.copy(p.value(), dst.get(p.name()).value());
            }
            return twin;
        } catch (RuntimeException | Error e) {
            twin.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------ sampling

    /**
     * Chooses a token from {@code logits} (not modified) as described in the class comment.
     *
     * @throws IllegalArgumentException for invalid settings
     */
    public static int sample(float[] logits, float temperature, int topK, float topP, SplittableRandom rng) {
        validate(0, temperature, topK, topP);
        int v = logits.length;
        if (v == 0) {
            throw new IllegalArgumentException("no logits to sample from");
        }
        if (temperature == 0f || topK == 1) {
            return argmax(logits);
        }
        int[] order;           // candidate ids in decreasing logit order (or all ids, unordered)
        int n;
        boolean sorted = topK > 0 || topP < 1f;
        if (sorted) {
            order = topIndices(logits, topK > 0 ? Math.min(topK, v) : v);
            n = order.length;
        } else {
            order = null;
            n = v;
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[sorted ? order[i] : i]);
        }
        double[] p = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            p[i] = Math.exp((logits[sorted ? order[i] : i] - max) / temperature);
            total += p[i];
        }
        if (topP < 1f) {
            double mass = 0;
            int keep = 0;
            while (keep < n) {
                mass += p[keep] / total;
                keep++;
                if (mass >= topP) {
                    break;
                }
            }
            n = keep;
            total = 0;
            for (int i = 0; i < n; i++) {
                total += p[i];
            }
        }
        double u = rng.nextDouble() * total;
        double acc = 0;
        for (int i = 0; i < n; i++) {
            acc += p[i];
            if (u < acc) {
                return sorted ? order[i] : i;
            }
        }
        return sorted ? order[n - 1] : n - 1; // rounding: the last kept token
    }

    /** The index of the largest logit, the lowest on ties. */
    public static int argmax(float[] logits) {
        int best = 0;
        for (int i = 1; i < logits.length; i++) {
            if (logits[i] > logits[best]) {
                best = i;
            }
        }
        return best;
    }

    /** The ids of the {@code k} largest logits in decreasing order (lower id first on ties). */
    private static int[] topIndices(float[] logits, int k) {
        // Sort keys: a monotone int image of each float, inverted for a descending order, then the id.
        long[] keys = new long[logits.length];
        for (int i = 0; i < logits.length; i++) {
            int bits = Float.floatToIntBits(logits[i]);
            int monotone = bits ^ ((bits >> 31) & 0x7fffffff);
            keys[i] = ((long) ~monotone << 32) | i;
        }
        Arrays.sort(keys);
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = (int) keys[i];
        }
        return out;
    }

    /**
     * Checks the sampling settings; the messages name the setting and its valid range.
     *
     * @throws IllegalArgumentException for an invalid one
     */
    public static void validate(int maxTokens, float temperature, int topK, float topP) {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("max tokens must be >= 0, got " + maxTokens);
        }
        if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0 (0 = greedy), got " + temperature);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        }
        if (!(topP > 0f && topP <= 1f)) {
            throw new IllegalArgumentException("top-p must be in (0, 1] (1 = off), got " + topP);
        }
    }

    // ------------------------------------------------------------------------------------------ vocabulary

    /**
     * The prompt as model ids: encoded, then mapped to compact ids when {@code map} is present. An empty
     * prompt is the end-of-text token alone.
     *
     * @throws IllegalArgumentException naming every prompt token the map does not contain
     */
    public static int[] encodePrompt(Tokenizer tok, Optional<VocabularyMap> map, String prompt) {
        int[] ids = tok.encode(prompt == null ? "" : prompt);
        boolean empty = ids.length == 0;
        if (empty) {
            ids = new int[] {tok.endOfText()};
        }
        if (map.isEmpty()) {
            return ids;
        }
        VocabularyMap m = map.get();
        if (empty && !m.contains(ids[0])) {
            throw new IllegalArgumentException("the prompt is empty and the model's compacted vocabulary has no"
                    + " end-of-text token to start from; give a prompt");
        }
        int[] out = new int[ids.length];
        List<String> unknown = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            if (m.contains(ids[i])) {
                out[i] = m.toCompact(ids[i]);
            } else {
                unknown.add(ids[i] + " (" + quote(tok.decode(new int[] {ids[i]})) + ")");
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException("the prompt has " + unknown.size() + " token" + (unknown.size() > 1 ? "s" : "")
                    + " outside the model's compacted vocabulary of " + m.size() + " tokens (the training"
                    + " corpus never contained them): " + String.join(", ", unknown)
                    + "; rephrase the prompt with words from the corpus");
        }
        return out;
    }

    /** The model id of an original id, or -1 when the map does not contain it. */
    private static int modelId(Optional<VocabularyMap> map, int original) {
        if (map.isEmpty()) {
            return original;
        }
        return map.get().contains(original) ? map.get().toCompact(original) : -1;
    }

    /**
     * Decodes model ids (mapped back to original ids when compacted). Ids the tokenizer cannot decode (the
     * unused ids inside its range, which an untrained model may still sample) are left out.
     */
    public static String decode(Tokenizer tok, Optional<VocabularyMap> map, int[] modelIds) {
        int[] ids = map.isPresent() ? map.get().toOriginal(modelIds) : modelIds.clone();
        try {
            return tok.decode(ids);
        } catch (IllegalArgumentException e) {
            List<Integer> ok = new ArrayList<>();
            for (int id : ids) {
                try {
                    tok.decode(new int[] {id});
                    ok.add(id);
                } catch (IllegalArgumentException bad) {
                    // skip an id without text
                }
            }
            return tok.decode(ok.stream().mapToInt(Integer::intValue).toArray());
        }
    }

    private static String quote(String s) {
        return "'" + s.replace("\n", "\\n") + "'";
    }
}
