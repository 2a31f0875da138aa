package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuEmbeddingTest {

    /** out[i, :] = table[ids[i], :] in double. */
    static double[] reference(int[] ids, double[] table, int D) {
        double[] out = new double[ids.length * D];
        for (int i = 0; i < ids.length; i++) {
            System.arraycopy(table, ids[i] * D, out, i * D, D);
        }
        return out;
    }

    private static long[] withLast(long[] shape, long last) {
        long[] s = Arrays.copyOf(shape, shape.length + 1);
        s[shape.length] = last;
        return s;
    }

    @Test
    void forwardGathersRows() {
        long[][] idShapes = {{1}, {7}, {2, 5}, {3, 2, 4}};
        for (long[] idShape : idShapes) {
            for (int D : new int[] {1, 5, 16, 24, 37}) {
                int V = 11, n = (int) Arrays.stream(idShape).reduce(1, (a, b) -> a * b);
                int[] ids = TestData.ints(D + n, n, V);
                float[] table = TestData.normal(D, V * D, 1.0);
                try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
                    Tensor out = arena.of(TestData.uniform(3, n * D, 9.0), withLast(idShape, D));
                    be.embedding(arena.ofInts(ids, idShape), arena.of(table, V, D), out);
                    Approx.assertClose("embedding ids" + Arrays.toString(idShape) + " D=" + D,
                            reference(ids, TestData.toDouble(table), D), out.toFloatArray(), 0, 0);
                }
            }
        }
    }

    @Test
    void backwardMatchesFiniteDifferencesAndAccumulates() {
        for (int D : new int[] {5, 16, 24, 37}) {
            int V = 6, n = 12; // more positions than rows: ids repeat
            long[] idShape = {3, 4};
            int[] ids = TestData.ints(40 + D, n, V);
            float[] table = TestData.normal(41, V * D, 1.0), r = TestData.uniform(42, n * D, 1.0);
            float[] g0 = TestData.uniform(43, V * D, 0.5);
            double[] num = GradCheck.numeric(t -> reference(ids, t, D), TestData.toDouble(table), TestData.toDouble(r));
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
                Tensor dTable = arena.of(g0, V, D);
                be.embeddingBackward(arena.of(r, withLast(idShape, D)), arena.ofInts(ids, idShape), dTable);
                Approx.assertClose("embeddingBackward D=" + D, CpuAttentionTest.plus(g0, num), dTable.toFloatArray(),
                        1e-4, 1e-6);
            }
        }
    }

    @Test
    void repeatedIdsAccumulate() {
        int V = 3, D = 40, n = 2000; // every row hit by ~670 positions; 3 column blocks of 16 split between workers
        int[] ids = TestData.ints(50, n, V);
        float[] dOut = TestData.uniform(51, n * D, 1.0);
        double[] expected = new double[V * D];
        Arrays.fill(expected, 2.0);
        for (int i = 0; i < n; i++) {
            for (int d = 0; d < D; d++) {
                expected[ids[i] * D + d] += dOut[i * D + d];
            }
        }
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor dTable = arena.allocate(DType.F32, V, D).fill(2f);
            be.embeddingBackward(arena.of(dOut, n, D), arena.ofInts(ids, n), dTable);
            Approx.assertClose("repeated ids", expected, dTable.toFloatArray(), 1e-5, 0);
            // every position the same id
            Tensor dRow = arena.allocate(DType.F32, 2, 3);
            be.embeddingBackward(arena.of(new float[] {1, 2, 3, 10, 20, 30, 100, 200, 300}, 3, 3),
                    arena.ofInts(new int[] {1, 1, 1}, 3), dRow);
            assertArrayEquals(new float[] {0, 0, 0, 111, 222, 333}, dRow.toFloatArray());
        }
    }

    @Test
    void oneAndTwoThreadsAgree() {
        int V = 50, D = 70, n = 600;
        int[] ids = TestData.ints(60, n, V);
        float[][] results = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor table = arena.of(TestData.normal(61, V * D, 1.0), V, D);
                Tensor out = arena.allocate(DType.F32, n, D), dTable = arena.allocate(DType.F32, V, D);
                be.embedding(arena.ofInts(ids, n), table, out);
                be.embeddingBackward(arena.of(TestData.uniform(62, n * D, 1.0), n, D), arena.ofInts(ids, n), dTable);
                float[] o = out.toFloatArray(), g = dTable.toFloatArray();
                results[threads - 1] = Arrays.copyOf(o, o.length + g.length);
                System.arraycopy(g, 0, results[threads - 1], o.length, g.length);
            }
        }
        assertArrayEquals(results[0], results[1]);
    }

    @Test
    void outOfRangeIdNamesIdPositionAndVocabulary() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor table = arena.allocate(DType.F32, 11, 4), out = arena.allocate(DType.F32, 2, 3, 4);
            Tensor tooBig = arena.ofInts(new int[] {0, 1, 2, 3, 11, 5}, 2, 3);
            var e = assertThrows(IllegalArgumentException.class, () -> be.embedding(tooBig, table, out));
            assertTrue(e.getMessage().contains("id 11") && e.getMessage().contains("position 4")
                    && e.getMessage().contains("11)"), e.getMessage());
            Tensor negative = arena.ofInts(new int[] {0, 1, -3, 3, 4, 5}, 2, 3);
            e = assertThrows(IllegalArgumentException.class, () -> be.embedding(negative, table, out));
            assertTrue(e.getMessage().contains("id -3") && e.getMessage().contains("position 2"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> be.embeddingBackward(out, negative, table));
            assertTrue(e.getMessage().contains("embeddingBackward") && e.getMessage().contains("id -3"), e.getMessage());
        }
    }

    @Test
    void shapeAndDtypeMismatches() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor ids = arena.ofInts(new int[] {0, 1, 2, 3, 4, 5}, 2, 3);
            Tensor table = arena.allocate(DType.F32, 11, 4);
            Tensor badOut = arena.allocate(DType.F32, 6, 4);
            var e = assertThrows(ShapeMismatchException.class, () -> be.embedding(ids, table, badOut));
            assertTrue(e.getMessage().contains("[2, 3, 4]") && e.getMessage().contains("[6, 4]")
                    && e.getMessage().contains("[11, 4]"), e.getMessage());
            Tensor flatTable = arena.allocate(DType.F32, 44);
            e = assertThrows(ShapeMismatchException.class, () -> be.embedding(ids, flatTable, badOut));
            assertTrue(e.getMessage().contains("[44]"), e.getMessage());
            Tensor dOut = arena.allocate(DType.F32, 2, 3, 5);
            e = assertThrows(ShapeMismatchException.class, () -> be.embeddingBackward(dOut, ids, table));
            assertTrue(e.getMessage().contains("embeddingBackward") && e.getMessage().contains("[2, 3, 5]"),
                    e.getMessage());
            Tensor floatIds = arena.allocate(DType.F32, 2, 3);
            assertThrows(IllegalArgumentException.class,
                    () -> be.embedding(floatIds, table, arena.allocate(DType.F32, 2, 3, 4)));
        }
    }

    @Test
    void closedArenaThrows() {
        try (CpuBackend be = new CpuBackend(2)) {
            TensorArena arena = new TensorArena();
            Tensor ids = arena.ofInts(new int[] {0, 1}, 2);
            Tensor table = arena.allocate(DType.F32, 3, 4), out = arena.allocate(DType.F32, 2, 4);
            arena.close();
            assertThrows(TensorClosedException.class, () -> be.embedding(ids, table, out));
            assertThrows(TensorClosedException.class, () -> be.embeddingBackward(out, ids, table));
        }
    }
}
