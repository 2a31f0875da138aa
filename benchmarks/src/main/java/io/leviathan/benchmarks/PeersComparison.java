package io.leviathan.benchmarks;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The comparisons of the peers report, computed from JMH results, each as a ratio where higher is better and
 * checked against its target:
 * <ul>
 *   <li>{@link Kind#STEP}: our dense training step against Deep Java Library's, tokens/s, target
 *       {@value #STEP_TARGET}x;</li>
 *   <li>{@link Kind#TWIN}: the iso-body Leviathan twin against the dense model, tokens/s, target
 *       {@value #TWIN_TARGET} (within 10 % of dense) for the {@code djl} model and {@value #SMALL_TWIN_TARGET}
 *       (within 5 %) for the {@code small} preset at the o200k vocabulary;</li>
 *   <li>{@link Kind#GEMM}: our matmul against OpenBLAS, GFLOP/s, target {@value #GEMM_TARGET}x.</li>
 * </ul>
 * A comparison whose one side is missing (a run that failed or was not made) is kept, with a NaN ratio, so
 * the report shows the gap instead of hiding it.
 */
public final class PeersComparison {
    private PeersComparison() {}

    public static final double STEP_TARGET = 1.5;
    public static final double TWIN_TARGET = 0.9;
    public static final double SMALL_TWIN_TARGET = 0.95;
    public static final double GEMM_TARGET = 1.0;

    static final String OURS_STEP = "TrainingStepBenchmark.step";
    static final String DJL_STEP = "DjlTrainingStepBenchmark.step";
    static final String MATMUL = "MatmulBenchmark.matmul";

    /** What a row compares. */
    public enum Kind { STEP, TWIN, GEMM }

    /**
     * One comparison.
     *
     * @param kind what it compares
     * @param label a short description, e.g. {@code seq 256: dense vs DJL}
     * @param ours our throughput (tokens/s or GFLOP/s), NaN if missing
     * @param reference the reference's throughput in the same unit, NaN if missing
     * @param unit {@code tokens/s} or {@code GFLOP/s}
     * @param target the ratio to reach
     */
    public record Row(Kind kind, String label, double ours, double reference, String unit, double target) {
        /** {@code ours / reference}; NaN when a side is missing. */
        public double ratio() {
            return ours / reference;
        }

        /** Whether the ratio reaches the target (false when a side is missing). */
        public boolean meets() {
            return ratio() >= target;
        }
    }

    /** Tokens one step of {@code TrainingStepBenchmark} or {@code DjlTrainingStepBenchmark} processes. */
    static long tokensPerStep(JmhResult r) {
        int seq = Integer.parseInt(r.param("seq"));
        boolean small = r.benchmark().equals(OURS_STEP) && TrainingStepBenchmark.Step.isSmall(r.param("model"));
        return (long) (small ? 4 : 8) * seq;
    }

    static double tokensPerSecond(JmhResult r) {
        return tokensPerStep(r) / (r.millisPerOp() / 1e3);
    }

    /** Every comparison the results allow: steps by sequence length, twins by (length, ids), GEMMs by case. */
    public static List<Row> compare(List<JmhResult> results) {
        Map<String, JmhResult> dense = new LinkedHashMap<>();     // seq|ids -> our dense djl model
        Map<String, JmhResult> twin = new LinkedHashMap<>();      // seq|ids -> the Leviathan twin
        Map<String, JmhResult> smallDense = new LinkedHashMap<>(); // seq|ids -> the small preset, dense
        Map<String, JmhResult> smallTwin = new LinkedHashMap<>();  // seq|ids -> its Leviathan twin
        Map<String, JmhResult> djl = new LinkedHashMap<>();       // seq -> DJL
        Map<String, Map<String, JmhResult>> gemm = new LinkedHashMap<>(); // case -> impl -> result
        Set<String> seqs = new LinkedHashSet<>();
        Set<String> seen = new LinkedHashSet<>();
        for (JmhResult r : results) {
            // Two results for one case would let the later silently replace the earlier (say a DJL step measured
            // without its allocator next to the one with it): refuse instead of comparing the wrong one.
            String id = r.benchmark() + " " + new java.util.TreeMap<>(r.params());
            if (!seen.add(id)) {
                throw new IllegalArgumentException("two results for " + id
                        + "; each case must come from one benchmark run (check the JMH include patterns)");
            }
            switch (r.benchmark()) {
                case OURS_STEP -> {
                    String model = r.param("model");
                    String key = r.param("seq") + "|" + r.params().getOrDefault("ids", "zipf");
                    if (model.equals("djl")) {
                        dense.put(key, r);
                        seqs.add(r.param("seq"));
                    } else if (model.equals("leviathan")) {
                        twin.put(key, r);
                        seqs.add(r.param("seq"));
                    } else if (model.equals("small")) {
                        smallDense.put(key, r);
                    } else if (model.equals("small-leviathan")) {
                        smallTwin.put(key, r);
                    }
                }
                case DJL_STEP -> {
                    djl.put(r.param("seq"), r);
                    seqs.add(r.param("seq"));
                }
                case MATMUL -> gemm.computeIfAbsent(String.join("|", r.param("shape"), r.param("trans"),
                                r.params().getOrDefault("dtype", "f32"), r.param("threads")),
                        k -> new LinkedHashMap<>()).put(r.param("impl"), r);
                default -> { } // other benchmarks in the folder are not compared
            }
        }
        List<Row> rows = new ArrayList<>();
        List<String> sortedSeqs = seqs.stream().sorted((a, b) -> Integer.compare(Integer.parseInt(a),
                Integer.parseInt(b))).toList();
        for (String seq : sortedSeqs) {
            JmhResult ours = denseFor(dense, seq, "zipf");
            JmhResult theirs = djl.get(seq);
            if (ours != null || theirs != null) {
                rows.add(new Row(Kind.STEP, "seq " + seq + ": dense vs DJL", tps(ours), tps(theirs), "tokens/s",
                        STEP_TARGET));
            }
        }
        for (String seq : sortedSeqs) {
            for (String ids : List.of("zipf", "uniform")) {
                JmhResult lev = twin.get(seq + "|" + ids);
                if (lev != null) {
                    rows.add(new Row(Kind.TWIN, "seq " + seq + ", " + ids + " ids: Leviathan vs dense", tps(lev),
                            tps(denseFor(dense, seq, ids)), "tokens/s", TWIN_TARGET));
                }
            }
        }
        for (Map.Entry<String, JmhResult> e : smallTwin.entrySet()) {
            String[] k = e.getKey().split("\\|");
            rows.add(new Row(Kind.TWIN, "small (o200k), seq " + k[0] + ", " + k[1] + " ids: Leviathan vs dense",
                    tps(e.getValue()), tps(denseFor(smallDense, k[0], k[1])), "tokens/s", SMALL_TWIN_TARGET));
        }
        for (Map.Entry<String, Map<String, JmhResult>> e : gemm.entrySet()) {
            String[] k = e.getKey().split("\\|");
            String label = k[0] + " " + k[1] + (k[2].equals("f32") ? "" : " " + k[2]) + ", " + k[3]
                    + (k[3].equals("1") ? " thread" : " threads");
            rows.add(new Row(Kind.GEMM, label, gflops(e.getValue().get("leviathan")),
                    gflops(e.getValue().get("openblas")), "GFLOP/s", GEMM_TARGET));
        }
        return rows;
    }

    /** Our dense result at {@code seq} with {@code ids}, else with any ids (the dense step barely depends on them). */
    private static JmhResult denseFor(Map<String, JmhResult> dense, String seq, String ids) {
        JmhResult exact = dense.get(seq + "|" + ids);
        if (exact != null) {
            return exact;
        }
        return dense.entrySet().stream().filter(e -> e.getKey().startsWith(seq + "|")).map(Map.Entry::getValue)
                .findFirst().orElse(null);
    }

    private static double tps(JmhResult r) {
        return r == null ? Double.NaN : tokensPerSecond(r);
    }

    private static double gflops(JmhResult r) {
        return r == null ? Double.NaN : MatmulBenchmark.gflops(r.param("shape"), r.millisPerOp());
    }
}
