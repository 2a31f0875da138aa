package io.leviathan.benchmarks;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.tensor.Tensor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * Wall time of one training step of {@link TrainingStepBenchmark}, per backend operation: every call is
 * wrapped and timed, and after the warm-up steps the time of each operation is summed over the measured steps.
 * Prints milliseconds per operation per step, the operation's share of the time spent inside backend calls,
 * and the CPU time of the calling thread and the pool's workers during the call (on a loaded machine wall time
 * is inflated by waiting for a core; CPU time much less). Matmuls are split by shape and transposes. Run it
 * with the benchmark's JVM flags;
 * arguments: model ({@code djl}, {@code leviathan} or {@code small}), warm-up steps, measured steps, and
 * optionally the sequence length and the ids ({@code zipf} or {@code uniform}) for the djl-sized models.
 */
public final class StepProfile {
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    private static long[] workers = new long[0];

    private StepProfile() {}

    /** CPU time so far of this thread and the pool's workers: less inflated than wall time on a loaded machine. */
    private static long cpuNanos() {
        long sum = THREADS.getCurrentThreadCpuTime();
        for (long id : workers) {
            sum += THREADS.getThreadCpuTime(id);
        }
        return sum;
    }

    /** The operation's name; a matmul also names its shape {@code M x N x K} and transposes, to tell them apart. */
    private static String key(String op, Object[] a) {
        if (!op.equals("matmul")) {
            return op;
        }
        Tensor x = (Tensor) a[0];
        Tensor c = (Tensor) a[4];
        boolean transA = (Boolean) a[1];
        long k = transA ? x.size(x.shape().length - 2) : x.size(x.shape().length - 1);
        long[] cs = c.shape();
        return "matmul " + Arrays.stream(cs).mapToObj(Long::toString).collect(Collectors.joining("x")) + " k" + k
                + (transA ? " tA" : "") + ((Boolean) a[3] ? " tB" : "") + ((Float) a[6] != 0f ? " +=" : "");
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "djl";
        int warmup = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        int steps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
        int seq = args.length > 3 ? Integer.parseInt(args[3]) : (which.equals("small") ? 128 : 256);
        String ids = args.length > 4 ? args[4] : "zipf";
        Map<String, long[]> perOp = new TreeMap<>();
        try (Backend real = Backends.cpu()) {
            Backend timing = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
                    new Class<?>[] {Backend.class}, (proxy, method, a) -> {
                        long start = System.nanoTime();
                        long cpuStart = cpuNanos();
                        try {
                            return method.invoke(real, a);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        } finally {
                            long[] c = perOp.computeIfAbsent(key(method.getName(), a), k -> new long[3]);
                            c[0] += System.nanoTime() - start;
                            c[1]++;
                            c[2] += cpuNanos() - cpuStart;
                        }
                    });
            List<Long> stepNanos = new ArrayList<>();
            try (TrainingStepBenchmark.Step s = new TrainingStepBenchmark.Step(timing, which, seq, ids)) {
                workers = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("leviathan-cpu-")).mapToLong(Thread::threadId).toArray();
                for (int i = 0; i < warmup; i++) {
                    s.run();
                }
                perOp.clear();
                for (int i = 0; i < steps; i++) {
                    long start = System.nanoTime();
                    s.run();
                    stepNanos.add(System.nanoTime() - start);
                }
            }
            print(which, warmup, perOp, stepNanos);
        }
    }

    private static void print(String which, int warmup, Map<String, long[]> perOp, List<Long> stepNanos) {
        int steps = stepNanos.size();
        double nanosPerMsStep = 1e6 * steps;
        long inside = perOp.values().stream().mapToLong(c -> c[0]).sum();
        long insideCpu = perOp.values().stream().mapToLong(c -> c[2]).sum();
        long total = stepNanos.stream().mapToLong(Long::longValue).sum();
        List<Map.Entry<String, long[]>> rows = new ArrayList<>(perOp.entrySet());
        rows.sort((x, y) -> Long.compare(y.getValue()[0], x.getValue()[0]));
        List<Long> sorted = new ArrayList<>(stepNanos);
        sorted.sort(Long::compare);
        System.out.printf("%s: %d warm-up steps, %d measured; step %.1f ms median, %.1f ms mean, %.1f ms of it"
                + " inside backend calls%n", which, warmup, steps, sorted.get(steps / 2) / 1e6,
                total / nanosPerMsStep, inside / nanosPerMsStep);
        System.out.printf("| %-34s | %6s | %10s | %6s | %10s | %6s |%n", "operation", "calls", "ms / step", "share",
                "cpu ms", "share");
        System.out.printf("|%s|%s|%s|%s|%s|%s|%n", "-".repeat(36), "-".repeat(8), "-".repeat(12), "-".repeat(8),
                "-".repeat(12), "-".repeat(8));
        for (Map.Entry<String, long[]> e : rows) {
            long[] c = e.getValue();
            System.out.printf("| %-34s | %6d | %10.2f | %5.1f%% | %10.2f | %5.1f%% |%n", e.getKey(), c[1] / steps,
                    c[0] / nanosPerMsStep, 100.0 * c[0] / inside, c[2] / nanosPerMsStep, 100.0 * c[2] / insideCpu);
        }
    }
}
