package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwise.F;
import static io.leviathan.backend.cpu.CpuElementwise.L;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The transposed lane sums give, vector by vector, the bits of the one-vector butterfly. */
class CpuLaneSumsTest {

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
                expected[t] = CpuLaneSums.laneSum(FloatVector.fromArray(F, in, at + t * L));
            }
            float[] out = new float[L + 3];
            CpuLaneSums.laneSums(in, at, out, 3);
            for (int t = 0; t < L; t++) {
                assertEquals(Float.floatToIntBits(expected[t]), Float.floatToIntBits(out[3 + t]),
                        "round " + round + " vector " + t + ": " + expected[t] + " vs " + out[3 + t]);
            }
        }
    }

    @Test
    void laneSumAddsEveryLane() {
        float[] v = new float[L];
        for (int k = 0; k < L; k++) {
            v[k] = k + 1;
        }
        assertEquals(L * (L + 1) / 2f, CpuLaneSums.laneSum(FloatVector.fromArray(F, v, 0)));
    }
}
