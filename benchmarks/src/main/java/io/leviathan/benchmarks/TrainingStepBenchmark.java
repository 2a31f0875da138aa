package io.leviathan.benchmarks;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.model.Family;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterStore;
import io.leviathan.model.Presets;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.reflect.Proxy;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
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
 * A whole training step (zero the gradients, forward with the loss, backward, gradient norm, clipped AdamW,
 * read back the loss and norm) as the trainer runs it, for three models:
 * <ul>
 *   <li>{@code djl}: dense, d_model 256, 4 layers, 4 heads, SwiGLU 688, vocab 8192, untied head, 8 x
 *       {@code seq} tokens (7.36M parameters; the model of the Deep Java Library comparison,
 *       {@code DjlTrainingStepBenchmark} under {@code -Ppeers});</li>
 *   <li>{@code leviathan}: the iso-body Leviathan twin of {@code djl} ({@link ModelConfigs#isoBody}: the same
 *       body, the default generator instead of the 8192-row input table), 8 x {@code seq} tokens;</li>
 *   <li>{@code small}: the {@code small} preset at the o200k vocabulary (200,019), 4 x {@code seq} tokens
 *       (select it with {@code -p model=small -p seq=128}, the length of earlier runs);</li>
 *   <li>{@code small-leviathan}: its iso-body Leviathan twin, 4 x {@code seq} tokens.</li>
 * </ul>
 * {@code ids} draws the batch uniformly or like text (Zipf, s = 1.1); it matters for the Leviathan generator,
 * whose work follows the number of distinct ids in a batch.
 * {@code benchmarks/baseline/TrainingStepBenchmark.java} is the same step written against the API before the
 * device-ready core (per-parameter buffers, Java-valued loss and norm); {@code benchmarks/compare-baseline.sh}
 * builds it at that commit and runs both side by side. {@link #main} prints the backend calls one step makes
 * and the native memory it allocates.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 6)
public class TrainingStepBenchmark {

    @Param({"djl", "leviathan"})
    public String model;

    /** Tokens per sequence. */
    @Param({"256", "1024"})
    public int seq;

    /** How the batch's ids are drawn: {@code zipf} (like text) or {@code uniform}. */
    @Param({"zipf", "uniform"})
    public String ids;

    private Backend backend;
    private Step step;

    /** The model and its optimizer state, set up once. */
    static final class Step implements AutoCloseable {
        final Backend be;
        final LlamaModel model;
        final TensorArena arena;
        final Tensor m, v, stats, lossSum, gradNorm;
        final float[] statsHost = new float[2];
        final List<Tensor> gradList;
        final int[] ids, targets;
        long t;

        /** {@code which} at its earlier setting: 256 tokens per sequence (small: 128), Zipf ids. */
        Step(Backend be, String which) {
            this(be, which, isSmall(which) ? 128 : 256, "zipf");
        }

        Step(Backend be, String which, int seq, String idDistribution) {
            this.be = be;
            int batch = isSmall(which) ? 4 : 8;
            ModelConfig c = config(which, seq);
            model = new LlamaModel(be, c, batch, seq);
            model.initialize(1);
            arena = be.newArena();
            ParameterStore ps = model.parameters();
            m = arena.allocate(DType.F32, ps.flatSize());
            v = arena.allocate(DType.F32, ps.flatSize());
            stats = arena.allocate(DType.F32, 2);
            lossSum = stats.narrow(0, 0, 1);
            gradNorm = stats.narrow(0, 1, 1);
            gradList = List.of(ps.flatGrads());
            int[] stream = ids(idDistribution, batch * seq + 1, c.vocab());
            ids = java.util.Arrays.copyOfRange(stream, 0, batch * seq);
            targets = java.util.Arrays.copyOfRange(stream, 1, batch * seq + 1);
        }

        static ModelConfig config(String which, int seq) {
            return switch (which) {
                case "djl" -> djlConfig(seq);
                case "leviathan" -> ModelConfigs.isoBody(djlConfig(seq));
                case "small" -> Presets.get("small").asDense().withMaxSeq(seq);
                case "small-leviathan" -> ModelConfigs.isoBody(Presets.get("small").asDense().withMaxSeq(seq));
                default -> throw new IllegalArgumentException(
                        "unknown model " + which + "; valid: djl, leviathan, small, small-leviathan");
            };
        }

        /** The {@code small} preset or its twin: 4 sequences a batch, not 8. */
        static boolean isSmall(String which) {
            return which.startsWith("small");
        }

        /** The dense model of the Deep Java Library comparison (7,358,720 parameters). */
        static ModelConfig djlConfig(int seq) {
            return new ModelConfig(Family.DENSE, 8192, 256, 4, 4, 688, 1e-5f, 10000f, seq, false, null);
        }

        /** {@code n} ids below {@code vocab}, drawn as {@code distribution} says (fixed seeds). */
        static int[] ids(String distribution, int n, int vocab) {
            return switch (distribution) {
                case "zipf" -> GeneratorBenchmark.zipfIds(n, vocab, 1.1, 3);
                case "uniform" -> new java.util.SplittableRandom(3).ints(n, 0, vocab).toArray();
                default -> throw new IllegalArgumentException(
                        "unknown ids distribution " + distribution + "; valid: zipf, uniform");
            };
        }

        /** One training step, as {@code Trainer.trainStep} issues it; returns the loss. */
        float run() {
            ParameterStore ps = model.parameters();
            ps.zeroGrads(be);
            be.fill(lossSum, 0f);
            model.accumulateLoss(ids, targets, lossSum);
            model.backward();
            be.globalL2Norm(gradList, gradNorm);
            // AdamWStep carries the step count, so one is made per step (Backend.adamw takes no bare count).
            AdamWStep s = new AdamWStep(1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, ++t);
            be.adamw(ps.flatValues(), ps.flatGrads(), m, v, s, ps.decayedCount(), gradNorm, 1f);
            be.download(stats, statsHost, 0);
            return statsHost[0];
        }

        @Override
        public void close() {
            arena.close();
            model.close();
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.cpu();
        step = new Step(backend, model, seq, ids);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        step.close();
        backend.close();
    }

    @Benchmark
    public float step() {
        return step.run();
    }

    /**
     * Prints, per model (arguments: djl, leviathan, small; default djl and leviathan), the backend calls of one
     * step by operation and the native bytes a step allocates, at 256 tokens per sequence (small: 128).
     */
    public static void main(String[] args) {
        for (String which : args.length > 0 ? args : new String[] {"djl", "leviathan"}) {
            Map<String, Integer> calls = new TreeMap<>();
            try (Backend real = Backends.cpu()) {
                Backend counting = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(),
                        new Class<?>[] {Backend.class}, (proxy, method, a) -> {
                            calls.merge(method.getName(), 1, Integer::sum);
                            try {
                                return method.invoke(real, a);
                            } catch (java.lang.reflect.InvocationTargetException e) {
                                throw e.getCause();
                            }
                        });
                try (Step s = new Step(counting, which)) {
                    s.run(); // warm: first-call setup is not part of a step
                    calls.clear();
                    long before = NativeMemory.allocatedBytes();
                    s.run();
                    long allocated = NativeMemory.allocatedBytes() - before;
                    int total = calls.values().stream().mapToInt(Integer::intValue).sum();
                    System.out.printf("%s: %d backend calls per step, %d native bytes allocated per step%n",
                            which, total, allocated);
                    calls.forEach((k, n) -> System.out.printf("  %-24s %d%n", k, n));
                }
            }
        }
    }
}
