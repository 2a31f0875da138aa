package io.leviathan.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * {@code ./leviathan fit DIR}: fits the scaling law to the dense runs of a sweep folder, places every
 * Leviathan run at its effective size, and writes {@code DIR/report.md}, {@code DIR/fit.json} and
 * {@code DIR/scaling.png} (each to a temporary file first, then renamed).
 *
 * <p><b>What N counts.</b> {@link Params#TOTAL} (the default): every parameter, input table or generator
 * and output head included, as the paper's headline comparison (a 421M Leviathan model matching a dense one
 * of about 725M) counts total parameters. {@link Params#NON_EMBEDDING}: everything but the input stage (the
 * dense table or the Leviathan generator), i.e. body, final norm and output head.
 */
public final class ScalingReport {
    static {
        System.setProperty("java.awt.headless", "true"); // before any AWT class loads
    }

    private ScalingReport() {}

    /** What N counts. */
    public enum Params {
        TOTAL("total"), NON_EMBEDDING("non-embedding");

        private final String label;

        Params(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Params parse(String s) {
            for (Params p : values()) {
                if (p.label.equals(s)) {
                    return p;
                }
            }
            throw new IllegalArgumentException("--params must be total or non-embedding, got '" + s + "'");
        }

        long of(JsonNode result) {
            JsonNode p = result.path("parameters");
            return this == TOTAL ? p.path("total").asLong() : p.path("non_embedding").asLong();
        }
    }

    /**
     * @param params what N counts
     * @param bootstrap residual-bootstrap replicates (0 = none: only covariance intervals)
     * @param seed the bootstrap's seed
     * @param confidence the intervals' level
     * @param command the command line, recorded in the report
     */
    public record Options(Params params, int bootstrap, long seed, double confidence, String command) {
        public static Options defaults() {
            // t intervals by default: with five dense points the residual bootstrap's nominal 95 % multiplier
            // interval covers the truth far less often (ScalingFitTest measures both)
            return new Options(Params.TOTAL, 0, 1, 0.95, null);
        }
    }

    /** One run placed against the law. */
    public record Row(JsonNode result, String run, String family, String variant, String twin, long n, double loss,
                      ScalingFit.Effective effective, double[] bootstrap, double tokensPerSecond,
                      double throughputRatio) {}

    /** What {@link #write} produced. */
    public record Outcome(Path report, Path json, Path png, ScalingFit.Fit fit, ScalingFit.Bootstrap bootstrap,
                          List<Row> rows) {}

    /** Fits the runs in {@code dir} and writes the three files. */
    public static Outcome write(Path dir, Options opt, PrintStream out) {
        List<JsonNode> results = Sweep.readResults(dir);
        if (results.isEmpty()) {
            throw new IllegalArgumentException(dir + " holds no finished runs (no <run>/" + Sweep.RESULT + "); run"
                    + " ./leviathan sweep first");
        }
        List<ScalingFit.Point> dense = new ArrayList<>();
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode r : results) {
            byName.put(r.path("run").asText(), r);
            if ("untied".equals(ArmComparison.baseline(r)) && !ArmComparison.probe(r)
                    && Double.isFinite(r.path("val_loss").asDouble(Double.NaN))) {
                dense.add(new ScalingFit.Point(r.path("run").asText(), opt.params().of(r), r.path("val_loss").asDouble()));
            }
        }
        if (dense.size() < 3) {
            throw new IllegalArgumentException(dir + " holds " + dense.size() + " finished untied dense run"
                    + (dense.size() == 1 ? "" : "s") + "; the law has three parameters and needs at least three"
                    + " (four for any uncertainty)");
        }
        ScalingFit.Fit fit = ScalingFit.fit(dense, opt.confidence());
        ScalingFit.Bootstrap boot = opt.bootstrap() > 0 ? ScalingFit.bootstrap(fit, opt.bootstrap(), opt.seed()) : null;

        List<Row> rows = new ArrayList<>();
        for (JsonNode r : results) {
            double loss = r.path("val_loss").asDouble(Double.NaN);
            long n = opt.params().of(r);
            // the untied dense runs are this law's points; every other arm is placed against it
            String family = r.path("variant").asText().equals(SweepConfig.DENSE) ? "dense" : r.path("variant").asText();
            ScalingFit.Effective eff = Double.isFinite(loss) && n > 0 ? fit.effective(loss, n) : null;
            double[] b = boot != null && eff != null ? boot.multiplier(loss, n) : null;
            double tps = r.path("tokens_per_s").asDouble(Double.NaN);
            double ratio = Double.NaN;
            JsonNode twin = byName.get(r.path("twin").asText());
            if (!family.equals("dense") && twin != null) {
                ratio = tps / twin.path("tokens_per_s").asDouble(Double.NaN);
            }
            rows.add(new Row(r, r.path("run").asText(), family, r.path("variant").asText(), r.path("twin").asText(), n,
                    loss, eff, b, tps, ratio));
        }
        rows.sort((x, y) -> { // by dense size, each dense run followed by its twins
            int c = Long.compare(twinSize(x, byName), twinSize(y, byName));
            if (c == 0) {
                c = x.twin().compareTo(y.twin());
            }
            if (c == 0) {
                c = Boolean.compare(!x.family().equals("dense"), !y.family().equals("dense"));
            }
            return c != 0 ? c : x.run().compareTo(y.run());
        });

        Path report = dir.resolve("report.md");
        Path json = dir.resolve("fit.json");
        Path png = dir.resolve("scaling.png");
        JsonNode sweep = readSweep(dir);
        Map<String, ScalingFit.Fit> laws = ArmComparison.laws(results, opt.params(), opt.confidence());
        List<ArmComparison.Entry> arms = ArmComparison.entries(results, laws, opt.params());
        ObjectNode fitJson = json(fit, boot, rows, opt, sweep);
        fitJson.set("arms", ArmComparison.json(arms));
        Sweep.writeAtomically(json, fitJson.toPrettyString() + "\n");
        Sweep.writeAtomically(report, markdown(dir, fit, boot, rows, opt, sweep)
                + ArmComparison.markdown(arms, laws, opt.params(), opt.confidence()));
        plot(png, fit, rows, opt);
        ArmComparison.plotFlops(dir.resolve("loss-vs-flops.png"), results);
        if (out != null) {
            out.print(summary(fit, boot, rows, opt));
            out.println("wrote " + report + ", " + json + ", " + png);
        }
        return new Outcome(report, json, png, fit, boot, List.copyOf(rows));
    }

    private static long twinSize(Row r, Map<String, JsonNode> byName) {
        JsonNode t = byName.get(r.twin());
        return t != null ? t.path("parameters").path("total").asLong() : r.result().path("parameters").path("total").asLong();
    }

    private static JsonNode readSweep(Path dir) {
        Path f = dir.resolve(Sweep.SWEEP_FILE);
        try {
            return Files.isRegularFile(f) ? Sweep.JSON.readTree(f.toFile()) : null;
        } catch (IOException e) {
            return null;
        }
    }

    // ---------------------------------------------------------------- text

    /** What makes the fitted parameters hard to read, in words (empty when nothing does). */
    static List<String> warnings(ScalingFit.Fit fit) {
        List<String> w = new ArrayList<>();
        double alpha = fit.law().alpha();
        if (alpha <= ScalingFit.ALPHA_MIN * 1.01 || alpha >= ScalingFit.ALPHA_MAX * 0.99) {
            w.add("alpha reached its bound (" + fmt(alpha) + "): the dense losses show no curvature in log N, so a,"
                    + " alpha and b are not separately determined (the law degenerates to a straight line in log N)."
                    + " The effective sizes still interpolate between the dense points, but the parameters mean"
                    + " little; train longer or widen the ladder.");
        }
        if (fit.law().b() < 0) {
            w.add("b < 0: the fitted irreducible loss is negative, which no loss can be; b is not determined by"
                    + " these points.");
        }
        if (fit.dof() > 0 && Double.isNaN(fit.covariance()[0][0])) {
            w.add("the covariance is singular at the optimum: no covariance intervals (the bootstrap's remain).");
        }
        if (fit.dof() == 1) {
            w.add("one residual degree of freedom (four dense points): covariance intervals use t = "
                    + fmt(fit.tQuantile()) + " and are wide; a fifth dense size helps a lot.");
        }
        return w;
    }

    static String statusText(ScalingFit.Effective e) {
        if (e == null) {
            return "no loss";
        }
        return switch (e.status()) {
            case INTERPOLATED -> "within the dense range";
            case BELOW_RANGE -> "extrapolated (below the smallest dense size)";
            case ABOVE_RANGE -> "extrapolated (above the largest dense size)";
            case UNDEFINED -> "undefined: L <= b (below the fitted irreducible loss; N_eff infinite)";
        };
    }

    private static String summary(ScalingFit.Fit fit, ScalingFit.Bootstrap boot, List<Row> rows, Options opt) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "L(N) = a N^-alpha + b over %d dense runs (N = %s parameters):%n",
                fit.points().size(), opt.params().label()));
        sb.append(String.format(Locale.ROOT, "  a = %s, alpha = %s, b = %s (%.0f%% intervals, %d residual dof)%n",
                est(fit.a()), est(fit.alpha()), est(fit.b()), 100 * opt.confidence(), fit.dof()));
        for (String w : warnings(fit)) {
            sb.append("  warning: ").append(w).append(System.lineSeparator());
        }
        for (Row r : rows) {
            if (r.family().equals("dense") || r.effective() == null) {
                continue;
            }
            ScalingFit.Effective e = r.effective();
            sb.append(String.format(Locale.ROOT, "  %-34s L %.4f  N %s  N_eff %s  x%s %s  %s%n", r.run(), r.loss(),
                    count(r.n()), e.status() == ScalingFit.Status.UNDEFINED ? "inf" : count(e.nEff()),
                    e.status() == ScalingFit.Status.UNDEFINED ? "inf" : fmt(e.multiplier()),
                    interval(r.bootstrap() != null ? r.bootstrap()[0] : e.lower(),
                            r.bootstrap() != null ? r.bootstrap()[1] : e.upper()), statusText(e)));
        }
        return sb.toString();
    }

    private static String markdown(Path dir, ScalingFit.Fit fit, ScalingFit.Bootstrap boot, List<Row> rows,
                                   Options opt, JsonNode sweep) {
        StringBuilder sb = new StringBuilder();
        String pct = String.format(Locale.ROOT, "%.0f%%", 100 * opt.confidence());
        sb.append("# Scaling-law report\n\n");
        if (opt.command() != null) {
            sb.append("Fit: `").append(opt.command()).append("`  \n");
        }
        if (sweep != null && sweep.hasNonNull("command")) {
            sb.append("Sweep: `").append(sweep.get("command").asText()).append("`  \n");
        }
        sb.append("Runs: `").append(dir.toAbsolutePath().normalize()).append("`");
        if (sweep != null && sweep.has("train_config")) {
            JsonNode t = sweep.get("train_config");
            sb.append(String.format(Locale.ROOT, "  \nTraining (every run): %,d steps x %,d tokens (batch %d x seq %d x accum %d)"
                            + " = %,d tokens, lr %s (cosine to %s, warmup %s), seed %d, %s; validation loss over %s tokens"
                            + " of the validation split, vocabulary %,d",
                    t.path("steps").asLong(), t.path("batch").asLong() * t.path("seq").asLong() * t.path("accum").asLong(),
                    t.path("batch").asInt(), t.path("seq").asInt(), t.path("accum").asInt(),
                    t.path("steps").asLong() * t.path("batch").asLong() * t.path("seq").asLong() * t.path("accum").asLong(),
                    t.path("lr").asText(), t.path("minLr").isNull() ? "lr/10" : t.path("minLr").asText(),
                    t.path("warmup").isNull() ? "5%" : t.path("warmup").asText(), t.path("seed").asLong(),
                    t.path("device").asText(), sweep.path("eval_tokens").asLong() == 0 ? "all"
                            : String.format(Locale.ROOT, "%,d", sweep.path("eval_tokens").asLong()),
                    sweep.path("vocab").asLong()));
        }
        sb.append("\n\n## The law\n\n");
        sb.append("L(N) = a N^(-alpha) + b, fitted by Levenberg-Marquardt to the ").append(fit.points().size())
                .append(" dense runs' validation losses, with N = **").append(opt.params().label())
                .append(" parameters**");
        sb.append(opt.params() == Params.TOTAL
                ? " (input table or generator and output head included; the paper's headline compares total"
                  + " parameters; `--params non-embedding` counts everything but the input stage).\n\n"
                : " (everything but the input stage: the dense table or the Leviathan generator is left out;"
                  + " the default, `--params total`, counts every parameter as the paper's headline does).\n\n");
        sb.append("| parameter | estimate | std. error | ").append(pct).append(" interval (covariance, t with ")
                .append(fit.dof()).append(" dof) |");
        if (boot != null && boot.replicates() > 0) {
            sb.append(" ").append(pct).append(" interval (residual bootstrap, ").append(boot.replicates())
                    .append(" refits) |");
        }
        sb.append("\n|---|---|---|---|").append(boot != null && boot.replicates() > 0 ? "---|" : "").append("\n");
        String[] names = {"a", "alpha", "b"};
        ScalingFit.Estimate[] ests = {fit.a(), fit.alpha(), fit.b()};
        for (int i = 0; i < 3; i++) {
            sb.append("| ").append(names[i]).append(" | ").append(fmt(ests[i].value())).append(" | ")
                    .append(fmt(ests[i].stdError())).append(" | ").append(interval(ests[i].lower(), ests[i].upper()))
                    .append(" |");
            if (boot != null && boot.replicates() > 0) {
                double[] iv = boot.interval(i);
                sb.append(" ").append(interval(iv[0], iv[1])).append(" |");
            }
            sb.append("\n");
        }
        sb.append(String.format(Locale.ROOT, "%nResidual standard deviation %s (RSS %s, %d points, %d degrees of freedom)."
                        + " Dense sizes fitted: %s to %s parameters.%s%n",
                fmt(fit.residualStd()), fmt(fit.rss()), fit.points().size(), fit.dof(), count(fit.minN()),
                count(fit.maxN()), fit.dof() <= 0 ? " With no residual degrees of freedom the intervals are undefined." : ""));
        for (String w : warnings(fit)) {
            sb.append("\n**Warning:** ").append(w).append("\n");
        }
        if (boot != null && boot.failed() > 0) {
            sb.append(String.format(Locale.ROOT, "%d bootstrap refits did not converge and are left out.%n", boot.failed()));
        }

        sb.append("\n## Runs\n\n");
        sb.append("N_eff = (a / (L - b))^(1/alpha) is the size of a dense model the law predicts to reach the same loss;"
                + " the multiplier is N_eff / N. Its interval is the covariance's (delta method on log N_eff, t with"
                + " n - 3 degrees of freedom; the default), or the residual bootstrap's percentile interval with"
                + " `--bootstrap B` (with five dense points that one covers the truth less often than its nominal level;"
                + " see docs/scaling.md). Throughput is the"
                + " median training step's tokens/s; 'vs dense' is a Leviathan run's tokens/s over its dense twin's"
                + " (the paper reports a 23-51% throughput cost).\n\n");
        sb.append("| run | variant | D | depth | N (").append(opt.params().label()).append(") | total | non-embedding |"
                + " tokens | val loss | L(N) fit | N_eff | multiplier [").append(pct).append("] | N_eff status |"
                + " tokens/s | vs dense |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Row r : rows) {
            JsonNode res = r.result();
            ScalingFit.Effective e = r.effective();
            boolean undefined = e != null && e.status() == ScalingFit.Status.UNDEFINED;
            double lo = r.bootstrap() != null ? r.bootstrap()[0] : e != null ? e.lower() : Double.NaN;
            double hi = r.bootstrap() != null ? r.bootstrap()[1] : e != null ? e.upper() : Double.NaN;
            sb.append("| ").append(r.run())
                    .append(" | ").append(r.variant())
                    .append(" | ").append(res.path("d_model").asInt())
                    .append(" | ").append(res.path("depth").asInt())
                    .append(" | ").append(count(r.n()))
                    .append(" | ").append(count(res.path("parameters").path("total").asLong()))
                    .append(" | ").append(count(res.path("parameters").path("non_embedding").asLong()))
                    .append(" | ").append(count(res.path("tokens_seen").asLong()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.4f", r.loss()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.4f", fit.law().loss(r.n())))
                    .append(" | ").append(e == null ? "-" : undefined ? "inf" : count(e.nEff()))
                    .append(" | ").append(e == null ? "-" : undefined ? "inf" : fmt(e.multiplier()) + " " + interval(lo, hi))
                    .append(" | ").append(statusText(e))
                    .append(" | ").append(Double.isFinite(r.tokensPerSecond())
                            ? String.format(Locale.ROOT, "%,.0f", r.tokensPerSecond()) : "-")
                    .append(" | ").append(Double.isFinite(r.throughputRatio())
                            ? String.format(Locale.ROOT, "%.2f (%+.0f%%)", r.throughputRatio(), 100 * (r.throughputRatio() - 1))
                            : "-")
                    .append(" |\n");
        }
        List<Row> undefinedRows = rows.stream().filter(r -> r.effective() != null
                && r.effective().status() == ScalingFit.Status.UNDEFINED).toList();
        sb.append("\n## Reading it\n\n");
        sb.append("- Dense rows are the fitted points; their multiplier says how far each lies off the curve (1 = on"
                + " it).\n");
        sb.append("- A Leviathan multiplier above 1 means it reached a loss the law gives a larger dense model. The"
                + " paper finds 1.47-2.11 (total parameters, 60M-420M models, o200k vocabulary).\n");
        sb.append("- 'extrapolated' marks N_eff outside the fitted dense sizes: the law is used beyond its data.\n");
        if (!undefinedRows.isEmpty()) {
            sb.append("- **Undefined N_eff**: ").append(String.join(", ", undefinedRows.stream().map(Row::run).toList()))
                    .append(" reached a loss at or below the fitted b, which no dense model of any size reaches under"
                            + " this law. Usually the fit's b is poorly determined (too few or too noisy dense points);"
                            + " widen the ladder or lengthen training rather than reading this as an infinite gain.\n");
        }
        sb.append("- An interval reaching `inf` means that in more than ").append(String.format(Locale.ROOT, "%.1f%%",
                50 * (1 - opt.confidence()))).append(" of the bootstrap refits the loss lay at or below b.\n");
        sb.append("- This table's intervals leave out each run's own seed noise; the next section's include it where"
                + " an arm ran with two or more seeds.\n");
        sb.append("\n![scaling](scaling.png)\n");
        return sb.toString();
    }

    private static ObjectNode json(ScalingFit.Fit fit, ScalingFit.Bootstrap boot, List<Row> rows, Options opt,
                                   JsonNode sweep) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("command", opt.command());
        o.put("sweep_command", sweep != null ? sweep.path("command").asText(null) : null);
        o.put("params", opt.params().label());
        o.put("confidence", opt.confidence());
        ObjectNode law = o.putObject("law");
        law.put("formula", "L(N) = a * N^(-alpha) + b");
        putEstimate(law.putObject("a"), fit.a(), boot, 0);
        putEstimate(law.putObject("alpha"), fit.alpha(), boot, 1);
        putEstimate(law.putObject("b"), fit.b(), boot, 2);
        law.put("n_ref", fit.law().nRef());
        law.put("A_at_n_ref", fit.law().bigA());
        ArrayNode cov = law.putArray("covariance_A_alpha_b");
        for (double[] row : fit.covariance()) {
            ArrayNode r = cov.addArray();
            for (double v : row) {
                num(r, v);
            }
        }
        law.put("rss", fit.rss());
        law.put("points", fit.points().size());
        law.put("dof", fit.dof());
        putNum(law, "residual_std", fit.residualStd());
        putNum(law, "t_quantile", fit.tQuantile());
        law.put("min_n", fit.minN());
        law.put("max_n", fit.maxN());
        ArrayNode warn = law.putArray("warnings");
        warnings(fit).forEach(warn::add);
        ObjectNode b = o.putObject("bootstrap");
        b.put("replicates", boot == null ? 0 : boot.replicates());
        b.put("failed", boot == null ? 0 : boot.failed());
        b.put("seed", opt.seed());
        ArrayNode runs = o.putArray("runs");
        for (Row r : rows) {
            ObjectNode n = runs.addObject();
            n.put("run", r.run());
            n.put("family", r.family());
            n.put("variant", r.variant());
            n.put("twin", r.twin());
            n.put("n", r.n());
            n.put("total", r.result().path("parameters").path("total").asLong());
            n.put("non_embedding", r.result().path("parameters").path("non_embedding").asLong());
            n.put("depth", r.result().path("depth").asInt());
            putNum(n, "val_loss", r.loss());
            putNum(n, "fitted_loss", fit.law().loss(r.n()));
            ScalingFit.Effective e = r.effective();
            if (e != null) {
                putNum(n, "n_eff", e.nEff());
                putNum(n, "multiplier", e.multiplier());
                putNum(n, "multiplier_lower_delta", e.lower());
                putNum(n, "multiplier_upper_delta", e.upper());
                n.put("status", e.status().name().toLowerCase(Locale.ROOT));
                n.put("undefined", e.status() == ScalingFit.Status.UNDEFINED);
                n.put("extrapolated", e.status() == ScalingFit.Status.BELOW_RANGE || e.status() == ScalingFit.Status.ABOVE_RANGE);
            }
            if (r.bootstrap() != null) {
                putNum(n, "multiplier_lower_bootstrap", r.bootstrap()[0]);
                putNum(n, "multiplier_upper_bootstrap", r.bootstrap()[1]);
                putNum(n, "bootstrap_undefined_share", r.bootstrap()[2]);
            }
            putNum(n, "tokens_per_s", r.tokensPerSecond());
            putNum(n, "throughput_ratio_vs_dense", r.throughputRatio());
            putNum(n, "throughput_overhead", Double.isFinite(r.throughputRatio()) ? 1 - r.throughputRatio() : Double.NaN);
        }
        return o;
    }

    private static void putEstimate(ObjectNode o, ScalingFit.Estimate e, ScalingFit.Bootstrap boot, int which) {
        putNum(o, "value", e.value());
        putNum(o, "std_error", e.stdError());
        putNum(o, "lower", e.lower());
        putNum(o, "upper", e.upper());
        if (boot != null && boot.replicates() > 0) {
            double[] iv = boot.interval(which);
            putNum(o, "lower_bootstrap", iv[0]);
            putNum(o, "upper_bootstrap", iv[1]);
        }
    }

    /** JSON has no infinity or NaN: infinities as strings "inf"/"-inf", NaN as null. */
    private static void putNum(ObjectNode o, String key, double v) {
        if (Double.isNaN(v)) {
            o.putNull(key);
        } else if (Double.isInfinite(v)) {
            o.put(key, v > 0 ? "inf" : "-inf");
        } else {
            o.put(key, v);
        }
    }

    private static void num(ArrayNode a, double v) {
        if (Double.isFinite(v)) {
            a.add(v);
        } else {
            a.addNull();
        }
    }

    // ---------------------------------------------------------------- the plot

    private static void plot(Path png, ScalingFit.Fit fit, List<Row> rows, Options opt) {
        XYChart chart = new XYChartBuilder().width(1000).height(650)
                .title(String.format(Locale.ROOT, "L(N) = %s N^-%s + %s", fmt(fit.law().a()), fmt(fit.law().alpha()),
                        fmt(fit.law().b())))
                .xAxisTitle("N (" + opt.params().label() + " parameters, log scale)")
                .yAxisTitle("validation loss (nats)").build();
        XYStyler s = chart.getStyler();
        s.setXAxisLogarithmic(true);
        s.setXAxisLogarithmicDecadeOnly(false); // a ladder often spans less than a decade
        s.setXAxisDecimalPattern("0E0");
        s.setLegendPosition(Styler.LegendPosition.OutsideE); // inside, it hides the points in its corner
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(225, 225, 225));
        s.setAntiAlias(true);
        s.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        s.setMarkerSize(9);

        double lo = fit.minN();
        double hi = fit.maxN();
        List<double[]> dense = new ArrayList<>();
        Map<String, List<double[]>> atEff = new LinkedHashMap<>();
        Map<String, List<double[]>> atN = new LinkedHashMap<>();
        for (Row r : rows) {
            // A budget probe trained on another token budget: the law says nothing about it (loss-vs-flops.png
            // shows it).
            if (!Double.isFinite(r.loss()) || ArmComparison.probe(r.result())) {
                continue;
            }
            if (r.family().equals("dense")) {
                dense.add(new double[] {r.n(), r.loss()});
                continue;
            }
            atN.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(new double[] {r.n(), r.loss()});
            lo = Math.min(lo, r.n());
            hi = Math.max(hi, r.n());
            ScalingFit.Effective e = r.effective();
            if (e != null && e.status() != ScalingFit.Status.UNDEFINED && Double.isFinite(e.nEff()) && e.nEff() > 0) {
                atEff.computeIfAbsent(r.variant(), k -> new ArrayList<>()).add(new double[] {e.nEff(), r.loss()});
                lo = Math.min(lo, e.nEff());
                hi = Math.max(hi, e.nEff());
            }
        }
        lo /= 1.3;
        hi *= 1.3;
        int k = 120;
        double[] cx = new double[k];
        double[] cy = new double[k];
        for (int i = 0; i < k; i++) {
            cx[i] = lo * Math.pow(hi / lo, (double) i / (k - 1));
            cy[i] = fit.law().loss(cx[i]);
        }
        XYSeries curve = chart.addSeries("fit over the dense runs", cx, cy);
        curve.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
        curve.setMarker(SeriesMarkers.NONE);
        curve.setLineColor(new Color(90, 90, 90));
        curve.setLineStyle(new BasicStroke(1.5f));
        XYSeries d = chart.addSeries("dense", column(dense, 0), column(dense, 1));
        d.setMarker(SeriesMarkers.CIRCLE);
        d.setMarkerColor(ArmComparison.DENSE_COLOUR);
        int c = 0;
        for (String v : atN.keySet()) {
            Color col = ArmComparison.colour(c++);
            List<double[]> eff = atEff.get(v);
            if (eff != null) {
                XYSeries se = chart.addSeries(v + " at N_eff", column(eff, 0), column(eff, 1));
                se.setMarker(SeriesMarkers.DIAMOND);
                se.setMarkerColor(col);
            }
            List<double[]> act = atN.get(v);
            XYSeries sa = chart.addSeries(v + " at its own N", column(act, 0), column(act, 1));
            sa.setMarker(SeriesMarkers.CROSS);
            sa.setMarkerColor(new Color(col.getRed(), col.getGreen(), col.getBlue(), 140));
        }
        try {
            Sweep.writeAtomically(png, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot render " + png + ": " + e.getMessage(), e);
        }
    }

    private static double[] column(List<double[]> pts, int i) {
        return pts.stream().mapToDouble(p -> p[i]).toArray();
    }

    // ---------------------------------------------------------------- formatting

    static String fmt(double v) {
        if (Double.isNaN(v)) {
            return "n/a";
        }
        if (Double.isInfinite(v)) {
            return v > 0 ? "inf" : "-inf";
        }
        double a = Math.abs(v);
        if (a != 0 && (a >= 1e5 || a < 1e-3)) {
            return String.format(Locale.ROOT, "%.3e", v);
        }
        return String.format(Locale.ROOT, "%.4g", v);
    }

    static String interval(double lo, double hi) {
        if (Double.isNaN(lo) && Double.isNaN(hi)) {
            return "[n/a]";
        }
        return "[" + fmt(lo) + ", " + fmt(hi) + "]";
    }

    private static String est(ScalingFit.Estimate e) {
        return fmt(e.value()) + " " + interval(e.lower(), e.upper());
    }

    /** A parameter count as 1.23M, 45.6k. */
    static String count(double n) {
        if (!Double.isFinite(n)) {
            return fmt(n);
        }
        double a = Math.abs(n);
        if (a >= 1e9) {
            return String.format(Locale.ROOT, "%.3gB", n / 1e9);
        }
        if (a >= 1e6) {
            return String.format(Locale.ROOT, "%.3gM", n / 1e6);
        }
        if (a >= 1e3) {
            return String.format(Locale.ROOT, "%.3gk", n / 1e3);
        }
        return String.format(Locale.ROOT, "%.0f", n);
    }
}
