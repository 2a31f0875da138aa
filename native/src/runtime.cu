// runtime.cu: the library and runtime section of leviathan_cuda.h. Thin calls to the CUDA runtime, linked
// statically into this library so the process has exactly one runtime; statuses are cudaError_t values.
#include <cuda_runtime.h>
#include <stdio.h>
#include <string.h>

#include "leviathan_cuda.h"
#include "common.cuh"

extern "C" {

int lv_abi_version(void) { return LV_ABI_VERSION; }

const char *lv_error_string(int status) {
    switch (status) {
    case LV_OK: return "LV_OK: success";
    case LV_ERR_INVALID_ARGUMENT: return "LV_ERR_INVALID_ARGUMENT: a size, count or pointer the op cannot take";
    case LV_ERR_UNSUPPORTED_DTYPE: return "LV_ERR_UNSUPPORTED_DTYPE: a dtype code the op does not accept";
    case LV_ERR_WORKSPACE_TOO_SMALL: return "LV_ERR_WORKSPACE_TOO_SMALL: the workspace is smaller than the op needs";
    default: break;
    }
    if (status > 0 && status < 10000) {
        // cudaGetErrorName and cudaGetErrorString return static strings, "unrecognized error code" included.
        static thread_local char buf[320];
        cudaError_t e = static_cast<cudaError_t>(status);
        snprintf(buf, sizeof buf, "%s: %s", cudaGetErrorName(e), cudaGetErrorString(e));
        return buf;
    }
    return "unknown status (neither a cudaError_t nor an LV_ERR_* value)";
}

int lv_runtime_version(int *version) {
    LV_REQUIRE(version != nullptr);
    return static_cast<int>(cudaRuntimeGetVersion(version));
}

int lv_driver_version(int *version) {
    LV_REQUIRE(version != nullptr);
    return static_cast<int>(cudaDriverGetVersion(version));
}

int lv_device_count(int *count) {
    LV_REQUIRE(count != nullptr);
    *count = 0;
    return static_cast<int>(cudaGetDeviceCount(count));
}

int lv_set_device(int device) {
    LV_REQUIRE(device >= 0);
    return static_cast<int>(cudaSetDevice(device));
}

int lv_device_attribute(int device, int attr, int *value) {
    LV_REQUIRE(device >= 0 && value != nullptr);
    return static_cast<int>(cudaDeviceGetAttribute(value, static_cast<cudaDeviceAttr>(attr), device));
}

int lv_device_name(int device, char *buf, int len) {
    LV_REQUIRE(device >= 0 && buf != nullptr && len > 0);
    cudaDeviceProp prop;
    cudaError_t e = cudaGetDeviceProperties(&prop, device);
    if (e != cudaSuccess) return static_cast<int>(e);
    strncpy(buf, prop.name, static_cast<size_t>(len) - 1);
    buf[len - 1] = '\0';
    return LV_OK;
}

int lv_mem_info(int64_t *free_bytes, int64_t *total_bytes) {
    LV_REQUIRE(free_bytes != nullptr && total_bytes != nullptr);
    size_t f = 0, t = 0;
    cudaError_t e = cudaMemGetInfo(&f, &t);
    *free_bytes = static_cast<int64_t>(f);
    *total_bytes = static_cast<int64_t>(t);
    return static_cast<int>(e);
}

int lv_stream_create(void **stream) {
    LV_REQUIRE(stream != nullptr);
    cudaStream_t s = nullptr;
    cudaError_t e = cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking);
    *stream = s;
    return static_cast<int>(e);
}

int lv_stream_destroy(void *stream) {
    LV_REQUIRE(stream != nullptr);
    return static_cast<int>(cudaStreamDestroy(lv::as_stream(stream)));
}

int lv_stream_synchronize(void *stream) { return static_cast<int>(cudaStreamSynchronize(lv::as_stream(stream))); }

int lv_device_synchronize(void) { return static_cast<int>(cudaDeviceSynchronize()); }

int lv_event_create(void **event) {
    LV_REQUIRE(event != nullptr);
    cudaEvent_t ev = nullptr;
    cudaError_t e = cudaEventCreate(&ev);
    *event = ev;
    return static_cast<int>(e);
}

int lv_event_destroy(void *event) {
    LV_REQUIRE(event != nullptr);
    return static_cast<int>(cudaEventDestroy(static_cast<cudaEvent_t>(event)));
}

int lv_event_record(void *event, void *stream) {
    LV_REQUIRE(event != nullptr);
    return static_cast<int>(cudaEventRecord(static_cast<cudaEvent_t>(event), lv::as_stream(stream)));
}

int lv_event_synchronize(void *event) {
    LV_REQUIRE(event != nullptr);
    return static_cast<int>(cudaEventSynchronize(static_cast<cudaEvent_t>(event)));
}

int lv_event_elapsed_ms(void *start, void *end, float *ms) {
    LV_REQUIRE(start != nullptr && end != nullptr && ms != nullptr);
    return static_cast<int>(
        cudaEventElapsedTime(ms, static_cast<cudaEvent_t>(start), static_cast<cudaEvent_t>(end)));
}

int lv_malloc(void **ptr, int64_t bytes) {
    LV_REQUIRE(ptr != nullptr && bytes >= 0);
    *ptr = nullptr;
    return static_cast<int>(cudaMalloc(ptr, static_cast<size_t>(bytes)));
}

int lv_free(void *ptr) { return static_cast<int>(cudaFree(ptr)); }

int lv_malloc_async(void **ptr, int64_t bytes, void *stream) {
    LV_REQUIRE(ptr != nullptr && bytes >= 0);
    *ptr = nullptr;
    return static_cast<int>(cudaMallocAsync(ptr, static_cast<size_t>(bytes), lv::as_stream(stream)));
}

int lv_free_async(void *ptr, void *stream) {
    return static_cast<int>(cudaFreeAsync(ptr, lv::as_stream(stream)));
}

int lv_host_alloc(void **ptr, int64_t bytes) {
    LV_REQUIRE(ptr != nullptr && bytes >= 0);
    *ptr = nullptr;
    return static_cast<int>(cudaMallocHost(ptr, static_cast<size_t>(bytes)));
}

int lv_host_free(void *ptr) { return static_cast<int>(cudaFreeHost(ptr)); }

int lv_memcpy_async(void *dst, const void *src, int64_t bytes, void *stream) {
    LV_REQUIRE(bytes >= 0);
    if (bytes == 0) return LV_OK;
    LV_REQUIRE(dst != nullptr && src != nullptr);
    return static_cast<int>(
        cudaMemcpyAsync(dst, src, static_cast<size_t>(bytes), cudaMemcpyDefault, lv::as_stream(stream)));
}

int lv_memset_async(void *dst, int value, int64_t bytes, void *stream) {
    LV_REQUIRE(bytes >= 0);
    if (bytes == 0) return LV_OK;
    LV_REQUIRE(dst != nullptr);
    return static_cast<int>(cudaMemsetAsync(dst, value, static_cast<size_t>(bytes), lv::as_stream(stream)));
}

} // extern "C"
