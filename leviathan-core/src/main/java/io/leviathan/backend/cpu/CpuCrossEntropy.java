package io.leviathan.backend.cpu;

import io.leviathan.backend.CrossEntropyChecks;
import io.leviathan.backend.KernelDataException;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Fused log-softmax and negative log-likelihood over logits {@code [..., V]} against I32 targets, one row per
 * position. The loss of a row is {@code log(sum_j exp(x_j - max)) + max - x_target}; its gradient
 * {@code softmax - onehot} is written in the same pass. Row losses are summed in double over fixed blocks of
 * rows, so the result does not depend on the thread count.
 */
final class CpuCrossEntropy {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    /** Rows per partial sum: the unit of parallel work and of the deterministic loss reduction. */
    private static final int BLOCK_ROWS = 16;

    private CpuCrossEntropy() {}

    /** Per-block loss sums, grown on demand and reused by every call on the calling thread. */
    private static final ThreadLocal<double[][]> BLOCK_LOSS = ThreadLocal.withInitial(() -> new double[][] {new double[0]});

    private static double[] blockLossScratch(int blocks) {
        double[][] holder = BLOCK_LOSS.get();
        if (holder[0].length < blocks) {
            holder[0] = new double[blocks];
        }
        return holder[0];
    }

    /**
     * The mean loss over the positions whose target is not {@code ignoreIndex} (0 if none). {@code targets}
     * and {@code losses} are {@code [N]} or logits' shape without its last dimension. {@code dLogits}, when
     * given, is overwritten with {@code (softmax - onehot) * gradScale / counted}, zero on ignored rows; it may
     * be {@code logits} itself (the gradient then replaces the logits, as in llm.c).
     */
    static double crossEntropy(Parallel par, Tensor logits, Tensor targets, int ignoreIndex, Tensor losses,
                               Tensor dLogits, float gradScale) {
        String op = "crossEntropy";
        long vocab = CrossEntropyChecks.crossEntropy(logits, targets, losses, dLogits);
        int V = (int) vocab;
        long n = CrossEntropyChecks.rows(logits, vocab);
        MemorySegment xs = logits.segment(CpuMemory.KEY), ts = targets.segment(CpuMemory.KEY);
        MemorySegment ls = losses == null ? null : losses.segment(CpuMemory.KEY);
        MemorySegment gs = dLogits == null ? null : dLogits.segment(CpuMemory.KEY);
        long counted = countTargets(op, ts, n, V, ignoreIndex);
        float gradPerRow = counted == 0 ? 0f : (float) ((double) gradScale / counted);

        int blocks = (int) ((n + BLOCK_ROWS - 1) / BLOCK_ROWS);
        double[] blockLoss = blockLossScratch(blocks);
        LossJob job = JOBS.get();
        job.set(xs, ts, ls, gs, n, V, ignoreIndex, gradPerRow, blockLoss);
        try {
            par.forRange(blocks, Math.max(1, 4096 / Math.max(1, (long) V * BLOCK_ROWS)), job);
        } finally {
            job.set(null, null, null, null, 0, 0, 0, 0f, null); // a closed arena's memory must not stay reachable
        }
        double total = 0;
        for (int b = 0; b < blocks; b++) {
            total += blockLoss[b];
        }
        return counted == 0 ? 0.0 : total / counted;
    }

    private static final ThreadLocal<LossJob> JOBS = ThreadLocal.withInitial(LossJob::new);

    /**
     * Blocks of {@link #BLOCK_ROWS} rows of one cross-entropy call. A job object reused by the calling thread
     * rather than a capturing lambda, so the training step's loss leaves no garbage behind.
     */
    private static final class LossJob implements Parallel.RangeBody {
        private MemorySegment xs, ts, ls, gs;
        private long n;
        private int V, ignoreIndex;
        private float gradPerRow;
        private double[] blockLoss;

        void set(MemorySegment xs, MemorySegment ts, MemorySegment ls, MemorySegment gs, long n, int V,
                 int ignoreIndex, float gradPerRow, double[] blockLoss) {
            this.xs = xs;
            this.ts = ts;
            this.ls = ls;
            this.gs = gs;
            this.n = n;
            this.V = V;
            this.ignoreIndex = ignoreIndex;
            this.gradPerRow = gradPerRow;
            this.blockLoss = blockLoss;
        }

        @Override
        public void run(long start, long end) {
            MemorySegment xs = this.xs, ts = this.ts, ls = this.ls, gs = this.gs;
            long n = this.n;
            int V = this.V, ignoreIndex = this.ignoreIndex;
            float gradPerRow = this.gradPerRow;
            double[] blockLoss = this.blockLoss;
        for (long blk = start; blk < end; blk++) {
            double acc = 0;
            for (long r = blk * BLOCK_ROWS, rEnd = Math.min(n, r + BLOCK_ROWS); r < rEnd; r++) {
                int target = ts.getAtIndex(I, r);
                long x0 = r * V;
                if (target == ignoreIndex) {
                    if (ls != null) {
                        ls.setAtIndex(F, r, 0f);
                    }
                    if (gs != null) {
                        gs.asSlice(x0 * 4, (long) V * 4).fill((byte) 0);
                    }
                    continue;
                }
                float max = rowMax(xs, x0, V);
                float xTarget = xs.getAtIndex(F, x0 + target); // read first: dLogits may be logits itself
                // exp(x - max) goes straight into dLogits when it is wanted, and is scaled there below
                double sum = gs == null ? sumExp(xs, x0, V, max) : expInto(xs, x0, V, max, gs);
                double loss = Math.log(sum) + max - xTarget;
                acc += loss;
                if (ls != null) {
                    ls.setAtIndex(F, r, (float) loss);
                }
                if (gs != null) {
                    scaleRow(gs, x0, V, (float) (gradPerRow / sum));
                    gs.setAtIndex(F, x0 + target, gs.getAtIndex(F, x0 + target) - gradPerRow);
                }
            }
            blockLoss[(int) blk] = acc;
        }
        }
    }

    /** The number of rows not ignored; throws for the first counted target outside [0, V). */
    private static long countTargets(String op, MemorySegment ts, long n, int V, int ignoreIndex) {
        long counted = 0;
        for (long r = 0; r < n; r++) {
            int t = ts.getAtIndex(I, r);
            if (t == ignoreIndex) {
                continue;
            }
            if (t < 0 || t >= V) {
                throw new KernelDataException(op + ": target " + t + " at position " + r + " is outside [0, "
                        + V + ") for a vocabulary of " + V + " (ignoreIndex " + ignoreIndex + ")");
            }
            counted++;
        }
        return counted;
    }

    private static float rowMax(MemorySegment x, long off, int n) {
        FloatVector m = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            m = m.max(FloatVector.fromMemorySegment(S, x, (off + i) * 4, NATIVE));
        }
        float max = m.reduceLanes(VectorOperators.MAX);
        for (; i < n; i++) {
            max = Math.max(max, x.getAtIndex(F, off + i));
        }
        return max;
    }

    /*
     * The exponentials use CpuActivations.expOf (a polynomial built from add/mul/fma, with a scalar twin
     * for the tails) and lane sums in a fixed order: the Vector API's EXP operator and reduceLanes(ADD)
     * give different bits interpreted and compiled, which would make the loss depend on the JIT state and a
     * resumed run would not continue bit for bit.
     */

    /**
     * Vectors of exponentials summed lane-wise in F32 before their lanes are added to the row's double sum.
     * Adding the lanes (in order, in double) costs as much as a dozen vector operations, so doing it once per
     * block instead of once per vector roughly halves the cost of a row; a lane adds at most this many values
     * in (0, 1], so the F32 partial sums lose nothing that matters against the double total.
     */
    static final int SUM_BLOCK_VECTORS = 16;

    /** sum_i exp(x[off + i] - max). */
    private static double sumExp(MemorySegment x, long off, int n, float max) {
        return expSum(x, off, n, max, null);
    }

    /** y[off + i] = exp(x[off + i] - max); returns their sum. */
    private static double expInto(MemorySegment x, long off, int n, float max, MemorySegment y) {
        return expSum(x, off, n, max, y);
    }

    /**
     * sum_i exp(x[off + i] - max), also stored to {@code y[off + i]} when {@code y} is given. Lanes collect
     * {@link #SUM_BLOCK_VECTORS} vectors at a time, then are added in lane order to a double: the order is
     * fixed by {@code n} alone, so the sum is the same bits on any thread.
     */
    private static double expSum(MemorySegment x, long off, int n, float max, MemorySegment y) {
        FloatVector mv = FloatVector.broadcast(S, max);
        int lanes = S.length();
        double sum = 0;
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; ) {
            FloatVector acc = FloatVector.zero(S);
            for (int end = Math.min(upper, i + SUM_BLOCK_VECTORS * lanes); i < end; i += lanes) {
                // x - max <= 0: max is the largest of these very values
                FloatVector e = CpuActivations.expOfNonPositive(FloatVector.fromMemorySegment(S, x, (off + i) * 4, NATIVE).sub(mv));
                if (y != null) {
                    e.intoMemorySegment(y, (off + i) * 4, NATIVE);
                }
                acc = acc.add(e);
            }
            sum += CpuElementwise.sumLanes(acc);
        }
        for (; i < n; i++) {
            float e = CpuActivations.expOf(x.getAtIndex(F, off + i) - max);
            if (y != null) {
                y.setAtIndex(F, off + i, e);
            }
            sum += e;
        }
        return sum;
    }

    /** y[off + i] *= s. */
    private static void scaleRow(MemorySegment y, long off, int n, float s) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector.fromMemorySegment(S, y, (off + i) * 4, NATIVE).mul(s).intoMemorySegment(y, (off + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            y.setAtIndex(F, off + i, y.getAtIndex(F, off + i) * s);
        }
    }
}
