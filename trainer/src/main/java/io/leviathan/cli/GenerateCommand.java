package io.leviathan.cli;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.model.LlamaModel;
import io.leviathan.train.HfLlamaExport;
import io.leviathan.train.TextGenerator;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code ./leviathan generate}: samples text from a trained model.
 * <pre>
 *   ./leviathan generate --checkpoint DIR|FILE --prompt TEXT [--max-tokens N] [--temperature X] [--top-k K]
 *                        [--top-p P] [--seed S] [--device cpu|cuda|auto]
 * </pre>
 * The checkpoint is a training checkpoint (folder or file) or a folder written by {@code ./leviathan export}.
 * Prints the prompt, then streams the generated text to standard output as tokens are produced, and ends with
 * a line on standard error: {@code prompt: N tokens, X tok/s; generated: M tokens, Y tok/s} (so standard
 * output is the text alone). Generation uses the key/value cache ({@link TextGenerator}). Defaults: 200
 * tokens, temperature 0.8, top-k 50, top-p 0.95, seed 0 (a fixed seed: the same command prints the same
 * text). Temperature 0 is greedy decoding. The context window is the sequence length the model was trained
 * with.
 */
final class GenerateCommand {
    private GenerateCommand() {}

    static final String FLAGS = "--checkpoint DIR|FILE, --prompt TEXT, --max-tokens N, --temperature X (0 = greedy),"
            + " --top-k K (0 = off), --top-p P (1 = off), --seed S, " + DeviceFlag.USAGE;

    static int run(String[] args, PrintStream out, PrintStream err) {
        String checkpoint = null;
        String prompt = null;
        int maxTokens = 200;
        float temperature = 0.8f;
        int topK = 50;
        float topP = 0.95f;
        long seed = 0;
        String device = "cpu";
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--checkpoint" -> checkpoint = value != null ? value : next(args, ++i, a);
                case "--prompt" -> prompt = value != null ? value : nextAny(args, ++i, a);
                case "--max-tokens" -> maxTokens = parseInt(a, value != null ? value : next(args, ++i, a));
                case "--temperature" -> temperature = parseFloat(a, value != null ? value : next(args, ++i, a));
                case "--top-k" -> topK = parseInt(a, value != null ? value : next(args, ++i, a));
                case "--top-p" -> topP = parseFloat(a, value != null ? value : next(args, ++i, a));
                case "--seed" -> seed = parseLong(a, value != null ? value : next(args, ++i, a));
                case "--device" -> device = DeviceFlag.parse(value != null ? value : next(args, ++i, a));
                default -> throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
            }
        }
        if (checkpoint == null) {
            throw new UsageException("--checkpoint is required; valid: " + FLAGS);
        }
        if (prompt == null) {
            throw new UsageException("--prompt is required (use --prompt \"\" to start from end-of-text); valid: " + FLAGS);
        }
        try {
            TextGenerator.validate(maxTokens, temperature, topK, topP);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path path = Path.of(checkpoint);
        if (!Files.exists(path)) {
            throw new UsageException("--checkpoint " + checkpoint + ": no such file or folder");
        }
        String text = prompt;
        int n = maxTokens;
        float t = temperature;
        int k = topK;
        float p = topP;
        long s = seed;
        String dev = device;
        out.print(prompt);
        out.flush();
        TextGenerator.Generation g = HfLlamaExport.withSource(path, src -> {
            Tokenizer tok = Tokenizer.of(src.tokenizer());
            try (Backend be = Backends.create(dev); LlamaModel model = src.toModel(be, 1, src.contextLength())) {
                return TextGenerator.generate(be, model, tok, src.vocabularyMap(), text, n, t, k, p, s, true, piece -> {
                    out.print(piece); // each piece as soon as its token is sampled
                    out.flush();
                });
            }
        });
        out.println();
        err.println(g.summary());
        return 0;
    }

    private static String next(String[] args, int i, String flag) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new UsageException(flag + " needs a value; valid: " + FLAGS);
        }
        return args[i];
    }

    /** A value that may itself start with dashes (a prompt). */
    private static String nextAny(String[] args, int i, String flag) {
        if (i >= args.length) {
            throw new UsageException(flag + " needs a value; valid: " + FLAGS);
        }
        return args[i];
    }

    private static int parseInt(String flag, String v) {
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " needs an integer, got '" + v + "'");
        }
    }

    private static long parseLong(String flag, String v) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " needs an integer, got '" + v + "'");
        }
    }

    private static float parseFloat(String flag, String v) {
        try {
            return Float.parseFloat(v);
        } catch (NumberFormatException e) {
            throw new UsageException(flag + " needs a number, got '" + v + "'");
        }
    }
}
