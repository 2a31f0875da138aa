// reductions.cu: row sums (sumLastDim, meanLastDim) and their backward, the sum of a whole tensor, the sum of
// squares for the global gradient norm, and its square root. Every sum is taken in double in a fixed order
// (per-thread strided partial sums, then a fixed tree), never with float atomics, so the results are the
// same bits run after run.
#include "common.cuh"
#include "reductions.cuh"

namespace {

using lv::kRowThreads;
using lv::kThreads;

// Whole-tensor reductions: a first pass of `blocks` blocks, each summing one contiguous chunk (fixed tree
// within the block), into a device array of partial sums; a second pass of one block adds the partials in
// a fixed tree. The number of blocks and the chunks depend on n alone, so the order of the sum (and its
// bits) is the same on every GPU and every run. The partials live in this library's device memory, which
// is why two whole-tensor reductions must not run at the same time on different streams.
constexpr int kMaxParts = 512;
constexpr int64_t kMinChunk = 4096; // elements per block below which fewer blocks are used
__device__ double g_partials[kMaxParts];

int parts_for(int64_t n) {
    int64_t parts = (n + kMinChunk - 1) / kMinChunk;
    return static_cast<int>(parts < 1 ? 1 : (parts > kMaxParts ? kMaxParts : parts));
}

// squares == false: sum of x; true: sum of x^2.
template <bool squares>
__global__ void partial_sums_kernel(const float *x, int64_t n) {
    int64_t chunk = (n + gridDim.x - 1) / gridDim.x;
    int64_t begin = blockIdx.x * chunk, end = begin + chunk < n ? begin + chunk : n;
    double acc = 0.0;
    for (int64_t i = begin + threadIdx.x; i < end; i += kRowThreads)
        acc = squares ? lv::square_step(acc, x[i]) : lv::sum_step(acc, x[i]);
    double total = lv::block_sum(acc);
    if (threadIdx.x == 0) g_partials[blockIdx.x] = total;
}

__device__ double sum_partials(int parts) {
    __shared__ double buf[kMaxParts];
    buf[threadIdx.x] = threadIdx.x < parts ? g_partials[threadIdx.x] : 0.0;
    __syncthreads();
    for (int stride = kMaxParts / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) buf[threadIdx.x] += buf[threadIdx.x + stride];
        __syncthreads();
    }
    return buf[0];
}

__global__ void finish_sum_kernel(int parts, double scale, float *out) {
    double total = sum_partials(parts);
    if (threadIdx.x == 0) out[0] = lv::scaled_sum(total, scale);
}

__global__ void finish_squares_kernel(int parts, double *acc) {
    double total = sum_partials(parts);
    if (threadIdx.x == 0) acc[0] += total;
}

// out[r] = scale * sum_c x[r, c]: one block per row.
__global__ void row_sum_kernel(const float *x, float *out, int64_t rows, int64_t cols, float scale) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *row = x + r * cols;
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) acc = lv::sum_step(acc, row[c]);
        double total = lv::block_sum(acc);
        if (threadIdx.x == 0) out[r] = lv::scaled_sum(total, scale);
    }
}

// dX[r, c] += scale * dOut[r]: one thread per element.
__global__ void row_sum_backward_kernel(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale) {
    int64_t n = rows * cols;
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        d_x[i] = lv::row_sum_grad(d_x[i], d_out[i / cols], scale);
}

__global__ void sqrt_to_float_kernel(const double *acc, float *out) { out[0] = lv::sqrt_to_float(acc[0]); }

} // namespace

extern "C" {

int lv_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale, void *stream) {
    LV_REQUIRE(rows >= 0 && cols >= 0);
    if (rows == 0) return LV_OK;
    LV_REQUIRE(out != nullptr && (cols == 0 || x != nullptr));
    row_sum_kernel<<<lv::grid_rows(rows), kRowThreads, 0, lv::as_stream(stream)>>>(x, out, rows, cols, scale);
    return lv::launch_status();
}

int lv_host_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale) {
    LV_REQUIRE(rows >= 0 && cols >= 0);
    if (rows == 0) return LV_OK;
    LV_REQUIRE(out != nullptr && (cols == 0 || x != nullptr));
    for (int64_t r = 0; r < rows; r++) {
        double acc = 0.0;
        for (int64_t c = 0; c < cols; c++) acc = lv::sum_step(acc, x[r * cols + c]);
        out[r] = lv::scaled_sum(acc, scale);
    }
    return LV_OK;
}

int lv_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale, void *stream) {
    LV_REQUIRE(rows >= 0 && cols >= 0);
    if (rows == 0 || cols == 0) return LV_OK;
    LV_REQUIRE(d_out != nullptr && d_x != nullptr);
    row_sum_backward_kernel<<<lv::grid_for(rows * cols, kThreads), kThreads, 0, lv::as_stream(stream)>>>(
        d_out, d_x, rows, cols, scale);
    return lv::launch_status();
}

int lv_host_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale) {
    LV_REQUIRE(rows >= 0 && cols >= 0);
    if (rows == 0 || cols == 0) return LV_OK;
    LV_REQUIRE(d_out != nullptr && d_x != nullptr);
    for (int64_t i = 0; i < rows * cols; i++) d_x[i] = lv::row_sum_grad(d_x[i], d_out[i / cols], scale);
    return LV_OK;
}

int lv_reduce_sum(const float *x, int64_t n, double scale, float *out, void *stream) {
    LV_REQUIRE(n >= 0 && out != nullptr && (n == 0 || x != nullptr));
    cudaStream_t s = lv::as_stream(stream);
    int parts = parts_for(n);
    partial_sums_kernel<false><<<parts, kRowThreads, 0, s>>>(x, n);
    int status = lv::launch_status();
    if (status != LV_OK) return status;
    finish_sum_kernel<<<1, kMaxParts, 0, s>>>(parts, scale, out);
    return lv::launch_status();
}

int lv_host_reduce_sum(const float *x, int64_t n, double scale, float *out) {
    LV_REQUIRE(n >= 0 && out != nullptr && (n == 0 || x != nullptr));
    double acc = 0.0;
    for (int64_t i = 0; i < n; i++) acc = lv::sum_step(acc, x[i]);
    out[0] = lv::scaled_sum(acc, scale);
    return LV_OK;
}

int lv_sum_squares(const float *x, int64_t n, double *acc, void *stream) {
    LV_REQUIRE(n >= 0 && acc != nullptr && (n == 0 || x != nullptr));
    if (n == 0) return LV_OK;
    cudaStream_t s = lv::as_stream(stream);
    int parts = parts_for(n);
    partial_sums_kernel<true><<<parts, kRowThreads, 0, s>>>(x, n);
    int status = lv::launch_status();
    if (status != LV_OK) return status;
    finish_squares_kernel<<<1, kMaxParts, 0, s>>>(parts, acc);
    return lv::launch_status();
}

int lv_host_sum_squares(const float *x, int64_t n, double *acc) {
    LV_REQUIRE(n >= 0 && acc != nullptr && (n == 0 || x != nullptr));
    double total = 0.0;
    for (int64_t i = 0; i < n; i++) total = lv::square_step(total, x[i]);
    acc[0] += total;
    return LV_OK;
}

int lv_sqrt_to_float(const double *acc, float *out, void *stream) {
    LV_REQUIRE(acc != nullptr && out != nullptr);
    sqrt_to_float_kernel<<<1, 1, 0, lv::as_stream(stream)>>>(acc, out);
    return lv::launch_status();
}

int lv_host_sqrt_to_float(const double *acc, float *out) {
    LV_REQUIRE(acc != nullptr && out != nullptr);
    out[0] = lv::sqrt_to_float(acc[0]);
    return LV_OK;
}

} // extern "C"
