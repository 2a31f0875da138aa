package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
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
 * <h2>One call per step over all heads</h2>
 * With {@code Nb} rows (below) the heads run together: {@code u [h, Nb, d] = z W_seed^T} is one batched
 * matmul, then one grouped LayerNorm ({@code ln_weight}, {@code ln_bias} {@code [h, d]}), one scale and
 * sigmoid, one spline basis and one grouped separable-modes call, which writes the modes as
 * {@code [Nb, h, R]}; the aggregation is then a single matmul {@code e = M [Nb, h*R] x W_out [h*R, D]}. The
 * backward pass mirrors each call.
 *
 * <h2>Distinct ids, padded to a bucket</h2>
 * Within a batch the generator runs once per distinct token id and the rows are gathered back; the backward
 * pass scatter-adds into the distinct rows first. De-duplication (sort, unique, inverse) and the digits are
 * computed on the host from the ids and uploaded; the generator never reads or writes a tensor from Java, so
 * it runs unchanged on a device backend. On a device backend the {@code nu} distinct ids are padded to a
 * bucket {@code Nb = }{@link #bucket}{@code (nu, maxTokens)} with copies of id 0, so the shapes of every
 * call repeat from step to step (what a captured device graph needs). Padding rows are computed but never
 * gathered, and their gradient rows are zero, so the results equal the unpadded computation. The CPU backend
 * captures no graphs, so there {@code Nb = nu} by default: padding would only add up to 12.5 % more rows.
 *
 * <p>All buffers are allocated once, for at most {@code maxTokens} tokens per call, and viewed at the
 * bucket's size on each call.
 */
public final class LeviathanGenerator implements TokenEmbedding {
    /** The id whose rows fill a bucket past the distinct ids: any valid id would do. */
    static final int PAD_ID = 0;

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
    private final boolean padToBucket;
    private final boolean fused;

    private final Parameter codebooks;  // [codebooks, base, d_seed]
    private final Parameter seedProj;   // [h, d_seed (out), d_seed (in)]
    private final Parameter lnWeight;   // [h, d_seed]
    private final Parameter lnBias;     // [h, d_seed]
    private final Parameter spline;     // [h, d_seed, kappa, R]
    private final Parameter outProj;    // [h, R, D]

    // Host-side bookkeeping for de-duplication (reused every call).
    private final int[] idScratch;       // the ids, downloaded when the caller has no host copy
    private final int[] uniqueScratch;   // distinct ids, sorted, then PAD_ID up to the bucket
    private final int[] inverseScratch;  // position -> row of its distinct id
    private final long[] seenIds;        // de-duplication: one bit per vocabulary id, clear between calls
    private final int[] rowOfId;         // de-duplication: id -> its row, valid for the ids of the last call
    private final int[] digitScratch;    // [k, Nb]: digit r of row i at r * Nb + i
    private final int[] rangeScratch;    // consecutive ids for materialize
    private int lastCount;
    private int lastUnique;
    private int lastBucket;

    // Buffers, each allocated flat for maxTokens rows and viewed at the bucket's shape (see Rows).
    private final Tensor inverse;   // I32 [N]: position -> row of its distinct id
    private final Tensor digits;    // I32 [k, Nb]
    private final Tensor rangeIds;  // I32 [maxTokens], materialize's ids
    private final Tensor ones;      // [h], all 1: sums over heads as a matmul
    // forward state, saved for the backward pass
    private final Tensor z;         // [Nb, d_seed]
    private final Tensor u;         // [h, Nb, d_seed]  pre-LayerNorm
    private final Tensor lnMean;    // [h, Nb]
    private final Tensor lnRstd;    // [h, Nb]
    private final Tensor t;         // [h, Nb, d_seed]  coordinates in (0, 1)
    private final Tensor first;     // I32 [h, Nb, d_seed]; unused where the backend fuses basis and modes
    private final Tensor weights;   // [h, Nb, d_seed, 3]; unused where fused
    private final Tensor modes;     // [Nb, h, R]
    private final Tensor eUnique;   // [Nb, D]
    // forward temporaries, reused as backward scratch
    private final Tensor seedRow;   // [Nb, d_seed]  one codebook's rows
    private final Tensor lnOut;     // [h, Nb, d_seed]  LayerNorm output; backward: dT, then dU
    // backward
    private final Tensor dEUnique;  // [Nb, D]
    private final Tensor dModes;    // [Nb, h, R]
    private final Tensor dWeights;  // [h, Nb, d_seed, 3]; unused where fused
    private final Tensor dCoord;    // [h, Nb, d_seed]  d(LayerNorm output), then each head's dZ
    private final Tensor dZ;        // [Nb, d_seed]

    /** A generator with de-duplication on. */
    public LeviathanGenerator(Backend backend, TensorArena arena, ParameterStore store, ModelConfig config, int maxTokens) {
        this(backend, arena, store, config, maxTokens, true);
    }

    /**
     * @param dedup compute once per distinct id (on) or once per position (off; for measurement and tests)
     */
    public LeviathanGenerator(Backend backend, TensorArena arena, ParameterStore store, ModelConfig config,
                              int maxTokens, boolean dedup) {
        this(backend, arena, store, config, maxTokens, dedup, backend.device() != Device.CPU);
    }

    /**
     * @param padToBucket pad the distinct ids to {@link #bucket} rows (on; the default on a device backend) or
     *                    not (the default on the CPU; tests compare the two)
     */
    LeviathanGenerator(Backend backend, TensorArena arena, ParameterStore store, ModelConfig config,
                       int maxTokens, boolean dedup, boolean padToBucket) {
        this(backend, arena, store, config, maxTokens, dedup, padToBucket, true);
    }

    /**
     * @param fuse run the spline basis and the separable modes as one op where the backend fuses them (on), or
     *             as two ops always (off; tests compare the two)
     */
    LeviathanGenerator(Backend backend, TensorArena arena, ParameterStore store, ModelConfig config,
                       int maxTokens, boolean dedup, boolean padToBucket, boolean fuse) {
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
        this.padToBucket = padToBucket;
        this.fused = fuse && backend.fusesSplineBasis();
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
        seenIds = new long[dedup ? (vocab + 63) / 64 : 0];
        rowOfId = new int[dedup ? vocab : 0];
        digitScratch = new int[k * maxTokens];
        rangeScratch = new int[maxTokens];

        long rows = maxTokens;
        inverse = arena.allocate(DType.I32, rows);
        digits = arena.allocate(DType.I32, k * rows);
        rangeIds = arena.allocate(DType.I32, rows);
        ones = arena.allocate(DType.F32, heads);
        be.fill(ones, 1f);
        onesRow = ones.reshape(1, heads);
        z = arena.allocate(DType.F32, rows * dSeed);
        u = arena.allocate(DType.F32, heads * rows * dSeed);
        lnMean = arena.allocate(DType.F32, heads * rows);
        lnRstd = arena.allocate(DType.F32, heads * rows);
        t = arena.allocate(DType.F32, heads * rows * dSeed);
        // Allocated even where the backend fuses basis and modes (and they stay unused), so that what a model
        // allocates does not depend on the backend: MemoryEstimate sizes it from the configuration alone.
        first = arena.allocate(DType.I32, heads * rows * dSeed);
        weights = arena.allocate(DType.F32, heads * rows * dSeed * 3);
        modes = arena.allocate(DType.F32, rows * heads * rank);
        eUnique = arena.allocate(DType.F32, rows * d);

        seedRow = arena.allocate(DType.F32, rows * dSeed);
        lnOut = arena.allocate(DType.F32, heads * rows * dSeed);
        dEUnique = arena.allocate(DType.F32, rows * d);
        dModes = arena.allocate(DType.F32, rows * heads * rank);
        dWeights = arena.allocate(DType.F32, heads * rows * dSeed * 3);
        dCoord = arena.allocate(DType.F32, heads * rows * dSeed);
        dZ = arena.allocate(DType.F32, rows * dSeed);
    }

    /**
     * Draws the initial weights from {@code seed}: codebooks N(0, 1) and seed projections N(0, 1/d_seed)
     * ({@code init} "unit"), or both N(0, 0.02^2) ("small"); LayerNorm scale 1 and shift 0, spline coefficients 1 + N(0, 0.1^2), output projections
     * N(0, (0.02/sqrt(h))^2).
     */
    public void initialize(long seed) {
        // The per-head LayerNorm makes the output scale-invariant in both, so the choice sets how large
        // Adam's fixed-size steps are relative to the weights (up to 50x apart), not what the model can express.
        boolean small = g.init().equals(GeneratorConfig.INIT_SMALL);
        Init.normal(be, codebooks.value(), seed, codebooks.name(), 0, small ? 0.02 : 1);
        Init.normal(be, seedProj.value(), seed, seedProj.name(), 0, small ? 0.02 : 1 / Math.sqrt(dSeed));
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

    /**
     * The rows the last {@link #forward} call computed: its distinct ids, padded to {@link #bucket} where
     * this generator pads.
     */
    public int lastBucket() {
        return lastBucket;
    }

    /**
     * The padded row count for {@code distinct} ids: rounded up to a multiple of
     * {@code max(16, 2^(floor(log2 distinct) - 3))}, at most {@code maxTokens}. Fewer than 16 padding rows,
     * or under 12.5 % of the rows for larger counts, and few distinct values, so that batches of similar
     * size share their shapes.
     */
    public static int bucket(int distinct, int maxTokens) {
        if (distinct < 1 || distinct > maxTokens) {
            throw new IllegalArgumentException("bucket: distinct ids " + distinct + " outside [1, " + maxTokens + "]");
        }
        long step = Math.max(16, Integer.highestOneBit(distinct) >> 3);
        long padded = (distinct + step - 1) / step * step;
        return (int) Math.min(padded, maxTokens);
    }

    // ------------------------------------------------------------------------------------------ forward

    /**
     * {@inheritDoc}
     *
     * <p>Without {@code hostIds} the ids are downloaded first, which waits for the device to finish the work
     * issued so far; a caller that has the ids on the host (its data loader does) passes them.
     *
     * @throws IllegalArgumentException for an id outside {@code [0, V)}, naming the id and its position
     */
    @Override
    public void forward(Tensor ids, int[] hostIds, Tensor out) {
        int n = checkCall("forward", ids, out);
        int[] idsOnHost = hostIds;
        if (idsOnHost == null) {
            be.download(ids, idScratch, 0);
            idsOnHost = idScratch;
        } else if (idsOnHost.length < n) {
            throw new IllegalArgumentException("generator forward: hostIds holds " + idsOnHost.length
                    + " ids for " + ids.describe());
        }
        int nu = deduplicate(idsOnHost, n);
        int nb = padToBucket ? bucket(nu, maxTokens) : nu;
        Arrays.fill(uniqueScratch, nu, nb, PAD_ID);
        writeDigits(nb);
        be.upload(inverseScratch, 0, inverseRows.of(inverse, n));
        lastCount = n;
        lastUnique = nu;
        lastBucket = nb;
        Rows r = rowsFor(nb);

        // Seed: z = sum over digits of the selected codebook rows.
        for (int digit = 0; digit < g.digits(); digit++) {
            Tensor digitIds = r.digitIds[digit];
            if (digit == 0) {
                be.embedding(digitIds, bookValues.of(codebooks.value(), digit), r.z);
            } else {
                be.embedding(digitIds, bookValues.of(codebooks.value(), digit), r.seedRow);
                be.add(r.z, r.seedRow, r.z);
            }
        }

        // Every head at once: u[l] = z W_seed,l^T; coordinates t = sigmoid(LayerNorm_l(u[l]) / 2).
        be.matmul(r.z, false, seedProj.value(), true, r.u, 1f, 0f);
        be.layerNorm(r.u, lnWeight.value(), lnBias.value(), g.lnEps(), r.lnOut, r.lnMean, r.lnRstd);
        be.scale(r.lnOut, 0.5f, r.t);
        be.sigmoid(r.t, r.t);
        // Sparse B-spline basis of every coordinate, then each head's rank-1 modes, as M [Nb, h, R]: in one
        // pass where the backend fuses them (the windows never go to memory), else as two ops.
        if (fused) {
            be.separableModesOfCoordinates(r.t, g.normalizeBasis(), spline.value(), r.modes);
        } else {
            be.splineBasis(r.tRows, knots, g.normalizeBasis(), r.firstRows, r.weightRows);
            be.separableModes(r.first, r.weights, spline.value(), r.modes);
        }
        // e = sum_l M_l W_out,l = M [Nb, h*R] x W_out [h*R, D]
        be.matmul(r.modesFlat, false, outProjValue.of(outProj.value()), false, r.e, 1f, 0f);

        be.embedding(inverseRows.of(inverse, n), r.e, outRows.of(out, n));
    }

    // ------------------------------------------------------------------------------------------ backward

    @Override
    public void backward(Tensor dOut, Tensor ids) {
        int n = checkCall("backward", ids, dOut);
        if (n != lastCount) {
            throw new IllegalStateException("generator backward: " + n + " ids, but the last forward saw " + lastCount);
        }
        Rows r = rowsFor(lastBucket);

        // Scatter the per-position gradient into the distinct rows (padding rows stay zero).
        be.fill(r.dE, 0f);
        be.embeddingBackward(dOutRows.of(dOut, n), inverseRows.of(inverse, n), r.dE);

        // e = M [Nb, h*R] x W_out [h*R, D]
        be.matmul(r.dE, false, outProjValue.of(outProj.value()), true, r.dModesFlat, 1f, 0f);
        be.matmul(r.modesFlat, true, r.dE, false, outProjGrad.of(outProj.grad()), 1f, 1f);
        // modes and basis
        Tensor dT = r.lnOut; // the LayerNorm output is not needed any more
        if (fused) { // dT written, not added to
            be.separableModesOfCoordinatesBackward(r.dModes, r.t, g.normalizeBasis(), spline.value(), r.modes, dT,
                    spline.grad(), false);
        } else {
            be.fill(dT, 0f);
            be.fill(r.dWeights, 0f);
            be.separableModesBackward(r.dModes, r.first, r.weights, spline.value(), r.modes, r.dWeights,
                    spline.grad());
            be.splineBasisBackward(r.dWeightRows, r.tRows, r.firstRows, knots, g.normalizeBasis(), r.dTRows);
        }
        // t = sigmoid(LayerNorm(u) / 2)
        Tensor dLn = r.dCoord;
        be.fill(dLn, 0f);
        be.sigmoidBackward(dT, r.t, dLn);
        be.scale(dLn, 0.5f, dLn);
        Tensor dU = r.lnOut;
        be.fill(dU, 0f);
        be.layerNormBackward(dLn, r.u, lnWeight.value(), r.lnMean, r.lnRstd, dU, lnWeight.grad(), lnBias.grad());
        // u[l] = z W_seed,l^T: dW_seed,l += dU[l]^T z; dz = sum_l dU[l] W_seed,l (per head, then summed)
        be.matmul(dU, true, r.z, false, seedProj.grad(), 1f, 1f);
        Tensor dZPerHead = r.dCoord; // dLn is not needed any more
        be.matmul(dU, false, seedProj.value(), false, dZPerHead, 1f, 0f);
        be.matmul(onesRow, false, r.dZPerHeadFlat, false, r.dZRow, 1f, 0f);

        for (int digit = 0; digit < g.digits(); digit++) {
            be.embeddingBackward(r.dZ, r.digitIds[digit], bookGrads.of(codebooks.grad(), digit));
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
            for (int i = 0; i < n; i++) {
                rangeScratch[i] = start + i;
            }
            Tensor ids = rangeIds.narrow(0, 0, n);
            be.upload(rangeScratch, 0, ids);
            forward(ids, rangeScratch, table.narrow(0, start, n));
        }
    }

    // ------------------------------------------------------------------------------------------ helpers

    // Views every call needs, made again only when their source tensor (by identity) or row count changes, so a
    // training step makes none.
    private final RowsView inverseRows = new RowsView(), digitRows = new RowsView();
    private final RowsView outRows = new RowsView(), dOutRows = new RowsView();
    private final FlatView outProjValue = new FlatView(), outProjGrad = new FlatView();
    private final BookViews bookValues = new BookViews(), bookGrads = new BookViews();
    private final Tensor onesRow; // ones as [1, h]

    /** The first {@code n} rows of a tensor. */
    private static final class RowsView {
        private Tensor source, view;
        private int n;

        Tensor of(Tensor x, int rows) {
            if (x != source || rows != n) {
                view = x.narrow(0, 0, rows);
                source = x;
                n = rows;
            }
            return view;
        }
    }

    /** The output projection {@code [h, R, D]} as one {@code [h * R, D]} matrix. */
    private final class FlatView {
        private Tensor source, view;

        Tensor of(Tensor w) {
            if (w != source) {
                view = w.reshape((long) heads * rank, config.dModel());
                source = w;
            }
            return view;
        }
    }

    /** Each digit's codebook {@code [base, d_seed]} of the codebooks tensor (all the first, when shared). */
    private final class BookViews {
        private Tensor source;
        private Tensor[] views;

        Tensor of(Tensor books, int digit) {
            if (books != source) {
                if (views == null) {
                    views = new Tensor[g.digits()];
                }
                for (int k = 0; k < views.length; k++) {
                    views[k] = books.select(0, g.sharedCodebook() ? 0 : k);
                }
                source = books;
            }
            return views[digit];
        }
    }

    /** The views of the last row count asked for: the backward reuses the forward's, and so do steps of equal count. */
    private Rows rows;

    /**
     * The buffers' views for {@code nb} rows. About 25 tensor views, a few kilobytes of heap, so they are made
     * only when the row count changes.
     */
    private Rows rowsFor(int nb) {
        if (rows == null || rows.nb != nb) {
            rows = new Rows(nb);
        }
        return rows;
    }

    /** The buffers viewed at {@code nb} rows, in the shapes the calls above take. */
    private final class Rows {
        final int nb;
        final Tensor digits, z, seedRow, u, lnOut, lnMean, lnRstd, t, first, weights, modes, e;
        final Tensor tRows, firstRows, weightRows, modesFlat;
        final Tensor dE, dModes, dModesFlat, dWeights, dWeightRows, dCoord, dZ;
        final Tensor[] digitIds;                  // [Nb] per digit
        final Tensor dTRows, dZPerHeadFlat, dZRow; // lnOut as [h * Nb, d_seed]; dCoord as [h, Nb * d_seed]; dZ as [1, Nb * d_seed]

        Rows(int nb) {
            this.nb = nb;
            int d = config.dModel();
            digits = view(LeviathanGenerator.this.digits, g.digits(), nb);
            z = view(LeviathanGenerator.this.z, nb, dSeed);
            seedRow = view(LeviathanGenerator.this.seedRow, nb, dSeed);
            u = view(LeviathanGenerator.this.u, heads, nb, dSeed);
            lnOut = view(LeviathanGenerator.this.lnOut, heads, nb, dSeed);
            lnMean = view(LeviathanGenerator.this.lnMean, heads, nb);
            lnRstd = view(LeviathanGenerator.this.lnRstd, heads, nb);
            t = view(LeviathanGenerator.this.t, heads, nb, dSeed);
            first = view(LeviathanGenerator.this.first, heads, nb, dSeed);
            weights = view(LeviathanGenerator.this.weights, heads, nb, dSeed, 3);
            modes = view(LeviathanGenerator.this.modes, nb, heads, rank);
            e = view(eUnique, nb, d);
            // the spline basis treats every head's rows alike: [h * Nb, d_seed]
            tRows = t.reshape((long) heads * nb, dSeed);
            firstRows = first.reshape((long) heads * nb, dSeed);
            weightRows = weights.reshape((long) heads * nb, dSeed, 3);
            modesFlat = modes.reshape(nb, (long) heads * rank);

            dE = view(dEUnique, nb, d);
            dModes = view(LeviathanGenerator.this.dModes, nb, heads, rank);
            dModesFlat = dModes.reshape(nb, (long) heads * rank);
            dWeights = view(LeviathanGenerator.this.dWeights, heads, nb, dSeed, 3);
            dWeightRows = dWeights.reshape((long) heads * nb, dSeed, 3);
            dCoord = view(LeviathanGenerator.this.dCoord, heads, nb, dSeed);
            dZ = view(LeviathanGenerator.this.dZ, nb, dSeed);
            digitIds = new Tensor[g.digits()];
            for (int digit = 0; digit < digitIds.length; digit++) {
                digitIds[digit] = digits.select(0, digit);
            }
            dTRows = lnOut.reshape(-1, dSeed);
            dZPerHeadFlat = dCoord.reshape(heads, -1);
            dZRow = dZ.reshape(1, -1);
        }
    }

    /** The first elements of the flat buffer {@code flat}, as a contiguous tensor of {@code shape}. */
    private static Tensor view(Tensor flat, long... shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return flat.narrow(0, 0, n).reshape(shape);
    }

    /** Checks a call's ids {@code [N]} (I32) and rows {@code [>= N, D]}; returns {@code N}. */
    private int checkCall(String op, Tensor ids, Tensor rowsTensor) {
        if (ids.dtype() != DType.I32) { // the name is built only to throw: a step makes no string
            ids.requireDType("generator " + op, DType.I32);
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

    /**
     * Checks the ids and fills {@link #uniqueScratch} (sorted distinct ids, or the ids themselves without
     * de-duplication) and {@link #inverseScratch}; returns the number of rows to generate.
     */
    private int deduplicate(int[] ids, int n) {
        for (int i = 0; i < n; i++) {
            int id = ids[i];
            if (id < 0 || id >= vocab) {
                throw new IllegalArgumentException("generator: token id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        System.arraycopy(ids, 0, uniqueScratch, 0, n);
        if (!dedup) {
            for (int i = 0; i < n; i++) {
                inverseScratch[i] = i;
            }
            return n;
        }
        // Mark the ids in a bit set, then read it in id order: the distinct ids come out sorted, in
        // O(N + V / 64) and without the temporary arrays a sort allocates.
        for (int i = 0; i < n; i++) {
            seenIds[ids[i] >>> 6] |= 1L << ids[i]; // the shift uses the id's low 6 bits
        }
        int nu = 0;
        for (int w = 0; w < seenIds.length; w++) {
            long bits = seenIds[w];
            if (bits == 0) {
                continue;
            }
            seenIds[w] = 0; // clear for the next call
            do {
                int id = (w << 6) + Long.numberOfTrailingZeros(bits);
                rowOfId[id] = nu;
                uniqueScratch[nu++] = id;
                bits &= bits - 1;
            } while (bits != 0);
        }
        for (int i = 0; i < n; i++) {
            inverseScratch[i] = rowOfId[ids[i]];
        }
        return nu;
    }

    /** Uploads digit r of each of the {@code nb} rows' ids (most significant first) as row r of {@code [k, Nb]}. */
    private void writeDigits(int nb) {
        int k = g.digits();
        for (int i = 0; i < nb; i++) {
            int id = uniqueScratch[i];
            for (int r = k - 1; r >= 0; r--) {
                digitScratch[r * nb + i] = id % base;
                id /= base;
            }
        }
        be.upload(digitScratch, 0, digitRows.of(digits, k * nb));
    }
}
