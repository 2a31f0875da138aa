package io.leviathan.cli;

import io.leviathan.data.DataPrepare;
import io.leviathan.data.DefaultCorpus;
import io.leviathan.data.Split;
import io.leviathan.data.TokenDataset;
import io.leviathan.data.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code ./leviathan data}: prepares and inspects token datasets.
 * <pre>
 *   ./leviathan data prepare --input PATH... --out DIR [--tokenizer o200k_base|cl100k_base]
 *                            [--val-fraction 0.05] [--compact-vocab] [--skip-bad-lines] [--shard-tokens N]
 *   ./leviathan data info DIR
 *   ./leviathan data default [--cache DIR]
 * </pre>
 */
final class DataCommand {
    private DataCommand() {}

    static final String SUBCOMMANDS = "prepare, info, default";
    static final String PREPARE_FLAGS = "--input PATH..., --out DIR, --tokenizer o200k_base|cl100k_base,"
            + " --val-fraction F, --compact-vocab, --skip-bad-lines, --shard-tokens N";

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0) {
            throw new UsageException("needs a subcommand: " + SUBCOMMANDS);
        }
        return switch (args[0]) {
            case "prepare" -> prepare(args, out, err);
            case "info" -> info(args, out);
            case "default" -> defaultCorpus(args, out);
            default -> throw new UsageException("unknown subcommand '" + args[0] + "'; valid: " + SUBCOMMANDS);
        };
    }

    private static int prepare(String[] args, PrintStream out, PrintStream err) {
        List<Path> inputs = new ArrayList<>();
        Path outDir = null;
        String tokenizer = Tokenizer.DEFAULT;
        double valFraction = 0.05;
        boolean compact = false;
        boolean skipBad = false;
        long shardTokens = DataPrepare.DEFAULT_SHARD_TOKENS;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--input" -> {
                    if (value != null) {
                        inputs.add(Path.of(value));
                    } else {
                        int before = inputs.size();
                        while (i + 1 < args.length && !args[i + 1].startsWith("--")) {
                            inputs.add(Path.of(args[++i]));
                        }
                        if (inputs.size() == before) {
                            throw new UsageException("--input needs one or more paths; valid: " + PREPARE_FLAGS);
                        }
                    }
                }
                case "--out" -> outDir = Path.of(value != null ? value : next(args, ++i, a));
                case "--tokenizer" -> {
                    tokenizer = value != null ? value : next(args, ++i, a);
                    if (!Tokenizer.names().contains(tokenizer)) {
                        throw new UsageException("--tokenizer must be one of " + String.join(", ", Tokenizer.names())
                                + ", got '" + tokenizer + "'");
                    }
                }
                case "--val-fraction" -> {
                    String v = value != null ? value : next(args, ++i, a);
                    try {
                        valFraction = Double.parseDouble(v);
                    } catch (NumberFormatException e) {
                        throw new UsageException("--val-fraction needs a number in [0, 1), got '" + v + "'");
                    }
                    if (!(valFraction >= 0 && valFraction < 1)) {
                        throw new UsageException("--val-fraction needs a number in [0, 1), got " + v);
                    }
                }
                case "--shard-tokens" -> {
                    String v = value != null ? value : next(args, ++i, a);
                    try {
                        shardTokens = Long.parseLong(v);
                    } catch (NumberFormatException e) {
                        shardTokens = 0;
                    }
                    if (shardTokens < 1) {
                        throw new UsageException("--shard-tokens needs a positive integer, got '" + v + "'");
                    }
                }
                case "--compact-vocab" -> compact = flag(value, a);
                case "--skip-bad-lines" -> skipBad = flag(value, a);
                default -> throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + PREPARE_FLAGS);
            }
        }
        if (inputs.isEmpty()) {
            throw new UsageException("prepare needs --input PATH...; valid: " + PREPARE_FLAGS);
        }
        if (outDir == null) {
            throw new UsageException("prepare needs --out DIR; valid: " + PREPARE_FLAGS);
        }
        DataPrepare.prepare(inputs, outDir, tokenizer, valFraction, compact, skipBad, shardTokens, out);
        try (TokenDataset ds = TokenDataset.open(outDir)) {
            summary(ds, out);
        }
        return 0;
    }

    private static int info(String[] args, PrintStream out) {
        if (args.length != 2 || args[1].startsWith("--")) {
            throw new UsageException("usage: data info DIR");
        }
        try (TokenDataset ds = TokenDataset.open(Path.of(args[1]))) {
            summary(ds, out);
        }
        return 0;
    }

    private static int defaultCorpus(String[] args, PrintStream out) {
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "leviathan");
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            if (a.startsWith("--cache=")) {
                cache = Path.of(a.substring("--cache=".length()));
            } else if (a.equals("--cache")) {
                cache = Path.of(next(args, ++i, a));
            } else {
                throw new UsageException("unexpected argument '" + a + "'; valid: --cache DIR");
            }
        }
        Path dir = DefaultCorpus.prepared(cache, out);
        try (TokenDataset ds = TokenDataset.open(dir)) {
            summary(ds, out);
        }
        return 0;
    }

    private static void summary(TokenDataset ds, PrintStream out) {
        out.println("Dataset " + ds.directory());
        out.printf(Locale.ROOT, "  tokenizer %s, model vocabulary %,d%s%n", ds.tokenizerName(), ds.vocabSize(),
                ds.compacted() ? " (compacted from " + String.format(Locale.ROOT, "%,d", ds.tokenizer().vocabSize()) + ")"
                        : "");
        for (Split s : Split.values()) {
            out.printf(Locale.ROOT, "  %-5s %,12d tokens  %,10d documents  %d shard%s%n", s.id(), ds.tokens(s),
                    ds.documents(s), ds.shardCount(s), ds.shardCount(s) == 1 ? "" : "s");
        }
        if (ds.skippedLines() > 0) {
            out.printf(Locale.ROOT, "  %,d malformed lines were skipped%n", ds.skippedLines());
        }
    }

    private static boolean flag(String value, String name) {
        if (value != null) {
            throw new UsageException(name + " takes no value");
        }
        return true;
    }

    private static String next(String[] args, int i, String flag) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new UsageException(flag + " needs a value");
        }
        return args[i];
    }
}
