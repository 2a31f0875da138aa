/*
 * attention_math.cuh: the arithmetic of causal flash attention, shared by the CUDA kernels in attention.cu
 * and by their host twins (lv_host_attention_*), which run it serially on the CPU.
 *
 * A block of threads owns one tile of TILE query rows (forward, dQ) or TILE key rows (dK, dV). Its threads
 * form ROWS = TILE / RPT row groups of LANES = 16 lanes: thread (ty, tx) holds rows ty * RPT + i (i < RPT)
 * of every tile and, of a TILE x TILE score tile, columns tx + 16 j (j < CPT); of a TILE x DMAX output tile,
 * columns tx + 16 c (c < DPT). The 16 lanes of a row group are half a warp, so a row's maximum and sum are
 * butterfly shuffles; the host twin reproduces the butterfly (lane_tree_sum), so host and device add in the
 * same order.
 *
 * Every product that decides a result is written with the explicit rounding helpers of rounding.cuh, so
 * nvcc's contraction of a * b + c cannot make the device round differently from the host.
 */
#ifndef LEVIATHAN_ATTENTION_MATH_CUH
#define LEVIATHAN_ATTENTION_MATH_CUH

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "leviathan_cuda.h"
#include "rounding.cuh"

namespace lv_attention {

using namespace lv_rounding;

constexpr int LANES = 16;     // lanes sharing a row of a score tile (half a warp)
constexpr int MAX_HEAD_DIM = 128;

/* Tile geometry of one kernel: TILE rows per tile, RPT rows per thread, head dims padded to DMAX. */
template <int TILE_, int RPT_, int DMAX_>
struct Geometry {
    static constexpr int TILE = TILE_;
    static constexpr int RPT = RPT_;
    static constexpr int DMAX = DMAX_;
    static constexpr int ROWS = TILE / RPT;          // row groups
    static constexpr int THREADS = ROWS * LANES;
    static constexpr int CPT = TILE / LANES;         // score columns per thread
    static constexpr int DPT = DMAX / LANES;         // output columns per thread
    static constexpr int STRIDE = DMAX + 1;          // padded row of a [TILE][DMAX] tile: no bank conflicts
    static constexpr int PSTRIDE = TILE + 1;         // padded row of a [TILE][TILE] tile
    static_assert(TILE % LANES == 0 && TILE % RPT == 0 && DMAX % LANES == 0, "tile shape");
};

/* The forward's geometry: 64-row tiles up to Dh 64, 32-row tiles at 128 (to keep 4 blocks per SM). */
template <int DMAX> struct ForwardGeometry : Geometry<(DMAX > 64 ? 32 : 64), 4, DMAX> {};
/* The backward's: 32-row tiles (its blocks hold four [TILE][DMAX] tiles and two score tiles). */
template <int DMAX> struct BackwardGeometry : Geometry<32, 4, DMAX> {};

// ---------------------------------------------------------------- bf16 (as io.leviathan.tensor.Bf16)

/* Round to nearest even; a NaN stays a quiet NaN. */
LV_HD uint16_t float_to_bf16(float f) {
    uint32_t bits = float_to_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
        return (uint16_t) ((bits >> 16) | 0x0040u);
    }
    uint32_t lsb = (bits >> 16) & 1u;
    return (uint16_t) ((bits + 0x7fffu + lsb) >> 16);
}

LV_HD float bf16_to_float(uint16_t b) { return bits_to_float((uint32_t) b << 16); }

/* Element i of a tensor of dtype LV_F32 or LV_BF16, widened to F32. */
LV_HD float load(const void *p, int dtype, int64_t i) {
    return dtype == LV_BF16 ? bf16_to_float(((const uint16_t *) p)[i]) : ((const float *) p)[i];
}

LV_HD void store(void *p, int dtype, int64_t i, float v) {
    if (dtype == LV_BF16) {
        ((uint16_t *) p)[i] = float_to_bf16(v);
    } else {
        ((float *) p)[i] = v;
    }
}

// ---------------------------------------------------------------- scores and the online softmax

/* s = q . k / sqrt(Dh) from the unscaled dot product. */
LV_HD float scaled(float dot, float scale) { return rn_mul(dot, scale); }

/* The running maximum after a tile whose (masked) maximum is tile_max. Max is exact in any order. */
LV_HD float online_max(float m_old, float tile_max) { return fmaxf(m_old, tile_max); }

/* alpha = exp(m_old - m_new): what the row's sum and output so far are scaled by; 0 on the first tile. */
LV_HD float online_rescale(float m_old, float m_new) { return m_old == -INFINITY ? 0.f : expf(m_old - m_new); }

/* exp(s - m_new): a masked score (-inf) gives 0. */
LV_HD float online_prob(float s, float m_new) { return expf(s - m_new); }

/* l_new = alpha * l + (sum of this tile's probabilities). */
LV_HD float online_sum(float l, float alpha, float tile_sum) { return rn_add(rn_mul(l, alpha), tile_sum); }

/* lse = m + log(l), the saved state of a row. */
LV_HD float finish_lse(float m, float l) { return m + logf(l); }

/* 1 / l, rounded once from double: the factor the unnormalised output row is multiplied by. */
LV_HD float finish_scale(float l) { return (float) (1.0 / (double) l); }

/* P = exp(s - lse), recomputed in the backward. */
LV_HD float prob_from_lse(float s, float lse) { return expf(s - lse); }

/* dS = P * (dP - D). */
LV_HD float score_grad(float p, float dp, float delta) { return rn_mul(p, rn_sub(dp, delta)); }

/* A query at position qpos sees a key at kpos when kpos <= qpos (and the query is a real row). */
LV_HD bool visible(int64_t qpos, int64_t kpos, int64_t seq) { return kpos <= qpos && qpos < seq; }

// ---------------------------------------------------------------- lane reductions and their host twins

#ifdef __CUDACC__
__device__ __forceinline__ float row_group_sum(float v) {
    for (int o = LANES / 2; o >= 1; o >>= 1) {
        v = rn_add(v, __shfl_xor_sync(0xffffffffu, v, o, LANES));
    }
    return v;
}

__device__ __forceinline__ float row_group_max(float v) {
    for (int o = LANES / 2; o >= 1; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o, LANES));
    }
    return v;
}

__device__ __forceinline__ double warp_sum_double(double v) {
    for (int o = 16; o >= 1; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}
#endif

// ---------------------------------------------------------------- tiles

/*
 * Copies rows [row0, row0 + TILE) of head (b, h) of a [B, T, H, Dh] tensor into a [TILE][STRIDE] F32 tile,
 * zero past T and past Dh. Threads tid, tid + nthreads, ... share the work (the host passes 0 and 1).
 */
template <class G>
LV_HD void load_tile(const void *x, int dtype, int64_t b, int64_t h, int64_t seq, int64_t heads, int dh,
                     int64_t row0, float *tile, int tid, int nthreads) {
    for (int e = tid; e < G::TILE * G::DMAX; e += nthreads) {
        int r = e / G::DMAX, c = e % G::DMAX;
        int64_t t = row0 + r;
        float val = 0.f;
        if (t < seq && c < dh) {
            val = load(x, dtype, ((b * seq + t) * heads + h) * dh + c);
        }
        tile[r * G::STRIDE + c] = val;
    }
}

/* Copies TILE entries of a per-row [B, H, T] array (lse or D) from row0, zero past T. */
template <class G>
LV_HD void load_rows(const float *x, int64_t bh, int64_t seq, int64_t row0, float *dst, int tid, int nthreads) {
    for (int r = tid; r < G::TILE; r += nthreads) {
        int64_t t = row0 + r;
        dst[r] = t < seq ? x[bh * seq + t] : 0.f;
    }
}

/*
 * dots[i][j] = a[row_i] . b[col_j] over the (padded) head dims for this thread's rows i and columns j, each
 * an fma chain in dimension order. The dimension loop is outermost, so a step loads RPT + CPT values from
 * shared memory for RPT * CPT fmas.
 */
template <class G>
LV_HD void tile_dots(const float *a, const float *b, int ty, int tx, float dots[G::RPT][G::CPT]) {
    for (int i = 0; i < G::RPT; i++) {
        for (int j = 0; j < G::CPT; j++) {
            dots[i][j] = 0.f;
        }
    }
#pragma unroll 4
    for (int d = 0; d < G::DMAX; d++) {
        float av[G::RPT], bv[G::CPT];
        for (int i = 0; i < G::RPT; i++) {
            av[i] = a[(ty * G::RPT + i) * G::STRIDE + d];
        }
        for (int j = 0; j < G::CPT; j++) {
            bv[j] = b[(tx + LANES * j) * G::STRIDE + d];
        }
        for (int i = 0; i < G::RPT; i++) {
            for (int j = 0; j < G::CPT; j++) {
                dots[i][j] = rn_fma(av[i], bv[j], dots[i][j]);
            }
        }
    }
}

/*
 * One thread's share of a score tile's recomputation in the backward: for its rows i (queries q0 + row)
 * and columns j (keys k0 + col) the probability p = exp(s - lse) and the score gradient dS = p (dP - D),
 * both 0 where the key is not visible.
 */
template <class G>
LV_HD void backward_scores(const float *qs, const float *ks, const float *dos, const float *vs,
                           const float *lse_s, const float *delta_s, int ty, int tx, int64_t q0, int64_t k0,
                           int64_t seq, float scale, float p[G::RPT][G::CPT], float ds[G::RPT][G::CPT]) {
    float dp[G::RPT][G::CPT];
    tile_dots<G>(qs, ks, ty, tx, p);   // q . k, into p until it becomes the probability
    tile_dots<G>(dos, vs, ty, tx, dp); // dP = dOut V^T
    for (int i = 0; i < G::RPT; i++) {
        int row = ty * G::RPT + i;
        for (int j = 0; j < G::CPT; j++) {
            int col = tx + LANES * j;
            if (visible(q0 + row, k0 + col, seq)) {
                p[i][j] = prob_from_lse(scaled(p[i][j], scale), lse_s[row]);
                ds[i][j] = score_grad(p[i][j], dp[i][j], delta_s[row]);
            } else {
                p[i][j] = 0.f;
                ds[i][j] = 0.f;
            }
        }
    }
}

/*
 * acc[i][c] += sum_{x < TILE} a[x, row_i] * b[x][col_c] with a read transposed ([TILE][PSTRIDE], a's column
 * row_i = this thread's row), one fma chain in x order: dV += P^T dOut and dK += dS^T Q.
 */
template <class G>
LV_HD void accumulate_transposed(const float *a, const float *b, int ty, int tx, float acc[G::RPT][G::DPT]) {
    for (int x = 0; x < G::TILE; x++) {
        for (int i = 0; i < G::RPT; i++) {
            float ax = a[x * G::PSTRIDE + ty * G::RPT + i];
            for (int c = 0; c < G::DPT; c++) {
                acc[i][c] = rn_fma(ax, b[x * G::STRIDE + tx + LANES * c], acc[i][c]);
            }
        }
    }
}

/* acc[i][c] += sum_{x < TILE} a[row_i][x] * b[x][col_c] in x order: O += P V and dQ += dS K. */
template <class G>
LV_HD void accumulate(const float *a, const float *b, int ty, int tx, float acc[G::RPT][G::DPT]) {
    for (int x = 0; x < G::TILE; x++) {
        for (int i = 0; i < G::RPT; i++) {
            float ax = a[(ty * G::RPT + i) * G::PSTRIDE + x];
            for (int c = 0; c < G::DPT; c++) {
                acc[i][c] = rn_fma(ax, b[x * G::STRIDE + tx + LANES * c], acc[i][c]);
            }
        }
    }
}

/*
 * dst[row, col] += acc * factor (as one fma) for this thread's rows (tile rows row0 + ...) below seq and
 * columns below dh, dst an F32 [B, T, H, Dh] gradient.
 */
template <class G>
LV_HD void add_rows(const float acc[G::RPT][G::DPT], float factor, float *dst, int64_t b, int64_t h,
                    int64_t seq, int64_t heads, int dh, int64_t row0, int ty, int tx) {
    for (int i = 0; i < G::RPT; i++) {
        int64_t t = row0 + ty * G::RPT + i;
        if (t >= seq) {
            continue;
        }
        for (int c = 0; c < G::DPT; c++) {
            int col = tx + LANES * c;
            if (col < dh) {
                int64_t at = ((b * seq + t) * heads + h) * dh + col;
                dst[at] = rn_fma(acc[i][c], factor, dst[at]);
            }
        }
    }
}

}  // namespace lv_attention

#endif
