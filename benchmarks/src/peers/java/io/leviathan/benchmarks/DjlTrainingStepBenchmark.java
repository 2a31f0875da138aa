package io.leviathan.benchmarks;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import ai.djl.training.optimizer.AdamW;
import ai.djl.training.tracker.Tracker;
import io.leviathan.model.ParameterCount;
import java.util.Arrays;
import java.util.List;
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
 * The training step of {@code TrainingStepBenchmark}'s {@code djl} model (dense, d_model 256, 4 layers, 4 heads,
 * SwiGLU 688, vocab 8192, untied head, 7,358,720 parameters; batch 8 x {@code seq} Zipf ids, the same ids)
 * through Deep Java Library 0.36 on its PyTorch 2.7.1 CPU engine: forward and loss under DJL's autograd
 * ({@link GradientCollector}), backward, global gradient norm, DJL's {@link AdamW} (lr 1e-4, betas 0.9 / 0.95,
 * eps 1e-8, weight decay 0.1 on the matrices and 0 on the norm weights, as ours), gradients zeroed, loss read
 * back. The model is {@link DjlLlama}.
 *
 * <p>What differs from our step:
 * <ul>
 *   <li>DJL's optimizers clip gradients element-wise ({@code optClipGrad}), not by global norm, so the step
 *       computes the global L2 norm itself (a sum of squares per parameter, one host read) and hands each
 *       optimizer update the gradient scaled by {@code 1 / (norm + 1e-6)} when the norm exceeds 1, as our
 *       clipped AdamW does;</li>
 *   <li>DJL's AdamW updates each parameter array on its own (39 calls, each a few PyTorch ops in DJL's native
 *       code), ours all of them in one call over the flat buffer;</li>
 *   <li>attention is written as a DJL user would (batched matmul, additive causal mask, softmax, matmul):
 *       that materializes the {@code [B, H, T, T]} scores and probabilities and leaves PyTorch's fused
 *       {@code scaled_dot_product_attention} (flash / memory-efficient kernels, which DJL does not expose)
 *       on the table; likewise RMSNorm and SwiGLU are several elementwise kernels each, not fused ones;</li>
 *   <li>PyTorch picks its own intra-op thread count (the physical cores); ours uses its default pool.</li>
 * </ul>
 * Each step's inputs and intermediates live in a per-step sub-{@link NDManager} closed at the end of the step
 * (otherwise native memory grows). Run offline ({@code -Dai.djl.offline=true}, set by the fork): the PyTorch
 * natives come from the {@code pytorch-native-cpu} jar, extracted to {@code ~/.djl.ai} on first use. For
 * DJL's recommended setting, preload tcmalloc on the command that starts JMH (the fork inherits it):
 * {@code LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4}. Built only with {@code -Ppeers}.
 * {@link #main} prints the parameter count (checked against ours), the first loss (checked near ln 8192) and
 * a few step times.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Dai.djl.offline=true", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
@Warmup(iterations = 3, time = 5)
@Measurement(iterations = 5, time = 6)
public class DjlTrainingStepBenchmark {
    static final int BATCH = 8;

    /** Tokens per sequence. */
    @Param({"256", "1024"})
    public int seq;

    private NDManager root;
    private Step step;

    /** The model, its optimizers and the batch, set up once. */
    static final class Step implements AutoCloseable {
        final NDManager root;
        final DjlLlama model;
        final List<NDArray> parameters;
        final String[] names;
        final AdamW decay;
        final AdamW noDecay;
        final long[] ids;
        final long[] targets;

        Step(NDManager root, int seq) {
            this.root = root;
            model = new DjlLlama(root, BATCH, seq, 1);
            parameters = model.parameters();
            names = new String[parameters.size()];
            for (int i = 0; i < names.length; i++) {
                names[i] = "p" + i;
            }
            decay = adamW(0.1f);
            noDecay = adamW(0f);
            int[] stream = GeneratorBenchmark.zipfIds(BATCH * seq + 1, DjlLlama.VOCAB, 1.1, 3);
            ids = Arrays.stream(stream, 0, BATCH * seq).asLongStream().toArray();
            targets = Arrays.stream(stream, 1, BATCH * seq + 1).asLongStream().toArray();
        }

        private static AdamW adamW(float weightDecay) {
            return AdamW.builder().optLearningRateTracker(Tracker.fixed(1e-4f)).optBeta1(0.9f).optBeta2(0.95f)
                    .optEpsilon(1e-8f).optWeightDecays(weightDecay).build();
        }

        /** One training step; returns the loss. */
        float run() {
            try (NDManager sm = root.newSubManager()) {
                NDArray in = sm.create(ids, new Shape(BATCH, model.seq));
                NDArray tg = sm.create(targets, new Shape((long) BATCH * model.seq));
                float loss;
                try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                    NDArray l = model.loss(in, tg);
                    gc.backward(l);
                    loss = l.getFloat();
                }
                NDArray[] grads = new NDArray[parameters.size()];
                NDArray sumSq = null;
                for (int i = 0; i < grads.length; i++) {
                    grads[i] = parameters.get(i).getGradient();
                    grads[i].attach(sm); // so the arrays made from it below close with the step
                    NDArray sq = grads[i].square().sum();
                    sumSq = sumSq == null ? sq : sumSq.add(sq);
                }
                double norm = Math.sqrt(sumSq.getFloat());
                float scale = norm > 1 ? (float) (1 / (norm + 1e-6)) : 1f; // Backend.adamw's clip rule
                int decayedCount = model.decayed.size();
                for (int i = 0; i < grads.length; i++) {
                    NDArray g = scale < 1f ? grads[i].mul(scale) : grads[i];
                    (i < decayedCount ? decay : noDecay).update(names[i], parameters.get(i), g);
                    grads[i].subi(grads[i]); // PyTorch accumulates gradients: zero them, as DJL's trainer does
                }
                return loss;
            }
        }

        @Override
        public void close() {
            model.close();
        }
    }

    @Setup(Level.Trial)
    public void setup() {
        root = NDManager.newBaseManager(Device.cpu(), "PyTorch");
        step = new Step(root, seq);
        requireSameSize(step.model, seq);
    }

    /** Throws unless the DJL model has exactly the parameters of our {@code djl} configuration. */
    static void requireSameSize(DjlLlama model, int seq) {
        long ours = ParameterCount.total(TrainingStepBenchmark.Step.djlConfig(seq));
        long theirs = model.parameterCount();
        System.out.printf("seq %d: parameters DJL %,d, Leviathan %,d%n", seq, theirs, ours);
        if (theirs != ours) {
            throw new IllegalStateException("parameter counts differ: DJL " + theirs + ", ours " + ours);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        step.close();
        root.close();
    }

    @Benchmark
    public float step() {
        return step.run();
    }

    /**
     * Checks the model against ours and times a few steps. Arguments: sequence lengths (default 256), then
     * optionally {@code --steps N} (default 5).
     */
    public static void main(String[] args) {
        System.setProperty("ai.djl.offline", "true");
        int steps = 5;
        List<Integer> seqs = new java.util.ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--steps")) {
                steps = Integer.parseInt(args[++i]);
            } else {
                seqs.add(Integer.parseInt(args[i]));
            }
        }
        if (seqs.isEmpty()) {
            seqs.add(256);
        }
        System.out.println("engine: " + Engine.getInstance().getEngineName() + " " + Engine.getInstance().getVersion());
        for (int seq : seqs) {
            try (NDManager root = NDManager.newBaseManager(Device.cpu(), "PyTorch"); Step s = new Step(root, seq)) {
                requireSameSize(s.model, seq);
                float first = s.run();
                double lnV = Math.log(DjlLlama.VOCAB);
                System.out.printf("first loss %.4f (ln %d = %.4f)%n", first, DjlLlama.VOCAB, lnV);
                if (!(Math.abs(first - lnV) < 0.5)) {
                    throw new IllegalStateException("first loss " + first + " is not near ln(vocab) = " + lnV);
                }
                int arrays = root.getManagedArrays().size();
                for (int i = 0; i < steps; i++) {
                    long t0 = System.nanoTime();
                    float loss = s.run();
                    double ms = (System.nanoTime() - t0) / 1e6;
                    System.out.printf("step %d: loss %.4f, %.1f ms, %.0f tokens/s%n", i + 2, loss, ms,
                            BATCH * seq / (ms / 1e3));
                }
                if (root.getManagedArrays().size() != arrays) {
                    throw new IllegalStateException("arrays leak across steps: " + arrays + " -> "
                            + root.getManagedArrays().size());
                }
            }
        }
    }
}
