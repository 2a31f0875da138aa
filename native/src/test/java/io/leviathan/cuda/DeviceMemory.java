package io.leviathan.cuda;

import static io.leviathan.cuda.DeviceAttentionCalls.DEVICE_COUNT;
import static io.leviathan.cuda.DeviceAttentionCalls.DEVICE_SYNCHRONIZE;
import static io.leviathan.cuda.DeviceAttentionCalls.FREE;
import static io.leviathan.cuda.DeviceAttentionCalls.MALLOC;
import static io.leviathan.cuda.DeviceAttentionCalls.MEMCPY_ASYNC;
import static io.leviathan.cuda.HostAttentionCalls.check;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * Device buffers of one test, freed together on close, and copies between them and host segments (each copy
 * waits for the device, so a test reads results right after). {@link #open()} skips the test, naming why, where
 * no device is usable, and fails it instead under {@code -Dleviathan.cuda.required=true}.
 */
final class DeviceMemory implements AutoCloseable {
    private final List<MemorySegment> buffers = new ArrayList<>();

    private DeviceMemory() {}

    static DeviceMemory open() throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(JAVA_INT);
            int status = (int) CudaLibrary.get().handle(DEVICE_COUNT).invokeExact(count);
            String reason = status != 0 ? "no CUDA device: lv_device_count returned " + status + " ("
                    + RuntimeCalls.errorString(status) + ")" : count.get(JAVA_INT, 0) == 0 ? "no CUDA device" : null;
            if (reason != null && Boolean.getBoolean("leviathan.cuda.required")) {
                throw new AssertionError(reason + ", and leviathan.cuda.required is set");
            }
            assumeTrue(reason == null, reason);
        }
        return new DeviceMemory();
    }

    /** A device buffer holding a copy of {@code host}. */
    MemorySegment copyOf(MemorySegment host) throws Throwable {
        MemorySegment d = allocate(host.byteSize());
        copy(d, host, host.byteSize());
        return d;
    }

    MemorySegment allocate(long bytes) throws Throwable {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ptr = arena.allocate(ADDRESS);
            check(MALLOC, (int) CudaLibrary.get().handle(MALLOC).invokeExact(ptr, Math.max(bytes, 4L)));
            MemorySegment d = ptr.get(ADDRESS, 0);
            buffers.add(d);
            return d;
        }
    }

    /** Copies {@code bytes} from {@code src} to {@code dst} (either side host or device) and waits. */
    void copy(MemorySegment dst, MemorySegment src, long bytes) throws Throwable {
        check(MEMCPY_ASYNC, (int) CudaLibrary.get().handle(MEMCPY_ASYNC).invokeExact(dst, src, bytes,
                MemorySegment.NULL));
        synchronize();
    }

    /** Waits for the device; an error of an earlier launch surfaces here. */
    void synchronize() throws Throwable {
        check(DEVICE_SYNCHRONIZE, (int) CudaLibrary.get().handle(DEVICE_SYNCHRONIZE).invokeExact());
    }

    @Override
    public void close() throws Exception {
        Throwable first = null;
        for (MemorySegment d : buffers) {
            try {
                check(FREE, (int) CudaLibrary.get().handle(FREE).invokeExact(d));
            } catch (Throwable t) {
                first = first == null ? t : first;
            }
        }
        buffers.clear();
        if (first instanceof Exception e) {
            throw e;
        } else if (first != null) {
            throw new IllegalStateException(first);
        }
    }
}
