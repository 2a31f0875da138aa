package io.leviathan.model;

import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * A trainable tensor, its gradient (same shape) and whether AdamW applies weight decay to it. Both tensors
 * are named views into the {@link ParameterStore}'s flat buffers, bound when the store allocates them
 * (on the first access of any parameter's tensors).
 */
public final class Parameter {
    private final ParameterStore store;
    private final String name;
    private final long[] shape;
    private final boolean decay;
    private Tensor value;
    private Tensor grad;
    private Tensor compute;      // null when it is the value itself

    Parameter(ParameterStore store, String name, long[] shape, boolean decay) {
        this.store = store;
        this.name = name;
        this.shape = shape.clone();
        this.decay = decay;
    }

    /**
     * The Hugging Face LLaMA name (e.g. {@code model.layers.0.self_attn.q_proj.weight}); the generator's
     * tensors are {@code model.generator.*}.
     */
    public String name() {
        return name;
    }

    /** The weights. */
    public Tensor value() {
        store.allocate();
        return value;
    }

    /** The gradient, accumulated by backward passes and zeroed by {@link ParameterStore#zeroGrads}. */
    public Tensor grad() {
        store.allocate();
        return grad;
    }

    /**
     * The weights as matrix multiplications read them: {@link #value()} under fp32, its bf16 copy under a
     * bf16 {@link Precision} (current after {@link ParameterStore#refreshCompute}).
     */
    public Tensor compute() {
        store.allocate();
        return compute == null ? value : compute;
    }

    /** Whether decoupled weight decay applies. */
    public boolean decay() {
        return decay;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** The number of scalars. */
    public long numel() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    void bind(Tensor value, Tensor grad, Tensor compute) {
        this.value = value;
        this.grad = grad;
        this.compute = compute;
    }

    @Override
    public String toString() {
        return "Parameter[" + name + ", " + Arrays.toString(shape) + (decay ? ", decay" : "") + "]";
    }
}
