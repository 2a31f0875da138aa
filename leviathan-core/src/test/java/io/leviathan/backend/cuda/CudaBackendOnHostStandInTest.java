package io.leviathan.backend.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.backend.KernelDataException;
import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import io.leviathan.bindings.cuda.CuBlas;
import io.leviathan.bindings.cuda.CuBlasLt;
import io.leviathan.bindings.cuda.CudaLibraries;
import io.leviathan.bindings.cuda.CudaLibrary;
import io.leviathan.bindings.cuda.LeviathanCuda;
import io.leviathan.tensor.Bf16;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link CudaBackend}'s own code, without a GPU: the backend runs on host-memory stand-ins for the kernel
 * library and cuBLAS ({@code src/test/c}, compiled here with the system C compiler against
 * {@code leviathan_cuda.h}), which export the real symbols with the real signatures. Every call goes through
 * the real FFM bindings, so this checks the argument order of the runtime and cuBLAS calls, the GEMM
 * mapping as cuBLAS receives it (against the CPU backend), pinned staging and chunking, the error record and
 * its message, the caching allocator (nothing from the driver once warm) and that close frees everything.
 * The stand-ins compute nothing a GPU kernel computes: the kernels' maths is checked elsewhere.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CudaBackendOnHostStandInTest {
    private static final NativeFunction LIVE_DEVICE = new NativeFunction("fake_live_device_blocks",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG), "long fake_live_device_blocks(void);");
    private static final NativeFunction SET_DEVICE_CALLS = new NativeFunction("fake_set_device_calls",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG), "long fake_set_device_calls(void);");
    private static final NativeFunction LIVE_HOST = new NativeFunction("fake_live_host_blocks",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG), "long fake_live_host_blocks(void);");
    private static final NativeFunction LIVE_HANDLES = new NativeFunction("fake_live_handles",
            FunctionDescriptor.of(ValueLayout.JAVA_INT), "int fake_live_handles(void);");
    private static final NativeFunction MATH_MODE = new NativeFunction("fake_math_mode",
            FunctionDescriptor.of(ValueLayout.JAVA_INT), "int fake_math_mode(void);");

    private static final NativeFunction LT_LIVE = new NativeFunction("fake_lt_live_objects",
            FunctionDescriptor.of(ValueLayout.JAVA_INT), "int fake_lt_live_objects(void);");
    private static final NativeFunction LT_HEURISTICS = new NativeFunction("fake_lt_heuristic_calls",
            FunctionDescriptor.of(ValueLayout.JAVA_INT), "int fake_lt_heuristic_calls(void);");
    private static final NativeFunction LT_MATMULS = new NativeFunction("fake_lt_matmul_calls",
            FunctionDescriptor.of(ValueLayout.JAVA_INT), "int fake_lt_matmul_calls(void);");

    @TempDir
    static Path build;

    private LinkedLibrary lvLibrary;
    private LinkedLibrary cublasLibrary;
    private LinkedLibrary cublasLtLibrary;
    private Path lvFile;
    private Path cublasFile;
    private Path ltFile;
    private LeviathanCuda lib;
    private CuBlas cublas;
    private CudaBackend be;
    private Backend cpu;

    @BeforeAll
    void compileStandIns() throws IOException, InterruptedException {
        Path sources = Path.of("src/test/c").toAbsolutePath();
        Path include = sources.resolve("../../../../native/include").normalize();
        Path lv = compile(sources.resolve("fake_leviathan_cuda.c"), include, build.resolve("libfake_leviathan_cuda.so"));
        Path cb = compile(sources.resolve("fake_cublas.c"), include, build.resolve("libfake_cublas.so"));
        ltFile = compile(sources.resolve("fake_cublaslt.c"), include, build.resolve("libfake_cublaslt.so"));
        cublasLtLibrary = LinkedLibrary.load(ltFile.toString());
        lvFile = lv;
        cublasFile = cb;
        lvLibrary = LinkedLibrary.load(lv.toString());
        cublasLibrary = LinkedLibrary.load(cb.toString());
        lib = new LeviathanCuda(lvLibrary);
        cublas = new CuBlas(cublasLibrary);
        be = CudaBackend.open(lib, cublas, null, 0);
        cpu = Backends.cpu(1);
    }

    private static Path compile(Path source, Path include, Path out) throws IOException, InterruptedException {
        Process p;
        try {
            p = new ProcessBuilder("cc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I" + include,
                    "-o", out.toString(), source.toString()).redirectErrorStream(true).start();
        } catch (IOException noCompiler) {
            Assumptions.abort("no C compiler (cc) to build the host stand-ins: " + noCompiler.getMessage());
            throw noCompiler;
        }
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "cc timed out on " + source);
        assertEquals(0, p.exitValue(), "cc " + source + " failed:\n" + log);
        return out;
    }

    @AfterAll
    void closeAll() {
        if (cpu != null) {
            cpu.close();
        }
        if (be != null) {
            be.close();
        }
    }

    private long counter(LinkedLibrary l, NativeFunction f) {
        try {
            return f.descriptor().returnLayout().orElseThrow() == ValueLayout.JAVA_LONG
                    ? (long) l.handle(f).invokeExact()
                    : (long) (int) l.handle(f).invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static float[] random(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) rng.nextDouble(-2, 2);
        }
        return x;
    }

    @Test
    void tensorsLiveOnTheDeviceAndRoundTripThroughStaging() {
        SplittableRandom rng = new SplittableRandom(1);
        assertEquals("cuda", be.name());
        assertEquals(Device.CUDA, be.device());
        assertEquals("host stand-in", be.deviceName());
        assertEquals(130100, be.cublasVersion());
        try (TensorArena arena = be.newArena()) {
            Tensor f = arena.allocate(DType.F32, 7, 13);
            assertThrows(IllegalStateException.class, f::segment, "device memory is not host accessible");
            assertArrayEquals(new float[91], be.downloadFloats(f), "new tensors are zero-filled");
            float[] x = random(rng, 91);
            be.upload(x, f);
            assertArrayEquals(x, be.downloadFloats(f));

            Tensor h = arena.allocate(DType.BF16, 91);
            be.upload(x, h);
            float[] rounded = new float[91];
            for (int i = 0; i < 91; i++) {
                rounded[i] = Bf16.toFloat(Bf16.fromFloat(x[i]));
            }
            assertArrayEquals(rounded, be.downloadFloats(h), "BF16 upload rounds to nearest even");

            Tensor ids = arena.allocate(DType.I32, 5);
            int[] iv = {3, -1, 7, Integer.MAX_VALUE, 0};
            be.upload(iv, ids);
            assertArrayEquals(iv, be.downloadInts(ids));

            try (Arena host = Arena.ofConfined()) {
                MemorySegment src = host.allocate(91 * 4);
                for (int i = 0; i < 91; i++) {
                    src.setAtIndex(ValueLayout.JAVA_FLOAT, i, -x[i]);
                }
                be.upload(src, f);
                MemorySegment back = host.allocate(91 * 4);
                be.download(f, back);
                assertEquals(-1, src.mismatch(back), "segment round trip");
            }

            // Larger than one staging chunk: the transfer is split and every element still arrives.
            int big = (int) (CudaTransfer.CHUNK_BYTES / 4) * 2 + 12345;
            Tensor large = arena.allocate(DType.F32, big);
            float[] lx = random(rng, big);
            be.upload(lx, large);
            assertArrayEquals(lx, be.downloadFloats(large), "chunked round trip of " + big + " floats");
        }
    }

    @Test
    void memoryAvailableIsTheDriversFreeMemoryPlusTheCachedBlocks() {
        long requested = 4L * (786_432 + 12_345);
        long during;
        try (TensorArena arena = be.newArena()) {
            arena.allocate(DType.F32, requested / 4);
            during = be.memoryAvailable().orElseThrow();
            assertTrue(during >= 40L << 30, "at least the driver's free memory: " + during);
        }
        long after = be.memoryAvailable().orElseThrow();
        assertTrue(after - during >= requested, "the freed block counts as available again: " + during + " -> " + after);
        assertTrue(cpu.memoryAvailable().isEmpty(), "the CPU backend leaves host memory to the caller");
    }

    @Test
    void copyFillAndAddCallTheLibraryWithTheirArgumentsInOrder() {
        SplittableRandom rng = new SplittableRandom(2);
        try (TensorArena arena = be.newArena()) {
            float[] a = random(rng, 33), b = random(rng, 33);
            Tensor ta = arena.allocate(DType.F32, 33), tb = arena.allocate(DType.F32, 33);
            Tensor out = arena.allocate(DType.F32, 33);
            be.upload(a, ta);
            be.upload(b, tb);
            be.add(ta, tb, out);
            float[] sum = new float[33];
            for (int i = 0; i < 33; i++) {
                sum[i] = a[i] + b[i];
            }
            assertArrayEquals(sum, be.downloadFloats(out));

            Tensor half = arena.allocate(DType.BF16, 33);
            be.copy(ta, half);
            Tensor wide = arena.allocate(DType.F32, 33);
            be.copy(half, wide);
            float[] rounded = new float[33];
            for (int i = 0; i < 33; i++) {
                rounded[i] = Bf16.toFloat(Bf16.fromFloat(a[i]));
            }
            assertArrayEquals(rounded, be.downloadFloats(wide), "F32 -> BF16 -> F32");
            be.copy(ta, tb);
            assertArrayEquals(a, be.downloadFloats(tb), "same-dtype copy");
            be.fill(out, -3.5f);
            float[] filled = new float[33];
            Arrays.fill(filled, -3.5f);
            assertArrayEquals(filled, be.downloadFloats(out));
            assertThrows(IllegalArgumentException.class, () -> be.copy(ta, arena.allocate(DType.I32, 33)));
        }
    }

    @Test
    void matmulThroughCublasMatchesTheCpuBackend() {
        SplittableRandom rng = new SplittableRandom(3);
        int m = 7, n = 5, k = 9, batch = 3;
        int cases = 0;
        for (DType ta : new DType[] {DType.F32, DType.BF16}) {
            for (DType tb : new DType[] {DType.F32, DType.BF16}) {
                for (int mode = 0; mode < 4; mode++) { // rank 2; both rank 3; a broadcast; b broadcast
                    for (boolean transA : new boolean[] {false, true}) {
                        for (boolean transB : new boolean[] {false, true}) {
                            boolean aBatched = mode == 1 || mode == 3, bBatched = mode == 1 || mode == 2;
                            long[] aMat = transA ? new long[] {k, m} : new long[] {m, k};
                            long[] bMat = transB ? new long[] {n, k} : new long[] {k, n};
                            long[] as = aBatched ? new long[] {batch, aMat[0], aMat[1]} : aMat;
                            long[] bs = bBatched ? new long[] {batch, bMat[0], bMat[1]} : bMat;
                            long[] cs = mode == 0 ? new long[] {m, n} : new long[] {batch, m, n};
                            float alpha = mode == 0 ? 1f : 0.5f, beta = mode == 0 ? 0f : -1.25f;
                            float[] a = random(rng, (int) Arrays.stream(as).reduce(1, (x, y) -> x * y));
                            float[] b = random(rng, (int) Arrays.stream(bs).reduce(1, (x, y) -> x * y));
                            float[] c = random(rng, (int) Arrays.stream(cs).reduce(1, (x, y) -> x * y));
                            if (beta == 0f) {
                                Arrays.fill(c, Float.NaN); // beta = 0 must ignore what c held
                            }
                            float[] expected = run(cpu, a, ta, as, transA, b, tb, bs, transB, c, cs, alpha, beta);
                            float[] actual = run(be, a, ta, as, transA, b, tb, bs, transB, c, cs, alpha, beta);
                            String what = ta + "x" + tb + " mode " + mode + " tA=" + transA + " tB=" + transB;
                            for (int i = 0; i < expected.length; i++) {
                                assertTrue(Math.abs(actual[i] - expected[i]) <= 1e-5 * (1 + Math.abs(expected[i])),
                                        what + ": element " + i + " " + actual[i] + " vs CPU " + expected[i]);
                            }
                            cases++;
                        }
                    }
                }
            }
        }
        assertEquals(64, cases);
        assertEquals(CuBlas.CUBLAS_DEFAULT_MATH, (int) counter(cublasLibrary, MATH_MODE), "TF32 off by default");
    }

    @Test
    void bf16ProductsGoThroughCublasLtWithOnePlanPerShape() {
        SplittableRandom rng = new SplittableRandom(5);
        CuBlasLt lt = new CuBlasLt(cublasLtLibrary);
        int liveBefore = (int) counter(cublasLtLibrary, LT_LIVE);
        try (CudaBackend withLt = CudaBackend.open(lib, cublas, lt, 0)) {
            assertTrue(withLt.hasCublasLt());
            int m = 6, n = 11, k = 5, batch = 2;
            int heuristicsBefore = (int) counter(cublasLtLibrary, LT_HEURISTICS);
            int matmulsBefore = (int) counter(cublasLtLibrary, LT_MATMULS);
            int shapes = 0;
            for (int mode = 0; mode < 4; mode++) {
                for (boolean transA : new boolean[] {false, true}) {
                    for (boolean transB : new boolean[] {false, true}) {
                        boolean aBatched = mode == 1 || mode == 3, bBatched = mode == 1 || mode == 2;
                        long[] aMat = transA ? new long[] {k, m} : new long[] {m, k};
                        long[] bMat = transB ? new long[] {n, k} : new long[] {k, n};
                        long[] as = aBatched ? new long[] {batch, aMat[0], aMat[1]} : aMat;
                        long[] bs = bBatched ? new long[] {batch, bMat[0], bMat[1]} : bMat;
                        long[] cs = mode == 0 ? new long[] {m, n} : new long[] {batch, m, n};
                        shapes++;
                        for (int repeat = 0; repeat < 2; repeat++) { // the second call reuses the plan
                            float alpha = repeat == 0 ? 1f : -2f, beta = repeat == 0 ? 0f : 0.5f;
                            float[] a = random(rng, (int) Arrays.stream(as).reduce(1, (x, y) -> x * y));
                            float[] b = random(rng, (int) Arrays.stream(bs).reduce(1, (x, y) -> x * y));
                            float[] c = random(rng, (int) Arrays.stream(cs).reduce(1, (x, y) -> x * y));
                            if (beta == 0f) {
                                Arrays.fill(c, Float.NaN);
                            }
                            float[] expected = run(cpu, a, DType.BF16, as, transA, b, DType.BF16, bs, transB, c, cs, alpha, beta);
                            float[] actual = run(withLt, a, DType.BF16, as, transA, b, DType.BF16, bs, transB, c, cs, alpha, beta);
                            for (int i = 0; i < expected.length; i++) {
                                assertTrue(Math.abs(actual[i] - expected[i]) <= 1e-5 * (1 + Math.abs(expected[i])),
                                        "cuBLASLt mode " + mode + " tA=" + transA + " tB=" + transB + " element " + i
                                                + ": " + actual[i] + " vs CPU " + expected[i]);
                            }
                        }
                    }
                }
            }
            assertEquals(shapes, withLt.cublasLtPlans(), "one plan per shape");
            assertEquals(shapes, (int) counter(cublasLtLibrary, LT_HEURISTICS) - heuristicsBefore, "one heuristic per shape");
            assertEquals(2 * shapes, (int) counter(cublasLtLibrary, LT_MATMULS) - matmulsBefore, "every BF16 GEMM on cuBLASLt");
        }
        assertEquals(liveBefore, (int) counter(cublasLtLibrary, LT_LIVE), "descriptors, layouts and handle destroyed");
    }

    @Test
    void openingThroughLibraryDiscoveryLoadsTheKernelLibraryCublasAndCublasLt() {
        Map<String, String> properties = Map.of(
                CudaLibrary.LEVIATHAN.property(), lvFile.toString(),
                CudaLibrary.CUBLAS.property(), cublasFile.toString(),
                CudaLibrary.CUBLAS_LT.property(), ltFile.toString());
        CudaLibraries libraries = new CudaLibraries(new CudaLibraries.Environment(Map.of(), properties, List::of,
                Path.of("/"), name -> false, name -> null, build.resolve("cache")));
        int matmulsBefore = (int) counter(cublasLtLibrary, LT_MATMULS);
        try (CudaBackend found = CudaBackend.open(libraries, 0)) {
            assertTrue(found.hasCublasLt());
            float[] a = {1, 2, 3, 4, 5, 6}, b = {1, 0, -1, 2, 0.5f, 0.25f};
            float[] expected = run(cpu, a, DType.BF16, new long[] {2, 3}, false, b, DType.BF16, new long[] {3, 2},
                    false, new float[4], new long[] {2, 2}, 1f, 0f);
            assertArrayEquals(expected, run(found, a, DType.BF16, new long[] {2, 3}, false, b, DType.BF16,
                    new long[] {3, 2}, false, new float[4], new long[] {2, 2}, 1f, 0f));
        }
        assertEquals(matmulsBefore + 1, (int) counter(cublasLtLibrary, LT_MATMULS), "the BF16 GEMM ran on cuBLASLt");
    }

    private static float[] run(Backend b, float[] a, DType ta, long[] as, boolean transA, float[] bv, DType tb,
                               long[] bs, boolean transB, float[] c, long[] cs, float alpha, float beta) {
        try (TensorArena arena = b.newArena()) {
            Tensor at = arena.allocate(ta, as), bt = arena.allocate(tb, bs), ct = arena.allocate(DType.F32, cs);
            b.upload(a, at);
            b.upload(bv, bt);
            b.upload(c, ct);
            b.matmul(at, transA, bt, transB, ct, alpha, beta);
            return b.downloadFloats(ct);
        }
    }

    @Test
    void anEmptyInnerDimensionScalesCAndShapeErrorsNameTheOperation() {
        try (TensorArena arena = be.newArena()) {
            Tensor a = arena.allocate(DType.F32, 3, 0), b = arena.allocate(DType.F32, 0, 4);
            Tensor c = arena.allocate(DType.F32, 3, 4);
            float[] c0 = new float[12];
            Arrays.fill(c0, 2f);
            be.upload(c0, c);
            be.matmul(a, false, b, false, c, 1f, 0.5f);
            float[] ones = new float[12];
            Arrays.fill(ones, 1f);
            assertArrayEquals(ones, be.downloadFloats(c), "k = 0: c = beta * c");
            be.matmul(a, false, b, false, c, 1f, 0f);
            assertArrayEquals(new float[12], be.downloadFloats(c), "k = 0, beta = 0: c = 0");
            Tensor wrong = arena.allocate(DType.F32, 4, 4);
            var e = assertThrows(io.leviathan.tensor.ShapeMismatchException.class,
                    () -> be.matmul(wrong, false, b, false, c, 1f, 0f));
            assertTrue(e.getMessage().startsWith("matmul"), e.getMessage());
        }
    }

    @Test
    void attentionRefusesHeadsWiderThanTheKernelsTileBeforeLaunching() {
        try (TensorArena arena = be.newArena()) {
            Tensor q = arena.allocate(DType.F32, 1, 2, 1, 129);
            Tensor lse = arena.allocate(DType.F32, 1, 1, 2);
            var e = assertThrows(IllegalArgumentException.class, () -> be.attention(q, q, q, q, lse));
            assertTrue(e.getMessage().contains("head dimension 129"), e.getMessage());
            var back = assertThrows(IllegalArgumentException.class,
                    () -> be.attentionBackward(q, q, q, q, q, lse, q, q, q));
            assertTrue(back.getMessage().startsWith("attentionBackward"), back.getMessage());
        }
    }

    @Test
    void badIdsAreReportedAtTheNextSynchronizeOnceWithOpPositionAndValue() {
        try (TensorArena arena = be.newArena()) {
            Tensor table = arena.allocate(DType.F32, 4, 3);
            be.upload(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, table);
            Tensor ids = arena.allocate(DType.I32, 6);
            be.upload(new int[] {0, 3, 1, 2, 1, 40}, ids);
            Tensor out = arena.allocate(DType.F32, 6, 3);
            be.embedding(ids, table, out); // recorded, not thrown
            KernelDataException e = assertThrows(KernelDataException.class, be::synchronize);
            assertTrue(e.getMessage().contains("embedding: id 40 at position 5"), e.getMessage());
            be.synchronize(); // reported once
            be.upload(new int[] {0, 3, 1, 2, 1, 0}, ids);
            be.embedding(ids, table, out);
            assertArrayEquals(new float[] {1, 2, 3, 10, 11, 12, 4, 5, 6, 7, 8, 9, 4, 5, 6, 1, 2, 3},
                    be.downloadFloats(out));
            be.upload(new int[] {-7, 0, 0, 0, 0, -2}, ids);
            be.embedding(ids, table, out);
            KernelDataException d = assertThrows(KernelDataException.class, () -> be.downloadFloats(out));
            assertTrue(d.getMessage().contains("(2 errors, the first shown)") && d.getMessage().contains("id -7 at position 0"),
                    d.getMessage());
        }
    }

    @Test
    void aWarmStepTakesNothingFromTheDriver() {
        SplittableRandom rng = new SplittableRandom(4);
        long afterFirst = 0;
        for (int step = 0; step < 4; step++) {
            try (TensorArena arena = be.newArena()) {
                Tensor x = arena.allocate(DType.F32, 17, 9), w = arena.allocate(DType.BF16, 5, 9);
                Tensor y = arena.allocate(DType.F32, 17, 5), z = arena.allocate(DType.F32, 17, 5);
                be.upload(random(rng, 153), x);
                be.upload(random(rng, 45), w);
                be.matmul(x, false, w, true, y, 1f, 0f); // mixed dtypes: the widened scratch is reused
                be.add(y, y, z);
                be.downloadFloats(z);
            }
            if (step == 0) {
                afterFirst = be.driverAllocations();
            }
        }
        assertEquals(afterFirst, be.driverAllocations(), "steps after the first allocate nothing: " + be.memoryStats());
    }

    @Test
    void emptyTensorsLaunchNothingAndEmptyReductionsHaveTheirValues() {
        // The stand-in exports none of these kernels: any launch would fail to link.
        try (TensorArena arena = be.newArena()) {
            Tensor e = arena.allocate(DType.F32, 0, 5), r = arena.allocate(DType.F32, 0);
            be.silu(e, e);
            be.swiglu(e, e, e);
            be.softmax(e, e);
            be.mul(e, e, e);
            be.sumLastDim(e, r);
            be.rmsNorm(e, arena.allocate(DType.F32, 5), 1e-5f, e, r);
            be.adamw(e, e, e, e, new io.leviathan.backend.AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 1));
            Tensor out = arena.allocate(DType.F32, 1);
            be.sum(e, out);
            assertArrayEquals(new float[] {0f}, be.downloadFloats(out), "the empty sum");
            be.mean(e, out);
            assertTrue(Float.isNaN(be.downloadFloats(out)[0]), "the empty mean is 0 / 0");
        }
    }

    @Test
    void aCallFromAnotherThreadSelectsTheDeviceThereOnce() throws InterruptedException {
        try (TensorArena arena = be.newArena()) {
            Tensor t = arena.allocate(DType.F32, 4);
            be.fill(t, 1f); // this thread is bound now
            long before = counter(lvLibrary, SET_DEVICE_CALLS);
            be.fill(t, 2f);
            assertEquals(before, counter(lvLibrary, SET_DEVICE_CALLS), "the same thread: no device switch");
            Thread other = new Thread(() -> {
                be.fill(t, 3f);
                be.fill(t, 4f);
            });
            other.start();
            other.join();
            assertEquals(before + 1, counter(lvLibrary, SET_DEVICE_CALLS), "a new thread selects the device once");
            assertArrayEquals(new float[] {4, 4, 4, 4}, be.downloadFloats(t));
            assertEquals(before + 2, counter(lvLibrary, SET_DEVICE_CALLS), "and back on this thread, once more");
        }
    }

    @Test
    void statusesBecomeExceptionsNamingTheCallAndTheLibrarysDescription() {
        NativeCallException e = assertThrows(NativeCallException.class,
                () -> lib.check("lv_add", LeviathanCuda.LV_ERR_INVALID_ARGUMENT));
        assertEquals("lv_add failed with status 10001 (invalid argument)", e.getMessage());
        assertEquals("lv_add", e.call());
        lib.check("lv_add", LeviathanCuda.LV_OK);
        NativeCallException c = assertThrows(NativeCallException.class,
                () -> cublas.check("cublasGemmEx", CuBlas.CUBLAS_STATUS_NOT_SUPPORTED));
        assertTrue(c.getMessage().startsWith("cublasGemmEx failed with status 15 (the functionality requested"),
                c.getMessage());
        // A failing runtime call inside an operation surfaces the same way: device 1 does not exist here.
        NativeCallException open = assertThrows(NativeCallException.class, () -> CudaBackend.open(lib, cublas, null, 1));
        assertTrue(open.getMessage().startsWith("lv_"), open.getMessage());
    }

    @Test
    void closeFreesEveryDeviceBlockPinnedBufferAndHandle() {
        long devBefore = counter(lvLibrary, LIVE_DEVICE), hostBefore = counter(lvLibrary, LIVE_HOST);
        long handlesBefore = counter(cublasLibrary, LIVE_HANDLES);
        CudaBackend other = CudaBackend.open(lib, cublas, null, 0);
        TensorArena left;
        try (TensorArena arena = other.newArena()) {
            Tensor t = arena.allocate(DType.F32, 1000);
            other.upload(new float[1000], t);
            other.matmul(t.reshape(10, 100), false, t.reshape(10, 100), true, arena.allocate(DType.F32, 10, 10), 1f, 0f);
            other.downloadFloats(t);
            left = other.newArena();
            left.allocate(DType.F32, 64); // an arena still open when the backend closes
        }
        assertTrue(counter(lvLibrary, LIVE_DEVICE) > devBefore);
        other.close();
        assertEquals(devBefore, counter(lvLibrary, LIVE_DEVICE), "device blocks after close");
        assertEquals(hostBefore, counter(lvLibrary, LIVE_HOST), "pinned buffers after close");
        assertEquals(handlesBefore, counter(cublasLibrary, LIVE_HANDLES), "cuBLAS handles after close");
        left.close(); // after the backend: nothing to free twice
        assertEquals(devBefore, counter(lvLibrary, LIVE_DEVICE));
        other.close(); // idempotent
    }
}
