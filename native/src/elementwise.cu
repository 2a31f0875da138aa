// elementwise.cu: copy and dtype conversion, fill, add, mul (+ backward), scale, axpy. Every op treats its
// tensors as flat arrays of n elements; one thread per element in a grid-stride loop.
#include "common.cuh"
#include "elementwise.cuh"

namespace {

using lv::kThreads;

// ---------------------------------------------------------------- copy and conversion

__global__ void f32_to_bf16_kernel(const float *src, uint16_t *dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = lv::f32_to_bf16(src[i]);
}

__global__ void bf16_to_f32_kernel(const uint16_t *src, float *dst, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        dst[i] = lv::bf16_to_f32(src[i]);
}

bool is_dtype(int d) { return d == LV_F32 || d == LV_BF16 || d == LV_I32; }
int64_t dtype_bytes(int d) { return d == LV_BF16 ? 2 : 4; }

// Shared by lv_copy and lv_host_copy: LV_OK when the pair converts, else the status to return.
int check_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n) {
    if (!is_dtype(src_dtype) || !is_dtype(dst_dtype)) return LV_ERR_UNSUPPORTED_DTYPE;
    if (src_dtype != dst_dtype && (src_dtype == LV_I32 || dst_dtype == LV_I32)) return LV_ERR_UNSUPPORTED_DTYPE;
    LV_REQUIRE(n >= 0);
    LV_REQUIRE(n == 0 || (src != nullptr && dst != nullptr));
    return LV_OK;
}

// ---------------------------------------------------------------- fill

__global__ void fill_f32_kernel(float *t, int64_t n, float value) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        t[i] = value;
}

__global__ void fill_bf16_kernel(uint16_t *t, int64_t n, uint16_t bits) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        t[i] = bits;
}

int check_fill(void *t, int dtype, int64_t n) {
    if (dtype != LV_F32 && dtype != LV_BF16) return LV_ERR_UNSUPPORTED_DTYPE;
    LV_REQUIRE(n >= 0);
    LV_REQUIRE(n == 0 || t != nullptr);
    return LV_OK;
}

// ---------------------------------------------------------------- add, mul, scale, axpy

__global__ void add_kernel(const float *a, const float *b, float *out, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = lv::add_op(a[i], b[i]);
}

__global__ void mul_kernel(const float *a, const float *b, float *out, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = lv::mul_op(a[i], b[i]);
}

// dA += dOut * b and dB += dOut * a; a null gradient is skipped.
__global__ void mul_backward_kernel(const float *d_out, const float *a, const float *b, float *d_a, float *d_b,
                                    int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        float g = d_out[i];
        if (d_a != nullptr) d_a[i] = lv::fma_acc(g, b[i], d_a[i]);
        if (d_b != nullptr) d_b[i] = lv::fma_acc(g, a[i], d_b[i]);
    }
}

__global__ void scale_kernel(const float *a, float s, float *out, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        out[i] = lv::scale_op(s, a[i]);
}

__global__ void axpy_kernel(float alpha, const float *x, float *y, int64_t n) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        y[i] = lv::axpy_op(alpha, x[i], y[i]);
}

} // namespace

extern "C" {

int lv_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n, void *stream) {
    int status = check_copy(src, src_dtype, dst, dst_dtype, n);
    if (status != LV_OK || n == 0) return status;
    cudaStream_t s = lv::as_stream(stream);
    if (src_dtype == dst_dtype) {
        if (src == dst) return LV_OK;
        return static_cast<int>(
            cudaMemcpyAsync(dst, src, static_cast<size_t>(n * dtype_bytes(src_dtype)), cudaMemcpyDefault, s));
    }
    if (src_dtype == LV_F32) {
        f32_to_bf16_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, s>>>(
            static_cast<const float *>(src), static_cast<uint16_t *>(dst), n);
    } else {
        bf16_to_f32_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, s>>>(
            static_cast<const uint16_t *>(src), static_cast<float *>(dst), n);
    }
    return lv::launch_status();
}

int lv_host_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n) {
    int status = check_copy(src, src_dtype, dst, dst_dtype, n);
    if (status != LV_OK || n == 0) return status;
    if (src_dtype == dst_dtype) {
        if (src != dst) memmove(dst, src, static_cast<size_t>(n * dtype_bytes(src_dtype)));
    } else if (src_dtype == LV_F32) {
        for (int64_t i = 0; i < n; i++)
            static_cast<uint16_t *>(dst)[i] = lv::f32_to_bf16(static_cast<const float *>(src)[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            static_cast<float *>(dst)[i] = lv::bf16_to_f32(static_cast<const uint16_t *>(src)[i]);
    }
    return LV_OK;
}

int lv_fill(void *t, int dtype, int64_t n, float value, void *stream) {
    int status = check_fill(t, dtype, n);
    if (status != LV_OK || n == 0) return status;
    cudaStream_t s = lv::as_stream(stream);
    if (dtype == LV_F32) {
        fill_f32_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, s>>>(static_cast<float *>(t), n, value);
    } else {
        fill_bf16_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, s>>>(static_cast<uint16_t *>(t), n,
                                                                          lv::f32_to_bf16(value));
    }
    return lv::launch_status();
}

int lv_host_fill(void *t, int dtype, int64_t n, float value) {
    int status = check_fill(t, dtype, n);
    if (status != LV_OK || n == 0) return status;
    if (dtype == LV_F32) {
        for (int64_t i = 0; i < n; i++) static_cast<float *>(t)[i] = value;
    } else {
        uint16_t bits = lv::f32_to_bf16(value);
        for (int64_t i = 0; i < n; i++) static_cast<uint16_t *>(t)[i] = bits;
    }
    return LV_OK;
}

int lv_add(const float *a, const float *b, float *out, int64_t n, void *stream) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(a != nullptr && b != nullptr && out != nullptr);
    add_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(a, b, out, n);
    return lv::launch_status();
}

int lv_host_add(const float *a, const float *b, float *out, int64_t n) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(a != nullptr && b != nullptr && out != nullptr);
    for (int64_t i = 0; i < n; i++) out[i] = lv::add_op(a[i], b[i]);
    return LV_OK;
}

int lv_mul(const float *a, const float *b, float *out, int64_t n, void *stream) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(a != nullptr && b != nullptr && out != nullptr);
    mul_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(a, b, out, n);
    return lv::launch_status();
}

int lv_host_mul(const float *a, const float *b, float *out, int64_t n) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(a != nullptr && b != nullptr && out != nullptr);
    for (int64_t i = 0; i < n; i++) out[i] = lv::mul_op(a[i], b[i]);
    return LV_OK;
}

int lv_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n,
                    void *stream) {
    LV_REQUIRE(n >= 0);
    if (n == 0 || (d_a == nullptr && d_b == nullptr)) return LV_OK;
    LV_REQUIRE(d_out != nullptr && (d_a == nullptr || b != nullptr) && (d_b == nullptr || a != nullptr));
    mul_backward_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(d_out, a, b, d_a, d_b, n);
    return lv::launch_status();
}

int lv_host_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n) {
    LV_REQUIRE(n >= 0);
    if (n == 0 || (d_a == nullptr && d_b == nullptr)) return LV_OK;
    LV_REQUIRE(d_out != nullptr && (d_a == nullptr || b != nullptr) && (d_b == nullptr || a != nullptr));
    for (int64_t i = 0; i < n; i++) {
        if (d_a != nullptr) d_a[i] = lv::fma_acc(d_out[i], b[i], d_a[i]);
        if (d_b != nullptr) d_b[i] = lv::fma_acc(d_out[i], a[i], d_b[i]);
    }
    return LV_OK;
}

int lv_scale(const float *a, float s, float *out, int64_t n, void *stream) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(a != nullptr && out != nullptr);
    scale_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(a, s, out, n);
    return lv::launch_status();
}

int lv_host_scale(const float *a, float s, float *out, int64_t n) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(a != nullptr && out != nullptr);
    for (int64_t i = 0; i < n; i++) out[i] = lv::scale_op(s, a[i]);
    return LV_OK;
}

int lv_axpy(float alpha, const float *x, float *y, int64_t n, void *stream) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(x != nullptr && y != nullptr);
    axpy_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(alpha, x, y, n);
    return lv::launch_status();
}

int lv_host_axpy(float alpha, const float *x, float *y, int64_t n) {
    LV_REQUIRE(n >= 0);
    if (n == 0) return LV_OK;
    LV_REQUIRE(x != nullptr && y != nullptr);
    for (int64_t i = 0; i < n; i++) y[i] = lv::axpy_op(alpha, x[i], y[i]);
    return LV_OK;
}

} // extern "C"
