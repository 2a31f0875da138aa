package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.study.Sweep;
import io.leviathan.study.SweepConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One run per folder: the run-folder lock, the no-replace checkpoint publish, and stale temporary files. */
class RunLockTest {
    private static final long OUR_PID = ProcessHandle.current().pid();

    /** A config file for {@code ./leviathan train --config}: a short dense run of {@code steps} into {@code out}. */
    private static Path configFile(Path dir, Path out, int steps, long seed) throws IOException {
        TrainConfig c = TestData.config(TestData.DENSE, TestData.synthetic(), out, steps).with("seed", Long.toString(seed));
        Path f = Files.createTempFile(dir, "train", ".json");
        Files.writeString(f, c.toJson(), StandardCharsets.UTF_8);
        return f;
    }

    private static String text(ByteArrayOutputStream buf) {
        return buf.toString(StandardCharsets.UTF_8);
    }

    // ------------------------------------------------------------------ the lock across processes

    /**
     * The real case: another JVM. While this process holds the folder, {@code train} in a second process
     * fails at once, names the folder and this process's pid, and writes nothing there; once released, the
     * same command trains.
     */
    @Test
    void aSecondProcessIsRefusedNamingTheHolderAndWritesNothing(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run").toAbsolutePath().normalize();
        Path cfg = configFile(tmp, run, 2, 11);
        try (RunLock held = RunLock.acquire(run, TestData.QUIET)) {
            // (this process must not open the lock file while it holds it: closing any descriptor of it
            // would drop the lock; the child reads it instead)
            Cli.Result r = Cli.run(tmp, "train", "--config", cfg.toString());
            assertEquals(1, r.status(), r.output());
            assertTrue(r.output().contains("leviathan train: run folder " + run + " is in use by another run: pid "
                    + OUR_PID + ", started "), r.output());
            assertTrue(r.output().contains("choose another --out"), r.output());
            try (var s = Files.list(run)) {
                assertEquals(List.of(run.resolve(RunLock.FILE)), s.toList(), "nothing but the lock file in " + run);
            }
        }
        assertEquals("", Files.readString(run.resolve(RunLock.FILE)), "a released lock file is emptied");
        Cli.Result r = Cli.run(tmp, "train", "--config", cfg.toString());
        assertEquals(0, r.status(), r.output());
        assertTrue(Files.exists(run.resolve("checkpoints").resolve(Checkpoint.fileName(2))), r.output());
    }

    /**
     * Two {@code train} processes started together on one folder: exactly one trains, the other fails
     * without writing anything, and the folder holds the winner's config, checkpoints and metrics only.
     */
    @Test
    void twoTrainProcessesStartedTogetherDoNotMix(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run").toAbsolutePath().normalize();
        int steps = 300;
        Path[] cfgs = new Path[2];
        Path[] logs = new Path[2];
        Process[] ps = new Process[2];
        for (int i = 0; i < 2; i++) {
            cfgs[i] = Files.writeString(tmp.resolve("cfg" + i + ".json"), TestData.config(TestData.DENSE,
                    TestData.synthetic(), run, steps).with("seed", Integer.toString(100 + i))
                    .with("checkpointEvery", "50").toJson());
            logs[i] = tmp.resolve("train" + i + ".log");
        }
        for (int i = 0; i < 2; i++) {
            ps[i] = Cli.start(tmp, logs[i], "train", "--config", cfgs[i].toString());
        }
        for (Process p : ps) {
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "train did not finish in 120 s");
        }
        String[] out = {Files.readString(logs[0]), Files.readString(logs[1])};
        int winner = ps[0].exitValue() == 0 ? 0 : 1;
        int loser = 1 - winner;
        assertEquals(0, ps[winner].exitValue(), out[0] + "\n----\n" + out[1]);
        assertEquals(1, ps[loser].exitValue(), out[0] + "\n----\n" + out[1]);
        // the loser either met the lock (the runs overlapped) or, had the winner already finished, its checkpoints
        String expected = "run folder " + run + " is in use by another run: pid " + ps[winner].pid();
        assertTrue(out[loser].contains(expected) || out[loser].contains("already holds checkpoints"),
                "expected '" + expected + "' in:\n" + out[loser]);
        assertFalse(out[loser].contains("steps x"), "the refused run set nothing up:\n" + out[loser]);

        long seed = 100 + winner;
        assertEquals(seed, TrainConfig.parse(Files.readString(run.resolve("config.json")), "config.json").seed());
        List<Path> ckpts = Checkpoint.list(run.resolve("checkpoints"));
        assertEquals(steps, Checkpoint.stepOf(ckpts.getLast()));
        for (Path c : ckpts) {
            try (Checkpoint k = Checkpoint.load(c)) {
                assertEquals(seed, k.trainConfig().seed(), c + " was written by the other run");
            }
        }
        List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(steps, metrics.stream().filter(l -> l.contains("\"loss\"")).count(), "one metrics row per step");
        try (var s = Files.list(run)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("metrics.before-")),
                    "no metrics file renamed aside");
        }
    }

    /** A process killed with kill -9 while it holds a folder does not leave the folder locked. */
    @Test
    void aKilledHolderLeavesTheFolderFree(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run").toAbsolutePath().normalize();
        Path cfg = configFile(tmp, run, 100_000, 11);
        Process p = Cli.start(tmp, tmp.resolve("killed.log"), "train", "--config", cfg.toString());
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!lockNames(run, p.pid())) {
                assertTrue(p.isAlive(), () -> "train ended early: " + read(tmp.resolve("killed.log")));
                assertTrue(System.nanoTime() < deadline, "train did not lock " + run + " in 60 s");
                Thread.sleep(50);
            }
            RunFolderBusyException e = assertThrows(RunFolderBusyException.class,
                    () -> RunLock.acquire(run, TestData.QUIET));
            assertEquals(Long.toString(p.pid()), e.holderPid());
        } finally {
            p.destroyForcibly();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        try (RunLock again = RunLock.acquire(run, TestData.QUIET)) {
            assertEquals(run, again.folder());
        }
    }

    private static boolean lockNames(Path run, long pid) {
        try {
            return Files.readString(run.resolve(RunLock.FILE)).startsWith("pid " + pid + "\n");
        } catch (IOException e) {
            return false;
        }
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return e.toString();
        }
    }

    /**
     * A process that meets the lock an instant after it was taken finds the lock file still empty: it waits
     * for the holder's lines instead of reporting an unknown pid.
     */
    @Test
    void theHolderIsReadOnceItHasWrittenItself(@TempDir Path tmp) throws Exception {
        Path file = Files.createFile(tmp.resolve(RunLock.FILE));
        Thread writer = Thread.ofPlatform().start(() -> {
            try {
                Thread.sleep(300);
                Files.writeString(file, "pid 4242\nstarted 2026-01-01T00:00:00Z\n");
            } catch (IOException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            assertEquals("pid 4242\nstarted 2026-01-01T00:00:00Z\n", RunLock.holderText(ch));
        }
        writer.join();
    }

    // ------------------------------------------------------------------ the lock within one process

    @Test
    void aSecondTrainerInThisProcessIsRefused(@TempDir Path tmp) {
        TrainConfig cfg = TestData.config(TestData.DENSE, TestData.synthetic(), tmp.resolve("run"), 2);
        try (Trainer first = Trainer.create(cfg, null, TestData.QUIET, false)) {
            RunFolderBusyException e = assertThrows(RunFolderBusyException.class,
                    () -> Trainer.create(cfg.with("seed", "12"), null, TestData.QUIET, false));
            assertTrue(e.getMessage().contains("pid " + OUR_PID + " (this process)"), e.getMessage());
            assertEquals(first.runDir(), e.folder());
            first.run(); // the refused one touched nothing the first one needs
        }
    }

    @Test
    void theLockIsReleasedAfterARunAndAfterAFailedOne(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run");
        TrainConfig cfg = TestData.config(TestData.DENSE, TestData.synthetic(), run, 2);
        try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
            t.run();
        }
        RunLock.acquire(run, TestData.QUIET).close();

        // set-up fails after the lock is taken (seq beyond the model's maxSeq)
        Path other = tmp.resolve("other");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Trainer.create(
                cfg.with("out", other.toString()).with("seq", "64"), null, TestData.QUIET, false));
        assertTrue(e.getMessage().contains("maxSeq"), e.getMessage());
        RunLock.acquire(other, TestData.QUIET).close();

        // a run that fails part-way, in another process: its exit frees the folder
        Path cfgFile = configFile(tmp, other, 2, 11);
        Cli.Result bad = Cli.run(tmp, "train", "--config", cfgFile.toString(), "--seq", "64");
        assertEquals(1, bad.status(), bad.output());
        try (RunLock l = RunLock.acquire(other, TestData.QUIET)) {
            assertEquals(other.toAbsolutePath().normalize(), l.folder());
        }
    }

    @Test
    void aSweepLocksItsFolder(@TempDir Path tmp) throws IOException {
        Path cfgFile = tmp.resolve("sweep.json");
        Files.writeString(cfgFile, """
                {"name": "locked", "data": "%s",
                 "dense": [%s, %s, %s, %s],
                 "variants": [],
                 "steps": 2,
                 "train": {"batch": 2, "seq": 16, "lr": 0.01, "warmup": 1, "evalBatches": 2, "seed": 5},
                 "evalTokens": 256}
                """.formatted(TestData.synthetic().toString().replace("\\", "\\\\"), dense(16), dense(24), dense(32), dense(48)));
        SweepConfig cfg = SweepConfig.read(cfgFile);
        Path out = tmp.resolve("sweep");
        try (RunLock held = RunLock.acquire(out, TestData.QUIET)) {
            RunFolderBusyException e = assertThrows(RunFolderBusyException.class,
                    () -> Sweep.run(cfg, out, null, TestData.QUIET));
            assertTrue(e.getMessage().contains("pid " + OUR_PID), e.getMessage());
            try (var s = Files.list(out)) {
                assertEquals(1, s.count(), "the refused sweep wrote nothing");
            }
        }
    }

    private static String dense(int d) {
        return "{\"name\":\"d" + d + "\",\"model\":{\"family\":\"dense\",\"dModel\":" + d
                + ",\"layers\":1,\"heads\":2,\"maxSeq\":32}}";
    }

    // ------------------------------------------------------------------ publishing without replacing

    @Test
    void noReplacePublishRefusesAnExistingFileAndLeavesItAsItWas(@TempDir Path tmp) throws IOException {
        Path target = tmp.resolve("step-0000001.safetensors");
        Path staged = tmp.resolve(".step-0000001.safetensors.1.tmp");
        byte[] theirs = randomBytes(1, 4096);
        byte[] ours = randomBytes(2, 4096);
        Files.write(target, theirs);
        Files.write(staged, ours);
        FileAlreadyExistsException e = assertThrows(FileAlreadyExistsException.class,
                () -> NoReplacePublish.publish(staged, target));
        assertTrue(e.getMessage().contains(target.toString()), e.getMessage());
        assertArrayEquals(theirs, Files.readAllBytes(target));
        assertArrayEquals(ours, Files.readAllBytes(staged), "the staged file is the caller's to delete");

        Path fresh = tmp.resolve("step-0000002.safetensors");
        NoReplacePublish.publish(staged, fresh);
        assertArrayEquals(ours, Files.readAllBytes(fresh));
        assertFalse(Files.exists(staged), "the staged name is gone once published");
    }

    /** Eight writers publish one name at the same moment: exactly one wins and the file is all its bytes. */
    @Test
    void concurrentPublishersOfOneNameHaveOneWinner(@TempDir Path tmp) throws Exception {
        int n = 8;
        Path target = tmp.resolve("step-0000005.safetensors");
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger wins = new AtomicInteger();
            List<Future<Integer>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                Path staged = Files.write(tmp.resolve(".w" + i + ".tmp"), randomBytes(10 + i, 65536));
                int id = i;
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        NoReplacePublish.publish(staged, target);
                        wins.incrementAndGet();
                        return id;
                    } catch (FileAlreadyExistsException e) {
                        return -1;
                    }
                }));
            }
            go.countDown();
            int winner = -1;
            for (Future<Integer> f : results) {
                winner = Math.max(winner, f.get(30, TimeUnit.SECONDS));
            }
            assertEquals(1, wins.get());
            assertArrayEquals(randomBytes(10 + winner, 65536), Files.readAllBytes(target));
        } finally {
            pool.shutdownNow();
        }
    }

    /** A checkpoint that is already there is refused by save, and its bytes stay as they were. */
    @Test
    void saveNeverOverwritesACheckpoint(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        TrainConfig cfg = TestData.config(TestData.DENSE, TestData.synthetic(), run, 2);
        try (Trainer t = Trainer.create(cfg, null, TestData.QUIET, false)) {
            t.run();
            Path dir = run.resolve("checkpoints");
            Path existing = dir.resolve(Checkpoint.fileName(2));
            byte[] before = Files.readAllBytes(existing);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Checkpoint.save(dir, 2, t.model(), t.optimizer(), null, 5));
            assertTrue(e.getMessage().contains("refusing to overwrite"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(existing));
            try (var s = Files.list(dir)) {
                assertTrue(s.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary left behind");
            }
        }
    }

    // ------------------------------------------------------------------ stale temporary files

    @Test
    void staleTemporariesAreRemovedAndReported(@TempDir Path tmp) throws Exception {
        Path run = tmp.resolve("run").toAbsolutePath().normalize();
        Path ckpts = Files.createDirectories(run.resolve("checkpoints"));
        // what killed writes leave: a staged checkpoint, SafeTensors' own temporary, a metrics rewrite
        Path a = Files.write(ckpts.resolve(".step-0000004.safetensors.8213941.tmp"), randomBytes(3, 9_000_000));
        Path b = Files.write(ckpts.resolve(".step-0000004.safetensors.8213941.tmp7741.tmp"), randomBytes(4, 5_200_000));
        Path c = Files.write(run.resolve(".metrics.jsonl.tmp"), randomBytes(5, 17));
        // what is not ours to remove: visible names, hidden non-temporaries, deeper folders, a folder
        Path keep1 = Files.write(run.resolve("notes.tmp"), randomBytes(6, 10));
        Path keep2 = Files.write(run.resolve(".hidden"), randomBytes(7, 10));
        Path keep3 = Files.write(Files.createDirectories(run.resolve("deep/er")).resolve(".x.tmp"), randomBytes(8, 10));
        Path keep4 = Files.createDirectories(run.resolve(".dir.tmp"));

        Cli.Result r = Cli.run(tmp, "train", "--config", configFile(tmp, run, 2, 11).toString());
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().contains("removed 3 stale temporary files (14.2 MB) from a previous run"), r.output());
        for (Path gone : List.of(a, b, c)) {
            assertFalse(Files.exists(gone), gone + " was not removed");
        }
        for (Path kept : List.of(keep1, keep2, keep3, keep4)) {
            assertTrue(Files.exists(kept), kept + " was removed");
        }
        // a start with nothing stale says nothing about it
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        RunLock.acquire(run, new PrintStream(buf, true, StandardCharsets.UTF_8)).close();
        assertEquals("", text(buf));
        // one file, in the singular
        Files.write(ckpts.resolve(".step-0000009.safetensors.1.tmp"), randomBytes(9, 2048));
        RunLock.acquire(run, new PrintStream(buf, true, StandardCharsets.UTF_8)).close();
        assertEquals("removed 1 stale temporary file (2.0 kB) from a previous run" + System.lineSeparator(), text(buf));
    }

    /** The temporaries of a folder another process holds are that process's: nothing is removed. */
    @Test
    void temporariesOfAHeldFolderAreLeftAlone(@TempDir Path tmp) throws IOException {
        Path run = tmp.resolve("run");
        try (RunLock held = RunLock.acquire(run, TestData.QUIET)) {
            Path live = Files.write(run.resolve(".metrics.jsonl.tmp"), randomBytes(1, 100));
            assertThrows(RunFolderBusyException.class, () -> RunLock.acquire(run, TestData.QUIET));
            assertTrue(Files.exists(live));
        }
    }

    @Test
    void sizesAreGivenForPeople() {
        assertEquals("0 bytes", StaleTemporaries.size(0));
        assertEquals("1 byte", StaleTemporaries.size(1));
        assertEquals("999 bytes", StaleTemporaries.size(999));
        assertEquals("1.0 kB", StaleTemporaries.size(1000));
        assertEquals("1.0 MB", StaleTemporaries.size(999_960));
        assertEquals("14.2 MB", StaleTemporaries.size(14_200_017));
        assertEquals("3.1 GB", StaleTemporaries.size(3_140_000_000L));
    }

    private static byte[] randomBytes(long seed, int n) {
        byte[] b = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) r.nextInt(256);
        }
        return b;
    }
}
