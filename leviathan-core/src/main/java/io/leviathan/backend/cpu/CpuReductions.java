package io.leviathan.backend.cpu;

import io.leviathan.backend.OpChecks;
import io.leviathan.backend.ReductionChecks;
import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static io.leviathan.backend.cpu.CpuElementwise.NO;

import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Sums and means, over the last dimension or over everything. Every sum is accumulated in double: each
 * float vector is widened into two double vectors before it is added.
 */
final class CpuReductions {
    private CpuReductions() {}

    private static final VectorSpecies<Double> D = F.withLanes(double.class);
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Elements per partial sum in {@link #sum}: fixed, so the result does not depend on the thread count. */
    private static final long SUM_BLOCK = 1 << 14;

    /** Rows per parallel chunk for row-wise kernels on rows of {@code cols} elements. */
    static long rowGrain(long cols) {
        return Math.max(1, CpuElementwise.ELEMENT_GRAIN / Math.max(cols, 1));
    }

    /** The sum of the floats at element indices {@code [from, to)}, accumulated in double. */
    static double sumRange(MemorySegment x, long from, long to) {
        DoubleVector acc0 = DoubleVector.zero(D);
        DoubleVector acc1 = DoubleVector.zero(D);
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector v = FloatVector.fromMemorySegment(F, x, i * 4, NO);
            acc0 = acc0.add((DoubleVector) v.convertShape(VectorOperators.F2D, D, 0));
            acc1 = acc1.add((DoubleVector) v.convertShape(VectorOperators.F2D, D, 1));
        }
        DoubleVector acc = acc0.add(acc1);
        double s = 0;
        for (int k = 0; k < D.length(); k++) {
            s += acc.lane(k); // in lane order: reduceLanes(ADD) leaves the order to the implementation
        }
        for (; i < to; i++) {
            s += x.get(F32, i * 4);
        }
        return s;
    }

    /** {@code x[i] += v} for element indices {@code [from, to)}. */
    static void addScalarRange(MemorySegment x, float v, long from, long to) {
        FloatVector vv = FloatVector.broadcast(F, v);
        long i = from;
        for (; i + L <= to; i += L) {
            FloatVector.fromMemorySegment(F, x, i * 4, NO).add(vv).intoMemorySegment(x, i * 4, NO);
        }
        for (; i < to; i++) {
            x.set(F32, i * 4, x.get(F32, i * 4) + v);
        }
    }

    // ---------------------------------------------------------------- sumLastDim: out[r] = sum_c x[r, c]

    static void sumLastDim(Parallel par, Tensor x, Tensor out) {
        rowReduce(par, "sumLastDim", x, out, false);
    }

    static void sumLastDimBackward(Parallel par, Tensor dOut, Tensor dX) {
        rowBroadcastBackward(par, "sumLastDimBackward", dOut, dX, false);
    }

    // ---------------------------------------------------------------- meanLastDim: out[r] = sum_c x[r, c] / C

    static void meanLastDim(Parallel par, Tensor x, Tensor out) {
        rowReduce(par, "meanLastDim", x, out, true);
    }

    static void meanLastDimBackward(Parallel par, Tensor dOut, Tensor dX) {
        rowBroadcastBackward(par, "meanLastDimBackward", dOut, dX, true);
    }

    private static void rowReduce(Parallel par, String op, Tensor x, Tensor out, boolean mean) {
        long c = ReductionChecks.rowReduce(op, x, out);
        MemorySegment sx = x.segment(CpuMemory.KEY), so = out.segment(CpuMemory.KEY);
        par.forRange(out.numel(), rowGrain(c), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                double s = sumRange(sx, r * c, r * c + c);
                so.set(F32, r * 4, (float) (mean ? s / c : s));
            }
        });
    }

    /** {@code dX[r, c] += dOut[r]} (or {@code dOut[r] / C} for the mean). */
    private static void rowBroadcastBackward(Parallel par, String op, Tensor dOut, Tensor dX, boolean mean) {
        long c = ReductionChecks.rowBroadcastBackward(op, dOut, dX);
        MemorySegment g = dOut.segment(CpuMemory.KEY), sdx = dX.segment(CpuMemory.KEY);
        par.forRange(dOut.numel(), rowGrain(c), (r0, r1) -> {
            for (long r = r0; r < r1; r++) {
                float v = g.get(F32, r * 4);
                addScalarRange(sdx, mean ? v / c : v, r * c, r * c + c);
            }
        });
    }

    // ---------------------------------------------------------------- sum and mean of every element

    static double sum(Parallel par, Tensor x) {
        OpChecks.f32("sum", "x", x);
        return sumAll(par, x);
    }

    static double mean(Parallel par, Tensor x) {
        OpChecks.f32("mean", "x", x);
        return sumAll(par, x) / x.numel();
    }

    /** Fixed blocks of {@link #SUM_BLOCK} elements, summed in parallel, then their sums added in order. */
    private static double sumAll(Parallel par, Tensor x) {
        MemorySegment sx = x.segment(CpuMemory.KEY);
        long n = x.numel();
        if (n <= SUM_BLOCK) {
            return sumRange(sx, 0, n);
        }
        int blocks = Math.toIntExact((n + SUM_BLOCK - 1) / SUM_BLOCK);
        double[] partial = new double[blocks];
        par.forRange(blocks, 1, (b0, b1) -> {
            for (long b = b0; b < b1; b++) {
                partial[(int) b] = sumRange(sx, b * SUM_BLOCK, Math.min(n, (b + 1) * SUM_BLOCK));
            }
        });
        double s = 0;
        for (double p : partial) {
            s += p;
        }
        return s;
    }
}
