package io.leviathan.backend.cpu;

import io.leviathan.backend.OpChecks;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The naive control for {@link CpuAttention}: the backend's attention kernel before it went flash-attention
 * style, kept unchanged apart from its name. It saves the probabilities {@code [B, H, T, T]} in the forward
 * and reads them in the backward, one query row at a time with no tiling (F32 only).
 */
final class ProbsAttentionControl {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;
    /** Per-worker scratch for one row of dProbs, reused across calls. */
    private static final ThreadLocal<float[]> SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    private ProbsAttentionControl() {}

    /** out[b,t,h] = sum_{s<=t} softmax_s(q[b,t,h] . k[b,s,h] / sqrt(Dh)) v[b,s,h]; probs[b,h,t,s] saved. */
    static void attention(Parallel par, Tensor q, Tensor k, Tensor v, Tensor out, Tensor probs) {
        String op = "attention";
        OpChecks.f32(op, "q", q);
        OpChecks.f32(op, "k", k);
        OpChecks.f32(op, "v", v);
        OpChecks.f32Out(op, "out", out);
        OpChecks.f32Out(op, "probs", probs);
        checkShapes(op, new String[] {"q", "k", "v", "out"}, q, k, v, out);
        int B = (int) q.size(0), T = (int) q.size(1), H = (int) q.size(2), Dh = (int) q.size(3);
        OpChecks.shape(op, "probs", probs, B, H, T, T);
        MemorySegment qs = q.segment(CpuMemory.KEY), ks = k.segment(CpuMemory.KEY), vs = v.segment(CpuMemory.KEY), os = out.segment(CpuMemory.KEY), ps = probs.segment(CpuMemory.KEY);
        float scale = (float) (1.0 / Math.sqrt(Dh));
        par.forRange((long) B * H, 1, (start, end) -> {
            for (long bh = start; bh < end; bh++) {
                int b = (int) (bh / H), h = (int) (bh % H);
                for (int t = 0; t < T; t++) {
                    long qRow = row(b, t, h, T, H, Dh);
                    long pRow = (bh * T + t) * T;
                    // pass 1: scaled scores q.k for s <= t, and their maximum
                    float max = Float.NEGATIVE_INFINITY;
                    for (int s = 0; s <= t; s++) {
                        float score = dot(qs, qRow, ks, row(b, s, h, T, H, Dh), Dh) * scale;
                        ps.setAtIndex(F, pRow + s, score);
                        max = Math.max(max, score);
                    }
                    // pass 2: exponentiate and normalise; the future (s > t) gets probability 0
                    double sum = 0;
                    for (int s = 0; s <= t; s++) {
                        float e = (float) Math.exp(ps.getAtIndex(F, pRow + s) - max);
                        ps.setAtIndex(F, pRow + s, e);
                        sum += e;
                    }
                    float inv = (float) (1.0 / sum);
                    for (int s = 0; s <= t; s++) {
                        ps.setAtIndex(F, pRow + s, ps.getAtIndex(F, pRow + s) * inv);
                    }
                    for (int s = t + 1; s < T; s++) {
                        ps.setAtIndex(F, pRow + s, 0f);
                    }
                    // pass 3: out = sum_s p[s] * v[s]
                    long oRow = row(b, t, h, T, H, Dh);
                    os.asSlice(oRow * 4, (long) Dh * 4).fill((byte) 0);
                    for (int s = 0; s <= t; s++) {
                        axpy(ps.getAtIndex(F, pRow + s), vs, row(b, s, h, T, H, Dh), os, oRow, Dh);
                    }
                }
            }
        });
    }

    /** Backward of {@link #attention}: accumulates into dQ, dK and dV. */
    static void attentionBackward(Parallel par, Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor probs,
                                  Tensor dQ, Tensor dK, Tensor dV) {
        String op = "attentionBackward";
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32(op, "q", q);
        OpChecks.f32(op, "k", k);
        OpChecks.f32(op, "v", v);
        OpChecks.f32(op, "probs", probs);
        OpChecks.f32Out(op, "dQ", dQ);
        OpChecks.f32Out(op, "dK", dK);
        OpChecks.f32Out(op, "dV", dV);
        checkShapes(op, new String[] {"dOut", "q", "k", "v", "dQ", "dK", "dV"}, dOut, q, k, v, dQ, dK, dV);
        int B = (int) q.size(0), T = (int) q.size(1), H = (int) q.size(2), Dh = (int) q.size(3);
        OpChecks.shape(op, "probs", probs, B, H, T, T);
        MemorySegment dos = dOut.segment(CpuMemory.KEY), qs = q.segment(CpuMemory.KEY), ks = k.segment(CpuMemory.KEY), vs = v.segment(CpuMemory.KEY),
                ps = probs.segment(CpuMemory.KEY), dqs = dQ.segment(CpuMemory.KEY), dks = dK.segment(CpuMemory.KEY), dvs = dV.segment(CpuMemory.KEY);
        float scale = (float) (1.0 / Math.sqrt(Dh));
        par.forRange((long) B * H, 1, (start, end) -> {
            float[] dp = scratch(T);
            for (long bh = start; bh < end; bh++) {
                int b = (int) (bh / H), h = (int) (bh % H);
                for (int t = 0; t < T; t++) {
                    long tRow = row(b, t, h, T, H, Dh);
                    long pRow = (bh * T + t) * T;
                    // through out = P v: dP[s] = dOut[t] . v[s], dV[s] += P[s] dOut[t]
                    float pdp = 0;
                    for (int s = 0; s <= t; s++) {
                        long sRow = row(b, s, h, T, H, Dh);
                        float p = ps.getAtIndex(F, pRow + s);
                        dp[s] = dot(dos, tRow, vs, sRow, Dh);
                        pdp += p * dp[s];
                        axpy(p, dos, tRow, dvs, sRow, Dh);
                    }
                    // through the softmax: dScore[s] = P[s] (dP[s] - sum_j P[j] dP[j]); then the scaled q.k
                    for (int s = 0; s <= t; s++) {
                        long sRow = row(b, s, h, T, H, Dh);
                        float dScore = ps.getAtIndex(F, pRow + s) * (dp[s] - pdp) * scale;
                        axpy(dScore, ks, sRow, dqs, tRow, Dh);
                        axpy(dScore, qs, tRow, dks, sRow, Dh);
                    }
                }
            }
        });
    }

    private static void checkShapes(String op, String[] names, Tensor... ts) {
        if (ts[0].rank() != 4) {
            throw new ShapeMismatchException(op + ": " + names[0] + " must be [B, T, H, Dh] but has shape "
                    + Arrays.toString(ts[0].shape()));
        }
        for (int i = 1; i < ts.length; i++) {
            OpChecks.sameShape(op, names[0], ts[0], names[i], ts[i]);
        }
    }

    /** The element index of head {@code h} of token {@code t} in batch {@code b} of a [B, T, H, Dh] tensor. */
    private static long row(int b, int t, int h, int T, int H, int Dh) {
        return (((long) b * T + t) * H + h) * Dh;
    }

    private static float[] scratch(int n) {
        float[] s = SCRATCH.get();
        if (s.length < n) {
            s = new float[n];
            SCRATCH.set(s);
        }
        return s;
    }

    /** sum_i a[aOff + i] * b[bOff + i] for i < n (element offsets). */
    private static float dot(MemorySegment a, long aOff, MemorySegment b, long bOff, int n) {
        FloatVector acc = FloatVector.zero(S);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector x = FloatVector.fromMemorySegment(S, a, (aOff + i) * 4, NATIVE);
            FloatVector y = FloatVector.fromMemorySegment(S, b, (bOff + i) * 4, NATIVE);
            acc = x.fma(y, acc);
        }
        float sum = (float) CpuElementwise.sumLanes(acc); // fixed order: see CpuElementwise.sumLanes
        for (; i < n; i++) {
            sum += a.getAtIndex(F, aOff + i) * b.getAtIndex(F, bOff + i);
        }
        return sum;
    }

    /** y[yOff + i] += alpha * x[xOff + i] for i < n (element offsets). */
    private static void axpy(float alpha, MemorySegment x, long xOff, MemorySegment y, long yOff, int n) {
        FloatVector a = FloatVector.broadcast(S, alpha);
        int i = 0;
        for (int upper = S.loopBound(n); i < upper; i += S.length()) {
            FloatVector xv = FloatVector.fromMemorySegment(S, x, (xOff + i) * 4, NATIVE);
            FloatVector yv = FloatVector.fromMemorySegment(S, y, (yOff + i) * 4, NATIVE);
            xv.fma(a, yv).intoMemorySegment(y, (yOff + i) * 4, NATIVE);
        }
        for (; i < n; i++) {
            y.setAtIndex(F, yOff + i, y.getAtIndex(F, yOff + i) + alpha * x.getAtIndex(F, xOff + i));
        }
    }
}
