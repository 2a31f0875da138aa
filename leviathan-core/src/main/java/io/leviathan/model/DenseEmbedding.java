package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.Tensor;

/**
 * The dense input stage: a lookup table {@code model.embed_tokens.weight} of shape {@code [V, D]},
 * initialised N(0, 0.02^2) and weight-decayed. With a tied head ({@link ModelConfig#tiedHead()}) the model's
 * output head reuses this table, and both uses accumulate into the one gradient.
 */
public final class DenseEmbedding implements TokenEmbedding {
    /** The Hugging Face LLaMA name of the table. */
    public static final String WEIGHT = "model.embed_tokens.weight";
    /** The standard deviation of the initial weights. */
    public static final double INIT_STD = 0.02;

    private final Backend be;
    private final Parameter table;

    /** Creates the table (zero-filled until {@link #initialize}) in {@code store}. */
    public DenseEmbedding(Backend backend, ParameterStore store, ModelConfig config) {
        if (config.family() != Family.DENSE) {
            throw new IllegalArgumentException("DenseEmbedding needs a dense config, got " + config.family());
        }
        this.be = backend;
        this.table = store.create(WEIGHT, true, config.vocab(), config.dModel());
    }

    /** Draws the table from N(0, 0.02^2) with the stream of {@link Init} for its name. */
    public void initialize(long seed) {
        Init.normal(be, table.value(), seed, WEIGHT, 0.0, INIT_STD);
    }

    /** The table and its gradient. */
    public Parameter table() {
        return table;
    }

    /** Gathers the table's rows; {@code hostIds} is not needed and ignored. */
    @Override
    public void forward(Tensor ids, int[] hostIds, Tensor out) {
        be.embedding(ids, table.value(), out);
    }

    @Override
    public void backward(Tensor dOut, Tensor ids) {
        be.embeddingBackward(dOut, ids, table.grad());
    }

    @Override
    public void materialize(Tensor tableOut) {
        be.copy(table.value(), tableOut);
    }
}
