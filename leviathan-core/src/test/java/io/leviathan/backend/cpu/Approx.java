package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.fail;

/** Closeness assertions whose failure message names the worst element. */
final class Approx {
    private Approx() {}

    /**
     * Asserts {@code |actual - expected| <= atol + rtol * max|expected|} element-wise: the error is measured
     * relative to the tensor's largest entry, so tiny entries are not held to an impossible relative bound.
     */
    static void assertClose(String what, double[] expected, float[] actual, double rtol, double atol) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        double tol = atol + rtol * scale;
        int worst = -1;
        double worstErr = 0;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            if (!(err <= worstErr) || Double.isNaN(actual[i])) {
                worstErr = Double.isNaN(actual[i]) ? Double.POSITIVE_INFINITY : err;
                worst = i;
            }
        }
        if (worst >= 0 && worstErr > tol) {
            fail(String.format("%s: element %d is %.9g, expected %.9g (error %.3g > tolerance %.3g; max|expected| %.3g)",
                    what, worst, actual[worst], expected[worst], worstErr, tol, scale));
        }
    }

    static void assertClose(String what, float[] expected, float[] actual, double rtol, double atol) {
        assertClose(what, TestData.toDouble(expected), actual, rtol, atol);
    }
}
