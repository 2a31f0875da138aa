package io.leviathan.study;

import io.leviathan.io.JsonConfig;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.Presets;
import io.leviathan.train.TrainConfig;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A scaling-law sweep: one JSON object.
 * <pre>
 * {
 *   "name": "cpu-sweep",              optional label, shown in the report
 *   "data": "nlp-corpus.jsonl.zst",   a prepared dataset folder, or a raw .txt/.jsonl/.jsonl.zst file that
 *                                     the sweep prepares once into &lt;out&gt;/data. A relative path is taken
 *                                     relative to the config file's folder, else to the working folder.
 *   "tokenizer": "o200k_base",        for preparing a raw file (o200k_base | cl100k_base)
 *   "valFraction": 0.05,              validation share of the documents when preparing (the last ones)
 *   "compactVocab": true,             renumber the ids that occur (VocabularyMap) when preparing
 *   "skipBadLines": false,            skip malformed JSON lines when preparing
 *   "dense": [                        the dense ladder, at least four sizes, each
 *     "tiny",                           a preset name (the run is called dense-tiny), or
 *     {"name": "d32", "model": {...},   an inline model (ModelConfigFiles format, vocab may be omitted,
 *      "variants": ["iso-body"]}         "preset" allowed); "variants" overrides the sweep's for this size
 *   ],
 *   "variants": ["iso-body", "isoparametric"],   Leviathan twins added per dense size (may be empty)
 *   "generator": {...},               the twins' generator (GeneratorConfig keys); default: the defaults
 *   "maxLayers": null,                skip an isoparametric twin deeper than this (null = no limit)
 *   "tokens": 4000000,                token budget per run (steps = ceil(tokens / (batch seq accum)));
 *   "steps": null,                      or a number of steps: exactly one of the two
 *   "train": {"batch": 8, ...},       shared training settings: any TrainConfig key except model, family,
 *                                     vocab, data, out, device and steps (lr, minLr, warmup, seed, batch,
 *                                     seq, accum, weightDecay, clip, evalEvery, checkpointEvery, ...)
 *   "evalTokens": 65536,              final validation loss over the first this-many tokens of the
 *                                     validation split, in consecutive windows (0 = the whole split)
 *   "device": "cpu",                  cpu | cuda | auto (--device overrides)
 *   "keepCheckpoints": true           keep each finished run's checkpoints (false deletes them once its
 *                                     result.json is written)
 * }
 * </pre>
 * Every run of a sweep uses the same data, token budget, schedule and seed. The sweep's defaults for the
 * training settings differ from {@code ./leviathan train}'s in two places: {@code sampleTokens} 0 (no sample
 * at the end) and {@code evalEvery} 0 (validation only at the end, besides the sweep's own final evaluation).
 * Unknown keys, wrong types and invalid values are {@link IllegalArgumentException}s naming the key.
 */
public record SweepConfig(String name, Path source, String data, String tokenizer, double valFraction,
                          boolean compactVocab, boolean skipBadLines, List<Size> dense, List<String> variants,
                          GeneratorConfig generator, Integer maxLayers, Long tokens, Long steps, ObjectNode train,
                          long evalTokens, String device, boolean keepCheckpoints) {

    /** The Leviathan twin with the dense model's body ({@code ModelConfigs.isoBody}). */
    public static final String ISO_BODY = "iso-body";
    /** The Leviathan twin with the dense model's total parameter count ({@code ModelConfigs.isoParametric}). */
    public static final String ISOPARAMETRIC = "isoparametric";
    public static final List<String> VARIANTS = List.of(ISO_BODY, ISOPARAMETRIC);

    public static final List<String> KEYS = List.of("name", "data", "tokenizer", "valFraction", "compactVocab",
            "skipBadLines", "dense", "variants", "generator", "maxLayers", "tokens", "steps", "train", "evalTokens",
            "device", "keepCheckpoints");
    /** TrainConfig keys the sweep sets itself. */
    static final List<String> RESERVED_TRAIN_KEYS = List.of("model", "family", "vocab", "data", "out", "device", "steps");
    /** The smallest ladder: the law has three parameters, so four sizes leave one degree of freedom. */
    public static final int MIN_SIZES = 4;

    private static final Pattern SIZE_NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*");
    static final ObjectMapper MAPPER = JsonConfig.MAPPER;

    /**
     * One dense size of the ladder.
     *
     * @param name its name (run names are {@code dense-<name>}, {@code leviathan-<variant>-<name>})
     * @param preset the preset it was given as or started from, or null
     * @param model its configuration (the vocabulary is replaced by the dataset's when the sweep runs)
     * @param variants the Leviathan twins to add for this size
     */
    public record Size(String name, String preset, ModelConfig model, List<String> variants) {}

    /** Reads a sweep file. */
    public static SweepConfig read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(file + ": no such file");
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(text, file);
    }

    /** Parses sweep JSON; {@code source} (may be null) names it in messages and anchors relative data paths. */
    public static SweepConfig parse(String json, Path source) {
        String src = source == null ? "sweep config" : source.toString();
        JsonNode root = JsonConfig.parseObject(json, src, KEYS);
        String name = optText(src, root, "name", null);
        String data = optText(src, root, "data", null);
        if (data == null || data.isBlank()) {
            throw new IllegalArgumentException(src + ": key 'data' is required: a prepared dataset folder or a raw"
                    + " .txt, .jsonl or .jsonl.zst file");
        }
        data = resolveData(data, source);
        String tokenizer = optText(src, root, "tokenizer", "o200k_base");
        if (!List.of("o200k_base", "cl100k_base").contains(tokenizer)) {
            throw new IllegalArgumentException(src + ": key 'tokenizer' must be o200k_base or cl100k_base, got '"
                    + tokenizer + "'");
        }
        double valFraction = optNumber(src, root, "valFraction", 0.05);
        if (!(valFraction > 0 && valFraction < 1)) {
            throw new IllegalArgumentException(src + ": key 'valFraction' must be in (0, 1), got " + valFraction);
        }
        boolean compact = optBool(src, root, "compactVocab", true);
        boolean skipBad = optBool(src, root, "skipBadLines", false);

        List<String> variants = root.has("variants") ? variants(src, "variants", root.get("variants"))
                : List.of(ISO_BODY, ISOPARAMETRIC);

        JsonNode denseNode = root.get("dense");
        if (denseNode == null || !denseNode.isArray()) {
            throw new IllegalArgumentException(src + ": key 'dense' must be an array of at least " + MIN_SIZES
                    + " dense sizes (preset names or {\"name\": ..., \"model\": {...}} objects)");
        }
        List<Size> sizes = new ArrayList<>();
        Set<String> names = new HashSet<>();
        int i = 0;
        for (JsonNode n : denseNode) {
            String where = src + ": dense[" + i + "]";
            Size s = size(where, n, variants);
            if (!names.add(s.name())) {
                throw new IllegalArgumentException(where + ": duplicate size name '" + s.name() + "'");
            }
            sizes.add(s);
            i++;
        }
        if (sizes.size() < MIN_SIZES) {
            throw new IllegalArgumentException(src + ": key 'dense' has " + sizes.size() + " size"
                    + (sizes.size() == 1 ? "" : "s") + "; a scaling law needs at least " + MIN_SIZES
                    + " (three parameters and one degree of freedom)");
        }

        GeneratorConfig generator = GeneratorConfig.defaults();
        if (root.hasNonNull("generator")) {
            JsonNode g = root.get("generator");
            if (!g.isObject()) {
                throw new IllegalArgumentException(src + ": key 'generator' must be an object with keys "
                        + ModelConfigFiles.GENERATOR_KEYS);
            }
            ObjectNode m = JsonNodeFactory.instance.objectNode();
            m.put("family", "leviathan").put("vocab", 1000).put("dModel", 8).put("layers", 1).put("heads", 2);
            m.set("generator", g);
            generator = ModelConfigFiles.parse(m.toString(), src + " key 'generator'").config().generator();
        }
        Integer maxLayers = null;
        if (root.hasNonNull("maxLayers")) {
            maxLayers = (int) integer(src, root, "maxLayers", 1);
        }
        Long tokens = root.hasNonNull("tokens") ? integer(src, root, "tokens", 1) : null;
        Long steps = root.hasNonNull("steps") ? integer(src, root, "steps", 1) : null;
        if ((tokens == null) == (steps == null)) {
            throw new IllegalArgumentException(src + ": give exactly one of 'tokens' (token budget per run) and"
                    + " 'steps'");
        }
        ObjectNode train = JsonNodeFactory.instance.objectNode();
        if (root.hasNonNull("train")) {
            JsonNode t = root.get("train");
            if (!t.isObject()) {
                throw new IllegalArgumentException(src + ": key 'train' must be an object of training settings");
            }
            for (Iterator<String> it = t.fieldNames(); it.hasNext(); ) {
                String k = it.next();
                if (RESERVED_TRAIN_KEYS.contains(k)) {
                    throw new IllegalArgumentException(src + ": key 'train." + k + "' is set by the sweep"
                            + (k.equals("steps") ? " (give 'tokens' or 'steps' at the top level)"
                            : k.equals("device") ? " (give 'device' at the top level)" : "")
                            + "; the sweep takes every other training key");
                }
            }
            train = (ObjectNode) t.deepCopy();
        }
        long evalTokens = root.hasNonNull("evalTokens") ? integer(src, root, "evalTokens", 0) : 65_536;
        String device = optText(src, root, "device", "cpu");
        boolean keep = optBool(src, root, "keepCheckpoints", true);
        SweepConfig c = new SweepConfig(name, source, data, tokenizer, valFraction, compact, skipBad, List.copyOf(sizes),
                variants, generator, maxLayers, tokens, steps, train, evalTokens, device, keep);
        c.baseTrainConfig(); // the training settings must be valid on their own
        return c;
    }

    /** This sweep on another device. */
    public SweepConfig withDevice(String d) {
        return new SweepConfig(name, source, data, tokenizer, valFraction, compactVocab, skipBadLines, dense, variants,
                generator, maxLayers, tokens, steps, train, evalTokens, d, keepCheckpoints);
    }

    /**
     * The shared training configuration: TrainConfig's defaults, the sweep's defaults ({@code sampleTokens} 0,
     * {@code evalEvery} 0), then the {@code train} object, the device and the steps; model, data and out are
     * set per run.
     */
    public TrainConfig baseTrainConfig() {
        String src = (source == null ? "sweep config" : source.toString()) + " key 'train'";
        // steps is set last (from the budget); until then a large placeholder keeps 'warmup' checks out of the way
        TrainConfig c = TrainConfig.defaults()
                .merge("{\"sampleTokens\":0,\"evalEvery\":0,\"family\":null,\"steps\":" + (1L << 40) + "}", src)
                .merge(train.toString(), src).with("device", device);
        long s = steps != null ? steps : Math.max(1, (tokens + c.tokensPerStep() - 1) / c.tokensPerStep());
        return c.merge("{\"steps\":" + s + "}", src + " (steps " + s + " from the budget)");
    }

    /** The steps of every run. */
    public long runSteps() {
        return baseTrainConfig().steps();
    }

    private static Size size(String where, JsonNode n, List<String> defaultVariants) {
        if (n.isTextual()) {
            String p = n.textValue();
            if (!Presets.exists(p)) {
                throw new IllegalArgumentException(where + ": unknown preset '" + p + "'; presets: "
                        + String.join(", ", Presets.names()) + " (or give {\"name\": ..., \"model\": {...}})");
            }
            return new Size(p, p, Presets.get(p), defaultVariants);
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException(where + ": expected a preset name or {\"name\": ..., \"model\": ...,"
                    + " \"variants\": [...]}, got " + n);
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!List.of("name", "model", "variants").contains(k)) {
                throw new IllegalArgumentException(where + ": unknown key '" + k + "'; valid keys: name, model, variants");
            }
        }
        JsonNode m = n.get("model");
        String preset;
        ModelConfig config;
        if (m != null && m.isTextual()) {
            if (!Presets.exists(m.textValue())) {
                throw new IllegalArgumentException(where + ": unknown preset '" + m.textValue() + "'; presets: "
                        + String.join(", ", Presets.names()));
            }
            preset = m.textValue();
            config = Presets.get(preset);
        } else if (m != null && m.isObject()) {
            JsonNode mm = m;
            if (!m.has("preset") && !m.has("vocab")) {
                mm = ((ObjectNode) m.deepCopy()).put("vocab", 1); // the dataset's vocabulary replaces it
            }
            ModelConfigFiles.Loaded loaded = ModelConfigFiles.parse(mm.toString(), where + " model");
            preset = loaded.preset();
            config = loaded.config();
        } else {
            throw new IllegalArgumentException(where + ": key 'model' must be a preset name or a model object");
        }
        if (config.family() != Family.DENSE) {
            throw new IllegalArgumentException(where + ": the ladder holds dense models (the Leviathan twins are"
                    + " derived from them), got family " + ModelConfigFiles.name(config.family()));
        }
        String name;
        if (n.hasNonNull("name")) {
            if (!n.get("name").isTextual()) {
                throw new IllegalArgumentException(where + ": key 'name' must be a string");
            }
            name = n.get("name").textValue();
        } else if (preset != null && m.isTextual()) {
            name = preset;
        } else {
            name = "d" + config.dModel() + "-l" + config.layers();
        }
        if (!SIZE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException(where + ": name '" + name + "' must be letters, digits, '.', '_' or '-'");
        }
        List<String> variants = n.has("variants") ? variants(where, "variants", n.get("variants")) : defaultVariants;
        return new Size(name, preset, config, variants);
    }

    private static List<String> variants(String src, String key, JsonNode n) {
        if (!n.isArray()) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be an array of " + VARIANTS);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode v : n) {
            if (!v.isTextual() || !VARIANTS.contains(v.textValue())) {
                throw new IllegalArgumentException(src + ": key '" + key + "': unknown variant " + v + "; valid: "
                        + String.join(", ", VARIANTS));
            }
            if (!out.contains(v.textValue())) {
                out.add(v.textValue());
            }
        }
        return List.copyOf(out);
    }

    /**
     * A relative data path: the config file's folder first, then the working folder; an absolute path as is.
     * The result is absolute, so the sweep folder records where the data came from.
     */
    private static String resolveData(String data, Path source) {
        Path p = Path.of(data);
        if (p.isAbsolute()) {
            return p.normalize().toString();
        }
        if (source != null) {
            Path parent = source.toAbsolutePath().getParent();
            Path rel = parent.resolve(p).normalize();
            if (Files.exists(rel)) {
                return rel.toString();
            }
        }
        return p.toAbsolutePath().normalize().toString();
    }

    private static String optText(String src, JsonNode root, String key, String dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isTextual()) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be a string, got " + n);
        }
        return n.textValue();
    }

    private static double optNumber(String src, JsonNode root, String key, double dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber()) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be a number, got " + n);
        }
        return n.doubleValue();
    }

    private static boolean optBool(String src, JsonNode root, String key, boolean dflt) {
        JsonNode n = root.get(key);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be true or false, got " + n);
        }
        return n.booleanValue();
    }

    private static long integer(String src, JsonNode root, String key, long min) {
        JsonNode n = root.get(key);
        if (!n.isIntegralNumber() || !n.canConvertToLong() || n.longValue() < min) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be an integer >= " + min + ", got " + n);
        }
        return n.longValue();
    }
}
