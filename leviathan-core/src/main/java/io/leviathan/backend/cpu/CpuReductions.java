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
        ReductionJob.run(par, ReductionJob.Kind.ROW_SUM, out.numel(), rowGrain(c), x.segment(CpuMemory.KEY),
                out.segment(CpuMemory.KEY), c, mean, null);
    }

    /** {@code dX[r, c] += dOut[r]} (or {@code dOut[r] / C} for the mean). */
    private static void rowBroadcastBackward(Parallel par, String op, Tensor dOut, Tensor dX, boolean mean) {
        long c = ReductionChecks.rowBroadcastBackward(op, dOut, dX);
        ReductionJob.run(par, ReductionJob.Kind.ROW_BROADCAST, dOut.numel(), rowGrain(c), dOut.segment(CpuMemory.KEY),
                dX.segment(CpuMemory.KEY), c, mean, null);
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
        double[] partial = partialScratch(blocks);
        ReductionJob.run(par, ReductionJob.Kind.BLOCK_SUM, blocks, 1, sx, null, n, false, partial);
        double s = 0;
        for (int b = 0; b < blocks; b++) {
            s += partial[b];
        }
        return s;
    }

    /** sumAll's per-block sums, grown on demand and reused by every call on the calling thread. */
    private static final ThreadLocal<double[][]> PARTIAL = ThreadLocal.withInitial(() -> new double[][] {new double[0]});

    private static double[] partialScratch(int blocks) {
        double[][] holder = PARTIAL.get();
        if (holder[0].length < blocks) {
            holder[0] = new double[blocks];
        }
        return holder[0];
    }

    /**
     * The parallel body of one reduction call. A job object reused by the calling thread rather than a
     * capturing lambda per call, as the other CPU kernels do, so reductions leave no garbage behind.
     */
    private static final class ReductionJob implements Parallel.RangeBody {
        enum Kind {
            /** Rows of {@code c} elements of {@code in} summed (or averaged) into {@code out[r]}. */
            ROW_SUM,
            /** {@code out[r, :] += in[r]} (or {@code in[r] / c}). */
            ROW_BROADCAST,
            /** {@code partial[b]} = the sum of block {@code b} of {@link #SUM_BLOCK} of the {@code c} elements of {@code in}. */
            BLOCK_SUM
        }

        private static final ThreadLocal<ReductionJob> JOBS = ThreadLocal.withInitial(ReductionJob::new);

        private Kind kind;
        private MemorySegment in, out;
        private long c;
        private boolean mean;
        private double[] partial;

        static void run(Parallel par, Kind kind, long n, long grain, MemorySegment in, MemorySegment out, long c,
                        boolean mean, double[] partial) {
            ReductionJob job = JOBS.get();
            job.kind = kind;
            job.in = in;
            job.out = out;
            job.c = c;
            job.mean = mean;
            job.partial = partial;
            try {
                par.forRange(n, grain, job);
            } finally {
                job.in = job.out = null; // a closed arena's memory must not stay reachable
                job.partial = null;
            }
        }

        @Override
        public void run(long start, long end) {
            MemorySegment in = this.in, out = this.out;
            long c = this.c;
            switch (kind) {
                case ROW_SUM -> {
                    for (long r = start; r < end; r++) {
                        double s = sumRange(in, r * c, r * c + c);
                        out.set(F32, r * 4, (float) (mean ? s / c : s));
                    }
                }
                case ROW_BROADCAST -> {
                    for (long r = start; r < end; r++) {
                        float v = in.get(F32, r * 4);
                        addScalarRange(out, mean ? v / c : v, r * c, r * c + c);
                    }
                }
                case BLOCK_SUM -> {
                    for (long b = start; b < end; b++) {
                        partial[(int) b] = sumRange(in, b * SUM_BLOCK, Math.min(c, (b + 1) * SUM_BLOCK));
                    }
                }
            }
        }
    }
}
