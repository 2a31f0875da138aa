package io.leviathan.backend.cpu;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/** Argument checks shared by the CPU kernels; every message names the operation and the argument. */
final class Checks {
    private Checks() {}

    /** A live, contiguous host tensor of the given dtype. */
    static Tensor host(String op, String name, Tensor t, DType dtype) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        t.checkAlive(op);
        if (t.device() != Device.CPU) {
            throw new IllegalArgumentException(op + ": " + name + " " + t.describe() + " lives on " + t.device()
                    + ", but the CPU backend needs host memory");
        }
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + dtype + " but is " + t.describe());
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(op + ": " + name + " " + t + " must be contiguous");
        }
        return t;
    }

    /** A live, contiguous host F32 tensor. */
    static Tensor f32(String op, String name, Tensor t) {
        return host(op, name, t, DType.F32);
    }

    /** A live, contiguous host tensor that is F32 or BF16 (operands that kernels widen to F32 as they read). */
    static Tensor f32OrBf16(String op, String name, Tensor t) {
        if (t != null && t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(op + ": " + name + " must be F32 or BF16 but is " + t.describe());
        }
        return host(op, name, t, t == null ? DType.F32 : t.dtype());
    }

    /** A writable host F32 tensor (outputs and gradients). */
    static Tensor f32Out(String op, String name, Tensor t) {
        f32(op, name, t);
        if (t.isReadOnly()) {
            throw new IllegalArgumentException(op + ": output " + name + " " + t.describe() + " is read-only");
        }
        return t;
    }

    /** Throws unless every tensor has the same shape. */
    static void sameShape(String op, String[] names, Tensor... ts) {
        long[] s0 = ts[0].shape();
        for (int i = 1; i < ts.length; i++) {
            if (!Arrays.equals(s0, ts[i].shape())) {
                StringBuilder b = new StringBuilder(op).append(": shapes differ:");
                for (int j = 0; j < ts.length; j++) {
                    b.append(' ').append(names[j]).append(Arrays.toString(ts[j].shape()));
                }
                throw new ShapeMismatchException(b.toString());
            }
        }
    }

    /** Throws unless {@code t}'s shape equals {@code expected}. */
    static void shape(String op, String name, Tensor t, long... expected) {
        if (!Arrays.equals(t.shape(), expected)) {
            throw new ShapeMismatchException(op + ": " + name + " must have shape " + Arrays.toString(expected)
                    + " but has " + Arrays.toString(t.shape()));
        }
    }

    /** The shape without its last dimension (the per-row statistics' shape). */
    static long[] rowsShape(Tensor t) {
        long[] s = t.shape();
        return Arrays.copyOf(s, s.length - 1);
    }

    /** The last dimension's size; throws for a rank-0 tensor. */
    static long lastDim(String op, String name, Tensor t) {
        if (t.rank() == 0) {
            throw new ShapeMismatchException(op + ": " + name + " must have at least one dimension");
        }
        return t.size(-1);
    }
}
