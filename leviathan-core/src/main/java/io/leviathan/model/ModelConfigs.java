package io.leviathan.model;

/**
 * The two ways the study pairs a Leviathan model with a dense one: the same body ({@link #isoBody}) or the
 * same total parameter count ({@link #isoParametric}).
 */
public final class ModelConfigs {
    private ModelConfigs() {}

    /** Relative tolerance of {@link #isoParametric}: totals within 1 %. */
    public static final double ISO_TOLERANCE = 0.01;
    /** The SwiGLU hidden size moves in steps of this when depth alone cannot match. */
    public static final int FFN_STEP = 8;

    /**
     * An isoparametric match.
     *
     * @param config the Leviathan configuration
     * @param layers its depth
     * @param ffnHidden its SwiGLU hidden size
     * @param denseTotal the dense model's total parameters
     * @param leviathanTotal the Leviathan model's total parameters
     */
    public record IsoParametric(ModelConfig config, int layers, int ffnHidden, long denseTotal, long leviathanTotal) {
        /** {@code (leviathan - dense) / dense}. */
        public double relativeDifference() {
            return (leviathanTotal - (double) denseTotal) / denseTotal;
        }
    }

    /** The Leviathan model with the same body as {@code dense} and the default generator (head untied). */
    public static ModelConfig isoBody(ModelConfig dense) {
        return isoBody(dense, GeneratorConfig.defaults());
    }

    /** The Leviathan model with the same body as {@code dense} and generator {@code g} (head untied). */
    public static ModelConfig isoBody(ModelConfig dense, GeneratorConfig g) {
        requireDense(dense);
        return dense.asLeviathan(g);
    }

    /** {@link #isoParametric(ModelConfig, GeneratorConfig)} with the default generator. */
    public static IsoParametric isoParametric(ModelConfig dense) {
        return isoParametric(dense, GeneratorConfig.defaults());
    }

    /**
     * A Leviathan model with {@code dense}'s width, heads and generator {@code g} whose total is within 1 % of
     * the dense model's. The depth grows from the dense depth until the total lands within 1 %. If no depth
     * does (a layer is more than 2 % of the total), the closest depth below the dense total is taken and the
     * SwiGLU hidden size is raised in steps of 8 until it lands. When the generator alone makes the
     * iso-body model larger than the dense one (a small vocabulary), the depth shrinks instead, down to 1,
     * and the hidden size is lowered in steps of 8.
     *
     * @throws IllegalArgumentException if {@code dense} is not dense or no depth and hidden size land within 1 %
     */
    public static IsoParametric isoParametric(ModelConfig dense, GeneratorConfig g) {
        requireDense(dense);
        long target = ParameterCount.total(dense);
        ModelConfig lev = dense.asLeviathan(g);
        int layers = dense.layers();
        long total = ParameterCount.total(lev);
        if (within(total, target)) {
            return result(lev, target, total);
        }
        if (total < target) {
            ModelConfig grown = grow(lev, target, dense);
            return result(grown, target, ParameterCount.total(grown));
        }
        // The generator alone outweighs the table: make the body shallower, then narrower.
        while (layers > 1) {
            ModelConfig next = lev.withLayers(layers - 1);
            long t = ParameterCount.total(next);
            if (within(t, target)) {
                return result(next, target, t);
            }
            lev = next;
            layers--;
            if (t < target) {
                // Overshot downwards: widen this depth's MLP back up.
                int ffn = lev.ffnHidden();
                while (true) {
                    ffn += FFN_STEP;
                    ModelConfig wider = lev.withFfnHidden(ffn);
                    long tw = ParameterCount.total(wider);
                    if (within(tw, target)) {
                        return result(wider, target, tw);
                    }
                    if (tw > target) {
                        throw noMatch(dense, target);
                    }
                }
            }
        }
        int ffn = lev.ffnHidden();
        while (ffn - FFN_STEP >= FFN_STEP) {
            ffn -= FFN_STEP;
            ModelConfig narrower = lev.withFfnHidden(ffn);
            long t = ParameterCount.total(narrower);
            if (within(t, target)) {
                return result(narrower, target, t);
            }
            if (t < target) {
                break;
            }
        }
        throw noMatch(dense, target);
    }

    /**
     * The control arm: {@code dense} with its head tied to the input table and the head's freed parameters
     * spent as depth (then, if no depth lands, SwiGLU width), so its total is within 1 % of {@code dense}'s
     * untied total. No generator: it separates "more body" from "a generator instead of a table".
     *
     * @throws IllegalArgumentException if {@code dense} is not dense or no depth and hidden size land within 1 %
     */
    public static IsoParametric tiedDeep(ModelConfig dense) {
        requireDense(dense);
        long target = ParameterCount.total(dense.withTiedHead(false));
        ModelConfig grown = grow(dense.withTiedHead(true), target, dense);
        return result(grown, target, ParameterCount.total(grown));
    }

    /**
     * {@code start} (smaller than {@code target}) deepened until its total is within 1 % of {@code target};
     * if a layer overshoots, the closest depth below with its SwiGLU hidden size raised in steps of 8.
     */
    private static ModelConfig grow(ModelConfig start, long target, ModelConfig dense) {
        ModelConfig c = start;
        while (true) {
            ModelConfig next = c.withLayers(c.layers() + 1);
            long t = ParameterCount.total(next);
            if (within(t, target)) {
                return next;
            }
            if (t > target) {
                break; // c (one layer shallower) is the closest depth below
            }
            c = next;
        }
        int ffn = c.ffnHidden();
        while (true) {
            ffn += FFN_STEP;
            ModelConfig next = c.withFfnHidden(ffn);
            long t = ParameterCount.total(next);
            if (within(t, target)) {
                return next;
            }
            if (t > target) {
                throw new IllegalArgumentException("no depth and SwiGLU size of a tied dense model of width "
                        + dense.dModel() + " comes within 1% of the untied total " + target
                        + " (a SwiGLU step of 8 moves every layer at once; try another width)");
            }
        }
    }

    private static IsoParametric result(ModelConfig lev, long target, long total) {
        return new IsoParametric(lev, lev.layers(), lev.ffnHidden(), target, total);
    }

    private static boolean within(long total, long target) {
        return Math.abs(total - (double) target) <= ISO_TOLERANCE * target;
    }

    private static IllegalArgumentException noMatch(ModelConfig dense, long target) {
        return new IllegalArgumentException("no Leviathan depth and SwiGLU size of width " + dense.dModel()
                + " comes within 1% of the dense total " + target + " (the generator is too large for this body)");
    }

    private static void requireDense(ModelConfig c) {
        if (c.family() != Family.DENSE) {
            throw new IllegalArgumentException("expected a dense configuration, got " + c.family());
        }
    }
}
