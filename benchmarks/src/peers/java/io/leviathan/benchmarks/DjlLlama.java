package io.leviathan.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.ndarray.types.SparseFormat;
import ai.djl.nn.Activation;
import ai.djl.training.loss.SoftmaxCrossEntropyLoss;
import java.util.ArrayList;
import java.util.List;

/**
 * The dense LLaMA-style model of {@code TrainingStepBenchmark}'s {@code djl} case written with Deep Java
 * Library NDArrays, as a DJL user would write it: pre-norm RMSNorm (eps 1e-5), rotate-half RoPE (theta
 * 10000), causal multi-head attention as matmul, additive mask and softmax, SwiGLU MLP, final RMSNorm, untied
 * head, softmax cross-entropy ({@link SoftmaxCrossEntropyLoss}). Linear layers go through
 * {@code NDArrayEx.linear} (what DJL's {@code Linear} block calls, i.e. {@code torch::linear}); the embedding
 * through {@code NDArrayEx.embedding} ({@code torch::embedding}).
 *
 * <p>Parameters, optimizer state and constant tables live in this model's manager; every array a forward
 * makes is attached to the manager of the ids passed in (a per-step sub-manager), because DJL attaches an
 * operation's result to its first operand's manager and activations are always the first operand here.
 */
final class DjlLlama implements AutoCloseable {
    static final int VOCAB = 8192;
    static final int D_MODEL = 256;
    static final int LAYERS = 4;
    static final int HEADS = 4;
    static final int FFN = 688;
    static final float NORM_EPS = 1e-5f;
    static final float ROPE_THETA = 10000f;
    static final float INIT_STD = 0.02f;

    /** One decoder layer's weights; projections are {@code [out, in]} as in {@code torch.nn.Linear}. */
    record Layer(NDArray inputNorm, NDArray wq, NDArray wk, NDArray wv, NDArray wo, NDArray postNorm,
                 NDArray wGate, NDArray wUp, NDArray wDown) {}

    final NDManager manager;
    final int batch;
    final int seq;
    final NDArray embedding;
    final Layer[] layers = new Layer[LAYERS];
    final NDArray finalNorm;
    final NDArray head;
    /** Weight matrices (AdamW applies weight decay) and norm weights (no decay), as the trainer splits them. */
    final List<NDArray> decayed = new ArrayList<>();
    final List<NDArray> notDecayed = new ArrayList<>();
    private final NDArray cos;   // [1, T, 1, Dh]: each half of the rotation angles' cosines, repeated
    private final NDArray sin;
    private final NDArray causalMask; // [T, T]: 0 on and below the diagonal, -inf above
    private final SoftmaxCrossEntropyLoss loss = new SoftmaxCrossEntropyLoss();

    DjlLlama(NDManager parent, int batch, int seq, int seed) {
        if (batch < 1 || seq < 1) {
            throw new IllegalArgumentException("batch and seq must be >= 1, got " + batch + " x " + seq);
        }
        this.batch = batch;
        this.seq = seq;
        manager = parent.newSubManager();
        Engine.getInstance().setRandomSeed(seed);
        embedding = matrix(VOCAB, D_MODEL);
        for (int i = 0; i < LAYERS; i++) {
            layers[i] = new Layer(norm(), matrix(D_MODEL, D_MODEL), matrix(D_MODEL, D_MODEL), matrix(D_MODEL, D_MODEL),
                    matrix(D_MODEL, D_MODEL), norm(), matrix(FFN, D_MODEL), matrix(FFN, D_MODEL), matrix(D_MODEL, FFN));
        }
        finalNorm = norm();
        head = matrix(VOCAB, D_MODEL);

        int dh = D_MODEL / HEADS;
        float[] c = new float[seq * dh];
        float[] s = new float[seq * dh];
        for (int t = 0; t < seq; t++) {
            for (int i = 0; i < dh / 2; i++) {
                double angle = t * Math.pow(ROPE_THETA, -2.0 * i / dh);
                c[t * dh + i] = c[t * dh + i + dh / 2] = (float) Math.cos(angle);
                s[t * dh + i] = s[t * dh + i + dh / 2] = (float) Math.sin(angle);
            }
        }
        cos = manager.create(c, new Shape(1, seq, 1, dh));
        sin = manager.create(s, new Shape(1, seq, 1, dh));
        float[] mask = new float[seq * seq];
        for (int i = 0; i < seq; i++) {
            for (int j = i + 1; j < seq; j++) {
                mask[i * seq + j] = Float.NEGATIVE_INFINITY;
            }
        }
        causalMask = manager.create(mask, new Shape(seq, seq));
    }

    private NDArray matrix(int rows, int cols) {
        NDArray w = manager.randomNormal(0f, INIT_STD, new Shape(rows, cols), DataType.FLOAT32);
        w.setRequiresGradient(true);
        decayed.add(w);
        return w;
    }

    private NDArray norm() {
        NDArray w = manager.ones(new Shape(D_MODEL), DataType.FLOAT32);
        w.setRequiresGradient(true);
        notDecayed.add(w);
        return w;
    }

    /** Every parameter: decayed first, then the norm weights. */
    List<NDArray> parameters() {
        List<NDArray> all = new ArrayList<>(decayed);
        all.addAll(notDecayed);
        return all;
    }

    long parameterCount() {
        return parameters().stream().mapToLong(p -> p.getShape().size()).sum();
    }

    /**
     * The mean cross-entropy of predicting {@code targets} ({@code [B * T]}, int64) from {@code ids}
     * ({@code [B, T]}, int64); every intermediate array lands in {@code ids}' manager.
     */
    NDArray loss(NDArray ids, NDArray targets) {
        NDArray x = ids.getNDArrayInternal().embedding(ids, embedding, SparseFormat.DENSE).singletonOrThrow();
        int dh = D_MODEL / HEADS;
        Shape heads = new Shape(batch, seq, HEADS, dh);
        for (Layer l : layers) {
            NDArray h = rmsNorm(x, l.inputNorm());
            NDArray q = rope(linear(h, l.wq()).reshape(heads)).transpose(0, 2, 1, 3);   // [B, H, T, Dh]
            NDArray k = rope(linear(h, l.wk()).reshape(heads)).transpose(0, 2, 1, 3);
            NDArray v = linear(h, l.wv()).reshape(heads).transpose(0, 2, 1, 3);
            NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)).mul(1.0 / Math.sqrt(dh)).add(causalMask);
            NDArray attention = scores.softmax(-1).matMul(v).transpose(0, 2, 1, 3)
                    .reshape(batch, seq, D_MODEL);
            x = x.add(linear(attention, l.wo()));
            NDArray g = rmsNorm(x, l.postNorm());
            NDArray gate = Activation.swish(linear(g, l.wGate()), 1f);
            x = x.add(linear(gate.mul(linear(g, l.wUp())), l.wDown()));
        }
        NDArray logits = linear(rmsNorm(x, finalNorm), head).reshape(batch * seq, VOCAB);
        return loss.evaluate(new NDList(targets), new NDList(logits));
    }

    private static NDArray linear(NDArray x, NDArray weight) {
        return x.getNDArrayInternal().linear(x, weight, null).singletonOrThrow();
    }

    private static NDArray rmsNorm(NDArray x, NDArray weight) {
        NDArray rms = x.square().mean(new int[] {-1}, true).add(NORM_EPS).sqrt();
        return x.div(rms).mul(weight);
    }

    /** Rotate-half RoPE on {@code [B, T, H, Dh]}: x cos + (-x2, x1) sin. */
    private NDArray rope(NDArray x) {
        NDList halves = x.split(2, 3);
        NDArray rotated = halves.get(1).neg().concat(halves.get(0), 3);
        return x.mul(cos).add(rotated.mul(sin));
    }

    @Override
    public void close() {
        manager.close();
    }
}
