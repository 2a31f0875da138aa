package io.leviathan.train;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.BatchSampler;
import io.leviathan.data.DataPrepare;
import io.leviathan.data.DefaultCorpus;
import io.leviathan.data.Split;
import io.leviathan.data.TokenDataset;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.MemoryEstimate;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.ParameterCount;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.LongConsumer;

/**
 * The training loop, top to bottom as in llm.c:
 * <pre>
 *   setup     dataset (prepared, or prepared now), model (initialised, or restored from a checkpoint),
 *             AdamW, training sampler, validation sampler, one pair of id/target buffers
 *   for step in [start, steps):
 *     zero gradients
 *     repeat accum times:  next micro-batch; loss += forward; backward (gradients accumulate,
 *                          each scaled by 1/accum so their sum is the gradient of the mean loss)
 *     lr = cosine(step);  norm = AdamW.step(lr, clip)   (global-norm clipping inside)
 *     metrics.jsonl row, progress line
 *     every evalEvery steps: validation loss over evalBatches fixed batches
 *     every checkpointEvery steps: checkpoint (weights, moments, sampler state, config)
 *   at the end: validation, checkpoint, loss plot, a short sample
 * </pre>
 * Everything a step touches is allocated in setup; a step allocates no native memory. Resuming from a
 * checkpoint restores weights, moments, AdamW's step count and the sampler's state, so on the CPU backend
 * a resumed run continues bit for bit as if it had not stopped.
 *
 * <p>The run folder holds {@code config.json} (the resolved configuration), {@code metrics.jsonl}
 * (one JSON object per step: {@code step} (updates done), {@code loss}, {@code lr}, {@code grad_norm},
 * {@code tokens_per_s}, {@code elapsed_s}; and at evaluations {@code step}, {@code val_loss},
 * {@code val_ppl}), {@code checkpoints/}, {@code loss.png} and {@code run.lock} (see {@link RunLock}).
 */
public final class Trainer implements AutoCloseable {
    /** The fraction of a raw input file held out for validation when preparing it. */
    public static final double VAL_FRACTION = 0.05;

    /** What a run did. */
    public record Summary(Path runDir, long steps, double firstLoss, double lastLoss, double valLoss,
                          double seconds, double tokensPerSecond, Path checkpoint) {}

    private final TrainConfig cfg;
    private final Path runDir;
    private final RunLock lock;
    private final Path checkpointDir;
    private final PrintStream out;
    private final TokenDataset dataset;
    private final Backend be;
    private final LlamaModel model;
    private final AdamW opt;
    private final CosineSchedule schedule;
    private final BatchSampler sampler;
    private final BatchSampler valSampler;
    private final long[] valStart;
    private final TensorArena io;
    private final Tensor stats;          // [2] on the device: the step's loss sum, then its gradient norm
    private final Tensor lossSum;        // stats[0]
    private final Tensor gradNorm;       // stats[1]
    private final float[] statsHost = new float[2];
    private final int[] inBuf;
    private final int[] tgtBuf;
    private final Map<String, String> fixedMeta;
    private final BufferedWriter metrics;
    private final Progress progress;

    private long step;
    private long lastCheckpointStep = -1;
    private long lastEvalStep = -1;
    private double lastValLoss = Double.NaN;
    private double firstLoss = Double.NaN;
    private double lastLoss = Double.NaN;
    private Path lastCheckpoint;
    private double lastTokensPerSecond;

    private Trainer(TrainConfig cfg, Path runDir, RunLock lock, PrintStream out, boolean interactive, TokenDataset dataset,
                    Backend be, LlamaModel model, AdamW opt, BatchSampler sampler, BatchSampler valSampler,
                    TensorArena io, long step, BufferedWriter metrics) {
        this.cfg = cfg;
        this.runDir = runDir;
        this.lock = lock;
        this.checkpointDir = runDir.resolve(Checkpoint.DIR);
        this.out = out;
        this.dataset = dataset;
        this.be = be;
        this.model = model;
        this.opt = opt;
        this.schedule = cfg.schedule();
        this.sampler = sampler;
        this.valSampler = valSampler;
        this.valStart = valSampler.state();
        this.io = io;
        this.stats = io.allocate(DType.F32, 2).named("step stats");
        this.lossSum = stats.narrow(0, 0, 1);
        this.gradNorm = stats.narrow(0, 1, 1);
        this.inBuf = new int[cfg.batch() * cfg.seq()];
        this.tgtBuf = new int[cfg.batch() * cfg.seq()];
        this.step = step;
        this.lastCheckpointStep = step;
        this.metrics = metrics;
        this.progress = new Progress(out, interactive, cfg.steps());
        Optional<VocabularyMap> map = dataset.vocabularyMap();
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("train_config", cfg.toJson());
        meta.put("dataset", cfg.data());
        meta.put("tokenizer", dataset.tokenizerName());
        map.ifPresent(m -> meta.put("vocabulary_map", Checkpoint.vocabularyText(m)));
        meta.put("vocabulary_sha256", Checkpoint.vocabularyHash(map));
        this.fixedMeta = meta;
    }

    // ---------------------------------------------------------------- setup

    /**
     * Sets up a run of {@code cfg}: a fresh one, or with {@code resume} (a checkpoint file or run folder,
     * may be null) one that continues from that checkpoint. {@code cfg.out} null means a new
     * {@code runs/<timestamp>} folder, or the checkpoint's run folder when resuming. The run folder is locked
     * first ({@link RunLock}, held until {@link #close}): a folder another run holds is an error naming that
     * run's pid, and stale temporary files of a killed run are removed. Everything else is checked before
     * anything is written: a checkpoint of another model or vocabulary, or a run folder that already holds
     * later checkpoints, is an error and leaves every file as it was (bar the emptied lock file).
     */
    public static Trainer create(TrainConfig cfg, Path resume, PrintStream out) {
        return create(cfg, resume, out, System.console() != null && System.console().isTerminal() && out == System.out);
    }

    /** {@link #create(TrainConfig, Path, PrintStream)}; {@code interactive} updates one progress line in place. */
    public static Trainer create(TrainConfig cfg, Path resume, PrintStream out, boolean interactive) {
        Checkpoint ckpt = resume == null ? null : Checkpoint.load(resume);
        List<AutoCloseable> opened = new ArrayList<>();
        try {
            if (ckpt != null) {
                opened.add(ckpt);
            }
            // ---- the run folder
            Path runDir;
            if (cfg.out() != null) {
                runDir = Path.of(cfg.out());
            } else if (ckpt != null) {
                Path parent = ckpt.file().toAbsolutePath().getParent();
                runDir = parent.getFileName().toString().equals(Checkpoint.DIR) ? parent.getParent() : parent;
            } else {
                runDir = Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            }
            runDir = runDir.toAbsolutePath().normalize();
            // the folder is this process's from here on: the checks below cannot race another run's writes
            RunLock lock = RunLock.acquire(runDir, out);
            opened.add(lock);
            if (ckpt == null && !Checkpoint.list(runDir.resolve(Checkpoint.DIR)).isEmpty()) {
                throw new IllegalArgumentException("run folder " + runDir + " already holds checkpoints; resume it with"
                        + " --resume " + runDir + ", or choose another --out");
            }
            if (ckpt != null) {
                List<Path> later = Checkpoint.list(runDir.resolve(Checkpoint.DIR)).stream()
                        .filter(p -> Checkpoint.stepOf(p) > ckpt.step()).toList();
                if (!later.isEmpty()) {
                    throw new IllegalArgumentException("run folder " + runDir + " already holds checkpoints after step "
                            + ckpt.step() + " (" + later.getLast().getFileName() + "); resuming there would overwrite"
                            + " them: resume from the newest, or give another --out");
                }
                if (ckpt.step() >= cfg.steps()) {
                    throw new IllegalArgumentException("checkpoint " + ckpt.file() + " is at step " + ckpt.step()
                            + ", the run has " + cfg.steps() + " steps: nothing to do (raise --steps to continue)");
                }
            }

            // ---- the device (first: an unavailable one fails before any work)
            Backend be = Backends.create(cfg.device(), cfg.attentionChoice());
            opened.add(be);

            // ---- data
            Path dataDir = resolveData(cfg, runDir, ckpt, out);
            cfg = cfg.with("data", dataDir.toString()).with("out", runDir.toString());
            TokenDataset ds = TokenDataset.open(dataDir);
            opened.add(ds);
            ModelConfig mc = cfg.modelConfig(ds.vocabSize());
            if (mc.vocab() < ds.vocabSize()) {
                throw new IllegalArgumentException("vocab " + mc.vocab() + " is smaller than the dataset's vocabulary "
                        + ds.vocabSize() + " (" + dataDir + ")");
            }
            if (cfg.seq() > mc.maxSeq()) {
                throw new IllegalArgumentException("seq " + cfg.seq() + " exceeds the model's maxSeq " + mc.maxSeq());
            }
            for (Split s : Split.values()) {
                if (ds.tokens(s) < cfg.seq() + 1L) {
                    throw new IllegalArgumentException("the " + s.name().toLowerCase(Locale.ROOT) + " split of " + dataDir
                            + " has " + ds.tokens(s) + " tokens, fewer than seq + 1 = " + (cfg.seq() + 1));
                }
            }
            if (ckpt != null) {
                checkCompatible(ckpt, cfg, mc, ds);
            }
            if (ds.compacted() && mc.vocab() != ds.vocabSize()) {
                // ids above the compacted size have no token behind them: sampling, generate and export fail
                throw new IllegalArgumentException("vocab " + mc.vocab() + " differs from the compacted vocabulary of "
                        + dataDir + " (" + ds.vocabSize() + " ids); compacted data needs vocab " + ds.vocabSize()
                        + " (omit --vocab to take it from the dataset)");
            }

            // ---- memory: asked for before it is taken
            MemoryBudget.of(be).check(MemoryEstimate.training(mc, cfg.batch(), cfg.seq(), cfg.precisionPolicy()),
                    "training");

            // ---- model, optimizer, samplers
            LlamaModel model = new LlamaModel(be, mc, cfg.batch(), cfg.seq(), cfg.precisionPolicy());
            opened.add(model);
            model.initialize(cfg.seed());
            model.setGradScale(1f / cfg.accum());
            AdamW opt = new AdamW(be, model.parameters(), cfg.adamw());
            opened.add(opt);
            BatchSampler sampler = cfg.sampler().equals("epochs")
                    ? BatchSampler.epochs(ds, Split.TRAIN, cfg.batch(), cfg.seq(), cfg.seed())
                    : new BatchSampler(ds, Split.TRAIN, cfg.batch(), cfg.seq(), cfg.seed());
            BatchSampler valSampler = new BatchSampler(ds, Split.VAL, cfg.batch(), cfg.seq(), cfg.seed() ^ 0x5EEDL);
            long start = 0;
            if (ckpt != null) {
                ckpt.restoreWeights(model);
                ckpt.restoreOptimizer(opt);
                try {
                    sampler.restore(ckpt.samplerState());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException("checkpoint " + ckpt.file() + ": " + e.getMessage(), e);
                }
                start = ckpt.step();
            }
            TensorArena io = be.newArena();
            opened.add(io);

            // ---- files (only now that everything checked out)
            Files.createDirectories(runDir.resolve(Checkpoint.DIR));
            Files.writeString(runDir.resolve("config.json"), cfg.toJson() + "\n", StandardCharsets.UTF_8);
            Path metricsFile = runDir.resolve("metrics.jsonl");
            if (ckpt != null) {
                trimMetrics(metricsFile, start);
            } else if (Files.exists(metricsFile)) { // an earlier run stopped before its first checkpoint
                Files.move(metricsFile, metricsFile.resolveSibling("metrics.before-" + Instant.now().toEpochMilli()
                        + ".jsonl"));
            }
            BufferedWriter metrics = Files.newBufferedWriter(metricsFile, StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            if (ckpt != null) {
                ckpt.close();
            }
            Trainer t = new Trainer(cfg, runDir, lock, out, interactive, ds, be, model, opt, sampler, valSampler, io,
                    start, metrics);
            t.describe(ckpt);
            return t;
        } catch (IOException e) {
            closeAll(opened);
            throw new UncheckedIOException("cannot set up the run: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            closeAll(opened);
            throw e;
        }
    }

    /** The prepared dataset folder of {@code cfg}: prepared now from a raw file, or the default corpus. */
    private static Path resolveData(TrainConfig cfg, Path runDir, Checkpoint ckpt, PrintStream out) {
        if (cfg.data() == null) {
            return DefaultCorpus.prepared(cacheDir(), out);
        }
        Path p = Path.of(cfg.data());
        if (Files.isDirectory(p)) {
            return p.toAbsolutePath().normalize();
        }
        if (!Files.isRegularFile(p)) {
            throw new IllegalArgumentException("data " + p + ": no such file or folder (give a prepared dataset folder"
                    + " or a .txt, .jsonl or .jsonl.zst file)");
        }
        String name = p.getFileName().toString();
        if (!(name.endsWith(".txt") || name.endsWith(".jsonl") || name.endsWith(".jsonl.zst"))) {
            throw new IllegalArgumentException("data " + p + ": expected a prepared dataset folder or a .txt, .jsonl"
                    + " or .jsonl.zst file");
        }
        if (ckpt != null) {
            throw new IllegalArgumentException("when resuming, data must be the prepared dataset folder the run used"
                    + " (the checkpoint's is " + ckpt.metadata().get("dataset") + "), not a raw file");
        }
        Path dir = runDir.resolve("data");
        out.println("preparing " + p + " into " + dir + " (tokenizer " + cfg.tokenizer() + ")");
        return DataPrepare.prepare(List.of(p), dir, cfg.tokenizer(), VAL_FRACTION, true, false, out)
                .toAbsolutePath().normalize();
    }

    /** Where the default corpus is prepared: {@code $LEVIATHAN_CACHE}, else {@code ~/.cache/leviathan}. */
    public static Path cacheDir() {
        String env = System.getenv("LEVIATHAN_CACHE");
        if (env != null && !env.isBlank()) {
            return Path.of(env);
        }
        return Path.of(System.getProperty("user.home"), ".cache", "leviathan");
    }

    private static void checkCompatible(Checkpoint ckpt, TrainConfig cfg, ModelConfig mc, TokenDataset ds) {
        ckpt.checkModel(mc);
        TrainConfig old = ckpt.trainConfig();
        List<String> diffs = new ArrayList<>();
        if (old.batch() != cfg.batch()) {
            diffs.add("batch " + old.batch() + " in the checkpoint, " + cfg.batch() + " here");
        }
        if (old.seq() != cfg.seq()) {
            diffs.add("seq " + old.seq() + " in the checkpoint, " + cfg.seq() + " here");
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException("checkpoint " + ckpt.file() + " was trained with other batch shapes: "
                    + String.join("; ", diffs));
        }
        if (!ckpt.tokenizerName().equals(ds.tokenizerName())) {
            throw new IllegalArgumentException("checkpoint " + ckpt.file() + " uses tokenizer " + ckpt.tokenizerName()
                    + " but the dataset uses " + ds.tokenizerName());
        }
        String ours = Checkpoint.vocabularyHash(ds.vocabularyMap());
        String theirs = ckpt.metadata("vocabulary_sha256");
        if (!ours.equals(theirs)) {
            throw new IllegalArgumentException("checkpoint " + ckpt.file() + " was trained on another vocabulary"
                    + " (vocabulary map sha256 " + abbrev(theirs) + ", the dataset's " + abbrev(ours) + ")");
        }
    }

    private static String abbrev(String hash) {
        return hash.length() > 12 ? hash.substring(0, 12) + "..." : hash;
    }

    /** Keeps the rows of steps <= {@code step}; the original goes to a backup file when rows are dropped. */
    private static void trimMetrics(Path file, long step) throws IOException {
        if (!Files.exists(file)) {
            return;
        }
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        List<String> kept = new ArrayList<>();
        for (String line : lines) {
            int i = line.indexOf("\"step\":");
            if (i < 0) {
                continue;
            }
            int j = i + 7;
            int k = j;
            while (k < line.length() && Character.isDigit(line.charAt(k))) {
                k++;
            }
            if (k > j && Long.parseLong(line.substring(j, k)) <= step) {
                kept.add(line);
            }
        }
        if (kept.size() != lines.size()) {
            Path backup = file.resolveSibling("metrics.before-resume-" + Instant.now().toEpochMilli() + ".jsonl");
            Files.copy(file, backup, StandardCopyOption.COPY_ATTRIBUTES);
            Path tmp = file.resolveSibling(".metrics.jsonl.tmp");
            Files.write(tmp, kept, StandardCharsets.UTF_8);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        }
    }

    private void describe(Checkpoint resumedFrom) {
        ModelConfig mc = model.config();
        out.printf(Locale.ROOT, "run %s%n", runDir);
        out.printf(Locale.ROOT, "model %s (%s): vocab %,d, d_model %d, %d layers, %d heads, %,d parameters%n",
                cfg.model().isTextual() ? cfg.model().textValue() : "inline", ModelConfigFiles.name(mc.family()),
                mc.vocab(), mc.dModel(), mc.layers(), mc.heads(), ParameterCount.total(mc));
        out.printf(Locale.ROOT, "data %s: %,d train / %,d val tokens (%s)%n", cfg.data(), dataset.tokens(Split.TRAIN),
                dataset.tokens(Split.VAL), dataset.tokenizerName());
        out.printf(Locale.ROOT, "%d steps x %d tokens (batch %d x seq %d x accum %d), lr %s -> %s, warmup %d, %s backend, %d threads%n",
                cfg.steps(), cfg.tokensPerStep(), cfg.batch(), cfg.seq(), cfg.accum(), cfg.lr(), cfg.effectiveMinLr(),
                cfg.effectiveWarmup(), be.name(), be.threads());
        if (resumedFrom != null) {
            out.printf(Locale.ROOT, "resumed from %s at step %d%n", resumedFrom.file(), step);
        }
    }

    // ---------------------------------------------------------------- the loop

    /** Trains to {@code steps}, then evaluates, checkpoints, plots and samples. */
    public Summary run() {
        return runUntil(cfg.steps());
    }

    /**
     * Trains until {@code stop} updates are done (at most {@code steps}), evaluating and checkpointing on
     * schedule; stopping early still writes a checkpoint so the run can resume. At the last step of the run
     * it also writes the loss plot and prints a sample.
     */
    public Summary runUntil(long stop) {
        stop = Math.min(stop, cfg.steps());
        long startStep = step;
        long t0 = System.nanoTime();
        while (step < stop) {
            trainStep();
            boolean last = step == cfg.steps();
            if (last || (cfg.evalEvery() > 0 && step % cfg.evalEvery() == 0)) {
                evaluateAndLog();
            }
            if (last || (cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0)) {
                saveCheckpoint();
            }
        }
        progress.finish();
        if (step > startStep && lastCheckpointStep != step) {
            saveCheckpoint();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        double tps = step > startStep ? (step - startStep) * cfg.tokensPerStep() / seconds : 0;
        if (step == cfg.steps() && step > startStep) {
            finish();
        }
        return new Summary(runDir, step, firstLoss, lastLoss, lastValLoss, seconds, tps, lastCheckpoint);
    }

    /**
     * One update: {@code accum} micro-batches of forward and backward, then AdamW at the scheduled rate.
     * Returns the mean loss of the micro-batches. The step is issued to the backend without waiting; the
     * loss and gradient norm come back in one download at its end.
     */
    public double trainStep() {
        long t0 = System.nanoTime();
        model.parameters().zeroGrads(be);
        be.fill(lossSum, 0f);
        for (int micro = 0; micro < cfg.accum(); micro++) {
            sampler.next(inBuf, tgtBuf);
            model.accumulateLoss(inBuf, tgtBuf, lossSum);
            model.backward();
        }
        float lr = schedule.lr(step);
        opt.step(lr, cfg.clip(), gradNorm);
        be.download(stats, statsHost, 0); // the step's one wait
        double loss = (double) statsHost[0] / cfg.accum();
        double norm = opt.checkNorm(statsHost[1], cfg.clip());
        step++;
        double seconds = (System.nanoTime() - t0) / 1e9;
        lastTokensPerSecond = cfg.tokensPerStep() / seconds;
        if (Double.isNaN(firstLoss)) {
            firstLoss = loss;
        }
        lastLoss = loss;
        writeMetrics(String.format(Locale.ROOT,
                "{\"step\":%d,\"loss\":%s,\"lr\":%s,\"grad_norm\":%s,\"tokens_per_s\":%.1f,\"step_s\":%.4f}",
                step, loss, lr, norm, lastTokensPerSecond, seconds));
        progress.update(step, loss, lr, lastTokensPerSecond, seconds);
        return loss;
    }

    /**
     * The mean validation loss over {@code evalBatches} micro-batches; the same batches every time (the
     * validation sampler restarts from its initial state), so evaluations are comparable across steps.
     */
    public double evaluate() {
        valSampler.restore(valStart);
        double sum = 0;
        for (int b = 0; b < cfg.evalBatches(); b++) {
            valSampler.next(inBuf, tgtBuf);
            sum += model.evaluate(inBuf, tgtBuf);
        }
        return sum / cfg.evalBatches();
    }

    private void evaluateAndLog() {
        double v = evaluate();
        lastValLoss = v;
        lastEvalStep = step;
        writeMetrics(String.format(Locale.ROOT, "{\"step\":%d,\"val_loss\":%s,\"val_ppl\":%s}", step, v, Math.exp(v)));
        progress.message(String.format(Locale.ROOT, "step %d: val loss %.4f, val ppl %.2f", step, v, Math.exp(v)));
    }

    /** Writes a checkpoint of the current state into {@code <run>/checkpoints} and prunes old ones. */
    public Path saveCheckpoint() {
        Map<String, String> meta = new LinkedHashMap<>(fixedMeta);
        meta.put("sampler_state", Checkpoint.json(sampler.state()));
        meta.put("tokens_seen", Long.toString(step * cfg.tokensPerStep()));
        meta.put("val_loss", Double.toString(lastValLoss));
        meta.put("created", Instant.now().toString());
        lastCheckpoint = Checkpoint.save(checkpointDir, step, model, opt, meta, cfg.keepCheckpoints());
        lastCheckpointStep = step;
        try {
            metrics.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return lastCheckpoint;
    }

    /** The end of a run: the loss plot and a sample. Failures there are reported, not fatal. */
    private void finish() {
        Path png = runDir.resolve("loss.png");
        try {
            metrics.flush();
            LossPlot.write(runDir.resolve("metrics.jsonl"), png);
            out.println("loss plot " + png);
        } catch (IOException | RuntimeException | LinkageError e) {
            out.println("loss plot not written: " + e);
        }
        if (cfg.sampleTokens() > 0) {
            try {
                String prompt = "The";
                String text = TextGenerator.generate(be, model, Tokenizer.of(dataset.tokenizerName()),
                        dataset.vocabularyMap(), prompt, cfg.sampleTokens(), 0.8f, 40, 0.95f, cfg.seed());
                out.println("sample (temperature 0.8, top-k 40): \"" + prompt + text.replace('\n', ' ') + "\"");
            } catch (RuntimeException | LinkageError e) {
                out.println("no sample: " + e);
            }
        }
    }

    private void writeMetrics(String line) {
        try {
            metrics.write(line);
            metrics.newLine();
            metrics.flush(); // a line per step: cheap, and `tail -f metrics.jsonl` stays current
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write metrics: " + e.getMessage(), e);
        }
    }

    // ---------------------------------------------------------------- accessors

    /** Updates done. */
    public long step() {
        return step;
    }

    public TrainConfig config() {
        return cfg;
    }

    public Path runDir() {
        return runDir;
    }

    public LlamaModel model() {
        return model;
    }

    public AdamW optimizer() {
        return opt;
    }

    public TokenDataset dataset() {
        return dataset;
    }

    /** The last validation loss (NaN before the first evaluation). */
    public double lastValLoss() {
        return lastValLoss;
    }

    /** Frees the model, optimizer and buffers, closes the metrics file and releases the run folder. */
    @Override
    public void close() {
        List<AutoCloseable> all = new ArrayList<>();
        all.add(lock); // closed last, after every file is
        all.add(metrics);
        all.add(io);
        all.add(opt);
        all.add(model);
        all.add(be);
        all.add(dataset);
        closeAll(all);
    }

    private static void closeAll(List<AutoCloseable> resources) {
        RuntimeException first = null;
        for (int i = resources.size() - 1; i >= 0; i--) {
            try {
                resources.get(i).close();
            } catch (Exception e) {
                if (first == null) {
                    first = new IllegalStateException("cannot close " + resources.get(i) + ": " + e.getMessage(), e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }

    // ---------------------------------------------------------------- evaluation over a whole split

    /**
     * The mean loss per token of {@code model} over all of {@code split}: consecutive windows of
     * {@code model.seq()} targets, {@code model.batch()} at a time (the last batch padded with ignored
     * targets), at most {@code maxBatches} batches (0 = all). Returns {mean loss, tokens counted}.
     */
    public static double[] evaluateSplit(LlamaModel model, TokenDataset ds, Split split, long maxBatches,
                                         LongConsumer onBatch) {
        int batch = model.batch();
        int seq = model.seq();
        long n = ds.tokens(split);
        if (n < 2) {
            throw new IllegalArgumentException("the " + split + " split has " + n + " tokens; need at least 2");
        }
        int[] in = new int[batch * seq];
        int[] tg = new int[batch * seq];
        double sum = 0;
        long counted = 0;
        long pos = 0; // first input token of the next window
        long batches = 0;
        while (pos < n - 1 && (maxBatches <= 0 || batches < maxBatches)) {
            Arrays.fill(in, 0);
            Arrays.fill(tg, LlamaModel.IGNORE_INDEX);
            int c = 0;
            for (int b = 0; b < batch && pos < n - 1; b++) {
                int len = (int) Math.min(seq, n - 1 - pos);
                for (int t = 0; t < len; t++) {
                    in[b * seq + t] = ds.token(split, pos + t);
                    tg[b * seq + t] = ds.token(split, pos + t + 1);
                }
                c += len;
                pos += len;
            }
            sum += model.evaluate(in, tg) * c;
            counted += c;
            batches++;
            if (onBatch != null) {
                onBatch.accept(batches);
            }
        }
        return new double[] {sum / counted, counted};
    }

    // ---------------------------------------------------------------- progress

    /** The terminal display: one line updated in place on a terminal, periodic plain lines otherwise. */
    static final class Progress {
        private final PrintStream out;
        private final boolean tty;
        private final long total;
        private final long every;
        private final long startNanos = System.nanoTime();
        private long firstStep = -1;
        private long lastPrint;
        private boolean lineOpen;

        Progress(PrintStream out, boolean tty, long total) {
            this.out = out;
            this.tty = tty;
            this.total = total;
            this.every = Math.max(1, total / 20);
        }

        void update(long step, double loss, float lr, double tokensPerSecond, double stepSeconds) {
            if (firstStep < 0) {
                firstStep = step - 1;
            }
            long now = System.nanoTime();
            double elapsed = (now - startNanos) / 1e9;
            double perStep = elapsed / (step - firstStep);
            double eta = perStep * (total - step);
            String bar = bar(step);
            String line = String.format(Locale.ROOT, "%s step %d/%d | loss %.4f | lr %.2e | %,.0f tok/s | ETA %s",
                    bar, step, total, loss, lr, tokensPerSecond, duration(eta));
            if (tty) {
                if (now - lastPrint > 100_000_000L || step == total) {
                    out.print("\r" + line + "\u001b[K");
                    out.flush();
                    lastPrint = now;
                    lineOpen = true;
                }
            } else if (step % every == 0 || step == total || step == firstStep + 1) {
                out.println(line);
            }
        }

        void message(String text) {
            if (lineOpen) {
                out.println();
                lineOpen = false;
            }
            out.println(text);
        }

        void finish() {
            if (lineOpen) {
                out.println();
                lineOpen = false;
            }
        }

        private String bar(long step) {
            int width = 20;
            int filled = (int) (width * step / Math.max(1, total));
            return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
        }

        static String duration(double seconds) {
            if (!Double.isFinite(seconds)) {
                return "?";
            }
            long s = Math.round(seconds);
            return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                    : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
        }
    }
}
