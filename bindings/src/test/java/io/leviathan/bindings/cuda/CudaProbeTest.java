package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The availability probe against fake drivers built by gcc (no device behind them): each check in turn is the
 * first to fail, and its reason is the one reported.
 */
class CudaProbeTest {
    @TempDir
    Path root;

    @BeforeEach
    void needsGcc() {
        FakeLibraries.assumeGcc();
    }

    /** A machine whose driver is built with {@code defines}, pointed at by the explicit setting. */
    private FakeMachine withDriver(String... defines) {
        FakeMachine m = new FakeMachine(root);
        FakeLibraries.driver(m.path("/usr/lib/x86_64-linux-gnu"), defines);
        m.properties.put("leviathan.cuda.driver.path", "/usr/lib/x86_64-linux-gnu/libcuda.so.1");
        return m;
    }

    private static String reason(FakeMachine m) {
        CudaAvailability a = CudaProbe.probe(m.libraries());
        assertFalse(a.available(), "expected unavailable");
        assertNull(a.device());
        assertTrue(a.reason().startsWith("CUDA unavailable: "), a.reason());
        assertEquals(a.reason(), a.summary());
        return a.reason();
    }

    @Test
    void noDriverLibrary() {
        FakeMachine m = new FakeMachine(root);
        String reason = reason(m);
        assertTrue(reason.startsWith("CUDA unavailable: no CUDA driver: libcuda.so.1 not found"), reason);
        assertTrue(reason.contains("system loader: libcuda.so.1"), reason);
    }

    @Test
    void cuInitFailing() {
        String reason = reason(withDriver("INIT_STATUS=100"));
        assertTrue(reason.contains("cuInit failed with status 100"), reason);
        assertTrue(reason.contains("CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected"), reason);
    }

    @Test
    void oldDriver() {
        String reason = reason(withDriver("DRIVER_VERSION=12080"));
        assertTrue(reason.contains("the driver supports CUDA 12.8; this build needs CUDA 13.0 or newer"), reason);
    }

    @Test
    void zeroDevices() {
        assertEquals("CUDA unavailable: the driver sees no CUDA device", reason(withDriver("DEVICE_COUNT=0")));
    }

    @Test
    void lowComputeCapability() {
        String reason = reason(withDriver("CC_MAJOR=7", "CC_MINOR=5"));
        assertTrue(reason.contains("device 0 (Fake GPU 0) has compute capability 7.5; our kernels need 8.0"), reason);
    }

    @Test
    void ourLibraryMissing() {
        String reason = reason(withDriver());
        assertTrue(reason.startsWith("CUDA unavailable: no Leviathan CUDA library: libleviathan_cuda.so not found"),
                reason);
    }

    @Test
    void ourLibraryWithAnotherAbiVersion() {
        FakeMachine m = withDriver();
        Path lib = FakeLibraries.leviathan(m.path("/opt/leviathan"), CudaProbe.LV_ABI_VERSION + 1);
        m.env.put("LEVIATHAN_CUDA_LIBRARY", "/opt/leviathan/libleviathan_cuda.so");
        String reason = reason(m);
        assertTrue(reason.contains(lib + " has ABI version " + (CudaProbe.LV_ABI_VERSION + 1)
                + "; this build of the bindings needs " + CudaProbe.LV_ABI_VERSION), reason);
    }

    @Test
    void cublasMissing() {
        FakeMachine m = withDriver();
        FakeLibraries.leviathan(m.path("/opt/leviathan"), CudaProbe.LV_ABI_VERSION);
        m.env.put("LEVIATHAN_CUDA_LIBRARY", "/opt/leviathan/libleviathan_cuda.so");
        String reason = reason(m);
        assertTrue(reason.startsWith("CUDA unavailable: no cuBLAS: libcublas.so.13 not found"), reason);
    }

    @Test
    void everyCheckPassing() {
        FakeMachine m = withDriver("CC_MAJOR=9", "CC_MINOR=0", "TOTAL_MEM=150754820096ULL");
        Path ours = FakeLibraries.leviathan(m.path("/opt/leviathan"), CudaProbe.LV_ABI_VERSION);
        m.env.put("LEVIATHAN_CUDA_LIBRARY", "/opt/leviathan/libleviathan_cuda.so");
        m.env.put("CUDA_HOME", "/usr/local/cuda-13.0");
        FakeLibraries.cublas(m.path("/usr/local/cuda-13.0/lib64"));
        CudaAvailability a = CudaProbe.probe(m.libraries());
        assertTrue(a.available(), a.reason());
        assertNull(a.reason());
        assertEquals(new CudaAvailability.Device("Fake GPU 0", 9, 0, 150754820096L, 1, 13000), a.device());
        assertEquals(ours.toString(), a.files().get(CudaLibrary.LEVIATHAN));
        assertEquals(m.path("/usr/local/cuda-13.0/lib64/libcublasLt.so.13").toString(),
                a.files().get(CudaLibrary.CUBLAS_LT));
        assertTrue(a.summary().startsWith("Fake GPU 0 (compute 9.0, 140.4 GiB), 1 device, driver CUDA 13.0; "),
                a.summary());
        assertTrue(a.summary().contains("libcublas.so.13 = " + m.path("/usr/local/cuda-13.0/lib64/libcublas.so.13")),
                a.summary());
    }

    @Test
    void abiVersionIsTheHeaders() throws IOException {
        Path header = Path.of("..", "native", "include", "leviathan_cuda.h");
        Matcher def = Pattern.compile("#define LV_ABI_VERSION (\\d+)").matcher(Files.readString(header));
        assertTrue(def.find(), "LV_ABI_VERSION in " + header);
        assertEquals(Integer.parseInt(def.group(1)), CudaProbe.LV_ABI_VERSION);
    }

    @Test
    void thisMachineGivesAnAnswerWithAReason() {
        CudaAvailability a = CudaProbe.probe();
        assertTrue(a.available() ? a.device() != null : a.reason().startsWith("CUDA unavailable: "), a.summary());
        assertTrue(a == CudaProbe.probe(), "remembered");
    }
}
