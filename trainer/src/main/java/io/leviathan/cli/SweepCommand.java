package io.leviathan.cli;

import io.leviathan.study.SlurmScript;
import io.leviathan.study.Sweep;
import io.leviathan.study.SweepConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code ./leviathan sweep}: the scaling-law sweep of {@link SweepConfig} (dense ladder and Leviathan twins,
 * one run folder each with a result.json). Runs already finished are skipped, so the same command continues
 * a stopped sweep.
 * <pre>
 *   ./leviathan sweep --config FILE [--out DIR] [--device cpu|cuda|auto] [--list | --run ID | --slurm FILE]
 * </pre>
 * {@code --list} prints the runs (ID, arm, size, seed, state), {@code --run ID} trains one of them, and
 * {@code --slurm FILE} writes a Slurm array job with one task per run ({@link SlurmScript}).
 * {@code --out} defaults to {@code runs/<config file name without .json>}.
 */
final class SweepCommand {
    private SweepCommand() {}

    static final String FLAGS = "--config FILE (required), --out DIR (default runs/<config name>), "
            + DeviceFlag.USAGE + ", --list, --run ID, --slurm FILE";

    static int run(String[] args, PrintStream out, PrintStream err) {
        Path config = null;
        Path outDir = null;
        String device = null;
        String runId = null;
        Path slurm = null;
        boolean list = false;
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
            if (a.equals("--list")) {
                list = true;
                continue;
            }
            if (!(a.equals("--config") || a.equals("--out") || a.equals("--device") || a.equals("--run")
                    || a.equals("--slurm"))) {
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
                case "--run" -> runId = value;
                case "--slurm" -> slurm = Path.of(value);
                default -> device = DeviceFlag.parse(value);
            }
        }
        if ((list ? 1 : 0) + (runId != null ? 1 : 0) + (slurm != null ? 1 : 0) > 1) {
            throw new UsageException("give one of --list, --run ID and --slurm FILE; valid: " + FLAGS);
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
        if (list) {
            Sweep.list(cfg, outDir, out);
            return 0;
        }
        if (slurm != null) {
            return writeSlurm(cfg, config, outDir, device, slurm, out);
        }
        Sweep.Summary s = runId != null ? Sweep.runById(cfg, outDir, runId, command.toString(), out)
                : Sweep.run(cfg, outDir, command.toString(), out);
        return s.failed().isEmpty() ? 0 : 1;
    }

    /** Writes the Slurm array script for the sweep's runs (the data is prepared first: the plan needs it). */
    static int writeSlurm(SweepConfig cfg, Path config, Path outDir, String device, Path script, PrintStream out) {
        Path abs = outDir.toAbsolutePath().normalize();
        List<String> ids = Sweep.list(cfg, abs, out);
        String name = cfg.name() != null ? cfg.name() : abs.getFileName().toString();
        String text = SlurmScript.text(name, Path.of("").toAbsolutePath(), config.toAbsolutePath().normalize(), abs,
                device, ids);
        Sweep.writeAtomically(script, text);
        out.println("wrote " + script + ": a Slurm array of " + ids.size() + " tasks, one per run; submit with"
                + " sbatch " + script + ", gather with ./leviathan fit " + abs);
        return 0;
    }
}
