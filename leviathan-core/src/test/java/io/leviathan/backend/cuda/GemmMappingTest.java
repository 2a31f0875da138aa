package io.leviathan.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The row-major to column-major GEMM mapping, executed exactly as cuBLAS would execute its arguments: a
 * small column-major {@code gemmStridedBatched} in Java reads the operands through {@link GemmMapping}'s
 * transposes, sizes, leading dimensions and strides, and must reproduce the CPU backend's row-major
 * {@code matmul} on random data for every transpose combination, rank 2 and rank 3, broadcast operands and
 * odd, non-square shapes.
 */
class GemmMappingTest {
    private static Backend cpu;

    @BeforeAll
    static void open() {
        cpu = Backends.cpu(1);
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    /**
     * cuBLAS's {@code cublasGemmStridedBatchedEx} semantics on column-major arrays: for each batch {@code t},
     * {@code C_t = alpha op(A_t) op(B_t) + beta C_t} with {@code op(A)} {@code m x k}, element {@code (i, l)} of
     * {@code A} at {@code i + l * lda}; {@code beta = 0} reads nothing of {@code C}.
     */
    static void columnMajorGemm(boolean transa, boolean transb, int m, int n, int k, float alpha,
                                float[] a, int lda, long strideA, float[] b, int ldb, long strideB,
                                float beta, float[] c, int ldc, long strideC, int batch) {
        assertTrue(lda >= Math.max(1, transa ? k : m), "lda " + lda + " too small for cuBLAS");
        assertTrue(ldb >= Math.max(1, transb ? n : k), "ldb " + ldb + " too small for cuBLAS");
        assertTrue(ldc >= Math.max(1, m), "ldc " + ldc + " too small for cuBLAS");
        for (int t = 0; t < batch; t++) {
            long ao = t * strideA, bo = t * strideB, co = t * strideC;
            for (int j = 0; j < n; j++) {
                for (int i = 0; i < m; i++) {
                    double acc = 0;
                    for (int l = 0; l < k; l++) {
                        double av = transa ? a[(int) (ao + l + (long) i * lda)] : a[(int) (ao + i + (long) l * lda)];
                        double bv = transb ? b[(int) (bo + j + (long) l * ldb)] : b[(int) (bo + l + (long) j * ldb)];
                        acc += av * bv;
                    }
                    int ci = (int) (co + i + (long) j * ldc);
                    c[ci] = (float) (alpha * acc + (beta == 0 ? 0 : beta * c[ci]));
                }
            }
        }
    }

    @Test
    void mappingReproducesRowMajorMatmul() {
        SplittableRandom rng = new SplittableRandom(20260);
        int[][] mnk = {{1, 1, 1}, {7, 5, 3}, {17, 33, 9}, {3, 130, 7}, {33, 1, 17}};
        int cases = 0;
        for (int[] s : mnk) {
            int m = s[0], n = s[1], k = s[2];
            for (int mode = 0; mode < 5; mode++) { // 0: rank 2; 1: both rank 3; 2: a broadcast; 3: b broadcast
                boolean rank3 = mode > 0;
                boolean aBatched = mode == 1 || mode == 3;
                boolean bBatched = mode == 1 || mode == 2;
                if (mode == 4) {
                    rank3 = false; // rank 2 with alpha and beta not 1 and 0
                }
                int batch = rank3 ? 3 : 1;
                for (boolean transA : new boolean[] {false, true}) {
                    for (boolean transB : new boolean[] {false, true}) {
                        float alpha = mode == 4 ? -0.75f : 1f, beta = mode == 4 ? 0.5f : 0f;
                        check(rng, batch, rank3, aBatched, bBatched, transA, transB, m, n, k, alpha, beta);
                        cases++;
                    }
                }
            }
        }
        assertEquals(5 * 5 * 4, cases);
    }

    private void check(SplittableRandom rng, int batch, boolean rank3, boolean aBatched, boolean bBatched,
                       boolean transA, boolean transB, int m, int n, int k, float alpha, float beta) {
        long[] aMat = transA ? new long[] {k, m} : new long[] {m, k};
        long[] bMat = transB ? new long[] {n, k} : new long[] {k, n};
        long[] aShape = rank3 && aBatched ? new long[] {batch, aMat[0], aMat[1]} : aMat;
        long[] bShape = rank3 && bBatched ? new long[] {batch, bMat[0], bMat[1]} : bMat;
        long[] cShape = rank3 ? new long[] {batch, m, n} : new long[] {m, n};
        float[] a = random(rng, (int) numel(aShape));
        float[] b = random(rng, (int) numel(bShape));
        float[] c0 = random(rng, (int) numel(cShape));

        float[] expected;
        try (TensorArena arena = cpu.newArena()) {
            Tensor at = arena.allocate(io.leviathan.tensor.DType.F32, aShape);
            Tensor bt = arena.allocate(io.leviathan.tensor.DType.F32, bShape);
            Tensor ct = arena.allocate(io.leviathan.tensor.DType.F32, cShape);
            cpu.upload(a, at);
            cpu.upload(b, bt);
            cpu.upload(c0, ct);
            cpu.matmul(at, transA, bt, transB, ct, alpha, beta);
            expected = cpu.downloadFloats(ct);
        }

        GemmMapping g = GemmMapping.of(aShape, transA, bShape, transB, cShape);
        assertTrue(g.swapped(), "cuBLAS's first operand is the Backend's b");
        assertEquals(rank3 ? batch : 1, g.batch());
        float[] first = g.swapped() ? b : a, second = g.swapped() ? a : b;
        float[] c = c0.clone();
        columnMajorGemm(g.transa(), g.transb(), g.m(), g.n(), g.k(), alpha, first, g.lda(), g.strideA(),
                second, g.ldb(), g.strideB(), beta, c, g.ldc(), g.strideC(), g.batch());

        String what = "a" + Arrays.toString(aShape) + (transA ? "^T" : "") + " b" + Arrays.toString(bShape)
                + (transB ? "^T" : "") + " alpha=" + alpha + " beta=" + beta;
        double maxAbs = 0;
        for (float e : expected) {
            maxAbs = Math.max(maxAbs, Math.abs(e));
        }
        for (int i = 0; i < c.length; i++) {
            assertTrue(Math.abs(c[i] - expected[i]) <= 1e-5 * maxAbs + 1e-6,
                    what + ": element " + i + " is " + c[i] + ", the CPU backend gives " + expected[i]);
        }
    }

    @Test
    void broadcastOperandHasStrideZeroAndLeadingDimensionsAreStoredRowStrides() {
        // a [4, 6, 5] (batched), b [5, 7] broadcast, no transposes: cuBLAS computes C^T = B^T A^T
        GemmMapping g = GemmMapping.of(new long[] {4, 6, 5}, false, new long[] {5, 7}, false, new long[] {4, 6, 7});
        assertEquals(new GemmMapping(false, false, 7, 6, 5, 7, 5, 7, 0, 30, 42, 4, true), g);
        // a^T with a [5, 6], b^T with b [7, 5]: the flags stay with their operands
        GemmMapping t = GemmMapping.of(new long[] {5, 6}, true, new long[] {7, 5}, true, new long[] {6, 7});
        assertEquals(new GemmMapping(true, true, 7, 6, 5, 5, 6, 7, 0, 0, 42, 1, true), t);
    }

    private static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextDouble(-1, 1);
        }
        return x;
    }
}
