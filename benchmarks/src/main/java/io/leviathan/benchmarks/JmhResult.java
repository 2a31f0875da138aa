package io.leviathan.benchmarks;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One benchmark result of a JMH {@code -rf json} file: which benchmark, its parameters and the primary score.
 *
 * @param benchmark the benchmark's simple name, e.g. {@code TrainingStepBenchmark.step}
 * @param params the JMH parameters, e.g. {@code model=djl, seq=256}
 * @param score the primary metric's score
 * @param error the score's 99.9 % error bound (NaN when JMH gives none, e.g. a single iteration)
 * @param unit the score's unit, e.g. {@code ms/op}
 * @param forkScores the mean score of each JMH fork, in fork order (empty when the file has no raw data); a
 *     fork's JIT plan can move a training step by 10 %, so a report shows their spread
 */
public record JmhResult(String benchmark, Map<String, String> params, double score, double error, String unit,
                        List<Double> forkScores) {
    public JmhResult {
        params = Collections.unmodifiableMap(new LinkedHashMap<>(params));
        forkScores = List.copyOf(forkScores);
    }

    /** A result without per-fork scores. */
    public JmhResult(String benchmark, Map<String, String> params, double score, double error, String unit) {
        this(benchmark, params, score, error, unit, List.of());
    }

    /** The parameter {@code name}; throws naming the benchmark and its parameters if absent. */
    public String param(String name) {
        String v = params.get(name);
        if (v == null) {
            throw new IllegalArgumentException(benchmark + " has no parameter " + name + " (has " + params + ")");
        }
        return v;
    }

    /** The score in milliseconds per operation; throws on any other unit. */
    public double millisPerOp() {
        return switch (unit) {
            case "ms/op" -> score;
            case "s/op" -> score * 1e3;
            case "us/op" -> score / 1e3;
            case "ns/op" -> score / 1e6;
            default -> throw new IllegalArgumentException(benchmark + " " + params + ": unit " + unit
                    + " is not a time per operation (run it with -bm avgt)");
        };
    }

    /**
     * The results with one entry per (benchmark, parameters): results of the same case from several files (the
     * peers run takes each training step's forks in separate JMH runs, alternating the models fork by fork) become
     * one, whose forks are theirs in order and whose score is the mean of all their forks (each fork runs the same
     * iterations, so this is JMH's score over all iterations). A result without per-fork scores counts as one fork
     * of its score. The merged error is NaN: JMH's bound covers one run's iterations. Order: each case where it
     * first appears.
     *
     * @throws IllegalArgumentException if results of one case have different units
     */
    public static List<JmhResult> mergeForks(List<JmhResult> results) {
        Map<String, List<JmhResult>> byCase = new LinkedHashMap<>();
        for (JmhResult r : results) {
            byCase.computeIfAbsent(r.benchmark() + " " + r.params(), k -> new ArrayList<>()).add(r);
        }
        List<JmhResult> out = new ArrayList<>(byCase.size());
        for (List<JmhResult> same : byCase.values()) {
            JmhResult first = same.get(0);
            if (same.size() == 1) {
                out.add(first);
                continue;
            }
            List<Double> forks = new ArrayList<>();
            for (JmhResult r : same) {
                if (!r.unit().equals(first.unit())) {
                    throw new IllegalArgumentException(first.benchmark() + " " + first.params() + ": one run in "
                            + first.unit() + ", another in " + r.unit());
                }
                forks.addAll(r.forkScores().isEmpty() ? List.of(r.score()) : r.forkScores());
            }
            double mean = forks.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
            out.add(new JmhResult(first.benchmark(), first.params(), mean, Double.NaN, first.unit(), forks));
        }
        return out;
    }

    /** Every result in a JMH JSON file; throws naming the file if it is not JMH's JSON. */
    public static List<JmhResult> read(Path file) throws IOException {
        try {
            return parse(Files.readString(file));
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not a JMH JSON result file: " + file + " (" + e.getMessage() + ")", e);
        }
    }

    /** Every result in JMH's JSON text (an array of runs). */
    public static List<JmhResult> parse(String json) {
        JsonElement root = JsonParser.parseString(json);
        if (!root.isJsonArray()) {
            throw new IllegalArgumentException("expected a JSON array of JMH runs");
        }
        JsonArray runs = root.getAsJsonArray();
        List<JmhResult> out = new ArrayList<>(runs.size());
        for (JsonElement e : runs) {
            JsonObject run = e.getAsJsonObject();
            String full = run.get("benchmark").getAsString();
            String[] parts = full.split("\\.");
            String name = parts.length >= 2 ? parts[parts.length - 2] + "." + parts[parts.length - 1] : full;
            Map<String, String> params = new LinkedHashMap<>();
            if (run.has("params")) {
                for (Map.Entry<String, JsonElement> p : run.getAsJsonObject("params").entrySet()) {
                    params.put(p.getKey(), p.getValue().getAsString());
                }
            }
            JsonObject metric = run.getAsJsonObject("primaryMetric");
            double error = Double.NaN;
            JsonElement err = metric.get("scoreError");
            if (err != null && err.isJsonPrimitive() && err.getAsJsonPrimitive().isNumber()) {
                error = err.getAsDouble(); // JMH writes "NaN" as a string when it has no error bound
            }
            List<Double> forks = new ArrayList<>();
            JsonElement raw = metric.get("rawData");
            if (raw != null && raw.isJsonArray()) {
                for (JsonElement fork : raw.getAsJsonArray()) {
                    double sum = 0;
                    int count = 0;
                    for (JsonElement iteration : fork.getAsJsonArray()) {
                        sum += iteration.getAsDouble();
                        count++;
                    }
                    if (count > 0) {
                        forks.add(sum / count);
                    }
                }
            }
            out.add(new JmhResult(name, params, metric.get("score").getAsDouble(), error,
                    metric.get("scoreUnit").getAsString(), forks));
        }
        return out;
    }
}
