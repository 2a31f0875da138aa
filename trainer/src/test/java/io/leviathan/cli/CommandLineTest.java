package io.leviathan.cli;

import static io.leviathan.cli.Result.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.leviathan.Leviathan;
import io.leviathan.backend.Backends;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** What every command shares: help, version, exit status of usage errors, the completion script. */
class CommandLineTest {


    /** Every command and subcommand, as the words that name it (e.g. {@code [data, prepare]}). */
    private static List<List<String>> commands() {
        List<List<String>> all = new ArrayList<>();
        collect(Main.commandLine(System.out, System.err), List.of(), all);
        return all;
    }

    private static void collect(CommandLine c, List<String> path, List<List<String>> all) {
        c.getSubcommands().forEach((name, sub) -> {
            List<String> p = new ArrayList<>(path);
            p.add(name);
            all.add(p);
            collect(sub, p, all);
        });
    }

    private static CommandLine find(List<String> path) {
        CommandLine c = Main.commandLine(System.out, System.err);
        for (String name : path) {
            c = c.getSubcommands().get(name);
        }
        return c;
    }

    @Test
    void everyCommandIsThere() {
        List<String> top = commands().stream().filter(p -> p.size() == 1).map(p -> p.get(0)).toList();
        assertEquals(List.of("info", "version", "generate", "export", "data", "train", "eval", "sweep", "fit",
                "completion", "test", "bench", "build", "help"), top);
        assertTrue(commands().containsAll(List.of(List.of("data", "prepare"), List.of("data", "info"),
                List.of("data", "default"))), commands().toString());
    }

    @Test
    void helpOnEveryCommandExitsZeroAndListsItsOptions() {
        for (List<String> path : commands()) {
            for (String flag : List.of("--help", "-h")) {
                List<String> args = new ArrayList<>(path);
                args.add(flag);
                Result r = run(args.toArray(String[]::new));
                assertEquals(0, r.status(), args + ": " + r.err());
                assertTrue(r.out().startsWith("Usage: leviathan " + String.join(" ", path)), args + ": " + r.out());
                assertTrue(r.err().isEmpty(), args + ": " + r.err());
                for (OptionSpec o : find(path).getCommandSpec().options()) {
                    assertTrue(r.out().contains(o.longestName()), args + " lists " + o.longestName() + ": " + r.out());
                    if (!o.usageHelp()) {
                        assertFalse(String.join("", o.description()).isBlank(), args + ": " + o.longestName()
                                + " has a description");
                    }
                }
            }
        }
        Result plain = run();
        assertEquals(0, plain.status());
        assertTrue(plain.out().contains("Exit status: 0 success, 1 the run failed, 2 usage error"), plain.out());
        assertEquals(plain.out(), run("help").out());
        assertEquals(run("train", "--help").out(), run("help", "train").out());
        assertEquals(2, run("help", "frobnicate").status());
    }

    @Test
    void trainHelpListsEveryConfigKeyWithItsDefault() {
        String help = run("train", "--help").out();
        for (String key : io.leviathan.train.TrainConfig.KEYS) {
            assertTrue(help.matches("(?s).*\\s" + key + "=\\S+.*"), key + " in " + help);
        }
        assertTrue(help.contains("steps=" + io.leviathan.train.TrainConfig.defaults().steps()), help);
    }

    @Test
    void versionPrintsTheLibraryVersion() {
        for (String[] args : List.of(new String[] {"--version"}, new String[] {"-V"}, new String[] {"version"})) {
            Result r = run(args);
            assertEquals(0, r.status(), r.err());
            assertEquals(Leviathan.version(), r.out().strip());
        }
    }

    @Test
    void anUnknownOptionOnAnyCommandExitsTwoNamingIt() {
        for (List<String> path : commands()) {
            List<String> args = new ArrayList<>(path);
            args.add("--no-such-option");
            Result r = run(args.toArray(String[]::new));
            assertEquals(2, r.status(), args + ": " + r.err());
            assertTrue(r.err().startsWith("leviathan " + String.join(" ", path) + ": "), args + ": " + r.err());
            assertTrue(r.err().contains("'--no-such-option'"), args + ": " + r.err());
            assertTrue(r.err().contains("Usage: leviathan " + String.join(" ", path)), "the valid options: " + r.err());
            assertTrue(r.out().isEmpty(), r.out());
        }
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "train --steps abc | '--steps': 'abc' is not a long",
            "train --batch 2.5 | '--batch': '2.5' is not an int",
            "train --lr fast | '--lr': 'fast' is not a float",
            "train --device tpu | '--device': must be one of cpu, cuda, auto, got 'tpu'",
            "eval --checkpoint c --device tpu | '--device': must be one of cpu, cuda, auto, got 'tpu'",
            "eval --checkpoint c --split test | '--split': must be val or train, got 'test'",
            "eval --checkpoint c --batches -1 | --batches needs an integer >= 0 (0 = all), got '-1'",
            "generate --checkpoint c --prompt p --max-tokens many | '--max-tokens': 'many' is not an int",
            "generate --checkpoint c --prompt p --top-p 2 | top-p",
            "fit runs --params embedding | '--params': must be total or non-embedding, got 'embedding'",
            "fit runs --confidence 1.5 | --confidence must be in (0, 1), got 1.5",
            "info --model tiny --vocab lots | '--vocab': 'lots' is not an int",
            "info --model tiny --batch 0 --seq 8 | --batch needs a positive integer, got '0'",
            "data prepare --input a.txt --out o --val-fraction x | '--val-fraction': 'x' is not a double",
            "data prepare --input a.txt --out o --shard-tokens 0 | --shard-tokens needs a positive integer, got '0'",
            "data prepare --input a.txt --out o --tokenizer gpt2 | --tokenizer must be one of o200k_base, cl100k_base, got 'gpt2'",
            "train --set steps | --set needs KEY=VALUE, got 'steps'"})
    void aBadValueExitsTwoNamingOptionAndValue(String command, String expected) {
        Result r = run(command.split(" "));
        assertEquals(2, r.status(), command + ": " + r.err());
        assertTrue(r.err().contains(expected), command + ": " + r.err());
        assertEquals(1, r.err().lines().filter(l -> l.startsWith("leviathan ")).count(), "one error line: " + r.err());
    }

    @Test
    void theDeviceLabelListsTheBackendsDevices() {
        assertEquals(String.join("|", Backends.DEVICES), DeviceFlag.LABEL);
    }

    @Test
    void configFileErrorsAreUsageErrors(@TempDir Path tmp) throws IOException {
        Path missing = tmp.resolve("missing.json");
        Result r = run("train", "--config", missing.toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("--config " + missing + ": cannot read"), r.err());

        Path sweep = tmp.resolve("sweep.json");
        Files.writeString(sweep, "{\"data\": \"d\", \"ladder\": 3}");
        r = run("sweep", "--config", sweep.toString(), "--out", tmp.resolve("runs").toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().startsWith("leviathan sweep: " + sweep), r.err());

        Path model = tmp.resolve("model.json");
        Files.writeString(model, "{\"preset\": \"tiny\", \"layerz\": 3}");
        r = run("info", "--model", model.toString());
        assertEquals(2, r.status(), r.err());
        assertTrue(r.err().contains("unknown key 'layerz'"), r.err());
    }

    @Test
    void theLastOfARepeatedOptionWinsAndAtIsAnOrdinaryCharacter() {
        // a repeated option is not an error (scripts append overrides), and "@x" is a value, not a file to expand
        Result r = run("info", "--model", "paper-60m", "--model", "@tiny");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("--model '@tiny' is neither a preset nor a config file"), r.err());
    }

    @Test
    void aPromptMayStartWithDashes(@TempDir Path tmp) {
        String missing = tmp.resolve("none").toString();
        for (String[] prompt : List.of(new String[] {"--prompt", "-hello"}, new String[] {"--prompt", "--seed"},
                new String[] {"--prompt=-h"})) {
            List<String> args = new ArrayList<>(List.of("generate", "--checkpoint", missing));
            args.addAll(List.of(prompt));
            Result r = run(args.toArray(String[]::new));
            // parsed: the run got as far as looking for the checkpoint
            assertEquals(2, r.status(), args + ": " + r.err());
            assertTrue(r.err().contains("--checkpoint " + missing + ": no such file or folder"), args + ": " + r.err());
        }
        Result r = run("generate", "--checkpoint", missing, "--prompt");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("Missing required parameter for option '--prompt'"), r.err());
    }

    @Test
    void launcherCommandsSayWhereTheyRun() {
        Result r = run("bench");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("'bench' is run by the ./leviathan script"), r.err());
    }

    @Test
    void completionPrintsABashScriptNamingEveryCommandAndOption() throws Exception {
        Result r = run("completion");
        assertEquals(0, r.status(), r.err());
        String script = r.out();
        assertTrue(script.startsWith("#!/usr/bin/env bash"), script.substring(0, 80));
        assertTrue(script.contains("complete -F _complete_leviathan"), "registers the function");
        for (List<String> path : commands()) {
            assertTrue(script.contains(path.getLast()), "mentions " + path);
            for (OptionSpec o : find(path).getCommandSpec().options()) {
                assertTrue(script.contains(o.longestName()), path + " " + o.longestName());
            }
        }

        Path bash = Path.of("/bin/bash");
        assumeTrue(Files.isExecutable(bash), "no /bin/bash to load the script into");
        Path file = Files.createTempFile("leviathan-completion", ".bash");
        try {
            Files.writeString(file, script);
            assertEquals(List.of("train"), complete(bash, file, "./leviathan", "tr"));
            assertEquals(List.of("prepare"), complete(bash, file, "./leviathan", "data", "pre"));
            assertEquals(Backends.DEVICES, complete(bash, file, "./leviathan", "eval", "--device", ""));
            assertEquals(List.of("--checkpoint"), complete(bash, file, "./leviathan", "generate", "--che"));
        } finally {
            Files.delete(file);
        }
    }

    /** What bash offers for the last of {@code words} with the script loaded. */
    private static List<String> complete(Path bash, Path script, String... words) throws Exception {
        String line = String.join(" ", words);
        String program = "source \"$1\" 2>/dev/null; shift; COMP_WORDS=(\"$@\"); COMP_CWORD=$(( $# - 1 ));"
                + " COMP_LINE=\"$*\"; COMP_POINT=${#COMP_LINE}; _complete_leviathan 2>/dev/null;"
                + " printf '%s\\n' \"${COMPREPLY[@]}\"";
        List<String> cmd = new ArrayList<>(List.of(bash.toString(), "-c", program, "bash", script.toString()));
        cmd.addAll(List.of(words));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), line);
        assertEquals(0, p.exitValue(), line + ": " + out);
        return out.lines().map(String::strip).filter(s -> !s.isEmpty()).toList();
    }
}
