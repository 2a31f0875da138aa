package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link CpuGemm} against a double-precision triple loop, its backward against finite differences; BF16
 * operands against the same product of F32 copies of their values.
 */
@ExtendWith(NativeMemoryCheck.class)
class CpuGemmTest {
    private static final double RTOL = 1e-5;
    private static final double ATOL = 1e-6;

    private static Parallel one;
    private static Parallel two;
    private static Parallel three;
    private TensorArena arena;

    @BeforeAll
    static void pools() {
        one = new Parallel(1);
        two = new Parallel(2);
        three = new Parallel(3);
    }

    @AfterAll
    static void closePools() {
        one.close();
        two.close();
        three.close();
    }

    @BeforeEach
    void open() {
        arena = new TensorArena();
    }

    @AfterEach
    void close() {
        arena.close();
    }

    private static Parallel pool(int threads) {
        return switch (threads) {
            case 1 -> one;
            case 2 -> two;
            case 3 -> three;
            default -> throw new IllegalArgumentException("no pool of " + threads + " threads");
        };
    }

    /** M x K x N shapes: tiny (the simple path), tile edges, several K/M/N blocks, and large-ish. */
    static final int[][] SHAPES = {
        {1, 1, 1}, {2, 3, 4}, {16, 16, 16}, {17, 16, 16}, {12, 512, 32}, {13, 31, 33}, {17, 33, 65},
        {1, 300, 70}, {70, 300, 1}, {5, 1000, 3}, {24, 64, 64}, {100, 7, 100}, {47, 1100, 95},
        {2100, 20, 40}, {20, 30, 1100}, {300, 257, 513},
        // A weight gradient's shape in small: tall k over several K blocks, few rows with a ragged last
        // micro-panel (the transposed-A k-major packing's masked edge).
        {61, 1100, 40},
        // Every blocking level at once: several A blocks (M > MC), K blocks (K > KC) and B blocks (N > NC), so
        // each C tile is first written under beta and then accumulated, across blocks visited in any order.
        {2 * CpuGemm.MC + 5, CpuGemm.KC + 18, CpuGemm.NC + 33},
    };

    static Stream<Arguments> shapesTransThreads() {
        List<Arguments> out = new ArrayList<>();
        for (int[] s : SHAPES) {
            for (int t = 0; t < 4; t++) {
                for (int threads = 1; threads <= 2; threads++) {
                    out.add(Arguments.of(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, threads));
                }
            }
        }
        return out.stream();
    }

    private static long seed(int m, int k, int n, boolean ta, boolean tb) {
        return 1000003L * m + 7919L * k + 31L * n + (ta ? 2 : 0) + (tb ? 1 : 0);
    }

    private Tensor f32(float[] data, long... shape) {
        return arena.of(data, shape);
    }

    @ParameterizedTest(name = "{0}x{1}x{2} transA={3} transB={4} threads={5}")
    @MethodSource("shapesTransThreads")
    void matchesReference(int m, int k, int n, boolean ta, boolean tb, int threads) {
        long seed = seed(m, k, n, ta, tb);
        float[] a = TestData.uniform(seed, m * k, 1);
        float[] b = TestData.uniform(seed + 1, k * n, 1);
        float[] c0 = TestData.uniform(seed + 2, m * n, 1);
        Tensor at = ta ? f32(a, k, m) : f32(a, m, k);
        Tensor bt = tb ? f32(b, n, k) : f32(b, k, n);

        // Plain product: alpha 1, beta 0 over random old contents of C.
        Tensor c = f32(c0, m, n);
        CpuGemm.matmul(pool(threads), at, ta, bt, tb, c, 1f, 0f);
        double[] want = NaiveGemm.gemm(ta, tb, m, n, k, 1, TestData.toDouble(a), 0, TestData.toDouble(b), 0,
                0, null, 0);
        Approx.assertClose("alpha=1 beta=0", want, c.toFloatArray(), RTOL, ATOL);

        // General alpha and beta.
        c.copyFrom(c0);
        CpuGemm.matmul(pool(threads), at, ta, bt, tb, c, -0.75f, 0.5f);
        want = NaiveGemm.gemm(ta, tb, m, n, k, -0.75, TestData.toDouble(a), 0, TestData.toDouble(b), 0,
                0.5, TestData.toDouble(c0), 0);
        Approx.assertClose("alpha=-0.75 beta=0.5", want, c.toFloatArray(), RTOL, ATOL);

        // beta = 1 accumulates (the backward passes' gradient accumulation).
        c.copyFrom(c0);
        CpuGemm.matmul(pool(threads), at, ta, bt, tb, c, 2f, 1f);
        want = NaiveGemm.gemm(ta, tb, m, n, k, 2, TestData.toDouble(a), 0, TestData.toDouble(b), 0,
                1, TestData.toDouble(c0), 0);
        Approx.assertClose("alpha=2 beta=1", want, c.toFloatArray(), RTOL, ATOL);
    }

    @ParameterizedTest(name = "{0}x{1}x{2} transA={3} transB={4} threads={5}")
    @MethodSource("shapesTransThreads")
    void betaZeroIgnoresNaN(int m, int k, int n, boolean ta, boolean tb, int threads) {
        if (m * k * n > 1_000_000) {
            return; // the large shapes are covered by matchesReference; this is about the merge
        }
        long seed = seed(m, k, n, ta, tb) + 5;
        float[] a = TestData.normal(seed, m * k, 1);
        float[] b = TestData.normal(seed + 1, k * n, 1);
        Tensor c = arena.allocate(DType.F32, m, n).fill(Float.NaN);
        CpuGemm.matmul(pool(threads), ta ? f32(a, k, m) : f32(a, m, k), ta, tb ? f32(b, n, k) : f32(b, k, n), tb,
                c, 1.5f, 0f);
        double[] want = NaiveGemm.gemm(ta, tb, m, n, k, 1.5, TestData.toDouble(a), 0, TestData.toDouble(b), 0,
                0, null, 0);
        Approx.assertClose("beta=0 over NaN", want, c.toFloatArray(), RTOL, ATOL);
    }

    @Test
    void simpleControlPathMatchesBlockedPath() {
        int m = 37, k = 45, n = 53;
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0;
            boolean tb = (t & 2) != 0;
            float[] a = TestData.uniform(11 + t, m * k, 1);
            float[] b = TestData.uniform(12 + t, k * n, 1);
            float[] c0 = TestData.uniform(13 + t, m * n, 1);
            Tensor at = f32(a, ta ? k : m, ta ? m : k);
            Tensor bt = f32(b, tb ? n : k, tb ? k : n);
            Tensor blocked = f32(c0, m, n);
            Tensor simple = f32(c0, m, n);
            CpuGemm.sgemm(one, ta, tb, m, n, k, 0.5f, at.segment(), 0, (int) at.size(1), bt.segment(), 0,
                    (int) bt.size(1), 0.25f, blocked.segment(), 0, n);
            CpuGemm.sgemmSimple(ta, tb, m, n, k, 0.5f, at.segment(), 0, (int) at.size(1), bt.segment(), 0,
                    (int) bt.size(1), 0.25f, simple.segment(), 0, n);
            Approx.assertClose("blocked vs simple, trans " + t, simple.toFloatArray(), blocked.toFloatArray(),
                    RTOL, ATOL);
        }
    }

    static Stream<Arguments> threadsAndTypes() {
        List<Arguments> out = new ArrayList<>();
        for (int threads = 1; threads <= 2; threads++) {
            for (DType[] types : OPERAND_TYPES) {
                out.add(Arguments.of(threads, types[0], types[1]));
            }
        }
        return out.stream();
    }

    /**
     * Leading dimensions larger than the matrices: sub-matrices of bigger row-major buffers. Offsets are odd
     * element counts, so BF16 rows start at addresses that are not 4-byte aligned.
     */
    @ParameterizedTest(name = "threads={0} a={1} b={2}")
    @MethodSource("threadsAndTypes")
    void rawSgemmWithLeadingDimensionsAndOffsets(int threads, DType aType, DType bType) {
        int m = 45, k = 70, n = 50;
        int lda = 83, ldb = 61, ldc = 64; // row strides of the enclosing buffers
        for (int t = 0; t < 4; t++) {
            boolean ta = (t & 1) != 0;
            boolean tb = (t & 2) != 0;
            int aRows = ta ? k : m;
            int aCols = ta ? m : k;
            int bRows = tb ? n : k;
            int bCols = tb ? k : n;
            int aLd = Math.max(lda, aCols);
            int bLd = Math.max(ldb, bCols);
            float[] aBuf = representable(aType, TestData.uniform(40 + t, 3 + aRows * aLd, 1));
            float[] bBuf = representable(bType, TestData.uniform(50 + t, 5 + bRows * bLd, 1));
            float[] cBuf = TestData.uniform(60 + t, 7 + m * ldc, 1);
            Tensor as = tensor(aType, aBuf, aBuf.length);
            Tensor bs = tensor(bType, bBuf, bBuf.length);
            Tensor cs = f32(cBuf, cBuf.length);
            if (aType == DType.F32 && bType == DType.F32) {
                CpuGemm.sgemm(pool(threads), ta, tb, m, n, k, 1.25f, as.segment(), 3, aLd, bs.segment(), 5, bLd,
                        -0.5f, cs.segment(), 7, ldc);
            } else {
                CpuGemm.gemm(pool(threads), ta, tb, m, n, k, 1.25f, as.segment(), aType, 3, aLd,
                        bs.segment(), bType, 5, bLd, -0.5f, cs.segment(), 7, ldc);
            }
            // Reference on compacted copies.
            double[] a = new double[m * k];
            double[] b = new double[k * n];
            for (int r = 0; r < aRows; r++) {
                for (int q = 0; q < aCols; q++) {
                    a[r * aCols + q] = aBuf[3 + r * aLd + q];
                }
            }
            for (int r = 0; r < bRows; r++) {
                for (int q = 0; q < bCols; q++) {
                    b[r * bCols + q] = bBuf[5 + r * bLd + q];
                }
            }
            double[] c = new double[m * n];
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    c[i * n + j] = cBuf[7 + i * ldc + j];
                }
            }
            double[] want = NaiveGemm.gemm(ta, tb, m, n, k, 1.25, a, 0, b, 0, -0.5, c, 0);
            float[] got = cs.toFloatArray();
            float[] gotC = new float[m * n];
            for (int i = 0; i < m; i++) {
                System.arraycopy(got, 7 + i * ldc, gotC, i * n, n);
                // Columns between n and ldc, and the leading offset, must be untouched.
                for (int j = n; j < ldc && 7 + i * ldc + j < got.length; j++) {
                    assertEquals(cBuf[7 + i * ldc + j], got[7 + i * ldc + j], "padding at row " + i + " col " + j);
                }
            }
            assertEquals(cBuf[0], got[0]);
            Approx.assertClose("leading dims, trans " + t + " a " + aType + " b " + bType, want, gotC, RTOL, ATOL);
        }
    }

    static Stream<Integer> threadCounts() {
        return Stream.of(1, 2);
    }

    // ------------------------------------------------------------------------------------------ K = 0

    @Test
    void emptyInnerDimensionScalesC() {
        float[] c0 = TestData.uniform(3, 6, 1);
        Tensor a = arena.allocate(DType.F32, 2, 0);
        Tensor b = arena.allocate(DType.F32, 0, 3);
        Tensor c = f32(c0, 2, 3);
        CpuGemm.matmul(one, a, false, b, false, c, 1f, 0.5f);
        double[] half = new double[6];
        for (int i = 0; i < 6; i++) {
            half[i] = 0.5 * c0[i];
        }
        Approx.assertClose("K=0 beta=0.5", half, c.toFloatArray(), 0, 0);
        c.fill(Float.NaN);
        CpuGemm.matmul(one, a, false, b, false, c, 1f, 0f);
        Approx.assertClose("K=0 beta=0", new double[6], c.toFloatArray(), 0, 0);
    }

    @Test
    void emptyOutputIsANoOp() {
        Tensor a = arena.allocate(DType.F32, 0, 4);
        Tensor b = arena.allocate(DType.F32, 4, 3);
        Tensor c = arena.allocate(DType.F32, 0, 3);
        CpuGemm.matmul(two, a, false, b, false, c, 1f, 0f);
        assertEquals(0, c.numel());
    }

    // ------------------------------------------------------------------------------------------ batched

    static Stream<Arguments> batchedCases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{3, 5, 7, 6}, {2, 40, 70, 50}, {5, 17, 33, 65}, {4, 100, 64, 96}};
        for (int[] s : shapes) {
            for (int mode = 0; mode < 3; mode++) { // 0: both batched, 1: b shared, 2: a shared
                for (int t = 0; t < 4; t++) {
                    for (int threads = 1; threads <= 2; threads++) {
                        out.add(Arguments.of(s[0], s[1], s[2], s[3], mode, (t & 1) != 0, (t & 2) != 0, threads));
                    }
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "B={0} {1}x{2}x{3} mode={4} transA={5} transB={6} threads={7}")
    @MethodSource("batchedCases")
    void batchedAndBroadcast(int batch, int m, int k, int n, int mode, boolean ta, boolean tb, int threads) {
        boolean aBatched = mode != 2;
        boolean bBatched = mode != 1;
        long seed = 77L * batch + seed(m, k, n, ta, tb) + mode;
        float[] a = TestData.uniform(seed, (aBatched ? batch : 1) * m * k, 1);
        float[] b = TestData.uniform(seed + 1, (bBatched ? batch : 1) * k * n, 1);
        float[] c0 = TestData.uniform(seed + 2, batch * m * n, 1);
        long[] aShape = ta ? new long[] {k, m} : new long[] {m, k};
        long[] bShape = tb ? new long[] {n, k} : new long[] {k, n};
        Tensor at = f32(a, aBatched ? prepend(batch, aShape) : aShape);
        Tensor bt = f32(b, bBatched ? prepend(batch, bShape) : bShape);
        Tensor c = f32(c0, batch, m, n);
        CpuGemm.matmul(pool(threads), at, ta, bt, tb, c, 0.5f, -1f);
        double[] want = NaiveGemm.batched(batch, aBatched, bBatched, ta, tb, m, n, k, 0.5,
                TestData.toDouble(a), TestData.toDouble(b), -1, TestData.toDouble(c0));
        Approx.assertClose("batched", want, c.toFloatArray(), RTOL, ATOL);
    }

    private static long[] prepend(long first, long[] rest) {
        long[] s = new long[rest.length + 1];
        s[0] = first;
        System.arraycopy(rest, 0, s, 1, rest.length);
        return s;
    }

    // ------------------------------------------------------------------------------------------ backward

    /**
     * A linear layer {@code y = x · W^T} ({@code x [M, K]}, {@code W [N, K]}): the Backend javadoc's
     * backward {@code dx += dy · W} and {@code dW += dy^T · x}, against finite differences of the double
     * reference forward. The gradients start non-zero to check that they accumulate.
     */
    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threadCounts")
    void linearBackwardMatchesFiniteDifferences(int threads) {
        int m = 20, k = 30, n = 40; // 24000 FMAs: the blocked path
        float[] x = TestData.uniform(101, m * k, 1);
        float[] w = TestData.uniform(102, n * k, 1);
        float[] r = TestData.uniform(103, m * n, 1); // dy
        float[] dx0 = TestData.uniform(104, m * k, 1);
        float[] dw0 = TestData.uniform(105, n * k, 1);
        double[] xd = TestData.toDouble(x);
        double[] wd = TestData.toDouble(w);
        double[] rd = TestData.toDouble(r);

        Tensor dy = f32(r, m, n);
        Tensor xt = f32(x, m, k);
        Tensor wt = f32(w, n, k);
        Tensor dx = f32(dx0, m, k);
        Tensor dw = f32(dw0, n, k);
        CpuGemm.matmul(pool(threads), dy, false, wt, false, dx, 1f, 1f);
        CpuGemm.matmul(pool(threads), dy, true, xt, false, dw, 1f, 1f);

        double[] gx = GradCheck.numeric(xs -> NaiveGemm.gemm(false, true, m, n, k, 1, xs, 0, wd, 0, 0, null, 0), xd, rd);
        double[] gw = GradCheck.numeric(ws -> NaiveGemm.gemm(false, true, m, n, k, 1, xd, 0, ws, 0, 0, null, 0), wd, rd);
        Approx.assertClose("dx", plus(gx, dx0), dx.toFloatArray(), 1e-5, 1e-5);
        Approx.assertClose("dW", plus(gw, dw0), dw.toFloatArray(), 1e-5, 1e-5);
    }

    /** {@code y = a · b}: {@code da = dy · b^T}, {@code db = a^T · dy}, batched with b shared. */
    @ParameterizedTest(name = "threads={0}")
    @MethodSource("threadCounts")
    void batchedBackwardMatchesFiniteDifferences(int threads) {
        int batch = 3, m = 9, k = 25, n = 31;
        float[] a = TestData.uniform(201, batch * m * k, 1);
        float[] b = TestData.uniform(202, k * n, 1);
        float[] r = TestData.uniform(203, batch * m * n, 1);
        double[] ad = TestData.toDouble(a);
        double[] bd = TestData.toDouble(b);
        double[] rd = TestData.toDouble(r);

        Tensor dy = f32(r, batch, m, n);
        Tensor at = f32(a, batch, m, k);
        Tensor bt = f32(b, k, n);
        Tensor da = arena.allocate(DType.F32, batch, m, k);
        Tensor db = arena.allocate(DType.F32, k, n);
        CpuGemm.matmul(pool(threads), dy, false, bt, true, da, 1f, 1f);
        // The shared b's gradient sums over the batch: one [batch*m, k]^T · [batch*m, n] product.
        CpuGemm.matmul(pool(threads), at.reshape(batch * m, k), true, dy.reshape(batch * m, n), false, db, 1f, 1f);

        double[] ga = GradCheck.numeric(as -> NaiveGemm.batched(batch, true, false, false, false, m, n, k, 1,
                as, bd, 0, null), ad, rd);
        double[] gb = GradCheck.numeric(bs -> NaiveGemm.batched(batch, true, false, false, false, m, n, k, 1,
                ad, bs, 0, null), bd, rd);
        Approx.assertClose("da", ga, da.toFloatArray(), 1e-5, 1e-5);
        Approx.assertClose("db", gb, db.toFloatArray(), 1e-5, 1e-5);
    }

    private static double[] plus(double[] g, float[] base) {
        double[] out = g.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] += base[i];
        }
        return out;
    }

    // ------------------------------------------------------------------------------------------ BF16 operands

    /** The mixed and BF16 operand types: {a, b}. (F32 x F32 is everything above.) */
    static final DType[][] BF16_TYPES = {
        {DType.BF16, DType.F32}, {DType.F32, DType.BF16}, {DType.BF16, DType.BF16},
    };
    static final DType[][] OPERAND_TYPES = {
        {DType.F32, DType.F32}, {DType.BF16, DType.F32}, {DType.F32, DType.BF16}, {DType.BF16, DType.BF16},
    };

    /**
     * M x K x N shapes for BF16 operands: dimensions that are not multiples of the micro-tile (1, 7, 13, 33,
     * 130), the simple path, several K blocks (K > KC), M > MC and N > NC.
     */
    static final int[][] BF16_SHAPES = {
        {1, 1, 1}, {7, 13, 33}, {13, 7, 1}, {1, 130, 7}, {33, 130, 13}, {130, 33, 130}, {7, 1, 130},
        {13, 530, 33}, {130, 1030, 7}, {2350, 13, 33}, {13, 33, 1030},
    };

    static Stream<Arguments> bf16Cases() {
        List<Arguments> out = new ArrayList<>();
        for (int[] s : BF16_SHAPES) {
            for (int t = 0; t < 4; t++) {
                for (DType[] types : BF16_TYPES) {
                    for (int threads = 1; threads <= 2; threads++) {
                        out.add(Arguments.of(s[0], s[1], s[2], (t & 1) != 0, (t & 2) != 0, types[0], types[1], threads));
                    }
                }
            }
        }
        return out.stream();
    }

    /**
     * A BF16 operand must give exactly what an F32 operand holding the same (BF16-rounded) values gives:
     * widening is exact, products of BF16 values are exact in F32, and the F32 accumulation is the same,
     * so the two results are compared bit for bit. Both are also checked against the double-precision
     * product of the rounded values with the F32 tolerance (rtol 1e-5, atol 1e-6: F32 accumulation error
     * over at most ~1000 terms of magnitude at most 1).
     */
    @ParameterizedTest(name = "{0}x{1}x{2} transA={3} transB={4} a={5} b={6} threads={7}")
    @MethodSource("bf16Cases")
    void bf16OperandsMatchF32OfRoundedValues(int m, int k, int n, boolean ta, boolean tb, DType aType, DType bType,
                                              int threads) {
        long seed = seed(m, k, n, ta, tb) + 31L * aType.ordinal() + bType.ordinal();
        float[] a = representable(aType, TestData.uniform(seed, m * k, 1));
        float[] b = representable(bType, TestData.uniform(seed + 1, k * n, 1));
        float[] c0 = TestData.uniform(seed + 2, m * n, 1);
        long[] aShape = ta ? new long[] {k, m} : new long[] {m, k};
        long[] bShape = tb ? new long[] {n, k} : new long[] {k, n};
        Tensor at = tensor(aType, a, aShape);
        Tensor bt = tensor(bType, b, bShape);
        Tensor af = f32(a, aShape);
        Tensor bf = f32(b, bShape);
        assertTrue(Arrays.equals(a, at.toFloatArray()) && Arrays.equals(b, bt.toFloatArray()),
                "test data must be exactly representable in the operand types");

        float[][] ab = {{1f, 0f}, {-0.75f, 0.5f}, {2f, 1f}};
        for (float[] alphaBeta : ab) {
            float alpha = alphaBeta[0];
            float beta = alphaBeta[1];
            String what = "alpha=" + alpha + " beta=" + beta;
            Tensor got = f32(c0, m, n);
            Tensor ref = f32(c0, m, n);
            CpuGemm.matmul(pool(threads), at, ta, bt, tb, got, alpha, beta);
            CpuGemm.matmul(pool(threads), af, ta, bf, tb, ref, alpha, beta);
            assertBitwise(what + " vs F32 operands", ref.toFloatArray(), got.toFloatArray());
            double[] want = NaiveGemm.gemm(ta, tb, m, n, k, alpha, TestData.toDouble(a), 0, TestData.toDouble(b), 0,
                    beta, beta == 0 ? null : TestData.toDouble(c0), 0);
            Approx.assertClose(what + " vs double reference", want, got.toFloatArray(), RTOL, ATOL);
        }
        // beta = 0 ignores NaN in C on the BF16 path too.
        Tensor nan = arena.allocate(DType.F32, m, n).fill(Float.NaN);
        CpuGemm.matmul(pool(threads), at, ta, bt, tb, nan, 1.5f, 0f);
        Approx.assertClose("beta=0 over NaN", NaiveGemm.gemm(ta, tb, m, n, k, 1.5, TestData.toDouble(a), 0,
                TestData.toDouble(b), 0, 0, null, 0), nan.toFloatArray(), RTOL, ATOL);
    }

    static Stream<Arguments> bf16BatchedCases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{3, 7, 13, 33}, {2, 33, 130, 13}, {4, 130, 33, 7}};
        for (int[] s : shapes) {
            for (int mode = 0; mode < 3; mode++) { // 0: both batched, 1: b shared, 2: a shared
                for (int t = 0; t < 4; t++) {
                    for (DType[] types : BF16_TYPES) {
                        for (int threads = 1; threads <= 2; threads++) {
                            out.add(Arguments.of(s[0], s[1], s[2], s[3], mode, (t & 1) != 0, (t & 2) != 0,
                                    types[0], types[1], threads));
                        }
                    }
                }
            }
        }
        return out.stream();
    }

    /** Rank-3 BF16 operands, and a rank-2 one (F32 or BF16) broadcast over the batch. */
    @ParameterizedTest(name = "B={0} {1}x{2}x{3} mode={4} transA={5} transB={6} a={7} b={8} threads={9}")
    @MethodSource("bf16BatchedCases")
    void bf16BatchedAndBroadcast(int batch, int m, int k, int n, int mode, boolean ta, boolean tb,
                                 DType aType, DType bType, int threads) {
        boolean aBatched = mode != 2;
        boolean bBatched = mode != 1;
        long seed = 77L * batch + seed(m, k, n, ta, tb) + mode + 5L * aType.ordinal() + bType.ordinal();
        float[] a = representable(aType, TestData.uniform(seed, (aBatched ? batch : 1) * m * k, 1));
        float[] b = representable(bType, TestData.uniform(seed + 1, (bBatched ? batch : 1) * k * n, 1));
        float[] c0 = TestData.uniform(seed + 2, batch * m * n, 1);
        long[] aShape = ta ? new long[] {k, m} : new long[] {m, k};
        long[] bShape = tb ? new long[] {n, k} : new long[] {k, n};
        if (aBatched) {
            aShape = prepend(batch, aShape);
        }
        if (bBatched) {
            bShape = prepend(batch, bShape);
        }
        Tensor got = f32(c0, batch, m, n);
        Tensor ref = f32(c0, batch, m, n);
        CpuGemm.matmul(pool(threads), tensor(aType, a, aShape), ta, tensor(bType, b, bShape), tb, got, 0.5f, -1f);
        CpuGemm.matmul(pool(threads), f32(a, aShape), ta, f32(b, bShape), tb, ref, 0.5f, -1f);
        assertBitwise("batched vs F32 operands", ref.toFloatArray(), got.toFloatArray());
        double[] want = NaiveGemm.batched(batch, aBatched, bBatched, ta, tb, m, n, k, 0.5,
                TestData.toDouble(a), TestData.toDouble(b), -1, TestData.toDouble(c0));
        Approx.assertClose("batched", want, got.toFloatArray(), RTOL, ATOL);
    }

    /**
     * The packed path against the simple control path on random (non-zero) data, for every operand type
     * and transpose, one K block and several (K = 530 > KC).
     */
    @Test
    void bf16SimpleControlPathMatchesBlockedPath() {
        int[][] shapes = {{37, 45, 53}, {33, 530, 13}};
        for (int[] s : shapes) {
            int m = s[0], k = s[1], n = s[2];
            for (DType[] types : OPERAND_TYPES) {
                for (int t = 0; t < 4; t++) {
                    boolean ta = (t & 1) != 0;
                    boolean tb = (t & 2) != 0;
                    float[] a = TestData.normal(21 + t, m * k, 1);
                    float[] b = TestData.normal(22 + t, k * n, 1);
                    float[] c0 = TestData.uniform(23 + t, m * n, 1);
                    Tensor at = tensor(types[0], a, ta ? k : m, ta ? m : k);
                    Tensor bt = tensor(types[1], b, tb ? n : k, tb ? k : n);
                    Tensor blocked = f32(c0, m, n);
                    Tensor simple = f32(c0, m, n);
                    CpuGemm.gemm(one, ta, tb, m, n, k, 0.5f, at.segment(), types[0], 0, (int) at.size(1),
                            bt.segment(), types[1], 0, (int) bt.size(1), 0.25f, blocked.segment(), 0, n);
                    CpuGemm.gemmSimple(ta, tb, m, n, k, 0.5f, at.segment(), types[0], 0, (int) at.size(1),
                            bt.segment(), types[1], 0, (int) bt.size(1), 0.25f, simple.segment(), 0, n);
                    float[] want = simple.toFloatArray();
                    assertTrue(nonZero(want) == want.length, "the control result has zeros");
                    Approx.assertClose(m + "x" + k + "x" + n + " blocked vs simple, trans " + t + " a " + types[0]
                            + " b " + types[1], want, blocked.toFloatArray(), RTOL, ATOL);
                }
            }
        }
    }

    static Stream<Arguments> determinismCases() {
        List<Arguments> out = new ArrayList<>();
        // {batch, m, k, n}: tall (row split), wide (column split), batched with and without a remainder.
        int[][] shapes = {{1, 130, 530, 33}, {1, 33, 530, 130}, {1, 1, 1030, 130}, {3, 130, 33, 130}, {4, 33, 130, 33}};
        for (int[] s : shapes) {
            for (DType[] types : OPERAND_TYPES) {
                for (int t = 0; t < 4; t++) {
                    out.add(Arguments.of(s[0], s[1], s[2], s[3], (t & 1) != 0, (t & 2) != 0, types[0], types[1]));
                }
            }
        }
        return out.stream();
    }

    /**
     * The result does not depend on the number of threads, bit for bit: every element of C is summed in
     * the same order whichever thread computes it.
     */
    @ParameterizedTest(name = "B={0} {1}x{2}x{3} transA={4} transB={5} a={6} b={7}")
    @MethodSource("determinismCases")
    void bitIdenticalForOneTwoAndThreeThreads(int batch, int m, int k, int n, boolean ta, boolean tb,
                                              DType aType, DType bType) {
        assertTrue((long) batch * m * k * n >= CpuGemm.PARALLEL_MIN_FMAS, "shape too small to run in parallel");
        long seed = seed(m, k, n, ta, tb) + batch;
        float[] a = TestData.normal(seed, batch * m * k, 1);
        float[] b = TestData.normal(seed + 1, batch * k * n, 1);
        float[] c0 = TestData.uniform(seed + 2, batch * m * n, 1);
        Tensor at = tensor(aType, a, batch, ta ? k : m, ta ? m : k);
        Tensor bt = tensor(bType, b, batch, tb ? n : k, tb ? k : n);
        float[] first = null;
        for (int threads = 1; threads <= 3; threads++) {
            Tensor c = f32(c0, batch, m, n);
            CpuGemm.matmul(pool(threads), at, ta, bt, tb, c, 0.75f, -0.5f);
            float[] got = c.toFloatArray();
            if (first == null) {
                first = got;
            } else {
                assertBitwise(threads + " threads vs 1", first, got);
            }
        }
    }

    @Test
    void bf16EmptyInnerDimensionScalesC() {
        float[] c0 = TestData.uniform(3, 6, 1);
        Tensor a = arena.allocate(DType.BF16, 2, 0);
        Tensor b = arena.allocate(DType.BF16, 0, 3);
        Tensor c = f32(c0, 2, 3);
        CpuGemm.matmul(one, a, false, b, false, c, 1f, 0.5f);
        double[] half = new double[6];
        for (int i = 0; i < 6; i++) {
            half[i] = 0.5 * c0[i];
        }
        Approx.assertClose("K=0 beta=0.5", half, c.toFloatArray(), 0, 0);
    }

    /** A tensor of {@code type} holding {@code data} (rounded to nearest even for BF16). */
    private Tensor tensor(DType type, float[] data, long... shape) {
        return arena.allocate(type, shape).copyFrom(data);
    }

    /** {@code x} rounded to what {@code type} can hold: BF16 rounds to nearest even, F32 is unchanged. */
    private static float[] representable(DType type, float[] x) {
        if (type == DType.F32) {
            return x;
        }
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = Bf16.toFloat(Bf16.fromFloat(x[i]));
        }
        return out;
    }

    private static int nonZero(float[] x) {
        int n = 0;
        for (float v : x) {
            n += v != 0f ? 1 : 0;
        }
        return n;
    }

    private static void assertBitwise(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected exactly " + expected[i]);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ errors

    @Test
    void innerDimensionMismatchNamesAllShapes() {
        Tensor a = arena.allocate(DType.F32, 2, 3);
        Tensor b = arena.allocate(DType.F32, 4, 5);
        Tensor c = arena.allocate(DType.F32, 2, 5);
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> CpuGemm.matmul(one, a, false, b, false, c, 1f, 0f));
        assertMessage(e, "matmul", "[2, 3]", "[4, 5]", "[2, 5]", "inner");
    }

    @Test
    void wrongOutputShapeNamesAllShapes() {
        Tensor a = arena.allocate(DType.F32, 2, 3);
        Tensor b = arena.allocate(DType.F32, 5, 3);
        Tensor c = arena.allocate(DType.F32, 2, 3);
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class,
                () -> CpuGemm.matmul(one, a, false, b, true, c, 1f, 0f));
        assertMessage(e, "matmul", "[2, 3]", "[5, 3]^T", "[2, 5]");
    }

    @Test
    void batchAndRankErrors() {
        Tensor a = arena.allocate(DType.F32, 2, 4, 3);
        Tensor b = arena.allocate(DType.F32, 3, 3, 5);
        Tensor c = arena.allocate(DType.F32, 2, 4, 5);
        assertMessage(assertThrows(ShapeMismatchException.class,
                () -> CpuGemm.matmul(one, a, false, b, false, c, 1f, 0f)), "matmul", "[2, 4, 3]", "[3, 3, 5]", "batch");
        Tensor v = arena.allocate(DType.F32, 3);
        Tensor b2 = arena.allocate(DType.F32, 3, 5);
        assertMessage(assertThrows(ShapeMismatchException.class,
                () -> CpuGemm.matmul(one, v, false, b2, false, arena.allocate(DType.F32, 5), 1f, 0f)), "matmul", "[3]", "rank");
        // Rank-3 operand but rank-2 output.
        assertMessage(assertThrows(ShapeMismatchException.class,
                () -> CpuGemm.matmul(one, a, false, b2, false, arena.allocate(DType.F32, 4, 5), 1f, 0f)),
                "matmul", "[2, 4, 3]", "[4, 5]");
    }

    @Test
    void wrongDtypeIsRejected() {
        Tensor a = arena.allocate(DType.I32, 2, 3);
        Tensor b = arena.allocate(DType.F32, 3, 2);
        Tensor c = arena.allocate(DType.F32, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, a, false, b, false, c, 1f, 0f));
        assertMessage(e, "matmul: a ", "F32 or BF16", "I32[2, 3]");
        Tensor cb = arena.allocate(DType.BF16, 2, 2);
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, b, true, b, false, cb, 1f, 0f)), "matmul: c ", "F32", "BF16[2, 2]");
    }

    @Test
    void wrongDtypeIsRejectedAlongsideBf16() {
        Tensor ab = arena.allocate(DType.BF16, 2, 3);
        Tensor bb = arena.allocate(DType.BF16, 3, 2);
        Tensor bi = arena.allocate(DType.I32, 3, 4);
        Tensor c = arena.allocate(DType.F32, 2, 2);
        // I32 b next to a BF16 a.
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, ab, false, bi, false, arena.allocate(DType.F32, 2, 4), 1f, 0f)),
                "matmul: b ", "F32 or BF16", "I32[3, 4]");
        // BF16 operands cannot produce a BF16 (or I32) output.
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, ab, false, bb, false, arena.allocate(DType.BF16, 2, 2), 1f, 0f)),
                "matmul: c ", "F32", "BF16[2, 2]");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, ab, false, bb, false, arena.allocate(DType.I32, 2, 2), 1f, 0f)),
                "matmul: c ", "F32", "I32[2, 2]");
        // The raw entry points check the types they are given.
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.gemm(one, false, false, 2, 2, 3, 1f, ab.segment(), DType.I32, 0, 3,
                        bb.segment(), DType.BF16, 0, 2, 0f, c.segment(), 0, 2)), "a", "F32 or BF16", "I32");
        assertMessage(assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.gemmSimple(false, false, 2, 2, 3, 1f, ab.segment(), DType.BF16, 0, 3,
                        bb.segment(), DType.I32, 0, 2, 0f, c.segment(), 0, 2)), "b", "F32 or BF16", "I32");
    }

    @Test
    void nonContiguousIsRejected() {
        Tensor a = arena.allocate(DType.F32, 3, 2).transpose(0, 1); // a [2, 3] view with strides [1, 2]
        Tensor b = arena.allocate(DType.F32, 3, 2);
        Tensor c = arena.allocate(DType.F32, 2, 2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, a, false, b, false, c, 1f, 0f));
        assertMessage(e, "matmul", "contiguous", "[2, 3]");
    }

    @Test
    void closedArenaIsRejected() {
        TensorArena other = new TensorArena();
        Tensor a = other.allocate(DType.F32, 2, 3);
        Tensor b = arena.allocate(DType.F32, 3, 2);
        Tensor c = arena.allocate(DType.F32, 2, 2);
        other.close();
        TensorClosedException e = assertThrows(TensorClosedException.class,
                () -> CpuGemm.matmul(one, a, false, b, false, c, 1f, 0f));
        assertMessage(e, "matmul", "[2, 3]", "closed");
    }

    @Test
    void outputOverlappingAnInputIsRejected() {
        Tensor a = arena.allocate(DType.F32, 4, 4);
        Tensor b = arena.allocate(DType.F32, 4, 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CpuGemm.matmul(one, a, false, b, false, a, 1f, 0f));
        assertMessage(e, "matmul", "overlaps", "[4, 4]");
    }

    private static void assertMessage(Exception e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should mention " + p
                    + " (all: " + Arrays.toString(parts) + ")");
        }
    }
}
