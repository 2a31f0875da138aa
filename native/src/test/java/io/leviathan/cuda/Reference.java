package io.leviathan.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import java.util.Random;

/**
 * The Java CPU backend the host entry points are compared with, random data, and the comparisons: exact
 * (same bits) where the kernel does the CPU backend's operations in its order, and within a tolerance
 * where only the order of a sum differs.
 */
final class Reference {
    private Reference() {}

    /** The CPU backend (two threads: its results do not depend on the thread count). */
    static final Backend CPU = Backends.cpu(2);

    static float[] gaussian(Random rnd, int n, float scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = (float) rnd.nextGaussian() * scale;
        }
        return a;
    }

    static float[] uniform(Random rnd, int n, float lo, float hi) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = lo + rnd.nextFloat() * (hi - lo);
        }
        return a;
    }

    /** Same bits at every index, NaN included; names the first index that differs. */
    static void assertSameBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                fail(what + ": index " + i + " expected " + expected[i] + " but got " + actual[i]);
            }
        }
    }

    /**
     * {@code |e - a| <= rel * |e| + abs * max|e|} at every index: {@code rel} bounds rounding of each value,
     * {@code abs} (a fraction of the array's largest magnitude) the cancellation in a sum of mixed signs.
     */
    static void assertClose(String what, float[] expected, float[] actual, double rel, double abs) {
        assertEquals(expected.length, actual.length, what + ": length");
        double max = 0;
        for (float e : expected) {
            max = Math.max(max, Math.abs(e));
        }
        int bad = 0;
        int first = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            boolean ok = Double.isNaN(e) ? Double.isNaN(a) : Math.abs(e - a) <= rel * Math.abs(e) + abs * max;
            if (!ok) {
                bad++;
                if (first < 0) {
                    first = i;
                }
            }
        }
        if (bad > 0) {
            fail(what + ": " + bad + " of " + expected.length + " elements differ beyond rel " + rel + ", abs " + abs
                    + " x " + max + "; first at " + first + ": expected " + expected[first] + " but got "
                    + actual[first]);
        }
    }
}
