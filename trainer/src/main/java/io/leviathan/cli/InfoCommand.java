package io.leviathan.cli;

import io.leviathan.Leviathan;
import io.leviathan.backend.BackendInfo;
import io.leviathan.backend.Backends;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.ModelConfigFiles;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterCount;
import io.leviathan.model.Presets;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import jdk.incubator.vector.FloatVector;

/**
 * {@code ./leviathan info}: what this installation can do on this machine; with {@code --model}, a model's
 * configuration and parameter count by component.
 * <pre>
 *   ./leviathan info
 *   ./leviathan info --model &lt;preset|config.json&gt; [--family dense|leviathan] [--vocab N] [--json]
 * </pre>
 */
final class InfoCommand {
    private InfoCommand() {}

    static final String FLAGS = "--model <preset|file>, --family dense|leviathan, --vocab N, --json";

    static int run(String[] args, PrintStream out) {
        String model = null;
        String family = null;
        Integer vocab = null;
        boolean json = false;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--model" -> model = value != null ? value : next(args, ++i, a);
                case "--family" -> family = value != null ? value : next(args, ++i, a);
                case "--vocab" -> {
                    String v = value != null ? value : next(args, ++i, a);
                    try {
                        vocab = Integer.parseInt(v);
                    } catch (NumberFormatException e) {
                        throw new UsageException("--vocab needs a positive integer, got '" + v + "'");
                    }
                    if (vocab < 1) {
                        throw new UsageException("--vocab needs a positive integer, got " + vocab);
                    }
                }
                case "--json" -> {
                    if (value != null) {
                        throw new UsageException("--json takes no value");
                    }
                    json = true;
                }
                default -> throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
            }
        }
        if (model == null) {
            if (family != null || vocab != null || json) {
                throw new UsageException("--family, --vocab and --json describe a model: add --model <preset|file>"
                        + " (presets: " + String.join(", ", Presets.names()) + ")");
            }
            machine(out);
            return 0;
        }
        describeModel(out, model, family, vocab, json);
        return 0;
    }

    private static String next(String[] args, int i, String flag) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new UsageException(flag + " needs a value; valid: " + FLAGS);
        }
        return args[i];
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

    private static void describeModel(PrintStream out, String model, String familyFlag, Integer vocab, boolean json) {
        String preset;
        ModelConfig config;
        if (Presets.exists(model)) {
            preset = model;
            config = Presets.get(model);
        } else if (Files.isRegularFile(Path.of(model))) {
            ModelConfigFiles.Loaded loaded = ModelConfigFiles.read(Path.of(model));
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
        if (json) {
            out.println(ModelConfigFiles.toJson(jsonTree(model, preset, config, count, isoBody, iso, isoError)));
        } else {
            text(out, model, preset, config, count, isoBody, iso, isoError);
        }
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
