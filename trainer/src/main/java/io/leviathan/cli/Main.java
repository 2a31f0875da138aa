package io.leviathan.cli;

import io.leviathan.Leviathan;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.util.List;
import java.util.function.IntSupplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Ansi;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * Entry point of {@code ./leviathan}: picocli parses the options of one class per command, then the
 * command's {@link CommandBody} runs. Exit status: 0 success, 1 the run failed, 2 usage error (a bad
 * option, value or config file).
 */
@Command(name = "leviathan",
        description = "Trains small language models on the JVM (dense LLaMA-style and Leviathan).",
        versionProvider = Main.Version.class,
        subcommands = {InfoCommand.class, Main.VersionCommand.class, GenerateCommand.class, ExportCommand.class,
                DataCommand.class, TrainCommand.class, EvalCommand.class, SweepCommand.class, FitCommand.class,
                CompletionCommand.class},
        footer = {"", "Exit status: 0 success, 1 the run failed, 2 usage error (a bad option, value or config file).",
                "Bash completion: source <(./leviathan completion)"})
public final class Main implements CommandBody {
    /** Commands that the {@code ./leviathan} script runs itself (through Maven), listed here for help. */
    private static final List<String[]> LAUNCHER_COMMANDS = List.of(
            new String[] {"test", "build everything and run every test (launcher command)"},
            new String[] {"bench", "run the JMH matmul benchmark against OpenBLAS (launcher command)"},
            new String[] {"build", "(re)build the CLI (launcher command)"});

    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT, description = "Show this help and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print the library version and exit.")
    boolean version;

    @Spec
    CommandSpec spec;

    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command and returns its exit status (0 success, 1 failure, 2 usage error). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        return commandLine(out, err).execute(args);
    }

    /** The whole command tree, writing to {@code out} and {@code err}. */
    static CommandLine commandLine(PrintStream out, PrintStream err) {
        CommandLine cli = new CommandLine(new Main());
        for (String[] c : LAUNCHER_COMMANDS) {
            CommandSpec launcher = CommandSpec.wrapWithoutInspection((CommandBody) (_, _) -> {
                throw new UsageException("'" + c[0] + "' is run by the ./leviathan script, not by the Java CLI");
            });
            launcher.usageMessage().description(c[1]);
            cli.addSubcommand(c[0], new CommandLine(launcher));
        }
        cli.addSubcommand(new HelpCommand());
        TrainCommand.describeKeys(cli.getSubcommands().get("train").getCommandSpec());
        return cli.setOut(new PrintWriter(out, true, out.charset()))
                .setErr(new PrintWriter(err, true, err.charset()))
                .setColorScheme(CommandLine.Help.defaultColorScheme(Ansi.OFF))
                .setExpandAtFiles(false) // "@name" is an ordinary value (a prompt may start with it)
                .setOverwrittenOptionsAllowed(true) // the last of a repeated option wins, as it always did
                .setParameterExceptionHandler((e, a) -> usageError(e, err))
                .setExecutionStrategy(parsed -> execute(parsed, out, err));
    }

    /** Plain {@code ./leviathan}: the list of commands. */
    @Override
    public int run(PrintStream out, PrintStream err) {
        spec.commandLine().usage(out);
        return 0;
    }

    private static int execute(ParseResult parsed, PrintStream out, PrintStream err) {
        Integer help = CommandLine.executeHelpRequest(parsed);
        if (help != null) {
            return help;
        }
        ParseResult leaf = parsed;
        while (leaf.hasSubcommand()) {
            leaf = leaf.subcommand();
        }
        CommandLine command = leaf.commandSpec().commandLine();
        CommandBody body = command.getCommand();
        return guarded(commandName(command), () -> body.run(out, err), err);
    }

    /** The command line that ran {@code command}, as typed after {@code ./leviathan} (for reports that record it). */
    static String asTyped(CommandSpec command) {
        return "./leviathan " + String.join(" ", command.commandLine().getParseResult().originalArgs());
    }

    /** The command's words after {@code leviathan}, e.g. {@code data prepare}. */
    private static String commandName(CommandLine command) {
        String q = command.getCommandSpec().qualifiedName(" ");
        int space = q.indexOf(' ');
        return space < 0 ? "" : q.substring(space + 1);
    }

    /**
     * A bad command line: one line naming the option and value, then what is valid: the command's help for an
     * unknown or missing option, a pointer to it for a bad value.
     */
    private static int usageError(ParameterException e, PrintStream err) {
        CommandLine command = e.getCommandLine();
        if (!(e instanceof UnmatchedArgumentException) && !command.getUnmatchedArguments().isEmpty()) {
            // picocli checks required options before it reports unknown ones; a misspelt option is the likelier
            // cause of both, so it is the one named
            return usageError(new UnmatchedArgumentException(command, command.getUnmatchedArguments()), err);
        }
        String name = commandName(command);
        String prefix = name.isEmpty() ? "leviathan: " : "leviathan " + name + ": ";
        String message = e.getMessage();
        if (e instanceof UnmatchedArgumentException u && !command.getSubcommands().isEmpty()
                && !u.getUnmatched().isEmpty() && !u.getUnmatched().getFirst().startsWith("-")) {
            message = "unknown command '" + u.getUnmatched().getFirst() + "'";
        }
        err.println(prefix + message);
        PrintWriter w = command.getErr();
        if (UnmatchedArgumentException.printSuggestions(e, w)) {
            w.flush();
        }
        if (e instanceof UnmatchedArgumentException || e instanceof CommandLine.MissingParameterException) {
            command.usage(err);
        } else {
            err.println("see ./leviathan " + (name.isEmpty() ? "" : name + " ") + "--help");
        }
        return 2;
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

    /** {@code --version}: the library version. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {Leviathan.version()};
        }
    }

    /** {@code ./leviathan version}: the library version. */
    @Command(name = "version", description = "the library version")
    static final class VersionCommand implements CommandBody {
        @Override
        public int run(PrintStream out, PrintStream err) {
            out.println(Leviathan.version());
            return 0;
        }
    }

    /** {@code ./leviathan help [COMMAND]}: the list of commands, or one command's help. */
    @Command(name = "help", description = "this list, or a command's help: help COMMAND (the same as COMMAND --help)")
    static final class HelpCommand implements CommandBody {
        @Parameters(arity = "0..1", paramLabel = "COMMAND", description = "the command to describe")
        String command;

        @Spec
        CommandSpec spec;

        @Override
        public int run(PrintStream out, PrintStream err) {
            CommandLine root = spec.root().commandLine();
            CommandLine target = command == null ? root : root.getSubcommands().get(command);
            if (target == null) {
                throw new UsageException("unknown command '" + command + "'; commands: "
                        + String.join(", ", root.getSubcommands().keySet()));
            }
            target.usage(out);
            return 0;
        }
    }
}
