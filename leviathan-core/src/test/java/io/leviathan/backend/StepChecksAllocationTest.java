package io.leviathan.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.management.ManagementFactory;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The argument checks a training step runs on every call (cross-entropy, embedding, attention backward, the
 * gradient norm, AdamW, and the Leviathan generator's spline basis, separable modes and grouped LayerNorm)
 * allocate nothing when the arguments are valid, and still reject bad shapes with
 * messages that name them. The checks use no Vector API, so the interpreter allocates what compiled code
 * does and the byte count does not depend on the JIT.
 */
class StepChecksAllocationTest {
    private static final int CALLS = 1000;

    @Test
    void validCallsAllocateNothing() {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        if (!(bean instanceof com.sun.management.ThreadMXBean mx) || !mx.isThreadAllocatedMemorySupported()) {
            Assumptions.abort("per-thread allocation counters are not available");
            return;
        }
        mx.setThreadAllocatedMemoryEnabled(true);
        try (TensorArena arena = new TensorArena()) {
            Tensor logits = arena.allocate(DType.F32, 2, 3, 7);
            Tensor rowTargets = arena.allocate(DType.I32, 2, 3);
            Tensor flatTargets = arena.allocate(DType.I32, 6);
            Tensor losses = arena.allocate(DType.F32, 6);
            Tensor table = arena.allocate(DType.F32, 7, 4);
            Tensor rows = arena.allocate(DType.F32, 2, 3, 4);
            Tensor q = arena.allocate(DType.F32, 1, 3, 2, 4);
            Tensor lse = arena.allocate(DType.F32, 1, 2, 3);
            Tensor param = arena.allocate(DType.F32, 10);
            Tensor norm = arena.allocate(DType.F32, 1);
            List<Tensor> grads = List.of(param, table);
            AdamWStep step = new AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1);
            // the generator's: 2 heads, 5 rows, seed 3, 4 knots, rank 2
            Tensor t = arena.allocate(DType.F32, 10, 3), first = arena.allocate(DType.I32, 10, 3);
            Tensor weights = arena.allocate(DType.F32, 10, 3, 3);
            Tensor headFirst = arena.allocate(DType.I32, 2, 5, 3), headWeights = arena.allocate(DType.F32, 2, 5, 3, 3);
            Tensor spline = arena.allocate(DType.F32, 2, 3, 4, 2), modes = arena.allocate(DType.F32, 5, 2, 2);
            Tensor lnX = arena.allocate(DType.F32, 2, 5, 3), lnW = arena.allocate(DType.F32, 2, 3);
            Tensor lnStat = arena.allocate(DType.F32, 2, 5);
            Runnable calls = () -> {
                for (int i = 0; i < CALLS; i++) {
                    CrossEntropyChecks.crossEntropy(logits, rowTargets, null, logits);
                    CrossEntropyChecks.crossEntropy(logits, flatTargets, losses, null);
                    EmbeddingChecks.embedding(rowTargets, table, rows);
                    EmbeddingChecks.embeddingBackward(rows, rowTargets, table);
                    AttentionChecks.attentionBackward(q, q, q, q, q, lse, q, q, q);
                    OptimizerChecks.globalL2Norm(grads);
                    OptimizerChecks.adamw(param, param, param, param, step, 4, norm, 1f);
                    SplineBasisChecks.splineBasis(t, 4, first, weights);
                    SplineBasisChecks.splineBasisBackward(weights, t, first, 4, t);
                    SeparableModesChecks.separableModes(headFirst, headWeights, spline, modes);
                    SeparableModesChecks.separableModesBackward(modes, headFirst, headWeights, spline, modes,
                            headWeights, spline);
                    NormChecks.layerNorm(lnX, lnW, lnW, lnX, lnStat, lnStat);
                    NormChecks.layerNormBackward(lnX, lnX, lnW, lnStat, lnStat, lnX, lnW, lnW);
                }
            };
            calls.run(); // loads and initialises every class the checks touch
            long tid = Thread.currentThread().threadId();
            long best = Long.MAX_VALUE;
            for (int attempt = 0; attempt < 3; attempt++) {
                long before = mx.getThreadAllocatedBytes(tid);
                calls.run();
                best = Math.min(best, mx.getThreadAllocatedBytes(tid) - before);
            }
            // Thirteen checks a round: one small record or array each would be over 100 KB here.
            assertTrue(best < 1024, "the checks allocated " + best + " bytes over " + CALLS + " rounds");
        }
    }

    @Test
    void checksReturnTheSizesAndSharedTypes() {
        try (TensorArena arena = new TensorArena()) {
            Tensor logits = arena.allocate(DType.F32, 2, 3, 7);
            long vocab = CrossEntropyChecks.crossEntropy(logits, arena.allocate(DType.I32, 2, 3), null, null);
            assertEquals(7, vocab);
            assertEquals(6, CrossEntropyChecks.rows(logits, vocab));
            assertEquals(0, CrossEntropyChecks.rows(arena.allocate(DType.F32, 3, 0), 0));
            Tensor q = arena.allocate(DType.F32, 1, 3, 2, 4);
            Tensor qb = arena.allocate(DType.BF16, 1, 3, 2, 4);
            Tensor lse = arena.allocate(DType.F32, 1, 2, 3);
            AttentionChecks.BackwardTypes f32 = AttentionChecks.attentionBackward(q, q, q, q, q, lse, q, q, q);
            assertEquals(new AttentionChecks.BackwardTypes(DType.F32, DType.F32), f32);
            assertSame(f32, AttentionChecks.attentionBackward(q, q, q, q, q, lse, q, q, q));
            assertEquals(new AttentionChecks.BackwardTypes(DType.BF16, DType.F32),
                    AttentionChecks.attentionBackward(q, qb, qb, qb, qb, lse, q, q, q));
            assertEquals(new AttentionChecks.BackwardTypes(DType.F32, DType.BF16),
                    AttentionChecks.attentionBackward(qb, q, q, q, q, lse, q, q, q));
        }
    }

    @Test
    void rowShapedOperandsOfTheWrongShapeAreNamed() {
        try (TensorArena arena = new TensorArena()) {
            Tensor logits = arena.allocate(DType.F32, 2, 3, 7);
            var e = assertThrows(ShapeMismatchException.class, () -> CrossEntropyChecks.crossEntropy(logits,
                    arena.allocate(DType.I32, 3, 2), null, null));
            assertTrue(e.getMessage().contains("targets must have shape [6] or [2, 3]")
                    && e.getMessage().contains("[2, 3, 7]") && e.getMessage().contains("but has [3, 2]"), e.getMessage());
            e = assertThrows(ShapeMismatchException.class, () -> CrossEntropyChecks.crossEntropy(logits,
                    arena.allocate(DType.I32, 6), arena.allocate(DType.F32, 6, 1), null));
            assertTrue(e.getMessage().contains("losses") && e.getMessage().contains("[6, 1]"), e.getMessage());

            Tensor ids = arena.allocate(DType.I32, 2, 3);
            Tensor table = arena.allocate(DType.F32, 7, 4);
            e = assertThrows(ShapeMismatchException.class,
                    () -> EmbeddingChecks.embedding(ids, table, arena.allocate(DType.F32, 3, 2, 4)));
            assertTrue(e.getMessage().contains("ids + [D] = [2, 3, 4]") && e.getMessage().contains("but has [3, 2, 4]"),
                    e.getMessage());
            e = assertThrows(ShapeMismatchException.class,
                    () -> EmbeddingChecks.embeddingBackward(arena.allocate(DType.F32, 2, 3), ids, table));
            assertTrue(e.getMessage().contains("dOut") && e.getMessage().contains("but has [2, 3]"), e.getMessage());
        }
    }
}
