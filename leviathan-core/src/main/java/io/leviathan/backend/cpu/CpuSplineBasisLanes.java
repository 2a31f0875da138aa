package io.leviathan.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CpuSplineBasis}'s per-coordinate arithmetic on vector lanes: the same double operations in the same
 * order as the scalar code, so the same bits, a vector of coordinates at a time. A block holding a NaN
 * coordinate runs the scalar code instead (NaN handling of lanewise min and max need not match
 * {@code Math.min} and {@code Math.max}), as does the tail of a range.
 *
 * <p>A block is read into double arrays and written back from them by scalar loops (the widening and the
 * casts are exact or round as the scalar casts do); only the arithmetic between is on vectors, in
 * {@link #forwardBlock}, {@link #backwardBlock} and {@link #windowsBlock}. Two rules keep C2 from boxing
 * every vector (it then allocates hundreds of MB a step):
 * <ul>
 *   <li>no vector crosses a call of ours: in a method with many Vector API calls C2 stops inlining small
 *       helpers ({@code NodeCountInliningCutoff}), and a vector passed to a call that is not inlined is
 *       boxed. So the block methods take and return arrays, and their formulas are written out in place;</li>
 *   <li>one vector shape per element type in the whole process: C2 keeps one type profile per Vector API
 *       method, and a second shape of float vectors (the half-width ones this class used to convert
 *       through) makes it give up on intrinsics in unrelated kernels (GEMM packing, norms).</li>
 * </ul>
 */
final class CpuSplineBasisLanes {
    private CpuSplineBasisLanes() {}

    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED;
    /** Coordinates per block. */
    static final int DL = D.length();

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    /** 2^52: adding and subtracting it rounds a double in [0, 2^51) to an integer. */
    private static final double ROUND = 0x1p52;

    /** A worker's staging arrays for one block (one per thread, so a step allocates none). */
    private static final class Block {
        /** Coordinates; window starts ({@code first}, or {@code jn - 1}). */
        final double[] t = new double[DL], first = new double[DL];
        /** Forward: the weights and {@code 1 / sum}. Backward: the weights' gradients and {@code dt}. */
        final double[] u0 = new double[DL], u1 = new double[DL], u2 = new double[DL], out = new double[DL];
    }

    private static final ThreadLocal<Block> BLOCK = ThreadLocal.withInitial(Block::new);

    /** The coordinates {@code [e0, e1)} of {@link CpuSplineBasis#splineBasis}. */
    static void forward(MemorySegment st, MemorySegment sf, MemorySegment sw, int knots, boolean normalize,
                        long e0, long e1) {
        Block b = BLOCK.get();
        long e = e0;
        for (; e + DL <= e1; e += DL) {
            if (!readCoordinates(st, e, b)) {
                CpuSplineBasis.forwardScalar(st, sf, sw, knots, normalize, e, e + DL);
                continue;
            }
            forwardBlock(b, knots, normalize);
            for (int j = 0; j < DL; j++) { // to int and float, interleaved into [e, 3]
                double scaleW = normalize ? b.out[j] : 1;
                long at = e + j;
                sf.set(I32, at * 4, (int) b.first[j]);
                sw.set(F32, at * 12, (float) (b.u0[j] * scaleW));
                sw.set(F32, at * 12 + 4, (float) (b.u1[j] * scaleW));
                sw.set(F32, at * 12 + 8, (float) (b.u2[j] * scaleW));
            }
        }
        CpuSplineBasis.forwardScalar(st, sf, sw, knots, normalize, e, e1);
    }

    /**
     * From {@code b.t}: the window starts into {@code b.first}, the unscaled weights into {@code b.u*} and,
     * with {@code normalize}, {@code 1 / (u0 + u1 + u2)} into {@code b.out}.
     */
    private static void forwardBlock(Block b, int knots, boolean normalize) {
        double scale = knots - 1;
        DoubleVector c = DoubleVector.fromArray(D, b.t, 0).max(0).min(1).mul(scale);
        // CpuSplineBasis.nearestKnot: floor(c) is c rounded to an integer, less one where that went up
        DoubleVector r = c.add(ROUND).sub(ROUND);
        DoubleVector fl = r.blend(r.sub(1), r.compare(VectorOperators.GT, c));
        DoubleVector jn = fl.blend(fl.add(1), c.sub(fl).compare(VectorOperators.GE, 0.5));
        DoubleVector x = c.sub(jn);
        DoubleVector a0 = DoubleVector.broadcast(D, 0.5).sub(x); // CpuSplineBasis.leftWeight
        DoubleVector u0 = a0.mul(0.5).mul(a0).blend(0, jn.compare(VectorOperators.LT, 1));
        DoubleVector u1 = DoubleVector.broadcast(D, 0.75).sub(x.mul(x));
        DoubleVector a2 = DoubleVector.broadcast(D, 0.5).add(x); // CpuSplineBasis.rightWeight
        DoubleVector u2 = a2.mul(0.5).mul(a2).blend(0, jn.add(1).compare(VectorOperators.GE, knots));
        jn.sub(1).intoArray(b.first, 0);
        u0.intoArray(b.u0, 0);
        u1.intoArray(b.u1, 0);
        u2.intoArray(b.u2, 0);
        if (normalize) { // stored, not merged with a vector of ones: a vector merged from two branches is boxed
            DoubleVector.broadcast(D, 1).div(u0.add(u1).add(u2)).intoArray(b.out, 0);
        }
    }

    /**
     * The coordinates {@code [e0, e1)} of {@link CpuSplineBasis#splineBasisBackward}. {@code first} must
     * already have been checked to be the forward's windows.
     */
    static void backward(MemorySegment g, MemorySegment st, MemorySegment sf, MemorySegment sdt, int knots,
                         boolean normalize, long e0, long e1) {
        Block b = BLOCK.get();
        long e = e0;
        for (; e + DL <= e1; e += DL) {
            if (!readCoordinates(st, e, b)) {
                CpuSplineBasis.backwardScalar(g, st, sf, sdt, knots, normalize, e, e + DL);
                continue;
            }
            readFirst(sf, e, b);
            for (int j = 0; j < DL; j++) { // de-interleave [e, 3]
                long at = (e + j) * 12;
                b.u0[j] = g.get(F32, at);
                b.u1[j] = g.get(F32, at + 4);
                b.u2[j] = g.get(F32, at + 8);
            }
            backwardBlock(b, knots, normalize);
            for (int j = 0; j < DL; j++) {
                double tv = b.t[j];
                if (tv >= 0 && tv <= 1) { // clamped coordinates (outside [0, 1]) get no gradient
                    long at = (e + j) * 4;
                    sdt.set(F32, at, sdt.get(F32, at) + (float) b.out[j]);
                }
            }
        }
        CpuSplineBasis.backwardScalar(g, st, sf, sdt, knots, normalize, e, e1);
    }

    /**
     * {@code dt = CpuSplineBasis.windowGrad(...) * (K - 1)} into {@code b.out}, from {@code b.t},
     * {@code b.first} and the weights' gradients in {@code b.u*}.
     */
    private static void backwardBlock(Block b, int knots, boolean normalize) {
        double scale = knots - 1;
        DoubleVector c = DoubleVector.fromArray(D, b.t, 0).mul(scale);
        DoubleVector jn = DoubleVector.fromArray(D, b.first, 0).add(1);
        DoubleVector g0 = DoubleVector.fromArray(D, b.u0, 0);
        DoubleVector g1 = DoubleVector.fromArray(D, b.u1, 0);
        DoubleVector g2 = DoubleVector.fromArray(D, b.u2, 0);
        DoubleVector x = c.sub(jn);
        VectorMask<Double> leftOnGrid = jn.compare(VectorOperators.GE, 1);
        VectorMask<Double> rightOnGrid = jn.add(1).compare(VectorOperators.LT, knots);
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector du0 = zero.blend(x.sub(0.5), leftOnGrid);
        DoubleVector du1 = DoubleVector.broadcast(D, -2).mul(x);
        DoubleVector du2 = zero.blend(x.add(0.5), rightOnGrid);
        DoubleVector gDu = g0.mul(du0).add(g1.mul(du1)).add(g2.mul(du2));
        if (!normalize) {
            gDu.mul(scale).intoArray(b.out, 0);
            return;
        }
        DoubleVector a0 = DoubleVector.broadcast(D, 0.5).sub(x); // CpuSplineBasis.leftWeight
        DoubleVector u0 = zero.blend(a0.mul(0.5).mul(a0), leftOnGrid);
        DoubleVector u1 = DoubleVector.broadcast(D, 0.75).sub(x.mul(x));
        DoubleVector a2 = DoubleVector.broadcast(D, 0.5).add(x); // CpuSplineBasis.rightWeight
        DoubleVector u2 = zero.blend(a2.mul(0.5).mul(a2), rightOnGrid);
        DoubleVector sum = u0.add(u1).add(u2), dSum = du0.add(du1).add(du2);
        DoubleVector gU = g0.mul(u0).add(g1.mul(u1)).add(g2.mul(u2));
        gDu.sub(dSum.mul(gU).div(sum)).div(sum).mul(scale).intoArray(b.out, 0);
    }

    /**
     * Whether every {@code first[e]} of {@code [e0, e1)} is the forward's window for {@code t[e]} (which
     * {@link CpuSplineBasis#splineBasisBackward} requires; the scalar checks then name the first that is not).
     */
    static boolean windowsMatch(MemorySegment st, MemorySegment sf, int knots, long e0, long e1) {
        Block b = BLOCK.get();
        long e = e0;
        for (; e + DL <= e1; e += DL) {
            // a NaN coordinate: max and min may not pass it through as Math does, so check it by the scalar rule
            boolean match = readCoordinates(st, e, b)
                    ? windowsBlock(b, knots, sf, e)
                    : CpuSplineBasis.windowsMatchScalar(st, sf, knots, e, e + DL);
            if (!match) {
                return false;
            }
        }
        return CpuSplineBasis.windowsMatchScalar(st, sf, knots, e, e1);
    }

    /** Whether the block's window starts (read from {@code sf} at {@code e}) are those of {@code b.t}. */
    private static boolean windowsBlock(Block b, int knots, MemorySegment sf, long e) {
        readFirst(sf, e, b);
        DoubleVector c = DoubleVector.fromArray(D, b.t, 0).max(0).min(1).mul(knots - 1);
        DoubleVector r = c.add(ROUND).sub(ROUND); // as in forwardBlock
        DoubleVector fl = r.blend(r.sub(1), r.compare(VectorOperators.GT, c));
        DoubleVector jn = fl.blend(fl.add(1), c.sub(fl).compare(VectorOperators.GE, 0.5));
        return jn.sub(1).eq(DoubleVector.fromArray(D, b.first, 0)).allTrue();
    }

    /** The block's coordinates into {@code b.t}; false if one is NaN. */
    private static boolean readCoordinates(MemorySegment st, long e, Block b) {
        boolean numbers = true;
        for (int j = 0; j < DL; j++) {
            float v = st.get(F32, (e + j) * 4);
            b.t[j] = v;
            numbers &= v == v;
        }
        return numbers;
    }

    /** The block's window starts into {@code b.first}. */
    private static void readFirst(MemorySegment sf, long e, Block b) {
        for (int j = 0; j < DL; j++) {
            b.first[j] = sf.get(I32, (e + j) * 4);
        }
    }
}
