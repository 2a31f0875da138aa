package io.leviathan.backend.cuda;

import io.leviathan.tensor.Allocator;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.MemoryKey;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Device memory for the CUDA backend's arenas: not host accessible, granted only to the backend's
 * {@link MemoryKey}. A tensor's segment carries the device address and size, never host memory. Blocks come
 * from a {@link CachingDeviceMemory}, so closing an arena returns its blocks to the cache and the next
 * arena of the same shapes allocates nothing from the driver.
 */
final class CudaAllocator implements Allocator {
    /** cudaMalloc aligns to 256 bytes; a request for more alignment cannot be honoured. */
    static final long DEVICE_ALIGNMENT = 256;

    private final CachingDeviceMemory memory;
    private final MemoryKey key;
    private final String location;

    CudaAllocator(CachingDeviceMemory memory, MemoryKey key, int device) {
        this.memory = memory;
        this.key = key;
        this.location = "cuda:" + device;
    }

    @Override public Device device() { return Device.CUDA; }
    @Override public String location() { return location; }
    @Override public boolean hostAccessible() { return false; }
    @Override public boolean grants(MemoryKey k) { return k == key; }

    /** The cache underneath, for statistics. */
    CachingDeviceMemory memory() {
        return memory;
    }

    @Override
    public Scope open() {
        return new DeviceScope();
    }

    private final class DeviceScope implements Scope {
        private final List<Long> blocks = new ArrayList<>();
        private boolean closed;

        @Override
        public synchronized MemorySegment allocate(long bytes, long alignment) {
            if (closed) {
                throw new IllegalStateException("allocate: this " + location + " scope is closed");
            }
            if (alignment > DEVICE_ALIGNMENT || Long.bitCount(alignment) != 1) {
                throw new IllegalArgumentException("allocate: alignment " + alignment + " on " + location
                        + " must be a power of two <= " + DEVICE_ALIGNMENT);
            }
            long address = memory.allocate(bytes);
            blocks.add(address);
            memory.zero(address, bytes);
            return MemorySegment.ofAddress(address).reinterpret(bytes);
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            for (Long address : blocks) {
                memory.free(address);
            }
            blocks.clear();
        }
    }

    @Override
    public String toString() {
        return "CudaAllocator[" + location + "]";
    }
}
