package io.leviathan.cli;

import java.io.PrintStream;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/**
 * {@code ./leviathan completion}: prints a bash completion script for every command, option and known option
 * value, generated from the same declarations that parse them. Load it with
 * {@code source <(./leviathan completion)} (zsh too, after {@code autoload -U +X bashcompinit && bashcompinit}).
 */
@Command(name = "completion", description = "print a bash completion script: source <(./leviathan completion)")
final class CompletionCommand implements CommandBody {
    @Spec
    CommandSpec spec;

    @Override
    public int run(PrintStream out, PrintStream err) {
        CommandSpec root = spec.root();
        out.print(AutoComplete.bash(root.name(), root.commandLine()));
        return 0;
    }
}
