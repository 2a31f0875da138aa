package io.leviathan.backend.cpu;

import io.leviathan.backend.TransferChecks;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CPU backend's side of the host boundary: host arrays and segments into tensors and back. On the CPU a
 * transfer is a copy (BF16 converts on the way); it is the one place host data enters or leaves a tensor,
 * so the strict backend can refuse every other path.
 */
final class CpuTransfer {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;

    private CpuTransfer() {}

    static void upload(float[] src, int srcOffset, Tensor dst) {
        String op = "upload";
        MemorySegment d = TransferChecks.writable(op, dst, CpuMemory.KEY);
        int n = TransferChecks.range(op, src == null ? -1 : src.length, srcOffset, dst);
        switch (dst.dtype()) {
            case F32 -> MemorySegment.copy(src, srcOffset, d, F, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    d.setAtIndex(H, i, Bf16.fromFloat(src[srcOffset + i]));
                }
            }
            case I32 -> throw new IllegalArgumentException(op + ": floats into " + dst.describe());
        }
    }

    static void upload(int[] src, int srcOffset, Tensor dst) {
        String op = "upload";
        dst.requireDType(op, DType.I32);
        MemorySegment d = TransferChecks.writable(op, dst, CpuMemory.KEY);
        int n = TransferChecks.range(op, src == null ? -1 : src.length, srcOffset, dst);
        MemorySegment.copy(src, srcOffset, d, I, 0, n);
    }

    static void upload(MemorySegment src, Tensor dst) {
        String op = "upload";
        MemorySegment d = TransferChecks.writable(op, dst, CpuMemory.KEY);
        TransferChecks.hostSegment(op, src, dst, d);
        MemorySegment.copy(src, 0, d, 0, d.byteSize());
    }

    static void download(Tensor src, float[] dst, int dstOffset) {
        String op = "download";
        MemorySegment s = TransferChecks.readable(op, src, CpuMemory.KEY);
        int n = TransferChecks.range(op, dst == null ? -1 : dst.length, dstOffset, src);
        switch (src.dtype()) {
            case F32 -> MemorySegment.copy(s, F, 0, dst, dstOffset, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) {
                    dst[dstOffset + i] = Bf16.toFloat(s.getAtIndex(H, i));
                }
            }
            case I32 -> throw new IllegalArgumentException(op + ": " + src.describe() + " into floats");
        }
    }

    static void download(Tensor src, int[] dst, int dstOffset) {
        String op = "download";
        src.requireDType(op, DType.I32);
        MemorySegment s = TransferChecks.readable(op, src, CpuMemory.KEY);
        int n = TransferChecks.range(op, dst == null ? -1 : dst.length, dstOffset, src);
        MemorySegment.copy(s, I, 0, dst, dstOffset, n);
    }

    static void download(Tensor src, MemorySegment dst) {
        String op = "download";
        MemorySegment s = TransferChecks.readable(op, src, CpuMemory.KEY);
        TransferChecks.hostSegment(op, dst, src, s);
        MemorySegment.copy(s, 0, dst, 0, s.byteSize());
    }
}
