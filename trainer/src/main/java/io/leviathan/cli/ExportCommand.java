package io.leviathan.cli;

import io.leviathan.train.HfLlamaExport;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code ./leviathan export}: writes a trained model in a standard format.
 * <pre>
 *   ./leviathan export --checkpoint DIR|FILE --out DIR [--format hf-llama] [--force]
 * </pre>
 * {@code hf-llama} (the default and only format) is a Hugging Face {@code LlamaForCausalLM} folder with its
 * tokenizer: {@code config.json}, {@code generation_config.json}, {@code model.safetensors}, {@code tokenizer.json},
 * {@code tokenizer_config.json} and {@code special_tokens_map.json} (see {@link HfLlamaExport}); a Leviathan
 * model's generator is materialised into an ordinary embedding table, and a compacted vocabulary is expanded to
 * the tokenizer's ids. The command prints the files, the vocabulary size and whether it was expanded.
 * An existing non-empty {@code --out} folder is replaced only with {@code --force}.
 */
final class ExportCommand {
    private ExportCommand() {}

    static final String FLAGS = "--checkpoint DIR|FILE, --out DIR, --format " + String.join("|", HfLlamaExport.FORMATS)
            + ", --force, " + DeviceFlag.USAGE;

    static int run(String[] args, PrintStream out, PrintStream err) {
        String checkpoint = null;
        String outDir = null;
        String format = HfLlamaExport.FORMAT;
        boolean force = false;
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
                case "--out" -> outDir = value != null ? value : next(args, ++i, a);
                case "--format" -> format = value != null ? value : next(args, ++i, a);
                case "--device" -> device = DeviceFlag.parse(value != null ? value : next(args, ++i, a));
                case "--force" -> {
                    if (value != null) {
                        throw new UsageException("--force takes no value");
                    }
                    force = true;
                }
                default -> throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
            }
        }
        if (!HfLlamaExport.FORMATS.contains(format)) {
            throw new UsageException("unknown --format '" + format + "'; valid formats: " + String.join(", ", HfLlamaExport.FORMATS));
        }
        if (checkpoint == null || outDir == null) {
            throw new UsageException("--checkpoint and --out are required; valid: " + FLAGS);
        }
        Path source = Path.of(checkpoint);
        if (!Files.exists(source)) {
            throw new UsageException("--checkpoint " + checkpoint + ": no such file or folder");
        }
        Path target = Path.of(outDir);
        try {
            HfLlamaExport.checkTarget(target, force);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        HfLlamaExport.Written written = HfLlamaExport.export(source, target, force, device);
        out.println("exported " + source + " as " + format + " to " + target);
        out.println(written.summary());
        return 0;
    }

    private static String next(String[] args, int i, String flag) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new UsageException(flag + " needs a value; valid: " + FLAGS);
        }
        return args[i];
    }
}
