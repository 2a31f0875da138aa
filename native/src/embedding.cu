// embedding.cu: token embedding gather (forward) and scatter-add (backward).
//
// Backward, deterministic: the (id, position) pairs are sorted by id with CUB's stable radix sort (in the
// caller's workspace), so equal ids keep their positions in increasing order; then one block per unique
// id adds that id's gradient rows in that order onto dTable's row. Repeated runs give identical bits, and
// the order is the one the CPU backend uses. Non-deterministic: one atomicAdd per element.
// Bad ids (outside [0, vocab)) are recorded in the error record and skipped (forward: row zero-filled).
#include <cub/device/device_radix_sort.cuh>

#include "common.cuh"

namespace {

constexpr int kDimThreads = 128;

// Per-element arithmetic of the backward, shared with the host twin.
LV_HD float embedding_grad_step(float acc, float d_out) { return acc + d_out; }

LV_HD bool bad_id(int32_t id, int64_t vocab) { return id < 0 || static_cast<int64_t>(id) >= vocab; }

// One block per token (grid-stride over tokens), threads over the row.
__global__ void embedding_forward_kernel(const int32_t *ids, const float *table, float *out, int64_t count,
                                         int64_t vocab, int64_t dim, int32_t *err) {
    for (int64_t n = blockIdx.x; n < count; n += gridDim.x) {
        int32_t id = ids[n];
        bool bad = bad_id(id, vocab);
        if (bad && threadIdx.x == 0) lv::record_error(err, LV_OP_EMBEDDING, n, id);
        for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
            out[n * dim + d] = bad ? 0.0f : table[static_cast<int64_t>(id) * dim + d];
    }
}

__global__ void embedding_backward_atomic_kernel(const float *d_out, const int32_t *ids, float *d_table,
                                                 int64_t count, int64_t vocab, int64_t dim, int32_t *err) {
    for (int64_t n = blockIdx.x; n < count; n += gridDim.x) {
        int32_t id = ids[n];
        if (bad_id(id, vocab)) {
            if (threadIdx.x == 0) lv::record_error(err, LV_OP_EMBEDDING_BACKWARD, n, id);
            continue;
        }
        for (int64_t d = threadIdx.x; d < dim; d += blockDim.x)
            atomicAdd(&d_table[static_cast<int64_t>(id) * dim + d], d_out[n * dim + d]);
    }
}

// Sort keys: the id, or vocab for a bad id (recorded here, sorted last and skipped); values: positions.
__global__ void embedding_keys_kernel(const int32_t *ids, int32_t *keys, int32_t *positions, int64_t count,
                                      int64_t vocab, int32_t *err) {
    for (int64_t n = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; n < count; n += (int64_t)gridDim.x * blockDim.x) {
        int32_t id = ids[n];
        if (bad_id(id, vocab)) {
            lv::record_error(err, LV_OP_EMBEDDING_BACKWARD, n, id);
            id = static_cast<int32_t>(vocab);
        }
        keys[n] = id;
        positions[n] = static_cast<int32_t>(n);
    }
}

// Block i starts a run of equal sorted keys when i == 0 or key[i] != key[i - 1]; it sums the run's rows
// in position order onto dTable[key]. The run's end is found by binary search first, so the loop over the
// run has a known length and its loads can be in flight together (a frequent token has a long run).
__global__ void embedding_backward_sorted_kernel(const float *d_out, const int32_t *keys, const int32_t *positions,
                                                 float *d_table, int64_t count, int64_t vocab, int64_t dim) {
    for (int64_t i = blockIdx.x; i < count; i += gridDim.x) {
        int32_t key = keys[i];
        if (key >= vocab || (i > 0 && keys[i - 1] == key)) continue;
        int64_t lo = i + 1, hi = count; // the first index whose key is greater
        while (lo < hi) {
            int64_t mid = lo + (hi - lo) / 2;
            if (keys[mid] <= key) lo = mid + 1;
            else hi = mid;
        }
        int64_t end = lo;
        for (int64_t d = threadIdx.x; d < dim; d += blockDim.x) {
            float acc = d_table[static_cast<int64_t>(key) * dim + d];
#pragma unroll 8
            for (int64_t j = i; j < end; j++)
                acc = embedding_grad_step(acc, d_out[static_cast<int64_t>(positions[j]) * dim + d]);
            d_table[static_cast<int64_t>(key) * dim + d] = acc;
        }
    }
}

int64_t align256(int64_t bytes) { return (bytes + 255) / 256 * 256; }

// Bits the radix sort needs for keys in [0, vocab].
int key_bits(int64_t vocab) {
    int bits = 1;
    while (bits < 31 && (1LL << bits) <= vocab) bits++;
    return bits;
}

// CUB's scratch for sorting count pairs, or a negative cudaError_t when CUB could not size it.
int64_t cub_sort_bytes(int64_t count, int64_t vocab) {
    size_t bytes = 0;
    cudaError_t e = cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int32_t *>(nullptr),
                                                    static_cast<int32_t *>(nullptr),
                                                    static_cast<const int32_t *>(nullptr),
                                                    static_cast<int32_t *>(nullptr), static_cast<int>(count), 0,
                                                    key_bits(vocab));
    return e == cudaSuccess ? static_cast<int64_t>(bytes) : -static_cast<int64_t>(e);
}

int check_embedding(const void *a, const void *b, const void *c, int64_t count, int64_t vocab, int64_t dim) {
    LV_REQUIRE(count >= 0 && vocab >= 0 && dim >= 0);
    LV_REQUIRE(vocab <= INT32_MAX - 1 && count <= INT32_MAX);
    LV_REQUIRE(count == 0 || (a != nullptr && b != nullptr && c != nullptr));
    return LV_OK;
}

} // namespace

extern "C" {

int lv_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab,
                         int64_t dim, int32_t *err, void *stream) {
    int status = check_embedding(ids, table, out, count, vocab, dim);
    if (status != LV_OK || count == 0) return status;
    embedding_forward_kernel<<<lv::grid_rows(count), kDimThreads, 0, lv::as_stream(stream)>>>(ids, table, out, count,
                                                                                               vocab, dim, err);
    return lv::launch_status();
}

int lv_host_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab,
                              int64_t dim, int32_t *err) {
    int status = check_embedding(ids, table, out, count, vocab, dim);
    if (status != LV_OK) return status;
    for (int64_t n = 0; n < count; n++) {
        bool bad = bad_id(ids[n], vocab);
        if (bad) lv::record_error(err, LV_OP_EMBEDDING, n, ids[n]);
        for (int64_t d = 0; d < dim; d++) out[n * dim + d] = bad ? 0.0f : table[static_cast<int64_t>(ids[n]) * dim + d];
    }
    return LV_OK;
}

/* Workspace layout: keys, sorted keys, positions, sorted positions (int32[count] each, 256-aligned), then
 * CUB's sort scratch. A negative result is -cudaError_t: CUB could not size its scratch (no device). */
int64_t lv_embedding_backward_workspace_bytes(int64_t count, int64_t vocab, int64_t dim) {
    (void)dim;
    if (count < 0 || vocab < 0 || vocab > INT32_MAX - 1 || count > INT32_MAX) return -LV_ERR_INVALID_ARGUMENT;
    int64_t sort = cub_sort_bytes(count, vocab);
    if (sort < 0) return sort;
    return 4 * align256(count * 4) + align256(sort);
}

int lv_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count, int64_t vocab,
                          int64_t dim, int deterministic, void *workspace, int64_t workspace_bytes,
                          int32_t *err, void *stream) {
    int status = check_embedding(d_out, ids, d_table, count, vocab, dim);
    if (status != LV_OK || count == 0 || dim == 0) return status;
    cudaStream_t s = lv::as_stream(stream);
    if (!deterministic) {
        embedding_backward_atomic_kernel<<<lv::grid_rows(count), kDimThreads, 0, s>>>(d_out, ids, d_table, count,
                                                                                       vocab, dim, err);
        return lv::launch_status();
    }
    int64_t sort = cub_sort_bytes(count, vocab);
    if (sort < 0) return static_cast<int>(-sort);
    int64_t slot = align256(count * 4);
    if (workspace == nullptr || workspace_bytes < 4 * slot + align256(sort)) return LV_ERR_WORKSPACE_TOO_SMALL;
    char *base = static_cast<char *>(workspace);
    int32_t *keys = reinterpret_cast<int32_t *>(base);
    int32_t *keys_sorted = reinterpret_cast<int32_t *>(base + slot);
    int32_t *positions = reinterpret_cast<int32_t *>(base + 2 * slot);
    int32_t *positions_sorted = reinterpret_cast<int32_t *>(base + 3 * slot);
    void *scratch = base + 4 * slot;
    size_t scratch_bytes = static_cast<size_t>(workspace_bytes - 4 * slot);

    embedding_keys_kernel<<<lv::grid_for(count, 256), 256, 0, s>>>(ids, keys, positions, count, vocab, err);
    status = lv::launch_status();
    if (status != LV_OK) return status;
    cudaError_t e = cub::DeviceRadixSort::SortPairs(scratch, scratch_bytes, keys, keys_sorted, positions,
                                                    positions_sorted, static_cast<int>(count), 0, key_bits(vocab), s);
    if (e != cudaSuccess) return static_cast<int>(e);
    embedding_backward_sorted_kernel<<<lv::grid_rows(count), kDimThreads, 0, s>>>(
        d_out, keys_sorted, positions_sorted, d_table, count, vocab, dim);
    return lv::launch_status();
}

int lv_host_embedding_backward(const float *d_out, const int32_t *ids, float *d_table, int64_t count,
                               int64_t vocab, int64_t dim, int deterministic, void *workspace,
                               int64_t workspace_bytes, int32_t *err) {
    (void)deterministic;
    (void)workspace;
    int status = check_embedding(d_out, ids, d_table, count, vocab, dim);
    if (status != LV_OK) return status;
    LV_REQUIRE(workspace_bytes >= 0);
    for (int64_t n = 0; n < count; n++) {
        int32_t id = ids[n];
        if (bad_id(id, vocab)) {
            lv::record_error(err, LV_OP_EMBEDDING_BACKWARD, n, id);
            continue;
        }
        for (int64_t d = 0; d < dim; d++)
            d_table[static_cast<int64_t>(id) * dim + d] =
                embedding_grad_step(d_table[static_cast<int64_t>(id) * dim + d], d_out[n * dim + d]);
    }
    return LV_OK;
}

} // extern "C"
