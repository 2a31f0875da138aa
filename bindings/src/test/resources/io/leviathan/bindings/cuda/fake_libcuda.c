/*
 * A stand-in for the CUDA driver (libcuda.so.1) with no device behind it: each entry point the probe calls,
 * behaving as the macros below say. Tests compile one library per scenario, e.g. -DINIT_STATUS=100
 * (cuInit reports CUDA_ERROR_NO_DEVICE) or -DDRIVER_VERSION=12000 (a CUDA 12.0 driver).
 */
#include <stddef.h>
#include <stdio.h>

#ifndef INIT_STATUS
#define INIT_STATUS 0
#endif
#ifndef DRIVER_VERSION
#define DRIVER_VERSION 13000
#endif
#ifndef DEVICE_COUNT
#define DEVICE_COUNT 1
#endif
#ifndef CC_MAJOR
#define CC_MAJOR 9
#endif
#ifndef CC_MINOR
#define CC_MINOR 0
#endif
#ifndef TOTAL_MEM
#define TOTAL_MEM 150000000000ULL
#endif

static int initialised = 0;

int cuInit(unsigned int flags) {
    if (flags != 0) return 1;
    if (INIT_STATUS == 0) initialised = 1;
    return INIT_STATUS;
}

int cuDriverGetVersion(int *version) {
    if (version == NULL) return 1;
    *version = DRIVER_VERSION;
    return 0;
}

int cuDeviceGetCount(int *count) {
    if (!initialised) return 3;
    if (count == NULL) return 1;
    *count = DEVICE_COUNT;
    return 0;
}

int cuDeviceGet(int *device, int ordinal) {
    if (!initialised) return 3;
    if (ordinal < 0 || ordinal >= DEVICE_COUNT) return 101;
    *device = ordinal;
    return 0;
}

int cuDeviceGetName(char *name, int len, int device) {
    if (!initialised) return 3;
    if (device < 0 || device >= DEVICE_COUNT) return 101;
    snprintf(name, (size_t) len, "Fake GPU %d", device);
    return 0;
}

int cuDeviceGetAttribute(int *value, int attribute, int device) {
    if (!initialised) return 3;
    if (device < 0 || device >= DEVICE_COUNT) return 101;
    switch (attribute) {
        case 75: *value = CC_MAJOR; return 0;
        case 76: *value = CC_MINOR; return 0;
        case 16: *value = 132; return 0;
        default: return 1;
    }
}

int cuDeviceTotalMem_v2(size_t *bytes, int device) {
    if (!initialised) return 3;
    if (device < 0 || device >= DEVICE_COUNT) return 101;
    *bytes = (size_t) TOTAL_MEM + (size_t) device;
    return 0;
}

static const char *error_name(int status) {
    switch (status) {
        case 0: return "CUDA_SUCCESS";
        case 1: return "CUDA_ERROR_INVALID_VALUE";
        case 3: return "CUDA_ERROR_NOT_INITIALIZED";
        case 100: return "CUDA_ERROR_NO_DEVICE";
        case 101: return "CUDA_ERROR_INVALID_DEVICE";
        default: return NULL;
    }
}

static const char *error_text(int status) {
    switch (status) {
        case 0: return "no error";
        case 1: return "invalid argument";
        case 3: return "initialization error";
        case 100: return "no CUDA-capable device is detected";
        case 101: return "invalid device ordinal";
        default: return NULL;
    }
}

int cuGetErrorName(int status, const char **text) {
    *text = error_name(status);
    return *text == NULL ? 1 : 0;
}

int cuGetErrorString(int status, const char **text) {
    *text = error_text(status);
    return *text == NULL ? 1 : 0;
}
