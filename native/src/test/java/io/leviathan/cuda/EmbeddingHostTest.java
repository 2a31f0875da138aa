package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertSameBits;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.leviathan.backend.KernelDataException;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Embedding gather and scatter-add against the CPU backend. Both sum a row's gradients in position order,
 * so repeated ids give the same bits.
 */
class EmbeddingHostTest {

    @ParameterizedTest
    @CsvSource({"1, 1, 1", "7, 5, 3", "64, 11, 33", "300, 50, 96", "1000, 7, 130"})
    void gatherAndScatterAdd(int count, int vocab, int dim) {
        Random rnd = new Random(count * 131L + vocab * 7L + dim);
        int[] ids = rnd.ints(count, 0, vocab).toArray(); // few ids: many repeats
        float[] table = gaussian(rnd, vocab * dim, 1f), g = gaussian(rnd, count * dim, 1f);
        float[] dt0 = gaussian(rnd, vocab * dim, 0.1f);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tids = arena.ofInts(ids, count), tt = arena.of(table, vocab, dim);
            Tensor out = arena.allocate(DType.F32, count, dim);
            CPU.embedding(tids, tt, out);
            MemorySegment sids = mem.ints(ids), ho = mem.floats(new float[count * dim]), err = mem.ints(new int[4]);
            assertEquals(0, HostKernels.call(HostKernels.EMBEDDING_FORWARD, sids, mem.floats(table), ho,
                    (long) count, (long) vocab, (long) dim, err));
            assertSameBits("embedding", CPU.downloadFloats(out), HostMemory.toFloats(ho, count * dim));

            Tensor tdt = arena.of(dt0, vocab, dim);
            CPU.embeddingBackward(arena.of(g, count, dim), tids, tdt);
            float[] expected = CPU.downloadFloats(tdt);
            for (int deterministic = 0; deterministic <= 1; deterministic++) {
                MemorySegment hdt = mem.floats(dt0);
                assertEquals(0, HostKernels.call(HostKernels.EMBEDDING_BACKWARD, mem.floats(g), sids, hdt,
                        (long) count, (long) vocab, (long) dim, deterministic, MemorySegment.NULL, 0L, err));
                assertSameBits("embeddingBackward (deterministic " + deterministic + ")", expected,
                        HostMemory.toFloats(hdt, vocab * dim));
            }
            assertArrayEquals(new int[4], HostMemory.toInts(err, 4), "no error recorded");
        }
    }

    /** The CPU backend throws for an id outside [0, V); the kernels record it and zero (or skip) its row. */
    @Test
    void badIdsAreRecordedNotRead() {
        int vocab = 5, dim = 3;
        int[] ids = {1, 7, 2, -1, 4};
        float[] table = gaussian(new Random(3), vocab * dim, 1f);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            assertThrows(KernelDataException.class,
                    () -> CPU.embedding(arena.ofInts(ids, ids.length), arena.of(table, vocab, dim),
                            arena.allocate(DType.F32, ids.length, dim)));

            MemorySegment ho = mem.floats(new float[ids.length * dim]), err = mem.ints(new int[4]);
            assertEquals(0, HostKernels.call(HostKernels.EMBEDDING_FORWARD, mem.ints(ids), mem.floats(table), ho,
                    (long) ids.length, (long) vocab, (long) dim, err));
            assertArrayEquals(new int[] {2, 1, 1, 7}, HostMemory.toInts(err, 4), "count, LV_OP_EMBEDDING, position, id");
            float[] out = HostMemory.toFloats(ho, ids.length * dim);
            assertArrayEquals(new float[dim], Arrays.copyOfRange(out, dim, 2 * dim), "the bad id's row is zero");
            assertArrayEquals(Arrays.copyOfRange(table, 4 * dim, 5 * dim), Arrays.copyOfRange(out, 4 * dim, 5 * dim));

            float[] g = gaussian(new Random(4), ids.length * dim, 1f);
            MemorySegment hdt = mem.floats(new float[vocab * dim]), err2 = mem.ints(new int[4]);
            assertEquals(0, HostKernels.call(HostKernels.EMBEDDING_BACKWARD, mem.floats(g), mem.ints(ids), hdt,
                    (long) ids.length, (long) vocab, (long) dim, 1, MemorySegment.NULL, 0L, err2));
            assertArrayEquals(new int[] {2, 2, 1, 7}, HostMemory.toInts(err2, 4),
                    "count, LV_OP_EMBEDDING_BACKWARD, position, id");
            float[] dt = HostMemory.toFloats(hdt, vocab * dim);
            assertArrayEquals(Arrays.copyOfRange(g, 0, dim), Arrays.copyOfRange(dt, dim, 2 * dim), "row 1 got position 0");
        }
    }
}
