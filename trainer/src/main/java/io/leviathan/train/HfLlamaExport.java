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
 * Exports a model as an ordinary Hugging Face {@code LlamaForCausalLM} folder: {@code config.json} and
 * {@code model.safetensors} (F32), plus {@code vocabulary_map.json} when the vocabulary was compacted.
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
 * <h2>Tokenizer</h2>
 * {@code config.json} names the tokenizer ({@code "leviathan_tokenizer": "o200k_base"}); when the model's
 * vocabulary is compacted it also names the map file ({@code "leviathan_vocabulary_map"}), which converts
 * between the tokenizer's ids and the model's: the model's id {@code i} is the tokenizer's
 * {@code originalIds[i]}. {@code eos_token_id} is the tokenizer's end-of-text token in the model's ids, when
 * the vocabulary has it.
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
    /** The vocabulary map file name (compacted vocabularies only). */
    public static final String VOCABULARY_MAP_FILE = "vocabulary_map.json";

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
    public static void export(Path checkpoint, Path outDir) {
        export(checkpoint, outDir, false);
    }

    /** Exports a training checkpoint (folder or file); {@code force} replaces a non-empty {@code outDir}. */
    public static void export(Path checkpoint, Path outDir, boolean force) {
        export(checkpoint, outDir, force, "cpu");
    }

    /**
     * Exports a training checkpoint, running a Leviathan generator on the backend named {@code device}
     * ({@code cpu}, {@code cuda}; see {@code Backends.create}).
     */
    public static void export(Path checkpoint, Path outDir, boolean force, String device) {
        checkTarget(outDir, force);
        withSource(checkpoint, src -> {
            if (src.config().family() == Family.LEVIATHAN) {
                try (Backend be = Backends.create(device)) {
                    export(be, src, outDir, force);
                }
            } else {
                export(null, src, outDir, force);
            }
            return null;
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
    public static void export(LlamaModel model, String tokenizer, Optional<VocabularyMap> map, Path outDir, boolean force) {
        Map<String, Tensor> w = new LinkedHashMap<>();
        for (Parameter p : model.parameters().all()) {
            w.put(p.name(), p.value());
        }
        try (TensorArena staging = new TensorArena()) { // device weights come to the host through the backend
            Backend be = model.backend();
            export(be, new Source(model.config(), HostTensors.of(be, w, staging), tokenizer, map), outDir, force);
        }
    }

    /** Exports {@code src}, materialising a Leviathan generator on {@code be}. */
    public static void export(Backend be, Source src, Path outDir, boolean force) {
        checkTarget(outDir, force);
        ModelConfig c = src.config();
        try (TensorArena scratch = new TensorArena()) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            if (c.family() == Family.LEVIATHAN) {
                out.put(DenseEmbedding.WEIGHT, materialize(be, c, src.weights(), scratch));
            } else {
                out.put(DenseEmbedding.WEIGHT, f32(weight(src.weights(), DenseEmbedding.WEIGHT, c.vocab(), c.dModel()), scratch));
            }
            for (Map.Entry<String, long[]> e : bodyShapes(c).entrySet()) {
                out.put(e.getKey(), f32(weight(src.weights(), e.getKey(), e.getValue()), scratch));
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
            Map<String, Object> config = configJson(c, src.tokenizer(), src.vocabularyMap());
            writeAtomically(outDir, force, tmp -> {
                SafeTensors.write(tmp.resolve(WEIGHTS_FILE), out, Map.of("format", "pt"));
                Files.writeString(tmp.resolve(CONFIG_FILE), ModelConfigFiles.toJson(config) + "\n", StandardCharsets.UTF_8);
                if (src.vocabularyMap().isPresent()) {
                    src.vocabularyMap().get().save(tmp.resolve(VOCABULARY_MAP_FILE));
                }
            });
        }
    }

    /**
     * The {@code config.json} of the export of a model with configuration {@code c} (for a Leviathan model,
     * the dense LLaMA its materialised table makes).
     */
    public static Map<String, Object> configJson(ModelConfig c, String tokenizer, Optional<VocabularyMap> map) {
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
        m.put("vocab_size", c.vocab());
        m.put("max_position_embeddings", c.maxSeq());
        m.put("tie_word_embeddings", tied);
        m.put("attention_bias", false);
        m.put("attention_dropout", 0.0);
        m.put("mlp_bias", false);
        m.put("initializer_range", LlamaModel.INIT_STD);
        m.put("pretraining_tp", 1);
        m.put("use_cache", true);
        m.put("torch_dtype", "float32");
        int eos = endOfText(tokenizer, map);
        if (eos >= 0) {
            m.put("eos_token_id", eos);
        }
        m.put("leviathan_tokenizer", tokenizer);
        if (map.isPresent()) {
            m.put("leviathan_vocabulary_map", VOCABULARY_MAP_FILE);
        }
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

    private static int endOfText(String tokenizer, Optional<VocabularyMap> map) {
        int eot;
        try {
            eot = Tokenizer.of(tokenizer).endOfText();
        } catch (RuntimeException e) {
            return -1;
        }
        if (map.isEmpty()) {
            return eot;
        }
        return map.get().contains(eot) ? map.get().toCompact(eot) : -1;
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
