package io.leviathan.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A bad setting is a usage error (status 2) whether it comes from a flag or from a --config file. */
class UsageExitTest {

    private static int run(ByteArrayOutputStream err, String... args) {
        return Main.run(args, new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "steps | -1 | {\"steps\": -1}",
            "batch | 0 | {\"batch\": 0}",
            "lr | abc | {\"lr\": \"abc\"}",
            "family | moe | {\"family\": \"moe\"}"})
    void configFileAndFlagGiveTheSameStatus(String key, String flagValue, String json, @TempDir Path tmp)
            throws IOException {
        ByteArrayOutputStream flagErr = new ByteArrayOutputStream();
        int flagStatus = run(flagErr, "train", "--set", key + "=" + flagValue, "--out", tmp.resolve("a").toString());
        Path config = tmp.resolve("config.json");
        Files.writeString(config, json);
        ByteArrayOutputStream fileErr = new ByteArrayOutputStream();
        int fileStatus = run(fileErr, "train", "--config", config.toString(), "--out", tmp.resolve("b").toString());
        assertEquals(2, flagStatus, flagErr.toString(StandardCharsets.UTF_8));
        assertEquals(2, fileStatus, fileErr.toString(StandardCharsets.UTF_8));
        assertTrue(fileErr.toString(StandardCharsets.UTF_8).contains(key), fileErr.toString(StandardCharsets.UTF_8));
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {"{\"stepz\": 3}", "{\"steps\": 3", "[1, 2]"})
    void aMalformedConfigFileIsAUsageError(String json, @TempDir Path tmp) throws IOException {
        Path config = tmp.resolve("config.json");
        Files.writeString(config, json);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(2, run(err, "train", "--config", config.toString(), "--out", tmp.resolve("run").toString()),
                err.toString(StandardCharsets.UTF_8));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains(config.toString()), err.toString(StandardCharsets.UTF_8));
    }
}
