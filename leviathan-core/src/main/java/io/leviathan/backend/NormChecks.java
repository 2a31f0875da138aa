package io.leviathan.backend;

import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/** The argument checks of RMSNorm and LayerNorm over the last dimension, the same on every backend. */
public final class NormChecks {
    private NormChecks() {}

    /** LayerNorm's sizes: {@code c} elements a row, {@code groups} rows of gain and shift. */
    public record LayerNormDims(long c, long groups) {
        /** The last call's record when the sizes are the same (a training step then allocates none). */
        static LayerNormDims of(long c, long groups) {
            LayerNormDims d = last;
            if (d == null || d.c != c || d.groups != groups) {
                d = new LayerNormDims(c, groups);
                last = d;
            }
            return d;
        }

        private static volatile LayerNormDims last;
    }

    /** RMSNorm's forward; returns the row length {@code C}. */
    public static long rmsNorm(Tensor x, Tensor weight, Tensor out, Tensor rstd) {
        String op = "rmsNorm";
        OpChecks.f32(op, "x", x);
        OpChecks.f32(op, "weight", weight);
        OpChecks.f32Out(op, "out", out);
        OpChecks.f32Out(op, "rstd", rstd);
        long c = OpChecks.lastDim(op, "x", x);
        OpChecks.shape(op, "weight", weight, c);
        OpChecks.sameShape(op, "x", x, "out", out);
        OpChecks.rowsOf(op, "x", x, "rstd", rstd);
        return c;
    }

    /** RMSNorm's backward; returns the row length {@code C}. */
    public static long rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dX, Tensor dWeight) {
        String op = "rmsNormBackward";
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32(op, "x", x);
        OpChecks.f32(op, "weight", weight);
        OpChecks.f32(op, "rstd", rstd);
        OpChecks.f32Out(op, "dX", dX);
        OpChecks.f32Out(op, "dWeight", dWeight);
        long c = OpChecks.lastDim(op, "x", x);
        OpChecks.sameShape(op, "dOut", dOut, "x", x);
        OpChecks.sameShape(op, "dOut", dOut, "dX", dX);
        OpChecks.sameShape(op, "weight", weight, "dWeight", dWeight);
        OpChecks.shape(op, "weight", weight, c);
        OpChecks.rowsOf(op, "x", x, "rstd", rstd);
        return c;
    }

    /** LayerNorm's forward, plain ({@code weight [C]}) or grouped ({@code weight [G, C]}, {@code x [G, M, C]}). */
    public static LayerNormDims layerNorm(Tensor x, Tensor weight, Tensor bias, Tensor out, Tensor mean, Tensor rstd) {
        String op = "layerNorm";
        OpChecks.f32(op, "x", x);
        OpChecks.f32(op, "weight", weight);
        OpChecks.f32(op, "bias", bias);
        OpChecks.f32Out(op, "out", out);
        OpChecks.f32Out(op, "mean", mean);
        OpChecks.f32Out(op, "rstd", rstd);
        long c = OpChecks.lastDim(op, "x", x);
        long groups = affineGroups(op, x, c, weight);
        OpChecks.sameShape(op, "weight", weight, "bias", bias);
        OpChecks.sameShape(op, "x", x, "out", out);
        OpChecks.rowsOf(op, "x", x, "mean", mean);
        OpChecks.rowsOf(op, "x", x, "rstd", rstd);
        return LayerNormDims.of(c, groups);
    }

    /** LayerNorm's backward, plain or grouped as the forward. */
    public static LayerNormDims layerNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                                  Tensor dX, Tensor dWeight, Tensor dBias) {
        String op = "layerNormBackward";
        OpChecks.f32(op, "dOut", dOut);
        OpChecks.f32(op, "x", x);
        OpChecks.f32(op, "weight", weight);
        OpChecks.f32(op, "mean", mean);
        OpChecks.f32(op, "rstd", rstd);
        OpChecks.f32Out(op, "dX", dX);
        OpChecks.f32Out(op, "dWeight", dWeight);
        OpChecks.f32Out(op, "dBias", dBias);
        long c = OpChecks.lastDim(op, "x", x);
        OpChecks.sameShape(op, "dOut", dOut, "x", x);
        OpChecks.sameShape(op, "dOut", dOut, "dX", dX);
        OpChecks.sameShape(op, "weight", weight, "dWeight", dWeight);
        OpChecks.sameShape(op, "weight", weight, "dBias", dBias);
        long groups = affineGroups(op, x, c, weight);
        OpChecks.rowsOf(op, "x", x, "mean", mean);
        OpChecks.rowsOf(op, "x", x, "rstd", rstd);
        return LayerNormDims.of(c, groups);
    }

    /**
     * The number of groups {@code G} of LayerNorm's gain and shift: 1 when {@code weight} is {@code [C]}
     * (shared by every row), {@code G} when it is {@code [G, C]} and {@code x} is {@code [G, M, C]} (group
     * {@code g}'s rows use row {@code g}). Throws for any other shape, naming both.
     */
    public static long affineGroups(String op, Tensor x, long c, Tensor weight) {
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
}
