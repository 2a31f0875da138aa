package io.leviathan.cli;

import static io.leviathan.cli.Result.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintStream;
import org.junit.jupiter.api.Test;

class MainTest {


    @Test
    void infoListsVersionBackendsVectorWidthAndThreads() {
        Result r = run("info");
        assertEquals(0, r.status(), r.err());
        assertTrue(r.out().contains("Leviathan for Java 0.1.0"), r.out());
        assertTrue(r.out().matches("(?s).*cpu\\s+available.*"), r.out());
        assertTrue(r.out().matches("(?s).*cuda\\s+(available|unavailable)\\s+\\S+.*"), "cuda needs a reason: " + r.out());
        assertTrue(r.out().contains("float lanes") && r.out().contains("threads"), r.out());
        assertTrue(r.out().contains("CUDA kernel library: "), r.out());
        if (java.nio.file.Files.exists(java.nio.file.Path.of("../native/target/native/linux-x86_64/libleviathan_cuda.so"))) {
            // built by nvcc in this build: the trainer's class path carries it, so info names the file
            assertTrue(r.out().matches("(?s).*CUDA kernel library: /\\S*libleviathan_cuda\\.so.*"), r.out());
        }
    }

    @Test
    void unknownCommandAndArgumentsAreUsageErrors() {
        Result r = run("frobnicate");
        assertEquals(2, r.status());
        assertTrue(r.err().contains("unknown command 'frobnicate'") && r.err().contains("info"), r.err());
        Result extra = run("info", "--bogus");
        assertEquals(2, extra.status());
        assertTrue(extra.err().contains("--bogus"), extra.err());
    }

    @Test
    void anOutOfMemoryErrorBecomesOneLineAndStatusOne() {
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        PrintStream ps = new PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8);
        // a real OutOfMemoryError that takes no memory: an array larger than the VM allows
        int status = Main.guarded("train", () -> new int[Integer.MAX_VALUE].length, ps);
        assertEquals(1, status);
        String text = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(1, text.strip().lines().count(), text);
        assertTrue(text.startsWith("leviathan train: out of memory (Requested array size exceeds VM limit);"), text);
        assertTrue(text.contains("lower --batch or --seq"), text);
    }
}
