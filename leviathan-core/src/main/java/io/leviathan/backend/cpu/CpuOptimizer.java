package io.leviathan.backend.cpu;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.OptimizerChecks;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The optimiser's kernels: the global gradient norm (for clipping) and the AdamW update, exactly as
 * PyTorch's {@code torch.optim.AdamW} computes it.
 */
final class CpuOptimizer {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Elements per partial sum of squares: the unit of parallel work and of the deterministic reduction. */
    private static final int NORM_BLOCK = 1 << 14;
    /** Elements a float vector accumulator sums before its lanes are added into the double total. */
    private static final int SPAN = 1 << 10;
    private static final long ADAMW_GRAIN = 1 << 14;
    /** Added to the norm before dividing, as in {@code torch.nn.utils.clip_grad_norm_}. */
    static final double CLIP_EPS = 1e-6;

    private CpuOptimizer() {}

    /**
     * globalL2Norm's per-tensor tables and per-block partial sums, grown on demand and reused per thread; also
     * the parallel body over blocks, so the call captures no lambda.
     */
    private static final class NormScratch implements Parallel.RangeBody {
        MemorySegment[] segs = new MemorySegment[0];
        /** Tensor i owns blocks {@code [firstBlock[i], firstBlock[i + 1])}. */
        long[] firstBlock = new long[1];
        double[] partial = new double[0];

        @Override
        public void run(long start, long end) {
            MemorySegment[] segs = this.segs;
            long[] firstBlock = this.firstBlock;
            double[] partial = this.partial;
            int ti = 0;
            for (long blk = start; blk < end; blk++) {
                while (blk >= firstBlock[ti + 1]) {
                    ti++;
                }
                long n = segs[ti].byteSize() / 4;
                long from = (blk - firstBlock[ti]) * NORM_BLOCK;
                partial[(int) blk] = sumOfSquares(segs[ti], from, Math.min(n, from + NORM_BLOCK));
            }
        }

        NormScratch fit(int tensors) {
            if (segs.length < tensors) {
                segs = new MemorySegment[tensors];
                firstBlock = new long[tensors + 1];
            }
            return this;
        }

        double[] partial(int blocks) {
            if (partial.length < blocks) {
                partial = new double[blocks];
            }
            return partial;
        }
    }

    private static final ThreadLocal<NormScratch> NORM_SCRATCH = ThreadLocal.withInitial(NormScratch::new);

    /** sqrt(sum of x^2 over every element of every tensor), accumulated in double. */
    static double globalL2Norm(Parallel par, List<Tensor> tensors) {
        OptimizerChecks.globalL2Norm(tensors);
        int nt = tensors.size();
        NormScratch scratch = NORM_SCRATCH.get().fit(nt);
        MemorySegment[] segs = scratch.segs;
        long[] firstBlock = scratch.firstBlock; // tensor i owns blocks [firstBlock[i], firstBlock[i + 1])
        firstBlock[0] = 0;
        for (int i = 0; i < nt; i++) {
            Tensor t = tensors.get(i);
            segs[i] = t.segment(CpuMemory.KEY);
            firstBlock[i + 1] = firstBlock[i] + (t.numel() + NORM_BLOCK - 1) / NORM_BLOCK;
        }
        int blocks = Math.toIntExact(firstBlock[nt]);
        double[] partial = scratch.partial(blocks);
        try {
            par.forRange(blocks, 4, scratch);
        } finally {
            java.util.Arrays.fill(segs, 0, nt, null); // do not keep the tensors' memory reachable
        }
        double total = 0;
        for (int i = 0; i < blocks; i++) {
            total += partial[i];
        }
        return Math.sqrt(total);
    }

    /**
     * One AdamW step, as torch.optim.AdamW: {@code p *= 1 - lr * wd; m = b1 m + (1 - b1) g;
     * v = b2 v + (1 - b2) g^2; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}.
     */
    static void adamw(Parallel par, Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        OptimizerChecks.adamw(param, grad, m, v, step);
        MemorySegment ps = param.segment(CpuMemory.KEY), gs = grad.segment(CpuMemory.KEY), ms = m.segment(CpuMemory.KEY), vs = v.segment(CpuMemory.KEY);
        float b1 = step.beta1(), b2 = step.beta2(), eps = step.eps();
        float decay = (float) (1.0 - (double) step.lr() * step.weightDecay());
        float stepSize = (float) (step.lr() / (1.0 - Math.pow(b1, step.step())));
        float bc2Sqrt = (float) Math.sqrt(1.0 - Math.pow(b2, step.step()));
        AdamWJob job = ADAMW_JOBS.get();
        job.set(ps, gs, ms, vs, decay, b1, b2, eps, stepSize, bc2Sqrt, 1f);
        job.elements();
        try {
            par.forRange(param.numel(), ADAMW_GRAIN, job);
        } finally {
            job.clear();
        }
    }

    /**
     * The multi-tensor AdamW over flat buffers: the clip scale comes from the device norm, elements
     * {@code [0, decayedCount)} are decayed, and a non-finite norm leaves everything untouched.
     */
    static void adamwFlat(Parallel par, Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step,
                          long decayedCount, Tensor gradNorm, float clipNorm) {
        OptimizerChecks.adamw(param, grad, m, v, step, decayedCount, gradNorm, clipNorm);
        long n = param.numel();
        double norm = CpuScalars.get(gradNorm);
        if (!Double.isFinite(norm)) {
            return; // a diverged step changes nothing; the trainer reports it from the downloaded norm
        }
        float clip = clipNorm > 0 && norm > clipNorm ? (float) (clipNorm / (norm + CLIP_EPS)) : 1f;
        MemorySegment ps = param.segment(CpuMemory.KEY), gs = grad.segment(CpuMemory.KEY);
        MemorySegment ms = m.segment(CpuMemory.KEY), vs = v.segment(CpuMemory.KEY);
        float b1 = step.beta1(), b2 = step.beta2(), eps = step.eps();
        float decay = (float) (1.0 - (double) step.lr() * step.weightDecay());
        float stepSize = (float) (step.lr() / (1.0 - Math.pow(b1, step.step())));
        float bc2Sqrt = (float) Math.sqrt(1.0 - Math.pow(b2, step.step()));
        // Chunks never straddle the decay boundary, so each range has one decay factor.
        long decayedChunks = (decayedCount + ADAMW_GRAIN - 1) / ADAMW_GRAIN;
        long plainChunks = (n - decayedCount + ADAMW_GRAIN - 1) / ADAMW_GRAIN;
        AdamWJob job = ADAMW_JOBS.get();
        job.set(ps, gs, ms, vs, decay, b1, b2, eps, stepSize, bc2Sqrt, clip);
        job.chunks(n, decayedCount, decayedChunks);
        try {
            par.forRange(decayedChunks + plainChunks, 1, job);
        } finally {
            job.clear();
        }
    }

    private static final ThreadLocal<AdamWJob> ADAMW_JOBS = ThreadLocal.withInitial(AdamWJob::new);

    /**
     * One AdamW call's parallel body, reused by the calling thread rather than a capturing lambda, so the
     * training step's update leaves no garbage behind. Its range is elements ({@link #adamw}) or chunks of
     * {@link #ADAMW_GRAIN} elements that never straddle the decay boundary ({@link #adamwFlat}).
     */
    private static final class AdamWJob implements Parallel.RangeBody {
        private MemorySegment ps, gs, ms, vs;
        private float decay, b1, b2, eps, stepSize, bc2Sqrt, clip;
        private boolean chunked;
        private long n, decayedCount, decayedChunks;

        void set(MemorySegment ps, MemorySegment gs, MemorySegment ms, MemorySegment vs, float decay, float b1,
                 float b2, float eps, float stepSize, float bc2Sqrt, float clip) {
            this.ps = ps;
            this.gs = gs;
            this.ms = ms;
            this.vs = vs;
            this.decay = decay;
            this.b1 = b1;
            this.b2 = b2;
            this.eps = eps;
            this.stepSize = stepSize;
            this.bc2Sqrt = bc2Sqrt;
            this.clip = clip;
        }

        /** The range is element indices, all with {@code decay}. */
        void elements() {
            chunked = false;
        }

        /** The range is chunk indices: the first {@code decayedChunks} cover {@code [0, decayedCount)}. */
        void chunks(long n, long decayedCount, long decayedChunks) {
            chunked = true;
            this.n = n;
            this.decayedCount = decayedCount;
            this.decayedChunks = decayedChunks;
        }

        /** Drops the segments: a closed arena's memory must not stay reachable. */
        void clear() {
            ps = gs = ms = vs = null;
        }

        @Override
        public void run(long from, long to) {
            if (!chunked) {
                adamwRange(ps, gs, ms, vs, from, to, decay, b1, b2, eps, stepSize, bc2Sqrt, clip);
                return;
            }
            for (long c = from; c < to; c++) {
                boolean decayed = c < decayedChunks;
                long start = decayed ? c * ADAMW_GRAIN : decayedCount + (c - decayedChunks) * ADAMW_GRAIN;
                long end = Math.min(decayed ? decayedCount : n, start + ADAMW_GRAIN);
                adamwRange(ps, gs, ms, vs, start, end, decayed ? decay : 1f, b1, b2, eps, stepSize, bc2Sqrt, clip);
            }
        }
    }

    /** The update on {@code [start, end)}, reading the gradient as {@code g * clip} (exact when clip is 1). */
    private static void adamwRange(MemorySegment ps, MemorySegment gs, MemorySegment ms, MemorySegment vs,
                                   long start, long end, float decay, float b1, float b2, float eps,
                                   float stepSize, float bc2Sqrt, float clip) {
        float c1 = 1 - b1, c2 = 1 - b2;
        long i = start;
        for (long upper = start + S.loopBound(end - start); i < upper; i += S.length()) {
            long off = i * 4;
            FloatVector g = FloatVector.fromMemorySegment(S, gs, off, NATIVE).mul(clip);
            FloatVector mv = FloatVector.fromMemorySegment(S, ms, off, NATIVE).mul(b1).add(g.mul(c1));
            FloatVector vv = FloatVector.fromMemorySegment(S, vs, off, NATIVE).mul(b2).add(g.mul(g).mul(c2));
            FloatVector denom = vv.sqrt().div(bc2Sqrt).add(eps);
            FloatVector p = FloatVector.fromMemorySegment(S, ps, off, NATIVE).mul(decay);
            p = p.sub(mv.div(denom).mul(stepSize));
            mv.intoMemorySegment(ms, off, NATIVE);
            vv.intoMemorySegment(vs, off, NATIVE);
            p.intoMemorySegment(ps, off, NATIVE);
        }
        for (; i < end; i++) {
            float g = gs.getAtIndex(F, i) * clip;
            float mi = ms.getAtIndex(F, i) * b1 + g * c1;
            float vi = vs.getAtIndex(F, i) * b2 + g * g * c2;
            float denom = (float) Math.sqrt(vi) / bc2Sqrt + eps;
            float p = ps.getAtIndex(F, i) * decay - mi / denom * stepSize;
            ms.setAtIndex(F, i, mi);
            vs.setAtIndex(F, i, vi);
            ps.setAtIndex(F, i, p);
        }
    }

    /** sum of x[i]^2 for i in [from, to), float lanes within spans of {@link #SPAN}, double across them. */
    private static double sumOfSquares(MemorySegment x, long from, long to) {
        double total = 0;
        long i = from;
        while (to - i >= S.length()) {
            long spanEnd = Math.min(to, i + SPAN);
            FloatVector acc = FloatVector.zero(S);
            for (long upper = i + S.loopBound(spanEnd - i); i < upper; i += S.length()) {
                FloatVector v = FloatVector.fromMemorySegment(S, x, i * 4, NATIVE);
                acc = v.fma(v, acc);
            }
            total += CpuElementwise.sumLanes(acc); // fixed order: see CpuElementwise.sumLanes
        }
        for (; i < to; i++) {
            double v = x.getAtIndex(F, i);
            total += v * v;
        }
        return total;
    }
}
