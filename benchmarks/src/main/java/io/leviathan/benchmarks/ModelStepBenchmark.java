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
 * One training step's forward and backward (no optimizer) of the {@code small} preset at the o200k
 * vocabulary, dense against its iso-body Leviathan twin (same body, generator instead of the table), on a
 * batch of 4 x 128 tokens drawn like text (Zipf). The ratio of the two average times is the generator's step
 * overhead; the paper reports 23-51 % on GPUs.
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

    private Backend backend;
    private TensorArena arena;
    private LlamaModel model;
    private Tensor ids;
    private Tensor targets;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.cpu();
        arena = backend.newArena();
        ModelConfig dense = Presets.get(preset).asDense().withMaxSeq(SEQ);
        ModelConfig config = family.equals("dense") ? dense : ModelConfigs.isoBody(dense);
        if (config.family() != (family.equals("dense") ? Family.DENSE : Family.LEVIATHAN)) {
            throw new IllegalStateException("unexpected family " + config.family());
        }
        model = new LlamaModel(backend, config, BATCH, SEQ);
        model.initialize(1);
        int[] stream = GeneratorBenchmark.zipfIds(BATCH * SEQ + 1, config.vocab(), 1.1, 3);
        int[] in = new int[BATCH * SEQ];
        int[] tg = new int[BATCH * SEQ];
        System.arraycopy(stream, 0, in, 0, in.length);
        System.arraycopy(stream, 1, tg, 0, tg.length);
        ids = arena.ofInts(in, BATCH, SEQ);
        targets = arena.ofInts(tg, BATCH, SEQ);
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
        double loss = model.forward(ids, targets);
        model.backward();
        return loss;
    }
}
