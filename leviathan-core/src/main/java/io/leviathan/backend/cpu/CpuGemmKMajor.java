package io.leviathan.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CpuGemm}'s path for a transposed F32 A (stored {@code [K, M]}, as in a weight gradient
 * {@code dW = X^T dY}): A is packed k-major, so for each {@code k} a micro-panel holds its
 * {@link CpuGemm#MR} values side by side, which are already contiguous in A. Packing is then one masked
 * vector load and one masked store per {@code k} and full micro-panel (a scalar copy for the edge panel),
 * the load a whole vector wherever one lies inside A (a masked load from a segment ran the weight-gradient
 * shapes at 0.83-0.93x on a Zen 5; the lanes past the panel are loaded and not stored),
 * reading A row by row (in groups of rows, each read sequentially), instead of a transpose;
 * the micro-kernel broadcasts its A values from one or two cache lines per {@code k}.
 *
 * <p>The kernel issues the same fused multiply-adds in the same order as {@link CpuGemm}'s row-panel
 * kernel, so every result bit is the same as on that path. Used only where {@link CpuGemm#K_MAJOR} holds
 * (16-lane vectors and 12-row tiles).
 */
final class CpuGemmKMajor {
    private CpuGemmKMajor() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int MR = CpuGemm.MR;
    private static final int NR = CpuGemm.NR;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    /** The {@link CpuGemm#MR} lanes a packed k's values occupy. */
    private static final VectorMask<Float> PANEL_LANES = S.indexInRange(0, MR);
    /**
     * Rows of A packed together: each is read sequentially across the block while the group's lines stay
     * in L1. Walking one micro-panel down all of k instead reads A at a stride of its row length, which for
     * a wide A (a 32 KiB row in the LM head's gradient) maps every line to the same cache set.
     */
    private static final int K_GROUP = 16;

    /**
     * Packs {@code op(A)[i0 : i0+mc, p0 : p0+kc]} for A stored {@code [K, M]} (row stride {@code lda}
     * floats, offset {@code aOff} floats) into micro-panels of {@code MR * kc} floats: panel {@code q}
     * starts at {@code ap[q * MR * kc]} and holds, for each {@code k}, rows {@code q*MR .. q*MR+MR-1}
     * consecutively; rows past {@code mc} are zero. {@code ap} needs {@code roundUp(mc, MR) * kc} floats.
     */
    static void packTransposedA(MemorySegment a, long aOff, int lda, int i0, int mc, int p0, int kc, float[] ap) {
        long step = (long) lda * Float.BYTES;
        long lastWhole = a.byteSize() - (long) L * Float.BYTES; // a whole vector can be read from A up to here
        int touched = 0;
        for (int k0 = 0; k0 < kc; k0 += K_GROUP) {
            int k1 = Math.min(kc, k0 + K_GROUP);
            long row = (aOff + (long) (p0 + k0) * lda + i0) * Float.BYTES;
            touched += touchRows(a, row, step, k1 - k0, (long) mc * Float.BYTES);
            for (int ir = 0; ir < mc; ir += MR) {
                int rows = Math.min(MR, mc - ir);
                long src = row + (long) ir * Float.BYTES;
                int dst = ir * kc + k0 * MR;
                if (rows == MR) {
                    for (int kk = k0; kk < k1; kk++, src += step, dst += MR) {
                        // each branch stores its own load: one vector from two branches would be boxed
                        if (src <= lastWhole) {
                            FloatVector.fromMemorySegment(S, a, src, NATIVE).intoArray(ap, dst, PANEL_LANES);
                        } else {
                            FloatVector.fromMemorySegment(S, a, src, NATIVE, PANEL_LANES).intoArray(ap, dst, PANEL_LANES);
                        }
                    }
                } else {
                    packEdgePanel(a, src, step, k1 - k0, rows, ap, dst);
                }
            }
        }
        touchedSink = touched;
    }

    /** Where {@link #touchRows}' reads go, so that the compiler keeps them. */
    private static int touchedSink;

    /**
     * Reads one int per cache line of {@code count} rows of A ({@code bytes} each, {@code step} apart, the first at
     * byte {@code row}), in address order, and returns their sum. The packing then reads the group's rows across
     * (12 values of each row in turn), which the hardware prefetchers do not follow from memory; read in order
     * first, the lines stream in. With A larger than L2 (the weight gradients' {@code [tokens, M]}) this ran the
     * weight-gradient GEMM about 8 % faster at 256x2048x256 and 2 % at 256x2048x688, one thread, six alternations.
     */
    private static int touchRows(MemorySegment a, long row, long step, int count, long bytes) {
        int sum = 0;
        for (int k = 0; k < count; k++, row += step) {
            for (long off = 0; off < bytes; off += 64) {
                sum += a.get(ValueLayout.JAVA_INT_UNALIGNED, row + off);
            }
        }
        return sum;
    }

    /**
     * The last micro-panel of a block when fewer than {@link CpuGemm#MR} rows are left: {@code rows} values
     * per k, then zeros as padding. Scalar on purpose: a lane mask that depends on {@code rows} and is merged
     * with the full panel's constant mask is boxed by C2 on every panel (hundreds of KB a step), and this
     * panel is at most one in a block.
     */
    private static void packEdgePanel(MemorySegment a, long src, long step, int ks, int rows, float[] ap, int dst) {
        for (int kk = 0; kk < ks; kk++, src += step, dst += MR) {
            for (int r = 0; r < rows; r++) {
                ap[dst + r] = a.get(ValueLayout.JAVA_FLOAT_UNALIGNED, src + (long) r * Float.BYTES);
            }
            for (int r = rows; r < MR; r++) {
                ap[dst + r] = 0f;
            }
        }
    }

    /**
     * tile[12 x 2L] = k-major A micro-panel (at {@code pa}) · B micro-panel (at {@code pb}) over
     * {@code kc}: per k, 2 vector loads of B, 12 broadcasts of A (adjacent floats), 24 FMAs.
     */
    static void kernel12(int kc, float[] ap, int pa, float[] bp, int pb, float[] tile) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        FloatVector c80 = z, c81 = z, c90 = z, c91 = z, ca0 = z, ca1 = z, cb0 = z, cb1 = z;
        for (int kk = 0; kk < kc; kk++) {
            int ia = pa + kk * MR;
            int ib = pb + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, ib);
            FloatVector b1 = FloatVector.fromArray(S, bp, ib + L);
            FloatVector x;
            x = FloatVector.broadcast(S, ap[ia]);      c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ia + 1]);  c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ia + 2]);  c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ia + 3]);  c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ia + 4]);  c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ia + 5]);  c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ap[ia + 6]);  c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ap[ia + 7]);  c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, ap[ia + 8]);  c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, ap[ia + 9]);  c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, ap[ia + 10]); ca0 = x.fma(b0, ca0); ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, ap[ia + 11]); cb0 = x.fma(b0, cb0); cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(tile, 0);       c01.intoArray(tile, L);
        c10.intoArray(tile, NR);      c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);  c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);  c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);  c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);  c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);  c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);  c71.intoArray(tile, 7 * NR + L);
        c80.intoArray(tile, 8 * NR);  c81.intoArray(tile, 8 * NR + L);
        c90.intoArray(tile, 9 * NR);  c91.intoArray(tile, 9 * NR + L);
        ca0.intoArray(tile, 10 * NR); ca1.intoArray(tile, 10 * NR + L);
        cb0.intoArray(tile, 11 * NR); cb1.intoArray(tile, 11 * NR + L);
    }
}
