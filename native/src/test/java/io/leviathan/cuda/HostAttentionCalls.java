package io.leviathan.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The functions of leviathan_cuda_host_attention.h (the host twins of the attention and generator kernels)
 * and the workspace sizes of leviathan_cuda.h they need, in the bindings' shape. Each call checks its
 * status and throws a {@link NativeCallException} naming the function and the status's description.
 */
final class HostAttentionCalls {
    private HostAttentionCalls() {}

    /** LV_F32 and LV_BF16 of leviathan_cuda.h. */
    static final int LV_F32 = 0;
    static final int LV_BF16 = 1;

    static final NativeFunction ATTENTION_FORWARD = new NativeFunction("lv_host_attention_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG),
            "int lv_host_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,"
                    + " int64_t batch, int64_t seq, int64_t heads, int64_t head_dim)");
    static final NativeFunction ATTENTION_BACKWARD = new NativeFunction("lv_host_attention_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG),
            "int lv_host_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k,"
                    + " const void *v, const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype,"
                    + " int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace,"
                    + " int64_t workspace_bytes)");
    static final NativeFunction ATTENTION_BACKWARD_WORKSPACE_BYTES = new NativeFunction(
            "lv_attention_backward_workspace_bytes",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int64_t lv_attention_backward_workspace_bytes(int64_t batch, int64_t seq, int64_t heads,"
                    + " int64_t head_dim)");
    static final NativeFunction KV_CACHE_APPEND = new NativeFunction("lv_host_kv_cache_append",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int lv_host_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype,"
                    + " int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start)");
    static final NativeFunction ATTENTION_DECODE = new NativeFunction("lv_host_attention_decode",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int lv_host_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out,"
                    + " int dtype, int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity,"
                    + " int64_t start)");
    static final NativeFunction SPLINE_BASIS = new NativeFunction("lv_host_spline_basis",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS),
            "int lv_host_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize,"
                    + " int32_t *first, float *weights)");
    static final NativeFunction SPLINE_BASIS_BACKWARD = new NativeFunction("lv_host_spline_basis_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT,
                    ADDRESS),
            "int lv_host_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first,"
                    + " int64_t n, int64_t d, int knots, int normalize, float *d_t)");
    static final NativeFunction SEPARABLE_MODES = new NativeFunction("lv_host_separable_modes",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_INT, JAVA_LONG),
            "int lv_host_separable_modes(const int32_t *first, const float *weights, const float *spline,"
                    + " float *modes, int64_t groups, int64_t n, int64_t d, int knots, int64_t rank)");
    static final NativeFunction SEPARABLE_MODES_BACKWARD = new NativeFunction("lv_host_separable_modes_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG),
            "int lv_host_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights,"
                    + " const float *spline, const float *modes, float *d_weights, float *d_spline, int64_t groups,"
                    + " int64_t n, int64_t d, int knots, int64_t rank, void *workspace, int64_t workspace_bytes)");
    static final NativeFunction SEPARABLE_MODES_BACKWARD_WORKSPACE_BYTES = new NativeFunction(
            "lv_separable_modes_backward_workspace_bytes",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG),
            "int64_t lv_separable_modes_backward_workspace_bytes(int64_t groups, int64_t n, int64_t d, int knots,"
                    + " int64_t rank)");
    /** The device entry point, for its argument checks (they return before any CUDA call). */
    static final NativeFunction DEVICE_ATTENTION_FORWARD = new NativeFunction("lv_attention_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, ADDRESS),
            "int lv_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,"
                    + " int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream)");

    static final List<NativeFunction> FUNCTIONS = List.of(ATTENTION_FORWARD, ATTENTION_BACKWARD,
            ATTENTION_BACKWARD_WORKSPACE_BYTES, SPLINE_BASIS, SPLINE_BASIS_BACKWARD, SEPARABLE_MODES,
            SEPARABLE_MODES_BACKWARD, SEPARABLE_MODES_BACKWARD_WORKSPACE_BYTES, DEVICE_ATTENTION_FORWARD,
            KV_CACHE_APPEND, ATTENTION_DECODE);

    static void attentionForward(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                                 MemorySegment lse, int dtype, long batch, long seq, long heads, long headDim)
            throws Throwable {
        check(ATTENTION_FORWARD, (int) CudaLibrary.get().handle(ATTENTION_FORWARD)
                .invokeExact(q, k, v, out, lse, dtype, batch, seq, heads, headDim));
    }

    static void attentionBackward(MemorySegment dOut, int dOutDtype, MemorySegment q, MemorySegment k,
                                  MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment dQ,
                                  MemorySegment dK, MemorySegment dV, int dtype, long batch, long seq, long heads,
                                  long headDim, MemorySegment workspace, long workspaceBytes) throws Throwable {
        check(ATTENTION_BACKWARD, (int) CudaLibrary.get().handle(ATTENTION_BACKWARD).invokeExact(dOut, dOutDtype, q, k,
                v, out, lse, dQ, dK, dV, dtype, batch, seq, heads, headDim, workspace, workspaceBytes));
    }

    static long attentionBackwardWorkspaceBytes(long batch, long seq, long heads, long headDim) throws Throwable {
        return (long) CudaLibrary.get().handle(ATTENTION_BACKWARD_WORKSPACE_BYTES)
                .invokeExact(batch, seq, heads, headDim);
    }

    static void kvCacheAppend(MemorySegment k, MemorySegment v, MemorySegment kCache, MemorySegment vCache, int dtype,
                              long batch, long n, long heads, long headDim, long capacity, long start) throws Throwable {
        check(KV_CACHE_APPEND, (int) CudaLibrary.get().handle(KV_CACHE_APPEND)
                .invokeExact(k, v, kCache, vCache, dtype, batch, n, heads, headDim, capacity, start));
    }

    static void attentionDecode(MemorySegment q, MemorySegment kCache, MemorySegment vCache, MemorySegment out,
                                int dtype, long batch, long n, long heads, long headDim, long capacity, long start)
            throws Throwable {
        check(ATTENTION_DECODE, (int) CudaLibrary.get().handle(ATTENTION_DECODE)
                .invokeExact(q, kCache, vCache, out, dtype, batch, n, heads, headDim, capacity, start));
    }

    static void splineBasis(MemorySegment t, long n, long d, int knots, boolean normalize, MemorySegment first,
                            MemorySegment weights) throws Throwable {
        check(SPLINE_BASIS, (int) CudaLibrary.get().handle(SPLINE_BASIS)
                .invokeExact(t, n, d, knots, normalize ? 1 : 0, first, weights));
    }

    static void splineBasisBackward(MemorySegment dWeights, MemorySegment t, MemorySegment first, long n, long d,
                                    int knots, boolean normalize, MemorySegment dT) throws Throwable {
        check(SPLINE_BASIS_BACKWARD, (int) CudaLibrary.get().handle(SPLINE_BASIS_BACKWARD)
                .invokeExact(dWeights, t, first, n, d, knots, normalize ? 1 : 0, dT));
    }

    static void separableModes(MemorySegment first, MemorySegment weights, MemorySegment spline, MemorySegment modes,
                               long groups, long n, long d, int knots, long rank) throws Throwable {
        check(SEPARABLE_MODES, (int) CudaLibrary.get().handle(SEPARABLE_MODES)
                .invokeExact(first, weights, spline, modes, groups, n, d, knots, rank));
    }

    static void separableModesBackward(MemorySegment dModes, MemorySegment first, MemorySegment weights,
                                       MemorySegment spline, MemorySegment modes, MemorySegment dWeights,
                                       MemorySegment dSpline, long groups, long n, long d, int knots, long rank,
                                       MemorySegment workspace, long workspaceBytes) throws Throwable {
        check(SEPARABLE_MODES_BACKWARD, (int) CudaLibrary.get().handle(SEPARABLE_MODES_BACKWARD).invokeExact(dModes,
                first, weights, spline, modes, dWeights, dSpline, groups, n, d, knots, rank, workspace, workspaceBytes));
    }

    static long separableModesBackwardWorkspaceBytes(long groups, long n, long d, int knots, long rank)
            throws Throwable {
        return (long) CudaLibrary.get().handle(SEPARABLE_MODES_BACKWARD_WORKSPACE_BYTES)
                .invokeExact(groups, n, d, knots, rank);
    }

    /** The status of the device forward for these arguments (only argument errors are asked for). */
    static int deviceAttentionForwardStatus(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                                            MemorySegment lse, int dtype, long batch, long seq, long heads,
                                            long headDim) throws Throwable {
        return (int) CudaLibrary.get().handle(DEVICE_ATTENTION_FORWARD)
                .invokeExact(q, k, v, out, lse, dtype, batch, seq, heads, headDim, MemorySegment.NULL);
    }

    /** Throws for a status other than LV_OK, naming the function, the status and its description. */
    static void check(NativeFunction f, int status) throws Throwable {
        if (status != 0) {
            throw new NativeCallException(f.symbol(), status, RuntimeCalls.errorString(status));
        }
    }
}
