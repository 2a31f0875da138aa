package io.leviathan.train;

import io.leviathan.backend.AttentionChoice;
import io.leviathan.backend.Backends;
import io.leviathan.io.JsonConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.Precision;
import io.leviathan.model.Presets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training run's configuration: one JSON object, every key optional (absent keys take the defaults of
 * {@link #defaults()}, which are what {@code ./leviathan train} with no arguments runs):
 * <pre>
 * {
 *   "model": "tiny",              a preset name, or an inline model object in ModelConfigFiles format
 *                                 ({"preset": "tiny", "dModel": 96, "generator": {...}} or every key;
 *                                 its vocab may be omitted: the run's vocabulary replaces it)
 *   "family": "leviathan",        dense | leviathan: converts the model (default generator); null keeps it
 *   "vocab": null,                model vocabulary; null = the dataset's (its compacted size when compacted)
 *   "data": null,                 prepared dataset folder, or a raw .txt/.jsonl/.jsonl.zst file that is
 *                                 prepared into &lt;out&gt;/data first; null = the embedded default corpus
 *   "tokenizer": "o200k_base",    tokenizer for preparing a raw file (o200k_base | cl100k_base)
 *   "steps": 1000,                optimizer updates
 *   "batch": 8, "seq": 64,        sequences per micro-batch and tokens per sequence
 *   "accum": 1,                   micro-batches per update (gradient accumulation)
 *   "lr": 0.003,                  peak learning rate
 *   "minLr": null,                cosine floor; null = lr / 10
 *   "warmup": null,               linear warmup steps; null = 5 % of steps
 *   "weightDecay": 0.1, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8,
 *   "clip": 1.0,                  global gradient-norm clip; 0 = off
 *   "evalEvery": 100,             validation every N steps (and at the end); 0 = only at the end
 *   "evalBatches": 8,             validation micro-batches per evaluation (the same ones every time)
 *   "checkpointEvery": 250,       checkpoint every N steps (and at the end); 0 = only at the end
 *   "keepCheckpoints": 3,         keep the newest K checkpoints
 *   "device": "cpu",              cpu | cuda | auto (CUDA where it can run, else the CPU)
 *   "precision": "fp32",          fp32 | bf16 (bf16 matmul and attention operands, fp32 master weights and loss)
 *   "attention": "auto",          auto | cudnn | native: on CUDA, cuDNN's fused attention where its plan finalizes
 *                                 (bf16), else our kernel (auto), cuDNN or an error (cudnn), our kernel (native);
 *                                 the CPU backend has one attention, so cudnn needs device cuda
 *   "out": null,                  run folder; null = runs/&lt;yyyyMMdd-HHmmss&gt;
 *   "seed": 1337,                 initialisation and data-order seed
 *   "sampleTokens": 48,           tokens to sample at the end; 0 = none
 *   "sampler": "random"           training windows: random (independent random positions, with replacement)
 *                                 | epochs (every non-overlapping window once per epoch, shuffled)
 * }
 * </pre>
 * Unknown keys, wrong types and invalid values are errors ({@link IllegalArgumentException}) that name the
 * source, the key, and the valid keys or values. Command-line flags override the file ({@link #with}).
 */
public record TrainConfig(JsonNode model, String family, Integer vocab, String data, String tokenizer,
                          long steps, int batch, int seq, int accum, float lr, Float minLr, Long warmup,
                          float weightDecay, float beta1, float beta2, float eps, float clip,
                          int evalEvery, int evalBatches, int checkpointEvery, int keepCheckpoints,
                          String device, String precision, String attention, String out, long seed,
                          int sampleTokens, String sampler) {

    /** Every key, in the order {@link #toJson} writes them. */
    public static final List<String> KEYS = List.of("model", "family", "vocab", "data", "tokenizer", "steps",
            "batch", "seq", "accum", "lr", "minLr", "warmup", "weightDecay", "beta1", "beta2", "eps", "clip",
            "evalEvery", "evalBatches", "checkpointEvery", "keepCheckpoints", "device", "precision", "attention", "out",
            "seed", "sampleTokens", "sampler");

    /** The training samplers ({@code sampler} key): independent random windows, or shuffled epochs. */
    public static final List<String> SAMPLERS = List.of("random", "epochs");
    static final List<String> TOKENIZERS = List.of("o200k_base", "cl100k_base");
    static final List<String> DEVICES = Backends.DEVICES;

    private static final ObjectMapper MAPPER = JsonConfig.MAPPER;

    public TrainConfig {
        String src = "train config";
        if (model == null || !(model.isTextual() || model.isObject())) {
            throw new IllegalArgumentException(src + ": key 'model' must be a preset name ("
                    + String.join(", ", Presets.names()) + ") or a model object, got " + model);
        }
        if (family != null && !family.equals("dense") && !family.equals("leviathan")) {
            throw new IllegalArgumentException(src + ": key 'family' must be dense or leviathan, got '" + family + "'");
        }
        if (vocab != null && vocab < 1) {
            throw new IllegalArgumentException(src + ": key 'vocab' must be >= 1 (or null for the dataset's), got " + vocab);
        }
        if (!TOKENIZERS.contains(tokenizer)) {
            throw new IllegalArgumentException(src + ": key 'tokenizer' must be one of " + String.join(", ", TOKENIZERS)
                    + ", got '" + tokenizer + "'");
        }
        atLeast(src, "steps", steps, 1);
        atLeast(src, "batch", batch, 1);
        atLeast(src, "seq", seq, 2);
        atLeast(src, "accum", accum, 1);
        if (!(lr > 0) || !Float.isFinite(lr)) {
            throw new IllegalArgumentException(src + ": key 'lr' must be a finite number > 0, got " + lr);
        }
        if (minLr != null && !(minLr >= 0 && minLr <= lr)) {
            throw new IllegalArgumentException(src + ": key 'minLr' must be in [0, lr = " + lr + "] (or null for lr / 10), got " + minLr);
        }
        if (warmup != null && (warmup < 0 || warmup > steps)) {
            throw new IllegalArgumentException(src + ": key 'warmup' must be in [0, steps = " + steps + "] (or null for 5 % of steps), got " + warmup);
        }
        if (!(weightDecay >= 0) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException(src + ": key 'weightDecay' must be a finite number >= 0, got " + weightDecay);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException(src + ": key 'beta1' must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException(src + ": key 'beta2' must be in [0, 1), got " + beta2);
        }
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException(src + ": key 'eps' must be a finite number > 0, got " + eps);
        }
        if (!(clip >= 0) || !Float.isFinite(clip)) {
            throw new IllegalArgumentException(src + ": key 'clip' must be a finite number >= 0 (0 = no clipping), got " + clip);
        }
        atLeast(src, "evalEvery", evalEvery, 0);
        atLeast(src, "evalBatches", evalBatches, 1);
        atLeast(src, "checkpointEvery", checkpointEvery, 0);
        atLeast(src, "keepCheckpoints", keepCheckpoints, 1);
        if (!DEVICES.contains(device)) {
            throw new IllegalArgumentException(src + ": key 'device' must be one of " + String.join(", ", DEVICES)
                    + ", got '" + device + "'");
        }
        try {
            Precision.of(precision);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(src + ": key 'precision' must be fp32 or bf16, got '" + precision + "'");
        }
        if (!AttentionChoice.NAMES.contains(attention)) {
            throw new IllegalArgumentException(src + ": key 'attention' must be one of "
                    + String.join(", ", AttentionChoice.NAMES) + ", got '" + attention + "'");
        }
        if (attention.equals("cudnn") && device.equals("cpu")) {
            throw new IllegalArgumentException(src + ": key 'attention' is 'cudnn', which needs key 'device' cuda (or"
                    + " auto on a machine with a GPU), but device is 'cpu'");
        }
        atLeast(src, "sampleTokens", sampleTokens, 0);
        if (!SAMPLERS.contains(sampler)) {
            throw new IllegalArgumentException(src + ": key 'sampler' must be one of " + String.join(", ", SAMPLERS)
                    + ", got '" + sampler + "'");
        }
        // the model itself must resolve
        resolveModel(model, family, vocab, 1);
    }

    /**
     * The defaults: the {@code tiny} preset as a Leviathan model on the embedded corpus, sized to train in
     * a few minutes on a laptop CPU.
     */
    public static TrainConfig defaults() {
        return new TrainConfig(JsonNodeFactory.instance.textNode("tiny"), "leviathan", null, null, "o200k_base",
                1000, 8, 64, 1, 3e-3f, null, null, 0.1f, 0.9f, 0.95f, 1e-8f, 1.0f,
                100, 8, 250, 3, "cpu", "fp32", "auto", null, 1337, 48, "random");
    }

    // ---------------------------------------------------------------- derived values

    /** The cosine floor: {@code minLr}, or lr / 10. */
    public float effectiveMinLr() {
        return minLr != null ? minLr : lr / 10f;
    }

    /** The warmup steps: {@code warmup}, or 5 % of the steps. */
    public long effectiveWarmup() {
        return warmup != null ? warmup : steps / 20;
    }

    /** The schedule this configuration describes. */
    public CosineSchedule schedule() {
        return new CosineSchedule(lr, effectiveMinLr(), effectiveWarmup(), steps);
    }

    /** The optimizer hyper-parameters. */
    public AdamWConfig adamw() {
        return new AdamWConfig(beta1, beta2, eps, weightDecay);
    }

    /** Tokens per update: batch * seq * accum. */
    public long tokensPerStep() {
        return (long) batch * seq * accum;
    }

    /**
     * The model: the preset or inline object, converted to {@link #family} when set, with vocabulary
     * {@link #vocab} when set, else {@code datasetVocab}.
     */
    public ModelConfig modelConfig(int datasetVocab) {
        return resolveModel(model, family, vocab, datasetVocab);
    }

    private static ModelConfig resolveModel(JsonNode model, String family, Integer vocab, int datasetVocab) {
        ModelConfig c;
        if (model.isTextual()) {
            try {
                c = Presets.get(model.textValue());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("train config: key 'model': " + e.getMessage()
                        + " (or give an inline model object)");
            }
        } else {
            JsonNode m = model;
            if (!m.has("preset") && !m.has("vocab")) { // the vocabulary comes from the dataset or 'vocab'
                m = ((ObjectNode) m.deepCopy()).put("vocab", 1);
            }
            c = ModelConfigFiles.parse(m.toString(), "train config key 'model'").config();
        }
        if (family != null) {
            Family f = ModelConfigFiles.family(family);
            if (f != c.family()) {
                c = f == Family.LEVIATHAN ? c.asLeviathan(GeneratorConfig.defaults()) : c.asDense();
            }
        }
        return c.withVocab(vocab != null ? vocab : datasetVocab);
    }

    // ---------------------------------------------------------------- JSON

    /** Reads a configuration file (see the class comment for the format). */
    public static TrainConfig read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /** Parses JSON text over the defaults; {@code source} names it in error messages. */
    public static TrainConfig parse(String json, String source) {
        return defaults().merge(json, source);
    }

    /** This configuration with the keys of the JSON object {@code json} replaced. */
    public TrainConfig merge(String json, String source) {
        JsonNode root = JsonConfig.parseObject(json, source, KEYS);
        ObjectNode tree = toTree();
        root.fields().forEachRemaining(e -> tree.set(e.getKey(), e.getValue()));
        return fromTree(tree, source);
    }

    /**
     * This configuration with {@code key} set from a command-line string: numbers are parsed, {@code null}
     * clears a nullable key, {@code model} takes a preset name, a path to a model JSON file, or inline JSON.
     */
    public TrainConfig with(String key, String value) {
        if (!KEYS.contains(key)) {
            throw new IllegalArgumentException("unknown train config key '" + key + "'; valid keys: " + String.join(", ", KEYS));
        }
        ObjectNode tree = toTree();
        JsonNodeFactory f = JsonNodeFactory.instance;
        JsonNode node;
        if (value == null || value.equals("null")) {
            node = f.nullNode();
        } else if (key.equals("model")) {
            if (value.strip().startsWith("{")) {
                try {
                    node = MAPPER.readTree(value);
                } catch (JsonProcessingException e) {
                    throw new IllegalArgumentException("--model: inline model JSON is not valid: " + e.getOriginalMessage());
                }
            } else if (Presets.exists(value) || !Files.isRegularFile(Path.of(value))) {
                node = f.textNode(value);
            } else {
                try {
                    node = MAPPER.readTree(Files.readString(Path.of(value), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    throw new IllegalArgumentException("model file " + value + ": " + e.getMessage(), e);
                }
            }
        } else if (STRINGS.contains(key)) {
            node = f.textNode(value);
        } else {
            try {
                node = MAPPER.readTree(value);
            } catch (JsonProcessingException e) {
                node = f.textNode(value); // reported as the wrong type below
            }
            if (node == null || !node.isNumber()) {
                throw new IllegalArgumentException("'" + key + "' needs a number, got '" + value + "'");
            }
        }
        tree.set(key, node);
        return fromTree(tree, "--" + key);
    }

    private static final List<String> STRINGS = List.of("family", "data", "tokenizer", "device", "precision", "attention",
            "out", "sampler");

    /** The attention implementation ({@code attention} key). */
    public AttentionChoice attentionChoice() {
        return AttentionChoice.of(attention);
    }

    /** The precision policy ({@code precision} key). */
    public Precision precisionPolicy() {
        return Precision.of(precision);
    }

    /** The configuration as JSON, every key explicit. */
    public String toJson() {
        try {
            return MAPPER.writeValueAsString(toTree());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The configuration as an ordered JSON object. */
    public ObjectNode toTree() {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.set("model", model.deepCopy());
        o.put("family", family);
        o.put("vocab", vocab);
        o.put("data", data);
        o.put("tokenizer", tokenizer);
        o.put("steps", steps);
        o.put("batch", batch);
        o.put("seq", seq);
        o.put("accum", accum);
        o.put("lr", decimal(lr));
        o.put("minLr", minLr == null ? null : decimal(minLr));
        o.put("warmup", warmup);
        o.put("weightDecay", decimal(weightDecay));
        o.put("beta1", decimal(beta1));
        o.put("beta2", decimal(beta2));
        o.put("eps", decimal(eps));
        o.put("clip", decimal(clip));
        o.put("evalEvery", evalEvery);
        o.put("evalBatches", evalBatches);
        o.put("checkpointEvery", checkpointEvery);
        o.put("keepCheckpoints", keepCheckpoints);
        o.put("device", device);
        o.put("precision", precision);
        o.put("attention", attention);
        o.put("out", out);
        o.put("seed", seed);
        o.put("sampleTokens", sampleTokens);
        o.put("sampler", sampler);
        return o;
    }

    /** Every key with its value as a map (for printing). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        toTree().fields().forEachRemaining(e -> m.put(e.getKey(), e.getValue()));
        return m;
    }

    private static TrainConfig fromTree(ObjectNode t, String source) {
        try {
            JsonNode model = t.get("model");
            if (model == null || !(model.isTextual() || model.isObject())) {
                throw new IllegalArgumentException("key 'model' must be a preset name (" + String.join(", ", Presets.names())
                        + ") or a model object in the model config format, got " + model);
            }
            return new TrainConfig(model, optString(t, "family"), optInt(t, "vocab"), optString(t, "data"),
                    string(t, "tokenizer"), longValue(t, "steps"), intValue(t, "batch"), intValue(t, "seq"),
                    intValue(t, "accum"), floatValue(t, "lr"), optFloat(t, "minLr"), optLong(t, "warmup"),
                    floatValue(t, "weightDecay"), floatValue(t, "beta1"), floatValue(t, "beta2"), floatValue(t, "eps"),
                    floatValue(t, "clip"), intValue(t, "evalEvery"), intValue(t, "evalBatches"),
                    intValue(t, "checkpointEvery"), intValue(t, "keepCheckpoints"), string(t, "device"),
                    string(t, "precision"), string(t, "attention"), optString(t, "out"), longValue(t, "seed"),
                    intValue(t, "sampleTokens"),
                    absent(t, "sampler") ? "random" : string(t, "sampler")); // configs from before the key: random
        } catch (IllegalArgumentException e) {
            String msg = e.getMessage();
            if (msg.startsWith("train config: ")) {
                msg = msg.substring("train config: ".length());
            }
            throw new IllegalArgumentException(source + ": " + msg, e);
        }
    }

    private static boolean absent(JsonNode t, String key) {
        JsonNode n = t.get(key);
        return n == null || n.isNull();
    }

    private static String string(JsonNode t, String key) {
        JsonNode n = t.get(key);
        if (n == null || !n.isTextual()) {
            throw new IllegalArgumentException("key '" + key + "' must be a string, got " + n);
        }
        return n.textValue();
    }

    private static String optString(JsonNode t, String key) {
        return absent(t, key) ? null : string(t, key);
    }

    private static long longValue(JsonNode t, String key) {
        JsonNode n = t.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToLong()) {
            throw new IllegalArgumentException("key '" + key + "' must be an integer, got " + n);
        }
        return n.longValue();
    }

    private static Long optLong(JsonNode t, String key) {
        return absent(t, key) ? null : longValue(t, key);
    }

    private static int intValue(JsonNode t, String key) {
        JsonNode n = t.get(key);
        if (n == null || !n.isIntegralNumber() || !n.canConvertToInt()) {
            throw new IllegalArgumentException("key '" + key + "' must be an integer, got " + n);
        }
        return n.intValue();
    }

    private static Integer optInt(JsonNode t, String key) {
        return absent(t, key) ? null : intValue(t, key);
    }

    private static float floatValue(JsonNode t, String key) {
        JsonNode n = t.get(key);
        if (n == null || !n.isNumber() || !Float.isFinite((float) n.doubleValue())) {
            throw new IllegalArgumentException("key '" + key + "' must be a finite number, got " + n);
        }
        return (float) n.doubleValue();
    }

    private static Float optFloat(JsonNode t, String key) {
        return absent(t, key) ? null : floatValue(t, key);
    }

    private static void atLeast(String src, String key, long v, long min) {
        if (v < min) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be >= " + min + ", got " + v);
        }
    }

    /** A float as the shortest decimal that reads back to it. */
    private static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }
}
