package io.leviathan.benchmarks;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.LeviathanGenerator;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ParameterStore;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Leviathan generator forward + backward at the default configuration (k 3, d_seed 128, 8 heads, 32 knots,
 * rank 64) for a batch of 8 x 256 token ids at the o200k vocabulary, with and without de-duplication.
 * Scores are tokens per second. Ids are drawn from a Zipf law (exponent 1.1), which repeats tokens about as
 * often as English text does, so de-duplication meets realistic batches. The ids are passed from the host as
 * a data loader would, so the generator does not download them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@OperationsPerInvocation(GeneratorBenchmark.TOKENS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class GeneratorBenchmark {
    static final int TOKENS = 8 * 256;
    static final int VOCAB = 200_019;

    @Param({"true", "false"})
    public boolean dedup;

    @Param({"2"})
    public int threads;

    private Backend backend;
    private TensorArena arena;
    private LeviathanGenerator generator;
    private ParameterStore store;
    private int[] hostIds;
    private Tensor ids;
    private Tensor out;
    private Tensor dOut;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.cpu(threads);
        arena = backend.newArena();
        ModelConfig config = new ModelConfig(Family.DENSE, VOCAB, 512, 1, 8, 1408, 1e-5f, 10000f, 256, false, null)
                .asLeviathan(GeneratorConfig.defaults());
        store = new ParameterStore(arena);
        generator = new LeviathanGenerator(backend, arena, store, config, TOKENS, dedup);
        generator.initialize(1);
        hostIds = zipfIds(TOKENS, VOCAB, 1.1, 7);
        ids = arena.allocate(DType.I32, TOKENS);
        backend.upload(hostIds, ids);
        out = arena.allocate(DType.F32, TOKENS, 512);
        dOut = arena.allocate(DType.F32, TOKENS, 512);
        backend.fill(dOut, 1e-3f);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        System.out.println("\ndistinct ids per batch: " + generator.lastUniqueCount() + " of " + TOKENS
                + ", padded to " + generator.lastBucket());
        arena.close();
        backend.close();
    }

    @Benchmark
    public void forwardBackward() {
        generator.forward(ids, hostIds, out);
        generator.backward(dOut, ids);
    }

    /** {@code n} ids with P(rank r) proportional to 1 / r^s over {@code vocab} ranks, ranks shuffled onto ids. */
    static int[] zipfIds(int n, int vocab, double s, long seed) {
        double[] cdf = new double[vocab];
        double sum = 0;
        for (int r = 0; r < vocab; r++) {
            sum += 1.0 / Math.pow(r + 1, s);
            cdf[r] = sum;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] perm = new int[vocab];
        for (int i = 0; i < vocab; i++) {
            perm[i] = i;
        }
        for (int i = vocab - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            double u = rnd.nextDouble() * sum;
            int lo = 0;
            int hi = vocab - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            ids[i] = perm[lo];
        }
        return ids;
    }
}
