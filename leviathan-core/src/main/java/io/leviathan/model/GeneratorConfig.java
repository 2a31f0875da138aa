package io.leviathan.model;

/**
 * The Leviathan generator's configuration. Defaults follow our reconstruction of arXiv 2601.22040 (see
 * {@code docs/leviathan.md}).
 *
 * @param digits k: a token id is written as k base-b digits, most significant first
 * @param seedDim d_seed: the width of the codebooks and of the seed vector
 * @param heads h: independent generator heads, summed into the embedding
 * @param knots kappa: knots of the uniform B-spline grid on [0, 1]
 * @param rank R: rank-1 separable modes per head
 * @param sharedCodebook one codebook for every digit instead of k
 * @param normalizeBasis divide each coordinate's spline weights by their sum
 * @param lnEps epsilon of the per-head LayerNorm
 * @param init how codebooks and seed projections start: {@link #INIT_UNIT} or {@link #INIT_SMALL}
 */
public record GeneratorConfig(int digits, int seedDim, int heads, int knots, int rank,
                              boolean sharedCodebook, boolean normalizeBasis, float lnEps, String init) {

    /** Codebooks N(0, 1) and seed projections N(0, 1/d_seed): unit-variance seeds before the LayerNorm. */
    public static final String INIT_UNIT = "unit";
    /** Codebooks and seed projections N(0, 0.02^2), as the third-party re-implementation does. */
    public static final String INIT_SMALL = "small";
    public static final java.util.List<String> INITS = java.util.List.of(INIT_UNIT, INIT_SMALL);
    /** The initialisation a configuration without an {@code init} gets (chosen by measurement, docs/scaling.md). */
    public static final String DEFAULT_INIT = INIT_SMALL;

    /** The defaults: k 3, d_seed 128, h 8, kappa 32, R 64, k codebooks, normalised basis, eps 1e-5. */
    public static GeneratorConfig defaults() {
        return new GeneratorConfig(3, 128, 8, 32, 64, false, true, 1e-5f);
    }

    /** A configuration with the default initialisation ({@link #DEFAULT_INIT}). */
    public GeneratorConfig(int digits, int seedDim, int heads, int knots, int rank, boolean sharedCodebook,
                           boolean normalizeBasis, float lnEps) {
        this(digits, seedDim, heads, knots, rank, sharedCodebook, normalizeBasis, lnEps, DEFAULT_INIT);
    }

    /** This configuration with initialisation {@code i}. */
    public GeneratorConfig withInit(String i) {
        return new GeneratorConfig(digits, seedDim, heads, knots, rank, sharedCodebook, normalizeBasis, lnEps, i);
    }

    public GeneratorConfig {
        if (!INITS.contains(init)) {
            throw new IllegalArgumentException("generator.init must be one of " + INITS + ", got '" + init + "'");
        }
        positive("digits", digits);
        positive("seedDim", seedDim);
        positive("heads", heads);
        positive("rank", rank);
        if (knots < 3) {
            throw new IllegalArgumentException("generator.knots must be >= 3 (a quadratic spline needs three), got " + knots);
        }
        if (!(lnEps > 0)) {
            throw new IllegalArgumentException("generator.lnEps must be > 0, got " + lnEps);
        }
    }

    /** The smallest base b with b^digits >= vocab: b = ceil(vocab^(1/k)) computed exactly. */
    public int base(int vocab) {
        if (vocab < 1) {
            throw new IllegalArgumentException("vocab must be >= 1, got " + vocab);
        }
        int b = Math.max(2, (int) Math.floor(Math.pow(vocab, 1.0 / digits)) - 1);
        while (pow(b, digits) < vocab) {
            b++;
        }
        return b;
    }

    /** The number of codebooks: 1 when shared, else {@code digits}. */
    public int codebooks() {
        return sharedCodebook ? 1 : digits;
    }

    private static long pow(long b, int e) {
        long r = 1;
        try {
            for (int i = 0; i < e; i++) {
                r = Math.multiplyExact(r, b);
            }
            return r;
        } catch (ArithmeticException overflow) {
            return Long.MAX_VALUE;
        }
    }

    private static void positive(String name, int v) {
        if (v < 1) {
            throw new IllegalArgumentException("generator." + name + " must be >= 1, got " + v);
        }
    }
}
