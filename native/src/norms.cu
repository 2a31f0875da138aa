// norms.cu: RMSNorm and LayerNorm over the last dimension, forward and backward, side by side.
//
// Forward and dX: one block of kRowThreads threads per row; the row's sums are taken in double by the
// fixed block tree (common.cuh). Parameter gradients (dW, dB): a block owns 32 columns of one group and its
// 32 x 32 threads split that group's rows into 32 interleaved subsets; each thread sums its subset in row
// order and the 32 partial sums are added in a fixed order, so the result is the same bits every run and
// no two blocks write the same element (no atomics).
#include "common.cuh"
#include "norms.cuh"

namespace {

using lv::kRowThreads;

constexpr int kColTile = 32;  // columns per parameter-gradient block
constexpr int kRowLanes = 32; // row subsets per parameter-gradient block

// ================================================================ RMSNorm

__global__ void rmsnorm_forward_kernel(const float *x, const float *w, float eps, float *out, float *rstd,
                                       int64_t rows, int64_t cols) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = x + r * cols;
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) acc = lv::rms_step(acc, xr[c]);
        float rs = lv::rms_rstd(lv::block_sum(acc), cols, eps);
        if (threadIdx.x == 0) rstd[r] = rs;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) out[r * cols + c] = lv::rms_apply(xr[c], rs, w[c]);
    }
}

__global__ void rmsnorm_backward_dx_kernel(const float *d_out, const float *x, const float *w, const float *rstd,
                                           float *d_x, int64_t rows, int64_t cols) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *g = d_out + r * cols;
        const float *xr = x + r * cols;
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) acc = lv::rms_dot_step(acc, g[c], w[c], xr[c]);
        float rs = rstd[r];
        float k = lv::rms_k(rs, lv::block_sum(acc), cols);
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads)
            d_x[r * cols + c] = lv::rms_dx(d_x[r * cols + c], g[c], w[c], xr[c], rs, k);
    }
}

// dW (and dB when non-null) for `groups` parameter rows of `cols`, each fed by rows_per_group input rows.
// mean == nullptr means RMSNorm (xhat = x * rstd). Grid: (column tiles, groups); block: (kColTile, kRowLanes).
__global__ void param_grad_kernel(const float *d_out, const float *x, const float *mean, const float *rstd,
                                  float *d_w, float *d_b, int64_t rows_per_group, int64_t cols) {
    __shared__ float part_w[kRowLanes][kColTile];
    __shared__ float part_b[kRowLanes][kColTile];
    int64_t group = blockIdx.y;
    int64_t c = blockIdx.x * (int64_t)kColTile + threadIdx.x;
    float acc_w = 0.0f, acc_b = 0.0f;
    if (c < cols) {
        for (int64_t i = threadIdx.y; i < rows_per_group; i += kRowLanes) {
            int64_t r = group * rows_per_group + i;
            float g = d_out[r * cols + c];
            float m = mean == nullptr ? 0.0f : mean[r];
            acc_w = lv::weight_grad_step(acc_w, g, x[r * cols + c], m, rstd[r]);
            acc_b += g;
        }
    }
    part_w[threadIdx.y][threadIdx.x] = acc_w;
    part_b[threadIdx.y][threadIdx.x] = acc_b;
    __syncthreads();
    if (threadIdx.y == 0 && c < cols) {
        float tw = 0.0f, tb = 0.0f;
        for (int lane = 0; lane < kRowLanes; lane++) {
            tw += part_w[lane][threadIdx.x];
            tb += part_b[lane][threadIdx.x];
        }
        d_w[group * cols + c] += tw;
        if (d_b != nullptr) d_b[group * cols + c] += tb;
    }
}

int launch_param_grad(const float *d_out, const float *x, const float *mean, const float *rstd, float *d_w,
                      float *d_b, int64_t groups, int64_t rows_per_group, int64_t cols, cudaStream_t s) {
    dim3 grid(static_cast<unsigned int>((cols + kColTile - 1) / kColTile), static_cast<unsigned int>(groups));
    dim3 block(kColTile, kRowLanes);
    param_grad_kernel<<<grid, block, 0, s>>>(d_out, x, mean, rstd, d_w, d_b, rows_per_group, cols);
    return lv::launch_status();
}

// The host twin of param_grad_kernel's arithmetic: every row of a group in order, per column.
void host_param_grad(const float *d_out, const float *x, const float *mean, const float *rstd, float *d_w,
                     float *d_b, int64_t groups, int64_t rows_per_group, int64_t cols) {
    for (int64_t g = 0; g < groups; g++) {
        for (int64_t c = 0; c < cols; c++) {
            float acc_w = 0.0f, acc_b = 0.0f;
            for (int64_t i = 0; i < rows_per_group; i++) {
                int64_t r = g * rows_per_group + i;
                float go = d_out[r * cols + c];
                acc_w = lv::weight_grad_step(acc_w, go, x[r * cols + c], mean == nullptr ? 0.0f : mean[r], rstd[r]);
                acc_b += go;
            }
            d_w[g * cols + c] += acc_w;
            if (d_b != nullptr) d_b[g * cols + c] += acc_b;
        }
    }
}

int check_rms(const void *a, const void *b, const void *c, const void *d, int64_t rows, int64_t cols) {
    LV_REQUIRE(rows >= 0 && cols >= 0);
    LV_REQUIRE(rows == 0 || cols > 0);
    LV_REQUIRE(rows == 0 || (a != nullptr && b != nullptr && c != nullptr && d != nullptr));
    return LV_OK;
}

// ================================================================ LayerNorm

__global__ void layernorm_forward_kernel(const float *x, const float *w, const float *b, float eps, float *out,
                                         float *mean, float *rstd, int64_t rows, int64_t rows_per_group,
                                         int64_t cols) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *xr = x + r * cols;
        const float *wr = w + (r / rows_per_group) * cols;
        const float *br = b + (r / rows_per_group) * cols;
        double acc = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) acc = lv::sum_step_f(acc, xr[c]);
        float m = lv::ln_mean(lv::block_sum(acc), cols);
        double var = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) var = lv::ln_var_step(var, xr[c], m);
        float rs = lv::ln_rstd(lv::block_sum(var), cols, eps);
        if (threadIdx.x == 0) {
            mean[r] = m;
            rstd[r] = rs;
        }
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads)
            out[r * cols + c] = lv::ln_apply(xr[c], m, rs, wr[c], br[c]);
    }
}

__global__ void layernorm_backward_dx_kernel(const float *d_out, const float *x, const float *w, const float *mean,
                                             const float *rstd, float *d_x, int64_t rows, int64_t rows_per_group,
                                             int64_t cols) {
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *g = d_out + r * cols;
        const float *xr = x + r * cols;
        const float *wr = w + (r / rows_per_group) * cols;
        float m = mean[r], rs = rstd[r];
        double s0 = 0.0, s1 = 0.0;
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads) {
            float dn = g[c] * wr[c];
            s0 += static_cast<double>(dn);
            s1 += static_cast<double>(dn * lv::ln_xhat(xr[c], m, rs));
        }
        float mean_dn = static_cast<float>(lv::block_sum(s0) / static_cast<double>(cols));
        float mean_dn_xhat = static_cast<float>(lv::block_sum(s1) / static_cast<double>(cols));
        for (int64_t c = threadIdx.x; c < cols; c += kRowThreads)
            d_x[r * cols + c] = lv::ln_dx(d_x[r * cols + c], g[c], wr[c], xr[c], m, rs, mean_dn, mean_dn_xhat);
    }
}

int check_ln(int64_t groups, int64_t rows_per_group, int64_t cols) {
    LV_REQUIRE(groups >= 0 && rows_per_group >= 0 && cols >= 0);
    LV_REQUIRE(groups * rows_per_group == 0 || cols > 0);
    return LV_OK;
}

} // namespace

extern "C" {

// ---------------------------------------------------------------- RMSNorm

int lv_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows,
                       int64_t cols, void *stream) {
    int status = check_rms(x, w, out, rstd, rows, cols);
    if (status != LV_OK || rows == 0) return status;
    rmsnorm_forward_kernel<<<lv::grid_rows(rows), kRowThreads, 0, lv::as_stream(stream)>>>(x, w, eps, out, rstd,
                                                                                            rows, cols);
    return lv::launch_status();
}

int lv_host_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows,
                            int64_t cols) {
    int status = check_rms(x, w, out, rstd, rows, cols);
    if (status != LV_OK || rows == 0) return status;
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        double acc = 0.0;
        for (int64_t c = 0; c < cols; c++) acc = lv::rms_step(acc, xr[c]);
        float rs = lv::rms_rstd(acc, cols, eps);
        rstd[r] = rs;
        for (int64_t c = 0; c < cols; c++) out[r * cols + c] = lv::rms_apply(xr[c], rs, w[c]);
    }
    return LV_OK;
}

int lv_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x,
                        float *d_w, int64_t rows, int64_t cols, void *stream) {
    int status = check_rms(d_out, x, w, rstd, rows, cols);
    if (status != LV_OK || rows == 0) return status;
    LV_REQUIRE(d_x != nullptr && d_w != nullptr);
    cudaStream_t s = lv::as_stream(stream);
    rmsnorm_backward_dx_kernel<<<lv::grid_rows(rows), kRowThreads, 0, s>>>(d_out, x, w, rstd, d_x, rows, cols);
    status = lv::launch_status();
    if (status != LV_OK) return status;
    return launch_param_grad(d_out, x, nullptr, rstd, d_w, nullptr, 1, rows, cols, s);
}

int lv_host_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x,
                             float *d_w, int64_t rows, int64_t cols) {
    int status = check_rms(d_out, x, w, rstd, rows, cols);
    if (status != LV_OK || rows == 0) return status;
    LV_REQUIRE(d_x != nullptr && d_w != nullptr);
    for (int64_t r = 0; r < rows; r++) {
        const float *g = d_out + r * cols;
        const float *xr = x + r * cols;
        double acc = 0.0;
        for (int64_t c = 0; c < cols; c++) acc = lv::rms_dot_step(acc, g[c], w[c], xr[c]);
        float k = lv::rms_k(rstd[r], acc, cols);
        for (int64_t c = 0; c < cols; c++) d_x[r * cols + c] = lv::rms_dx(d_x[r * cols + c], g[c], w[c], xr[c], rstd[r], k);
    }
    host_param_grad(d_out, x, nullptr, rstd, d_w, nullptr, 1, rows, cols);
    return LV_OK;
}

// ---------------------------------------------------------------- LayerNorm

int lv_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean,
                         float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols, void *stream) {
    int status = check_ln(groups, rows_per_group, cols);
    int64_t rows = groups * rows_per_group;
    if (status != LV_OK || rows == 0) return status;
    LV_REQUIRE(x != nullptr && w != nullptr && b != nullptr && out != nullptr && mean != nullptr && rstd != nullptr);
    layernorm_forward_kernel<<<lv::grid_rows(rows), kRowThreads, 0, lv::as_stream(stream)>>>(
        x, w, b, eps, out, mean, rstd, rows, rows_per_group, cols);
    return lv::launch_status();
}

int lv_host_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean,
                              float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols) {
    int status = check_ln(groups, rows_per_group, cols);
    int64_t rows = groups * rows_per_group;
    if (status != LV_OK || rows == 0) return status;
    LV_REQUIRE(x != nullptr && w != nullptr && b != nullptr && out != nullptr && mean != nullptr && rstd != nullptr);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * cols;
        const float *wr = w + (r / rows_per_group) * cols;
        const float *br = b + (r / rows_per_group) * cols;
        double acc = 0.0;
        for (int64_t c = 0; c < cols; c++) acc = lv::sum_step_f(acc, xr[c]);
        float m = lv::ln_mean(acc, cols);
        double var = 0.0;
        for (int64_t c = 0; c < cols; c++) var = lv::ln_var_step(var, xr[c], m);
        float rs = lv::ln_rstd(var, cols, eps);
        mean[r] = m;
        rstd[r] = rs;
        for (int64_t c = 0; c < cols; c++) out[r * cols + c] = lv::ln_apply(xr[c], m, rs, wr[c], br[c]);
    }
    return LV_OK;
}

int lv_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean,
                          const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups,
                          int64_t rows_per_group, int64_t cols, void *stream) {
    int status = check_ln(groups, rows_per_group, cols);
    int64_t rows = groups * rows_per_group;
    if (status != LV_OK || rows == 0) return status;
    LV_REQUIRE(d_out != nullptr && x != nullptr && w != nullptr && mean != nullptr && rstd != nullptr);
    LV_REQUIRE(d_x != nullptr && d_w != nullptr && d_b != nullptr);
    LV_REQUIRE(groups <= 65535);
    cudaStream_t s = lv::as_stream(stream);
    layernorm_backward_dx_kernel<<<lv::grid_rows(rows), kRowThreads, 0, s>>>(d_out, x, w, mean, rstd, d_x, rows,
                                                                               rows_per_group, cols);
    status = lv::launch_status();
    if (status != LV_OK) return status;
    return launch_param_grad(d_out, x, mean, rstd, d_w, d_b, groups, rows_per_group, cols, s);
}

int lv_host_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean,
                               const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups,
                               int64_t rows_per_group, int64_t cols) {
    int status = check_ln(groups, rows_per_group, cols);
    int64_t rows = groups * rows_per_group;
    if (status != LV_OK || rows == 0) return status;
    LV_REQUIRE(d_out != nullptr && x != nullptr && w != nullptr && mean != nullptr && rstd != nullptr);
    LV_REQUIRE(d_x != nullptr && d_w != nullptr && d_b != nullptr);
    LV_REQUIRE(groups <= 65535);
    for (int64_t r = 0; r < rows; r++) {
        const float *g = d_out + r * cols;
        const float *xr = x + r * cols;
        const float *wr = w + (r / rows_per_group) * cols;
        double s0 = 0.0, s1 = 0.0;
        for (int64_t c = 0; c < cols; c++) {
            float dn = g[c] * wr[c];
            s0 += static_cast<double>(dn);
            s1 += static_cast<double>(dn * lv::ln_xhat(xr[c], mean[r], rstd[r]));
        }
        float mean_dn = static_cast<float>(s0 / static_cast<double>(cols));
        float mean_dn_xhat = static_cast<float>(s1 / static_cast<double>(cols));
        for (int64_t c = 0; c < cols; c++)
            d_x[r * cols + c] = lv::ln_dx(d_x[r * cols + c], g[c], wr[c], xr[c], mean[r], rstd[r], mean_dn, mean_dn_xhat);
    }
    host_param_grad(d_out, x, mean, rstd, d_w, d_b, groups, rows_per_group, cols);
    return LV_OK;
}

} // extern "C"
