package io.leviathan.train;

import io.leviathan.fuzz.Fuzzer;
import io.leviathan.fuzz.Mutations;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint loader over mutations of a real checkpoint: every file loads (and every piece of its
 * metadata reads back) or is refused with an error naming the file.
 */
class CheckpointFuzzTest {
    private static final String FILE = "fuzz-checkpoint.safetensors";

    @TempDir
    static Path dir;
    private static byte[] valid;

    @BeforeAll
    static void trainOneStep() throws IOException {
        Path run = dir.resolve("run");
        try (Trainer t = Trainer.create(TestData.config(TestData.DENSE, TestData.synthetic(), run, 1), null,
                TestData.QUIET, false)) {
            valid = Files.readAllBytes(t.run().checkpoint());
        }
    }

    /** Loads the checkpoint and reads everything a resume, eval, generate or export reads from its header. */
    private static void load(byte[] input) throws IOException {
        Path file = dir.resolve(FILE);
        Files.write(file, input);
        try (Checkpoint c = Checkpoint.load(file)) {
            c.step();
            c.modelConfig();
            c.trainConfig();
            c.tokenizerName();
            c.samplerState();
            c.vocabularyMap();
            c.tensors().names().forEach(c.tensors()::get);
        }
    }

    @Test
    void mutatedCheckpoints() {
        long headerLen = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
        byte[] header = Arrays.copyOfRange(valid, 8, 8 + (int) headerLen);
        byte[] data = Arrays.copyOfRange(valid, 8 + (int) headerLen, valid.length);
        Fuzzer.run("checkpoint", Fuzzer.tries(600), FILE, r -> mutant(r, header, data), CheckpointFuzzTest::load);
    }

    /** Mostly the header (names, shapes, offsets, metadata) with a consistent length; sometimes anything. */
    private static byte[] mutant(SplittableRandom r, byte[] header, byte[] data) {
        if (r.nextInt(5) == 0) {
            return Mutations.mutate(valid, r, 3);
        }
        byte[] h = Mutations.mutate(header, r, 3);
        byte[] d = r.nextInt(5) == 0 ? Mutations.mutate(data, r, 1) : data;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] len = new byte[8];
        ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length);
        out.writeBytes(len);
        out.writeBytes(h);
        out.writeBytes(d);
        return out.toByteArray();
    }
}
