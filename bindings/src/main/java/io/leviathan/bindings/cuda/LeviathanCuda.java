package io.leviathan.bindings.cuda;

import io.leviathan.bindings.FunctionSlots;
import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Bindings to Leviathan's CUDA kernel library ({@code libleviathan_cuda.so}), one method per function of
 * {@code native/include/leviathan_cuda.h}, in the header's order. Each method returns what the C function
 * returns (an int status for almost all of them); {@link #check(String, int)} turns a status into a
 * {@link NativeCallException} carrying {@code lv_error_string}'s text.
 *
 * <p>Pointers are {@link MemorySegment}s: device memory as a segment carrying the device address
 * ({@code MemorySegment.ofAddress(ptr)}), host out-parameters as ordinary native segments, absent optional
 * pointers as {@link MemorySegment#NULL}. Every function is linked on its first call.
 */
public final class LeviathanCuda {

    /** The ABI version this binding was written for ({@code LV_ABI_VERSION}). */
    public static final int LV_ABI_VERSION = 1;

    /** Success. */
    public static final int LV_OK = 0;
    /** A size, count or pointer the op cannot take. */
    public static final int LV_ERR_INVALID_ARGUMENT = 10001;
    /** A dtype code the op does not accept. */
    public static final int LV_ERR_UNSUPPORTED_DTYPE = 10002;
    /** The workspace passed is smaller than the op's {@code *_workspace_bytes}. */
    public static final int LV_ERR_WORKSPACE_TOO_SMALL = 10003;

    /** Dtype code: IEEE float. */
    public static final int LV_F32 = 0;
    /** Dtype code: bfloat16 (the upper half of a float). */
    public static final int LV_BF16 = 1;
    /** Dtype code: int32. */
    public static final int LV_I32 = 2;

    /** Op code in the device error record: the embedding gather. */
    public static final int LV_OP_EMBEDDING = 1;
    /** Op code in the device error record: the embedding scatter-add. */
    public static final int LV_OP_EMBEDDING_BACKWARD = 2;
    /** Op code in the device error record: the fused softmax and cross-entropy. */
    public static final int LV_OP_CROSS_ENTROPY = 3;

    /** The device error record: int32[4] = count, op code, position (low 32 bits), bad value. */
    public static final MemoryLayout ERROR_RECORD = MemoryLayout.sequenceLayout(4, ValueLayout.JAVA_INT);

    /** The binding of {@code lv_abi_version}. */
    public static final NativeFunction lv_abi_version$FUNC = new NativeFunction("lv_abi_version",
            FunctionDescriptor.of(ValueLayout.JAVA_INT),
            "int lv_abi_version(void);");

    /** The binding of {@code lv_error_string}. */
    public static final NativeFunction lv_error_string$FUNC = new NativeFunction("lv_error_string",
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            "const char *lv_error_string(int status);");

    /** The binding of {@code lv_runtime_version}. */
    public static final NativeFunction lv_runtime_version$FUNC = new NativeFunction("lv_runtime_version",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_runtime_version(int *version);");

    /** The binding of {@code lv_driver_version}. */
    public static final NativeFunction lv_driver_version$FUNC = new NativeFunction("lv_driver_version",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_driver_version(int *version);");

    /** The binding of {@code lv_device_count}. */
    public static final NativeFunction lv_device_count$FUNC = new NativeFunction("lv_device_count",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_device_count(int *count);");

    /** The binding of {@code lv_set_device}. */
    public static final NativeFunction lv_set_device$FUNC = new NativeFunction("lv_set_device",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            "int lv_set_device(int device);");

    /** The binding of {@code lv_device_attribute}. */
    public static final NativeFunction lv_device_attribute$FUNC = new NativeFunction("lv_device_attribute",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_device_attribute(int device, int attr, int *value);");

    /** The binding of {@code lv_device_name}. */
    public static final NativeFunction lv_device_name$FUNC = new NativeFunction("lv_device_name",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            "int lv_device_name(int device, char *buf, int len);");

    /** The binding of {@code lv_mem_info}. */
    public static final NativeFunction lv_mem_info$FUNC = new NativeFunction("lv_mem_info",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_mem_info(int64_t *free_bytes, int64_t *total_bytes);");

    /** The binding of {@code lv_stream_create}. */
    public static final NativeFunction lv_stream_create$FUNC = new NativeFunction("lv_stream_create",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_stream_create(void **stream);");

    /** The binding of {@code lv_stream_destroy}. */
    public static final NativeFunction lv_stream_destroy$FUNC = new NativeFunction("lv_stream_destroy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_stream_destroy(void *stream);");

    /** The binding of {@code lv_stream_synchronize}. */
    public static final NativeFunction lv_stream_synchronize$FUNC = new NativeFunction("lv_stream_synchronize",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_stream_synchronize(void *stream);");

    /** The binding of {@code lv_device_synchronize}. */
    public static final NativeFunction lv_device_synchronize$FUNC = new NativeFunction("lv_device_synchronize",
            FunctionDescriptor.of(ValueLayout.JAVA_INT),
            "int lv_device_synchronize(void);");

    /** The binding of {@code lv_event_create}. */
    public static final NativeFunction lv_event_create$FUNC = new NativeFunction("lv_event_create",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_event_create(void **event);");

    /** The binding of {@code lv_event_destroy}. */
    public static final NativeFunction lv_event_destroy$FUNC = new NativeFunction("lv_event_destroy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_event_destroy(void *event);");

    /** The binding of {@code lv_event_record}. */
    public static final NativeFunction lv_event_record$FUNC = new NativeFunction("lv_event_record",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_event_record(void *event, void *stream);");

    /** The binding of {@code lv_event_synchronize}. */
    public static final NativeFunction lv_event_synchronize$FUNC = new NativeFunction("lv_event_synchronize",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_event_synchronize(void *event);");

    /** The binding of {@code lv_event_elapsed_ms}. */
    public static final NativeFunction lv_event_elapsed_ms$FUNC = new NativeFunction("lv_event_elapsed_ms",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_event_elapsed_ms(void *start, void *end, float *ms);");

    /** The binding of {@code lv_malloc}. */
    public static final NativeFunction lv_malloc$FUNC = new NativeFunction("lv_malloc",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            "int lv_malloc(void **ptr, int64_t bytes);");

    /** The binding of {@code lv_free}. */
    public static final NativeFunction lv_free$FUNC = new NativeFunction("lv_free",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_free(void *ptr);");

    /** The binding of {@code lv_malloc_async}. */
    public static final NativeFunction lv_malloc_async$FUNC = new NativeFunction("lv_malloc_async",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_malloc_async(void **ptr, int64_t bytes, void *stream);");

    /** The binding of {@code lv_free_async}. */
    public static final NativeFunction lv_free_async$FUNC = new NativeFunction("lv_free_async",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_free_async(void *ptr, void *stream);");

    /** The binding of {@code lv_host_alloc}. */
    public static final NativeFunction lv_host_alloc$FUNC = new NativeFunction("lv_host_alloc",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            "int lv_host_alloc(void **ptr, int64_t bytes);");

    /** The binding of {@code lv_host_free}. */
    public static final NativeFunction lv_host_free$FUNC = new NativeFunction("lv_host_free",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "int lv_host_free(void *ptr);");

    /** The binding of {@code lv_memcpy_async}. */
    public static final NativeFunction lv_memcpy_async$FUNC = new NativeFunction("lv_memcpy_async",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_memcpy_async(void *dst, const void *src, int64_t bytes, void *stream);");

    /** The binding of {@code lv_memset_async}. */
    public static final NativeFunction lv_memset_async$FUNC = new NativeFunction("lv_memset_async",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_memset_async(void *dst, int value, int64_t bytes, void *stream);");

    /** The binding of {@code lv_copy}. */
    public static final NativeFunction lv_copy$FUNC = new NativeFunction("lv_copy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n, void *stream);");

    /** The binding of {@code lv_fill}. */
    public static final NativeFunction lv_fill$FUNC = new NativeFunction("lv_fill",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS),
            "int lv_fill(void *t, int dtype, int64_t n, float value, void *stream);");

    /** The binding of {@code lv_add}. */
    public static final NativeFunction lv_add$FUNC = new NativeFunction("lv_add",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_add(const float *a, const float *b, float *out, int64_t n, void *stream);");

    /** The binding of {@code lv_mul}. */
    public static final NativeFunction lv_mul$FUNC = new NativeFunction("lv_mul",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_mul(const float *a, const float *b, float *out, int64_t n, void *stream);");

    /** The binding of {@code lv_mul_backward}. */
    public static final NativeFunction lv_mul_backward$FUNC = new NativeFunction("lv_mul_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n, void *stream);");

    /** The binding of {@code lv_scale}. */
    public static final NativeFunction lv_scale$FUNC = new NativeFunction("lv_scale",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_scale(const float *a, float s, float *out, int64_t n, void *stream);");

    /** The binding of {@code lv_axpy}. */
    public static final NativeFunction lv_axpy$FUNC = new NativeFunction("lv_axpy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_axpy(float alpha, const float *x, float *y, int64_t n, void *stream);");

    /** The binding of {@code lv_row_sum}. */
    public static final NativeFunction lv_row_sum$FUNC = new NativeFunction("lv_row_sum",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS),
            "int lv_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale, void *stream);");

    /** The binding of {@code lv_row_sum_backward}. */
    public static final NativeFunction lv_row_sum_backward$FUNC = new NativeFunction("lv_row_sum_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS),
            "int lv_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale, void *stream);");

    /** The binding of {@code lv_reduce_sum}. */
    public static final NativeFunction lv_reduce_sum$FUNC = new NativeFunction("lv_reduce_sum",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_DOUBLE, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_reduce_sum(const float *x, int64_t n, double scale, float *out, void *stream);");

    /** The binding of {@code lv_sum_squares}. */
    public static final NativeFunction lv_sum_squares$FUNC = new NativeFunction("lv_sum_squares",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS),
            "int lv_sum_squares(const float *x, int64_t n, double *acc, void *stream);");

    /** The binding of {@code lv_sqrt_to_float}. */
    public static final NativeFunction lv_sqrt_to_float$FUNC = new NativeFunction("lv_sqrt_to_float",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_sqrt_to_float(const double *acc, float *out, void *stream);");

    /** The binding of {@code lv_rmsnorm_forward}. */
    public static final NativeFunction lv_rmsnorm_forward$FUNC = new NativeFunction("lv_rmsnorm_forward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_FLOAT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows, int64_t cols, void *stream);");

    /** The binding of {@code lv_rmsnorm_backward}. */
    public static final NativeFunction lv_rmsnorm_backward$FUNC = new NativeFunction("lv_rmsnorm_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x, float *d_w, int64_t rows, int64_t cols, void *stream);");

    /** The binding of {@code lv_layernorm_forward}. */
    public static final NativeFunction lv_layernorm_forward$FUNC = new NativeFunction("lv_layernorm_forward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean, float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols, void *stream);");

    /** The binding of {@code lv_layernorm_backward}. */
    public static final NativeFunction lv_layernorm_backward$FUNC = new NativeFunction("lv_layernorm_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean, const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups, int64_t rows_per_group, int64_t cols, void *stream);");

    /** The binding of {@code lv_rope_forward}. */
    public static final NativeFunction lv_rope_forward$FUNC = new NativeFunction("lv_rope_forward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);");

    /** The binding of {@code lv_rope_backward}. */
    public static final NativeFunction lv_rope_backward$FUNC = new NativeFunction("lv_rope_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);");

    /** The binding of {@code lv_rope_tables}. */
    public static final NativeFunction lv_rope_tables$FUNC = new NativeFunction("lv_rope_tables",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim, void *stream);");

    /** The binding of {@code lv_silu}. */
    public static final NativeFunction lv_silu$FUNC = new NativeFunction("lv_silu",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_silu(const float *x, float *out, int64_t n, void *stream);");

    /** The binding of {@code lv_silu_backward}. */
    public static final NativeFunction lv_silu_backward$FUNC = new NativeFunction("lv_silu_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n, void *stream);");

    /** The binding of {@code lv_sigmoid}. */
    public static final NativeFunction lv_sigmoid$FUNC = new NativeFunction("lv_sigmoid",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_sigmoid(const float *x, float *out, int64_t n, void *stream);");

    /** The binding of {@code lv_sigmoid_backward}. */
    public static final NativeFunction lv_sigmoid_backward$FUNC = new NativeFunction("lv_sigmoid_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n, void *stream);");

    /** The binding of {@code lv_swiglu}. */
    public static final NativeFunction lv_swiglu$FUNC = new NativeFunction("lv_swiglu",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_swiglu(const float *gate, const float *up, float *out, int64_t n, void *stream);");

    /** The binding of {@code lv_swiglu_backward}. */
    public static final NativeFunction lv_swiglu_backward$FUNC = new NativeFunction("lv_swiglu_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up, int64_t n, void *stream);");

    /** The binding of {@code lv_softmax}. */
    public static final NativeFunction lv_softmax$FUNC = new NativeFunction("lv_softmax",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_softmax(const float *x, float *out, int64_t rows, int64_t cols, void *stream);");

    /** The binding of {@code lv_softmax_backward}. */
    public static final NativeFunction lv_softmax_backward$FUNC = new NativeFunction("lv_softmax_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols, void *stream);");

    /** The binding of {@code lv_embedding_forward}. */
    public static final NativeFunction lv_embedding_forward$FUNC = new NativeFunction("lv_embedding_forward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS),
            "int lv_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab, int64_t dim, int32_t *err, void *stream);");

    /** The binding of {@code lv_embedding_backward_workspace_bytes}. */
    public static final NativeFunction lv_embedding_backward_workspace_bytes$FUNC = new NativeFunction("lv_embedding_backward_workspace_bytes",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG),
            "int64_t lv_embedding_backward_workspace_bytes(int64_t count, int64_t vocab, int64_t dim);");

    /** The binding of {@code lv_embedding_backward}. */
    public static final NativeFunction lv_embedding_backward$FUNC = new NativeFunction("lv_embedding_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS),
            "int lv_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count, int64_t vocab, int64_t dim, int deterministic, void *workspace, int64_t workspace_bytes, int32_t *err, void *stream);");

    /** The binding of {@code lv_cross_entropy_workspace_bytes}. */
    public static final NativeFunction lv_cross_entropy_workspace_bytes$FUNC = new NativeFunction("lv_cross_entropy_workspace_bytes",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
            "int64_t lv_cross_entropy_workspace_bytes(int64_t rows, int64_t vocab);");

    /** The binding of {@code lv_cross_entropy}. */
    public static final NativeFunction lv_cross_entropy$FUNC = new NativeFunction("lv_cross_entropy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses, float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab, void *workspace, int64_t workspace_bytes, int32_t *err, void *stream);");

    /** The binding of {@code lv_adamw}. */
    public static final NativeFunction lv_adamw$FUNC = new NativeFunction("lv_adamw",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_FLOAT,
                    ValueLayout.JAVA_FLOAT, ValueLayout.JAVA_FLOAT, ValueLayout.JAVA_FLOAT,
                    ValueLayout.JAVA_FLOAT, ValueLayout.JAVA_DOUBLE, ValueLayout.JAVA_DOUBLE,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS),
            "int lv_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count, const float *grad_norm, float clip_norm, void *stream);");

    /** The binding of {@code lv_kv_cache_append}. */
    public static final NativeFunction lv_kv_cache_append$FUNC = new NativeFunction("lv_kv_cache_append",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype, int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start, void *stream);");

    /** The binding of {@code lv_attention_decode}. */
    public static final NativeFunction lv_attention_decode$FUNC = new NativeFunction("lv_attention_decode",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype, int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start, void *stream);");

    /** The binding of {@code lv_attention_forward}. */
    public static final NativeFunction lv_attention_forward$FUNC = new NativeFunction("lv_attention_forward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);");

    /** The binding of {@code lv_attention_backward_workspace_bytes}. */
    public static final NativeFunction lv_attention_backward_workspace_bytes$FUNC = new NativeFunction("lv_attention_backward_workspace_bytes",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG),
            "int64_t lv_attention_backward_workspace_bytes(int64_t batch, int64_t seq, int64_t heads, int64_t head_dim);");

    /** The binding of {@code lv_attention_backward}. */
    public static final NativeFunction lv_attention_backward$FUNC = new NativeFunction("lv_attention_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k, const void *v, const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace, int64_t workspace_bytes, void *stream);");

    /** The binding of {@code lv_spline_basis}. */
    public static final NativeFunction lv_spline_basis$FUNC = new NativeFunction("lv_spline_basis",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS),
            "int lv_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first, float *weights, void *stream);");

    /** The binding of {@code lv_spline_basis_backward}. */
    public static final NativeFunction lv_spline_basis_backward$FUNC = new NativeFunction("lv_spline_basis_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "int lv_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n, int64_t d, int knots, int normalize, float *d_t, void *stream);");

    /** The binding of {@code lv_separable_modes}. */
    public static final NativeFunction lv_separable_modes$FUNC = new NativeFunction("lv_separable_modes",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "int lv_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes, int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *stream);");

    /** The binding of {@code lv_separable_modes_backward_workspace_bytes}. */
    public static final NativeFunction lv_separable_modes_backward_workspace_bytes$FUNC = new NativeFunction("lv_separable_modes_backward_workspace_bytes",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG),
            "int64_t lv_separable_modes_backward_workspace_bytes(int64_t groups, int64_t n, int64_t d, int knots, int64_t rank);");

    /** The binding of {@code lv_separable_modes_backward}. */
    public static final NativeFunction lv_separable_modes_backward$FUNC = new NativeFunction("lv_separable_modes_backward",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS),
            "int lv_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights, const float *spline, const float *modes, float *d_weights, float *d_spline, int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *workspace, int64_t workspace_bytes, void *stream);");

    /** Every function of the header, in its order. */
    public static final List<NativeFunction> FUNCTIONS = List.of(
            lv_abi_version$FUNC,
            lv_error_string$FUNC,
            lv_runtime_version$FUNC,
            lv_driver_version$FUNC,
            lv_device_count$FUNC,
            lv_set_device$FUNC,
            lv_device_attribute$FUNC,
            lv_device_name$FUNC,
            lv_mem_info$FUNC,
            lv_stream_create$FUNC,
            lv_stream_destroy$FUNC,
            lv_stream_synchronize$FUNC,
            lv_device_synchronize$FUNC,
            lv_event_create$FUNC,
            lv_event_destroy$FUNC,
            lv_event_record$FUNC,
            lv_event_synchronize$FUNC,
            lv_event_elapsed_ms$FUNC,
            lv_malloc$FUNC,
            lv_free$FUNC,
            lv_malloc_async$FUNC,
            lv_free_async$FUNC,
            lv_host_alloc$FUNC,
            lv_host_free$FUNC,
            lv_memcpy_async$FUNC,
            lv_memset_async$FUNC,
            lv_copy$FUNC,
            lv_fill$FUNC,
            lv_add$FUNC,
            lv_mul$FUNC,
            lv_mul_backward$FUNC,
            lv_scale$FUNC,
            lv_axpy$FUNC,
            lv_row_sum$FUNC,
            lv_row_sum_backward$FUNC,
            lv_reduce_sum$FUNC,
            lv_sum_squares$FUNC,
            lv_sqrt_to_float$FUNC,
            lv_rmsnorm_forward$FUNC,
            lv_rmsnorm_backward$FUNC,
            lv_layernorm_forward$FUNC,
            lv_layernorm_backward$FUNC,
            lv_rope_forward$FUNC,
            lv_rope_backward$FUNC,
            lv_rope_tables$FUNC,
            lv_silu$FUNC,
            lv_silu_backward$FUNC,
            lv_sigmoid$FUNC,
            lv_sigmoid_backward$FUNC,
            lv_swiglu$FUNC,
            lv_swiglu_backward$FUNC,
            lv_softmax$FUNC,
            lv_softmax_backward$FUNC,
            lv_embedding_forward$FUNC,
            lv_embedding_backward_workspace_bytes$FUNC,
            lv_embedding_backward$FUNC,
            lv_cross_entropy_workspace_bytes$FUNC,
            lv_cross_entropy$FUNC,
            lv_adamw$FUNC,
            lv_attention_forward$FUNC,
            lv_attention_backward_workspace_bytes$FUNC,
            lv_attention_backward$FUNC,
            lv_kv_cache_append$FUNC,
            lv_attention_decode$FUNC,
            lv_spline_basis$FUNC,
            lv_spline_basis_backward$FUNC,
            lv_separable_modes$FUNC,
            lv_separable_modes_backward_workspace_bytes$FUNC,
            lv_separable_modes_backward$FUNC);

    private final LinkedLibrary library;
    private final FunctionSlots slots;

    /** Bindings over the loaded {@code libleviathan_cuda.so}. */
    public LeviathanCuda(LinkedLibrary library) {
        if (library == null) {
            throw new IllegalArgumentException("LeviathanCuda: library is null");
        }
        this.library = library;
        this.slots = new FunctionSlots(library, FUNCTIONS);
    }

    /** The loaded library these bindings call. */
    public LinkedLibrary library() {
        return library;
    }

    /**
     * Throws a {@link NativeCallException} naming {@code call}, the status and {@code lv_error_string}'s
     * description unless {@code status} is {@link #LV_OK}.
     */
    public void check(String call, int status) {
        if (status != LV_OK) {
            throw new NativeCallException(call, status, errorString(status));
        }
    }

    /** {@code lv_error_string(status)} as a Java string. */
    public String errorString(int status) {
        MemorySegment s = lv_error_string(status);
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }



    /** {@code int lv_abi_version(void);} */
    public int lv_abi_version() {
        try {
            return (int) slots.handle(0, lv_abi_version$FUNC).invokeExact();
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_abi_version$FUNC, e);
        }
    }

    /** {@code const char *lv_error_string(int status);} */
    public MemorySegment lv_error_string(int status) {
        try {
            return (MemorySegment) slots.handle(1, lv_error_string$FUNC).invokeExact(status);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_error_string$FUNC, e);
        }
    }

    /** {@code int lv_runtime_version(int *version);} */
    public int lv_runtime_version(MemorySegment version) {
        try {
            return (int) slots.handle(2, lv_runtime_version$FUNC).invokeExact(version);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_runtime_version$FUNC, e);
        }
    }

    /** {@code int lv_driver_version(int *version);} */
    public int lv_driver_version(MemorySegment version) {
        try {
            return (int) slots.handle(3, lv_driver_version$FUNC).invokeExact(version);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_driver_version$FUNC, e);
        }
    }

    /** {@code int lv_device_count(int *count);} */
    public int lv_device_count(MemorySegment count) {
        try {
            return (int) slots.handle(4, lv_device_count$FUNC).invokeExact(count);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_device_count$FUNC, e);
        }
    }

    /** {@code int lv_set_device(int device);} */
    public int lv_set_device(int device) {
        try {
            return (int) slots.handle(5, lv_set_device$FUNC).invokeExact(device);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_set_device$FUNC, e);
        }
    }

    /** {@code int lv_device_attribute(int device, int attr, int *value);} */
    public int lv_device_attribute(int device, int attr, MemorySegment value) {
        try {
            return (int) slots.handle(6, lv_device_attribute$FUNC).invokeExact(device, attr, value);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_device_attribute$FUNC, e);
        }
    }

    /** {@code int lv_device_name(int device, char *buf, int len);} */
    public int lv_device_name(int device, MemorySegment buf, int len) {
        try {
            return (int) slots.handle(7, lv_device_name$FUNC).invokeExact(device, buf, len);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_device_name$FUNC, e);
        }
    }

    /** {@code int lv_mem_info(int64_t *free_bytes, int64_t *total_bytes);} */
    public int lv_mem_info(MemorySegment freeBytes, MemorySegment totalBytes) {
        try {
            return (int) slots.handle(8, lv_mem_info$FUNC).invokeExact(freeBytes, totalBytes);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_mem_info$FUNC, e);
        }
    }

    /** {@code int lv_stream_create(void **stream);} */
    public int lv_stream_create(MemorySegment stream) {
        try {
            return (int) slots.handle(9, lv_stream_create$FUNC).invokeExact(stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_stream_create$FUNC, e);
        }
    }

    /** {@code int lv_stream_destroy(void *stream);} */
    public int lv_stream_destroy(MemorySegment stream) {
        try {
            return (int) slots.handle(10, lv_stream_destroy$FUNC).invokeExact(stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_stream_destroy$FUNC, e);
        }
    }

    /** {@code int lv_stream_synchronize(void *stream);} */
    public int lv_stream_synchronize(MemorySegment stream) {
        try {
            return (int) slots.handle(11, lv_stream_synchronize$FUNC).invokeExact(stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_stream_synchronize$FUNC, e);
        }
    }

    /** {@code int lv_device_synchronize(void);} */
    public int lv_device_synchronize() {
        try {
            return (int) slots.handle(12, lv_device_synchronize$FUNC).invokeExact();
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_device_synchronize$FUNC, e);
        }
    }

    /** {@code int lv_event_create(void **event);} */
    public int lv_event_create(MemorySegment event) {
        try {
            return (int) slots.handle(13, lv_event_create$FUNC).invokeExact(event);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_event_create$FUNC, e);
        }
    }

    /** {@code int lv_event_destroy(void *event);} */
    public int lv_event_destroy(MemorySegment event) {
        try {
            return (int) slots.handle(14, lv_event_destroy$FUNC).invokeExact(event);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_event_destroy$FUNC, e);
        }
    }

    /** {@code int lv_event_record(void *event, void *stream);} */
    public int lv_event_record(MemorySegment event, MemorySegment stream) {
        try {
            return (int) slots.handle(15, lv_event_record$FUNC).invokeExact(event, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_event_record$FUNC, e);
        }
    }

    /** {@code int lv_event_synchronize(void *event);} */
    public int lv_event_synchronize(MemorySegment event) {
        try {
            return (int) slots.handle(16, lv_event_synchronize$FUNC).invokeExact(event);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_event_synchronize$FUNC, e);
        }
    }

    /** {@code int lv_event_elapsed_ms(void *start, void *end, float *ms);} */
    public int lv_event_elapsed_ms(MemorySegment start, MemorySegment end, MemorySegment ms) {
        try {
            return (int) slots.handle(17, lv_event_elapsed_ms$FUNC).invokeExact(start, end, ms);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_event_elapsed_ms$FUNC, e);
        }
    }

    /** {@code int lv_malloc(void **ptr, int64_t bytes);} */
    public int lv_malloc(MemorySegment ptr, long bytes) {
        try {
            return (int) slots.handle(18, lv_malloc$FUNC).invokeExact(ptr, bytes);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_malloc$FUNC, e);
        }
    }

    /** {@code int lv_free(void *ptr);} */
    public int lv_free(MemorySegment ptr) {
        try {
            return (int) slots.handle(19, lv_free$FUNC).invokeExact(ptr);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_free$FUNC, e);
        }
    }

    /** {@code int lv_malloc_async(void **ptr, int64_t bytes, void *stream);} */
    public int lv_malloc_async(MemorySegment ptr, long bytes, MemorySegment stream) {
        try {
            return (int) slots.handle(20, lv_malloc_async$FUNC).invokeExact(ptr, bytes, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_malloc_async$FUNC, e);
        }
    }

    /** {@code int lv_free_async(void *ptr, void *stream);} */
    public int lv_free_async(MemorySegment ptr, MemorySegment stream) {
        try {
            return (int) slots.handle(21, lv_free_async$FUNC).invokeExact(ptr, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_free_async$FUNC, e);
        }
    }

    /** {@code int lv_host_alloc(void **ptr, int64_t bytes);} */
    public int lv_host_alloc(MemorySegment ptr, long bytes) {
        try {
            return (int) slots.handle(22, lv_host_alloc$FUNC).invokeExact(ptr, bytes);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_host_alloc$FUNC, e);
        }
    }

    /** {@code int lv_host_free(void *ptr);} */
    public int lv_host_free(MemorySegment ptr) {
        try {
            return (int) slots.handle(23, lv_host_free$FUNC).invokeExact(ptr);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_host_free$FUNC, e);
        }
    }

    /** {@code int lv_memcpy_async(void *dst, const void *src, int64_t bytes, void *stream);} */
    public int lv_memcpy_async(MemorySegment dst, MemorySegment src, long bytes, MemorySegment stream) {
        try {
            return (int) slots.handle(24, lv_memcpy_async$FUNC).invokeExact(dst, src, bytes, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_memcpy_async$FUNC, e);
        }
    }

    /** {@code int lv_memset_async(void *dst, int value, int64_t bytes, void *stream);} */
    public int lv_memset_async(MemorySegment dst, int value, long bytes, MemorySegment stream) {
        try {
            return (int) slots.handle(25, lv_memset_async$FUNC).invokeExact(dst, value, bytes, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_memset_async$FUNC, e);
        }
    }

    /** {@code int lv_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n, void *stream);} */
    public int lv_copy(MemorySegment src, int srcDtype, MemorySegment dst, int dstDtype, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(26, lv_copy$FUNC).invokeExact(src, srcDtype, dst, dstDtype, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_copy$FUNC, e);
        }
    }

    /** {@code int lv_fill(void *t, int dtype, int64_t n, float value, void *stream);} */
    public int lv_fill(MemorySegment t, int dtype, long n, float value, MemorySegment stream) {
        try {
            return (int) slots.handle(27, lv_fill$FUNC).invokeExact(t, dtype, n, value, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_fill$FUNC, e);
        }
    }

    /** {@code int lv_add(const float *a, const float *b, float *out, int64_t n, void *stream);} */
    public int lv_add(MemorySegment a, MemorySegment b, MemorySegment out, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(28, lv_add$FUNC).invokeExact(a, b, out, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_add$FUNC, e);
        }
    }

    /** {@code int lv_mul(const float *a, const float *b, float *out, int64_t n, void *stream);} */
    public int lv_mul(MemorySegment a, MemorySegment b, MemorySegment out, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(29, lv_mul$FUNC).invokeExact(a, b, out, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_mul$FUNC, e);
        }
    }

    /** {@code int lv_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n, void *stream);} */
    public int lv_mul_backward(MemorySegment dOut, MemorySegment a, MemorySegment b, MemorySegment dA, MemorySegment dB, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(30, lv_mul_backward$FUNC).invokeExact(dOut, a, b, dA, dB, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_mul_backward$FUNC, e);
        }
    }

    /** {@code int lv_scale(const float *a, float s, float *out, int64_t n, void *stream);} */
    public int lv_scale(MemorySegment a, float s, MemorySegment out, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(31, lv_scale$FUNC).invokeExact(a, s, out, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_scale$FUNC, e);
        }
    }

    /** {@code int lv_axpy(float alpha, const float *x, float *y, int64_t n, void *stream);} */
    public int lv_axpy(float alpha, MemorySegment x, MemorySegment y, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(32, lv_axpy$FUNC).invokeExact(alpha, x, y, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_axpy$FUNC, e);
        }
    }

    /** {@code int lv_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale, void *stream);} */
    public int lv_row_sum(MemorySegment x, MemorySegment out, long rows, long cols, float scale, MemorySegment stream) {
        try {
            return (int) slots.handle(33, lv_row_sum$FUNC).invokeExact(x, out, rows, cols, scale, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_row_sum$FUNC, e);
        }
    }

    /** {@code int lv_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale, void *stream);} */
    public int lv_row_sum_backward(MemorySegment dOut, MemorySegment dX, long rows, long cols, float scale, MemorySegment stream) {
        try {
            return (int) slots.handle(34, lv_row_sum_backward$FUNC).invokeExact(dOut, dX, rows, cols, scale, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_row_sum_backward$FUNC, e);
        }
    }

    /** {@code int lv_reduce_sum(const float *x, int64_t n, double scale, float *out, void *stream);} */
    public int lv_reduce_sum(MemorySegment x, long n, double scale, MemorySegment out, MemorySegment stream) {
        try {
            return (int) slots.handle(35, lv_reduce_sum$FUNC).invokeExact(x, n, scale, out, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_reduce_sum$FUNC, e);
        }
    }

    /** {@code int lv_sum_squares(const float *x, int64_t n, double *acc, void *stream);} */
    public int lv_sum_squares(MemorySegment x, long n, MemorySegment acc, MemorySegment stream) {
        try {
            return (int) slots.handle(36, lv_sum_squares$FUNC).invokeExact(x, n, acc, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_sum_squares$FUNC, e);
        }
    }

    /** {@code int lv_sqrt_to_float(const double *acc, float *out, void *stream);} */
    public int lv_sqrt_to_float(MemorySegment acc, MemorySegment out, MemorySegment stream) {
        try {
            return (int) slots.handle(37, lv_sqrt_to_float$FUNC).invokeExact(acc, out, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_sqrt_to_float$FUNC, e);
        }
    }

    /** {@code int lv_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows, int64_t cols, void *stream);} */
    public int lv_rmsnorm_forward(MemorySegment x, MemorySegment w, float eps, MemorySegment out, MemorySegment rstd, long rows, long cols, MemorySegment stream) {
        try {
            return (int) slots.handle(38, lv_rmsnorm_forward$FUNC).invokeExact(x, w, eps, out, rstd, rows, cols, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_rmsnorm_forward$FUNC, e);
        }
    }

    /** {@code int lv_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x, float *d_w, int64_t rows, int64_t cols, void *stream);} */
    public int lv_rmsnorm_backward(MemorySegment dOut, MemorySegment x, MemorySegment w, MemorySegment rstd, MemorySegment dX, MemorySegment dW, long rows, long cols, MemorySegment stream) {
        try {
            return (int) slots.handle(39, lv_rmsnorm_backward$FUNC).invokeExact(dOut, x, w, rstd, dX, dW, rows, cols, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_rmsnorm_backward$FUNC, e);
        }
    }

    /** {@code int lv_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean, float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols, void *stream);} */
    public int lv_layernorm_forward(MemorySegment x, MemorySegment w, MemorySegment b, float eps, MemorySegment out, MemorySegment mean, MemorySegment rstd, long groups, long rowsPerGroup, long cols, MemorySegment stream) {
        try {
            return (int) slots.handle(40, lv_layernorm_forward$FUNC).invokeExact(x, w, b, eps, out, mean, rstd, groups, rowsPerGroup, cols, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_layernorm_forward$FUNC, e);
        }
    }

    /** {@code int lv_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean, const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups, int64_t rows_per_group, int64_t cols, void *stream);} */
    public int lv_layernorm_backward(MemorySegment dOut, MemorySegment x, MemorySegment w, MemorySegment mean, MemorySegment rstd, MemorySegment dX, MemorySegment dW, MemorySegment dB, long groups, long rowsPerGroup, long cols, MemorySegment stream) {
        try {
            return (int) slots.handle(41, lv_layernorm_backward$FUNC).invokeExact(dOut, x, w, mean, rstd, dX, dW, dB, groups, rowsPerGroup, cols, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_layernorm_backward$FUNC, e);
        }
    }

    /** {@code int lv_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);} */
    public int lv_rope_forward(MemorySegment x, MemorySegment cos, MemorySegment sin, MemorySegment out, long batch, long seq, long heads, long headDim, MemorySegment stream) {
        try {
            return (int) slots.handle(42, lv_rope_forward$FUNC).invokeExact(x, cos, sin, out, batch, seq, heads, headDim, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_rope_forward$FUNC, e);
        }
    }

    /** {@code int lv_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);} */
    public int lv_rope_backward(MemorySegment dOut, MemorySegment cos, MemorySegment sin, MemorySegment dX, long batch, long seq, long heads, long headDim, MemorySegment stream) {
        try {
            return (int) slots.handle(43, lv_rope_backward$FUNC).invokeExact(dOut, cos, sin, dX, batch, seq, heads, headDim, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_rope_backward$FUNC, e);
        }
    }

    /** {@code int lv_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim, void *stream);} */
    public int lv_rope_tables(float theta, MemorySegment cos, MemorySegment sin, long maxT, long headDim, MemorySegment stream) {
        try {
            return (int) slots.handle(44, lv_rope_tables$FUNC).invokeExact(theta, cos, sin, maxT, headDim, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_rope_tables$FUNC, e);
        }
    }

    /** {@code int lv_silu(const float *x, float *out, int64_t n, void *stream);} */
    public int lv_silu(MemorySegment x, MemorySegment out, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(45, lv_silu$FUNC).invokeExact(x, out, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_silu$FUNC, e);
        }
    }

    /** {@code int lv_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n, void *stream);} */
    public int lv_silu_backward(MemorySegment dOut, MemorySegment x, MemorySegment dX, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(46, lv_silu_backward$FUNC).invokeExact(dOut, x, dX, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_silu_backward$FUNC, e);
        }
    }

    /** {@code int lv_sigmoid(const float *x, float *out, int64_t n, void *stream);} */
    public int lv_sigmoid(MemorySegment x, MemorySegment out, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(47, lv_sigmoid$FUNC).invokeExact(x, out, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_sigmoid$FUNC, e);
        }
    }

    /** {@code int lv_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n, void *stream);} */
    public int lv_sigmoid_backward(MemorySegment dOut, MemorySegment y, MemorySegment dX, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(48, lv_sigmoid_backward$FUNC).invokeExact(dOut, y, dX, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_sigmoid_backward$FUNC, e);
        }
    }

    /** {@code int lv_swiglu(const float *gate, const float *up, float *out, int64_t n, void *stream);} */
    public int lv_swiglu(MemorySegment gate, MemorySegment up, MemorySegment out, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(49, lv_swiglu$FUNC).invokeExact(gate, up, out, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_swiglu$FUNC, e);
        }
    }

    /** {@code int lv_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up, int64_t n, void *stream);} */
    public int lv_swiglu_backward(MemorySegment dOut, MemorySegment gate, MemorySegment up, MemorySegment dGate, MemorySegment dUp, long n, MemorySegment stream) {
        try {
            return (int) slots.handle(50, lv_swiglu_backward$FUNC).invokeExact(dOut, gate, up, dGate, dUp, n, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_swiglu_backward$FUNC, e);
        }
    }

    /** {@code int lv_softmax(const float *x, float *out, int64_t rows, int64_t cols, void *stream);} */
    public int lv_softmax(MemorySegment x, MemorySegment out, long rows, long cols, MemorySegment stream) {
        try {
            return (int) slots.handle(51, lv_softmax$FUNC).invokeExact(x, out, rows, cols, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_softmax$FUNC, e);
        }
    }

    /** {@code int lv_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols, void *stream);} */
    public int lv_softmax_backward(MemorySegment dOut, MemorySegment y, MemorySegment dX, long rows, long cols, MemorySegment stream) {
        try {
            return (int) slots.handle(52, lv_softmax_backward$FUNC).invokeExact(dOut, y, dX, rows, cols, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_softmax_backward$FUNC, e);
        }
    }

    /** {@code int lv_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab, int64_t dim, int32_t *err, void *stream);} */
    public int lv_embedding_forward(MemorySegment ids, MemorySegment table, MemorySegment out, long count, long vocab, long dim, MemorySegment err, MemorySegment stream) {
        try {
            return (int) slots.handle(53, lv_embedding_forward$FUNC).invokeExact(ids, table, out, count, vocab, dim, err, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_embedding_forward$FUNC, e);
        }
    }

    /** {@code int64_t lv_embedding_backward_workspace_bytes(int64_t count, int64_t vocab, int64_t dim);} */
    public long lv_embedding_backward_workspace_bytes(long count, long vocab, long dim) {
        try {
            return (long) slots.handle(54, lv_embedding_backward_workspace_bytes$FUNC).invokeExact(count, vocab, dim);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_embedding_backward_workspace_bytes$FUNC, e);
        }
    }

    /** {@code int lv_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count, int64_t vocab, int64_t dim, int deterministic, void *workspace, int64_t workspace_bytes, int32_t *err, void *stream);} */
    public int lv_embedding_backward(MemorySegment dOut, MemorySegment ids, MemorySegment dTable, long count, long vocab, long dim, int deterministic, MemorySegment workspace, long workspaceBytes, MemorySegment err, MemorySegment stream) {
        try {
            return (int) slots.handle(55, lv_embedding_backward$FUNC).invokeExact(dOut, ids, dTable, count, vocab, dim, deterministic, workspace, workspaceBytes, err, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_embedding_backward$FUNC, e);
        }
    }

    /** {@code int64_t lv_cross_entropy_workspace_bytes(int64_t rows, int64_t vocab);} */
    public long lv_cross_entropy_workspace_bytes(long rows, long vocab) {
        try {
            return (long) slots.handle(56, lv_cross_entropy_workspace_bytes$FUNC).invokeExact(rows, vocab);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_cross_entropy_workspace_bytes$FUNC, e);
        }
    }

    /** {@code int lv_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses, float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab, void *workspace, int64_t workspace_bytes, int32_t *err, void *stream);} */
    public int lv_cross_entropy(MemorySegment logits, MemorySegment targets, int ignoreIndex, MemorySegment losses, MemorySegment dLogits, float gradScale, MemorySegment lossSum, long rows, long vocab, MemorySegment workspace, long workspaceBytes, MemorySegment err, MemorySegment stream) {
        try {
            return (int) slots.handle(57, lv_cross_entropy$FUNC).invokeExact(logits, targets, ignoreIndex, losses, dLogits, gradScale, lossSum, rows, vocab, workspace, workspaceBytes, err, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_cross_entropy$FUNC, e);
        }
    }

    /** {@code int lv_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count, const float *grad_norm, float clip_norm, void *stream);} */
    public int lv_adamw(MemorySegment param, MemorySegment grad, MemorySegment m, MemorySegment v, long n, float lr, float beta1, float beta2, float eps, float weightDecay, double bias1, double bias2, long decayedCount, MemorySegment gradNorm, float clipNorm, MemorySegment stream) {
        try {
            return (int) slots.handle(58, lv_adamw$FUNC).invokeExact(param, grad, m, v, n, lr, beta1, beta2, eps, weightDecay, bias1, bias2, decayedCount, gradNorm, clipNorm, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_adamw$FUNC, e);
        }
    }

    /** {@code int lv_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);} */
    public int lv_attention_forward(MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, int dtype, long batch, long seq, long heads, long headDim, MemorySegment stream) {
        try {
            return (int) slots.handle(59, lv_attention_forward$FUNC).invokeExact(q, k, v, out, lse, dtype, batch, seq, heads, headDim, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_attention_forward$FUNC, e);
        }
    }

    /** {@code int64_t lv_attention_backward_workspace_bytes(int64_t batch, int64_t seq, int64_t heads, int64_t head_dim);} */
    public long lv_attention_backward_workspace_bytes(long batch, long seq, long heads, long headDim) {
        try {
            return (long) slots.handle(60, lv_attention_backward_workspace_bytes$FUNC).invokeExact(batch, seq, heads, headDim);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_attention_backward_workspace_bytes$FUNC, e);
        }
    }

    /** {@code int lv_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k, const void *v, const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace, int64_t workspace_bytes, void *stream);} */
    public int lv_attention_backward(MemorySegment dOut, int dOutDtype, MemorySegment q, MemorySegment k, MemorySegment v, MemorySegment out, MemorySegment lse, MemorySegment dQ, MemorySegment dK, MemorySegment dV, int dtype, long batch, long seq, long heads, long headDim, MemorySegment workspace, long workspaceBytes, MemorySegment stream) {
        try {
            return (int) slots.handle(61, lv_attention_backward$FUNC).invokeExact(dOut, dOutDtype, q, k, v, out, lse, dQ, dK, dV, dtype, batch, seq, heads, headDim, workspace, workspaceBytes, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_attention_backward$FUNC, e);
        }
    }

    /** {@code int lv_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first, float *weights, void *stream);} */
    public int lv_spline_basis(MemorySegment t, long n, long d, int knots, int normalize, MemorySegment first, MemorySegment weights, MemorySegment stream) {
        try {
            return (int) slots.handle(64, lv_spline_basis$FUNC).invokeExact(t, n, d, knots, normalize, first, weights, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_spline_basis$FUNC, e);
        }
    }

    /** {@code int lv_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n, int64_t d, int knots, int normalize, float *d_t, void *stream);} */
    public int lv_spline_basis_backward(MemorySegment dWeights, MemorySegment t, MemorySegment first, long n, long d, int knots, int normalize, MemorySegment dT, MemorySegment stream) {
        try {
            return (int) slots.handle(65, lv_spline_basis_backward$FUNC).invokeExact(dWeights, t, first, n, d, knots, normalize, dT, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_spline_basis_backward$FUNC, e);
        }
    }

    /** {@code int lv_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes, int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *stream);} */
    public int lv_separable_modes(MemorySegment first, MemorySegment weights, MemorySegment spline, MemorySegment modes, long groups, long n, long d, int knots, long rank, MemorySegment stream) {
        try {
            return (int) slots.handle(66, lv_separable_modes$FUNC).invokeExact(first, weights, spline, modes, groups, n, d, knots, rank, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_separable_modes$FUNC, e);
        }
    }

    /** {@code int64_t lv_separable_modes_backward_workspace_bytes(int64_t groups, int64_t n, int64_t d, int knots, int64_t rank);} */
    public long lv_separable_modes_backward_workspace_bytes(long groups, long n, long d, int knots, long rank) {
        try {
            return (long) slots.handle(67, lv_separable_modes_backward_workspace_bytes$FUNC).invokeExact(groups, n, d, knots, rank);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_separable_modes_backward_workspace_bytes$FUNC, e);
        }
    }

    /** {@code int lv_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights, const float *spline, const float *modes, float *d_weights, float *d_spline, int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *workspace, int64_t workspace_bytes, void *stream);} */
    public int lv_separable_modes_backward(MemorySegment dModes, MemorySegment first, MemorySegment weights, MemorySegment spline, MemorySegment modes, MemorySegment dWeights, MemorySegment dSpline, long groups, long n, long d, int knots, long rank, MemorySegment workspace, long workspaceBytes, MemorySegment stream) {
        try {
            return (int) slots.handle(68, lv_separable_modes_backward$FUNC).invokeExact(dModes, first, weights, spline, modes, dWeights, dSpline, groups, n, d, knots, rank, workspace, workspaceBytes, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_separable_modes_backward$FUNC, e);
        }
    }

    /** {@code int lv_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype, int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start, void *stream);} */
    public int lv_kv_cache_append(MemorySegment k, MemorySegment v, MemorySegment kCache, MemorySegment vCache, int dtype, long batch, long n, long heads, long headDim, long capacity, long start, MemorySegment stream) {
        try {
            return (int) slots.handle(62, lv_kv_cache_append$FUNC).invokeExact(k, v, kCache, vCache, dtype, batch, n, heads, headDim, capacity, start, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_kv_cache_append$FUNC, e);
        }
    }

    /** {@code int lv_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype, int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start, void *stream);} */
    public int lv_attention_decode(MemorySegment q, MemorySegment kCache, MemorySegment vCache, MemorySegment out, int dtype, long batch, long n, long heads, long headDim, long capacity, long start, MemorySegment stream) {
        try {
            return (int) slots.handle(63, lv_attention_decode$FUNC).invokeExact(q, kCache, vCache, out, dtype, batch, n, heads, headDim, capacity, start, stream);
        } catch (Throwable e) {
            throw FunctionSlots.rethrow(lv_attention_decode$FUNC, e);
        }
    }
}
