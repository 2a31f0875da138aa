package io.leviathan.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.function.Executable;

/**
 * The conformance suite every {@link Backend} must pass: each operation of the interface against a naive
 * double-precision {@link Reference} written from its Javadoc, on seeded random data (never zeros) and edge
 * shapes that are not multiples of a 16-lane vector or of common tile sizes (1, 7, 17, 33, 130, ...).
 *
 * <p>One test method per operation, forward and backward together (as in llm.c's tests). Every backward is
 * checked twice: the reference's analytic gradient against central finite differences of the reference loss
 * {@code sum(out * w)} for a random {@code w} (in double), and the backend's backward, given {@code dOut = w},
 * against that analytic gradient, with its gradient tensors pre-filled with random values to prove that it
 * <b>accumulates</b>. Each method also checks that a wrong shape throws {@link ShapeMismatchException} (a wrong
 * dtype {@link IllegalArgumentException}) naming the operation.
 *
 * <p>Data crosses only through {@link Backend#upload} and the downloads, so a backend whose memory Java cannot
 * address runs it unchanged. Every test allocates from one arena, closed after it, and native memory must be
 * back at its baseline afterwards. Subclasses supply the backend: {@link CpuConformanceTest},
 * {@link StrictCpuConformanceTest}, {@link CudaConformanceTest}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class BackendConformanceTest {

    /**
     * The backend under test, created once per class and closed after it. A subclass for a backend that cannot
     * run on every machine disables itself with the reason (see {@link CudaConformanceTest}).
     */
    protected abstract Backend newBackend();

    // ================================================================ tolerances (all of them, here)
    //
    // A result passes when |actual - expected| <= abs + rel * max|expected|, the maximum taken over the whole
    // output ("normwise"), so entries that are tiny by cancellation are not held to an impossible relative
    // bound. fp32 means true single precision: a backend that multiplies in TF32 or accumulates in fp16
    // fails GEMM, as it should. float epsilon is 2^-23 ~ 1.2e-7 (one rounding: half of that).

    /** A closeness bound: {@code |actual - expected| <= abs + rel * max|expected|}. */
    record Tol(double rel, double abs) {}

    /** Data movement (upload, download, copy, fill, gather): every bit survives. */
    static final Tol EXACT = new Tol(0, 0);
    /** Element-wise arithmetic: one or two fp32 roundings of the exact value (a few ulp, with slack). */
    static final Tol ELEMENTWISE = new Tol(1e-6, 0);
    /**
     * Ops documented as "accumulated in double" (sum, mean): the exact value rounded once to fp32; the double
     * accumulation's own error (about n 2^-53 sum|x|) is added where used, see {@link #doubleAccumulated}.
     */
    static final Tol DOUBLE_ACCUMULATED = new Tol(1.2e-7, 0);
    /** Row reductions and their broadcasts: fp32 accumulation of up to a few hundred terms in any order. */
    static final Tol REDUCTION = new Tol(1e-5, 1e-7);
    /** GEMM: fp32 products accumulated in fp32 over k <= 530 in any order (blocked, split, FMA or not). */
    static final Tol GEMM = new Tol(1e-5, 1e-7);
    /** Normalisations: row statistics in fp32 or better, then element-wise; backward sums over rows. */
    static final Tol NORM = new Tol(1e-5, 1e-7);
    /**
     * exp/log based ops (activations, softmax, cross-entropy, separable modes): the exponential may be a
     * polynomial or a device intrinsic a few ulp off, and errors compound through a row sum.
     */
    static final Tol TRANSCENDENTAL = new Tol(1e-5, 1e-7);
    /** Tables documented as computed in double: the double value rounded once to fp32 (|values| <= 1). */
    static final Tol ROUNDED_FROM_DOUBLE = new Tol(1e-7, 0);
    /** The optimizer's state after a few steps: a handful of fp32 operations per element. */
    static final Tol OPTIMIZER = new Tol(1e-6, 1e-8);
    /**
     * The reference's analytic gradient against central differences with step {@link Reference#FD_STEP}, both
     * in double: truncation ~h^2 and cancellation ~1e-16 |L| / h stay below 1e-8 on these sizes.
     */
    static final Tol FINITE_DIFFERENCE = new Tol(1e-6, 1e-8);

    /** {@link #DOUBLE_ACCUMULATED} plus the double accumulation's error over {@code n} terms of total {@code sumAbs}. */
    static Tol doubleAccumulated(int n, double sumAbs) {
        return new Tol(DOUBLE_ACCUMULATED.rel(), n * 0x1p-53 * sumAbs);
    }

    // ================================================================ fixture

    /** Edge sizes: none a multiple of 16 (the widest float vector) or of a GEMM tile, plus 1. */
    static final int[] SIZES = {1, 7, 17, 33, 130};

    private Backend be;
    private TensorArena arena;
    private long nativeBaseline;
    private SplittableRandom rng;

    @BeforeAll
    final void openBackend() {
        be = newBackend();
        assertNotNull(be, "newBackend()");
    }

    @AfterAll
    final void closeBackend() {
        if (be != null) {
            be.close();
        }
    }

    @BeforeEach
    final void openArena(TestInfo info) {
        nativeBaseline = NativeMemory.allocatedBytes();
        arena = be.newArena();
        // Each test draws from its own seeded stream, so a failure reproduces whatever ran before it.
        rng = new SplittableRandom(info.getTestMethod().map(m -> m.getName().hashCode()).orElse(0));
    }

    @AfterEach
    final void closeArenaAndCheckMemory(TestInfo info) {
        try {
            be.synchronize(); // errors a kernel recorded belong to the test that caused them
        } finally {
            arena.close();
        }
        assertEquals(nativeBaseline, NativeMemory.allocatedBytes(),
                "native memory back to its baseline after " + info.getDisplayName() + " (an arena left open?)");
    }

    /** The backend under test. */
    protected final Backend backend() {
        return be;
    }

    // ================================================================ host boundary

    @Test
    void uploadAndDownloadF32() {
        for (int n : SIZES) {
            float[] x = normal(n, 2);
            Tensor t = f32(n);
            be.upload(x, t);
            assertArrayEquals(x, be.downloadFloats(t), "F32 round trip, n=" + n);
            assertEquals(x[n - 1], be.downloadScalar(t.narrow(0, n - 1, 1)), "downloadScalar of the last element");

            // From an offset into a larger array, into a row of a matrix (a contiguous view at an offset), and
            // back into a larger array at an offset: neighbours on both sides stay untouched.
            float[] src = normal(n + 5, 1);
            Tensor rows = f32(3, n);
            be.fill(rows, 7f);
            be.upload(src, 5, rows.select(0, 1));
            float[] dst = normal(3 * n + 4, 1);
            float[] expected = dst.clone();
            be.download(rows, dst, 4);
            for (int i = 0; i < 3 * n; i++) {
                expected[4 + i] = i / n == 1 ? src[5 + i % n] : 7f;
            }
            assertArrayEquals(expected, dst, "upload at an offset into a row view, download at an offset, n=" + n);
        }
        // Values that must survive bit for bit.
        float[] special = {-0f, 0f, Float.MIN_VALUE, -Float.MIN_NORMAL / 3, Float.MAX_VALUE, -Float.MAX_VALUE,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 1f / 3, 0x1.fffffep-1f};
        Tensor s = f32(special.length);
        be.upload(special, s);
        assertArrayEquals(special, be.downloadFloats(s), "special values");

        Tensor t = f32(7);
        Tensor ids = i32(7);
        assertShapeError("upload", () -> be.upload(new float[8], t));
        assertShapeError("upload", () -> be.upload(new float[7], 1, t));
        assertShapeError("download", () -> be.download(t, new float[7], 1));
        assertDtypeError("upload", () -> be.upload(new float[7], ids));
        assertDtypeError("download", () -> be.download(ids, new float[7], 0));
    }

    @Test
    void uploadAndDownloadBf16() {
        // Ties go to the even neighbour; just above a tie goes up; overflow past the largest bfloat16 is infinity.
        float[] edges = {1f + 0x1p-8f, 1f + 0x3p-8f, 1f + 0x1p-8f + 0x1p-20f, -(1f + 0x1p-8f), -(1f + 0x3p-8f),
            Float.MAX_VALUE, 0x1.fep127f, 3.0e38f, Float.MIN_VALUE, 0x1.8p-133f, -0f, Float.POSITIVE_INFINITY,
            0.1f, -2.5f, 65504f, 1e-30f};
        for (int n : SIZES) {
            float[] x = concat(normal(n, 3), edges);
            Tensor h = bf16(x.length);
            be.upload(x, h);
            float[] expected = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = Reference.bf16(x[i]);
            }
            assertArrayEquals(expected, be.downloadFloats(h), "BF16 upload rounds to nearest even, n=" + n);
            // Raw bytes: two per element, the high half of the rounded float.
            try (Arena host = Arena.ofConfined()) {
                MemorySegment seg = host.allocate(2L * x.length);
                be.download(h, seg);
                for (int i = 0; i < x.length; i++) {
                    assertEquals((short) (Float.floatToRawIntBits(expected[i]) >>> 16),
                            seg.getAtIndex(ValueLayout.JAVA_SHORT, i), "BF16 bits of element " + i);
                }
                // And back: bytes uploaded into a BF16 tensor widen exactly.
                seg.setAtIndex(ValueLayout.JAVA_SHORT, 0, (short) 0x3f81); // 1 + 2^-7
                be.upload(seg, h);
                assertEquals(1f + 0x1p-7f, be.downloadFloats(h)[0]);
            }
        }
        Tensor nan = bf16(1);
        be.upload(new float[] {Float.NaN}, nan);
        assertTrue(Float.isNaN(be.downloadFloats(nan)[0]), "NaN stays NaN in BF16");
        assertShapeError("upload", () -> be.upload(new float[2], nan));
    }

    @Test
    void uploadAndDownloadI32AndSegments() {
        for (int n : SIZES) {
            int[] x = concat(ints(n, 1 << 30), new int[] {Integer.MIN_VALUE, Integer.MAX_VALUE, -1, 0});
            Tensor t = i32(x.length);
            be.upload(x, t);
            assertArrayEquals(x, be.downloadInts(t), "I32 round trip, n=" + n);
            int[] dst = new int[x.length + 3];
            be.download(t, dst, 3);
            assertArrayEquals(x, Arrays.copyOfRange(dst, 3, dst.length), "I32 download at an offset");
            Tensor part = i32(n);
            be.upload(x, 2, part);
            assertArrayEquals(Arrays.copyOfRange(x, 2, 2 + n), be.downloadInts(part), "I32 upload from an offset");

            // Segments: exactly the tensor's bytes, in its dtype's layout; a larger segment is fine.
            float[] f = normal(n, 1);
            Tensor ft = f32(n);
            try (Arena host = Arena.ofConfined()) {
                MemorySegment seg = host.allocate(4L * n + 12);
                for (int i = 0; i < n; i++) {
                    seg.setAtIndex(ValueLayout.JAVA_FLOAT, i, f[i]);
                }
                be.upload(seg, ft);
                assertArrayEquals(f, be.downloadFloats(ft), "F32 from a segment");
                MemorySegment back = host.allocate(4L * x.length);
                be.download(t, back);
                for (int i = 0; i < x.length; i++) {
                    assertEquals(x[i], back.getAtIndex(ValueLayout.JAVA_INT, i), "I32 into a segment, element " + i);
                }
                assertShapeError("upload", () -> be.upload(host.allocate(4L * n - 4), ft));
                assertShapeError("download", () -> be.download(t, host.allocate(4L * x.length - 4)));
            }
            assertShapeError("upload", () -> be.upload(new int[x.length - 1], t));
            assertShapeError("download", () -> be.download(t, new int[x.length], 1));
            assertDtypeError("upload", () -> be.upload(new int[n], ft));
            assertDtypeError("download", () -> be.download(ft, new int[n], 0));
        }
    }

    // ================================================================ copy and fill

    @Test
    void copy() {
        for (int n : SIZES) {
            long[] shape = {3, n};
            float[] x = concat(normal(3 * n - 3, 3), new float[] {1f + 0x1p-8f, 1f + 0x3p-8f, -0f});
            float[] rounded = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                rounded[i] = Reference.bf16(x[i]);
            }
            Tensor f = f32(x, shape);
            Tensor f2 = filled(Float.NaN, shape);
            be.copy(f, f2);
            assertArrayEquals(x, be.downloadFloats(f2), "copy F32 -> F32, n=" + n);
            Tensor h = bf16(shape);
            be.copy(f, h);
            assertArrayEquals(rounded, be.downloadFloats(h), "copy F32 -> BF16 rounds to nearest even, n=" + n);
            Tensor h2 = bf16(shape);
            be.copy(h, h2);
            assertArrayEquals(rounded, be.downloadFloats(h2), "copy BF16 -> BF16, n=" + n);
            be.copy(h, f2);
            assertArrayEquals(rounded, be.downloadFloats(f2), "copy BF16 -> F32 widens exactly, n=" + n);
            int[] ix = ints(3 * n, 1000);
            Tensor i1 = i32(ix, shape), i2 = i32(shape);
            be.copy(i1, i2);
            assertArrayEquals(ix, be.downloadInts(i2), "copy I32 -> I32, n=" + n);
        }
        Tensor a = f32(2, 3);
        assertShapeError("copy", () -> be.copy(a, f32(3, 2)));
        assertShapeError("copy", () -> be.copy(a, bf16(6)));
        assertDtypeError("copy", () -> be.copy(a, i32(2, 3)));
    }

    @Test
    void fill() {
        for (int n : SIZES) {
            float v = (float) rng.nextGaussian();
            Tensor f = f32(normal(2 * n, 1), 2, n);
            be.fill(f, v);
            float[] expected = new float[2 * n];
            Arrays.fill(expected, v);
            assertArrayEquals(expected, be.downloadFloats(f), "fill F32, n=" + n);
            Tensor h = bf16(n);
            be.fill(h, v);
            Arrays.fill(expected, Reference.bf16(v));
            assertArrayEquals(Arrays.copyOf(expected, n), be.downloadFloats(h), "fill BF16 rounds the value, n=" + n);
            // A view: only its elements change.
            float[] x = normal(3 * n, 1);
            Tensor rows = f32(x, 3, n);
            be.fill(rows.select(0, 2), -v);
            Arrays.fill(x, 2 * n, 3 * n, -v);
            assertArrayEquals(x, be.downloadFloats(rows), "fill of a row view, n=" + n);
        }
        // fill takes any shape, so it has no shape error to check.
    }

    // ================================================================ matrix multiplication

    @Test
    void matmul2d() {
        int[][] mnk = {{1, 1, 1}, {1, 7, 17}, {7, 1, 33}, {17, 33, 7}, {33, 17, 130}, {130, 33, 17},
            {17, 33, 530} /* more than one K block of 512 */, {7, 1030, 33} /* more than one N block of 1024 */};
        for (int[] d : mnk) {
            int m = d[0], n = d[1], k = d[2];
            for (int ta = 0; ta < 2; ta++) {
                for (int tb = 0; tb < 2; tb++) {
                    boolean transA = ta == 1, transB = tb == 1;
                    float[] a = normal(m * k, 1), b = normal(k * n, 1);
                    Tensor at = transA ? f32(a, k, m) : f32(a, m, k);
                    Tensor bt = transB ? f32(b, n, k) : f32(b, k, n);
                    String what = "matmul " + m + "x" + n + "x" + k + (transA ? " a^T" : "") + (transB ? " b^T" : "");
                    // beta = 0 ignores c, even NaN.
                    Tensor c = filled(Float.NaN, m, n);
                    be.matmul(at, transA, bt, transB, c, 1f, 0f);
                    assertClose(what + " alpha=1 beta=0 over NaN",
                            Reference.matmul(1, false, false, transA, transB, m, n, k, 1, d(a), d(b), 0, null),
                            be.downloadFloats(c), GEMM);
                    float alpha = 0.75f, beta = -1.25f;
                    float[] c0 = normal(m * n, 1);
                    Tensor c2 = f32(c0, m, n);
                    be.matmul(at, transA, bt, transB, c2, alpha, beta);
                    assertClose(what + " alpha=" + alpha + " beta=" + beta,
                            Reference.matmul(1, false, false, transA, transB, m, n, k, alpha, d(a), d(b), beta, d(c0)),
                            be.downloadFloats(c2), GEMM);
                }
            }
        }
        Tensor a = f32(7, 17), b = f32(17, 33);
        assertShapeError("matmul", () -> be.matmul(a, false, b, true, f32(7, 17), 1, 0));
        assertShapeError("matmul", () -> be.matmul(a, false, b, false, f32(7, 34), 1, 0));
        assertShapeError("matmul", () -> be.matmul(a.reshape(119), false, b, false, f32(7, 33), 1, 0));
        assertDtypeError("matmul", () -> be.matmul(i32(7, 17), false, b, false, f32(7, 33), 1, 0));
        assertDtypeError("matmul", () -> be.matmul(a, false, b, false, bf16(7, 33), 1, 0)); // c is F32
    }

    /** BF16 operands (either or both) give the fp32 product of their bf16 values: fp32 arithmetic throughout. */
    @Test
    void matmulBf16Operands() {
        int[][] shapes = {{1, 1, 1}, {7, 17, 33}, {33, 130, 7}, {130, 7, 17}};
        for (int[] sh : shapes) {
            int m = sh[0], k = sh[1], n = sh[2];
            for (int mode = 1; mode < 4; mode++) { // 1: a bf16, 2: b bf16, 3: both
                for (boolean transA : new boolean[] {false, true}) {
                    for (boolean transB : new boolean[] {false, true}) {
                        float[] a = normal(m * k, 1), b = normal(k * n, 1);
                        float[] aR = (mode & 1) != 0 ? roundToBf16(a) : a, bR = (mode & 2) != 0 ? roundToBf16(b) : b;
                        Tensor at = operand(a, (mode & 1) != 0, transA ? new long[] {k, m} : new long[] {m, k});
                        Tensor bt = operand(b, (mode & 2) != 0, transB ? new long[] {n, k} : new long[] {k, n});
                        Tensor c = filled(Float.NaN, m, n);
                        be.matmul(at, transA, bt, transB, c, 1f, 0f);
                        assertClose("matmul bf16 mode " + mode + " " + Arrays.toString(sh) + " tA=" + transA + " tB=" + transB,
                                Reference.matmul(1, false, false, transA, transB, m, n, k, 1f, d(aR), d(bR), 0f, new double[m * n]),
                                be.downloadFloats(c), GEMM);
                    }
                }
            }
        }
    }

    private Tensor operand(float[] values, boolean bf16, long[] shape) {
        if (!bf16) {
            return f32(values, shape);
        }
        Tensor t = arena.allocate(DType.BF16, shape);
        be.upload(values, t);
        return t;
    }

    private static float[] roundToBf16(float[] x) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            r[i] = io.leviathan.tensor.Bf16.toFloat(io.leviathan.tensor.Bf16.fromFloat(x[i]));
        }
        return r;
    }

    @Test
    void matmulBatched() {
        int batch = 3;
        int[][] mnk = {{1, 7, 17}, {7, 17, 33}, {33, 1, 7}, {17, 130, 33}};
        // Which operands carry the batch dimension: both, a only (b broadcast, a linear layer), b only.
        boolean[][] batched = {{true, true}, {true, false}, {false, true}};
        for (int[] d : mnk) {
            int m = d[0], n = d[1], k = d[2];
            for (boolean[] ab : batched) {
                for (int t = 0; t < 4; t++) {
                    boolean transA = (t & 1) != 0, transB = (t & 2) != 0;
                    int ba = ab[0] ? batch : 1, bb = ab[1] ? batch : 1;
                    float[] a = normal(ba * m * k, 1), b = normal(bb * k * n, 1), c0 = normal(batch * m * n, 1);
                    long[] as = transA ? new long[] {k, m} : new long[] {m, k};
                    long[] bs = transB ? new long[] {n, k} : new long[] {k, n};
                    Tensor at = f32(a, ab[0] ? prepend(batch, as) : as);
                    Tensor bt = f32(b, ab[1] ? prepend(batch, bs) : bs);
                    String what = "batched matmul " + batch + "x" + m + "x" + n + "x" + k
                            + " a" + Arrays.toString(at.shape()) + (transA ? "^T" : "")
                            + " b" + Arrays.toString(bt.shape()) + (transB ? "^T" : "");
                    Tensor c = filled(Float.NaN, batch, m, n);
                    be.matmul(at, transA, bt, transB, c, 1f, 0f);
                    assertClose(what + " beta=0 over NaN", Reference.matmul(batch, ab[0], ab[1], transA, transB, m, n, k,
                            1, d(a), d(b), 0, null), be.downloadFloats(c), GEMM);
                    Tensor c2 = f32(c0, batch, m, n);
                    be.matmul(at, transA, bt, transB, c2, -0.5f, 0.25f);
                    assertClose(what + " alpha=-0.5 beta=0.25", Reference.matmul(batch, ab[0], ab[1], transA, transB,
                            m, n, k, -0.5, d(a), d(b), 0.25, d(c0)), be.downloadFloats(c2), GEMM);
                }
            }
        }
        Tensor a = f32(3, 7, 17), b = f32(2, 17, 5);
        assertShapeError("matmul", () -> be.matmul(a, false, b, false, f32(3, 7, 5), 1, 0));
        assertShapeError("matmul", () -> be.matmul(a, false, b.select(0, 0), false, f32(7, 5), 1, 0));
        assertShapeError("matmul", () -> be.matmul(a, false, b.select(0, 0), false, f32(2, 7, 5), 1, 0));
    }

    /** The linear layer recipe of the matmul Javadoc, forward and backward, against finite differences. */
    @Test
    void matmulLinearLayer() {
        int[][] shapes = {{1, 1, 1}, {7, 17, 33}, {17, 130, 7}}; // N, in, out
        for (int[] s : shapes) {
            int n = s[0], in = s[1], out = s[2];
            String what = "linear [" + n + ", " + in + "] -> " + out;
            float[] x = normal(n * in, 1), w = normal(out * in, 0.5), dy = normal(n * out, 1);
            float[] dx0 = normal(n * in, 0.5), dw0 = normal(out * in, 0.5);
            Tensor xt = f32(x, n, in), wt = f32(w, out, in), y = filled(Float.NaN, n, out), dyt = f32(dy, n, out);
            Tensor dx = f32(dx0, n, in), dw = f32(dw0, out, in);
            be.matmul(xt, false, wt, true, y, 1, 0);
            be.matmul(dyt, false, wt, false, dx, 1, 1);
            be.matmul(dyt, true, xt, false, dw, 1, 1);
            // y = x W^T as a function of x and of W.
            Function<double[], double[]> ofX =
                    xv -> Reference.matmul(1, false, false, false, true, n, out, in, 1, xv, d(w), 0, null);
            Function<double[], double[]> ofW =
                    wv -> Reference.matmul(1, false, false, false, true, n, out, in, 1, d(x), wv, 0, null);
            double[] refDx = Reference.matmul(1, false, false, false, false, n, in, out, 1, d(dy), d(w), 0, null);
            double[] refDw = Reference.matmul(1, false, false, true, false, out, in, n, 1, d(dy), d(x), 0, null);
            assertClose(what + " y", ofX.apply(d(x)), be.downloadFloats(y), GEMM);
            checkGradient(what + " dx", ofX, d(x), d(dy), refDx);
            checkGradient(what + " dW", ofW, d(w), d(dy), refDw);
            assertAccumulated(what + " dx", dx0, refDx, be.downloadFloats(dx), GEMM);
            assertAccumulated(what + " dW", dw0, refDw, be.downloadFloats(dw), GEMM);
        }
    }

    // ================================================================ element-wise

    @Test
    void add() {
        for (int n : SIZES) {
            float[] a = normal(n, 2), b = normal(n, 2), dOut = normal(n, 1), dA0 = normal(n, 1);
            Tensor out = filled(Float.NaN, n);
            be.add(f32(a, n), f32(b, n), out);
            assertClose("add n=" + n, Reference.add(d(a), d(b)), be.downloadFloats(out), ELEMENTWISE);
            // Backward (the Javadoc's recipe): axpy(1, dOut, dA).
            Tensor dA = f32(dA0, n);
            be.axpy(1, f32(dOut, n), dA);
            double[] ref = d(dOut);
            checkGradient("add n=" + n + " dA", av -> Reference.add(av, d(b)), d(a), d(dOut), ref);
            assertAccumulated("add n=" + n + " dA", dA0, ref, be.downloadFloats(dA), ELEMENTWISE);
        }
        Tensor a = f32(7);
        assertShapeError("add", () -> be.add(a, f32(8), f32(7)));
        assertShapeError("add", () -> be.add(a, a, f32(1, 7)));
        assertDtypeError("add", () -> be.add(a, bf16(7), f32(7)));
    }

    @Test
    void mul() {
        for (int n : SIZES) {
            float[] a = normal(n, 2), b = normal(n, 2), dOut = normal(n, 1), dA0 = normal(n, 1), dB0 = normal(n, 1);
            Tensor at = f32(a, n), bt = f32(b, n), out = filled(Float.NaN, n), g = f32(dOut, n);
            be.mul(at, bt, out);
            assertClose("mul n=" + n, Reference.mul(d(a), d(b)), be.downloadFloats(out), ELEMENTWISE);
            double[] refDa = Reference.mul(d(dOut), d(b)), refDb = Reference.mul(d(dOut), d(a));
            checkGradient("mul n=" + n + " dA", av -> Reference.mul(av, d(b)), d(a), d(dOut), refDa);
            checkGradient("mul n=" + n + " dB", bv -> Reference.mul(d(a), bv), d(b), d(dOut), refDb);
            Tensor dA = f32(dA0, n), dB = f32(dB0, n);
            be.mulBackward(g, at, bt, dA, dB);
            assertAccumulated("mulBackward n=" + n + " dA", dA0, refDa, be.downloadFloats(dA), ELEMENTWISE);
            assertAccumulated("mulBackward n=" + n + " dB", dB0, refDb, be.downloadFloats(dB), ELEMENTWISE);
            // Either gradient may be null.
            Tensor dAOnly = f32(dA0, n), dBOnly = f32(dB0, n);
            be.mulBackward(g, at, bt, dAOnly, null);
            be.mulBackward(g, at, bt, null, dBOnly);
            assertAccumulated("mulBackward dB null, dA", dA0, refDa, be.downloadFloats(dAOnly), ELEMENTWISE);
            assertAccumulated("mulBackward dA null, dB", dB0, refDb, be.downloadFloats(dBOnly), ELEMENTWISE);
        }
        Tensor a = f32(7), seven = f32(7), eight = f32(8);
        assertShapeError("mul", () -> be.mul(a, eight, seven));
        assertShapeError("mulBackward", () -> be.mulBackward(a, a, a, eight, null));
        assertShapeError("mulBackward", () -> be.mulBackward(eight, a, a, seven, seven));
        assertDtypeError("mul", () -> be.mul(a, i32(7), seven));
    }

    @Test
    void scale() {
        for (int n : SIZES) {
            float s = (float) (rng.nextGaussian() * 2);
            float[] a = normal(n, 2), dOut = normal(n, 1), dA0 = normal(n, 1);
            Tensor out = filled(Float.NaN, n);
            be.scale(f32(a, n), s, out);
            assertClose("scale n=" + n, Reference.scale(d(a), s), be.downloadFloats(out), ELEMENTWISE);
            // Backward (the Javadoc's recipe): axpy(s, dOut, dA).
            Tensor dA = f32(dA0, n);
            be.axpy(s, f32(dOut, n), dA);
            double[] ref = Reference.scale(d(dOut), s);
            checkGradient("scale n=" + n + " dA", av -> Reference.scale(av, s), d(a), d(dOut), ref);
            assertAccumulated("scale n=" + n + " dA", dA0, ref, be.downloadFloats(dA), ELEMENTWISE);
        }
        assertShapeError("scale", () -> be.scale(f32(7), 2, f32(7, 1)));
        assertDtypeError("scale", () -> be.scale(bf16(7), 2, f32(7)));
    }

    @Test
    void axpy() {
        for (int n : SIZES) {
            float alpha = (float) rng.nextGaussian();
            float[] x = normal(3 * n, 2), y = normal(3 * n, 2);
            Tensor yt = f32(y, 3, n);
            be.axpy(alpha, f32(x, 3, n), yt);
            assertClose("axpy [3, " + n + "]", Reference.axpy(alpha, d(x), d(y)), be.downloadFloats(yt), ELEMENTWISE);
        }
        assertShapeError("axpy", () -> be.axpy(1, f32(3, 7), f32(7, 3)));
        assertDtypeError("axpy", () -> be.axpy(1, i32(7), f32(7)));
    }

    // ================================================================ reductions

    @Test
    void sumLastDim() {
        rowReduction("sumLastDim", false);
    }

    @Test
    void meanLastDim() {
        rowReduction("meanLastDim", true);
    }

    /** sumLastDim or meanLastDim and its backward on shapes of rank 1 to 3. */
    private void rowReduction(String op, boolean mean) {
        long[][] shapes = {{1}, {130}, {7, 1}, {7, 17}, {3, 5, 33}, {2, 130}};
        for (long[] shape : shapes) {
            int cols = (int) shape[shape.length - 1], size = (int) numel(shape), rows = size / cols;
            long[] rowShape = Arrays.copyOf(shape, shape.length - 1);
            String what = op + " " + Arrays.toString(shape);
            float[] x = normal(size, 2), dOut = normal(rows, 1), dX0 = normal(size, 1);
            Tensor out = filled(Float.NaN, rowShape);
            Tensor dX = f32(dX0, shape);
            if (mean) {
                be.meanLastDim(f32(x, shape), out);
                be.meanLastDimBackward(f32(dOut, rowShape), dX);
            } else {
                be.sumLastDim(f32(x, shape), out);
                be.sumLastDimBackward(f32(dOut, rowShape), dX);
            }
            Function<double[], double[]> f =
                    xv -> mean ? Reference.meanLastDim(xv, cols) : Reference.sumLastDim(xv, cols);
            assertClose(what, f.apply(d(x)), be.downloadFloats(out), REDUCTION);
            double[] ref = Reference.rowBroadcast(d(dOut), cols, mean);
            checkGradient(what + " dX", f, d(x), d(dOut), ref);
            assertAccumulated(op + "Backward " + Arrays.toString(shape) + " dX", dX0, ref, be.downloadFloats(dX),
                    ELEMENTWISE);
        }
        Tensor x = f32(7, 17);
        if (mean) {
            assertShapeError("meanLastDim", () -> be.meanLastDim(x, f32(17)));
            assertShapeError("meanLastDimBackward", () -> be.meanLastDimBackward(f32(7, 1), x));
            assertDtypeError("meanLastDim", () -> be.meanLastDim(bf16(7, 17), f32(7)));
        } else {
            assertShapeError("sumLastDim", () -> be.sumLastDim(x, f32(17)));
            assertShapeError("sumLastDimBackward", () -> be.sumLastDimBackward(f32(8), x));
            assertDtypeError("sumLastDim", () -> be.sumLastDim(bf16(7, 17), f32(7)));
        }
    }

    @Test
    void sumAndMean() {
        int[] sizes = {1, 7, 17, 130, 33 * 130, 100_003 /* several blocks of partial sums */};
        for (int n : sizes) {
            float[] x = normal(n, 2);
            for (int i = 0; i < n; i++) {
                x[i] += 0.25f; // a non-zero mean, so the result is not all cancellation
            }
            long[] shape = n % 7 == 0 ? new long[] {7, n / 7} : new long[] {n};
            Tensor xt = f32(x, shape);
            double exact = Reference.sum(d(x));
            Tol tol = doubleAccumulated(n, Reference.sumAbs(d(x)));
            Tol meanTol = new Tol(tol.rel(), tol.abs() / n);
            Tensor out = filled(Float.NaN, 1);
            be.sum(xt, out);
            assertClose("sum(x, out) n=" + n, new double[] {exact}, be.downloadFloats(out), tol);
            be.mean(xt, out);
            assertClose("mean(x, out) n=" + n, new double[] {exact / n}, be.downloadFloats(out), meanTol);
            assertClose("sum(x) n=" + n, new double[] {exact}, new float[] {(float) be.sum(xt)}, tol);
            assertClose("mean(x) n=" + n, new double[] {exact / n}, new float[] {(float) be.mean(xt)}, meanTol);
        }
        Tensor x = f32(7);
        assertShapeError("sum", () -> be.sum(x, f32(0)));
        assertShapeError("mean", () -> be.mean(x, f32(0)));
        assertDtypeError("sum", () -> be.sum(i32(7), f32(1)));
        assertDtypeError("mean", () -> be.mean(bf16(7)));
    }

    // ================================================================ normalisation

    /** Row shapes for the normalisations: {@code [rows..., C]}. */
    static final long[][] NORM_SHAPES = {{1, 1}, {7, 17}, {3, 130}, {2, 3, 33}, {1, 7}};

    @Test
    void rmsNorm() {
        float eps = 1e-5f;
        for (long[] shape : NORM_SHAPES) {
            int cols = (int) shape[shape.length - 1], size = (int) numel(shape);
            long[] rowShape = Arrays.copyOf(shape, shape.length - 1);
            String what = "rmsNorm " + Arrays.toString(shape);
            float[] x = normal(size, 2), w = around1(cols), dOut = normal(size, 1);
            float[] dX0 = normal(size, 1), dW0 = normal(cols, 1);
            Tensor xt = f32(x, shape), wt = f32(w, cols), out = filled(Float.NaN, shape), rstd = filled(Float.NaN, rowShape);
            be.rmsNorm(xt, wt, eps, out, rstd);
            Reference.Norm ref = Reference.rmsNorm(d(x), d(w), eps, cols);
            assertClose(what + " out", ref.out(), be.downloadFloats(out), NORM);
            assertClose(what + " rstd", ref.rstd(), be.downloadFloats(rstd), NORM);

            Tensor dX = f32(dX0, shape), dW = f32(dW0, cols);
            be.rmsNormBackward(f32(dOut, shape), xt, wt, rstd, dX, dW);
            double[][] grads = Reference.rmsNormBackward(d(dOut), d(x), d(w), eps, cols);
            checkGradient(what + " dX", xv -> Reference.rmsNorm(xv, d(w), eps, cols).out(), d(x), d(dOut), grads[0]);
            checkGradient(what + " dWeight", wv -> Reference.rmsNorm(d(x), wv, eps, cols).out(), d(w), d(dOut), grads[1]);
            assertAccumulated(what + " dX", dX0, grads[0], be.downloadFloats(dX), NORM);
            assertAccumulated(what + " dWeight", dW0, grads[1], be.downloadFloats(dW), NORM);
        }
        Tensor x = f32(7, 17), w = f32(17), rstd = f32(7);
        assertShapeError("rmsNorm", () -> be.rmsNorm(x, f32(16), 1e-5f, f32(7, 17), rstd));
        assertShapeError("rmsNorm", () -> be.rmsNorm(x, w, 1e-5f, f32(7, 17), f32(17)));
        assertShapeError("rmsNormBackward", () -> be.rmsNormBackward(x, x, w, rstd, f32(17, 7), w));
        assertShapeError("rmsNormBackward", () -> be.rmsNormBackward(x, x, w, rstd, x, f32(7)));
        assertDtypeError("rmsNorm", () -> be.rmsNorm(x, bf16(17), 1e-5f, f32(7, 17), rstd));
    }

    @Test
    void layerNorm() {
        float eps = 1e-5f;
        for (long[] shape : NORM_SHAPES) {
            int cols = (int) shape[shape.length - 1], size = (int) numel(shape);
            long[] rowShape = Arrays.copyOf(shape, shape.length - 1);
            String what = "layerNorm " + Arrays.toString(shape);
            float[] x = normal(size, 2), w = around1(cols), b = normal(cols, 0.5), dOut = normal(size, 1);
            for (int i = 0; i < size; i++) {
                x[i] += 1.5f; // rows with a mean to subtract
            }
            float[] dX0 = normal(size, 1), dW0 = normal(cols, 1), dB0 = normal(cols, 1);
            Tensor xt = f32(x, shape), wt = f32(w, cols), bt = f32(b, cols), out = filled(Float.NaN, shape);
            Tensor mean = filled(Float.NaN, rowShape), rstd = filled(Float.NaN, rowShape);
            be.layerNorm(xt, wt, bt, eps, out, mean, rstd);
            Reference.Norm ref = Reference.layerNorm(d(x), d(w), d(b), eps, cols);
            assertClose(what + " out", ref.out(), be.downloadFloats(out), NORM);
            assertClose(what + " mean", ref.mean(), be.downloadFloats(mean), NORM);
            assertClose(what + " rstd", ref.rstd(), be.downloadFloats(rstd), NORM);

            Tensor dX = f32(dX0, shape), dW = f32(dW0, cols), dB = f32(dB0, cols);
            be.layerNormBackward(f32(dOut, shape), xt, wt, mean, rstd, dX, dW, dB);
            double[][] grads = Reference.layerNormBackward(d(dOut), d(x), d(w), eps, cols);
            checkGradient(what + " dX", xv -> Reference.layerNorm(xv, d(w), d(b), eps, cols).out(), d(x), d(dOut), grads[0]);
            checkGradient(what + " dWeight", wv -> Reference.layerNorm(d(x), wv, d(b), eps, cols).out(),
                    d(w), d(dOut), grads[1]);
            checkGradient(what + " dBias", bv -> Reference.layerNorm(d(x), d(w), bv, eps, cols).out(),
                    d(b), d(dOut), grads[2]);
            assertAccumulated(what + " dX", dX0, grads[0], be.downloadFloats(dX), NORM);
            assertAccumulated(what + " dWeight", dW0, grads[1], be.downloadFloats(dW), NORM);
            assertAccumulated(what + " dBias", dB0, grads[2], be.downloadFloats(dB), NORM);
        }
        Tensor x = f32(7, 17), w = f32(17), r = f32(7);
        assertShapeError("layerNorm", () -> be.layerNorm(x, w, f32(7), 1e-5f, f32(7, 17), r, r));
        assertShapeError("layerNorm", () -> be.layerNorm(x, w, w, 1e-5f, f32(7, 17), r, f32(8)));
        assertShapeError("layerNormBackward", () -> be.layerNormBackward(x, x, w, r, r, x, w, f32(16)));
        assertDtypeError("layerNorm", () -> be.layerNorm(bf16(7, 17), w, w, 1e-5f, x, r, r));
    }

    // ================================================================ rotary position embedding

    @Test
    void ropeTables() {
        int[][] shapes = {{1, 1}, {7, 17}, {130, 33}, {2048, 1} /* large positions */};
        for (float theta : new float[] {10_000f, 500_000f, 2.5f}) {
            for (int[] s : shapes) {
                int maxT = s[0], half = s[1];
                Tensor cos = filled(Float.NaN, maxT, half), sin = filled(Float.NaN, maxT, half);
                be.ropeTables(theta, cos, sin);
                double[][] ref = Reference.ropeTables(theta, maxT, half);
                String what = "ropeTables theta=" + theta + " [" + maxT + ", " + half + "]";
                assertClose(what + " cos", ref[0], be.downloadFloats(cos), ROUNDED_FROM_DOUBLE);
                assertClose(what + " sin", ref[1], be.downloadFloats(sin), ROUNDED_FROM_DOUBLE);
            }
        }
        assertShapeError("ropeTables", () -> be.ropeTables(1e4f, f32(7, 17), f32(7, 16)));
        assertShapeError("ropeTables", () -> be.ropeTables(1e4f, f32(7), f32(7)));
    }

    @Test
    void rope() {
        int[][] shapes = {{1, 1, 1, 2}, {2, 7, 3, 34}, {1, 17, 2, 66}, {1, 5, 1, 260}}; // B, T, H, Dh
        for (int[] s : shapes) {
            int b = s[0], t = s[1], h = s[2], dh = s[3], half = dh / 2, maxT = t + 3, size = b * t * h * dh;
            long[] shape = {b, t, h, dh};
            String what = "rope " + Arrays.toString(shape);
            // Tables longer than the sequence, made on the host: position t must use row t.
            double[][] tables = Reference.ropeTables(10_000, maxT, half);
            float[] cosF = toFloat(tables[0]), sinF = toFloat(tables[1]);
            Tensor cos = f32(cosF, maxT, half), sin = f32(sinF, maxT, half);
            float[] x = normal(size, 1), dOut = normal(size, 1), dX0 = normal(size, 1);
            Tensor xt = f32(x, shape), out = filled(Float.NaN, shape);
            be.rope(xt, cos, sin, out);
            double[] ref = Reference.rope(d(x), b, t, h, dh, d(cosF), d(sinF), 1);
            assertClose(what, ref, be.downloadFloats(out), ELEMENTWISE);
            be.rope(xt, cos, sin, xt); // out may be x
            assertClose(what + " in place", ref, be.downloadFloats(xt), ELEMENTWISE);

            Tensor dX = f32(dX0, shape);
            be.ropeBackward(f32(dOut, shape), cos, sin, dX);
            double[] refDx = Reference.rope(d(dOut), b, t, h, dh, d(cosF), d(sinF), -1);
            checkGradient(what + " dX", xv -> Reference.rope(xv, b, t, h, dh, d(cosF), d(sinF), 1), d(x), d(dOut), refDx);
            assertAccumulated("ropeBackward " + Arrays.toString(shape) + " dX", dX0, refDx, be.downloadFloats(dX),
                    ELEMENTWISE);
        }
        Tensor x = f32(1, 7, 2, 34), cos = f32(7, 17);
        assertShapeError("rope", () -> be.rope(f32(1, 7, 2, 33), cos, cos, f32(1, 7, 2, 33)));
        assertShapeError("rope", () -> be.rope(x, f32(6, 17), f32(6, 17), x));
        assertShapeError("rope", () -> be.rope(x, cos, cos, f32(1, 7, 2, 32)));
        assertShapeError("rope", () -> be.rope(x.reshape(7, 2, 34), cos, cos, x.reshape(7, 2, 34)));
        assertShapeError("ropeBackward", () -> be.ropeBackward(x, cos, cos, f32(1, 7, 34, 2)));
        assertDtypeError("rope", () -> be.rope(x, bf16(7, 17), cos, x));
    }

    // ================================================================ activations

    /** Activation inputs: normal, plus values far in both tails. */
    private float[] activationInput(int n) {
        float[] x = normal(n, 3);
        float[] tails = {-20f, 20f, -9.5f, 9.5f, -60f, 60f};
        for (int i = 0; i < Math.min(n / 4, tails.length); i++) {
            x[i * 4] = tails[i];
        }
        return x;
    }

    @Test
    void silu() {
        for (int n : SIZES) {
            float[] x = activationInput(n), dOut = normal(n, 1), dX0 = normal(n, 1);
            Tensor xt = f32(x, n), out = filled(Float.NaN, n), dX = f32(dX0, n);
            be.silu(xt, out);
            assertClose("silu n=" + n, Reference.silu(d(x)), be.downloadFloats(out), TRANSCENDENTAL);
            be.siluBackward(f32(dOut, n), xt, dX);
            double[] ref = Reference.siluBackward(d(dOut), d(x));
            checkGradient("silu n=" + n + " dX", Reference::silu, d(x), d(dOut), ref);
            assertAccumulated("siluBackward n=" + n + " dX", dX0, ref, be.downloadFloats(dX), TRANSCENDENTAL);
        }
        Tensor x = f32(7);
        assertShapeError("silu", () -> be.silu(x, f32(8)));
        assertShapeError("siluBackward", () -> be.siluBackward(x, x, f32(7, 1)));
        assertDtypeError("silu", () -> be.silu(bf16(7), x));
    }

    @Test
    void sigmoid() {
        for (int n : SIZES) {
            float[] x = activationInput(n), dOut = normal(n, 1), dX0 = normal(n, 1);
            Tensor y = filled(Float.NaN, n), dX = f32(dX0, n);
            be.sigmoid(f32(x, n), y);
            assertClose("sigmoid n=" + n, Reference.sigmoid(d(x)), be.downloadFloats(y), TRANSCENDENTAL);
            be.sigmoidBackward(f32(dOut, n), y, dX); // from the output
            double[] ref = Reference.sigmoidBackward(d(dOut), Reference.sigmoid(d(x)));
            checkGradient("sigmoid n=" + n + " dX", Reference::sigmoid, d(x), d(dOut), ref);
            assertAccumulated("sigmoidBackward n=" + n + " dX", dX0, ref, be.downloadFloats(dX), TRANSCENDENTAL);
        }
        Tensor x = f32(7);
        assertShapeError("sigmoid", () -> be.sigmoid(x, f32(8)));
        assertShapeError("sigmoidBackward", () -> be.sigmoidBackward(x, f32(8), x));
        assertDtypeError("sigmoid", () -> be.sigmoid(x, bf16(7)));
    }

    @Test
    void swiglu() {
        for (int n : SIZES) {
            float[] gate = activationInput(n), up = normal(n, 2), dOut = normal(n, 1);
            float[] dG0 = normal(n, 1), dU0 = normal(n, 1);
            Tensor gt = f32(gate, n), ut = f32(up, n), out = filled(Float.NaN, n), dG = f32(dG0, n), dU = f32(dU0, n);
            be.swiglu(gt, ut, out);
            assertClose("swiglu n=" + n, Reference.swiglu(d(gate), d(up)), be.downloadFloats(out), TRANSCENDENTAL);
            be.swigluBackward(f32(dOut, n), gt, ut, dG, dU);
            double[][] ref = Reference.swigluBackward(d(dOut), d(gate), d(up));
            checkGradient("swiglu n=" + n + " dGate", gv -> Reference.swiglu(gv, d(up)), d(gate), d(dOut), ref[0]);
            checkGradient("swiglu n=" + n + " dUp", uv -> Reference.swiglu(d(gate), uv), d(up), d(dOut), ref[1]);
            assertAccumulated("swigluBackward n=" + n + " dGate", dG0, ref[0], be.downloadFloats(dG), TRANSCENDENTAL);
            assertAccumulated("swigluBackward n=" + n + " dUp", dU0, ref[1], be.downloadFloats(dU), TRANSCENDENTAL);
        }
        Tensor x = f32(7);
        assertShapeError("swiglu", () -> be.swiglu(x, f32(8), x));
        assertShapeError("swigluBackward", () -> be.swigluBackward(x, x, x, x, f32(8)));
        assertDtypeError("swiglu", () -> be.swiglu(x, i32(7), x));
    }

    @Test
    void softmax() {
        long[][] shapes = {{1}, {7, 1}, {3, 17}, {2, 3, 33}, {5, 130}};
        for (long[] shape : shapes) {
            int cols = (int) shape[shape.length - 1], size = (int) numel(shape);
            String what = "softmax " + Arrays.toString(shape);
            float[] x = normal(size, 3), dOut = normal(size, 1), dX0 = normal(size, 1);
            for (int c = 0; c < cols; c++) {
                x[c] += 100f; // a row that overflows exp without the max subtraction
            }
            Tensor xt = f32(x, shape), y = filled(Float.NaN, shape);
            be.softmax(xt, y);
            double[] ref = Reference.softmax(d(x), cols);
            assertClose(what, ref, be.downloadFloats(y), TRANSCENDENTAL);
            Tensor dX = f32(dX0, shape);
            be.softmaxBackward(f32(dOut, shape), y, dX);
            double[] refDx = Reference.softmaxBackward(d(dOut), ref, cols);
            checkGradient(what + " dX", xv -> Reference.softmax(xv, cols), d(x), d(dOut), refDx);
            assertAccumulated("softmaxBackward " + Arrays.toString(shape) + " dX", dX0, refDx, be.downloadFloats(dX),
                    TRANSCENDENTAL);
            be.softmax(xt, xt); // out may be x
            assertClose(what + " in place", ref, be.downloadFloats(xt), TRANSCENDENTAL);
        }
        Tensor x = f32(3, 7);
        assertShapeError("softmax", () -> be.softmax(x, f32(7, 3)));
        assertShapeError("softmaxBackward", () -> be.softmaxBackward(x, x, f32(21)));
        assertDtypeError("softmax", () -> be.softmax(bf16(3, 7), x));
    }

    // ================================================================ attention

    @Test
    void attention() {
        int[][] shapes = {{1, 1, 1, 8}, {2, 7, 3, 8}, {1, 17, 2, 24}, {2, 33, 2, 16}, {1, 130, 2, 64}};
        for (int[] sh : shapes) {
            int B = sh[0], T = sh[1], H = sh[2], Dh = sh[3], n = B * T * H * Dh;
            String what = "attention " + Arrays.toString(sh);
            float[] q = normal(n, 1), k = normal(n, 1), v = normal(n, 1), dOut = normal(n, 1);
            float[] dQ0 = normal(n, 1), dK0 = normal(n, 1), dV0 = normal(n, 1);
            Tensor qt = f32(q, B, T, H, Dh), kt = f32(k, B, T, H, Dh), vt = f32(v, B, T, H, Dh);
            Tensor out = filled(Float.NaN, B, T, H, Dh), lse = filled(Float.NaN, B, H, T);
            be.attention(qt, kt, vt, out, lse);
            double[] ref = Reference.attention(d(q), d(k), d(v), B, T, H, Dh);
            assertClose(what + " out", Arrays.copyOfRange(ref, 0, n), be.downloadFloats(out), TRANSCENDENTAL);
            assertClose(what + " lse", Arrays.copyOfRange(ref, n, ref.length), be.downloadFloats(lse), TRANSCENDENTAL);
            // Backward against the reference's analytic backward, itself checked by finite differences.
            Tensor dQ = f32(dQ0, B, T, H, Dh), dK = f32(dK0, B, T, H, Dh), dV = f32(dV0, B, T, H, Dh);
            be.attentionBackward(f32(dOut, B, T, H, Dh), qt, kt, vt, out, lse, dQ, dK, dV);
            double[] refGrad = Reference.attentionBackward(d(dOut), d(q), d(k), d(v), B, T, H, Dh);
            float[][] got = {be.downloadFloats(dQ), be.downloadFloats(dK), be.downloadFloats(dV)};
            float[][] pre = {dQ0, dK0, dV0};
            String[] names = {"dQ", "dK", "dV"};
            for (int which = 0; which < 3; which++) {
                final int w = which;
                double[][] in = {d(q), d(k), d(v)};
                double[] analytic = Arrays.copyOfRange(refGrad, w * n, (w + 1) * n);
                if (T <= 17) { // the finite differences cost O(n * T^2 * Dh)
                    checkGradient(what + " " + names[w], x -> {
                        double[][] args = {in[0], in[1], in[2]};
                        args[w] = x;
                        return Arrays.copyOfRange(Reference.attention(args[0], args[1], args[2], B, T, H, Dh), 0, n);
                    }, in[w], d(dOut), analytic);
                }
                assertAccumulated(what + " " + names[w], pre[w], analytic, got[w], TRANSCENDENTAL);
            }
        }
        Tensor x = f32(2, 5, 2, 8);
        assertShapeError("attention", () -> be.attention(x, x, x, f32(2, 5, 2, 8), f32(2, 5, 2)));
        assertShapeError("attention", () -> be.attention(x, f32(2, 4, 2, 8), x, f32(2, 5, 2, 8), f32(2, 2, 5)));
        assertDtypeError("attention", () -> be.attention(x, x, x, f32(2, 5, 2, 8), bf16(2, 2, 5)));
    }


    /**
     * The key/value cache: positions appended in blocks (a first block, then blocks of 1 and 3), each block's
     * queries attending to the cache, give what full causal attention gives at those positions; the cache
     * holds exactly the appended rows, and positions past them (poisoned with NaN) are never read.
     */
    @Test
    void attentionWithKeyValueCache() {
        // {B, T, H, Dh, capacity, first block}; 130 positions cross the first 64-key tile of the CPU kernel
        int[][] shapes = {{1, 1, 1, 8, 1, 1}, {2, 7, 3, 8, 9, 3}, {1, 130, 2, 64, 140, 65}, {2, 70, 2, 24, 70, 1}};
        for (int[] sh : shapes) {
            int B = sh[0], T = sh[1], H = sh[2], Dh = sh[3], cap = sh[4], first = sh[5], n = B * T * H * Dh;
            String what = "attentionDecode " + Arrays.toString(sh);
            float[] q = normal(n, 1), k = normal(n, 1), v = normal(n, 1);
            Tensor full = filled(Float.NaN, B, T, H, Dh);
            be.attention(f32(q, B, T, H, Dh), f32(k, B, T, H, Dh), f32(v, B, T, H, Dh), full, filled(Float.NaN, B, H, T));
            Tensor kCache = filled(Float.NaN, B, H, cap, Dh), vCache = filled(Float.NaN, B, H, cap, Dh);
            float[] decoded = new float[n];
            for (int start = 0, block = first; start < T; block = block == 1 ? 3 : 1) {
                int rows = Math.min(block, T - start);
                Tensor qb = f32(positions(q, B, T, H * Dh, start, rows), B, rows, H, Dh);
                be.kvCacheAppend(f32(positions(k, B, T, H * Dh, start, rows), B, rows, H, Dh),
                        f32(positions(v, B, T, H * Dh, start, rows), B, rows, H, Dh), kCache, vCache, start);
                Tensor out = filled(Float.NaN, B, rows, H, Dh);
                be.attentionDecode(qb, kCache, vCache, start, out);
                float[] got = be.downloadFloats(out);
                for (int b = 0; b < B; b++) {
                    System.arraycopy(got, b * rows * H * Dh, decoded, (b * T + start) * H * Dh, rows * H * Dh);
                }
                start += rows;
            }
            double[] ref = Reference.attention(d(q), d(k), d(v), B, T, H, Dh);
            assertClose(what + " against the reference", Arrays.copyOfRange(ref, 0, n), decoded, TRANSCENDENTAL);
            assertClose(what + " against attention", d(be.downloadFloats(full)), decoded, TRANSCENDENTAL);
            float[] cachedK = be.downloadFloats(kCache), cachedV = be.downloadFloats(vCache);
            for (int b = 0; b < B; b++) {
                for (int h = 0; h < H; h++) {
                    for (int t = 0; t < cap; t++) {
                        for (int i = 0; i < Dh; i++) {
                            int at = ((b * H + h) * cap + t) * Dh + i, from = ((b * T + t) * H + h) * Dh + i;
                            float wantK = t < T ? k[from] : Float.NaN, wantV = t < T ? v[from] : Float.NaN;
                            if (Float.floatToIntBits(cachedK[at]) != Float.floatToIntBits(wantK)
                                    || Float.floatToIntBits(cachedV[at]) != Float.floatToIntBits(wantV)) {
                                fail(what + ": cache at b=" + b + " h=" + h + " t=" + t + " i=" + i + " holds "
                                        + cachedK[at] + ", " + cachedV[at] + ", expected " + wantK + ", " + wantV);
                            }
                        }
                    }
                }
            }
        }
        Tensor x = f32(1, 2, 2, 8), cache = f32(1, 2, 4, 8);
        assertShapeError("kvCacheAppend", () -> be.kvCacheAppend(x, x, cache, cache, 3));
        assertShapeError("kvCacheAppend", () -> be.kvCacheAppend(x, x, f32(1, 2, 4, 6), f32(1, 2, 4, 6), 0));
        assertShapeError("attentionDecode", () -> be.attentionDecode(x, cache, cache, 3, f32(1, 2, 2, 8)));
        assertShapeError("attentionDecode", () -> be.attentionDecode(x, cache, cache, 0, f32(1, 1, 2, 8)));
        assertDtypeError("kvCacheAppend", () -> be.kvCacheAppend(x, x, bf16(1, 2, 4, 8), bf16(1, 2, 4, 8), 0));
        assertDtypeError("attentionDecode", () -> be.attentionDecode(x, cache, cache, 0, bf16(1, 2, 2, 8)));
    }

    /** Rows {@code [start, start + rows)} of each batch item of a {@code [B, T, width]} array, as {@code [B, rows, width]}. */
    private static float[] positions(float[] x, int B, int T, int width, int start, int rows) {
        float[] out = new float[B * rows * width];
        for (int b = 0; b < B; b++) {
            System.arraycopy(x, (b * T + start) * width, out, b * rows * width, rows * width);
        }
        return out;
    }


    // ================================================================ embedding and loss

    @Test
    void embedding() {
        int vocab = 33;
        for (int dim : new int[] {1, 7, 17, 130}) {
            // Ids of shape [2, 7] from a small range, so ids repeat (and one certainly does).
            int[] ids = ints(14, 9);
            ids[13] = ids[0];
            ids[12] = vocab - 1;
            float[] table = normal(vocab * dim, 1), dOut = normal(14 * dim, 1), dT0 = normal(vocab * dim, 1);
            Tensor idt = i32(ids, 2, 7), tt = f32(table, vocab, dim), out = filled(Float.NaN, 2, 7, dim);
            be.embedding(idt, tt, out);
            String what = "embedding [2, 7] from [" + vocab + ", " + dim + "]";
            assertClose(what, Reference.embedding(ids, d(table), dim), be.downloadFloats(out), EXACT);
            Tensor dT = f32(dT0, vocab, dim);
            be.embeddingBackward(f32(dOut, 2, 7, dim), idt, dT);
            double[] ref = Reference.embeddingBackward(d(dOut), ids, vocab, dim);
            checkGradient(what + " dTable", tv -> Reference.embedding(ids, tv, dim), d(table), d(dOut), ref);
            assertAccumulated("embeddingBackward " + what + " dTable (repeated ids)", dT0, ref, be.downloadFloats(dT),
                    ELEMENTWISE);
        }
        Tensor table = f32(vocab, 7), ids = i32(new int[] {1, 2, 3}, 3);
        assertShapeError("embedding", () -> be.embedding(ids, table, f32(3, 8)));
        assertShapeError("embedding", () -> be.embedding(ids, table.reshape(vocab, 7, 1), f32(3, 7)));
        assertShapeError("embeddingBackward", () -> be.embeddingBackward(f32(4, 7), ids, table));
        assertDtypeError("embedding", () -> be.embedding(f32(3), table, f32(3, 7)));
        // An id outside [0, V) throws (a device backend at the next synchronize), naming the id and its position.
        Tensor bad = i32(new int[] {1, 2, 3, 4, 5, 40, 6}, 7);
        assertDataError("embedding", () -> be.embedding(bad, table, f32(7, 7)), "40", "5");
        Tensor negative = i32(new int[] {1, 2, -1}, 3);
        assertDataError("embeddingBackward", () -> be.embeddingBackward(f32(3, 7), negative, table), "-1", "2");
    }

    @Test
    void crossEntropy() {
        int[][] shapes = {{1, 1}, {7, 17}, {33, 130}, {5, 1030}}; // N, V
        for (int[] s : shapes) {
            int n = s[0], vocab = s[1];
            for (int ignoreIndex : new int[] {-100, 0}) {
                float gradScale = ignoreIndex == 0 ? 1f : 0.37f;
                float[] logits = normal(n * vocab, 4);
                for (int c = 0; c < vocab; c++) {
                    logits[c] += 80f; // a row that overflows exp without the max subtraction
                }
                int[] targets = ints(n, vocab);
                targets[n - 1] = vocab - 1;
                if (n > 2) {
                    targets[1] = ignoreIndex; // ignored positions
                    targets[n / 2] = ignoreIndex;
                }
                String what = "crossEntropy [" + n + ", " + vocab + "] ignoreIndex=" + ignoreIndex
                        + " gradScale=" + gradScale;
                Reference.CrossEntropy ref = Reference.crossEntropy(d(logits), targets, vocab, ignoreIndex, gradScale);
                Tensor lt = f32(logits, n, vocab), tt = i32(targets, n);

                // The Java-valued form: losses and dLogits are overwritten (they start as NaN).
                Tensor losses = filled(Float.NaN, n), dLogits = filled(Float.NaN, n, vocab);
                double loss = be.crossEntropy(lt, tt, ignoreIndex, losses, dLogits, gradScale);
                assertClose(what + " mean loss", new double[] {ref.mean()}, new float[] {(float) loss}, TRANSCENDENTAL);
                assertClose(what + " losses", ref.losses(), be.downloadFloats(losses), TRANSCENDENTAL);
                assertClose(what + " dLogits", ref.dLogits(), be.downloadFloats(dLogits), TRANSCENDENTAL);
                if (n * vocab <= 1000) { // each difference recomputes the whole loss: keep it to the small shapes
                    Function<double[], double[]> scaledLoss = xv ->
                            new double[] {gradScale * Reference.crossEntropy(xv, targets, vocab, ignoreIndex, 1).mean()};
                    checkGradient(what + " dLogits", scaledLoss, d(logits), new double[] {1}, ref.dLogits());
                }

                // The device form ADDS the mean loss to lossSum[0]; dLogits may be the logits themselves.
                float before = (float) rng.nextGaussian();
                Tensor lossSum = f32(new float[] {before}, 1);
                be.crossEntropy(lt, tt, ignoreIndex, null, lt, gradScale, lossSum);
                assertClose(what + " lossSum += mean loss", new double[] {before + ref.mean()}, be.downloadFloats(lossSum),
                        new Tol(TRANSCENDENTAL.rel(), TRANSCENDENTAL.rel() * Math.abs(before)));
                assertClose(what + " dLogits in place of logits", ref.dLogits(), be.downloadFloats(lt), TRANSCENDENTAL);

                // With neither output, only the loss; a second call accumulates a second loss.
                Tensor lt2 = f32(logits, n, vocab);
                be.crossEntropy(lt2, tt, ignoreIndex, null, null, gradScale, lossSum);
                assertClose(what + " lossSum after two calls", new double[] {before + 2 * ref.mean()},
                        be.downloadFloats(lossSum), new Tol(TRANSCENDENTAL.rel(), TRANSCENDENTAL.rel() * Math.abs(before)));
                assertArrayEquals(logits, be.downloadFloats(lt2), what + ": logits untouched when dLogits is null");
            }
        }
        // Logits of rank 3, targets of rank 1 or of the logits' leading shape.
        float[] logits = normal(2 * 7 * 17, 2);
        int[] targets = ints(14, 17);
        Reference.CrossEntropy ref = Reference.crossEntropy(d(logits), targets, 17, -100, 1);
        for (long[] targetShape : new long[][] {{14}, {2, 7}}) {
            Tensor losses = filled(Float.NaN, targetShape), dLogits = filled(Float.NaN, 2, 7, 17);
            double loss = be.crossEntropy(f32(logits, 2, 7, 17), i32(targets, targetShape), -100, losses, dLogits, 1f);
            String what = "crossEntropy [2, 7, 17] targets " + Arrays.toString(targetShape);
            assertClose(what + " mean loss", new double[] {ref.mean()}, new float[] {(float) loss}, TRANSCENDENTAL);
            assertClose(what + " losses", ref.losses(), be.downloadFloats(losses), TRANSCENDENTAL);
            assertClose(what + " dLogits", ref.dLogits(), be.downloadFloats(dLogits), TRANSCENDENTAL);
        }
        // Every position ignored: loss 0, zero gradient, zero losses, and lossSum unchanged.
        Tensor lt = f32(normal(3 * 7, 1), 3, 7), none = i32(new int[] {-100, -100, -100}, 3);
        Tensor losses = filled(Float.NaN, 3), dLogits = filled(Float.NaN, 3, 7), lossSum = f32(new float[] {2.5f}, 1);
        assertEquals(0.0, be.crossEntropy(lt, none, -100, losses, dLogits, 1f), "all ignored: loss");
        assertArrayEquals(new float[3], be.downloadFloats(losses), "all ignored: losses");
        assertArrayEquals(new float[21], be.downloadFloats(dLogits), "all ignored: dLogits");
        be.crossEntropy(lt, none, -100, null, null, 1f, lossSum);
        assertEquals(2.5f, be.downloadScalar(lossSum), "all ignored: lossSum unchanged");

        Tensor t3 = i32(new int[] {1, 2, 3}, 3);
        assertShapeError("crossEntropy", () -> be.crossEntropy(lt, i32(new int[] {1, 2}, 2), -100, null, null, 1f));
        assertShapeError("crossEntropy", () -> be.crossEntropy(lt, t3, -100, f32(4), null, 1f));
        assertShapeError("crossEntropy", () -> be.crossEntropy(lt, t3, -100, null, f32(3, 8), 1f));
        assertShapeError("crossEntropy", () -> be.crossEntropy(lt, t3, -100, null, null, 1f, f32(0)));
        assertDtypeError("crossEntropy", () -> be.crossEntropy(lt, f32(3), -100, null, null, 1f));
        Tensor badTarget = i32(new int[] {1, 9, 2}, 3);
        assertDataError("crossEntropy", () -> be.crossEntropy(lt, badTarget, -100, null, null, 1f, lossSum), "9", "1");
    }

    // ================================================================ Leviathan generator

    /**
     * Coordinates for the spline basis: mostly in [0, 1], some outside (clamped), none within 0.01 knot
     * units of a window boundary (a half-way point, where the window jumps) or of the clamp at 0 and 1, so
     * finite differences never straddle one.
     */
    private float[] splineCoordinates(int n, int knots) {
        float[] t = new float[n];
        for (int i = 0; i < n; i++) {
            while (true) {
                float v = (float) (rng.nextDouble() * 1.3 - 0.15);
                double c = Math.min(Math.max(v, 0), 1) * (knots - 1);
                double frac = c - Math.floor(c);
                boolean nearBoundary = Math.abs(frac - 0.5) < 0.01 || Math.abs(v) < 0.01 || Math.abs(v - 1) < 0.01;
                if (!nearBoundary) {
                    t[i] = v;
                    break;
                }
            }
        }
        return t;
    }

    @Test
    void splineBasis() {
        int[][] shapes = {{1, 1, 2}, {7, 17, 3}, {3, 33, 7}, {2, 130, 33}}; // N, d, knots
        for (int[] s : shapes) {
            int n = s[0], dims = s[1], knots = s[2], count = n * dims;
            for (boolean normalize : new boolean[] {false, true}) {
                String what = "splineBasis [" + n + ", " + dims + "] knots=" + knots + " normalize=" + normalize;
                float[] t = splineCoordinates(count, knots);
                if (count >= 7) { // the clamp points and exact knots, forward only
                    t[0] = 0f;
                    t[1] = 1f;
                    t[2] = (float) (1.0 / (knots - 1));
                }
                Tensor tt = f32(t, n, dims), first = i32(ints(count, 5), n, dims), weights = filled(Float.NaN, n, dims, 3);
                be.splineBasis(tt, knots, normalize, first, weights);
                Reference.Basis ref = Reference.splineBasis(d(t), knots, normalize);
                assertArrayEquals(ref.first(), be.downloadInts(first), what + " first");
                assertClose(what + " weights", ref.weights(), be.downloadFloats(weights), ELEMENTWISE);

                if (count >= 7) {
                    t[0] = 0.003f; // keep finite differences off the clamp points
                    t[1] = 0.997f;
                    t[2] = (float) (1.0 / (knots - 1)) + 0.01f;
                    tt = f32(t, n, dims);
                    be.splineBasis(tt, knots, normalize, first, weights);
                    ref = Reference.splineBasis(d(t), knots, normalize);
                }
                float[] dW = normal(count * 3, 1), dT0 = normal(count, 1);
                Tensor dT = f32(dT0, n, dims);
                be.splineBasisBackward(f32(dW, n, dims, 3), tt, first, knots, normalize, dT);
                double[] refDt = Reference.splineBasisBackward(d(dW), d(t), knots, normalize);
                Reference.Basis window = ref;
                checkGradient(what + " dT", tv -> {
                    Reference.Basis b = Reference.splineBasis(tv, knots, normalize);
                    assertArrayEquals(window.first(), b.first(), "finite differences stay in the window");
                    return b.weights();
                }, d(t), d(dW), refDt);
                assertAccumulated("splineBasisBackward " + what + " dT", dT0, refDt, be.downloadFloats(dT), ELEMENTWISE);
            }
        }
        Tensor t = f32(3, 5), first = i32(3, 5), w = f32(3, 5, 3);
        assertShapeError("splineBasis", () -> be.splineBasis(t, 4, false, first, f32(3, 5, 4)));
        assertShapeError("splineBasis", () -> be.splineBasis(t, 4, false, i32(5, 3), w));
        assertShapeError("splineBasis", () -> be.splineBasis(t.reshape(15), 4, false, first.reshape(15), w.reshape(15, 3)));
        assertShapeError("splineBasisBackward", () -> be.splineBasisBackward(w, t, first, 4, false, f32(15)));
        assertDtypeError("splineBasis", () -> be.splineBasis(t, 4, false, f32(3, 5), w));
    }

    /**
     * Grouped LayerNorm (one gain and shift per group, for the generator's batched heads) equals one
     * ungrouped call per group, whose results the {@code layerNorm} test checks against the reference.
     */
    @Test
    void layerNormGrouped() {
        int[][] shapes = {{1, 1, 1}, {3, 7, 17}, {8, 5, 33}}; // G, M, C
        for (int[] sh : shapes) {
            int g = sh[0], m = sh[1], c = sh[2];
            String what = "layerNorm grouped " + Arrays.toString(sh);
            float[] x = normal(g * m * c, 2), w = around1(g * c), b = normal(g * c, 0.5), dOut = normal(g * m * c, 1);
            Tensor xt = f32(x, g, m, c), wt = f32(w, g, c), bt = f32(b, g, c);
            Tensor out = filled(Float.NaN, g, m, c), mean = filled(Float.NaN, g, m), rstd = filled(Float.NaN, g, m);
            be.layerNorm(xt, wt, bt, 1e-5f, out, mean, rstd);
            Tensor dX = f32(g, m, c), dW = f32(g, c), dB = f32(g, c);
            be.layerNormBackward(f32(dOut, g, m, c), xt, wt, mean, rstd, dX, dW, dB);
            float[] outG = be.downloadFloats(out), dXG = be.downloadFloats(dX), dWG = be.downloadFloats(dW),
                    dBG = be.downloadFloats(dB);
            for (int k = 0; k < g; k++) {
                Tensor o1 = filled(Float.NaN, m, c), mean1 = f32(m), rstd1 = f32(m);
                Tensor x1 = f32(Arrays.copyOfRange(x, k * m * c, (k + 1) * m * c), m, c);
                Tensor w1 = f32(Arrays.copyOfRange(w, k * c, (k + 1) * c), c);
                be.layerNorm(x1, w1, f32(Arrays.copyOfRange(b, k * c, (k + 1) * c), c), 1e-5f, o1, mean1, rstd1);
                Tensor dX1 = f32(m, c), dW1 = f32(c), dB1 = f32(c);
                be.layerNormBackward(f32(Arrays.copyOfRange(dOut, k * m * c, (k + 1) * m * c), m, c), x1, w1, mean1,
                        rstd1, dX1, dW1, dB1);
                assertClose(what + " out of group " + k, d(be.downloadFloats(o1)),
                        Arrays.copyOfRange(outG, k * m * c, (k + 1) * m * c), NORM);
                assertClose(what + " dX of group " + k, d(be.downloadFloats(dX1)),
                        Arrays.copyOfRange(dXG, k * m * c, (k + 1) * m * c), NORM);
                assertClose(what + " dWeight of group " + k, d(be.downloadFloats(dW1)),
                        Arrays.copyOfRange(dWG, k * c, (k + 1) * c), NORM);
                assertClose(what + " dBias of group " + k, d(be.downloadFloats(dB1)),
                        Arrays.copyOfRange(dBG, k * c, (k + 1) * c), NORM);
            }
        }
        Tensor x = f32(3, 7, 17);
        assertShapeError("layerNorm", () -> be.layerNorm(x, f32(2, 17), f32(2, 17), 1e-5f, f32(3, 7, 17), f32(3, 7), f32(3, 7)));
    }

    /**
     * Grouped separable modes (all generator heads in one call; modes laid out {@code [N, G, R]}) equal one
     * ungrouped call per head, whose results the {@code separableModes} test checks against the reference.
     */
    @Test
    void separableModesGrouped() {
        int[][] shapes = {{1, 1, 1, 2, 1}, {3, 7, 3, 5, 17}, {2, 17, 2, 7, 33}}; // G, N, d, knots, R
        for (int[] sh : shapes) {
            int g = sh[0], n = sh[1], dims = sh[2], knots = sh[3], r = sh[4];
            String what = "separableModes grouped " + Arrays.toString(sh);
            int[] first = new int[g * n * dims];
            float[] w = uniform(first.length * 3, 0.2, 1);
            for (int e = 0; e < first.length; e++) {
                first[e] = rng.nextInt(knots) - 1;
                for (int q = 0; q < 3; q++) {
                    if (first[e] + q < 0 || first[e] + q >= knots) {
                        w[e * 3 + q] = 1000f;
                    }
                }
            }
            float[] spline = uniform(g * dims * knots * r, 0.5, 1.5);
            Tensor ft = i32(first, g, n, dims), wt = f32(w, g, n, dims, 3), st = f32(spline, g, dims, knots, r);
            Tensor modes = filled(Float.NaN, n, g, r);
            be.separableModes(ft, wt, st, modes);
            float[] dModes = normal(n * g * r, 1);
            Tensor dW = f32(g, n, dims, 3), dS = f32(g, dims, knots, r);
            be.separableModesBackward(f32(dModes, n, g, r), ft, wt, st, modes, dW, dS);
            float[] modesG = be.downloadFloats(modes), dWG = be.downloadFloats(dW), dSG = be.downloadFloats(dS);
            int per = n * dims, sp = dims * knots * r;
            for (int k = 0; k < g; k++) {
                Tensor f1 = i32(Arrays.copyOfRange(first, k * per, (k + 1) * per), n, dims);
                Tensor w1 = f32(Arrays.copyOfRange(w, k * per * 3, (k + 1) * per * 3), n, dims, 3);
                Tensor s1 = f32(Arrays.copyOfRange(spline, k * sp, (k + 1) * sp), dims, knots, r);
                Tensor m1 = filled(Float.NaN, n, r);
                be.separableModes(f1, w1, s1, m1);
                float[] headModes = new float[n * r], headDModes = new float[n * r];
                for (int row = 0; row < n; row++) {
                    System.arraycopy(modesG, (row * g + k) * r, headModes, row * r, r);
                    System.arraycopy(dModes, (row * g + k) * r, headDModes, row * r, r);
                }
                assertRelative(what + " modes of head " + k, d(be.downloadFloats(m1)), headModes, TRANSCENDENTAL);
                Tensor dW1 = f32(n, dims, 3), dS1 = f32(dims, knots, r);
                be.separableModesBackward(f32(headDModes, n, r), f1, w1, s1, m1, dW1, dS1);
                assertClose(what + " dWeights of head " + k, d(be.downloadFloats(dW1)),
                        Arrays.copyOfRange(dWG, k * per * 3, (k + 1) * per * 3), TRANSCENDENTAL);
                assertClose(what + " dSpline of head " + k, d(be.downloadFloats(dS1)),
                        Arrays.copyOfRange(dSG, k * sp, (k + 1) * sp), TRANSCENDENTAL);
            }
        }
        assertShapeError("separableModes", () -> be.separableModes(i32(2, 5, 3), f32(2, 5, 3, 3), f32(2, 3, 4, 6),
                f32(5, 3, 6)));
    }

    @Test
    void separableModes() {
        int[][] shapes = {{1, 1, 2, 1}, {7, 3, 5, 17}, {17, 2, 7, 33}, {5, 4, 3, 130}}; // N, d, knots, R
        for (int[] s : shapes) {
            int n = s[0], dims = s[1], knots = s[2], r = s[3];
            String what = "separableModes N=" + n + " d=" + dims + " knots=" + knots + " R=" + r;
            // Windows anywhere on the grid (first from -1 to knots - 2), positive basis-like weights, and spline
            // columns of one sign each (some negative), so every factor is at least 0.1 away from the kink at 0.
            int[] first = new int[n * dims];
            float[] w = uniform(n * dims * 3, 0.2, 1);
            for (int e = 0; e < first.length; e++) {
                first[e] = rng.nextInt(knots) - 1;
                for (int m = 0; m < 3; m++) {
                    if (first[e] + m < 0 || first[e] + m >= knots) {
                        w[e * 3 + m] = 1000f; // off the grid: must be skipped
                    }
                }
            }
            float[] spline = uniform(dims * knots * r, 0.5, 1.5);
            for (int i = 0; i < dims; i++) {
                for (int q = 0; q < r; q++) {
                    if (rng.nextBoolean()) {
                        for (int j = 0; j < knots; j++) {
                            spline[(i * knots + j) * r + q] *= -1;
                        }
                    }
                }
            }
            Tensor ft = i32(first, n, dims), wt = f32(w, n, dims, 3), st = f32(spline, dims, knots, r);
            Tensor modes = filled(Float.NaN, n, r);
            be.separableModes(ft, wt, st, modes);
            double[] ref = Reference.separableModes(first, d(w), d(spline), n, dims, knots, r);
            // Products span orders of magnitude: each mode to its own relative bound.
            assertRelative(what + " modes", ref, be.downloadFloats(modes), TRANSCENDENTAL);

            float[] dModes = normal(n * r, 1), dW0 = normal(w.length, 1), dS0 = normal(spline.length, 1);
            Tensor dW = f32(dW0, n, dims, 3), dS = f32(dS0, dims, knots, r);
            be.separableModesBackward(f32(dModes, n, r), ft, wt, st, modes, dW, dS);
            double[][] grads = Reference.separableModesBackward(d(dModes), first, d(w), d(spline), n, dims, knots, r);
            checkGradient(what + " dWeights", wv -> Reference.separableModes(first, wv, d(spline), n, dims, knots, r),
                    d(w), d(dModes), grads[0]);
            checkGradient(what + " dSpline", sv -> Reference.separableModes(first, d(w), sv, n, dims, knots, r),
                    d(spline), d(dModes), grads[1]);
            assertAccumulated("separableModesBackward " + what + " dWeights", dW0, grads[0], be.downloadFloats(dW),
                    TRANSCENDENTAL);
            assertAccumulated("separableModesBackward " + what + " dSpline", dS0, grads[1], be.downloadFloats(dS),
                    TRANSCENDENTAL);
        }
        Tensor first = i32(new int[] {0, 1, 0, 1, 0, 1}, 3, 2), w = f32(3, 2, 3);
        Tensor spline = f32(2, 4, 5), modes = f32(3, 5);
        assertShapeError("separableModes", () -> be.separableModes(first, w, f32(3, 4, 5), modes));
        assertShapeError("separableModes", () -> be.separableModes(first, w, spline, f32(3, 4)));
        assertShapeError("separableModes", () -> be.separableModes(first, f32(3, 2, 2), spline, modes));
        assertShapeError("separableModesBackward", () -> be.separableModesBackward(modes, first, w, spline, modes, w,
                f32(2, 4, 6)));
        assertDtypeError("separableModes", () -> be.separableModes(f32(3, 2), w, spline, modes));
    }

    // ================================================================ optimisation

    @Test
    void globalL2Norm() {
        long[][] shapes = {{1}, {7}, {17, 1}, {33, 130}, {2, 3, 130}, {100_003}};
        List<Tensor> tensors = new ArrayList<>();
        List<double[]> values = new ArrayList<>();
        for (int i = 0; i < shapes.length; i++) {
            float[] x = normal((int) numel(shapes[i]), 0.5 + i);
            tensors.add(f32(x, shapes[i]));
            values.add(d(x));
            double[][] sofar = values.toArray(new double[0][]);
            double ref = Reference.l2Norm(sofar);
            Tol tol = doubleAccumulated(Arrays.stream(sofar).mapToInt(a -> a.length).sum(), ref * ref);
            // The tolerance is on the sum of squares; the root halves the relative error.
            Tol normTol = new Tol(tol.rel(), tol.abs() / Math.max(ref, 1e-30));
            Tensor out = filled(Float.NaN, 1);
            be.globalL2Norm(tensors, out);
            assertClose("globalL2Norm(tensors, out) of " + (i + 1) + " tensors", new double[] {ref},
                    be.downloadFloats(out), normTol);
            assertClose("globalL2Norm(tensors) of " + (i + 1) + " tensors", new double[] {ref},
                    new float[] {(float) be.globalL2Norm(tensors)}, normTol);
        }
        assertEquals(0.0, be.globalL2Norm(List.of()), "the norm of nothing");
        assertShapeError("globalL2Norm", () -> be.globalL2Norm(tensors, f32(0)));
        assertDtypeError("globalL2Norm", () -> be.globalL2Norm(List.of(tensors.get(0), i32(3))));
    }

    @Test
    void adamw() {
        float lr = 1e-2f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f;
        for (int n : new int[] {1, 7, 17, 33, 130, 4099}) {
            for (float wd : new float[] {0f, 0.1f}) {
                float[] p0 = normal(n, 1);
                double[] p = d(p0), m = new double[n], v = new double[n];
                Tensor pt = f32(p0, n), mt = f32(n), vt = f32(n);
                be.fill(mt, 0f);
                be.fill(vt, 0f);
                for (int step = 1; step <= 3; step++) {
                    float[] g = normal(n, 0.1 * step);
                    be.adamw(pt, f32(g, n), mt, vt, new AdamWStep(lr, beta1, beta2, eps, wd, step));
                    Reference.adamw(p, d(g), m, v, lr, beta1, beta2, eps, wd, step, n, 1);
                    String what = "adamw n=" + n + " wd=" + wd + " step " + step;
                    assertClose(what + " param", p, be.downloadFloats(pt), OPTIMIZER);
                    assertClose(what + " m", m, be.downloadFloats(mt), OPTIMIZER);
                    assertClose(what + " v", v, be.downloadFloats(vt), OPTIMIZER);
                }
            }
        }
        AdamWStep s = new AdamWStep(lr, beta1, beta2, eps, 0f, 1);
        Tensor a = f32(4, 3);
        assertShapeError("adamw", () -> be.adamw(a, a, a, f32(12), s));
        assertDtypeError("adamw", () -> be.adamw(a, bf16(4, 3), a, a, s));
    }

    /** The flat multi-tensor form: decay on a prefix, clipping decided from gradNorm[0], nothing on a bad norm. */
    @Test
    void adamwFlat() {
        float lr = 3e-3f, beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, wd = 0.1f;
        int n = 1030;
        // gradNorm is taken as given, not recomputed: 4.0 is not the norm of these gradients.
        record Case(String name, int decayed, float gradNorm, float clipNorm, boolean updates) {}
        Case[] cases = {
            new Case("no clipping (clipNorm 0)", 517, 4f, 0f, true),
            new Case("norm above clipNorm: scaled by clip / (norm + 1e-6)", 517, 4f, 1.5f, true),
            new Case("norm below clipNorm: unscaled", 1, 4f, 9f, true),
            new Case("everything decayed", n, 4f, 1f, true),
            new Case("nothing decayed", 0, 4f, 1f, true),
            new Case("NaN norm: nothing updated", 517, Float.NaN, 1f, false),
            new Case("infinite norm: nothing updated", 517, Float.POSITIVE_INFINITY, 0f, false),
        };
        for (Case c : cases) {
            float[] p0 = normal(n, 1), m0 = normal(n, 0.01), v0 = uniform(n, 1e-5, 1e-3);
            double[] p = d(p0), m = d(m0), v = d(v0);
            Tensor pt = f32(p0, n), mt = f32(m0, n), vt = f32(v0, n), norm = f32(new float[] {c.gradNorm()}, 1);
            for (int step = 1; step <= 3; step++) {
                float[] g = normal(n, 1);
                Tensor gt = f32(g, n);
                be.adamw(pt, gt, mt, vt, new AdamWStep(lr, beta1, beta2, eps, wd, step), c.decayed(), norm, c.clipNorm());
                String what = "adamw flat, " + c.name() + ", step " + step;
                assertArrayEquals(g, be.downloadFloats(gt), what + ": grad is not modified");
                if (!c.updates()) {
                    assertArrayEquals(p0, be.downloadFloats(pt), what + ": param");
                    assertArrayEquals(m0, be.downloadFloats(mt), what + ": m");
                    assertArrayEquals(v0, be.downloadFloats(vt), what + ": v");
                    continue;
                }
                double clip = c.clipNorm() > 0 && c.gradNorm() > c.clipNorm() ? c.clipNorm() / (c.gradNorm() + 1e-6) : 1;
                Reference.adamw(p, d(g), m, v, lr, beta1, beta2, eps, wd, step, c.decayed(), clip);
                assertClose(what + " param", p, be.downloadFloats(pt), OPTIMIZER);
                assertClose(what + " m", m, be.downloadFloats(mt), OPTIMIZER);
                assertClose(what + " v", v, be.downloadFloats(vt), OPTIMIZER);
            }
        }
        AdamWStep s = new AdamWStep(lr, beta1, beta2, eps, wd, 1);
        Tensor a = f32(12), norm = f32(new float[] {1f}, 1);
        assertShapeError("adamw", () -> be.adamw(a, f32(11), a, a, s, 12, norm, 1f));
        assertShapeError("adamw", () -> be.adamw(a, a, a, a, s, 12, f32(0), 1f));
        assertDtypeError("adamw", () -> be.adamw(a, a, a, a, s, 12, i32(new int[] {1}, 1), 1f));
    }

    // ================================================================ helpers: data

    /** {@code n} floats from a normal distribution times {@code scale}. */
    private float[] normal(int n, double scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rng.nextGaussian() * scale);
        }
        return x;
    }

    /** {@code n} floats uniform in {@code [lo, hi)}. */
    private float[] uniform(int n, double lo, double hi) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (lo + rng.nextDouble() * (hi - lo));
        }
        return x;
    }

    /** Normalisation weights: around 1, never 0. */
    private float[] around1(int n) {
        float[] w = uniform(n, 0.5, 1.5);
        for (int i = 0; i < n; i += 2) {
            w[i] = -w[i] + 2.5f; // some above 1
        }
        return w;
    }

    /** {@code n} ints uniform in {@code [0, bound)}. */
    private int[] ints(int n, int bound) {
        int[] x = new int[n];
        for (int i = 0; i < n; i++) {
            x[i] = rng.nextInt(bound);
        }
        return x;
    }

    static double[] d(float[] x) {
        double[] out = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = x[i];
        }
        return out;
    }

    static float[] toFloat(double[] x) {
        float[] out = new float[x.length];
        for (int i = 0; i < x.length; i++) {
            out[i] = (float) x[i];
        }
        return out;
    }

    static float[] concat(float[] a, float[] b) {
        float[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    static long[] prepend(long first, long[] shape) {
        long[] out = new long[shape.length + 1];
        out[0] = first;
        System.arraycopy(shape, 0, out, 1, shape.length);
        return out;
    }

    // ================================================================ helpers: device tensors

    /** A new F32 tensor of this test's arena holding {@code data} (uploaded). */
    private Tensor f32(float[] data, long... shape) {
        Tensor t = arena.allocate(DType.F32, shape);
        be.upload(data, t);
        return t;
    }

    /** A new I32 tensor holding {@code data}. */
    private Tensor i32(int[] data, long... shape) {
        Tensor t = arena.allocate(DType.I32, shape);
        be.upload(data, t);
        return t;
    }

    /** A new zero-filled F32 tensor: for outputs that start at zero, and for argument checks. */
    private Tensor f32(long... shape) {
        return arena.allocate(DType.F32, shape);
    }

    /** A new zero-filled BF16 tensor. */
    private Tensor bf16(long... shape) {
        return arena.allocate(DType.BF16, shape);
    }

    /** A new zero-filled I32 tensor. */
    private Tensor i32(long... shape) {
        return arena.allocate(DType.I32, shape);
    }

    /** A new F32 tensor with every element {@code value}: NaN for outputs, to prove they are overwritten. */
    private Tensor filled(float value, long... shape) {
        Tensor t = arena.allocate(DType.F32, shape);
        be.fill(t, value);
        return t;
    }

    // ================================================================ helpers: assertions

    /** Normwise: {@code |actual - expected| <= tol.abs + tol.rel * max|expected|}; the message names the worst element. */
    static void assertClose(String what, double[] expected, float[] actual, Tol tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        double bound = tol.abs() + tol.rel() * maxAbs(expected);
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= bound) && !(Double.isNaN(expected[i]) && Float.isNaN(actual[i]))) {
                failWorst(what, expected, d(actual), bound, "max|expected| " + String.format("%.3g", maxAbs(expected)));
            }
        }
    }

    /** Element by element: {@code |actual - expected| <= tol.abs + tol.rel * |expected|}. */
    static void assertRelative(String what, double[] expected, float[] actual, Tol tol) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double bound = tol.abs() + tol.rel() * Math.abs(expected[i]);
            if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
                fail(String.format("%s: element %d is %.9g, expected %.9g (relative error %.3g > %.3g)", what, i,
                        actual[i], expected[i], Math.abs(actual[i] - expected[i]) / Math.abs(expected[i]), tol.rel()));
            }
        }
    }

    /**
     * A backward's gradient tensor, pre-filled with {@code prefill}, must now hold {@code prefill + grad}: the
     * bound is {@code tol} relative to the gradient's own size, plus one rounding of the final addition.
     */
    static void assertAccumulated(String what, float[] prefill, double[] grad, float[] actual, Tol tol) {
        double[] expected = new double[grad.length];
        for (int i = 0; i < grad.length; i++) {
            expected[i] = prefill[i] + grad[i];
        }
        double bound = tol.abs() + tol.rel() * maxAbs(grad) + 0x1p-23 * maxAbs(expected);
        for (int i = 0; i < grad.length; i++) {
            if (!(Math.abs(actual[i] - expected[i]) <= bound)) {
                failWorst(what + " (accumulated onto its prefill)", expected, d(actual), bound,
                        "max|gradient| " + String.format("%.3g", maxAbs(grad)));
            }
        }
    }

    /** The reference's analytic gradient against central differences of {@code sum(f(x) * w)}. */
    static void checkGradient(String what, Function<double[], double[]> f, double[] x, double[] w,
                              double[] analytic) {
        double[] numeric = Reference.numericGradient(f, x, w);
        double bound = FINITE_DIFFERENCE.abs() + FINITE_DIFFERENCE.rel() * maxAbs(numeric);
        for (int i = 0; i < x.length; i++) {
            if (!(Math.abs(analytic[i] - numeric[i]) <= bound)) {
                failWorst(what + ": the reference's analytic gradient against finite differences", numeric, analytic,
                        bound, "max|numeric| " + String.format("%.3g", maxAbs(numeric)));
            }
        }
    }

    private static void failWorst(String what, double[] expected, double[] actual, double bound, String scale) {
        int worst = 0;
        double worstErr = -1;
        for (int i = 0; i < expected.length; i++) {
            double err = Math.abs(actual[i] - expected[i]);
            err = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
            if (err > worstErr) {
                worst = i;
                worstErr = err;
            }
        }
        fail(String.format("%s: element %d of %d is %.9g, expected %.9g (error %.3g > bound %.3g; %s)", what, worst,
                expected.length, actual[worst], expected[worst], worstErr, bound, scale));
    }

    static double maxAbs(double[] x) {
        double m = 0;
        for (double v : x) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    /** A bad shape throws {@link ShapeMismatchException} naming the operation. */
    static void assertShapeError(String op, Executable call) {
        ShapeMismatchException e = assertThrows(ShapeMismatchException.class, call, op + ": a wrong shape");
        assertTrue(e.getMessage() != null && e.getMessage().contains(op), "the message names " + op + ": " + e.getMessage());
    }

    /** A wrong dtype throws {@link IllegalArgumentException} naming the operation. */
    static void assertDtypeError(String op, Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call, op + ": a wrong dtype");
        assertTrue(e.getMessage() != null && e.getMessage().contains(op), "the message names " + op + ": " + e.getMessage());
    }

    /**
     * Bad data inside an operation (an id outside the vocabulary) throws {@link KernelDataException} from the
     * operation or, on a device, from the next synchronize; the message names the op and the given words (the
     * bad value and its position). The error is reported once: the next synchronize is clean.
     */
    private void assertDataError(String op, Executable call, String... words) {
        KernelDataException e = assertThrows(KernelDataException.class, () -> {
            call.execute();
            be.synchronize();
        }, op + ": bad data");
        assertTrue(e.getMessage() != null && e.getMessage().contains(op), "the message names " + op + ": " + e.getMessage());
        for (String word : words) {
            assertTrue(Pattern.compile("(?<![\\w-])" + Pattern.quote(word) + "(?!\\w)").matcher(e.getMessage()).find(),
                    "the message names " + word + ": " + e.getMessage());
        }
        be.synchronize();
    }
}
