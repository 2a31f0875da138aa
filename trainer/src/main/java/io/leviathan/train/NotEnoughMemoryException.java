package io.leviathan.train;

import io.leviathan.model.MemoryEstimate;

/** A run refused before allocating because its {@link MemoryEstimate} exceeds what is available. */
public final class NotEnoughMemoryException extends RuntimeException {
    private final transient MemoryEstimate estimate;

    NotEnoughMemoryException(MemoryEstimate estimate, String message) {
        super(message);
        this.estimate = estimate;
    }

    /** The estimate that did not fit. */
    public MemoryEstimate estimate() {
        return estimate;
    }
}
