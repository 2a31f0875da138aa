package io.leviathan.benchmarks;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.TreeMap;

/**
 * Heap bytes one training step of {@link TrainingStepBenchmark} allocates, per backend operation: every call
 * is wrapped, and the bytes allocated meanwhile by the calling thread and the CPU pool's workers are added to
 * that operation. Then the whole step, unwrapped (the wrapper's own argument arrays and boxing would count
 * outside the calls), on a second model of the same backend: the difference is what the model, the
 * benchmark's step and the JVM allocate between backend calls. Run it with the benchmark's JVM flags;
 * arguments: model ({@code djl} or {@code small}) and the number of steps (the last one is reported; earlier
 * ones warm the JIT up, since the Vector API boxes its values until C2 has compiled a kernel).
 */
public final class StepAllocations {
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static long[] workers = new long[0];

    private StepAllocations() {}

    /** Bytes allocated so far by this thread and the pool's workers (no array is allocated to ask). */
    private static long allocated() {
        long sum = THREADS.getCurrentThreadAllocatedBytes();
        for (long id : workers) {
            sum += THREADS.getThreadAllocatedBytes(id);
        }
        return sum;
    }

    public static void main(String[] args) {
        String which = args.length > 0 ? args[0] : "djl";
        int steps = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        Map<String, long[]> perOp = new TreeMap<>();
        try (Backend real = Backends.cpu()) {
            Backend counting = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
                    new Class<?>[] {Backend.class}, (proxy, method, a) -> {
                        long before = allocated();
                        long bytes;
                        Object result;
                        try {
                            result = method.invoke(real, a);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        } finally {
                            bytes = allocated() - before; // before the map below allocates its entry
                        }
                        long[] c = perOp.computeIfAbsent(method.getName(), k -> new long[2]);
                        c[0] += bytes;
                        c[1]++;
                        return result;
                    });
            try (TrainingStepBenchmark.Step s = new TrainingStepBenchmark.Step(counting, which)) {
                workers = Thread.getAllStackTraces().keySet().stream()
                        .filter(t -> t.getName().startsWith("leviathan-cpu-")).mapToLong(Thread::threadId).toArray();
                for (int i = 1; i < steps; i++) {
                    s.run();
                }
                perOp.clear();
                s.run();
            }
            long total = perOp.values().stream().mapToLong(c -> c[0]).sum();
            System.out.printf("%s: %d heap bytes allocated inside backend calls in step %d%n", which, total, steps);
            perOp.forEach((op, c) -> System.out.printf("  %-24s %4d calls %8d bytes%n", op, c[1], c[0]));
            long whole = wholeStep(real, which, steps);
            System.out.printf("%s: %d heap bytes allocated by the whole step %d, unwrapped (%d outside backend calls)%n",
                    which, whole, steps, whole - total);
        }
    }

    /** Bytes the calling thread and the pool's workers allocate during the last of {@code steps} plain steps. */
    private static long wholeStep(Backend backend, String which, int steps) {
        try (TrainingStepBenchmark.Step s = new TrainingStepBenchmark.Step(backend, which)) {
            for (int i = 1; i < steps; i++) {
                s.run();
            }
            long before = allocated();
            s.run();
            return allocated() - before;
        }
    }
}
