package io.leviathan.model;

import io.leviathan.io.JsonConfig;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Model configurations as JSON files. The keys are the {@link ModelConfig} and {@link GeneratorConfig}
 * component names:
 * <pre>
 * {
 *   "preset": "tiny",          optional: start from this preset, the other keys override it
 *   "family": "dense",         dense | leviathan
 *   "vocab": 200019, "dModel": 64, "layers": 2, "heads": 2, "ffnHidden": 192,
 *   "normEps": 1e-5, "ropeTheta": 10000.0, "maxSeq": 256, "tiedHead": false,
 *   "generator": { "digits": 3, "seedDim": 128, "heads": 8, "knots": 32, "rank": 64,
 *                  "sharedCodebook": false, "normalizeBasis": true, "lnEps": 1e-5 }
 * }
 * </pre>
 * Without a preset, {@code family}, {@code vocab}, {@code dModel}, {@code layers} and {@code heads} are
 * required; {@code ffnHidden} defaults to {@link ModelConfig#llamaFfnHidden}, the rest to the
 * {@link Presets} defaults, and a Leviathan model's generator keys to {@link GeneratorConfig#defaults()}.
 * Unknown keys, wrong types and invalid values are errors ({@link IllegalArgumentException}) naming the
 * source file, the key, and the valid keys or what is wrong. {@link #write} writes every key explicitly.
 */
public final class ModelConfigFiles {
    private ModelConfigFiles() {}

    /** A configuration read from a file, with the preset it started from (null if none). */
    public record Loaded(String preset, ModelConfig config) {}

    /** The top-level keys, in the order {@link #write} uses. */
    public static final List<String> KEYS = List.of("preset", "family", "vocab", "dModel", "layers", "heads",
            "ffnHidden", "normEps", "ropeTheta", "maxSeq", "tiedHead", "generator");
    /** The keys of the {@code generator} object. */
    public static final List<String> GENERATOR_KEYS = List.of("digits", "seedDim", "heads", "knots", "rank",
            "sharedCodebook", "normalizeBasis", "lnEps", "init");

    private static final ObjectMapper MAPPER = JsonConfig.MAPPER;

    /** Reads a configuration file. */
    public static Loaded read(Path file) {
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

    /** Parses a configuration from JSON text; {@code source} names it in error messages. */
    public static Loaded parse(String json, String source) {
        JsonNode root = JsonConfig.parseObject(json, source, KEYS);

        String preset = null;
        ModelConfig base = null;
        if (present(root, "preset")) {
            preset = string(source, root, "preset");
            try {
                base = Presets.get(preset);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": " + e.getMessage());
            }
        } else {
            for (String k : List.of("family", "vocab", "dModel", "layers", "heads")) {
                if (!present(root, k)) {
                    throw new IllegalArgumentException(source + ": missing key '" + k + "' (required without a"
                            + " 'preset'; presets: " + String.join(", ", Presets.names()) + ")");
                }
            }
        }

        Family family = present(root, "family") ? family(source, root) : base.family();
        int vocab = present(root, "vocab") ? integer(source, root, "vocab") : base.vocab();
        int dModel = present(root, "dModel") ? integer(source, root, "dModel") : base.dModel();
        int layers = present(root, "layers") ? integer(source, root, "layers") : base.layers();
        int heads = present(root, "heads") ? integer(source, root, "heads") : base.heads();
        int ffn;
        if (present(root, "ffnHidden")) {
            ffn = integer(source, root, "ffnHidden");
        } else if (base != null && base.dModel() == dModel) {
            ffn = base.ffnHidden();
        } else {
            ffn = ModelConfig.llamaFfnHidden(dModel);
        }
        float normEps = present(root, "normEps") ? number(source, root, "normEps")
                : base != null ? base.normEps() : Presets.NORM_EPS;
        float ropeTheta = present(root, "ropeTheta") ? number(source, root, "ropeTheta")
                : base != null ? base.ropeTheta() : Presets.ROPE_THETA;
        int maxSeq = present(root, "maxSeq") ? integer(source, root, "maxSeq")
                : base != null ? base.maxSeq() : Presets.MAX_SEQ;
        boolean tied = present(root, "tiedHead") ? bool(source, root, "tiedHead")
                : base != null && base.tiedHead() && family == Family.DENSE;

        GeneratorConfig generator = null;
        if (present(root, "generator")) {
            JsonNode g = root.get("generator");
            if (!g.isObject()) {
                throw new IllegalArgumentException(source + ": key 'generator' must be an object with keys "
                        + GENERATOR_KEYS + ", got " + g);
            }
            if (family != Family.LEVIATHAN) {
                throw new IllegalArgumentException(source + ": key 'generator' is only valid for family"
                        + " 'leviathan' (this config is " + name(family) + ")");
            }
            JsonConfig.checkKeys(source, "generator.", g, GENERATOR_KEYS);
            GeneratorConfig d = base != null && base.generator() != null ? base.generator() : GeneratorConfig.defaults();
            try {
                generator = new GeneratorConfig(
                        present(g, "digits") ? integer(source, g, "generator.", "digits") : d.digits(),
                        present(g, "seedDim") ? integer(source, g, "generator.", "seedDim") : d.seedDim(),
                        present(g, "heads") ? integer(source, g, "generator.", "heads") : d.heads(),
                        present(g, "knots") ? integer(source, g, "generator.", "knots") : d.knots(),
                        present(g, "rank") ? integer(source, g, "generator.", "rank") : d.rank(),
                        present(g, "sharedCodebook") ? bool(source, g, "generator.", "sharedCodebook") : d.sharedCodebook(),
                        present(g, "normalizeBasis") ? bool(source, g, "generator.", "normalizeBasis") : d.normalizeBasis(),
                        present(g, "lnEps") ? number(source, g, "generator.", "lnEps") : d.lnEps(),
                        present(g, "init") ? text(source, g, "generator.", "init") : d.init());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(source + ": invalid generator: " + e.getMessage());
            }
        } else if (family == Family.LEVIATHAN) {
            generator = base != null && base.generator() != null ? base.generator() : GeneratorConfig.defaults();
        }
        try {
            return new Loaded(preset, new ModelConfig(family, vocab, dModel, layers, heads, ffn, normEps, ropeTheta,
                    maxSeq, tied, generator));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": invalid model config: " + e.getMessage());
        }
    }

    /** Writes {@code config} (and {@code preset}, when not null) to {@code file} with every key explicit. */
    public static void write(Path file, String preset, ModelConfig config) {
        try {
            Files.writeString(file, toJson(toMap(preset, config)) + "\n", StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The configuration as an ordered map (the shape {@link #write} writes; preset omitted when null). */
    public static Map<String, Object> toMap(String preset, ModelConfig c) {
        Map<String, Object> m = new LinkedHashMap<>();
        if (preset != null) {
            m.put("preset", preset);
        }
        m.put("family", name(c.family()));
        m.put("vocab", c.vocab());
        m.put("dModel", c.dModel());
        m.put("layers", c.layers());
        m.put("heads", c.heads());
        m.put("ffnHidden", c.ffnHidden());
        m.put("normEps", decimal(c.normEps()));
        m.put("ropeTheta", decimal(c.ropeTheta()));
        m.put("maxSeq", c.maxSeq());
        m.put("tiedHead", c.tiedHead());
        if (c.generator() != null) {
            GeneratorConfig g = c.generator();
            Map<String, Object> gm = new LinkedHashMap<>();
            gm.put("digits", g.digits());
            gm.put("seedDim", g.seedDim());
            gm.put("heads", g.heads());
            gm.put("knots", g.knots());
            gm.put("rank", g.rank());
            gm.put("sharedCodebook", g.sharedCodebook());
            gm.put("normalizeBasis", g.normalizeBasis());
            gm.put("lnEps", decimal(g.lnEps()));
            gm.put("init", g.init());
            m.put("generator", gm);
        }
        return m;
    }

    /**
     * Pretty-printed JSON of a tree of maps, lists, strings, numbers, booleans and nulls (as built by
     * {@link #toMap}), for callers that print JSON without depending on Jackson themselves.
     */
    public static String toJson(Object tree) {
        try {
            return MAPPER.writeValueAsString(tree);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot write JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** "dense" or "leviathan". */
    public static String name(Family f) {
        return f.name().toLowerCase(Locale.ROOT);
    }

    /** Parses "dense" or "leviathan" (any case). */
    public static Family family(String s) {
        for (Family f : Family.values()) {
            if (name(f).equalsIgnoreCase(s)) {
                return f;
            }
        }
        throw new IllegalArgumentException("unknown family '" + s + "'; valid: dense, leviathan");
    }

    // ---------------------------------------------------------------- helpers

    /** A float written as the shortest decimal that reads back to it (1e-5f as 1.0E-5, not 9.99999974737875E-6). */
    private static double decimal(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    private static boolean present(JsonNode obj, String key) {
        JsonNode n = obj.get(key);
        return n != null && !n.isNull();
    }

    private static Family family(String source, JsonNode root) {
        String s = string(source, root, "family");
        try {
            return family(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(source + ": key 'family': " + e.getMessage());
        }
    }

    private static String string(String source, JsonNode obj, String key) {
        JsonNode n = obj.get(key);
        if (!n.isTextual()) {
            throw bad(source, "", key, "a string", n);
        }
        return n.textValue();
    }

    private static int integer(String source, JsonNode obj, String key) {
        return integer(source, obj, "", key);
    }

    private static int integer(String source, JsonNode obj, String prefix, String key) {
        JsonNode n = obj.get(key);
        if (!n.isIntegralNumber() || !n.canConvertToInt()) {
            throw bad(source, prefix, key, "an integer", n);
        }
        return n.intValue();
    }

    private static float number(String source, JsonNode obj, String key) {
        return number(source, obj, "", key);
    }

    private static float number(String source, JsonNode obj, String prefix, String key) {
        JsonNode n = obj.get(key);
        if (!n.isNumber() || !Float.isFinite((float) n.doubleValue())) {
            throw bad(source, prefix, key, "a finite number", n);
        }
        return (float) n.doubleValue();
    }

    private static boolean bool(String source, JsonNode obj, String key) {
        return bool(source, obj, "", key);
    }

    private static boolean bool(String source, JsonNode obj, String prefix, String key) {
        JsonNode n = obj.get(key);
        if (!n.isBoolean()) {
            throw bad(source, prefix, key, "true or false", n);
        }
        return n.booleanValue();
    }

    private static String text(String source, JsonNode obj, String prefix, String key) {
        JsonNode n = obj.get(key);
        if (!n.isTextual()) {
            throw bad(source, prefix, key, "a string", n);
        }
        return n.textValue();
    }

    private static IllegalArgumentException bad(String source, String prefix, String key, String expected, JsonNode got) {
        return new IllegalArgumentException(source + ": key '" + prefix + key + "' must be " + expected + ", got " + got);
    }
}
