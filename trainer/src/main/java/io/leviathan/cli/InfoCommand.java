package io.leviathan.cli;

import io.leviathan.Leviathan;
import io.leviathan.backend.BackendInfo;
import io.leviathan.backend.Backends;
import java.io.PrintStream;
import jdk.incubator.vector.FloatVector;

/** {@code ./leviathan info}: what this installation can do on this machine. */
final class InfoCommand {
    private InfoCommand() {}

    static int run(String[] args, PrintStream out) {
        if (args.length > 0) {
            throw new UsageException("unexpected argument '" + args[0] + "' (info takes no arguments yet)");
        }
        out.println("Leviathan for Java " + Leviathan.version());
        out.println("Java " + Runtime.version() + " (" + System.getProperty("java.vendor") + ", "
                + System.getProperty("java.home") + ")");
        out.println("CPU: " + FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors ("
                + FloatVector.SPECIES_PREFERRED.length() + " float lanes), "
                + Runtime.getRuntime().availableProcessors() + " threads, "
                + System.getProperty("os.arch"));
        out.println("Backends:");
        for (BackendInfo b : Backends.probe()) {
            out.printf("  %-5s %-12s %s%n", b.name(), b.available() ? "available" : "unavailable", b.detail());
        }
        return 0;
    }
}
