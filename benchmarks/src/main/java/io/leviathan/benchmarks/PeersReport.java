package io.leviathan.benchmarks;

import io.leviathan.benchmarks.PeersComparison.Kind;
import io.leviathan.benchmarks.PeersComparison.Row;
import io.leviathan.bindings.openblas.OpenBlas;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.style.Styler;

/**
 * Merges the JMH JSON files of {@code ./leviathan bench --peers} (our training step, Deep Java Library's, the
 * matmul against OpenBLAS) into {@code report.md}, a table of every {@link PeersComparison} against its
 * target with the run's command, date, machine and JDK, and {@code report.png}, the ratios as a bar chart.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar io.leviathan.benchmarks.PeersReport \
 *      --dir DIR [--out DIR] [--command "how the results were made"] [--djl-preload LIB|none]
 * </pre>
 * Every {@code *.json} file in {@code --dir} is read; the report goes to {@code --out} (default: the same folder).
 */
public final class PeersReport {
    private PeersReport() {}

    public static void main(String[] args) throws IOException {
        Path dir = null;
        Path out = null;
        String command = "(not given)";
        String preload = "(not given)";
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--dir" -> dir = Path.of(value(args, ++i, arg));
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--command" -> command = value(args, ++i, arg);
                case "--djl-preload" -> preload = value(args, ++i, arg);
                case "-h", "--help" -> {
                    System.out.println("usage: PeersReport --dir DIR [--out DIR] [--command TEXT] [--djl-preload LIB|none]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + arg + " (try --help)");
            }
        }
        if (dir == null) {
            throw new IllegalArgumentException("--dir is required: the folder of JMH JSON result files");
        }
        if (out == null) {
            out = dir;
        }
        List<JmhResult> results = readAll(dir);
        List<Row> rows = PeersComparison.compare(results);
        String core = OpenBlas.isAvailable() ? OpenBlas.openblas_get_corename()
                : "unavailable: " + OpenBlas.unavailableReason().orElse("?");
        List<String> context = List.of(
                "command: `" + command + "`",
                "date: " + ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME),
                "machine: " + machine(),
                "JDK: " + System.getProperty("java.vm.name") + " " + System.getProperty("java.version"),
                "peer: Deep Java Library 0.36.0, PyTorch 2.7.1 CPU engine; its JMH fork ran with LD_PRELOAD="
                        + preload + ", OMP_NUM_THREADS=" + envOrUnset("OMP_NUM_THREADS"),
                "OpenBLAS core: " + core + " (OPENBLAS_CORETYPE=" + envOrUnset("OPENBLAS_CORETYPE") + ")");
        Files.createDirectories(out);
        Path md = out.resolve("report.md");
        Files.writeString(md, markdown(rows, context) + forkSpread(results));
        Path png = out.resolve("report.png");
        System.setProperty("java.awt.headless", "true");
        BitmapEncoder.saveBitmap(chart(rows), png.toString(), BitmapEncoder.BitmapFormat.PNG);
        System.out.print(Files.readString(md));
        System.out.println("wrote " + md.toAbsolutePath() + " and " + png.toAbsolutePath());
    }

    /** {@code NAME-forkN.json}: fork N of the runs {@code NAME}, made apart so that the models alternate fork by fork. */
    private static final Pattern FORK_FILE = Pattern.compile("(.+)-fork\\d+\\.json");

    /**
     * Every result of every {@code *.json} file in {@code dir}, in file-name order. The forks of one run made as
     * separate files ({@code NAME-fork1.json}, {@code NAME-fork2.json}, ...) are merged case by case
     * ({@link JmhResult#mergeForks}); any other case found twice is left for {@link PeersComparison#compare} to
     * refuse.
     */
    static List<JmhResult> readAll(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a folder: " + dir);
        }
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IllegalArgumentException("no *.json JMH result files in " + dir);
        }
        Map<String, List<JmhResult>> byRun = new LinkedHashMap<>();
        for (Path f : files) {
            String name = f.getFileName().toString();
            Matcher fork = FORK_FILE.matcher(name);
            byRun.computeIfAbsent(fork.matches() ? fork.group(1) : name, k -> new ArrayList<>())
                    .addAll(JmhResult.read(f));
        }
        List<JmhResult> all = new ArrayList<>();
        for (List<JmhResult> run : byRun.values()) {
            all.addAll(JmhResult.mergeForks(run));
        }
        return all;
    }

    /** The report: context lines, then one table per kind of comparison, then the count of targets met. */
    static String markdown(List<Row> rows, List<String> context) {
        StringBuilder md = new StringBuilder("# Leviathan against its peers\n\n");
        for (String line : context) {
            md.append("- ").append(line).append('\n');
        }
        long met = rows.stream().filter(Row::meets).count();
        md.append("- targets met: ").append(met).append(" of ").append(rows.size()).append("\n");
        section(md, rows, Kind.STEP, "Training step: Leviathan (dense) against Deep Java Library",
                "dense d_model 256, 4 layers, 4 heads, SwiGLU 688, vocab 8192, untied head (7,358,720 parameters),"
                        + " batch 8, Zipf ids, clipped AdamW; target: at least 1.5x DJL's tokens/s",
                "Leviathan", "DJL");
        section(md, rows, Kind.TWIN, "Training step: Leviathan twin against the dense model",
                "the same body with the generator instead of the input table, the whole step with AdamW: the djl"
                        + " model (8192-row table, batch 8; target: within 10 % of dense tokens/s, ratio at least"
                        + " 0.90) and the small preset at the o200k vocabulary (200,019-row table, batch 4;"
                        + " target: within 5 %, ratio at least 0.95)",
                "twin", "dense");
        section(md, rows, Kind.GEMM, "GEMM: Leviathan against OpenBLAS",
                "f32, row-major C = op(A) op(B), each MxKxN shape with the transpose the djl model's step at seq 256"
                        + " multiplies it with (nn, nt: forward and input gradients, M = tokens; tn: weight"
                        + " gradients, K = tokens); trans: storage of A and B; target: at least OpenBLAS's GFLOP/s",
                "Leviathan", "OpenBLAS");
        return md.toString();
    }

    /**
     * A section listing every training step measured with more than one fork: each fork's mean time per step and
     * the largest over the smallest. Empty when every step ran in one fork. The comparisons above use JMH's score,
     * the mean of all forks' iterations.
     */
    static String forkSpread(List<JmhResult> results) {
        List<JmhResult> steps = results.stream()
                .filter(r -> r.benchmark().equals(PeersComparison.OURS_STEP)
                        || r.benchmark().equals(PeersComparison.DJL_STEP))
                .filter(r -> r.forkScores().size() > 1).toList();
        if (steps.isEmpty()) {
            return "";
        }
        StringBuilder md = new StringBuilder("\n## Fork spread of the training steps\n\n")
                .append("each JMH fork compiles the step afresh, and its plan can move the step time by 10 %; the"
                        + " tables above use the mean over all forks' iterations.\n\n")
                .append("| benchmark | case | forks | mean of each fork | largest / smallest |\n")
                .append("|---|---|---:|---|---:|\n");
        for (JmhResult r : steps) {
            List<Double> forks = r.forkScores();
            double min = forks.stream().mapToDouble(Double::doubleValue).min().orElse(Double.NaN);
            double max = forks.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
            StringBuilder each = new StringBuilder();
            for (double f : forks) {
                each.append(each.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.1f", f));
            }
            md.append("| ").append(r.benchmark()).append(" | ").append(r.params()).append(" | ")
                    .append(forks.size()).append(" | ").append(each).append(' ').append(r.unit()).append(" | ")
                    .append(String.format(Locale.ROOT, "%.2f", max / min)).append(" |\n");
        }
        return md.toString();
    }

    private static void section(StringBuilder md, List<Row> rows, Kind kind, String title, String note,
                                String oursName, String refName) {
        List<Row> these = rows.stream().filter(r -> r.kind() == kind).toList();
        md.append("\n## ").append(title).append("\n\n").append(note).append(".\n\n");
        if (these.isEmpty()) {
            md.append("(no results)\n");
            return;
        }
        String unit = these.get(0).unit();
        md.append("| case | ").append(oursName).append(' ').append(unit).append(" | ").append(refName).append(' ')
                .append(unit).append(" | ratio | target | met |\n|---|---:|---:|---:|---:|---|\n");
        for (Row r : these) {
            md.append("| ").append(r.label()).append(" | ").append(number(r.ours())).append(" | ")
                    .append(number(r.reference())).append(" | ").append(ratio(r.ratio())).append(" | ")
                    .append(ratio(r.target())).append(" | ")
                    .append(Double.isNaN(r.ratio()) ? "missing" : r.meets() ? "yes" : "no").append(" |\n");
        }
    }

    /** Measured ratios beside their targets, one pair of bars per comparison. */
    static CategoryChart chart(List<Row> rows) {
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(900, 70 * rows.size() + 200)).height(620)
                .title("Leviathan against its peers (higher is better)").xAxisTitle("").yAxisTitle("ratio").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideNE);
        chart.getStyler().setChartBackgroundColor(Color.WHITE);
        chart.getStyler().setPlotBackgroundColor(Color.WHITE);
        chart.getStyler().setXAxisLabelRotation(60);
        chart.getStyler().setSeriesColors(new Color[] {new Color(0x2b6cb0), new Color(0xbbbbbb)});
        List<String> labels = new ArrayList<>();
        List<Double> measured = new ArrayList<>();
        List<Double> targets = new ArrayList<>();
        for (Row r : rows) {
            String prefix = switch (r.kind()) {
                case STEP -> "step ";
                case TWIN -> "twin ";
                case GEMM -> "GEMM ";
            };
            labels.add(prefix + r.label());
            measured.add(Double.isNaN(r.ratio()) ? 0.0 : r.ratio());
            targets.add(r.target());
        }
        if (labels.isEmpty()) {
            labels.add("(no results)");
            measured.add(0.0);
            targets.add(0.0);
        }
        chart.addSeries("measured", labels, measured);
        chart.addSeries("target", labels, targets);
        return chart;
    }

    /** The CPU model and logical CPU count from /proc/cpuinfo, else the JVM's view. */
    static String machine() {
        int cpus = Runtime.getRuntime().availableProcessors();
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            String model = lines.stream().filter(l -> l.startsWith("model name")).findFirst()
                    .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown CPU");
            long logical = lines.stream().filter(l -> l.startsWith("processor")).count();
            return model + ", " + logical + " logical CPUs (" + cpus + " available to the JVM)";
        } catch (IOException e) {
            return System.getProperty("os.arch") + ", " + cpus + " CPUs (no /proc/cpuinfo)";
        }
    }

    private static String envOrUnset(String name) {
        String v = System.getenv(name);
        return v == null ? "unset" : v;
    }

    private static String number(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, v >= 100 ? "%,.0f" : "%.1f", v);
    }

    private static String ratio(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
