package io.leviathan.train;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.TreeMap;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.XYStyler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The loss curve of a training run as a PNG (XChart, rendered headless: no display is needed).
 *
 * <p>Input: the run's {@code metrics.jsonl}, one JSON object per line. A row with {@code "step"} and
 * {@code "loss"} is a training-loss point (drawn as a line); a row with {@code "step"} and
 * {@code "val_loss"} is a validation-loss point (drawn as markers). Other keys are ignored, and so are
 * blank lines and lines that are not complete JSON objects (such as the last line of a file still being
 * written), so the plot can be drawn while training runs. Non-finite values are skipped; a step logged
 * twice (after a resume) is drawn with its last value.
 *
 * <p>The image is written to a temporary file in the target folder and renamed over {@code png}.
 */
public final class LossPlot {
    /** Default image width in pixels. */
    public static final int WIDTH = 900;
    /** Default image height in pixels. */
    public static final int HEIGHT = 600;

    private static final ObjectMapper JSON = new ObjectMapper();

    static {
        // Before any AWT class loads: render into images without a display.
        System.setProperty("java.awt.headless", "true");
    }

    private LossPlot() {}

    /** The points read from a metrics file. */
    public record Points(double[] trainSteps, double[] trainLoss, double[] valSteps, double[] valLoss) {}

    /** Writes the plot of {@code metricsJsonl} to {@code png} at the default size. */
    public static void write(Path metricsJsonl, Path png) {
        write(metricsJsonl, png, WIDTH, HEIGHT);
    }

    /**
     * Writes the plot of {@code metricsJsonl} to {@code png}, {@code width x height} pixels.
     *
     * @throws IllegalArgumentException when the file has no loss rows, or for a size below 100 x 100
     * @throws UncheckedIOException when a file cannot be read or written
     */
    public static void write(Path metricsJsonl, Path png, int width, int height) {
        if (width < 100 || height < 100) {
            throw new IllegalArgumentException("plot size must be at least 100 x 100, got " + width + " x " + height);
        }
        Points p = read(metricsJsonl);
        if (p.trainSteps().length == 0 && p.valSteps().length == 0) {
            throw new IllegalArgumentException(metricsJsonl + ": no rows with \"step\" and \"loss\" or \"val_loss\" to plot");
        }
        XYChart chart = chart("Loss", width, height);
        if (p.trainSteps().length > 0) {
            XYSeries train = chart.addSeries("train loss", p.trainSteps(), p.trainLoss());
            train.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            train.setMarker(SeriesMarkers.NONE);
            train.setLineColor(new Color(31, 119, 180));
            train.setLineStyle(new BasicStroke(1.5f));
        }
        if (p.valSteps().length > 0) {
            XYSeries val = chart.addSeries("val loss", p.valSteps(), p.valLoss());
            val.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            val.setMarker(SeriesMarkers.CIRCLE);
            val.setMarkerColor(new Color(214, 39, 40));
            val.setLineColor(new Color(214, 39, 40));
            val.setLineStyle(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {4f, 4f}, 0f));
        }
        double[] xs = p.trainSteps().length > 0 ? p.trainSteps() : p.valSteps();
        double[] ys = p.trainSteps().length > 0 ? p.trainLoss() : p.valLoss();
        anchorTicks(chart, xs, ys);
        save(chart, png);
    }

    /**
     * Writes one training-loss curve per run, labelled, to {@code png}: runs that should agree (fp32 and bf16
     * precision, a resumed and an uninterrupted run) side by side.
     *
     * @throws IllegalArgumentException when a run has no training-loss rows
     */
    public static void compare(java.util.Map<String, Path> runs, String title, Path png) {
        XYChart chart = chart(title, WIDTH, HEIGHT);
        Color[] colors = {new Color(31, 119, 180), new Color(255, 127, 14), new Color(44, 160, 44), new Color(214, 39, 40)};
        int i = 0;
        double[] firstXs = null, firstYs = null;
        for (java.util.Map.Entry<String, Path> run : runs.entrySet()) {
            Points p = read(run.getValue());
            if (p.trainSteps().length == 0) {
                throw new IllegalArgumentException(run.getValue() + ": no training-loss rows to plot");
            }
            XYSeries series = chart.addSeries(run.getKey(), p.trainSteps(), p.trainLoss());
            series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
            series.setMarker(SeriesMarkers.NONE);
            series.setLineColor(colors[i++ % colors.length]);
            series.setLineStyle(new BasicStroke(1.5f));
            if (firstXs == null) {
                firstXs = p.trainSteps();
                firstYs = p.trainLoss();
            }
        }
        if (firstXs != null) {
            anchorTicks(chart, firstXs, firstYs);
        }
        save(chart, png);
    }

    private static XYChart chart(String title, int width, int height) {
        XYChart chart = new XYChartBuilder().width(width).height(height)
                .title(title).xAxisTitle("step").yAxisTitle("cross-entropy loss (nats)").build();
        XYStyler s = chart.getStyler();
        s.setLegendPosition(Styler.LegendPosition.InsideNE);
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setPlotGridLinesColor(new Color(225, 225, 225));
        s.setAntiAlias(true);
        s.setXAxisTickMarkSpacingHint(Math.max(80, width / 10));
        s.setXAxisDecimalPattern("#,##0");
        return chart;
    }

    private static void anchorTicks(XYChart chart, double[] xs, double[] ys) {
        if (xs.length > 1) {
            // XChart 3.8 places the x ticks on the data points when all x values are equally spaced (as
            // logged steps are) and then crowds their labels; one invisible point between the first two
            // values makes it choose round tick values instead.
            XYSeries anchor = chart.addSeries(" ", new double[] {(xs[0] + xs[1]) / 2}, new double[] {ys[0]});
            anchor.setMarker(SeriesMarkers.NONE);
            anchor.setLineColor(new Color(0, 0, 0, 0));
            anchor.setShowInLegend(false);
        }
    }

    /** Writes the chart as PNG through a temporary file and an atomic rename. */
    private static void save(XYChart chart, Path png) {
        Path target = png.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
            }
            HfLlamaExport.readableByAll(tmp);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a temporary file is left behind; the target was not touched
                }
            }
        }
    }

    /**
     * Reads the training and validation loss points of a metrics file, sorted by step. When a step appears
     * more than once (a run resumed from a checkpoint logs the steps after it again), the last row wins.
     */
    public static Points read(Path metricsJsonl) {
        List<String> lines;
        try {
            lines = Files.readAllLines(metricsJsonl, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException(metricsJsonl + ": no such file", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + metricsJsonl + ": " + e.getMessage(), e);
        }
        TreeMap<Double, Double> train = new TreeMap<>();
        TreeMap<Double, Double> val = new TreeMap<>();
        for (String line : lines) {
            if (line.isBlank()) {
                continue;
            }
            JsonNode row;
            try {
                row = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                continue; // a partly written line
            }
            if (row == null || !row.isObject() || !row.path("step").isNumber()) {
                continue;
            }
            double step = row.get("step").asDouble();
            add(train, step, row.get("loss"));
            add(val, step, row.get("val_loss"));
        }
        return new Points(column(train, 0), column(train, 1), column(val, 0), column(val, 1));
    }

    private static void add(TreeMap<Double, Double> points, double step, JsonNode value) {
        if (value != null && value.isNumber() && Double.isFinite(value.asDouble())) {
            points.put(step, value.asDouble());
        }
    }

    private static double[] column(TreeMap<Double, Double> points, int c) {
        return (c == 0 ? points.keySet() : points.values()).stream().mapToDouble(Double::doubleValue).toArray();
    }
}
