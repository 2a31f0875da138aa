package io.leviathan.model;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Named dense model configurations. Every preset has vocabulary 200,019 (o200k; override with
 * {@link ModelConfig#withVocab}), RoPE theta 10,000, RMSNorm eps 1e-5, an untied head, SwiGLU hidden size
 * {@link ModelConfig#llamaFfnHidden} and maxSeq 1024 (tiny: 256). Head dimension 64 except where D is too
 * small. A Leviathan model of the same body is {@code ModelConfigs.isoBody(Presets.get(name))}.
 *
 * <p>Totals are of the dense model at V = 200,019; at that vocabulary the table and head alone are
 * 2 V D = 400,038 D parameters, so the small presets are mostly embedding.
 * <table>
 *   <caption>presets</caption>
 *   <tr><th>name</th><th>D</th><th>layers</th><th>heads</th><th>ffn</th><th>dense total</th></tr>
 *   <tr><td>tiny</td><td>64</td><td>2</td><td>2</td><td>192</td><td>25,709,248</td></tr>
 *   <tr><td>small</td><td>128</td><td>4</td><td>2</td><td>384</td><td>52,057,984</td></tr>
 *   <tr><td>medium</td><td>256</td><td>6</td><td>4</td><td>704</td><td>107,229,952</td></tr>
 *   <tr><td>paper-60m</td><td>144</td><td>8</td><td>3</td><td>384</td><td>59,598,576</td></tr>
 *   <tr><td>paper-110m</td><td>256</td><td>8</td><td>4</td><td>704</td><td>108,836,608</td></tr>
 *   <tr><td>paper-170m</td><td>384</td><td>8</td><td>6</td><td>1024</td><td>167,776,896</td></tr>
 *   <tr><td>paper-240m</td><td>512</td><td>12</td><td>8</td><td>1408</td><td>243,367,424</td></tr>
 *   <tr><td>paper-310m</td><td>640</td><td>12</td><td>10</td><td>1728</td><td>315,514,240</td></tr>
 *   <tr><td>paper-420m</td><td>768</td><td>16</td><td>12</td><td>2048</td><td>420,500,736</td></tr>
 * </table>
 */
public final class Presets {
    private Presets() {}

    /** The o200k vocabulary size every preset uses by default. */
    public static final int DEFAULT_VOCAB = 200_019;
    public static final float ROPE_THETA = 10_000f;
    public static final float NORM_EPS = 1e-5f;
    public static final int MAX_SEQ = 1024;

    private static final Map<String, ModelConfig> PRESETS = new LinkedHashMap<>();

    static {
        // tiny: runs in seconds on a CPU (with a small --vocab override, in well under a second per step).
        put("tiny", 64, 2, 2, 256);
        // small / medium: development sizes between tiny and the paper ladder.
        put("small", 128, 4, 2, MAX_SEQ);
        put("medium", 256, 6, 4, MAX_SEQ);
        // paper-60m: 59.6M dense total; D 144 with 3 heads of 48 (D 128 would need ~40 layers to reach 60M).
        put("paper-60m", 144, 8, 3, MAX_SEQ);
        // paper-110m: 108.8M dense total.
        put("paper-110m", 256, 8, 4, MAX_SEQ);
        // paper-170m: 167.8M dense total.
        put("paper-170m", 384, 8, 6, MAX_SEQ);
        // paper-240m: 243.4M dense total.
        put("paper-240m", 512, 12, 8, MAX_SEQ);
        // paper-310m: 315.5M dense total.
        put("paper-310m", 640, 12, 10, MAX_SEQ);
        // paper-420m: 420.5M dense total.
        put("paper-420m", 768, 16, 12, MAX_SEQ);
    }

    private static void put(String name, int d, int layers, int heads, int maxSeq) {
        PRESETS.put(name, new ModelConfig(Family.DENSE, DEFAULT_VOCAB, d, layers, heads, ModelConfig.llamaFfnHidden(d),
                NORM_EPS, ROPE_THETA, maxSeq, false, null));
    }

    /** Every preset name, smallest first. */
    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    /** Whether {@code name} is a preset. */
    public static boolean exists(String name) {
        return PRESETS.containsKey(name);
    }

    /**
     * The dense configuration called {@code name}.
     *
     * @throws IllegalArgumentException naming the valid presets if there is none
     */
    public static ModelConfig get(String name) {
        ModelConfig c = PRESETS.get(name);
        if (c == null) {
            throw new IllegalArgumentException("unknown model preset '" + name + "'; valid presets: "
                    + String.join(", ", PRESETS.keySet()));
        }
        return c;
    }

    /** Every preset by name, smallest first. */
    public static Map<String, ModelConfig> all() {
        return Collections.unmodifiableMap(PRESETS);
    }
}
