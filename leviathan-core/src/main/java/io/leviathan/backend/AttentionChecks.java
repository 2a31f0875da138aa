package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/** The argument checks of causal attention, the same on every backend. */
public final class AttentionChecks {
    private AttentionChecks() {}

    /**
     * The backward's dtypes: of q, k, v and out, and of dOut (each F32 or BF16). {@link #attentionBackward}
     * returns one of a few shared instances, so the training step's backward allocates none.
     */
    public record BackwardTypes(DType type, DType gradType) {
        private static final BackwardTypes[][] SHARED = shared();

        private static BackwardTypes[][] shared() {
            DType[] all = DType.values();
            BackwardTypes[][] table = new BackwardTypes[all.length][all.length];
            for (DType t : all) {
                for (DType g : all) {
                    table[t.ordinal()][g.ordinal()] = new BackwardTypes(t, g);
                }
            }
            return table;
        }

        /** The shared instance for these two dtypes. */
        static BackwardTypes of(DType type, DType gradType) {
            return SHARED[type.ordinal()][gradType.ordinal()];
        }
    }

    // Argument names as constants: the forward and backward run every training step and should not
    // allocate them.
    private static final String[] QKV_OUT = {"q", "k", "v", "out"};
    private static final String[] BACKWARD_SHAPED = {"dOut", "q", "k", "v", "out", "dQ", "dK", "dV"};

    /** The forward: q, k, v, out one {@code [B, T, H, Dh]} shape and one float dtype, which it returns. */
    public static DType attention(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        String op = "attention";
        DType type = sameFloatType(op, QKV_OUT, q, k, v, out);
        OpChecks.writable(op, "out", out);
        OpChecks.f32Out(op, "lse", lse);
        if (q.rank() != 4 || !q.sameShape(k) || !q.sameShape(v) || !q.sameShape(out)) {
            sameShapes(op, QKV_OUT, q, k, v, out); // throws, naming every shape
        }
        lseShape(op, lse, q);
        return type;
    }

    /** The backward: every tensor but lse one {@code [B, T, H, Dh]} shape; dQ, dK, dV F32. */
    public static BackwardTypes attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                                  Tensor dQ, Tensor dK, Tensor dV) {
        String op = "attentionBackward";
        DType type = sameFloatType(op, QKV_OUT, q, k, v, out);
        DType gradType = floatType(op, "dOut", dOut);
        OpChecks.f32(op, "lse", lse);
        OpChecks.f32Out(op, "dQ", dQ);
        OpChecks.f32Out(op, "dK", dK);
        OpChecks.f32Out(op, "dV", dV);
        if (dOut.rank() != 4 || !dOut.sameShape(q) || !dOut.sameShape(k) || !dOut.sameShape(v) || !dOut.sameShape(out)
                || !dOut.sameShape(dQ) || !dOut.sameShape(dK) || !dOut.sameShape(dV)) {
            sameShapes(op, BACKWARD_SHAPED, dOut, q, k, v, out, dQ, dK, dV); // throws, naming every shape
        }
        lseShape(op, lse, q);
        return BackwardTypes.of(type, gradType);
    }

    /**
     * {@link Backend#kvCacheAppend}: k and v {@code [B, n, H, Dh]}, the caches {@code [B, H, capacity, Dh]} with
     * {@code 0 <= start} and {@code start + n <= capacity}, all one float dtype, which it returns.
     */
    public static DType kvCacheAppend(Tensor k, Tensor v, Tensor kCache, Tensor vCache, int start) {
        String op = "kvCacheAppend";
        DType type = sameFloatType(op, new String[] {"k", "v", "kCache", "vCache"}, k, v, kCache, vCache);
        OpChecks.writable(op, "kCache", kCache);
        OpChecks.writable(op, "vCache", vCache);
        sameShapes(op, new String[] {"k", "v"}, k, v);
        cacheShapes(op, "k", k, kCache, vCache, start);
        return type;
    }

    /**
     * {@link Backend#attentionDecode}: q and out {@code [B, n, H, Dh]}, the caches {@code [B, H, capacity, Dh]}
     * with {@code 0 <= start} and {@code start + n <= capacity}, all one float dtype, which it returns.
     */
    public static DType attentionDecode(Tensor q, Tensor kCache, Tensor vCache, int start, Tensor out) {
        String op = "attentionDecode";
        DType type = sameFloatType(op, new String[] {"q", "kCache", "vCache", "out"}, q, kCache, vCache, out);
        OpChecks.writable(op, "out", out);
        sameShapes(op, new String[] {"q", "out"}, q, out);
        cacheShapes(op, "q", q, kCache, vCache, start);
        return type;
    }

    /** Caches {@code [B, H, capacity, Dh]} for rows {@code x [B, n, H, Dh]} at positions {@code [start, start + n)}. */
    private static void cacheShapes(String op, String name, Tensor x, Tensor kCache, Tensor vCache, int start) {
        OpChecks.sameShape(op, "kCache", kCache, "vCache", vCache);
        boolean fits = kCache.rank() == 4 && kCache.size(0) == x.size(0) && kCache.size(1) == x.size(2)
                && kCache.size(3) == x.size(3);
        if (!fits) {
            throw new ShapeMismatchException(op + ": caches must be [B, H, capacity, Dh] = [" + x.size(0) + ", "
                    + x.size(2) + ", capacity, " + x.size(3) + "] for " + name + " " + Arrays.toString(x.shape())
                    + " but are " + Arrays.toString(kCache.shape()));
        }
        if (start < 0 || start + x.size(1) > kCache.size(2)) {
            throw new ShapeMismatchException(op + ": positions [" + start + ", " + (start + x.size(1))
                    + ") do not fit a cache of capacity " + kCache.size(2) + " (start " + start + ", "
                    + x.size(1) + " new rows)");
        }
    }

    /** {@link #sameFloatType(String, String[], Tensor...)} for four tensors, without a varargs array. */
    private static DType sameFloatType(String op, String[] names, Tensor a, Tensor b, Tensor c, Tensor d) {
        DType type = floatType(op, names[0], a);
        if (floatType(op, names[1], b) != type || floatType(op, names[2], c) != type
                || floatType(op, names[3], d) != type) {
            sameFloatType(op, names, new Tensor[] {a, b, c, d}); // throws, naming the first that differs
        }
        return type;
    }

    /** A live, contiguous F32 or BF16 tensor; returns its dtype. */
    private static DType floatType(String op, String name, Tensor t) {
        return OpChecks.f32OrBf16(op, name, t).dtype();
    }

    /**
     * Every tensor must be live and contiguous, all F32 or all BF16 (the type of the first); returns that
     * type.
     */
    private static DType sameFloatType(String op, String[] names, Tensor... ts) {
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
                    throw new IllegalArgumentException(op + ": " + names[i] + " " + t.describe() + " must have the dtype of "
                            + names[0] + " " + ts[0].describe() + " (all F32 or all BF16)");
                }
            }
            OpChecks.tensor(op, names[i], t, t == null ? DType.F32 : t.dtype());
            type = t.dtype();
        }
        return type;
    }

    /** The first tensor {@code [B, T, H, Dh]}, all of one shape. */
    private static void sameShapes(String op, String[] names, Tensor... ts) {
        if (ts[0].rank() != 4) {
            throw new ShapeMismatchException(op + ": " + names[0] + " must be [B, T, H, Dh] but has shape "
                    + Arrays.toString(ts[0].shape()));
        }
        for (int i = 1; i < ts.length; i++) {
            if (!ts[0].sameShape(ts[i])) {
                StringBuilder b = new StringBuilder(op).append(": shapes differ:");
                for (int j = 0; j < ts.length; j++) {
                    b.append(' ').append(names[j]).append(Arrays.toString(ts[j].shape()));
                }
                throw new ShapeMismatchException(b.toString());
            }
        }
    }

    /** {@code lse} must be {@code [B, H, T]} for {@code q [B, T, H, Dh]}. */
    private static void lseShape(String op, Tensor lse, Tensor q) {
        boolean fits = lse.rank() == 3 && q.rank() == 4 && lse.size(0) == q.size(0) && lse.size(1) == q.size(2)
                && lse.size(2) == q.size(1);
        if (!fits) {
            long[] want = {q.size(0), q.size(2), q.size(1)};
            throw new ShapeMismatchException(op + ": lse must be [B, H, T] = " + Arrays.toString(want) + " for q "
                    + Arrays.toString(q.shape()) + " but has " + Arrays.toString(lse.shape()));
        }
    }
}
