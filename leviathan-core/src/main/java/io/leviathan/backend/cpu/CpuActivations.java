package io.leviathan.backend.cpu;

import io.leviathan.backend.ActivationChecks;
import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;
import static io.leviathan.backend.cpu.CpuElementwise.sumLanes;
import static io.leviathan.backend.cpu.CpuReductions.rowGrain;

import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Activations: SiLU, sigmoid, SwiGLU (element-wise) and softmax over the last dimension.
 *
 * <p>The exponential is {@link #expOf}, a Cephes-style polynomial built only from add, multiply, fma and
 * bit operations, which are exactly rounded at every JIT tier. (The Vector API's lane-wise EXP can return
 * different bits interpreted and compiled, so results would depend on JIT warm-up.) Its scalar twin computes the
 * same operations in the same order, so an element gets the same bits in a vector lane and in a tail.
 */
final class CpuActivations {
    private CpuActivations() {}

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final FloatVector ONE = FloatVector.broadcast(F, 1f);

    // ---------------------------------------------------------------- exp and sigmoid

    /**
     * Beyond +-EXP_LIMIT exp returns +inf or 0, so that the 2^n built below stays finite (exp(88) is
     * 1.7e38; below exp(-87.3) floats are subnormal, and are flushed to zero).
     */
    private static final float EXP_LIMIT = 88f;
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 split in two: n * LN2_HI is exact for the n that occur. */
    private static final float LN2_HI = 0.693359375f;
    private static final float LN2_LO = -2.12194440e-4f;
    /** 1.5 * 2^23: adding it rounds to an integer, which lands in the low mantissa bits. */
    private static final float ROUND_MAGIC = 12582912f;
    private static final int ROUND_MAGIC_BITS = 0x4B400000;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;

    /**
     * {@code exp(x)} lane-wise, within about 2 ulp: {@code x = n ln2 + r}, {@code |r| <= ln2/2};
     * {@code exp(r)} by a degree-7 polynomial, times {@code 2^n} built in the exponent bits.
     */
    static FloatVector expOf(FloatVector x) {
        FloatVector xc = x.max(-EXP_LIMIT).min(EXP_LIMIT);
        FloatVector t = xc.mul(LOG2E).add(ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector r = n.fma(bc(-LN2_HI), xc);
        r = n.fma(bc(-LN2_LO), r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, bc(P2));
        p = p.fma(r, bc(P3));
        p = p.fma(r, bc(P4));
        p = p.fma(r, bc(P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector pow2 = t.reinterpretAsInts().sub(ROUND_MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        y = y.mul(pow2.reinterpretAsFloats());
        y = y.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_LIMIT));
        return y.blend(0f, x.compare(VectorOperators.LT, -EXP_LIMIT));
    }

    /**
     * {@link #expOf(FloatVector)} for {@code x <= 0} (or -inf, or NaN), as softmax takes it after subtracting the
     * maximum: the same operations, less the clamp and the blend for {@code x > EXP_LIMIT}, which cannot apply,
     * so the same bits.
     */
    static FloatVector expOfNonPositive(FloatVector x) {
        FloatVector xc = x.max(-EXP_LIMIT);
        FloatVector t = xc.mul(LOG2E).add(ROUND_MAGIC);
        FloatVector n = t.sub(ROUND_MAGIC);
        FloatVector r = n.fma(bc(-LN2_HI), xc);
        r = n.fma(bc(-LN2_LO), r);
        FloatVector p = r.fma(P0, P1);
        p = p.fma(r, bc(P2));
        p = p.fma(r, bc(P3));
        p = p.fma(r, bc(P4));
        p = p.fma(r, bc(P5));
        FloatVector y = p.fma(r.mul(r), r).add(1f);
        IntVector pow2 = t.reinterpretAsInts().sub(ROUND_MAGIC_BITS - 127).lanewise(VectorOperators.LSHL, 23);
        y = y.mul(pow2.reinterpretAsFloats());
        return y.blend(0f, x.compare(VectorOperators.LT, -EXP_LIMIT));
    }

    private static FloatVector bc(float v) {
        return FloatVector.broadcast(F, v);
    }

    /** The scalar twin of {@link #expOf(FloatVector)}: the same operations, so the same bits. */
    static float expOf(float x) {
        if (x > EXP_LIMIT) {
            return Float.POSITIVE_INFINITY;
        }
        if (x < -EXP_LIMIT) {
            return 0f;
        }
        float t = x * LOG2E + ROUND_MAGIC;
        float n = t - ROUND_MAGIC;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float p = Math.fma(r, P0, P1);
        p = Math.fma(p, r, P2);
        p = Math.fma(p, r, P3);
        p = Math.fma(p, r, P4);
        p = Math.fma(p, r, P5);
        float y = Math.fma(p, r * r, r) + 1f;
        return y * Float.intBitsToFloat((Float.floatToRawIntBits(t) - (ROUND_MAGIC_BITS - 127)) << 23);
    }

    /** {@code 1 / (1 + exp(-x))} lane-wise. */
    static FloatVector sigmoidOf(FloatVector x) {
        return ONE.div(expOf(x.neg()).add(1f));
    }

    static float sigmoidOf(float x) {
        return 1f / (expOf(-x) + 1f);
    }

    // ---------------------------------------------------------------- SiLU: out = x * sigmoid(x)

    static void silu(Parallel par, Tensor x, Tensor out) {
        ActivationChecks.unary("silu", x, out);
        MemorySegment sx = x.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.SILU, x.numel(), sx, so, null, null, null, 0f, 0);
    }

    static void siluRange(MemorySegment x, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, i * 4, NO);
            v.mul(sigmoidOf(v)).intoMemorySegment(out, i * 4, NO);
        }
        for (; i < to; i++) {
            float v = x.get(F32, i * 4);
            out.set(F32, i * 4, v * sigmoidOf(v));
        }
    }

    /** {@code dX += dOut * s * (1 + x * (1 - s))} with {@code s = sigmoid(x)}. */
    static void siluBackward(Parallel par, Tensor dOut, Tensor x, Tensor dX) {
        ActivationChecks.unaryBackward("siluBackward", dOut, "x", x, dX);
        MemorySegment g = dOut.segment(CpuMemory.KEY), sx = x.segment(CpuMemory.KEY), sdx = dX.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.SILU_GRAD, x.numel(), g, sx, sdx, null, null, 0f, 0);
    }

    static void siluGradRange(MemorySegment g, MemorySegment x, MemorySegment dx, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, i * 4, NO);
            FloatVector s = sigmoidOf(v);
            FloatVector local = s.mul(v.mul(s.neg().add(1f)).add(1f));
            FloatVector vd = FloatVector.fromMemorySegment(F, dx, i * 4, NO);
            FloatVector.fromMemorySegment(F, g, i * 4, NO).fma(local, vd).intoMemorySegment(dx, i * 4, NO);
        }
        for (; i < to; i++) {
            float v = x.get(F32, i * 4);
            float s = sigmoidOf(v);
            dx.set(F32, i * 4, Math.fma(g.get(F32, i * 4), s * (1f + v * (1f - s)), dx.get(F32, i * 4)));
        }
    }

    // ---------------------------------------------------------------- sigmoid: y = 1 / (1 + exp(-x))

    static void sigmoid(Parallel par, Tensor x, Tensor out) {
        ActivationChecks.unary("sigmoid", x, out);
        MemorySegment sx = x.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.SIGMOID, x.numel(), sx, so, null, null, null, 0f, 0);
    }

    static void sigmoidRange(MemorySegment x, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            sigmoidOf(FloatVector.fromMemorySegment(F, x, i * 4, NO)).intoMemorySegment(out, i * 4, NO);
        }
        for (; i < to; i++) {
            out.set(F32, i * 4, sigmoidOf(x.get(F32, i * 4)));
        }
    }

    /** {@code dX += dOut * y * (1 - y)}. */
    static void sigmoidBackward(Parallel par, Tensor dOut, Tensor y, Tensor dX) {
        ActivationChecks.unaryBackward("sigmoidBackward", dOut, "y", y, dX);
        MemorySegment g = dOut.segment(CpuMemory.KEY), sy = y.segment(CpuMemory.KEY), sdx = dX.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.SIGMOID_GRAD, y.numel(), g, sy, sdx, null, null, 0f, 0);
    }

    static void sigmoidGradRange(MemorySegment g, MemorySegment y, MemorySegment dx, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector vy = FloatVector.fromMemorySegment(F, y, i * 4, NO);
            FloatVector local = vy.mul(vy.neg().add(1f));
            FloatVector vd = FloatVector.fromMemorySegment(F, dx, i * 4, NO);
            FloatVector.fromMemorySegment(F, g, i * 4, NO).fma(local, vd).intoMemorySegment(dx, i * 4, NO);
        }
        for (; i < to; i++) {
            float v = y.get(F32, i * 4);
            dx.set(F32, i * 4, Math.fma(g.get(F32, i * 4), v * (1f - v), dx.get(F32, i * 4)));
        }
    }

    // ---------------------------------------------------------------- SwiGLU: out = silu(gate) * up

    static void swiglu(Parallel par, Tensor gate, Tensor up, Tensor out) {
        ActivationChecks.swiglu(gate, up, out);
        MemorySegment sg = gate.segment(CpuMemory.KEY), su = up.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        ElementwiseJob.run(par, ElementwiseJob.Kernel.SWIGLU, gate.numel(), sg, su, so, null, null, 0f, 0);
    }

    static void swigluRange(MemorySegment gate, MemorySegment up, MemorySegment out, long from, long to) {
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector a = FloatVector.fromMemorySegment(F, gate, i * 4, NO);
            FloatVector u = FloatVector.fromMemorySegment(F, up, i * 4, NO);
            a.mul(sigmoidOf(a)).mul(u).intoMemorySegment(out, i * 4, NO);
        }
        for (; i < to; i++) {
            float a = gate.get(F32, i * 4);
            out.set(F32, i * 4, a * sigmoidOf(a) * up.get(F32, i * 4));
        }
    }

    /**
     * {@code dGate += dOut * up * s * (1 + gate * (1 - s))}, {@code dUp += dOut * gate * s}, with
     * {@code s = sigmoid(gate)}.
     */
    /**
     * Backward of swiglu into {@code dGate} and {@code dUp}: added to them, or with {@code accumulate} false
     * written over them, as if added to zeros (the same bits, without reading or zeroing them first).
     */
    static void swigluBackward(Parallel par, Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp,
                               boolean accumulate) {
        ActivationChecks.swigluBackward(dOut, gate, up, dGate, dUp);
        MemorySegment g = dOut.segment(CpuMemory.KEY), sg = gate.segment(CpuMemory.KEY), su = up.segment(CpuMemory.KEY);
        MemorySegment sdg = dGate.segment(CpuMemory.KEY), sdu = dUp.segment(CpuMemory.KEY);
        ElementwiseJob.Kernel kernel =
                accumulate ? ElementwiseJob.Kernel.SWIGLU_GRAD : ElementwiseJob.Kernel.SWIGLU_GRAD_WRITE;
        ElementwiseJob.run(par, kernel, gate.numel(), g, sg, su, sdg, sdu, 0f, 0);
    }

    /**
     * Elements {@code [from, to)} of swiglu's backward, added to {@code dGate} and {@code dUp} or, when not
     * {@code accumulate}, added to +0 in their place (so -0 comes out +0, as after zeroing).
     */
    static void swigluGradRange(MemorySegment g, MemorySegment gate, MemorySegment up, MemorySegment dGate,
                                MemorySegment dUp, long from, long to, boolean accumulate) {
        FloatVector zero = FloatVector.zero(F);
        long i = from;
        for (; i + L <= to; i += L) {
            long b = i * 4;
            FloatVector vg = FloatVector.fromMemorySegment(F, g, b, NO);
            FloatVector a = FloatVector.fromMemorySegment(F, gate, b, NO);
            FloatVector u = FloatVector.fromMemorySegment(F, up, b, NO);
            FloatVector s = sigmoidOf(a);
            FloatVector siluGrad = s.mul(a.mul(s.neg().add(1f)).add(1f));
            FloatVector dg = accumulate ? FloatVector.fromMemorySegment(F, dGate, b, NO) : zero;
            FloatVector du = accumulate ? FloatVector.fromMemorySegment(F, dUp, b, NO) : zero;
            vg.mul(u).fma(siluGrad, dg).intoMemorySegment(dGate, b, NO);
            vg.fma(a.mul(s), du).intoMemorySegment(dUp, b, NO);
        }
        for (; i < to; i++) {
            long b = i * 4;
            float vg = g.get(F32, b), a = gate.get(F32, b), u = up.get(F32, b);
            float s = sigmoidOf(a);
            float dg = accumulate ? dGate.get(F32, b) : 0f, du = accumulate ? dUp.get(F32, b) : 0f;
            dGate.set(F32, b, Math.fma(vg * u, s * (1f + a * (1f - s)), dg));
            dUp.set(F32, b, Math.fma(vg, a * s, du));
        }
    }

    // ---------------------------------------------------------------- softmax over the last dimension

    static void softmax(Parallel par, Tensor x, Tensor out) {
        long c = ActivationChecks.softmax(x, out);
        if (c == 0) {
            return;
        }
        MemorySegment sx = x.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        par.forRange(x.numel() / c, rowGrain(c), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                softmaxRow(sx, so, r * c, c);
            }
        });
    }

    /** {@code out = exp(x - max) / sum(exp(x - max))} for one row; {@code out} may be {@code x}. */
    static void softmaxRow(MemorySegment x, MemorySegment out, long off, long n) {
        float max = rowMax(x, off, n);
        double sum = expShiftedRow(x, max, out, off, n);
        CpuElementwise.scaleRange(out, (float) (1.0 / sum), out, off, off + n);
    }

    static float rowMax(MemorySegment x, long off, long n) {
        FloatVector acc = FloatVector.broadcast(F, Float.NEGATIVE_INFINITY);
        long i = 0;
        for (; i + L <= n; i += L) {
            acc = acc.max(FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO));
        }
        float m = acc.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            m = Math.max(m, x.get(F32, (off + i) * 4));
        }
        return m;
    }

    /** {@code out = exp(x - max)} for one row; returns the row's sum. */
    static double expShiftedRow(MemorySegment x, float max, MemorySegment out, long off, long n) {
        FloatVector acc = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector e = expOf(FloatVector.fromMemorySegment(F, x, (off + i) * 4, NO).sub(max));
            e.intoMemorySegment(out, (off + i) * 4, NO);
            acc = acc.add(e);
        }
        double sum = sumLanes(acc);
        for (; i < n; i++) {
            float e = expOf(x.get(F32, (off + i) * 4) - max);
            out.set(F32, (off + i) * 4, e);
            sum += e;
        }
        return sum;
    }

    /** {@code dX += y * (dOut - sum(dOut * y))} per row. */
    static void softmaxBackward(Parallel par, Tensor dOut, Tensor y, Tensor dX) {
        long c = ActivationChecks.softmaxBackward(dOut, y, dX);
        if (c == 0) {
            return;
        }
        MemorySegment g = dOut.segment(CpuMemory.KEY), sy = y.segment(CpuMemory.KEY), sdx = dX.segment(CpuMemory.KEY);
        par.forRange(y.numel() / c, rowGrain(c), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                long off = r * c;
                float dot = (float) dotRow(g, sy, off, c);
                softmaxGradRow(g, sy, dot, sdx, off, c);
            }
        });
    }

    static double dotRow(MemorySegment a, MemorySegment b, long off, long n) {
        FloatVector acc = FloatVector.zero(F);
        long i = 0;
        for (; i + L <= n; i += L) {
            FloatVector va = FloatVector.fromMemorySegment(F, a, (off + i) * 4, NO);
            acc = va.fma(FloatVector.fromMemorySegment(F, b, (off + i) * 4, NO), acc);
        }
        double s = sumLanes(acc);
        for (; i < n; i++) {
            s += a.get(F32, (off + i) * 4) * b.get(F32, (off + i) * 4);
        }
        return s;
    }

    /** {@code dX += y * (g - dot)} for one row. */
    static void softmaxGradRow(MemorySegment g, MemorySegment y, float dot, MemorySegment dx, long off, long n) {
        long i = 0;
        for (; i + L <= n; i += L) {
            long b = (off + i) * 4;
            FloatVector vy = FloatVector.fromMemorySegment(F, y, b, NO);
            FloatVector vg = FloatVector.fromMemorySegment(F, g, b, NO);
            FloatVector vd = FloatVector.fromMemorySegment(F, dx, b, NO);
            vy.fma(vg.sub(dot), vd).intoMemorySegment(dx, b, NO);
        }
        for (; i < n; i++) {
            long b = (off + i) * 4;
            dx.set(F32, b, Math.fma(y.get(F32, b), g.get(F32, b) - dot, dx.get(F32, b)));
        }
    }
}
