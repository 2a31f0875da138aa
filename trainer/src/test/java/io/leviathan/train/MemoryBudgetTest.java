package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.model.MemoryEstimate;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Precision;
import io.leviathan.model.Presets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link MemoryBudget}: what is available, and runs refused before they allocate. */
class MemoryBudgetTest {
    private static final long GIB = 1L << 30;

    @Test
    void sizesParseWithSuffixes() {
        assertEquals(4096, MemoryBudget.parseSize("4096", "x"));
        assertEquals(512L << 20, MemoryBudget.parseSize("512m", "x"));
        assertEquals(8L << 30, MemoryBudget.parseSize(" 8G ", "x"));
        assertEquals(2L << 40, MemoryBudget.parseSize("2tb", "x"));
        assertEquals(3L << 10, MemoryBudget.parseSize("3kb", "x"));
        for (String bad : new String[] {"", "0", "-5g", "lots", "1.5g", "99999999999999t"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> MemoryBudget.parseSize(bad, "-Dleviathan.memory.limit"));
            assertTrue(e.getMessage().contains("-Dleviathan.memory.limit") && e.getMessage().contains("'" + bad + "'"),
                    e.getMessage());
        }
    }

    @Test
    void thisMachineReportsHostMemoryAndHeap() {
        MemoryBudget b = MemoryBudget.cpu();
        assertTrue(b.device().isEmpty());
        assertTrue(b.heap() > 0 && b.heap() <= Runtime.getRuntime().maxMemory());
        if (Files.isReadable(Path.of("/proc/meminfo"))) {
            assertTrue(b.host().isPresent() && b.host().getAsLong() > 0, "MemAvailable is read on Linux");
        }
    }

    @Test
    void aDeviceBudgetRefusesWithTheEstimateWhatIsFreeAndTheLargestBatch() {
        ModelConfig c = Presets.get("tiny").withVocab(50_000);
        MemoryBudget b = new MemoryBudget("cuda", OptionalLong.of(2 * GIB), OptionalLong.of(64 * GIB), "test", 4 * GIB);
        MemoryEstimate e = MemoryEstimate.training(c, 64, 256, Precision.BF16);
        NotEnoughMemoryException x = assertThrows(NotEnoughMemoryException.class, () -> b.check(e, "training"));
        String m = x.getMessage();
        assertTrue(m.startsWith("training at batch 64 x seq 256 (bf16) needs "
                + MemoryEstimate.human(e.bytes(MemoryEstimate.Place.BACKEND)) + " of cuda device memory but 2.0 GiB is"
                + " available"), m);
        int best = largestBatchIn(m, 256);
        assertTrue(b.fits(MemoryEstimate.training(c, best, 256, Precision.BF16)), m);
        assertFalse(b.fits(MemoryEstimate.training(c, best + 1, 256, Precision.BF16)), m);
        assertTrue(m.contains("logits [16384, 50000]"), "names the largest parts: " + m);
        assertTrue(best * 256L * 50_000 * 4 <= 0.9 * 2 * GIB, "the logits alone of a fitting batch fit: " + best);
        // the host is not charged for a GPU's tensors
        b.check(MemoryEstimate.training(c, best, 256, Precision.BF16), "training");
    }

    @Test
    void theHeapAndTheHostAreCheckedForACpuRun() {
        ModelConfig c = Presets.get("tiny").withVocab(1000);
        MemoryEstimate e = MemoryEstimate.training(c, 512, 256, Precision.FP32);
        long need = e.total();
        MemoryBudget host = new MemoryBudget("cpu", OptionalLong.empty(), OptionalLong.of(need), "-Dleviathan.memory.limit",
                64 * GIB);
        String m = assertThrows(NotEnoughMemoryException.class, () -> host.check(e, "training")).getMessage();
        assertTrue(m.contains("of host memory (") && m.contains("native for the cpu backend")
                && m.contains("(-Dleviathan.memory.limit), of which a run plans at most 90 %"), m);
        MemoryBudget roomy = new MemoryBudget("cpu", OptionalLong.empty(), OptionalLong.of(2 * need), "x", 64 * GIB);
        roomy.check(e, "training");

        MemoryBudget smallHeap = new MemoryBudget("cpu", OptionalLong.empty(), OptionalLong.of(64 * GIB), "x",
                e.bytes(MemoryEstimate.Place.HEAP));
        m = assertThrows(NotEnoughMemoryException.class, () -> smallHeap.check(e, "training")).getMessage();
        assertTrue(m.contains("of Java heap") && m.contains("-Xmx"), m);

        MemoryBudget tiny = new MemoryBudget("cpu", OptionalLong.empty(), OptionalLong.of(1 << 20), "x", 64 * GIB);
        m = assertThrows(NotEnoughMemoryException.class, () -> tiny.check(e, "training")).getMessage();
        assertTrue(m.contains("no batch fits at seq 256"), m);
    }

    static int largestBatchIn(String message, int seq) {
        Matcher mm = Pattern.compile("the largest batch that fits at seq " + seq + " is (\\d+)").matcher(message);
        assertTrue(mm.find(), message);
        return Integer.parseInt(mm.group(1));
    }

    @Test
    void trainRefusesBeforeWritingAnythingAndTheBatchItProposesRuns(@TempDir Path tmp) {
        Path run = tmp.resolve("run");
        String old = System.getProperty(MemoryBudget.LIMIT_PROPERTY);
        System.setProperty(MemoryBudget.LIMIT_PROPERTY, "48m");
        try {
            CommandsTest.Run r = CommandsTest.main(CommandsTest.tinyRun(run, "--batch", "4000"));
            assertEquals(1, r.status(), r.out() + r.err());
            assertTrue(r.err().startsWith("leviathan train: training at batch 4000 x seq 16 (fp32) needs "), r.err());
            assertTrue(r.err().contains("of host memory") && r.err().contains("is available (-D"
                    + MemoryBudget.LIMIT_PROPERTY + ")"), r.err());
            assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
            assertFalse(Files.exists(run.resolve("config.json")), "nothing written before the refusal");
            int best = largestBatchIn(r.err(), 16);
            assertTrue(best > 100 && best < 4000, r.err());

            CommandsTest.Run ok = CommandsTest.main(CommandsTest.tinyRun(tmp.resolve("fits"), "--batch",
                    String.valueOf(best), "--steps", "1"));
            assertEquals(0, ok.status(), ok.err());
            CommandsTest.Run over = CommandsTest.main(CommandsTest.tinyRun(tmp.resolve("over"), "--batch",
                    String.valueOf(best + 1), "--steps", "1"));
            assertEquals(1, over.status(), "one more sequence does not fit: " + over.err());
        } finally {
            if (old == null) {
                System.clearProperty(MemoryBudget.LIMIT_PROPERTY);
            } else {
                System.setProperty(MemoryBudget.LIMIT_PROPERTY, old);
            }
        }
    }
}
