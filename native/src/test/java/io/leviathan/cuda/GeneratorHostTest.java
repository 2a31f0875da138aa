package io.leviathan.cuda;

import static io.leviathan.cuda.AttentionHostTest.assertClose;
import static io.leviathan.cuda.AttentionHostTest.normal;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
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
 * The generator kernels' arithmetic, run by their host twins (lv_host_spline_basis*, lv_host_separable_modes*),
 * against the Java CPU backend on random data. The basis, its backward and the modes perform the CPU's
 * operations in the CPU's order, so they must agree to the bit; the modes' backward sums in another order
 * (a warp's butterfly over the modes; row chunks for dSpline) and agrees to rounding.
 */
class GeneratorHostTest {
    private static final Backend CPU = Backends.cpu(2);

    @Test
    void splineBasisAndBackwardMatchTheCpuBackendBitForBit() throws Throwable {
        Random rnd = new Random(3);
        for (int knots : new int[] {2, 3, 5, 32}) {
            for (boolean normalize : new boolean[] {false, true}) {
                int n = 37, d = 7, count = n * d;
                float[] t = coordinates(rnd, count, knots);
                float[] g = normal(rnd, count * 3, 1f);
                float[] dT0 = normal(rnd, count, 1f);
                String what = "splineBasis knots " + knots + (normalize ? " normalised" : "");
                try (TensorArena arena = CPU.newArena()) {
                    Tensor tt = arena.of(t, n, d);
                    Tensor first = arena.allocate(DType.I32, n, d), weights = arena.allocate(DType.F32, n, d, 3);
                    CPU.splineBasis(tt, knots, normalize, first, weights);
                    Tensor hFirst = arena.allocate(DType.I32, n, d), hWeights = arena.allocate(DType.F32, n, d, 3);
                    HostAttentionCalls.splineBasis(tt.segment(), n, d, knots, normalize, hFirst.segment(), hWeights.segment());
                    assertArrayEquals(first.toIntArray(), hFirst.toIntArray(), what + ": first");
                    assertBits(what + ": weights", weights.toFloatArray(), hWeights.toFloatArray());

                    Tensor dT = arena.of(dT0, n, d), hdT = arena.of(dT0, n, d), dW = arena.of(g, n, d, 3);
                    CPU.splineBasisBackward(dW, tt, first, knots, normalize, dT);
                    HostAttentionCalls.splineBasisBackward(dW.segment(), tt.segment(), first.segment(), n, d, knots,
                            normalize, hdT.segment());
                    assertBits(what + ": dT", dT.toFloatArray(), hdT.toFloatArray());
                }
            }
        }
    }

    /** Heads, rows, seed dims, knots, modes: one chunk and several, shared and workspace accumulators. */
    private static final int[][] MODE_SHAPES = {
        {1, 1, 1, 3, 1}, {1, 37, 5, 7, 33}, {3, 300, 5, 7, 5}, {2, 129, 16, 32, 64}, {1, 40, 2, 200, 64},
        {1, 150, 2, 200, 64}, {4, 70, 3, 4, 40},
    };

    @Test
    void separableModesMatchTheCpuBackend() throws Throwable {
        for (int[] shape : MODE_SHAPES) {
            compareModes(shape, 100L + Arrays.hashCode(shape));
        }
    }

    private static void compareModes(int[] shape, long seed) throws Throwable {
        int G = shape[0], N = shape[1], d = shape[2], K = shape[3], R = shape[4];
        String what = "separableModes G " + G + " N " + N + " d " + d + " K " + K + " R " + R;
        Random rnd = new Random(seed);
        try (TensorArena arena = CPU.newArena(); Arena scratch = Arena.ofConfined()) {
            Tensor first = arena.allocate(DType.I32, G, N, d), weights = arena.allocate(DType.F32, G, N, d, 3);
            CPU.splineBasis(arena.of(coordinates(rnd, G * N * d, K), G * N, d), K, true,
                    first.reshape(G * N, d), weights.reshape(G * N, d, 3));
            // spline values around +-1 so that products over d stay in range and signs vary
            float[] s = new float[G * d * K * R];
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) ((rnd.nextBoolean() ? 1 : -1) * (0.5 + rnd.nextDouble()));
            }
            Tensor spline = arena.of(s, G, d, K, R);
            Tensor modes = arena.allocate(DType.F32, N, G, R), hModes = arena.allocate(DType.F32, N, G, R);
            CPU.separableModes(first, weights, spline, modes);
            HostAttentionCalls.separableModes(first.segment(), weights.segment(), spline.segment(), hModes.segment(),
                    G, N, d, K, R);
            assertBits(what + ": modes", modes.toFloatArray(), hModes.toFloatArray());

            float[] dModes = normal(rnd, N * G * R, 1f), dW0 = normal(rnd, G * N * d * 3, 1f);
            float[] dS0 = normal(rnd, G * d * K * R, 1f);
            Tensor dm = arena.of(dModes, N, G, R);
            Tensor dW = arena.of(dW0, G, N, d, 3), dS = arena.of(dS0, G, d, K, R);
            CPU.separableModesBackward(dm, first, weights, spline, modes, dW, dS);
            Tensor hdW = arena.of(dW0, G, N, d, 3), hdS = arena.of(dS0, G, d, K, R);
            long wsBytes = HostAttentionCalls.separableModesBackwardWorkspaceBytes(G, N, d, K, R);
            MemorySegment ws = wsBytes == 0 ? MemorySegment.NULL : scratch.allocate(wsBytes, 64);
            HostAttentionCalls.separableModesBackward(dm.segment(), first.segment(), weights.segment(),
                    spline.segment(), modes.segment(), hdW.segment(), hdS.segment(), G, N, d, K, R, ws, wsBytes);
            // sums of up to N (dSpline) or R (dWeights) terms in another order
            assertClose(what + ": dWeights", dW.toFloatArray(), hdW.toFloatArray(), 1e-5);
            assertClose(what + ": dSpline", dS.toFloatArray(), hdS.toFloatArray(), 1e-5);
        }
    }

    @Test
    void workspaceCoversTheChunkedScatter() throws Throwable {
        // one chunk accumulating in shared memory needs none
        assertEquals(0, HostAttentionCalls.separableModesBackwardWorkspaceBytes(1, 37, 5, 7, 33));
        // several chunks: one [G, d, K, R] slice of partial sums each
        long chunked = HostAttentionCalls.separableModesBackwardWorkspaceBytes(3, 300, 5, 7, 5);
        assertTrue(chunked > 0 && chunked % (4L * 3 * 5 * 7 * 5) == 0, "workspace " + chunked);
        // an accumulator too large for shared memory lives in the workspace even as one chunk
        assertEquals(4L * 2 * 200 * 64, HostAttentionCalls.separableModesBackwardWorkspaceBytes(1, 40, 2, 200, 64));
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment x = scratch.allocate(4L * 300 * 3 * 5 * 7 * 5, 64);
            NativeCallException small = assertThrows(NativeCallException.class,
                    () -> HostAttentionCalls.separableModesBackward(x, x, x, x, x, x, x, 3, 300, 5, 7, 5, x, chunked - 4));
            assertEquals(10003, small.status());
            assertTrue(small.getMessage().contains("lv_host_separable_modes_backward"), small.getMessage());
            NativeCallException knots = assertThrows(NativeCallException.class,
                    () -> HostAttentionCalls.separableModes(x, x, x, x, 1, 3, 2, 1, 4));
            assertEquals(10001, knots.status());
        }
    }

    /** A window start off the grid is never read through: that row's modes and its dWeights become NaN. */
    @Test
    void aWindowOffTheGridPoisonsItsRowInsteadOfReadingOutOfBounds() throws Throwable {
        int N = 3, d = 2, K = 4, R = 3;
        Random rnd = new Random(9);
        try (TensorArena arena = CPU.newArena()) {
            Tensor first = arena.allocate(DType.I32, N, d), weights = arena.allocate(DType.F32, N, d, 3);
            CPU.splineBasis(arena.of(coordinates(rnd, N * d, K), N, d), K, true, first, weights);
            int[] f = first.toIntArray();
            f[1 * d + 1] = K - 1; // row 1, seed dim 1: the window [K-1, K+1] is off the grid
            first.copyFrom(f);
            Tensor spline = arena.of(normal(rnd, d * K * R, 1f), d, K, R);
            Tensor modes = arena.allocate(DType.F32, N, R);
            HostAttentionCalls.separableModes(first.segment(), weights.segment(), spline.segment(), modes.segment(),
                    1, N, d, K, R);
            float[] m = modes.toFloatArray();
            for (int r = 0; r < R; r++) {
                assertTrue(Float.isNaN(m[R + r]), "row 1 is NaN: " + Arrays.toString(m));
                assertTrue(Float.isFinite(m[r]) && Float.isFinite(m[2 * R + r]), "rows 0 and 2 are not: " + Arrays.toString(m));
            }
            Tensor dW = arena.allocate(DType.F32, N, d, 3).zero(), dS = arena.allocate(DType.F32, d, K, R).zero();
            HostAttentionCalls.separableModesBackward(arena.of(normal(rnd, N * R, 1f), N, R).segment(), first.segment(),
                    weights.segment(), spline.segment(), modes.segment(), dW.segment(), dS.segment(), 1, N, d, K, R,
                    MemorySegment.NULL, 0);
            float[] w = dW.toFloatArray();
            for (int m3 = 0; m3 < 3; m3++) {
                assertTrue(Float.isNaN(w[(1 * d + 1) * 3 + m3]), "dWeights of the bad window: " + Arrays.toString(w));
                assertTrue(Float.isFinite(w[m3]), "dWeights of row 0: " + Arrays.toString(w));
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Coordinates for a basis on {@code knots} knots: mostly uniform in [-0.1, 1.1] (so some are clamped),
     * with exact knots, midpoints between knots (ties of the nearest knot) and the ends mixed in.
     */
    static float[] coordinates(Random rnd, int n, int knots) {
        float[] t = new float[n];
        for (int i = 0; i < n; i++) {
            t[i] = switch (i % 7) {
                case 3 -> (float) rnd.nextInt(knots) / (knots - 1);
                case 5 -> (rnd.nextInt(knots - 1) + 0.5f) / (knots - 1);
                case 6 -> i % 2 == 0 ? 0f : 1f;
                default -> (float) (rnd.nextDouble() * 1.2 - 0.1);
            };
        }
        return t;
    }

    /** Bit-for-bit equality (NaN equal to NaN), naming the first element that differs. */
    static void assertBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
