package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The driver binding's calls against a fake driver built by gcc: values in and out, and statuses as exceptions. */
class CudaDriverTest {
    @TempDir
    Path dir;

    private CudaDriver fake(String... defines) {
        FakeLibraries.assumeGcc();
        return new CudaDriver(LinkedLibrary.load(FakeLibraries.driver(dir, defines).toString()));
    }

    @Test
    void passesArgumentsAndReadsResults() {
        CudaDriver d = fake("DEVICE_COUNT=3", "DRIVER_VERSION=13010", "CC_MAJOR=12", "CC_MINOR=1",
                "TOTAL_MEM=6000000000ULL");
        d.cuInit(0);
        assertEquals(13010, d.cuDriverGetVersion());
        assertEquals(3, d.cuDeviceGetCount());
        int dev = d.cuDeviceGet(2);
        assertEquals(2, dev);
        assertEquals("Fake GPU 2", d.cuDeviceGetName(dev));
        assertEquals(12, d.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, dev));
        assertEquals(1, d.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, dev));
        assertEquals(132, d.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev));
        assertEquals(6_000_000_002L, d.cuDeviceTotalMem(dev), "size_t comes back whole, above 2^32");
    }

    @Test
    void everyFailingStatusNamesTheCallAndTheDriversWords() {
        CudaDriver d = fake("DEVICE_COUNT=1");
        NativeCallException before = assertThrows(NativeCallException.class, d::cuDeviceGetCount);
        assertEquals("cuDeviceGetCount", before.call());
        assertEquals(CudaDriver.CUDA_ERROR_NOT_INITIALIZED, before.status());
        assertEquals("cuDeviceGetCount failed with status 3 (CUDA_ERROR_NOT_INITIALIZED: initialization error)",
                before.getMessage());

        NativeCallException flags = assertThrows(NativeCallException.class, () -> d.cuInit(7));
        assertEquals("cuInit failed with status 1 (CUDA_ERROR_INVALID_VALUE: invalid argument)", flags.getMessage());

        d.cuInit(0);
        NativeCallException ordinal = assertThrows(NativeCallException.class, () -> d.cuDeviceGetName(5));
        assertEquals("cuDeviceGetName", ordinal.call());
        assertEquals(CudaDriver.CUDA_ERROR_INVALID_DEVICE, ordinal.status());
        NativeCallException mem = assertThrows(NativeCallException.class, () -> d.cuDeviceTotalMem(5));
        assertEquals("cuDeviceTotalMem_v2 failed with status 101 (CUDA_ERROR_INVALID_DEVICE: invalid device ordinal)",
                mem.getMessage());
        NativeCallException attr = assertThrows(NativeCallException.class, () -> d.cuDeviceGetAttribute(9999, 0));
        assertEquals("cuDeviceGetAttribute", attr.call());
    }

    @Test
    void unknownStatusHasNoNameAndADescriptionSaysSo() {
        CudaDriver d = fake();
        assertNull(d.cuGetErrorName(4242));
        assertNull(d.cuGetErrorString(4242));
        assertEquals("unknown CUresult 4242", d.describe(4242));
        assertEquals("CUDA_ERROR_NO_DEVICE", d.cuGetErrorName(CudaDriver.CUDA_ERROR_NO_DEVICE));
    }
}
