package io.leviathan.backend.cuda;

import io.leviathan.bindings.cuda.LeviathanCuda;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One device and its one stream, with the runtime calls every part of the backend needs: stream-ordered
 * allocation, zeroing, pinned host memory and synchronisation, each status checked. The CUDA runtime's current
 * device is per host thread, so {@link #bindThread()} selects the device again when a new thread calls in.
 */
final class CudaContext implements AutoCloseable, RawDeviceMemory {
    final LeviathanCuda lib;
    final int device;
    final MemorySegment stream;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment pointerOut = arena.allocate(ValueLayout.ADDRESS);
    private volatile Thread boundThread;
    private boolean closed;

    private CudaContext(LeviathanCuda lib, int device, MemorySegment stream) {
        this.lib = lib;
        this.device = device;
        this.stream = stream;
        this.boundThread = Thread.currentThread();
    }

    /** Selects {@code device} on this thread and creates the stream. */
    static CudaContext open(LeviathanCuda lib, int device) {
        lib.check("lv_set_device", lib.lv_set_device(device));
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            lib.check("lv_stream_create", lib.lv_stream_create(out));
            return new CudaContext(lib, device, out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** Makes this backend's device current on the calling thread, once per thread switch. */
    void bindThread() {
        Thread t = Thread.currentThread();
        if (boundThread != t) {
            lib.check("lv_set_device", lib.lv_set_device(device));
            boundThread = t;
        }
    }

    /** Stream-ordered device allocation ({@code lv_malloc_async}). */
    @Override
    public synchronized long allocate(long bytes) {
        lib.check("lv_malloc_async", lib.lv_malloc_async(pointerOut, bytes, stream));
        return pointerOut.get(ValueLayout.ADDRESS, 0).address();
    }

    /** Stream-ordered device free ({@code lv_free_async}). */
    @Override
    public void free(long address) {
        lib.check("lv_free_async", lib.lv_free_async(MemorySegment.ofAddress(address), stream));
    }

    /** Stream-ordered zeroing ({@code lv_memset_async}). */
    @Override
    public void zero(long address, long bytes) {
        if (bytes > 0) {
            lib.check("lv_memset_async", lib.lv_memset_async(MemorySegment.ofAddress(address), 0, bytes, stream));
        }
    }

    /** Page-locked host memory of {@code bytes} bytes, addressable from Java. */
    synchronized MemorySegment hostAlloc(long bytes) {
        lib.check("lv_host_alloc", lib.lv_host_alloc(pointerOut, bytes));
        return pointerOut.get(ValueLayout.ADDRESS, 0).reinterpret(bytes);
    }

    /** Frees page-locked host memory from {@link #hostAlloc}. */
    void hostFree(MemorySegment host) {
        lib.check("lv_host_free", lib.lv_host_free(host));
    }

    /** A new CUDA event. */
    synchronized MemorySegment eventCreate() {
        lib.check("lv_event_create", lib.lv_event_create(pointerOut));
        return pointerOut.get(ValueLayout.ADDRESS, 0);
    }

    /** Waits for every operation issued on the stream so far. */
    void synchronizeStream() {
        lib.check("lv_stream_synchronize", lib.lv_stream_synchronize(stream));
    }

    /** Destroys the stream (after waiting for it). */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            lib.check("lv_stream_synchronize", lib.lv_stream_synchronize(stream));
        } finally {
            lib.check("lv_stream_destroy", lib.lv_stream_destroy(stream));
            arena.close();
        }
    }
}
