package io.leviathan.backend.cuda;

import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The argument checks only the CUDA backend makes, on top of the shared ones in {@code io.leviathan.backend}
 * (which give an operation the same shapes and messages wherever it runs): limits of the native kernels.
 * Checks that would need the data on the host (a window start outside the spline grid) are not made here:
 * the data is on the device, and the kernels document what they do with it.
 */
final class CudaChecks {
    private CudaChecks() {}

    /** The widest head the native attention kernels tile (their shared-memory tiles are sized for it). */
    static final long MAX_ATTENTION_HEAD_DIM = 128;

    /** The head dimension of {@code q [B, T, H, Dh]} must fit the native kernels' tiles. */
    static void attentionHeadDim(String op, Tensor q) {
        if (q.size(3) > MAX_ATTENTION_HEAD_DIM) {
            throw new IllegalArgumentException(op + ": head dimension " + q.size(3) + " of q "
                    + Arrays.toString(q.shape()) + " exceeds the CUDA kernels' limit of " + MAX_ATTENTION_HEAD_DIM
                    + "; use a model with more, narrower heads, or the CPU backend");
        }
    }

    /** A {@code knots} count that fits the kernel library's {@code int} argument. */
    static int knotsInt(String op, long knots) {
        if (knots > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": " + knots + " knots exceed " + Integer.MAX_VALUE);
        }
        return (int) knots;
    }
}
