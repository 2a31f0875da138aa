package io.leviathan.cli;

import io.leviathan.Leviathan;
import io.leviathan.backend.BackendInfo;
import io.leviathan.backend.Backends;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.MemoryEstimate;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterCount;
import io.leviathan.model.Precision;
import io.leviathan.model.Presets;
import io.leviathan.train.MemoryBudget;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.incubator.vector.FloatVector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./leviathan info}: what this installation can do on this machine; with {@code --model}, a model's
 * configuration and parameter count by component. With {@code --batch} and {@code --seq}, also the memory a
 * training run of that shape needs, item by item ({@link MemoryEstimate}), and whether it fits this machine
 * ({@link MemoryBudget}).
 */
@Command(name = "info", sortOptions = false, description = {
        "library version, backends and why any is unavailable, CPU vector width and threads",
        "With --model: a model's configuration and parameter count by component; add --batch and --seq: the memory"
                + " a training run of that shape takes, and whether it fits this machine."})
final class InfoCommand implements CommandBody {
    @Option(names = "--model", paramLabel = "PRESET|FILE", completionCandidates = Candidates.Presets.class,
            description = "a preset (${COMPLETION-CANDIDATES}) or a model config JSON file")
    String model;

    @Option(names = "--family", paramLabel = "dense|leviathan", completionCandidates = Candidates.Families.class,
            description = "describe the model as this family instead")
    String family;

    @Option(names = "--vocab", paramLabel = "N", description = "vocabulary size (default: the model's)")
    Integer vocab;

    @Option(names = "--batch", paramLabel = "B", description = "batch size of the memory estimate")
    Integer batch;

    @Option(names = "--seq", paramLabel = "T", description = "sequence length of the memory estimate")
    Integer seq;

    @Option(names = "--precision", paramLabel = "fp32|bf16", completionCandidates = Candidates.Precisions.class,
            description = "precision of the memory estimate (default: fp32)")
    String precision;

    @Option(names = "--json", description = "print the description as JSON")
    boolean json;

    @Override
    public int run(PrintStream out, PrintStream err) {
        if (model == null) {
            if (family != null || vocab != null || json || batch != null || seq != null || precision != null) {
                throw new UsageException("--family, --vocab, --batch, --seq, --precision and --json describe a model:"
                        + " add --model <preset|file>"
                        + " (presets: " + String.join(", ", Presets.names()) + ")");
            }
            machine(out);
            return 0;
        }
        if (vocab != null && vocab < 1) {
            throw new UsageException("--vocab needs a positive integer, got " + vocab);
        }
        positive("--batch", batch);
        positive("--seq", seq);
        Precision p = null;
        if (precision != null) {
            try {
                p = Precision.of(precision);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--precision: " + e.getMessage());
            }
        }
        if ((batch == null) != (seq == null) || (p != null && batch == null)) {
            throw new UsageException("a memory estimate needs both --batch B and --seq T (--precision is optional)");
        }
        Shape shape = batch == null ? null : new Shape(batch, seq, p == null ? Precision.FP32 : p);
        describeModel(out, model, family, vocab, json, shape);
        return 0;
    }

    /** The batch shape and precision of a memory estimate. */
    private record Shape(int batch, int seq, Precision precision) {}

    private static void positive(String option, Integer n) {
        if (n != null && n < 1) {
            throw new UsageException(option + " needs a positive integer, got '" + n + "'");
        }
    }

    private static void machine(PrintStream out) {
        out.println("Leviathan for Java " + Leviathan.version());
        out.println("Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.home") + ")");
        out.println("CPU: " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors ("
                + FloatVector.SPECIES_PREFERRED.length() + " float lanes), "
                + Runtime.getRuntime().availableProcessors() + " threads, "
                + System.getProperty("os.arch"));
        out.println("Backends:");
        for (BackendInfo b : Backends.probe()) {
            out.printf(Locale.ROOT, "  %-5s %-12s %s%n", b.name(), b.available() ? "available" : "unavailable", b.detail());
        }
        out.println("CUDA kernel library: " + Backends.cudaKernelLibrary());
    }

    private static void describeModel(PrintStream out, String model, String familyFlag, Integer vocab, boolean json,
                                      Shape shape) {
        String preset;
        ModelConfig config;
        if (Presets.exists(model)) {
            preset = model;
            config = Presets.get(model);
        } else if (Files.isRegularFile(Path.of(model))) {
            ModelConfigFiles.Loaded loaded;
            try {
                loaded = ModelConfigFiles.read(Path.of(model));
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage()); // a bad config file is a usage error, as a bad flag is
            }
            preset = loaded.preset();
            config = loaded.config();
        } else {
            throw new UsageException("--model '" + model + "' is neither a preset nor a config file; presets: "
                    + String.join(", ", Presets.names()));
        }
        if (vocab != null) {
            config = config.withVocab(vocab);
        }
        if (familyFlag != null) {
            Family f;
            try {
                f = ModelConfigFiles.family(familyFlag);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--family: " + e.getMessage());
            }
            if (f != config.family()) {
                config = f == Family.LEVIATHAN ? config.asLeviathan(GeneratorConfig.defaults()) : config.asDense();
            }
        }
        ParameterCount count = ParameterCount.of(config);
        MemoryEstimate estimate = null;
        if (shape != null) {
            if (shape.seq() > config.maxSeq()) {
                throw new UsageException("--seq " + shape.seq() + " exceeds the model's maxSeq " + config.maxSeq());
            }
            try {
                estimate = MemoryEstimate.training(config, shape.batch(), shape.seq(), shape.precision());
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        ModelConfig isoBody = null;
        ModelConfigs.IsoParametric iso = null;
        String isoError = null;
        if (config.family() == Family.DENSE) {
            isoBody = ModelConfigs.isoBody(config);
            try {
                iso = ModelConfigs.isoParametric(config);
            } catch (IllegalArgumentException e) {
                isoError = e.getMessage();
            }
        }
        MemoryBudget budget = estimate == null ? null : MemoryBudget.cpu();
        if (json) {
            Map<String, Object> tree = jsonTree(model, preset, config, count, isoBody, iso, isoError);
            if (estimate != null) {
                tree.put("memory", memoryTree(estimate, budget));
            }
            out.println(ModelConfigFiles.toJson(tree));
        } else {
            text(out, model, preset, config, count, isoBody, iso, isoError);
            if (estimate != null) {
                memoryText(out, estimate, budget);
            }
        }
    }

    private static Map<String, Object> memoryTree(MemoryEstimate e, MemoryBudget budget) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("batch", e.batch());
        m.put("seq", e.seq());
        m.put("precision", e.precision().label());
        List<Object> items = new ArrayList<>();
        for (MemoryEstimate.Item i : e.items()) {
            Map<String, Object> item = new LinkedHashMap<>();
            item.put("name", i.name());
            item.put("place", i.place().label());
            item.put("bytes", i.bytes());
            items.add(item);
        }
        m.put("items", items);
        m.put("backendBytes", e.bytes(MemoryEstimate.Place.BACKEND));
        m.put("heapBytes", e.bytes(MemoryEstimate.Place.HEAP));
        m.put("totalBytes", e.total());
        budget.host().ifPresent(h -> m.put("hostAvailableBytes", h));
        m.put("heapFreeBytes", budget.heap());
        m.put("fitsCpu", budget.fits(e));
        m.put("largestCpuBatch", largestBatch(e, budget));
        return m;
    }

    private static int largestBatch(MemoryEstimate e, MemoryBudget budget) {
        return MemoryEstimate.largestBatch(e.config(), e.seq(), e.precision(), true, Integer.MAX_VALUE / e.seq(),
                budget::fits);
    }

    private static void memoryText(PrintStream out, MemoryEstimate e, MemoryBudget budget) {
        out.printf(Locale.ROOT, "Memory of training at batch %d x seq %d (%s), allocated before the first step:%n",
                e.batch(), e.seq(), e.precision().label());
        for (MemoryEstimate.Item i : e.items()) {
            out.printf(Locale.ROOT, "  %-58s %-7s %,22d B  %10s%n", i.name(), i.place().label(), i.bytes(),
                    MemoryEstimate.human(i.bytes()));
        }
        out.printf(Locale.ROOT, "  %-58s %-7s %,22d B  %10s%n", "total backend memory (host on the CPU, device on a GPU)",
                "", e.bytes(MemoryEstimate.Place.BACKEND), MemoryEstimate.human(e.bytes(MemoryEstimate.Place.BACKEND)));
        out.printf(Locale.ROOT, "  %-58s %-7s %,22d B  %10s%n", "total Java heap", "",
                e.bytes(MemoryEstimate.Place.HEAP), MemoryEstimate.human(e.bytes(MemoryEstimate.Place.HEAP)));
        String host = budget.host().isPresent() ? MemoryEstimate.human(budget.host().getAsLong()) : "unknown";
        int best = largestBatch(e, budget);
        out.printf(Locale.ROOT, "On this machine's CPU: host memory available %s, heap free %s; %s; largest batch at"
                        + " seq %d: %s%n", host, MemoryEstimate.human(budget.heap()),
                budget.fits(e) ? "fits" : "does not fit", e.seq(), best > 0 ? String.valueOf(best) : "none");
    }

    private static Map<String, Object> jsonTree(String model, String preset, ModelConfig config, ParameterCount count,
                                                ModelConfig isoBody, ModelConfigs.IsoParametric iso, String isoError) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("model", model);
        root.put("config", ModelConfigFiles.toMap(preset, config));
        Map<String, Object> params = new LinkedHashMap<>(count.components());
        params.put("embedding", count.embeddingParameters());
        params.put("nonEmbedding", count.nonEmbedding());
        params.put("total", count.total());
        root.put("parameters", params);
        if (isoBody != null) {
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("layers", isoBody.layers());
            body.put("total", ParameterCount.total(isoBody));
            root.put("isoBodyLeviathan", body);
            Map<String, Object> ip = new LinkedHashMap<>();
            if (iso != null) {
                ip.put("layers", iso.layers());
                ip.put("ffnHidden", iso.ffnHidden());
                ip.put("total", iso.leviathanTotal());
                ip.put("relativeDifference", iso.relativeDifference());
            } else {
                ip.put("error", isoError);
            }
            root.put("isoParametricLeviathan", ip);
        }
        return root;
    }

    private static void text(PrintStream out, String model, String preset, ModelConfig c, ParameterCount count,
                             ModelConfig isoBody, ModelConfigs.IsoParametric iso, String isoError) {
        String family = ModelConfigFiles.name(c.family());
        out.println("Model " + model + (preset != null && !preset.equals(model) ? " (preset " + preset + ")" : "")
                + ": " + family);
        out.printf(Locale.ROOT, "  vocab %,d  d_model %d  layers %d  heads %d (head dim %d)  ffn %d%n",
                c.vocab(), c.dModel(), c.layers(), c.heads(), c.headDim(), c.ffnHidden());
        out.printf(Locale.ROOT, "  norm eps %s  rope theta %s  max seq %d  head %s%n",
                c.normEps(), c.ropeTheta(), c.maxSeq(), c.tiedHead() ? "tied to the table" : "untied");
        if (c.generator() != null) {
            GeneratorConfig g = c.generator();
            out.printf(Locale.ROOT, "  generator: k %d (base %d)  d_seed %d  heads %d  knots %d  rank %d  %s codebook%s"
                            + "  basis %s  ln eps %s%n",
                    g.digits(), g.base(c.vocab()), g.seedDim(), g.heads(), g.knots(), g.rank(),
                    g.sharedCodebook() ? "shared" : "per-digit", g.sharedCodebook() ? "" : "s",
                    g.normalizeBasis() ? "normalised" : "raw", g.lnEps());
        }
        out.println("Parameters:");
        long total = count.total();
        for (Map.Entry<String, Long> e : count.components().entrySet()) {
            out.printf(Locale.ROOT, "  %-22s %,15d  %5.1f%%%n", e.getKey(), e.getValue(), 100.0 * e.getValue() / total);
        }
        out.printf(Locale.ROOT, "  %-22s %,15d%n", "total", total);
        out.printf(Locale.ROOT, "  (input stage %,d, everything else %,d)%n", count.embeddingParameters(), count.nonEmbedding());
        if (isoBody != null) {
            out.printf(Locale.ROOT, "Iso-body Leviathan (same body, default generator): total %,d (%d layers)%n",
                    ParameterCount.total(isoBody), isoBody.layers());
            if (iso != null) {
                out.printf(Locale.ROOT, "Isoparametric Leviathan: %d layers, ffn %d, total %,d (%+.2f%% of dense %,d)%n",
                        iso.layers(), iso.ffnHidden(), iso.leviathanTotal(), 100 * iso.relativeDifference(),
                        iso.denseTotal());
            } else {
                out.println("Isoparametric Leviathan: none (" + isoError + ")");
            }
        }
    }
}
