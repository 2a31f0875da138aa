package io.leviathan.benchmarks;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.model.Family;
import io.leviathan.model.KvCacheSession;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
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
 * One generated token at a context of {@code context} tokens, with the key/value cache (one position through
 * the model, attending to {@code context - 1} cached ones) and without it (a full forward pass over the
 * window, as generation ran before the cache), side by side. Scores are tokens per second: the ratio of the
 * two scores at one context is the cache's speed-up there. Each token ends with the download of its logits
 * row, as in generation; sampling is left out (the same for both).
 *
 * <p>The model is small and dense: D 256, 4 layers, 4 heads, SwiGLU 688, vocabulary 8192, random weights
 * (speed does not depend on them).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 3, time = 3)
public class GenerationBenchmark {
    static final int VOCAB = 8192;

    @Param({"256", "1024"})
    public int context;

    @Param({"true", "false"})
    public boolean cached;

    @Param({"2"})
    public int threads;

    private Backend backend;
    private LlamaModel model;
    private KvCacheSession session;
    private int[] window;
    private float[] row;

    @Setup(Level.Trial)
    public void setup() {
        backend = Backends.cpu(threads);
        ModelConfig config = new ModelConfig(Family.DENSE, VOCAB, 256, 4, 4, 688, 1e-5f, 10_000f, 1024, false, null);
        model = new LlamaModel(backend, config, 1, context);
        model.initialize(1);
        SplittableRandom r = new SplittableRandom(3);
        window = new int[context];
        for (int i = 0; i < context; i++) {
            window[i] = r.nextInt(VOCAB);
        }
        row = new float[VOCAB];
        if (cached) {
            session = new KvCacheSession(model);
            session.append(window, 0, context - 1); // the prompt, prefilled once
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (session != null) {
            session.close();
        }
        model.close();
        backend.close();
    }

    /** The token at position {@code context - 1}: its logits row, downloaded. */
    @Benchmark
    public float token() {
        if (cached) {
            session.rewind(context - 1);
            backend.download(session.append(window, context - 1, 1), row, 0);
        } else {
            model.forwardLogits(window);
            backend.download(model.logits().select(0, context - 1), row, 0);
        }
        return row[0];
    }
}
