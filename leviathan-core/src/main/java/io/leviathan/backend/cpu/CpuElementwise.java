package io.leviathan.backend.cpu;

import io.leviathan.backend.ElementwiseChecks;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Element-wise kernels: copy and dtype conversion, fill, add, mul (and its backward), scale, axpy.
 * Every op here treats its tensors as flat arrays of {@code numel} elements.
 */
final class CpuElementwise {
    private CpuElementwise() {}

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final int L = F.length();
    static final ByteOrder NO = ByteOrder.nativeOrder();
    /** Ints with F's lane count (same shape), and shorts with F's lane count (half the shape). */
    private static final VectorSpecies<Integer> I = F.withLanes(int.class);
    private static final VectorSpecies<Short> S =
            ShortVector.SPECIES_64.withShape(VectorShape.forBitSize(F.vectorBitSize() / 2));
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Elements per parallel chunk: below this a fork costs more than it saves. */
    static final long ELEMENT_GRAIN = 1 << 15;

    /**
     * The lanes' sum in double, added in lane order. {@code reduceLanes(ADD)} leaves the order to the
     * implementation, so its bits can differ between interpreted and compiled code.
     */
    static double sumLanes(FloatVector v) {
        double s = 0;
        for (int k = 0; k < L; k++) {
            s += v.lane(k);
        }
        return s;
    }

    // ---------------------------------------------------------------- copy and conversion

    static void copy(Parallel par, Tensor src, Tensor dst) {
        ElementwiseChecks.copy(src, dst);
        DType from = src.dtype();
        DType to = dst.dtype();
        MemorySegment s = src.segment(CpuMemory.KEY);
        MemorySegment d = dst.segment(CpuMemory.KEY);
        long n = src.numel();
        if (from == to) {
            if (s.address() == d.address()) {
                return;
            }
            int bytes = from.byteSize();
            ElementwiseJob.run(par, ElementwiseJob.Kernel.COPY_BYTES, n, s, d, null, null, null, 0f, bytes);
        } else if (from == DType.F32) {
            ElementwiseJob.run(par, ElementwiseJob.Kernel.F32_TO_BF16, n, s, d, null, null, null, 0f, 0);
        } else {
            ElementwiseJob.run(par, ElementwiseJob.Kernel.BF16_TO_F32, n, s, d, null, null, null, 0f, 0);
        }
    }

    /** Rounds F32 to BF16, nearest even, exactly as {@link Bf16#fromFloat}; NaN stays a (quiet) NaN. */
    static void f32ToBf16(MemorySegment src, MemorySegment dst, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            IntVector bits = FloatVector.fromMemorySegment(F, src, i * 4, NO).reinterpretAsInts();
            IntVector high = bits.lanewise(VectorOperators.LSHR, 16);
            IntVector rounded = bits.add(0x7fff).add(high.and(1)).lanewise(VectorOperators.LSHR, 16);
            VectorMask<Integer> nan = bits.and(0x7fffffff).compare(VectorOperators.GT, 0x7f800000);
            IntVector out = rounded.blend(high.or(0x0040), nan);
            out.convertShape(VectorOperators.I2S, S, 0).intoMemorySegment(dst, i * 2, NO);
        }
        for (; i < to; i++) {
            dst.set(BF16, i * 2, Bf16.fromFloat(src.get(F32, i * 4)));
        }
    }

    /** Widens BF16 to F32 (exact): the 16 bits become the high half of the float. */
    static void bf16ToF32(MemorySegment src, MemorySegment dst, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            IntVector wide = (IntVector) ShortVector.fromMemorySegment(S, src, i * 2, NO)
                    .convertShape(VectorOperators.S2I, I, 0);
            wide.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoMemorySegment(dst, i * 4, NO);
        }
        for (; i < to; i++) {
            dst.set(F32, i * 4, Bf16.toFloat(src.get(BF16, i * 2)));
        }
    }

    // ---------------------------------------------------------------- fill

    static void fill(Parallel par, Tensor t, float value) {
        ElementwiseChecks.fill(t);
        MemorySegment seg = t.segment(CpuMemory.KEY);
        if (t.dtype() == DType.F32) {
            ElementwiseJob.run(par, ElementwiseJob.Kernel.FILL_F32, t.numel(), seg, null, null, null, null, value, 0);
        } else { // BF16: fill refuses I32
            short bits = Bf16.fromFloat(value);
            ElementwiseJob.run(par, ElementwiseJob.Kernel.FILL_BF16, t.numel(), seg, null, null, null, null, 0f, bits);
        }
    }

    static void fillF32(MemorySegment seg, float value, long from, long to) {
        FloatVector v = FloatVector.broadcast(F, value);
        long i = from;
        for (; i + L <= to; i += L) {
            v.intoMemorySegment(seg, i * 4, NO);
        }
        for (; i < to; i++) {
            seg.set(F32, i * 4, value);
        }
    }

    // ---------------------------------------------------------------- add: out = a + b (backward: axpy)

    static void add(Parallel par, Tensor a, Tensor b, Tensor out) {
        ElementwiseChecks.binary("add", a, b, out);
        MemorySegment sa = a.segment(CpuMemory.KEY), sb = b.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.ADD, a.numel(), sa, sb, so, null, null, 0f, 0);
    }

    static void addRange(MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, i * 4, NO);
            FloatVector vb = FloatVector.fromMemorySegment(F, b, i * 4, NO);
            va.add(vb).intoMemorySegment(out, i * 4, NO);
        }
        for (; i < to; i++) {
            out.set(F32, i * 4, a.get(F32, i * 4) + b.get(F32, i * 4));
        }
    }

    // ---------------------------------------------------------------- mul: out = a * b; dA += dOut * b, dB += dOut * a

    static void mul(Parallel par, Tensor a, Tensor b, Tensor out) {
        ElementwiseChecks.binary("mul", a, b, out);
        MemorySegment sa = a.segment(CpuMemory.KEY), sb = b.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.MUL, a.numel(), sa, sb, so, null, null, 0f, 0);
    }

    static void mulRange(MemorySegment a, MemorySegment b, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, i * 4, NO);
            FloatVector vb = FloatVector.fromMemorySegment(F, b, i * 4, NO);
            va.mul(vb).intoMemorySegment(out, i * 4, NO);
        }
        for (; i < to; i++) {
            out.set(F32, i * 4, a.get(F32, i * 4) * b.get(F32, i * 4));
        }
    }

    static void mulBackward(Parallel par, Tensor dOut, Tensor a, Tensor b, Tensor dA, Tensor dB) {
        ElementwiseChecks.mulBackward(dOut, a, b, dA, dB);
        MemorySegment g = dOut.segment(CpuMemory.KEY);
        if (dA != null) {
            MemorySegment sb = b.segment(CpuMemory.KEY), sda = dA.segment(CpuMemory.KEY);
            ElementwiseJob.run(par, ElementwiseJob.Kernel.ADD_PRODUCT, dOut.numel(), g, sb, sda, null, null, 0f, 0);
        }
        if (dB != null) {
            MemorySegment sa = a.segment(CpuMemory.KEY), sdb = dB.segment(CpuMemory.KEY);
            ElementwiseJob.run(par, ElementwiseJob.Kernel.ADD_PRODUCT, dOut.numel(), g, sa, sdb, null, null, 0f, 0);
        }
    }

    /** {@code acc += x * y}. */
    static void addProductRange(MemorySegment x, MemorySegment y, MemorySegment acc, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector vx = FloatVector.fromMemorySegment(F, x, i * 4, NO);
            FloatVector vy = FloatVector.fromMemorySegment(F, y, i * 4, NO);
            FloatVector va = FloatVector.fromMemorySegment(F, acc, i * 4, NO);
            vx.fma(vy, va).intoMemorySegment(acc, i * 4, NO);
        }
        for (; i < to; i++) {
            acc.set(F32, i * 4, Math.fma(x.get(F32, i * 4), y.get(F32, i * 4), acc.get(F32, i * 4)));
        }
    }

    // ---------------------------------------------------------------- scale: out = s * a (backward: axpy(s, dOut, dA))

    static void scale(Parallel par, Tensor a, float s, Tensor out) {
        ElementwiseChecks.scale(a, out);
        MemorySegment sa = a.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.SCALE, a.numel(), sa, so, null, null, null, s, 0);
    }

    static void scaleRange(MemorySegment a, float s, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector.fromMemorySegment(F, a, i * 4, NO).mul(s).intoMemorySegment(out, i * 4, NO);
        }
        for (; i < to; i++) {
            out.set(F32, i * 4, s * a.get(F32, i * 4));
        }
    }

    // ---------------------------------------------------------------- axpy: y += alpha * x

    static void axpy(Parallel par, float alpha, Tensor x, Tensor y) {
        ElementwiseChecks.axpy(x, y);
        MemorySegment sx = x.segment(CpuMemory.KEY), sy = y.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.AXPY, x.numel(), sx, sy, null, null, null, alpha, 0);
    }

    static void axpyRange(float alpha, MemorySegment x, MemorySegment y, long from, long to) {
        long i = from;
        FloatVector va = FloatVector.broadcast(F, alpha);
        for (; i + L <= to; i += L) {
            FloatVector vx = FloatVector.fromMemorySegment(F, x, i * 4, NO);
            FloatVector vy = FloatVector.fromMemorySegment(F, y, i * 4, NO);
            vx.fma(va, vy).intoMemorySegment(y, i * 4, NO);
        }
        for (; i < to; i++) {
            y.set(F32, i * 4, Math.fma(x.get(F32, i * 4), alpha, y.get(F32, i * 4)));
        }
    }
}
