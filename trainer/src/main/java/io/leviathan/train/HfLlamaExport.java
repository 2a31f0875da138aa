package io.leviathan.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.backend.HostTensors;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.io.SafeTensors;
import io.leviathan.model.DenseEmbedding;
import io.leviathan.model.Family;
import io.leviathan.model.LeviathanGenerator;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.Parameter;
import io.leviathan.model.ParameterStore;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Exports a model as an ordinary Hugging Face {@code LlamaForCausalLM} folder: {@code config.json},
 * {@code generation_config.json}, {@code model.safetensors} (F32) and the tokenizer ({@code tokenizer.json},
 * {@code tokenizer_config.json}, {@code special_tokens_map.json}; see {@link TokenizerJson}), which
 * meant for {@code transformers}' {@code AutoModelForCausalLM} / {@code AutoTokenizer} and for Jlama
 * ({@code JlamaLoadsTheExportTest}: Jlama 0.8.4 loads it and gives our next-token distribution;
 * {@code TokenizerJsonTest}: Hugging Face's Rust {@code tokenizers} library reads the tokenizer and gives jtokkit's
 * ids; {@code transformers} itself is not run by the tests).
 *
 * <h2>Layout</h2>
 * Our parameters already use Hugging Face LLaMA's names and layouts: linear weights are {@code (out, in)}
 * ({@code y = x W^T}), the query/key/value projections' output rows are head-major ({@code [H, Dh]}, as
 * {@code view(B, T, H, Dh)} reads them), and our rotary embedding is the rotate-half convention of
 * {@code transformers}' {@code apply_rotary_pos_emb} (pairs {@code (i, i + Dh/2)}, angle
 * {@code pos * theta^(-2i/Dh)}). So the weights are written unchanged: <b>no q/k permutation</b> is needed
 * (that permutation exists only to convert Meta's interleaved-pair checkpoints to the rotate-half layout).
 * {@code HfLlamaExportTest} proves it: an exported folder, read back by {@link #load} and by an independent
 * plain-Java implementation of the {@code transformers} LLaMA forward pass, gives the original model's logits.
 *
 * <h2>Leviathan models</h2>
 * The generator is materialised into {@code model.embed_tokens.weight} (row i = the generator's output for
 * id i), so the export is a plain LLaMA with an untied {@code lm_head}, loadable by any LLaMA runtime; the
 * generator itself is not exported.
 *
 * <h2>Vocabulary: expanded to the tokenizer's</h2>
 * The exported model's ids are the tokenizer's ids, so that the standard tokenizer works unchanged and any
 * text round-trips. A model trained on a compacted vocabulary (or, in tests, a model smaller than its
 * tokenizer) is <b>expanded</b> to the tokenizer's full id range ({@code vocab_size} 200,019 for o200k_base):
 * the row of tokenizer id {@code o} in the embedding and in {@code lm_head} is the trained row of its compact
 * id ({@code originalIds[c] = o}; a Leviathan model's generator output for {@code c}). An id the model never
 * trained (absent from the compacted vocabulary, or one of the tokenizer's unused ids) gets the <b>mean of the
 * trained rows</b>, in the embedding and in {@code lm_head} alike:
 * <ul>
 *   <li>its logit is the mean of the trained ids' logits, so it is never above the largest one: greedy
 *       decoding never picks an untrained id (all untrained ids tie, below the best trained one), and each
 *       untrained id is at most as likely as the trained ids' average (by Jensen's inequality, {@code exp} of
 *       the mean logit is at most the mean of {@code exp} of the logits). Sampling can still draw them: together
 *       they carry {@code N_untrained * exp(mean logit) / Z}, which is small for a confident model and large for
 *       an untrained one (no bias-free LLaMA head can rule them out for every hidden state);</li>
 *   <li>as an input, an untrained id reads the average trained embedding: a neutral input the model has not
 *       seen, rather than a random one. For a Leviathan model this is the only choice: its code space holds
 *       {@code base^digits} ids, barely more than the compacted vocabulary, so there is no generator row to
 *       give a token it never saw.</li>
 * </ul>
 * A model whose vocabulary already covers the tokenizer is written as it is. {@code config.json} records the
 * trained ids' count ({@code leviathan_trained_vocab_size}); no vocabulary map is written, as the export's ids
 * need none (an export written before this change, with {@code vocabulary_map.json}, still loads).
 * {@code eos_token_id} is the tokenizer's end-of-text token.
 *
 * <h2>Safety</h2>
 * Everything is written into a temporary folder next to {@code outDir}, which is then renamed to it; an
 * existing non-empty {@code outDir} is an error unless {@code force} is set, and then it is replaced only
 * after the new export is complete.
 */
public final class HfLlamaExport {
    private HfLlamaExport() {}

    /** The one export format. */
    public static final String FORMAT = "hf-llama";
    /** Every valid {@code --format}. */
    public static final List<String> FORMATS = List.of(FORMAT);
    /** The weights file name. */
    public static final String WEIGHTS_FILE = "model.safetensors";
    /** The configuration file name. */
    public static final String CONFIG_FILE = "config.json";
    /** The generation defaults file name ({@code eos_token_id}). */
    public static final String GENERATION_CONFIG_FILE = "generation_config.json";
    /** The vocabulary map file name, which exports written before the vocabulary was expanded carry. */
    public static final String VOCABULARY_MAP_FILE = "vocabulary_map.json";

    /**
     * What an export wrote: the files (in {@code dir}), the tokenizer, the exported vocabulary size, how many of
     * its rows are trained ones and whether it was expanded to the tokenizer's ids.
     */
    public record Written(Path dir, List<String> files, String tokenizer, int vocabSize, int trainedRows,
                          boolean expanded) {
        /** A short description for the command line. */
        public String summary() {
            String vocab = expanded
                    ? vocabSize + " ids of " + tokenizer + ", expanded from " + trainedRows
                            + " trained ids (untrained ids get the mean of the trained rows)"
                    : vocabSize + " ids of " + tokenizer + ", as trained (not expanded)";
            return "files: " + String.join(", ", files) + "\nvocabulary: " + vocab;
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * A model as stored: its configuration, its weights by our (Hugging Face) parameter names
     * ({@code model.generator.*} for a Leviathan input stage), the tokenizer's name, the vocabulary map when
     * the vocabulary is compacted, and the sequence length it was trained with (0 when unknown).
     */
    public record Source(ModelConfig config, Map<String, Tensor> weights, String tokenizer,
                         Optional<VocabularyMap> vocabularyMap, int seq) {
        public Source {
            if (config == null || weights == null || tokenizer == null || vocabularyMap == null) {
                throw new IllegalArgumentException("model source: config, weights, tokenizer and vocabularyMap are required");
            }
            if (seq < 0 || seq > config.maxSeq()) {
                throw new IllegalArgumentException("model source: seq " + seq + " outside [0, maxSeq " + config.maxSeq() + "]");
            }
            if (vocabularyMap.isPresent() && vocabularyMap.get().size() != config.vocab()) {
                throw new IllegalArgumentException("model source: the vocabulary map has " + vocabularyMap.get().size()
                        + " ids but the model's vocabulary is " + config.vocab());
            }
        }

        /** Without a known training sequence length. */
        public Source(ModelConfig config, Map<String, Tensor> weights, String tokenizer, Optional<VocabularyMap> vocabularyMap) {
            this(config, weights, tokenizer, vocabularyMap, 0);
        }

        /** The training sequence length, or {@code config.maxSeq()} when unknown. */
        public int contextLength() {
            return seq > 0 ? seq : config.maxSeq();
        }

        /**
         * A new model of shape {@code [batch, seq]} on {@code be} holding these weights (every parameter must be
         * present with its shape; tensors of other names are ignored). The caller closes it.
         */
        public LlamaModel toModel(Backend be, int batch, int seq) {
            LlamaModel m = new LlamaModel(be, config, batch, seq);
            try {
                for (Parameter p : m.parameters().all()) {
                    uploadWeight(be, weight(weights, p.name(), p.shape()), p.value());
                }
                return m;
            } catch (RuntimeException | Error e) {
                m.close();
                throw e;
            }
        }
    }

    /**
     * Opens a stored model and runs {@code action} on it while its files are mapped: a training checkpoint
     * (folder or file, {@link Checkpoint}) or a folder written by this export ({@code config.json} with
     * {@code "model_type": "llama"} and {@code model.safetensors}). The tensors are valid only inside
     * {@code action}.
     */
    public static <T> T withSource(Path path, Function<Source, T> action) {
        if (Files.isDirectory(path) && Files.isRegularFile(path.resolve(CONFIG_FILE))
                && Files.isRegularFile(path.resolve(WEIGHTS_FILE))) {
            Exported e = readConfig(path);
            try (TensorArena mapped = new TensorArena()) {
                SafeTensors st = SafeTensors.open(path.resolve(WEIGHTS_FILE), mapped);
                Map<String, Tensor> w = asMap(st);
                if (e.config().tiedHead()) {
                    w.remove("lm_head.weight");
                }
                return action.apply(new Source(e.config(), w, e.tokenizer(), e.vocabularyMap()));
            }
        }
        return withCheckpoint(path, action);
    }

    // ------------------------------------------------------------------------------------------ export

    /** Exports a training checkpoint (folder or file) into {@code outDir}, which must not exist or be empty. */
    public static Written export(Path checkpoint, Path outDir) {
        return export(checkpoint, outDir, false);
    }

    /** Exports a training checkpoint (folder or file); {@code force} replaces a non-empty {@code outDir}. */
    public static Written export(Path checkpoint, Path outDir, boolean force) {
        return export(checkpoint, outDir, force, "cpu");
    }

    /**
     * Exports a training checkpoint, running a Leviathan generator on the backend named {@code device}
     * ({@code cpu}, {@code cuda}; see {@code Backends.create}).
     */
    public static Written export(Path checkpoint, Path outDir, boolean force, String device) {
        checkTarget(outDir, force);
        return withSource(checkpoint, src -> {
            if (src.config().family() == Family.LEVIATHAN) {
                try (Backend be = Backends.create(device)) {
                    return export(be, src, outDir, force);
                }
            }
            return export(null, src, outDir, force);
        });
    }

    /** Opens a training checkpoint and runs {@code action} on its model while it is open. */
    private static <T> T withCheckpoint(Path checkpoint, Function<Source, T> action) {
        try (Checkpoint ckpt = Checkpoint.load(checkpoint)) {
            ModelConfig c = ckpt.modelConfig();
            Map<String, Tensor> weights = new LinkedHashMap<>();
            for (String name : ckpt.tensors().names()) {
                if (!name.startsWith("adamw.")) {
                    weights.put(name, ckpt.tensors().get(name));
                }
            }
            int seq = 0;
            if (ckpt.metadata().containsKey("train_config")) {
                int trained = ckpt.trainConfig().seq();
                seq = trained > 0 && trained <= c.maxSeq() ? trained : 0;
            }
            String tokenizer = ckpt.metadata().getOrDefault("tokenizer", Tokenizer.DEFAULT);
            return action.apply(new Source(c, weights, tokenizer, ckpt.vocabularyMap(), seq));
        }
    }

    /** Exports the weights of a live model. */
    public static Written export(LlamaModel model, String tokenizer, Optional<VocabularyMap> map, Path outDir, boolean force) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) {
            w.put(p.name(), p.value());
        }
        try (TensorArena staging = new TensorArena()) { // device weights come to the host through the backend
            Backend be = model.backend();
            return export(be, new Source(model.config(), HostTensors.of(be, w, staging), tokenizer, map), outDir, force);
        }
    }

    /** Exports {@code src}, materialising a Leviathan generator on {@code be}. */
    public static Written export(Backend be, Source src, Path outDir, boolean force) {
        checkTarget(outDir, force);
        ModelConfig c = src.config();
        Tokenizer tokenizer = Tokenizer.of(src.tokenizer());
        int[] trainedRowOf = VocabularyExpansion.trainedRowOf(c.vocab(), tokenizer.vocabSize(), src.vocabularyMap());
        boolean expanded = trainedRowOf != null;
        int vocab = expanded ? trainedRowOf.length : c.vocab();
        try (TensorArena scratch = new TensorArena()) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            Tensor embedding = c.family() == Family.LEVIATHAN
                    ? materialize(be, c, src.weights(), scratch)
                    : f32(weight(src.weights(), DenseEmbedding.WEIGHT, c.vocab(), c.dModel()), scratch);
            out.put(DenseEmbedding.WEIGHT, expanded ? VocabularyExpansion.expand(embedding, trainedRowOf, scratch) : embedding);
            for (Map.Entry<String, long[]> e : bodyShapes(c).entrySet()) {
                Tensor t = f32(weight(src.weights(), e.getKey(), e.getValue()), scratch);
                boolean head = e.getKey().equals("lm_head.weight");
                out.put(e.getKey(), head && expanded ? VocabularyExpansion.expand(t, trainedRowOf, scratch) : t);
            }
            List<String> unexpected = new ArrayList<>();
            for (String name : src.weights().keySet()) {
                if (!out.containsKey(name) && !name.startsWith("model.generator.")) {
                    unexpected.add(name);
                }
            }
            if (!unexpected.isEmpty()) {
                throw new IllegalArgumentException("weights that a LLaMA model of this configuration does not"
                        + " have: " + unexpected);
            }
            Map<String, Object> config = configJson(c, tokenizer, vocab);
            Map<String, Object> generation = new LinkedHashMap<>();
            generation.put("eos_token_id", tokenizer.endOfText());
            generation.put("pad_token_id", tokenizer.endOfText());
            List<String> files = List.of(CONFIG_FILE, GENERATION_CONFIG_FILE, WEIGHTS_FILE, TokenizerJson.TOKENIZER_FILE,
                    TokenizerJson.CONFIG_FILE, TokenizerJson.SPECIAL_TOKENS_FILE);
            writeAtomically(outDir, force, tmp -> {
                SafeTensors.write(tmp.resolve(WEIGHTS_FILE), out, Map.of("format", "pt"));
                Files.writeString(tmp.resolve(CONFIG_FILE), ModelConfigFiles.toJson(config) + "\n", StandardCharsets.UTF_8);
                Files.writeString(tmp.resolve(GENERATION_CONFIG_FILE), ModelConfigFiles.toJson(generation) + "\n",
                        StandardCharsets.UTF_8);
                TokenizerJson.write(tokenizer.name(), src.contextLength(), tmp);
            });
            return new Written(outDir, files, tokenizer.name(), vocab, c.vocab(), expanded);
        }
    }

    /**
     * The {@code config.json} of the export of a model with configuration {@code c} (for a Leviathan model,
     * the dense LLaMA its materialised table makes) over {@code vocab} ids of {@code tokenizer}.
     */
    static Map<String, Object> configJson(ModelConfig c, Tokenizer tokenizer, int vocab) {
        boolean tied = c.family() == Family.DENSE && c.tiedHead();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("architectures", List.of("LlamaForCausalLM"));
        m.put("model_type", "llama");
        m.put("hidden_size", c.dModel());
        m.put("intermediate_size", c.ffnHidden());
        m.put("num_hidden_layers", c.layers());
        m.put("num_attention_heads", c.heads());
        m.put("num_key_value_heads", c.heads());
        m.put("head_dim", c.headDim());
        m.put("hidden_act", "silu");
        m.put("rms_norm_eps", decimal(c.normEps()));
        m.put("rope_theta", decimal(c.ropeTheta()));
        m.put("rope_scaling", null);
        m.put("vocab_size", vocab);
        m.put("max_position_embeddings", c.maxSeq());
        m.put("tie_word_embeddings", tied);
        m.put("attention_bias", false);
        m.put("attention_dropout", 0.0);
        m.put("mlp_bias", false);
        m.put("initializer_range", LlamaModel.INIT_STD);
        m.put("pretraining_tp", 1);
        m.put("use_cache", true);
        m.put("torch_dtype", "float32");
        m.put("eos_token_id", tokenizer.endOfText());
        m.put("leviathan_tokenizer", tokenizer.name());
        m.put("leviathan_trained_vocab_size", c.vocab());
        m.put("leviathan_source_family", ModelConfigFiles.name(c.family()));
        return m;
    }

    // ------------------------------------------------------------------------------------------ import

    /** A folder written by {@link #export}, read back: the dense configuration and the tokenizer. */
    public record Exported(ModelConfig config, String tokenizer, Optional<VocabularyMap> vocabularyMap) {}

    /**
     * Reads the {@code config.json} of a Hugging Face LLaMA folder as a dense {@link ModelConfig}.
     *
     * @throws IllegalArgumentException for a configuration this library cannot run (not LLaMA, grouped-query
     *     attention, biases, rope scaling, another activation)
     */
    public static Exported readConfig(Path dir) {
        Path file = dir.resolve(CONFIG_FILE);
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(file + ": not a JSON object");
        }
        String type = root.path("model_type").asText("");
        if (!type.equals("llama")) {
            throw new IllegalArgumentException(file + ": model_type must be 'llama', got '" + type + "'");
        }
        int hidden = intKey(file, root, "hidden_size");
        int heads = intKey(file, root, "num_attention_heads");
        int kvHeads = root.has("num_key_value_heads") ? intKey(file, root, "num_key_value_heads") : heads;
        if (kvHeads != heads) {
            throw new IllegalArgumentException(file + ": grouped-query attention (num_key_value_heads " + kvHeads
                    + " != num_attention_heads " + heads + ") is not supported");
        }
        if (root.has("head_dim") && !root.get("head_dim").isNull() && root.get("head_dim").asInt() != hidden / heads) {
            throw new IllegalArgumentException(file + ": head_dim " + root.get("head_dim") + " != hidden_size / num_attention_heads");
        }
        if (!root.path("hidden_act").asText("silu").equals("silu")) {
            throw new IllegalArgumentException(file + ": hidden_act must be 'silu', got " + root.get("hidden_act"));
        }
        for (String k : List.of("attention_bias", "mlp_bias")) {
            if (root.path(k).asBoolean(false)) {
                throw new IllegalArgumentException(file + ": " + k + " is not supported");
            }
        }
        if (root.has("rope_scaling") && !root.get("rope_scaling").isNull()) {
            throw new IllegalArgumentException(file + ": rope_scaling is not supported");
        }
        ModelConfig c = new ModelConfig(Family.DENSE, intKey(file, root, "vocab_size"), hidden,
                intKey(file, root, "num_hidden_layers"), heads, intKey(file, root, "intermediate_size"),
                (float) root.path("rms_norm_eps").asDouble(1e-6), (float) root.path("rope_theta").asDouble(10_000),
                intKey(file, root, "max_position_embeddings"), root.path("tie_word_embeddings").asBoolean(false), null);
        String tokenizer = root.path("leviathan_tokenizer").asText("o200k_base");
        Optional<VocabularyMap> map = Optional.empty();
        if (root.hasNonNull("leviathan_vocabulary_map")) {
            map = Optional.of(VocabularyMap.load(dir.resolve(root.get("leviathan_vocabulary_map").asText())));
        }
        return new Exported(c, tokenizer, map);
    }

    /**
     * Loads a Hugging Face LLaMA folder (as {@link #export} writes it) into a new dense model of shape
     * {@code [batch, seq]} on {@code be}; the caller closes it. Every parameter must be present with its shape.
     */
    public static LlamaModel load(Backend be, Path dir, int batch, int seq) {
        ModelConfig c = readConfig(dir).config();
        LlamaModel model = new LlamaModel(be, c, batch, seq);
        try (TensorArena mapped = new TensorArena()) {
            SafeTensors st = SafeTensors.open(dir.resolve(WEIGHTS_FILE), mapped);
            ParameterStore params = model.parameters();
            for (Parameter p : params.all()) {
                uploadWeight(be, weight(asMap(st), p.name(), p.shape()), p.value());
            }
            List<String> unknown = new ArrayList<>();
            for (String name : st.names()) {
                boolean known = params.all().stream().anyMatch(p -> p.name().equals(name));
                if (!known && !(c.tiedHead() && name.equals("lm_head.weight"))) {
                    unknown.add(name);
                }
            }
            if (!unknown.isEmpty()) {
                throw new IllegalArgumentException(dir.resolve(WEIGHTS_FILE) + ": unexpected tensors " + unknown);
            }
            return model;
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** Every non-input-stage tensor of the exported LLaMA and its shape, in file order. */
    static Map<String, long[]> bodyShapes(ModelConfig c) {
        Map<String, long[]> m = new LinkedHashMap<>();
        long d = c.dModel();
        long f = c.ffnHidden();
        for (int l = 0; l < c.layers(); l++) {
            String p = "model.layers." + l + ".";
            m.put(p + "input_layernorm.weight", new long[] {d});
            m.put(p + "self_attn.q_proj.weight", new long[] {d, d});
            m.put(p + "self_attn.k_proj.weight", new long[] {d, d});
            m.put(p + "self_attn.v_proj.weight", new long[] {d, d});
            m.put(p + "self_attn.o_proj.weight", new long[] {d, d});
            m.put(p + "post_attention_layernorm.weight", new long[] {d});
            m.put(p + "mlp.gate_proj.weight", new long[] {f, d});
            m.put(p + "mlp.up_proj.weight", new long[] {f, d});
            m.put(p + "mlp.down_proj.weight", new long[] {d, f});
        }
        m.put("model.norm.weight", new long[] {d});
        if (!(c.family() == Family.DENSE && c.tiedHead())) {
            m.put("lm_head.weight", new long[] {c.vocab(), d});
        }
        return m;
    }

    /** The generator's {@code [V, D]} table, materialised from its weights into {@code arena}. */
    private static Tensor materialize(Backend be, ModelConfig c, Map<String, Tensor> weights, TensorArena arena) {
        if (be == null) {
            throw new IllegalArgumentException("exporting a leviathan model needs a backend to run its generator");
        }
        Tensor table = arena.allocate(DType.F32, c.vocab(), c.dModel());
        try (TensorArena genArena = be.newArena()) {
            ParameterStore store = new ParameterStore(genArena);
            LeviathanGenerator gen = new LeviathanGenerator(be, genArena, store, c, Math.min(c.vocab(), 4096));
            for (Parameter p : store.all()) {
                uploadWeight(be, weight(weights, p.name(), p.shape()), p.value());
            }
            Tensor onDevice = genArena.allocate(DType.F32, c.vocab(), c.dModel());
            gen.materialize(onDevice);
            be.download(onDevice, table.segment());
        }
        return table;
    }

    private static Tensor weight(Map<String, Tensor> weights, String name, long... shape) {
        Tensor t = weights.get(name);
        if (t == null) {
            throw new IllegalArgumentException("missing weight '" + name + "'");
        }
        if (!Arrays.equals(t.shape(), shape)) {
            throw new IllegalArgumentException("weight '" + name + "' has shape " + Arrays.toString(t.shape())
                    + ", expected " + Arrays.toString(shape));
        }
        if (t.dtype() == DType.I32) {
            throw new IllegalArgumentException("weight '" + name + "' is I32, expected F32 or BF16");
        }
        return t;
    }

    /** Copies a host weight (F32 or BF16, e.g. a mapped file) into a parameter on {@code be}'s device, as F32. */
    static void uploadWeight(Backend be, Tensor hostSrc, Tensor dst) {
        if (hostSrc.dtype() == DType.F32 && hostSrc.isContiguous()) {
            be.upload(hostSrc.segment(), dst);
            return;
        }
        try (TensorArena scratch = new TensorArena()) {
            Tensor f = scratch.allocate(DType.F32, hostSrc.shape()).copyFrom(hostSrc);
            be.upload(f.segment(), dst);
        }
    }

    private static Tensor f32(Tensor t, TensorArena arena) {
        if (t.dtype() == DType.F32) {
            return t;
        }
        Tensor out = arena.allocate(DType.F32, t.shape());
        out.copyFrom(t);
        return out;
    }

    private static Map<String, Tensor> asMap(SafeTensors st) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        for (String n : st.names()) {
            m.put(n, st.get(n));
        }
        return m;
    }

    private static int intKey(Path file, JsonNode root, String key) {
        JsonNode n = root.get(key);
        if (n == null || !n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new IllegalArgumentException(file + ": key '" + key + "' must be an integer, got " + n);
        }
        return n.intValue();
    }

    /** A float as the shortest decimal that reads back to it (1e-5f as 1.0E-5). */
    private static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    // ------------------------------------------------------------------------------------------ files

    /** Writes into a fresh folder. */
    @FunctionalInterface
    interface FolderWriter {
        void write(Path tmp) throws IOException;
    }

    /** Throws unless {@code outDir} can be written: absent, an empty folder, or any folder with {@code force}. */
    public static void checkTarget(Path outDir, boolean force) {
        if (Files.exists(outDir)) {
            if (!Files.isDirectory(outDir)) {
                throw new IllegalArgumentException("output " + outDir + " exists and is not a folder");
            }
            if (!force && !isEmpty(outDir)) {
                throw new IllegalArgumentException("output folder " + outDir + " exists and is not empty;"
                        + " choose another --out or add --force to replace it");
            }
        }
    }

    /**
     * Runs {@code writer} on a temporary folder beside {@code outDir}, then renames it to {@code outDir}
     * (replacing an existing folder, moved aside first and deleted after, when allowed).
     */
    static void writeAtomically(Path outDir, boolean force, FolderWriter writer) {
        checkTarget(outDir, force);
        Path target = outDir.toAbsolutePath().normalize();
        Path parent = target.getParent();
        Path tmp = null;
        try {
            Files.createDirectories(parent);
            tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp");
            writer.write(tmp);
            readableByAll(tmp);
            Path old = null;
            if (Files.exists(target)) {
                checkTarget(target, force);
                if (isEmpty(target)) {
                    Files.delete(target);
                } else {
                    old = Files.createTempDirectory(parent, "." + target.getFileName() + ".old");
                    Files.delete(old);
                    Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
            if (old != null) {
                deleteTree(old);
            }
        } catch (DirectoryNotEmptyException e) {
            throw new IllegalArgumentException("output folder " + outDir + " appeared while exporting; not replaced", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + outDir + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    deleteTree(tmp);
                } catch (IOException ignored) {
                    // a temporary folder is left behind; the target was not touched
                }
            }
        }
    }

    /**
     * Temporary files and folders are created private (0600 / 0700); give what we publish the usual
     * permissions (files 0644, folders 0755), recursively. A file system without POSIX permissions is left as is.
     */
    static void readableByAll(Path root) throws IOException {
        if (!root.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(
                        Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
        }
    }

    private static boolean isEmpty(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
