package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;

/**
 * Inference with a key/value cache: the tokens of one sequence go through a {@link LlamaModel}'s layers once
 * each (a prompt in one step, then one position per step), and each layer keeps the rotated keys and the
 * values of every position so far in a cache {@code [1, H, capacity, Dh]}, to which later positions
 * attend ({@link Backend#attentionDecode}). A step of {@code n} tokens costs {@code n} rows of every
 * projection plus attention over the cached length, where a full forward pass costs the whole window.
 *
 * <p>The session borrows the model's weights (a dense model: the Leviathan generator's table is
 * materialised first, see {@code TextGenerator.denseTwin}) and owns an arena with the caches and one set of
 * activation buffers for {@code capacity} rows, allocated when it opens. A single-token step uses views
 * made at construction, so it allocates no native memory and no buffer.
 *
 * <p><b>Same result as a full forward pass.</b> Each step issues, row for row, the operations of
 * {@link LlamaModel}'s forward; position {@code p} is rotated with row {@code p} of the RoPE tables and
 * attends to cached positions {@code <= p}. On the CPU backend the logits equal those of a full forward
 * over the same tokens bit for bit (every kernel computes a row the same way whatever the number of rows).
 *
 * <p>The capacity is the model's {@code seq} (at most {@code maxSeq}); what to do when a sequence outgrows
 * it (drop the oldest tokens and start again) is the caller's choice: {@link #reset()} empties the cache.
 */
public final class KvCacheSession implements AutoCloseable {
    private final Backend be;
    private final LlamaModel model;
    private final ModelConfig config;
    private final int capacity;
    private final TensorArena arena;
    private final Tensor[] kCache, vCache;   // per layer [1, H, capacity, Dh]
    private final InferenceRows all;         // buffers for capacity rows
    private final InferenceRows one;         // views of their first row: a decode step
    private final Tensor[] cosAt, sinAt;     // row p of the RoPE tables, for a decode step at position p
    private final Tensor hidden, hiddenC;    // [1, D]: the last position after the final norm (compute dtype)
    private final Tensor finalRstd;          // [1]
    private final Tensor logits;             // [1, V]
    private int length;

    /**
     * Opens a session on {@code model}'s backend with room for {@code model.seq()} positions.
     *
     * @throws IllegalArgumentException if the model's input stage is not a dense table
     */
    public KvCacheSession(LlamaModel model) {
        if (!(model.embedding() instanceof DenseEmbedding)) {
            throw new IllegalArgumentException("a KV-cache session needs a dense model; materialise a Leviathan"
                    + " model's table first (TextGenerator.denseTwin)");
        }
        this.be = model.backend();
        this.model = model;
        this.config = model.config();
        this.capacity = model.seq();
        this.arena = be.newArena();
        try {
            DType cd = model.precision().compute();
            model.parameters().refreshCompute(be); // bf16 weight copies current, as a forward pass makes them
            int layers = config.layers();
            kCache = new Tensor[layers];
            vCache = new Tensor[layers];
            for (int l = 0; l < layers; l++) {
                kCache[l] = arena.allocate(cd, 1, config.heads(), capacity, config.headDim()).named("kCache" + l);
                vCache[l] = arena.allocate(cd, 1, config.heads(), capacity, config.headDim()).named("vCache" + l);
            }
            all = InferenceRows.allocate(arena, config, cd, capacity);
            one = all.first(1);
            cosAt = new Tensor[capacity];
            sinAt = new Tensor[capacity];
            for (int p = 0; p < capacity; p++) {
                cosAt[p] = model.ropeCos().narrow(0, p, 1);
                sinAt[p] = model.ropeSin().narrow(0, p, 1);
            }
            hidden = arena.allocate(DType.F32, 1, config.dModel());
            hiddenC = cd == DType.F32 ? hidden : arena.allocate(cd, 1, config.dModel());
            finalRstd = arena.allocate(DType.F32, 1);
            logits = arena.allocate(DType.F32, 1, config.vocab()).named("logits");
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Runs {@code count} tokens {@code ids[from, from + count)} at positions {@code [length(), length() + count)}:
     * appends their keys and values to the cache and computes the logits of the last one, which
     * {@link #logits()} then holds. Nothing is downloaded; the ids are checked here, on the host.
     *
     * @throws IllegalArgumentException if an id is outside the vocabulary, {@code count < 1}, or the tokens
     *     do not fit the remaining capacity
     */
    public Tensor append(int[] ids, int from, int count) {
        if (count < 1 || from < 0 || from + count > ids.length) {
            throw new IllegalArgumentException("KvCacheSession: tokens [" + from + ", " + (from + count)
                    + ") are not a non-empty range of the " + ids.length + " given");
        }
        if (length + count > capacity) {
            throw new IllegalArgumentException("KvCacheSession: " + count + " more tokens do not fit: " + length
                    + " of " + capacity + " positions are cached; reset() and start again");
        }
        int vocab = config.vocab();
        for (int i = from; i < from + count; i++) {
            if (ids[i] < 0 || ids[i] >= vocab) {
                throw new IllegalArgumentException("KvCacheSession: id " + ids[i] + " at position " + i
                        + " is outside the vocabulary [0, " + vocab + ")");
            }
        }
        InferenceRows r = count == 1 ? one : all.first(count);
        Tensor cos = count == 1 ? cosAt[length] : model.ropeCos().narrow(0, length, count);
        Tensor sin = count == 1 ? sinAt[length] : model.ropeSin().narrow(0, length, count);
        be.upload(ids, from, r.ids);
        model.embedding().forward(r.ids, null, r.xa);
        Tensor x = r.xa, y = r.xb;
        DecoderLayer[] layers = model.layers();
        for (int l = 0; l < layers.length; l++) {
            layers[l].forwardCached(x, cos, sin, r, kCache[l], vCache[l], length, y);
            Tensor t = x;
            x = y;
            y = t;
        }
        Tensor last = count == 1 ? x : x.narrow(0, count - 1, 1);
        be.rmsNorm(last, model.finalNorm().value(), config.normEps(), hidden, finalRstd);
        if (hiddenC != hidden) {
            be.copy(hidden, hiddenC);
        }
        be.matmul(hiddenC, false, model.head().compute(), true, logits, 1f, 0f);
        length += count;
        return logits;
    }

    /** The logits of the last position appended, {@code [1, V]} F32 (on the backend's device). */
    public Tensor logits() {
        return logits;
    }

    /** Positions cached so far. */
    public int length() {
        return length;
    }

    /** The most positions the cache holds: the model's {@code seq}. */
    public int capacity() {
        return capacity;
    }

    /** Forgets every cached position (the memory stays allocated for the next sequence). */
    public void reset() {
        rewind(0);
    }

    /**
     * Keeps the first {@code length} cached positions and forgets the rest: the next {@link #append} runs at
     * position {@code length} (to try another continuation of a shared prefix).
     *
     * @throws IllegalArgumentException unless {@code 0 <= length <= length()}
     */
    public void rewind(int length) {
        if (length < 0 || length > this.length) {
            throw new IllegalArgumentException("KvCacheSession: cannot rewind to " + length + " positions; "
                    + this.length + " are cached");
        }
        this.length = length;
    }

    /** Frees the caches and buffers; the model is borrowed and stays open. */
    @Override
    public void close() {
        arena.close();
    }
}
