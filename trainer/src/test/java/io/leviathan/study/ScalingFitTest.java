package io.leviathan.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The scaling-law fit against synthetic data drawn from a known law.
 *
 * <p>Coverage assertions: a 95 % interval covers the truth with probability about 0.95 per data set, so
 * over S independent seeds the number of covering intervals is about Binomial(S, p). The covariance
 * intervals rest on a linearisation of a nonlinear model, so their real p is a little lower: measured over
 * 200 seeds of this set-up, 0.91 (a), 0.92 (alpha), 0.94 (b); the residual bootstrap's, over 60 seeds,
 * 0.93-0.98. The tests therefore require a clearly lower count (32 of 40 = 80 %, and 14 of 20 for the
 * bootstrap); at p = 0.91 the chance of fewer than 32 of 40 is about 2 %, at p = 0.95 below 1e-3, while a
 * miscalibrated interval (a covariance not scaled by the residual variance, a normal instead of a t quantile,
 * a bootstrap that ignores the noise) covers far less often. Seeds are fixed, so the outcome is
 * reproducible; a second assertion keeps the intervals informative (they could otherwise cover by being
 * huge).
 */
class ScalingFitTest {
    // a Chinchilla-like parameter term: L(N) = 410.7 N^-0.34 + 1.69
    static final double A = 410.7;
    static final double ALPHA = 0.34;
    static final double B = 1.69;
    static final double NOISE = 0.01;

    static List<ScalingFit.Point> synthetic(long seed, int points, double nMin, double nMax, double noise) {
        SplittableRandom r = new SplittableRandom(seed);
        List<ScalingFit.Point> pts = new ArrayList<>();
        for (int i = 0; i < points; i++) {
            double n = nMin * Math.pow(nMax / nMin, (double) i / (points - 1));
            double loss = A * Math.pow(n, -ALPHA) + B + noise * gaussian(r);
            pts.add(new ScalingFit.Point("p" + i, n, loss));
        }
        return pts;
    }

    static double gaussian(SplittableRandom r) {
        double u = 1 - r.nextDouble();
        double v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    @Test
    void covarianceIntervalsCoverTheTruthInMostSeeds() {
        int seeds = 40;
        int coverA = 0;
        int coverAlpha = 0;
        int coverB = 0;
        double[] alphaHalfWidth = new double[seeds];
        for (int s = 0; s < seeds; s++) {
            ScalingFit.Fit fit = ScalingFit.fit(synthetic(100 + s, 8, 1e6, 1e9, NOISE), 0.95);
            coverA += fit.a().covers(A) ? 1 : 0;
            coverAlpha += fit.alpha().covers(ALPHA) ? 1 : 0;
            coverB += fit.b().covers(B) ? 1 : 0;
            alphaHalfWidth[s] = (fit.alpha().upper() - fit.alpha().lower()) / 2;
            assertEquals(5, fit.dof());
        }
        String msg = "covered a " + coverA + ", alpha " + coverAlpha + ", b " + coverB + " of " + seeds;
        assertTrue(coverA >= 32, msg);
        assertTrue(coverAlpha >= 32, msg);
        assertTrue(coverB >= 32, msg);
        Arrays.sort(alphaHalfWidth);
        assertTrue(alphaHalfWidth[seeds / 2] < 0.15, "median alpha half-width " + alphaHalfWidth[seeds / 2]
                + ": intervals too wide to mean anything");
    }

    @Test
    void bootstrapIntervalsCoverTheTruthInMostSeeds() {
        int seeds = 20;
        int coverAlpha = 0;
        int coverB = 0;
        int coverMultiplier = 0;
        for (int s = 0; s < seeds; s++) {
            ScalingFit.Fit fit = ScalingFit.fit(synthetic(500 + s, 8, 1e6, 1e9, NOISE), 0.95);
            ScalingFit.Bootstrap boot = ScalingFit.bootstrap(fit, 400, s);
            assertTrue(boot.replicates() + boot.failed() == 400);
            assertTrue(boot.failed() < 20, "failed refits " + boot.failed());
            double[] al = boot.interval(1);
            double[] bl = boot.interval(2);
            coverAlpha += al[0] <= ALPHA && ALPHA <= al[1] ? 1 : 0;
            coverB += bl[0] <= B && B <= bl[1] ? 1 : 0;
            // a model at 3e7 parameters reaching the true loss of a 6e7 model: true multiplier 2
            double[] m = boot.multiplier(A * Math.pow(6e7, -ALPHA) + B, 3e7);
            coverMultiplier += m[0] <= 2 && 2 <= m[1] ? 1 : 0;
        }
        // the residual bootstrap with 8 points runs a little narrow; 14 of 20 (70 %) still rules out an
        // interval that ignores the noise (which would cover in a small fraction of seeds)
        String msg = "covered alpha " + coverAlpha + ", b " + coverB + ", multiplier " + coverMultiplier + " of " + seeds;
        assertTrue(coverAlpha >= 14, msg);
        assertTrue(coverB >= 14, msg);
        assertTrue(coverMultiplier >= 14, msg);
    }

    /**
     * The design the sweeps use: five dense sizes over a 6x range (two residual degrees of freedom), a model
     * inside that range with a true multiplier of 1.5. The delta-method t interval (n - 3 degrees of freedom)
     * must cover the true multiplier in most of 200 simulated studies; measured: 0.95 or so. The same for a
     * model whose own loss is noisy (two seeds, the dense points' noise): only the interval that takes in the
     * seed variance (Welch-Satterthwaite degrees of freedom) keeps its coverage; the one that ignores it falls
     * short. The residual bootstrap on this design is printed for the docs (it runs narrow with two degrees of
     * freedom) and is required only to cover clearly less often than the t interval does.
     */
    @Test
    void multiplierIntervalsCoverTheTruthForTheFivePointDesign() {
        int studies = 200;
        double noise = 0.02;
        double n = 4e6;
        double trueLoss = A * Math.pow(1.5 * n, -ALPHA) + B;
        int delta = 0;
        int withSeeds = 0;
        int ignoringSeeds = 0;
        int boot = 0;
        int bootStudies = 30;
        for (int s = 0; s < studies; s++) {
            ScalingFit.Fit fit = ScalingFit.fit(synthetic(2000 + s, 5, 2e6, 1.2e7, noise), 0.95);
            assertEquals(2, fit.dof());
            ScalingFit.Effective e = fit.effective(trueLoss, n);
            delta += e.lower() <= 1.5 && 1.5 <= e.upper() ? 1 : 0;
            SplittableRandom r = new SplittableRandom(9000 + s);
            double l1 = trueLoss + noise * gaussian(r);
            double l2 = trueLoss + noise * gaussian(r);
            double mean = (l1 + l2) / 2;
            double var = (l1 - mean) * (l1 - mean) + (l2 - mean) * (l2 - mean); // sample variance, 1 df
            ScalingFit.Effective seeded = fit.effective(mean, n, var, 2);
            withSeeds += seeded.lower() <= 1.5 && 1.5 <= seeded.upper() ? 1 : 0;
            ScalingFit.Effective plain = fit.effective(mean, n);
            ignoringSeeds += plain.lower() <= 1.5 && 1.5 <= plain.upper() ? 1 : 0;
            if (s < bootStudies) {
                double[] m = ScalingFit.bootstrap(fit, 200, s).multiplier(trueLoss, n);
                boot += m[0] <= 1.5 && 1.5 <= m[1] ? 1 : 0;
            }
        }
        String msg = String.format(java.util.Locale.ROOT, "5-point design, nominal 0.95: delta t %.3f; noisy 2-seed"
                        + " loss: with seed variance %.3f, without %.3f; residual bootstrap %.3f (%d studies)",
                delta / (double) studies, withSeeds / (double) studies, ignoringSeeds / (double) studies,
                boot / (double) bootStudies, bootStudies);
        System.out.println("[ScalingFitTest] " + msg);
        assertTrue(delta >= 180, msg); // 90 %: at p = 0.95 fewer than 180 of 200 has probability ~0.2 %
        assertTrue(withSeeds >= 180, msg);
        assertTrue(ignoringSeeds < withSeeds, msg);
        assertTrue(boot / (double) bootStudies < delta / (double) studies, msg);
    }

    @Test
    void recoversAnExactLaw() {
        ScalingFit.Fit fit = ScalingFit.fit(synthetic(1, 6, 1e6, 1e8, 0), 0.95);
        assertEquals(A, fit.law().a(), 1e-4 * A);
        assertEquals(ALPHA, fit.law().alpha(), 1e-6);
        assertEquals(B, fit.law().b(), 1e-6);
        assertTrue(fit.rss() < 1e-16, "rss " + fit.rss());
    }

    @Test
    void effectiveSizeRoundTrips() {
        ScalingFit.Fit fit = ScalingFit.fit(synthetic(7, 6, 1e6, 1e8, NOISE), 0.95);
        ScalingFit.Law law = fit.law();
        for (double n : new double[] {1e6, 5e6, 3e7}) {
            ScalingFit.Effective on = fit.effective(law.loss(n), n);
            assertEquals(1, on.multiplier(), 1e-9, "a point on the curve is its own dense twin");
            assertEquals(n, on.nEff(), 1e-9 * n);
            assertTrue(on.lower() <= 1 && 1 <= on.upper(), on.toString());
            ScalingFit.Effective twice = fit.effective(law.loss(2 * n), n);
            assertEquals(2, twice.multiplier(), 1e-9, "the loss of a model twice the size");
        }
        assertEquals(ScalingFit.Status.INTERPOLATED, fit.effective(law.loss(1e7), 1e7).status());
        assertEquals(ScalingFit.Status.BELOW_RANGE, fit.effective(law.loss(1e5), 1e5).status());
        assertEquals(ScalingFit.Status.ABOVE_RANGE, fit.effective(law.loss(1e9), 1e8).status());
        // the same law through a, alpha, b of the original parametrisation
        double l = 3.1;
        assertEquals(Math.pow(law.a() / (l - law.b()), 1 / law.alpha()), law.effectiveParameters(l),
                1e-9 * law.effectiveParameters(l));
    }

    @Test
    void lossAtOrBelowTheIrreducibleTermIsReportedNotThrown() {
        ScalingFit.Fit fit = ScalingFit.fit(synthetic(3, 6, 1e6, 1e8, NOISE), 0.95);
        double b = fit.law().b();
        for (double l : new double[] {b, b - 0.01, b - 5}) {
            ScalingFit.Effective e = fit.effective(l, 1e7);
            assertEquals(ScalingFit.Status.UNDEFINED, e.status());
            assertEquals(Double.POSITIVE_INFINITY, e.nEff());
            assertEquals(Double.POSITIVE_INFINITY, e.multiplier());
        }
        ScalingFit.Bootstrap boot = ScalingFit.bootstrap(fit, 200, 1);
        double[] m = boot.multiplier(b - 5, 1e7);
        assertEquals(Double.POSITIVE_INFINITY, m[1]);
        assertEquals(1.0, m[2], "every refit puts a loss far below b out of reach");
    }

    @Test
    void fourPointsGiveOneDegreeOfFreedomAndWideButFiniteIntervals() {
        ScalingFit.Fit fit = ScalingFit.fit(synthetic(9, 4, 2e6, 2e7, NOISE), 0.95);
        assertEquals(1, fit.dof());
        assertTrue(fit.tQuantile() > 12 && fit.tQuantile() < 13, "t(0.975, 1) = 12.71, got " + fit.tQuantile());
        assertTrue(Double.isFinite(fit.alpha().lower()) && Double.isFinite(fit.alpha().upper()));
        ScalingFit.Fit exact = ScalingFit.fit(synthetic(9, 3, 2e6, 2e7, NOISE), 0.95);
        assertEquals(0, exact.dof());
        assertTrue(Double.isNaN(exact.alpha().lower()), "no residual degrees of freedom: no interval");
        assertEquals(0, ScalingFit.bootstrap(exact, 100, 1).replicates());
    }

    @Test
    void refusesTooFewSizes() {
        List<ScalingFit.Point> two = List.of(new ScalingFit.Point("a", 1e6, 4), new ScalingFit.Point("b", 2e6, 3.8),
                new ScalingFit.Point("c", 2e6, 3.7));
        assertThrows(IllegalArgumentException.class, () -> ScalingFit.fit(two, 0.95));
        assertThrows(IllegalArgumentException.class, () -> ScalingFit.fit(synthetic(1, 5, 1e6, 1e8, 0), 1.5));
    }

    @Test
    void percentilesInterpolateAndToleratesInfinity() {
        double[] p = ScalingFit.percentiles(new double[] {5, 1, 4, 2, 3}, 0.5);
        assertEquals(2, p[0], 1e-12);
        assertEquals(4, p[1], 1e-12);
        double[] q = ScalingFit.percentiles(new double[] {1, 2, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY}, 0.9);
        assertEquals(Double.POSITIVE_INFINITY, q[1]);
    }
}
