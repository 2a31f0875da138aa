package io.leviathan.benchmarks;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.backend.AttentionChoice;
import io.leviathan.backend.Backends;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.LeviathanGenerator;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterCount;
import io.leviathan.model.ParameterStore;
import io.leviathan.model.Precision;
import io.leviathan.model.Presets;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Short timings of the operations a GPU run cares about, on any backend, through the {@link Backend} interface
 * alone: matrix products at transformer shapes (F32 and BF16 inputs), causal attention forward and backward,
 * the Leviathan generator forward and backward, and a whole training step of a dense model and of its
 * iso-body Leviathan twin. Each figure is one JSON line on standard output, so a script can set it beside
 * another implementation's figure at the same shape ({@code gpu/torch_peer.py} prints the same keys).
 *
 * <pre>
 *   java ... io.leviathan.benchmarks.DeviceBenchmarks [--device cuda|cpu|auto] [--only gemm,attention,generator,step]
 *       [--attention native|cudnn|auto]  (which attention the CUDA backend runs; our kernel by default; with
 *                                          cudnn only BF16 attention is timed, the dtype cuDNN's fused attention takes)
 *        [--gemm-dtypes f32,bf16] [--label NAME] [--model PRESET] [--batch B] [--seq T] [--precision fp32|bf16]
 *        [--steps N] [--quick]
 * </pre>
 * A timing is the median over samples of the mean time per call, where a sample runs the call enough times to
 * last about {@code 50 ms} and ends with {@link Backend#synchronize}, after warm-up calls that are not timed.
 * Inputs are random (never zeros: some hardware runs faster on zeros). {@code --quick} shrinks every shape so
 * the whole run takes seconds on a CPU; it checks the program, not the hardware. TF32 is the CUDA backend's
 * switch ({@code -Dleviathan.cuda.tf32=true}); run F32 once with it and {@code --label tf32} to time TF32.
 */
public final class DeviceBenchmarks {
    private DeviceBenchmarks() {}

    /** Dense bf16 peak of one H200, for the MFU figure (989 TFLOP/s, NVIDIA's data sheet, without sparsity). */
    static final double H200_BF16_PEAK = 989e12;

    /** The settings of one run. */
    record Options(String device, List<String> only, List<String> gemmDtypes, String label, String model, int batch,
                   int seq, Precision precision, int steps, boolean quick, AttentionChoice attention) {
        static Options parse(String[] args) {
            Map<String, String> v = new LinkedHashMap<>();
            boolean quick = false;
            List<String> flags = List.of("--device", "--only", "--gemm-dtypes", "--label", "--model", "--batch", "--seq",
                    "--precision", "--steps", "--attention");
            for (int i = 0; i < args.length; i++) {
                if (args[i].equals("--quick")) {
                    quick = true;
                } else if (flags.contains(args[i]) && i + 1 < args.length) {
                    v.put(args[i], args[++i]);
                } else {
                    throw new IllegalArgumentException("unexpected argument '" + args[i] + "'; valid: "
                            + String.join(", ", flags) + " (each with a value), --quick");
                }
            }
            List<String> only = List.of(v.getOrDefault("--only", "gemm,attention,generator,step").split(","));
            for (String o : only) {
                if (!List.of("gemm", "attention", "generator", "step").contains(o)) {
                    throw new IllegalArgumentException("--only: unknown benchmark '" + o
                            + "'; valid: gemm, attention, generator, step");
                }
            }
            List<String> dtypes = List.of(v.getOrDefault("--gemm-dtypes", "f32,bf16").split(","));
            for (String d : dtypes) {
                if (!d.equals("f32") && !d.equals("bf16")) {
                    throw new IllegalArgumentException("--gemm-dtypes: unknown dtype '" + d + "'; valid: f32, bf16");
                }
            }
            return new Options(v.getOrDefault("--device", "cuda"), only, dtypes, v.getOrDefault("--label", ""),
                    v.getOrDefault("--model", quick ? "tiny" : "paper-420m"),
                    Integer.parseInt(v.getOrDefault("--batch", quick ? "2" : "8")),
                    Integer.parseInt(v.getOrDefault("--seq", quick ? "64" : "1024")),
                    Precision.of(v.getOrDefault("--precision", "bf16")),
                    Integer.parseInt(v.getOrDefault("--steps", quick ? "2" : "6")), quick,
                    AttentionChoice.of(v.getOrDefault("--attention", "native")));
        }
    }

    /**
     * Runs the benchmarks {@code args} ask for, printing each figure as soon as it is measured. A benchmark that
     * fails is reported on standard error and the others still run; the exit status is then 1.
     */
    public static void main(String[] args) {
        Options o = Options.parse(args);
        int failed;
        try (Backend be = Backends.create(o.device(), o.attention())) {
            System.err.println("backend " + be.name() + " (" + be.device() + "), " + be.threads() + " threads");
            failed = run(be, o, r -> System.out.println(json(r)));
        }
        System.exit(failed == 0 ? 0 : 1);
    }

    /** Every benchmark {@code o} asks for, in order, each figure handed to {@code sink}; returns how many failed. */
    static int run(Backend be, Options o, Consumer<Map<String, Object>> sink) {
        List<Supplier<Map<String, Object>>> jobs = new ArrayList<>();
        List<String> names = new ArrayList<>();
        if (o.only().contains("gemm")) {
            for (String dtype : o.gemmDtypes()) {
                for (int[] mkn : gemmShapes(o.quick())) {
                    names.add("gemm " + dtype + " " + mkn[0] + "x" + mkn[1] + "x" + mkn[2]);
                    jobs.add(() -> gemm(be, o, dtype, mkn[0], mkn[1], mkn[2]));
                }
            }
        }
        if (o.only().contains("attention")) {
            int[] shape = o.quick() ? new int[] {1, 64, 2, 32} : new int[] {4, 2048, 16, 64};
            for (DType dtype : o.attention() == AttentionChoice.CUDNN ? List.of(DType.BF16) : List.of(DType.F32, DType.BF16)) {
                names.add("attention " + dtype);
                jobs.add(() -> attention(be, o, dtype, shape[0], shape[1], shape[2], shape[3]));
            }
        }
        if (o.only().contains("generator")) {
            names.add("generator");
            jobs.add(() -> generator(be, o));
        }
        if (o.only().contains("step")) {
            names.add("step dense");
            jobs.add(() -> step(be, o, false));
            names.add("step leviathan");
            jobs.add(() -> step(be, o, true));
        }
        int failed = 0;
        for (int i = 0; i < jobs.size(); i++) {
            try {
                sink.accept(jobs.get(i).get());
            } catch (RuntimeException | OutOfMemoryError e) {
                failed++;
                System.err.println("DeviceBenchmarks: " + names.get(i) + " failed: " + e);
                e.printStackTrace();
            }
        }
        return failed;
    }

    /** {@code {M, K, N}}: tokens x width into the projections, the MLP, and the vocabulary head, and a square. */
    static List<int[]> gemmShapes(boolean quick) {
        if (quick) {
            return List.of(new int[] {64, 48, 80}, new int[] {33, 17, 65});
        }
        return List.of(new int[] {8192, 1024, 1024}, new int[] {8192, 1024, 2752}, new int[] {8192, 2752, 1024},
                new int[] {8192, 1024, 32768}, new int[] {4096, 4096, 4096});
    }

    // ------------------------------------------------------------------------------------------ benchmarks

    /** {@code c[M, N] = a[M, K] b[N, K]^T}, as a linear layer computes it; c is F32, a and b are {@code dtype}. */
    static Map<String, Object> gemm(Backend be, Options o, String dtype, int m, int k, int n) {
        DType in = dtype.equals("bf16") ? DType.BF16 : DType.F32;
        try (TensorArena arena = be.newArena()) {
            Tensor a = random(be, arena, in, 1, m, k);
            Tensor b = random(be, arena, in, 2, n, k);
            Tensor c = arena.allocate(DType.F32, m, n); // beta = 0: written, never read
            double ms = time(be, () -> be.matmul(a, false, b, true, c, 1f, 0f));
            Map<String, Object> r = row("gemm", be);
            r.put("dtype", o.label().isEmpty() ? dtype : o.label());
            r.put("m", m);
            r.put("k", k);
            r.put("n", n);
            r.put("ms", ms);
            r.put("tflops", 2.0 * m * n * k / (ms * 1e-3) / 1e12);
            return r;
        }
    }

    /** Causal attention at {@code [B, T, H, Dh]}: the forward alone, and forward plus backward. */
    static Map<String, Object> attention(Backend be, Options o, DType dtype, int batch, int t, int heads, int dh) {
        try (TensorArena arena = be.newArena()) {
            long[] shape = {batch, t, heads, dh};
            Tensor q = random(be, arena, dtype, 11, shape);
            Tensor k = random(be, arena, dtype, 12, shape);
            Tensor v = random(be, arena, dtype, 13, shape);
            Tensor out = arena.allocate(dtype, shape);
            Tensor lse = arena.allocate(DType.F32, batch, heads, t);
            Tensor dOut = random(be, arena, dtype, 14, shape);
            Tensor dq = arena.allocate(DType.F32, shape);
            Tensor dk = arena.allocate(DType.F32, shape);
            Tensor dv = arena.allocate(DType.F32, shape);
            double fwd = time(be, () -> be.attention(q, k, v, out, lse));
            double both = time(be, () -> {
                be.attention(q, k, v, out, lse);
                be.attentionBackward(dOut, q, k, v, out, lse, dq, dk, dv);
            });
            // causal: half of the T x T scores; forward 2 products, backward 5 (flash-style, recomputing P)
            double fwdFlops = 2.0 * 2 * batch * heads * (double) t * t * dh / 2;
            Map<String, Object> r = row("attention", be);
            r.put("attention", o.attention().configName());
            r.put("dtype", dtype == DType.BF16 ? "bf16" : "f32");
            r.put("b", batch);
            r.put("t", t);
            r.put("h", heads);
            r.put("dh", dh);
            r.put("fwd_ms", fwd);
            r.put("fwd_bwd_ms", both);
            r.put("fwd_tflops", fwdFlops / (fwd * 1e-3) / 1e12);
            r.put("fwd_bwd_tflops", fwdFlops * 3.5 / (both * 1e-3) / 1e12);
            return r;
        }
    }

    /** The generator's forward and backward for one step's tokens (Zipf-distributed ids, de-duplicated). */
    static Map<String, Object> generator(Backend be, Options o) {
        ModelConfig c = leviathanConfig(o);
        int tokens = o.batch() * o.seq();
        try (TensorArena arena = be.newArena()) {
            ParameterStore store = new ParameterStore(arena);
            LeviathanGenerator g = new LeviathanGenerator(be, arena, store, c, tokens);
            g.initialize(1);
            int[] hostIds = GeneratorBenchmark.zipfIds(tokens, c.vocab(), 1.1, 7);
            Tensor ids = arena.allocate(DType.I32, tokens);
            be.upload(hostIds, ids);
            Tensor out = arena.allocate(DType.F32, tokens, c.dModel());
            Tensor dOut = random(be, arena, DType.F32, 21, tokens, c.dModel());
            double ms = time(be, () -> {
                g.forward(ids, hostIds, out);
                g.backward(dOut, ids);
            });
            Map<String, Object> r = row("generator", be);
            r.put("model", o.model());
            putShape(r, c);
            r.put("tokens", tokens);
            r.put("distinct", g.lastUniqueCount());
            r.put("fwd_bwd_ms", ms);
            return r;
        }
    }

    /**
     * One training step as the trainer runs it (zero the gradients, loss, backward, gradient norm, clipped
     * AdamW, read back loss and norm), on the dense model or its iso-body Leviathan twin.
     */
    static Map<String, Object> step(Backend be, Options o, boolean leviathan) {
        ModelConfig dense = denseConfig(o);
        ModelConfig c = leviathan ? leviathanConfig(o) : dense;
        int tokens = o.batch() * o.seq();
        try (LlamaModel model = new LlamaModel(be, c, o.batch(), o.seq(), o.precision());
             TensorArena arena = be.newArena()) {
            model.initialize(1);
            ParameterStore ps = model.parameters();
            Tensor m = arena.allocate(DType.F32, ps.flatSize());
            Tensor v = arena.allocate(DType.F32, ps.flatSize());
            Tensor stats = arena.allocate(DType.F32, 2);
            Tensor lossSum = stats.narrow(0, 0, 1);
            Tensor gradNorm = stats.narrow(0, 1, 1);
            float[] statsHost = new float[2];
            int[] stream = GeneratorBenchmark.zipfIds(tokens + 1, c.vocab(), 1.1, 3);
            int[] ids = Arrays.copyOfRange(stream, 0, tokens);
            int[] targets = Arrays.copyOfRange(stream, 1, tokens + 1);
            long[] t = {0};
            float[] firstLoss = {Float.NaN};
            Runnable step = () -> {
                ps.zeroGrads(be);
                be.fill(lossSum, 0f);
                model.accumulateLoss(ids, targets, lossSum);
                model.backward();
                be.globalL2Norm(List.of(ps.flatGrads()), gradNorm);
                AdamWStep s = new AdamWStep(3e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, ++t[0]);
                be.adamw(ps.flatValues(), ps.flatGrads(), m, v, s, ps.decayedCount(), gradNorm, 1f);
                be.download(stats, statsHost, 0);
                if (Float.isNaN(firstLoss[0])) {
                    firstLoss[0] = statsHost[0]; // the mean loss over the step's targets
                }
            };
            for (int i = 0; i < 2; i++) {
                step.run(); // warm-up: first-touch allocations, library handles, algorithm choices
            }
            double[] samples = new double[o.steps()];
            for (int i = 0; i < samples.length; i++) {
                long t0 = System.nanoTime();
                step.run(); // ends with a download: the step is complete when it returns
                samples[i] = (System.nanoTime() - t0) / 1e6;
            }
            double ms = median(samples);
            long nonEmbedding = ParameterCount.of(dense).nonEmbedding();
            // 6N for the body and head, plus attention's 12 L D T (forward and backward), per token
            double flopsPerToken = 6.0 * nonEmbedding + 12.0 * dense.layers() * dense.dModel() * o.seq();
            Map<String, Object> r = row("step", be);
            r.put("attention", o.attention().configName());
            r.put("family", leviathan ? "leviathan" : "dense");
            r.put("model", o.model());
            putShape(r, c);
            r.put("batch", o.batch());
            r.put("seq", o.seq());
            r.put("precision", o.precision().label());
            r.put("params", ParameterCount.total(c));
            r.put("ms", ms);
            r.put("tokens_per_s", tokens / (ms * 1e-3));
            r.put("mfu", flopsPerToken * tokens / (ms * 1e-3) / H200_BF16_PEAK);
            r.put("first_loss", firstLoss[0]);
            r.put("last_loss", statsHost[0]);
            return r;
        }
    }

    // ------------------------------------------------------------------------------------------ models

    /** The dense body {@code --model} names, at the o200k vocabulary (tiny's default in --quick: 4096). */
    static ModelConfig denseConfig(Options o) {
        ModelConfig c = Presets.get(o.model()).withMaxSeq(Math.max(o.seq(), 1));
        return o.quick() ? c.withVocab(4096) : c;
    }

    /** The iso-body Leviathan twin of {@link #denseConfig}, with the default generator. */
    static ModelConfig leviathanConfig(Options o) {
        return ModelConfigs.isoBody(denseConfig(o), GeneratorConfig.defaults());
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** The model's dimensions, so that another implementation can build the same model from the row. */
    private static void putShape(Map<String, Object> r, ModelConfig c) {
        r.put("vocab", c.vocab());
        r.put("d_model", c.dModel());
        r.put("layers", c.layers());
        r.put("heads", c.heads());
        r.put("ffn", c.ffnHidden());
        r.put("norm_eps", (double) c.normEps());
        r.put("rope_theta", (double) c.ropeTheta());
        GeneratorConfig g = c.generator();
        if (g != null) {
            r.put("digits", g.digits());
            r.put("base", g.base(c.vocab()));
            r.put("shared_codebook", g.sharedCodebook() ? 1 : 0);
            r.put("d_seed", g.seedDim());
            r.put("gen_heads", g.heads());
            r.put("knots", g.knots());
            r.put("rank", g.rank());
            r.put("normalize_basis", g.normalizeBasis() ? 1 : 0);
            r.put("ln_eps", (double) g.lnEps());
        }
    }

    /** Milliseconds per call of {@code op}: the median of 7 samples of about 50 ms each, after warm-up. */
    static double time(Backend be, Runnable op) {
        for (int i = 0; i < 3; i++) {
            op.run();
        }
        be.synchronize();
        long t0 = System.nanoTime();
        op.run();
        be.synchronize();
        double once = Math.max((System.nanoTime() - t0) / 1e6, 1e-3);
        int calls = (int) Math.max(1, Math.min(10_000, Math.round(50 / once)));
        double[] samples = new double[7];
        for (int s = 0; s < samples.length; s++) {
            long start = System.nanoTime();
            for (int i = 0; i < calls; i++) {
                op.run();
            }
            be.synchronize();
            samples[s] = (System.nanoTime() - start) / 1e6 / calls;
        }
        return median(samples);
    }

    static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        int n = s.length;
        return n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    }

    /** A tensor of N(0, 1) values drawn from {@code seed}, uploaded as F32 and narrowed on the device if BF16. */
    static Tensor random(Backend be, TensorArena arena, DType dtype, long seed, long... shape) {
        Tensor t = arena.allocate(dtype, shape);
        long n = t.numel();
        SplittableRandom rnd = new SplittableRandom(seed);
        float[] chunk = new float[(int) Math.min(n, 1 << 22)];
        Tensor flat = t.reshape(n);
        Tensor f32 = dtype == DType.F32 ? null : arena.allocate(DType.F32, chunk.length);
        for (long off = 0; off < n; off += chunk.length) {
            int len = (int) Math.min(chunk.length, n - off);
            for (int i = 0; i < len; i++) {
                chunk[i] = (float) gaussian(rnd);
            }
            Tensor dst = flat.narrow(0, off, len);
            if (f32 == null) {
                be.upload(chunk, 0, dst);
            } else {
                Tensor staged = f32.narrow(0, 0, len);
                be.upload(chunk, 0, staged);
                be.copy(staged, dst); // stream-ordered: the next chunk's upload waits for this copy
            }
        }
        return t;
    }

    private static double gaussian(SplittableRandom rnd) {
        double u1 = 1 - rnd.nextDouble();
        double u2 = rnd.nextDouble();
        return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }

    private static Map<String, Object> row(String bench, Backend be) {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("impl", "leviathan");
        r.put("bench", bench);
        r.put("device", be.name());
        return r;
    }

    /** One flat JSON object: strings quoted, numbers as they are (non-finite as null). */
    static String json(Map<String, Object> row) {
        StringBuilder sb = new StringBuilder("{");
        for (Map.Entry<String, Object> e : row.entrySet()) {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append('"').append(e.getKey()).append("\": ");
            Object v = e.getValue();
            if (v instanceof String s) {
                sb.append('"').append(s.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            } else if (v instanceof Double d) {
                sb.append(Double.isFinite(d) ? String.format(Locale.ROOT, "%.6g", d) : "null");
            } else if (v instanceof Float f) {
                sb.append(Float.isFinite(f) ? String.format(Locale.ROOT, "%.6g", f) : "null");
            } else {
                sb.append(v);
            }
        }
        return sb.append('}').toString();
    }
}
