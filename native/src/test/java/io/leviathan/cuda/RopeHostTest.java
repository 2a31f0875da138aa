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

/** Rotary position embedding and its tables against the CPU backend. */
class RopeHostTest {

    @ParameterizedTest
    @CsvSource({"1, 1, 1, 2, 1", "2, 5, 3, 8, 7", "3, 17, 4, 64, 20", "1, 9, 2, 130, 9"})
    void ropeForwardBackwardAndTables(int batch, int seq, int heads, int headDim, int maxT) {
        Random rnd = new Random(batch * 1_000_003L + seq * 1009L + heads * 31L + headDim);
        int n = batch * seq * heads * headDim, half = headDim / 2;
        float theta = 10000f;
        float[] x = gaussian(rnd, n, 1.5f), g = gaussian(rnd, n, 1f), dx0 = gaussian(rnd, n, 0.3f);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor cos = arena.allocate(DType.F32, maxT, half), sin = arena.allocate(DType.F32, maxT, half);
            CPU.ropeTables(theta, cos, sin);
            MemorySegment hc = mem.floats(new float[maxT * half]), hs = mem.floats(new float[maxT * half]);
            assertEquals(0, HostKernels.call(HostKernels.ROPE_TABLES, theta, hc, hs, (long) maxT, (long) headDim));
            // Both take cos and sin of the same double angle; libm and the JDK may differ in the last double bit.
            assertClose("rope cos table", CPU.downloadFloats(cos), HostMemory.toFloats(hc, maxT * half), 1.2e-7, 1e-7);
            assertClose("rope sin table", CPU.downloadFloats(sin), HostMemory.toFloats(hs, maxT * half), 1.2e-7, 1e-7);

            // The rotations themselves are compared bit for bit, on the CPU's tables.
            MemorySegment cpuCos = mem.floats(CPU.downloadFloats(cos)), cpuSin = mem.floats(CPU.downloadFloats(sin));
            Tensor tx = arena.of(x, batch, seq, heads, headDim);
            Tensor out = arena.allocate(DType.F32, batch, seq, heads, headDim);
            CPU.rope(tx, cos, sin, out);
            MemorySegment ho = mem.floats(new float[n]);
            assertEquals(0, HostKernels.call(HostKernels.ROPE_FORWARD, mem.floats(x), cpuCos, cpuSin, ho,
                    (long) batch, (long) seq, (long) heads, (long) headDim));
            float[] expected = CPU.downloadFloats(out);
            assertSameBits("rope", expected, HostMemory.toFloats(ho, n));

            // In place: out = x.
            MemorySegment inPlace = mem.floats(x);
            assertEquals(0, HostKernels.call(HostKernels.ROPE_FORWARD, inPlace, cpuCos, cpuSin, inPlace,
                    (long) batch, (long) seq, (long) heads, (long) headDim));
            assertSameBits("rope in place", expected, HostMemory.toFloats(inPlace, n));

            Tensor tdx = arena.of(dx0, batch, seq, heads, headDim);
            CPU.ropeBackward(arena.of(g, batch, seq, heads, headDim), cos, sin, tdx);
            MemorySegment hdx = mem.floats(dx0);
            assertEquals(0, HostKernels.call(HostKernels.ROPE_BACKWARD, mem.floats(g), cpuCos, cpuSin, hdx,
                    (long) batch, (long) seq, (long) heads, (long) headDim));
            assertSameBits("ropeBackward", CPU.downloadFloats(tdx), HostMemory.toFloats(hdx, n));
        }
    }
}
