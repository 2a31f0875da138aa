package io.leviathan.study;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code fit}: the report, fit.json and plot from result.json files with known answers. */
class ScalingReportTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final PrintStream QUIET = new PrintStream(PrintStream.nullOutputStream());

    /** Writes DIR/NAME/result.json with the fields the fit reads. */
    static void result(Path dir, String name, String family, String variant, String twin, long total, long nonEmb,
                       double loss, double tps) throws IOException {
        ObjectNode o = JSON.createObjectNode();
        o.put("format", Sweep.FORMAT).put("version", Sweep.VERSION).put("run", name).put("size", twin)
                .put("family", family).put("variant", variant).put("twin", twin).put("depth", 2).put("d_model", 64)
                .put("tokens_seen", 1000).put("val_loss", loss).put("tokens_per_s", tps);
        o.putObject("parameters").put("total", total).put("embedding", total - nonEmb).put("non_embedding", nonEmb);
        Files.createDirectories(dir.resolve(name));
        Files.writeString(dir.resolve(name).resolve(Sweep.RESULT), o.toPrettyString());
    }

    /** Five dense runs on a known law (small noise), a twin at L(2N), one below b, one far above the range. */
    static void synthetic(Path dir) throws IOException {
        double[] noise = {0.004, -0.003, 0.002, -0.004, 0.001};
        long[] sizes = {2_000_000, 4_000_000, 8_000_000, 16_000_000, 32_000_000};
        for (int i = 0; i < sizes.length; i++) {
            long n = sizes[i];
            result(dir, "dense-s" + i, "dense", "dense", "dense-s" + i, n, n / 2, law(n) + noise[i], 10_000);
        }
        result(dir, "leviathan-iso-body-s1", "leviathan", "iso-body", "dense-s1", 3_000_000, 2_000_000,
                law(2 * 3_000_000), 7_000);
        result(dir, "leviathan-iso-body-s2", "leviathan", "iso-body", "dense-s2", 6_000_000, 4_000_000, 1.0, 6_000);
        result(dir, "leviathan-isoparametric-s3", "leviathan", "isoparametric", "dense-s3", 16_000_000, 15_000_000,
                law(4e9), 5_000);
    }

    static double law(double n) {
        return 60 * Math.pow(n, -0.3) + 2.5;
    }

    @Test
    void writesReportJsonAndPlotWithEffectiveSizes(@TempDir Path dir) throws IOException {
        synthetic(dir);
        ScalingReport.Outcome o = ScalingReport.write(dir, new ScalingReport.Options(ScalingReport.Params.TOTAL, 500, 1,
                0.95, "./leviathan fit " + dir), QUIET);
        assertEquals(5, o.fit().points().size());
        assertEquals(0.3, o.fit().law().alpha(), 0.1);

        JsonNode fit = JSON.readTree(o.json().toFile());
        assertEquals("total", fit.get("params").asText());
        Map<String, JsonNode> runs = new HashMap<>();
        fit.get("runs").forEach(r -> runs.put(r.get("run").asText(), r));
        assertEquals(8, runs.size());
        JsonNode twice = runs.get("leviathan-iso-body-s1");
        assertEquals(2, twice.get("multiplier").asDouble(), 0.25, "a twin at L(2N) is worth about 2N");
        assertEquals(0.7, twice.get("throughput_ratio_vs_dense").asDouble(), 1e-12);
        assertEquals(0.3, twice.get("throughput_overhead").asDouble(), 1e-12);
        assertTrue(twice.get("multiplier_lower_bootstrap").asDouble() <= twice.get("multiplier").asDouble());
        JsonNode below = runs.get("leviathan-iso-body-s2");
        assertTrue(below.get("undefined").asBoolean());
        assertEquals("inf", below.get("n_eff").asText());
        JsonNode far = runs.get("leviathan-isoparametric-s3");
        assertTrue(far.get("extrapolated").asBoolean());
        assertEquals("above_range", far.get("status").asText());

        String md = Files.readString(o.report());
        assertTrue(md.contains("./leviathan fit " + dir), "the command line");
        assertTrue(md.contains("total parameters"), md);
        assertTrue(md.contains("undefined: L <= b"), md);
        assertTrue(md.contains("extrapolated (above the largest dense size)"), md);
        for (String name : runs.keySet()) {
            assertTrue(md.contains("| " + name + " |"), "row for " + name);
        }
        byte[] png = Files.readAllBytes(o.png());
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, Arrays.copyOf(png, 4));
        try (Stream<Path> s = Files.list(dir)) {
            assertFalse(s.anyMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
    }

    @Test
    void nonEmbeddingCountsLeaveOutTheInputStage(@TempDir Path dir) throws IOException {
        synthetic(dir);
        ScalingReport.Outcome o = ScalingReport.write(dir, new ScalingReport.Options(ScalingReport.Params.NON_EMBEDDING,
                0, 1, 0.95, null), QUIET);
        assertEquals(1_000_000, o.fit().minN());
        ScalingReport.Row r = o.rows().stream().filter(x -> x.run().equals("leviathan-iso-body-s1")).findFirst().orElseThrow();
        assertEquals(2_000_000, r.n());
        assertEquals(null, r.bootstrap(), "--bootstrap 0: covariance intervals only");
        assertTrue(Files.readString(o.report()).contains("non-embedding parameters"));
    }

    @Test
    void fitCommandWritesTheFilesAndChecksItsArguments(@TempDir Path dir) throws IOException {
        synthetic(dir);
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(buf, true, StandardCharsets.UTF_8);
        assertEquals(0, Main.run(new String[] {"fit", dir.toString(), "--bootstrap", "100", "--params", "total"}, out, out),
                buf.toString(StandardCharsets.UTF_8));
        String text = buf.toString(StandardCharsets.UTF_8);
        assertTrue(text.contains("alpha"), text);
        assertTrue(Files.isRegularFile(dir.resolve("report.md")));
        assertTrue(Files.isRegularFile(dir.resolve("fit.json")));
        assertTrue(Files.isRegularFile(dir.resolve("scaling.png")));
        assertEquals(2, Main.run(new String[] {"fit", dir.toString(), "--params", "embedding"}, QUIET, QUIET));
        assertEquals(2, Main.run(new String[] {"fit"}, QUIET, QUIET));
        assertEquals(2, Main.run(new String[] {"fit", dir.toString(), "--bootstrap", "x"}, QUIET, QUIET));
        assertEquals(1, Main.run(new String[] {"fit", dir.resolve("nothing").toString()}, QUIET, QUIET));
    }

    @Test
    void tooFewDenseRunsIsAnError(@TempDir Path dir) throws IOException {
        result(dir, "dense-a", "dense", "dense", "dense-a", 1_000_000, 500_000, 4.0, 1);
        result(dir, "dense-b", "dense", "dense", "dense-b", 2_000_000, 900_000, 3.8, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ScalingReport.write(dir, ScalingReport.Options.defaults(), QUIET));
        assertTrue(e.getMessage().contains("at least three"), e.getMessage());
    }
}
