package io.leviathan.cli;

import io.leviathan.train.Checkpoint;
import io.leviathan.train.TrainConfig;
import io.leviathan.train.Trainer;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code ./leviathan train}: trains a model. With no arguments, the {@code tiny} Leviathan model on the
 * embedded corpus for a few minutes on the CPU. A JSON config file ({@link TrainConfig}) sets any key; flags
 * and {@code --set KEY=VALUE} override it, in the order given. {@code --resume} continues a run from its newest
 * checkpoint (or the checkpoint file given) with the configuration it was saved with; flags then override that.
 */
@Command(name = "train", sortOptions = false, description = {
        "train a model; no arguments: the tiny Leviathan model on the embedded corpus for a few minutes on the CPU.",
        "Flags and --set apply, in order, over --config, which applies over the built-in defaults"
                + " (with --resume: over the run's saved config)."})
final class TrainCommand implements CommandBody {
    /** Values from flags and {@code --set}, in command-line order (a later one wins): key and value. */
    private final List<String[]> overrides = new ArrayList<>();

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "a JSON train config; may set any key")
    Path config;

    @Option(names = "--resume", paramLabel = "DIR|FILE",
            description = "continue a run from its newest checkpoint (or this checkpoint file) with its saved config")
    Path resume;

    @Option(names = "--data", paramLabel = "DIR|FILE", description = "a dataset folder, or a text file to prepare (key data)")
    void data(String v) {
        overrides.add(new String[] {"data", v});
    }

    @Option(names = "--model", paramLabel = "PRESET|FILE", completionCandidates = Candidates.Presets.class,
            description = "a preset (${COMPLETION-CANDIDATES}), a model JSON file or inline JSON (key model)")
    void model(String v) {
        overrides.add(new String[] {"model", v});
    }

    @Option(names = "--family", paramLabel = "dense|leviathan", completionCandidates = Candidates.Families.class,
            description = "the model family (key family)")
    void family(String v) {
        overrides.add(new String[] {"family", v});
    }

    @Option(names = "--vocab", paramLabel = "N", description = "vocabulary size (key vocab; default: the dataset's)")
    void vocab(int n) {
        overrides.add(new String[] {"vocab", Integer.toString(n)});
    }

    @Option(names = "--steps", paramLabel = "N", description = "optimizer steps (key steps)")
    void steps(long n) {
        overrides.add(new String[] {"steps", Long.toString(n)});
    }

    @Option(names = "--batch", paramLabel = "B", description = "sequences per micro-batch (key batch)")
    void batch(int n) {
        overrides.add(new String[] {"batch", Integer.toString(n)});
    }

    @Option(names = "--seq", paramLabel = "T", description = "tokens per sequence (key seq)")
    void seq(int n) {
        overrides.add(new String[] {"seq", Integer.toString(n)});
    }

    @Option(names = "--accum", paramLabel = "A", description = "micro-batches per optimizer step (key accum)")
    void accum(int n) {
        overrides.add(new String[] {"accum", Integer.toString(n)});
    }

    @Option(names = "--lr", paramLabel = "X", description = "peak learning rate (key lr)")
    void lr(float x) {
        overrides.add(new String[] {"lr", Float.toString(x)});
    }

    @Option(names = "--device", paramLabel = DeviceFlag.LABEL, converter = DeviceFlag.class,
            completionCandidates = DeviceFlag.Names.class, description = "where to train (key device)")
    void device(String v) {
        overrides.add(new String[] {"device", v});
    }

    @Option(names = "--precision", paramLabel = "fp32|bf16", completionCandidates = Candidates.Precisions.class,
            description = "compute precision (key precision)")
    void precision(String v) {
        overrides.add(new String[] {"precision", v});
    }

    @Option(names = "--out", paramLabel = "DIR", description = "the run folder (key out)")
    void out(String v) {
        overrides.add(new String[] {"out", v});
    }

    @Option(names = "--seed", paramLabel = "S", description = "random seed (key seed)")
    void seed(long n) {
        overrides.add(new String[] {"seed", Long.toString(n)});
    }

    @Option(names = "--set", paramLabel = "KEY=VALUE", description = "any config key (see below); repeatable")
    void set(String keyValue) {
        int e = keyValue.indexOf('=');
        if (e <= 0) {
            throw new ParameterException(spec.commandLine(), "--set needs KEY=VALUE, got '" + keyValue + "'; keys: "
                    + String.join(", ", TrainConfig.KEYS));
        }
        String key = keyValue.substring(0, e);
        if (!TrainConfig.KEYS.contains(key)) {
            throw new ParameterException(spec.commandLine(), "--set: unknown key '" + key + "'; valid keys: "
                    + String.join(", ", TrainConfig.KEYS));
        }
        overrides.add(new String[] {key, keyValue.substring(e + 1)});
    }

    /**
     * The help's footer: every config key with its built-in default (computed, so help cannot drift from
     * {@link TrainConfig#defaults()}).
     */
    static void describeKeys(CommandSpec train) {
        List<String> lines = new ArrayList<>(List.of("", "Config keys and their built-in defaults:"));
        StringBuilder line = new StringBuilder(" ");
        TrainConfig.defaults().toTree().properties().forEach(e -> {
            String item = " " + e.getKey() + "=" + (e.getValue().isTextual() ? e.getValue().asText() : e.getValue());
            if (line.length() + item.length() > 78) {
                lines.add(line.toString());
                line.setLength(1);
            }
            line.append(item);
        });
        lines.add(line.toString());
        train.usageMessage().footer(lines.toArray(String[]::new));
    }

    @Override
    public int run(PrintStream out, PrintStream err) {
        TrainConfig cfg;
        if (resume != null) {
            try (Checkpoint ckpt = Checkpoint.load(resume)) {
                // the run continues in the folder the checkpoint is in (unless --out says otherwise), which
                // need not be where it was first written
                cfg = ckpt.trainConfig().with("out", null);
            }
        } else {
            cfg = TrainConfig.defaults();
        }
        if (config != null) {
            String text;
            try {
                text = Files.readString(config, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UsageException("--config " + config + ": cannot read: " + e.getMessage());
            }
            try {
                cfg = cfg.merge(text, config.toString());
            } catch (IllegalArgumentException e) {
                // the same mistakes as in flags, so the same exit status
                throw new UsageException(e.getMessage());
            }
        }
        for (String[] o : overrides) {
            try {
                cfg = cfg.with(o[0], o[1]);
            } catch (IllegalArgumentException e) {
                throw new UsageException(e.getMessage());
            }
        }
        try (Trainer t = Trainer.create(cfg, resume, out)) {
            Trainer.Summary s = t.run();
            out.printf(Locale.ROOT, "done: %d steps in %.1f s (%,.0f tokens/s); train loss %.4f -> %.4f, val loss %.4f"
                            + " (ppl %.2f)%n",
                    s.steps(), s.seconds(), s.tokensPerSecond(), s.firstLoss(), s.lastLoss(), s.valLoss(),
                    Math.exp(s.valLoss()));
            out.println("checkpoint " + s.checkpoint());
            out.println("metrics " + s.runDir().resolve("metrics.jsonl"));
        }
        return 0;
    }
}
