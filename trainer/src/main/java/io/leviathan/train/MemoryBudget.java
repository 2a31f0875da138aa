package io.leviathan.train;

import io.leviathan.backend.Backend;
import io.leviathan.model.MemoryEstimate;
import io.leviathan.model.MemoryEstimate.Place;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.OptionalLong;
import java.util.stream.Collectors;

/**
 * What memory a run may take, and the check that refuses a {@link MemoryEstimate} exceeding it before
 * anything is allocated.
 * <ul>
 *   <li><b>Backend memory.</b> On a GPU backend, what {@link Backend#memoryAvailable()} reports. On the CPU
 *       the arenas take native host memory, so it counts against the host.</li>
 *   <li><b>Host memory.</b> {@code -Dleviathan.memory.limit} or {@code $LEVIATHAN_MEMORY_LIMIT} when set
 *       (bytes, or with a suffix: {@code 512m}, {@code 8g}); else {@code MemAvailable} from
 *       {@code /proc/meminfo}, lowered to a cgroup v2 limit's headroom where one applies. Where none of
 *       these can be read the host is not checked.</li>
 *   <li><b>Heap.</b> The Java arrays must fit the heap's room: {@code Runtime.maxMemory()} less what is in
 *       use.</li>
 * </ul>
 * A run may use {@link #USABLE_FRACTION} of what is available: the JVM, mapped token shards, the page cache
 * and other processes need the rest.
 */
public final class MemoryBudget {
    /** The property that caps host memory, in bytes or with a k, m, g or t suffix. */
    public static final String LIMIT_PROPERTY = "leviathan.memory.limit";
    /** The environment variable read when the property is not set. */
    public static final String LIMIT_ENV = "LEVIATHAN_MEMORY_LIMIT";
    /** The share of available memory a run may plan to take. */
    public static final double USABLE_FRACTION = 0.9;
    private static final String PLAN = ", of which a run plans at most 90 %";

    private final String backendName;
    private final OptionalLong device;      // a GPU's available memory; empty when the arenas are host memory
    private final OptionalLong host;
    private final String hostSource;
    private final long heap;

    MemoryBudget(String backendName, OptionalLong device, OptionalLong host, String hostSource, long heap) {
        this.backendName = backendName;
        this.device = device;
        this.host = host;
        this.hostSource = hostSource;
        this.heap = heap;
    }

    /** The budget of a run on {@code be} in this process. */
    public static MemoryBudget of(Backend be) {
        return of(be.name(), be.memoryAvailable());
    }

    /** The budget of a run on the CPU backend in this process (no backend needed). */
    public static MemoryBudget cpu() {
        return of("cpu", OptionalLong.empty());
    }

    private static MemoryBudget of(String backendName, OptionalLong device) {
        Runtime rt = Runtime.getRuntime();
        long heapRoom = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        String limit = System.getProperty(LIMIT_PROPERTY);
        String source = "-D" + LIMIT_PROPERTY;
        if (limit == null || limit.isBlank()) {
            limit = System.getenv(LIMIT_ENV);
            source = "$" + LIMIT_ENV;
        }
        OptionalLong host;
        if (limit != null && !limit.isBlank()) {
            host = OptionalLong.of(parseSize(limit, source));
        } else {
            host = hostAvailable();
            source = "available host memory";
        }
        return new MemoryBudget(backendName, device, host, source, heapRoom);
    }

    /** Bytes of {@code text}: digits with an optional k, m, g or t (powers of 1024; a trailing b is allowed). */
    static long parseSize(String text, String source) {
        String s = text.trim().toLowerCase(Locale.ROOT);
        if (s.endsWith("b") && s.length() > 1 && !Character.isDigit(s.charAt(s.length() - 2))) {
            s = s.substring(0, s.length() - 1);
        }
        int shift = 0;
        if (!s.isEmpty()) {
            switch (s.charAt(s.length() - 1)) {
                case 'k' -> shift = 10;
                case 'm' -> shift = 20;
                case 'g' -> shift = 30;
                case 't' -> shift = 40;
                default -> { }
            }
        }
        String digits = shift == 0 ? s : s.substring(0, s.length() - 1);
        try {
            long v = Long.parseLong(digits);
            if (v < 1 || v > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return v << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(source + ": expected a positive size such as 4096, 512m or 8g, got '"
                    + text + "'");
        }
    }

    /** MemAvailable, lowered to the headroom of a cgroup v2 memory limit; empty where neither is readable. */
    private static OptionalLong hostAvailable() {
        OptionalLong meminfo = OptionalLong.empty();
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"), StandardCharsets.US_ASCII)) {
                if (line.startsWith("MemAvailable:")) {
                    String[] f = line.substring("MemAvailable:".length()).trim().split("\\s+");
                    meminfo = OptionalLong.of(Long.parseLong(f[0]) * 1024); // reported in kB
                }
            }
        } catch (IOException | RuntimeException unreadable) {
            meminfo = OptionalLong.empty();
        }
        OptionalLong cgroup = OptionalLong.empty();
        try {
            String max = Files.readString(Path.of("/sys/fs/cgroup/memory.max")).trim();
            if (!max.equals("max")) {
                long current = Long.parseLong(Files.readString(Path.of("/sys/fs/cgroup/memory.current")).trim());
                cgroup = OptionalLong.of(Math.max(0, Long.parseLong(max) - current));
            }
        } catch (IOException | RuntimeException unreadable) {
            cgroup = OptionalLong.empty();
        }
        if (meminfo.isPresent() && cgroup.isPresent()) {
            return OptionalLong.of(Math.min(meminfo.getAsLong(), cgroup.getAsLong()));
        }
        return meminfo.isPresent() ? meminfo : cgroup;
    }

    /** Bytes of the backend's memory available, if the backend reports it (a GPU). */
    public OptionalLong device() {
        return device;
    }

    /** Host bytes available (or the configured limit), if known. */
    public OptionalLong host() {
        return host;
    }

    /** Heap bytes that new arrays can take. */
    public long heap() {
        return heap;
    }

    /** True when {@code e} fits every place of this budget. */
    public boolean fits(MemoryEstimate e) {
        return shortfall(e) == null;
    }

    /**
     * Refuses {@code e} when it does not fit, with a message that gives the estimate, what is available, the
     * largest batch that fits at this sequence length and the biggest items.
     *
     * @param what what needs the memory, e.g. {@code "training"} or {@code "evaluation"}
     * @throws NotEnoughMemoryException when it does not fit
     */
    public void check(MemoryEstimate e, String what) {
        String shortfall = shortfall(e);
        if (shortfall == null) {
            return;
        }
        int best = MemoryEstimate.largestBatch(e.config(), e.seq(), e.precision(), e.training(), e.batch() - 1,
                this::fits);
        String fits = best > 0
                ? "the largest batch that fits at seq " + e.seq() + " is " + best
                : "no batch fits at seq " + e.seq() + " (batch 1 needs "
                        + MemoryEstimate.human(one(e).total()) + "); use a smaller model or sequence";
        List<MemoryEstimate.Item> top = e.items().stream()
                .sorted(Comparator.comparingLong(MemoryEstimate.Item::bytes).reversed()).limit(3).toList();
        String biggest = top.stream().map(i -> i.name() + " " + MemoryEstimate.human(i.bytes()))
                .collect(Collectors.joining(", "));
        throw new NotEnoughMemoryException(e, what + " at batch " + e.batch() + " x seq " + e.seq() + " ("
                + e.precision().label() + ") needs " + shortfall + "; " + fits + "; largest parts: " + biggest
                + " (./leviathan info --model ... --batch " + e.batch() + " --seq " + e.seq()
                + " prints the whole estimate)");
    }

    private static MemoryEstimate one(MemoryEstimate e) {
        return e.training() ? MemoryEstimate.training(e.config(), 1, e.seq(), e.precision())
                : MemoryEstimate.model(e.config(), 1, e.seq(), e.precision());
    }

    /** What does not fit, in words (every place that falls short, host or device first), or null. */
    private String shortfall(MemoryEstimate e) {
        long backend = e.bytes(Place.BACKEND);
        long heapBytes = e.bytes(Place.HEAP);
        List<String> parts = new ArrayList<>();
        if (device.isPresent() && backend > usable(device.getAsLong())) {
            parts.add(MemoryEstimate.human(backend) + " of " + backendName + " device memory but "
                    + MemoryEstimate.human(device.getAsLong()) + " is available" + PLAN);
        }
        long onHost = device.isPresent() ? heapBytes : saturatingAdd(backend, heapBytes);
        if (host.isPresent() && onHost > usable(host.getAsLong())) {
            parts.add(MemoryEstimate.human(onHost) + " of host memory (" + (device.isPresent() ? ""
                    : MemoryEstimate.human(backend) + " native for the " + backendName + " backend, ")
                    + MemoryEstimate.human(heapBytes) + " heap) but " + MemoryEstimate.human(host.getAsLong())
                    + " is available (" + hostSource + ")" + PLAN);
        }
        if (heapBytes > usable(heap)) {
            parts.add(MemoryEstimate.human(heapBytes) + " of Java heap but " + MemoryEstimate.human(heap)
                    + " is free" + PLAN + " (raise it with -Xmx)");
        }
        return parts.isEmpty() ? null : String.join(", and ", parts);
    }

    private static long saturatingAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    private static long usable(long available) {
        return (long) (available * USABLE_FRACTION);
    }
}
