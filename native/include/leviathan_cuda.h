/*
 * leviathan_cuda.h: the C ABI of Leviathan's CUDA library (libleviathan_cuda.so).
 *
 * Java reaches every function here through the FFM bindings in
 * bindings/src/main/java/io/leviathan/bindings/cuda/LeviathanCuda.java, so the ABI is kept plain:
 * extern "C", scalars (int32, int64, float, double) and pointers only, no structs by value.
 *
 * Conventions
 *  - Every function returns an int status: 0 (LV_OK) on success, a cudaError_t value (1..9999) when the
 *    CUDA runtime reported an error, or an LV_ERR_* value (>= 10000) for an argument the library refused.
 *    lv_error_string(status) names it.
 *  - Device operations take the stream last and only enqueue work: they never synchronise. A launch error
 *    is returned at once; an error during execution surfaces at the next synchronising call.
 *  - Element counts and sizes are int64_t. Tensors are contiguous, row-major.
 *  - Dtype codes (LV_F32, LV_BF16, LV_I32) say how a void* tensor is laid out where an op accepts more
 *    than one. BF16 is the upper half of an IEEE float; narrowing rounds to nearest even; arithmetic is F32.
 *  - Backward operations ACCUMULATE (+=) into their gradient outputs, as the Java Backend interface says;
 *    a null gradient pointer (where the doc allows it) is skipped.
 *  - Data errors found by a kernel (a token id outside [0, V)) are not returned: the kernel records them in
 *    a device error record (int32[4]: count, op code LV_OP_*, position (low 32 bits), bad value) that the
 *    caller allocates once, zeroes, and reads at its next synchronisation.
 *  - Ops needing scratch memory take a caller-owned workspace; a *_workspace_bytes function says how much,
 *    so a training step allocates nothing.
 *  - Each kernel's arithmetic lives in __host__ __device__ functions; lv_host_* entry points (declared in
 *    leviathan_cuda_host.h, and for attention and the generator in leviathan_cuda_host_attention.h) run the
 *    same functions on the CPU so the maths is tested without a GPU.
 */
#ifndef LEVIATHAN_CUDA_H
#define LEVIATHAN_CUDA_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LV_ABI_VERSION 1

#define LV_OK 0
#define LV_ERR_INVALID_ARGUMENT 10001 /* a size, count or pointer the op cannot take */
#define LV_ERR_UNSUPPORTED_DTYPE 10002 /* a dtype code the op does not accept */
#define LV_ERR_WORKSPACE_TOO_SMALL 10003

#define LV_F32 0
#define LV_BF16 1
#define LV_I32 2

/* Op codes in the device error record. */
#define LV_OP_EMBEDDING 1
#define LV_OP_EMBEDDING_BACKWARD 2
#define LV_OP_CROSS_ENTROPY 3

/* ------------------------------------------------------------------ library and runtime */

int lv_abi_version(void);
/* A static string naming status (LV_ERR_* or cudaError_t). Never null. */
const char *lv_error_string(int status);
/* The CUDA runtime version this library was built with, and the driver's (0 when no driver). */
int lv_runtime_version(int *version);
int lv_driver_version(int *version);

int lv_device_count(int *count);
int lv_set_device(int device);
/* cudaDeviceGetAttribute: attr is a cudaDeviceAttr value. */
int lv_device_attribute(int device, int attr, int *value);
/* Writes the device's name, NUL-terminated, into buf (at most len bytes). */
int lv_device_name(int device, char *buf, int len);
int lv_mem_info(int64_t *free_bytes, int64_t *total_bytes);

int lv_stream_create(void **stream);
int lv_stream_destroy(void *stream);
int lv_stream_synchronize(void *stream);
int lv_device_synchronize(void);

int lv_event_create(void **event);
int lv_event_destroy(void *event);
int lv_event_record(void *event, void *stream);
int lv_event_synchronize(void *event);
int lv_event_elapsed_ms(void *start, void *end, float *ms);

int lv_malloc(void **ptr, int64_t bytes);
int lv_free(void *ptr);
/* Stream-ordered allocation (cudaMallocAsync). */
int lv_malloc_async(void **ptr, int64_t bytes, void *stream);
int lv_free_async(void *ptr, void *stream);
/* Page-locked host memory for staging uploads and downloads. */
int lv_host_alloc(void **ptr, int64_t bytes);
int lv_host_free(void *ptr);
/* cudaMemcpyAsync with cudaMemcpyDefault (unified addressing works out the direction). */
int lv_memcpy_async(void *dst, const void *src, int64_t bytes, void *stream);
int lv_memset_async(void *dst, int value, int64_t bytes, void *stream);

/* ------------------------------------------------------------------ data movement and conversion */

/* dst = src for n elements; F32 <-> BF16 convert (BF16 rounds to nearest even); same dtype copies. */
int lv_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n, void *stream);
/* Every element of t (F32 or BF16) set to value. */
int lv_fill(void *t, int dtype, int64_t n, float value, void *stream);

/* ------------------------------------------------------------------ element-wise (F32) */

int lv_add(const float *a, const float *b, float *out, int64_t n, void *stream);
int lv_mul(const float *a, const float *b, float *out, int64_t n, void *stream);
/* dA += dOut * b, dB += dOut * a; either gradient may be null. */
int lv_mul_backward(const float *d_out, const float *a, const float *b, float *d_a, float *d_b, int64_t n,
                    void *stream);
int lv_scale(const float *a, float s, float *out, int64_t n, void *stream);
/* y += alpha * x */
int lv_axpy(float alpha, const float *x, float *y, int64_t n, void *stream);

/* ------------------------------------------------------------------ reductions (F32) */

/* out[r] = scale * sum_c x[r, c]: the Backend's sumLastDim (scale 1) and meanLastDim (scale 1/cols). */
int lv_row_sum(const float *x, float *out, int64_t rows, int64_t cols, float scale, void *stream);
/* dX[r, c] += scale * dOut[r] */
int lv_row_sum_backward(const float *d_out, float *d_x, int64_t rows, int64_t cols, float scale, void *stream);
/* out[0] = (float) (scale * sum of all x), accumulated in double: Backend sum (scale 1), mean (1/n).
 * lv_reduce_sum and lv_sum_squares keep their per-block partial sums in one device array of this library:
 * two of them must not run concurrently on different streams (one stream orders them). */
int lv_reduce_sum(const float *x, int64_t n, double scale, float *out, void *stream);
/* acc[0] += sum of x^2 (double), for the global L2 norm of several tensors; x is F32. */
int lv_sum_squares(const float *x, int64_t n, double *acc, void *stream);
/* out[0] = (float) sqrt(acc[0]). */
int lv_sqrt_to_float(const double *acc, float *out, void *stream);

/* ------------------------------------------------------------------ normalisation (F32) */

/* out = x * rstd * w, rstd[r] = 1 / sqrt(mean(x[r]^2) + eps). */
int lv_rmsnorm_forward(const float *x, const float *w, float eps, float *out, float *rstd, int64_t rows,
                       int64_t cols, void *stream);
/* Accumulates dX and dW. */
int lv_rmsnorm_backward(const float *d_out, const float *x, const float *w, const float *rstd, float *d_x,
                        float *d_w, int64_t rows, int64_t cols, void *stream);
/* LayerNorm with biased variance over x [groups, rows_per_group, cols]; w and b are [groups, cols]
 * (groups = 1: shared by every row). Saves mean and rstd per row. */
int lv_layernorm_forward(const float *x, const float *w, const float *b, float eps, float *out, float *mean,
                         float *rstd, int64_t groups, int64_t rows_per_group, int64_t cols, void *stream);
/* Accumulates dX, dW, dB (dW and dB shaped like w). */
int lv_layernorm_backward(const float *d_out, const float *x, const float *w, const float *mean,
                          const float *rstd, float *d_x, float *d_w, float *d_b, int64_t groups,
                          int64_t rows_per_group, int64_t cols, void *stream);

/* ------------------------------------------------------------------ rotary position embedding (F32) */

/* x, out [B, T, H, Dh] (out may equal x); cos, sin [maxT, Dh/2], row t for position t. Rotate-half. */
int lv_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch, int64_t seq,
                    int64_t heads, int64_t head_dim, void *stream);
/* dX += rotation of dOut by the negative angle. */
int lv_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch,
                     int64_t seq, int64_t heads, int64_t head_dim, void *stream);
/* cos[t, i] = cos(t * theta^(-2i/Dh)) computed in double, likewise sin; tables [max_t, head_dim/2]. */
int lv_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim, void *stream);

/* ------------------------------------------------------------------ activations (F32) */

int lv_silu(const float *x, float *out, int64_t n, void *stream);
int lv_silu_backward(const float *d_out, const float *x, float *d_x, int64_t n, void *stream);
int lv_sigmoid(const float *x, float *out, int64_t n, void *stream);
/* dX += dOut * y * (1 - y), from the output y. */
int lv_sigmoid_backward(const float *d_out, const float *y, float *d_x, int64_t n, void *stream);
/* out = silu(gate) * up */
int lv_swiglu(const float *gate, const float *up, float *out, int64_t n, void *stream);
int lv_swiglu_backward(const float *d_out, const float *gate, const float *up, float *d_gate, float *d_up,
                       int64_t n, void *stream);
/* Softmax over rows of cols (max-subtracted); out may equal x. */
int lv_softmax(const float *x, float *out, int64_t rows, int64_t cols, void *stream);
/* dX += y * (dOut - sum(dOut * y)) per row. */
int lv_softmax_backward(const float *d_out, const float *y, float *d_x, int64_t rows, int64_t cols, void *stream);

/* ------------------------------------------------------------------ embedding and loss */

/* out[n, :] = table[ids[n], :] for n < count; table [V, D] and out are F32. A bad id is recorded in err
 * (op LV_OP_EMBEDDING, its position and value) and its row zero-filled. */
int lv_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab,
                         int64_t dim, int32_t *err, void *stream);
int64_t lv_embedding_backward_workspace_bytes(int64_t count, int64_t vocab, int64_t dim);
/* dTable[ids[n], :] += dOut[n, :]. With deterministic != 0 the sum for each row is taken in a fixed order
 * (positions in increasing order), so repeated runs give identical bits; otherwise atomics may be used.
 * Bad ids are recorded (LV_OP_EMBEDDING_BACKWARD) and skipped. */
int lv_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count, int64_t vocab,
                          int64_t dim, int deterministic, void *workspace, int64_t workspace_bytes,
                          int32_t *err, void *stream);

int64_t lv_cross_entropy_workspace_bytes(int64_t rows, int64_t vocab);
/* Fused softmax + cross-entropy over logits [rows, vocab] (F32) against targets [rows].
 * Rows whose target equals ignore_index count for nothing. loss_sum[0] += mean loss over counted rows
 * (0 when none). losses (nullable) receives each row's loss (0 where ignored). d_logits (nullable; may
 * equal logits) is OVERWRITTEN with (softmax - onehot) * grad_scale / counted (0 rows where ignored).
 * A target outside [0, vocab) that is not ignore_index is recorded (LV_OP_CROSS_ENTROPY) and its row
 * treated as ignored. */
int lv_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses,
                     float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab,
                     void *workspace, int64_t workspace_bytes, int32_t *err, void *stream);

/* ------------------------------------------------------------------ optimisation */

/* One AdamW step over n flat elements. bias1 = 1 - beta1^step, bias2 = 1 - beta2^step (computed by the
 * caller in double). Elements [0, decayed_count) take p *= 1 - lr * weight_decay first, the rest none.
 * With grad_norm non-null: norm = grad_norm[0]; when norm is not finite nothing is updated; when
 * clip_norm > 0 and norm > clip_norm the gradient is read as g * clip_norm / (norm + 1e-6). */
int lv_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
             float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count,
             const float *grad_norm, float clip_norm, void *stream);

/* ------------------------------------------------------------------ attention */

/* Causal scaled-dot-product attention, flash-attention 2 style (src/attention.cu). q, k, v, out [B, T, H, Dh]
 * all of dtype (F32 or BF16; a BF16 out rounds to nearest even), arithmetic F32, 1 <= head_dim <= 128
 * (LV_ERR_INVALID_ARGUMENT above); lse [B, H, T] F32 receives the natural log of
 * sum_{j<=i} exp(q_i.k_j / sqrt(Dh)), the only state the backward needs. */
int lv_attention_forward(const void *q, const void *k, const void *v, void *out, float *lse, int dtype,
                         int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *stream);
/* B * H * T floats: D = rowsum(dOut * out) per row. */
int64_t lv_attention_backward_workspace_bytes(int64_t batch, int64_t seq, int64_t heads, int64_t head_dim);
/* Flash-attention 2 backward recomputing P from q, k and lse; d_out of d_out_dtype (F32 or BF16), q/k/v/out
 * of dtype; lse, d_q, d_k, d_v F32 [.., as q]; accumulates into d_q, d_k, d_v. Deterministic: dK and dV are
 * summed by one block per key tile and dQ by one block per query tile, in a fixed order, with no atomics. */
int lv_attention_backward(const void *d_out, int d_out_dtype, const void *q, const void *k, const void *v,
                          const void *out, const float *lse, float *d_q, float *d_k, float *d_v, int dtype,
                          int64_t batch, int64_t seq, int64_t heads, int64_t head_dim, void *workspace,
                          int64_t workspace_bytes, void *stream);

/* ------------------------------------------------------------------ the key/value cache of inference */

/* Appends n positions to a key/value cache (src/attention_decode.cu): k_cache[b, h, start + t, :] = k[b, t, h, :]
 * and likewise v, for t < n. k, v [B, n, H, Dh]; k_cache, v_cache [B, H, capacity, Dh] with
 * start + n <= capacity (LV_ERR_INVALID_ARGUMENT otherwise); all of dtype (F32 or BF16), copied exactly. */
int lv_kv_cache_append(const void *k, const void *v, void *k_cache, void *v_cache, int dtype, int64_t batch,
                       int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start, void *stream);
/* Causal attention of n query rows against a cache: row t of q [B, n, H, Dh] is position start + t and attends
 * to cached positions j <= start + t (appended before); out [B, n, H, Dh]; caches as above; all of dtype,
 * arithmetic F32, 1 <= head_dim <= 128. Nothing is saved for a backward pass. */
int lv_attention_decode(const void *q, const void *k_cache, const void *v_cache, void *out, int dtype,
                        int64_t batch, int64_t n, int64_t heads, int64_t head_dim, int64_t capacity, int64_t start,
                        void *stream);

/* ------------------------------------------------------------------ Leviathan generator (F32) */

/* Quadratic B-spline basis on `knots` (>= 2) uniform knots over [0, 1] for t [n, d] (clamped): first [n, d]
 * I32 is the first knot of the three-knot window (nearest - 1, may be -1), weights [n, d, 3]; normalize != 0
 * divides the three weights by their sum. Computed in double with Backend.splineBasis's operations. */
int lv_spline_basis(const float *t, int64_t n, int64_t d, int knots, int normalize, int32_t *first,
                    float *weights, void *stream);
/* dT += d weights / d t . d_weights (0 where t was clamped); first must be the forward's. */
int lv_spline_basis_backward(const float *d_weights, const float *t, const int32_t *first, int64_t n, int64_t d,
                             int knots, int normalize, float *d_t, void *stream);
/* Separable modes of `groups` heads: first [G, n, d], weights [G, n, d, 3], spline [G, d, knots, R],
 * modes [n, G, R] (G = 1 is the ungrouped form). modes = sign * exp(sum_i log(|phi_i| + 1e-9)), computed
 * exactly as the product of phi_i +- 1e-9 (the sign of phi_i), as Backend.separableModes. A window start
 * outside [-1, knots - 2] is never read through: its row's modes are NaN. */
int lv_separable_modes(const int32_t *first, const float *weights, const float *spline, float *modes,
                       int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *stream);
/* Partial dSpline sums of the row chunks (a function of the shapes only); 0 for small shapes. */
int64_t lv_separable_modes_backward_workspace_bytes(int64_t groups, int64_t n, int64_t d, int knots,
                                                    int64_t rank);
/* Accumulates dWeights (like weights) and dSpline (like spline), exact for the log-magnitude formula.
 * Deterministic: dWeights by one warp per window, dSpline per (head, seed dim, knot, mode) summed over rows
 * in increasing order within fixed row chunks and then over chunks in order, with no atomics. A window off
 * the grid gets NaN dWeights and adds nothing to dSpline. */
int lv_separable_modes_backward(const float *d_modes, const int32_t *first, const float *weights,
                                const float *spline, const float *modes, float *d_weights, float *d_spline,
                                int64_t groups, int64_t n, int64_t d, int knots, int64_t rank, void *workspace,
                                int64_t workspace_bytes, void *stream);

#ifdef __cplusplus
}
#endif

#endif
