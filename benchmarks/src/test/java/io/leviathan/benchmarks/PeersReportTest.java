package io.leviathan.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.benchmarks.PeersComparison.Kind;
import io.leviathan.benchmarks.PeersComparison.Row;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The peers report's reading, pairing and ratios, on small hand-written JMH JSON files. */
class PeersReportTest {
    private static final double EPS = 1e-9;

    private static Path fixtures() throws URISyntaxException {
        return Path.of(PeersReportTest.class.getResource("/peers/ours.json").toURI()).getParent();
    }

    @Test
    void readsJmhJsonWithUnitsAndMissingErrors() throws Exception {
        List<JmhResult> ours = JmhResult.read(fixtures().resolve("ours.json"));
        assertEquals(3, ours.size());
        JmhResult dense = ours.get(0);
        assertEquals("TrainingStepBenchmark.step", dense.benchmark());
        assertEquals("djl", dense.param("model"));
        assertEquals(4.0, dense.error(), EPS);
        assertTrue(Double.isNaN(ours.get(1).error()), "JMH's \"NaN\" error string reads as NaN");
        assertEquals(125.0, ours.get(2).millisPerOp(), EPS);  // 125000 us/op
        assertThrows(IllegalArgumentException.class, () -> dense.param("shape"));
    }

    @Test
    void pairsEachComparisonAndComputesRatios() throws Exception {
        List<Row> rows = PeersComparison.compare(PeersReport.readAll(fixtures()));
        assertEquals(List.of(Kind.STEP, Kind.STEP, Kind.TWIN, Kind.TWIN, Kind.TWIN, Kind.TWIN, Kind.GEMM, Kind.GEMM),
                rows.stream().map(Row::kind).toList());

        Row step256 = rows.get(0);   // 2048 tokens in 100 ms against 200 ms
        assertEquals("seq 256: dense vs DJL", step256.label());
        assertEquals(20480.0, step256.ours(), 1e-6);
        assertEquals(10240.0, step256.reference(), 1e-6);
        assertEquals(2.0, step256.ratio(), EPS);
        assertTrue(step256.meets());

        Row step1024 = rows.get(1);  // DJL only (0.9 s/op): our side is missing
        assertEquals(8192 / 0.9, step1024.reference(), 1e-6);
        assertTrue(Double.isNaN(step1024.ratio()));
        assertFalse(step1024.meets());

        Row zipf = rows.get(2);      // 105 ms against 100 ms: 0.952, within 10 %
        assertEquals("seq 256, zipf ids: Leviathan vs dense", zipf.label());
        assertEquals(100.0 / 105.0, zipf.ratio(), EPS);
        assertTrue(zipf.meets());
        Row uniform = rows.get(3);   // 125 ms against the dense model's (zipf) 100 ms: 0.8
        assertEquals(0.8, uniform.ratio(), EPS);
        assertFalse(uniform.meets());

        Row smallZipf = rows.get(4); // the small preset: 512 tokens a step, 204 ms against 200: 0.980, within 5 %
        assertEquals("small (o200k), seq 128, zipf ids: Leviathan vs dense", smallZipf.label());
        assertEquals(512 / 0.204, smallZipf.ours(), 1e-6);
        assertEquals(200.0 / 204.0, smallZipf.ratio(), EPS);
        assertEquals(0.95, smallZipf.target(), EPS);
        assertTrue(smallZipf.meets());
        Row smallUniform = rows.get(5); // 220 ms against the dense (zipf) 200 ms: 0.909, not within 5 %
        assertEquals(200.0 / 220.0, smallUniform.ratio(), EPS);
        assertFalse(smallUniform.meets());

        Row gemm = rows.get(6);
        assertEquals("2048x256x688 nn, 1 thread", gemm.label());
        assertEquals(2.0 * 2048 * 256 * 688 / 1e9 / 1e-3, gemm.ours(), 1e-6);
        assertEquals(1.1, gemm.ratio(), 1e-12);
        assertTrue(gemm.meets());
        assertTrue(Double.isNaN(rows.get(7).reference()), "no OpenBLAS result for nt");
    }

    @Test
    void refusesTwoResultsForOneCase() throws Exception {
        // a DJL step measured twice (say once without its allocator, by an include pattern that matched it)
        List<JmhResult> all = new java.util.ArrayList<>(PeersReport.readAll(fixtures()));
        JmhResult djl = all.stream().filter(r -> r.benchmark().equals("DjlTrainingStepBenchmark.step")).findFirst()
                .orElseThrow();
        all.add(new JmhResult(djl.benchmark(), djl.params(), djl.score() * 1.5, djl.error(), djl.unit()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeersComparison.compare(all));
        assertTrue(e.getMessage().contains("two results for DjlTrainingStepBenchmark.step"), e.getMessage());
    }

    @Test
    void markdownCountsTargetsAndMarksMissingSides() throws Exception {
        List<Row> rows = PeersComparison.compare(PeersReport.readAll(fixtures()));
        String md = PeersReport.markdown(rows, List.of("command: test"));
        assertTrue(md.contains("- targets met: 4 of 8"), md);
        assertTrue(md.contains("| seq 256: dense vs DJL | 20,480 | 10,240 | 2.00 | 1.50 | yes |"), md);
        assertTrue(md.contains("| seq 1024: dense vs DJL | n/a | 9,102 | n/a | 1.50 | missing |"), md);
        assertTrue(md.contains("| seq 256, uniform ids: Leviathan vs dense | 16,384 | 20,480 | 0.80 | 0.90 | no |"), md);
        PeersReport.chart(rows); // builds without a display
    }

    @Test
    void forkSpreadListsStepsMeasuredInSeveralForks() {
        String json = """
                [{"benchmark": "io.leviathan.benchmarks.TrainingStepBenchmark.step",
                  "params": {"model": "leviathan", "seq": "256", "ids": "zipf"},
                  "primaryMetric": {"score": 330.0, "scoreError": 20.0, "scoreUnit": "ms/op",
                                    "rawData": [[300.0, 310.0], [350.0, 350.0], [330.0, 340.0]]}},
                 {"benchmark": "io.leviathan.benchmarks.TrainingStepBenchmark.step",
                  "params": {"model": "djl", "seq": "256", "ids": "zipf"},
                  "primaryMetric": {"score": 290.0, "scoreError": "NaN", "scoreUnit": "ms/op",
                                    "rawData": [[290.0]]}}]
                """;
        List<JmhResult> results = JmhResult.parse(json);
        assertEquals(List.of(305.0, 350.0, 335.0), results.get(0).forkScores());
        assertEquals(List.of(290.0), results.get(1).forkScores());
        String md = PeersReport.forkSpread(results);
        assertTrue(md.contains("| TrainingStepBenchmark.step | {model=leviathan, seq=256, ids=zipf} | 3 |"
                + " 305.0, 350.0, 335.0 ms/op | 1.15 |"), md);
        assertFalse(md.contains("model=djl"), "a step measured in one fork has no spread: " + md);
        assertEquals("", PeersReport.forkSpread(results.subList(1, 2)));
    }

    @Test
    void forkFilesOfOneRunMergeIntoOneResultPerCase(@TempDir Path dir) throws IOException {
        // the dense model and its twin alternating fork by fork: each fork a file of its own
        String fork = """
                [{"benchmark": "io.leviathan.benchmarks.TrainingStepBenchmark.step",
                  "params": {"model": "%s", "seq": "256", "ids": "zipf"},
                  "primaryMetric": {"score": %s, "scoreError": 1.0, "scoreUnit": "ms/op", "rawData": [[%s, %s]]}}]
                """;
        Files.writeString(dir.resolve("ours-dense-fork1.json"), fork.formatted("djl", 100.0, 99.0, 101.0));
        Files.writeString(dir.resolve("ours-dense-fork2.json"), fork.formatted("djl", 120.0, 120.0, 120.0));
        Files.writeString(dir.resolve("ours-leviathan-fork1.json"), fork.formatted("leviathan", 110.0, 110.0, 110.0));
        Files.writeString(dir.resolve("ours-leviathan-fork2.json"), fork.formatted("leviathan", 130.0, 131.0, 129.0));
        List<JmhResult> all = PeersReport.readAll(dir);
        assertEquals(2, all.size(), all.toString());
        assertEquals(List.of(100.0, 120.0), all.get(0).forkScores());
        assertEquals(110.0, all.get(0).score(), EPS);
        assertTrue(Double.isNaN(all.get(0).error()), "no one run's bound covers the merged forks");
        assertEquals(List.of(110.0, 130.0), all.get(1).forkScores());
        Row twin = PeersComparison.compare(all).stream().filter(r -> r.kind() == Kind.TWIN).findFirst().orElseThrow();
        assertEquals(110.0 / 120.0, twin.ratio(), EPS);

        // a case found in two files that are not forks of one run is still refused
        Files.writeString(dir.resolve("again.json"), fork.formatted("djl", 90.0, 90.0, 90.0));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> PeersComparison.compare(PeersReport.readAll(dir)));
        assertTrue(e.getMessage().contains("two results for"), e.getMessage());
    }

    @Test
    void rejectsFoldersWithoutResultsAndFilesThatAreNotJmhJson(@TempDir Path dir) throws IOException {
        assertThrows(IllegalArgumentException.class, () -> PeersReport.readAll(dir));
        Files.writeString(dir.resolve("bad.json"), "{\"benchmark\": 1}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PeersReport.readAll(dir));
        assertTrue(e.getMessage().contains("bad.json"), e.getMessage());
    }
}
