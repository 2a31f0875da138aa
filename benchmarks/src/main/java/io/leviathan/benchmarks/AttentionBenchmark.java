package io.leviathan.benchmarks;

import io.leviathan.backend.cpu.CpuBackend;
import io.leviathan.backend.cpu.Parallel;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Causal attention on the CPU backend, forward and forward + backward: {@code impl=flash} is the backend's
 * kernel (tiled, online softmax, saves only {@code lse [B, H, T]} and recomputes the probabilities in the
 * backward), {@code impl=probs} the kernel it replaced ({@link LegacyProbsAttention}, which saves the
 * probabilities {@code [B, H, T, T]}). Both are F32 with the same thread count. The score is milliseconds
 * per call.
 *
 * <p>The state each saves for the backward pass (printed at setup as well):
 * <pre>
 *   B=1, H=8, T=512:   probs B*H*T*T*4 =  8 MiB    lse B*H*T*4 = 16 KiB
 *   B=1, H=8, T=1024:  probs           = 32 MiB    lse         = 32 KiB
 * </pre>
 * The flash kernel's per-thread scratch is {@code O(T * Dh)} floats (about 1.8 MiB per thread for the
 * backward at T=1024, Dh=64), allocated once and reused. Other shapes: {@code -p batch=8 -p heads=4 -p seq=256}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 2)
public class AttentionBenchmark {
    @Param({"512", "1024"})
    public int seq;

    @Param({"flash", "probs"})
    public String impl;

    @Param({"1"})
    public int batch;

    @Param({"8"})
    public int heads;

    @Param({"64"})
    public int headDim;

    @Param({"2"})
    public int threads;

    private TensorArena arena;
    private CpuBackend backend;
    private Parallel par;
    private boolean flash;
    private Tensor q, k, v, out, dOut, dQ, dK, dV;
    /** What the forward saves for the backward: lse [B, H, T] (flash) or probs [B, H, T, T]. */
    private Tensor saved;

    @Setup(Level.Trial)
    public void setup() {
        flash = switch (impl) {
            case "flash" -> true;
            case "probs" -> false;
            default -> throw new IllegalArgumentException("impl must be flash or probs, got " + impl);
        };
        backend = new CpuBackend(threads);
        par = new Parallel(threads);
        arena = new TensorArena();
        long[] shape = {batch, seq, heads, headDim};
        q = random(arena, 1, shape);
        k = random(arena, 2, shape);
        v = random(arena, 3, shape);
        dOut = random(arena, 4, shape);
        out = arena.allocate(DType.F32, shape);
        dQ = arena.allocate(DType.F32, shape);
        dK = arena.allocate(DType.F32, shape);
        dV = arena.allocate(DType.F32, shape);
        saved = flash ? arena.allocate(DType.F32, batch, heads, seq) : arena.allocate(DType.F32, batch, heads, seq, seq);
        System.out.printf("%nsaved state for the backward, impl=%s B=%d H=%d T=%d: %s %s = %d bytes (%.1f KiB)%n",
                impl, batch, heads, seq, flash ? "lse" : "probs", Arrays.toString(saved.shape()),
                saved.byteSize(), saved.byteSize() / 1024.0);
    }

    @Benchmark
    public Tensor forward() {
        if (flash) {
            backend.attention(q, k, v, out, saved);
        } else {
            LegacyProbsAttention.attention(par, q, k, v, out, saved);
        }
        return out;
    }

    /** The forward, then the backward into dQ, dK and dV (which accumulate across calls; no zeroing). */
    @Benchmark
    public Tensor forwardBackward() {
        forward();
        if (flash) {
            backend.attentionBackward(dOut, q, k, v, out, saved, dQ, dK, dV);
        } else {
            LegacyProbsAttention.attentionBackward(par, dOut, q, k, v, saved, dQ, dK, dV);
        }
        return dQ;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        par.close();
        backend.close();
        arena.close();
    }

    private static Tensor random(TensorArena arena, long seed, long[] shape) {
        Tensor t = arena.allocate(DType.F32, shape);
        SplittableRandom r = new SplittableRandom(seed);
        float[] x = new float[Math.toIntExact(t.numel())];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) (r.nextDouble() * 2 - 1);
        }
        return t.copyFrom(x);
    }
}
