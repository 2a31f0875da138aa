// activations.cu: SiLU, sigmoid and SwiGLU with their backward passes, one thread per element.
#include "activations.cuh"
#include "common.cuh"

namespace {

using lv::kThreads;

#define LV_FOR_EACH(i, n)                                                                                    \
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void silu_kernel(const float *x, float *out, int64_t n) {
    LV_FOR_EACH(i, n) out[i] = lv::silu_of(x[i]);
}

__global__ void silu_backward_kernel(const float *d_out, const float *x, float *d_x, int64_t n) {
    LV_FOR_EACH(i, n) d_x[i] = lv::silu_backward(d_out[i], x[i], d_x[i]);
}

__global__ void sigmoid_kernel(const float *x, float *out, int64_t n) {
    LV_FOR_EACH(i, n) out[i] = lv::sigmoid_of(x[i]);
}

__global__ void sigmoid_backward_kernel(const float *d_out, const float *y, float *d_x, int64_t n) {
    LV_FOR_EACH(i, n) d_x[i] = lv::sigmoid_backward(d_out[i], y[i], d_x[i]);
}

__global__ void swiglu_kernel(const float *gate, const float *up, float *out, int64_t n) {
    LV_FOR_EACH(i, n) out[i] = lv::swiglu_of(gate[i], up[i]);
}

__global__ void swiglu_backward_kernel(const float *d_out, const float *gate, const float *up, float *d_gate,
                                       float *d_up, int64_t n) {
    LV_FOR_EACH(i, n) lv::swiglu_backward(d_out[i], gate[i], up[i], &d_gate[i], &d_up[i]);
}

// Stands in for the pointers an op does not take, so check_n can check every op's pointers alike.
const int kUnused = 0;

// Shared check: n >= 0 and, when there is work, every pointer given.
int check_n(int64_t n, const void *a, const void *b, const void *c = &kUnused, const void *d = &kUnused,
            const void *e = &kUnused) {
    LV_REQUIRE(n >= 0);
    LV_REQUIRE(n == 0 || (a != nullptr && b != nullptr && c != nullptr && d != nullptr && e != nullptr));
    return LV_OK;
}

} // namespace

extern "C" {

int lv_silu(const float *x, float *out, int64_t n, void *stream) {
    int status = check_n(n, x, out);
    if (status != LV_OK || n == 0) return status;
    silu_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(x, out, n);
    return lv::launch_status();
}

int lv_host_silu(const float *x, float *out, int64_t n) {
    int status = check_n(n, x, out);
    if (status != LV_OK) return status;
    for (int64_t i = 0; i < n; i++) out[i] = lv::silu_of(x[i]);
    return LV_OK;
}

int lv_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n, void *stream) {
    int status = check_n(n, d_out, x, d_x);
    if (status != LV_OK || n == 0) return status;
    silu_backward_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(d_out, x, d_x, n);
    return lv::launch_status();
}

int lv_host_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n) {
    int status = check_n(n, d_out, x, d_x);
    if (status != LV_OK) return status;
    for (int64_t i = 0; i < n; i++) d_x[i] = lv::silu_backward(d_out[i], x[i], d_x[i]);
    return LV_OK;
}

int lv_sigmoid(const float *x, float *out, int64_t n, void *stream) {
    int status = check_n(n, x, out);
    if (status != LV_OK || n == 0) return status;
    sigmoid_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(x, out, n);
    return lv::launch_status();
}

int lv_host_sigmoid(const float *x, float *out, int64_t n) {
    int status = check_n(n, x, out);
    if (status != LV_OK) return status;
    for (int64_t i = 0; i < n; i++) out[i] = lv::sigmoid_of(x[i]);
    return LV_OK;
}

int lv_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n, void *stream) {
    int status = check_n(n, d_out, y, d_x);
    if (status != LV_OK || n == 0) return status;
    sigmoid_backward_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(d_out, y, d_x, n);
    return lv::launch_status();
}

int lv_host_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n) {
    int status = check_n(n, d_out, y, d_x);
    if (status != LV_OK) return status;
    for (int64_t i = 0; i < n; i++) d_x[i] = lv::sigmoid_backward(d_out[i], y[i], d_x[i]);
    return LV_OK;
}

int lv_swiglu(const float *gate, const float *up, float *out, int64_t n, void *stream) {
    int status = check_n(n, gate, up, out);
    if (status != LV_OK || n == 0) return status;
    swiglu_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(gate, up, out, n);
    return lv::launch_status();
}

int lv_host_swiglu(const float *gate, const float *up, float *out, int64_t n) {
    int status = check_n(n, gate, up, out);
    if (status != LV_OK) return status;
    for (int64_t i = 0; i < n; i++) out[i] = lv::swiglu_of(gate[i], up[i]);
    return LV_OK;
}

int lv_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up,
                       int64_t n, void *stream) {
    int status = check_n(n, d_out, gate, up, d_gate, d_up);
    if (status != LV_OK || n == 0) return status;
    swiglu_backward_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(d_out, gate, up,
                                                                                             d_gate, d_up, n);
    return lv::launch_status();
}

int lv_host_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up,
                            int64_t n) {
    int status = check_n(n, d_out, gate, up, d_gate, d_up);
    if (status != LV_OK) return status;
    for (int64_t i = 0; i < n; i++) lv::swiglu_backward(d_out[i], gate[i], up[i], &d_gate[i], &d_up[i]);
    return LV_OK;
}

} // extern "C"
