package io.leviathan.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Exact parameter accounting of a {@link ModelConfig} by component, computed from the formulas (nothing is
 * allocated). Components, in order:
 * <table>
 *   <caption>components</caption>
 *   <tr><th>key</th><th>count</th></tr>
 *   <tr><td>{@code embedding.table}</td><td>V D (dense only)</td></tr>
 *   <tr><td>{@code generator.codebooks}</td><td>k b d_seed (b d_seed when shared), b = base(V)</td></tr>
 *   <tr><td>{@code generator.seed_proj}</td><td>h d_seed^2</td></tr>
 *   <tr><td>{@code generator.layernorm}</td><td>2 h d_seed</td></tr>
 *   <tr><td>{@code generator.spline}</td><td>h d_seed kappa R</td></tr>
 *   <tr><td>{@code generator.out_proj}</td><td>h R D</td></tr>
 *   <tr><td>{@code body.attention}</td><td>layers 4 D^2</td></tr>
 *   <tr><td>{@code body.mlp}</td><td>layers 3 D ffn</td></tr>
 *   <tr><td>{@code body.norms}</td><td>layers 2 D</td></tr>
 *   <tr><td>{@code final_norm}</td><td>D</td></tr>
 *   <tr><td>{@code head}</td><td>V D (0 when tied to the table)</td></tr>
 * </table>
 * {@link #componentOf} maps a parameter name of {@link LlamaModel} to its component, so the formulas can be
 * checked against a built model.
 */
public final class ParameterCount {
    public static final String EMBEDDING_TABLE = "embedding.table";
    public static final String CODEBOOKS = "generator.codebooks";
    public static final String SEED_PROJ = "generator.seed_proj";
    public static final String LAYERNORM = "generator.layernorm";
    public static final String SPLINE = "generator.spline";
    public static final String OUT_PROJ = "generator.out_proj";
    public static final String ATTENTION = "body.attention";
    public static final String MLP = "body.mlp";
    public static final String NORMS = "body.norms";
    public static final String FINAL_NORM = "final_norm";
    public static final String HEAD = "head";

    private final ModelConfig config;
    private final Map<String, Long> components;

    private ParameterCount(ModelConfig config, Map<String, Long> components) {
        this.config = config;
        this.components = Collections.unmodifiableMap(components);
    }

    /** The parameter count of {@code c}. */
    public static ParameterCount of(ModelConfig c) {
        long v = c.vocab();
        long d = c.dModel();
        long layers = c.layers();
        Map<String, Long> m = new LinkedHashMap<>();
        if (c.family() == Family.DENSE) {
            m.put(EMBEDDING_TABLE, v * d);
        } else {
            GeneratorConfig g = c.generator();
            long b = g.base(c.vocab());
            long ds = g.seedDim();
            long h = g.heads();
            m.put(CODEBOOKS, g.codebooks() * b * ds);
            m.put(SEED_PROJ, h * ds * ds);
            m.put(LAYERNORM, 2 * h * ds);
            m.put(SPLINE, h * ds * g.knots() * g.rank());
            m.put(OUT_PROJ, h * g.rank() * d);
        }
        m.put(ATTENTION, layers * 4 * d * d);
        m.put(MLP, layers * 3 * d * c.ffnHidden());
        m.put(NORMS, layers * 2 * d);
        m.put(FINAL_NORM, d);
        m.put(HEAD, c.tiedHead() ? 0L : v * d);
        return new ParameterCount(c, m);
    }

    /** The total of {@code c}. */
    public static long total(ModelConfig c) {
        return of(c).total();
    }

    /**
     * The component of a {@link LlamaModel} parameter name.
     *
     * @throws IllegalArgumentException for a name the model does not create
     */
    public static String componentOf(String name) {
        switch (name) {
            case DenseEmbedding.WEIGHT: return EMBEDDING_TABLE;
            case "model.generator.codebooks": return CODEBOOKS;
            case "model.generator.seed_proj": return SEED_PROJ;
            case "model.generator.ln_weight", "model.generator.ln_bias": return LAYERNORM;
            case "model.generator.spline": return SPLINE;
            case "model.generator.out_proj": return OUT_PROJ;
            case "model.norm.weight": return FINAL_NORM;
            case "lm_head.weight": return HEAD;
            default: break;
        }
        if (name.startsWith("model.layers.")) {
            if (name.contains(".self_attn.")) {
                return ATTENTION;
            }
            if (name.contains(".mlp.")) {
                return MLP;
            }
            if (name.endsWith("layernorm.weight")) {
                return NORMS;
            }
        }
        throw new IllegalArgumentException("no component for parameter '" + name + "'");
    }

    public ModelConfig config() {
        return config;
    }

    /** Count per component, in the order of the class documentation (generator or table first). */
    public Map<String, Long> components() {
        return components;
    }

    /** Every parameter. */
    public long total() {
        long t = 0;
        for (long x : components.values()) {
            t += x;
        }
        return t;
    }

    /** The input stage: the table of a dense model, the generator of a Leviathan model. */
    public long embeddingParameters() {
        long t = 0;
        for (Map.Entry<String, Long> e : components.entrySet()) {
            if (e.getKey().equals(EMBEDDING_TABLE) || e.getKey().startsWith("generator.")) {
                t += e.getValue();
            }
        }
        return t;
    }

    /** Everything but the input stage: body, final norm and head. */
    public long nonEmbedding() {
        return total() - embeddingParameters();
    }

    @Override
    public String toString() {
        return "ParameterCount" + components + " total " + total();
    }
}
