/*
 * leviathan_cuda_host.h: host entry points of libleviathan_cuda.so that run each kernel's arithmetic on the
 * CPU, so the maths is checked against the Java CPU backend on machines without a GPU.
 *
 * Each lv_host_X takes the arguments of lv_X in leviathan_cuda.h, in the same order, minus the stream; all
 * pointers are host pointers. Where lv_X has a device error record, lv_host_X takes it as a host int32[4]
 * with the same meaning. The per-element arithmetic (the __host__ __device__ functions of the .cuh files in
 * src/) is the very code the kernels run; what differs is only the order in which a row's or a tensor's sum
 * is taken (serially here, by a fixed block tree on the device). Statuses are those of lv_X (LV_ERR_* for a refused
 * argument); no CUDA call is made, so these work without a driver.
 */
#ifndef LEVIATHAN_CUDA_HOST_H
#define LEVIATHAN_CUDA_HOST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ data movement and conversion */

int lv_host_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n);
int lv_host_fill(void *t, int dtype, int64_t n, float value);

/* ------------------------------------------------------------------ element-wise (F32) */

int lv_host_add(const float *a, const float *b, float *out, int64_t n);
int lv_host_mul(const float *a, const float *b, float *out, int64_t n);
int lv_host_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n);
int lv_host_scale(const float *a, float s, float *out, int64_t n);
int lv_host_axpy(float alpha, const float *x, float *y, int64_t n);

/* ------------------------------------------------------------------ reductions (F32) */

int lv_host_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale);
int lv_host_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale);
int lv_host_reduce_sum(const float *x, int64_t n, double scale, float *out);
int lv_host_sum_squares(const float *x, int64_t n, double *acc);
int lv_host_sqrt_to_float(const double *acc, float *out);

/* ------------------------------------------------------------------ normalisation (F32) */

int lv_host_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows,
                            int64_t cols);
int lv_host_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x,
                             float *d_w, int64_t rows, int64_t cols);
int lv_host_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean,
                              float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols);
int lv_host_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean,
                               const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups,
                               int64_t rows_per_group, int64_t cols);

/* ------------------------------------------------------------------ rotary position embedding (F32) */

int lv_host_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch,
                         int64_t seq, int64_t heads, int64_t head_dim);
int lv_host_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch,
                          int64_t seq, int64_t heads, int64_t head_dim);
int lv_host_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim);

/* ------------------------------------------------------------------ activations (F32) */

int lv_host_silu(const float *x, float *out, int64_t n);
int lv_host_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n);
int lv_host_sigmoid(const float *x, float *out, int64_t n);
int lv_host_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n);
int lv_host_swiglu(const float *gate, const float *up, float *out, int64_t n);
int lv_host_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up,
                            int64_t n);
int lv_host_softmax(const float *x, float *out, int64_t rows, int64_t cols);
int lv_host_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols);

/* ------------------------------------------------------------------ embedding and loss */

int lv_host_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab,
                              int64_t dim, int32_t *err);
/* The host sums every row in position order whatever `deterministic` says (that is the order the device's
 * deterministic path uses); it needs no workspace, so workspace may be null and workspace_bytes 0. */
int lv_host_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count,
                               int64_t vocab, int64_t dim, int deterministic, void *workspace,
                               int64_t workspace_bytes, int32_t *err);
/* workspace: host memory of at least lv_cross_entropy_workspace_bytes(rows, vocab) bytes, used as the
 * device uses it (per-row losses and the counted rows). */
int lv_host_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses,
                          float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab,
                          void *workspace, int64_t workspace_bytes, int32_t *err);

/* ------------------------------------------------------------------ optimisation */

int lv_host_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count,
                  const float *grad_norm, float clip_norm);

#ifdef __cplusplus
}
#endif

#endif
