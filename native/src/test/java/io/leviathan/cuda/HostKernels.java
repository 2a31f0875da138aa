package io.leviathan.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.util.List;

/**
 * The host entry points of libleviathan_cuda.so (include/leviathan_cuda_host.h) and the two workspace-size
 * functions the tests need, in the bindings' shape: one {@link NativeFunction} per C function, with its
 * declaration.
 */
final class HostKernels {
    private HostKernels() {}

    static final NativeFunction COPY = new NativeFunction("lv_host_copy",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG),
            "int lv_host_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n)");
    static final NativeFunction FILL = new NativeFunction("lv_host_fill",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_FLOAT),
            "int lv_host_fill(void *t, int dtype, int64_t n, float value)");
    static final NativeFunction ADD = new NativeFunction("lv_host_add",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_add(const float *a, const float *b, float *out, int64_t n)");
    static final NativeFunction MUL = new NativeFunction("lv_host_mul",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_mul(const float *a, const float *b, float *out, int64_t n)");
    static final NativeFunction MUL_BACKWARD = new NativeFunction("lv_host_mul_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n)");
    static final NativeFunction SCALE = new NativeFunction("lv_host_scale",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_FLOAT, ADDRESS, JAVA_LONG),
            "int lv_host_scale(const float *a, float s, float *out, int64_t n)");
    static final NativeFunction AXPY = new NativeFunction("lv_host_axpy",
            FunctionDescriptor.of(JAVA_INT, JAVA_FLOAT, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_axpy(float alpha, const float *x, float *y, int64_t n)");
    static final NativeFunction ROW_SUM = new NativeFunction("lv_host_row_sum",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_FLOAT),
            "int lv_host_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale)");
    static final NativeFunction ROW_SUM_BACKWARD = new NativeFunction("lv_host_row_sum_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_FLOAT),
            "int lv_host_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale)");
    static final NativeFunction REDUCE_SUM = new NativeFunction("lv_host_reduce_sum",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_DOUBLE, ADDRESS),
            "int lv_host_reduce_sum(const float *x, int64_t n, double scale, float *out)");
    static final NativeFunction SUM_SQUARES = new NativeFunction("lv_host_sum_squares",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_host_sum_squares(const float *x, int64_t n, double *acc)");
    static final NativeFunction SQRT_TO_FLOAT = new NativeFunction("lv_host_sqrt_to_float",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS),
            "int lv_host_sqrt_to_float(const double *acc, float *out)");
    static final NativeFunction RMSNORM_FORWARD = new NativeFunction("lv_host_rmsnorm_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_FLOAT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
            "int lv_host_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows, int64_t cols)");
    static final NativeFunction RMSNORM_BACKWARD = new NativeFunction("lv_host_rmsnorm_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
            "int lv_host_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x, float *d_w, int64_t rows, int64_t cols)");
    static final NativeFunction LAYERNORM_FORWARD = new NativeFunction("lv_host_layernorm_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_FLOAT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int lv_host_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean, float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols)");
    static final NativeFunction LAYERNORM_BACKWARD = new NativeFunction("lv_host_layernorm_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int lv_host_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean, const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups, int64_t rows_per_group, int64_t cols)");
    static final NativeFunction ROPE_FORWARD = new NativeFunction("lv_host_rope_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int lv_host_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim)");
    static final NativeFunction ROPE_BACKWARD = new NativeFunction("lv_host_rope_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int lv_host_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim)");
    static final NativeFunction ROPE_TABLES = new NativeFunction("lv_host_rope_tables",
            FunctionDescriptor.of(JAVA_INT, JAVA_FLOAT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
            "int lv_host_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim)");
    static final NativeFunction SILU = new NativeFunction("lv_host_silu",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_silu(const float *x, float *out, int64_t n)");
    static final NativeFunction SILU_BACKWARD = new NativeFunction("lv_host_silu_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n)");
    static final NativeFunction SIGMOID = new NativeFunction("lv_host_sigmoid",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_sigmoid(const float *x, float *out, int64_t n)");
    static final NativeFunction SIGMOID_BACKWARD = new NativeFunction("lv_host_sigmoid_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n)");
    static final NativeFunction SWIGLU = new NativeFunction("lv_host_swiglu",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_swiglu(const float *gate, const float *up, float *out, int64_t n)");
    static final NativeFunction SWIGLU_BACKWARD = new NativeFunction("lv_host_swiglu_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG),
            "int lv_host_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up, int64_t n)");
    static final NativeFunction SOFTMAX = new NativeFunction("lv_host_softmax",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
            "int lv_host_softmax(const float *x, float *out, int64_t rows, int64_t cols)");
    static final NativeFunction SOFTMAX_BACKWARD = new NativeFunction("lv_host_softmax_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG),
            "int lv_host_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols)");
    static final NativeFunction EMBEDDING_FORWARD = new NativeFunction("lv_host_embedding_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, ADDRESS),
            "int lv_host_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab, int64_t dim, int32_t *err)");
    static final NativeFunction EMBEDDING_BACKWARD = new NativeFunction("lv_host_embedding_backward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_host_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count, int64_t vocab, int64_t dim, int deterministic, void *workspace, int64_t workspace_bytes, int32_t *err)");
    static final NativeFunction CROSS_ENTROPY = new NativeFunction("lv_host_cross_entropy",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_FLOAT, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_host_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses, float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab, void *workspace, int64_t workspace_bytes, int32_t *err)");
    static final NativeFunction ADAMW = new NativeFunction("lv_host_adamw",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_LONG, ADDRESS, JAVA_FLOAT),
            "int lv_host_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1, float beta2, float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count, const float *grad_norm, float clip_norm)");
    static final NativeFunction EMBEDDING_BACKWARD_WORKSPACE_BYTES = new NativeFunction("lv_embedding_backward_workspace_bytes",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int64_t lv_embedding_backward_workspace_bytes(int64_t count, int64_t vocab, int64_t dim)");
    static final NativeFunction CROSS_ENTROPY_WORKSPACE_BYTES = new NativeFunction("lv_cross_entropy_workspace_bytes",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG),
            "int64_t lv_cross_entropy_workspace_bytes(int64_t rows, int64_t vocab)");

    /** Every function above. */
    static final List<NativeFunction> FUNCTIONS = List.of(
            COPY,
            FILL,
            ADD,
            MUL,
            MUL_BACKWARD,
            SCALE,
            AXPY,
            ROW_SUM,
            ROW_SUM_BACKWARD,
            REDUCE_SUM,
            SUM_SQUARES,
            SQRT_TO_FLOAT,
            RMSNORM_FORWARD,
            RMSNORM_BACKWARD,
            LAYERNORM_FORWARD,
            LAYERNORM_BACKWARD,
            ROPE_FORWARD,
            ROPE_BACKWARD,
            ROPE_TABLES,
            SILU,
            SILU_BACKWARD,
            SIGMOID,
            SIGMOID_BACKWARD,
            SWIGLU,
            SWIGLU_BACKWARD,
            SOFTMAX,
            SOFTMAX_BACKWARD,
            EMBEDDING_FORWARD,
            EMBEDDING_BACKWARD,
            CROSS_ENTROPY,
            ADAMW,
            EMBEDDING_BACKWARD_WORKSPACE_BYTES,
            CROSS_ENTROPY_WORKSPACE_BYTES);

    /** Calls {@code f} with {@code args} (segments, ints, longs, floats, doubles) and returns its int status. */
    static int call(NativeFunction f, Object... args) {
        try {
            return (int) CudaLibrary.get().handle(f).invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(f.symbol() + " failed", t);
        }
    }

    /** Calls a function returning int64_t. */
    static long callLong(NativeFunction f, Object... args) {
        try {
            return (long) CudaLibrary.get().handle(f).invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(f.symbol() + " failed", t);
        }
    }
}
