package io.leviathan.data;

/** The two parts of a prepared dataset: training tokens and held-out validation tokens. */
public enum Split {
    /** Training tokens (the first {@code 1 - valFraction} of the documents). */
    TRAIN,
    /** Validation tokens (the last {@code valFraction} of the documents). */
    VAL;

    /** The lower-case name used in manifests and on the command line ("train", "val"). */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
