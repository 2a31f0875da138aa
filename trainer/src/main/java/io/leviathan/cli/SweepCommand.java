package io.leviathan.cli;

import io.leviathan.study.Sweep;
import io.leviathan.study.SweepConfig;
import java.io.PrintStream;
import java.nio.file.Path;

/**
 * {@code ./leviathan sweep}: the scaling-law sweep of {@link SweepConfig} (dense ladder and Leviathan twins,
 * one run folder each with a result.json). Runs already finished are skipped, so the same command continues
 * a stopped sweep.
 * <pre>
 *   ./leviathan sweep --config FILE [--out DIR] [--device cpu|cuda|auto]
 * </pre>
 * {@code --out} defaults to {@code runs/<config file name without .json>}.
 */
final class SweepCommand {
    private SweepCommand() {}

    static final String FLAGS = "--config FILE (required), --out DIR (default runs/<config name>), "
            + DeviceFlag.USAGE;

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path config = null;
        Path outDir = null;
        String device = null;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            if (a.equals("--help") || a.equals("-h")) {
                out.println("usage: ./leviathan sweep --config FILE [--out DIR] [" + DeviceFlag.USAGE + "]; flags: " + FLAGS);
                return 0;
            }
            if (!(a.equals("--config") || a.equals("--out") || a.equals("--device"))) {
                throw new UsageException("unexpected argument '" + args[i] + "'; valid: " + FLAGS);
            }
            if (value == null) {
                if (i + 1 >= args.length || args[i + 1].startsWith("--")) {
                    throw new UsageException(a + " needs a value; valid: " + FLAGS);
                }
                value = args[++i];
            }
            switch (a) {
                case "--config" -> config = Path.of(value);
                case "--out" -> outDir = Path.of(value);
                default -> device = DeviceFlag.parse(value);
            }
        }
        if (config == null) {
            throw new UsageException("--config FILE is required (see docs/sweeps/ and docs/scaling.md); valid: " + FLAGS);
        }
        SweepConfig cfg = SweepConfig.read(config);
        if (device != null) {
            cfg = cfg.withDevice(device);
        }
        if (outDir == null) {
            String name = config.getFileName().toString();
            outDir = Path.of("runs", name.endsWith(".json") ? name.substring(0, name.length() - 5) : name);
        }
        StringBuilder command = new StringBuilder("./leviathan sweep");
        for (String a : args) {
            command.append(' ').append(a);
        }
        Sweep.Summary s = Sweep.run(cfg, outDir, command.toString(), out);
        return s.failed().isEmpty() ? 0 : 1;
    }
}
