package io.leviathan.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Where a {@link TensorArena} gets its memory: a backend owns one (native host memory on the CPU, device
 * memory on a GPU). An allocator says whether Java code may read and write its memory directly
 * ({@link #hostAccessible()}); when it may not, only the kernels holding a key it {@link #grants} can
 * address it, and the host moves data in and out through the backend's upload and download.
 */
public interface Allocator {

    /** The kind of device the memory is on. */
    Device device();

    /** How messages name the memory's location: {@code "cpu"}, {@code "cuda:0"}, {@code "cpu (strict)"}. */
    String location();

    /** True when Java code may dereference the memory (tensor element access, {@link Tensor#segment()}). */
    boolean hostAccessible();

    /** True when kernels presenting {@code key} may address this allocator's memory. */
    boolean grants(MemoryKey key);

    /** Opens a scope whose allocations are all freed when it closes (a {@link TensorArena} holds one). */
    Scope open();

    /** A group of allocations freed together. */
    interface Scope extends AutoCloseable {
        /**
         * {@code bytes} of zero-filled memory aligned to {@code alignment}. For memory that is not host
         * accessible the segment carries the device address and size only.
         */
        MemorySegment allocate(long bytes, long alignment);

        /** Frees every allocation of this scope. */
        @Override
        void close();
    }

    /** Native host memory any code may address: what {@code new TensorArena()} uses. */
    static Allocator host() {
        return HostAllocator.HOST;
    }
}
