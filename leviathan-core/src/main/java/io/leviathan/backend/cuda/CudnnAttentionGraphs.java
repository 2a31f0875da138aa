package io.leviathan.backend.cuda;

import static io.leviathan.bindings.cuda.CuDnn.*;

import java.util.ArrayList;
import java.util.List;

/**
 * The causal attention graphs in cuDNN's backend API: the classic pattern that cuDNN's fused flash-attention
 * engines recognise (matmul, scale, causal mask, softmax with statistics, matmul). Our tensors are
 * {@code [B, T, H, Dh]}; cuDNN sees them as {@code [B, H, T, Dh]} with our strides, and a transposed operand is
 * the same memory with its last two strides swapped, so nothing is copied.
 *
 * <p>Why not the single SDPA operation ({@code CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR}, attribute ids from
 * 2800 in cuDNN 9.19)? Its declarations in 9.19 have query, key, value, output, statistics, scale, block mask,
 * page tables and sequence lengths, but no causal attribute, so causal attention cannot be stated with it; the
 * classic graph states the mask explicitly.
 */
final class CudnnAttentionGraphs {
    private CudnnAttentionGraphs() {}

    // Unique ids of the real tensors; the variant pack pairs each with a pointer. A transposed view of a tensor
    // is a second descriptor, with its own id, over the same memory.
    static final long Q = 1, K = 2, V = 3, O = 4, STATS = 5, SCALE = 6, NEG_INF = 7, D_O = 8, D_Q = 9, D_K = 10,
            D_V = 11, STATS_T = 12, D_O_T = 13, O_T = 14, K_T = 15, Q_T = 16;

    /** The shape of one attention call: batch, sequence, heads, head dimension. */
    record Shape(long b, long t, long h, long dh) {
        Shape {
            if (b < 1 || t < 1 || h < 1 || dh < 1) {
                throw new IllegalArgumentException("attention shape must be positive: B=" + b + " T=" + t + " H=" + h
                        + " Dh=" + dh);
            }
        }

        /** {@code [B, H, T, Dh]} over our {@code [B, T, H, Dh]} memory. */
        long[] bhtd() {
            return new long[] {b, h, t, dh};
        }

        long[] bhtdStrides() {
            return new long[] {t * h * dh, dh, h * dh, 1};
        }

        /** {@code [B, H, Dh, T]}: the same memory transposed. */
        long[] bhdt() {
            return new long[] {b, h, dh, t};
        }

        long[] bhdtStrides() {
            return new long[] {t * h * dh, dh, 1, h * dh};
        }

        @Override
        public String toString() {
            return "B=" + b + " T=" + t + " H=" + h + " Dh=" + dh;
        }
    }

    /** A built operation graph and the unique ids of the real tensors its variant pack must supply, in order. */
    record Graph(long descriptor, long[] uids) {}

    /** Builds virtual-tensor ids in order, starting above the real ones. */
    private static final class Ids {
        private long next = 100;

        long next() {
            return next++;
        }
    }

    /**
     * Forward: {@code S = Q K^T * scale}, masked to {@code -inf} above the diagonal, {@code M = rowmax(S)},
     * {@code E = exp(S - M)}, {@code L = rowsum(E)}, {@code stats = M + log(L)} (our lse), {@code O = (E / L) V}.
     * Q, K, V and O are BF16, the statistics and every intermediate F32.
     */
    static Graph forward(CudnnDescriptors d, long handle, Shape s) {
        Ids ids = new Ids();
        List<Long> ops = new ArrayList<>();
        long b = s.b(), h = s.h(), t = s.t();
        long q = d.tensor(Q, CUDNN_DATA_BFLOAT16, s.bhtd(), s.bhtdStrides());
        long kT = d.tensor(K_T, CUDNN_DATA_BFLOAT16, s.bhdt(), s.bhdtStrides());
        long v = d.tensor(V, CUDNN_DATA_BFLOAT16, s.bhtd(), s.bhtdStrides());
        long o = d.tensor(O, CUDNN_DATA_BFLOAT16, s.bhtd(), s.bhtdStrides());
        long stats = d.tensor(STATS, CUDNN_DATA_FLOAT, new long[] {b, h, t, 1}, new long[] {h * t, t, 1, 1});
        long scale = d.scalar(SCALE, CUDNN_DATA_FLOAT);
        long negInf = d.scalar(NEG_INF, CUDNN_DATA_FLOAT);

        long scores = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.matmul(q, kT, scores));
        long scaled = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_MUL, scores, scale, scaled));
        long masked = causalMask(d, ids, ops, scaled, negInf, s, false);

        long max = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, 1);
        ops.add(d.reduction(CUDNN_REDUCE_TENSOR_MAX, masked, max));
        long shifted = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_SUB, masked, max, shifted));
        long exp = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_EXP, shifted, exp));
        long sum = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, 1);
        ops.add(d.reduction(CUDNN_REDUCE_TENSOR_ADD, exp, sum));
        long logSum = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, 1);
        ops.add(d.pointwise(CUDNN_POINTWISE_LOG, sum, logSum));
        ops.add(d.pointwise(CUDNN_POINTWISE_ADD, max, logSum, stats));
        long p = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_DIV, exp, sum, p));
        ops.add(d.matmul(p, v, o));
        return new Graph(d.graph(handle, ops), new long[] {Q, K_T, V, O, STATS, SCALE, NEG_INF});
    }

    /**
     * Backward, built in the transposed frame (rows are keys, columns queries) so no intermediate needs a
     * transpose: {@code P^T = exp(mask(K Q^T * scale) - stats^T)}, {@code dV = P^T dO},
     * {@code dP^T = V dO^T}, {@code D^T = colsum(dO^T * O^T)} (D_i = dO_i . O_i),
     * {@code dS^T = P^T * (dP^T - D^T) * scale}, {@code dK = dS^T Q}, and {@code dQ^T = K^T dS^T} written through
     * dQ's transposed strides. Q, K, V, O, dO, dQ, dK and dV are BF16; the statistics and intermediates F32.
     */
    static Graph backward(CudnnDescriptors d, long handle, Shape s) {
        Ids ids = new Ids();
        List<Long> ops = new ArrayList<>();
        long b = s.b(), h = s.h(), t = s.t();
        int bf16 = CUDNN_DATA_BFLOAT16;
        long q = d.tensor(Q, bf16, s.bhtd(), s.bhtdStrides());
        long qT = d.tensor(Q_T, bf16, s.bhdt(), s.bhdtStrides());
        long k = d.tensor(K, bf16, s.bhtd(), s.bhtdStrides());
        long kT = d.tensor(K_T, bf16, s.bhdt(), s.bhdtStrides());
        long v = d.tensor(V, bf16, s.bhtd(), s.bhtdStrides());
        long oT = d.tensor(O_T, bf16, s.bhdt(), s.bhdtStrides());
        long dO = d.tensor(D_O, bf16, s.bhtd(), s.bhtdStrides());
        long dOT = d.tensor(D_O_T, bf16, s.bhdt(), s.bhdtStrides());
        long statsT = d.tensor(STATS_T, CUDNN_DATA_FLOAT, new long[] {b, h, 1, t}, new long[] {h * t, t, t, 1});
        long dQT = d.tensor(D_Q, bf16, s.bhdt(), s.bhdtStrides());
        long dK = d.tensor(D_K, bf16, s.bhtd(), s.bhtdStrides());
        long dV = d.tensor(D_V, bf16, s.bhtd(), s.bhtdStrides());
        long scale = d.scalar(SCALE, CUDNN_DATA_FLOAT);
        long negInf = d.scalar(NEG_INF, CUDNN_DATA_FLOAT);

        // P^T, recomputed from the saved statistics
        long scoresT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.matmul(k, qT, scoresT));
        long scaledT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_MUL, scoresT, scale, scaledT));
        long maskedT = causalMask(d, ids, ops, scaledT, negInf, s, true);
        long shiftedT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_SUB, maskedT, statsT, shiftedT));
        long pT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_EXP, shiftedT, pT));

        ops.add(d.matmul(pT, dO, dV));

        // dS^T = P^T * (dP^T - D^T) * scale
        long dPT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.matmul(v, dOT, dPT));
        long dOxO = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, s.dh(), t);
        ops.add(d.pointwise(CUDNN_POINTWISE_MUL, dOT, oT, dOxO));
        long rowDotT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, 1, t);
        ops.add(d.reduction(CUDNN_REDUCE_TENSOR_ADD, dOxO, rowDotT));
        long diffT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_SUB, dPT, rowDotT, diffT));
        long dSUnscaledT = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_MUL, pT, diffT, dSUnscaledT));
        long dST = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.pointwise(CUDNN_POINTWISE_MUL, dSUnscaledT, scale, dST));

        ops.add(d.matmul(dST, q, dK));
        ops.add(d.matmul(kT, dST, dQT));
        return new Graph(d.graph(handle, ops),
                new long[] {Q, Q_T, K, K_T, V, O_T, D_O, D_O_T, STATS_T, D_Q, D_K, D_V, SCALE, NEG_INF});
    }

    /**
     * {@code scores} with every position a query may not see set to {@code -inf}: a query attends to keys at or
     * before it. In the forward frame rows are queries ({@code row >= col} is kept); in the transposed frame of
     * the backward rows are keys ({@code col >= row} is kept).
     */
    private static long causalMask(CudnnDescriptors d, Ids ids, List<Long> ops, long scores, long negInf, Shape s,
                                   boolean transposed) {
        long b = s.b(), h = s.h(), t = s.t();
        long row = d.virtualTensor(ids.next(), CUDNN_DATA_INT32, b, h, t, t);
        ops.add(d.index(scores, 2, row));
        long col = d.virtualTensor(ids.next(), CUDNN_DATA_INT32, b, h, t, t);
        ops.add(d.index(scores, 3, col));
        long visible = d.virtualTensor(ids.next(), CUDNN_DATA_BOOLEAN, b, h, t, t);
        ops.add(transposed ? d.pointwise(CUDNN_POINTWISE_CMP_GE, col, row, visible)
                : d.pointwise(CUDNN_POINTWISE_CMP_GE, row, col, visible));
        long masked = d.virtualTensor(ids.next(), CUDNN_DATA_FLOAT, b, h, t, t);
        ops.add(d.select(scores, negInf, visible, masked));
        return masked;
    }
}
