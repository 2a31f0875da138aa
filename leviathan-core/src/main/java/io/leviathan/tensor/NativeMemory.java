package io.leviathan.tensor;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Process-wide accounting of the native memory that {@link TensorArena}s hold. Allocation adds, closing an
 * arena subtracts, so a balanced program returns to zero; tests use that to prove nothing leaks.
 */
public final class NativeMemory {
    private static final AtomicLong ALLOCATED = new AtomicLong();
    private static final AtomicLong MAPPED = new AtomicLong();
    private static final AtomicLong PEAK = new AtomicLong();

    private NativeMemory() {}

    /** Bytes of native memory currently allocated by open arenas (mapped files excluded). */
    public static long allocatedBytes() {
        return ALLOCATED.get();
    }

    /** Bytes of files currently memory-mapped by open arenas. */
    public static long mappedBytes() {
        return MAPPED.get();
    }

    /** The highest value {@link #allocatedBytes()} has reached in this process. */
    public static long peakAllocatedBytes() {
        return PEAK.get();
    }

    static void allocated(long bytes) {
        long now = ALLOCATED.addAndGet(bytes);
        PEAK.accumulateAndGet(now, Math::max);
    }

    static void mapped(long bytes) {
        MAPPED.addAndGet(bytes);
    }
}
