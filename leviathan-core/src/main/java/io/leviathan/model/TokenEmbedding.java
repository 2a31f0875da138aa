package io.leviathan.model;

import io.leviathan.tensor.Tensor;

/**
 * The input stage of a language model: token ids to vectors of the model width. A dense model looks rows
 * up in a table; a Leviathan model generates them (see {@link LeviathanGenerator}).
 */
public interface TokenEmbedding {

    /**
     * Writes the embedding of each id in {@code ids} (I32 {@code [N]}, on the backend's device) into
     * {@code out} ({@code [N, D]}). {@code hostIds}, when not null, holds the same ids on the host (at least
     * {@code N} of them; the data loader has them): a stage that needs the ids in Java (the Leviathan
     * generator de-duplicates them) uses those; when it is null such a stage downloads {@code ids}, which
     * waits for the device. A table lookup ignores it.
     */
    void forward(Tensor ids, int[] hostIds, Tensor out);

    /**
     * Accumulates into this stage's parameter gradients, given {@code dOut} for the ids of the last
     * {@link #forward} call.
     */
    void backward(Tensor dOut, Tensor ids);

    /** Writes the full {@code [V, D]} table this stage defines (row {@code i} = the embedding of id i). */
    void materialize(Tensor table);
}
