package io.leviathan.tensor;

/** Thrown when an operation receives tensors whose shapes do not fit together. The message names the
 * operation and every shape involved. */
public class ShapeMismatchException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    public ShapeMismatchException(String message) {
        super(message);
    }
}
