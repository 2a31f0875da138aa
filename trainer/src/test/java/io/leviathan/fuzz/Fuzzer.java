package io.leviathan.fuzz;

import static org.junit.jupiter.api.Assertions.fail;

import io.leviathan.backend.Backends;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Runs a reader over generated inputs and checks that each ends in a result or a clear exception.
 *
 * <p>A clear exception is an {@link IllegalArgumentException} or {@link UncheckedIOException} whose message
 * names the input (the file or source label the reader was given). Anything else is a finding: another
 * exception type (an {@code ArithmeticException} from an overflow, an {@code IndexOutOfBoundsException} from a
 * read past a mapped segment, a {@code NullPointerException}), an {@link Error} ({@code OutOfMemoryError},
 * {@code StackOverflowError}), two runs each longer than {@link #TIMEOUT_SECONDS} (a hang), or more heap allocated
 * while reading one input than {@link #ALLOCATION_LIMIT} plus 16 times the input's size (an allocation sized
 * by a field nobody checked). Findings are written to {@code target/fuzz-findings/} and fail the test;
 * copied under {@code src/test/resources/io/leviathan/fuzz/<target>/}, they are replayed on every run.
 *
 * <p>The number of generated inputs per target is {@code -Dleviathan.fuzz.tries=N} (default: each target's
 * short CI count) and the seed {@code -Dleviathan.fuzz.seed=S} (default fixed, so CI runs repeat).
 */
public final class Fuzzer {
    /** Per-input time limit: every reader here answers a small input in milliseconds. */
    public static final int TIMEOUT_SECONDS = 10;
    /** Heap a reader may allocate for one input beyond 16 bytes per input byte. */
    public static final long ALLOCATION_LIMIT = 64L << 20;

    private static final Path FINDINGS = Path.of("target", "fuzz-findings");
    private static final long DEFAULT_SEED = 0x1E71A7A4L;

    /** What a reader does with one input. */
    @FunctionalInterface
    public interface Check {
        void read(byte[] input) throws Exception;
    }

    /** The outcome of a run, for the summary line. */
    public record Summary(String target, int regressions, int generated, double seconds, List<String> findings) {}

    private Fuzzer() {}

    /**
     * Generated inputs per target: {@code -Dleviathan.fuzz.tries}, else {@code ciDefault}, or none in the
     * strict CPU pass: that pass repeats the suite for backends' host access, and these readers use no
     * backend, so their generated inputs run once, in the plain pass (kept inputs replay in both).
     */
    public static int tries(int ciDefault) {
        Integer set = Integer.getInteger("leviathan.fuzz.tries");
        if (set != null) {
            return set;
        }
        return Boolean.getBoolean(Backends.STRICT_PROPERTY) ? 0 : ciDefault;
    }

    /** The seed of this run's generators. */
    public static long seed() {
        return Long.getLong("leviathan.fuzz.seed", DEFAULT_SEED);
    }

    /**
     * Replays the kept regression inputs of {@code target}, then {@code tries} inputs from {@code generate},
     * running {@code check} on each; fails naming every finding.
     *
     * @param label the text every error message must contain (the file name the check reads from)
     */
    public static Summary run(String target, int tries, String label, Function<SplittableRandom, byte[]> generate,
                              Check check) {
        return run(target, tries, label, generate, check, TIMEOUT_SECONDS * 1000L);
    }

    /** {@link #run(String, int, String, Function, Check)} with a per-input time limit in milliseconds. */
    static Summary run(String target, int tries, String label, Function<SplittableRandom, byte[]> generate,
                       Check check, long timeoutMillis) {
        List<byte[]> inputs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Path p : keptInputs(target)) {
            try {
                inputs.add(Files.readAllBytes(p));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            names.add(p.getFileName().toString());
        }
        int regressions = inputs.size();
        SplittableRandom rnd = new SplittableRandom(seed() ^ target.hashCode());
        List<String> findings = new ArrayList<>();
        long start = System.nanoTime();
        ExecutorService worker = newWorker(target);
        try {
            for (int i = 0; i < regressions + tries; i++) {
                byte[] input = i < regressions ? inputs.get(i) : generate.apply(rnd);
                String name = i < regressions ? names.get(i) : "input " + (i - regressions);
                String problem;
                Future<String> f = worker.submit(() -> outcome(input, label, check));
                try {
                    problem = f.get(timeoutMillis, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    f.cancel(true);
                    worker.shutdownNow();
                    worker = newWorker(target); // the stuck thread is a daemon: abandon it
                    // once more on a fresh thread: a loaded machine can stall one run, a hang stalls both
                    Future<String> again = worker.submit(() -> outcome(input, label, check));
                    try {
                        problem = again.get(timeoutMillis, TimeUnit.MILLISECONDS);
                    } catch (TimeoutException twice) {
                        again.cancel(true);
                        worker.shutdownNow();
                        worker = newWorker(target);
                        problem = "no answer within " + timeoutMillis + " ms, twice (a hang)";
                    } catch (ExecutionException | InterruptedException other) {
                        problem = "harness failure: " + other;
                    }
                } catch (ExecutionException e) {
                    problem = "harness failure: " + e.getCause();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted", e);
                }
                if (problem != null) {
                    findings.add(name + ": " + problem + " -> " + keep(target, input));
                }
            }
        } finally {
            worker.shutdownNow();
        }
        Summary s = new Summary(target, regressions, tries, (System.nanoTime() - start) / 1e9, findings);
        System.out.printf(Locale.ROOT, "fuzz %s: %d regression + %d generated inputs (seed %d) in %.1f s, %d finding%s%n",
                target, regressions, tries, seed(), s.seconds(), findings.size(), findings.size() == 1 ? "" : "s");
        if (!findings.isEmpty()) {
            fail(target + ": " + findings.size() + " input(s) did not end in a result or a clear exception:\n  "
                    + String.join("\n  ", findings));
        }
        return s;
    }

    /** Null when {@code check} returned or threw a clear exception; otherwise what went wrong. */
    static String outcome(byte[] input, String label, Check check) {
        long before = allocatedBytes();
        String problem = null;
        try {
            check.read(input);
        } catch (IllegalArgumentException | UncheckedIOException e) {
            String m = e.getMessage();
            if (m == null || m.isBlank()) {
                problem = e.getClass().getName() + " without a message";
            } else if (!m.contains(label)) {
                problem = e.getClass().getSimpleName() + " that does not name " + label + ": " + m;
            }
        } catch (Throwable t) {
            problem = t.getClass().getName() + ": " + t.getMessage();
        }
        long allocated = allocatedBytes() - before;
        if (problem == null && allocated > ALLOCATION_LIMIT + 16L * input.length) {
            problem = String.format(Locale.ROOT, "allocated %,d bytes of heap for a %,d-byte input", allocated,
                    input.length);
        }
        return problem;
    }

    private static final Method ALLOCATED = allocatedBytesMethod();
    private static final Object THREADS = threadBean();

    /** Heap allocated so far by the calling thread (HotSpot's per-thread allocation counter). */
    static long allocatedBytes() {
        try {
            return (long) ALLOCATED.invoke(THREADS);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot read the thread allocation counter", e);
        }
    }

    private static Object threadBean() {
        try {
            return Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("java.management is needed to measure allocations", e);
        }
    }

    private static Method allocatedBytesMethod() {
        try {
            // reflection: the test module does not read jdk.management, whose interface declares the counter
            return Class.forName("com.sun.management.ThreadMXBean").getMethod("getCurrentThreadAllocatedBytes");
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("jdk.management is needed to measure allocations", e);
        }
    }

    private static ExecutorService newWorker(String target) {
        return Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fuzz-" + target);
            t.setDaemon(true);
            return t;
        });
    }

    private static List<Path> keptInputs(String target) {
        Path dir = Path.of("src", "test", "resources", "io", "leviathan", "fuzz", target);
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String keep(String target, byte[] input) {
        try {
            Path dir = Files.createDirectories(FINDINGS.resolve(target));
            Path f = Files.createTempFile(dir, "finding-", ".bin");
            Files.write(f, input);
            return f.toString();
        } catch (IOException e) {
            return "(not kept: " + e.getMessage() + ")";
        }
    }
}
