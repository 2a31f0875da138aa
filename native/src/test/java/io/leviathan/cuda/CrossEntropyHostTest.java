package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertClose;
import static io.leviathan.cuda.Reference.assertSameBits;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The fused softmax + cross-entropy against the CPU backend, ignored rows, in-place gradients and bad targets. */
class CrossEntropyHostTest {

    private static final int IGNORE = -100;

    private static long workspaceBytes(int rows, int vocab) {
        long bytes = HostKernels.callLong(HostKernels.CROSS_ENTROPY_WORKSPACE_BYTES, (long) rows, (long) vocab);
        assertTrue(bytes >= rows * 8L, "workspace of " + bytes + " bytes for " + rows + " rows");
        return bytes;
    }

    @ParameterizedTest
    @CsvSource({"1, 1, 0", "3, 7, 1", "17, 64, 4", "40, 1000, 9", "5, 5001, 0"})
    void lossGradientAndLosses(int rows, int vocab, int ignored) {
        Random rnd = new Random(rows * 1009L + vocab + ignored);
        float[] logits = gaussian(rnd, rows * vocab, 3f);
        int[] targets = rnd.ints(rows, 0, vocab).toArray();
        for (int i = 0; i < ignored && i < rows; i++) {
            targets[rnd.nextInt(rows)] = IGNORE;
        }
        float gradScale = 0.75f, lossSum0 = 1.25f;
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tl = arena.of(logits, rows, vocab), tt = arena.ofInts(targets, rows);
            Tensor losses = arena.allocate(DType.F32, rows), dl = arena.allocate(DType.F32, rows, vocab);
            Tensor lossSum = arena.of(new float[] {lossSum0}, 1);
            CPU.crossEntropy(tl, tt, IGNORE, losses, dl, gradScale, lossSum);
            float[] expectedGrad = CPU.downloadFloats(dl);

            long wsBytes = workspaceBytes(rows, vocab);
            MemorySegment ws = mem.bytes(wsBytes), err = mem.ints(new int[4]);
            MemorySegment hl = mem.floats(new float[rows]), hd = mem.floats(new float[rows * vocab]);
            MemorySegment hs = mem.floats(new float[] {lossSum0}), st = mem.ints(targets);
            assertEquals(0, HostKernels.call(HostKernels.CROSS_ENTROPY, mem.floats(logits), st, IGNORE, hl, hd,
                    gradScale, hs, (long) rows, (long) vocab, ws, wsBytes, err));
            assertClose("losses", CPU.downloadFloats(losses), HostMemory.toFloats(hl, rows), 1e-6, 1e-7);
            assertClose("dLogits", expectedGrad, HostMemory.toFloats(hd, rows * vocab), 1e-6, 1e-7);
            assertClose("lossSum", CPU.downloadFloats(lossSum), HostMemory.toFloats(hs, 1), 1e-6, 0);
            assertArrayEquals(new int[4], HostMemory.toInts(err, 4));

            // In place over the logits, and without the per-row losses: the same gradient and loss.
            MemorySegment inPlace = mem.floats(logits), hs2 = mem.floats(new float[] {lossSum0});
            assertEquals(0, HostKernels.call(HostKernels.CROSS_ENTROPY, inPlace, st, IGNORE, MemorySegment.NULL,
                    inPlace, gradScale, hs2, (long) rows, (long) vocab, ws, wsBytes, err));
            assertSameBits("dLogits in place", HostMemory.toFloats(hd, rows * vocab),
                    HostMemory.toFloats(inPlace, rows * vocab));
            assertSameBits("lossSum in place", HostMemory.toFloats(hs, 1), HostMemory.toFloats(hs2, 1));
        }
    }

    @Test
    void everyRowIgnoredCountsNothing() {
        int rows = 4, vocab = 6;
        float[] logits = gaussian(new Random(8), rows * vocab, 1f);
        int[] targets = {IGNORE, IGNORE, IGNORE, IGNORE};
        try (HostMemory mem = new HostMemory()) {
            long wsBytes = workspaceBytes(rows, vocab);
            MemorySegment hs = mem.floats(new float[] {2f}), hd = mem.floats(gaussian(new Random(9), rows * vocab, 1f));
            MemorySegment hl = mem.floats(new float[] {5, 5, 5, 5});
            assertEquals(0, HostKernels.call(HostKernels.CROSS_ENTROPY, mem.floats(logits), mem.ints(targets), IGNORE,
                    hl, hd, 1f, hs, (long) rows, (long) vocab, mem.bytes(wsBytes), wsBytes, mem.ints(new int[4])));
            assertArrayEquals(new float[] {2f}, HostMemory.toFloats(hs, 1), "adds a mean of 0");
            assertArrayEquals(new float[rows], HostMemory.toFloats(hl, rows));
            assertArrayEquals(new float[rows * vocab], HostMemory.toFloats(hd, rows * vocab));
        }
    }

    /** A target outside [0, V) that is not ignored: the CPU backend throws; the kernels record it and ignore the row. */
    @Test
    void badTargetIsRecordedAndItsRowIgnored() {
        int rows = 3, vocab = 4;
        float[] logits = gaussian(new Random(10), rows * vocab, 1f);
        int[] targets = {1, 9, 2};
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            long wsBytes = workspaceBytes(rows, vocab);
            MemorySegment err = mem.ints(new int[4]), hs = mem.floats(new float[1]);
            MemorySegment hl = mem.floats(new float[rows]);
            assertEquals(0, HostKernels.call(HostKernels.CROSS_ENTROPY, mem.floats(logits), mem.ints(targets), IGNORE,
                    hl, MemorySegment.NULL, 1f, hs, (long) rows, (long) vocab, mem.bytes(wsBytes), wsBytes, err));
            assertArrayEquals(new int[] {1, 3, 1, 9}, HostMemory.toInts(err, 4), "count, LV_OP_CROSS_ENTROPY, position, target");

            // The loss equals the CPU backend's with that row ignored.
            Tensor losses = arena.allocate(DType.F32, rows), lossSum = arena.allocate(DType.F32, 1);
            CPU.crossEntropy(arena.of(logits, rows, vocab), arena.ofInts(new int[] {1, IGNORE, 2}, rows), IGNORE,
                    losses, null, 1f, lossSum);
            assertClose("losses", CPU.downloadFloats(losses), HostMemory.toFloats(hl, rows), 1e-6, 0);
            assertClose("lossSum", CPU.downloadFloats(lossSum), HostMemory.toFloats(hs, 1), 1e-6, 0);
        }
    }
}
