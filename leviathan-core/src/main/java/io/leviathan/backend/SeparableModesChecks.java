package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The argument checks of the separable modes, the same on every backend. Shapes are ungrouped: first
 * {@code [N, d]}, weights {@code [N, d, 3]}, spline {@code [d, K, R]}, modes {@code [N, R]}; or grouped:
 * first {@code [G, N, d]}, weights {@code [G, N, d, 3]}, spline {@code [G, d, K, R]}, modes {@code [N, G, R]}.
 */
public final class SeparableModesChecks {
    private SeparableModesChecks() {}

    /** The separable modes' sizes: groups (heads), rows, seed dimensions, knots and modes. */
    public record ModeDims(long groups, long n, long d, long knots, long r) {
        /**
         * The sizes, as the last call's record when they are the same: a training step passes the same
         * shapes every time, and this keeps it from allocating (records are immutable, so sharing is safe).
         */
        static ModeDims of(long groups, long n, long d, long knots, long r) {
            ModeDims m = last;
            if (m == null || m.groups != groups || m.n != n || m.d != d || m.knots != knots || m.r != r) {
                m = new ModeDims(groups, n, d, knots, r);
                last = m;
            }
            return m;
        }

        private static volatile ModeDims last;
    }

    /** The forward's operands; returns their sizes. */
    public static ModeDims separableModes(Tensor first, Tensor weights, Tensor spline, Tensor modes) {
        String op = "separableModes";
        OpChecks.tensor(op, "first", first, DType.I32);
        OpChecks.f32(op, "weights", weights);
        OpChecks.f32(op, "spline", spline);
        OpChecks.f32Out(op, "modes", modes);
        return shapes(op, "first", first, weights, spline, "modes", modes);
    }

    /** The backward's operands, each gradient of its value's shape; returns their sizes. */
    public static ModeDims separableModesBackward(Tensor dModes, Tensor first, Tensor weights, Tensor spline,
                                                  Tensor modes, Tensor dWeights, Tensor dSpline) {
        String op = "separableModesBackward";
        OpChecks.f32(op, "dModes", dModes);
        OpChecks.tensor(op, "first", first, DType.I32);
        OpChecks.f32(op, "weights", weights);
        OpChecks.f32(op, "spline", spline);
        OpChecks.f32(op, "modes", modes);
        OpChecks.f32Out(op, "dWeights", dWeights);
        OpChecks.f32Out(op, "dSpline", dSpline);
        ModeDims dims = shapes(op, "first", first, weights, spline, "modes", modes);
        OpChecks.sameShape(op, "modes", modes, "dModes", dModes);
        OpChecks.sameShape(op, "weights", weights, "dWeights", dWeights);
        OpChecks.sameShape(op, "spline", spline, "dSpline", dSpline);
        return dims;
    }

    /**
     * The fused forward's operands: coordinates {@code t} ({@code [N, d]}, or {@code [G, N, d]}) in place of
     * {@code first} and {@code weights}, the knots being the spline's ({@code spline.size(-2)}, at least 2).
     */
    public static ModeDims separableModesOfCoordinates(Tensor t, Tensor spline, Tensor modes) {
        String op = "separableModesOfCoordinates";
        OpChecks.f32(op, "t", t);
        OpChecks.f32(op, "spline", spline);
        OpChecks.f32Out(op, "modes", modes);
        return knots(op, shapes(op, "t", t, null, spline, "modes", modes));
    }

    /** The fused backward's operands, each gradient of its value's shape; returns their sizes. */
    public static ModeDims separableModesOfCoordinatesBackward(Tensor dModes, Tensor t, Tensor spline, Tensor modes,
                                                               Tensor dT, Tensor dSpline) {
        String op = "separableModesOfCoordinatesBackward";
        OpChecks.f32(op, "dModes", dModes);
        OpChecks.f32(op, "t", t);
        OpChecks.f32(op, "spline", spline);
        OpChecks.f32(op, "modes", modes);
        OpChecks.f32Out(op, "dT", dT);
        OpChecks.f32Out(op, "dSpline", dSpline);
        ModeDims dims = knots(op, shapes(op, "t", t, null, spline, "modes", modes));
        OpChecks.sameShape(op, "modes", modes, "dModes", dModes);
        OpChecks.sameShape(op, "t", t, "dT", dT);
        OpChecks.sameShape(op, "spline", spline, "dSpline", dSpline);
        return dims;
    }

    /** The basis's grid {@code j / (knots - 1)} needs two knots. */
    private static ModeDims knots(String op, ModeDims dims) {
        if (dims.knots() < 2) {
            throw new IllegalArgumentException(op + ": spline must have at least 2 knots (its size -2) for the"
                    + " basis grid j / (knots - 1), got " + dims.knots());
        }
        return dims;
    }

    /**
     * The sizes from {@code first} (or the fused ops' {@code t}, named {@code firstName}), {@code [N, d]} or
     * {@code [G, N, d]}, checking the others against them; {@code weights} is null for the fused ops.
     */
    private static ModeDims shapes(String op, String firstName, Tensor first, Tensor weights, Tensor spline,
                                   String modesName, Tensor modes) {
        boolean grouped = first.rank() == 3;
        if (first.rank() != 2 && !grouped) {
            throw new ShapeMismatchException(op + ": " + firstName + " must be [N, d], or [G, N, d] for G heads, but"
                    + " has shape " + Arrays.toString(first.shape()));
        }
        if (spline.rank() != (grouped ? 4 : 3)) {
            throw new ShapeMismatchException(op + ": spline must be " + (grouped ? "[G, d, knots, R]" : "[d, knots, R]")
                    + " for " + firstName + " " + Arrays.toString(first.shape()) + " but has shape "
                    + Arrays.toString(spline.shape()));
        }
        long groups = grouped ? first.size(0) : 1;
        long n = first.size(-2), d = first.size(-1), knots = spline.size(-2), r = spline.size(-1);
        if (weights != null && grouped) {
            OpChecks.shape(op, "weights", weights, groups, n, d, 3);
        } else if (weights != null) {
            OpChecks.shape(op, "weights", weights, n, d, 3);
        }
        if (spline.size(-3) != d || (grouped && spline.size(0) != groups)) {
            throw new ShapeMismatchException(op + ": spline " + Arrays.toString(spline.shape())
                    + (grouped ? " must be [" + groups + ", " + d + ", knots, R]" : " must have d = " + d + " rows")
                    + ", as " + firstName + " " + Arrays.toString(first.shape()));
        }
        if (grouped) {
            OpChecks.shape(op, modesName, modes, n, groups, r);
        } else {
            OpChecks.shape(op, modesName, modes, n, r);
        }
        return ModeDims.of(groups, n, d, knots, r);
    }
}
