// softmax.cu: softmax over rows of cols (max-subtracted) and its backward; one block per row, the row's max
// and sums taken by the fixed block tree (common.cuh). out may be x: each thread reads an element before
// it writes it, and the max is known before any write.
#include "activations.cuh"
#include "common.cuh"

namespace {

using lv::kRowThreads;

__global__ void softmax_kernel(const float *x, float *out, int64_t rows, int64_t cols) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = x + r * cols;
        float *yr = out + r * cols;
        float m = -INFINITY;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) m = fmaxf(m, xr[c]);
        m = lv::block_max(m);
        double sum = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) {
            float e = lv::softmax_exp(xr[c], m);
            yr[c] = e;
            sum += static_cast<double>(e);
        }
        float inv = lv::softmax_inv_sum(lv::block_sum(sum));
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) yr[c] = yr[c] * inv;
    }
}

__global__ void softmax_backward_kernel(const float *d_out, const float *y, float *d_x, int64_t rows,
                                        int64_t cols) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *g = d_out + r * cols;
        const float *yr = y + r * cols;
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) acc += static_cast<double>(g[c] * yr[c]);
        float dot = static_cast<float>(lv::block_sum(acc));
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads)
            d_x[r * cols + c] = lv::softmax_backward(g[c], yr[c], dot, d_x[r * cols + c]);
    }
}

int check_rows(const void *a, const void *b, const void *c, int64_t rows, int64_t cols) {
    LV_REQUIRE(rows >= 0 && cols >= 0);
    LV_REQUIRE(rows * cols == 0 || (a != nullptr && b != nullptr && c != nullptr));
    return LV_OK;
}

} // namespace

extern "C" {

int lv_softmax(const float *x, float *out, int64_t rows, int64_t cols, void *stream) {
    int status = check_rows(x, out, out, rows, cols);
    if (status != LV_OK || rows * cols == 0) return status;
    softmax_kernel<<<lv::grid_rows(rows), kRowThreads, 0, lv::as_stream(stream)>>>(x, out, rows, cols);
    return lv::launch_status();
}

int lv_host_softmax(const float *x, float *out, int64_t rows, int64_t cols) {
    int status = check_rows(x, out, out, rows, cols);
    if (status != LV_OK || rows * cols == 0) return status;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        float *yr = out + r * cols;
        float m = -INFINITY;
        for (int64_t c = 0; c < cols; c++) m = fmaxf(m, xr[c]);
        double sum = 0.0;
        for (int64_t c = 0; c < cols; c++) {
            float e = lv::softmax_exp(xr[c], m);
            yr[c] = e;
            sum += static_cast<double>(e);
        }
        float inv = lv::softmax_inv_sum(sum);
        for (int64_t c = 0; c < cols; c++) yr[c] = yr[c] * inv;
    }
    return LV_OK;
}

int lv_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols, void *stream) {
    int status = check_rows(d_out, y, d_x, rows, cols);
    if (status != LV_OK || rows * cols == 0) return status;
    softmax_backward_kernel<<<lv::grid_rows(rows), kRowThreads, 0, lv::as_stream(stream)>>>(d_out, y, d_x, rows,
                                                                                             cols);
    return lv::launch_status();
}

int lv_host_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols) {
    int status = check_rows(d_out, y, d_x, rows, cols);
    if (status != LV_OK || rows * cols == 0) return status;
    for (int64_t r = 0; r < rows; r++) {
        const float *g = d_out + r * cols;
        const float *yr = y + r * cols;
        double acc = 0.0;
        for (int64_t c = 0; c < cols; c++) acc += static_cast<double>(g[c] * yr[c]);
        float dot = static_cast<float>(acc);
        for (int64_t c = 0; c < cols; c++) d_x[r * cols + c] = lv::softmax_backward(g[c], yr[c], dot, d_x[r * cols + c]);
    }
    return LV_OK;
}

} // extern "C"
