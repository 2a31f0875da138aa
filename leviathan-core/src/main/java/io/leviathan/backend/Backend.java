package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.OptionalLong;

/**
 * The operations a model and trainer need, independent of the device that runs them. Models are written as
 * explicit per-layer forward and backward calls on this interface (see {@code docs/design.md}), so a CUDA
 * backend slots in under them unchanged.
 *
 * <h2>Conventions</h2>
 * <ul>
 *   <li>Floating tensors are F32 unless an operation says otherwise; token ids are I32.</li>
 *   <li>Inputs and outputs must be contiguous and live on this backend's {@link #device()}.</li>
 *   <li>"Rows": an operation "over the last dimension" treats a tensor of shape {@code [..., C]} as
 *       {@code numel / C} rows of {@code C} elements.</li>
 *   <li>Forward operations overwrite their outputs. Backward operations <b>accumulate</b> ({@code +=}) into
 *       the gradient tensors they are given, as in llm.c, so a tensor used twice (a residual branch, a tied
 *       weight) collects both contributions; zero gradients before each step.</li>
 *   <li>Saved state needed by a backward pass (normalisation statistics, attention log-sum-exps) is an
 *       explicit buffer the caller allocates once, so the training loop allocates nothing per step.</li>
 *   <li>Bad shapes throw {@link io.leviathan.tensor.ShapeMismatchException} naming the operation and every
 *       shape; a wrong dtype or device throws {@link IllegalArgumentException}.</li>
 *   <li><b>One host boundary.</b> A backend's tensors may live in memory Java cannot address (a GPU's). Data
 *       crosses between host and device only through {@link #upload}, {@link #download} and
 *       {@link #synchronize}. Operations are ordered as issued (one stream) and may run after they return;
 *       only a download or {@link #synchronize} waits for them. Operations that return a Java value
 *       ({@code double}) are conveniences that download, so a training step uses their tensor forms.</li>
 * </ul>
 */
public interface Backend extends AutoCloseable {

    /** A short name: {@code "cpu"}, {@code "cuda"}. */
    String name();

    /** The device whose memory this backend's kernels read and write. */
    Device device();

    /**
     * Bytes of this backend's own memory that new tensors can still take (a GPU's free memory plus what its
     * allocator holds cached), or empty when its arenas draw from host memory, which the caller judges.
     */
    default OptionalLong memoryAvailable() {
        return OptionalLong.empty();
    }

    /** Worker threads the backend runs kernels on (1 for a GPU backend's host side). */
    int threads();

    /** A new arena that allocates memory on this backend's device. */
    TensorArena newArena();

    // ---------------------------------------------------------------- the host boundary

    /**
     * Copies {@code dst.numel()} floats of {@code src}, from {@code srcOffset}, into the contiguous F32 or
     * BF16 tensor {@code dst} (BF16 rounds to nearest even). {@code src} may be reused when this returns; the
     * copy is ordered before later operations.
     */
    void upload(float[] src, int srcOffset, Tensor dst);

    /** Copies {@code dst.numel()} ints of {@code src}, from {@code srcOffset}, into the contiguous I32 {@code dst}. */
    void upload(int[] src, int srcOffset, Tensor dst);

    /**
     * Copies {@code dst.byteSize()} bytes of host memory {@code src}, laid out as {@code dst}'s dtype, into the
     * contiguous tensor {@code dst}.
     */
    void upload(MemorySegment src, Tensor dst);

    /** {@link #upload(float[], int, Tensor)} of a whole array; its length must equal {@code dst.numel()}. */
    default void upload(float[] src, Tensor dst) {
        checkLength("upload", src.length, dst);
        upload(src, 0, dst);
    }

    /** {@link #upload(int[], int, Tensor)} of a whole array; its length must equal {@code dst.numel()}. */
    default void upload(int[] src, Tensor dst) {
        checkLength("upload", src.length, dst);
        upload(src, 0, dst);
    }

    /**
     * Copies the contiguous F32 or BF16 tensor {@code src} into {@code dst} from {@code dstOffset} (BF16
     * widened exactly). Waits for the operations that write {@code src}.
     */
    void download(Tensor src, float[] dst, int dstOffset);

    /** Copies the contiguous I32 tensor {@code src} into {@code dst} from {@code dstOffset}; waits as above. */
    void download(Tensor src, int[] dst, int dstOffset);

    /** Copies the bytes of the contiguous tensor {@code src} into host memory {@code dst}; waits as above. */
    void download(Tensor src, MemorySegment dst);

    /** The elements of the F32 or BF16 tensor {@code src} as floats (allocates the array; not for hot loops). */
    default float[] downloadFloats(Tensor src) {
        float[] out = new float[Math.toIntExact(src.numel())];
        download(src, out, 0);
        return out;
    }

    /** The elements of the I32 tensor {@code src} (allocates the array; not for hot loops). */
    default int[] downloadInts(Tensor src) {
        int[] out = new int[Math.toIntExact(src.numel())];
        download(src, out, 0);
        return out;
    }

    /** The first element of an F32 tensor (a device scalar such as a loss): one download. */
    default float downloadScalar(Tensor src) {
        float[] one = new float[1];
        download(src.reshape(-1).narrow(0, 0, 1), one, 0);
        return one[0];
    }

    /**
     * Waits until every operation issued so far has finished. Errors that kernels recorded instead of
     * throwing (the debug checks of a device, or of the strict CPU backend) are thrown here.
     */
    void synchronize();

    private static void checkLength(String op, int length, Tensor dst) {
        if (length != dst.numel()) {
            throw new io.leviathan.tensor.ShapeMismatchException(op + ": array of " + length + " elements for "
                    + dst.describe() + " (" + dst.numel() + " elements)");
        }
    }

    // ---------------------------------------------------------------- data movement and conversion

    /** {@code dst = src}, same shape; F32 and BF16 convert into each other, BF16 rounding to nearest even. */
    void copy(Tensor src, Tensor dst);

    /** Every element of {@code t} set to {@code value}. */
    void fill(Tensor t, float value);

    // ---------------------------------------------------------------- matrix multiplication

    /**
     * General matrix multiply {@code c = alpha * op(a) · op(b) + beta * c}, where {@code op(x)} is {@code x}
     * or its transpose over the last two dimensions. Rank 2, or rank 3 with a leading batch dimension
     * shared by {@code a}, {@code b} and {@code c}; a rank-2 operand is broadcast over the batch.
     * {@code beta = 0} ignores what {@code c} held (even NaN).
     *
     * <p>Dtypes: {@code a} and {@code b} are each, independently, F32 or BF16; {@code c} is F32. The
     * arithmetic is F32 throughout: BF16 elements are widened exactly to F32, the products of BF16 values
     * are exact in F32, and sums accumulate in F32, so a BF16 operand gives what an F32 operand holding
     * the same (BF16-representable) values gives. Any other dtype (I32), or a {@code c} that is not F32,
     * is an {@link IllegalArgumentException} naming the operation, the operand and its dtype.
     *
     * <p>A linear layer with weight {@code W (out, in)}
     * is {@code matmul(x, false, W, true, y, 1, 0)}; its backward is
     * {@code matmul(dy, false, W, false, dx, 1, 1)} and {@code matmul(dy, true, x, false, dW, 1, 1)}.
     */
    void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta);

    // ---------------------------------------------------------------- element-wise

    /** {@code out = a + b} (same shapes). Backward: {@link #axpy}{@code (1, dOut, dA)} and likewise dB. */
    void add(Tensor a, Tensor b, Tensor out);

    /** {@code out = a * b} element-wise (same shapes). */
    void mul(Tensor a, Tensor b, Tensor out);

    /** Backward of {@link #mul}: {@code dA += dOut * b}, {@code dB += dOut * a}; either gradient may be null. */
    void mulBackward(Tensor dOut, Tensor a, Tensor b, Tensor dA, Tensor dB);

    /** {@code out = s * a}. Backward: {@link #axpy}{@code (s, dOut, dA)}. */
    void scale(Tensor a, float s, Tensor out);

    /** {@code y += alpha * x} (same shapes): the backward of add and scale, and gradient accumulation. */
    void axpy(float alpha, Tensor x, Tensor y);

    // ---------------------------------------------------------------- reductions

    /** {@code out[r] = sum_c x[r, c]} over the last dimension; {@code out} has x's shape without it. */
    void sumLastDim(Tensor x, Tensor out);

    /** Backward of {@link #sumLastDim}: {@code dX[r, c] += dOut[r]}. */
    void sumLastDimBackward(Tensor dOut, Tensor dX);

    /** {@code out[r] = mean_c x[r, c]} over the last dimension. */
    void meanLastDim(Tensor x, Tensor out);

    /** Backward of {@link #meanLastDim}: {@code dX[r, c] += dOut[r] / C}. */
    void meanLastDimBackward(Tensor dOut, Tensor dX);

    /** {@code out[0] = sum of every element of x}, accumulated in double precision; {@code out} is F32. */
    void sum(Tensor x, Tensor out);

    /** {@code out[0] = mean of every element of x}, accumulated in double precision; {@code out} is F32. */
    void mean(Tensor x, Tensor out);

    /** The sum of every element as a Java value: {@link #sum(Tensor, Tensor)} and a download (waits). */
    default double sum(Tensor x) {
        return reduceToHost(out -> sum(x, out));
    }

    /** The mean of every element as a Java value: {@link #mean(Tensor, Tensor)} and a download (waits). */
    default double mean(Tensor x) {
        return reduceToHost(out -> mean(x, out));
    }

    // ---------------------------------------------------------------- normalisation

    /**
     * RMSNorm over the last dimension: {@code out = x / sqrt(mean(x^2) + eps) * weight}. Saves the
     * reciprocal RMS per row in {@code rstd} (shape: x's without the last dimension).
     */
    void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd);

    /** Backward of {@link #rmsNorm}: accumulates into {@code dX} and {@code dWeight}. */
    void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dX, Tensor dWeight);

    /**
     * LayerNorm over the last dimension: {@code out = (x - mean) * rstd * weight + bias}, with the biased
     * variance. Saves {@code mean} and {@code rstd} per row. {@code weight} and {@code bias} are {@code [C]},
     * shared by every row, or, grouped, {@code [G, C]} for {@code x [G, M, C]}: the rows of group {@code g}
     * use row {@code g} of each (one gain and shift per head, all heads in one call).
     */
    void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd);

    /**
     * Backward of {@link #layerNorm}: accumulates into {@code dX}, {@code dWeight} and {@code dBias}, which
     * have {@code weight}'s shape ({@code [C]} or, grouped, {@code [G, C]}: each group's rows into its row).
     */
    void layerNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                           Tensor dX, Tensor dWeight, Tensor dBias);

    // ---------------------------------------------------------------- position encoding

    /**
     * Rotary position embedding, rotate-half convention (as in Hugging Face LLaMA), on {@code x} of shape
     * {@code [B, T, H, Dh]}: for {@code i < Dh/2}, {@code (x_i, x_{i+Dh/2})} is rotated by the angle
     * {@code pos * theta^(-2i/Dh)}. {@code cos} and {@code sin} are {@code [maxT, Dh/2]} tables from
     * {@link #ropeTables}; position {@code t} of the sequence uses row {@code t}. {@code out} may be {@code x}.
     */
    void rope(Tensor x, Tensor cos, Tensor sin, Tensor out);

    /** Backward of {@link #rope} (rotation by the negative angle): accumulates into {@code dX}. */
    void ropeBackward(Tensor dOut, Tensor cos, Tensor sin, Tensor dX);

    /**
     * {@link #ropeBackward}, or with {@code accumulate} false the same values written over {@code dX}: its old
     * contents (NaN included) are ignored and the bits are those of zeroing it and accumulating. This default
     * does just that; a backend overrides it to save the pass over memory that zeroing takes.
     */
    default void ropeBackward(Tensor dOut, Tensor cos, Tensor sin, Tensor dX, boolean accumulate) {
        if (!accumulate) {
            fill(dX, 0f);
        }
        ropeBackward(dOut, cos, sin, dX);
    }

    /** Fills {@code cos} and {@code sin} ({@code [maxT, Dh/2]}) for base {@code theta}, computed in double. */
    void ropeTables(float theta, Tensor cos, Tensor sin);

    // ---------------------------------------------------------------- activations

    /** {@code out = x * sigmoid(x)}. */
    void silu(Tensor x, Tensor out);

    /** Backward of {@link #silu}: accumulates into {@code dX}. */
    void siluBackward(Tensor dOut, Tensor x, Tensor dX);

    /** {@code out = 1 / (1 + exp(-x))}. */
    void sigmoid(Tensor x, Tensor out);

    /** Backward of {@link #sigmoid} from its output {@code y}: {@code dX += dOut * y * (1 - y)}. */
    void sigmoidBackward(Tensor dOut, Tensor y, Tensor dX);

    /** SwiGLU gate: {@code out = silu(gate) * up}. */
    void swiglu(Tensor gate, Tensor up, Tensor out);

    /** Backward of {@link #swiglu}: accumulates into {@code dGate} and {@code dUp}. */
    void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp);

    /**
     * {@link #swigluBackward}, or with {@code accumulate} false the same values written over {@code dGate} and
     * {@code dUp}: their old contents (NaN included) are ignored and the bits are those of zeroing them and
     * accumulating. This default does just that; a backend overrides it to save the passes over memory that
     * zeroing takes.
     */
    default void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp, boolean accumulate) {
        if (!accumulate) {
            fill(dGate, 0f);
            fill(dUp, 0f);
        }
        swigluBackward(dOut, gate, up, dGate, dUp);
    }

    /** Softmax over the last dimension (max-subtracted). {@code out} may be {@code x}. */
    void softmax(Tensor x, Tensor out);

    /** Backward of {@link #softmax} from its output {@code y}: {@code dX += y * (dOut - sum(dOut * y))}. */
    void softmaxBackward(Tensor dOut, Tensor y, Tensor dX);

    // ---------------------------------------------------------------- attention

    /**
     * Causal multi-head scaled-dot-product attention. {@code q}, {@code k}, {@code v} and {@code out} are
     * {@code [B, T, H, Dh]} (the layout a projection's output reshapes to), all F32 or all BF16; the
     * arithmetic is F32 and a BF16 {@code out} is rounded to nearest even. Scores are
     * {@code s_ij = q_i . k_j / sqrt(Dh)} and position {@code i} attends to positions {@code j <= i}. The only
     * state saved for the backward pass is {@code lse}, {@code [B, H, T]} F32: per query row the natural log
     * of {@code sum_{j <= i} exp(s_ij)}; the {@code [T, T]} probabilities are never stored.
     */
    void attention(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse);

    /**
     * Backward of {@link #attention}, recomputing the scores from {@code q}, {@code k} and {@code lse}
     * (flash-attention 2): {@code D_i = rowsum(dOut_i * out_i)}, {@code P = exp(S - lse)},
     * {@code dV += P^T dOut}, {@code dP = dOut V^T}, {@code dS = P * (dP - D)},
     * {@code dQ += dS K / sqrt(Dh)}, {@code dK += dS^T Q / sqrt(Dh)}. {@code q}, {@code k}, {@code v} and
     * {@code out} (the forward output) are as in {@link #attention}; {@code dOut} is F32 or BF16;
     * {@code lse}, {@code dQ}, {@code dK} and {@code dV} are F32. Accumulates into {@code dQ}, {@code dK}
     * and {@code dV}.
     */
    void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                           Tensor dQ, Tensor dK, Tensor dV);

    /**
     * {@link #attentionBackward}, or with {@code accumulate} false the same values written over {@code dQ},
     * {@code dK} and {@code dV}: their old contents (NaN included) are ignored and the bits are those of zeroing
     * them and accumulating. This default does just that; a backend overrides it to save the passes over memory
     * that zeroing takes.
     */
    default void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                   Tensor dQ, Tensor dK, Tensor dV, boolean accumulate) {
        if (!accumulate) {
            fill(dQ, 0f);
            fill(dK, 0f);
            fill(dV, 0f);
        }
        attentionBackward(dOut, q, k, v, out, lse, dQ, dK, dV);
    }

    // ---------------------------------------------------------------- inference with a key/value cache

    /**
     * Appends {@code n} positions to a key/value cache: {@code kCache[b, h, start + t, :] = k[b, t, h, :]}
     * and {@code vCache[b, h, start + t, :] = v[b, t, h, :]} for {@code t < n}. {@code k} and {@code v} are
     * {@code [B, n, H, Dh]} (a projection's output, after RoPE for keys), the caches
     * {@code [B, H, capacity, Dh]} (each head's positions contiguous) with {@code start + n <= capacity}; all
     * four have one dtype, F32 or BF16, and the copy is exact. Cached positions {@code >= start + n} are not
     * touched.
     */
    void kvCacheAppend(Tensor k, Tensor v, Tensor kCache, Tensor vCache, int start);

    /**
     * Causal attention of {@code n} new query rows against a key/value cache, for inference: nothing is saved
     * for a backward pass. {@code q} and {@code out} are {@code [B, n, H, Dh]}; query row {@code t} is
     * position {@code start + t} and attends to the cached positions {@code j <= start + t}, so positions
     * {@code [0, start + n)} must have been appended ({@link #kvCacheAppend}) first. {@code kCache} and
     * {@code vCache} are {@code [B, H, capacity, Dh]} with {@code start + n <= capacity}. Dtypes and
     * arithmetic are those of {@link #attention}: row for row the result is what {@link #attention} over the
     * whole sequence {@code [0, start + n)} gives at these positions (on the CPU backend bit for bit: the
     * same key tiles, the same online softmax and the same order of operations).
     */
    void attentionDecode(Tensor q, Tensor kCache, Tensor vCache, int start, Tensor out);

    // ---------------------------------------------------------------- embedding and loss

    /**
     * Gathers rows of {@code table} ({@code [V, D]}) for the I32 {@code ids} (any shape {@code S}) into
     * {@code out} ({@code S + [D]}). An id outside {@code [0, V)} throws, naming the id and its position.
     */
    void embedding(Tensor ids, Tensor table, Tensor out);

    /** Backward of {@link #embedding}: scatter-adds {@code dOut}'s rows into {@code dTable}'s rows. */
    void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable);

    /**
     * Fused softmax and cross-entropy over logits {@code [N, V]} (or {@code [..., V]}) against I32
     * {@code targets} ({@code [N]}). Positions whose target equals {@code ignoreIndex} contribute nothing.
     * Returns the mean loss over the counted positions (0 when none is counted). When {@code dLogits} is
     * not null it is <b>overwritten</b> with the gradient of that mean times {@code gradScale}:
     * {@code (softmax - onehot) * gradScale / counted}. {@code losses}, when not null, receives each
     * position's loss (0 where ignored). A target outside {@code [0, V)} that is not ignored throws.
     * This form downloads the loss (it waits); a training step uses the form with a loss tensor.
     */
    default double crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor dLogits,
                                float gradScale) {
        return reduceToHost(out -> crossEntropy(logits, targets, ignoreIndex, losses, dLogits, gradScale, out));
    }

    /**
     * {@link #crossEntropy(Tensor, Tensor, int, Tensor, Tensor, float)} that stays on the device: the mean
     * loss is <b>added</b> to {@code lossSum[0]} (F32, one element), so the loss of several micro-batches
     * accumulates without a download. {@code dLogits} may be {@code logits} itself: the gradient then
     * overwrites the logits in place and the model needs one {@code [N, V]} buffer instead of two.
     */
    void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor dLogits,
                      float gradScale, Tensor lossSum);

    // ---------------------------------------------------------------- Leviathan generator

    /**
     * Quadratic B-spline basis on a uniform grid of {@code knots} knots {@code g_j = j / (knots - 1)} over
     * [0, 1], for coordinates {@code t} ({@code [N, d]}; values outside [0, 1] are clamped). With
     * {@code dist = |t - g_j| * (knots - 1)} a knot's weight is {@code 0.75 - dist^2} for {@code dist < 0.5},
     * {@code 0.5 * (1.5 - dist)^2} for {@code 0.5 <= dist < 1.5}, else 0, so at most three knots are non-zero.
     * The basis is stored sparsely: {@code first} (I32 {@code [N, d]}) is the first knot of the three-knot
     * window (the nearest knot minus one; it may be -1) and {@code weights} ({@code [N, d, 3]}) the weights
     * of knots {@code first + m}, 0 for a knot outside {@code [0, knots)}. With {@code normalize} the three
     * weights are divided by their sum.
     */
    void splineBasis(Tensor t, int knots, boolean normalize, Tensor first, Tensor weights);

    /** Backward of {@link #splineBasis}: accumulates {@code d weights / d t} into {@code dT}. */
    void splineBasisBackward(Tensor dWeights, Tensor t, Tensor first, int knots, boolean normalize, Tensor dT);

    /**
     * Rank-1 separable modes of one generator head. For each row {@code n} and mode {@code r}, the factor of
     * seed dimension {@code i} is {@code phi[i, r] = sum_m weights[n, i, m] * spline[i, first[n, i] + m, r]}
     * (knots outside the grid skipped) and {@code modes[n, r] = prod_i phi[i, r]}, defined as
     * {@code sign * exp(sum_i log(|phi[i, r]| + 1e-9))} with {@code sign} the parity of the negative factors.
     * Shapes: {@code first} I32 {@code [N, d]}, {@code weights} {@code [N, d, 3]}, {@code spline}
     * {@code [d, knots, R]}, {@code modes} {@code [N, R]}. The factors are never stored.
     *
     * <p>Grouped form, {@code G} heads in one call: {@code first} I32 {@code [G, N, d]}, {@code weights}
     * {@code [G, N, d, 3]}, {@code spline} {@code [G, d, knots, R]} (head {@code g}'s rows use its spline) and
     * {@code modes} {@code [N, G, R]}, so that row {@code n}'s modes of every head are one {@code G * R} vector.
     */
    void separableModes(Tensor first, Tensor weights, Tensor spline, Tensor modes);

    /**
     * Backward of {@link #separableModes}, exact for the log-magnitude formula:
     * {@code d modes / d phi_i = modes * sign(phi_i) / (|phi_i| + 1e-9)}. Accumulates into {@code dWeights}
     * ({@code [N, d, 3]}) and {@code dSpline} ({@code [d, knots, R]}); {@code modes} is the forward output.
     * The grouped form takes the grouped shapes ({@code dModes} like {@code modes}, {@code [N, G, R]};
     * {@code dWeights} like {@code weights}; {@code dSpline} like {@code spline}).
     */
    void separableModesBackward(Tensor dModes, Tensor first, Tensor weights, Tensor spline, Tensor modes,
                                Tensor dWeights, Tensor dSpline);

    /**
     * Whether this backend runs {@link #separableModesOfCoordinates} and its backward as fused kernels. Where it
     * is false they run as the two ops through windows in a scratch arena made per call, so a caller that calls
     * them every step (the generator) keeps its own window buffers and calls the two ops instead. Both ways give
     * the same bits.
     */
    default boolean fusesSplineBasis() {
        return false;
    }

    /**
     * {@link #splineBasis} of the coordinates {@code t} on the spline's knots ({@code spline.size(-2)}), then
     * {@link #separableModes} of that basis; fused, without storing {@code first} and {@code weights} (the windows
     * are computed where they are used). Same result, bit for bit, as the two ops. Shapes: {@code t} {@code [N, d]}
     * with {@code spline [d, knots, R]} and {@code modes [N, R]}, or grouped {@code [G, N, d]} with
     * {@code spline [G, d, knots, R]} and {@code modes [N, G, R]}.
     *
     * <p>This default runs the two ops, with the windows in a scratch arena allocated for the call (see
     * {@link #fusesSplineBasis}).
     */
    default void separableModesOfCoordinates(Tensor t, boolean normalize, Tensor spline, Tensor modes) {
        SeparableModesChecks.separableModesOfCoordinates(t, spline, modes);
        long d = t.size(-1), rows = t.numel() / d;
        try (TensorArena scratch = newArena()) {
            Tensor first = scratch.allocate(DType.I32, rows, d), weights = scratch.allocate(DType.F32, rows, d, 3);
            splineBasis(t.reshape(rows, d), (int) spline.size(-2), normalize, first, weights);
            separableModes(first.reshape(t.shape()), weights.reshape(windowsShape(t)), spline, modes);
        }
    }

    /**
     * Backward of {@link #separableModesOfCoordinates}: {@code d loss / d t} into {@code dT} (like {@code t}),
     * added to it ({@code accumulate}) or written over it (bit for bit what zeroing it and adding gives), and
     * {@code d loss / d spline} added to {@code dSpline}; {@code modes} is the forward output. Same bits as
     * {@link #separableModesBackward} into a zeroed {@code dWeights}, then {@link #splineBasisBackward}.
     *
     * <p>This default runs those ops, with the windows and their gradients in a scratch arena allocated for the
     * call (see {@link #fusesSplineBasis}).
     */
    default void separableModesOfCoordinatesBackward(Tensor dModes, Tensor t, boolean normalize, Tensor spline,
                                                     Tensor modes, Tensor dT, Tensor dSpline, boolean accumulate) {
        SeparableModesChecks.separableModesOfCoordinatesBackward(dModes, t, spline, modes, dT, dSpline);
        long d = t.size(-1), rows = t.numel() / d;
        int knots = (int) spline.size(-2);
        try (TensorArena scratch = newArena()) {
            Tensor first = scratch.allocate(DType.I32, rows, d), weights = scratch.allocate(DType.F32, rows, d, 3);
            Tensor dWeights = scratch.allocate(DType.F32, rows, d, 3);
            splineBasis(t.reshape(rows, d), knots, normalize, first, weights);
            fill(dWeights, 0f);
            long[] w = windowsShape(t);
            separableModesBackward(dModes, first.reshape(t.shape()), weights.reshape(w), spline, modes,
                    dWeights.reshape(w), dSpline);
            if (!accumulate) {
                fill(dT, 0f);
            }
            splineBasisBackward(dWeights, t.reshape(rows, d), first, knots, normalize, dT.reshape(rows, d));
        }
    }

    /** The weights' shape for coordinates {@code t}: {@code t}'s, with 3 appended. */
    private static long[] windowsShape(Tensor t) {
        long[] shape = java.util.Arrays.copyOf(t.shape(), t.rank() + 1);
        shape[t.rank()] = 3;
        return shape;
    }

    // ---------------------------------------------------------------- optimisation

    /** {@code out[0] =} the L2 norm of all the tensors' elements taken together, accumulated in double. */
    void globalL2Norm(List<Tensor> tensors, Tensor out);

    /** The global L2 norm as a Java value: {@link #globalL2Norm(List, Tensor)} and a download (waits). */
    default double globalL2Norm(List<Tensor> tensors) {
        return reduceToHost(out -> globalL2Norm(tensors, out));
    }

    /**
     * One AdamW update of {@code param} from {@code grad}, with first and second moments {@code m} and
     * {@code v} (updated in place). Decoupled weight decay: {@code p *= 1 - lr * weightDecay}; then
     * {@code p -= lr * mHat / (sqrt(vHat) + eps)} with bias-corrected moments for step {@code step} (from 1).
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step);

    /**
     * One AdamW update over flat buffers (every parameter of a model in one call), with global-norm clipping
     * decided on the device: with {@code norm = gradNorm[0]} (from {@link #globalL2Norm(List, Tensor)}), the
     * gradient is read as {@code g * clip / (norm + 1e-6)} when {@code clipNorm > 0} and {@code norm > clipNorm},
     * else as {@code g} ({@code grad} itself is not modified). Elements {@code [0, decayedCount)} take the
     * step's weight decay, the rest none (the parameter store puts decayed parameters first). When the norm
     * is not finite nothing is updated: the caller learns it from the norm it downloads.
     */
    void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, long decayedCount, Tensor gradNorm,
               float clipNorm);

    /** Runs {@code op} into a one-element scratch tensor and downloads it: the Java-valued conveniences. */
    private double reduceToHost(java.util.function.Consumer<Tensor> op) {
        try (TensorArena scratch = newArena()) {
            Tensor out = scratch.allocate(io.leviathan.tensor.DType.F32, 1);
            op.accept(out);
            return downloadScalar(out);
        }
    }

    /** Releases the backend's threads and device resources. */
    @Override
    void close();
}
