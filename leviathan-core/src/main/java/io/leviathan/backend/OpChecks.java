package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The argument checks of {@link Backend} operations, one layer shared by every backend so each operation
 * validates shapes and dtypes the same way wherever it runs: messages name the operation, the argument and
 * its shape ({@link ShapeMismatchException} for shapes, {@link IllegalArgumentException} for dtypes and
 * layouts). Whether a backend can address a tensor's memory is checked when its kernel opens the memory with
 * its key ({@link Tensor#segment(io.leviathan.tensor.MemoryKey)}).
 */
public final class OpChecks {
    private OpChecks() {}

    /** A live, contiguous tensor of the given dtype. */
    public static Tensor tensor(String op, String name, Tensor t, DType dtype) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        t.checkAlive(op);
        if (t.dtype() != dtype) {
            throw new IllegalArgumentException(op + ": " + name + " must be " + dtype + " but is " + t.describe());
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(op + ": " + name + " " + t + " must be contiguous");
        }
        return t;
    }

    /** A live, contiguous F32 tensor. */
    public static Tensor f32(String op, String name, Tensor t) {
        return tensor(op, name, t, DType.F32);
    }

    /** A live, contiguous tensor that is F32 or BF16 (operands that kernels widen to F32 as they read). */
    public static Tensor f32OrBf16(String op, String name, Tensor t) {
        if (t != null && t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
            throw new IllegalArgumentException(op + ": " + name + " must be F32 or BF16 but is " + t.describe());
        }
        return tensor(op, name, t, t == null ? DType.F32 : t.dtype());
    }

    /** A writable F32 tensor (outputs and gradients). */
    public static Tensor f32Out(String op, String name, Tensor t) {
        f32(op, name, t);
        writable(op, name, t);
        return t;
    }

    /** A live, contiguous tensor of whatever dtype it has. */
    public static Tensor any(String op, String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        return tensor(op, name, t, t.dtype());
    }

    /** Throws unless {@code t} may be written. */
    public static void writable(String op, String name, Tensor t) {
        if (t.isReadOnly()) {
            throw new IllegalArgumentException(op + ": output " + name + " " + t.describe() + " is read-only");
        }
    }

    /** A writable I32 tensor. */
    public static Tensor i32Out(String op, String name, Tensor t) {
        tensor(op, name, t, DType.I32);
        writable(op, name, t);
        return t;
    }

    /** A writable F32 tensor with at least one element, for a device scalar (a loss, a norm). */
    public static Tensor scalarOut(String op, String name, Tensor t) {
        f32Out(op, name, t);
        if (t.numel() < 1) {
            throw new ShapeMismatchException(op + ": " + name + " " + t.describe() + " has no element to hold the result");
        }
        return t;
    }

    /**
     * Throws unless {@code a} and {@code b} have the same shape. Two tensors at a time, not varargs, so the
     * check allocates nothing on the training step's hot path.
     */
    public static void sameShape(String op, String aName, Tensor a, String bName, Tensor b) {
        if (!a.sameShape(b)) {
            throw new ShapeMismatchException(op + ": shapes differ: " + aName + Arrays.toString(a.shape())
                    + " " + bName + Arrays.toString(b.shape()));
        }
    }

    /** Throws unless {@code t} is the vector {@code [d0]} (no varargs array, unlike the general form). */
    public static void shape(String op, String name, Tensor t, long d0) {
        if (t.rank() != 1 || t.size(0) != d0) {
            shape(op, name, t, new long[] {d0});
        }
    }

    /** Throws unless {@code t} is the matrix {@code [d0, d1]} (no varargs array, unlike the general form). */
    public static void shape(String op, String name, Tensor t, long d0, long d1) {
        if (t.rank() != 2 || t.size(0) != d0 || t.size(1) != d1) {
            shape(op, name, t, new long[] {d0, d1});
        }
    }

    /** Throws unless {@code t} is {@code [d0, d1, d2]} (no varargs array, unlike the general form). */
    public static void shape(String op, String name, Tensor t, long d0, long d1, long d2) {
        if (t.rank() != 3 || t.size(0) != d0 || t.size(1) != d1 || t.size(2) != d2) {
            shape(op, name, t, new long[] {d0, d1, d2});
        }
    }

    /** Throws unless {@code t} is {@code [d0, d1, d2, d3]} (no varargs array, unlike the general form). */
    public static void shape(String op, String name, Tensor t, long d0, long d1, long d2, long d3) {
        if (t.rank() != 4 || t.size(0) != d0 || t.size(1) != d1 || t.size(2) != d2 || t.size(3) != d3) {
            shape(op, name, t, new long[] {d0, d1, d2, d3});
        }
    }

    /** Throws unless {@code t}'s shape equals {@code expected}. */
    public static void shape(String op, String name, Tensor t, long... expected) {
        if (!t.hasShape(expected)) {
            throw new ShapeMismatchException(op + ": " + name + " must have shape " + Arrays.toString(expected)
                    + " but has " + Arrays.toString(t.shape()));
        }
    }

    /** The shape without its last dimension (the per-row statistics' shape). */
    public static long[] rowsShape(Tensor t) {
        long[] s = t.shape();
        return Arrays.copyOf(s, s.length - 1);
    }

    /** Throws unless {@code rows}' shape is {@code x}'s without its last dimension. */
    public static void rowsOf(String op, String xName, Tensor x, String rowsName, Tensor rows) {
        if (!x.isRowsOf(rows)) {
            long[] expected = rowsShape(x);
            throw new ShapeMismatchException(op + ": " + rowsName + " must have shape "
                    + Arrays.toString(expected) + " (" + xName + Arrays.toString(x.shape())
                    + " without its last dimension) but has " + Arrays.toString(rows.shape()));
        }
    }

    /** The last dimension's size; throws for a rank-0 tensor. */
    public static long lastDim(String op, String name, Tensor t) {
        if (t.rank() == 0) {
            throw new ShapeMismatchException(op + ": " + name + " must have at least one dimension");
        }
        return t.size(-1);
    }
}
