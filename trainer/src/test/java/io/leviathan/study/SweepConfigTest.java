package io.leviathan.study;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.model.Family;
import io.leviathan.model.ModelConfigs;
import io.leviathan.model.ParameterCount;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.train.TrainConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Sweep configurations: parsing, refusals, the token budget, and the plan's twins. */
class SweepConfigTest {
    static final String LADDER = "\"dense\": [\"tiny\", \"small\", {\"name\": \"d96\", \"model\": {\"family\": \"dense\","
            + " \"dModel\": 96, \"layers\": 3, \"heads\": 2}}, {\"model\": \"medium\", \"variants\": [\"iso-body\"]}]";

    static SweepConfig parse(String body) {
        return SweepConfig.parse("{\"data\": \"/tmp/x.jsonl\", " + LADDER + ", " + body + "}", null);
    }

    @Test
    void tokenBudgetBecomesSteps() {
        SweepConfig c = parse("\"tokens\": 100000, \"train\": {\"batch\": 4, \"seq\": 32, \"warmup\": 10, \"seed\": 9}");
        TrainConfig t = c.baseTrainConfig();
        assertEquals(782, t.steps(), "ceil(100000 / 128)");
        assertEquals(9, t.seed());
        assertEquals(0, t.sampleTokens());
        assertEquals(0, t.evalEvery());
        assertEquals("cpu", t.device());
        assertEquals("cuda", c.withDevice("cuda").baseTrainConfig().device());
        assertEquals(List.of("tiny", "small", "d96", "medium"), c.dense().stream().map(SweepConfig.Size::name).toList());
        assertEquals(List.of("dense", "iso-body"), c.dense().get(3).arms(), "the older 'variants' implies dense");
        assertEquals(List.of("dense", "iso-body", "isoparametric"), c.dense().get(0).arms());
        assertEquals(List.of(9L), c.dense().get(0).seeds(), "one seed: train.seed");
        assertEquals("epochs", t.sampler(), "a sweep samples without replacement by default");
        assertEquals(65_536, c.evalTokens());
    }

    /** Arms, seeds and a budget probe: runs are (size, arm, seed) with stable IDs and their twins named. */
    @Test
    void armsSeedsAndProbesPlanStableRunIds() {
        String ladder = "\"dense\": [" + String.join(", ", List.of(
                "{\"name\": \"a\", \"model\": {\"family\": \"dense\", \"dModel\": 16, \"layers\": 1, \"heads\": 2}}",
                "{\"name\": \"b\", \"model\": {\"family\": \"dense\", \"dModel\": 24, \"layers\": 1, \"heads\": 2}}",
                "{\"name\": \"c\", \"model\": {\"family\": \"dense\", \"dModel\": 48, \"layers\": 1, \"heads\": 2},"
                        + " \"arms\": [\"tied-deep\", \"dense\", \"dense-tied\", \"isoparametric\"], \"seeds\": [1, 2]}",
                "{\"name\": \"d\", \"model\": {\"family\": \"dense\", \"dModel\": 64, \"layers\": 1, \"heads\": 2}}",
                "{\"name\": \"c-3x\", \"model\": {\"family\": \"dense\", \"dModel\": 32, \"layers\": 1, \"heads\": 2},"
                        + " \"arms\": [\"dense\", \"iso-body\"], \"tokens\": 3000}")) + "]";
        SweepConfig c = SweepConfig.parse("{\"data\": \"/tmp/x.jsonl\", " + ladder + ", \"arms\": [\"dense\", \"dense-tied\","
                + " \"iso-body\"], \"seeds\": [7], \"tokens\": 1000, \"generator\": {\"digits\": 2, \"seedDim\": 8,"
                + " \"heads\": 2, \"knots\": 8, \"rank\": 8, \"init\": \"small\"}, \"train\": {\"batch\": 2, \"seq\": 10,"
                + " \"warmup\": 1}}", null);
        Sweep.Plan p = Sweep.plan(c, 5000);
        List<String> ids = p.runs().stream().map(Sweep.PlannedRun::name).toList();
        assertEquals(List.of("dense-a-s7", "dense-tied-a-s7", "leviathan-iso-body-a-s7", "dense-b-s7", "dense-tied-b-s7",
                "leviathan-iso-body-b-s7", "dense-c-s1", "dense-tied-c-s1", "leviathan-isoparametric-c-s1",
                "tied-deep-c-s1", "dense-c-s2", "dense-tied-c-s2", "leviathan-isoparametric-c-s2", "tied-deep-c-s2",
                "dense-d-s7", "dense-tied-d-s7", "leviathan-iso-body-d-s7", "dense-c-3x-s7", "leviathan-iso-body-c-3x-s7"),
                ids, "arms in a fixed order per size and seed, whatever order the config lists them in; " + p.skipped());
        assertEquals(ids, Sweep.plan(c, 5000).runs().stream().map(Sweep.PlannedRun::name).toList(), "stable");
        Sweep.PlannedRun deep = p.runs().get(ids.indexOf("tied-deep-c-s2"));
        assertTrue(deep.model().tiedHead() && deep.model().layers() > 1, deep.toString());
        assertEquals("dense-c-s2", deep.twin());
        assertEquals("dense-tied-c-s2", deep.tiedTwin());
        assertEquals(2, deep.seed());
        Sweep.PlannedRun tied = p.runs().get(ids.indexOf("dense-tied-a-s7"));
        assertTrue(tied.model().tiedHead());
        assertEquals(GeneratorConfig.INIT_SMALL, p.runs().get(2).model().generator().init());
        java.nio.file.Path d = java.nio.file.Path.of("/tmp/data");
        TrainConfig probe = Sweep.trainConfig(c, p.runs().get(ids.indexOf("dense-c-3x-s7")), d, d);
        TrainConfig main = Sweep.trainConfig(c, p.runs().get(ids.indexOf("dense-c-s2")), d, d);
        assertEquals(50, main.steps(), "1000 tokens / 20 per step");
        assertEquals(150, probe.steps(), "the probe's own 3000 tokens");
        assertEquals(2, main.seed());
        assertEquals(7, probe.seed());
    }

    @Test
    void refusesBadConfigs() {
        String[] bad = {
            "\"tokens\": 1000, \"steps\": 10",                        // both
            "\"train\": {\"batch\": 2}",                             // neither
            "\"steps\": 10, \"train\": {\"steps\": 10}",             // reserved key
            "\"steps\": 10, \"train\": {\"model\": \"tiny\"}",
            "\"steps\": 10, \"variants\": [\"wide\"]",
            "\"steps\": 10, \"variants\": [\"dense-tied\"]",             // not a Leviathan arm
            "\"steps\": 10, \"arms\": [\"dense\"], \"variants\": [\"iso-body\"]",
            "\"steps\": 10, \"seeds\": []",
            "\"steps\": 10, \"seeds\": [1, 1]",
            "\"steps\": 10, \"train\": {\"sampler\": \"sometimes\"}",
            "\"steps\": 10, \"generator\": {\"init\": \"xavier\"}",
            "\"steps\": 10, \"bogus\": 1",
            "\"steps\": 10, \"train\": {\"lr\": -1}",
            "\"steps\": 10, \"train\": {\"warmup\": 20}",
            "\"steps\": 10, \"generator\": {\"knots\": 2}",
            "\"steps\": 10, \"valFraction\": 1.5",
        };
        for (String b : bad) {
            assertThrows(IllegalArgumentException.class, () -> parse(b), b);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SweepConfig.parse(
                "{\"data\": \"x\", \"dense\": [\"tiny\", \"small\", \"medium\"], \"steps\": 5}", null));
        assertTrue(e.getMessage().contains("at least 4"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> SweepConfig.parse(
                "{\"data\": \"x\", \"dense\": [\"tiny\", \"tiny\", \"small\", \"medium\"], \"steps\": 5}", null));
        assertThrows(IllegalArgumentException.class, () -> SweepConfig.parse("{\"data\": \"x\", \"dense\": [\"tiny\","
                + " \"small\", \"medium\", {\"name\": \"l\", \"model\": {\"preset\": \"tiny\", \"family\": \"leviathan\"}}],"
                + " \"steps\": 5}", null));
    }

    @Test
    void planPairsEveryDenseSizeWithItsTwins() {
        SweepConfig c = parse("\"steps\": 10, \"maxLayers\": 40");
        Sweep.Plan p = Sweep.plan(c, 50_000);
        List<String> names = p.runs().stream().map(Sweep.PlannedRun::name).toList();
        assertTrue(names.containsAll(List.of("dense-tiny-s1337", "leviathan-iso-body-tiny-s1337", "dense-medium-s1337",
                "leviathan-iso-body-medium-s1337")), names.toString());
        assertTrue(!names.contains("leviathan-isoparametric-medium-s1337"), "medium asks for iso-body only");
        for (Sweep.PlannedRun r : p.runs()) {
            assertEquals(50_000, r.model().vocab());
            if (r.variant().equals("isoparametric")) {
                Sweep.PlannedRun dense = p.runs().stream().filter(x -> x.name().equals(r.twin())).findFirst().orElseThrow();
                assertEquals(Family.LEVIATHAN, r.family());
                assertEquals(ModelConfigs.isoParametric(dense.model(), c.generator()).layers(), r.model().layers());
                assertTrue(r.note().contains("depth " + r.model().layers()), r.note());
                double rel = Math.abs(ParameterCount.total(r.model()) - (double) ParameterCount.total(dense.model()))
                        / ParameterCount.total(dense.model());
                assertTrue(rel <= ModelConfigs.ISO_TOLERANCE, r.name() + " " + rel);
            }
        }
        // an isoparametric twin deeper than maxLayers is left out, with the reason
        Sweep.Plan shallow = Sweep.plan(parse("\"steps\": 10, \"maxLayers\": 2"), 50_000);
        assertTrue(shallow.skipped().stream().anyMatch(s -> s.reason().contains("maxLayers")), shallow.skipped().toString());
    }

    @Test
    void relativeDataIsTakenFromTheConfigFolder() throws Exception {
        Path dir = Files.createTempDirectory("sweep-config");
        Path data = Files.writeString(dir.resolve("corpus.txt"), "hello\n");
        Path cfg = dir.resolve("s.json");
        Files.writeString(cfg, "{\"data\": \"corpus.txt\", " + LADDER + ", \"steps\": 3}");
        assertEquals(data.toString(), SweepConfig.read(cfg).data());
    }

    /** docs/sweeps/*.json, found by walking up from the working folder; null when not in a checkout. */
    static Path docsSweeps() {
        Path p = Path.of("").toAbsolutePath();
        for (int i = 0; i < 4 && p != null; i++, p = p.getParent()) {
            if (Files.isDirectory(p.resolve("docs/sweeps"))) {
                return p.resolve("docs/sweeps");
            }
        }
        return null;
    }

    @Test
    void shippedSweepConfigsParseAndPlan() {
        Path dir = docsSweeps();
        org.junit.jupiter.api.Assumptions.assumeTrue(dir != null, "docs/sweeps not found above the working folder");
        SweepConfig cpu = SweepConfig.read(dir.resolve("cpu-sweep.json"));
        assertTrue(cpu.compactVocab());
        assertEquals(0.05, cpu.valFraction());
        assertEquals("cpu", cpu.device());
        assertTrue(cpu.dense().size() >= SweepConfig.MIN_SIZES);
        assertTrue(cpu.data().endsWith("nlp-corpus.jsonl.zst"), cpu.data());
        Sweep.Plan cp = Sweep.plan(cpu, 51_000);
        assertTrue(cp.runs().size() >= 8, cp.runs().toString());

        SweepConfig gpu = SweepConfig.read(dir.resolve("gpu-sweep.json"));
        assertEquals("cuda", gpu.device());
        assertTrue(!gpu.compactVocab());
        assertEquals(512, gpu.baseTrainConfig().seq());
        assertEquals(List.of("paper-60m", "paper-110m", "paper-170m", "paper-240m", "paper-310m", "paper-420m"),
                gpu.dense().stream().map(SweepConfig.Size::name).toList());
        Sweep.Plan gp = Sweep.plan(gpu, 200_019);
        assertEquals(40, gp.runs().size(), "six sizes, five arms, two seeds at two sizes: " + gp.skipped());
        TrainConfig gt = gpu.baseTrainConfig();
        assertEquals(512L * 512, gt.tokensPerStep(), "512 sequences of 512 tokens per update");
        assertTrue(gt.steps() * gt.tokensPerStep() >= 20 * 420_500_736L, "at least 20 tokens per parameter");

        SweepConfig cpu2 = SweepConfig.read(dir.resolve("cpu-sweep-2.json"));
        Sweep.Plan c2 = Sweep.plan(cpu2, 51_329);
        assertTrue(c2.skipped().isEmpty(), c2.skipped().toString());
        List<String> arms = c2.runs().stream().map(Sweep.PlannedRun::variant).distinct().toList();
        assertEquals(SweepConfig.ARMS, arms, "every arm appears");
        assertTrue(c2.runs().stream().anyMatch(r -> r.tokens() != null), "a budget probe");
        SweepConfig small = SweepConfig.read(dir.resolve("gpu-small.json"));
        assertEquals("cuda", small.device());
        assertTrue(Sweep.plan(small, 200_019).runs().stream()
                .allMatch(r -> ParameterCount.total(r.model()) < 60_000_000L), "10-60M models");
    }
}
