package io.leviathan.cuda;

import static io.leviathan.cuda.HostAttentionCalls.LV_BF16;
import static io.leviathan.cuda.HostAttentionCalls.LV_F32;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The attention kernels' arithmetic, run by their host twins (lv_host_attention_*), against the Java CPU
 * backend on random data: sequences that end inside a tile and span several, head dims 1 to 128 (each
 * padded size and odd ones), F32 and BF16 inputs, and an F32 or BF16 output gradient.
 */
class AttentionHostTest {
    private static final Backend CPU = Backends.cpu(2);

    /** B, T, H, Dh. */
    private static final int[][] SHAPES = {
        {1, 1, 1, 1}, {2, 7, 3, 8}, {1, 17, 2, 24}, {2, 33, 2, 32}, {1, 130, 2, 64}, {2, 65, 1, 48},
        {1, 75, 2, 128}, {1, 40, 1, 100}, {1, 97, 3, 16},
    };

    @Test
    void forwardAndBackwardMatchTheCpuBackendInF32() throws Throwable {
        for (int[] shape : SHAPES) {
            compare(shape, DType.F32, DType.F32, 11L * shape[1] + shape[3]);
        }
    }

    @Test
    void bf16InputsMatchTheCpuBackend() throws Throwable {
        compare(new int[] {2, 33, 2, 32}, DType.BF16, DType.BF16, 5);
        compare(new int[] {1, 130, 2, 64}, DType.BF16, DType.F32, 6);
        compare(new int[] {1, 75, 1, 128}, DType.BF16, DType.BF16, 7);
        compare(new int[] {1, 20, 2, 8}, DType.F32, DType.BF16, 8);
    }

    /**
     * Runs the CPU backend and the host twins on the same inputs (the backward on the CPU's out and lse, so
     * the backward is compared on its own) and compares out, lse, dQ, dK and dV.
     */
    private static void compare(int[] shape, DType type, DType gradType, long seed) throws Throwable {
        int B = shape[0], T = shape[1], H = shape[2], Dh = shape[3], n = B * T * H * Dh;
        long[] dims = {B, T, H, Dh};
        String what = "attention " + Arrays.toString(shape) + " " + type + ", dOut " + gradType;
        Random rnd = new Random(seed);
        try (TensorArena arena = CPU.newArena(); Arena scratch = Arena.ofConfined()) {
            Tensor q = tensor(arena, type, normal(rnd, n, 1.5f), dims);
            Tensor k = tensor(arena, type, normal(rnd, n, 1.5f), dims);
            Tensor v = tensor(arena, type, normal(rnd, n, 1f), dims);
            Tensor dOut = tensor(arena, gradType, normal(rnd, n, 1f), dims);
            float[] dQ0 = normal(rnd, n, 1f), dK0 = normal(rnd, n, 1f), dV0 = normal(rnd, n, 1f);

            Tensor out = arena.allocate(type, dims), lse = arena.allocate(DType.F32, B, H, T);
            CPU.attention(q, k, v, out, lse);
            Tensor hostOut = arena.allocate(type, dims).fill(Float.NaN), hostLse = arena.allocate(DType.F32, B, H, T).fill(Float.NaN);
            HostAttentionCalls.attentionForward(q.segment(), k.segment(), v.segment(), hostOut.segment(),
                    hostLse.segment(), code(type), B, T, H, Dh);
            double outTolerance = type == DType.BF16 ? 0x1p-7 : 2e-6; // bf16: one unit in the last place
            assertClose(what + ": out", out.toFloatArray(), hostOut.toFloatArray(), outTolerance);
            assertClose(what + ": lse", lse.toFloatArray(), hostLse.toFloatArray(), 2e-6);

            Tensor dQ = arena.of(dQ0, dims), dK = arena.of(dK0, dims), dV = arena.of(dV0, dims);
            CPU.attentionBackward(dOut, q, k, v, out, lse, dQ, dK, dV);
            Tensor hdQ = arena.of(dQ0, dims), hdK = arena.of(dK0, dims), hdV = arena.of(dV0, dims);
            long wsBytes = HostAttentionCalls.attentionBackwardWorkspaceBytes(B, T, H, Dh);
            assertEquals(4L * B * H * T, wsBytes, "the workspace holds D [B, H, T]");
            MemorySegment ws = scratch.allocate(wsBytes, 64);
            HostAttentionCalls.attentionBackward(dOut.segment(), code(gradType), q.segment(), k.segment(), v.segment(),
                    out.segment(), lse.segment(), hdQ.segment(), hdK.segment(), hdV.segment(), code(type), B, T, H, Dh,
                    ws, wsBytes);
            assertClose(what + ": dQ", dQ.toFloatArray(), hdQ.toFloatArray(), 1e-5);
            assertClose(what + ": dK", dK.toFloatArray(), hdK.toFloatArray(), 1e-5);
            assertClose(what + ": dV", dV.toFloatArray(), hdV.toFloatArray(), 1e-5);
        }
    }

    @Test
    void argumentErrorsNameTheCallAndStatus() throws Throwable {
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment x = scratch.allocate(4L * 2 * 3 * 130, 64);
            MemorySegment lse = scratch.allocate(4L * 3, 64);
            NativeCallException headDim = assertThrows(NativeCallException.class,
                    () -> HostAttentionCalls.attentionForward(x, x, x, x, lse, LV_F32, 1, 3, 1, 129));
            assertEquals(10001, headDim.status());
            assertTrue(headDim.getMessage().startsWith("lv_host_attention_forward failed with status 10001 (LV_ERR_INVALID_ARGUMENT"),
                    headDim.getMessage());
            NativeCallException dtype = assertThrows(NativeCallException.class,
                    () -> HostAttentionCalls.attentionForward(x, x, x, x, lse, 2, 1, 3, 1, 8));
            assertEquals(10002, dtype.status());
            NativeCallException workspace = assertThrows(NativeCallException.class,
                    () -> HostAttentionCalls.attentionBackward(x, LV_F32, x, x, x, x, lse, x, x, x, LV_F32, 1, 3, 1, 8,
                            x, 11));
            assertEquals(10003, workspace.status());
            NativeCallException gradType = assertThrows(NativeCallException.class,
                    () -> HostAttentionCalls.attentionBackward(x, 5, x, x, x, x, lse, x, x, x, LV_F32, 1, 3, 1, 8,
                            x, 12));
            assertEquals(10002, gradType.status());
            // the device entry point refuses the same arguments before any CUDA call
            assertEquals(10001, HostAttentionCalls.deviceAttentionForwardStatus(x, x, x, x, lse, LV_F32, 1, 3, 1, 129));
            assertEquals(10002, HostAttentionCalls.deviceAttentionForwardStatus(x, x, x, x, lse, LV_BF16 + 1, 1, 3, 1, 8));
            assertEquals(10001, HostAttentionCalls.deviceAttentionForwardStatus(x, x, x, MemorySegment.NULL, lse, LV_F32,
                    1, 3, 1, 8));
        }
    }

    @Test
    void emptyShapesTouchNothing() throws Throwable {
        MemorySegment none = MemorySegment.NULL;
        HostAttentionCalls.attentionForward(none, none, none, none, none, LV_F32, 0, 5, 2, 8);
        HostAttentionCalls.attentionForward(none, none, none, none, none, LV_BF16, 3, 0, 2, 8);
        HostAttentionCalls.attentionBackward(none, LV_F32, none, none, none, none, none, none, none, none, LV_F32, 2, 5,
                0, 8, none, 0);
        assertEquals(0, HostAttentionCalls.deviceAttentionForwardStatus(none, none, none, none, none, LV_F32, 0, 5, 2, 8));
    }

    // ---------------------------------------------------------------- helpers

    static int code(DType type) {
        return type == DType.BF16 ? LV_BF16 : LV_F32;
    }

    static Tensor tensor(TensorArena arena, DType type, float[] data, long... shape) {
        return arena.allocate(type, shape).copyFrom(data);
    }

    static float[] normal(Random rnd, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rnd.nextGaussian() * scale;
        }
        return x;
    }

    /**
     * Every element within {@code tol * (1 + |expected|)}; the message names the first that is not, and the
     * largest difference seen.
     */
    static void assertClose(String what, float[] expected, float[] actual, double tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double worst = 0;
        int worstAt = -1;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs((double) expected[i] - actual[i]) / (1 + Math.abs(expected[i]));
            if (!(diff <= worst)) { // NaN counts as the worst
                worst = diff;
                worstAt = i;
            }
        }
        if (worstAt >= 0 && !(worst <= tol)) {
            throw new AssertionError(what + ": element " + worstAt + " is " + actual[worstAt] + ", expected "
                    + expected[worstAt] + " (relative difference " + worst + " > " + tol + ")");
        }
    }
}
