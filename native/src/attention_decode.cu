/*
 * attention_decode.cu: the key/value cache of inference: appending positions to a cache, and attention of new
 * query rows against it (Backend.kvCacheAppend and Backend.attentionDecode).
 *
 * Caches are [B, H, capacity, Dh] (each head's positions contiguous); k, v, q and out are [B, n, H, Dh]; all
 * F32 or all BF16, arithmetic F32. Query row t is position start + t and attends to cached positions
 * j <= start + t.
 *
 * Decode: one block of THREADS threads per (b, h, query row), three passes over the keys, so no score array
 * of the sequence's length is kept (any capacity runs in fixed shared memory):
 *   1. thread i computes the scores of keys i, i + THREADS, ... and keeps their maximum; a tree reduction
 *      in shared memory gives the row's maximum M;
 *   2. the same threads sum exp(s_j - M) over their keys; a tree reduction gives the row's sum L;
 *   3. chunk by chunk of CHUNK keys, the threads write p_j = exp(s_j - M) to shared memory, then thread c
 *      (one per head column) adds p_j v_j[c] in key order; out[c] = acc * (1 / L).
 * Scores are recomputed in each pass (decoding reads the cache once per pass, which is the cost anyway).
 *
 * lv_host_* run the same blocks on the CPU, each thread's part of a phase in turn and the tree reductions in
 * the same pairwise order, with the same functions, so the host twins check the kernel's arithmetic on
 * machines without a GPU.
 */
#include <math.h>
#include <stdint.h>

#include "attention_math.cuh"
#include "leviathan_cuda.h"
#include "leviathan_cuda_host_attention.h"

using namespace lv_attention;

namespace {

constexpr int THREADS = 128;  // per block; a power of two for the tree reductions
constexpr int CHUNK = 256;    // keys whose probabilities sit in shared memory at once

/* The shape of one call. */
struct DecodeArgs {
    const void *q, *k_cache, *v_cache;
    void *out;
    int dtype;
    int64_t n, heads, capacity, start;
    int dh;
    float scale;
};

/* Block `row` of the grid: batch item, head and query row. */
struct DecodeRow {
    int64_t b, h, t;
};

LV_HD DecodeRow decode_row(const DecodeArgs &a, int64_t row) {
    int64_t t = row % a.n, bh = row / a.n;
    return DecodeRow{bh / a.heads, bh % a.heads, t};
}

/* Element index of [b, t, h, 0] in a [B, n, H, Dh] tensor. */
LV_HD int64_t row_index(const DecodeArgs &a, const DecodeRow &r) { return ((r.b * a.n + r.t) * a.heads + r.h) * a.dh; }

/* Element index of [b, h, j, 0] in a [B, H, capacity, Dh] cache. */
LV_HD int64_t cache_index(const DecodeArgs &a, const DecodeRow &r, int64_t j) {
    return ((r.b * a.heads + r.h) * a.capacity + j) * a.dh;
}

/* q . k_j / sqrt(Dh), the dot product one fma chain in column order (q already widened in qs). */
LV_HD float decode_score(const DecodeArgs &a, const DecodeRow &r, const float *qs, int64_t j) {
    int64_t at = cache_index(a, r, j);
    float dot = 0.f;
    for (int c = 0; c < a.dh; c++) {
        dot = rn_fma(qs[c], load(a.k_cache, a.dtype, at + c), dot);
    }
    return scaled(dot, a.scale);
}

/* Pass 1 for thread tid: the maximum of its keys' scores (-inf when it has none). */
LV_HD float decode_local_max(const DecodeArgs &a, const DecodeRow &r, const float *qs, int64_t len, int tid) {
    float m = -INFINITY;
    for (int64_t j = tid; j < len; j += THREADS) {
        m = fmaxf(m, decode_score(a, r, qs, j));
    }
    return m;
}

/* Pass 2 for thread tid: the sum of exp(s_j - m) over its keys, in key order. */
LV_HD float decode_local_sum(const DecodeArgs &a, const DecodeRow &r, const float *qs, int64_t len, float m, int tid) {
    float l = 0.f;
    for (int64_t j = tid; j < len; j += THREADS) {
        l = rn_add(l, online_prob(decode_score(a, r, qs, j), m));
    }
    return l;
}

/* One step of the tree reductions (passes 1 and 2): red[i] = op(red[i], red[i + stride]) for thread i < stride. */
LV_HD void tree_step_max(float *red, int tid, int stride) {
    if (tid < stride) {
        red[tid] = fmaxf(red[tid], red[tid + stride]);
    }
}

LV_HD void tree_step_sum(float *red, int tid, int stride) {
    if (tid < stride) {
        red[tid] = rn_add(red[tid], red[tid + stride]);
    }
}

/* Pass 3 for thread tid: the probabilities of keys [j0, j0 + CHUNK) it owns into ps. */
LV_HD void decode_chunk_probs(const DecodeArgs &a, const DecodeRow &r, const float *qs, int64_t j0, int64_t len,
                              float m, float *ps, int tid) {
    for (int i = tid; i < CHUNK && j0 + i < len; i += THREADS) {
        ps[i] = online_prob(decode_score(a, r, qs, j0 + i), m);
    }
}

/* Pass 3 for column c: acc += p_j v_j[c] over the chunk's keys in order. */
LV_HD float decode_chunk_values(const DecodeArgs &a, const DecodeRow &r, const float *ps, int64_t j0, int64_t len,
                                int c, float acc) {
    int64_t at = cache_index(a, r, j0) + c;
    for (int i = 0; i < CHUNK && j0 + i < len; i++, at += a.dh) {
        acc = rn_fma(ps[i], load(a.v_cache, a.dtype, at), acc);
    }
    return acc;
}

__global__ void __launch_bounds__(THREADS) attention_decode_kernel(DecodeArgs a) {
    __shared__ float qs[MAX_HEAD_DIM];
    __shared__ float red[THREADS];
    __shared__ float ps[CHUNK];
    DecodeRow r = decode_row(a, blockIdx.x);
    int tid = threadIdx.x;
    int64_t len = a.start + r.t + 1;
    int64_t qrow = row_index(a, r);
    for (int c = tid; c < a.dh; c += THREADS) {
        qs[c] = load(a.q, a.dtype, qrow + c);
    }
    __syncthreads();
    red[tid] = decode_local_max(a, r, qs, len, tid);
    __syncthreads();
    for (int stride = THREADS / 2; stride > 0; stride /= 2) {
        tree_step_max(red, tid, stride);
        __syncthreads();
    }
    float m = red[0];
    __syncthreads();  // red is reused below
    red[tid] = decode_local_sum(a, r, qs, len, m, tid);
    __syncthreads();
    for (int stride = THREADS / 2; stride > 0; stride /= 2) {
        tree_step_sum(red, tid, stride);
        __syncthreads();
    }
    float inv = finish_scale(red[0]);
    float acc = 0.f;  // column tid's output (threads past the head dim only help with the probabilities)
    for (int64_t j0 = 0; j0 < len; j0 += CHUNK) {
        decode_chunk_probs(a, r, qs, j0, len, m, ps, tid);
        __syncthreads();
        if (tid < a.dh) {
            acc = decode_chunk_values(a, r, ps, j0, len, tid, acc);
        }
        __syncthreads();  // ps is rewritten by the next chunk
    }
    if (tid < a.dh) {
        store(a.out, a.dtype, qrow + tid, rn_mul(acc, inv));
    }
}

/* A tree reduction of red[0, THREADS) into red[0] as the kernel's threads do it, step by step. */
template <class Step>
void tree_host(float *red, Step step) {
    for (int stride = THREADS / 2; stride > 0; stride /= 2) {
        for (int tid = 0; tid < THREADS; tid++) {
            step(red, tid, stride);
        }
    }
}

/* The decode kernel's blocks, one after another, each phase thread by thread, on the CPU. */
void attention_decode_host(const DecodeArgs &a, int64_t rows) {
    float qs[MAX_HEAD_DIM], red[THREADS], ps[CHUNK], acc[MAX_HEAD_DIM];
    for (int64_t row = 0; row < rows; row++) {
        DecodeRow r = decode_row(a, row);
        int64_t len = a.start + r.t + 1;
        int64_t qrow = row_index(a, r);
        for (int c = 0; c < a.dh; c++) {
            qs[c] = load(a.q, a.dtype, qrow + c);
        }
        for (int tid = 0; tid < THREADS; tid++) {
            red[tid] = decode_local_max(a, r, qs, len, tid);
        }
        tree_host(red, tree_step_max);
        float m = red[0];
        for (int tid = 0; tid < THREADS; tid++) {
            red[tid] = decode_local_sum(a, r, qs, len, m, tid);
        }
        tree_host(red, tree_step_sum);
        float inv = finish_scale(red[0]);
        for (int c = 0; c < a.dh; c++) {
            acc[c] = 0.f;
        }
        for (int64_t j0 = 0; j0 < len; j0 += CHUNK) {
            for (int tid = 0; tid < THREADS; tid++) {
                decode_chunk_probs(a, r, qs, j0, len, m, ps, tid);
            }
            for (int c = 0; c < a.dh; c++) {
                acc[c] = decode_chunk_values(a, r, ps, j0, len, c, acc[c]);
            }
        }
        for (int c = 0; c < a.dh; c++) {
            store(a.out, a.dtype, qrow + c, rn_mul(acc[c], inv));
        }
    }
}

/* Appending: element i of k and v ([B, n, H, Dh]) to its place in the caches; a bit-exact copy. */
LV_HD void append_element(const void *k, const void *v, void *k_cache, void *v_cache, int dtype, int64_t n,
                          int64_t heads, int64_t dh, int64_t capacity, int64_t start, int64_t i) {
    int64_t c = i % dh, h = (i / dh) % heads, t = (i / (dh * heads)) % n, b = i / (dh * heads * n);
    int64_t to = ((b * heads + h) * capacity + start + t) * dh + c;
    if (dtype == LV_BF16) {
        ((uint16_t *) k_cache)[to] = ((const uint16_t *) k)[i];
        ((uint16_t *) v_cache)[to] = ((const uint16_t *) v)[i];
    } else {
        ((float *) k_cache)[to] = ((const float *) k)[i];
        ((float *) v_cache)[to] = ((const float *) v)[i];
    }
}

__global__ void kv_cache_append_kernel(const void *k, const void *v, void *k_cache, void *v_cache, int dtype,
                                       int64_t n, int64_t heads, int64_t dh, int64_t capacity, int64_t start,
                                       int64_t total) {
    int64_t i = (int64_t) blockIdx.x * blockDim.x + threadIdx.x;
    if (i < total) {
        append_element(k, v, k_cache, v_cache, dtype, n, heads, dh, capacity, start, i);
    }
}

/* The checks both entry points share: dtype, sizes, positions within the capacity, non-null buffers. */
int check_cache(const void *x, const void *y, const void *k_cache, const void *v_cache, const void *out, int dtype,
                int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start,
                int64_t max_head_dim) {
    if (dtype != LV_F32 && dtype != LV_BF16) {
        return LV_ERR_UNSUPPORTED_DTYPE;
    }
    if (batch < 0 || n < 0 || heads < 0 || head_dim < 1 || head_dim > max_head_dim || start < 0
        || capacity < start + n) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    if (batch * n * heads > 0 && (x == nullptr || y == nullptr || k_cache == nullptr || v_cache == nullptr
                                  || out == nullptr)) {
        return LV_ERR_INVALID_ARGUMENT;
    }
    return LV_OK;
}

DecodeArgs decode_args(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype, int64_t n,
                       int64_t heads, int64_t head_dim, int64_t capacity, int64_t start) {
    return DecodeArgs{q, k_cache, v_cache, out, dtype, n, heads, capacity, start, (int) head_dim,
                      (float) (1.0 / sqrt((double) head_dim))};
}

}  // namespace

// ================================================================ the C ABI

extern "C" int lv_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype,
                                  int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity,
                                  int64_t start, void *stream) {
    int status = check_cache(k, v, k_cache, v_cache, k_cache, dtype, batch, n, heads, head_dim, capacity, start,
                             INT32_MAX);
    int64_t total = batch * n * heads * head_dim;
    if (status != LV_OK || total == 0) {
        return status;
    }
    int threads = 256;
    kv_cache_append_kernel<<<(unsigned) ((total + threads - 1) / threads), threads, 0, (cudaStream_t) stream>>>(
        k, v, k_cache, v_cache, dtype, n, heads, head_dim, capacity, start, total);
    return (int) cudaGetLastError();
}

extern "C" int lv_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype,
                                   int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity,
                                   int64_t start, void *stream) {
    int status = check_cache(q, q, k_cache, v_cache, out, dtype, batch, n, heads, head_dim, capacity, start,
                             MAX_HEAD_DIM);
    int64_t rows = batch * n * heads;
    if (status != LV_OK || rows == 0) {
        return status;
    }
    if (rows > INT32_MAX) {
        return LV_ERR_INVALID_ARGUMENT;  // one block per row
    }
    DecodeArgs a = decode_args(q, k_cache, v_cache, out, dtype, n, heads, head_dim, capacity, start);
    attention_decode_kernel<<<(unsigned) rows, THREADS, 0, (cudaStream_t) stream>>>(a);
    return (int) cudaGetLastError();
}

// ================================================================ host twins

extern "C" int lv_host_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype,
                                       int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity,
                                       int64_t start) {
    int status = check_cache(k, v, k_cache, v_cache, k_cache, dtype, batch, n, heads, head_dim, capacity, start,
                             INT32_MAX);
    if (status != LV_OK) {
        return status;
    }
    int64_t total = batch * n * heads * head_dim;
    for (int64_t i = 0; i < total; i++) {
        append_element(k, v, k_cache, v_cache, dtype, n, heads, head_dim, capacity, start, i);
    }
    return LV_OK;
}

extern "C" int lv_host_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype,
                                        int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity,
                                        int64_t start) {
    int status = check_cache(q, q, k_cache, v_cache, out, dtype, batch, n, heads, head_dim, capacity, start,
                             MAX_HEAD_DIM);
    if (status != LV_OK) {
        return status;
    }
    attention_decode_host(decode_args(q, k_cache, v_cache, out, dtype, n, heads, head_dim, capacity, start),
                          batch * n * heads);
    return LV_OK;
}
