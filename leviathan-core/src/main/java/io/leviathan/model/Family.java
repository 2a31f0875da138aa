package io.leviathan.model;

/** The two model families compared in the study. */
public enum Family {
    /** A lookup table of {@code V x D} embeddings at the input. */
    DENSE,
    /** The Leviathan generator in place of the input table. */
    LEVIATHAN
}
