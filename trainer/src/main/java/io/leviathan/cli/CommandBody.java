package io.leviathan.cli;

import java.io.PrintStream;

/**
 * The work of a command, run once picocli has set its option fields. Kept apart from the option declarations
 * so a command's behaviour reads on its own.
 */
interface CommandBody {
    /**
     * Runs the command; returns its exit status. A {@link UsageException} means exit status 2, any other
     * exception 1.
     */
    int run(PrintStream out, PrintStream err);
}
