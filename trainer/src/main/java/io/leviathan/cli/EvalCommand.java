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
import java.util.Locale;

/**
 * {@code ./leviathan eval}: the loss and perplexity of a checkpoint over a dataset's validation split (every
 * token, in consecutive windows of the run's sequence length).
 * <pre>
 *   ./leviathan eval --checkpoint DIR|FILE [--data DIR] [--split val|train] [--batches N] [--device cpu|cuda|auto]
 * </pre>
 * {@code --data} defaults to the dataset the checkpoint was trained on; a dataset with another vocabulary is
 * refused. {@code --batches} bounds the work (0 = the whole split).
 */
final class EvalCommand {
    private EvalCommand() {}

    static final String FLAGS = "--checkpoint DIR|FILE, --data DIR, --split val|train, --batches N, "
            + DeviceFlag.USAGE;

    static int run(String[] args, PrintStream out, PrintStream err) {
        String checkpoint = null;
        String data = null;
        String device = "cpu";
        Split split = Split.VAL;
        long batches = 0;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (!(a.equals("--checkpoint") || a.equals("--data") || a.equals("--split") || a.equals("--batches")
                    || a.equals("--device"))) {
                throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new UsageException(a + " needs a value; valid: " + FLAGS);
                }
                value = args[++i];
            }
            switch (a) {
                case "--checkpoint" -> checkpoint = value;
                case "--data" -> data = value;
                case "--device" -> device = DeviceFlag.parse(value);
                case "--split" -> split = switch (value) {
                    case "val" -> Split.VAL;
                    case "train" -> Split.TRAIN;
                    default -> throw new UsageException("--split must be val or train, got '" + value + "'");
                };
                case "--batches" -> {
                    try {
                        batches = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        batches = -1;
                    }
                    if (batches < 0) {
                        throw new UsageException("--batches needs an integer >= 0 (0 = all), got '" + value + "'");
                    }
                }
                default -> throw new IllegalStateException(a);
            }
        }
        if (checkpoint == null) {
            throw new UsageException("--checkpoint DIR|FILE is required; valid: " + FLAGS);
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
}
