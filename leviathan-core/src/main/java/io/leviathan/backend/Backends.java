package io.leviathan.backend;

import io.leviathan.backend.cpu.CpuBackend;
import java.util.List;

/** Finds and creates backends. */
public final class Backends {
    private Backends() {}

    /** The CPU backend with one worker thread per available core. */
    public static Backend cpu() {
        return new CpuBackend();
    }

    /** The CPU backend with {@code threads} worker threads. */
    public static Backend cpu(int threads) {
        return new CpuBackend(threads);
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
