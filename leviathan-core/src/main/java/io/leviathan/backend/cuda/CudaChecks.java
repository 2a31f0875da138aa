package io.leviathan.backend.cuda;

import io.leviathan.backend.OpChecks;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The operation-specific argument checks of the CUDA backend, beyond {@link OpChecks}: the same shapes and
 * the same messages as the CPU backend's kernels, so an operation fails alike wherever it runs. Checks that
 * would need the data on the host (a window start outside the spline grid) are not made here: the data is
 * on the device, and the kernels document what they do with it.
 */
final class CudaChecks {
    private CudaChecks() {}

    /** A live, contiguous tensor of whatever dtype it has. */
    static Tensor any(String op, String name, Tensor t) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": " + name + " is null");
        }
        return OpChecks.tensor(op, name, t, t.dtype());
    }

    /** Throws unless {@code t} may be written. */
    static void writable(String op, String name, Tensor t) {
        if (t.isReadOnly()) {
            throw new IllegalArgumentException(op + ": output " + name + " " + t.describe() + " is read-only");
        }
    }

    /** A writable I32 tensor. */
    static void i32Out(String op, String name, Tensor t) {
        OpChecks.tensor(op, name, t, DType.I32);
        writable(op, name, t);
    }

    /** A writable F32 tensor with at least one element, for a device scalar (a loss, a norm). */
    static void scalarOut(String op, String name, Tensor t) {
        OpChecks.f32Out(op, name, t);
        if (t.numel() < 1) {
            throw new ShapeMismatchException(op + ": " + name + " " + t.describe() + " has no element to hold the result");
        }
    }

    /** Throws unless {@code rows}' shape is {@code x}'s without its last dimension. */
    static void rowsShape(String op, String xName, Tensor x, String rowsName, Tensor rows) {
        if (!x.isRowsOf(rows)) {
            long[] expected = OpChecks.rowsShape(x);
            throw new ShapeMismatchException(op + ": " + rowsName + " must have shape "
                    + Arrays.toString(expected) + " (" + xName + Arrays.toString(x.shape())
                    + " without its last dimension) but has " + Arrays.toString(rows.shape()));
        }
    }

    /** LayerNorm's groups: 1 for a weight {@code [C]}, {@code G} for {@code [G, C]} with {@code x [G, M, C]}. */
    static long affineGroups(String op, Tensor x, long c, Tensor weight) {
        if (weight.rank() == 2 && x.rank() == 3 && weight.size(0) == x.size(0) && weight.size(1) == c) {
            return weight.size(0);
        }
        if (weight.rank() != 1) {
            throw new ShapeMismatchException(op + ": weight " + Arrays.toString(weight.shape()) + " must be [" + c
                    + "], or [G, " + c + "] for x [G, M, " + c + "], but x is " + Arrays.toString(x.shape()));
        }
        OpChecks.shape(op, "weight", weight, c);
        return 1;
    }

    /** {@code x} is {@code [B, T, H, Dh]} with even {@code Dh}; cos and sin are {@code [maxT >= T, Dh/2]}. */
    static void ropeShapes(String op, String name, Tensor x, Tensor cos, Tensor sin) {
        boolean ok = x.rank() == 4 && x.size(3) % 2 == 0 && cos.rank() == 2
                && Arrays.equals(cos.shape(), sin.shape())
                && cos.size(1) == x.size(3) / 2 && cos.size(0) >= x.size(1);
        if (!ok) {
            throw new ShapeMismatchException(op + ": expected " + name + " [B, T, H, Dh] with even Dh and cos, sin "
                    + "[maxT >= T, Dh/2], but got " + name + Arrays.toString(x.shape()) + ", cos"
                    + Arrays.toString(cos.shape()) + ", sin" + Arrays.toString(sin.shape()));
        }
    }

    /** Every non-null tensor F32 or BF16, all of one dtype (attention's operands); returns it. */
    static DType sameFloatType(String op, String[] names, Tensor... ts) {
        DType type = null;
        for (int i = 0; i < ts.length; i++) {
            Tensor t = ts[i];
            if (t != null) {
                t.checkAlive(op);
                if (t.dtype() != DType.F32 && t.dtype() != DType.BF16) {
                    throw new IllegalArgumentException(op + ": " + names[i] + " must be F32 or BF16 but is "
                            + t.describe());
                }
                if (type != null && t.dtype() != type) {
                    throw new IllegalArgumentException(op + ": " + names[i] + " " + t.describe()
                            + " must have the dtype of " + names[0] + " " + ts[0].describe() + " (all F32 or all BF16)");
                }
            }
            OpChecks.tensor(op, names[i], t, t == null ? DType.F32 : t.dtype());
            type = t.dtype();
        }
        return type;
    }

    /** Attention's tensors: the first {@code [B, T, H, Dh]}, all of one shape. */
    static void attentionShapes(String op, String[] names, Tensor... ts) {
        if (ts[0].rank() != 4) {
            throw new ShapeMismatchException(op + ": " + names[0] + " must be [B, T, H, Dh] but has shape "
                    + Arrays.toString(ts[0].shape()));
        }
        OpChecks.sameShape(op, names, ts);
    }

    /** {@code lse} must be {@code [B, H, T]} for {@code q [B, T, H, Dh]}. */
    static void lseShape(String op, Tensor lse, Tensor q) {
        long[] want = {q.size(0), q.size(2), q.size(1)};
        if (!Arrays.equals(lse.shape(), want)) {
            throw new ShapeMismatchException(op + ": lse must be [B, H, T] = " + Arrays.toString(want) + " for q "
                    + Arrays.toString(q.shape()) + " but has " + Arrays.toString(lse.shape()));
        }
    }

    /** The widest head the native attention kernels tile (their shared-memory tiles are sized for it). */
    static final long MAX_ATTENTION_HEAD_DIM = 128;

    /** The head dimension of {@code q [B, T, H, Dh]} must fit the native kernels' tiles. */
    static void attentionHeadDim(String op, Tensor q) {
        if (q.size(3) > MAX_ATTENTION_HEAD_DIM) {
            throw new IllegalArgumentException(op + ": head dimension " + q.size(3) + " of q "
                    + Arrays.toString(q.shape()) + " exceeds the CUDA kernels' limit of " + MAX_ATTENTION_HEAD_DIM
                    + "; use a model with more, narrower heads, or the CPU backend");
        }
    }

    /** ids {@code S}, table {@code [V, D]}, rows {@code S + [D]}. */
    static void embeddingShapes(String op, String rowsName, Tensor rows, Tensor ids, Tensor table) {
        String tableName = op.equals("embedding") ? "table" : "dTable";
        if (table.rank() != 2) {
            throw new ShapeMismatchException(op + ": " + tableName + " must be [V, D] but has shape "
                    + Arrays.toString(table.shape()));
        }
        long[] idShape = ids.shape();
        long[] expected = Arrays.copyOf(idShape, idShape.length + 1);
        expected[idShape.length] = table.size(1);
        if (!Arrays.equals(rows.shape(), expected)) {
            throw new ShapeMismatchException(op + ": " + rowsName + " must have shape ids + [D] = "
                    + Arrays.toString(expected) + " but has " + Arrays.toString(rows.shape()) + " (ids "
                    + Arrays.toString(idShape) + ", " + tableName + " " + Arrays.toString(table.shape()) + ")");
        }
    }

    /** Cross-entropy's per-row tensors: {@code [N]} or logits' shape without its last dimension. */
    static void lossRowsShape(String op, String name, Tensor t, Tensor logits, long n) {
        long[] rows = OpChecks.rowsShape(logits);
        if (!Arrays.equals(t.shape(), new long[] {n}) && !Arrays.equals(t.shape(), rows)) {
            throw new ShapeMismatchException(op + ": " + name + " must have shape [" + n + "] or "
                    + Arrays.toString(rows) + " for logits " + Arrays.toString(logits.shape()) + " but has "
                    + Arrays.toString(t.shape()));
        }
    }

    /** The spline grid has at least two knots. */
    static void knots(String op, int knots) {
        if (knots < 2) {
            throw new IllegalArgumentException(op + ": knots must be >= 2 (the grid j / (knots - 1)), got " + knots);
        }
    }

    /** {@code t} is {@code [N, d]}, {@code first} {@code [N, d]} and {@code w} {@code [N, d, 3]}. */
    static void basisShapes(String op, String tName, Tensor t, String fName, Tensor first, String wName, Tensor w) {
        if (t.rank() != 2) {
            throw new ShapeMismatchException(op + ": " + tName + " must be [N, d] but has shape "
                    + Arrays.toString(t.shape()));
        }
        long n = t.size(0), d = t.size(1);
        OpChecks.shape(op, fName, first, n, d);
        OpChecks.shape(op, wName, w, n, d, 3);
    }

    /** The separable modes' sizes: groups, rows, seed dimensions, knots and modes. */
    record ModeDims(long groups, long n, long d, long knots, long r) {}

    /**
     * Ungrouped: first {@code [N, d]}, weights {@code [N, d, 3]}, spline {@code [d, K, R]}, modes {@code [N, R]}.
     * Grouped: first {@code [G, N, d]}, weights {@code [G, N, d, 3]}, spline {@code [G, d, K, R]}, modes
     * {@code [N, G, R]}.
     */
    static ModeDims modeShapes(String op, Tensor first, Tensor weights, Tensor spline, String modesName,
                               Tensor modes) {
        boolean grouped = first.rank() == 3;
        if (first.rank() != 2 && !grouped) {
            throw new ShapeMismatchException(op + ": first must be [N, d], or [G, N, d] for G heads, but has shape "
                    + Arrays.toString(first.shape()));
        }
        if (spline.rank() != (grouped ? 4 : 3)) {
            throw new ShapeMismatchException(op + ": spline must be " + (grouped ? "[G, d, knots, R]" : "[d, knots, R]")
                    + " for first " + Arrays.toString(first.shape()) + " but has shape " + Arrays.toString(spline.shape()));
        }
        long groups = grouped ? first.size(0) : 1;
        long n = first.size(-2), d = first.size(-1), knots = spline.size(-2), r = spline.size(-1);
        if (grouped) {
            OpChecks.shape(op, "weights", weights, groups, n, d, 3);
        } else {
            OpChecks.shape(op, "weights", weights, n, d, 3);
        }
        if (spline.size(-3) != d || (grouped && spline.size(0) != groups)) {
            throw new ShapeMismatchException(op + ": spline " + Arrays.toString(spline.shape())
                    + (grouped ? " must be [" + groups + ", " + d + ", knots, R]" : " must have d = " + d + " rows")
                    + ", as first " + Arrays.toString(first.shape()));
        }
        if (grouped) {
            OpChecks.shape(op, modesName, modes, n, groups, r);
        } else {
            OpChecks.shape(op, modesName, modes, n, r);
        }
        return new ModeDims(groups, n, d, knots, r);
    }

    /** A {@code knots} count that fits the kernel library's {@code int} argument. */
    static int knotsInt(String op, long knots) {
        if (knots > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(op + ": " + knots + " knots exceed " + Integer.MAX_VALUE);
        }
        return (int) knots;
    }
}
