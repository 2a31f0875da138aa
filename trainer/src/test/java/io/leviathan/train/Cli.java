package io.leviathan.train;

import io.leviathan.backend.Backends;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs {@code ./leviathan} commands in a fresh JVM on this test run's module path (strict when this run is). */
final class Cli {
    private Cli() {}

    record Result(int status, String output) {}

    static Result run(Path workDir, String... args) throws IOException, InterruptedException {
        Path log = Files.createTempFile(workDir, "cli", ".log");
        Process p = start(workDir, log, args);
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("./leviathan " + String.join(" ", args) + " did not finish in 120 s");
        }
        return new Result(p.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
    }

    /** Starts {@code ./leviathan args} without waiting; its output (stdout and stderr) goes to {@code log}. */
    static Process start(Path workDir, Path log, String... args) throws IOException {
        String modulePath = System.getProperty("jdk.module.path");
        if (modulePath == null) {
            throw new IllegalStateException("tests must run on the module path (jdk.module.path is not set)");
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED,io.leviathan.core,io.leviathan.trainer", "-Xss4m"));
        if (Boolean.getBoolean(Backends.STRICT_PROPERTY)) {
            cmd.add("-D" + Backends.STRICT_PROPERTY + "=true"); // the strict test pass: the child runs strict too
        }
        cmd.addAll(List.of("-p", modulePath, "-m", "io.leviathan.trainer/io.leviathan.cli.Main"));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
    }
}
