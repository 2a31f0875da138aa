package io.leviathan.study;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.exception.MathIllegalStateException;
import org.apache.commons.math3.fitting.leastsquares.LeastSquaresBuilder;
import org.apache.commons.math3.fitting.leastsquares.LeastSquaresOptimizer;
import org.apache.commons.math3.fitting.leastsquares.LeastSquaresProblem;
import org.apache.commons.math3.fitting.leastsquares.LevenbergMarquardtOptimizer;
import org.apache.commons.math3.fitting.leastsquares.MultivariateJacobianFunction;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.RealVector;
import org.apache.commons.math3.stat.regression.SimpleRegression;
import org.apache.commons.math3.util.Pair;

/**
 * The scaling law {@code L(N) = a N^(-alpha) + b} fitted to dense runs by least squares (Commons Math's
 * Levenberg-Marquardt), and the effective size of another model read off it.
 *
 * <p><b>Parametrisation.</b> Internally the law is {@code A (N / N_ref)^(-alpha) + b} with {@code N_ref}
 * the geometric mean of the fitted sizes, so the three parameters are of comparable scale and nearly
 * uncorrelated; {@code a = A N_ref^alpha}.
 *
 * <p><b>Starting values.</b> For a ladder of offsets {@code b0} from just below the smallest loss down to 0,
 * a straight line is fitted to {@code log(L - b0)} against {@code log N} (slope {@code -alpha0}, intercept
 * {@code log A0}), and Levenberg-Marquardt runs from each {@code (A0, alpha0, b0)}; the fit with the smallest
 * residual sum of squares wins. {@code A} is kept positive and {@code alpha} in [1e-4, 10].
 *
 * <p><b>Uncertainty.</b> (1) From the covariance at the optimum, {@code s^2 (J^T J)^(-1)} with
 * {@code s^2 = RSS / (n - 3)}, and Student-t quantiles with {@code n - 3} degrees of freedom: symmetric
 * intervals for alpha and b, and for a (which is positive and skewed) an interval symmetric in log a. The
 * effective size's interval comes from the same covariance by the delta method on {@code log N_eff}.
 * (2) A residual bootstrap ({@link #bootstrap}): the residuals, inflated by {@code sqrt(n / (n - 3))},
 * are resampled with replacement onto the fitted curve, the law is refitted, and percentile intervals are
 * taken over the refits, for the parameters and for every effective size (propagating the fit's whole
 * uncertainty, not only its linearisation). Neither includes the noise of the loss being placed on the curve.
 *
 * <p><b>Effective size.</b> {@code N_eff = (a / (L - b))^(1 / alpha)}: the size of a dense model the law
 * predicts to reach loss L. When {@code L <= b} the law never reaches L and N_eff is infinite (reported as
 * undefined, never an error); when N_eff lies outside the fitted sizes it is an extrapolation.
 */
public final class ScalingFit {
    private ScalingFit() {}

    /** Bounds the optimizer keeps alpha in. */
    static final double ALPHA_MIN = 1e-4;
    static final double ALPHA_MAX = 10;

    /** A measured point: a model of {@code n} parameters reached {@code loss}. */
    public record Point(String name, double n, double loss) {}

    /** {@code L(N) = A (N / nRef)^(-alpha) + b}. */
    public record Law(double bigA, double alpha, double b, double nRef) {
        /** a of {@code a N^(-alpha) + b}. */
        public double a() {
            return bigA * Math.pow(nRef, alpha);
        }

        /** The predicted loss at size n. */
        public double loss(double n) {
            return bigA * Math.pow(n / nRef, -alpha) + b;
        }

        /** The size at which the law predicts {@code loss}; +infinity when {@code loss <= b}. */
        public double effectiveParameters(double loss) {
            if (!(loss > b)) {
                return Double.POSITIVE_INFINITY;
            }
            return nRef * Math.exp(Math.log(bigA / (loss - b)) / alpha);
        }
    }

    /** An estimate with its standard error and interval (NaN where undefined). */
    public record Estimate(double value, double stdError, double lower, double upper) {
        public boolean covers(double truth) {
            return truth >= lower && truth <= upper;
        }
    }

    /** Where an effective size lies. */
    public enum Status {
        /** Within the range of the fitted sizes. */
        INTERPOLATED,
        /** Below the smallest fitted size: an extrapolation. */
        BELOW_RANGE,
        /** Above the largest fitted size: an extrapolation. */
        ABOVE_RANGE,
        /** {@code L <= b}: the law never reaches the loss; N_eff is infinite. */
        UNDEFINED
    }

    /**
     * A fitted law.
     *
     * @param law the parameters at the optimum
     * @param covariance of (A, alpha, b), scaled by s^2 (NaN when there are no degrees of freedom)
     * @param points the fitted points
     * @param rss the residual sum of squares
     * @param confidence the level of the intervals (e.g. 0.95)
     */
    public record Fit(Law law, double[][] covariance, List<Point> points, double rss, double confidence) {
        public int dof() {
            return points.size() - 3;
        }

        /** s, the residual standard deviation (NaN without degrees of freedom). */
        public double residualStd() {
            return dof() > 0 ? Math.sqrt(rss / dof()) : Double.NaN;
        }

        /** The two-sided Student-t quantile of the intervals. */
        public double tQuantile() {
            return dof() > 0 ? new TDistribution(dof()).inverseCumulativeProbability(0.5 + confidence / 2) : Double.NaN;
        }

        public double minN() {
            return points.stream().mapToDouble(Point::n).min().orElse(Double.NaN);
        }

        public double maxN() {
            return points.stream().mapToDouble(Point::n).max().orElse(Double.NaN);
        }

        /** a, with an interval symmetric in log a. */
        public Estimate a() {
            double lnRef = Math.log(law.nRef());
            double[] g = {1 / law.bigA(), lnRef, 0};
            double seLog = Math.sqrt(quad(g));
            double a = law.a();
            double t = tQuantile();
            return new Estimate(a, a * seLog, a * Math.exp(-t * seLog), a * Math.exp(t * seLog));
        }

        public Estimate alpha() {
            return symmetric(law.alpha(), Math.sqrt(covariance[1][1]));
        }

        public Estimate b() {
            return symmetric(law.b(), Math.sqrt(covariance[2][2]));
        }

        private Estimate symmetric(double v, double se) {
            double t = tQuantile();
            return new Estimate(v, se, v - t * se, v + t * se);
        }

        /**
         * The effective size of a model of {@code n} parameters at {@code loss}: N_eff, N_eff / n and its
         * delta-method interval, and where it lies relative to the fitted sizes.
         */
        public Effective effective(double loss, double n) {
            Law l = law;
            if (!(loss > l.b())) {
                return new Effective(loss, n, Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Double.NaN,
                        Double.NaN, Status.UNDEFINED);
            }
            double nEff = l.effectiveParameters(loss);
            double se = Math.sqrt(quad(gradient(loss)));
            double t = tQuantile();
            double m = nEff / n;
            Status s = nEff < minN() * (1 - 1e-9) ? Status.BELOW_RANGE
                    : nEff > maxN() * (1 + 1e-9) ? Status.ABOVE_RANGE : Status.INTERPOLATED;
            return new Effective(loss, n, nEff, m, m * Math.exp(-t * se), m * Math.exp(t * se), s);
        }

        /**
         * {@link #effective(double, double)} for a loss that is itself an estimate: the mean of {@code seeds}
         * runs whose losses have sample variance {@code lossVariance}. The variance of the mean,
         * {@code lossVariance / seeds}, enters the delta method beside the law's covariance, and the interval's
         * t quantile takes the Welch-Satterthwaite degrees of freedom of the two parts (n - 3 for the law,
         * seeds - 1 for the run). With one seed there is no variance to add and this is the plain interval.
         */
        public Effective effective(double loss, double n, double lossVariance, int seeds) {
            Effective e = effective(loss, n);
            if (seeds < 2 || !(lossVariance >= 0) || e.status() == Status.UNDEFINED || dof() < 1) {
                return e;
            }
            Law l = law;
            double vLaw = quad(gradient(loss));
            double gLoss = -1 / (l.alpha() * (loss - l.b())); // d ln N_eff / d L
            double vRun = gLoss * gLoss * lossVariance / seeds;
            double v = vLaw + vRun;
            double df = v * v / (vLaw * vLaw / dof() + vRun * vRun / (seeds - 1));
            if (!Double.isFinite(vLaw) || !(v > 0) || !(df > 0)) {
                return e; // a singular covariance or no spread at all: nothing to combine
            }
            double t = new TDistribution(df).inverseCumulativeProbability(0.5 + confidence / 2);
            double se = Math.sqrt(v);
            double m = e.multiplier();
            return new Effective(loss, n, e.nEff(), m, m * Math.exp(-t * se), m * Math.exp(t * se), e.status());
        }

        /** The gradient of ln N_eff with respect to (A, alpha, b) at {@code loss}. */
        private double[] gradient(double loss) {
            Law l = law;
            double lnRatio = Math.log(l.bigA()) - Math.log(loss - l.b());
            return new double[] {1 / (l.alpha() * l.bigA()), -lnRatio / (l.alpha() * l.alpha()),
                    1 / (l.alpha() * (loss - l.b()))};
        }

        private double quad(double[] g) {
            double s = 0;
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    s += g[i] * covariance[i][j] * g[j];
                }
            }
            return s;
        }
    }

    /**
     * The effective size of a model.
     *
     * @param loss its loss
     * @param n its size
     * @param nEff the size the law gives that loss (+infinity when undefined)
     * @param multiplier nEff / n
     * @param lower the multiplier's interval from the covariance (delta method on log N_eff), NaN without one
     * @param upper its upper end
     * @param status where N_eff lies
     */
    public record Effective(double loss, double n, double nEff, double multiplier, double lower, double upper,
                            Status status) {}

    // ---------------------------------------------------------------- fitting

    /** Fits the law to {@code points} (at least three distinct sizes) with intervals at {@code confidence}. */
    public static Fit fit(List<Point> points, double confidence) {
        if (!(confidence > 0 && confidence < 1)) {
            throw new IllegalArgumentException("confidence must be in (0, 1), got " + confidence);
        }
        List<Point> pts = new ArrayList<>();
        for (Point p : points) {
            if (!(p.n() > 0) || !Double.isFinite(p.n()) || !Double.isFinite(p.loss())) {
                throw new IllegalArgumentException("point " + p.name() + ": size and loss must be finite, size > 0 (got "
                        + p.n() + ", " + p.loss() + ")");
            }
            pts.add(p);
        }
        long distinct = pts.stream().mapToDouble(Point::n).distinct().count();
        if (distinct < 3) {
            throw new IllegalArgumentException("the law has three parameters: it needs at least three distinct sizes,"
                    + " got " + distinct);
        }
        double nRef = Math.exp(pts.stream().mapToDouble(p -> Math.log(p.n())).average().orElseThrow());
        double[] x = pts.stream().mapToDouble(p -> p.n() / nRef).toArray();
        double[] y = pts.stream().mapToDouble(Point::loss).toArray();
        LeastSquaresOptimizer.Optimum best = null;
        for (double[] start : starts(x, y)) {
            LeastSquaresOptimizer.Optimum o = optimize(x, y, start);
            if (o != null && (best == null || cost(o) < cost(best))) {
                best = o;
            }
        }
        if (best == null) {
            throw new IllegalStateException("the scaling-law fit did not converge from any starting point");
        }
        return fitFrom(best, pts, nRef, confidence);
    }

    private static double cost(LeastSquaresOptimizer.Optimum o) {
        return o.getCost() * o.getCost();
    }

    private static Fit fitFrom(LeastSquaresOptimizer.Optimum o, List<Point> pts, double nRef, double confidence) {
        double[] p = o.getPoint().toArray();
        Law law = new Law(p[0], p[1], p[2], nRef);
        double rss = cost(o);
        int dof = pts.size() - 3;
        double[][] cov = new double[3][3];
        if (dof > 0) {
            try {
                RealMatrix c = o.getCovariances(1e-14);
                double s2 = rss / dof;
                for (int i = 0; i < 3; i++) {
                    for (int j = 0; j < 3; j++) {
                        cov[i][j] = c.getEntry(i, j) * s2;
                    }
                }
            } catch (RuntimeException singular) {
                fillNaN(cov);
            }
        } else {
            fillNaN(cov);
        }
        return new Fit(law, cov, List.copyOf(pts), rss, confidence);
    }

    private static void fillNaN(double[][] m) {
        for (double[] row : m) {
            Arrays.fill(row, Double.NaN);
        }
    }

    /** Starting points: log-log line fits of L - b0 for b0 from just below min L down to 0. */
    static List<double[]> starts(double[] x, double[] y) {
        double minL = Arrays.stream(y).min().orElseThrow();
        double maxL = Arrays.stream(y).max().orElseThrow();
        double span = Math.max(maxL - minL, 1e-6 * Math.max(1, Math.abs(minL)));
        List<Double> offsets = new ArrayList<>();
        for (double f : new double[] {0.01, 0.05, 0.2, 0.5, 1, 2}) {
            offsets.add(minL - f * span);
        }
        if (minL > 0) {
            for (double f : new double[] {0.9, 0.7, 0.5, 0.25, 0.0}) {
                offsets.add(minL * f);
            }
        }
        List<double[]> out = new ArrayList<>();
        for (double b0 : offsets) {
            if (!(b0 < minL)) {
                continue;
            }
            SimpleRegression r = new SimpleRegression();
            for (int i = 0; i < x.length; i++) {
                r.addData(Math.log(x[i]), Math.log(y[i] - b0));
            }
            double alpha0 = Math.min(ALPHA_MAX, Math.max(1e-3, -r.getSlope()));
            double a0 = Math.exp(r.getIntercept());
            if (Double.isFinite(alpha0) && Double.isFinite(a0) && a0 > 0) {
                out.add(new double[] {a0, alpha0, b0});
            }
        }
        return out;
    }

    /** Levenberg-Marquardt from {@code start}; null when it fails. */
    static LeastSquaresOptimizer.Optimum optimize(double[] x, double[] y, double[] start) {
        MultivariateJacobianFunction model = point -> {
            double a = point.getEntry(0);
            double alpha = point.getEntry(1);
            double b = point.getEntry(2);
            RealVector value = new ArrayRealVector(x.length);
            RealMatrix jac = new Array2DRowRealMatrix(x.length, 3);
            for (int i = 0; i < x.length; i++) {
                double p = Math.pow(x[i], -alpha);
                value.setEntry(i, a * p + b);
                jac.setEntry(i, 0, p);
                jac.setEntry(i, 1, -a * p * Math.log(x[i]));
                jac.setEntry(i, 2, 1);
            }
            return new Pair<>(value, jac);
        };
        LeastSquaresProblem problem = new LeastSquaresBuilder()
                .start(start)
                .model(model)
                .target(y)
                .lazyEvaluation(false)
                .maxEvaluations(20_000)
                .maxIterations(20_000)
                .parameterValidator(v -> {
                    RealVector c = v.copy();
                    c.setEntry(0, Math.min(1e12, Math.max(1e-12, c.getEntry(0))));
                    c.setEntry(1, Math.min(ALPHA_MAX, Math.max(ALPHA_MIN, c.getEntry(1))));
                    return c;
                })
                .build();
        try {
            LeastSquaresOptimizer.Optimum o = new LevenbergMarquardtOptimizer().optimize(problem);
            return Double.isFinite(o.getCost()) ? o : null;
        } catch (MathIllegalStateException | IllegalArgumentException e) {
            return null;
        }
    }

    // ---------------------------------------------------------------- bootstrap

    /**
     * Residual-bootstrap refits of a law.
     *
     * @param draws the refitted (A, alpha, b), one row each
     * @param failed refits that did not converge (left out)
     * @param confidence the level of the percentile intervals
     */
    public record Bootstrap(double[][] draws, int failed, double confidence, double nRef) {
        public int replicates() {
            return draws.length;
        }

        /** Percentile interval {lower, upper} of a (0), alpha (1) or b (2). */
        public double[] interval(int parameter) {
            double[] v = new double[draws.length];
            for (int i = 0; i < draws.length; i++) {
                v[i] = parameter == 0 ? draws[i][0] * Math.pow(nRef, draws[i][1]) : draws[i][parameter];
            }
            return percentiles(v, confidence);
        }

        /**
         * The multiplier N_eff / n over the refits: {lower, upper, share of refits with L <= b}. A refit in which
         * the loss is unreachable counts as an infinite multiplier, so an upper end of +infinity means more
         * than (1 - confidence) / 2 of the refits put the loss at or below their b.
         */
        public double[] multiplier(double loss, double n) {
            double[] v = new double[draws.length];
            int undefined = 0;
            for (int i = 0; i < draws.length; i++) {
                Law l = new Law(draws[i][0], draws[i][1], draws[i][2], nRef);
                v[i] = l.effectiveParameters(loss) / n;
                if (Double.isInfinite(v[i])) {
                    undefined++;
                }
            }
            double[] p = percentiles(v, confidence);
            return new double[] {p[0], p[1], draws.length == 0 ? Double.NaN : (double) undefined / draws.length};
        }
    }

    /**
     * {@code replicates} residual-bootstrap refits of {@code fit} (seeded, so reproducible). With fewer than
     * four points there are no residual degrees of freedom and no refits.
     */
    public static Bootstrap bootstrap(Fit fit, int replicates, long seed) {
        List<Point> pts = fit.points();
        int n = pts.size();
        double nRef = fit.law().nRef();
        if (n <= 3 || replicates <= 0) {
            return new Bootstrap(new double[0][], 0, fit.confidence(), nRef);
        }
        double[] x = pts.stream().mapToDouble(p -> p.n() / nRef).toArray();
        double[] yHat = new double[n];
        double[] res = new double[n];
        double inflate = Math.sqrt((double) n / (n - 3));
        for (int i = 0; i < n; i++) {
            yHat[i] = fit.law().loss(pts.get(i).n());
            res[i] = (pts.get(i).loss() - yHat[i]) * inflate;
        }
        double mean = Arrays.stream(res).average().orElse(0);
        for (int i = 0; i < n; i++) {
            res[i] -= mean; // centred, so the refits scatter around the fit
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        double[] start = {fit.law().bigA(), fit.law().alpha(), fit.law().b()};
        List<double[]> draws = new ArrayList<>();
        int failed = 0;
        double[] y = new double[n];
        for (int r = 0; r < replicates; r++) {
            for (int i = 0; i < n; i++) {
                y[i] = yHat[i] + res[rnd.nextInt(n)];
            }
            LeastSquaresOptimizer.Optimum o = optimize(x, y, start);
            if (o == null) {
                for (double[] s : starts(x, y)) {
                    LeastSquaresOptimizer.Optimum c = optimize(x, y, s);
                    if (c != null && (o == null || cost(c) < cost(o))) {
                        o = c;
                    }
                }
            }
            if (o == null) {
                failed++;
            } else {
                draws.add(o.getPoint().toArray());
            }
        }
        return new Bootstrap(draws.toArray(new double[0][]), failed, fit.confidence(), nRef);
    }

    /** The two-sided percentile interval of {@code v} at {@code confidence} (linear interpolation). */
    static double[] percentiles(double[] v, double confidence) {
        if (v.length == 0) {
            return new double[] {Double.NaN, Double.NaN};
        }
        double[] s = v.clone();
        Arrays.sort(s);
        double lo = (1 - confidence) / 2;
        return new double[] {quantile(s, lo), quantile(s, 1 - lo)};
    }

    private static double quantile(double[] sorted, double q) {
        double pos = q * (sorted.length - 1);
        int i = (int) Math.floor(pos);
        int j = Math.min(sorted.length - 1, i + 1);
        double f = pos - i;
        if (f == 0 || sorted[i] == sorted[j]) {
            return sorted[i];
        }
        return sorted[i] + f * (sorted[j] - sorted[i]);
    }
}
