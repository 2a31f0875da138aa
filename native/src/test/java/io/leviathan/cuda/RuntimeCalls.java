package io.leviathan.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** The library and runtime functions of leviathan_cuda.h the tests call, in the bindings' shape. */
final class RuntimeCalls {
    private RuntimeCalls() {}

    static final NativeFunction ABI_VERSION = new NativeFunction("lv_abi_version",
            FunctionDescriptor.of(JAVA_INT), "int lv_abi_version(void)");
    static final NativeFunction ERROR_STRING = new NativeFunction("lv_error_string",
            FunctionDescriptor.of(ADDRESS, JAVA_INT), "const char *lv_error_string(int status)");
    static final NativeFunction RUNTIME_VERSION = new NativeFunction("lv_runtime_version",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), "int lv_runtime_version(int *version)");
    static final NativeFunction DRIVER_VERSION = new NativeFunction("lv_driver_version",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), "int lv_driver_version(int *version)");
    static final NativeFunction DEVICE_COUNT = new NativeFunction("lv_device_count",
            FunctionDescriptor.of(JAVA_INT, ADDRESS), "int lv_device_count(int *count)");
    static final NativeFunction MALLOC = new NativeFunction("lv_malloc",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG), "int lv_malloc(void **ptr, int64_t bytes)");

    static final List<NativeFunction> FUNCTIONS =
            List.of(ABI_VERSION, ERROR_STRING, RUNTIME_VERSION, DRIVER_VERSION, DEVICE_COUNT, MALLOC);

    static int abiVersion() throws Throwable {
        return (int) CudaLibrary.get().handle(ABI_VERSION).invokeExact();
    }

    static String errorString(int status) throws Throwable {
        MemorySegment s = (MemorySegment) CudaLibrary.get().handle(ERROR_STRING).invokeExact(status);
        return s.reinterpret(4096).getString(0);
    }
}
