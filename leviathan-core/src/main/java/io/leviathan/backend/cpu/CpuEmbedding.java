package io.leviathan.backend.cpu;

import io.leviathan.backend.EmbeddingChecks;
import io.leviathan.backend.KernelDataException;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Token embedding: a gather of table rows by id, and its backward, a scatter-add of gradient rows. The
 * backward splits the table's columns between workers, so two tokens with the same id (which add into the
 * same row) are always handled by one worker, in token order.
 */
final class CpuEmbedding {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    /** Roughly the elements one parallel chunk should move, so small calls stay on the calling thread. */
    private static final long GRAIN_ELEMENTS = 1 << 15;

    private CpuEmbedding() {}

    /** out[i, :] = table[ids[i], :] for every position i of ids. */
    static void embedding(Parallel par, Tensor ids, Tensor table, Tensor out) {
        String op = "embedding";
        EmbeddingChecks.embedding(ids, table, out);
        long n = ids.numel();
        int V = (int) table.size(0), D = (int) table.size(1);
        MemorySegment is = ids.segment(CpuMemory.KEY), ts = table.segment(CpuMemory.KEY), os = out.segment(CpuMemory.KEY);
        checkIds(op, is, n, V);
        EmbeddingJob job = JOBS.get();
        job.set(true, is, ts, os, n, D);
        try {
            par.forRange(n, Math.max(1, GRAIN_ELEMENTS / Math.max(D, 1)), job);
        } finally {
            job.set(true, null, null, null, 0, 0); // a closed arena's memory must not stay reachable
        }
    }

    /** Backward of {@link #embedding}: dTable[ids[i], :] += dOut[i, :], repeated ids accumulating. */
    static void embeddingBackward(Parallel par, Tensor dOut, Tensor ids, Tensor dTable) {
        String op = "embeddingBackward";
        EmbeddingChecks.embeddingBackward(dOut, ids, dTable);
        long n = ids.numel();
        int V = (int) dTable.size(0), D = (int) dTable.size(1);
        MemorySegment is = ids.segment(CpuMemory.KEY), ds = dOut.segment(CpuMemory.KEY), ts = dTable.segment(CpuMemory.KEY);
        checkIds(op, is, n, V);
        // Workers own column blocks of one vector width; each walks every token over its own columns.
        int L = S.length();
        long blocks = (D + L - 1) / L;
        long grain = Math.max(1, GRAIN_ELEMENTS / Math.max(1, n * L));
        EmbeddingJob job = JOBS.get();
        job.set(false, is, ds, ts, n, D);
        try {
            par.forRange(blocks, grain, job);
        } finally {
            job.set(false, null, null, null, 0, 0);
        }
    }

    private static final ThreadLocal<EmbeddingJob> JOBS = ThreadLocal.withInitial(EmbeddingJob::new);

    /**
     * One embedding call: rows {@code [start, end)} of the lookup, or column blocks of the backward's
     * scatter-add. A job object reused by the calling thread rather than a capturing lambda, so the
     * training step's embedding leaves no garbage behind.
     */
    private static final class EmbeddingJob implements Parallel.RangeBody {
        private boolean forward;
        /** ids; forward: table and out; backward: dOut and dTable. */
        private MemorySegment is, src, dst;
        private long n;
        private int D;

        void set(boolean forward, MemorySegment is, MemorySegment src, MemorySegment dst, long n, int D) {
            this.forward = forward;
            this.is = is;
            this.src = src;
            this.dst = dst;
            this.n = n;
            this.D = D;
        }

        @Override
        public void run(long start, long end) {
            if (forward) {
                long bytes = (long) D * 4;
                for (long i = start; i < end; i++) {
                    long id = is.getAtIndex(I, i);
                    MemorySegment.copy(src, id * bytes, dst, i * bytes, bytes);
                }
            } else {
                int L = S.length();
                int c0 = (int) (start * L), c1 = (int) Math.min(end * L, D);
                for (long i = 0; i < n; i++) {
                    long id = is.getAtIndex(I, i);
                    addRow(src, i * D + c0, dst, id * D + c0, c1 - c0);
                }
            }
        }
    }

    /** Throws for the first id outside [0, V), naming it, its flat position and V. */
    private static void checkIds(String op, MemorySegment ids, long n, int V) {
        for (long i = 0; i < n; i++) {
            int id = ids.getAtIndex(I, i);
            if (id < 0 || id >= V) {
                throw new KernelDataException(op + ": id " + id + " at position " + i
                        + " (flat index into ids) is outside [0, " + V + ") for a table of " + V + " rows");
            }
        }
    }

    /** y[yOff + i] += x[xOff + i] for i < n (element offsets). */
    private static void addRow(MemorySegment x, long xOff, MemorySegment y, long yOff, int n) {
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector xv = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, NATIVE);
            FloatVector yv = FloatVector.fromMemorySegment(S, y, (yOff + i) * 4, NATIVE);
            yv.add(xv).intoMemorySegment(y, (yOff + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            y.setAtIndex(F, yOff + i, y.getAtIndex(F, yOff + i) + x.getAtIndex(F, xOff + i));
        }
    }
}
