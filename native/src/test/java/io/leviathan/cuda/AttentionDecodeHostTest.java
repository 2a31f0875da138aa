package io.leviathan.cuda;

import static io.leviathan.cuda.AttentionHostTest.assertClose;
import static io.leviathan.cuda.AttentionHostTest.code;
import static io.leviathan.cuda.AttentionHostTest.normal;
import static io.leviathan.cuda.AttentionHostTest.tensor;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The key/value cache kernels' arithmetic, run by their host twins (lv_host_kv_cache_append,
 * lv_host_attention_decode), against the Java CPU backend on random data: a prompt block and then single
 * positions, past the kernel's 256-key chunk and the CPU's 64-key tile, head dims 1 to 128, F32 and BF16.
 * The cache the twin appends to must equal the CPU's bit for bit; the outputs agree to rounding (the two
 * sum in different orders).
 */
class AttentionDecodeHostTest {
    private static final Backend CPU = Backends.cpu(2);

    /** B, T, H, Dh, capacity, prompt block. */
    private static final int[][] SHAPES = {
        {1, 1, 1, 1, 1, 1}, {2, 9, 3, 8, 12, 4}, {1, 300, 2, 64, 310, 40}, {2, 70, 1, 128, 70, 1}, {1, 40, 2, 100, 64, 33},
    };

    @Test
    void appendAndDecodeMatchTheCpuBackend() throws Throwable {
        for (int[] shape : SHAPES) {
            compare(shape, DType.F32, 3L * shape[1] + shape[3]);
        }
        compare(new int[] {1, 130, 2, 32, 140, 60}, DType.BF16, 9);
    }

    private static void compare(int[] shape, DType type, long seed) throws Throwable {
        int B = shape[0], T = shape[1], H = shape[2], Dh = shape[3], cap = shape[4], prompt = shape[5];
        String what = "attentionDecode " + Arrays.toString(shape) + " " + type;
        Random rnd = new Random(seed);
        try (TensorArena arena = CPU.newArena()) {
            float[] q = normal(rnd, B * T * H * Dh, 1.5f), k = normal(rnd, B * T * H * Dh, 1.5f);
            float[] v = normal(rnd, B * T * H * Dh, 1f);
            Tensor cpuK = arena.allocate(type, B, H, cap, Dh).fill(Float.NaN), cpuV = arena.allocate(type, B, H, cap, Dh).fill(Float.NaN);
            Tensor hostK = arena.allocate(type, B, H, cap, Dh).fill(Float.NaN), hostV = arena.allocate(type, B, H, cap, Dh).fill(Float.NaN);
            for (int start = 0; start < T; ) {
                int rows = start == 0 ? Math.min(prompt, T) : 1;
                long[] dims = {B, rows, H, Dh};
                Tensor qb = tensor(arena, type, positions(q, B, T, H * Dh, start, rows), dims);
                Tensor kb = tensor(arena, type, positions(k, B, T, H * Dh, start, rows), dims);
                Tensor vb = tensor(arena, type, positions(v, B, T, H * Dh, start, rows), dims);
                CPU.kvCacheAppend(kb, vb, cpuK, cpuV, start);
                HostAttentionCalls.kvCacheAppend(kb.segment(), vb.segment(), hostK.segment(), hostV.segment(),
                        code(type), B, rows, H, Dh, cap, start);
                Tensor out = arena.allocate(type, dims), hostOut = arena.allocate(type, dims).fill(Float.NaN);
                CPU.attentionDecode(qb, cpuK, cpuV, start, out);
                HostAttentionCalls.attentionDecode(qb.segment(), hostK.segment(), hostV.segment(), hostOut.segment(),
                        code(type), B, rows, H, Dh, cap, start);
                double tolerance = type == DType.BF16 ? 0x1p-7 : 2e-6; // bf16: one unit in the last place
                assertClose(what + " positions [" + start + ", " + (start + rows) + ")", out.toFloatArray(),
                        hostOut.toFloatArray(), tolerance);
                start += rows;
            }
            assertArrayEquals(bits(cpuK.toFloatArray()), bits(hostK.toFloatArray()), what + ": key cache");
            assertArrayEquals(bits(cpuV.toFloatArray()), bits(hostV.toFloatArray()), what + ": value cache");
        }
    }

    @Test
    void argumentErrorsNameTheCallAndStatus() throws Throwable {
        try (TensorArena arena = CPU.newArena()) {
            Tensor x = arena.allocate(DType.F32, 1, 2, 1, 8), cache = arena.allocate(DType.F32, 1, 1, 4, 8);
            NativeCallException past = assertThrows(NativeCallException.class, () -> HostAttentionCalls.attentionDecode(
                    x.segment(), cache.segment(), cache.segment(), x.segment(), code(DType.F32), 1, 2, 1, 8, 4, 3));
            assertEquals("lv_host_attention_decode", past.call());
            assertThrows(NativeCallException.class, () -> HostAttentionCalls.kvCacheAppend(x.segment(), x.segment(),
                    cache.segment(), cache.segment(), 7, 1, 2, 1, 8, 4, 0));
            assertThrows(NativeCallException.class, () -> HostAttentionCalls.attentionDecode(x.segment(),
                    cache.segment(), cache.segment(), x.segment(), code(DType.F32), 1, 2, 1, 129, 4, 0));
        }
    }

    /** Rows {@code [start, start + rows)} of each batch item of a {@code [B, T, width]} array. */
    private static float[] positions(float[] x, int B, int T, int width, int start, int rows) {
        float[] out = new float[B * rows * width];
        for (int b = 0; b < B; b++) {
            System.arraycopy(x, (b * T + start) * width, out, b * rows * width, rows * width);
        }
        return out;
    }

    private static int[] bits(float[] x) {
        int[] out = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Float.floatToRawIntBits(x[i]);
        }
        return out;
    }
}
