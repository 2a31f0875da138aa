package io.leviathan.tensor;

/**
 * The capability a backend's kernels present to address tensor memory that Java code may not touch
 * directly (device memory, or the strict CPU backend's arenas). An {@link Allocator} grants its memory to
 * the keys it was built with; a backend keeps its key to itself, so code above the {@code Backend}
 * interface has no way to reach device memory except through the backend's host boundary.
 */
public final class MemoryKey {
    private final String owner;

    /** A new key; {@code owner} names the backend holding it, for messages. */
    public MemoryKey(String owner) {
        this.owner = owner;
    }

    @Override
    public String toString() {
        return "MemoryKey[" + owner + "]";
    }
}
