package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.TestData.bits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The backward ops that can write their gradients instead of adding to them (swiglu, rope, attention, with
 * {@code accumulate} false): bit for bit what zeroing the gradients and accumulating gives, whatever the
 * gradients held before (NaN here), including the sign of zero; and {@code accumulate} true is the plain op.
 * Sizes leave vector tails, and attention runs both its fast path (head 64) and its general one.
 */
@ExtendWith(NativeMemoryCheck.class)
class BackwardWriteModeTest {

    @Test
    void swigluBackwardWrittenIsZeroedAndAccumulated() {
        int n = 3 * 37; // not a multiple of the vector length
        float[] dOut = withNegativeZeros(TestData.normal(1, n, 1)), gate = TestData.normal(2, n, 2);
        float[] up = TestData.normal(3, n, 1), prior = TestData.uniform(4, n, 1);
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor tOut = arena.of(dOut, 3, 37), tGate = arena.of(gate, 3, 37), tUp = arena.of(up, 3, 37);
            Tensor zg = arena.of(new float[n], 3, 37), zu = arena.of(new float[n], 3, 37);
            be.swigluBackward(tOut, tGate, tUp, zg, zu);
            Tensor wg = arena.of(nans(n), 3, 37), wu = arena.of(nans(n), 3, 37);
            be.swigluBackward(tOut, tGate, tUp, wg, wu, false);
            assertBitsEqual("swigluBackward dGate written", zg, wg);
            assertBitsEqual("swigluBackward dUp written", zu, wu);

            Tensor ag = arena.of(prior, 3, 37), au = arena.of(prior, 3, 37);
            Tensor bg = arena.of(prior, 3, 37), bu = arena.of(prior, 3, 37);
            be.swigluBackward(tOut, tGate, tUp, ag, au);
            be.swigluBackward(tOut, tGate, tUp, bg, bu, true);
            assertBitsEqual("swigluBackward dGate accumulated", ag, bg);
            assertBitsEqual("swigluBackward dUp accumulated", au, bu);
        }
    }

    @Test
    void ropeBackwardWrittenIsZeroedAndAccumulated() {
        for (int dh : new int[] {8, 40, 64}) {
            long[] shape = {2, 5, 3, dh};
            int n = 2 * 5 * 3 * dh;
            float[] dOut = withNegativeZeros(TestData.normal(dh, n, 1)), prior = TestData.uniform(dh + 1, n, 1);
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
                Tensor cos = arena.allocate(DType.F32, 5, dh / 2), sin = arena.allocate(DType.F32, 5, dh / 2);
                be.ropeTables(10_000f, cos, sin);
                Tensor g = arena.of(dOut, shape);
                Tensor zeroed = arena.of(new float[n], shape), written = arena.of(nans(n), shape);
                be.ropeBackward(g, cos, sin, zeroed);
                be.ropeBackward(g, cos, sin, written, false);
                assertBitsEqual("ropeBackward written, Dh " + dh, zeroed, written);
                Tensor a = arena.of(prior, shape), b = arena.of(prior, shape);
                be.ropeBackward(g, cos, sin, a);
                be.ropeBackward(g, cos, sin, b, true);
                assertBitsEqual("ropeBackward accumulated, Dh " + dh, a, b);
            }
        }
    }

    @Test
    void attentionBackwardWrittenIsZeroedAndAccumulated() {
        int[][] shapes = {{2, 70, 2, 64}, {1, 33, 3, 24}}; // B, T, H, Dh: the fast path's head, then the general one
        for (int[] s : shapes) {
            int B = s[0], T = s[1], H = s[2], Dh = s[3], n = B * T * H * Dh;
            long[] shape = {B, T, H, Dh};
            String what = "attentionBackward " + Arrays.toString(s);
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
                Tensor q = arena.of(TestData.normal(T, n, 1), shape), k = arena.of(TestData.normal(T + 1, n, 1), shape);
                Tensor v = arena.of(TestData.normal(T + 2, n, 1), shape);
                Tensor dOut = arena.of(withNegativeZeros(TestData.normal(T + 3, n, 1)), shape);
                Tensor out = arena.allocate(DType.F32, shape), lse = arena.allocate(DType.F32, B, H, T);
                be.attention(q, k, v, out, lse);
                Tensor[] zeroed = {arena.of(new float[n], shape), arena.of(new float[n], shape),
                        arena.of(new float[n], shape)};
                be.attentionBackward(dOut, q, k, v, out, lse, zeroed[0], zeroed[1], zeroed[2]);
                Tensor[] written = {arena.of(nans(n), shape), arena.of(nans(n), shape), arena.of(nans(n), shape)};
                be.attentionBackward(dOut, q, k, v, out, lse, written[0], written[1], written[2], false);
                float[] prior = TestData.uniform(T + 4, n, 1);
                Tensor[] a = {arena.of(prior, shape), arena.of(prior, shape), arena.of(prior, shape)};
                Tensor[] b = {arena.of(prior, shape), arena.of(prior, shape), arena.of(prior, shape)};
                be.attentionBackward(dOut, q, k, v, out, lse, a[0], a[1], a[2]);
                be.attentionBackward(dOut, q, k, v, out, lse, b[0], b[1], b[2], true);
                String[] names = {"dQ", "dK", "dV"};
                for (int i = 0; i < 3; i++) {
                    assertBitsEqual(what + " " + names[i] + " written", zeroed[i], written[i]);
                    assertBitsEqual(what + " " + names[i] + " accumulated", a[i], b[i]);
                }
            }
        }
    }

    /** Every seventh value set to -0: a product with it is -0, which added to a zeroed +0 comes out +0. */
    private static float[] withNegativeZeros(float[] x) {
        for (int i = 0; i < x.length; i += 7) {
            x[i] = -0f;
        }
        return x;
    }

    private static float[] nans(int n) {
        float[] x = new float[n];
        Arrays.fill(x, Float.NaN);
        return x;
    }

    private static void assertBitsEqual(String what, Tensor expected, Tensor actual) {
        assertArrayEquals(bits(expected.toFloatArray()), bits(actual.toFloatArray()), what);
    }

}
