package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;

/**
 * A LLaMA-style decoder language model for a fixed batch shape {@code [batch, seq]}, written as explicit
 * forward and backward passes over buffers allocated once (see {@code docs/design.md}):
 * <pre>
 *   x_0     = embed(ids)                      dense table or Leviathan generator    [B, T, D]
 *   x_{l+1} = DecoderLayer_l(x_l)             pre-norm attention + SwiGLU MLP
 *   h       = rmsNorm(x_L) * model.norm.weight
 *   logits  = h W_head^T                      lm_head.weight, or the table when tied [B*T, V]
 *   loss    = mean cross-entropy over targets != -100
 * </pre>
 * Parameter names and layouts are Hugging Face LLaMA's ({@code model.layers.N.self_attn.q_proj.weight},
 * linear weights {@code (out, in)}), the generator's {@code model.generator.*}; they are created in the
 * order of the reference files: input stage, layers, final norm, head.
 *
 * <p>The model owns an arena (from {@link Backend#newArena()}) holding every parameter, gradient,
 * activation and gradient buffer; {@link #forward} and {@link #backward} allocate no native memory.
 * {@link #close()} frees it all. The backend is borrowed, not closed.
 */
public final class LlamaModel implements AutoCloseable {
    /** Targets equal to this are not counted in the loss. */
    public static final int IGNORE_INDEX = -100;
    /** The standard deviation of the initial head weights (and every linear weight). */
    public static final double INIT_STD = 0.02;

    private final Backend be;
    private final ModelConfig config;
    private final Precision precision;
    private final int batch;
    private final int seq;
    private final TensorArena arena;
    private final ParameterStore store;
    private final TokenEmbedding embedding;
    private final DecoderLayer[] layers;
    private final Parameter finalNorm;
    private final Parameter head;        // lm_head.weight, or the dense table when tied
    private final Tensor cos, sin;       // [maxSeq, Dh/2]

    private final Tensor[] resid;        // L + 1 residual-stream states [N, D]; resid[0] is the embedding
    private final Tensor finalHidden;    // [N, D]
    private final Tensor finalHiddenC;   // [N, D] in the compute dtype: the head's input (finalHidden under fp32)
    private final Tensor finalRstd;      // [N]
    private final Tensor logits;         // [N, V]; after a training forward, the loss gradient (in place)
    private final Tensor idsBuf;         // I32 [B, T]: ids uploaded from host arrays
    private final Tensor targetsBuf;     // I32 [B, T]
    private final Tensor idsFlat;        // [N] view of idsBuf, made once: a view per step would be garbage per step
    private final Tensor targetsFlat;    // [N] view of targetsBuf
    private final Tensor batchLoss;      // [1]: the loss of one forward, for the Java-valued forms
    private final Tensor dFinal;         // [N, D]
    private final Tensor dResid;         // [N, D]
    private final Tensor embedView;      // [B, T, D] view of resid[0]
    private final Tensor finalView;      // [B, T, D] view of finalHidden

    private Tensor lastIds;              // [N] view of the ids of the last forward
    private boolean gradientReady;
    private float gradScale = 1f;        // multiplies the loss gradient (1 / micro-batches when accumulating)

    /**
     * Builds the model for inputs of shape {@code [batch, seq]}; weights are zero until {@link #initialize}.
     *
     * @throws IllegalArgumentException if {@code seq} exceeds {@code config.maxSeq()} or a size is not positive
     */
    public LlamaModel(Backend backend, ModelConfig config, int batch, int seq) {
        this(backend, config, batch, seq, Precision.FP32);
    }

    /**
     * Builds the model under a {@link Precision} policy: with {@link Precision#BF16} the matrix
     * multiplications and attention read bf16 weight copies and bf16 activations (fp32 accumulation), while
     * master weights, gradients and the loss stay fp32.
     */
    public LlamaModel(Backend backend, ModelConfig config, int batch, int seq, Precision precision) {
        if (batch < 1 || seq < 1) {
            throw new IllegalArgumentException("batch and seq must be >= 1, got batch " + batch + ", seq " + seq);
        }
        if (seq > config.maxSeq()) {
            throw new IllegalArgumentException("seq " + seq + " exceeds the model's maxSeq " + config.maxSeq());
        }
        long n = Math.multiplyExact((long) batch, seq);
        if (n > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("batch * seq = " + n + " is too large");
        }
        this.be = backend;
        this.config = config;
        this.batch = batch;
        this.seq = seq;
        this.arena = backend.newArena();
        try {
            this.precision = precision;
            this.store = new ParameterStore(arena, precision);
            int d = config.dModel();
            // The input stage first, so its parameters lead the store as in the reference files.
            DenseEmbedding dense = null;
            if (config.family() == Family.LEVIATHAN) {
                embedding = new LeviathanGenerator(backend, arena, store, config, (int) n);
            } else {
                dense = new DenseEmbedding(backend, store, config);
                embedding = dense;
            }
            DecoderLayer.Scratch scratch = new DecoderLayer.Scratch(arena, config, batch, seq, precision);
            layers = new DecoderLayer[config.layers()];
            for (int l = 0; l < layers.length; l++) {
                layers[l] = new DecoderLayer(backend, arena, store, config, l, batch, seq, scratch);
            }
            finalNorm = store.create("model.norm.weight", false, d);
            head = config.tiedHead() ? dense.table() : store.create("lm_head.weight", true, config.vocab(), d);

            store.allocate(); // every parameter is declared: one flat buffer each for values and gradients
            cos = arena.allocate(DType.F32, config.maxSeq(), config.headDim() / 2);
            sin = arena.allocate(DType.F32, config.maxSeq(), config.headDim() / 2);
            backend.ropeTables(config.ropeTheta(), cos, sin);

            resid = new Tensor[layers.length + 1];
            for (int l = 0; l < resid.length; l++) {
                resid[l] = arena.allocate(DType.F32, n, d);
            }
            finalHidden = arena.allocate(DType.F32, n, d);
            finalHiddenC = precision.casts() ? arena.allocate(precision.compute(), n, d) : finalHidden;
            finalRstd = arena.allocate(DType.F32, n);
            logits = arena.allocate(DType.F32, n, config.vocab()).named("logits");
            idsBuf = arena.allocate(DType.I32, batch, seq).named("ids");
            targetsBuf = arena.allocate(DType.I32, batch, seq).named("targets");
            idsFlat = idsBuf.reshape((long) batch * seq);
            targetsFlat = targetsBuf.reshape((long) batch * seq);
            batchLoss = arena.allocate(DType.F32, 1).named("loss");
            dFinal = arena.allocate(DType.F32, n, d);
            dResid = arena.allocate(DType.F32, n, d);
            embedView = resid[0].reshape(batch, seq, d);
            finalView = finalHidden.reshape(batch, seq, d);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Deterministic initialisation from {@code seed}: linear weights and {@code lm_head} N(0, 0.02^2), norm
     * gains 1, each tensor from its own named stream ({@link Init}); the input stage initialises itself.
     * Gradients are zeroed.
     */
    public void initialize(long seed) {
        switch (embedding) {
            case DenseEmbedding d -> d.initialize(seed);
            case LeviathanGenerator g -> g.initialize(seed);
            default -> throw new IllegalStateException("unknown input stage " + embedding.getClass().getName());
        }
        for (DecoderLayer layer : layers) {
            layer.initialize(seed);
        }
        Init.constant(be, finalNorm.value(), 1f);
        if (!config.tiedHead()) {
            Init.normal(be, head.value(), seed, head.name(), 0.0, INIT_STD);
        }
        store.zeroGrads(be);
        gradientReady = false;
    }

    /**
     * Runs the model on {@code ids} (I32 {@code [batch, seq]}) and, when {@code targets} (I32
     * {@code [batch, seq]}) is not null, returns the mean cross-entropy over the targets that are not
     * {@link #IGNORE_INDEX} and prepares {@link #backward}. With null targets only {@link #logits()} is
     * computed and the result is NaN. Returning the loss waits for the device; a training loop uses
     * {@link #accumulateLoss} instead.
     */
    public double forward(Tensor ids, Tensor targets) {
        return runToHost(ids, null, targets, true);
    }

    /** Like {@link #forward} with targets, without preparing a backward pass (for evaluation). */
    public double evaluate(Tensor ids, Tensor targets) {
        if (targets == null) {
            throw new IllegalArgumentException("evaluate needs targets");
        }
        return runToHost(ids, null, targets, false);
    }

    /**
     * The training forward pass without waiting for the device: uploads {@code ids} and {@code targets}
     * (host arrays of {@code batch * seq} ids, row-major), runs the model, <b>adds</b> the mean loss to
     * {@code lossSum[0]} (an F32 tensor of this backend) and prepares {@link #backward}. The ids are checked
     * here, on the host, so no kernel needs to.
     */
    public void accumulateLoss(int[] ids, int[] targets, Tensor lossSum) {
        if (lossSum == null) {
            throw new IllegalArgumentException("accumulateLoss needs a loss tensor");
        }
        uploadBatch(ids, targets);
        run(idsBuf, ids, targetsBuf, true, lossSum);
    }

    /** {@link #evaluate(Tensor, Tensor)} of host arrays ({@code batch * seq} ids each); waits for the loss. */
    public double evaluate(int[] ids, int[] targets) {
        uploadBatch(ids, targets);
        return runToHost(idsBuf, ids, targetsBuf, false);
    }

    /** Computes {@link #logits()} for host ids ({@code batch * seq}); no loss, nothing downloaded. */
    public void forwardLogits(int[] ids) {
        uploadBatch(ids, null);
        run(idsBuf, ids, null, false, null);
    }

    private void uploadBatch(int[] ids, int[] targets) {
        int n = batch * seq;
        int vocab = config.vocab();
        checkIds("ids", ids, n, vocab, false);
        be.upload(ids, idsBuf);
        if (targets != null) {
            checkIds("targets", targets, n, vocab, true);
            be.upload(targets, targetsBuf);
        }
    }

    private static void checkIds(String what, int[] a, int n, int vocab, boolean ignorable) {
        if (a == null || a.length != n) {
            throw new IllegalArgumentException("LlamaModel: " + what + " must hold batch * seq = " + n + " ids, got "
                    + (a == null ? "null" : a.length));
        }
        for (int i = 0; i < n; i++) {
            int id = a[i];
            if ((id < 0 || id >= vocab) && !(ignorable && id == IGNORE_INDEX)) {
                throw new IllegalArgumentException("LlamaModel: " + what + " id " + id + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
    }

    private double runToHost(Tensor ids, int[] hostIds, Tensor targets, boolean training) {
        if (targets == null) {
            run(ids, hostIds, null, training, null);
            return Double.NaN;
        }
        be.fill(batchLoss, 0f);
        run(ids, hostIds, targets, training, batchLoss);
        return be.downloadScalar(batchLoss);
    }

    private void run(Tensor ids, int[] hostIds, Tensor targets, boolean training, Tensor lossSum) {
        gradientReady = false;
        store.refreshCompute(be); // bf16 weight copies from the fp32 master weights (one conversion; none under fp32)
        Tensor flatIds = flatten("ids", ids);
        Tensor flatTargets = targets == null ? null : flatten("targets", targets);
        embedding.forward(flatIds, hostIds, resid[0]); // host ids let the generator plan without a download
        for (int l = 0; l < layers.length; l++) {
            layers[l].forward(resid[l], cos, sin, resid[l + 1]);
        }
        be.rmsNorm(resid[layers.length], finalNorm.value(), config.normEps(), finalHidden, finalRstd);
        if (finalHiddenC != finalHidden) {
            be.copy(finalHidden, finalHiddenC);
        }
        be.matmul(finalHiddenC, false, head.compute(), true, logits, 1f, 0f);
        lastIds = flatIds;
        if (flatTargets == null) {
            return;
        }
        // Training overwrites the logits with their gradient: one [N, V] buffer, not two.
        be.crossEntropy(logits, flatTargets, IGNORE_INDEX, null, training ? logits : null, gradScale, lossSum);
        gradientReady = training;
    }

    /**
     * Backward pass of the last {@link #forward} with targets: accumulates the gradient of its mean loss
     * into every parameter's gradient (zero them first with {@code parameters().zeroGrads(backend)}).
     *
     * @throws IllegalStateException if there was no forward pass with targets since the last one without
     */
    public void backward() {
        if (!gradientReady) {
            throw new IllegalStateException("backward needs a forward pass with targets first");
        }
        // head: logits = h W^T (the logits buffer holds dLogits now)
        be.matmul(logits, false, head.compute(), false, dFinal, 1f, 0f);
        be.matmul(logits, true, finalHiddenC, false, head.grad(), 1f, 1f);
        // final norm
        be.fill(dResid, 0f);
        be.rmsNormBackward(dFinal, resid[layers.length], finalNorm.value(), finalRstd, dResid, finalNorm.grad());
        // layers, last to first; dResid carries the residual stream's gradient
        for (int l = layers.length - 1; l >= 0; l--) {
            layers[l].backward(resid[l], cos, sin, dResid);
        }
        embedding.backward(dResid, lastIds);
    }

    private Tensor flatten(String what, Tensor t) {
        if (t == idsBuf || t == targetsBuf) {
            return t == idsBuf ? idsFlat : targetsFlat; // the upload buffers' views, made once
        }
        if (t.dtype() != DType.I32) {
            throw new IllegalArgumentException("LlamaModel: " + what + " must be I32, got " + t.dtype());
        }
        if (t.rank() != 2 || t.size(0) != batch || t.size(1) != seq) {
            throw new ShapeMismatchException("LlamaModel: " + what + " must be [" + batch + ", " + seq
                    + "] but has shape " + Arrays.toString(t.shape()));
        }
        return t.reshape((long) batch * seq);
    }

    /**
     * Sets the factor the loss gradient is multiplied by in {@link #backward} (default 1). Gradient
     * accumulation over {@code A} micro-batches sets {@code 1 / A}, so the accumulated gradient is that of
     * the mean loss over all of them. The loss {@link #forward} returns is not scaled.
     *
     * @throws IllegalArgumentException unless {@code scale} is finite and positive
     */
    public void setGradScale(float scale) {
        if (!(scale > 0) || !Float.isFinite(scale)) {
            throw new IllegalArgumentException("gradient scale must be finite and > 0, got " + scale);
        }
        this.gradScale = scale;
    }

    /** The factor the loss gradient is multiplied by (see {@link #setGradScale}). */
    public float gradScale() {
        return gradScale;
    }

    /** Every parameter with its gradient, in reference order. */
    public ParameterStore parameters() {
        return store;
    }

    /**
     * The logits of the last forward pass, {@code [batch * seq, V]}. After a training forward (one that
     * prepares {@link #backward}) this buffer holds the loss gradient instead: it is overwritten in place.
     */
    public Tensor logits() {
        return logits;
    }

    /** The input stage's output of the last forward pass, {@code [batch, seq, D]} (reference {@code act.embed_out}). */
    public Tensor embeddingOutput() {
        return embedView;
    }

    /** The hidden state after the final RMSNorm, {@code [batch, seq, D]} (reference {@code act.final_hidden}). */
    public Tensor finalHidden() {
        return finalView;
    }

    /** The input stage: a {@link DenseEmbedding} or a {@link LeviathanGenerator}. */
    public TokenEmbedding embedding() {
        return embedding;
    }

    public ModelConfig config() {
        return config;
    }

    /** The precision policy this model was built with. */
    public Precision precision() {
        return precision;
    }

    /** The backend this model runs on (borrowed; the model does not close it). */
    public Backend backend() {
        return be;
    }

    public int batch() {
        return batch;
    }

    public int seq() {
        return seq;
    }

    /** The arena holding every tensor of this model (for optimiser state sized like the parameters). */
    public TensorArena arena() {
        return arena;
    }

    // Package-private parts for the inference path (KvCacheSession), which runs the same layers and head.

    DecoderLayer[] layers() {
        return layers;
    }

    Parameter finalNorm() {
        return finalNorm;
    }

    Parameter head() {
        return head;
    }

    /** The RoPE cosine table, {@code [maxSeq, Dh/2]}. */
    Tensor ropeCos() {
        return cos;
    }

    /** The RoPE sine table, {@code [maxSeq, Dh/2]}. */
    Tensor ropeSin() {
        return sin;
    }

    /** Frees every tensor of the model. */
    @Override
    public void close() {
        arena.close();
    }
}
