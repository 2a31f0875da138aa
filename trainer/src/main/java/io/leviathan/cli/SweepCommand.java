package io.leviathan.cli;

import io.leviathan.study.Sweep;
import io.leviathan.study.SweepConfig;
import java.io.PrintStream;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code ./leviathan sweep}: the scaling-law sweep of {@link SweepConfig} (dense ladder and Leviathan twins,
 * one run folder each with a result.json). Runs already finished are skipped, so the same command continues
 * a stopped sweep. {@code --out} defaults to {@code runs/<config file name without .json>}.
 */
@Command(name = "sweep", sortOptions = false, description = "the scaling-law sweep: dense ladder and Leviathan twins, resumable (see docs/scaling.md)")
final class SweepCommand implements CommandBody {
    @Option(names = "--config", required = true, paramLabel = "FILE", description = "the sweep config (see docs/sweeps/)")
    Path config;

    @Option(names = "--out", paramLabel = "DIR", description = "the sweep folder (default: runs/<config name>)")
    Path outDir;

    @Option(names = "--device", paramLabel = DeviceFlag.LABEL, converter = DeviceFlag.class,
            completionCandidates = DeviceFlag.Names.class, description = "where to run (default: the config's)")
    String device;

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
        Sweep.Summary s = Sweep.run(cfg, target, Main.asTyped(spec), out);
        return s.failed().isEmpty() ? 0 : 1;
    }
}
