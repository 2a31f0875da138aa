package io.leviathan.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.UncheckedIOException;
import java.io.IOException;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.opentest4j.AssertionFailedError;
import org.junit.jupiter.api.Test;

/** The harness itself: what counts as a clear answer and what is a finding. */
class FuzzerTest {

    @Test
    void resultsAndClearExceptionsPass() {
        assertNull(Fuzzer.outcome(new byte[4], "f.bin", in -> { }));
        assertNull(Fuzzer.outcome(new byte[4], "f.bin", in -> {
            throw new IllegalArgumentException("f.bin: bad header");
        }));
        assertNull(Fuzzer.outcome(new byte[4], "f.bin", in -> {
            throw new UncheckedIOException("cannot read f.bin", new IOException("EIO"));
        }));
    }

    @Test
    void everythingElseIsAFinding() {
        assertTrue(Fuzzer.outcome(new byte[4], "f.bin", in -> Math.multiplyExact(Long.MAX_VALUE, 2))
                .contains("ArithmeticException"));
        assertTrue(Fuzzer.outcome(new byte[4], "f.bin", in -> {
            int[] a = new int[1];
            a[in.length] = 1;
        }).contains("IndexOutOfBounds"));
        assertTrue(Fuzzer.outcome(new byte[4], "f.bin", in -> {
            throw new IllegalArgumentException("long overflow");
        }).contains("does not name f.bin"));
        assertTrue(Fuzzer.outcome(new byte[4], "f.bin", in -> {
            throw new IllegalArgumentException();
        }).contains("without a message"));
        assertTrue(Fuzzer.outcome(new byte[4], "f.bin", in -> {
            throw new StackOverflowError();
        }).contains("StackOverflowError"));
    }

    @Test
    void anAllocationSizedByTheInputIsAFinding() {
        byte[][] keep = new byte[1][];
        String problem = Fuzzer.outcome(new byte[8], "f.bin", in -> keep[0] = new byte[(int) (Fuzzer.ALLOCATION_LIMIT + 1024)]);
        assertTrue(problem != null && problem.contains("allocated"), String.valueOf(problem));
        assertEquals(Fuzzer.ALLOCATION_LIMIT + 1024, keep[0].length);
        // proportional to the input is fine
        assertNull(Fuzzer.outcome(new byte[1 << 20], "f.bin", in -> keep[0] = Arrays.copyOf(in, in.length * 4)));
    }

    @Test
    void aHangIsAFindingAndTheRunGoesOn() {
        int[] calls = {0};
        int[] made = {0};
        AssertionFailedError e = assertThrows(AssertionFailedError.class, () -> Fuzzer.run("self-test-hang", 4,
                "f.bin", r -> new byte[] {(byte) (++made[0] == 2 ? 7 : 0)}, in -> {
                    if (in[0] == 7) {
                        Thread.sleep(60_000);
                    }
                    ++calls[0];
                }, 200));
        assertTrue(e.getMessage().contains("a hang") && e.getMessage().contains("1 input(s)"), e.getMessage());
        assertEquals(3, calls[0], "the inputs after the hang still ran");
    }

    @Test
    void generatedInputsRepeatForASeed() {
        byte[] seed = "{\"a\": [1, 2, 3]}".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        for (int i = 0; i < 20; i++) {
            assertTrue(Arrays.equals(Mutations.mutate(seed, new SplittableRandom(i), 4),
                    Mutations.mutate(seed, new SplittableRandom(i), 4)));
        }
    }
}
