package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The Leviathan generator: the input stage that replaces the {@code V x D} lookup table
 * (arXiv 2601.22040; our reconstruction is described step by step in {@code docs/leviathan.md}).
 *
 * <pre>
 * id -> k base-b digits -> z = sum_r codebook_r[digit_r]                          [d_seed]
 * per head l:  u = LayerNorm_l(W_seed,l z);  t = sigmoid(u / 2)                    [d_seed] in (0, 1)
 *              B = quadratic B-spline basis of each t_i on kappa knots (3 non-zero) [d_seed, 3]
 *              M[r] = prod_i sum_j B[i, j] S_l[i, j, r]                            [R]
 * e = sum_l M_l W_out,l                                                            [D]
 * </pre>
 *
 * Within a batch the generator runs once per distinct token id and the rows are gathered back; the
 * backward pass scatter-adds into the distinct rows first. All buffers are allocated once, for at most
 * {@code maxTokens} tokens per call.
 */
public final class LeviathanGenerator implements TokenEmbedding {
    private final Backend be;
    private final ModelConfig config;
    private final GeneratorConfig g;
    private final int vocab;
    private final int base;
    private final int maxTokens;
    private final int dSeed;
    private final int heads;
    private final int rank;
    private final int knots;
    private final boolean dedup;

    private final Parameter codebooks;  // [codebooks, base, d_seed]
    private final Parameter seedProj;   // [h, d_seed (out), d_seed (in)]
    private final Parameter lnWeight;   // [h, d_seed]
    private final Parameter lnBias;     // [h, d_seed]
    private final Parameter spline;     // [h, d_seed, kappa, R]
    private final Parameter outProj;    // [h, R, D]

    // Host-side bookkeeping for de-duplication (reused every call).
    private final int[] idScratch;
    private final int[] uniqueScratch;
    private final int[] inverseScratch;
    private final int[] digitScratch;
    private int lastUnique;
    private int lastCount;

    // Forward state, saved for the backward pass.
    private final Tensor inverse;   // I32 [maxTokens]: position -> row of its distinct id
    private final Tensor digits;    // I32 [k, maxTokens]
    private final Tensor z;         // [maxTokens, d_seed]
    private final Tensor u;         // [h, maxTokens, d_seed]  pre-LayerNorm
    private final Tensor lnMean;    // [h, maxTokens]
    private final Tensor lnRstd;    // [h, maxTokens]
    private final Tensor t;         // [h, maxTokens, d_seed]  coordinates in (0, 1)
    private final Tensor first;     // I32 [h, maxTokens, d_seed]
    private final Tensor weights;   // [h, maxTokens, d_seed, 3]
    private final Tensor modes;     // [h, maxTokens, R]
    private final Tensor eUnique;   // [maxTokens, D]

    // Scratch (forward temporaries and backward gradients), shared by the heads in turn.
    private final Tensor gathered;  // [maxTokens, d_seed]
    private final Tensor lnOut;     // [maxTokens, d_seed]
    private final Tensor dEUnique;  // [maxTokens, D]
    private final Tensor dModes;    // [maxTokens, R]
    private final Tensor dWeights;  // [maxTokens, d_seed, 3]
    private final Tensor dT;        // [maxTokens, d_seed]
    private final Tensor dHalf;     // [maxTokens, d_seed]
    private final Tensor dLnOut;    // [maxTokens, d_seed]
    private final Tensor dU;        // [maxTokens, d_seed]
    private final Tensor dZ;        // [maxTokens, d_seed]
    private final Tensor materializeIds; // I32 [maxTokens]

    /** A generator with de-duplication on. */
    public LeviathanGenerator(Backend backend, TensorArena arena, ParameterStore store, ModelConfig config, int maxTokens) {
        this(backend, arena, store, config, maxTokens, true);
    }

    /**
     * @param dedup compute once per distinct id (on) or once per position (off; for measurement and tests)
     */
    public LeviathanGenerator(Backend backend, TensorArena arena, ParameterStore store, ModelConfig config,
                              int maxTokens, boolean dedup) {
        if (config.family() != Family.LEVIATHAN) {
            throw new IllegalArgumentException("LeviathanGenerator needs a leviathan config, got " + config.family());
        }
        if (maxTokens < 1) {
            throw new IllegalArgumentException("maxTokens must be >= 1, got " + maxTokens);
        }
        this.be = backend;
        this.config = config;
        this.g = config.generator();
        this.vocab = config.vocab();
        this.base = g.base(vocab);
        this.maxTokens = maxTokens;
        this.dSeed = g.seedDim();
        this.heads = g.heads();
        this.rank = g.rank();
        this.knots = g.knots();
        this.dedup = dedup;
        int d = config.dModel();
        int k = g.digits();

        codebooks = store.create("model.generator.codebooks", true, g.codebooks(), base, dSeed);
        seedProj = store.create("model.generator.seed_proj", true, heads, dSeed, dSeed);
        lnWeight = store.create("model.generator.ln_weight", false, heads, dSeed);
        lnBias = store.create("model.generator.ln_bias", false, heads, dSeed);
        spline = store.create("model.generator.spline", false, heads, dSeed, knots, rank);
        outProj = store.create("model.generator.out_proj", true, heads, rank, d);

        idScratch = new int[maxTokens];
        uniqueScratch = new int[maxTokens];
        inverseScratch = new int[maxTokens];
        digitScratch = new int[k * maxTokens];

        inverse = arena.allocate(DType.I32, maxTokens);
        digits = arena.allocate(DType.I32, k, maxTokens);
        z = arena.allocate(DType.F32, maxTokens, dSeed);
        u = arena.allocate(DType.F32, heads, maxTokens, dSeed);
        lnMean = arena.allocate(DType.F32, heads, maxTokens);
        lnRstd = arena.allocate(DType.F32, heads, maxTokens);
        t = arena.allocate(DType.F32, heads, maxTokens, dSeed);
        first = arena.allocate(DType.I32, heads, maxTokens, dSeed);
        weights = arena.allocate(DType.F32, heads, maxTokens, dSeed, 3);
        modes = arena.allocate(DType.F32, heads, maxTokens, rank);
        eUnique = arena.allocate(DType.F32, maxTokens, d);

        gathered = arena.allocate(DType.F32, maxTokens, dSeed);
        lnOut = arena.allocate(DType.F32, maxTokens, dSeed);
        dEUnique = arena.allocate(DType.F32, maxTokens, d);
        dModes = arena.allocate(DType.F32, maxTokens, rank);
        dWeights = arena.allocate(DType.F32, maxTokens, dSeed, 3);
        dT = arena.allocate(DType.F32, maxTokens, dSeed);
        dHalf = arena.allocate(DType.F32, maxTokens, dSeed);
        dLnOut = arena.allocate(DType.F32, maxTokens, dSeed);
        dU = arena.allocate(DType.F32, maxTokens, dSeed);
        dZ = arena.allocate(DType.F32, maxTokens, dSeed);
        materializeIds = arena.allocate(DType.I32, maxTokens);
    }

    /**
     * Draws the initial weights from {@code seed}: codebooks N(0, 1), seed projections N(0, 1/d_seed),
     * LayerNorm scale 1 and shift 0, spline coefficients 1 + N(0, 0.1^2), output projections
     * N(0, (0.02/sqrt(h))^2).
     */
    public void initialize(long seed) {
        Init.normal(be, codebooks.value(), seed, codebooks.name(), 0, 1);
        Init.normal(be, seedProj.value(), seed, seedProj.name(), 0, 1 / Math.sqrt(dSeed));
        Init.constant(be, lnWeight.value(), 1f);
        Init.constant(be, lnBias.value(), 0f);
        Init.normal(be, spline.value(), seed, spline.name(), 1, 0.1);
        Init.normal(be, outProj.value(), seed, outProj.name(), 0, 0.02 / Math.sqrt(heads));
    }

    /** The base b of the digit coordinates (the smallest b with b^k >= V). */
    public int base() {
        return base;
    }

    /** The number of distinct ids the last {@link #forward} call generated. */
    public int lastUniqueCount() {
        return lastUnique;
    }

    // ------------------------------------------------------------------------------------------ forward

    @Override
    public void forward(Tensor ids, Tensor out) {
        int n = checkCall("forward", ids, out);
        int nu = deduplicate(ids, n);
        writeDigits(nu);

        // Seed: z = sum over digits of the selected codebook rows.
        Tensor zu = rows(z, nu);
        for (int r = 0; r < g.digits(); r++) {
            Tensor ids_r = digits.select(0, r).narrow(0, 0, nu);
            if (r == 0) {
                be.embedding(ids_r, codebook(codebooks.value(), r), zu);
            } else {
                Tensor tmp = rows(gathered, nu);
                be.embedding(ids_r, codebook(codebooks.value(), r), tmp);
                be.add(zu, tmp, zu);
            }
        }

        Tensor eu = rows(eUnique, nu);
        for (int l = 0; l < heads; l++) {
            Tensor ul = rows(u.select(0, l), nu);
            Tensor tl = rows(t.select(0, l), nu);
            Tensor fl = rows(first.select(0, l), nu);
            Tensor wl = rows(weights.select(0, l), nu);
            Tensor ml = rows(modes.select(0, l), nu);
            Tensor lnOutU = rows(lnOut, nu);
            // u = W_seed,l z ; coordinates t = sigmoid(LayerNorm(u) / 2)
            be.matmul(zu, false, seedProj.value().select(0, l), true, ul, 1f, 0f);
            be.layerNorm(ul, lnWeight.value().select(0, l), lnBias.value().select(0, l), g.lnEps(), lnOutU,
                    rows(lnMean.select(0, l), nu), rows(lnRstd.select(0, l), nu));
            be.scale(lnOutU, 0.5f, tl);
            be.sigmoid(tl, tl);
            // sparse B-spline basis, then the rank-1 modes
            be.splineBasis(tl, knots, g.normalizeBasis(), fl, wl);
            be.separableModes(fl, wl, spline.value().select(0, l), ml);
            // e += M_l W_out,l
            be.matmul(ml, false, outProj.value().select(0, l), false, eu, 1f, l == 0 ? 0f : 1f);
        }

        be.embedding(inverse.narrow(0, 0, n), eu, rows(out, n));
    }

    // ------------------------------------------------------------------------------------------ backward

    @Override
    public void backward(Tensor dOut, Tensor ids) {
        int n = checkCall("backward", ids, dOut);
        if (n != lastCount) {
            throw new IllegalStateException("generator backward: " + n + " ids, but the last forward saw " + lastCount);
        }
        int nu = lastUnique;
        Tensor zu = rows(z, nu);

        // Scatter the per-position gradient into the distinct rows.
        Tensor dEu = rows(dEUnique, nu);
        be.fill(dEu, 0f);
        be.embeddingBackward(rows(dOut, n), inverse.narrow(0, 0, n), dEu);

        Tensor dZu = rows(dZ, nu);
        for (int l = 0; l < heads; l++) {
            Tensor ul = rows(u.select(0, l), nu);
            Tensor tl = rows(t.select(0, l), nu);
            Tensor fl = rows(first.select(0, l), nu);
            Tensor wl = rows(weights.select(0, l), nu);
            Tensor ml = rows(modes.select(0, l), nu);

            // e += M_l W_out,l
            Tensor dM = rows(dModes, nu);
            be.matmul(dEu, false, outProj.value().select(0, l), true, dM, 1f, 0f);
            be.matmul(ml, true, dEu, false, outProj.grad().select(0, l), 1f, 1f);
            // modes and basis
            Tensor dW = rows(dWeights, nu);
            be.fill(dW, 0f);
            be.separableModesBackward(dM, fl, wl, spline.value().select(0, l), ml, dW, spline.grad().select(0, l));
            Tensor dTl = rows(dT, nu);
            be.fill(dTl, 0f);
            be.splineBasisBackward(dW, tl, fl, knots, g.normalizeBasis(), dTl);
            // t = sigmoid(LayerNorm(u) / 2)
            Tensor dH = rows(dHalf, nu);
            be.fill(dH, 0f);
            be.sigmoidBackward(dTl, tl, dH);
            Tensor dLn = rows(dLnOut, nu);
            be.scale(dH, 0.5f, dLn);
            Tensor dUl = rows(dU, nu);
            be.fill(dUl, 0f);
            be.layerNormBackward(dLn, ul, lnWeight.value().select(0, l), rows(lnMean.select(0, l), nu),
                    rows(lnRstd.select(0, l), nu), dUl, lnWeight.grad().select(0, l), lnBias.grad().select(0, l));
            // u = W_seed,l z
            be.matmul(dUl, true, zu, false, seedProj.grad().select(0, l), 1f, 1f);
            be.matmul(dUl, false, seedProj.value().select(0, l), false, dZu, 1f, l == 0 ? 0f : 1f);
        }

        for (int r = 0; r < g.digits(); r++) {
            be.embeddingBackward(dZu, digits.select(0, r).narrow(0, 0, nu), codebook(codebooks.grad(), r));
        }
    }

    // ------------------------------------------------------------------------------------------ export

    /**
     * Writes the {@code [V, D]} table this generator defines, {@code maxTokens} ids at a time. Row {@code i}
     * equals {@link #forward} of id {@code i}; a Leviathan model exported this way is an ordinary dense one.
     * Overwrites the saved forward state.
     */
    @Override
    public void materialize(Tensor table) {
        if (table.rank() != 2 || table.size(0) != vocab || table.size(1) != config.dModel()) {
            throw new ShapeMismatchException("materialize: table must be [" + vocab + ", " + config.dModel()
                    + "] but is " + Arrays.toString(table.shape()));
        }
        for (int start = 0; start < vocab; start += maxTokens) {
            int n = Math.min(maxTokens, vocab - start);
            MemorySegment seg = materializeIds.segment();
            for (int i = 0; i < n; i++) {
                seg.setAtIndex(ValueLayout.JAVA_INT, i, start + i);
            }
            forward(materializeIds.narrow(0, 0, n), table.narrow(0, start, n));
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    private int checkCall(String op, Tensor ids, Tensor rowsTensor) {
        ids.requireDType("generator " + op, DType.I32);
        if (ids.device() != Device.CPU) {
            throw new IllegalArgumentException("generator " + op + ": token ids must be in host memory");
        }
        long n = ids.numel();
        if (ids.rank() != 1 || n > maxTokens || n < 1) {
            throw new ShapeMismatchException("generator " + op + ": ids must be [N] with 1 <= N <= " + maxTokens
                    + " but are " + Arrays.toString(ids.shape()));
        }
        if (rowsTensor.rank() != 2 || rowsTensor.size(0) < n || rowsTensor.size(1) != config.dModel()) {
            throw new ShapeMismatchException("generator " + op + ": expected [" + n + ", " + config.dModel()
                    + "] for " + Arrays.toString(ids.shape()) + " ids, got " + Arrays.toString(rowsTensor.shape()));
        }
        return (int) n;
    }

    /** Fills {@link #inverse} and {@link #uniqueScratch}; returns the number of distinct ids. */
    private int deduplicate(Tensor ids, int n) {
        MemorySegment.copy(ids.segment(), ValueLayout.JAVA_INT, 0, idScratch, 0, n);
        for (int i = 0; i < n; i++) {
            int id = idScratch[i];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("generator: token id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        int nu;
        if (dedup) {
            System.arraycopy(idScratch, 0, uniqueScratch, 0, n);
            Arrays.sort(uniqueScratch, 0, n);
            nu = 0;
            for (int i = 0; i < n; i++) {
                if (nu == 0 || uniqueScratch[nu - 1] != uniqueScratch[i]) {
                    uniqueScratch[nu++] = uniqueScratch[i];
                }
            }
            for (int i = 0; i < n; i++) {
                inverseScratch[i] = Arrays.binarySearch(uniqueScratch, 0, nu, idScratch[i]);
            }
        } else {
            System.arraycopy(idScratch, 0, uniqueScratch, 0, n);
            for (int i = 0; i < n; i++) {
                inverseScratch[i] = i;
            }
            nu = n;
        }
        MemorySegment.copy(inverseScratch, 0, inverse.segment(), ValueLayout.JAVA_INT, 0, n);
        lastUnique = nu;
        lastCount = n;
        return nu;
    }

    /** Writes digit r of each distinct id (most significant first) into row r of {@link #digits}. */
    private void writeDigits(int nu) {
        int k = g.digits();
        for (int i = 0; i < nu; i++) {
            int id = uniqueScratch[i];
            for (int r = k - 1; r >= 0; r--) {
                digitScratch[r * maxTokens + i] = id % base;
                id /= base;
            }
        }
        MemorySegment seg = digits.segment();
        for (int r = 0; r < k; r++) {
            MemorySegment.copy(digitScratch, r * maxTokens, seg, ValueLayout.JAVA_INT, (long) r * maxTokens * 4, nu);
        }
    }

    private Tensor codebook(Tensor books, int digit) {
        return books.select(0, g.sharedCodebook() ? 0 : digit);
    }

    private static Tensor rows(Tensor x, int n) {
        return x.narrow(0, 0, n);
    }
}
