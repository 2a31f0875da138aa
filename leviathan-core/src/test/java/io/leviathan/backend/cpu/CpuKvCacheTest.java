package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The CPU's cached attention ({@link CpuKvCache}) reproduces the tiled kernel ({@link CpuAttention}) bit for
 * bit, for F32 and BF16, any thread count and any blocking of the appended positions (a prompt block, then
 * one position at a time past the first {@link CpuAttention#TILE}-key tile), and a decode step allocates
 * no buffers once warm (only a few small objects of its argument checks). (Closeness to a naive reference is in the backend conformance suite.)
 */
@ExtendWith(NativeMemoryCheck.class)
class CpuKvCacheTest {

    @Test
    void decodeEqualsFullAttentionBitForBit() {
        int[][] shapes = {{1, 150, 2, 16, 20}, {2, 67, 3, 12, 1}, {1, 9, 1, 8, 9}}; // {B, T, H, Dh, prompt block}
        for (DType type : new DType[] {DType.F32, DType.BF16}) {
            for (int threads : new int[] {1, 3}) {
                for (int[] sh : shapes) {
                    check(type, threads, sh[0], sh[1], sh[2], sh[3], sh[4]);
                }
            }
        }
    }

    private static void check(DType type, int threads, int B, int T, int H, int Dh, int prompt) {
        String what = type + " threads=" + threads + " [" + B + ", " + T + ", " + H + ", " + Dh + "]";
        int n = B * T * H * Dh;
        try (CpuBackend be = new CpuBackend(threads); TensorArena arena = be.newArena()) {
            float[] q = TestData.normal(1, n, 1), k = TestData.normal(2, n, 1), v = TestData.normal(3, n, 1);
            Tensor qt = upload(be, arena, type, q, B, T, H, Dh), kt = upload(be, arena, type, k, B, T, H, Dh);
            Tensor vt = upload(be, arena, type, v, B, T, H, Dh);
            Tensor full = arena.allocate(type, B, T, H, Dh);
            be.attention(qt, kt, vt, full, arena.allocate(DType.F32, B, H, T));
            float[] want = be.downloadFloats(full);

            int cap = T + 5;
            Tensor kCache = arena.allocate(type, B, H, cap, Dh), vCache = arena.allocate(type, B, H, cap, Dh);
            be.fill(kCache, Float.NaN); // never read past the appended positions
            be.fill(vCache, Float.NaN);
            float[] got = new float[n];
            for (int start = 0; start < T; ) {
                int rows = start == 0 ? Math.min(prompt, T) : 1;
                Tensor qb = arena.allocate(type, B, rows, H, Dh), out = arena.allocate(type, B, rows, H, Dh);
                Tensor kb = arena.allocate(type, B, rows, H, Dh), vb = arena.allocate(type, B, rows, H, Dh);
                for (int b = 0; b < B; b++) { // rows [start, start + rows) of batch item b
                    be.copy(qt.select(0, b).narrow(0, start, rows), qb.select(0, b));
                    be.copy(kt.select(0, b).narrow(0, start, rows), kb.select(0, b));
                    be.copy(vt.select(0, b).narrow(0, start, rows), vb.select(0, b));
                }
                be.kvCacheAppend(kb, vb, kCache, vCache, start);
                be.attentionDecode(qb, kCache, vCache, start, out);
                float[] o = be.downloadFloats(out);
                for (int b = 0; b < B; b++) {
                    System.arraycopy(o, b * rows * H * Dh, got, (b * T + start) * H * Dh, rows * H * Dh);
                }
                start += rows;
            }
            for (int i = 0; i < n; i++) {
                if (Float.floatToIntBits(want[i]) != Float.floatToIntBits(got[i])) {
                    throw new AssertionError(what + ": element " + i + " (position " + (i / (H * Dh)) % T
                            + ") decoded " + got[i] + ", full attention " + want[i]);
                }
            }
        }
    }

    private static Tensor upload(CpuBackend be, TensorArena arena, DType type, float[] x, long... shape) {
        Tensor t = arena.allocate(type, shape);
        be.upload(x, t);
        return t;
    }

    @Test
    void aDecodeStepAllocatesNothingOnceWarm() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        if (!(bean instanceof com.sun.management.ThreadMXBean mx) || !mx.isThreadAllocatedMemorySupported()) {
            Assumptions.abort("per-thread allocation counters are not available");
            return;
        }
        mx.setThreadAllocatedMemoryEnabled(true);
        int H = 4, Dh = 32, cap = 300;
        try (CpuBackend be = new CpuBackend(1); TensorArena arena = be.newArena()) {
            Tensor q = arena.allocate(DType.F32, 1, 1, H, Dh), k = arena.allocate(DType.F32, 1, 1, H, Dh);
            Tensor out = arena.allocate(DType.F32, 1, 1, H, Dh);
            Tensor kCache = arena.allocate(DType.F32, 1, H, cap, Dh), vCache = arena.allocate(DType.F32, 1, H, cap, Dh);
            be.upload(TestData.normal(4, H * Dh, 1), q);
            be.upload(TestData.normal(5, H * Dh, 1), k);
            long tid = Thread.currentThread().threadId();
            long perStep = Long.MAX_VALUE;
            // The best of several rounds: the first ones run before the JIT has compiled the vector code.
            for (int round = 0; round < 30 && perStep > 0; round++) {
                long before = mx.getThreadAllocatedBytes(tid);
                for (int p = 0; p < cap; p++) {
                    be.kvCacheAppend(k, k, kCache, vCache, p);
                    be.attentionDecode(q, kCache, vCache, p, out);
                }
                perStep = Math.min(perStep, (mx.getThreadAllocatedBytes(tid) - before) / cap);
            }
            // What is left is a few small objects of the argument checks and memory views (about 300 bytes),
            // nothing that grows with the cached length (the workspace alone is cap * Dh * 4 * 2 bytes).
            assertTrue(perStep < 1024, "a decode step allocated " + perStep + " bytes on the heap");
        }
    }
}
