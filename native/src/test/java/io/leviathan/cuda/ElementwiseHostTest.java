package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertSameBits;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** Copy, BF16 conversion, fill and the element-wise ops: the host entry points against the CPU backend, bit for bit. */
class ElementwiseHostTest {

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1000, 4099})
    void f32ToBf16RoundsExactlyAsTheCpuBackend(int n) {
        float[] x = gaussian(new Random(n), n, 3f);
        // Halfway cases, both parities, and the values rounding must not turn into something else.
        float[] special = {Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000), Float.NaN,
                Float.intBitsToFloat(0xffc00001), Float.intBitsToFloat(0x7f800001), Float.POSITIVE_INFINITY,
                Float.NEGATIVE_INFINITY, Float.MAX_VALUE, -0f, Float.MIN_VALUE, Float.intBitsToFloat(0x7f7fffff)};
        System.arraycopy(special, 0, x, 0, Math.min(n, special.length));
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena(); Arena raw = Arena.ofConfined()) {
            MemorySegment dst = mem.shorts(n);
            assertEquals(0, HostKernels.call(HostKernels.COPY, mem.floats(x), 0, dst, 1, (long) n));
            short[] host = HostMemory.toShorts(dst, n);

            Tensor src = arena.of(x, n);
            Tensor bf = arena.allocate(DType.BF16, n);
            CPU.copy(src, bf);
            MemorySegment cpuBits = raw.allocate(ValueLayout.JAVA_SHORT, n);
            CPU.download(bf, cpuBits);
            for (int i = 0; i < n; i++) {
                short cpu = cpuBits.getAtIndex(ValueLayout.JAVA_SHORT, i);
                assertEquals(cpu, host[i], "element " + i + " (" + x[i] + ")");
                assertEquals(Bf16.fromFloat(x[i]), host[i], "element " + i + " against Bf16.fromFloat");
            }

            // And back: BF16 widens exactly.
            MemorySegment wide = mem.floats(new float[n]);
            assertEquals(0, HostKernels.call(HostKernels.COPY, dst, 1, wide, 0, (long) n));
            Tensor back = arena.allocate(DType.F32, n);
            CPU.copy(bf, back);
            assertSameBits("bf16 -> f32", CPU.downloadFloats(back), HostMemory.toFloats(wide, n));
        }
    }

    @Test
    void sameDtypeCopiesAreExact() {
        int n = 257;
        float[] x = gaussian(new Random(5), n, 1f);
        int[] ids = new Random(6).ints(n, -1000, 1000).toArray();
        try (HostMemory mem = new HostMemory()) {
            MemorySegment out = mem.floats(new float[n]);
            assertEquals(0, HostKernels.call(HostKernels.COPY, mem.floats(x), 0, out, 0, (long) n));
            assertSameBits("f32 copy", x, HostMemory.toFloats(out, n));
            MemorySegment outIds = mem.ints(new int[n]);
            assertEquals(0, HostKernels.call(HostKernels.COPY, mem.ints(ids), 2, outIds, 2, (long) n));
            org.junit.jupiter.api.Assertions.assertArrayEquals(ids, HostMemory.toInts(outIds, n));
        }
    }

    @ParameterizedTest
    @ValueSource(floats = {0f, 1.00390625f, -3.3f, 1e-41f, Float.NaN})
    void fillMatchesTheCpuBackend(float value) {
        int n = 37;
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena(); Arena raw = Arena.ofConfined()) {
            MemorySegment f = mem.floats(new float[n]);
            assertEquals(0, HostKernels.call(HostKernels.FILL, f, 0, (long) n, value));
            Tensor t = arena.allocate(DType.F32, n);
            CPU.fill(t, value);
            assertSameBits("fill f32", CPU.downloadFloats(t), HostMemory.toFloats(f, n));

            MemorySegment h = mem.shorts(n);
            assertEquals(0, HostKernels.call(HostKernels.FILL, h, 1, (long) n, value));
            Tensor b = arena.allocate(DType.BF16, n);
            CPU.fill(b, value);
            MemorySegment cpuBits = raw.allocate(ValueLayout.JAVA_SHORT, n);
            CPU.download(b, cpuBits);
            short[] host = HostMemory.toShorts(h, n);
            for (int i = 0; i < n; i++) {
                assertEquals(cpuBits.getAtIndex(ValueLayout.JAVA_SHORT, i), host[i], "bf16 fill element " + i);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 7, 33, 1000, 4099})
    void elementwiseOpsMatchBitForBit(int n) {
        Random rnd = new Random(100 + n);
        float[] a = gaussian(rnd, n, 2f), b = gaussian(rnd, n, 2f), g = gaussian(rnd, n, 1f);
        float[] da0 = gaussian(rnd, n, 1f), db0 = gaussian(rnd, n, 1f);
        float s = 0.731f, alpha = -1.37f;
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor ta = arena.of(a, n), tb = arena.of(b, n), tg = arena.of(g, n);
            Tensor out = arena.allocate(DType.F32, n);
            MemorySegment sa = mem.floats(a), sb = mem.floats(b), sg = mem.floats(g);

            MemorySegment ho = mem.floats(new float[n]);
            assertEquals(0, HostKernels.call(HostKernels.ADD, sa, sb, ho, (long) n));
            CPU.add(ta, tb, out);
            assertSameBits("add", CPU.downloadFloats(out), HostMemory.toFloats(ho, n));

            assertEquals(0, HostKernels.call(HostKernels.MUL, sa, sb, ho, (long) n));
            CPU.mul(ta, tb, out);
            assertSameBits("mul", CPU.downloadFloats(out), HostMemory.toFloats(ho, n));

            assertEquals(0, HostKernels.call(HostKernels.SCALE, sa, s, ho, (long) n));
            CPU.scale(ta, s, out);
            assertSameBits("scale", CPU.downloadFloats(out), HostMemory.toFloats(ho, n));

            MemorySegment hy = mem.floats(da0);
            assertEquals(0, HostKernels.call(HostKernels.AXPY, alpha, sa, hy, (long) n));
            Tensor ty = arena.of(da0, n);
            CPU.axpy(alpha, ta, ty);
            assertSameBits("axpy", CPU.downloadFloats(ty), HostMemory.toFloats(hy, n));

            MemorySegment hda = mem.floats(da0), hdb = mem.floats(db0);
            assertEquals(0, HostKernels.call(HostKernels.MUL_BACKWARD, sg, sa, sb, hda, hdb, (long) n));
            Tensor tda = arena.of(da0, n), tdb = arena.of(db0, n);
            CPU.mulBackward(tg, ta, tb, tda, tdb);
            assertSameBits("mulBackward dA", CPU.downloadFloats(tda), HostMemory.toFloats(hda, n));
            assertSameBits("mulBackward dB", CPU.downloadFloats(tdb), HostMemory.toFloats(hdb, n));

            // A null gradient is skipped.
            MemorySegment only = mem.floats(db0);
            assertEquals(0, HostKernels.call(HostKernels.MUL_BACKWARD, sg, sa, sb, MemorySegment.NULL, only, (long) n));
            assertSameBits("mulBackward dB alone", CPU.downloadFloats(tdb), HostMemory.toFloats(only, n));
        }
    }
}
