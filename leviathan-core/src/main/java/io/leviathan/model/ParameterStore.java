package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The parameters of a model in creation order, each with its gradient. Values and gradients each live in
 * <b>one flat buffer</b> (and an optimizer's moments in two more of the same layout), so a training step
 * zeroes every gradient in one fill, takes one norm and makes one AdamW call, and a later multi-device run
 * can all-reduce one buffer. Each parameter is a named view of its slice.
 *
 * <p>Layout: the decayed parameters first, then the others ({@link #decayedCount()} is the boundary AdamW
 * takes), each in creation order and starting on a 16-element (64-byte) boundary; the gaps stay zero. The
 * buffers are allocated from the arena on the first access of any parameter's tensors, after which no
 * parameter can be added.
 *
 * <p>Under a {@link Precision} that casts (bf16), a fourth flat buffer holds the compute copy of every
 * weight in that dtype ({@link Parameter#compute()}), refreshed from the fp32 master weights by
 * {@link #refreshCompute} in one conversion.
 */
public final class ParameterStore {
    /** Each parameter's first element is aligned to this many elements (one 512-bit vector). */
    static final long ALIGN = 16;

    private final TensorArena arena;
    private final Precision precision;
    private final Map<String, Parameter> byName = new LinkedHashMap<>();
    private final Map<Parameter, Long> offsets = new IdentityHashMap<>();
    private Tensor values;
    private Tensor grads;
    private Tensor compute;          // the bf16 copy under a casting precision; else the values
    private long decayedCount;

    /** An fp32 store. */
    public ParameterStore(TensorArena arena) {
        this(arena, Precision.FP32);
    }

    /** A store whose weights also have compute copies in {@code precision}'s compute dtype. */
    public ParameterStore(TensorArena arena, Precision precision) {
        this.arena = arena;
        this.precision = precision;
    }

    /** The precision policy of this store. */
    public Precision precision() {
        return precision;
    }

    /**
     * Declares a parameter (zero-filled once allocated) and its gradient. Names must be unique.
     *
     * @throws IllegalStateException once the store's buffers are allocated
     */
    public Parameter create(String name, boolean decay, long... shape) {
        if (values != null) {
            throw new IllegalStateException("parameter '" + name + "' declared after the store was allocated");
        }
        if (byName.containsKey(name)) {
            throw new IllegalArgumentException("parameter '" + name + "' already exists");
        }
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("parameter '" + name + "' has a negative dimension");
            }
        }
        Parameter p = new Parameter(this, name, shape, decay);
        byName.put(name, p);
        return p;
    }

    /** Allocates the flat buffers and binds every parameter's views; later calls do nothing. */
    public void allocate() {
        if (values != null) {
            return;
        }
        long offset = 0;
        for (boolean decayed : new boolean[] {true, false}) {
            for (Parameter p : byName.values()) {
                if (p.decay() == decayed) {
                    offsets.put(p, offset);
                    offset = align(offset + p.numel());
                }
            }
            if (decayed) {
                decayedCount = offset;
            }
        }
        values = arena.allocate(DType.F32, offset).named("parameters");
        grads = arena.allocate(DType.F32, offset).named("gradients");
        compute = precision.casts() ? arena.allocate(precision.compute(), offset).named("compute weights") : values;
        for (Parameter p : byName.values()) {
            Tensor c = compute == values ? null : view(compute, p).named(p.name() + " (" + precision.label() + ")");
            p.bind(view(values, p).named(p.name()), view(grads, p).named("grad of " + p.name()), c);
        }
    }

    /**
     * Brings the compute copies up to date with the master weights: one F32-to-compute-dtype conversion of
     * the whole buffer (rounding to nearest even). Nothing to do under fp32.
     */
    public void refreshCompute(Backend backend) {
        allocate();
        if (compute != values) {
            backend.copy(values, compute);
        }
    }

    private static long align(long n) {
        return (n + ALIGN - 1) / ALIGN * ALIGN;
    }

    /**
     * The view of {@code p} in a flat buffer laid out like this store's (its values, gradients, or an
     * optimizer moment allocated with {@link #flatSize()} elements).
     */
    public Tensor view(Tensor flat, Parameter p) {
        allocate();
        Long off = offsets.get(p);
        if (off == null) {
            throw new IllegalArgumentException("parameter " + p.name() + " is not in this store");
        }
        if (flat.rank() != 1 || flat.numel() != values.numel()) { // any dtype: moments, compute copies
            throw new IllegalArgumentException("view: " + flat.describe() + " is not a flat buffer of "
                    + values.numel() + " elements");
        }
        return flat.narrow(0, off, p.numel()).reshape(p.shape());
    }

    /** Elements in each flat buffer, alignment gaps included. */
    public long flatSize() {
        allocate();
        return values.numel();
    }

    /** Elements {@code [0, decayedCount())} of the flat buffers belong to decayed parameters. */
    public long decayedCount() {
        allocate();
        return decayedCount;
    }

    /** Every parameter's values in one buffer ({@code [flatSize()]}). */
    public Tensor flatValues() {
        allocate();
        return values;
    }

    /** Every parameter's gradient in one buffer ({@code [flatSize()]}). */
    public Tensor flatGrads() {
        allocate();
        return grads;
    }

    /** The parameter called {@code name}; throws naming the known ones if absent. */
    public Parameter get(String name) {
        Parameter p = byName.get(name);
        if (p == null) {
            throw new IllegalArgumentException("no parameter '" + name + "'; known: " + byName.keySet());
        }
        return p;
    }

    /** Every parameter, in creation order. */
    public List<Parameter> all() {
        return Collections.unmodifiableList(new ArrayList<>(byName.values()));
    }

    /** Every gradient tensor, in creation order. */
    public List<Tensor> grads() {
        return byName.values().stream().map(Parameter::grad).toList();
    }

    /** The total number of scalar parameters (alignment gaps excluded). */
    public long count() {
        long n = 0;
        for (Parameter p : byName.values()) {
            n += p.numel();
        }
        return n;
    }

    /** Sets every gradient to zero: one fill of the flat gradient buffer. */
    public void zeroGrads(Backend backend) {
        backend.fill(flatGrads(), 0f);
    }
}
