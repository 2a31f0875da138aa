package io.leviathan.benchmarks;

import io.leviathan.bindings.openblas.OpenBlas;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.results.format.ResultFormatType;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link MatmulBenchmark} through the JMH Runner API with short settings and prints a GFLOP/s table,
 * Leviathan against OpenBLAS, optionally also written as Markdown.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -cp benchmarks/target/benchmarks.jar io.leviathan.benchmarks.MatmulReport [options]
 *
 *   --quick            only the two transformer shapes (8192x512x2048, 8192x2048x512), 2 warmup and
 *                      3 measurement iterations
 *   --shapes S1,S2     MxKxN shapes (default: all five of the benchmark)
 *   --threads 1,2      thread counts (default 1,2)
 *   --impl a,b         leviathan and/or openblas (default both)
 *   --trans nn         storage of A and B: nn, nt, tn, tt (default nn)
 *   --dtype f32        dtypes of A and B: f32, bf16, bf16xf32, f32xbf16 (default f32; OpenBLAS runs f32 only)
 *   --warmup N / --iterations N   iteration counts (1 s each; default 3 and 5)
 *   --out FILE.md      also write the table as Markdown
 *   --json FILE.json   also write JMH's JSON results (what {@link PeersReport} reads)
 * </pre>
 *
 * OpenBLAS's kernel family follows {@code OPENBLAS_CORETYPE}: set it on the command that runs this report
 * (the forked benchmark JVM inherits the environment) to compare, say, Haswell with Cooperlake.
 */
public final class MatmulReport {
    private MatmulReport() {}

    static final String[] ALL_SHAPES = {"512x512x512", "1024x1024x1024", "2048x2048x2048", "8192x512x2048", "8192x2048x512"};
    static final String[] QUICK_SHAPES = {"8192x512x2048", "8192x2048x512"};

    public static void main(String[] args) throws RunnerException, IOException {
        String[] shapes = ALL_SHAPES;
        String[] threads = {"1", "2"};
        List<String> impls = new ArrayList<>(List.of("leviathan", "openblas"));
        String[] trans = {"nn"};
        String[] dtypes = {"f32"};
        int warmup = 3;
        int iterations = 5;
        boolean quick = false;
        Path out = null;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            switch (arg) {
                case "--quick" -> quick = true;
                case "--shapes" -> shapes = value(args, ++i, arg).split(",");
                case "--threads" -> threads = value(args, ++i, arg).split(",");
                case "--impl" -> impls = new ArrayList<>(List.of(value(args, ++i, arg).split(",")));
                case "--trans" -> trans = value(args, ++i, arg).split(",");
                case "--dtype" -> dtypes = value(args, ++i, arg).split(",");
                case "--warmup" -> warmup = Integer.parseInt(value(args, ++i, arg));
                case "--iterations" -> iterations = Integer.parseInt(value(args, ++i, arg));
                case "--out" -> out = Path.of(value(args, ++i, arg));
                case "--json" -> json = Path.of(value(args, ++i, arg));
                case "-h", "--help" -> {
                    System.out.println("usage: MatmulReport [--quick] [--shapes MxKxN,...] [--threads 1,2] "
                            + "[--impl leviathan,openblas] [--trans nn] [--dtype f32,bf16] [--warmup N] [--iterations N] "
                            + "[--out FILE.md] [--json FILE.json]");
                    return;
                }
                default -> throw new IllegalArgumentException("unknown option " + arg + " (try --help)");
            }
        }
        if (quick) {
            if (Arrays.equals(shapes, ALL_SHAPES)) {
                shapes = QUICK_SHAPES;
            }
            warmup = Math.min(warmup, 2);
            iterations = Math.min(iterations, 3);
        }

        String core = "unavailable";
        if (impls.contains("openblas")) {
            if (OpenBlas.isAvailable()) {
                core = OpenBlas.openblas_get_corename();
            } else {
                String why = OpenBlas.unavailableReason().orElse("?");
                System.out.println("OpenBLAS unavailable, skipping impl=openblas: " + why);
                core = "unavailable: " + why;
                impls.remove("openblas");
            }
        }
        for (String d : dtypes) {
            MatmulBenchmark.parseDTypes(d); // fail early on a typo
        }
        if (impls.isEmpty()) {
            throw new IllegalArgumentException("nothing to run: no implementation left");
        }

        ChainedOptionsBuilder opts = new OptionsBuilder()
                .include(Pattern.quote(MatmulBenchmark.class.getName()) + "\\.matmul$")
                .forks(1)
                .warmupIterations(warmup)
                .warmupTime(TimeValue.seconds(1))
                .measurementIterations(iterations)
                .measurementTime(TimeValue.seconds(1))
                .param("shape", shapes)
                .param("threads", threads)
                .param("impl", impls.toArray(String[]::new))
                .param("trans", trans)
                .param("dtype", dtypes)
                .jvmArgsAppend("--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED")
                .shouldFailOnError(false);
        if (json != null) {
            if (json.getParent() != null) {
                Files.createDirectories(json.getParent());
            }
            opts.resultFormat(ResultFormatType.JSON).result(json.toString());
        }
        Collection<RunResult> results = new Runner(opts.build()).run();

        // (shape, trans, dtype, threads) -> impl -> ms/op
        Map<String, Map<String, double[]>> rows = new LinkedHashMap<>();
        for (String s : shapes) {
            for (String t : trans) {
                for (String d : dtypes) {
                    for (String th : threads) {
                        rows.put(key(s, t, d, th), new LinkedHashMap<>());
                    }
                }
            }
        }
        for (RunResult r : results) {
            var p = r.getParams();
            String k = key(p.getParam("shape"), p.getParam("trans"), p.getParam("dtype"), p.getParam("threads"));
            var score = r.getPrimaryResult();
            rows.computeIfAbsent(k, x -> new LinkedHashMap<>())
                    .put(p.getParam("impl"), new double[] {score.getScore(), score.getScoreError()});
        }

        String coreType = System.getenv("OPENBLAS_CORETYPE");
        StringBuilder md = new StringBuilder();
        md.append("# Matmul: Leviathan vs OpenBLAS\n\n");
        md.append("- date: ").append(ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME)).append('\n');
        md.append("- JVM: ").append(System.getProperty("java.vm.name")).append(' ')
                .append(System.getProperty("java.version")).append(", ").append(System.getProperty("os.arch"))
                .append(", ").append(Runtime.getRuntime().availableProcessors()).append(" cpus\n");
        md.append("- OpenBLAS core: ").append(core).append(" (OPENBLAS_CORETYPE=")
                .append(coreType == null ? "unset" : coreType).append(")\n");
        md.append("- JMH: 1 fork, ").append(warmup).append(" x 1 s warmup, ").append(iterations)
                .append(" x 1 s measurement; C = A · B, row-major, F32 C and arithmetic (dtype: of A and B);"
                        + " GFLOP/s = 2·M·N·K / time\n\n");
        String header = "| shape (MxKxN) | trans | dtype | threads | leviathan GFLOP/s | openblas GFLOP/s (" + core
                + ") | ratio |";
        md.append(header).append('\n');
        md.append("|---|---|---|---:|---:|---:|---:|\n");
        for (Map.Entry<String, Map<String, double[]>> e : rows.entrySet()) {
            String[] k = e.getKey().split("\\|");
            double[] lev = e.getValue().get("leviathan");
            double[] blas = e.getValue().get("openblas");
            double gl = lev == null ? Double.NaN : MatmulBenchmark.gflops(k[0], lev[0]);
            double gb = blas == null ? Double.NaN : MatmulBenchmark.gflops(k[0], blas[0]);
            md.append("| ").append(k[0]).append(" | ").append(k[1]).append(" | ").append(k[2]).append(" | ").append(k[3])
                    .append(" | ").append(fmt(gl, lev, k[0])).append(" | ").append(fmt(gb, blas, k[0]))
                    .append(" | ").append(Double.isNaN(gl) || Double.isNaN(gb) ? "n/a"
                            : String.format(Locale.ROOT, "%.2f", gl / gb))
                    .append(" |\n");
        }
        System.out.println();
        System.out.println(md);
        if (out != null) {
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            Files.writeString(out, md);
            System.out.println("wrote " + out.toAbsolutePath());
        }
    }

    private static String key(String shape, String trans, String dtype, String threads) {
        return shape + "|" + trans + "|" + dtype + "|" + threads;
    }

    /** GFLOP/s with the JMH error bound converted to GFLOP/s (the score is time, so the bound is skewed). */
    private static String fmt(double gflops, double[] score, String shape) {
        if (Double.isNaN(gflops)) {
            return "n/a";
        }
        double err = score[1];
        if (Double.isNaN(err) || err <= 0 || err >= score[0]) {
            return String.format(Locale.ROOT, "%.1f", gflops);
        }
        double lo = MatmulBenchmark.gflops(shape, score[0] + err);
        double hi = MatmulBenchmark.gflops(shape, score[0] - err);
        return String.format(Locale.ROOT, "%.1f ± %.1f", gflops, (hi - lo) / 2);
    }

    private static String value(String[] args, int i, String option) {
        if (i >= args.length) {
            throw new IllegalArgumentException(option + " needs a value");
        }
        return args[i];
    }
}
