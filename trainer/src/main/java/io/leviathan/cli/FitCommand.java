package io.leviathan.cli;

import io.leviathan.study.ScalingReport;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * {@code ./leviathan fit DIR}: fits {@code L(N) = a N^(-alpha) + b} to the dense runs of a sweep folder and
 * places the Leviathan runs at their effective size ({@link ScalingReport}); writes DIR/report.md,
 * DIR/fit.json and DIR/scaling.png.
 * <pre>
 *   ./leviathan fit DIR [--params total|non-embedding] [--bootstrap B] [--seed S] [--confidence C]
 * </pre>
 * N counts total parameters by default (as the paper's headline does); {@code --params non-embedding}
 * leaves out the input stage (table or generator). Intervals come from the covariance (delta method, t);
 * {@code --bootstrap B} adds the residual bootstrap's.
 */
final class FitCommand {
    private FitCommand() {}

    static final String FLAGS = "DIR, --params total|non-embedding (default total), --bootstrap B (default 0 = t intervals only),"
            + " --seed S (default 1), --confidence C (default 0.95)";

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path dir = null;
        ScalingReport.Options d = ScalingReport.Options.defaults();
        ScalingReport.Params params = d.params();
        int bootstrap = d.bootstrap();
        long seed = d.seed();
        double confidence = d.confidence();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (a.equals("--help") || a.equals("-h")) {
                out.println("usage: ./leviathan fit DIR [--params total|non-embedding] [--bootstrap B] [--seed S]"
                        + " [--confidence C]");
                return 0;
            }
            if (!a.startsWith("--")) {
                if (dir != null) {
                    throw new UsageException("one sweep folder, got '" + dir + "' and '" + a + "'; valid: " + FLAGS);
                }
                dir = Path.of(a);
                continue;
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new UsageException(a + " needs a value; valid: " + FLAGS);
                }
                value = args[++i];
            }
            try {
                switch (a) {
                    case "--params" -> params = ScalingReport.Params.parse(value);
                    case "--bootstrap" -> {
                        bootstrap = Integer.parseInt(value);
                        if (bootstrap < 0) {
                            throw new UsageException("--bootstrap must be >= 0, got " + bootstrap);
                        }
                    }
                    case "--seed" -> seed = Long.parseLong(value);
                    case "--confidence" -> {
                        confidence = Double.parseDouble(value);
                        if (!(confidence > 0 && confidence < 1)) {
                            throw new UsageException("--confidence must be in (0, 1), got " + value);
                        }
                    }
                    default -> throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
                }
            } catch (NumberFormatException e) {
                throw new UsageException(a + " needs a number, got '" + value + "'");
            } catch (IllegalArgumentException e) { // --params
                throw new UsageException(e.getMessage());
            }
        }
        if (dir == null) {
            throw new UsageException("give the sweep folder; valid: " + FLAGS);
        }
        StringBuilder command = new StringBuilder("./leviathan fit");
        for (String a : args) {
            command.append(' ').append(a);
        }
        ScalingReport.write(dir, new ScalingReport.Options(params, bootstrap, seed, confidence, command.toString()), out);
        return 0;
    }
}
