package io.leviathan.backend;

import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/** The argument checks of rotary position embedding and its tables, the same on every backend. */
public final class RopeChecks {
    private RopeChecks() {}

    /**
     * A rotation of {@code in} into {@code out} (rope: x into out; ropeBackward: dOut into dX): both
     * {@code [B, T, H, Dh]} with even {@code Dh}, cos and sin {@code [maxT >= T, Dh/2]}.
     */
    public static void rotation(String op, String inName, Tensor in, Tensor cos, Tensor sin, String outName,
                                Tensor out) {
        OpChecks.f32(op, inName, in);
        OpChecks.f32(op, "cos", cos);
        OpChecks.f32(op, "sin", sin);
        OpChecks.f32Out(op, outName, out);
        OpChecks.sameShape(op, inName, in, outName, out);
        boolean ok = in.rank() == 4 && in.size(3) % 2 == 0 && cos.rank() == 2
                && cos.sameShape(sin)
                && cos.size(1) == in.size(3) / 2 && cos.size(0) >= in.size(1);
        if (!ok) {
            throw new ShapeMismatchException(op + ": expected " + inName + " [B, T, H, Dh] with even Dh and cos, sin "
                    + "[maxT >= T, Dh/2], but got " + inName + Arrays.toString(in.shape()) + ", cos"
                    + Arrays.toString(cos.shape()) + ", sin" + Arrays.toString(sin.shape()));
        }
    }

    /** The tables: cos and sin {@code [maxT, Dh/2]}, theta positive and finite. */
    public static void tables(float theta, Tensor cos, Tensor sin) {
        String op = "ropeTables";
        OpChecks.f32Out(op, "cos", cos);
        OpChecks.f32Out(op, "sin", sin);
        OpChecks.sameShape(op, "cos", cos, "sin", sin);
        if (cos.rank() != 2) {
            throw new ShapeMismatchException(op + ": cos and sin must be [maxT, Dh/2] but are "
                    + Arrays.toString(cos.shape()) + " and " + Arrays.toString(sin.shape()));
        }
        if (!(theta > 0) || Float.isInfinite(theta)) {
            throw new IllegalArgumentException(op + ": theta must be positive and finite, got " + theta);
        }
    }
}
