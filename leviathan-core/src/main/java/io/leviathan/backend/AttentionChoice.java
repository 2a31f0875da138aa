package io.leviathan.backend;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Which implementation runs causal attention on a GPU backend (the {@code attention} configuration key).
 * The CPU backend has one implementation: {@link #AUTO} and {@link #NATIVE} run it, {@link #CUDNN} is refused there.
 */
public enum AttentionChoice {
    /** cuDNN's fused attention where its plan finalizes for the shape and dtypes, else our kernel. */
    AUTO,
    /** cuDNN's fused attention or an error saying why it cannot run. */
    CUDNN,
    /** Our own attention kernel. */
    NATIVE;

    /** The names the configuration takes: {@code auto}, {@code cudnn}, {@code native}. */
    public static final List<String> NAMES = Arrays.stream(values()).map(AttentionChoice::configName).toList();

    /** The configuration name, lower case. */
    public String configName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * The choice called {@code name}.
     *
     * @throws IllegalArgumentException naming the value and the valid ones
     */
    public static AttentionChoice of(String name) {
        for (AttentionChoice c : values()) {
            if (c.configName().equals(name)) {
                return c;
            }
        }
        throw new IllegalArgumentException("attention must be one of " + String.join(", ", NAMES) + ", got '" + name + "'");
    }
}
