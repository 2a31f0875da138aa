package io.leviathan.backend.cpu;

import io.leviathan.backend.AttentionChecks;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The key/value cache of inference: appending new positions to a {@code [B, H, capacity, Dh]} cache, and
 * attention of new query rows against it.
 *
 * <p><b>Same bits as full attention.</b> {@link CpuAttention} computes a query row from its tiles of
 * {@link CpuAttention#TILE} keys, aligned at absolute positions: one fma chain over {@code Dh} per score,
 * the online softmax of {@link CpuAttention#onlineSoftmaxRow} per tile, and one fma chain over the tile's
 * keys per output lane. The decode kernel walks the same tiles of the same row in the same order with the
 * same per-lane chains, one query row at a time, so a cached forward reproduces the full forward's output
 * bit for bit, whatever the number of rows in either call (the tiled kernel's rows never mix).
 *
 * <p><b>Work and memory.</b> One (batch, head) pair is one unit of parallel work. A worker packs its pair's
 * cached keys into transposed tiles ({@code [tiles][Dh][TILE]}, so L consecutive keys are one vector load) and
 * its values into rows padded to whole vectors, zero beyond the cached length, in per-thread arrays sized
 * for the cache's capacity: they are allocated on the first call and reused by every later one, and the
 * job object that carries a call's arguments to the workers is reused too, so a decode step allocates no
 * buffer (only the few small objects of its argument checks and memory views).
 */
final class CpuKvCache {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final int TILE = CpuAttention.TILE;
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);
    private static final ThreadLocal<DecodeJob> JOBS = ThreadLocal.withInitial(DecodeJob::new);

    private CpuKvCache() {}

    /** {@code kCache[b, h, start + t] = k[b, t, h]} and likewise v, for {@code t < n}: one row copy each. */
    static void append(Tensor k, Tensor v, Tensor kCache, Tensor vCache, int start) {
        DType type = AttentionChecks.kvCacheAppend(k, v, kCache, vCache, start);
        int batch = (int) k.size(0), n = (int) k.size(1), heads = (int) k.size(2), dh = (int) k.size(3);
        long capacity = kCache.size(2);
        long rowBytes = (long) dh * type.byteSize();
        MemorySegment ks = k.segment(CpuMemory.KEY), vs = v.segment(CpuMemory.KEY);
        MemorySegment kc = kCache.segment(CpuMemory.KEY), vc = vCache.segment(CpuMemory.KEY);
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < n; t++) {
                for (int h = 0; h < heads; h++) {
                    long from = (((long) b * n + t) * heads + h) * rowBytes;
                    long to = (((long) b * heads + h) * capacity + start + t) * rowBytes;
                    MemorySegment.copy(ks, from, kc, to, rowBytes);
                    MemorySegment.copy(vs, from, vc, to, rowBytes);
                }
            }
        }
    }

    /** Query rows at positions {@code [start, start + n)} against cached positions {@code [0, start + n)}. */
    static void attentionDecode(Parallel par, Tensor q, Tensor kCache, Tensor vCache, int start, Tensor out) {
        DType type = AttentionChecks.attentionDecode(q, kCache, vCache, start, out);
        DecodeJob job = JOBS.get();
        job.qs = q.segment(CpuMemory.KEY);
        job.ks = kCache.segment(CpuMemory.KEY);
        job.vs = vCache.segment(CpuMemory.KEY);
        job.os = out.segment(CpuMemory.KEY);
        job.bf16 = type == DType.BF16;
        job.n = (int) q.size(1);
        job.heads = (int) q.size(2);
        job.dh = (int) q.size(3);
        job.capacity = (int) kCache.size(2);
        job.start = start;
        job.scale = (float) (1.0 / Math.sqrt(job.dh));
        try {
            par.forRange(q.size(0) * job.heads, 1, job);
        } finally {
            job.qs = job.ks = job.vs = job.os = null; // keep no closed arena's memory reachable
        }
    }

    /** One call's arguments; the workers run {@link #run} over ranges of (batch, head) pairs. */
    private static final class DecodeJob implements Parallel.RangeBody {
        MemorySegment qs, ks, vs, os;
        boolean bf16;
        int n, heads, dh, capacity, start;
        float scale;

        @Override
        public void run(long from, long to) {
            Workspace w = WORKSPACE.get().fit(capacity, dh);
            int len = start + n;
            for (long bh = from; bh < to; bh++) {
                int b = (int) (bh / heads), h = (int) (bh % heads);
                packCache(w, bh * capacity * dh, len);
                for (int t = 0; t < n; t++) {
                    long row = (((long) b * n + t) * heads + h) * dh;
                    for (int x = 0; x < dh; x++) {
                        w.q[x] = get(qs, row + x);
                    }
                    decodeRow(w, start + t);
                    double sum = CpuElementwise.sumLanes(FloatVector.fromArray(S, w.rowSums, 0));
                    CpuAttention.storeRow(w.o, 0, (float) (1.0 / sum), os, row, dh, bf16);
                }
            }
        }

        /**
         * Keys {@code [0, len)} of one head (from element {@code base} of the caches) into {@code w.kT}, values
         * into {@code w.v}; zero up to the next whole tile, as the tiled kernel's padding.
         */
        private void packCache(Workspace w, long base, int len) {
            int lenP = (len + TILE - 1) / TILE * TILE;
            for (int j = 0; j < lenP; j++) {
                int tile = (j / TILE) * dh * TILE + j % TILE;
                int vRow = j * w.dhP;
                if (j < len) {
                    long at = base + (long) j * dh;
                    for (int x = 0; x < dh; x++) {
                        w.kT[tile + x * TILE] = get(ks, at + x);
                        w.v[vRow + x] = get(vs, at + x);
                    }
                } else {
                    for (int x = 0; x < dh; x++) {
                        w.kT[tile + x * TILE] = 0f;
                    }
                    Arrays.fill(w.v, vRow, vRow + dh, 0f);
                }
                Arrays.fill(w.v, vRow + dh, vRow + w.dhP, 0f);
            }
        }

        /**
         * The query in {@code w.q} at position {@code pos}, over the key tiles up to its own (the last one
         * masked past {@code pos}), leaving the unnormalised output in {@code w.o} and the lane sums of the
         * exponentials in {@code w.rowSums}: {@code CpuAttention.forwardQueryTile} for one row.
         */
        private void decodeRow(Workspace w, int pos) {
            w.rowMax[0] = Float.NEGATIVE_INFINITY;
            Arrays.fill(w.rowSums, 0f);
            Arrays.fill(w.o, 0f);
            int qt = pos / TILE * TILE;
            for (int kt = 0; kt <= qt; kt += TILE) {
                int visible = kt < qt ? TILE : pos - qt + 1;
                scores(w, kt, visible);
                float alpha = CpuAttention.onlineSoftmaxRow(w.s, 0, visible, scale, w.rowMax, w.rowSums, 0);
                CpuAttention.scaleRow(w.o, 0, w.dhP, alpha);
                addValues(w, kt);
            }
        }

        /** {@code s[c] = q . k[kt + c]} (unscaled) for the vectors of keys holding the first {@code visible}. */
        private void scores(Workspace w, int kt, int visible) {
            int base = kt * dh;
            for (int c = 0; c < visible; c += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int x = 0, at = base + c; x < dh; x++, at += TILE) {
                    acc = FloatVector.fromArray(S, w.kT, at).fma(FloatVector.broadcast(S, w.q[x]), acc);
                }
                acc.intoArray(w.s, c);
            }
        }

        /** {@code o += sum_x p[x] v[kt + x]} over the whole tile (p is 0 where masked), one chain per lane. */
        private void addValues(Workspace w, int kt) {
            for (int j = 0; j < w.dhP; j += L) {
                FloatVector acc = FloatVector.fromArray(S, w.o, j);
                for (int x = 0, at = kt * w.dhP + j; x < TILE; x++, at += w.dhP) {
                    acc = FloatVector.fromArray(S, w.v, at).fma(FloatVector.broadcast(S, w.s[x]), acc);
                }
                acc.intoArray(w.o, j);
            }
        }

        private float get(MemorySegment m, long index) {
            return bf16 ? Bf16.toFloat(m.getAtIndex(BF16, index)) : m.getAtIndex(F32, index);
        }
    }

    /** One worker's arrays, sized for a cache's capacity and head size; they only grow. */
    private static final class Workspace {
        float[] kT = new float[0], v = kT, q = kT, o = kT;
        final float[] s = new float[TILE];
        final float[] rowMax = new float[1];
        final float[] rowSums = new float[L];
        int dhP;

        Workspace fit(int capacity, int dh) {
            dhP = (Math.max(dh, 1) + L - 1) / L * L;
            int rows = (capacity + TILE - 1) / TILE * TILE;
            if (kT.length < rows * dh) {
                kT = new float[rows * dh];
            }
            if (v.length < rows * dhP) {
                v = new float[rows * dhP];
            }
            if (q.length < dhP) {
                q = new float[dhP];
            }
            if (o.length != dhP) {
                o = new float[dhP];
            }
            return this;
        }
    }
}
