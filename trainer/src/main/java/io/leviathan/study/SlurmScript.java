package io.leviathan.study;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A Slurm array job for a sweep ({@code ./leviathan sweep --slurm FILE}): one array task per run, each calling
 * {@code ./leviathan sweep --run ID} on the shared sweep folder. Resubmitting the same script is safe: a
 * finished run's task returns at once, a stopped one resumes from its newest checkpoint. {@code ./leviathan
 * fit} on the folder gathers every task's result.json.
 */
public final class SlurmScript {
    private SlurmScript() {}

    /**
     * The script's text.
     *
     * @param name the job name
     * @param root the folder {@code ./leviathan} lives in (tasks start there)
     * @param config the sweep config file (absolute)
     * @param outDir the sweep folder (absolute)
     * @param device the device flag to pass on, or null for the config's
     * @param runIds the runs, in array-index order
     */
    public static String text(String name, Path root, Path config, Path outDir, String device, List<String> runIds) {
        if (runIds.isEmpty()) {
            throw new IllegalArgumentException("the sweep plans no runs: nothing for a Slurm array");
        }
        boolean gpu = "cuda".equals(device);
        StringBuilder b = new StringBuilder();
        b.append("#!/bin/bash\n");
        b.append("#SBATCH --job-name=").append(name.replaceAll("[^A-Za-z0-9._-]", "_")).append('\n');
        b.append("#SBATCH --array=0-").append(runIds.size() - 1).append('\n');
        b.append("#SBATCH --output=").append(quoteFree(outDir.resolve("slurm-%A_%a.log"))).append('\n');
        b.append("#SBATCH --cpus-per-task=").append(gpu ? 8 : 2).append('\n');
        if (gpu) {
            b.append("#SBATCH --gres=gpu:1\n");
        }
        b.append("# Add the partition, account and time limit your cluster needs, then: sbatch THIS_FILE\n");
        b.append("# Resubmit to continue: finished runs return at once, stopped ones resume from their checkpoint.\n");
        b.append("# Gather the results with: ./leviathan fit ").append(shell(outDir.toString())).append('\n');
        b.append("set -euo pipefail\n");
        b.append("RUNS=(\n");
        for (String id : runIds) {
            b.append("  ").append(shell(id)).append('\n');
        }
        b.append(")\n");
        b.append("ID=\"${RUNS[$SLURM_ARRAY_TASK_ID]}\"\n");
        b.append("cd ").append(shell(root.toString())).append('\n');
        b.append(String.format(Locale.ROOT, "exec ./leviathan sweep --config %s --out %s --run \"$ID\"%s%n",
                shell(config.toString()), shell(outDir.toString()), device == null ? "" : " --device " + shell(device)));
        return b.toString();
    }

    /** A word for bash: single-quoted unless it is plain. */
    static String shell(String s) {
        return s.matches("[A-Za-z0-9._/=:,+-]+") ? s : "'" + s.replace("'", "'\\''") + "'";
    }

    private static String quoteFree(Path p) { // #SBATCH lines are not parsed by a shell: no quoting possible
        String s = p.toString();
        if (s.matches(".*\\s.*")) {
            throw new IllegalArgumentException("Slurm's --output cannot hold a path with spaces: " + s);
        }
        return s;
    }
}
