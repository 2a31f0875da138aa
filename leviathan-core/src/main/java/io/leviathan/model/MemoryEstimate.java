package io.leviathan.model;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * The memory a {@link LlamaModel} of a given batch shape takes, worked out from the configuration before
 * anything is allocated. Each item mirrors buffers the model, its layers and its input stage allocate, so
 * the backend-memory total equals what their arena allocates, byte for byte (tests hold this for dense and
 * Leviathan models in fp32 and bf16). A training run adds the two AdamW moments, the step's two statistics
 * scalars and the host copies of each micro-batch's ids and targets.
 *
 * <p>Two places: {@link Place#BACKEND} is the memory the backend's arenas draw from (native host memory on
 * the CPU, device memory on a GPU); {@link Place#HEAP} is Java arrays. Backend bytes are tensor sizes as the
 * arenas count them; an allocator that starts each tensor on a 64-byte boundary adds under 64 bytes per
 * tensor (a few KiB for a whole model). Heap bytes are the large arrays with their headers. Per-token items
 * grow linearly in {@code batch * seq}; {@link #largestBatch} finds the largest batch within a budget.
 */
public final class MemoryEstimate {
    /** Where memory is taken from. */
    public enum Place {
        /** The backend's arenas: native host memory on the CPU, device memory on a GPU. */
        BACKEND("backend"),
        /** Java arrays on the heap. */
        HEAP("heap");

        private final String label;

        Place(String label) {
            this.label = label;
        }

        /** {@code backend} or {@code heap}. */
        public String label() {
            return label;
        }
    }

    /** One group of buffers: what it is, where it lives and its size in bytes. */
    public record Item(String name, Place place, long bytes) {}

    private static final long INT = 4;
    private static final long FLOAT = 4;
    private static final long ARRAY_HEADER = 16;

    private final ModelConfig config;
    private final int batch;
    private final int seq;
    private final Precision precision;
    private final boolean training;
    private final List<Item> items;

    private MemoryEstimate(ModelConfig config, int batch, int seq, Precision precision, boolean training,
                           List<Item> items) {
        this.config = config;
        this.batch = batch;
        this.seq = seq;
        this.precision = precision;
        this.training = training;
        this.items = Collections.unmodifiableList(items);
    }

    /**
     * The model alone (what {@code new LlamaModel(backend, config, batch, seq, precision)} allocates): for
     * evaluation and generation.
     *
     * @throws IllegalArgumentException for a non-positive batch or sequence
     */
    public static MemoryEstimate model(ModelConfig config, int batch, int seq, Precision precision) {
        return build(config, batch, seq, precision, false);
    }

    /** The model plus what a training run adds: AdamW's moments, step statistics and host batch buffers. */
    public static MemoryEstimate training(ModelConfig config, int batch, int seq, Precision precision) {
        return build(config, batch, seq, precision, true);
    }

    private static MemoryEstimate build(ModelConfig c, int batch, int seq, Precision precision, boolean training) {
        if (batch < 1 || seq < 1) {
            throw new IllegalArgumentException("batch and seq must be >= 1, got batch " + batch + ", seq " + seq);
        }
        try {
            return items(c, batch, seq, precision, training);
        } catch (ArithmeticException overflow) {
            throw new IllegalArgumentException("batch " + batch + " x seq " + seq + " of this model needs more than "
                    + human(Long.MAX_VALUE) + " of memory", overflow);
        }
    }

    private static MemoryEstimate items(ModelConfig c, int batch, int seq, Precision precision, boolean training) {
        List<Item> items = new ArrayList<>();
        long n = (long) batch * seq;            // tokens per micro-batch
        long d = c.dModel();
        long f = c.ffnHidden();
        long v = c.vocab();
        long layers = c.layers();
        long cd = precision.compute().byteSize();
        boolean casts = precision.casts();

        // ---- parameters: one flat buffer each for values, gradients (and bf16 copies, AdamW moments)
        long flat = flatSize(c);
        items.add(new Item("parameters (fp32 master weights)", Place.BACKEND, mul(flat, FLOAT)));
        items.add(new Item("gradients", Place.BACKEND, mul(flat, FLOAT)));
        if (casts) {
            items.add(new Item("compute weights (" + precision.label() + ")", Place.BACKEND, mul(flat, cd)));
        }
        if (training) {
            items.add(new Item("AdamW moments (m, v)", Place.BACKEND, mul(2 * flat, FLOAT)));
        }

        // ---- activations saved for the backward pass
        // each layer: ln1, q, k, v, att, ln2 [N, D] and act [N, F] in the compute dtype; rstd1, rstd2 [N],
        // lse [B, H, T], mid [N, D], gate and up [N, F] in fp32
        long perLayer = mul(n, 6 * d * cd + f * cd + 2 * FLOAT + c.heads() * FLOAT + d * FLOAT + 2 * f * FLOAT);
        items.add(new Item("activations: " + layers + " decoder layers", Place.BACKEND, mul(layers, perLayer)));
        // the residual stream (L + 1 states), the final norm's output (and its compute copy) and statistics
        long stream = mul(n, (layers + 1) * d * FLOAT + d * FLOAT + (casts ? d * cd : 0) + FLOAT);
        items.add(new Item("activations: residual stream and final norm", Place.BACKEND, stream));

        // ---- the input stage
        if (c.family() == Family.LEVIATHAN) {
            GeneratorConfig g = c.generator();
            long h = g.heads();
            long ds = g.seedDim();
            long r = g.rank();
            long k = g.digits();
            // per row (one row per token at most): inverse, digits, range ids (I32); z, seedRow, dZ [ds];
            // u, t, lnOut, dCoord [h, ds] and first (I32) [h, ds]; weights, dWeights [h, ds, 3];
            // lnMean, lnRstd [h]; modes, dModes [h, R]; eUnique, dEUnique [D]
            long perRow = INT * (2 + k) + FLOAT * (3 * ds + 4 * h * ds + 2 * 3 * h * ds + 2 * h + 2 * h * r + 2 * d)
                    + INT * h * ds;
            items.add(new Item("generator buffers (" + n + " rows)", Place.BACKEND, add(mul(n, perRow), h * FLOAT)));
            // de-duplication bookkeeping on the host: ids, unique, inverse, range [N] and digits [k, N]
            items.add(new Item("generator host bookkeeping", Place.HEAP,
                    4 * ARRAY_HEADER + ARRAY_HEADER + mul(n, INT * (4 + k))));
        }

        // ---- the head
        items.add(new Item("logits [" + n + ", " + v + "] (the loss gradient in place)", Place.BACKEND,
                mul(mul(n, v), FLOAT)));

        // ---- gradient scratch shared by every layer, and the head's
        // dNorm, dAtt, dQ/dK/dV and their rotated forms [N, D]; dAct, dGate, dUp [N, F]; dFinal, dResid [N, D];
        // under a casting precision the fp32 results before rounding: norm, q, k, v [N, D], act [N, F]
        long scratch = mul(n, FLOAT * (7 * d + 3 * f + 2 * d) + (casts ? FLOAT * (4 * d + f) : 0));
        items.add(new Item("gradient scratch", Place.BACKEND, scratch));

        // ---- small buffers: rotary tables, ids, targets, the loss
        long small = 2 * FLOAT * c.maxSeq() * (c.headDim() / 2) + 2 * INT * n + FLOAT;
        if (training) {
            small += 2 * FLOAT; // the step's loss sum and gradient norm
        }
        items.add(new Item("rotary tables, ids, targets, loss", Place.BACKEND, small));
        if (training) {
            items.add(new Item("micro-batch ids and targets (host)", Place.HEAP, 2 * ARRAY_HEADER + mul(n, 2 * INT)));
        }
        return new MemoryEstimate(c, batch, seq, precision, training, items);
    }

    /**
     * Elements of each flat parameter buffer: every parameter rounded up to 16 elements, as
     * {@link ParameterStore} lays them out.
     */
    static long flatSize(ModelConfig c) {
        long total = 0;
        long d = c.dModel();
        long f = c.ffnHidden();
        if (c.family() == Family.LEVIATHAN) {
            GeneratorConfig g = c.generator();
            long ds = g.seedDim();
            long h = g.heads();
            total += align((long) g.codebooks() * g.base(c.vocab()) * ds) + align(h * ds * ds)
                    + 2 * align(h * ds) + align(h * ds * g.knots() * g.rank()) + align(h * g.rank() * d);
        } else {
            total += align((long) c.vocab() * d);
        }
        total += c.layers() * (4 * align(d * d) + 3 * align(f * d) + 2 * align(d));
        total += align(d);                                           // final norm
        if (!c.tiedHead()) {
            total += align((long) c.vocab() * d);                    // lm_head
        }
        return total;
    }

    private static long align(long elements) {
        return (elements + ParameterStore.ALIGN - 1) / ParameterStore.ALIGN * ParameterStore.ALIGN;
    }

    private static long mul(long a, long b) {
        return Math.multiplyExact(a, b);
    }

    private static long add(long a, long b) {
        return Math.addExact(a, b);
    }

    /**
     * The largest batch in {@code [1, upTo]} whose estimate at {@code seq} satisfies {@code fits}, or 0 when
     * not even batch 1 does. The estimate grows with the batch, so a bisection finds it.
     */
    public static int largestBatch(ModelConfig config, int seq, Precision precision, boolean training, int upTo,
                                   Predicate<MemoryEstimate> fits) {
        int lo = 0;
        int hi = upTo;
        while (lo < hi) {
            int mid = (int) (((long) lo + hi + 1) / 2);
            if (fitsSafely(config, mid, seq, precision, training, fits)) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private static boolean fitsSafely(ModelConfig c, int batch, int seq, Precision p, boolean training,
                                      Predicate<MemoryEstimate> fits) {
        try {
            return fits.test(items(c, batch, seq, p, training));
        } catch (ArithmeticException overflow) {
            return false; // more bytes than a long holds fits nowhere
        }
    }

    /** Every item, in the order the model allocates them. */
    public List<Item> items() {
        return items;
    }

    /** Bytes taken in {@code place}. */
    public long bytes(Place place) {
        long t = 0;
        for (Item i : items) {
            if (i.place() == place) {
                t = add(t, i.bytes());
            }
        }
        return t;
    }

    /** Bytes in every place together. */
    public long total() {
        return add(bytes(Place.BACKEND), bytes(Place.HEAP));
    }

    public ModelConfig config() {
        return config;
    }

    public int batch() {
        return batch;
    }

    public int seq() {
        return seq;
    }

    public Precision precision() {
        return precision;
    }

    /** True for the estimate of a training run (optimizer state included). */
    public boolean training() {
        return training;
    }

    /** A byte count for people: {@code 812 B}, {@code 3.4 MiB}, {@code 9.1 GiB}, ... */
    public static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double x = bytes;
        int u = -1;
        while (x >= 1024 && u < units.length - 1) {
            x /= 1024;
            u++;
        }
        return String.format(Locale.ROOT, "%.1f %s", x, units[u]);
    }

    /** One line: the batch shape, precision and the totals per place. */
    public String summary() {
        return String.format(Locale.ROOT, "%s at batch %d x seq %d (%s): %s backend memory + %s heap",
                training ? "training" : "the model", batch, seq, precision.label(),
                human(bytes(Place.BACKEND)), human(bytes(Place.HEAP)));
    }
}
