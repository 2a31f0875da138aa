package io.leviathan.backend;

import io.leviathan.tensor.Tensor;

/** The argument checks of the reductions over the last dimension, the same on every backend. */
public final class ReductionChecks {
    private ReductionChecks() {}

    /** {@code out} is {@code x} without its last dimension; returns that dimension's size. */
    public static long rowReduce(String op, Tensor x, Tensor out) {
        OpChecks.f32(op, "x", x);
        OpChecks.f32Out(op, "out", out);
        long c = OpChecks.lastDim(op, "x", x);
        OpChecks.rowsOf(op, "x", x, "out", out);
        return c;
    }

    /** {@code dOut} is {@code dX} without its last dimension; returns that dimension's size. */
    public static long rowBroadcastBackward(String op, Tensor dOut, Tensor dX) {
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32Out(op, "dX", dX);
        long c = OpChecks.lastDim(op, "dX", dX);
        OpChecks.rowsOf(op, "dX", dX, "dOut", dOut);
        return c;
    }
}
