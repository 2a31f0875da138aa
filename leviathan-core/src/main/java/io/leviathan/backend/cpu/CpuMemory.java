package io.leviathan.backend.cpu;

import io.leviathan.tensor.HostAllocator;
import io.leviathan.tensor.MemoryKey;

/**
 * The CPU backend's key to tensor memory. Kernels open every tensor with {@link #KEY}; ordinary host arenas
 * grant any key, and the strict backend's guarded arenas grant only this one, so inside the backend both
 * look alike while outside it the strict arenas refuse element access as device memory would.
 */
final class CpuMemory {
    private CpuMemory() {}

    /** Held by the CPU kernels only. */
    static final MemoryKey KEY = new MemoryKey("cpu backend");

    /** Host memory that only the CPU kernels may address (the strict backend's arenas). */
    static HostAllocator strictAllocator() {
        return HostAllocator.guarded(KEY, "cpu (strict)");
    }
}
