package io.leviathan.backend.cuda;

import io.leviathan.backend.TransferChecks;
import io.leviathan.bindings.cuda.LeviathanCuda;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.MemoryKey;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CUDA backend's side of the host boundary. Host data goes through one page-locked staging buffer
 * (grown on demand up to {@link #CHUNK_BYTES}, then reused; larger transfers go in chunks):
 *
 * <ul>
 *   <li>upload: the host data is written (BF16 converted) into the staging buffer, an asynchronous copy to
 *       the device is enqueued and an event recorded after it; the next writer of the staging buffer waits
 *       on that event, so the caller's array may be reused at once and the copy never reads overwritten
 *       data;</li>
 *   <li>download: first a {@link DeviceErrorRecord#synchronizeAndCheck() synchronisation} (which throws the
 *       errors kernels recorded), then per chunk a copy into the staging buffer, a wait, and a copy out.</li>
 * </ul>
 */
final class CudaTransfer implements AutoCloseable {
    /** The largest staging buffer: transfers above it are chunked rather than pinning ever more memory. */
    static final long CHUNK_BYTES = 16L << 20;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final CudaContext cx;
    private final MemoryKey key;
    private final DeviceErrorRecord errors;
    private final MemorySegment copied;
    private MemorySegment staging = MemorySegment.NULL;
    private boolean copyPending;
    private boolean closed;

    CudaTransfer(CudaContext cx, MemoryKey key, DeviceErrorRecord errors) {
        this.cx = cx;
        this.key = key;
        this.errors = errors;
        this.copied = cx.eventCreate();
    }

    synchronized void upload(float[] src, int srcOffset, Tensor dst) {
        String op = "upload";
        MemorySegment d = TransferChecks.writable(op, dst, key);
        int n = TransferChecks.range(op, src == null ? -1 : src.length, srcOffset, dst);
        switch (dst.dtype()) {
            case F32 -> {
                int per = (int) (CHUNK_BYTES / 4);
                for (int i = 0; i < n; i += per) {
                    int len = Math.min(per, n - i);
                    MemorySegment s = stage((long) len * 4);
                    MemorySegment.copy(src, srcOffset + i, s, F, 0, len);
                    enqueueUpload(s, d, (long) i * 4, (long) len * 4);
                }
            }
            case BF16 -> {
                int per = (int) (CHUNK_BYTES / 2);
                for (int i = 0; i < n; i += per) {
                    int len = Math.min(per, n - i);
                    MemorySegment s = stage((long) len * 2);
                    for (int j = 0; j < len; j++) {
                        s.setAtIndex(H, j, Bf16.fromFloat(src[srcOffset + i + j]));
                    }
                    enqueueUpload(s, d, (long) i * 2, (long) len * 2);
                }
            }
            case I32 -> throw new IllegalArgumentException(op + ": floats into " + dst.describe());
        }
    }

    synchronized void upload(int[] src, int srcOffset, Tensor dst) {
        String op = "upload";
        dst.requireDType(op, DType.I32);
        MemorySegment d = TransferChecks.writable(op, dst, key);
        int n = TransferChecks.range(op, src == null ? -1 : src.length, srcOffset, dst);
        int per = (int) (CHUNK_BYTES / 4);
        for (int i = 0; i < n; i += per) {
            int len = Math.min(per, n - i);
            MemorySegment s = stage((long) len * 4);
            MemorySegment.copy(src, srcOffset + i, s, I, 0, len);
            enqueueUpload(s, d, (long) i * 4, (long) len * 4);
        }
    }

    synchronized void upload(MemorySegment src, Tensor dst) {
        String op = "upload";
        MemorySegment d = TransferChecks.writable(op, dst, key);
        TransferChecks.hostSegment(op, src, dst, d);
        for (long off = 0; off < d.byteSize(); off += CHUNK_BYTES) {
            long len = Math.min(CHUNK_BYTES, d.byteSize() - off);
            MemorySegment s = stage(len);
            MemorySegment.copy(src, off, s, 0, len);
            enqueueUpload(s, d, off, len);
        }
    }

    synchronized void download(Tensor src, float[] dst, int dstOffset) {
        String op = "download";
        MemorySegment s = TransferChecks.readable(op, src, key);
        int n = TransferChecks.range(op, dst == null ? -1 : dst.length, dstOffset, src);
        if (src.dtype() == DType.I32) {
            throw new IllegalArgumentException(op + ": " + src.describe() + " into floats");
        }
        errors.synchronizeAndCheck();
        int width = src.dtype() == DType.BF16 ? 2 : 4;
        int per = (int) (CHUNK_BYTES / width);
        for (int i = 0; i < n; i += per) {
            int len = Math.min(per, n - i);
            MemorySegment h = fetch(s, (long) i * width, (long) len * width);
            if (width == 4) {
                MemorySegment.copy(h, F, 0, dst, dstOffset + i, len);
            } else {
                for (int j = 0; j < len; j++) {
                    dst[dstOffset + i + j] = Bf16.toFloat(h.getAtIndex(H, j));
                }
            }
        }
    }

    synchronized void download(Tensor src, int[] dst, int dstOffset) {
        String op = "download";
        src.requireDType(op, DType.I32);
        MemorySegment s = TransferChecks.readable(op, src, key);
        int n = TransferChecks.range(op, dst == null ? -1 : dst.length, dstOffset, src);
        errors.synchronizeAndCheck();
        int per = (int) (CHUNK_BYTES / 4);
        for (int i = 0; i < n; i += per) {
            int len = Math.min(per, n - i);
            MemorySegment h = fetch(s, (long) i * 4, (long) len * 4);
            MemorySegment.copy(h, I, 0, dst, dstOffset + i, len);
        }
    }

    synchronized void download(Tensor src, MemorySegment dst) {
        String op = "download";
        MemorySegment s = TransferChecks.readable(op, src, key);
        TransferChecks.hostSegment(op, dst, src, s);
        errors.synchronizeAndCheck();
        for (long off = 0; off < s.byteSize(); off += CHUNK_BYTES) {
            long len = Math.min(CHUNK_BYTES, s.byteSize() - off);
            MemorySegment h = fetch(s, off, len);
            MemorySegment.copy(h, 0, dst, off, len);
        }
    }

    /** The staging buffer, at least {@code bytes} long, once the copy that last read it has run. */
    private MemorySegment stage(long bytes) {
        if (copyPending) {
            cx.lib.check("lv_event_synchronize", cx.lib.lv_event_synchronize(copied));
            copyPending = false;
        }
        if (staging.byteSize() < bytes) {
            long grown = Math.min(CHUNK_BYTES, Math.max(bytes, Math.max(1 << 20, staging.byteSize() * 2)));
            if (!staging.equals(MemorySegment.NULL)) {
                cx.hostFree(staging);
                staging = MemorySegment.NULL;
            }
            staging = cx.hostAlloc(grown);
        }
        return staging.asSlice(0, bytes);
    }

    private void enqueueUpload(MemorySegment staged, MemorySegment device, long offset, long bytes) {
        LeviathanCuda lib = cx.lib;
        lib.check("lv_memcpy_async", lib.lv_memcpy_async(device.asSlice(offset, bytes), staged, bytes, cx.stream));
        lib.check("lv_event_record", lib.lv_event_record(copied, cx.stream));
        copyPending = true;
    }

    /** {@code bytes} bytes of {@code device} from {@code offset}, copied into the staging buffer and waited for. */
    private MemorySegment fetch(MemorySegment device, long offset, long bytes) {
        MemorySegment s = stage(bytes);
        cx.lib.check("lv_memcpy_async", cx.lib.lv_memcpy_async(s, device.asSlice(offset, bytes), bytes, cx.stream));
        cx.synchronizeStream();
        return s;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            cx.synchronizeStream();
            if (!staging.equals(MemorySegment.NULL)) {
                cx.hostFree(staging);
                staging = MemorySegment.NULL;
            }
        } finally {
            cx.lib.check("lv_event_destroy", cx.lib.lv_event_destroy(copied));
        }
    }
}
