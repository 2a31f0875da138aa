package io.leviathan.cli;

import io.leviathan.study.SlurmScript;
import io.leviathan.study.Sweep;
import io.leviathan.study.SweepConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./leviathan sweep}: the scaling-law sweep of {@link SweepConfig} (dense ladder and Leviathan twins,
 * one run folder each with a result.json). Runs already finished are skipped, so the same command continues
 * a stopped sweep. {@code --out} defaults to {@code runs/<config file name without .json>}. {@code --list}
 * prints the runs (ID, arm, size, seed, state), {@code --run ID} trains one of them, and {@code --slurm FILE}
 * writes a Slurm array job with one task per run ({@link SlurmScript}).
 */
@Command(name = "sweep", sortOptions = false, description = "the scaling study: every (size, arm, seed) of a sweep config, resumable; one run, or a Slurm array (see docs/scaling.md)")
final class SweepCommand implements CommandBody {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "the sweep config (see docs/sweeps/)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "the sweep folder (default: runs/<config name>)")
    Path outDir;

    @Option(names = "--device", paramLabel = DeviceFlag.LABEL, converter = DeviceFlag.class,
            completionCandidates = DeviceFlag.Names.class, description = "where to run (default: the config's)")
    String device;

    @Option(names = "--list", description = "print the runs (ID, arm, size, seed, state) and stop")
    boolean list;

    @Option(names = "--run", paramLabel = "ID", description = "train the one run ID (an array task on a cluster)")
    String runId;

    @Option(names = "--slurm", paramLabel = "FILE", description = "write a Slurm array script, one task per run")
    Path slurm;

    @Spec
    CommandSpec spec;

    @Override
    public int run(PrintStream out, PrintStream err) {
        SweepConfig cfg;
        try {
            cfg = SweepConfig.read(config);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage()); // a bad config file is a usage error, as a bad flag is
        }
        if (device != null) {
            cfg = cfg.withDevice(device);
        }
        Path target = outDir;
        if (target == null) {
            String name = config.getFileName().toString();
            target = Path.of("runs", name.endsWith(".json") ? name.substring(0, name.length() - 5) : name);
        }
        if ((list ? 1 : 0) + (runId != null ? 1 : 0) + (slurm != null ? 1 : 0) > 1) {
            throw new UsageException("give one of --list, --run ID and --slurm FILE");
        }
        if (list) {
            Sweep.list(cfg, target, out);
            return 0;
        }
        if (slurm != null) {
            return writeSlurm(cfg, config, target, device, slurm, out);
        }
        Sweep.Summary s = runId != null ? Sweep.runById(cfg, target, runId, Main.asTyped(spec), out)
                : Sweep.run(cfg, target, Main.asTyped(spec), out);
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
