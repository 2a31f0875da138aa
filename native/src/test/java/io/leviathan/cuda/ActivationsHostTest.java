package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertClose;
import static io.leviathan.cuda.Reference.assertSameBits;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * SiLU, sigmoid, SwiGLU (bit for bit: the kernels use the CPU backend's exp polynomial and its order of
 * operations) and softmax (within a rounding: its row sum is taken in another order).
 */
class ActivationsHostTest {

    /** Gaussian values, with the far tails where exp saturates (beyond +-88) and exact zeros. */
    private static float[] inputs(Random rnd, int n) {
        float[] x = gaussian(rnd, n, 4f);
        float[] tails = {0f, -0f, 90f, -90f, 88f, -88f, 87.9f, -87.9f, 20f, -20f, 1e-30f};
        System.arraycopy(tails, 0, x, 0, Math.min(n, tails.length));
        return x;
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1000, 4099})
    void siluSigmoidSwiglu(int n) {
        Random rnd = new Random(900 + n);
        float[] x = inputs(rnd, n), up = gaussian(rnd, n, 2f), g = gaussian(rnd, n, 1f);
        float[] d0 = gaussian(rnd, n, 0.5f), d1 = gaussian(rnd, n, 0.5f);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tx = arena.of(x, n), tu = arena.of(up, n), tg = arena.of(g, n), out = arena.allocate(DType.F32, n);
            MemorySegment sx = mem.floats(x), su = mem.floats(up), sg = mem.floats(g), ho = mem.floats(new float[n]);

            CPU.silu(tx, out);
            assertEquals(0, HostKernels.call(HostKernels.SILU, sx, ho, (long) n));
            assertSameBits("silu", CPU.downloadFloats(out), HostMemory.toFloats(ho, n));

            CPU.sigmoid(tx, out);
            assertEquals(0, HostKernels.call(HostKernels.SIGMOID, sx, ho, (long) n));
            float[] y = CPU.downloadFloats(out);
            assertSameBits("sigmoid", y, HostMemory.toFloats(ho, n));

            CPU.swiglu(tx, tu, out);
            assertEquals(0, HostKernels.call(HostKernels.SWIGLU, sx, su, ho, (long) n));
            assertSameBits("swiglu", CPU.downloadFloats(out), HostMemory.toFloats(ho, n));

            Tensor tdx = arena.of(d0, n);
            CPU.siluBackward(tg, tx, tdx);
            MemorySegment hdx = mem.floats(d0);
            assertEquals(0, HostKernels.call(HostKernels.SILU_BACKWARD, sg, sx, hdx, (long) n));
            assertSameBits("siluBackward", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, n));

            tdx = arena.of(d0, n);
            CPU.sigmoidBackward(tg, arena.of(y, n), tdx);
            hdx = mem.floats(d0);
            assertEquals(0, HostKernels.call(HostKernels.SIGMOID_BACKWARD, sg, mem.floats(y), hdx, (long) n));
            assertSameBits("sigmoidBackward", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, n));

            Tensor tdg = arena.of(d0, n), tdu = arena.of(d1, n);
            CPU.swigluBackward(tg, tx, tu, tdg, tdu);
            MemorySegment hdg = mem.floats(d0), hdu = mem.floats(d1);
            assertEquals(0, HostKernels.call(HostKernels.SWIGLU_BACKWARD, sg, sx, su, hdg, hdu, (long) n));
            assertSameBits("swigluBackward dGate", CPU.downloadFloats(tdg), HostMemory.toFloats(hdg, n));
            assertSameBits("swigluBackward dUp", CPU.downloadFloats(tdu), HostMemory.toFloats(hdu, n));
        }
    }

    @ParameterizedTest
    @CsvSource({"1, 1", "3, 7", "17, 64", "5, 1000", "2, 5001"})
    void softmaxForwardAndBackward(int rows, int cols) {
        Random rnd = new Random(rows * 7L + cols);
        int n = rows * cols;
        float[] x = gaussian(rnd, n, 3f), g = gaussian(rnd, n, 1f), dx0 = gaussian(rnd, n, 0.1f);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor out = arena.allocate(DType.F32, rows, cols);
            CPU.softmax(arena.of(x, rows, cols), out);
            float[] y = CPU.downloadFloats(out);
            MemorySegment ho = mem.floats(new float[n]);
            assertEquals(0, HostKernels.call(HostKernels.SOFTMAX, mem.floats(x), ho, (long) rows, (long) cols));
            assertClose("softmax", y, HostMemory.toFloats(ho, n), 1e-6, 1e-9);

            MemorySegment inPlace = mem.floats(x);
            assertEquals(0, HostKernels.call(HostKernels.SOFTMAX, inPlace, inPlace, (long) rows, (long) cols));
            assertSameBits("softmax in place", HostMemory.toFloats(ho, n), HostMemory.toFloats(inPlace, n));

            Tensor tdx = arena.of(dx0, rows, cols);
            CPU.softmaxBackward(arena.of(g, rows, cols), out, tdx);
            MemorySegment hdx = mem.floats(dx0);
            assertEquals(0, HostKernels.call(HostKernels.SOFTMAX_BACKWARD, mem.floats(g), mem.floats(y), hdx,
                    (long) rows, (long) cols));
            assertClose("softmaxBackward", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, n), 1e-5, 1e-6);
        }
    }
}
