/*
 * A host-memory stand-in for libleviathan_cuda.so, for tests of the Java side on machines without a GPU:
 * "device" memory is malloc'd host memory, streams and events are tokens, every copy is immediate. It
 * implements the runtime calls and the few kernels the backend plumbing test drives (lv_copy, lv_fill,
 * lv_add, lv_scale, lv_embedding_forward with the error record), with the signatures of leviathan_cuda.h,
 * and counts live allocations so the test can prove that the backend frees what it takes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "leviathan_cuda.h"

static long live_device = 0, live_host = 0, device_allocations = 0, set_device_calls = 0;
static int stream_token, event_token;

long fake_live_device_blocks(void) { return live_device; }
long fake_live_host_blocks(void) { return live_host; }
long fake_device_allocations(void) { return device_allocations; }
long fake_set_device_calls(void) { return set_device_calls; }

int lv_abi_version(void) { return LV_ABI_VERSION; }
const char *lv_error_string(int status) {
    switch (status) {
    case LV_OK: return "no error";
    case LV_ERR_INVALID_ARGUMENT: return "invalid argument";
    case LV_ERR_UNSUPPORTED_DTYPE: return "unsupported dtype";
    case LV_ERR_WORKSPACE_TOO_SMALL: return "workspace too small";
    default: return "unknown status";
    }
}
int lv_set_device(int device) { set_device_calls++; return device == 0 ? LV_OK : LV_ERR_INVALID_ARGUMENT; }
int lv_device_name(int device, char *buf, int len) {
    (void) device;
    strncpy(buf, "host stand-in", (size_t) len);
    buf[len - 1] = 0;
    return LV_OK;
}
/* A fixed device: 80 GiB, of which the driver reports 40 GiB free. */
int lv_mem_info(int64_t *free_bytes, int64_t *total_bytes) {
    *free_bytes = (int64_t) 40 << 30;
    *total_bytes = (int64_t) 80 << 30;
    return LV_OK;
}
int lv_stream_create(void **stream) { *stream = &stream_token; return LV_OK; }
int lv_stream_destroy(void *stream) { return stream == &stream_token ? LV_OK : LV_ERR_INVALID_ARGUMENT; }
int lv_stream_synchronize(void *stream) { return stream == &stream_token ? LV_OK : LV_ERR_INVALID_ARGUMENT; }
int lv_event_create(void **event) { *event = &event_token; return LV_OK; }
int lv_event_destroy(void *event) { return event == &event_token ? LV_OK : LV_ERR_INVALID_ARGUMENT; }
int lv_event_record(void *event, void *stream) {
    return event == &event_token && stream == &stream_token ? LV_OK : LV_ERR_INVALID_ARGUMENT;
}
int lv_event_synchronize(void *event) { return event == &event_token ? LV_OK : LV_ERR_INVALID_ARGUMENT; }

static int device_alloc(void **ptr, int64_t bytes) {
    if (bytes <= 0) return LV_ERR_INVALID_ARGUMENT;
    *ptr = aligned_alloc(256, (size_t) ((bytes + 255) / 256 * 256));
    if (!*ptr) return 2; /* cudaErrorMemoryAllocation */
    live_device++;
    device_allocations++;
    return LV_OK;
}
int lv_malloc(void **ptr, int64_t bytes) { return device_alloc(ptr, bytes); }
int lv_malloc_async(void **ptr, int64_t bytes, void *stream) {
    return stream == &stream_token ? device_alloc(ptr, bytes) : LV_ERR_INVALID_ARGUMENT;
}
int lv_free(void *ptr) { free(ptr); live_device--; return LV_OK; }
int lv_free_async(void *ptr, void *stream) { (void) stream; return lv_free(ptr); }
int lv_host_alloc(void **ptr, int64_t bytes) {
    *ptr = malloc((size_t) bytes);
    if (!*ptr) return 2;
    live_host++;
    return LV_OK;
}
int lv_host_free(void *ptr) { free(ptr); live_host--; return LV_OK; }
int lv_memcpy_async(void *dst, const void *src, int64_t bytes, void *stream) {
    if (stream != &stream_token || bytes < 0) return LV_ERR_INVALID_ARGUMENT;
    memmove(dst, src, (size_t) bytes);
    return LV_OK;
}
int lv_memset_async(void *dst, int value, int64_t bytes, void *stream) {
    if (stream != &stream_token || bytes < 0) return LV_ERR_INVALID_ARGUMENT;
    memset(dst, value, (size_t) bytes);
    return LV_OK;
}

static float bf16_to_f32(uint16_t h) { uint32_t u = (uint32_t) h << 16; float f; memcpy(&f, &u, 4); return f; }
static uint16_t f32_to_bf16(float f) {
    uint32_t u; memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t) ((u >> 16) | 0x40);
    return (uint16_t) ((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

int lv_copy(const void *src, int src_dtype, void *dst, int dst_dtype, int64_t n, void *stream) {
    if (stream != &stream_token || n < 0) return LV_ERR_INVALID_ARGUMENT;
    if (src_dtype == dst_dtype) {
        memmove(dst, src, (size_t) n * (src_dtype == LV_BF16 ? 2 : 4));
    } else if (src_dtype == LV_F32 && dst_dtype == LV_BF16) {
        for (int64_t i = 0; i < n; i++) ((uint16_t *) dst)[i] = f32_to_bf16(((const float *) src)[i]);
    } else if (src_dtype == LV_BF16 && dst_dtype == LV_F32) {
        for (int64_t i = 0; i < n; i++) ((float *) dst)[i] = bf16_to_f32(((const uint16_t *) src)[i]);
    } else {
        return LV_ERR_UNSUPPORTED_DTYPE;
    }
    return LV_OK;
}
int lv_fill(void *t, int dtype, int64_t n, float value, void *stream) {
    if (stream != &stream_token || n < 0) return LV_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n; i++) {
        if (dtype == LV_F32) ((float *) t)[i] = value;
        else if (dtype == LV_BF16) ((uint16_t *) t)[i] = f32_to_bf16(value);
        else return LV_ERR_UNSUPPORTED_DTYPE;
    }
    return LV_OK;
}
int lv_add(const float *a, const float *b, float *out, int64_t n, void *stream) {
    if (stream != &stream_token || n < 0) return LV_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n; i++) out[i] = a[i] + b[i];
    return LV_OK;
}
int lv_scale(const float *a, float s, float *out, int64_t n, void *stream) {
    if (stream != &stream_token || n < 0) return LV_ERR_INVALID_ARGUMENT;
    for (int64_t i = 0; i < n; i++) out[i] = s * a[i];
    return LV_OK;
}
int lv_embedding_forward(const int32_t *ids, const float *table, float *out, int64_t count, int64_t vocab,
                         int64_t dim, int32_t *err, void *stream) {
    if (stream != &stream_token || count < 0) return LV_ERR_INVALID_ARGUMENT;
    for (int64_t n = 0; n < count; n++) {
        int32_t id = ids[n];
        if (id < 0 || id >= vocab) {
            if (err[0]++ == 0) {
                err[1] = LV_OP_EMBEDDING;
                err[2] = (int32_t) n;
                err[3] = id;
            }
            memset(out + n * dim, 0, (size_t) dim * 4);
        } else {
            memcpy(out + n * dim, table + (int64_t) id * dim, (size_t) dim * 4);
        }
    }
    return LV_OK;
}
