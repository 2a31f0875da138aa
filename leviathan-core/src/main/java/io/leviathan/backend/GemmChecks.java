package io.leviathan.backend;

import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/** The argument checks of {@link Backend#matmul}, the same on every backend. */
public final class GemmChecks {
    private GemmChecks() {}

    /** The product's sizes: {@code batch} products of {@code op(a) [m, k]} and {@code op(b) [k, n]}. */
    public record MatmulDims(long batch, long m, long n, long k) {}

    /**
     * a and b F32 or BF16, c F32 and writable; rank 2, or rank 3 with one leading batch dimension (c rank 3
     * when a or b is); inner dimensions equal; c {@code [batch,] m, n}; m, n and k each an {@code int}.
     */
    public static MatmulDims matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c) {
        check(a, transA, b, transB, c);
        return new MatmulDims(batch(c), m(a, transA), n(b, transB), k(a, transA));
    }

    /** The checks of {@link #matmul} without the dimensions record, for callers that must not allocate. */
    public static void check(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c) {
        final String op = "matmul";
        OpChecks.f32OrBf16(op, "a", a);
        OpChecks.f32OrBf16(op, "b", b);
        OpChecks.f32Out(op, "c", c);
        int ra = a.rank(), rb = b.rank(), rc = c.rank();
        if (ra < 2 || ra > 3 || rb < 2 || rb > 3 || rc != Math.max(ra, rb)) {
            throw shapeError(a, transA, b, transB, c,
                    "operands must be rank 2, or rank 3 with a leading batch dimension (c rank 3 when a or b is)");
        }
        long batch = rc == 3 ? c.size(0) : 1;
        if ((ra == 3 && a.size(0) != batch) || (rb == 3 && b.size(0) != batch)) {
            throw shapeError(a, transA, b, transB, c, "batch dimensions differ");
        }
        long m = transA ? a.size(-1) : a.size(-2);
        long ka = transA ? a.size(-2) : a.size(-1);
        long kb = transB ? b.size(-1) : b.size(-2);
        long n = transB ? b.size(-2) : b.size(-1);
        if (ka != kb) {
            throw shapeError(a, transA, b, transB, c, "inner dimensions differ (" + ka + " vs " + kb + ")");
        }
        if (c.size(-2) != m || c.size(-1) != n) {
            throw shapeError(a, transA, b, transB, c, "c must be [" + (rc == 3 ? batch + ", " : "") + m + ", " + n + "]");
        }
        if (m > Integer.MAX_VALUE || n > Integer.MAX_VALUE || ka > Integer.MAX_VALUE) {
            throw tooLarge(a, transA, b, transB, c);
        }
    }

    /** The number of products of a checked matmul: c's leading dimension when it has rank 3, else 1. */
    public static long batch(Tensor c) {
        return c.rank() == 3 ? c.size(0) : 1;
    }

    /** Rows of {@code op(a)}. */
    public static long m(Tensor a, boolean transA) {
        return transA ? a.size(-1) : a.size(-2);
    }

    /** Columns of {@code op(b)}. */
    public static long n(Tensor b, boolean transB) {
        return transB ? b.size(-2) : b.size(-1);
    }

    /** The inner dimension: columns of {@code op(a)}. */
    public static long k(Tensor a, boolean transA) {
        return transA ? a.size(-2) : a.size(-1);
    }

    /** The error for a dimension beyond what a backend's GEMM takes (an {@code int}). */
    public static ShapeMismatchException tooLarge(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c) {
        return shapeError(a, transA, b, transB, c, "a matrix dimension exceeds " + Integer.MAX_VALUE);
    }

    /** Throws when the output's memory {@code cs} overlaps an input's ({@code as}, {@code bs}). */
    public static void noOverlap(Tensor a, MemorySegment as, Tensor b, MemorySegment bs, Tensor c, MemorySegment cs) {
        if (overlaps(cs, as) || overlaps(cs, bs)) {
            throw new IllegalArgumentException("matmul: output c " + c.describe()
                    + " overlaps an input (a " + a.describe() + ", b " + b.describe() + ")");
        }
    }

    private static boolean overlaps(MemorySegment x, MemorySegment y) {
        // Address arithmetic rather than asOverlappingSlice, which allocates on every matmul.
        return x.byteSize() > 0 && y.byteSize() > 0
                && x.address() < y.address() + y.byteSize() && y.address() < x.address() + x.byteSize();
    }

    private static ShapeMismatchException shapeError(Tensor a, boolean transA, Tensor b, boolean transB,
                                                     Tensor c, String why) {
        return new ShapeMismatchException("matmul: a" + Arrays.toString(a.shape()) + (transA ? "^T" : "")
                + " · b" + Arrays.toString(b.shape()) + (transB ? "^T" : "")
                + " -> c" + Arrays.toString(c.shape()) + ": " + why);
    }
}
