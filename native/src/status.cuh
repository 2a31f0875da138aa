// status.cuh: the status conventions every .cu shares (include/leviathan_cuda.h, "Conventions").
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

#include "leviathan_cuda.h"

namespace lv {

// The status of the last launch on this thread: 0, or the cudaError_t of a bad configuration.
inline int launch_status() { return static_cast<int>(cudaGetLastError()); }

inline cudaStream_t as_stream(void *stream) { return static_cast<cudaStream_t>(stream); }

// A 1-D grid covering n elements with `threads` per block, capped so the grid-stride loops take the rest.
inline unsigned int grid_for(int64_t n, int threads) {
    int64_t blocks = (n + threads - 1) / threads;
    const int64_t cap = 65535LL * 16;
    if (blocks > cap) blocks = cap;
    if (blocks < 1) blocks = 1;
    return static_cast<unsigned int>(blocks);
}

} // namespace lv

// Argument checks shared by every op; each returns its LV_ERR_* from the calling function.
#define LV_REQUIRE(cond)                                                                                     \
    do {                                                                                                     \
        if (!(cond)) return LV_ERR_INVALID_ARGUMENT;                                                         \
    } while (0)
