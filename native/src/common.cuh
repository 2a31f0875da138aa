// common.cuh: what every kernel file shares: status helpers, launch geometry, the deterministic block
// reductions and the device error record (include/leviathan_cuda.h, "Conventions").
#pragma once

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>

#include "leviathan_cuda.h"
#include "leviathan_cuda_host.h"

// Arithmetic shared by a kernel and its lv_host_* twin.
#define LV_HD __host__ __device__ inline

// Argument checks; each returns its LV_ERR_* from the calling function.
#define LV_REQUIRE(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) return LV_ERR_INVALID_ARGUMENT;                                                         \
    } while (0)

namespace lv {

// Threads per block of the row kernels. The block reductions below assume exactly this many threads, so
// a row is always summed in the same order: results do not depend on the GPU or on timing.
constexpr int kRowThreads = 256;
// Threads per block of the element-wise kernels.
constexpr int kThreads = 256;

inline cudaStream_t as_stream(void *stream) { return static_cast<cudaStream_t>(stream); }

// The launch status: 0, or the cudaError_t of a bad configuration.
inline int launch_status() { return static_cast<int>(cudaGetLastError()); }

// A 1-D grid covering n items with `threads` per block, capped; the kernels' grid-stride loops take the rest.
inline unsigned int grid_for(int64_t n, int threads) {
    int64_t blocks = (n + threads - 1) / threads;
    const int64_t cap = 1LL << 20;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    return static_cast<unsigned int>(blocks);
}

// One block per row, capped; row kernels loop over rows with a stride of gridDim.x.
inline unsigned int grid_rows(int64_t rows) {
    const int64_t cap = 1LL << 20;
    return static_cast<unsigned int>(rows < 1 ? 1 : (rows > cap ? cap : rows));
}

#ifdef __CUDACC__
// The block-wide sum of v (double), identical on every thread, in a fixed tree order. blockDim.x must be
// kRowThreads; every thread must call it. The shared buffer is reused, so it ends with a barrier.
__device__ inline double block_sum(double v) {
    __shared__ double buf[kRowThreads];
    buf[threadIdx.x] = v;
    __syncthreads();
    for (int stride = kRowThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) buf[threadIdx.x] += buf[threadIdx.x + stride];
        __syncthreads();
    }
    double total = buf[0];
    __syncthreads();
    return total;
}

// The block-wide maximum of v (NaN propagates as fmaxf ignores it: rows holding NaN give NaN later anyway).
__device__ inline float block_max(float v) {
    __shared__ float buf[kRowThreads];
    buf[threadIdx.x] = v;
    __syncthreads();
    for (int stride = kRowThreads / 2; stride > 0; stride >>= 1) {
        if (threadIdx.x < stride) buf[threadIdx.x] = fmaxf(buf[threadIdx.x], buf[threadIdx.x + stride]);
        __syncthreads();
    }
    float m = buf[0];
    __syncthreads();
    return m;
}
#endif

// Records a data error (a bad id) in the int32[4] record: count, op, position (low 32 bits), value. The
// first error's details are kept; later ones are only counted.
LV_HD void record_error(int32_t *err, int op, int64_t position, int32_t value) {
    if (err == nullptr) return;
#ifdef __CUDA_ARCH__
    int previous = atomicAdd(&err[0], 1);
#else
    int previous = err[0]++;
#endif
    if (previous == 0) {
        err[1] = op;
        err[2] = static_cast<int32_t>(position & 0xffffffffLL);
        err[3] = value;
    }
}

} // namespace lv
