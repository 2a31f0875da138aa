package io.leviathan.backend;

import io.leviathan.tensor.MemoryKey;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;

/** The argument checks of uploads and downloads across the host boundary, the same on every backend. */
public final class TransferChecks {
    private TransferChecks() {}

    /** The memory of a contiguous tensor, opened with the backend's {@code key}. */
    public static MemorySegment readable(String op, Tensor t, MemoryKey key) {
        if (t == null) {
            throw new IllegalArgumentException(op + ": tensor is null");
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(op + ": " + t + " must be contiguous");
        }
        return t.segment(key);
    }

    /** As {@link #readable}, for a tensor that is not read-only. */
    public static MemorySegment writable(String op, Tensor t, MemoryKey key) {
        MemorySegment s = readable(op, t, key);
        if (t.isReadOnly()) {
            throw new IllegalArgumentException(op + ": " + t.describe() + " is read-only");
        }
        return s;
    }

    /** Elements to copy ({@code t.numel()}), after checking that the array holds them from {@code offset}. */
    public static int range(String op, int length, int offset, Tensor t) {
        if (length < 0) {
            throw new IllegalArgumentException(op + ": array is null");
        }
        long n = t.numel();
        if (offset < 0 || offset + n > length) {
            throw new ShapeMismatchException(op + ": " + t.describe() + " needs " + n + " elements from offset "
                    + offset + " of an array of " + length);
        }
        return (int) n;
    }

    /** Throws unless the host segment holds all of {@code t}'s memory {@code tensorMemory}. */
    public static void hostSegment(String op, MemorySegment host, Tensor t, MemorySegment tensorMemory) {
        if (host == null || host.byteSize() < tensorMemory.byteSize()) {
            throw new ShapeMismatchException(op + ": host segment of " + (host == null ? "null" : host.byteSize() + " bytes")
                    + " for " + t.describe() + " (" + tensorMemory.byteSize() + " bytes)");
        }
    }
}
