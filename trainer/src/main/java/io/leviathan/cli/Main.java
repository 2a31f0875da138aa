package io.leviathan.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.function.IntSupplier;

/** Entry point of {@code ./leviathan}: dispatches to one class per command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command and returns its exit status (0 success, 1 failure, 2 usage error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("help") || args[0].equals("--help") || args[0].equals("-h")) {
            usage(out);
            return 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        return guarded(args[0], () -> dispatch(args[0], rest, out, err), err);
    }

    private static int dispatch(String command, String[] rest, PrintStream out, PrintStream err) {
        return switch (command) {
            case "info" -> InfoCommand.run(rest, out);
            case "generate" -> GenerateCommand.run(rest, out, err);
            case "export" -> ExportCommand.run(rest, out, err);
            case "data" -> DataCommand.run(rest, out, err);
            case "train" -> TrainCommand.run(rest, out, err);
            case "eval" -> EvalCommand.run(rest, out, err);
            case "sweep" -> SweepCommand.run(rest, out, err);
            case "fit" -> FitCommand.run(rest, out, err);
            case "version", "--version" -> {
                out.println(io.leviathan.Leviathan.version());
                yield 0;
            }
            default -> {
                err.println("leviathan: unknown command '" + command + "'");
                usage(err);
                yield 2;
            }
        };
    }

    /**
     * Runs {@code body} and turns what escapes it into one line on {@code err} and an exit status: 2 for a
     * usage error, 1 for any other failure, an {@link OutOfMemoryError} included (runs are refused before
     * allocating when their estimate does not fit; this catches what still gets past that).
     */
    static int guarded(String command, IntSupplier body, PrintStream err) {
        try {
            return body.getAsInt();
        } catch (UsageException e) {
            err.println("leviathan " + command + ": " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("leviathan " + command + ": " + e.getMessage());
            return 1;
        } catch (OutOfMemoryError e) {
            String detail = e.getMessage() == null ? "" : " (" + e.getMessage() + ")";
            err.println("leviathan " + command + ": out of memory" + detail + "; lower --batch or --seq,"
                    + " or give the JVM more heap (-Xmx)");
            return 1;
        }
    }

    static void usage(PrintStream out) {
        out.println("""
                usage: ./leviathan <command> [args]

                commands:
                  info       library version, backends and why any is unavailable, CPU vector width and threads;
                             --model P [--family F] [--vocab N] [--json]: configuration and parameter count;
                             add --batch B --seq T [--precision fp32|bf16]: the memory a training run takes
                  version    the library version
                  generate   sample text from a checkpoint: --checkpoint DIR|FILE --prompt TEXT [--max-tokens N]
                             [--temperature X] [--top-k K] [--top-p P] [--seed S] [--device cpu|cuda|auto]
                  export     write a checkpoint as a Hugging Face LLaMA folder: --checkpoint DIR|FILE --out DIR
                             [--format hf-llama] [--force] [--device cpu|cuda|auto]
                  data       prepare a token dataset: data prepare --input PATH... --out DIR [--tokenizer o200k_base|cl100k_base]
                             [--val-fraction 0.05] [--compact-vocab] [--skip-bad-lines] [--shard-tokens N];
                             data info DIR; data default [--cache DIR] (the embedded corpus)
                  train      train a model; no arguments: the tiny Leviathan model on the embedded corpus for a few
                             minutes on the CPU. [--config FILE] [--data DIR|FILE] [--model PRESET|FILE]
                             [--family dense|leviathan] [--steps N] [--batch B] [--seq T] [--accum A] [--lr X]
                             [--device cpu|cuda|auto] [--out DIR] [--resume DIR|FILE] [--seed S] [--set KEY=VALUE]
                  eval       loss and perplexity of a checkpoint on a validation split: --checkpoint DIR|FILE
                             [--data DIR] [--split val|train] [--batches N] [--device cpu|cuda|auto]
                  sweep      the scaling-law sweep: dense ladder and Leviathan twins, resumable:
                             --config FILE [--out DIR] [--device cpu|cuda|auto] (see docs/scaling.md)
                  fit        fit L(N) = a N^-alpha + b to a sweep's dense runs, Leviathan effective sizes: DIR
                             [--params total|non-embedding] [--bootstrap B] [--seed S] [--confidence C]
                  test       build everything and run every test (launcher command)
                  bench      run the JMH matmul benchmark against OpenBLAS (launcher command)
                """);
    }
}
