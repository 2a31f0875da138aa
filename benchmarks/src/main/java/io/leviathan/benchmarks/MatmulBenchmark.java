package io.leviathan.benchmarks;

import io.leviathan.backend.cpu.CpuBackend;
import io.leviathan.bindings.openblas.OpenBlas;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Single-precision matrix multiply {@code C[M, N] = A[M, K] · B[K, N]} (row-major), Leviathan's pure-Java
 * CPU backend against OpenBLAS's {@code cblas_sgemm} on the same native tensors. The score is milliseconds
 * per multiply; {@link #gflops} converts it, and {@link MatmulReport} runs the whole grid and prints GFLOP/s.
 *
 * <p>The {@code trans} parameter ({@code nn}, {@code nt}, {@code tn}, {@code tt}) transposes A and/or B as
 * stored; the default {@code nn} stores both untransposed. The {@code dtype} parameter stores A and B as
 * {@code f32} (the default), {@code bf16} (both), {@code bf16xf32} (A only) or {@code f32xbf16} (B only);
 * C is F32 and the arithmetic F32 in every case. OpenBLAS's sgemm takes F32 only, so {@code impl=openblas}
 * with a BF16 operand fails its setup and is skipped. For {@code impl=openblas}, OpenBLAS's kernel
 * family follows {@code OPENBLAS_CORETYPE} in the environment (the forked JVM inherits it); when the library
 * is missing the setup fails with the reason, and only that parameter combination is skipped.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class MatmulBenchmark {
    /** {@code MxKxN}. */
    @Param({"512x512x512", "1024x1024x1024", "2048x2048x2048", "8192x512x2048", "8192x2048x512"})
    public String shape;

    @Param({"1", "2"})
    public int threads;

    @Param({"leviathan", "openblas"})
    public String impl;

    /** Storage of A and B: {@code n} untransposed, {@code t} transposed (A stored [K, M], B stored [N, K]). */
    @Param({"nn"})
    public String trans;

    /** Storage of A and B: {@code f32}, {@code bf16} (both), {@code bf16xf32} (A only), {@code f32xbf16} (B only). */
    @Param({"f32"})
    public String dtype;

    private TensorArena arena;
    private CpuBackend backend;
    private Tensor a;
    private Tensor b;
    private Tensor c;
    private int m;
    private int k;
    private int n;
    private boolean transA;
    private boolean transB;
    private boolean openblas;

    @Setup(Level.Trial)
    public void setup() {
        int[] mkn = parseShape(shape);
        m = mkn[0];
        k = mkn[1];
        n = mkn[2];
        transA = trans.charAt(0) == 't';
        transB = trans.charAt(1) == 't';
        DType[] types = parseDTypes(dtype);
        openblas = switch (impl) {
            case "leviathan" -> false;
            case "openblas" -> true;
            default -> throw new IllegalArgumentException("impl must be leviathan or openblas, got " + impl);
        };
        if (openblas) {
            if (types[0] != DType.F32 || types[1] != DType.F32) {
                String why = "OpenBLAS sgemm takes F32 only, skipping impl=openblas dtype=" + dtype;
                System.out.println(why);
                throw new IllegalStateException(why);
            }
            if (!OpenBlas.isAvailable()) {
                String why = "OpenBLAS unavailable, skipping impl=openblas: " + OpenBlas.unavailableReason().orElse("?");
                System.out.println(why);
                throw new IllegalStateException(why);
            }
            OpenBlas.openblas_set_num_threads(threads);
            System.out.println("OpenBLAS core " + OpenBlas.openblas_get_corename() + ", "
                    + OpenBlas.openblas_get_num_threads() + " threads");
        } else {
            backend = new CpuBackend(threads);
        }
        arena = new TensorArena();
        a = random(arena, 1, types[0], transA ? new long[] {k, m} : new long[] {m, k});
        b = random(arena, 2, types[1], transB ? new long[] {n, k} : new long[] {k, n});
        c = arena.allocate(DType.F32, m, n);
    }

    @Benchmark
    public Tensor matmul() {
        if (openblas) {
            OpenBlas.cblas_sgemm(OpenBlas.CblasRowMajor,
                    transA ? OpenBlas.CblasTrans : OpenBlas.CblasNoTrans,
                    transB ? OpenBlas.CblasTrans : OpenBlas.CblasNoTrans,
                    m, n, k, 1f, a.segment(), transA ? m : k, b.segment(), transB ? k : n, 0f, c.segment(), n);
        } else {
            backend.matmul(a, transA, b, transB, c, 1f, 0f);
        }
        return c;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (backend != null) {
            backend.close();
        }
        if (arena != null) {
            arena.close();
        }
    }

    /** {@code "MxKxN"} as {@code {M, K, N}}. */
    public static int[] parseShape(String shape) {
        String[] p = shape.split("x");
        if (p.length != 3) {
            throw new IllegalArgumentException("shape must be MxKxN, got " + shape);
        }
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }

    /** The dtypes of A and B for a {@code dtype} parameter value. */
    public static DType[] parseDTypes(String dtype) {
        return switch (dtype) {
            case "f32" -> new DType[] {DType.F32, DType.F32};
            case "bf16" -> new DType[] {DType.BF16, DType.BF16};
            case "bf16xf32" -> new DType[] {DType.BF16, DType.F32};
            case "f32xbf16" -> new DType[] {DType.F32, DType.BF16};
            default -> throw new IllegalArgumentException("dtype must be f32, bf16, bf16xf32 or f32xbf16, got " + dtype);
        };
    }

    /** GFLOP/s of one {@code MxKxN} multiply ({@code 2*M*N*K} flops) taking {@code msPerOp} milliseconds. */
    public static double gflops(String shape, double msPerOp) {
        int[] s = parseShape(shape);
        return 2.0 * s[0] * s[1] * s[2] / (msPerOp * 1e6);
    }

    private static Tensor random(TensorArena arena, long seed, DType type, long[] shape) {
        Tensor t = arena.allocate(type, shape);
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return t.copyFrom(x);
    }
}
