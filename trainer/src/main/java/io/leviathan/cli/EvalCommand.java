package io.leviathan.cli;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Split;
import io.leviathan.data.TokenDataset;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.MemoryEstimate;
import io.leviathan.model.Precision;
import io.leviathan.train.Checkpoint;
import io.leviathan.train.MemoryBudget;
import io.leviathan.train.TrainConfig;
import io.leviathan.train.Trainer;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code ./leviathan eval}: the loss and perplexity of a checkpoint over a dataset's validation split (every
 * token, in consecutive windows of the run's sequence length). {@code --data} defaults to the dataset the checkpoint was trained on; a dataset with another vocabulary is
 * refused. {@code --batches} bounds the work (0 = the whole split).
 */
@Command(name = "eval", sortOptions = false, description = "loss and perplexity of a checkpoint on a dataset split")
final class EvalCommand implements CommandBody {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR|FILE", description = "the checkpoint (folder or file)")
    String checkpoint;

    @Option(names = "--data", paramLabel = "DIR", description = "the dataset (default: the one the checkpoint was trained on)")
    String data;

    @Option(names = "--split", paramLabel = "val|train", converter = SplitName.class, completionCandidates = SplitName.class,
            description = "which split (default: val)")
    Split split = Split.VAL;

    @Option(names = "--batches", paramLabel = "N", description = "at most N batches, 0 = the whole split (default: ${DEFAULT-VALUE})")
    long batches = 0;

    @Option(names = "--device", paramLabel = DeviceFlag.LABEL, converter = DeviceFlag.class,
            completionCandidates = DeviceFlag.Names.class, description = "where to run (default: ${DEFAULT-VALUE})")
    String device = "cpu";

    @Override
    public int run(PrintStream out, PrintStream err) {
        if (batches < 0) {
            throw new UsageException("--batches needs an integer >= 0 (0 = all), got '" + batches + "'");
        }
        try (Checkpoint ckpt = Checkpoint.load(Path.of(checkpoint))) {
            TrainConfig cfg = ckpt.trainConfig();
            Path dataDir = Path.of(data != null ? data : ckpt.metadata("dataset"));
            try (TokenDataset ds = TokenDataset.open(dataDir);
                 Backend be = Backends.create(device)) {
                String ours = Checkpoint.vocabularyHash(ds.vocabularyMap());
                if (!ckpt.tokenizerName().equals(ds.tokenizerName()) || !ours.equals(ckpt.metadata("vocabulary_sha256"))) {
                    throw new IllegalArgumentException("dataset " + dataDir + " (tokenizer " + ds.tokenizerName()
                            + ", vocabulary " + ds.vocabSize() + ") is not the vocabulary checkpoint " + ckpt.file()
                            + " was trained on (tokenizer " + ckpt.tokenizerName() + ", vocabulary "
                            + ckpt.modelConfig().vocab() + ")");
                }
                int seq = Math.min(cfg.seq(), ckpt.modelConfig().maxSeq());
                MemoryBudget.of(be).check(MemoryEstimate.model(ckpt.modelConfig(), cfg.batch(), seq, Precision.FP32),
                        "evaluation");
                try (LlamaModel model = new LlamaModel(be, ckpt.modelConfig(), cfg.batch(), seq)) {
                    ckpt.restoreWeights(model);
                    double[] r = Trainer.evaluateSplit(model, ds, split, batches, null);
                    out.printf(Locale.ROOT, "%s (step %d) on %s %s split: %,d tokens, loss %.4f, perplexity %.2f%n",
                            ckpt.file(), ckpt.step(), dataDir, split.name().toLowerCase(Locale.ROOT), (long) r[1],
                            r[0], Math.exp(r[0]));
                }
            }
        }
        return 0;
    }

    /** {@code --split}: a split's id (val, train). */
    static final class SplitName implements ITypeConverter<Split>, Iterable<String> {
        @Override
        public Split convert(String value) {
            for (Split s : Split.values()) {
                if (s.id().equals(value)) {
                    return s;
                }
            }
            throw new TypeConversionException("must be val or train, got '" + value + "'");
        }

        @Override
        public Iterator<String> iterator() {
            return Arrays.stream(Split.values()).map(Split::id).iterator();
        }
    }
}
