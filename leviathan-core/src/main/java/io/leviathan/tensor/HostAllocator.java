package io.leviathan.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Native host memory from a shared {@link Arena} per scope. The plain instance is addressable by anyone;
 * a <i>guarded</i> instance (the strict CPU backend's) refuses direct Java access and grants its memory to
 * one backend key, so host memory stands in for device memory in tests.
 */
public final class HostAllocator implements Allocator {
    static final HostAllocator HOST = new HostAllocator(null, "cpu");

    private final MemoryKey key;
    private final String location;

    private HostAllocator(MemoryKey key, String location) {
        this.key = key;
        this.location = location;
    }

    /**
     * Host memory that Java code may not address directly, only kernels presenting {@code key}: it behaves
     * as device memory would, so any host access that bypasses the backend's boundary fails loudly.
     */
    public static HostAllocator guarded(MemoryKey key, String location) {
        if (key == null) {
            throw new IllegalArgumentException("a guarded allocator needs a key");
        }
        return new HostAllocator(key, location);
    }

    @Override public Device device() { return Device.CPU; }
    @Override public String location() { return location; }
    @Override public boolean hostAccessible() { return key == null; }
    @Override public boolean grants(MemoryKey k) { return key == null || key == k; }

    @Override
    public Scope open() {
        Arena arena = Arena.ofShared();
        return new Scope() {
            @Override
            public MemorySegment allocate(long bytes, long alignment) {
                return arena.allocate(bytes, alignment); // Arena memory is zeroed
            }

            @Override
            public void close() {
                arena.close();
            }
        };
    }

    @Override
    public String toString() {
        return "HostAllocator[" + location + "]";
    }
}
