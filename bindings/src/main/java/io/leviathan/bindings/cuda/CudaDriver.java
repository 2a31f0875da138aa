package io.leviathan.bindings.cuda;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;

/**
 * Bindings to the CUDA driver API ({@code libcuda.so.1}), only what the availability probe needs: initialise,
 * driver version, devices, their name, compute capability and memory, and the error strings. Every status other
 * than {@link #CUDA_SUCCESS} becomes a {@link NativeCallException} naming the call and the driver's error name
 * and description.
 *
 * <p>CUDA 13's {@code cuda.h} renames some functions by macro ({@code cuDeviceTotalMem} is
 * {@code cuDeviceTotalMem_v2}); the symbols bound here are the ones the driver exports under the current API.
 */
public final class CudaDriver {
    /** The driver's file name; the driver always comes from the system, never from a bundle. */
    public static final String LIBRARY = "libcuda.so.1";

    /** CUresult: success. */
    public static final int CUDA_SUCCESS = 0;
    /** CUresult: an argument was out of range. */
    public static final int CUDA_ERROR_INVALID_VALUE = 1;
    /** CUresult: cuInit has not been called, or failed. */
    public static final int CUDA_ERROR_NOT_INITIALIZED = 3;
    /** CUresult: no CUDA-capable device is visible. */
    public static final int CUDA_ERROR_NO_DEVICE = 100;
    /** CUresult: the device ordinal is not a valid device. */
    public static final int CUDA_ERROR_INVALID_DEVICE = 101;

    /** CUdevice_attribute: number of streaming multiprocessors. */
    public static final int CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16;
    /** CUdevice_attribute: major compute capability. */
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
    /** CUdevice_attribute: minor compute capability. */
    public static final int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;

    /** CUresult, an enum. */
    public static final ValueLayout.OfInt CUresult = ValueLayout.JAVA_INT;
    /** CUdevice, an int ordinal handle. */
    public static final ValueLayout.OfInt CUdevice = ValueLayout.JAVA_INT;
    /** CUdevice_attribute, an enum. */
    public static final ValueLayout.OfInt CUdevice_attribute = ValueLayout.JAVA_INT;
    /** C int and unsigned int. */
    public static final ValueLayout.OfInt C_INT = ValueLayout.JAVA_INT;
    /** size_t on the 64-bit platforms CUDA supports. */
    public static final ValueLayout.OfLong C_SIZE_T = ValueLayout.JAVA_LONG;
    /** Any pointer. */
    public static final AddressLayout C_POINTER = ValueLayout.ADDRESS;

    public static final NativeFunction cuInit = new NativeFunction("cuInit",
            FunctionDescriptor.of(CUresult, C_INT),
            "CUresult cuInit(unsigned int Flags)");
    public static final NativeFunction cuDriverGetVersion = new NativeFunction("cuDriverGetVersion",
            FunctionDescriptor.of(CUresult, C_POINTER),
            "CUresult cuDriverGetVersion(int *driverVersion)");
    public static final NativeFunction cuDeviceGetCount = new NativeFunction("cuDeviceGetCount",
            FunctionDescriptor.of(CUresult, C_POINTER),
            "CUresult cuDeviceGetCount(int *count)");
    public static final NativeFunction cuDeviceGet = new NativeFunction("cuDeviceGet",
            FunctionDescriptor.of(CUresult, C_POINTER, C_INT),
            "CUresult cuDeviceGet(CUdevice *device, int ordinal)");
    public static final NativeFunction cuDeviceGetName = new NativeFunction("cuDeviceGetName",
            FunctionDescriptor.of(CUresult, C_POINTER, C_INT, CUdevice),
            "CUresult cuDeviceGetName(char *name, int len, CUdevice dev)");
    public static final NativeFunction cuDeviceGetAttribute = new NativeFunction("cuDeviceGetAttribute",
            FunctionDescriptor.of(CUresult, C_POINTER, CUdevice_attribute, CUdevice),
            "CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)");
    public static final NativeFunction cuDeviceTotalMem_v2 = new NativeFunction("cuDeviceTotalMem_v2",
            FunctionDescriptor.of(CUresult, C_POINTER, CUdevice),
            "CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)");
    public static final NativeFunction cuGetErrorName = new NativeFunction("cuGetErrorName",
            FunctionDescriptor.of(CUresult, CUresult, C_POINTER),
            "CUresult cuGetErrorName(CUresult error, const char **pStr)");
    public static final NativeFunction cuGetErrorString = new NativeFunction("cuGetErrorString",
            FunctionDescriptor.of(CUresult, CUresult, C_POINTER),
            "CUresult cuGetErrorString(CUresult error, const char **pStr)");

    /** Every function this class binds, for the ABI checks. */
    public static final List<NativeFunction> FUNCTIONS = List.of(cuInit, cuDriverGetVersion, cuDeviceGetCount,
            cuDeviceGet, cuDeviceGetName, cuDeviceGetAttribute, cuDeviceTotalMem_v2, cuGetErrorName,
            cuGetErrorString);

    private static final int NAME_BYTES = 256;

    private final LinkedLibrary library;

    /** The driver API in {@code library}, an already loaded {@code libcuda.so.1}. */
    public CudaDriver(LinkedLibrary library) {
        this.library = library;
    }

    /** The library these calls go to. */
    public LinkedLibrary library() {
        return library;
    }

    /** cuInit: initialises the driver API; must come before any other call but the error strings. */
    public void cuInit(int flags) {
        check("cuInit", (int) invoke(cuInit, h -> (int) h.invokeExact(flags)));
    }

    /** cuDriverGetVersion: the CUDA version the driver supports, 1000 * major + 10 * minor (13000 is 13.0). */
    public int cuDriverGetVersion() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check("cuDriverGetVersion", (int) invoke(cuDriverGetVersion, h -> (int) h.invokeExact(out)));
            return out.get(C_INT, 0);
        }
    }

    /** cuDeviceGetCount: how many CUDA devices are visible. */
    public int cuDeviceGetCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check("cuDeviceGetCount", (int) invoke(cuDeviceGetCount, h -> (int) h.invokeExact(out)));
            return out.get(C_INT, 0);
        }
    }

    /** cuDeviceGet: the device handle of ordinal {@code ordinal}. */
    public int cuDeviceGet(int ordinal) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(CUdevice);
            check("cuDeviceGet", (int) invoke(cuDeviceGet, h -> (int) h.invokeExact(out, ordinal)));
            return out.get(CUdevice, 0);
        }
    }

    /** cuDeviceGetName: the device's marketing name, e.g. {@code NVIDIA H200}. */
    public String cuDeviceGetName(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(NAME_BYTES);
            check("cuDeviceGetName", (int) invoke(cuDeviceGetName, h -> (int) h.invokeExact(buf, NAME_BYTES, device)));
            return buf.getString(0);
        }
    }

    /** cuDeviceGetAttribute: one integer attribute ({@code CU_DEVICE_ATTRIBUTE_*}) of a device. */
    public int cuDeviceGetAttribute(int attribute, int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_INT);
            check("cuDeviceGetAttribute", (int) invoke(cuDeviceGetAttribute,
                    h -> (int) h.invokeExact(out, attribute, device)));
            return out.get(C_INT, 0);
        }
    }

    /** cuDeviceTotalMem (exported as {@code cuDeviceTotalMem_v2}): the device's memory in bytes. */
    public long cuDeviceTotalMem(int device) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_SIZE_T);
            check("cuDeviceTotalMem_v2", (int) invoke(cuDeviceTotalMem_v2, h -> (int) h.invokeExact(out, device)));
            return out.get(C_SIZE_T, 0);
        }
    }

    /** cuGetErrorName: the enum name of a status ({@code CUDA_ERROR_NO_DEVICE}), or null when the driver has none. */
    public String cuGetErrorName(int status) {
        return errorText(cuGetErrorName, status);
    }

    /** cuGetErrorString: the driver's description of a status, or null when it has none. */
    public String cuGetErrorString(int status) {
        return errorText(cuGetErrorString, status);
    }

    /** "NAME: description" for a status, as far as the driver can say; never null. */
    public String describe(int status) {
        String name = cuGetErrorName(status);
        String text = cuGetErrorString(status);
        if (name == null && text == null) {
            return "unknown CUresult " + status;
        }
        return name == null ? text : text == null ? name : name + ": " + text;
    }

    private String errorText(NativeFunction f, int status) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(C_POINTER);
            int rc = (int) invoke(f, h -> (int) h.invokeExact(status, out));
            MemorySegment p = out.get(C_POINTER, 0);
            if (rc != CUDA_SUCCESS || p.equals(MemorySegment.NULL)) {
                return null;
            }
            return p.reinterpret(Long.MAX_VALUE).getString(0);
        }
    }

    private void check(String call, int status) {
        if (status != CUDA_SUCCESS) {
            throw new NativeCallException(call, status, describe(status));
        }
    }

    @FunctionalInterface
    private interface Call {
        Object apply(MethodHandle h) throws Throwable;
    }

    private Object invoke(NativeFunction f, Call call) {
        MethodHandle h = library.handle(f);
        try {
            return call.apply(h);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(f.symbol() + " failed: " + t, t);
        }
    }
}
