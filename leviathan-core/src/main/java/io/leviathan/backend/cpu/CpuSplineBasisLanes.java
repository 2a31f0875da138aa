package io.leviathan.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.LongVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CpuSplineBasis}'s per-coordinate arithmetic on vector lanes: the same double operations in the same
 * order as the scalar code, so the same bits, a vector of coordinates at a time. A block holding a NaN
 * coordinate runs the scalar code instead (NaN handling of lanewise min, max and conversions need not match
 * {@code Math.min}, {@code Math.max} and casts), as does the tail of a range.
 */
final class CpuSplineBasisLanes {
    private CpuSplineBasisLanes() {}

    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Floats and ints with as many lanes as {@link #D}. */
    static final VectorSpecies<Float> FH = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    static final VectorSpecies<Integer> IH = VectorSpecies.of(int.class, VectorShape.forBitSize(D.vectorBitSize() / 2));
    static final int DL = D.length();

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ByteOrder NO = ByteOrder.nativeOrder();

    /** The coordinates {@code [e0, e1)} of {@link CpuSplineBasis#splineBasis}. */
    static void forward(MemorySegment st, MemorySegment sf, MemorySegment sw, int knots, boolean normalize,
                        long e0, long e1) {
        double scale = knots - 1;
        float[] w = new float[3 * DL];
        float[] lane0 = new float[DL], lane1 = new float[DL], lane2 = new float[DL];
        long e = e0;
        for (; e + DL <= e1; e += DL) {
            FloatVector tf = FloatVector.fromMemorySegment(FH, st, e * 4, NO);
            if (tf.test(VectorOperators.IS_NAN).anyTrue()) {
                CpuSplineBasis.forwardScalar(st, sf, sw, knots, normalize, e, e + DL);
                continue;
            }
            DoubleVector t = (DoubleVector) tf.convertShape(VectorOperators.F2D, D, 0);
            DoubleVector c = t.max(0).min(1).mul(scale);
            DoubleVector jn = nearestKnot(c);
            DoubleVector x = c.sub(jn);
            DoubleVector u0 = leftWeight(x).blend(0, jn.compare(VectorOperators.LT, 1));
            DoubleVector u1 = DoubleVector.broadcast(D, 0.75).sub(x.mul(x));
            DoubleVector u2 = rightWeight(x).blend(0, jn.add(1).compare(VectorOperators.GE, knots));
            DoubleVector scaleW = normalize ? DoubleVector.broadcast(D, 1).div(u0.add(u1).add(u2)) : DoubleVector.broadcast(D, 1);
            ((IntVector) jn.sub(1).convertShape(VectorOperators.D2I, IH, 0)).intoMemorySegment(sf, e * 4, NO);
            ((FloatVector) u0.mul(scaleW).convertShape(VectorOperators.D2F, FH, 0)).intoArray(lane0, 0);
            ((FloatVector) u1.mul(scaleW).convertShape(VectorOperators.D2F, FH, 0)).intoArray(lane1, 0);
            ((FloatVector) u2.mul(scaleW).convertShape(VectorOperators.D2F, FH, 0)).intoArray(lane2, 0);
            for (int j = 0; j < DL; j++) { // interleave into [e, 3]
                w[3 * j] = lane0[j];
                w[3 * j + 1] = lane1[j];
                w[3 * j + 2] = lane2[j];
            }
            MemorySegment.copy(w, 0, sw, F32, e * 12, 3 * DL);
        }
        CpuSplineBasis.forwardScalar(st, sf, sw, knots, normalize, e, e1);
    }

    /**
     * The coordinates {@code [e0, e1)} of {@link CpuSplineBasis#splineBasisBackward}. {@code first} must
     * already have been checked to be the forward's windows.
     */
    static void backward(MemorySegment g, MemorySegment st, MemorySegment sf, MemorySegment sdt, int knots,
                         boolean normalize, long e0, long e1) {
        double scale = knots - 1;
        float[] gv = new float[3 * DL];
        double[] g0 = new double[DL], g1 = new double[DL], g2 = new double[DL];
        long e = e0;
        for (; e + DL <= e1; e += DL) {
            FloatVector tf = FloatVector.fromMemorySegment(FH, st, e * 4, NO);
            if (tf.test(VectorOperators.IS_NAN).anyTrue()) {
                CpuSplineBasis.backwardScalar(g, st, sf, sdt, knots, normalize, e, e + DL);
                continue;
            }
            // clamped coordinates (outside [0, 1]) get no gradient
            VectorMask<Float> inside = tf.compare(VectorOperators.GE, 0f).and(tf.compare(VectorOperators.LE, 1f));
            if (!inside.anyTrue()) {
                continue;
            }
            DoubleVector c = ((DoubleVector) tf.convertShape(VectorOperators.F2D, D, 0)).mul(scale);
            DoubleVector jn = ((DoubleVector) IntVector.fromMemorySegment(IH, sf, e * 4, NO)
                    .convertShape(VectorOperators.I2D, D, 0)).add(1);
            MemorySegment.copy(g, F32, e * 12, gv, 0, 3 * DL);
            for (int j = 0; j < DL; j++) { // de-interleave [e, 3]
                g0[j] = gv[3 * j];
                g1[j] = gv[3 * j + 1];
                g2[j] = gv[3 * j + 2];
            }
            DoubleVector dc = windowGrad(c.sub(jn), jn.compare(VectorOperators.GE, 1),
                    jn.add(1).compare(VectorOperators.LT, knots), normalize,
                    DoubleVector.fromArray(D, g0, 0), DoubleVector.fromArray(D, g1, 0), DoubleVector.fromArray(D, g2, 0));
            FloatVector old = FloatVector.fromMemorySegment(FH, sdt, e * 4, NO);
            FloatVector add = (FloatVector) dc.mul(scale).convertShape(VectorOperators.D2F, FH, 0);
            old.add(add, inside).intoMemorySegment(sdt, e * 4, NO);
        }
        CpuSplineBasis.backwardScalar(g, st, sf, sdt, knots, normalize, e, e1);
    }

    /**
     * Whether every {@code first[e]} of {@code [e0, e1)} is the forward's window for {@code t[e]} (which
     * {@link CpuSplineBasis#splineBasisBackward} requires; the scalar checks then name the first that is not).
     */
    static boolean windowsMatch(MemorySegment st, MemorySegment sf, int knots, long e0, long e1) {
        double scale = knots - 1;
        long e = e0;
        for (; e + DL <= e1; e += DL) {
            FloatVector tf = FloatVector.fromMemorySegment(FH, st, e * 4, NO);
            // a NaN coordinate: max and min may not pass it through as Math does, so check it by the scalar rule
            if (tf.test(VectorOperators.IS_NAN).anyTrue()) {
                if (!CpuSplineBasis.windowsMatchScalar(st, sf, knots, e, e + DL)) {
                    return false;
                }
                continue;
            }
            DoubleVector c = ((DoubleVector) tf.convertShape(VectorOperators.F2D, D, 0)).max(0).min(1).mul(scale);
            IntVector expected = (IntVector) nearestKnot(c).sub(1).convertShape(VectorOperators.D2I, IH, 0);
            if (!expected.eq(IntVector.fromMemorySegment(IH, sf, e * 4, NO)).allTrue()) {
                return false;
            }
        }
        return CpuSplineBasis.windowsMatchScalar(st, sf, knots, e, e1);
    }

    /** {@link CpuSplineBasis#nearestKnot} of {@code c >= 0} (not NaN), as doubles. */
    private static DoubleVector nearestKnot(DoubleVector c) {
        DoubleVector fl = (DoubleVector) c.convert(VectorOperators.D2L, 0).convert(VectorOperators.L2D, 0);
        return fl.blend(fl.add(1), c.sub(fl).compare(VectorOperators.GE, 0.5));
    }

    /** {@link CpuSplineBasis#leftWeight}: {@code 0.5 * a * a}, {@code a = 0.5 - x}. */
    private static DoubleVector leftWeight(DoubleVector x) {
        DoubleVector a = DoubleVector.broadcast(D, 0.5).sub(x);
        return a.mul(0.5).mul(a);
    }

    /** {@link CpuSplineBasis#rightWeight}: {@code 0.5 * a * a}, {@code a = 0.5 + x}. */
    private static DoubleVector rightWeight(DoubleVector x) {
        DoubleVector a = DoubleVector.broadcast(D, 0.5).add(x);
        return a.mul(0.5).mul(a);
    }

    /** {@link CpuSplineBasis#windowGrad} on lanes. */
    private static DoubleVector windowGrad(DoubleVector x, VectorMask<Double> leftOnGrid, VectorMask<Double> rightOnGrid,
                                           boolean normalize, DoubleVector g0, DoubleVector g1, DoubleVector g2) {
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector u0 = zero.blend(leftWeight(x), leftOnGrid), du0 = zero.blend(x.sub(0.5), leftOnGrid);
        DoubleVector u1 = DoubleVector.broadcast(D, 0.75).sub(x.mul(x)), du1 = DoubleVector.broadcast(D, -2).mul(x);
        DoubleVector u2 = zero.blend(rightWeight(x), rightOnGrid), du2 = zero.blend(x.add(0.5), rightOnGrid);
        DoubleVector gDu = g0.mul(du0).add(g1.mul(du1)).add(g2.mul(du2));
        if (!normalize) {
            return gDu;
        }
        DoubleVector sum = u0.add(u1).add(u2), dSum = du0.add(du1).add(du2);
        DoubleVector gU = g0.mul(u0).add(g1.mul(u1)).add(g2.mul(u2));
        return gDu.sub(dSum.mul(gU).div(sum)).div(sum);
    }
}
