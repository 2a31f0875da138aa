package io.leviathan.backend.cuda;

import io.leviathan.backend.KernelDataException;
import io.leviathan.bindings.cuda.LeviathanCuda;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The device error record kernels write bad data into ({@code int32[4]}: count, op code, position, value),
 * allocated once and zeroed. {@link #synchronizeAndCheck()} copies it to pinned memory with the stream's
 * other work, waits once, and throws the first recorded error as a {@link KernelDataException} naming the
 * operation, the position and the value, as the strict CPU backend reports its device error flag.
 */
final class DeviceErrorRecord implements AutoCloseable {
    private static final long BYTES = LeviathanCuda.ERROR_RECORD.byteSize();

    private final CudaContext cx;
    private final long device;
    private final MemorySegment host;
    private boolean closed;

    DeviceErrorRecord(CudaContext cx) {
        this.cx = cx;
        this.device = cx.allocate(BYTES);
        MemorySegment pinned;
        try {
            cx.zero(device, BYTES);
            pinned = cx.hostAlloc(BYTES);
        } catch (RuntimeException e) {
            cx.free(device);
            throw e;
        }
        this.host = pinned;
    }

    /** The record's device address, passed to the kernels that check data. */
    MemorySegment pointer() {
        return MemorySegment.ofAddress(device);
    }

    /** Waits for the stream; throws what the kernels recorded since the last call, and clears it. */
    synchronized void synchronizeAndCheck() {
        LeviathanCuda lib = cx.lib;
        lib.check("lv_memcpy_async", lib.lv_memcpy_async(host, pointer(), BYTES, cx.stream));
        cx.synchronizeStream();
        int count = host.getAtIndex(ValueLayout.JAVA_INT, 0);
        if (count == 0) {
            return;
        }
        int op = host.getAtIndex(ValueLayout.JAVA_INT, 1);
        int position = host.getAtIndex(ValueLayout.JAVA_INT, 2);
        int value = host.getAtIndex(ValueLayout.JAVA_INT, 3);
        cx.zero(device, BYTES);
        throw new KernelDataException("an operation reported bad data since the last synchronize"
                + (count > 1 ? " (" + count + " errors, the first shown)" : "") + ": " + describe(op, position, value));
    }

    /** The message of one recorded error, worded as the CPU backend words it. */
    static String describe(int op, int position, int value) {
        return switch (op) {
            case LeviathanCuda.LV_OP_EMBEDDING -> "embedding: id " + value + " at position " + position
                    + " (flat index into ids) is outside the table's rows";
            case LeviathanCuda.LV_OP_EMBEDDING_BACKWARD -> "embeddingBackward: id " + value + " at position "
                    + position + " (flat index into ids) is outside the table's rows";
            case LeviathanCuda.LV_OP_CROSS_ENTROPY -> "crossEntropy: target " + value + " at position " + position
                    + " is outside the vocabulary and not the ignore index";
            default -> "an unknown operation (code " + op + "): value " + value + " at position " + position;
        };
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            cx.free(device);
        } finally {
            cx.hostFree(host);
        }
    }
}
