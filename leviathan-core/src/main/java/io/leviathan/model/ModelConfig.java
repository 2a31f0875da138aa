package io.leviathan.model;

/**
 * A LLaMA-style decoder: pre-norm RMSNorm, rotary positions, causal multi-head attention, SwiGLU MLP, no
 * biases, final RMSNorm and an output head; the input stage is a table ({@link Family#DENSE}) or the
 * Leviathan generator ({@link Family#LEVIATHAN}).
 *
 * @param family dense or Leviathan
 * @param vocab V, the vocabulary size
 * @param dModel D, the residual width
 * @param layers decoder blocks
 * @param heads attention heads (head dim = D / heads)
 * @param ffnHidden SwiGLU hidden size
 * @param normEps RMSNorm epsilon
 * @param ropeTheta rotary base
 * @param maxSeq the longest sequence the rotary tables cover
 * @param tiedHead share the output head with the input table (dense only)
 * @param generator the generator's configuration (Leviathan only; null for dense)
 */
public record ModelConfig(Family family, int vocab, int dModel, int layers, int heads, int ffnHidden,
                          float normEps, float ropeTheta, int maxSeq, boolean tiedHead, GeneratorConfig generator) {

    public ModelConfig {
        if (family == null) {
            throw new IllegalArgumentException("family must be dense or leviathan");
        }
        positive("vocab", vocab);
        positive("dModel", dModel);
        positive("layers", layers);
        positive("heads", heads);
        positive("ffnHidden", ffnHidden);
        positive("maxSeq", maxSeq);
        if (dModel % heads != 0) {
            throw new IllegalArgumentException("dModel " + dModel + " must be divisible by heads " + heads);
        }
        if ((dModel / heads) % 2 != 0) {
            throw new IllegalArgumentException("head dim " + dModel / heads + " (dModel / heads) must be even for rotary embedding");
        }
        if (!(normEps > 0)) {
            throw new IllegalArgumentException("normEps must be > 0, got " + normEps);
        }
        if (!(ropeTheta > 0)) {
            throw new IllegalArgumentException("ropeTheta must be > 0, got " + ropeTheta);
        }
        if (family == Family.LEVIATHAN && generator == null) {
            throw new IllegalArgumentException("a leviathan model needs a generator configuration");
        }
        if (family == Family.LEVIATHAN && tiedHead) {
            throw new IllegalArgumentException("a leviathan model has no input table to tie the head to");
        }
        if (family == Family.DENSE && generator != null) {
            throw new IllegalArgumentException("a dense model has no generator; drop the generator section");
        }
    }

    /** D / heads. */
    public int headDim() {
        return dModel / heads;
    }

    /** LLaMA's SwiGLU hidden size: 8/3 of {@code dModel}, rounded up to a multiple of 64. */
    public static int llamaFfnHidden(int dModel) {
        int h = (int) Math.ceil(8.0 * dModel / 3.0);
        return (h + 63) / 64 * 64;
    }

    /** This body with another vocabulary size. */
    public ModelConfig withVocab(int v) {
        return new ModelConfig(family, v, dModel, layers, heads, ffnHidden, normEps, ropeTheta, maxSeq, tiedHead, generator);
    }

    /** This body with another depth. */
    public ModelConfig withLayers(int n) {
        return new ModelConfig(family, vocab, dModel, n, heads, ffnHidden, normEps, ropeTheta, maxSeq, tiedHead, generator);
    }

    /** This body with another SwiGLU hidden size. */
    public ModelConfig withFfnHidden(int f) {
        return new ModelConfig(family, vocab, dModel, layers, heads, f, normEps, ropeTheta, maxSeq, tiedHead, generator);
    }

    /** This body with another maximum sequence length. */
    public ModelConfig withMaxSeq(int t) {
        return new ModelConfig(family, vocab, dModel, layers, heads, ffnHidden, normEps, ropeTheta, t, tiedHead, generator);
    }

    /** This dense body with its head tied to the input table, or untied. */
    public ModelConfig withTiedHead(boolean tied) {
        return new ModelConfig(family, vocab, dModel, layers, heads, ffnHidden, normEps, ropeTheta, maxSeq, tied, generator);
    }

    /** The same body as a Leviathan model with {@code g} as its generator (the head untied). */
    public ModelConfig asLeviathan(GeneratorConfig g) {
        return new ModelConfig(Family.LEVIATHAN, vocab, dModel, layers, heads, ffnHidden, normEps, ropeTheta, maxSeq, false, g);
    }

    /** The same body as a dense model with an untied head. */
    public ModelConfig asDense() {
        return new ModelConfig(Family.DENSE, vocab, dModel, layers, heads, ffnHidden, normEps, ropeTheta, maxSeq, false, null);
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException(name + " must be >= 1, got " + v);
        }
    }
}
