package io.leviathan.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.MemoryKey;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The caching allocator and the CUDA allocator over a fake driver that hands out addresses, records every
 * call and refuses double frees and foreign addresses, so reuse, statistics and release are checked without a
 * GPU.
 */
class CachingDeviceMemoryTest {

    /** Addresses from a counter, 256-aligned; frees checked; an optional capacity to simulate running out. */
    static final class FakeDriver implements RawDeviceMemory {
        final Map<Long, Long> live = new HashMap<>();
        final List<long[]> zeroed = new ArrayList<>();
        long next = 0x7f0000000000L;
        long allocations;
        long frees;
        long capacity = Long.MAX_VALUE;
        long inUse;

        @Override
        public long allocate(long bytes) {
            if (inUse + bytes > capacity) {
                throw new IllegalStateException("fake driver: out of memory for " + bytes + " bytes");
            }
            long address = next;
            next += (bytes + 255) / 256 * 256 + 256;
            live.put(address, bytes);
            inUse += bytes;
            allocations++;
            return address;
        }

        @Override
        public void free(long address) {
            Long bytes = live.remove(address);
            if (bytes == null) {
                throw new AssertionError("fake driver: free of 0x" + Long.toHexString(address) + ", not allocated");
            }
            inUse -= bytes;
            frees++;
        }

        @Override
        public void zero(long address, long bytes) {
            zeroed.add(new long[] {address, bytes});
        }
    }

    @Test
    void sizeClassesRoundUpWithBoundedWaste() {
        assertEquals(512, CachingDeviceMemory.sizeClass(1));
        assertEquals(512, CachingDeviceMemory.sizeClass(512));
        assertEquals(1024, CachingDeviceMemory.sizeClass(513));
        assertEquals(1 << 20, CachingDeviceMemory.sizeClass(1 << 20));
        SplittableRandom rng = new SplittableRandom(7);
        for (int i = 0; i < 10_000; i++) {
            long bytes = 1 + rng.nextLong(1L << 34);
            long size = CachingDeviceMemory.sizeClass(bytes);
            assertTrue(size >= bytes, bytes + " -> " + size);
            assertTrue(size - bytes <= Math.max(511, bytes / 7), "too much waste: " + bytes + " -> " + size);
        }
    }

    @Test
    void freedBlocksAreReusedAndAStepAfterTheFirstAllocatesNothing() {
        FakeDriver driver = new FakeDriver();
        try (CachingDeviceMemory memory = new CachingDeviceMemory(driver)) {
            long[] sizes = {4, 1000, 70_000, 3 << 20, 1000, 123_456_789};
            for (int step = 0; step < 5; step++) {
                long[] blocks = new long[sizes.length];
                for (int i = 0; i < sizes.length; i++) {
                    blocks[i] = memory.allocate(sizes[i]);
                }
                assertEquals(sizes.length, java.util.Arrays.stream(blocks).distinct().count(), "live blocks are distinct");
                for (long b : blocks) {
                    memory.free(b);
                }
                assertEquals(sizes.length, driver.allocations, "step " + step + " took blocks from the driver");
            }
            CachingDeviceMemory.Stats s = memory.stats();
            assertEquals(sizes.length, s.driverAllocations());
            assertEquals(4L * sizes.length, s.cacheHits());
            assertEquals(0, s.bytesInUse());
            assertEquals(0, s.liveBlocks());
            assertTrue(s.bytesCached() > 123_456_789L);
            assertTrue(s.peakBytesInUse() >= 123_456_789L + (3 << 20));
        }
        assertTrue(driver.live.isEmpty(), "close gives every block back to the driver");
    }

    @Test
    void doubleAndForeignFreesThrow() {
        FakeDriver driver = new FakeDriver();
        try (CachingDeviceMemory memory = new CachingDeviceMemory(driver)) {
            long b = memory.allocate(100);
            memory.free(b);
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> memory.free(b));
            assertTrue(twice.getMessage().contains("freed twice"), twice.getMessage());
            assertThrows(IllegalStateException.class, () -> memory.free(0x1234));
        }
    }

    @Test
    void runningOutReleasesTheCacheAndRetries() {
        FakeDriver driver = new FakeDriver();
        driver.capacity = 3 << 20;
        try (CachingDeviceMemory memory = new CachingDeviceMemory(driver)) {
            long a = memory.allocate(2 << 20);
            memory.free(a); // cached: the driver still holds 2 MiB
            long b = memory.allocate((2 << 20) + (1 << 19)); // another size class: needs the cache released
            assertEquals(1, memory.stats().driverFrees());
            assertEquals(0, memory.stats().bytesCached());
            memory.free(b);
            assertThrows(IllegalStateException.class, () -> memory.allocate(4 << 20), "beyond capacity even empty");
        }
        assertTrue(driver.live.isEmpty());
    }

    @Test
    void closeReleasesBlocksStillInUseAndLaterFreesAreIgnored() {
        FakeDriver driver = new FakeDriver();
        CachingDeviceMemory memory = new CachingDeviceMemory(driver);
        long inUse = memory.allocate(10);
        memory.free(memory.allocate(20_000));
        memory.close();
        assertTrue(driver.live.isEmpty());
        assertEquals(2, driver.frees);
        memory.free(inUse); // an arena closed after the backend: nothing left to do
        assertThrows(IllegalStateException.class, () -> memory.allocate(1));
    }

    @Test
    void arenasOnTheCudaAllocatorZeroTheirTensorsAndReturnBlocksOnClose() {
        FakeDriver driver = new FakeDriver();
        MemoryKey key = new MemoryKey("test");
        try (CachingDeviceMemory memory = new CachingDeviceMemory(driver)) {
            CudaAllocator allocator = new CudaAllocator(memory, key, 3);
            assertEquals("cuda:3", allocator.location());
            assertEquals(Device.CUDA, allocator.device());
            assertFalse(allocator.hostAccessible());
            assertTrue(allocator.grants(key));
            assertFalse(allocator.grants(new MemoryKey("other")));
            long address;
            try (TensorArena arena = new TensorArena(allocator)) {
                Tensor t = arena.allocate(DType.F32, 7, 3);
                address = t.segment(key).address();
                assertEquals(84, t.segment(key).byteSize());
                assertTrue(driver.zeroed.stream().anyMatch(z -> z[0] == address && z[1] == 84), "zero-filled");
                IllegalStateException host = assertThrows(IllegalStateException.class, t::segment);
                assertTrue(host.getMessage().contains("cuda:3"), host.getMessage());
                assertThrows(IllegalArgumentException.class, () -> t.segment(new MemoryKey("other")));
            }
            try (TensorArena arena = new TensorArena(allocator)) {
                Tensor again = arena.allocate(DType.F32, 3, 7);
                assertEquals(address, again.segment(key).address(), "the closed arena's block is reused");
            }
            assertEquals(1, driver.allocations);
            try (TensorArena arena = new TensorArena(allocator)) {
                Tensor x = arena.allocate(DType.F32, 7, 3);
                Tensor y = arena.allocate(DType.F32, 7, 3);
                assertNotEquals(x.segment(key).address(), y.segment(key).address());
            }
            assertEquals(0, memory.stats().liveBlocks());
        }
    }
}
