package io.leviathan.backend.cuda;

import java.lang.foreign.MemorySegment;

/**
 * A device buffer that grows on demand and is otherwise reused: the workspaces of operations that need one
 * ({@code lv_*_workspace_bytes}) and the widened operand of a mixed-dtype GEMM. Once the largest shape has
 * been seen, a call allocates nothing. Growth frees the old buffer stream-ordered, after the work that used it.
 */
final class DeviceScratch implements AutoCloseable {
    private final RawDeviceMemory memory;
    private long address;
    private long bytes;

    DeviceScratch(RawDeviceMemory memory) {
        this.memory = memory;
    }

    /** At least {@code need} bytes (NULL for none), valid until the next call. */
    synchronized MemorySegment get(long need) {
        if (need <= 0) {
            return MemorySegment.NULL;
        }
        if (need > bytes) {
            long grown = Math.max(need, bytes + bytes / 2);
            long fresh = memory.allocate(grown);
            if (address != 0) {
                memory.free(address);
            }
            address = fresh;
            bytes = grown;
        }
        return MemorySegment.ofAddress(address).reinterpret(need);
    }

    /** Bytes held now. */
    synchronized long capacity() {
        return bytes;
    }

    @Override
    public synchronized void close() {
        if (address != 0) {
            memory.free(address);
            address = 0;
            bytes = 0;
        }
    }
}
