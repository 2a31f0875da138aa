package io.leviathan.study;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.Color;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The study's comparison of every non-baseline arm (the Leviathan twins, the tied-deep control) with both
 * baseline families: a law per family (untied dense, tied dense; runs at the sweep's budget only), and per
 * (arm, size) over its seeds: the mean loss, its multiplier N_eff / N against each family's law with a
 * t interval that includes the seeds' spread, N_eff / N_twin beside it (N_twin: that family's run of the same
 * size), the loss difference to the twin paired by seed, and whether N_eff is interpolated. Budget probes
 * (sizes with their own budget) get the loss difference only. Only interpolated multipliers enter the
 * headline ranges.
 */
final class ArmComparison {
    private ArmComparison() {}

    static final List<String> BASELINES = List.of("untied", "tied");

    /** One (arm, size) against one baseline family. */
    record Entry(String arm, String size, boolean probe, long tokens, List<String> runs, long n, double loss,
                 double lossSd, String baseline, long nTwin, double twinLoss, double diff, double diffSd, int pairs,
                 ScalingFit.Effective eff) {
        int seeds() {
            return runs.size();
        }
    }

    /** The baseline family of a result ("untied", "tied") or null; results from before the field count by variant. */
    static String baseline(JsonNode r) {
        if (r.hasNonNull("baseline")) {
            return r.get("baseline").asText();
        }
        return Sweep.baseline(r.path("variant").asText(""));
    }

    static boolean probe(JsonNode r) {
        return r.path("budget_probe").asBoolean(false);
    }

    /** The law of each family with at least three sizes at the sweep's budget (four for intervals). */
    static Map<String, ScalingFit.Fit> laws(List<JsonNode> results, ScalingReport.Params params, double confidence) {
        Map<String, ScalingFit.Fit> laws = new LinkedHashMap<>();
        for (String b : BASELINES) {
            List<ScalingFit.Point> pts = new ArrayList<>();
            for (JsonNode r : results) {
                double loss = r.path("val_loss").asDouble(Double.NaN);
                if (b.equals(baseline(r)) && !probe(r) && Double.isFinite(loss)) {
                    pts.add(new ScalingFit.Point(r.path("run").asText(), params.of(r), loss));
                }
            }
            if (pts.stream().mapToDouble(ScalingFit.Point::n).distinct().count() >= 3) {
                laws.put(b, ScalingFit.fit(pts, confidence));
            }
        }
        return laws;
    }

    static List<Entry> entries(List<JsonNode> results, Map<String, ScalingFit.Fit> laws, ScalingReport.Params params) {
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        Map<String, List<JsonNode>> groups = new LinkedHashMap<>();
        for (JsonNode r : results) {
            byName.put(r.path("run").asText(), r);
            if (baseline(r) == null && Double.isFinite(r.path("val_loss").asDouble(Double.NaN))) {
                groups.computeIfAbsent(r.path("variant").asText() + "\u0000" + r.path("size").asText(),
                        k -> new ArrayList<>()).add(r);
            }
        }
        List<Entry> out = new ArrayList<>();
        for (List<JsonNode> g : groups.values()) {
            JsonNode first = g.getFirst();
            double[] losses = g.stream().mapToDouble(r -> r.path("val_loss").asDouble()).toArray();
            double mean = mean(losses);
            double sd = sd(losses, mean);
            long n = params.of(first);
            for (String b : BASELINES) {
                String twinKey = b.equals("untied") ? "twin" : "tied_twin";
                List<Double> diffs = new ArrayList<>();
                List<Double> twinLosses = new ArrayList<>();
                long nTwin = 0;
                for (JsonNode r : g) {
                    JsonNode t = byName.get(r.path(twinKey).asText(""));
                    if (t != null && Double.isFinite(t.path("val_loss").asDouble(Double.NaN))) {
                        diffs.add(r.path("val_loss").asDouble() - t.path("val_loss").asDouble());
                        twinLosses.add(t.path("val_loss").asDouble());
                        nTwin = params.of(t);
                    }
                }
                ScalingFit.Fit law = laws.get(b);
                if (diffs.isEmpty() && law == null) {
                    continue;
                }
                double[] d = diffs.stream().mapToDouble(Double::doubleValue).toArray();
                double dMean = d.length == 0 ? Double.NaN : mean(d);
                double twinMean = twinLosses.isEmpty() ? Double.NaN
                        : mean(twinLosses.stream().mapToDouble(Double::doubleValue).toArray());
                ScalingFit.Effective eff = law == null || probe(first) ? null
                        : law.effective(mean, n, sd * sd, g.size());
                out.add(new Entry(first.path("variant").asText(), first.path("size").asText(), probe(first),
                        first.path("tokens_seen").asLong(), g.stream().map(r -> r.path("run").asText()).toList(), n,
                        mean, sd, b, nTwin, twinMean, dMean, sd(d, dMean), d.length, eff));
            }
        }
        return out;
    }

    /** The markdown section: headline ranges, then one row per (arm, size, baseline). */
    static String markdown(List<Entry> entries, Map<String, ScalingFit.Fit> laws, ScalingReport.Params params,
                           double confidence) {
        StringBuilder sb = new StringBuilder();
        String pct = String.format(Locale.ROOT, "%.0f%%", 100 * confidence);
        sb.append("\n## Arms against both baselines\n\n");
        if (laws.isEmpty()) {
            sb.append("No baseline family has three sizes at the sweep's budget: no law to compare with.\n");
        }
        for (Map.Entry<String, ScalingFit.Fit> e : laws.entrySet()) {
            ScalingFit.Fit f = e.getValue();
            sb.append(String.format(Locale.ROOT, "- %s dense law (%d runs, %d dof): L(N) = %s N^-%s + %s, sizes %s to %s%n",
                    e.getKey(), f.points().size(), f.dof(), ScalingReport.fmt(f.law().a()),
                    ScalingReport.fmt(f.law().alpha()), ScalingReport.fmt(f.law().b()), ScalingReport.count(f.minN()),
                    ScalingReport.count(f.maxN())));
        }
        sb.append("\n**Headline ranges** (interpolated N_eff only; extrapolated values and budget probes never enter):\n\n");
        Map<String, List<Entry>> byArmLaw = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.eff() != null) {
                byArmLaw.computeIfAbsent(e.arm() + " vs " + e.baseline() + " dense", k -> new ArrayList<>()).add(e);
            }
        }
        for (Map.Entry<String, List<Entry>> e : byArmLaw.entrySet()) {
            List<Entry> in = e.getValue().stream()
                    .filter(x -> x.eff().status() == ScalingFit.Status.INTERPOLATED).toList();
            long left = e.getValue().size() - in.size();
            String range = in.isEmpty() ? "none interpolated"
                    : String.format(Locale.ROOT, "multiplier %s to %s, N_eff / N_twin %s to %s over %d size%s",
                    ScalingReport.fmt(in.stream().mapToDouble(x -> x.eff().multiplier()).min().orElseThrow()),
                    ScalingReport.fmt(in.stream().mapToDouble(x -> x.eff().multiplier()).max().orElseThrow()),
                    ScalingReport.fmt(in.stream().mapToDouble(ArmComparison::effOverTwin).min().orElseThrow()),
                    ScalingReport.fmt(in.stream().mapToDouble(ArmComparison::effOverTwin).max().orElseThrow()),
                    in.size(), in.size() == 1 ? "" : "s");
            sb.append("- ").append(e.getKey()).append(": ").append(range)
                    .append(left > 0 ? " (" + left + " extrapolated or undefined left out)" : "").append("\n");
        }
        sb.append("\nN counts ").append(params.label()).append(" parameters. The multiplier is N_eff / N (N_eff: the size"
                + " of a dense model of that family the law predicts at this loss); N_eff / N_twin sets it against the"
                + " family's own run of the same size instead (above 1: better than the twin). Losses are means over"
                + " the seeds; 'loss - twin' pairs each seed with the twin of the same seed (sd: their spread, - with"
                + " one seed). Intervals: delta method, t with the law's n - 3 degrees of freedom, combined with the"
                + " seeds' variance by Welch-Satterthwaite when there are two or more seeds.\n\n");
        sb.append("| arm | size | tokens | seeds | baseline | N | loss (sd) | twin loss | loss - twin (sd) | N_eff |"
                + " multiplier [").append(pct).append("] | N_eff / N_twin | status |\n");
        sb.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Entry e : entries) {
            ScalingFit.Effective f = e.eff();
            boolean undefined = f != null && f.status() == ScalingFit.Status.UNDEFINED;
            sb.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %s | %s | %.4f (%s) | %s | %s (%s) | %s | %s | %s | %s |%n",
                    e.arm(), e.size(), ScalingReport.count(e.tokens()), e.seeds(), e.baseline(),
                    ScalingReport.count(e.n()), e.loss(), e.seeds() > 1 ? String.format(Locale.ROOT, "%.4f", e.lossSd()) : "-",
                    Double.isFinite(e.twinLoss()) ? String.format(Locale.ROOT, "%.4f", e.twinLoss()) : "-",
                    Double.isFinite(e.diff()) ? String.format(Locale.ROOT, "%+.4f", e.diff()) : "-",
                    e.pairs() > 1 ? String.format(Locale.ROOT, "%.4f", e.diffSd()) : "-",
                    f == null ? "-" : undefined ? "inf" : ScalingReport.count(f.nEff()),
                    f == null ? "-" : undefined ? "inf" : ScalingReport.fmt(f.multiplier()) + " "
                            + ScalingReport.interval(f.lower(), f.upper()),
                    f == null || undefined || e.nTwin() == 0 ? "-" : ScalingReport.fmt(effOverTwin(e)),
                    e.probe() ? "budget probe (no law at this budget)" : ScalingReport.statusText(f)));
        }
        sb.append("\n![loss against training compute](loss-vs-flops.png)\n");
        return sb.toString();
    }

    static double effOverTwin(Entry e) {
        return e.eff().nEff() / e.nTwin();
    }

    static ArrayNode json(List<Entry> entries) {
        ArrayNode a = JsonNodeFactory.instance.arrayNode();
        for (Entry e : entries) {
            ObjectNode o = a.addObject();
            o.put("arm", e.arm()).put("size", e.size()).put("budget_probe", e.probe()).put("tokens", e.tokens());
            e.runs().forEach(o.putArray("runs")::add);
            o.put("baseline", e.baseline()).put("n", e.n());
            num(o, "loss", e.loss());
            num(o, "loss_sd", e.seeds() > 1 ? e.lossSd() : Double.NaN);
            o.put("n_twin", e.nTwin());
            num(o, "twin_loss", e.twinLoss());
            num(o, "loss_minus_twin", e.diff());
            num(o, "loss_minus_twin_sd", e.pairs() > 1 ? e.diffSd() : Double.NaN);
            if (e.eff() != null) {
                num(o, "n_eff", e.eff().nEff());
                num(o, "multiplier", e.eff().multiplier());
                num(o, "lower", e.eff().lower());
                num(o, "upper", e.eff().upper());
                num(o, "n_eff_over_n_twin", e.nTwin() > 0 ? effOverTwin(e) : Double.NaN);
                o.put("status", e.eff().status().name().toLowerCase(Locale.ROOT));
                o.put("extrapolated", e.eff().status() == ScalingFit.Status.BELOW_RANGE
                        || e.eff().status() == ScalingFit.Status.ABOVE_RANGE);
            }
        }
        return a;
    }

    private static void num(ObjectNode o, String k, double v) {
        if (Double.isNaN(v)) {
            o.putNull(k);
        } else if (Double.isInfinite(v)) {
            o.put(k, "inf");
        } else {
            o.put(k, v);
        }
    }

    /** Validation loss against training FLOPs (log x), one series per arm; budget probes as their own series. */
    /** The dense runs' colour in every plot of the study. */
    static final Color DENSE_COLOUR = new Color(31, 119, 180);

    private static final Color[] ARM_COLOURS = {
        new Color(214, 39, 40), new Color(44, 160, 44), new Color(148, 103, 189), new Color(255, 127, 14),
        new Color(140, 86, 75), new Color(227, 119, 194), new Color(23, 190, 207)};

    /** The i-th non-dense arm's colour: distinct for up to seven arms, then repeating. */
    static Color colour(int i) {
        return ARM_COLOURS[i % ARM_COLOURS.length];
    }

    static void plotFlops(Path png, List<JsonNode> results) {
        XYChart chart = new XYChartBuilder().width(1000).height(650).title("validation loss against training compute")
                .xAxisTitle("training FLOPs (approximate, log scale)").yAxisTitle("validation loss (nats)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setXAxisLogarithmicDecadeOnly(false);
        chart.getStyler().setXAxisDecimalPattern("0E0");
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE); // inside, it hides points
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(9);
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        for (JsonNode r : results) {
            double flops = r.path("train_flops").asDouble(Double.NaN);
            double loss = r.path("val_loss").asDouble(Double.NaN);
            if (flops > 0 && Double.isFinite(loss)) {
                String k = r.path("variant").asText() + (probe(r) ? " (budget probe)" : "");
                series.computeIfAbsent(k, x -> new ArrayList<>()).add(new double[] {flops, loss});
            }
        }
        if (series.isEmpty()) {
            series.put("no run records its FLOPs", List.of(new double[] {1, Double.NaN}));
        }
        Map<String, Color> arms = new LinkedHashMap<>();
        for (Map.Entry<String, List<double[]>> e : series.entrySet()) {
            XYSeries s = chart.addSeries(e.getKey(), e.getValue().stream().mapToDouble(p -> p[0]).toArray(),
                    e.getValue().stream().mapToDouble(p -> p[1]).toArray());
            s.setMarker(e.getKey().contains("probe") ? SeriesMarkers.CROSS : SeriesMarkers.CIRCLE);
            // an arm and its budget probe share a colour, so the pair reads as one arm at two budgets
            String arm = e.getKey().replace(" (budget probe)", "");
            s.setMarkerColor(arm.equals("dense") ? DENSE_COLOUR
                    : arms.computeIfAbsent(arm, a -> colour(arms.size())));
        }
        try {
            Sweep.writeAtomically(png, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot render " + png + ": " + e.getMessage(), e);
        }
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }

    private static double sd(double[] v, double mean) {
        if (v.length < 2) {
            return Double.NaN;
        }
        double s = 0;
        for (double x : v) {
            s += (x - mean) * (x - mean);
        }
        return Math.sqrt(s / (v.length - 1));
    }
}
