package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.Arrays;

/**
 * The argument checks of the fused cross-entropy, the same on every backend (the loss sum is checked with
 * {@link OpChecks#scalarOut}). Targets outside the vocabulary are data, found by the kernels.
 */
public final class CrossEntropyChecks {
    private CrossEntropyChecks() {}

    /**
     * logits {@code [..., V]}; targets and losses {@code [N]} or logits' shape without V; dLogits as logits.
     * Returns the vocabulary {@code V} (logits' last dimension); the rows are {@link #rows}. Two numbers, not a
     * record, so the training step's loss allocates nothing.
     */
    public static long crossEntropy(Tensor logits, Tensor targets, Tensor losses, Tensor dLogits) {
        String op = "crossEntropy";
        OpChecks.f32(op, "logits", logits);
        OpChecks.tensor(op, "targets", targets, DType.I32);
        long vocab = OpChecks.lastDim(op, "logits", logits);
        long n = rows(logits, vocab);
        rowsShape(op, "targets", targets, logits, n);
        if (losses != null) {
            OpChecks.f32Out(op, "losses", losses);
            rowsShape(op, "losses", losses, logits, n);
        }
        if (dLogits != null) {
            OpChecks.f32Out(op, "dLogits", dLogits);
            OpChecks.sameShape(op, "logits", logits, "dLogits", dLogits);
        }
        return vocab;
    }

    /** The number of rows {@code N} of logits {@code [..., V]}: its elements over {@code vocab} (0 when V is 0). */
    public static long rows(Tensor logits, long vocab) {
        return vocab == 0 ? 0 : logits.numel() / vocab;
    }

    /** {@code t} must be {@code [N]} or logits' shape without its last dimension. */
    private static void rowsShape(String op, String name, Tensor t, Tensor logits, long n) {
        if (!(t.rank() == 1 && t.size(0) == n) && !logits.isRowsOf(t)) {
            long[] rows = OpChecks.rowsShape(logits); // built only for the message
            throw new ShapeMismatchException(op + ": " + name + " must have shape [" + n + "] or "
                    + Arrays.toString(rows) + " for logits " + Arrays.toString(logits.shape()) + " but has "
                    + Arrays.toString(t.shape()));
        }
    }
}
