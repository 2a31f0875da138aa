package io.leviathan.tensor;

/** Thrown when a tensor is used after the {@link TensorArena} that owns its memory was closed. */
public class TensorClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    public TensorClosedException(String message) {
        super(message);
    }
}
