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
import java.util.Stack;
import picocli.CommandLine.Command;
import picocli.CommandLine.IParameterConsumer;
import picocli.CommandLine.MissingParameterException;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;

/**
 * {@code ./leviathan generate}: samples text from a trained model. The checkpoint is a training checkpoint (folder or file) or a folder written by {@code ./leviathan export}.
 * Prints the prompt followed by the generated text. Defaults: 200 tokens, temperature 0.8, top-k 50,
 * top-p 0.95, seed 0 (a fixed seed: the same command prints the same text). Temperature 0 is greedy
 * decoding. The context window is the sequence length the model was trained with.
 */
@Command(name = "generate", sortOptions = false, description = "sample text from a checkpoint (prints the prompt, then the generated text)")
final class GenerateCommand implements CommandBody {
    @Option(names = "--checkpoint", required = true, paramLabel = "DIR|FILE",
            description = "a training checkpoint (folder or file) or a folder written by export")
    String checkpoint;

    @Option(names = "--prompt", required = true, paramLabel = "TEXT", parameterConsumer = Verbatim.class,
            description = "the text to continue, taken as given even if it starts with a dash"
                    + " (--prompt \"\" starts from end-of-text)")
    String prompt;

    @Option(names = "--max-tokens", paramLabel = "N", description = "tokens to generate (default: ${DEFAULT-VALUE})")
    int maxTokens = 200;

    @Option(names = "--temperature", paramLabel = "X", description = "sampling temperature, 0 = greedy (default: ${DEFAULT-VALUE})")
    float temperature = 0.8f;

    @Option(names = "--top-k", paramLabel = "K", description = "sample among the K likeliest tokens, 0 = off (default: ${DEFAULT-VALUE})")
    int topK = 50;

    @Option(names = "--top-p", paramLabel = "P", description = "nucleus sampling mass, 1 = off (default: ${DEFAULT-VALUE})")
    float topP = 0.95f;

    @Option(names = "--seed", paramLabel = "S", description = "random seed; the same seed prints the same text (default: ${DEFAULT-VALUE})")
    long seed = 0;

    @Option(names = "--device", paramLabel = DeviceFlag.LABEL, converter = DeviceFlag.class,
            completionCandidates = DeviceFlag.Names.class, description = "where to run (default: ${DEFAULT-VALUE})")
    String device = "cpu";

    @Override
    public int run(PrintStream out, PrintStream err) {
        try {
            TextGenerator.validate(maxTokens, temperature, topK, topP);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
        Path path = Path.of(checkpoint);
        if (!Files.exists(path)) {
            throw new UsageException("--checkpoint " + checkpoint + ": no such file or folder");
        }
        String generated = HfLlamaExport.withSource(path, src -> {
            Tokenizer tok = Tokenizer.of(src.tokenizer());
            try (Backend be = Backends.create(device); LlamaModel model = src.toModel(be, 1, src.contextLength())) {
                return TextGenerator.generate(be, model, tok, src.vocabularyMap(), prompt, maxTokens, temperature, topK,
                        topP, seed);
            }
        });
        out.println(prompt + generated);
        return 0;
    }

    /** Takes the next argument as the value whatever it looks like: a prompt may start with dashes. */
    static final class Verbatim implements IParameterConsumer {
        @Override
        public void consumeParameters(Stack<String> args, ArgSpec option, CommandSpec command) {
            if (args.isEmpty()) {
                throw new MissingParameterException(command.commandLine(), option,
                        "Missing required parameter for option '--prompt' (TEXT)");
            }
            option.setValue(args.pop());
        }
    }
}
