/*
 * generator.cu: the Leviathan generator's spline basis and separable modes, forward and backward.
 *
 * splineBasis / its backward: one thread per coordinate, in double as the Java backend (a few dozen flops
 * per coordinate; the memory traffic dominates).
 *
 * separableModes: one thread per (head g, row n, mode r), consecutive threads along r, so the spline reads
 * of a warp are contiguous and the window (first, weights) is one broadcast. The product of the signed
 * factors f_i = phi_i +- 1e-9 over the seed dims i equals sign * exp(sum_i log(|phi_i| + 1e-9)) and is
 * computed as that product, in i order.
 *
 * separableModesBackward, deterministic (no atomics; the same bits on every run):
 *   - dWeights: one warp per (g, n, i); lanes over the modes r, then the warp's butterfly sum;
 *   - dSpline: one block per (row chunk, g, i); each thread owns columns r of the [K][R] accumulator (in
 *     shared memory when it fits, else in the workspace) and adds w_m * dphi[r] for the rows of its chunk in
 *     increasing order; with several chunks (ScatterPlan: a function of the shapes only) a last kernel adds
 *     the chunks' partial sums in chunk order.
 *   dphi = dModes * modes / f_i (0 where phi_i == 0) is recomputed in both, by the same function.
 *
 * A window start outside [-1, knots - 2] (lv_spline_basis never makes one) is not read through: its row's
 * modes and its dWeights become NaN, so the error reaches the loss and the gradient norm.
 */
#include <vector>

#include "generator_math.cuh"
#include "leviathan_cuda.h"
#include "leviathan_cuda_host_attention.h"

using namespace lv_generator;

namespace {

constexpr int THREADS = 256;

int blocks_for(int64_t work, int threads) {
    int64_t blocks = (work + threads - 1) / threads;
    return (int) (blocks < 65535 * 32 ? blocks : 65535 * 32);  // grid-stride loops cover the rest
}

// ================================================================ spline basis

__global__ void spline_basis_kernel(const float *t, int64_t count, int knots, bool normalize, int32_t *first,
                                    float *weights) {
    for (int64_t e = (int64_t) blockIdx.x * blockDim.x + threadIdx.x; e < count; e += (int64_t) gridDim.x * blockDim.x) {
        float w[3];
        first[e] = spline_window(t[e], knots, normalize, w);
        weights[e * 3] = w[0];
        weights[e * 3 + 1] = w[1];
        weights[e * 3 + 2] = w[2];
    }
}

__global__ void spline_basis_backward_kernel(const float *d_weights, const float *t, const int32_t *first,
                                             int64_t count, int knots, bool normalize, float *d_t) {
    for (int64_t e = (int64_t) blockIdx.x * blockDim.x + threadIdx.x; e < count; e += (int64_t) gridDim.x * blockDim.x) {
        d_t[e] = spline_grad(d_t[e], t[e], first[e], knots, normalize, d_weights + e * 3);
    }
}

int check_basis(const void *a, const void *b, const void *c, int64_t n, int64_t d, int knots) {
    if (n < 0 || d < 0 || knots < 2) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    if (n * d > 0 && (a == nullptr || b == nullptr || c == nullptr)) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    return LV_OK;
}

// ================================================================ separable modes

/* modes[n, g, r] = prod_i f_i[r] for one (g, n, r). */
LV_HD float mode_product(const ModeDims &s, const int32_t *first, const float *weights, const float *spline,
                         int64_t g, int64_t row, int64_t r) {
    float acc = 1.f;
    for (int64_t i = 0; i < s.d; i++) {
        Window win;
        if (!win.load(s, first, weights, g, row, i)) {
            return NAN;
        }
        acc = rn_mul(acc, safe_factor(factor(spline, win, r)));
    }
    return acc;
}

__global__ void separable_modes_kernel(const int32_t *first, const float *weights, const float *spline, float *modes,
                                       ModeDims s) {
    int64_t count = s.groups * s.n * s.rank;
    for (int64_t e = (int64_t) blockIdx.x * blockDim.x + threadIdx.x; e < count; e += (int64_t) gridDim.x * blockDim.x) {
        int64_t r = e % s.rank, p = e / s.rank, row = p % s.n, g = p / s.n;
        modes[s.modes_row(row, g) + r] = mode_product(s, first, weights, spline, g, row, r);
    }
}

/* dWeights[g, n, i, m] += sum_r dphi[r] * spline[first + m, r] for the knots on the grid; one warp each. */
__global__ void separable_modes_weights_kernel(const float *d_modes, const int32_t *first, const float *weights,
                                               const float *spline, const float *modes, float *d_weights, ModeDims s) {
    int64_t elements = s.groups * s.n * s.d;
    int64_t warps = (int64_t) gridDim.x * blockDim.x / 32;
    int lane = threadIdx.x % 32;
    for (int64_t e = ((int64_t) blockIdx.x * blockDim.x + threadIdx.x) / 32; e < elements; e += warps) {
        int64_t i = e % s.d, p = e / s.d, row = p % s.n, g = p / s.n;
        Window win;
        if (!win.load(s, first, weights, g, row, i)) {
            if (lane < 3) {
                d_weights[e * 3 + lane] = NAN;
            }
            continue;
        }
        float dw[3];
        weight_grad_lane(s, win, d_modes, spline, modes, g, row, lane, dw);
        for (int m = 0; m < 3; m++) {
            for (int o = 16; o >= 1; o >>= 1) {
                dw[m] = rn_add(dw[m], __shfl_xor_sync(0xffffffffu, dw[m], o));
            }
        }
        if (lane == 0) {
            for (int m = 0; m < 3; m++) {
                if (win.on_grid(m)) {
                    d_weights[e * 3 + m] = rn_add(d_weights[e * 3 + m], dw[m]);
                }
            }
        }
    }
}

/*
 * Block (chunk c, g, i) of the dSpline scatter; see scatter_column. With one chunk the accumulator is added
 * straight into dSpline[g, i]; otherwise it is (or is copied to) the chunk's partial slice of the workspace.
 */
__global__ void separable_modes_scatter_kernel(const float *d_modes, const int32_t *first, const float *weights,
                                               const float *spline, const float *modes, float *d_spline,
                                               float *partials, ModeDims s, ScatterPlan plan) {
    extern __shared__ float smem[];
    int64_t gi = blockIdx.x % (s.groups * s.d), c = blockIdx.x / (s.groups * s.d);
    int64_t g = gi / s.d, i = gi % s.d;
    int64_t cells = s.knots * s.rank;
    float *partial = partials == nullptr ? nullptr : partials + (c * s.groups * s.d + gi) * cells;
    float *acc = plan.shared ? smem : partial;
    for (int64_t r = threadIdx.x; r < s.rank; r += blockDim.x) {
        for (int64_t k = 0; k < s.knots; k++) {
            acc[k * s.rank + r] = 0.f;
        }
        scatter_column(s, plan, d_modes, first, weights, spline, modes, c, g, i, r, acc);
        for (int64_t k = 0; k < s.knots; k++) {
            int64_t at = k * s.rank + r;
            if (plan.chunks == 1) {
                d_spline[gi * cells + at] = rn_add(d_spline[gi * cells + at], acc[at]);
            } else if (plan.shared) {
                partial[at] = acc[at];
            }
        }
    }
}

/* dSpline += sum over chunks (in chunk order) of the partial sums. */
LV_HD float chunk_sum(const float *partials, int64_t chunks, int64_t size, int64_t e) {
    float sum = partials[e];
    for (int64_t c = 1; c < chunks; c++) {
        sum = rn_add(sum, partials[c * size + e]);
    }
    return sum;
}

__global__ void separable_modes_reduce_kernel(const float *partials, int64_t chunks, int64_t size, float *d_spline) {
    for (int64_t e = (int64_t) blockIdx.x * blockDim.x + threadIdx.x; e < size; e += (int64_t) gridDim.x * blockDim.x) {
        d_spline[e] = rn_add(d_spline[e], chunk_sum(partials, chunks, size, e));
    }
}

int check_modes(const void *first, const void *weights, const void *spline, const void *modes, const ModeDims &s) {
    if (s.groups < 0 || s.n < 0 || s.d < 0 || s.knots < 2 || s.rank < 0) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    if (s.groups * s.n * s.rank > 0 && (first == nullptr || weights == nullptr || spline == nullptr || modes == nullptr)) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    return LV_OK;
}

int check_modes_backward(const float *d_modes, const int32_t *first, const float *weights, const float *spline,
                         const float *modes, float *d_weights, float *d_spline, const ModeDims &s, void *workspace,
                         int64_t workspace_bytes) {
    int status = check_modes(first, weights, spline, modes, s);
    if (status != LV_OK) {
        return status;
    }
    if (s.groups * s.n * s.rank > 0 && (d_modes == nullptr || d_weights == nullptr || d_spline == nullptr)) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    int64_t need = ScatterPlan::of(s).workspace_bytes(s);
    if (workspace_bytes < need || (need > 0 && workspace == nullptr)) {
        return LV_ERR_WORKSPACE_TOO_SMALL;
    }
    return LV_OK;
}

}  // namespace

// ================================================================ the C ABI

extern "C" int lv_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first,
                               float *weights, void *stream) {
    int status = check_basis(t, first, weights, n, d, knots);
    if (status != LV_OK || n * d == 0) {
        return status;
    }
    spline_basis_kernel<<<blocks_for(n * d, THREADS), THREADS, 0, (cudaStream_t) stream>>>(t, n * d, knots,
                                                                                           normalize != 0, first, weights);
    return (int) cudaGetLastError();
}

extern "C" int lv_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n,
                                        int64_t d, int knots, int normalize, float *d_t, void *stream) {
    int status = check_basis(d_weights, t, first, n, d, knots);
    if (status == LV_OK && n * d > 0 && d_t == nullptr) {
        status = LV_ERR_INVALID_ARGUMENT;
    }
    if (status != LV_OK || n * d == 0) {
        return status;
    }
    spline_basis_backward_kernel<<<blocks_for(n * d, THREADS), THREADS, 0, (cudaStream_t) stream>>>(
        d_weights, t, first, n * d, knots, normalize != 0, d_t);
    return (int) cudaGetLastError();
}

extern "C" int lv_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes,
                                  int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *stream) {
    ModeDims s{groups, n, d, knots, rank};
    int status = check_modes(first, weights, spline, modes, s);
    if (status != LV_OK || groups * n * rank == 0) {
        return status;
    }
    separable_modes_kernel<<<blocks_for(groups * n * rank, THREADS), THREADS, 0, (cudaStream_t) stream>>>(
        first, weights, spline, modes, s);
    return (int) cudaGetLastError();
}

extern "C" int64_t lv_separable_modes_backward_workspace_bytes(int64_t groups, int64_t n, int64_t d, int knots,
                                                               int64_t rank) {
    ModeDims s{groups, n, d, knots, rank};
    return ScatterPlan::of(s).workspace_bytes(s);
}

extern "C" int lv_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights,
                                           const float *spline, const float *modes, float *d_weights,
                                           float *d_spline, int64_t groups, int64_t n, int64_t d, int knots,
                                           int64_t rank, void *workspace, int64_t workspace_bytes, void *stream) {
    ModeDims s{groups, n, d, knots, rank};
    int status = check_modes_backward(d_modes, first, weights, spline, modes, d_weights, d_spline, s, workspace,
                                      workspace_bytes);
    if (status != LV_OK || groups * n * d * rank == 0) {
        return status;
    }
    cudaStream_t st = (cudaStream_t) stream;
    ScatterPlan plan = ScatterPlan::of(s);
    if (plan.chunks * groups * d > INT32_MAX) {
        return LV_ERR_INVALID_ARGUMENT;  // the scatter's grid; checked before anything is enqueued
    }
    separable_modes_weights_kernel<<<blocks_for(groups * n * d * 32, THREADS), THREADS, 0, st>>>(
        d_modes, first, weights, spline, modes, d_weights, s);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) {
        return (int) err;
    }
    int64_t blocks = plan.chunks * groups * d;
    int threads = (int) (rank >= THREADS ? THREADS : (rank + 31) / 32 * 32);
    size_t smem = plan.shared ? (size_t) (knots * rank) * sizeof(float) : 0;
    float *partials = plan.workspace_bytes(s) > 0 ? (float *) workspace : nullptr;
    separable_modes_scatter_kernel<<<(unsigned) blocks, threads, smem, st>>>(d_modes, first, weights, spline, modes,
                                                                            d_spline, partials, s, plan);
    if ((err = cudaGetLastError()) != cudaSuccess || plan.chunks == 1) {
        return (int) err;
    }
    int64_t size = groups * d * knots * rank;
    separable_modes_reduce_kernel<<<blocks_for(size, THREADS), THREADS, 0, st>>>(partials, plan.chunks, size, d_spline);
    return (int) cudaGetLastError();
}

// ================================================================ host twins

extern "C" int lv_host_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first,
                                    float *weights) {
    int status = check_basis(t, first, weights, n, d, knots);
    if (status != LV_OK) {
        return status;
    }
    for (int64_t e = 0; e < n * d; e++) {
        float w[3];
        first[e] = spline_window(t[e], knots, normalize != 0, w);
        weights[e * 3] = w[0];
        weights[e * 3 + 1] = w[1];
        weights[e * 3 + 2] = w[2];
    }
    return LV_OK;
}

extern "C" int lv_host_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n,
                                             int64_t d, int knots, int normalize, float *d_t) {
    int status = check_basis(d_weights, t, first, n, d, knots);
    if (status == LV_OK && n * d > 0 && d_t == nullptr) {
        status = LV_ERR_INVALID_ARGUMENT;
    }
    if (status != LV_OK) {
        return status;
    }
    for (int64_t e = 0; e < n * d; e++) {
        d_t[e] = spline_grad(d_t[e], t[e], first[e], knots, normalize != 0, d_weights + e * 3);
    }
    return LV_OK;
}

extern "C" int lv_host_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes,
                                       int64_t groups, int64_t n, int64_t d, int knots, int64_t rank) {
    ModeDims s{groups, n, d, knots, rank};
    int status = check_modes(first, weights, spline, modes, s);
    if (status != LV_OK) {
        return status;
    }
    for (int64_t g = 0; g < groups; g++) {
        for (int64_t row = 0; row < n; row++) {
            for (int64_t r = 0; r < rank; r++) {
                modes[s.modes_row(row, g) + r] = mode_product(s, first, weights, spline, g, row, r);
            }
        }
    }
    return LV_OK;
}

extern "C" int lv_host_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights,
                                                const float *spline, const float *modes, float *d_weights,
                                                float *d_spline, int64_t groups, int64_t n, int64_t d, int knots,
                                                int64_t rank, void *workspace, int64_t workspace_bytes) {
    ModeDims s{groups, n, d, knots, rank};
    int status = check_modes_backward(d_modes, first, weights, spline, modes, d_weights, d_spline, s, workspace,
                                      workspace_bytes);
    if (status != LV_OK || groups * n * d * rank == 0) {
        return status;
    }
    // separable_modes_weights_kernel: each warp's 32 lanes, then the butterfly
    for (int64_t e = 0; e < groups * n * d; e++) {
        int64_t i = e % d, p = e / d, row = p % n, g = p / n;
        Window win;
        if (!win.load(s, first, weights, g, row, i)) {
            d_weights[e * 3] = d_weights[e * 3 + 1] = d_weights[e * 3 + 2] = NAN;
            continue;
        }
        float lanes[3][32];
        for (int lane = 0; lane < 32; lane++) {
            float dw[3];
            weight_grad_lane(s, win, d_modes, spline, modes, g, row, lane, dw);
            for (int m = 0; m < 3; m++) {
                lanes[m][lane] = dw[m];
            }
        }
        for (int m = 0; m < 3; m++) {
            float sum = lane_tree_sum<32>(lanes[m]);
            if (win.on_grid(m)) {
                d_weights[e * 3 + m] = rn_add(d_weights[e * 3 + m], sum);
            }
        }
    }
    // separable_modes_scatter_kernel, block by block, column by column
    ScatterPlan plan = ScatterPlan::of(s);
    int64_t cells = s.knots * s.rank;
    float *partials = plan.workspace_bytes(s) > 0 ? (float *) workspace : nullptr;
    std::vector<float> local(plan.shared ? cells : 0);
    for (int64_t c = 0; c < plan.chunks; c++) {
        for (int64_t gi = 0; gi < groups * d; gi++) {
            float *partial = partials == nullptr ? nullptr : partials + (c * groups * d + gi) * cells;
            float *acc = plan.shared ? local.data() : partial;
            for (int64_t r = 0; r < rank; r++) {
                for (int64_t k = 0; k < knots; k++) {
                    acc[k * rank + r] = 0.f;
                }
                scatter_column(s, plan, d_modes, first, weights, spline, modes, c, gi / d, gi % d, r, acc);
                for (int64_t k = 0; k < knots; k++) {
                    int64_t at = k * rank + r;
                    if (plan.chunks == 1) {
                        d_spline[gi * cells + at] = rn_add(d_spline[gi * cells + at], acc[at]);
                    } else if (plan.shared) {
                        partial[at] = acc[at];
                    }
                }
            }
        }
    }
    if (plan.chunks > 1) {  // separable_modes_reduce_kernel
        int64_t size = groups * d * cells;
        for (int64_t e = 0; e < size; e++) {
            d_spline[e] = rn_add(d_spline[e], chunk_sum(partials, plan.chunks, size, e));
        }
    }
    return LV_OK;
}
