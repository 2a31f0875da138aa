package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ParallelTest {

    private static long chunkCount(int threads, long n, long grain) {
        long g = Math.max(grain, 1);
        return Math.min(threads, (n + g - 1) / g);
    }

    @Test
    void everyIndexOnceWithFixedChunkBoundaries() {
        int[] threadCounts = {1, 2, 3, 4, 7};
        long[] sizes = {0, 1, 2, 3, 5, 6, 7, 10, 63, 64, 100, 1000, 4097};
        long[] grains = {0, 1, 2, 3, 16, 1000};
        for (int threads : threadCounts) {
            try (Parallel par = new Parallel(threads)) {
                for (long n : sizes) {
                    for (long grain : grains) {
                        for (int rep = 0; rep < 3; rep++) {
                            AtomicIntegerArray visits = new AtomicIntegerArray((int) n);
                            List<long[]> ranges = java.util.Collections.synchronizedList(new ArrayList<>());
                            par.forRange(n, grain, (s, e) -> {
                                ranges.add(new long[] {s, e});
                                for (long i = s; i < e; i++) {
                                    visits.incrementAndGet((int) i);
                                }
                            });
                            String where = "threads=" + threads + " n=" + n + " grain=" + grain;
                            for (int i = 0; i < n; i++) {
                                assertEquals(1, visits.get(i), where + " index " + i);
                            }
                            if (n == 0) {
                                assertEquals(0, ranges.size(), where);
                                continue;
                            }
                            long c = chunkCount(threads, n, grain);
                            assertEquals(c, ranges.size(), where);
                            ranges.sort((a, b) -> Long.compare(a[0], b[0]));
                            for (int i = 0; i < c; i++) {
                                assertEquals(n * i / c, ranges.get(i)[0], where + " chunk " + i + " start");
                                assertEquals(n * (i + 1) / c, ranges.get(i)[1], where + " chunk " + i + " end");
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void chunksRunOnSeveralThreads() throws Exception {
        try (Parallel par = new Parallel(4)) {
            java.util.Set<Thread> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
            CyclicBarrier barrier = new CyclicBarrier(4);
            par.forRange(4, 1, (s, e) -> {
                seen.add(Thread.currentThread());
                try {
                    barrier.await(30, TimeUnit.SECONDS); // all four chunks must be running at once
                } catch (Exception ex) {
                    throw new AssertionError(ex);
                }
            });
            assertEquals(4, seen.size());
            assertTrue(seen.contains(Thread.currentThread()), "the caller takes part");
        }
    }

    @Test
    void singleThreadAndTinyRangesRunInline() {
        Thread me = Thread.currentThread();
        try (Parallel one = new Parallel(1); Parallel four = new Parallel(4)) {
            AtomicInteger calls = new AtomicInteger();
            one.forRange(1000, 1, (s, e) -> {
                assertSame(me, Thread.currentThread());
                assertEquals(0, s);
                assertEquals(1000, e);
                calls.incrementAndGet();
            });
            four.forRange(10, 100, (s, e) -> {
                assertSame(me, Thread.currentThread());
                calls.incrementAndGet();
            });
            assertEquals(2, calls.get());
        }
    }

    @Test
    void exceptionsPropagateWithTheirTypeAndThePoolStaysUsable() {
        try (Parallel par = new Parallel(3)) {
            for (int failing = 0; failing < 3; failing++) {
                int bad = failing;
                AtomicInteger finished = new AtomicInteger();
                IllegalArgumentException boom = new IllegalArgumentException("chunk " + bad);
                IllegalArgumentException thrown = assertThrows(IllegalArgumentException.class,
                        () -> par.forRange(3, 1, (s, e) -> {
                            if (s == bad) {
                                throw boom;
                            }
                            finished.incrementAndGet();
                        }));
                assertSame(boom, thrown);
                assertEquals(2, finished.get(), "the other chunks still ran to completion");
            }
            StackOverflowError err = new StackOverflowError("deep");
            assertSame(err, assertThrows(StackOverflowError.class, () -> par.forRange(30, 1, (s, e) -> {
                if (s >= 10) {
                    throw err;
                }
            })));
            // Every chunk throws: one is rethrown, the others are attached to it.
            RuntimeException all = assertThrows(RuntimeException.class,
                    () -> par.forRange(3, 1, (s, e) -> {
                        throw new RuntimeException("chunk " + s);
                    }));
            assertEquals(2, all.getSuppressed().length);
            // Still usable.
            AtomicLong sum = new AtomicLong();
            par.forRange(1000, 1, (s, e) -> {
                for (long i = s; i < e; i++) {
                    sum.addAndGet(i);
                }
            });
            assertEquals(999L * 1000 / 2, sum.get());
        }
    }

    @Test
    void nestedCallsRunInline() {
        try (Parallel par = new Parallel(3); Parallel other = new Parallel(2)) {
            AtomicIntegerArray visits = new AtomicIntegerArray(300 * 50);
            par.forRange(300, 1, (s, e) -> {
                for (long i = s; i < e; i++) {
                    long row = i;
                    Thread outer = Thread.currentThread();
                    Parallel inner = row % 2 == 0 ? par : other;
                    inner.forRange(50, 1, (s2, e2) -> {
                        assertSame(outer, Thread.currentThread(), "nested range runs on its own thread");
                        for (long j = s2; j < e2; j++) {
                            visits.incrementAndGet((int) (row * 50 + j));
                        }
                    });
                }
            });
            for (int i = 0; i < visits.length(); i++) {
                assertEquals(1, visits.get(i), "index " + i);
            }
        }
    }

    @Test
    void closedPoolRefusesWorkAndCloseIsIdempotent() {
        for (int threads : new int[] {1, 3}) {
            Parallel par = new Parallel(threads);
            par.forRange(100, 1, (s, e) -> { });
            par.close();
            par.close();
            IllegalStateException ex = assertThrows(IllegalStateException.class,
                    () -> par.forRange(100, 1, (s, e) -> fail("ran after close")));
            assertTrue(ex.getMessage().contains("closed"), ex.getMessage());
            assertThrows(IllegalStateException.class, () -> par.forRange(1, 1, (s, e) -> fail("ran after close")));
        }
        assertThrows(IllegalArgumentException.class, () -> new Parallel(0));
    }

    private static java.util.Set<Thread> poolThreads() {
        java.util.Set<Thread> out = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("leviathan-cpu-") && t.isAlive()) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void closeStopsTheWorkers() throws Exception {
        java.util.Set<Thread> before = poolThreads();
        Parallel par = new Parallel(3);
        par.forRange(100, 1, (s, e) -> { });
        java.util.Set<Thread> ours = poolThreads();
        ours.removeAll(before);
        assertEquals(2, ours.size(), "threads - 1 workers");
        par.close();
        for (Thread t : ours) {
            t.join(10_000);
            assertTrue(!t.isAlive(), t.getName() + " stopped after close");
        }
    }

    @Test
    void concurrentCallersAreSerializedAndCorrect() throws Exception {
        try (Parallel par = new Parallel(3)) {
            int callers = 3;
            int rounds = 300;
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicInteger inside = new AtomicInteger();
            CyclicBarrier start = new CyclicBarrier(callers);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < callers; t++) {
                int id = t;
                Thread th = new Thread(() -> {
                    try {
                        start.await();
                        for (int r = 0; r < rounds; r++) {
                            int n = 1 + (r * 37 + id * 11) % 500;
                            AtomicIntegerArray visits = new AtomicIntegerArray(n);
                            par.forRange(n, 1, (s, e) -> {
                                inside.incrementAndGet();
                                for (long i = s; i < e; i++) {
                                    visits.incrementAndGet((int) i);
                                }
                                inside.decrementAndGet();
                            });
                            for (int i = 0; i < n; i++) {
                                if (visits.get(i) != 1) {
                                    throw new AssertionError("caller " + id + " n=" + n + " index " + i
                                            + " visited " + visits.get(i) + " times");
                                }
                            }
                        }
                    } catch (Throwable ex) {
                        failure.compareAndSet(null, ex);
                    }
                });
                threads.add(th);
                th.start();
            }
            for (Thread th : threads) {
                th.join();
            }
            if (failure.get() != null) {
                throw new AssertionError(failure.get());
            }
        }
    }

    @Test
    void forRangeAllocatesNothingPerCallAfterWarmUp() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        if (!(bean instanceof com.sun.management.ThreadMXBean mx) || !mx.isThreadAllocatedMemorySupported()) {
            org.junit.jupiter.api.Assumptions.abort("per-thread allocation counters are not available");
            return;
        }
        mx.setThreadAllocatedMemoryEnabled(true);
        float[] data = new float[4096];
        long[] sink = new long[1];
        try (Parallel par = new Parallel(2)) {
            Parallel.RangeBody body = (s, e) -> {
                for (long i = s; i < e; i++) {
                    data[(int) i] += 1f;
                }
            };
            Runnable calls = () -> {
                for (int i = 0; i < 1000; i++) {
                    par.forRange(data.length, 64, body);
                    par.forRange(10, 64, body); // inline
                }
            };
            for (int warm = 0; warm < 20; warm++) {
                calls.run();
            }
            long tid = Thread.currentThread().threadId();
            long best = Long.MAX_VALUE;
            for (int attempt = 0; attempt < 5; attempt++) {
                long before = mx.getThreadAllocatedBytes(tid);
                calls.run();
                long after = mx.getThreadAllocatedBytes(tid);
                best = Math.min(best, after - before);
            }
            sink[0] = best;
            // 2000 calls: anything per call would show up as tens of kilobytes.
            assertTrue(best < 1024, "forRange allocated " + best + " bytes over 2000 calls");
        }
    }
}
