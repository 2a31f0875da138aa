package io.leviathan.cli;

import io.leviathan.train.HfLlamaExport;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ./leviathan export}: writes a trained model in a standard format. {@code hf-llama} (the default and only format) is a Hugging Face {@code LlamaForCausalLM} folder:
 * {@code config.json}, {@code model.safetensors} and, for a compacted vocabulary, {@code vocabulary_map.json}
 * (see {@link HfLlamaExport}); a Leviathan model's generator is materialised into an ordinary embedding table.
 * An existing non-empty {@code --out} folder is replaced only with {@code --force}.
 */
@Command(name = "export", sortOptions = false, description = "write a checkpoint as a Hugging Face LLaMA folder")
final class ExportCommand implements CommandBody {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR|FILE",
            description = "a training checkpoint (folder or file) or an exported folder")
    String checkpoint;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "the folder to write")
    String outDir;

    @Option(names = "--format", paramLabel = "FORMAT", completionCandidates = Formats.class,
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    String format = HfLlamaExport.FORMAT;

    @Option(names = "--force", description = "replace a non-empty --out folder")
    boolean force;

    @Option(names = "--device", paramLabel = DeviceFlag.LABEL, converter = DeviceFlag.class,
            completionCandidates = DeviceFlag.Names.class, description = "where to run (default: ${DEFAULT-VALUE})")
    String device = "cpu";

    @Override
    public int run(PrintStream out, PrintStream err) {
        if (!HfLlamaExport.FORMATS.contains(format)) {
            throw new UsageException("unknown --format '" + format + "'; valid formats: " + String.join(", ", HfLlamaExport.FORMATS));
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
        HfLlamaExport.export(source, target, force, device);
        out.println("exported " + source + " as " + format + " to " + target);
        return 0;
    }

    /** The export formats, for shell completion. */
    static final class Formats implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return HfLlamaExport.FORMATS.iterator();
        }
    }
}
