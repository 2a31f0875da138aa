package io.leviathan.model;

import io.leviathan.tensor.DType;

/**
 * The precision policy of a model, decided here and nowhere else.
 * <ul>
 *   <li>{@link #FP32}: every weight, activation, gradient and optimizer moment in fp32.</li>
 *   <li>{@link #BF16}: matrix multiplications and attention read bf16 (a bf16 copy of the weights, refreshed
 *       from the fp32 master weights at each forward pass, and bf16 activations saved for the backward
 *       pass) and accumulate in fp32; master weights, gradients, optimizer moments, the residual stream,
 *       normalisation statistics and the loss stay fp32. On the CPU bf16 values are stored rounded to
 *       nearest even and computed in fp32, exactly what a GPU's bf16 tensor cores do with fp32
 *       accumulation, so the mixed-precision logic is exercised and tested without a GPU.</li>
 * </ul>
 */
public enum Precision {
    FP32(DType.F32),
    BF16(DType.BF16);

    private final DType compute;

    Precision(DType compute) {
        this.compute = compute;
    }

    /** The dtype matmul and attention operands are stored in: weight copies and saved activations. */
    public DType compute() {
        return compute;
    }

    /** The dtype of master weights, gradients, optimizer moments and the loss: always F32. */
    public DType master() {
        return DType.F32;
    }

    /** True when compute operands are a narrower copy of fp32 values (a cast is needed). */
    public boolean casts() {
        return compute != DType.F32;
    }

    /** {@code fp32} or {@code bf16}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The policy called {@code name} ({@code fp32}, {@code bf16}); throws naming the valid ones. */
    public static Precision of(String name) {
        for (Precision p : values()) {
            if (p.label().equals(name)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + name + "'; valid: fp32, bf16");
    }
}
