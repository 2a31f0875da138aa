/*
 * leviathan_cuda_host_attention.h: host twins of the attention and Leviathan-generator operations of
 * leviathan_cuda.h.
 *
 * Each lv_host_* function takes the device operation's arguments in the same order, minus the stream, with
 * host pointers (the workspace too, of the size the matching *_workspace_bytes function gives), and returns
 * the same statuses for the same arguments. It runs the kernel's own arithmetic (the __host__ __device__
 * functions of attention_math.cuh and generator_math.cuh) serially on the CPU: every block of the launch in
 * turn, and within a block every thread phase by phase, with the warp reductions replayed in the
 * butterfly's order. So the per-element maths of the kernels (scores, the online softmax, the backward's
 * recomputed probabilities, the spline weights and their derivative, the signed log-product and its
 * gradient, the deterministic dSpline sums) is tested on machines without a GPU. What the host twins do
 * not test is what only a GPU run shows: launch geometry, shared-memory sizes, synchronisation and races.
 *
 * The host twins and the kernels perform the same operations in the same order, so their results should
 * differ only where the CPU's and the GPU's expf/logf do (attention's exponentials; the generator uses none);
 * the native module's AttentionGeneratorDeviceTest checks that on a GPU.
 */
#ifndef LEVIATHAN_CUDA_HOST_ATTENTION_H
#define LEVIATHAN_CUDA_HOST_ATTENTION_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* lv_attention_forward on the CPU. */
int lv_host_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,
                              int64_t batch, int64_t seq, int64_t heads, int64_t head_dim);

/* lv_attention_backward on the CPU; workspace of lv_attention_backward_workspace_bytes bytes. */
int lv_host_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k, const void *v,
                               const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype,
                               int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace,
                               int64_t workspace_bytes);

/* lv_kv_cache_append on the CPU. */
int lv_host_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype, int64_t batch,
                            int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start);

/* lv_attention_decode on the CPU. */
int lv_host_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype,
                             int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity,
                             int64_t start);

/* lv_spline_basis on the CPU. */
int lv_host_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first,
                         float *weights);

/* lv_spline_basis_backward on the CPU. */
int lv_host_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n,
                                  int64_t d, int knots, int normalize, float *d_t);

/* lv_separable_modes on the CPU. */
int lv_host_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes,
                            int64_t groups, int64_t n, int64_t d, int knots, int64_t rank);

/* lv_separable_modes_backward on the CPU; workspace of lv_separable_modes_backward_workspace_bytes bytes. */
int lv_host_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights,
                                     const float *spline, const float *modes, float *d_weights, float *d_spline,
                                     int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *workspace,
                                     int64_t workspace_bytes);

#ifdef __cplusplus
}
#endif

#endif
