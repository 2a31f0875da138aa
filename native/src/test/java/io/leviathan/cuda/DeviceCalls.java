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
 * A few device operations of leviathan_cuda.h, for the checks that run without a GPU: argument validation
 * happens before any CUDA call, and with no driver a launch reports the runtime's status.
 */
final class DeviceCalls {
    private DeviceCalls() {}

    static final NativeFunction ADD = new NativeFunction("lv_add",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS),
            "int lv_add(const float *a, const float *b, float *out, int64_t n, void *stream)");
    static final NativeFunction COPY = new NativeFunction("lv_copy",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS),
            "int lv_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n, void *stream)");
    static final NativeFunction FILL = new NativeFunction("lv_fill",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_FLOAT, ADDRESS),
            "int lv_fill(void *t, int dtype, int64_t n, float value, void *stream)");
    static final NativeFunction ADAMW = new NativeFunction("lv_adamw",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_FLOAT, JAVA_FLOAT,
                    JAVA_FLOAT, JAVA_FLOAT, JAVA_FLOAT, JAVA_DOUBLE, JAVA_DOUBLE, JAVA_LONG, ADDRESS, JAVA_FLOAT,
                    ADDRESS),
            "int lv_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1, "
                    + "float beta2, float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count, "
                    + "const float *grad_norm, float clip_norm, void *stream)");
    static final NativeFunction CROSS_ENTROPY = new NativeFunction("lv_cross_entropy",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_FLOAT, ADDRESS,
                    JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS),
            "int lv_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses, "
                    + "float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab, "
                    + "void *workspace, int64_t workspace_bytes, int32_t *err, void *stream)");
    static final NativeFunction ROPE_FORWARD = new NativeFunction("lv_rope_forward",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG,
                    JAVA_LONG, ADDRESS),
            "int lv_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch, "
                    + "int64_t seq, int64_t heads, int64_t head_dim, void *stream)");

    static final List<NativeFunction> FUNCTIONS = List.of(ADD, COPY, FILL, ADAMW, CROSS_ENTROPY, ROPE_FORWARD);

    static int call(NativeFunction f, Object... args) {
        return HostKernels.call(f, args);
    }
}
