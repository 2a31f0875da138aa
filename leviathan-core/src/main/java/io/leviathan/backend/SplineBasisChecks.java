package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The argument checks of the sparse spline basis, the same on every backend. Window starts off the grid
 * are data: the CPU kernels check them, device kernels document what they do with them.
 */
public final class SplineBasisChecks {
    private SplineBasisChecks() {}

    /** t {@code [N, d]} F32 into first {@code [N, d]} (I32) and weights {@code [N, d, 3]}; knots at least 2. */
    public static void splineBasis(Tensor t, int knots, Tensor first, Tensor weights) {
        String op = "splineBasis";
        OpChecks.f32(op, "t", t);
        OpChecks.i32Out(op, "first", first);
        OpChecks.f32Out(op, "weights", weights);
        knots(op, knots);
        shapes(op, "t", t, "first", first, "weights", weights);
    }

    /** dWeights {@code [N, d, 3]}, t and dT {@code [N, d]}, first {@code [N, d]} (I32); knots at least 2. */
    public static void splineBasisBackward(Tensor dWeights, Tensor t, Tensor first, int knots, Tensor dT) {
        String op = "splineBasisBackward";
        OpChecks.f32(op, "dWeights", dWeights);
        OpChecks.f32(op, "t", t);
        OpChecks.tensor(op, "first", first, DType.I32);
        OpChecks.f32Out(op, "dT", dT);
        knots(op, knots);
        shapes(op, "t", t, "first", first, "dWeights", dWeights);
        OpChecks.sameShape(op, "t", t, "dT", dT);
    }

    private static void knots(String op, int knots) {
        if (knots < 2) {
            throw new IllegalArgumentException(op + ": knots must be >= 2 (the grid j / (knots - 1)), got " + knots);
        }
    }

    /** {@code t} is {@code [N, d]}, {@code first} {@code [N, d]} and {@code w} {@code [N, d, 3]}. */
    private static void shapes(String op, String tName, Tensor t, String fName, Tensor first, String wName, Tensor w) {
        if (t.rank() != 2) {
            throw new ShapeMismatchException(op + ": " + tName + " must be [N, d] but has shape "
                    + Arrays.toString(t.shape()));
        }
        long n = t.size(0), d = t.size(1);
        OpChecks.shape(op, fName, first, n, d);
        OpChecks.shape(op, wName, w, n, d, 3);
    }
}
