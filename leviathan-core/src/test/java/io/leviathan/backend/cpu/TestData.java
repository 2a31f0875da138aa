package io.leviathan.backend.cpu;

import java.util.SplittableRandom;

/** Seeded random test inputs. Never zeros: kernels are compared on values that exercise them. */
final class TestData {
    private TestData() {}

    /** The raw bits of each float, for comparing results bit for bit (NaN payloads and the sign of zero included). */
    static int[] bits(float[] x) {
        int[] out = new int[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Float.floatToRawIntBits(x[i]);
        }
        return out;
    }

    /** {@code n} floats uniform in {@code [-scale, scale)}, from {@code seed}. */
    static float[] uniform(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
        }
        return x;
    }

    /** {@code n} floats from a standard normal times {@code scale}. */
    static float[] normal(long seed, int n, double scale) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[n];
        for (int i = 0; i < n; i += 2) {
            double u1 = 1.0 - r.nextDouble();
            double u2 = r.nextDouble();
            double rad = Math.sqrt(-2 * Math.log(u1));
            x[i] = (float) (rad * Math.cos(2 * Math.PI * u2) * scale);
            if (i + 1 < n) {
                x[i + 1] = (float) (rad * Math.sin(2 * Math.PI * u2) * scale);
            }
        }
        return x;
    }

    /** {@code n} ints uniform in {@code [0, bound)}. */
    static int[] ints(long seed, int n, int bound) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] x = new int[n];
        for (int i = 0; i < n; i++) {
            x[i] = r.nextInt(bound);
        }
        return x;
    }

    static double[] toDouble(float[] x) {
        double[] d = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            d[i] = x[i];
        }
        return d;
    }
}
