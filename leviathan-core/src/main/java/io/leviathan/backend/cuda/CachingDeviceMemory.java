package io.leviathan.backend.cuda;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * A caching allocator over {@link RawDeviceMemory}: freed blocks go into bins by size class and the next
 * request of that class reuses one, so once a training step has run, later steps take every block from the
 * cache and none from the driver. All work is on one stream, so a block freed by one operation and handed
 * to the next is ordered after every use of it: no event is needed.
 *
 * <p>Size classes: requests round up to a multiple of 512 bytes up to 1 MiB, to a multiple of 1/8 of the
 * enclosing power of two above that (so a block wastes at most about 12 %). When the driver refuses an
 * allocation, every cached block is released and the allocation retried once.
 */
final class CachingDeviceMemory implements AutoCloseable {
    private static final long SMALL_QUANTUM = 512;
    private static final long SMALL_LIMIT = 1 << 20;

    private final RawDeviceMemory raw;
    /** Cached (free) blocks by size class. */
    private final TreeMap<Long, ArrayDeque<Long>> bins = new TreeMap<>();
    /** Blocks handed out and not yet returned, by address, with their size class. */
    private final Map<Long, Long> live = new HashMap<>();
    private long driverAllocations;
    private long driverFrees;
    private long cacheHits;
    private long bytesInUse;
    private long bytesCached;
    private long peakBytesInUse;
    private boolean closed;

    CachingDeviceMemory(RawDeviceMemory raw) {
        this.raw = raw;
    }

    /** The size class of a request of {@code bytes} bytes: what a block for it really holds. */
    static long sizeClass(long bytes) {
        if (bytes <= 0) {
            return SMALL_QUANTUM;
        }
        if (bytes <= SMALL_LIMIT) {
            return (bytes + SMALL_QUANTUM - 1) / SMALL_QUANTUM * SMALL_QUANTUM;
        }
        long step = Long.highestOneBit(bytes - 1) / 8;
        return (bytes + step - 1) / step * step;
    }

    /** A block of at least {@code bytes} bytes, from the cache when one of its size class is free. */
    synchronized long allocate(long bytes) {
        if (closed) {
            throw new IllegalStateException("device memory allocator is closed");
        }
        long size = sizeClass(bytes);
        ArrayDeque<Long> bin = bins.get(size);
        long address;
        if (bin != null && !bin.isEmpty()) {
            address = bin.pop();
            bytesCached -= size;
            cacheHits++;
        } else {
            address = allocateFromDriver(size);
        }
        live.put(address, size);
        bytesInUse += size;
        peakBytesInUse = Math.max(peakBytesInUse, bytesInUse);
        return address;
    }

    private long allocateFromDriver(long size) {
        long address;
        try {
            address = raw.allocate(size);
        } catch (RuntimeException outOfMemory) {
            if (bytesCached == 0) {
                throw outOfMemory;
            }
            releaseCached();
            address = raw.allocate(size);
        }
        driverAllocations++;
        return address;
    }

    /** Zero-fills {@code bytes} bytes of a block this allocator handed out. */
    void zero(long address, long bytes) {
        raw.zero(address, bytes);
    }

    /** Returns a block to the cache. A block that is not live (freed twice, or never allocated) throws. */
    synchronized void free(long address) {
        if (closed) {
            return; // close() already gave every block back to the driver
        }
        Long size = live.remove(address);
        if (size == null) {
            throw new IllegalStateException("device block 0x" + Long.toHexString(address)
                    + " is not allocated here (freed twice, or from another allocator)");
        }
        bytesInUse -= size;
        bins.computeIfAbsent(size, s -> new ArrayDeque<>()).push(address);
        bytesCached += size;
    }

    /** Gives every cached (free) block back to the driver; blocks in use stay. */
    synchronized void releaseCached() {
        for (ArrayDeque<Long> bin : bins.values()) {
            for (Long address : bin) {
                raw.free(address);
                driverFrees++;
            }
        }
        bins.clear();
        bytesCached = 0;
    }

    /** What the allocator has done so far. */
    synchronized Stats stats() {
        return new Stats(driverAllocations, driverFrees, cacheHits, bytesInUse, bytesCached, peakBytesInUse,
                live.size());
    }

    /** Gives every block, cached or in use, back to the driver; later frees are ignored. */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        releaseCached();
        for (Long address : live.keySet()) {
            raw.free(address);
            driverFrees++;
        }
        live.clear();
        bytesInUse = 0;
        closed = true;
    }

    /**
     * Counters of a {@link CachingDeviceMemory}.
     *
     * @param driverAllocations blocks taken from the driver
     * @param driverFrees blocks given back to the driver
     * @param cacheHits requests served from the cache
     * @param bytesInUse bytes of blocks handed out and not returned (size classes, not requests)
     * @param bytesCached bytes of free blocks kept for reuse
     * @param peakBytesInUse the highest {@code bytesInUse} so far
     * @param liveBlocks blocks handed out and not returned
     */
    record Stats(long driverAllocations, long driverFrees, long cacheHits, long bytesInUse, long bytesCached,
                 long peakBytesInUse, long liveBlocks) {}
}
