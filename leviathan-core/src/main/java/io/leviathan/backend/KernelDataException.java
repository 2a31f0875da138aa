package io.leviathan.backend;

/**
 * Bad data found inside an operation rather than in its arguments' shapes: a token id or target outside
 * the vocabulary. The CPU backend throws it from the operation; a device backend (and the strict CPU
 * backend, which stands in for one) cannot stop a kernel in flight, so it records the first such error in
 * a device flag and throws it from the next {@link Backend#synchronize()} or download. Token ids are
 * validated on the host where they are read (shards, prompts), so a training run never meets one.
 */
public class KernelDataException extends IllegalArgumentException {
    public KernelDataException(String message) {
        super(message);
    }
}
