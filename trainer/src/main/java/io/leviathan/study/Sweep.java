package io.leviathan.study;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.DataPrepare;
import io.leviathan.data.Split;
import io.leviathan.data.TokenDataset;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterCount;
import io.leviathan.train.Checkpoint;
import io.leviathan.train.RunFolderBusyException;
import io.leviathan.train.RunLock;
import io.leviathan.train.TrainConfig;
import io.leviathan.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The scaling-law sweep ({@code ./leviathan sweep}): trains every dense size of a {@link SweepConfig} and its
 * Leviathan twins with the ordinary {@link Trainer}, on the same data, token budget, schedule and seed, one
 * run folder each:
 * <pre>
 *   &lt;out&gt;/sweep.json               the sweep's configuration, plan and command line (rewritten at each start)
 *   &lt;out&gt;/data/                    the prepared dataset, when the sweep was given a raw file
 *   &lt;out&gt;/data-source.json         what it was prepared from (a later start with other data is refused)
 *   &lt;out&gt;/&lt;run&gt;/                   an ordinary run folder (config.json, metrics.jsonl, checkpoints/, loss.png)
 *   &lt;out&gt;/&lt;run&gt;/result.json       written last, atomically: the run is finished
 * </pre>
 * Run IDs are {@code <arm>-<size>-s<seed>} ({@link #runId}: {@code dense-d32-s1}, {@code dense-tied-d32-s1},
 * {@code leviathan-iso-body-d32-s1}, {@code leviathan-isoparametric-d32-s1}, {@code tied-deep-d32-s1}). A start skips runs whose result.json is valid and was made by the
 * same configuration (another configuration is an error, never silently overwritten); a run folder without
 * one continues from its newest checkpoint (on the CPU bit for bit as if it had not stopped), or starts
 * afresh when it has none. A run whose final checkpoint exists but whose result was not written is only
 * evaluated. A failing run is reported and the sweep goes on with the next.
 *
 * <p>result.json holds: {@code run}, {@code size}, {@code family}, {@code variant} (dense, iso-body,
 * isoparametric), {@code twin} (the dense run of a Leviathan twin), {@code model} (ModelConfigFiles form),
 * {@code depth}, {@code parameters} (total, embedding = the input stage, non_embedding, and every
 * ParameterCount component), {@code train_config}, {@code steps}, {@code tokens_per_step},
 * {@code tokens_seen}, {@code val_loss} (mean loss per token over {@code val_tokens} tokens of the validation
 * split, consecutive windows), {@code trainer_val_loss} (the trainer's fixed-batch estimate),
 * {@code final_train_loss}, {@code step_time_s} (median seconds per step, first steps excluded as warm-up),
 * {@code tokens_per_s} (tokens per step / median step time), {@code train_s} (sum of step times),
 * {@code wall_s} (this attempt's wall time, set-up and evaluation included), {@code device}, {@code threads}
 * and {@code finished}.
 */
public final class Sweep {
    public static final String RESULT = "result.json";
    public static final String SWEEP_FILE = "sweep.json";
    public static final String DATA_DIR = "data";
    public static final String DATA_SOURCE = "data-source.json";
    public static final String FORMAT = "leviathan-sweep-result";
    public static final int VERSION = 1;
    /** Training keys that do not change a run's outcome; they may differ between a run and its restart. */
    static final List<String> NEUTRAL_KEYS = List.of("out", "data", "evalEvery", "checkpointEvery", "keepCheckpoints",
            "sampleTokens");

    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private Sweep() {}

    /**
     * One run of the plan: a (size, arm, seed).
     *
     * @param name the run's ID and folder name ({@link #runId})
     * @param size the dense size it belongs to
     * @param variant the arm ({@link SweepConfig#ARMS})
     * @param twin the untied dense run of the same size and seed it is compared with (its own ID for that run)
     * @param tiedTwin the tied dense run of the same size and seed (the other baseline)
     * @param seed its seed (initialisation and data order)
     * @param tokens its size's own token budget (a budget probe), or null for the sweep's
     * @param model the model, vocabulary included
     * @param note what the plan says about it (depth of a deepened arm), or null
     */
    public record PlannedRun(String name, String size, String variant, String twin, String tiedTwin, long seed,
                             Long tokens, ModelConfig model, String note) {
        public Family family() {
            return model.family();
        }
    }

    /** The stable ID of a run: {@code <arm>-<size>-s<seed>}, Leviathan arms prefixed {@code leviathan-}. */
    public static String runId(String arm, String size, long seed) {
        String prefix = SweepConfig.VARIANTS.contains(arm) ? "leviathan-" + arm : arm;
        return prefix + "-" + size + "-s" + seed;
    }

    /** The baseline family a dense arm's law belongs to ({@code untied}, {@code tied}), or null for other arms. */
    public static String baseline(String arm) {
        return arm.equals(SweepConfig.DENSE) ? "untied" : arm.equals(SweepConfig.DENSE_TIED) ? "tied" : null;
    }

    /** A twin the plan leaves out, and why. */
    public record Skipped(String name, String reason) {}

    /** The runs of a sweep at a vocabulary, in order (each dense size, then its twins). */
    public record Plan(List<PlannedRun> runs, List<Skipped> skipped) {}

    /** What a sweep did. */
    public record Summary(Path out, int runs, int trained, int alreadyDone, List<String> failed, double seconds) {}

    // ---------------------------------------------------------------- the plan

    /** The runs of {@code cfg} at vocabulary {@code vocab} (the dataset's): per size, per seed, its arms in order. */
    public static Plan plan(SweepConfig cfg, int vocab) {
        List<PlannedRun> runs = new ArrayList<>();
        List<Skipped> skipped = new ArrayList<>();
        GeneratorConfig g = cfg.generator();
        for (SweepConfig.Size s : cfg.dense()) {
            ModelConfig dense = s.model().withVocab(vocab).withTiedHead(false);
            long denseTotal = ParameterCount.total(dense);
            for (long seed : s.seeds()) {
                String twin = runId(SweepConfig.DENSE, s.name(), seed);
                String tiedTwin = runId(SweepConfig.DENSE_TIED, s.name(), seed);
                for (String arm : s.arms()) {
                    String name = runId(arm, s.name(), seed);
                    ModelConfig model;
                    String note;
                    try {
                        switch (arm) {
                            case SweepConfig.DENSE -> {
                                model = dense;
                                note = null;
                            }
                            case SweepConfig.DENSE_TIED -> {
                                model = dense.withTiedHead(true);
                                note = String.format(Locale.ROOT, "head tied to the table, %,d parameters",
                                        ParameterCount.total(model));
                            }
                            case SweepConfig.ISO_BODY -> {
                                model = ModelConfigs.isoBody(dense, g);
                                long t = ParameterCount.total(model);
                                note = String.format(Locale.ROOT, "same body (%d layers), %,d parameters = %.1f%% of the"
                                        + " dense %,d", model.layers(), t, 100.0 * t / denseTotal, denseTotal);
                            }
                            default -> { // isoparametric, tied-deep: the untied dense total, reached by depth
                                ModelConfigs.IsoParametric iso = arm.equals(SweepConfig.ISOPARAMETRIC)
                                        ? ModelConfigs.isoParametric(dense, g) : ModelConfigs.tiedDeep(dense);
                                if (cfg.maxLayers() != null && iso.layers() > cfg.maxLayers()) {
                                    skipped.add(new Skipped(name, "the " + arm + " depth " + iso.layers()
                                            + " exceeds maxLayers " + cfg.maxLayers()));
                                    continue;
                                }
                                model = iso.config();
                                note = String.format(Locale.ROOT, "depth %d (dense %d), ffn %d, %,d parameters (%+.2f%% of"
                                                + " dense)", iso.layers(), dense.layers(), iso.ffnHidden(), iso.leviathanTotal(),
                                        100 * iso.relativeDifference());
                            }
                        }
                    } catch (IllegalArgumentException e) {
                        skipped.add(new Skipped(name, e.getMessage()));
                        continue;
                    }
                    runs.add(new PlannedRun(name, s.name(), arm, twin, tiedTwin, seed, s.tokens(), model, note));
                }
            }
        }
        return new Plan(List.copyOf(runs), List.copyOf(skipped));
    }

    /** The training configuration of {@code run}: the sweep's shared settings, its seed, budget, model, data and folder. */
    public static TrainConfig trainConfig(SweepConfig cfg, PlannedRun run, Path dataDir, Path runDir) {
        SweepConfig.Size size = cfg.dense().stream().filter(s -> s.name().equals(run.size())).findFirst().orElseThrow();
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.set("model", JSON.valueToTree(ModelConfigFiles.toMap(null, run.model())));
        o.putNull("family");
        o.putNull("vocab");
        o.put("data", dataDir.toAbsolutePath().normalize().toString());
        o.put("out", runDir.toAbsolutePath().normalize().toString());
        return cfg.trainConfig(size, run.seed()).merge(o.toString(), "sweep run " + run.name());
    }

    /**
     * A run's training FLOPs, approximately (for the ETA and the report's loss-against-compute view): per token
     * 6 x the weights a token passes through (the body and the head; a tied head is a matmul all the same, a
     * table lookup is free), attention over the sequence, and the generator per token as an upper bound (it
     * runs once per distinct id of a batch), times the tokens trained.
     */
    static double cost(PlannedRun r, TrainConfig t) {
        return flopsPerToken(r.model(), t.seq()) * t.steps() * t.tokensPerStep();
    }

    static double flopsPerToken(ModelConfig m, int seq) {
        ParameterCount pc = ParameterCount.of(m);
        double head = m.tiedHead() ? (double) m.vocab() * m.dModel() : 0; // the tied table, used as the head
        double perToken = 6.0 * (pc.nonEmbedding() + head) + 6.0 * m.layers() * seq * m.dModel();
        if (m.generator() != null) {
            GeneratorConfig g = m.generator();
            perToken += 6.0 * g.heads() * ((double) g.seedDim() * g.seedDim() + 4.0 * g.seedDim() * g.rank()
                    + (double) g.rank() * m.dModel());
        }
        return perToken;
    }

    // ---------------------------------------------------------------- running

    /**
     * Runs the sweep into {@code outDir}; {@code command} (may be null) is recorded in sweep.json. Returns
     * when every run is done or has failed. The folder is locked for the whole sweep ({@link RunLock}): a
     * second sweep into it fails at once, naming the first one's pid.
     */
    public static Summary run(SweepConfig cfg, Path outDir, String command, PrintStream out) {
        // one sweep per folder; each run's own folder is locked again by its Trainer
        try (RunLock lock = RunLock.acquire(outDir, out)) {
            return runLocked(cfg, lock.folder(), command, out);
        }
    }

    /**
     * A sweep made ready to train: its data prepared, its plan and each run's training configuration, every
     * existing result and checkpoint checked against them, sweep.json written.
     */
    record Prepared(Path dataDir, int vocab, Plan plan, List<TrainConfig> configs, JsonNode[] finished) {}

    /** Prepares {@code outDir} (which the caller has locked) for {@code cfg}; see {@link Prepared}. */
    static Prepared prepare(SweepConfig cfg, Path outDir, String command, PrintStream out) {
        Path dataDir = prepareData(cfg, outDir, out);
        int vocab;
        try (TokenDataset ds = TokenDataset.open(dataDir)) {
            vocab = ds.vocabSize();
            out.printf(Locale.ROOT, "data %s: %,d train / %,d val tokens, vocabulary %,d (%s%s)%n", dataDir,
                    ds.tokens(Split.TRAIN), ds.tokens(Split.VAL), vocab, ds.tokenizerName(),
                    ds.compacted() ? ", compacted" : "");
        }
        Plan plan = plan(cfg, vocab);
        List<PlannedRun> runs = plan.runs();
        List<TrainConfig> configs = new ArrayList<>();
        for (PlannedRun r : runs) {
            configs.add(trainConfig(cfg, r, dataDir, outDir.resolve(r.name())));
        }
        // runs made by another configuration: refuse the whole sweep before anything is written
        JsonNode[] finished = new JsonNode[runs.size()];
        for (int i = 0; i < runs.size(); i++) {
            Path runDir = outDir.resolve(runs.get(i).name());
            finished[i] = finishedResult(runDir, runs.get(i), configs.get(i));
            if (finished[i] == null) {
                Checkpoint c = checkCheckpoint(runDir, runs.get(i), configs.get(i));
                if (c != null) {
                    c.close();
                }
            }
        }
        writeSweepFile(cfg, outDir, dataDir, vocab, plan, command);
        return new Prepared(dataDir, vocab, plan, configs, finished);
    }

    /** Prepares {@code outDir} under its lock, waiting up to {@code waitSeconds} for another holder to finish. */
    static Prepared prepareWaiting(SweepConfig cfg, Path outDir, String command, PrintStream out, double waitSeconds) {
        long deadline = System.nanoTime() + (long) (waitSeconds * 1e9);
        while (true) {
            try (RunLock lock = RunLock.acquire(outDir, out)) {
                return prepare(cfg, lock.folder(), command, out);
            } catch (RunFolderBusyException busy) {
                // another array task prepares the data or checks the plan: a short wait, then again
                if (System.nanoTime() > deadline) {
                    throw busy;
                }
                try {
                    Thread.sleep(2000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw busy;
                }
            }
        }
    }

    /**
     * Prints the plan of {@code cfg} (preparing the data first, as the plan depends on its vocabulary): one
     * line per run with its ID, arm, size, seed, parameters, tokens and state (done, partial or pending).
     * Returns the run IDs in order.
     */
    public static List<String> list(SweepConfig cfg, Path outDir, PrintStream out) {
        Prepared p = prepareWaiting(cfg, outDir, null, new PrintStream(PrintStream.nullOutputStream()), 0);
        List<PlannedRun> runs = p.plan().runs();
        out.printf(Locale.ROOT, "%-40s %-13s %-10s %-8s %14s %14s  %s%n", "run", "arm", "size", "seed", "parameters",
                "tokens", "state");
        for (int i = 0; i < runs.size(); i++) {
            PlannedRun r = runs.get(i);
            TrainConfig tc = p.configs().get(i);
            String state = p.finished()[i] != null ? "done"
                    : Checkpoint.list(outDir.resolve(r.name()).resolve(Checkpoint.DIR)).isEmpty() ? "pending" : "partial";
            out.printf(Locale.ROOT, "%-40s %-13s %-10s %-8d %,14d %,14d  %s%n", r.name(), r.variant(), r.size(), r.seed(),
                    ParameterCount.total(r.model()), tc.steps() * tc.tokensPerStep(), state);
        }
        for (Skipped s : p.plan().skipped()) {
            out.printf(Locale.ROOT, "%-40s skipped: %s%n", s.name(), s.reason());
        }
        return runs.stream().map(PlannedRun::name).toList();
    }

    /**
     * Trains the one run {@code id} of the sweep (a cluster array task): the sweep folder is locked only while
     * the data is prepared and the plan checked (a task that finds it locked waits, up to ten minutes), then the
     * run trains under its own folder's lock, so tasks of one sweep run side by side. A finished run is left as
     * it is; a stopped one resumes from its newest checkpoint.
     *
     * @throws IllegalArgumentException for an ID the plan does not hold (the message lists them)
     */
    public static Summary runById(SweepConfig cfg, Path outDir, String id, String command, PrintStream out) {
        long t0 = System.nanoTime();
        Prepared p = prepareWaiting(cfg, outDir, command, out, 600);
        List<PlannedRun> runs = p.plan().runs();
        int i = runs.stream().map(PlannedRun::name).toList().indexOf(id);
        if (i < 0) {
            throw new IllegalArgumentException("no run '" + id + "' in this sweep; its runs: "
                    + String.join(", ", runs.stream().map(PlannedRun::name).toList()) + " (./leviathan sweep --list)");
        }
        Path runDir = outDir.resolve(id);
        if (p.finished()[i] != null) {
            out.printf(Locale.ROOT, "%s: finished already (val loss %.4f)%n", id, p.finished()[i].get("val_loss").asDouble());
            return new Summary(outDir, 1, 0, 1, List.of(), (System.nanoTime() - t0) / 1e9);
        }
        ObjectNode res = runOne(cfg, runs.get(i), p.configs().get(i), runDir, p.dataDir(), out);
        out.printf(Locale.ROOT, "%s: val loss %.4f, %,.0f tokens/s%n", id, res.get("val_loss").asDouble(),
                res.get("tokens_per_s").asDouble());
        return new Summary(outDir, 1, 1, 0, List.of(), (System.nanoTime() - t0) / 1e9);
    }

    private static Summary runLocked(SweepConfig cfg, Path outDir, String command, PrintStream out) {
        long t0 = System.nanoTime();
        Prepared p = prepare(cfg, outDir, command, out);
        Plan plan = p.plan();
        List<PlannedRun> runs = plan.runs();
        List<TrainConfig> configs = p.configs();
        JsonNode[] finished = p.finished();
        TrainConfig base = configs.getFirst();
        out.printf(Locale.ROOT, "sweep %s: %d runs of %,d steps x %,d tokens = %,d tokens each (batch %d x seq %d x accum %d),"
                        + " lr %s, seeds %s, %s%n", cfg.name() != null ? cfg.name() : outDir.getFileName(), runs.size(),
                base.steps(), base.tokensPerStep(), base.steps() * base.tokensPerStep(), base.batch(), base.seq(),
                base.accum(), base.lr(), runs.stream().map(PlannedRun::seed).distinct().toList(), base.device());
        for (PlannedRun r : runs) {
            out.printf(Locale.ROOT, "  %-40s %,13d parameters  %s%n", r.name(), ParameterCount.total(r.model()),
                    r.note() != null ? r.note() : String.format(Locale.ROOT, "D %d, %d layers", r.model().dModel(),
                            r.model().layers()));
        }
        for (Skipped s : plan.skipped()) {
            out.printf(Locale.ROOT, "  %-40s skipped: %s%n", s.name(), s.reason());
        }
        Path dataDir = p.dataDir();

        double[] costs = new double[runs.size()];
        for (int i = 0; i < runs.size(); i++) {
            costs[i] = cost(runs.get(i), configs.get(i));
        }
        double doneCost = 0;
        double doneSeconds = 0;
        int trained = 0;
        int already = 0;
        List<String> failed = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            PlannedRun r = runs.get(i);
            TrainConfig tc = configs.get(i);
            Path runDir = outDir.resolve(r.name());
            String tag = String.format(Locale.ROOT, "[%d/%d] %s", i + 1, runs.size(), r.name());
            JsonNode existing = finished[i];
            if (existing != null) {
                out.printf(Locale.ROOT, "%s: finished already (val loss %.4f), skipped%n", tag,
                        existing.get("val_loss").asDouble());
                already++;
                continue;
            }
            double remainingCost = 0;
            for (int j = i; j < runs.size(); j++) {
                remainingCost += costs[j];
            }
            double elapsed = (System.nanoTime() - t0) / 1e9;
            String eta = doneCost > 0 ? duration(remainingCost * doneSeconds / doneCost) : "? (after the first run)";
            out.printf(Locale.ROOT, "%n%s: %s, D %d, %d layers, %,d parameters; sweep elapsed %s, ETA %s%n", tag,
                    r.variant(), r.model().dModel(), r.model().layers(), ParameterCount.total(r.model()),
                    duration(elapsed), eta);
            long r0 = System.nanoTime();
            try {
                ObjectNode res = runOne(cfg, r, tc, runDir, dataDir, out);
                double secs = (System.nanoTime() - r0) / 1e9;
                doneCost += costs[i];
                doneSeconds += secs;
                trained++;
                out.printf(Locale.ROOT, "%s: val loss %.4f, %,.0f tokens/s, %s%n", tag, res.get("val_loss").asDouble(),
                        res.get("tokens_per_s").asDouble(), duration(secs));
            } catch (RuntimeException | OutOfMemoryError e) {
                failed.add(r.name() + ": " + e.getMessage());
                out.printf(Locale.ROOT, "%s: FAILED: %s%n", tag, e);
            }
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        out.printf(Locale.ROOT, "%nsweep done in %s: %d trained, %d finished before, %d failed; results in %s%n",
                duration(secs), trained, already, failed.size(), outDir);
        for (String f : failed) {
            out.println("  failed: " + f);
        }
        if (!plan.skipped().isEmpty()) {
            out.println("  " + plan.skipped().size() + " twin(s) not planned (see above)");
        }
        out.println("fit the scaling law with: ./leviathan fit " + outDir);
        return new Summary(outDir, runs.size(), trained, already, List.copyOf(failed), secs);
    }

    /**
     * The prepared dataset folder: the config's own when it names one, else {@code <out>/data}, prepared now
     * unless an earlier start prepared it from the same file with the same settings.
     */
    public static Path prepareData(SweepConfig cfg, Path outDir, PrintStream out) {
        Path src = Path.of(cfg.data());
        if (Files.isDirectory(src)) {
            try (TokenDataset ignored = TokenDataset.open(src)) {
                return src.toAbsolutePath().normalize();
            }
        }
        if (!Files.isRegularFile(src)) {
            throw new IllegalArgumentException("data " + src + ": no such file or folder (give a prepared dataset folder"
                    + " or a .txt, .jsonl or .jsonl.zst file; relative paths are taken from the config file's folder,"
                    + " then the working folder)");
        }
        Path dir = outDir.resolve(DATA_DIR);
        Path sourceFile = outDir.resolve(DATA_SOURCE);
        ObjectNode want = JsonNodeFactory.instance.objectNode();
        try {
            want.put("path", src.toAbsolutePath().normalize().toString());
            want.put("bytes", Files.size(src));
            want.put("modified", Files.getLastModifiedTime(src).toMillis());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + src + ": " + e.getMessage(), e);
        }
        want.put("tokenizer", cfg.tokenizer());
        want.put("valFraction", cfg.valFraction());
        want.put("compactVocab", cfg.compactVocab());
        want.put("skipBadLines", cfg.skipBadLines());
        if (Files.isDirectory(dir)) {
            JsonNode had = null;
            try {
                had = Files.isRegularFile(sourceFile) ? JSON.readTree(sourceFile.toFile()) : null;
            } catch (IOException e) {
                // treated as unknown below
            }
            if (had != null && had.toString().equals(want.toString())) { // as text: 12 as int or long alike
                try (TokenDataset ignored = TokenDataset.open(dir)) {
                    out.println("data prepared before: " + dir);
                    return dir;
                }
            }
            throw new IllegalArgumentException(dir + " holds data prepared from " + (had == null ? "an unknown source"
                    : had) + ", not " + want + "; use another --out (or delete " + outDir + " to start the sweep over)");
        }
        writeAtomically(sourceFile, want.toPrettyString() + "\n");
        out.println("preparing " + src + " into " + dir + " (" + cfg.tokenizer() + ", validation "
                + cfg.valFraction() + (cfg.compactVocab() ? ", vocabulary compaction" : "") + ")");
        return DataPrepare.prepare(List.of(src), dir, cfg.tokenizer(), cfg.valFraction(), cfg.compactVocab(),
                cfg.skipBadLines(), out).toAbsolutePath().normalize();
    }

    /** The valid result.json of {@code run} made by {@code tc}, or null when the run is not finished. */
    static JsonNode finishedResult(Path runDir, PlannedRun run, TrainConfig tc) {
        Path f = runDir.resolve(RESULT);
        if (!Files.isRegularFile(f)) {
            return null;
        }
        JsonNode r;
        try {
            r = JSON.readTree(f.toFile());
        } catch (IOException e) {
            r = null;
        }
        if (r == null || !r.isObject() || !FORMAT.equals(r.path("format").asText()) || !r.path("val_loss").isNumber()
                || !Double.isFinite(r.path("val_loss").asDouble())) {
            // not something this sweep wrote in full: set it aside and redo the run
            Path aside = f.resolveSibling("result.invalid-" + Instant.now().toEpochMilli() + ".json");
            try {
                Files.move(f, aside);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot move the invalid " + f + " aside: " + e.getMessage(), e);
            }
            return null;
        }
        List<String> diffs = differences(r.path("train_config"), tc.toTree());
        if (!JSON.valueToTree(ModelConfigFiles.toMap(null, run.model())).equals(r.path("model"))) {
            diffs.addFirst("model");
        }
        if (!diffs.isEmpty()) {
            throw new IllegalArgumentException(f + " was made by another configuration (" + String.join(", ", diffs)
                    + " differ); use another --out, or delete " + runDir + " to redo the run");
        }
        return r;
    }

    /** The training keys (other than {@link #NEUTRAL_KEYS}) whose values differ. */
    static List<String> differences(JsonNode had, JsonNode want) {
        List<String> diffs = new ArrayList<>();
        for (Iterator<String> it = want.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (NEUTRAL_KEYS.contains(k)) {
                continue;
            }
            JsonNode a = had.get(k);
            JsonNode b = want.get(k);
            boolean same = a != null && (a.isNumber() && b.isNumber() ? a.doubleValue() == b.doubleValue() : a.equals(b));
            if (!same) {
                diffs.add(k + " (" + a + " then, " + b + " now)");
            }
        }
        return diffs;
    }

    /**
     * The newest checkpoint of the run folder (open; the caller closes it), or null when there is none.
     *
     * @throws IllegalArgumentException when it was written by another configuration
     */
    static Checkpoint checkCheckpoint(Path runDir, PlannedRun r, TrainConfig tc) {
        List<Path> ckpts = Checkpoint.list(runDir.resolve(Checkpoint.DIR));
        if (ckpts.isEmpty()) {
            return null;
        }
        Checkpoint c = Checkpoint.load(ckpts.getLast());
        try {
            List<String> diffs = differences(c.trainConfig().toTree(), tc.toTree());
            if (!diffs.isEmpty()) {
                throw new IllegalArgumentException(runDir + " holds a checkpoint of another configuration ("
                        + String.join(", ", diffs) + " differ); use another --out, or delete " + runDir
                        + " to redo the run");
            }
            c.checkModel(r.model());
            return c;
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Trains (or resumes, or only evaluates) one run and writes its result.json. */
    static ObjectNode runOne(SweepConfig cfg, PlannedRun r, TrainConfig tc, Path runDir, Path dataDir, PrintStream out) {
        long t0 = System.nanoTime();
        Path ckptDir = runDir.resolve(Checkpoint.DIR);
        List<Path> ckpts = Checkpoint.list(ckptDir);
        Path newest = ckpts.isEmpty() ? null : ckpts.getLast();
        long resumedFrom = 0;
        double[] eval;
        double trainerVal = Double.NaN;
        double lastLoss = Double.NaN;
        String backendName;
        int threads;
        if (newest != null) {
            try (Checkpoint c = checkCheckpoint(runDir, r, tc)) {
                resumedFrom = c.step();
                trainerVal = parse(c.metadata("val_loss"));
            }
        }
        if (newest != null && resumedFrom >= tc.steps()) {
            out.println("the final checkpoint " + newest + " is there; evaluating it");
            try (Checkpoint c = Checkpoint.load(newest);
                 Backend be = Backends.create(tc.device(), tc.attentionChoice());
                 TokenDataset ds = TokenDataset.open(dataDir);
                 LlamaModel model = new LlamaModel(be, r.model(), tc.batch(), tc.seq())) {
                c.restoreWeights(model);
                eval = evaluate(model, ds, cfg.evalTokens());
                backendName = be.name();
                threads = be.threads();
            }
        } else {
            if (newest != null) {
                out.println("resuming from " + newest);
            } else if (Files.exists(runDir.resolve("metrics.jsonl"))) {
                out.println("restarting " + runDir + " (stopped before its first checkpoint)");
            }
            try (Trainer t = Trainer.create(tc, newest == null ? null : newest, out)) {
                Trainer.Summary s = t.run();
                trainerVal = s.valLoss();
                lastLoss = s.lastLoss();
                eval = evaluate(t.model(), t.dataset(), cfg.evalTokens());
                backendName = t.model().backend().name();
                threads = t.model().backend().threads();
            }
        }
        double wall = (System.nanoTime() - t0) / 1e9;
        double[] steps = stepTimes(runDir.resolve("metrics.jsonl"), tc.steps());
        if (Double.isNaN(lastLoss)) {
            lastLoss = steps[3];
        }
        ObjectNode res = result(r, tc, eval, trainerVal, lastLoss, steps, wall, resumedFrom, backendName, threads);
        writeAtomically(runDir.resolve(RESULT), res.toPrettyString() + "\n");
        if (!cfg.keepCheckpoints()) {
            for (Path p : Checkpoint.list(ckptDir)) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    out.println("cannot delete " + p + ": " + e.getMessage());
                }
            }
        }
        return res;
    }

    private static double parse(String s) {
        try {
            return s == null ? Double.NaN : Double.parseDouble(s);
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** {mean loss per token, tokens} over the first {@code evalTokens} tokens of the validation split (0 = all). */
    static double[] evaluate(LlamaModel model, TokenDataset ds, long evalTokens) {
        long perBatch = (long) model.batch() * model.seq();
        long batches = evalTokens <= 0 ? 0 : Math.max(1, (evalTokens + perBatch - 1) / perBatch);
        return Trainer.evaluateSplit(model, ds, Split.VAL, batches, null);
    }

    /**
     * From metrics.jsonl: {median step seconds after warm-up, sum of step seconds, steps counted, last training
     * loss}. The first max(1, min(10, steps / 10)) steps are JIT and cache warm-up and left out of the median.
     */
    static double[] stepTimes(Path metrics, long totalSteps) {
        Map<Long, double[]> rows = new LinkedHashMap<>();
        try (Stream<String> lines = Files.lines(metrics, StandardCharsets.UTF_8)) {
            lines.forEach(line -> {
                try {
                    JsonNode n = JSON.readTree(line);
                    if (n != null && n.path("step_s").isNumber()) {
                        rows.put(n.get("step").asLong(), new double[] {n.get("step_s").asDouble(), n.path("loss").asDouble(Double.NaN)});
                    }
                } catch (JsonProcessingException e) {
                    // a partly written line
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + metrics + ": " + e.getMessage(), e);
        }
        long warm = Math.max(1, Math.min(10, totalSteps / 10));
        double sum = 0;
        List<Double> kept = new ArrayList<>();
        double last = Double.NaN;
        long lastStep = -1;
        for (Map.Entry<Long, double[]> e : rows.entrySet()) {
            sum += e.getValue()[0];
            if (e.getKey() > warm) {
                kept.add(e.getValue()[0]);
            }
            if (e.getKey() > lastStep) {
                lastStep = e.getKey();
                last = e.getValue()[1];
            }
        }
        if (kept.isEmpty()) { // a run of very few steps: use them all
            rows.values().forEach(v -> kept.add(v[0]));
        }
        double[] k = kept.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        double median = k.length == 0 ? Double.NaN
                : k.length % 2 == 1 ? k[k.length / 2] : (k[k.length / 2 - 1] + k[k.length / 2]) / 2;
        return new double[] {median, sum, rows.size(), last};
    }

    private static ObjectNode result(PlannedRun r, TrainConfig tc, double[] eval, double trainerVal, double lastLoss,
                                     double[] steps, double wall, long resumedFrom, String backend, int threads) {
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("format", FORMAT);
        o.put("version", VERSION);
        o.put("run", r.name());
        o.put("size", r.size());
        o.put("family", ModelConfigFiles.name(r.family()));
        o.put("variant", r.variant());
        o.put("baseline", baseline(r.variant()));
        o.put("twin", r.twin());
        o.put("tied_twin", r.tiedTwin());
        o.put("seed", r.seed());
        o.put("budget_probe", r.tokens() != null);
        o.set("model", JSON.valueToTree(ModelConfigFiles.toMap(null, r.model())));
        o.put("depth", r.model().layers());
        o.put("d_model", r.model().dModel());
        o.put("ffn_hidden", r.model().ffnHidden());
        if (r.note() != null) {
            o.put("note", r.note());
        }
        ParameterCount pc = ParameterCount.of(r.model());
        ObjectNode p = o.putObject("parameters");
        p.put("total", pc.total());
        p.put("embedding", pc.embeddingParameters());
        p.put("non_embedding", pc.nonEmbedding());
        ObjectNode comp = p.putObject("components");
        pc.components().forEach(comp::put);
        o.set("train_config", tc.toTree());
        o.put("steps", tc.steps());
        o.put("tokens_per_step", tc.tokensPerStep());
        o.put("tokens_seen", tc.steps() * tc.tokensPerStep());
        o.put("train_flops", cost(r, tc));
        o.put("val_loss", eval[0]);
        o.put("val_tokens", (long) eval[1]);
        putNumber(o, "trainer_val_loss", trainerVal);
        putNumber(o, "final_train_loss", lastLoss);
        putNumber(o, "step_time_s", steps[0]);
        putNumber(o, "tokens_per_s", tc.tokensPerStep() / steps[0]);
        o.put("train_s", steps[1]);
        o.put("wall_s", wall);
        o.put("resumed_from_step", resumedFrom);
        o.put("device", tc.device());
        o.put("backend", backend);
        o.put("threads", threads);
        o.put("finished", Instant.now().toString());
        return o;
    }

    private static void putNumber(ObjectNode o, String key, double v) {
        if (Double.isFinite(v)) {
            o.put(key, v);
        } else {
            o.putNull(key);
        }
    }

    private static void writeSweepFile(SweepConfig cfg, Path outDir, Path dataDir, int vocab, Plan plan, String command) {
        Path file = outDir.resolve(SWEEP_FILE);
        if (command == null && Files.isRegularFile(file)) { // started from code: keep the command line of before
            try {
                command = JSON.readTree(file.toFile()).path("command").asText(null);
            } catch (IOException e) {
                // none then
            }
        }
        ObjectNode o = JsonNodeFactory.instance.objectNode();
        o.put("name", cfg.name());
        o.put("config_file", cfg.source() == null ? null : cfg.source().toAbsolutePath().normalize().toString());
        o.put("command", command);
        o.put("data", dataDir.toString());
        o.put("vocab", vocab);
        o.put("started", Instant.now().toString());
        o.set("train_config", cfg.baseTrainConfig().toTree());
        o.put("eval_tokens", cfg.evalTokens());
        ArrayNode runs = o.putArray("runs");
        for (PlannedRun r : plan.runs()) {
            ObjectNode n = runs.addObject();
            n.put("run", r.name());
            n.put("variant", r.variant());
            n.put("seed", r.seed());
            n.put("twin", r.twin());
            n.put("depth", r.model().layers());
            n.put("parameters", ParameterCount.total(r.model()));
            n.put("note", r.note());
        }
        ArrayNode sk = o.putArray("skipped");
        for (Skipped s : plan.skipped()) {
            sk.addObject().put("run", s.name()).put("reason", s.reason());
        }
        writeAtomically(file, o.toPrettyString() + "\n");
    }

    // ---------------------------------------------------------------- reading results

    /** Every valid result.json in the folders directly under {@code dir}, sorted by run name. */
    public static List<JsonNode> readResults(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException(dir + ": no such folder");
        }
        List<JsonNode> out = new ArrayList<>();
        try (Stream<Path> s = Files.list(dir)) {
            for (Path sub : s.sorted().toList()) {
                Path f = sub.resolve(RESULT);
                if (!Files.isRegularFile(f)) {
                    continue;
                }
                try {
                    JsonNode r = JSON.readTree(f.toFile());
                    if (r != null && FORMAT.equals(r.path("format").asText())) {
                        out.add(r);
                    }
                } catch (IOException e) {
                    // an unreadable result is not a result
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
        return out;
    }

    // ---------------------------------------------------------------- helpers

    /** Writes {@code text} to a temporary file beside {@code file}, then renames it over {@code file}. */
    public static void writeAtomically(Path file, String text) {
        writeAtomically(file, text.getBytes(StandardCharsets.UTF_8));
    }

    static void writeAtomically(Path file, byte[] bytes) {
        Path target = file.toAbsolutePath();
        Path tmp = null;
        try {
            Files.createDirectories(target.getParent());
            tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp");
            Files.write(tmp, bytes);
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // left behind; the target is untouched
                }
            }
        }
    }

    /** A duration as 1h02m, 3m05s. */
    static String duration(double seconds) {
        if (!Double.isFinite(seconds)) {
            return "?";
        }
        long s = Math.round(seconds);
        return s >= 3600 ? String.format(Locale.ROOT, "%dh%02dm", s / 3600, s / 60 % 60)
                : String.format(Locale.ROOT, "%dm%02ds", s / 60, s % 60);
    }
}
