package io.leviathan.cli;

import io.leviathan.data.DataPrepare;
import io.leviathan.data.DefaultCorpus;
import io.leviathan.data.Split;
import io.leviathan.data.TokenDataset;
import io.leviathan.data.Tokenizer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code ./leviathan data}: prepares and inspects token datasets. */
@Command(name = "data", description = "prepare a token dataset (data prepare), inspect one (data info), or the embedded corpus (data default)",
        subcommands = {DataCommand.Prepare.class, DataCommand.Info.class, DataCommand.Default.class})
final class DataCommand implements CommandBody {
    @Override
    public int run(PrintStream out, PrintStream err) {
        throw new UsageException("needs a subcommand: prepare, info, default");
    }

    /** {@code data prepare}: tokenizes text files into a dataset folder. */
    @Command(name = "prepare", sortOptions = false, description = "tokenize text (.txt, .jsonl, .jsonl.zst files or folders of them) into a dataset folder")
    static final class Prepare implements CommandBody {
        @Option(names = "--input", required = true, arity = "1..*", paramLabel = "PATH",
                description = "one or more files or folders")
        List<Path> inputs;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "the dataset folder to write")
        Path outDir;

        @Option(names = "--tokenizer", paramLabel = "NAME", completionCandidates = Candidates.Tokenizers.class,
                description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
        String tokenizer = Tokenizer.DEFAULT;

        @Option(names = "--val-fraction", paramLabel = "F", description = "share of documents held out for validation, in [0, 1) (default: ${DEFAULT-VALUE})")
        double valFraction = 0.05;

        @Option(names = "--compact-vocab", description = "keep only the token ids the corpus uses (a smaller embedding table)")
        boolean compact;

        @Option(names = "--skip-bad-lines", description = "skip malformed JSON lines instead of failing")
        boolean skipBad;

        @Option(names = "--shard-tokens", paramLabel = "N", description = "tokens per shard file (default: ${DEFAULT-VALUE})")
        long shardTokens = DataPrepare.DEFAULT_SHARD_TOKENS;

        @Override
        public int run(PrintStream out, PrintStream err) {
            if (!Tokenizer.names().contains(tokenizer)) {
                throw new UsageException("--tokenizer must be one of " + String.join(", ", Tokenizer.names())
                        + ", got '" + tokenizer + "'");
            }
            if (!(valFraction >= 0 && valFraction < 1)) {
                throw new UsageException("--val-fraction needs a number in [0, 1), got " + valFraction);
            }
            if (shardTokens < 1) {
                throw new UsageException("--shard-tokens needs a positive integer, got '" + shardTokens + "'");
            }
            DataPrepare.prepare(inputs, outDir, tokenizer, valFraction, compact, skipBad, shardTokens, out);
            try (TokenDataset ds = TokenDataset.open(outDir)) {
                summary(ds, out);
            }
            return 0;
        }
    }

    /** {@code data info DIR}: a dataset's tokenizer, vocabulary and splits. */
    @Command(name = "info", description = "a dataset's tokenizer, vocabulary and split sizes")
    static final class Info implements CommandBody {
        @Parameters(paramLabel = "DIR", description = "the dataset folder")
        Path dir;

        @Override
        public int run(PrintStream out, PrintStream err) {
            try (TokenDataset ds = TokenDataset.open(dir)) {
                summary(ds, out);
            }
            return 0;
        }
    }

    /** {@code data default}: the embedded corpus, prepared once into a cache folder. */
    @Command(name = "default", description = "the embedded corpus as a dataset (prepared on first use)")
    static final class Default implements CommandBody {
        @Option(names = "--cache", paramLabel = "DIR", description = "where the prepared corpus is kept (default: ${DEFAULT-VALUE})")
        Path cache = Path.of(System.getProperty("user.home"), ".cache", "leviathan");

        @Override
        public int run(PrintStream out, PrintStream err) {
            Path dir = DefaultCorpus.prepared(cache, out);
            try (TokenDataset ds = TokenDataset.open(dir)) {
                summary(ds, out);
            }
            return 0;
        }
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
}
