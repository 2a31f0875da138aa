package io.leviathan.benchmarks;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
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
 * BASELINE: this file compiles against the API before the device-ready core (commit 7b92424) and is copied
 * into a worktree of that commit by {@code benchmarks/compare-baseline.sh}; it is not part of the build.
 *
 * A whole training step (zero the gradients, forward with the loss, backward, gradient norm, clipped AdamW,
 * read back the loss and norm) as the trainer runs it, for two dense models:
 * <ul>
 *   <li>{@code djl}: d_model 256, 4 layers, 4 heads, SwiGLU 688, vocab 8192, 8 x 256 tokens (the model of
 *       the Deep Java Library comparison);</li>
 *   <li>{@code small}: the {@code small} preset at the o200k vocabulary (200,019), 4 x 128 tokens.</li>
 * </ul>
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

    @Param({"djl", "small"})
    public String model;

    private Backend backend;
    private Step step;

    /** The model and its optimizer state, set up once. */
    static final class Step implements AutoCloseable {
        final Backend be;
        final LlamaModel model;
        final TensorArena arena;
        final Tensor[] m, v;
        final Tensor ids, targets;
        final List<Tensor> grads;
        long t;

        Step(Backend be, String which) {
            this.be = be;
            int batch = which.equals("djl") ? 8 : 4;
            int seq = which.equals("djl") ? 256 : 128;
            ModelConfig c = config(which, seq);
            model = new LlamaModel(be, c, batch, seq);
            model.initialize(1);
            arena = be.newArena();
            ParameterStore ps = model.parameters();
            int n = ps.all().size();
            m = new Tensor[n];
            v = new Tensor[n];
            for (int i = 0; i < n; i++) {
                m[i] = arena.allocate(DType.F32, ps.all().get(i).value().shape());
                v[i] = arena.allocate(DType.F32, ps.all().get(i).value().shape());
            }
            grads = ps.grads();
            int[] stream = GeneratorBenchmark.zipfIds(batch * seq + 1, c.vocab(), 1.1, 3);
            ids = arena.ofInts(java.util.Arrays.copyOfRange(stream, 0, batch * seq), batch, seq);
            targets = arena.ofInts(java.util.Arrays.copyOfRange(stream, 1, batch * seq + 1), batch, seq);
        }

        static ModelConfig config(String which, int seq) {
            return switch (which) {
                case "djl" -> new ModelConfig(io.leviathan.model.Family.DENSE, 8192, 256, 4, 4, 688, 1e-5f, 10000f,
                        seq, false, null);
                case "small" -> Presets.get("small").asDense().withMaxSeq(seq);
                default -> throw new IllegalArgumentException("unknown model " + which + "; valid: djl, small");
            };
        }

        /** One training step, as {@code Trainer.trainStep} issues it; returns the loss. */
        float run() {
            ParameterStore ps = model.parameters();
            ps.zeroGrads(be);
            float loss = (float) model.forward(ids, targets);
            model.backward();
            double norm = be.globalL2Norm(grads);
            if (norm > 1.0) {
                float scale = (float) (1.0 / (norm + 1e-6));
                for (Tensor g : grads) {
                    be.scale(g, scale, g);
                }
            }
            AdamWStep s = new AdamWStep(1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, ++t);
            AdamWStep plain = s.withWeightDecay(0f);
            for (int i = 0; i < m.length; i++) {
                var p = ps.all().get(i);
                be.adamw(p.value(), p.grad(), m[i], v[i], p.decay() ? s : plain);
            }
            return loss;
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
        step = new Step(backend, model);
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

    /** Prints, per model, the backend calls of one step by operation and the native bytes a step allocates. */
    public static void main(String[] args) {
        for (String which : args.length > 0 ? args : new String[] {"djl", "small"}) {
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
