package io.leviathan.backend.cpu;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@link CpuSplineBasis}'s per-coordinate arithmetic on vector lanes: the same double operations in the same
 * order as the scalar code, so the same bits, a vector of coordinates at a time. A block of coordinates holding
 * a NaN runs the scalar code instead (NaN handling of lanewise min and max need not match {@code Math.min} and
 * {@code Math.max}), as does the tail of a range.
 *
 * <p>A range is taken in chunks of {@link #CHUNK} coordinates: each chunk's operands are copied from native
 * memory into heap arrays in bulk, widened to double by plain loops (exact), computed on vectors block by block
 * ({@link #forwardBlock}, {@link #backwardBlock}, {@link #windowsBlock}), narrowed and interleaved by plain
 * loops (rounded as the scalar casts round) and copied back in bulk. Element-wise access to native memory
 * would cost more than the arithmetic: each access carries its own bounds and liveness checks. The widening
 * and narrowing are plain loops on purpose: the Vector API's conversions between lane counts made C2 box
 * vectors in some runs (see the heap report).
 *
 * <p>Two rules keep C2 from boxing every vector (it then allocates hundreds of MB a step):
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
    /** Coordinates per vector block. */
    static final int DL = D.length();
    /** Coordinates per chunk (a multiple of {@link #DL}); a chunk's arrays, about 20 KiB, stay in L1. */
    static final int CHUNK = 256;

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;

    /** 2^52: adding and subtracting it rounds a double in [0, 2^51) to an integer. */
    private static final double ROUND = 0x1p52;

    /** A worker's staging arrays for one chunk (one set per thread, so a step allocates none). */
    private static final class Chunk {
        /** The chunk's operands as stored: coordinates, window starts, weights or their gradients, dT. */
        final float[] t = new float[CHUNK], w = new float[3 * CHUNK], dt = new float[CHUNK];
        final int[] first = new int[CHUNK];
        /** Widened: coordinates and window starts. */
        final double[] td = new double[CHUNK], firstD = new double[CHUNK];
        /** Forward: the (scaled) weights. Backward: the weights' gradients, and {@code dt} in {@code out}. */
        final double[] u0 = new double[CHUNK], u1 = new double[CHUNK], u2 = new double[CHUNK], out = new double[CHUNK];
        /** Whether block {@code b} of the chunk holds a NaN coordinate. */
        final boolean[] nan = new boolean[CHUNK / DL];
    }

    private static final ThreadLocal<Chunk> CHUNKS = ThreadLocal.withInitial(Chunk::new);

    /** The coordinates {@code [e0, e1)} of {@link CpuSplineBasis#splineBasis}. */
    static void forward(MemorySegment st, MemorySegment sf, MemorySegment sw, int knots, boolean normalize,
                        long e0, long e1) {
        Chunk b = CHUNKS.get();
        long e = e0;
        for (; e + DL <= e1; e += CHUNK) {
            int m = (int) Math.min(CHUNK, (e1 - e) / DL * DL); // whole blocks only
            MemorySegment.copy(st, F32, e * 4, b.t, 0, m);
            forwardChunk(b, m, knots, normalize);
            MemorySegment.copy(b.first, 0, sf, I32, e * 4, m);
            MemorySegment.copy(b.w, 0, sw, F32, e * 12, 3 * m);
            for (int j = 0; j < m; j += DL) { // NaN blocks: over the values just written
                if (b.nan[j / DL]) {
                    CpuSplineBasis.forwardScalar(st, sf, sw, knots, normalize, e + j, e + j + DL);
                }
            }
            if (m < CHUNK) {
                e += m;
                break;
            }
        }
        CpuSplineBasis.forwardScalar(st, sf, sw, knots, normalize, e, e1);
    }

    /**
     * {@link #forward} from and into heap arrays: the windows of the coordinates {@code t[0, count)} into
     * {@code first[0, count)} and {@code w[0, 3 count)}, with the same bits. The fused separable modes compute
     * their windows this way, in cache, instead of reading them from memory.
     */
    static void forward(float[] t, int count, int knots, boolean normalize, int[] first, float[] w) {
        Chunk b = CHUNKS.get();
        int e = 0;
        for (; e + DL <= count; e += CHUNK) {
            int m = Math.min(CHUNK, (count - e) / DL * DL);
            System.arraycopy(t, e, b.t, 0, m);
            forwardChunk(b, m, knots, normalize);
            System.arraycopy(b.first, 0, first, e, m);
            System.arraycopy(b.w, 0, w, 3 * e, 3 * m);
            for (int j = 0; j < m; j += DL) {
                if (b.nan[j / DL]) {
                    forwardScalar(t, knots, normalize, first, w, e + j, e + j + DL);
                }
            }
            if (m < CHUNK) {
                e += m;
                break;
            }
        }
        forwardScalar(t, knots, normalize, first, w, e, count);
    }

    /**
     * {@link CpuSplineBasis#forwardScalar} over arrays (wrapped as heap segments; only NaN blocks and a range's
     * last few coordinates come here).
     */
    private static void forwardScalar(float[] t, int knots, boolean normalize, int[] first, float[] w, int e0, int e1) {
        if (e0 < e1) {
            CpuSplineBasis.forwardScalar(MemorySegment.ofArray(t), MemorySegment.ofArray(first),
                    MemorySegment.ofArray(w), knots, normalize, e0, e1);
        }
    }

    /**
     * The windows of the chunk's {@code m} coordinates in {@code b.t} (whole blocks): starts into {@code b.first},
     * weights interleaved into {@code b.w}, and which blocks hold a NaN (their values are left to the scalar code)
     * in {@code b.nan}.
     */
    private static void forwardChunk(Chunk b, int m, int knots, boolean normalize) {
        for (int j = 0; j < m; j++) {
            b.td[j] = b.t[j];
        }
        for (int j = 0; j < m; j += DL) {
            b.nan[j / DL] = !forwardBlock(b, j, knots, normalize);
        }
        for (int j = 0; j < m; j++) { // to int and float (exact, and rounded as the scalar casts round), interleaved into [e, 3]
            b.first[j] = (int) b.firstD[j];
            b.w[3 * j] = (float) b.u0[j];
            b.w[3 * j + 1] = (float) b.u1[j];
            b.w[3 * j + 2] = (float) b.u2[j];
        }
    }

    /**
     * From the coordinates {@code b.td[j, j + DL)}: the window starts into {@code b.firstD} and the weights,
     * scaled where {@code normalize}, into {@code b.u0}, {@code b.u1}, {@code b.u2}. False, with nothing stored,
     * if a coordinate is NaN.
     */
    private static boolean forwardBlock(Chunk b, int j, int knots, boolean normalize) {
        double scale = knots - 1;
        DoubleVector t = DoubleVector.fromArray(D, b.td, j);
        if (t.test(VectorOperators.IS_NAN).anyTrue()) {
            return false;
        }
        DoubleVector c = t.max(0).min(1).mul(scale);
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
        jn.sub(1).intoArray(b.firstD, j);
        // Each branch stores its own results: a vector merged from two branches would be boxed.
        if (normalize) {
            DoubleVector scaleW = DoubleVector.broadcast(D, 1).div(u0.add(u1).add(u2));
            u0.mul(scaleW).intoArray(b.u0, j);
            u1.mul(scaleW).intoArray(b.u1, j);
            u2.mul(scaleW).intoArray(b.u2, j);
        } else {
            u0.intoArray(b.u0, j);
            u1.intoArray(b.u1, j);
            u2.intoArray(b.u2, j);
        }
        return true;
    }

    /**
     * The coordinates {@code [e0, e1)} of {@link CpuSplineBasis#splineBasisBackward}. {@code first} must
     * already have been checked to be the forward's windows.
     */
    static void backward(MemorySegment g, MemorySegment st, MemorySegment sf, MemorySegment sdt, int knots,
                         boolean normalize, long e0, long e1) {
        Chunk b = CHUNKS.get();
        long e = e0;
        for (; e + DL <= e1; e += CHUNK) {
            int m = (int) Math.min(CHUNK, (e1 - e) / DL * DL);
            MemorySegment.copy(st, F32, e * 4, b.t, 0, m);
            MemorySegment.copy(sf, I32, e * 4, b.first, 0, m);
            MemorySegment.copy(g, F32, e * 12, b.w, 0, 3 * m);
            MemorySegment.copy(sdt, F32, e * 4, b.dt, 0, m);
            backwardChunk(b, m, knots, normalize);
            MemorySegment.copy(b.dt, 0, sdt, F32, e * 4, m);
            for (int j = 0; j < m; j += DL) { // NaN blocks: their dT was written back unchanged
                if (b.nan[j / DL]) {
                    CpuSplineBasis.backwardScalar(g, st, sf, sdt, knots, normalize, e + j, e + j + DL);
                }
            }
            if (m < CHUNK) {
                e += m;
                break;
            }
        }
        CpuSplineBasis.backwardScalar(g, st, sf, sdt, knots, normalize, e, e1);
    }

    /**
     * {@link #backward} from and into heap arrays, with the same bits: {@code dt[e] += d(sum_m g[3e + m] w_m) / dt}
     * for the coordinates {@code t[0, count)} and their windows {@code first} (the forward's, as
     * {@link #forward(float[], int, int, boolean, int[], float[])} computes them).
     */
    static void backward(float[] g, float[] t, int[] first, int count, int knots, boolean normalize, float[] dt) {
        Chunk b = CHUNKS.get();
        int e = 0;
        for (; e + DL <= count; e += CHUNK) {
            int m = Math.min(CHUNK, (count - e) / DL * DL);
            System.arraycopy(t, e, b.t, 0, m);
            System.arraycopy(first, e, b.first, 0, m);
            System.arraycopy(g, 3 * e, b.w, 0, 3 * m);
            System.arraycopy(dt, e, b.dt, 0, m);
            backwardChunk(b, m, knots, normalize);
            System.arraycopy(b.dt, 0, dt, e, m);
            for (int j = 0; j < m; j += DL) {
                if (b.nan[j / DL]) {
                    backwardScalar(g, t, first, dt, knots, normalize, e + j, e + j + DL);
                }
            }
            if (m < CHUNK) {
                e += m;
                break;
            }
        }
        backwardScalar(g, t, first, dt, knots, normalize, e, count);
    }

    /** {@link CpuSplineBasis#backwardScalar} over arrays (wrapped as heap segments; NaN blocks and a tail only). */
    private static void backwardScalar(float[] g, float[] t, int[] first, float[] dt, int knots, boolean normalize,
                                       int e0, int e1) {
        if (e0 < e1) {
            CpuSplineBasis.backwardScalar(MemorySegment.ofArray(g), MemorySegment.ofArray(t),
                    MemorySegment.ofArray(first), MemorySegment.ofArray(dt), knots, normalize, e0, e1);
        }
    }

    /**
     * The chunk's {@code m} coordinates (whole blocks) with their windows and weight gradients in {@code b.t},
     * {@code b.first} and {@code b.w} (interleaved): {@code b.dt[j] +=} their {@code dt}, except in blocks holding
     * a NaN ({@code b.nan}, left to the scalar code) and for coordinates outside [0, 1] (clamped: no gradient).
     */
    private static void backwardChunk(Chunk b, int m, int knots, boolean normalize) {
        for (int j = 0; j < m; j++) { // widen, and de-interleave [e, 3]
            b.td[j] = b.t[j];
            b.firstD[j] = b.first[j];
            b.u0[j] = b.w[3 * j];
            b.u1[j] = b.w[3 * j + 1];
            b.u2[j] = b.w[3 * j + 2];
        }
        for (int j = 0; j < m; j += DL) {
            b.nan[j / DL] = !backwardBlock(b, j, knots, normalize);
        }
        for (int j = 0; j < m; j++) {
            float tv = b.t[j];
            if (tv >= 0f && tv <= 1f && !b.nan[j / DL]) {
                b.dt[j] += (float) b.out[j];
            }
        }
    }

    /**
     * {@code dt = CpuSplineBasis.windowGrad(...) * (K - 1)} into {@code b.out[j, j + DL)}, from {@code b.td},
     * {@code b.firstD} and the weights' gradients in {@code b.u*}. False, with nothing stored, if a coordinate
     * is NaN.
     */
    private static boolean backwardBlock(Chunk b, int j, int knots, boolean normalize) {
        double scale = knots - 1;
        DoubleVector t = DoubleVector.fromArray(D, b.td, j);
        if (t.test(VectorOperators.IS_NAN).anyTrue()) {
            return false;
        }
        DoubleVector c = t.mul(scale);
        DoubleVector jn = DoubleVector.fromArray(D, b.firstD, j).add(1);
        DoubleVector g0 = DoubleVector.fromArray(D, b.u0, j);
        DoubleVector g1 = DoubleVector.fromArray(D, b.u1, j);
        DoubleVector g2 = DoubleVector.fromArray(D, b.u2, j);
        DoubleVector x = c.sub(jn);
        VectorMask<Double> leftOnGrid = jn.compare(VectorOperators.GE, 1);
        VectorMask<Double> rightOnGrid = jn.add(1).compare(VectorOperators.LT, knots);
        DoubleVector zero = DoubleVector.zero(D);
        DoubleVector du0 = zero.blend(x.sub(0.5), leftOnGrid);
        DoubleVector du1 = DoubleVector.broadcast(D, -2).mul(x);
        DoubleVector du2 = zero.blend(x.add(0.5), rightOnGrid);
        DoubleVector gDu = g0.mul(du0).add(g1.mul(du1)).add(g2.mul(du2));
        // Each branch stores its own result: a vector merged from two branches would be boxed.
        if (!normalize) {
            gDu.mul(scale).intoArray(b.out, j);
            return true;
        }
        DoubleVector a0 = DoubleVector.broadcast(D, 0.5).sub(x); // CpuSplineBasis.leftWeight
        DoubleVector u0 = zero.blend(a0.mul(0.5).mul(a0), leftOnGrid);
        DoubleVector u1 = DoubleVector.broadcast(D, 0.75).sub(x.mul(x));
        DoubleVector a2 = DoubleVector.broadcast(D, 0.5).add(x); // CpuSplineBasis.rightWeight
        DoubleVector u2 = zero.blend(a2.mul(0.5).mul(a2), rightOnGrid);
        DoubleVector sum = u0.add(u1).add(u2), dSum = du0.add(du1).add(du2);
        DoubleVector gU = g0.mul(u0).add(g1.mul(u1)).add(g2.mul(u2));
        gDu.sub(dSum.mul(gU).div(sum)).div(sum).mul(scale).intoArray(b.out, j);
        return true;
    }

    /**
     * Whether every {@code first[e]} of {@code [e0, e1)} is the forward's window for {@code t[e]} (which
     * {@link CpuSplineBasis#splineBasisBackward} requires; the scalar checks then name the first that is not).
     */
    static boolean windowsMatch(MemorySegment st, MemorySegment sf, int knots, long e0, long e1) {
        Chunk b = CHUNKS.get();
        long e = e0;
        for (; e + DL <= e1; e += CHUNK) {
            int m = (int) Math.min(CHUNK, (e1 - e) / DL * DL);
            readCoordinates(st, e, m, b);
            readFirst(sf, e, m, b);
            for (int j = 0; j < m; j += DL) {
                int match = windowsBlock(b, j, knots);
                // a NaN coordinate: max and min may not pass it through as Math does, so check it by the scalar rule
                if (match < 0) {
                    match = CpuSplineBasis.windowsMatchScalar(st, sf, knots, e + j, e + j + DL) ? 1 : 0;
                }
                if (match == 0) {
                    return false;
                }
            }
            if (m < CHUNK) {
                e += m;
                break;
            }
        }
        return CpuSplineBasis.windowsMatchScalar(st, sf, knots, e, e1);
    }

    /** 1 if the window starts {@code b.firstD[j, j + DL)} are those of {@code b.td}, 0 if not, -1 for a NaN. */
    private static int windowsBlock(Chunk b, int j, int knots) {
        DoubleVector t = DoubleVector.fromArray(D, b.td, j);
        if (t.test(VectorOperators.IS_NAN).anyTrue()) {
            return -1;
        }
        DoubleVector c = t.max(0).min(1).mul(knots - 1);
        DoubleVector r = c.add(ROUND).sub(ROUND); // as in forwardBlock
        DoubleVector fl = r.blend(r.sub(1), r.compare(VectorOperators.GT, c));
        DoubleVector jn = fl.blend(fl.add(1), c.sub(fl).compare(VectorOperators.GE, 0.5));
        return jn.sub(1).eq(DoubleVector.fromArray(D, b.firstD, j)).allTrue() ? 1 : 0;
    }

    /** {@code m} coordinates from {@code e} into {@code b.t} and, widened, {@code b.td}. */
    private static void readCoordinates(MemorySegment st, long e, int m, Chunk b) {
        MemorySegment.copy(st, F32, e * 4, b.t, 0, m);
        for (int j = 0; j < m; j++) {
            b.td[j] = b.t[j];
        }
    }

    /** {@code m} window starts from {@code e} into {@code b.first} and, widened, {@code b.firstD}. */
    private static void readFirst(MemorySegment sf, long e, int m, Chunk b) {
        MemorySegment.copy(sf, I32, e * 4, b.first, 0, m);
        for (int j = 0; j < m; j++) {
            b.firstD[j] = b.first[j];
        }
    }
}
