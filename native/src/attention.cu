/*
 * attention.cu: causal multi-head attention, flash-attention 2 style, forward and backward.
 *
 * Tensors are [B, T, H, Dh] (F32 or BF16; arithmetic F32), lse and the backward's D are [B, H, T] F32.
 * Head dims up to 128 run with the head padded (with zeros) to DMAX = 32, 64 or 128.
 *
 * Forward (one block per (b, h, query tile); the heaviest tiles, last in the sequence, launch first):
 *   for each key tile kt <= qt:   S = Q K^T / sqrt(Dh), masked above the diagonal
 *     m_new = max(m, rowmax S);  alpha = exp(m - m_new);  P = exp(S - m_new)
 *     l = alpha l + rowsum P;    O = alpha O + P V;       m = m_new
 *   out = O / l;  lse = m + log l
 *
 * Backward, three kernels and no atomics, so the gradients are the same bits on every run:
 *   1. D = rowsum(dOut * out), one warp per row, into the workspace;
 *   2. one block per (b, h, key tile): over query tiles qt >= kt, recompute P = exp(S - lse),
 *      dP = dOut V^T, dS = P (dP - D), and sum dV += P^T dOut, dK += dS^T Q in registers;
 *   3. one block per (b, h, query tile): over key tiles kt <= qt, the same P and dS, dQ += dS K.
 *   dK and dQ take their 1/sqrt(Dh) once, as they are added to the gradients.
 *
 * lv_host_attention_* (leviathan_cuda_host_attention.h) run each kernel's blocks one after another on the
 * CPU, every thread of a block phase by phase, with the same functions (attention_math.cuh).
 */
#include <stdlib.h>

#include <vector>

#include "attention_math.cuh"
#include "leviathan_cuda.h"
#include "leviathan_cuda_host_attention.h"

using namespace lv_attention;

namespace {

// ---------------------------------------------------------------- argument checks (device and host alike)

int check_attention(const void *q, const void *k, const void *v, int dtype, int64_t batch, int64_t seq,
                    int64_t heads, int64_t head_dim) {
    if (dtype != LV_F32 && dtype != LV_BF16) {
        return LV_ERR_UNSUPPORTED_DTYPE;
    }
    if (batch < 0 || seq < 0 || heads < 0 || head_dim < 1 || head_dim > MAX_HEAD_DIM) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    if (batch * seq * heads > 0 && (q == nullptr || k == nullptr || v == nullptr)) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    return LV_OK;
}

LV_HD int64_t tiles_of(int64_t seq, int tile) { return (seq + tile - 1) / tile; }

float scale_of(int64_t head_dim) { return (float) (1.0 / sqrt((double) head_dim)); }

template <class G>
constexpr size_t forward_smem_floats() {
    return 2 * G::TILE * G::STRIDE + G::TILE * G::STRIDE + G::TILE * G::PSTRIDE;  // Q, K, V, P
}

template <class G>
constexpr size_t backward_smem_floats() {
    return 4 * G::TILE * G::STRIDE + 2 * G::TILE * G::PSTRIDE + 2 * G::TILE;  // Q, dO, K, V, P, dS, lse, D
}

// Every block fits the shared memory an sm_80 block may opt in to (163 KB), with room for two per SM.
static_assert(forward_smem_floats<ForwardGeometry<64>>() * sizeof(float) <= 80 * 1024, "forward tile at Dh 64");
static_assert(forward_smem_floats<ForwardGeometry<128>>() * sizeof(float) <= 80 * 1024, "forward tile at Dh 128");
static_assert(backward_smem_floats<BackwardGeometry<128>>() * sizeof(float) <= 80 * 1024, "backward tiles at Dh 128");

// ================================================================ forward

/* The running state of one thread's rows through the online softmax. */
template <class G>
struct ForwardRows {
    float m[G::RPT];
    float l[G::RPT];
    float o[G::RPT][G::DPT];

    LV_HD void init() {
        for (int i = 0; i < G::RPT; i++) {
            m[i] = -INFINITY;
            l[i] = 0.f;
            for (int c = 0; c < G::DPT; c++) {
                o[i][c] = 0.f;
            }
        }
    }
};

/* This thread's masked, scaled scores of the tile pair (q0, k0) and, per row, the maximum over them. */
template <class G>
LV_HD void forward_scores(const float *qs, const float *ks, int ty, int tx, int64_t q0, int64_t k0, int64_t seq,
                          float scale, float s[G::RPT][G::CPT], float lane_max[G::RPT]) {
    tile_dots<G>(qs, ks, ty, tx, s);
    for (int i = 0; i < G::RPT; i++) {
        int row = ty * G::RPT + i;
        lane_max[i] = -INFINITY;
        for (int j = 0; j < G::CPT; j++) {
            int col = tx + LANES * j;
            // a padding query row (past T) sees its keys too, so that no row is all -inf
            bool seen = k0 + col <= q0 + row && k0 + col < seq;
            s[i][j] = seen ? scaled(s[i][j], scale) : -INFINITY;
            lane_max[i] = fmaxf(lane_max[i], s[i][j]);
        }
    }
}

/*
 * With each row's tile maximum known: moves the row's maximum on, replaces the scores by probabilities,
 * writes them to the shared P tile, returns each row's lane sum of them in lane_sum and its rescale factor
 * in alpha (the output is rescaled in forward_rescale once the row's sum is known).
 */
template <class G>
LV_HD void forward_probs(ForwardRows<G> &st, const float tile_max[G::RPT], float s[G::RPT][G::CPT], int ty, int tx,
                         float *ps, float alpha[G::RPT], float lane_sum[G::RPT]) {
    for (int i = 0; i < G::RPT; i++) {
        float m_new = online_max(st.m[i], tile_max[i]);
        alpha[i] = online_rescale(st.m[i], m_new);
        st.m[i] = m_new;
        lane_sum[i] = 0.f;
        for (int j = 0; j < G::CPT; j++) {
            float p = online_prob(s[i][j], m_new);
            lane_sum[i] = rn_add(lane_sum[i], p);
            ps[(ty * G::RPT + i) * G::PSTRIDE + tx + LANES * j] = p;
        }
    }
}

template <class G>
LV_HD void forward_rescale(ForwardRows<G> &st, const float alpha[G::RPT], const float tile_sum[G::RPT]) {
    for (int i = 0; i < G::RPT; i++) {
        st.l[i] = online_sum(st.l[i], alpha[i], tile_sum[i]);
        for (int c = 0; c < G::DPT; c++) {
            st.o[i][c] = rn_mul(st.o[i][c], alpha[i]);
        }
    }
}

/* out = O / l for real rows and columns, and (lane 0) lse = m + log l. */
template <class G>
LV_HD void forward_finish(const ForwardRows<G> &st, void *out, float *lse, int dtype, int64_t b, int64_t h,
                          int64_t seq, int64_t heads, int dh, int64_t q0, int ty, int tx) {
    for (int i = 0; i < G::RPT; i++) {
        int64_t t = q0 + ty * G::RPT + i;
        if (t >= seq) {
            continue;
        }
        float inv = finish_scale(st.l[i]);
        for (int c = 0; c < G::DPT; c++) {
            int col = tx + LANES * c;
            if (col < dh) {
                store(out, dtype, ((b * seq + t) * heads + h) * dh + col, rn_mul(st.o[i][c], inv));
            }
        }
        if (tx == 0) {
            lse[(b * heads + h) * seq + t] = finish_lse(st.m[i], st.l[i]);
        }
    }
}

template <int DMAX>
__global__ void __launch_bounds__(ForwardGeometry<DMAX>::THREADS)
attention_forward_kernel(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,
                         int64_t seq, int64_t heads, int dh, float scale) {
    using G = ForwardGeometry<DMAX>;
    extern __shared__ float smem[];
    float *qs = smem, *ks = qs + G::TILE * G::STRIDE, *vs = ks + G::TILE * G::STRIDE;
    float *ps = vs + G::TILE * G::STRIDE;
    int64_t tiles = tiles_of(seq, G::TILE);
    int64_t bh = blockIdx.x / tiles, qt = tiles - 1 - blockIdx.x % tiles;
    int64_t b = bh / heads, h = bh % heads, q0 = qt * G::TILE;
    int tid = threadIdx.x, ty = tid / LANES, tx = tid % LANES;

    load_tile<G>(q, dtype, b, h, seq, heads, dh, q0, qs, tid, G::THREADS);
    ForwardRows<G> st;
    st.init();
    for (int64_t kt = 0; kt <= qt; kt++) {
        int64_t k0 = kt * G::TILE;
        __syncthreads();  // the previous tile's K, V and P are no longer read
        load_tile<G>(k, dtype, b, h, seq, heads, dh, k0, ks, tid, G::THREADS);
        load_tile<G>(v, dtype, b, h, seq, heads, dh, k0, vs, tid, G::THREADS);
        __syncthreads();
        float s[G::RPT][G::CPT], tile_max[G::RPT], alpha[G::RPT], tile_sum[G::RPT];
        forward_scores<G>(qs, ks, ty, tx, q0, k0, seq, scale, s, tile_max);
        for (int i = 0; i < G::RPT; i++) {
            tile_max[i] = row_group_max(tile_max[i]);
        }
        forward_probs<G>(st, tile_max, s, ty, tx, ps, alpha, tile_sum);
        for (int i = 0; i < G::RPT; i++) {
            tile_sum[i] = row_group_sum(tile_sum[i]);
        }
        forward_rescale<G>(st, alpha, tile_sum);
        __syncthreads();  // P complete
        accumulate<G>(ps, vs, ty, tx, st.o);
    }
    forward_finish<G>(st, out, lse, dtype, b, h, seq, heads, dh, q0, ty, tx);
}

/* The forward's blocks, one after another, each thread phase by phase, on the CPU. */
template <int DMAX>
void attention_forward_host(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,
                            int64_t batch, int64_t seq, int64_t heads, int dh, float scale) {
    using G = ForwardGeometry<DMAX>;
    std::vector<float> qs(G::TILE * G::STRIDE), ks(qs.size()), vs(qs.size()), ps(G::TILE * G::PSTRIDE);
    std::vector<ForwardRows<G>> st(G::THREADS);
    std::vector<float> s(G::THREADS * G::RPT * G::CPT), tmax(G::THREADS * G::RPT), alpha(tmax.size()),
        tsum(tmax.size());
    int64_t tiles = tiles_of(seq, G::TILE);
    for (int64_t bh = 0; bh < batch * heads; bh++) {
        int64_t b = bh / heads, h = bh % heads;
        for (int64_t qt = 0; qt < tiles; qt++) {
            int64_t q0 = qt * G::TILE;
            load_tile<G>(q, dtype, b, h, seq, heads, dh, q0, qs.data(), 0, 1);
            for (auto &rows : st) {
                rows.init();
            }
            for (int64_t kt = 0; kt <= qt; kt++) {
                int64_t k0 = kt * G::TILE;
                load_tile<G>(k, dtype, b, h, seq, heads, dh, k0, ks.data(), 0, 1);
                load_tile<G>(v, dtype, b, h, seq, heads, dh, k0, vs.data(), 0, 1);
                auto sv = [&](int tid) { return (float(*)[G::CPT]) (s.data() + tid * G::RPT * G::CPT); };
                for (int tid = 0; tid < G::THREADS; tid++) {
                    forward_scores<G>(qs.data(), ks.data(), tid / LANES, tid % LANES, q0, k0, seq, scale, sv(tid),
                                      tmax.data() + tid * G::RPT);
                }
                for (int ty = 0; ty < G::ROWS; ty++) {  // row_group_max: the maximum of the 16 lanes
                    for (int i = 0; i < G::RPT; i++) {
                        float mx = -INFINITY;
                        for (int tx = 0; tx < LANES; tx++) {
                            mx = fmaxf(mx, tmax[(ty * LANES + tx) * G::RPT + i]);
                        }
                        for (int tx = 0; tx < LANES; tx++) {
                            tmax[(ty * LANES + tx) * G::RPT + i] = mx;
                        }
                    }
                }
                for (int tid = 0; tid < G::THREADS; tid++) {
                    forward_probs<G>(st[tid], tmax.data() + tid * G::RPT, sv(tid), tid / LANES, tid % LANES,
                                     ps.data(), alpha.data() + tid * G::RPT, tsum.data() + tid * G::RPT);
                }
                for (int ty = 0; ty < G::ROWS; ty++) {  // row_group_sum: the butterfly
                    for (int i = 0; i < G::RPT; i++) {
                        float lanes[LANES];
                        for (int tx = 0; tx < LANES; tx++) {
                            lanes[tx] = tsum[(ty * LANES + tx) * G::RPT + i];
                        }
                        lane_tree_sum<LANES>(lanes);
                        for (int tx = 0; tx < LANES; tx++) {
                            tsum[(ty * LANES + tx) * G::RPT + i] = lanes[tx];
                        }
                    }
                }
                for (int tid = 0; tid < G::THREADS; tid++) {
                    forward_rescale<G>(st[tid], alpha.data() + tid * G::RPT, tsum.data() + tid * G::RPT);
                    accumulate<G>(ps.data(), vs.data(), tid / LANES, tid % LANES, st[tid].o);
                }
            }
            for (int tid = 0; tid < G::THREADS; tid++) {
                forward_finish<G>(st[tid], out, lse, dtype, b, h, seq, heads, dh, q0, tid / LANES, tid % LANES);
            }
        }
    }
}

// ================================================================ backward

/* D[b, h, t] = sum_d dOut * out over one row (b, t, h), lanes over d in double, then the warp's butterfly. */
LV_HD double delta_lane(const void *d_out, int d_out_dtype, const void *out, int dtype, int64_t row, int dh,
                        int lane) {
    double acc = 0;
    for (int c = lane; c < dh; c += 32) {
        acc = rn_add(acc, rn_mul((double) load(d_out, d_out_dtype, row * dh + c), (double) load(out, dtype, row * dh + c)));
    }
    return acc;
}

/* The D row of token row = (b * T + t) * H + h, stored at [b, h, t]. */
LV_HD int64_t delta_index(int64_t row, int64_t seq, int64_t heads) {
    int64_t h = row % heads, bt = row / heads;
    return (bt / seq * heads + h) * seq + bt % seq;
}

__global__ void attention_delta_kernel(const void *d_out, int d_out_dtype, const void *out, int dtype,
                                       float *delta, int64_t rows, int64_t seq, int64_t heads, int dh) {
    int64_t row = ((int64_t) blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) {
        return;  // a whole warp leaves together (the block is a multiple of 32)
    }
    double sum = warp_sum_double(delta_lane(d_out, d_out_dtype, out, dtype, row, dh, lane));
    if (lane == 0) {
        delta[delta_index(row, seq, heads)] = (float) sum;
    }
}

/* The pointers a backward block carves out of its shared memory. */
template <class G>
struct BackwardTiles {
    float *qs, *dos, *ks, *vs, *ps, *dss, *lse_s, *delta_s;

    LV_HD explicit BackwardTiles(float *base) {
        qs = base;
        dos = qs + G::TILE * G::STRIDE;
        ks = dos + G::TILE * G::STRIDE;
        vs = ks + G::TILE * G::STRIDE;
        ps = vs + G::TILE * G::STRIDE;
        dss = ps + G::TILE * G::PSTRIDE;
        lse_s = dss + G::TILE * G::PSTRIDE;
        delta_s = lse_s + G::TILE;
    }
};

/* Writes this thread's P and dS into the shared score tiles (ps may be null when not needed). */
template <class G>
LV_HD void store_scores(const float p[G::RPT][G::CPT], const float ds[G::RPT][G::CPT], int ty, int tx, float *ps,
                        float *dss) {
    for (int i = 0; i < G::RPT; i++) {
        for (int j = 0; j < G::CPT; j++) {
            int at = (ty * G::RPT + i) * G::PSTRIDE + tx + LANES * j;
            if (ps != nullptr) {
                ps[at] = p[i][j];
            }
            dss[at] = ds[i][j];
        }
    }
}

struct BackwardArgs {
    const void *d_out;
    int d_out_dtype;
    const void *q, *k, *v;
    const float *lse, *delta;
    float *d_q, *d_k, *d_v;
    int dtype;
    int64_t seq, heads;
    int dh;
    float scale;
};

/* Loads query tile q0 (Q, dOut, lse, D) into the shared tiles. */
template <class G>
LV_HD void load_query_tile(const BackwardArgs &a, const BackwardTiles<G> &sh, int64_t b, int64_t h, int64_t q0,
                           int tid, int nthreads) {
    load_tile<G>(a.q, a.dtype, b, h, a.seq, a.heads, a.dh, q0, sh.qs, tid, nthreads);
    load_tile<G>(a.d_out, a.d_out_dtype, b, h, a.seq, a.heads, a.dh, q0, sh.dos, tid, nthreads);
    load_rows<G>(a.lse, b * a.heads + h, a.seq, q0, sh.lse_s, tid, nthreads);
    load_rows<G>(a.delta, b * a.heads + h, a.seq, q0, sh.delta_s, tid, nthreads);
}

template <class G>
LV_HD void load_key_tile(const BackwardArgs &a, const BackwardTiles<G> &sh, int64_t b, int64_t h, int64_t k0,
                         int tid, int nthreads) {
    load_tile<G>(a.k, a.dtype, b, h, a.seq, a.heads, a.dh, k0, sh.ks, tid, nthreads);
    load_tile<G>(a.v, a.dtype, b, h, a.seq, a.heads, a.dh, k0, sh.vs, tid, nthreads);
}

template <class G>
LV_HD void zero(float acc[G::RPT][G::DPT]) {
    for (int i = 0; i < G::RPT; i++) {
        for (int c = 0; c < G::DPT; c++) {
            acc[i][c] = 0.f;
        }
    }
}

template <int DMAX>
__global__ void __launch_bounds__(BackwardGeometry<DMAX>::THREADS)
attention_dkdv_kernel(BackwardArgs a) {
    using G = BackwardGeometry<DMAX>;
    extern __shared__ float smem[];
    BackwardTiles<G> sh(smem);
    int64_t tiles = tiles_of(a.seq, G::TILE);
    int64_t bh = blockIdx.x / tiles, kt = blockIdx.x % tiles;  // key tile 0 has the most work: first
    int64_t b = bh / a.heads, h = bh % a.heads, k0 = kt * G::TILE;
    int tid = threadIdx.x, ty = tid / LANES, tx = tid % LANES;

    load_key_tile<G>(a, sh, b, h, k0, tid, G::THREADS);
    float dk[G::RPT][G::DPT], dv[G::RPT][G::DPT];
    zero<G>(dk);
    zero<G>(dv);
    for (int64_t qt = kt; qt < tiles; qt++) {
        int64_t q0 = qt * G::TILE;
        __syncthreads();  // the previous query tile is no longer read
        load_query_tile<G>(a, sh, b, h, q0, tid, G::THREADS);
        __syncthreads();
        float p[G::RPT][G::CPT], ds[G::RPT][G::CPT];
        backward_scores<G>(sh.qs, sh.ks, sh.dos, sh.vs, sh.lse_s, sh.delta_s, ty, tx, q0, k0, a.seq, a.scale, p, ds);
        store_scores<G>(p, ds, ty, tx, sh.ps, sh.dss);
        __syncthreads();
        accumulate_transposed<G>(sh.ps, sh.dos, ty, tx, dv);
        accumulate_transposed<G>(sh.dss, sh.qs, ty, tx, dk);
    }
    add_rows<G>(dk, a.scale, a.d_k, b, h, a.seq, a.heads, a.dh, k0, ty, tx);
    add_rows<G>(dv, 1.f, a.d_v, b, h, a.seq, a.heads, a.dh, k0, ty, tx);
}

template <int DMAX>
__global__ void __launch_bounds__(BackwardGeometry<DMAX>::THREADS)
attention_dq_kernel(BackwardArgs a) {
    using G = BackwardGeometry<DMAX>;
    extern __shared__ float smem[];
    BackwardTiles<G> sh(smem);
    int64_t tiles = tiles_of(a.seq, G::TILE);
    int64_t bh = blockIdx.x / tiles, qt = tiles - 1 - blockIdx.x % tiles;  // the last query tile first
    int64_t b = bh / a.heads, h = bh % a.heads, q0 = qt * G::TILE;
    int tid = threadIdx.x, ty = tid / LANES, tx = tid % LANES;

    load_query_tile<G>(a, sh, b, h, q0, tid, G::THREADS);
    float dq[G::RPT][G::DPT];
    zero<G>(dq);
    for (int64_t kt = 0; kt <= qt; kt++) {
        __syncthreads();
        load_key_tile<G>(a, sh, b, h, kt * G::TILE, tid, G::THREADS);
        __syncthreads();
        float p[G::RPT][G::CPT], ds[G::RPT][G::CPT];
        backward_scores<G>(sh.qs, sh.ks, sh.dos, sh.vs, sh.lse_s, sh.delta_s, ty, tx, q0, kt * G::TILE, a.seq,
                           a.scale, p, ds);
        store_scores<G>(p, ds, ty, tx, nullptr, sh.dss);
        __syncthreads();
        accumulate<G>(sh.dss, sh.ks, ty, tx, dq);
    }
    add_rows<G>(dq, a.scale, a.d_q, b, h, a.seq, a.heads, a.dh, q0, ty, tx);
}

/* The three backward kernels' work on the CPU, in the kernels' order and with their functions. */
template <int DMAX>
void attention_backward_host(const BackwardArgs &a, int64_t batch) {
    using G = BackwardGeometry<DMAX>;
    std::vector<float> smem(backward_smem_floats<G>());
    BackwardTiles<G> sh(smem.data());
    int64_t tiles = tiles_of(a.seq, G::TILE);
    std::vector<float> acc0(G::THREADS * G::RPT * G::DPT), acc1(acc0.size());
    auto accv = [](std::vector<float> &acc, int tid) { return (float(*)[G::DPT]) (acc.data() + tid * G::RPT * G::DPT); };
    float p[G::RPT][G::CPT], ds[G::RPT][G::CPT];
    for (int64_t bh = 0; bh < batch * a.heads; bh++) {
        int64_t b = bh / a.heads, h = bh % a.heads;
        for (int64_t kt = 0; kt < tiles; kt++) {  // attention_dkdv_kernel
            int64_t k0 = kt * G::TILE;
            load_key_tile<G>(a, sh, b, h, k0, 0, 1);
            for (int tid = 0; tid < G::THREADS; tid++) {
                zero<G>(accv(acc0, tid));
                zero<G>(accv(acc1, tid));
            }
            for (int64_t qt = kt; qt < tiles; qt++) {
                int64_t q0 = qt * G::TILE;
                load_query_tile<G>(a, sh, b, h, q0, 0, 1);
                for (int tid = 0; tid < G::THREADS; tid++) {
                    backward_scores<G>(sh.qs, sh.ks, sh.dos, sh.vs, sh.lse_s, sh.delta_s, tid / LANES, tid % LANES,
                                       q0, k0, a.seq, a.scale, p, ds);
                    store_scores<G>(p, ds, tid / LANES, tid % LANES, sh.ps, sh.dss);
                }
                for (int tid = 0; tid < G::THREADS; tid++) {
                    accumulate_transposed<G>(sh.ps, sh.dos, tid / LANES, tid % LANES, accv(acc1, tid));
                    accumulate_transposed<G>(sh.dss, sh.qs, tid / LANES, tid % LANES, accv(acc0, tid));
                }
            }
            for (int tid = 0; tid < G::THREADS; tid++) {
                add_rows<G>(accv(acc0, tid), a.scale, a.d_k, b, h, a.seq, a.heads, a.dh, k0, tid / LANES, tid % LANES);
                add_rows<G>(accv(acc1, tid), 1.f, a.d_v, b, h, a.seq, a.heads, a.dh, k0, tid / LANES, tid % LANES);
            }
        }
        for (int64_t qt = 0; qt < tiles; qt++) {  // attention_dq_kernel
            int64_t q0 = qt * G::TILE;
            load_query_tile<G>(a, sh, b, h, q0, 0, 1);
            for (int tid = 0; tid < G::THREADS; tid++) {
                zero<G>(accv(acc0, tid));
            }
            for (int64_t kt = 0; kt <= qt; kt++) {
                load_key_tile<G>(a, sh, b, h, kt * G::TILE, 0, 1);
                for (int tid = 0; tid < G::THREADS; tid++) {
                    backward_scores<G>(sh.qs, sh.ks, sh.dos, sh.vs, sh.lse_s, sh.delta_s, tid / LANES, tid % LANES,
                                       q0, kt * G::TILE, a.seq, a.scale, p, ds);
                    store_scores<G>(p, ds, tid / LANES, tid % LANES, nullptr, sh.dss);
                }
                for (int tid = 0; tid < G::THREADS; tid++) {
                    accumulate<G>(sh.dss, sh.ks, tid / LANES, tid % LANES, accv(acc0, tid));
                }
            }
            for (int tid = 0; tid < G::THREADS; tid++) {
                add_rows<G>(accv(acc0, tid), a.scale, a.d_q, b, h, a.seq, a.heads, a.dh, q0, tid / LANES, tid % LANES);
            }
        }
    }
}

// ================================================================ launches

template <class Kernel>
cudaError_t allow_smem(Kernel kernel, size_t bytes) {
    return cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int) bytes);
}

template <int DMAX>
int launch_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype, int64_t batch,
                   int64_t seq, int64_t heads, int dh, cudaStream_t stream) {
    using G = ForwardGeometry<DMAX>;
    size_t bytes = forward_smem_floats<G>() * sizeof(float);
    cudaError_t err = allow_smem(attention_forward_kernel<DMAX>, bytes);
    if (err != cudaSuccess) {
        return (int) err;
    }
    int64_t blocks = batch * heads * tiles_of(seq, G::TILE);
    if (blocks > INT32_MAX) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    attention_forward_kernel<DMAX><<<(unsigned) blocks, G::THREADS, bytes, stream>>>(
        q, k, v, out, lse, dtype, seq, heads, dh, scale_of(dh));
    return (int) cudaGetLastError();
}

template <int DMAX>
int launch_backward(const BackwardArgs &a, int64_t batch, cudaStream_t stream) {
    using G = BackwardGeometry<DMAX>;
    size_t bytes = backward_smem_floats<G>() * sizeof(float);
    cudaError_t err = allow_smem(attention_dkdv_kernel<DMAX>, bytes);
    if (err == cudaSuccess) {
        err = allow_smem(attention_dq_kernel<DMAX>, bytes);
    }
    if (err != cudaSuccess) {
        return (int) err;
    }
    int64_t blocks = batch * a.heads * tiles_of(a.seq, G::TILE);
    attention_dkdv_kernel<DMAX><<<(unsigned) blocks, G::THREADS, bytes, stream>>>(a);
    if ((err = cudaGetLastError()) != cudaSuccess) {
        return (int) err;
    }
    attention_dq_kernel<DMAX><<<(unsigned) blocks, G::THREADS, bytes, stream>>>(a);
    return (int) cudaGetLastError();
}

/* The padded head dim a head dim runs at. */
int dmax_of(int64_t head_dim) { return head_dim <= 32 ? 32 : head_dim <= 64 ? 64 : 128; }

int64_t delta_bytes(int64_t batch, int64_t seq, int64_t heads) { return batch * heads * seq * (int64_t) sizeof(float); }

int check_backward(const void *d_out, int d_out_dtype, const void *q, const void *k, const void *v, const void *out,
                   const float *lse, float *d_q, float *d_k, float *d_v, int dtype, int64_t batch, int64_t seq,
                   int64_t heads, int64_t head_dim, void *workspace, int64_t workspace_bytes) {
    int status = check_attention(q, k, v, dtype, batch, seq, heads, head_dim);
    if (status != LV_OK) {
        return status;
    }
    if (d_out_dtype != LV_F32 && d_out_dtype != LV_BF16) {
        return LV_ERR_UNSUPPORTED_DTYPE;
    }
    if (batch * seq * heads > 0 && (d_out == nullptr || out == nullptr || lse == nullptr || d_q == nullptr
                                    || d_k == nullptr || d_v == nullptr || workspace == nullptr)) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    if (workspace_bytes < delta_bytes(batch, seq, heads)) {
        return LV_ERR_WORKSPACE_TOO_SMALL;
    }
    return LV_OK;
}

}  // namespace

// ================================================================ the C ABI

extern "C" int lv_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,
                                    int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream) {
    int status = check_attention(q, k, v, dtype, batch, seq, heads, head_dim);
    if (status == LV_OK && batch * seq * heads > 0 && (out == nullptr || lse == nullptr)) {
        status = LV_ERR_INVALID_ARGUMENT;
    }
    if (status != LV_OK || batch * seq * heads == 0) {
        return status;
    }
    cudaStream_t s = (cudaStream_t) stream;
    int dh = (int) head_dim;
    switch (dmax_of(head_dim)) {
        case 32: return launch_forward<32>(q, k, v, out, lse, dtype, batch, seq, heads, dh, s);
        case 64: return launch_forward<64>(q, k, v, out, lse, dtype, batch, seq, heads, dh, s);
        default: return launch_forward<128>(q, k, v, out, lse, dtype, batch, seq, heads, dh, s);
    }
}

extern "C" int64_t lv_attention_backward_workspace_bytes(int64_t batch, int64_t seq, int64_t heads,
                                                         int64_t head_dim) {
    (void) head_dim;
    return delta_bytes(batch, seq, heads);
}

extern "C" int lv_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k, const void *v,
                                     const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype,
                                     int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace,
                                     int64_t workspace_bytes, void *stream) {
    int status = check_backward(d_out, d_out_dtype, q, k, v, out, lse, d_q, d_k, d_v, dtype, batch, seq, heads,
                                head_dim, workspace, workspace_bytes);
    if (status != LV_OK || batch * seq * heads == 0) {
        return status;
    }
    if (batch * heads * tiles_of(seq, BackwardGeometry<MAX_HEAD_DIM>::TILE) > INT32_MAX) {
        return LV_ERR_INVALID_ARGUMENT;  // the grid of the dK/dV and dQ kernels; checked before anything is enqueued
    }
    cudaStream_t s = (cudaStream_t) stream;
    float *delta = (float *) workspace;
    int64_t rows = batch * seq * heads;
    int threads = 256;
    int64_t blocks = (rows * 32 + threads - 1) / threads;
    attention_delta_kernel<<<(unsigned) blocks, threads, 0, s>>>(d_out, d_out_dtype, out, dtype, delta, rows, seq,
                                                                   heads, (int) head_dim);
    cudaError_t err = cudaGetLastError();
    if (err != cudaSuccess) {
        return (int) err;
    }
    BackwardArgs a{d_out, d_out_dtype, q, k, v, lse, delta, d_q, d_k, d_v, dtype, seq, heads, (int) head_dim,
                   scale_of(head_dim)};
    switch (dmax_of(head_dim)) {
        case 32: return launch_backward<32>(a, batch, s);
        case 64: return launch_backward<64>(a, batch, s);
        default: return launch_backward<128>(a, batch, s);
    }
}

// ================================================================ host twins

extern "C" int lv_host_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse,
                                         int dtype, int64_t batch, int64_t seq, int64_t heads, int64_t head_dim) {
    int status = check_attention(q, k, v, dtype, batch, seq, heads, head_dim);
    if (status == LV_OK && batch * seq * heads > 0 && (out == nullptr || lse == nullptr)) {
        status = LV_ERR_INVALID_ARGUMENT;
    }
    if (status != LV_OK || batch * seq * heads == 0) {
        return status;
    }
    int dh = (int) head_dim;
    float scale = scale_of(head_dim);
    switch (dmax_of(head_dim)) {
        case 32: attention_forward_host<32>(q, k, v, out, lse, dtype, batch, seq, heads, dh, scale); break;
        case 64: attention_forward_host<64>(q, k, v, out, lse, dtype, batch, seq, heads, dh, scale); break;
        default: attention_forward_host<128>(q, k, v, out, lse, dtype, batch, seq, heads, dh, scale); break;
    }
    return LV_OK;
}

extern "C" int lv_host_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k,
                                          const void *v, const void *out, const float *lse, float *d_q, float *d_k,
                                          float *d_v, int dtype, int64_t batch, int64_t seq, int64_t heads,
                                          int64_t head_dim, void *workspace, int64_t workspace_bytes) {
    int status = check_backward(d_out, d_out_dtype, q, k, v, out, lse, d_q, d_k, d_v, dtype, batch, seq, heads,
                                head_dim, workspace, workspace_bytes);
    if (status != LV_OK || batch * seq * heads == 0) {
        return status;
    }
    float *delta = (float *) workspace;
    int dh = (int) head_dim;
    for (int64_t row = 0; row < batch * seq * heads; row++) {  // attention_delta_kernel, warp by warp
        double lanes[32];
        for (int lane = 0; lane < 32; lane++) {
            lanes[lane] = delta_lane(d_out, d_out_dtype, out, dtype, row, dh, lane);
        }
        delta[delta_index(row, seq, heads)] = (float) lane_tree_sum_double<32>(lanes);
    }
    BackwardArgs a{d_out, d_out_dtype, q, k, v, lse, delta, d_q, d_k, d_v, dtype, seq, heads, dh, scale_of(head_dim)};
    switch (dmax_of(head_dim)) {
        case 32: attention_backward_host<32>(a, batch); break;
        case 64: attention_backward_host<64>(a, batch); break;
        default: attention_backward_host<128>(a, batch); break;
    }
    return LV_OK;
}
