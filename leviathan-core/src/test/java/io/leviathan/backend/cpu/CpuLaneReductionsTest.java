package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The transposed lane sums give, vector by vector, the bits of the one-vector butterfly. */
class CpuLaneReductionsTest {

    @Test
    void transposedSumsEqualTheButterflyBitForBit() {
        SplittableRandom rnd = new SplittableRandom(7);
        for (int round = 0; round < 200; round++) {
            // magnitudes over many binades, so the order of the additions shows in the last bits
            float[] in = new float[L * L + 5];
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-20, 21)));
            }
            int at = round % 5;
            float[] expected = new float[L];
            for (int t = 0; t < L; t++) {
                expected[t] = CpuLaneReductions.laneSum(FloatVector.fromArray(F, in, at + t * L));
            }
            float[] out = new float[L + 3];
            CpuLaneReductions.laneSums(in, at, out, 3);
            for (int t = 0; t < L; t++) {
                assertEquals(Float.floatToIntBits(expected[t]), Float.floatToIntBits(out[3 + t]),
                        "round " + round + " vector " + t + ": " + expected[t] + " vs " + out[3 + t]);
            }
        }
    }

    @Test
    void transposedMaximaEqualReduceLanes() {
        SplittableRandom rnd = new SplittableRandom(11);
        for (int round = 0; round < 200; round++) {
            float[] in = new float[L * L];
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) rnd.nextGaussian();
            }
            // Math.max's special cases: -inf rows, signed zeros, a NaN
            int t = round % L;
            java.util.Arrays.fill(in, t * L, (t + 1) * L, Float.NEGATIVE_INFINITY);
            if (round % 3 == 0) {
                in[((t + 1) % L) * L + round % L] = Float.NaN;
            }
            int z = (t + 2) % L;
            java.util.Arrays.fill(in, z * L, (z + 1) * L, -0f);
            in[z * L + round % L] = 0f;
            float[] expected = new float[L];
            for (int v = 0; v < L; v++) {
                expected[v] = FloatVector.fromArray(F, in, v * L).reduceLanes(jdk.incubator.vector.VectorOperators.MAX);
            }
            float[] out = new float[L];
            CpuLaneReductions.laneMaxes(in, 0, out, 0);
            for (int v = 0; v < L; v++) {
                assertEquals(Float.floatToIntBits(expected[v]), Float.floatToIntBits(out[v]), "round " + round + " vector " + v);
            }
        }
    }

    @Test
    void registerWalkEqualsTheArrayWalkBitForBit() {
        // with 16 lanes laneSums and laneMaxes keep the stages in registers; the array walk is their control
        SplittableRandom rnd = new SplittableRandom(13);
        for (int round = 0; round < 200; round++) {
            float[] in = new float[L * L + 7];
            for (int i = 0; i < in.length; i++) {
                in[i] = (float) (rnd.nextGaussian() * Math.pow(2, rnd.nextInt(-20, 21)));
            }
            if (round % 4 == 0) {
                in[rnd.nextInt(in.length)] = -0f;
                in[rnd.nextInt(in.length)] = Float.NEGATIVE_INFINITY;
            }
            int at = round % 7;
            for (boolean max : new boolean[] {false, true}) {
                float[] expected = new float[L], actual = new float[L];
                CpuLaneReductions.transposed(in.clone(), at, expected, 0, max);
                float[] copy = in.clone();
                if (max) {
                    CpuLaneReductions.laneMaxes(copy, at, actual, 0);
                } else {
                    CpuLaneReductions.laneSums(copy, at, actual, 0);
                }
                for (int t = 0; t < L; t++) {
                    assertEquals(Float.floatToIntBits(expected[t]), Float.floatToIntBits(actual[t]),
                            (max ? "max" : "sum") + " round " + round + " vector " + t);
                }
            }
        }
    }

    @Test
    void laneSumAddsEveryLane() {
        float[] v = new float[L];
        for (int k = 0; k < L; k++) {
            v[k] = k + 1;
        }
        assertEquals(L * (L + 1) / 2f, CpuLaneReductions.laneSum(FloatVector.fromArray(F, v, 0)));
    }
}
