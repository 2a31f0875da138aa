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

    /** Cross-entropy's sizes: {@code rows} rows of {@code vocab} logits. */
    public record LossDims(long rows, long vocab) {}

    /** logits {@code [..., V]}; targets and losses {@code [N]} or logits' shape without V; dLogits as logits. */
    public static LossDims crossEntropy(Tensor logits, Tensor targets, Tensor losses, Tensor dLogits) {
        String op = "crossEntropy";
        OpChecks.f32(op, "logits", logits);
        OpChecks.tensor(op, "targets", targets, DType.I32);
        long vocab = OpChecks.lastDim(op, "logits", logits);
        long n = vocab == 0 ? 0 : logits.numel() / vocab;
        rowsShape(op, "targets", targets, logits, n);
        if (losses != null) {
            OpChecks.f32Out(op, "losses", losses);
            rowsShape(op, "losses", losses, logits, n);
        }
        if (dLogits != null) {
            OpChecks.f32Out(op, "dLogits", dLogits);
            OpChecks.sameShape(op, "logits", logits, "dLogits", dLogits);
        }
        return new LossDims(n, vocab);
    }

    /** {@code t} must be {@code [N]} or logits' shape without its last dimension. */
    private static void rowsShape(String op, String name, Tensor t, Tensor logits, long n) {
        long[] rows = OpChecks.rowsShape(logits);
        if (!Arrays.equals(t.shape(), new long[] {n}) && !Arrays.equals(t.shape(), rows)) {
            throw new ShapeMismatchException(op + ": " + name + " must have shape [" + n + "] or "
                    + Arrays.toString(rows) + " for logits " + Arrays.toString(logits.shape()) + " but has "
                    + Arrays.toString(t.shape()));
        }
    }
}
