package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;

/** The argument checks of copy, fill and the element-wise operations, the same on every backend. */
public final class ElementwiseChecks {
    private ElementwiseChecks() {}

    /** {@code src} and {@code dst} of one shape, of one dtype or F32 and BF16 (which convert into each other). */
    public static void copy(Tensor src, Tensor dst) {
        String op = "copy";
        OpChecks.any(op, "src", src);
        OpChecks.any(op, "dst", dst);
        OpChecks.writable(op, "dst", dst);
        OpChecks.sameShape(op, "src", src, "dst", dst);
        DType from = src.dtype(), to = dst.dtype();
        if (from != to && (from == DType.I32 || to == DType.I32)) {
            throw new IllegalArgumentException(op + ": cannot convert src " + src.describe() + " to dst "
                    + dst.describe() + " (only F32 and BF16 convert into each other)");
        }
    }

    /** A writable F32 or BF16 tensor. */
    public static void fill(Tensor t) {
        String op = "fill";
        OpChecks.any(op, "t", t);
        OpChecks.writable(op, "t", t);
        if (t.dtype() == DType.I32) {
            throw new IllegalArgumentException(op + ": t must be F32 or BF16 but is " + t.describe());
        }
    }

    /** {@code out = a (op) b}, all F32 of one shape (add, mul). */
    public static void binary(String op, Tensor a, Tensor b, Tensor out) {
        binary(op, "a", a, "b", b, out);
    }

    /** {@code out = f(a, b)} element by element, all F32 of one shape; the inputs named as the operation names them. */
    public static void binary(String op, String aName, Tensor a, String bName, Tensor b, Tensor out) {
        OpChecks.f32(op, aName, a);
        OpChecks.f32(op, bName, b);
        OpChecks.f32Out(op, "out", out);
        OpChecks.sameShape(op, aName, a, bName, b);
        OpChecks.sameShape(op, aName, a, "out", out);
    }

    /** dOut, a and b of one shape; each of dA and dB null or of that shape. */
    public static void mulBackward(Tensor dOut, Tensor a, Tensor b, Tensor dA, Tensor dB) {
        String op = "mulBackward";
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32(op, "a", a);
        OpChecks.f32(op, "b", b);
        OpChecks.sameShape(op, "dOut", dOut, "a", a);
        OpChecks.sameShape(op, "dOut", dOut, "b", b);
        if (dA != null) {
            OpChecks.f32Out(op, "dA", dA);
            OpChecks.sameShape(op, "dOut", dOut, "dA", dA);
        }
        if (dB != null) {
            OpChecks.f32Out(op, "dB", dB);
            OpChecks.sameShape(op, "dOut", dOut, "dB", dB);
        }
    }

    /** {@code out = s * a}. */
    public static void scale(Tensor a, Tensor out) {
        String op = "scale";
        OpChecks.f32(op, "a", a);
        OpChecks.f32Out(op, "out", out);
        OpChecks.sameShape(op, "a", a, "out", out);
    }

    /** {@code y += alpha * x}. */
    public static void axpy(Tensor x, Tensor y) {
        String op = "axpy";
        OpChecks.f32(op, "x", x);
        OpChecks.f32Out(op, "y", y);
        OpChecks.sameShape(op, "x", x, "y", y);
    }
}
