package io.leviathan.bindings.cuda;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Whether the CUDA backend can run here. The checks run in order and the first that fails gives the reason:
 * native access enabled, driver library found, {@code cuInit}, driver version ({@value #MIN_DRIVER_VERSION} or
 * newer, for our CUDA 13 build), at least one device, compute capability {@value #MIN_MAJOR}.0 or newer on
 * device 0, our kernel library found with the ABI version this build expects, cuBLAS found.
 */
public final class CudaProbe {
    /** The oldest driver API version that runs our CUDA 13 build (13.0, driver 580). */
    public static final int MIN_DRIVER_VERSION = 13000;
    /** The oldest compute capability our kernels are built for (sm_80, Ampere). */
    public static final int MIN_MAJOR = 8;
    /** {@code LV_ABI_VERSION} of {@code native/include/leviathan_cuda.h}, which this build was written against. */
    public static final int LV_ABI_VERSION = 1;

    /** int lv_abi_version(void), the one call of our library the probe makes. */
    static final NativeFunction lv_abi_version = new NativeFunction("lv_abi_version",
            FunctionDescriptor.of(ValueLayout.JAVA_INT), "int lv_abi_version(void)");

    private static volatile CudaAvailability system;

    private CudaProbe() {}

    /** The probe of this process and machine, run once and remembered. */
    public static CudaAvailability probe() {
        CudaAvailability result = system;
        if (result == null) {
            synchronized (CudaProbe.class) {
                result = system;
                if (result == null) {
                    result = probe(CudaLibraries.system());
                    system = result;
                }
            }
        }
        return result;
    }

    /** Runs every check over the libraries {@code libraries} finds. */
    public static CudaAvailability probe(CudaLibraries libraries) {
        Module module = CudaProbe.class.getModule();
        if (!module.isNativeAccessEnabled()) {
            return CudaAvailability.unavailable("native access is not enabled for "
                    + (module.isNamed() ? "module " + module.getName() : "code on the class path")
                    + " (run java with --enable-native-access="
                    + (module.isNamed() ? module.getName() : "ALL-UNNAMED") + ")");
        }
        Map<CudaLibrary, String> files = new LinkedHashMap<>();
        CudaDriver driver;
        try {
            LinkedLibrary lib = libraries.load(CudaLibrary.DRIVER);
            files.put(CudaLibrary.DRIVER, lib.file());
            driver = new CudaDriver(lib);
        } catch (LibraryNotFoundException e) {
            return CudaAvailability.unavailable("no CUDA driver: " + e.oneLine());
        } catch (IllegalArgumentException e) {
            return CudaAvailability.unavailable("the CUDA driver does not load: " + e.getMessage());
        }
        int version;
        int count;
        String name;
        int major;
        int minor;
        long memory;
        try {
            driver.cuInit(0);
            version = driver.cuDriverGetVersion();
            if (version < MIN_DRIVER_VERSION) {
                return CudaAvailability.unavailable("the driver supports CUDA " + cudaVersion(version)
                        + "; this build needs CUDA " + cudaVersion(MIN_DRIVER_VERSION) + " or newer (driver 580+)");
            }
            count = driver.cuDeviceGetCount();
            if (count <= 0) {
                return CudaAvailability.unavailable("the driver sees no CUDA device");
            }
            int device = driver.cuDeviceGet(0);
            name = driver.cuDeviceGetName(device);
            major = driver.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device);
            minor = driver.cuDeviceGetAttribute(CudaDriver.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device);
            if (major < MIN_MAJOR) {
                return CudaAvailability.unavailable("device 0 (" + name + ") has compute capability " + major + "."
                        + minor + "; our kernels need " + MIN_MAJOR + ".0 or newer");
            }
            memory = driver.cuDeviceTotalMem(device);
        } catch (NativeCallException e) {
            return CudaAvailability.unavailable(e.getMessage());
        } catch (UnsatisfiedLinkError e) {
            return CudaAvailability.unavailable("the CUDA driver is incomplete: " + e.getMessage());
        }
        try {
            LinkedLibrary ours = libraries.load(CudaLibrary.LEVIATHAN);
            files.put(CudaLibrary.LEVIATHAN, ours.file());
            int abi = (int) ours.handle(lv_abi_version).invokeExact();
            if (abi != LV_ABI_VERSION) {
                return CudaAvailability.unavailable(ours.file() + " has ABI version " + abi
                        + "; this build of the bindings needs " + LV_ABI_VERSION + " (rebuild native/)");
            }
        } catch (LibraryNotFoundException e) {
            return CudaAvailability.unavailable("no Leviathan CUDA library: " + e.oneLine());
        } catch (IllegalArgumentException | UnsatisfiedLinkError e) {
            return CudaAvailability.unavailable("the Leviathan CUDA library does not load: " + e.getMessage());
        } catch (Throwable t) {
            return CudaAvailability.unavailable("lv_abi_version failed: " + t);
        }
        try {
            LinkedLibrary cublas = libraries.load(CudaLibrary.CUBLAS);
            LinkedLibrary cublasLt = libraries.load(CudaLibrary.CUBLAS_LT);
            files.put(CudaLibrary.CUBLAS_LT, cublasLt.file());
            files.put(CudaLibrary.CUBLAS, cublas.file());
        } catch (LibraryNotFoundException e) {
            return CudaAvailability.unavailable("no cuBLAS: " + e.oneLine());
        } catch (IllegalArgumentException e) {
            return CudaAvailability.unavailable("cuBLAS does not load: " + e.getMessage());
        }
        return CudaAvailability.available(new CudaAvailability.Device(name, major, minor, memory, count, version), files);
    }

    /** 13000 as {@code 13.0}. */
    static String cudaVersion(int version) {
        return String.format(Locale.ROOT, "%d.%d", version / 1000, version % 1000 / 10);
    }
}
