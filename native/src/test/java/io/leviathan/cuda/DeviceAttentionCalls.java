package io.leviathan.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The attention and generator operations of leviathan_cuda.h and the runtime calls a device test needs, in the
 * bindings' shape. Each call checks its status ({@link HostAttentionCalls#check}). Only tests that found a
 * device call these.
 */
final class DeviceAttentionCalls {
    private DeviceAttentionCalls() {}

    static final NativeFunction DEVICE_COUNT = new NativeFunction("lv_device_count",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), "int lv_device_count(int *count)");
    static final NativeFunction MALLOC = new NativeFunction("lv_malloc",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), "int lv_malloc(void **ptr, int64_t bytes)");
    static final NativeFunction FREE = new NativeFunction("lv_free",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), "int lv_free(void *ptr)");
    static final NativeFunction MEMCPY_ASYNC = new NativeFunction("lv_memcpy_async",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_memcpy_async(void *dst, const void *src, int64_t bytes, void *stream)");
    static final NativeFunction DEVICE_SYNCHRONIZE = new NativeFunction("lv_device_synchronize",
            FunctionDescriptor.of(JAVA_INT), "int lv_device_synchronize(void)");
    static final NativeFunction ATTENTION_FORWARD = new NativeFunction("lv_attention_forward",
            HostAttentionCalls.DEVICE_ATTENTION_FORWARD.descriptor(),
            HostAttentionCalls.DEVICE_ATTENTION_FORWARD.declaration());
    static final NativeFunction ATTENTION_BACKWARD = new NativeFunction("lv_attention_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k,"
                    + " const void *v, const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype,"
                    + " int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace,"
                    + " int64_t workspace_bytes, void *stream)");
    static final NativeFunction SPLINE_BASIS = new NativeFunction("lv_spline_basis",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS,
                    ADDRESS),
            "int lv_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first,"
                    + " float *weights, void *stream)");
    static final NativeFunction SPLINE_BASIS_BACKWARD = new NativeFunction("lv_spline_basis_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_INT,
                    ADDRESS, ADDRESS),
            "int lv_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n,"
                    + " int64_t d, int knots, int normalize, float *d_t, void *stream)");
    static final NativeFunction SEPARABLE_MODES = new NativeFunction("lv_separable_modes",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_INT, JAVA_LONG, ADDRESS),
            "int lv_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes,"
                    + " int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *stream)");
    static final NativeFunction SEPARABLE_MODES_BACKWARD = new NativeFunction("lv_separable_modes_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG,
                    JAVA_LONG, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights,"
                    + " const float *spline, const float *modes, float *d_weights, float *d_spline, int64_t groups,"
                    + " int64_t n, int64_t d, int knots, int64_t rank, void *workspace, int64_t workspace_bytes,"
                    + " void *stream)");

    static final List<NativeFunction> FUNCTIONS = List.of(DEVICE_COUNT, MALLOC, FREE, MEMCPY_ASYNC,
            DEVICE_SYNCHRONIZE, ATTENTION_FORWARD, ATTENTION_BACKWARD, SPLINE_BASIS, SPLINE_BASIS_BACKWARD,
            SEPARABLE_MODES, SEPARABLE_MODES_BACKWARD);

    private static final MemorySegment DEFAULT_STREAM = MemorySegment.NULL;

    static void attentionForward(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out,
                                 MemorySegment lse, int dtype, long batch, long seq, long heads, long headDim)
            throws Throwable {
        HostAttentionCalls.check(ATTENTION_FORWARD, (int) CudaLibrary.get().handle(ATTENTION_FORWARD)
                .invokeExact(q, k, v, out, lse, dtype, batch, seq, heads, headDim, DEFAULT_STREAM));
    }

    static void attentionBackward(MemorySegment dOut, int dOutDtype, MemorySegment q, MemorySegment k,
                                  MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment dQ,
                                  MemorySegment dK, MemorySegment dV, int dtype, long batch, long seq, long heads,
                                  long headDim, MemorySegment workspace, long workspaceBytes) throws Throwable {
        HostAttentionCalls.check(ATTENTION_BACKWARD, (int) CudaLibrary.get().handle(ATTENTION_BACKWARD).invokeExact(
                dOut, dOutDtype, q, k, v, out, lse, dQ, dK, dV, dtype, batch, seq, heads, headDim, workspace,
                workspaceBytes, DEFAULT_STREAM));
    }

    static void splineBasis(MemorySegment t, long n, long d, int knots, boolean normalize, MemorySegment first,
                            MemorySegment weights) throws Throwable {
        HostAttentionCalls.check(SPLINE_BASIS, (int) CudaLibrary.get().handle(SPLINE_BASIS)
                .invokeExact(t, n, d, knots, normalize ? 1 : 0, first, weights, DEFAULT_STREAM));
    }

    static void splineBasisBackward(MemorySegment dWeights, MemorySegment t, MemorySegment first, long n, long d,
                                    int knots, boolean normalize, MemorySegment dT) throws Throwable {
        HostAttentionCalls.check(SPLINE_BASIS_BACKWARD, (int) CudaLibrary.get().handle(SPLINE_BASIS_BACKWARD)
                .invokeExact(dWeights, t, first, n, d, knots, normalize ? 1 : 0, dT, DEFAULT_STREAM));
    }

    static void separableModes(MemorySegment first, MemorySegment weights, MemorySegment spline, MemorySegment modes,
                               long groups, long n, long d, int knots, long rank) throws Throwable {
        HostAttentionCalls.check(SEPARABLE_MODES, (int) CudaLibrary.get().handle(SEPARABLE_MODES)
                .invokeExact(first, weights, spline, modes, groups, n, d, knots, rank, DEFAULT_STREAM));
    }

    static void separableModesBackward(MemorySegment dModes, MemorySegment first, MemorySegment weights,
                                       MemorySegment spline, MemorySegment modes, MemorySegment dWeights,
                                       MemorySegment dSpline, long groups, long n, long d, int knots, long rank,
                                       MemorySegment workspace, long workspaceBytes) throws Throwable {
        HostAttentionCalls.check(SEPARABLE_MODES_BACKWARD, (int) CudaLibrary.get().handle(SEPARABLE_MODES_BACKWARD)
                .invokeExact(dModes, first, weights, spline, modes, dWeights, dSpline, groups, n, d, knots, rank,
                        workspace, workspaceBytes, DEFAULT_STREAM));
    }
}
