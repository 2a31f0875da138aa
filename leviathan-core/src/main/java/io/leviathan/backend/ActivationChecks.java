package io.leviathan.backend;

import io.leviathan.tensor.Tensor;

/** The argument checks of the activations and softmax, the same on every backend. */
public final class ActivationChecks {
    private ActivationChecks() {}

    /** {@code out = f(x)}, both F32 of one shape (silu, sigmoid). */
    public static void unary(String op, Tensor x, Tensor out) {
        OpChecks.f32(op, "x", x);
        OpChecks.f32Out(op, "out", out);
        OpChecks.sameShape(op, "x", x, "out", out);
    }

    /** {@code dX = dOut * f'(...)} from the saved input or output {@code saved} named {@code savedName}. */
    public static void unaryBackward(String op, Tensor dOut, String savedName, Tensor saved, Tensor dX) {
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32(op, savedName, saved);
        OpChecks.f32Out(op, "dX", dX);
        OpChecks.sameShape(op, "dOut", dOut, savedName, saved);
        OpChecks.sameShape(op, "dOut", dOut, "dX", dX);
    }

    /** {@code out = silu(gate) * up}, all of one shape. */
    public static void swiglu(Tensor gate, Tensor up, Tensor out) {
        ElementwiseChecks.binary("swiglu", "gate", gate, "up", up, out);
    }

    /** swiglu's gradients, all of one shape. */
    public static void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        String op = "swigluBackward";
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32(op, "gate", gate);
        OpChecks.f32(op, "up", up);
        OpChecks.f32Out(op, "dGate", dGate);
        OpChecks.f32Out(op, "dUp", dUp);
        OpChecks.sameShape(op, "dOut", dOut, "gate", gate);
        OpChecks.sameShape(op, "dOut", dOut, "up", up);
        OpChecks.sameShape(op, "dOut", dOut, "dGate", dGate);
        OpChecks.sameShape(op, "dOut", dOut, "dUp", dUp);
    }

    /** Softmax over the last dimension; returns that dimension's size. */
    public static long softmax(Tensor x, Tensor out) {
        String op = "softmax";
        unary(op, x, out);
        return OpChecks.lastDim(op, "x", x);
    }

    /** Softmax's backward from its output {@code y}; returns the last dimension's size. */
    public static long softmaxBackward(Tensor dOut, Tensor y, Tensor dX) {
        String op = "softmaxBackward";
        unaryBackward(op, dOut, "y", y, dX);
        return OpChecks.lastDim(op, "y", y);
    }
}
