package io.leviathan.backend.cpu;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The CPU backend's thread pool: splits an index range into contiguous chunks and runs them on a fixed
 * number of threads. Small ranges run on the calling thread, since waking a worker costs microseconds.
 *
 * <p><b>Chunks.</b> {@code forRange(n, grain, body)} cuts {@code [0, n)} into
 * {@code c = min(threads, ceil(n / grain))} chunks {@code [n*i/c, n*(i+1)/c)}. The boundaries depend only on
 * {@code n}, {@code grain} and {@link #threads()}, never on timing, so kernels that reduce per chunk stay
 * bit-for-bit deterministic; which thread runs which chunk is not fixed.
 *
 * <p><b>Design.</b> The pool keeps {@code threads - 1} persistent daemon workers; the calling thread is the
 * last worker and claims chunks like the others. A call publishes one job (body, n, chunk count) in plain
 * fields and then a single atomic control word: a 32-bit job epoch, the chunk count and the next unclaimed
 * chunk index. Threads claim chunks with one atomic add on that word and count finished chunks on a second
 * counter; the caller returns when every chunk is finished. Nothing is allocated per call. Idle workers spin
 * for a short while (so back-to-back kernels do not pay a park/unpark round trip) and then park, so an idle
 * pool uses no CPU.
 *
 * <p><b>Threads.</b> A body that itself calls {@code forRange} (on any {@code Parallel}) runs the inner range
 * inline on its own thread. Calls from two different threads on one pool are <em>serialized</em>: the second
 * waits on a lock until the first has finished, then runs; both get correct results.
 *
 * <p><b>Failures.</b> If chunks throw, the remaining chunks still run; once all have finished, the first
 * throwable is rethrown to the caller unchanged (same instance and type), with any later ones attached as
 * suppressed. After {@link #close()} the workers stop and {@code forRange} throws {@link IllegalStateException}.
 */
public final class Parallel implements AutoCloseable {
    /** A body that processes indices {@code [start, end)}. */
    @FunctionalInterface
    public interface RangeBody {
        void run(long start, long end);
    }

    /** Upper bound on {@code threads}: chunk indices live in 16 bits of the control word. */
    static final int MAX_THREADS = 1 << 14;

    private static final Cleaner CLEANER = Cleaner.create();

    /** How many forRange jobs the current (non-worker) thread is running as the caller: nested calls run inline. */
    private static final ThreadLocal<int[]> CALLER_DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private final int threads;
    private final Pool pool;
    private final Cleaner.Cleanable cleanable;

    public Parallel(int threads) {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException("threads must be in [1, " + MAX_THREADS + "], got " + threads);
        }
        this.threads = threads;
        this.pool = new Pool(threads - 1);
        // The workers reference only the Pool, so a forgotten Parallel can still be collected; the cleaner
        // then stops its workers.
        this.cleanable = CLEANER.register(this, pool::shutdown);
    }

    public int threads() {
        return threads;
    }

    /**
     * Runs {@code body} over {@code [0, n)} in at most {@link #threads()} chunks of at least {@code grain}
     * indices each. Returns when every chunk is done; an exception in a chunk is rethrown here.
     *
     * @throws IllegalStateException if this pool has been closed
     */
    public void forRange(long n, long grain, RangeBody body) {
        Pool p = pool;
        if (p.closed) {
            throw new IllegalStateException("Parallel pool is closed (its CPU backend was closed)");
        }
        if (n <= 0) {
            return;
        }
        long g = Math.max(grain, 1);
        long chunks = Math.min(threads, (n + g - 1) / g);
        if (chunks <= 1 || Thread.currentThread() instanceof Worker) {
            body.run(0, n);
            return;
        }
        int[] depth = CALLER_DEPTH.get();
        if (depth[0] > 0) {
            body.run(0, n); // nested inside a chunk this thread runs as a caller, of this pool or another
            return;
        }
        depth[0]++;
        try {
            p.run(n, (int) chunks, body);
        } finally {
            depth[0]--;
        }
    }

    /** Stops the workers; later {@link #forRange} calls throw. Idempotent. */
    @Override
    public void close() {
        cleanable.clean();
    }

    /** A persistent worker thread; it holds the pool, never the {@link Parallel}. */
    private static final class Worker extends Thread {
        final Pool pool;
        /** True while this worker is parked (or about to park) waiting for a new job. */
        volatile boolean parked;

        Worker(Pool pool, int index) {
            super("leviathan-cpu-" + index);
            this.pool = pool;
            setDaemon(true);
        }

        @Override
        public void run() {
            pool.workerLoop(this);
        }
    }

    /**
     * The shared state of one pool. Control word {@code ctl}: bits 32..63 the job epoch, bits 16..31 the
     * chunk count {@code c}, bits 0..15 the next chunk index to claim. A claim is {@code getAndAdd(ctl, 1)};
     * it succeeds when the index it returns is below {@code c}. Each thread makes at most one failing claim
     * per epoch (it then waits for the epoch to change), so the index never exceeds {@code c + threads}
     * and cannot carry into the count bits.
     */
    private static final class Pool {
        /** Spin this long for new work or for completion before parking. */
        private static final long SPIN_NANOS = 50_000;

        private static final VarHandle CTL;
        private static final VarHandle DONE;
        private static final VarHandle FAILURE;

        static {
            try {
                MethodHandles.Lookup l = MethodHandles.lookup();
                CTL = l.findVarHandle(Pool.class, "ctl", long.class);
                DONE = l.findVarHandle(Pool.class, "done", int.class);
                FAILURE = l.findVarHandle(Pool.class, "failure", Throwable.class);
            } catch (ReflectiveOperationException e) {
                throw new ExceptionInInitializerError(e);
            }
        }

        final ReentrantLock lock = new ReentrantLock();
        final Worker[] workers;
        volatile boolean closed;

        // The published job: written by the caller before the volatile write of ctl that publishes it and
        // not changed until every chunk of it has finished.
        private RangeBody body;
        private long n;
        /** The thread that called forRange for the current job, and whether it is parked waiting for it. */
        private Thread caller;
        private volatile boolean callerParked;

        @SuppressWarnings("unused") private volatile long ctl;
        @SuppressWarnings("unused") private volatile int done;
        @SuppressWarnings("unused") private volatile Throwable failure;

        Pool(int workerCount) {
            workers = new Worker[workerCount];
            for (int i = 0; i < workerCount; i++) {
                workers[i] = new Worker(this, i);
            }
            for (Worker w : workers) {
                w.start();
            }
        }

        void run(long n, int c, RangeBody body) {
            lock.lock();
            try {
                if (closed) {
                    throw new IllegalStateException("Parallel pool is closed (its CPU backend was closed)");
                }
                this.body = body;
                this.n = n;
                this.caller = Thread.currentThread();
                this.callerParked = false;
                DONE.setVolatile(this, 0);
                FAILURE.setVolatile(this, null);
                long epoch = ((long) CTL.getVolatile(this) >>> 32) + 1;
                CTL.setVolatile(this, (epoch << 32) | ((long) c << 16));
                // Wake parked workers, at most one per chunk the caller will not take itself.
                int wake = Math.min(workers.length, c - 1);
                for (int i = 0; i < wake; i++) {
                    Worker w = workers[i];
                    if (w.parked) {
                        LockSupport.unpark(w);
                    }
                }
                runChunks();
                awaitDone(c);
                Throwable t = (Throwable) FAILURE.getVolatile(this);
                this.body = null;
                this.caller = null;
                if (t != null) {
                    FAILURE.setVolatile(this, null);
                    throw Parallel.<RuntimeException>sneaky(t);
                }
            } finally {
                lock.unlock();
            }
        }

        /** Claims and runs chunks until none is left in the current epoch; returns that epoch. */
        private int runChunks() {
            for (;;) {
                long s = (long) CTL.getAndAdd(this, 1L);
                int c = (int) (s >>> 16) & 0xFFFF;
                int i = (int) s & 0xFFFF;
                if (i >= c) {
                    return (int) (s >>> 32);
                }
                // A successful claim pins the job: it cannot finish (and be replaced) before this chunk does.
                long len = n;
                try {
                    body.run(len * i / c, len * (i + 1) / c);
                } catch (Throwable t) {
                    if (!FAILURE.compareAndSet(this, null, t)) {
                        Throwable first = (Throwable) FAILURE.getVolatile(this);
                        if (first != t) {
                            synchronized (first) {
                                first.addSuppressed(t);
                            }
                        }
                    }
                }
                if ((int) DONE.getAndAdd(this, 1) + 1 == c) {
                    Thread waiter = caller;
                    if (waiter != Thread.currentThread() && callerParked) {
                        LockSupport.unpark(waiter);
                    }
                }
            }
        }

        /** Spins, then parks, until all {@code c} chunks of the current job have finished. */
        private void awaitDone(int c) {
            long deadline = 0;
            boolean timed = false;
            int spins = 0;
            while (done != c) {
                if (++spins < 64) {
                    Thread.onSpinWait();
                    continue;
                }
                spins = 0;
                long now = System.nanoTime();
                if (!timed) {
                    timed = true;
                    deadline = now + SPIN_NANOS;
                }
                if (now - deadline < 0) {
                    continue;
                }
                callerParked = true;
                if (done != c) {
                    LockSupport.park(this);
                }
                callerParked = false;
            }
        }

        void workerLoop(Worker self) {
            // Epoch 0 is the idle state before the first job; a worker that starts late still joins job 1.
            int seen = 0;
            while (!closed) {
                if (epochOf() == seen) {
                    waitForJob(self, seen);
                    continue;
                }
                seen = runChunks();
            }
        }

        private int epochOf() {
            return (int) ((long) CTL.getVolatile(this) >>> 32);
        }

        /** Spins, then parks, until the epoch moves past {@code seen} or the pool closes. */
        private void waitForJob(Worker self, int seen) {
            long deadline = System.nanoTime() + SPIN_NANOS;
            int spins = 0;
            while (epochOf() == seen && !closed) {
                if (++spins < 64) {
                    Thread.onSpinWait();
                    continue;
                }
                spins = 0;
                if (System.nanoTime() - deadline < 0) {
                    continue;
                }
                self.parked = true;
                if (epochOf() == seen && !closed) {
                    LockSupport.park(this);
                }
                self.parked = false;
                return;
            }
        }

        void shutdown() {
            if (closed) {
                return;
            }
            closed = true;
            for (Worker w : workers) {
                LockSupport.unpark(w);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static <T extends Throwable> T sneaky(Throwable t) throws T {
        throw (T) t;
    }
}
