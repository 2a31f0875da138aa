package io.leviathan.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RecursiveAction;

/**
 * The CPU backend's thread pool: splits an index range into contiguous chunks and runs them on a
 * fixed number of workers. Small ranges run on the calling thread, since a fork costs microseconds.
 */
public final class Parallel implements AutoCloseable {
    /** A body that processes indices {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(long start, long end);
    }

    private final int threads;
    private final ForkJoinPool pool;

    public Parallel(int threads) {
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        this.threads = threads;
        this.pool = threads == 1 ? null : new ForkJoinPool(threads);
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in at most {@link #threads()} chunks of at least {@code grain}
     * indices each. Returns when every chunk is done; an exception in a chunk is rethrown here.
     */
    public void forRange(long n, long grain, RangeBody body) {
        if (n <= 0) {
            return;
        }
        long chunks = Math.min(threads, (n + Math.max(grain, 1) - 1) / Math.max(grain, 1));
        if (chunks <= 1 || pool == null || ForkJoinTask.inForkJoinPool()) {
            body.run(0, n);
            return;
        }
        int c = (int) chunks;
        pool.invoke(new RecursiveAction() {
            @Override
            protected void compute() {
                RecursiveAction[] parts = new RecursiveAction[c];
                for (int i = 0; i < c; i++) {
                    long start = n * i / c;
                    long end = n * (i + 1) / c;
                    parts[i] = new RecursiveAction() {
                        @Override
                        protected void compute() {
                            body.run(start, end);
                        }
                    };
                }
                invokeAll(parts);
            }
        });
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
