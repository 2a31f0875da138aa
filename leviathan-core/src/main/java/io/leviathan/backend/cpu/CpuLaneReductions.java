package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShuffle;

/**
 * Reductions of a vector's lanes. Sums in a fixed order, so the bits do not depend on the thread count or the
 * JIT (unlike {@code reduceLanes}): a butterfly adds each lane to its partner at distance {@code L/2}, then
 * {@code L/4}, ..., 1, and the sum is lane 0. {@link #laneSum} does that for one vector; {@link #laneSums} does
 * it for {@code L} vectors at once, transposed: each stage adds pairs of vectors' halves, so {@code L} sums
 * cost {@code L - 1} pair steps instead of {@code L log2(L)} shuffles and adds. {@link #laneMaxes} is the
 * same transposed walk with {@code max}, which is exact in any order.
 *
 * <p>Both sums add the same pairs of partial sums, so they give the same value; only a NaN's payload may
 * differ, where a pair is added in the other operand order (x86 keeps the first operand's payload).
 */
final class CpuLaneReductions {
    private CpuLaneReductions() {}

    /** Stages of the butterfly: {@code log2(L)}. */
    private static final int STAGES = Integer.numberOfTrailingZeros(L);

    /** {@code v[k] + v[k ^ s]}: the butterfly partner of each lane at distance {@code s} (L/2, ..., 2, 1). */
    private static final VectorShuffle<Float>[] BUTTERFLY = butterflies();

    /** Per stage of distance {@code s}: the lanes whose bit {@code s} is set (they hold the second vector's sums). */
    private static final VectorMask<Float>[] UPPER = new VectorMask[STAGES];

    /**
     * Per stage of distance {@code s}, as {@code selectFrom} indexes into (first, second): a lane with bit
     * {@code s} clear takes the first vector's lane {@code k + s}, one with it set the second's {@code k - s}.
     */
    private static final FloatVector[] PARTNER = new FloatVector[STAGES];

    static {
        for (int stage = 0; stage < STAGES; stage++) {
            int s = L >> (stage + 1);
            boolean[] upper = new boolean[L];
            float[] partner = new float[L];
            for (int k = 0; k < L; k++) {
                upper[k] = (k & s) != 0;
                partner[k] = upper[k] ? L + k - s : k + s;
            }
            UPPER[stage] = VectorMask.fromArray(F, upper, 0);
            PARTNER[stage] = FloatVector.fromArray(F, partner, 0);
        }
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] butterflies() {
        VectorShuffle<Float>[] out = new VectorShuffle[STAGES];
        for (int k = 0; k < STAGES; k++) {
            int distance = L >> (k + 1);
            out[k] = VectorShuffle.fromOp(F, lane -> lane ^ distance);
        }
        return out;
    }

    /** The sum of {@code v}'s lanes by the butterfly, in float. */
    static float laneSum(FloatVector v) {
        for (VectorShuffle<Float> partner : BUTTERFLY) {
            v = v.add(v.rearrange(partner));
        }
        return v.lane(0);
    }

    /**
     * {@code out[outAt + t] = laneSum(vector t)} for the {@code L} vectors stored one after another at
     * {@code in[at]}; {@code in[at, at + L * L)} may be overwritten with partial sums.
     *
     * <p>Stage {@code s} (distance {@code L/2}, then {@code L/4}, ...) pairs vector {@code t} with vector
     * {@code t + s}, {@code t < s}, into one vector whose lanes with bit {@code s} clear carry {@code t}'s
     * butterfly sums and the others {@code t + s}'s. After the last stage lane {@code t} is vector {@code t}'s sum.
     */
    static void laneSums(float[] in, int at, float[] out, int outAt) {
        if (L == 16) {
            sixteenSums(in, at, out, outAt);
        } else {
            transposed(in, at, out, outAt, false);
        }
    }

    /**
     * {@code out[outAt + t] = } the largest lane of vector {@code t} ({@code Math.max}'s rules: NaN wins, and
     * 0 over -0), for the {@code L} vectors at {@code in[at]}, which may be overwritten; as {@link #laneSums}.
     */
    static void laneMaxes(float[] in, int at, float[] out, int outAt) {
        if (L == 16) {
            sixteenMaxes(in, at, out, outAt);
        } else {
            transposed(in, at, out, outAt, true);
        }
    }

    /**
     * The transposed walk for any {@code L}, through the array: each stage reads its pairs back from {@code in}.
     * The control of {@link #sixteenSums} and {@link #sixteenMaxes}, and the path for other vector lengths.
     */
    static void transposed(float[] in, int at, float[] out, int outAt, boolean max) {
        for (int stage = 0, s = L >> 1; stage < STAGES; stage++, s >>= 1) {
            VectorMask<Float> upper = UPPER[stage];
            FloatVector partner = PARTNER[stage];
            for (int t = 0; t < s; t++) {
                FloatVector first = FloatVector.fromArray(F, in, at + t * L);
                FloatVector second = FloatVector.fromArray(F, in, at + (t + s) * L);
                FloatVector own = first.blend(second, upper), other = partner.selectFrom(first, second);
                // each branch stores its own result: a vector merged from two branches would be boxed
                if (max) {
                    own.max(other).intoArray(in, at + t * L);
                } else {
                    own.add(other).intoArray(in, at + t * L);
                }
            }
        }
        FloatVector.fromArray(F, in, at).intoArray(out, outAt);
    }

    /**
     * {@link #laneSums} for 16 lanes (AVX-512) with the 16 vectors and their partial sums in registers: the same
     * pairs added in the same order as {@link #transposed}, without its store and reload between stages (a
     * store followed at once by a load of the same 64 bytes, four stages deep). Written out: a loop over the
     * stages would keep the vectors in an array, and a helper taking vectors could be left out of line by C2
     * and box them.
     */
    private static void sixteenSums(float[] in, int at, float[] out, int outAt) {
        VectorMask<Float> u0 = UPPER[0], u1 = UPPER[1], u2 = UPPER[2], u3 = UPPER[3];
        FloatVector p0 = PARTNER[0], p1 = PARTNER[1], p2 = PARTNER[2], p3 = PARTNER[3];
        FloatVector v0 = FloatVector.fromArray(F, in, at), v1 = FloatVector.fromArray(F, in, at + 16);
        FloatVector v2 = FloatVector.fromArray(F, in, at + 32), v3 = FloatVector.fromArray(F, in, at + 48);
        FloatVector v4 = FloatVector.fromArray(F, in, at + 64), v5 = FloatVector.fromArray(F, in, at + 80);
        FloatVector v6 = FloatVector.fromArray(F, in, at + 96), v7 = FloatVector.fromArray(F, in, at + 112);
        FloatVector v8 = FloatVector.fromArray(F, in, at + 128), v9 = FloatVector.fromArray(F, in, at + 144);
        FloatVector va = FloatVector.fromArray(F, in, at + 160), vb = FloatVector.fromArray(F, in, at + 176);
        FloatVector vc = FloatVector.fromArray(F, in, at + 192), vd = FloatVector.fromArray(F, in, at + 208);
        FloatVector ve = FloatVector.fromArray(F, in, at + 224), vf = FloatVector.fromArray(F, in, at + 240);
        // distance 8: vector t with t + 8
        v0 = v0.blend(v8, u0).add(p0.selectFrom(v0, v8));
        v1 = v1.blend(v9, u0).add(p0.selectFrom(v1, v9));
        v2 = v2.blend(va, u0).add(p0.selectFrom(v2, va));
        v3 = v3.blend(vb, u0).add(p0.selectFrom(v3, vb));
        v4 = v4.blend(vc, u0).add(p0.selectFrom(v4, vc));
        v5 = v5.blend(vd, u0).add(p0.selectFrom(v5, vd));
        v6 = v6.blend(ve, u0).add(p0.selectFrom(v6, ve));
        v7 = v7.blend(vf, u0).add(p0.selectFrom(v7, vf));
        // distance 4
        v0 = v0.blend(v4, u1).add(p1.selectFrom(v0, v4));
        v1 = v1.blend(v5, u1).add(p1.selectFrom(v1, v5));
        v2 = v2.blend(v6, u1).add(p1.selectFrom(v2, v6));
        v3 = v3.blend(v7, u1).add(p1.selectFrom(v3, v7));
        // distance 2
        v0 = v0.blend(v2, u2).add(p2.selectFrom(v0, v2));
        v1 = v1.blend(v3, u2).add(p2.selectFrom(v1, v3));
        // distance 1
        v0.blend(v1, u3).add(p3.selectFrom(v0, v1)).intoArray(out, outAt);
    }

    /** {@link #laneMaxes} for 16 lanes: {@link #sixteenSums} with {@code max}. */
    private static void sixteenMaxes(float[] in, int at, float[] out, int outAt) {
        VectorMask<Float> u0 = UPPER[0], u1 = UPPER[1], u2 = UPPER[2], u3 = UPPER[3];
        FloatVector p0 = PARTNER[0], p1 = PARTNER[1], p2 = PARTNER[2], p3 = PARTNER[3];
        FloatVector v0 = FloatVector.fromArray(F, in, at), v1 = FloatVector.fromArray(F, in, at + 16);
        FloatVector v2 = FloatVector.fromArray(F, in, at + 32), v3 = FloatVector.fromArray(F, in, at + 48);
        FloatVector v4 = FloatVector.fromArray(F, in, at + 64), v5 = FloatVector.fromArray(F, in, at + 80);
        FloatVector v6 = FloatVector.fromArray(F, in, at + 96), v7 = FloatVector.fromArray(F, in, at + 112);
        FloatVector v8 = FloatVector.fromArray(F, in, at + 128), v9 = FloatVector.fromArray(F, in, at + 144);
        FloatVector va = FloatVector.fromArray(F, in, at + 160), vb = FloatVector.fromArray(F, in, at + 176);
        FloatVector vc = FloatVector.fromArray(F, in, at + 192), vd = FloatVector.fromArray(F, in, at + 208);
        FloatVector ve = FloatVector.fromArray(F, in, at + 224), vf = FloatVector.fromArray(F, in, at + 240);
        v0 = v0.blend(v8, u0).max(p0.selectFrom(v0, v8));
        v1 = v1.blend(v9, u0).max(p0.selectFrom(v1, v9));
        v2 = v2.blend(va, u0).max(p0.selectFrom(v2, va));
        v3 = v3.blend(vb, u0).max(p0.selectFrom(v3, vb));
        v4 = v4.blend(vc, u0).max(p0.selectFrom(v4, vc));
        v5 = v5.blend(vd, u0).max(p0.selectFrom(v5, vd));
        v6 = v6.blend(ve, u0).max(p0.selectFrom(v6, ve));
        v7 = v7.blend(vf, u0).max(p0.selectFrom(v7, vf));
        v0 = v0.blend(v4, u1).max(p1.selectFrom(v0, v4));
        v1 = v1.blend(v5, u1).max(p1.selectFrom(v1, v5));
        v2 = v2.blend(v6, u1).max(p1.selectFrom(v2, v6));
        v3 = v3.blend(v7, u1).max(p1.selectFrom(v3, v7));
        v0 = v0.blend(v2, u2).max(p2.selectFrom(v0, v2));
        v1 = v1.blend(v3, u2).max(p2.selectFrom(v1, v3));
        v0.blend(v1, u3).max(p3.selectFrom(v0, v1)).intoArray(out, outAt);
    }
}
