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
     * {@code in[at]}; {@code in[at, at + L * L)} is overwritten with partial sums.
     *
     * <p>Stage {@code s} (distance {@code L/2}, then {@code L/4}, ...) pairs vector {@code t} with vector
     * {@code t + s}, {@code t < s}, into one vector whose lanes with bit {@code s} clear carry {@code t}'s
     * butterfly sums and the others {@code t + s}'s. After the last stage lane {@code t} is vector {@code t}'s sum.
     */
    static void laneSums(float[] in, int at, float[] out, int outAt) {
        transposed(in, at, out, outAt, false);
    }

    /**
     * {@code out[outAt + t] = } the largest lane of vector {@code t} ({@code Math.max}'s rules: NaN wins, and
     * 0 over -0), for the {@code L} vectors at {@code in[at]}, which are overwritten; as {@link #laneSums}.
     */
    static void laneMaxes(float[] in, int at, float[] out, int outAt) {
        transposed(in, at, out, outAt, true);
    }

    private static void transposed(float[] in, int at, float[] out, int outAt, boolean max) {
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
}
