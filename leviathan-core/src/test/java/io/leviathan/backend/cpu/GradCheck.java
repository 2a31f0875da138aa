package io.leviathan.backend.cpu;

import java.util.function.Function;

/**
 * Central finite differences in double precision. A backward kernel (f32) is checked against the numeric
 * gradient of a double-precision reference forward: with a scalar objective {@code L = sum(f(x) * r)} for
 * fixed random {@code r}, {@code dL/dx} is exactly what the backward computes from {@code dOut = r}.
 */
final class GradCheck {
    private GradCheck() {}

    /** The numeric gradient of {@code sum(f(x) * r)} with respect to {@code x} (step {@code h}). */
    static double[] numeric(Function<double[], double[]> f, double[] x, double[] r, double h) {
        double[] g = new double[x.length];
        double[] xp = x.clone();
        for (int i = 0; i < x.length; i++) {
            double orig = xp[i];
            xp[i] = orig + h;
            double lp = dot(f.apply(xp), r);
            xp[i] = orig - h;
            double lm = dot(f.apply(xp), r);
            xp[i] = orig;
            g[i] = (lp - lm) / (2 * h);
        }
        return g;
    }

    /** The numeric gradient with the default step 1e-6. */
    static double[] numeric(Function<double[], double[]> f, double[] x, double[] r) {
        return numeric(f, x, r, 1e-6);
    }

    static double dot(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("dot: lengths " + a.length + " and " + b.length);
        }
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
