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
 *   "dense": [                        the dense ladder, at least four sizes at the sweep's budget, each
 *     "tiny",                           a preset name, or
 *     {"name": "d32", "model": {...},   an inline model (ModelConfigFiles format, vocab may be omitted,
 *      "arms": [...], "seeds": [...],    "preset" allowed); "arms" and "seeds" override the sweep's for this
 *      "tokens": 2400000}                size, "tokens" its budget (a budget probe: left out of the laws)
 *   ],
 *   "arms": ["dense", "dense-tied", "iso-body", "isoparametric", "tied-deep"],   the models trained per size
 *                                     (any subset; see {@link #ARMS}); the older key "variants" lists the
 *                                     Leviathan arms only and implies "dense"
 *   "seeds": [1337],                  seeds per (size, arm); default: train.seed, else 1337
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
 * Every run of a sweep uses the same data and schedule; runs at one seed share the initialisation and data
 * order, and every size but a budget probe shares the token budget. The sweep's defaults for the training
 * settings differ from {@code ./leviathan train}'s in three places: {@code sampleTokens} 0 (no sample at the
 * end), {@code evalEvery} 0 (validation only at the end, besides the sweep's own final evaluation) and
 * {@code sampler} "epochs" (windows without replacement, so a run shorter than an epoch repeats nothing).
 * Unknown keys, wrong types and invalid values are {@link IllegalArgumentException}s naming the key.
 */
public record SweepConfig(String name, Path source, String data, String tokenizer, double valFraction,
                          boolean compactVocab, boolean skipBadLines, List<Size> dense, List<String> arms,
                          GeneratorConfig generator, Integer maxLayers, Long tokens, Long steps, ObjectNode train,
                          long evalTokens, String device, boolean keepCheckpoints) {

    /** The dense baseline with an untied head. */
    public static final String DENSE = "dense";
    /** The dense baseline with its head tied to the input table (the same body). */
    public static final String DENSE_TIED = "dense-tied";
    /** The Leviathan twin with the dense model's body ({@code ModelConfigs.isoBody}). */
    public static final String ISO_BODY = "iso-body";
    /** The Leviathan twin with the dense model's total parameter count ({@code ModelConfigs.isoParametric}). */
    public static final String ISOPARAMETRIC = "isoparametric";
    /**
     * The control: a tied dense model given the head's freed parameters as depth ({@code ModelConfigs.tiedDeep}),
     * the untied dense total without a generator.
     */
    public static final String TIED_DEEP = "tied-deep";
    /** Every arm, in the order a size's runs are planned. */
    public static final List<String> ARMS = List.of(DENSE, DENSE_TIED, ISO_BODY, ISOPARAMETRIC, TIED_DEEP);
    /** The Leviathan arms (the older key "variants" lists these). */
    public static final List<String> VARIANTS = List.of(ISO_BODY, ISOPARAMETRIC);

    public static final List<String> KEYS = List.of("name", "data", "tokenizer", "valFraction", "compactVocab",
            "skipBadLines", "dense", "arms", "variants", "seeds", "generator", "maxLayers", "tokens", "steps", "train", "evalTokens",
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
     * @param name its name (run IDs are {@code <arm>-<name>-s<seed>}, see {@code Sweep.runId})
     * @param preset the preset it was given as or started from, or null
     * @param model its configuration (the vocabulary is replaced by the dataset's when the sweep runs)
     * @param arms the arms trained at this size, in {@link #ARMS} order
     * @param seeds the seeds each arm is trained with
     * @param tokens this size's own token budget (a budget probe), or null for the sweep's
     */
    public record Size(String name, String preset, ModelConfig model, List<String> arms, List<Long> seeds,
                       Long tokens) {}

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

        if (root.has("arms") && root.has("variants")) {
            throw new IllegalArgumentException(src + ": give 'arms' or the older 'variants', not both");
        }
        List<String> arms = root.has("arms") ? arms(src, "arms", root.get("arms"), ARMS)
                : root.has("variants") ? withDense(arms(src, "variants", root.get("variants"), VARIANTS))
                : List.of(DENSE, ISO_BODY, ISOPARAMETRIC);
        long trainSeed = root.path("train").path("seed").canConvertToLong()
                ? root.path("train").path("seed").longValue() : TrainConfig.defaults().seed();
        List<Long> seeds = root.has("seeds") ? seeds(src, root.get("seeds")) : List.of(trainSeed);

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
            Size s = size(where, n, arms, seeds);
            if (!names.add(s.name())) {
                throw new IllegalArgumentException(where + ": duplicate size name '" + s.name() + "'");
            }
            sizes.add(s);
            i++;
        }
        if (sizes.stream().filter(s -> s.tokens() == null && s.arms().contains(DENSE)).count() < MIN_SIZES
                && sizes.stream().filter(s -> s.tokens() == null && s.arms().contains(DENSE_TIED)).count() < MIN_SIZES) {
            long ladder = sizes.stream().filter(s -> s.tokens() == null && s.arms().contains(DENSE)).count();
            throw new IllegalArgumentException(src + ": key 'dense' has " + ladder + " size"
                    + (ladder == 1 ? "" : "s") + " with a dense (or dense-tied) arm at the sweep's budget; a scaling"
                    + " law needs at least " + MIN_SIZES + " (three parameters and one degree of freedom)");
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
                arms, generator, maxLayers, tokens, steps, train, evalTokens, device, keep);
        c.baseTrainConfig(); // the training settings must be valid on their own
        return c;
    }

    /** This sweep on another device. */
    public SweepConfig withDevice(String d) {
        return new SweepConfig(name, source, data, tokenizer, valFraction, compactVocab, skipBadLines, dense, arms,
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
                .merge("{\"sampleTokens\":0,\"evalEvery\":0,\"family\":null,\"sampler\":\"epochs\",\"steps\":"
                        + (1L << 40) + "}", src)
                .merge(train.toString(), src).with("device", device);
        long s = steps != null ? steps : Math.max(1, (tokens + c.tokensPerStep() - 1) / c.tokensPerStep());
        return c.merge("{\"steps\":" + s + "}", src + " (steps " + s + " from the budget)");
    }

    /** The steps of every run at the sweep's budget. */
    public long runSteps() {
        return baseTrainConfig().steps();
    }

    /** The shared training configuration for a run of {@code size} with {@code seed} (its own budget, if any). */
    public TrainConfig trainConfig(Size size, long seed) {
        TrainConfig c = baseTrainConfig();
        String src = (source == null ? "sweep config" : source.toString()) + " size " + size.name();
        if (size.tokens() != null) {
            long s = Math.max(1, (size.tokens() + c.tokensPerStep() - 1) / c.tokensPerStep());
            c = c.merge("{\"steps\":" + s + "}", src + " (steps " + s + " from its budget)");
        }
        return c.merge("{\"seed\":" + seed + "}", src);
    }

    private static Size size(String where, JsonNode n, List<String> defaultArms, List<Long> defaultSeeds) {
        if (n.isTextual()) {
            String p = n.textValue();
            if (!Presets.exists(p)) {
                throw new IllegalArgumentException(where + ": unknown preset '" + p + "'; presets: "
                        + String.join(", ", Presets.names()) + " (or give {\"name\": ..., \"model\": {...}})");
            }
            return new Size(p, p, Presets.get(p), defaultArms, defaultSeeds, null);
        }
        if (!n.isObject()) {
            throw new IllegalArgumentException(where + ": expected a preset name or {\"name\": ..., \"model\": ...,"
                    + " \"variants\": [...]}, got " + n);
        }
        for (Iterator<String> it = n.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!List.of("name", "model", "arms", "variants", "seeds", "tokens").contains(k)) {
                throw new IllegalArgumentException(where + ": unknown key '" + k
                        + "'; valid keys: name, model, arms, variants, seeds, tokens");
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
        if (n.has("arms") && n.has("variants")) {
            throw new IllegalArgumentException(where + ": give 'arms' or the older 'variants', not both");
        }
        List<String> arms = n.has("arms") ? arms(where, "arms", n.get("arms"), ARMS)
                : n.has("variants") ? withDense(arms(where, "variants", n.get("variants"), VARIANTS)) : defaultArms;
        List<Long> seeds = n.has("seeds") ? seeds(where, n.get("seeds")) : defaultSeeds;
        Long tokens = n.hasNonNull("tokens") ? integer(where, n, "tokens", 1) : null;
        return new Size(name, preset, config, arms, seeds, tokens);
    }

    /** The arms named in {@code n} (from {@code valid}), in {@link #ARMS} order, each once. */
    private static List<String> arms(String src, String key, JsonNode n, List<String> valid) {
        if (!n.isArray()) {
            throw new IllegalArgumentException(src + ": key '" + key + "' must be an array of " + valid);
        }
        Set<String> named = new HashSet<>();
        for (JsonNode v : n) {
            if (!v.isTextual() || !valid.contains(v.textValue())) {
                throw new IllegalArgumentException(src + ": key '" + key + "': unknown arm " + v + "; valid: "
                        + String.join(", ", valid));
            }
            named.add(v.textValue());
        }
        return ARMS.stream().filter(named::contains).toList();
    }

    private static List<String> withDense(List<String> leviathanArms) {
        List<String> out = new ArrayList<>(List.of(DENSE));
        out.addAll(leviathanArms);
        return List.copyOf(out);
    }

    private static List<Long> seeds(String src, JsonNode n) {
        if (!n.isArray() || n.isEmpty()) {
            throw new IllegalArgumentException(src + ": key 'seeds' must be a non-empty array of integers, got " + n);
        }
        List<Long> out = new ArrayList<>();
        for (JsonNode v : n) {
            if (!v.isIntegralNumber() || !v.canConvertToLong()) {
                throw new IllegalArgumentException(src + ": key 'seeds': " + v + " is not an integer");
            }
            if (out.contains(v.longValue())) {
                throw new IllegalArgumentException(src + ": key 'seeds': seed " + v + " given twice");
            }
            out.add(v.longValue());
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
