package io.leviathan.data;

import java.util.Arrays;
import java.util.Locale;

/**
 * Draws training batches from one split of a {@link TokenDataset}: each sequence is a window of {@code seq + 1}
 * consecutive tokens; the inputs are its first {@code seq} tokens and the targets its last {@code seq}
 * (the inputs shifted by one). Windows cross document boundaries ({@code <|endoftext|>} marks them) and shard
 * boundaries freely.
 *
 * <p>Three ways to pick windows:
 * <ul>
 *   <li>{@link #BatchSampler(TokenDataset, Split, int, int, long) random windows} (the default): every window
 *       starts at a uniformly random position in {@code [0, tokens - seq - 1]}, independently, so windows are
 *       drawn with replacement and overlap: drawing as many tokens as a third of the split covers only about
 *       28 % of its positions once or more;</li>
 *   <li>{@link #epochs shuffled epochs} (without replacement): the split is cut into consecutive
 *       non-overlapping windows of stride {@code seq}, and each epoch visits every window once in its own
 *       pseudo-random order ({@link WindowPermutation}), so a run of fewer tokens than the split sees no token
 *       twice as a target;</li>
 *   <li>{@link #shuffled shuffle buffer} (the paper's, with 10,000): the split is cut into consecutive
 *       non-overlapping windows of stride {@code seq} (so every token but the first is a target once per epoch),
 *       taken in order, epoch after epoch, through a buffer of {@code bufferSize} windows from which each draw
 *       takes a uniformly random one and refills its slot with the next window of the stream.
 *       {@link #sequential} is the same with a buffer of one: the windows in order, for evaluation.</li>
 * </ul>
 *
 * <p>The random numbers come from a SplitMix64 generator seeded with {@code seed}, so a sampler is
 * deterministic for a seed, dataset and shape. {@link #state()} captures everything needed to continue
 * bit-exactly (generator state, windows drawn, stream position and buffer contents) as a {@code long[]};
 * {@link #restore} puts a fresh sampler over the same dataset into that state. Not thread-safe.
 */
public final class BatchSampler {
    /** The shuffle-buffer size the paper used. */
    public static final int PAPER_SHUFFLE_BUFFER = 10_000;

    private static final long STATE_TAG = 0x4C56_5342_0001L; // "LVSB", version 1
    private static final int MODE_RANDOM = 0;
    private static final int MODE_SHUFFLE = 1;
    private static final int MODE_EPOCH = 2;
    private static final int HEADER = 11;

    private final TokenDataset ds;
    private final Split split;
    private final int batch;
    private final int seq;
    private final long seed;
    private final int mode;
    private final long n;
    private final long windows; // shuffle mode: windows per epoch
    private final int bufferSize; // shuffle mode: effective buffer size
    private final long[] buffer;
    private final int[] window;
    private final WindowPermutation order; // epoch mode only
    private long rng;
    private long drawn;
    private long nextWindow;
    private int fill;

    /**
     * A sampler of independent random windows.
     *
     * @throws IllegalArgumentException for a non-positive batch or seq, or a split with fewer than
     *     {@code seq + 1} tokens
     */
    public BatchSampler(TokenDataset ds, Split split, int batch, int seq, long seed) {
        this(ds, split, batch, seq, seed, MODE_RANDOM, 0);
    }

    private BatchSampler(TokenDataset ds, Split split, int batch, int seq, long seed, int mode, int requestedBuffer) {
        if (batch < 1 || seq < 1) {
            throw new IllegalArgumentException("batch and seq must be positive, got batch " + batch + ", seq " + seq);
        }
        if ((long) batch * seq > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("batch * seq = " + (long) batch * seq + " is too large for one array");
        }
        this.ds = ds;
        this.split = split;
        this.batch = batch;
        this.seq = seq;
        this.seed = seed;
        this.mode = mode;
        this.n = ds.tokens(split);
        if (n < (long) seq + 1) {
            throw new IllegalArgumentException(String.format(Locale.ROOT,
                    "the %s split of %s has %,d tokens, fewer than the %,d (seq + 1) one window needs;"
                            + " use a shorter sequence or more data", split.id(), ds.directory(), n, seq + 1L));
        }
        if (mode == MODE_EPOCH) {
            this.windows = (n - 1) / seq;
            this.bufferSize = 0;
            this.buffer = new long[0];
        } else if (mode == MODE_SHUFFLE) {
            if (requestedBuffer < 1) {
                throw new IllegalArgumentException("shuffle buffer size must be positive, got " + requestedBuffer);
            }
            this.windows = (n - 1) / seq;
            this.bufferSize = (int) Math.min(requestedBuffer, windows);
            this.buffer = new long[bufferSize];
        } else {
            this.windows = n - seq;
            this.bufferSize = 0;
            this.buffer = new long[0];
        }
        this.window = new int[seq + 1];
        this.order = mode == MODE_EPOCH ? new WindowPermutation(windows) : null;
        this.rng = seed;
    }

    /**
     * A sampler that passes consecutive windows through a shuffle buffer of {@code bufferSize} windows
     * (capped at the windows in one epoch); see the class comment.
     */
    public static BatchSampler shuffled(TokenDataset ds, Split split, int batch, int seq, long seed, int bufferSize) {
        return new BatchSampler(ds, split, batch, seq, seed, MODE_SHUFFLE, bufferSize);
    }

    /**
     * A sampler without replacement: every epoch takes each of the {@code (tokens - 1) / seq} non-overlapping
     * windows once, in a pseudo-random order of its own (from {@code seed} and the epoch number).
     */
    public static BatchSampler epochs(TokenDataset ds, Split split, int batch, int seq, long seed) {
        return new BatchSampler(ds, split, batch, seq, seed, MODE_EPOCH, 0);
    }

    /**
     * A sampler of consecutive windows in order (stride {@code seq}), starting again at the beginning after
     * {@link #windowsPerEpoch()} windows: for evaluation over a whole split.
     */
    public static BatchSampler sequential(TokenDataset ds, Split split, int batch, int seq) {
        return new BatchSampler(ds, split, batch, seq, 0, MODE_SHUFFLE, 1);
    }

    /**
     * Fills {@code inputs} and {@code targets} (at least {@code batch * seq} each) with the next batch of model
     * ids, row-major {@code [batch][seq]}.
     */
    public void next(int[] inputs, int[] targets) {
        int need = batch * seq;
        if (inputs.length < need || targets.length < need) {
            throw new IllegalArgumentException("next: inputs and targets need " + need + " elements (batch " + batch
                    + " x seq " + seq + "), got " + inputs.length + " and " + targets.length);
        }
        for (int b = 0; b < batch; b++) {
            long start = nextStart();
            ds.read(split, start, window, 0, seq + 1);
            System.arraycopy(window, 0, inputs, b * seq, seq);
            System.arraycopy(window, 1, targets, b * seq, seq);
        }
    }

    /** The start of the next window (advances the sampler). */
    long nextStart() {
        if (mode == MODE_EPOCH) {
            long d = drawn++;
            return order.apply(d % windows, seed, d / windows) * seq;
        }
        drawn++;
        if (mode == MODE_RANDOM) {
            return bounded(windows);
        }
        while (fill < bufferSize) {
            buffer[fill++] = streamWindow();
        }
        int j = (int) bounded(bufferSize);
        long start = buffer[j];
        buffer[j] = streamWindow();
        return start;
    }

    private long streamWindow() {
        long w = nextWindow++ % windows;
        return w * seq;
    }

    private long nextLong() { // SplitMix64
        long z = (rng += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, bound), unbiased (rejection). */
    private long bounded(long bound) {
        long r = nextLong() >>> 1;
        long m = bound - 1;
        if ((bound & m) == 0) {
            return r & m;
        }
        for (long u = r; u - (r = u % bound) + m < 0; u = nextLong() >>> 1) {
            // reject the top partial range
        }
        return r;
    }

    /**
     * Everything needed to continue bit-exactly: {@code [tag, mode, batch, seq, splitTokens, seed, rngState,
     * windowsDrawn, nextStreamWindow, bufferSize, fill, buffer[0..fill)...]}.
     */
    public long[] state() {
        long[] s = new long[HEADER + fill];
        s[0] = STATE_TAG;
        s[1] = mode;
        s[2] = batch;
        s[3] = seq;
        s[4] = n;
        s[5] = seed;
        s[6] = rng;
        s[7] = drawn;
        s[8] = nextWindow;
        s[9] = bufferSize;
        s[10] = fill;
        System.arraycopy(buffer, 0, s, HEADER, fill);
        return s;
    }

    /**
     * Continues from {@code state} (from {@link #state()} of a sampler of the same kind, shape and split size).
     *
     * @throws IllegalArgumentException naming what does not match
     */
    public void restore(long[] state) {
        if (state == null || state.length < HEADER || state[0] != STATE_TAG) {
            throw new IllegalArgumentException("not a BatchSampler state (or one from another version)");
        }
        check(state[1] == mode, "mode", modeName(mode), modeName(state[1]));
        check(state[2] == batch, "batch", batch, state[2]);
        check(state[3] == seq, "seq", seq, state[3]);
        check(state[4] == n, split.id() + " split tokens", n, state[4]);
        check(state[9] == bufferSize, "shuffle buffer size", bufferSize, state[9]);
        check(mode != MODE_EPOCH || state[5] == seed, "seed", seed, state[5]); // the seed picks the epochs' order
        int f = (int) state[10];
        if (f < 0 || f > bufferSize || state.length != HEADER + f) {
            throw new IllegalArgumentException("sampler state: bad buffer fill " + state[10] + " for length "
                    + state.length);
        }
        rng = state[6];
        drawn = state[7];
        nextWindow = state[8];
        fill = f;
        System.arraycopy(state, HEADER, buffer, 0, f);
        Arrays.fill(buffer, f, bufferSize, 0);
    }

    private static String modeName(long mode) {
        return mode == MODE_RANDOM ? "random windows" : mode == MODE_EPOCH ? "shuffled epochs" : "shuffle buffer";
    }

    private static void check(boolean ok, String what, Object mine, Object theirs) {
        if (!ok) {
            throw new IllegalArgumentException("sampler state is for " + what + " " + theirs + ", this sampler has "
                    + mine);
        }
    }

    /** The batch size. */
    public int batch() {
        return batch;
    }

    /** The sequence length (inputs per row). */
    public int seq() {
        return seq;
    }

    /** The split it samples. */
    public Split split() {
        return split;
    }

    /** The seed it started from. */
    public long seed() {
        return seed;
    }

    /** Windows (sequences) drawn so far. */
    public long sequencesDrawn() {
        return drawn;
    }

    /**
     * Distinct windows: for the epoch, shuffle buffer and sequential samplers the windows of one epoch,
     * {@code (tokens - 1) / seq}; for random windows the possible start positions, {@code tokens - seq}.
     */
    public long windowsPerEpoch() {
        return windows;
    }
}
