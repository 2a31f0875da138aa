package io.leviathan.bindings.cuda;

import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * What {@link CudaProbe} found.
 *
 * @param available whether every check passed
 * @param reason {@code "CUDA unavailable: <reason>"} from the first failing check; null when available
 * @param device device 0 and the driver, when available
 * @param files the library files loaded, by library, when available
 */
public record CudaAvailability(boolean available, String reason, Device device, Map<CudaLibrary, String> files) {

    /**
     * Device 0 and the driver.
     *
     * @param name the device's name
     * @param major compute capability, major
     * @param minor compute capability, minor
     * @param totalMemory device memory in bytes
     * @param deviceCount how many devices the driver sees
     * @param driverVersion the driver's CUDA version, 1000 * major + 10 * minor
     */
    public record Device(String name, int major, int minor, long totalMemory, int deviceCount, int driverVersion) {}

    static CudaAvailability unavailable(String reason) {
        return new CudaAvailability(false, "CUDA unavailable: " + reason, null, Map.of());
    }

    static CudaAvailability available(Device device, Map<CudaLibrary, String> files) {
        return new CudaAvailability(true, null, device, Map.copyOf(files));
    }

    /** One line for {@code leviathan info}: the device and the files, or the reason. */
    public String summary() {
        if (!available) {
            return reason;
        }
        String libs = files.entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> e.getKey().fileName() + " = " + e.getValue()).collect(Collectors.joining(", "));
        return String.format(Locale.ROOT, "%s (compute %d.%d, %.1f GiB), %d device%s, driver CUDA %s; %s",
                device.name(), device.major(), device.minor(), device.totalMemory() / (double) (1L << 30),
                device.deviceCount(), device.deviceCount() == 1 ? "" : "s", CudaProbe.cudaVersion(device.driverVersion()),
                libs);
    }
}
