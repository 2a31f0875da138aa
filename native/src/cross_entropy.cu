// cross_entropy.cu: fused softmax + cross-entropy over logits [rows, vocab] against targets [rows], in three
// launches and no host sync:
//   1. count:  one block counts the rows that are not ignored (and records bad targets) into the workspace;
//   2. rows:   one block per row: max, sum of exp(x - max) (double, fixed tree), the row's loss into the
//              workspace and `losses`, and the gradient (softmax - onehot) * grad_scale / counted written over
//              d_logits (which may be the logits themselves: every thread reads its elements before writing);
//   3. reduce: one block sums the row losses in a fixed order and adds their mean to loss_sum[0].
// Workspace: double row_loss[rows] then int64 counted.
#include "common.cuh"
#include "cross_entropy.cuh"

namespace {

using lv::kRowThreads;

constexpr int kCountThreads = 1024;

int64_t align256(int64_t bytes) { return (bytes + 255) / 256 * 256; }

__global__ void ce_count_kernel(const int32_t *targets, int ignore_index, int64_t rows, int64_t vocab,
                                int64_t *counted, int32_t *err) {
    __shared__ long long buf[kCountThreads];
    long long mine = 0;
    for (int64_t r = threadIdx.x; r < rows; r += kCountThreads) {
        int32_t t = targets[r];
        if (lv::ce_counted(t, ignore_index, vocab)) mine++;
        else if (t != ignore_index) lv::record_error(err, LV_OP_CROSS_ENTROPY, r, t);
    }
    buf[threadIdx.x] = mine;
    __syncthreads();
    for (int stride = kCountThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) buf[threadIdx.x] += buf[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) *counted = buf[0];
}

__global__ void ce_rows_kernel(const float *logits, const int32_t *targets, int ignore_index, float *losses,
                               float *d_logits, float grad_scale, int64_t rows, int64_t vocab,
                               const int64_t *counted, double *row_loss) {
    float grad_per_row = lv::ce_grad_per_row(grad_scale, *counted);
    for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const float *x = logits + r * vocab;
        float *g = d_logits == nullptr ? nullptr : d_logits + r * vocab;
        int32_t t = targets[r];
        if (!lv::ce_counted(t, ignore_index, vocab)) {
            if (threadIdx.x == 0) {
                row_loss[r] = 0.0;
                if (losses != nullptr) losses[r] = 0.0f;
            }
            if (g != nullptr)
                for (int64_t c = threadIdx.x; c < vocab; c += kRowThreads) g[c] = 0.0f;
            continue;
        }
        float x_target = x[t];
        float m = -INFINITY;
        for (int64_t c = threadIdx.x; c < vocab; c += kRowThreads) m = fmaxf(m, x[c]);
        m = lv::block_max(m); // ends with a barrier: every thread has read x_target before any write below
        double sum = 0.0;
        for (int64_t c = threadIdx.x; c < vocab; c += kRowThreads) {
            float e = lv::softmax_exp(x[c], m);
            if (g != nullptr) g[c] = e;
            sum += static_cast<double>(e);
        }
        sum = lv::block_sum(sum);
        if (threadIdx.x == 0) {
            double loss = lv::ce_row_loss(sum, m, x_target);
            row_loss[r] = loss;
            if (losses != nullptr) losses[r] = static_cast<float>(loss);
        }
        if (g != nullptr) {
            float factor = lv::ce_grad_factor(grad_per_row, sum);
            for (int64_t c = threadIdx.x; c < vocab; c += kRowThreads)
                g[c] = lv::ce_grad(g[c], factor, c == t, grad_per_row);
        }
    }
}

__global__ void ce_reduce_kernel(const double *row_loss, const int64_t *counted, int64_t rows, float *loss_sum) {
    __shared__ double buf[kCountThreads];
    double mine = 0.0;
    for (int64_t r = threadIdx.x; r < rows; r += kCountThreads) mine += row_loss[r];
    buf[threadIdx.x] = mine;
    __syncthreads();
    for (int stride = kCountThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) buf[threadIdx.x] += buf[threadIdx.x + stride];
        __syncthreads();
    }
    if (threadIdx.x == 0) loss_sum[0] = loss_sum[0] + lv::ce_mean(buf[0], *counted);
}

int check_ce(const float *logits, const int32_t *targets, const float *loss_sum, int64_t rows, int64_t vocab,
             const void *workspace, int64_t workspace_bytes) {
    LV_REQUIRE(rows >= 0 && vocab >= 0 && vocab <= INT32_MAX);
    LV_REQUIRE(loss_sum != nullptr);
    LV_REQUIRE(rows == 0 || (logits != nullptr && targets != nullptr));
    if (workspace == nullptr || workspace_bytes < lv_cross_entropy_workspace_bytes(rows, vocab))
        return LV_ERR_WORKSPACE_TOO_SMALL;
    return LV_OK;
}

} // namespace

extern "C" {

int64_t lv_cross_entropy_workspace_bytes(int64_t rows, int64_t vocab) {
    (void)vocab;
    if (rows < 0) return -LV_ERR_INVALID_ARGUMENT;
    return align256(rows * 8) + 256;
}

int lv_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses,
                     float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab,
                     void *workspace, int64_t workspace_bytes, int32_t *err, void *stream) {
    int status = check_ce(logits, targets, loss_sum, rows, vocab, workspace, workspace_bytes);
    if (status != LV_OK) return status;
    double *row_loss = static_cast<double *>(workspace);
    int64_t *counted = reinterpret_cast<int64_t *>(static_cast<char *>(workspace) + align256(rows * 8));
    cudaStream_t s = lv::as_stream(stream);
    ce_count_kernel<<<1, kCountThreads, 0, s>>>(targets, ignore_index, rows, vocab, counted, err);
    if ((status = lv::launch_status()) != LV_OK) return status;
    if (rows > 0) {
        ce_rows_kernel<<<lv::grid_rows(rows), kRowThreads, 0, s>>>(logits, targets, ignore_index, losses, d_logits,
                                                                   grad_scale, rows, vocab, counted, row_loss);
        if ((status = lv::launch_status()) != LV_OK) return status;
    }
    ce_reduce_kernel<<<1, kCountThreads, 0, s>>>(row_loss, counted, rows, loss_sum);
    return lv::launch_status();
}

int lv_host_cross_entropy(const float *logits, const int32_t *targets, int ignore_index, float *losses,
                          float *d_logits, float grad_scale, float *loss_sum, int64_t rows, int64_t vocab,
                          void *workspace, int64_t workspace_bytes, int32_t *err) {
    int status = check_ce(logits, targets, loss_sum, rows, vocab, workspace, workspace_bytes);
    if (status != LV_OK) return status;
    double *row_loss = static_cast<double *>(workspace);
    int64_t *counted = reinterpret_cast<int64_t *>(static_cast<char *>(workspace) + align256(rows * 8));
    // 1. count
    *counted = 0;
    for (int64_t r = 0; r < rows; r++) {
        if (lv::ce_counted(targets[r], ignore_index, vocab)) (*counted)++;
        else if (targets[r] != ignore_index) lv::record_error(err, LV_OP_CROSS_ENTROPY, r, targets[r]);
    }
    // 2. rows
    float grad_per_row = lv::ce_grad_per_row(grad_scale, *counted);
    for (int64_t r = 0; r < rows; r++) {
        const float *x = logits + r * vocab;
        float *g = d_logits == nullptr ? nullptr : d_logits + r * vocab;
        int32_t t = targets[r];
        if (!lv::ce_counted(t, ignore_index, vocab)) {
            row_loss[r] = 0.0;
            if (losses != nullptr) losses[r] = 0.0f;
            if (g != nullptr)
                for (int64_t c = 0; c < vocab; c++) g[c] = 0.0f;
            continue;
        }
        float x_target = x[t];
        float m = -INFINITY;
        for (int64_t c = 0; c < vocab; c++) m = fmaxf(m, x[c]);
        double sum = 0.0;
        for (int64_t c = 0; c < vocab; c++) {
            float e = lv::softmax_exp(x[c], m);
            if (g != nullptr) g[c] = e;
            sum += static_cast<double>(e);
        }
        double loss = lv::ce_row_loss(sum, m, x_target);
        row_loss[r] = loss;
        if (losses != nullptr) losses[r] = static_cast<float>(loss);
        if (g != nullptr) {
            float factor = lv::ce_grad_factor(grad_per_row, sum);
            for (int64_t c = 0; c < vocab; c++) g[c] = lv::ce_grad(g[c], factor, c == t, grad_per_row);
        }
    }
    // 3. reduce
    double total = 0.0;
    for (int64_t r = 0; r < rows; r++) total += row_loss[r];
    loss_sum[0] = loss_sum[0] + lv::ce_mean(total, *counted);
    return LV_OK;
}

} // extern "C"
