package io.leviathan.benchmarks;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.model.Family;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.Presets;
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
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One training step's forward and backward (no optimizer), dense against its iso-body Leviathan twin (same
 * body, generator instead of the table). The ratio of the two average times is the generator's step overhead;
 * the paper reports 23-51 % on GPUs. Models ({@code preset}):
 * <ul>
 *   <li>a preset name (default {@code small}): that preset at the o200k vocabulary, 4 x 128 tokens;</li>
 *   <li>{@code djl}: d_model 256, 4 layers, 4 heads, SwiGLU 688, vocab 8192, 8 x 256 tokens (the model of
 *       {@link TrainingStepBenchmark}'s DJL comparison).</li>
 * </ul>
 * Token ids ({@code ids}) are drawn like text ({@code zipf}, exponent 1.1, the default) or uniformly
 * ({@code uniform}, which repeats ids least and so gives the generator the most distinct ids to compute).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 2, time = 4)
@Measurement(iterations = 3, time = 6)
public class ModelStepBenchmark {
    static final int BATCH = 4;
    static final int SEQ = 128;

    @Param({"dense", "leviathan"})
    public String family;

    @Param({"small"})
    public String preset;

    @Param({"zipf"})
    public String ids;

    private Backend backend;
    private TensorArena arena;
    private LlamaModel model;
    private Tensor idsTensor;
    private Tensor targets;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.cpu();
        arena = backend.newArena();
        boolean djl = preset.equals("djl");
        int batch = djl ? 8 : BATCH;
        int seq = djl ? 256 : SEQ;
        ModelConfig dense = djl
                ? new ModelConfig(Family.DENSE, 8192, 256, 4, 4, 688, 1e-5f, 10000f, seq, false, null)
                : Presets.get(preset).asDense().withMaxSeq(seq);
        ModelConfig config = family.equals("dense") ? dense : ModelConfigs.isoBody(dense);
        if (config.family() != (family.equals("dense") ? Family.DENSE : Family.LEVIATHAN)) {
            throw new IllegalStateException("unexpected family " + config.family());
        }
        model = new LlamaModel(backend, config, batch, seq);
        model.initialize(1);
        int n = batch * seq;
        int[] stream = switch (ids) {
            case "zipf" -> GeneratorBenchmark.zipfIds(n + 1, config.vocab(), 1.1, 3);
            case "uniform" -> new SplittableRandom(3).ints(n + 1, 0, config.vocab()).toArray();
            default -> throw new IllegalArgumentException("ids must be zipf or uniform, got " + ids);
        };
        int[] in = new int[n];
        int[] tg = new int[n];
        System.arraycopy(stream, 0, in, 0, in.length);
        System.arraycopy(stream, 1, tg, 0, tg.length);
        idsTensor = arena.ofInts(in, batch, seq);
        targets = arena.ofInts(tg, batch, seq);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        arena.close();
        backend.close();
    }

    @Benchmark
    public double step() {
        model.parameters().zeroGrads(backend);
        double loss = model.forward(idsTensor, targets);
        model.backward();
        return loss;
    }
}
