package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuAttentionTiles.product;

import io.leviathan.backend.AttentionChecks;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Causal multi-head scaled-dot-product attention over {@code [B, T, H, Dh]} tensors (head {@code h} of token
 * {@code t} is the contiguous {@code Dh}-slice at {@code (b, t, h)}), computed flash-attention style: the
 * {@code [T, T]} scores never exist. The forward saves only {@code lse [B, H, T]}, each query row's
 * {@code log sum_j exp(s_ij)}; the backward recomputes the probabilities from it.
 *
 * <p><b>Work and memory.</b> One (batch, head) pair is one unit of parallel work and owns every output slice
 * it writes (out, lse, dQ, dK, dV), so workers never race. A worker first copies its pair's inputs into its
 * own float arrays (BF16 widened to F32), in the layouts the loops want:
 * <ul>
 *   <li>rows {@code [Tp][DhP]}: token after token, each row padded with zeros to {@code DhP} (a multiple of
 *       the vector length L), and {@code Tp = T} rounded up to a multiple of {@link #TILE} with zero rows;</li>
 *   <li>transposed tiles {@code [Tp / TILE][Dh][TILE]}: each tile of {@code TILE} keys as a contiguous
 *       {@code [Dh][TILE]} block, so a vector of L consecutive keys is one load.</li>
 * </ul>
 * Then it walks {@code TILE x TILE} tiles of (query, key) pairs on or below the causal diagonal; tiles above
 * it are skipped. Every product of two tiles is one small kernel, {@link CpuAttentionTiles#product}, that
 * broadcasts one operand and multiplies vectors of the other, so no lane sums are needed. The arrays are per
 * worker thread, {@code O(T * Dh)}, allocated the first time a shape needs them and reused.
 *
 * <p><b>Forward</b>, per query tile (rows {@code i}), over key tiles {@code j <= i} with an online softmax:
 * <pre>
 *   S = Q_i K_j^T / sqrt(Dh), masked where key > query
 *   m_new = max(m, rowmax S);  alpha = exp(m - m_new);  P = exp(S - m_new)
 *   l = alpha l + rowsum P;    O = alpha O + P V_j;      m = m_new
 * </pre>
 * and at the end {@code out = O / l}, {@code lse = m + log l}.
 *
 * <p><b>Backward</b> (flash-attention 2), per key tile {@code j}, over query tiles {@code i >= j}:
 * <pre>
 *   D = rowsum(dOut * out)                       (once per row, before the loop)
 *   P = exp(S - lse);  dP = dOut_i V_j^T;  dS = P * (dP - D)
 *   dV_j += P^T dOut_i;  dK_j += dS^T Q_i / sqrt(Dh);  dQ_i += dS K_j / sqrt(Dh)
 * </pre>
 * dK_j and dV_j are summed over i in the worker's arrays and added to the gradients once (or written over
 * them, when the caller does not accumulate); dQ is summed over j in an array for the whole head and added (or
 * written) at the end.
 *
 * <p><b>Determinism.</b> Exponentials use {@link CpuActivations#expOf} (add, multiply and fma only), each
 * output lane of {@link CpuAttentionTiles#product} is one fma chain in a fixed order, row sums add lanes in
 * lane order, and a (batch, head) pair is computed the same way whichever worker takes it. So the results are
 * bit for bit the same for any thread count and any JIT state.
 */
final class CpuAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * Queries per query tile and keys per key tile. A multiple of L (a tile row is whole vectors) and of 4
     * (the row block of {@link CpuAttentionTiles#product}).
     */
    static final int TILE = Math.max(64, L);

    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    /** Per-worker arrays, reused across calls; they only grow. */
    private static final ThreadLocal<Workspace> WORKSPACE = ThreadLocal.withInitial(Workspace::new);

    private CpuAttention() {}

    // ---------------------------------------------------------------- forward

    /**
     * {@code out[b,t,h] = sum_{s<=t} softmax_s(q[b,t,h] . k[b,s,h] / sqrt(Dh)) v[b,s,h]} and
     * {@code lse[b,h,t] = log sum_{s<=t} exp(q[b,t,h] . k[b,s,h] / sqrt(Dh))}.
     */
    static void attention(Parallel par, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        DType type = AttentionChecks.attention(q, k, v, out, lse);
        int B = (int) q.size(0), T = (int) q.size(1), H = (int) q.size(2), Dh = (int) q.size(3);
        AttentionJob job = AttentionJob.claim();
        job.forward = true;
        job.qs = q.segment(CpuMemory.KEY);
        job.ks = k.segment(CpuMemory.KEY);
        job.vs = v.segment(CpuMemory.KEY);
        job.os = out.segment(CpuMemory.KEY);
        job.ls = lse.segment(CpuMemory.KEY);
        job.bf16 = type == DType.BF16;
        job.dims = job.dims(T, H, Dh);
        job.scale = (float) (1.0 / Math.sqrt(Dh));
        job.dispatch(par, (long) B * H);
    }

    /** The forward's (batch, head) pairs {@code [start, end)}. */
    private static void forwardHeads(AttentionJob j, long start, long end) {
        MemorySegment qs = j.qs, ks = j.ks, vs = j.vs, os = j.os, ls = j.ls;
        boolean bf16 = j.bf16;
        Dims dims = j.dims;
        float scale = j.scale;
        int T = dims.T(), H = dims.H(), Dh = dims.Dh();
        Workspace w = WORKSPACE.get().forForward(dims);
        for (long bh = start; bh < end; bh++) {
            int b = (int) (bh / H), h = (int) (bh % H);
            packRows(qs, bf16, b, h, dims, w.q);
            packRows(ks, bf16, b, h, dims, w.k);
            packRows(vs, bf16, b, h, dims, w.v);
            transposeTiles(w.k, dims, w.kT);
            for (int qt = 0; qt < dims.Tp; qt += TILE) {
                forwardQueryTile(w, qt, dims, scale);
                for (int r = 0; r < TILE && qt + r < T; r++) {
                    int t = qt + r;
                    double sum = CpuElementwise.sumLanes(FloatVector.fromArray(S, w.rowSums, r * L));
                    storeRow(w.o, r * dims.DhP, (float) (1.0 / sum), os, dims.row(b, t, h), Dh, bf16);
                    ls.setAtIndex(F32, bh * T + t, w.rowMax[r] + (float) StrictMath.log(sum));
                }
            }
        }
    }

    /**
     * Runs query tile {@code qt} over every key tile on or below the diagonal: leaves the unnormalised output
     * in {@code w.o}, each row's running maximum in {@code w.rowMax} and its sum of exponentials in
     * {@code w.rowSums}, lane by lane (the lanes are added once, at the end).
     */
    private static void forwardQueryTile(Workspace w, int qt, Dims d, float scale) {
        Arrays.fill(w.rowMax, Float.NEGATIVE_INFINITY);
        Arrays.fill(w.rowSums, 0f);
        Arrays.fill(w.o, 0, TILE * d.DhP, 0f);
        for (int kt = 0; kt <= qt; kt += TILE) {
            // S = Q K^T over this pair of tiles (unscaled dot products)
            product(w.q, qt * d.DhP, d.DhP, false, w.kT, kt * d.Dh, TILE, w.s, 0, TILE, TILE, d.Dh, TILE, false);
            onlineSoftmaxTile(w, kt == qt, scale, d.DhP); // on the diagonal tile, row r sees keys 0..r
            // O += P V
            product(w.s, 0, TILE, false, w.v, kt * d.DhP, d.DhP, w.o, 0, d.DhP, TILE, TILE, d.DhP, true);
        }
    }

    /**
     * Takes row {@code r} of a score tile ({@code s[off, off + TILE)}, unscaled, of which the first
     * {@code visible} are not masked) through one step of the online softmax: replaces it with
     * {@code exp(score * scale - m_new)} (0 where masked), updates {@code rowMax[r]} and the row's lane sums
     * {@code rowSums[r * L, (r + 1) * L)}, and returns {@code alpha = exp(m_old - m_new)}, the factor the
     * row's output so far must be scaled by.
     */
    static float onlineSoftmaxRow(float[] s, int off, int visible, float scale, float[] rowMax,
                                          float[] rowSums, int r) {
        // (a local broadcast, not a static FloatVector: C2 boxes a loop value that starts as a constant object)
        FloatVector maxV = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < visible; c += L) {
            maxV = maxV.max(visibleScores(s, off, c, visible, scale));
        }
        float mOld = rowMax[r];
        float mNew = Math.max(mOld, maxV.reduceLanes(VectorOperators.MAX)); // max is exact in any order
        FloatVector m = FloatVector.broadcast(S, mNew);
        FloatVector sum = FloatVector.zero(S);
        int c = 0;
        for (; c < visible; c += L) {
            FloatVector p = CpuActivations.expOf(visibleScores(s, off, c, visible, scale).sub(m)); // masked: 0
            p.intoArray(s, off + c);
            sum = sum.add(p);
        }
        Arrays.fill(s, off + c, off + TILE, 0f);
        float alpha = CpuActivations.expOf(mOld - mNew); // 0 on the first tile, where mOld = -inf
        FloatVector.fromArray(S, rowSums, r * L).mul(alpha).add(sum).intoArray(rowSums, r * L);
        rowMax[r] = mNew;
        return alpha;
    }

    /**
     * {@link #onlineSoftmaxRow} for every row of the score tile {@code w.s}, each row's output in {@code w.o}
     * scaled by its {@code alpha} ({@link #scaleRow}); on the {@code diagonal} tile row {@code r} sees keys
     * {@code 0..r}. The same values bit for bit, with the per-row scalar work done {@code L} rows at a time:
     * the rows' maxima across lanes by {@link CpuLaneReductions#laneMaxes} (max is exact in any order) and
     * {@code alpha = exp(m_old - m_new)} as one vector {@link CpuActivations#expOf}, the scalar one's twin.
     * Vectors never cross a call here (each step is a void method on arrays): a call C2 does not inline
     * would box them.
     */
    private static void onlineSoftmaxTile(Workspace w, boolean diagonal, float scale, int dhP) {
        for (int r = 0; r < TILE; r++) {
            rowLaneMaxima(w.s, r * TILE, diagonal ? r + 1 : TILE, scale, w.maxes, r * L);
        }
        for (int r0 = 0; r0 < TILE; r0 += L) {
            CpuLaneReductions.laneMaxes(w.maxes, r0 * L, w.tileMax, r0);
            newMaxima(w.rowMax, w.tileMax, w.alpha, r0);
        }
        for (int r = 0; r < TILE; r++) {
            exponentiateRow(w.s, r * TILE, diagonal ? r + 1 : TILE, scale, w.rowMax[r], w.alpha[r], w.rowSums, r * L);
            scaleRow(w.o, r * dhP, dhP, w.alpha[r]);
        }
    }

    /** {@code maxes[at, at + L)} = the lane-wise maximum of the row's visible scaled scores (-inf elsewhere). */
    private static void rowLaneMaxima(float[] s, int off, int visible, float scale, float[] maxes, int at) {
        FloatVector maxV = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int c = 0; c < visible; c += L) {
            maxV = maxV.max(visibleScores(s, off, c, visible, scale));
        }
        maxV.intoArray(maxes, at);
    }

    /** For rows {@code [r0, r0 + L)}: {@code m_new = max(m_old, tile max)}, {@code alpha = exp(m_old - m_new)}. */
    private static void newMaxima(float[] rowMax, float[] tileMax, float[] alpha, int r0) {
        FloatVector mOld = FloatVector.fromArray(S, rowMax, r0);
        FloatVector mNew = mOld.max(FloatVector.fromArray(S, tileMax, r0));
        CpuActivations.expOf(mOld.sub(mNew)).intoArray(alpha, r0); // 0 on the first tile, where m_old = -inf
        mNew.intoArray(rowMax, r0);
    }

    /**
     * Replaces the row's scores by {@code exp(score * scale - m)} (0 where masked and past {@code visible}) and
     * updates its lane sums {@code rowSums[at, at + L) = alpha * rowSums + the row's exponentials}.
     */
    private static void exponentiateRow(float[] s, int off, int visible, float scale, float m, float alpha,
                                        float[] rowSums, int at) {
        FloatVector mv = FloatVector.broadcast(S, m);
        FloatVector sum = FloatVector.zero(S);
        int c = 0;
        for (; c < visible; c += L) {
            // score - m <= 0 (m is the row's max of these very values), or -inf where masked
            FloatVector p = CpuActivations.expOfNonPositive(visibleScores(s, off, c, visible, scale).sub(mv));
            p.intoArray(s, off + c);
            sum = sum.add(p);
        }
        Arrays.fill(s, off + c, off + TILE, 0f);
        FloatVector.fromArray(S, rowSums, at).mul(alpha).add(sum).intoArray(rowSums, at);
    }

    /** {@code s[off + c + lane] * scale}, or -inf for the lanes at or past {@code visible}. */
    private static FloatVector visibleScores(float[] s, int off, int c, int visible, float scale) {
        FloatVector x = FloatVector.fromArray(S, s, off + c).mul(scale);
        return c + L <= visible ? x : FloatVector.broadcast(S, Float.NEGATIVE_INFINITY).blend(x, S.indexInRange(c, visible));
    }

    // ---------------------------------------------------------------- backward

    /**
     * Backward of {@link #attention} from its output {@code out} and {@code lse}: accumulates into dQ, dK
     * and dV, or with {@code accumulate} false writes them as if added to zeros (the same bits, without reading
     * or zeroing them first).
     */
    static void attentionBackward(Parallel par, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  Tensor dQ, Tensor dK, Tensor dV, boolean accumulate) {
        AttentionChecks.BackwardTypes types = AttentionChecks.attentionBackward(dOut, q, k, v, out, lse, dQ, dK, dV);
        DType type = types.type(), gradType = types.gradType();
        int B = (int) q.size(0), T = (int) q.size(1), H = (int) q.size(2), Dh = (int) q.size(3);
        AttentionJob job = AttentionJob.claim();
        job.forward = false;
        job.dos = dOut.segment(CpuMemory.KEY);
        job.qs = q.segment(CpuMemory.KEY);
        job.ks = k.segment(CpuMemory.KEY);
        job.vs = v.segment(CpuMemory.KEY);
        job.os = out.segment(CpuMemory.KEY);
        job.ls = lse.segment(CpuMemory.KEY);
        job.dqs = dQ.segment(CpuMemory.KEY);
        job.dks = dK.segment(CpuMemory.KEY);
        job.dvs = dV.segment(CpuMemory.KEY);
        job.bf16 = type == DType.BF16;
        job.gradBf16 = gradType == DType.BF16;
        job.accumulate = accumulate;
        job.dims = job.dims(T, H, Dh);
        job.scale = (float) (1.0 / Math.sqrt(Dh));
        job.dispatch(par, (long) B * H);
    }

    /** The backward's (batch, head) pairs {@code [start, end)}. */
    private static void backwardHeads(AttentionJob j, long start, long end) {
        MemorySegment dos = j.dos, qs = j.qs, ks = j.ks, vs = j.vs, os = j.os, ls = j.ls;
        MemorySegment dqs = j.dqs, dks = j.dks, dvs = j.dvs;
        boolean bf16 = j.bf16, gradBf16 = j.gradBf16, accumulate = j.accumulate;
        Dims dims = j.dims;
        float scale = j.scale;
        int T = dims.T(), H = dims.H(), Dh = dims.Dh();
        Workspace w = WORKSPACE.get().forBackward(dims);
        for (long bh = start; bh < end; bh++) {
            int b = (int) (bh / H), h = (int) (bh % H);
            packRows(qs, bf16, b, h, dims, w.q);
            packRows(ks, bf16, b, h, dims, w.k);
            packRows(vs, bf16, b, h, dims, w.v);
            packRows(dos, gradBf16, b, h, dims, w.dO);
            transposeTiles(w.k, dims, w.kT);
            transposeTiles(w.v, dims, w.vT);
            packRows(os, bf16, b, h, dims, w.dQ); // the output's rows, for D only: dQ is cleared next
            rowDots(w.dO, w.dQ, dims, w.delta);
            for (int t = 0; t < dims.Tp; t++) { // padding rows get lse = D = 0, and P = 0 below
                w.lse[t] = t < T ? ls.getAtIndex(F32, bh * T + t) : 0f;
            }
            Arrays.fill(w.dQ, 0, dims.Tp * dims.DhP, 0f);
            for (int kt = 0; kt < dims.Tp; kt += TILE) {
                Arrays.fill(w.dK, 0, TILE * dims.DhP, 0f);
                Arrays.fill(w.dV, 0, TILE * dims.DhP, 0f);
                for (int qt = kt; qt < dims.Tp; qt += TILE) {
                    backwardTilePair(w, qt, kt, dims, scale);
                }
                for (int r = 0; r < TILE && kt + r < T; r++) {
                    addRow(w.dK, r * dims.DhP, scale, dks, dims.row(b, kt + r, h), Dh, accumulate);
                    addRow(w.dV, r * dims.DhP, 1f, dvs, dims.row(b, kt + r, h), Dh, accumulate);
                }
            }
            for (int t = 0; t < T; t++) {
                addRow(w.dQ, t * dims.DhP, scale, dqs, dims.row(b, t, h), Dh, accumulate);
            }
        }
    }

    /**
     * The arguments of one attention call, forward or backward, in an object the calling thread reuses
     * rather than a capturing lambda, so the training step's attention leaves no garbage behind.
     */
    private static final class AttentionJob implements Parallel.RangeBody {
        private static final ThreadLocal<AttentionJob> JOBS = ThreadLocal.withInitial(AttentionJob::new);

        boolean forward, bf16, gradBf16, accumulate;
        MemorySegment qs, ks, vs, os, ls, dos, dqs, dks, dvs;
        Dims dims;
        float scale;

        static AttentionJob claim() {
            return JOBS.get();
        }

        /** The last call's dims when the sizes match (the usual case: every layer has the same), else new ones. */
        Dims dims(int T, int H, int Dh) {
            Dims d = dims;
            return d != null && d.T() == T && d.H() == H && d.Dh() == Dh ? d : new Dims(T, H, Dh);
        }

        void dispatch(Parallel par, long heads) {
            try {
                par.forRange(heads, 1, this);
            } finally {
                qs = ks = vs = os = ls = dos = dqs = dks = dvs = null; // a closed arena's memory must not stay reachable
            }
        }

        @Override
        public void run(long start, long end) {
            if (forward) {
                forwardHeads(this, start, end);
            } else {
                backwardHeads(this, start, end);
            }
        }
    }

    /**
     * One (query tile {@code qt}, key tile {@code kt}) pair of the backward: adds {@code P^T dOut} to
     * {@code w.dV}, {@code dS^T Q} to {@code w.dK} and {@code dS K} to {@code w.dQ}'s rows of this query tile
     * (dK and dQ are scaled by {@code 1/sqrt(Dh)} when they are added to the gradients).
     */
    private static void backwardTilePair(Workspace w, int qt, int kt, Dims d, float scale) {
        // S = Q K^T into p, dP = dOut V^T into s (both unscaled dot products)
        product(w.q, qt * d.DhP, d.DhP, false, w.kT, kt * d.Dh, TILE, w.p, 0, TILE, TILE, d.Dh, TILE, false);
        product(w.dO, qt * d.DhP, d.DhP, false, w.vT, kt * d.Dh, TILE, w.s, 0, TILE, TILE, d.Dh, TILE, false);
        for (int r = 0; r < TILE; r++) {
            int t = qt + r;
            int visible = t >= d.T ? 0 : kt < qt ? TILE : r + 1;
            probabilitiesRow(w.p, r * TILE, visible, scale, w.lse[t]);
            scoreGradientRow(w.p, w.s, r * TILE, w.delta[t]);
        }
        // dV += P^T dOut;  dK += dS^T Q;  dQ += dS K
        product(w.p, 0, TILE, true, w.dO, qt * d.DhP, d.DhP, w.dV, 0, d.DhP, TILE, TILE, d.DhP, true);
        product(w.s, 0, TILE, true, w.q, qt * d.DhP, d.DhP, w.dK, 0, d.DhP, TILE, TILE, d.DhP, true);
        product(w.s, 0, TILE, false, w.k, kt * d.DhP, d.DhP, w.dQ, qt * d.DhP, d.DhP, TILE, TILE, d.DhP, true);
    }

    /**
     * {@code p[off + c] = exp(p[off + c] * scale - lse)} for {@code c < visible}, 0 for the rest of the row. The
     * exponent is never positive: the scores are the forward's bit for bit, and {@code lse} is their maximum
     * plus the log of a sum that holds {@code exp(0) = 1}, so {@link CpuActivations#expOfNonPositive} gives
     * {@link CpuActivations#expOf}'s bits with two operations fewer.
     */
    private static void probabilitiesRow(float[] p, int off, int visible, float scale, float lse) {
        FloatVector l = FloatVector.broadcast(S, lse);
        int c = 0;
        for (; c < visible; c += L) {
            CpuActivations.expOfNonPositive(visibleScores(p, off, c, visible, scale).sub(l)).intoArray(p, off + c);
        }
        Arrays.fill(p, off + c, off + TILE, 0f);
    }

    /** {@code ds[off + c] = p[off + c] * (ds[off + c] - delta)}: the score gradient from dP (held in ds). */
    private static void scoreGradientRow(float[] p, float[] ds, int off, float delta) {
        FloatVector dv = FloatVector.broadcast(S, delta);
        for (int c = 0; c < TILE; c += L) {
            FloatVector dp = FloatVector.fromArray(S, ds, off + c);
            FloatVector.fromArray(S, p, off + c).mul(dp.sub(dv)).intoArray(ds, off + c);
        }
    }

    // ---------------------------------------------------------------- packing and row helpers

    /**
     * Copies head {@code h} of batch {@code b} of a {@code [B, T, H, Dh]} tensor into {@code rows}
     * ({@code [Tp][DhP]}, F32), zero in the padding. (Conversions here and in {@link #storeRow} are
     * {@code O(T * Dh)} per head against {@code O(T^2 * Dh)} of arithmetic, so they stay scalar.)
     */
    private static void packRows(MemorySegment x, boolean bf16, int b, int h, Dims d, float[] rows) {
        for (int t = 0; t < d.T; t++) {
            int to = t * d.DhP;
            long from = d.row(b, t, h);
            if (bf16) {
                for (int i = 0; i < d.Dh; i++) {
                    rows[to + i] = Bf16.toFloat(x.getAtIndex(BF16, from + i));
                }
            } else {
                MemorySegment.copy(x, F32, from * 4, rows, to, d.Dh);
            }
            Arrays.fill(rows, to + d.Dh, to + d.DhP, 0f);
        }
        Arrays.fill(rows, d.T * d.DhP, d.Tp * d.DhP, 0f);
    }

    /** {@code tiles[t / TILE][i][t % TILE] = rows[t][i]} for {@code t < Tp}, {@code i < Dh}. */
    private static void transposeTiles(float[] rows, Dims d, float[] tiles) {
        for (int t = 0; t < d.Tp; t++) {
            int tile = (t / TILE) * d.Dh * TILE + t % TILE;
            for (int i = 0; i < d.Dh; i++) {
                tiles[tile + i * TILE] = rows[t * d.DhP + i];
            }
        }
    }

    /** {@code dst[at + i] = src[off + i] * factor} for {@code i < n}, rounded to nearest even when BF16. */
    static void storeRow(float[] src, int off, float factor, MemorySegment dst, long at, int n, boolean bf16) {
        if (bf16) {
            for (int i = 0; i < n; i++) {
                dst.setAtIndex(BF16, at + i, Bf16.fromFloat(src[off + i] * factor));
            }
            return;
        }
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector.fromArray(S, src, off + i).mul(factor).intoMemorySegment(dst, (at + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            dst.setAtIndex(F32, at + i, src[off + i] * factor);
        }
    }

    /**
     * {@code dst[at + i] += src[off + i] * factor} for {@code i < n} (dst F32), or when not {@code accumulate} the
     * same fma with +0 in place of {@code dst} (so -0 comes out +0, as after zeroing).
     */
    private static void addRow(float[] src, int off, float factor, MemorySegment dst, long at, int n,
                               boolean accumulate) {
        FloatVector f = FloatVector.broadcast(S, factor);
        FloatVector zero = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += L) {
            FloatVector g = accumulate ? FloatVector.fromMemorySegment(S, dst, (at + i) * 4, NATIVE) : zero;
            FloatVector.fromArray(S, src, off + i).fma(f, g).intoMemorySegment(dst, (at + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            float g = accumulate ? dst.getAtIndex(F32, at + i) : 0f;
            dst.setAtIndex(F32, at + i, Math.fma(src[off + i], factor, g));
        }
    }

    /**
     * {@code out[t] = sum_i a[t][i] * y[t][i]} over the {@code Dh} columns of rows arrays ({@code [Tp][DhP]}),
     * in double and in column order, for {@code t < T}; 0 for the padding rows. Four rows at a time: each sum
     * is its own chain of dependent adds, so four chains keep the adder busy where one would wait on it.
     */
    private static void rowDots(float[] a, float[] y, Dims d, float[] out) {
        int t = 0;
        for (; t + 4 <= d.T; t += 4) {
            int o0 = t * d.DhP, o1 = o0 + d.DhP, o2 = o1 + d.DhP, o3 = o2 + d.DhP;
            double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
            for (int i = 0; i < d.Dh; i++) {
                s0 += (double) a[o0 + i] * y[o0 + i];
                s1 += (double) a[o1 + i] * y[o1 + i];
                s2 += (double) a[o2 + i] * y[o2 + i];
                s3 += (double) a[o3 + i] * y[o3 + i];
            }
            out[t] = (float) s0;
            out[t + 1] = (float) s1;
            out[t + 2] = (float) s2;
            out[t + 3] = (float) s3;
        }
        for (; t < d.T; t++) {
            double sum = 0;
            for (int i = 0, o = t * d.DhP; i < d.Dh; i++) {
                sum += (double) a[o + i] * y[o + i];
            }
            out[t] = (float) sum;
        }
        Arrays.fill(out, d.T, d.Tp, 0f);
    }

    /** {@code alpha * x[off + i]} in place for {@code i < n} (n a multiple of L); nothing to do for 1. */
    static void scaleRow(float[] x, int off, int n, float alpha) {
        if (alpha == 1f) {
            return;
        }
        for (int i = 0; i < n; i += L) {
            FloatVector.fromArray(S, x, off + i).mul(alpha).intoArray(x, off + i);
        }
    }

    // ---------------------------------------------------------------- shapes, checks and scratch

    /** The sizes a kernel call works with: T and Dh, and their padded forms Tp (tiles) and DhP (vectors). */
    private record Dims(int T, int H, int Dh, int Tp, int DhP) {
        Dims(int T, int H, int Dh) {
            this(T, H, Dh, roundUp(T, TILE), roundUp(Math.max(Dh, 1), L));
        }

        /** The element index of head {@code h} of token {@code t} in batch {@code b} of a [B, T, H, Dh] tensor. */
        long row(int b, int t, int h) {
            return (((long) b * T + t) * H + h) * Dh;
        }

        private static int roundUp(int n, int m) {
            return (n + m - 1) / m * m;
        }
    }

    /** One worker's arrays. Rows arrays are {@code [Tp][DhP]}, tile arrays {@code [Tp/TILE][Dh][TILE]}. */
    private static final class Workspace {
        float[] q = new float[0], k = q, v = q, dO = q, dQ = q; // rows
        float[] kT = q, vT = q;                                   // transposed tiles
        float[] o = q, dK = q, dV = q;                            // one tile of rows, [TILE][DhP]
        float[] lse = q, delta = q;                               // [Tp]
        final float[] s = new float[TILE * TILE], p = new float[TILE * TILE];
        final float[] rowMax = new float[TILE];
        final float[] rowSums = new float[TILE * L];
        /** The forward's per-tile scratch: each row's lane maxima {@code [TILE][L]}, then the rows' maxima and alphas. */
        final float[] maxes = new float[TILE * L], tileMax = new float[TILE], alpha = new float[TILE];

        /** Grows the arrays the forward uses to fit {@code d}. */
        Workspace forForward(Dims d) {
            int rows = d.Tp * d.DhP;
            q = atLeast(q, rows);
            k = atLeast(k, rows);
            v = atLeast(v, rows);
            kT = atLeast(kT, d.Tp * d.Dh);
            o = atLeast(o, TILE * d.DhP);
            return this;
        }

        /** Grows the arrays the backward uses to fit {@code d}. */
        Workspace forBackward(Dims d) {
            int rows = d.Tp * d.DhP, tiles = d.Tp * d.Dh, tileRows = TILE * d.DhP;
            q = atLeast(q, rows);
            k = atLeast(k, rows);
            v = atLeast(v, rows);
            dO = atLeast(dO, rows);
            dQ = atLeast(dQ, rows);
            kT = atLeast(kT, tiles);
            vT = atLeast(vT, tiles);
            dK = atLeast(dK, tileRows);
            dV = atLeast(dV, tileRows);
            lse = atLeast(lse, d.Tp);
            delta = atLeast(delta, d.Tp);
            return this;
        }

        private static float[] atLeast(float[] a, int n) {
            return a.length >= n ? a : new float[n];
        }
    }
}
