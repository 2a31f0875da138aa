package io.leviathan.cuda;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.junit.jupiter.api.Test;

/** The library section of leviathan_cuda.h, on a machine whose CUDA driver may be absent. */
class RuntimeTest {

    @Test
    void abiVersionIsOne() throws Throwable {
        assertEquals(1, RuntimeCalls.abiVersion());
    }

    @Test
    void errorStringsNameTheirStatus() throws Throwable {
        assertTrue(RuntimeCalls.errorString(0).startsWith("LV_OK"));
        assertTrue(RuntimeCalls.errorString(10001).startsWith("LV_ERR_INVALID_ARGUMENT"));
        assertTrue(RuntimeCalls.errorString(10002).startsWith("LV_ERR_UNSUPPORTED_DTYPE"));
        assertTrue(RuntimeCalls.errorString(10003).startsWith("LV_ERR_WORKSPACE_TOO_SMALL"));
        assertTrue(RuntimeCalls.errorString(2).startsWith("cudaErrorMemoryAllocation"),
                RuntimeCalls.errorString(2));
        assertTrue(RuntimeCalls.errorString(35).startsWith("cudaErrorInsufficientDriver"),
                RuntimeCalls.errorString(35));
        assertTrue(RuntimeCalls.errorString(-7).startsWith("unknown status"));
        assertTrue(RuntimeCalls.errorString(123456).startsWith("unknown status"));
    }

    @Test
    void runtimeVersionIsTheOneBuiltWith() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(JAVA_INT);
            int status = (int) CudaLibrary.get().handle(RuntimeCalls.RUNTIME_VERSION).invokeExact(v);
            assertEquals(0, status, RuntimeCalls.errorString(status));
            assertTrue(v.get(JAVA_INT, 0) >= 13000, "runtime version " + v.get(JAVA_INT, 0));
        }
    }

    /**
     * Where a usable driver is present the count is at least one; where none is (this CI machine) the
     * status is a CUDA error whose string is readable and the count stays zero.
     */
    @Test
    void deviceCountReportsItsStatus() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            count.set(JAVA_INT, 0, -1);
            int status = (int) CudaLibrary.get().handle(RuntimeCalls.DEVICE_COUNT).invokeExact(count);
            String text = RuntimeCalls.errorString(status);
            if (Boolean.getBoolean("leviathan.cuda.required")) {
                assertEquals(0, status, text);
                assertTrue(count.get(JAVA_INT, 0) > 0);
            } else if (status != 0) {
                assertTrue(status > 0 && status < 10000, "a cudaError_t, got " + status);
                assertTrue(text.startsWith("cuda"), text);
                assertEquals(0, count.get(JAVA_INT, 0));
            }
        }
    }

    /**
     * With no usable driver a launch cannot happen: a device operation with valid arguments returns the
     * runtime's error (a cudaError_t with a readable name) instead of crashing. Where a device is present the
     * host buffer used here is not device memory, so the check does not run there.
     */
    @Test
    void deviceOperationWithoutDriverReturnsTheRuntimeStatus() throws Throwable {
        try (Arena arena = Arena.ofConfined(); HostMemory mem = new HostMemory()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int probe = (int) CudaLibrary.get().handle(RuntimeCalls.DEVICE_COUNT).invokeExact(count);
            org.junit.jupiter.api.Assumptions.assumeTrue(probe != 0,
                    "a CUDA device is present: launching on host memory would be an illegal access");
            MemorySegment buf = mem.floats(new float[8]);
            int status = DeviceCalls.call(DeviceCalls.FILL, buf, 0, 8L, 1f, MemorySegment.NULL);
            assertTrue(status > 0 && status < 10000, "a cudaError_t, got " + status);
            assertTrue(RuntimeCalls.errorString(status).startsWith("cuda"), RuntimeCalls.errorString(status));
        }
    }

    @Test
    void runtimeCallsRefuseBadArguments() throws Throwable {
        int status = (int) CudaLibrary.get().handle(RuntimeCalls.DEVICE_COUNT).invokeExact(MemorySegment.NULL);
        assertEquals(10001, status);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptr = arena.allocate(ValueLayout.ADDRESS);
            status = (int) CudaLibrary.get().handle(RuntimeCalls.MALLOC).invokeExact(ptr, -1L);
            assertEquals(10001, status);
            assertNotEquals(0, (int) CudaLibrary.get().handle(RuntimeCalls.MALLOC)
                    .invokeExact(MemorySegment.NULL, 16L));
        }
    }
}
