package io.leviathan.backend;

import io.leviathan.backend.cpu.CpuBackend;
import java.util.List;

/** Finds and creates backends. */
public final class Backends {
    private Backends() {}

    /**
     * Set to {@code true} (system property) to make {@link #cpu()} and {@link #cpu(int)} return strict CPU
     * backends, whose tensors refuse host access as device memory would. The test suites run once plain and
     * once with it set, so a host access that bypasses the backend's upload and download fails the build.
     */
    public static final String STRICT_PROPERTY = "leviathan.cpu.strict";

    /** The CPU backend with one worker thread per available core. */
    public static Backend cpu() {
        return cpu(Runtime.getRuntime().availableProcessors());
    }

    /** The CPU backend with {@code threads} worker threads (strict when {@link #STRICT_PROPERTY} is set). */
    public static Backend cpu(int threads) {
        return Boolean.getBoolean(STRICT_PROPERTY) ? strictCpu(threads) : new CpuBackend(threads);
    }

    /**
     * A strict CPU backend: the CPU's kernels, with arenas that refuse direct host access (see
     * {@link CpuBackend#strict}), behind a guard that refuses host tensors as operation arguments. Together
     * they hold code above the backend to what a GPU backend allows.
     */
    public static Backend strictCpu(int threads) {
        return DeviceOnlyGuard.wrap(CpuBackend.strict(threads));
    }

    /**
     * The backend named {@code name} ({@code "cpu"} or {@code "cuda"}).
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException when the backend exists but cannot run here; the message says why
     */
    public static Backend create(String name) {
        return switch (name) {
            case "cpu" -> cpu();
            case "cpu-strict" -> strictCpu(Runtime.getRuntime().availableProcessors());
            case "cuda" -> {
                BackendInfo info = BackendProbe.cuda();
                throw new IllegalStateException("backend 'cuda' is unavailable: " + info.detail());
            }
            default -> throw new IllegalArgumentException("unknown backend '" + name + "'; valid: cpu, cuda");
        };
    }

    /** Every backend this library knows, whether it can run here, and why not when it cannot. */
    public static List<BackendInfo> probe() {
        return List.of(BackendProbe.cpu(), BackendProbe.cuda());
    }
}
