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
import java.util.Map;

/**
 * {@code ./leviathan train}: trains a model. With no arguments, the {@code tiny} Leviathan model on the
 * embedded corpus for a few minutes on the CPU. A JSON config file ({@link TrainConfig}) sets any key; flags
 * override it:
 * <pre>
 *   ./leviathan train [--config FILE] [--data DIR|FILE] [--model PRESET|FILE] [--family dense|leviathan]
 *                     [--steps N] [--batch B] [--seq T] [--accum A] [--lr X] [--device cpu|cuda|auto] [--precision fp32|bf16]
 *                     [--out DIR] [--resume DIR|FILE] [--seed S] [--set KEY=VALUE]...
 * </pre>
 * {@code --resume} continues a run from its newest checkpoint (or the checkpoint file given) with the
 * configuration it was saved with; flags then override that.
 */
final class TrainCommand {
    private TrainCommand() {}

    static final String FLAGS = "--config FILE, --data DIR|FILE, --model PRESET|FILE, --family dense|leviathan, "
            + "--vocab N, --steps N, --batch B, --seq T, --accum A, --lr X, " + DeviceFlag.USAGE + ", --precision fp32|bf16, --out DIR, "
            + "--resume DIR|FILE, --seed S, --set KEY=VALUE (any config key: " + String.join(", ", TrainConfig.KEYS) + ")";

    private static final Map<String, String> FLAG_KEYS = Map.ofEntries(
            Map.entry("--data", "data"), Map.entry("--model", "model"), Map.entry("--family", "family"),
            Map.entry("--vocab", "vocab"), Map.entry("--steps", "steps"), Map.entry("--batch", "batch"),
            Map.entry("--seq", "seq"), Map.entry("--accum", "accum"), Map.entry("--lr", "lr"),
            Map.entry("--device", "device"), Map.entry("--precision", "precision"), Map.entry("--out", "out"),
            Map.entry("--seed", "seed"));

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path config = null;
        Path resume = null;
        List<String[]> overrides = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (a.equals("--help") || a.equals("-h")) {
                out.println("usage: ./leviathan train [flags]; flags: " + FLAGS);
                return 0;
            }
            if (!a.startsWith("--") || !(FLAG_KEYS.containsKey(a) || a.equals("--config") || a.equals("--resume")
                    || a.equals("--set"))) {
                throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new UsageException(a + " needs a value; valid: " + FLAGS);
                }
                value = args[++i];
            }
            switch (a) {
                case "--config" -> config = Path.of(value);
                case "--resume" -> resume = Path.of(value);
                case "--set" -> {
                    int e = value.indexOf('=');
                    if (e <= 0) {
                        throw new UsageException("--set needs KEY=VALUE, got '" + value + "'; keys: "
                                + String.join(", ", TrainConfig.KEYS));
                    }
                    String key = value.substring(0, e);
                    if (!TrainConfig.KEYS.contains(key)) {
                        throw new UsageException("--set: unknown key '" + key + "'; valid keys: "
                                + String.join(", ", TrainConfig.KEYS));
                    }
                    overrides.add(new String[] {key, value.substring(e + 1)});
                }
                default -> overrides.add(new String[] {FLAG_KEYS.get(a), value});
            }
        }

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
