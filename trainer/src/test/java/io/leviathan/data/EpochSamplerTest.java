package io.leviathan.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The shuffled-epoch sampler: without replacement within an epoch, a new order each epoch, exact resume. */
class EpochSamplerTest {
    @TempDir
    static Path tmp;
    static TokenDataset ds;

    @BeforeAll
    static void prepare() throws IOException {
        Path src = Fixtures.write(tmp.resolve("e.txt"), Fixtures.sentences(600, "Epochs"));
        ds = TokenDataset.open(DataPrepare.prepare(List.of(src), tmp.resolve("ds"), "o200k_base", 0.05, true, false,
                2000, null));
    }

    @AfterAll
    static void close() {
        ds.close();
    }

    @Test
    void permutationIsABijectionForAnySize() {
        for (long size : new long[] {1, 2, 3, 5, 16, 17, 255, 1000, 4099}) {
            WindowPermutation p = new WindowPermutation(size);
            BitSet seen = new BitSet();
            for (long i = 0; i < size; i++) {
                long v = p.apply(i, 42, 0);
                assertTrue(v >= 0 && v < size, size + ": " + v);
                seen.set((int) v);
            }
            assertEquals(size, seen.cardinality(), "size " + size + ": every element once");
        }
        WindowPermutation p = new WindowPermutation(1000);
        int moved = 0;
        int differ = 0;
        for (long i = 0; i < 1000; i++) {
            moved += p.apply(i, 42, 0) != i ? 1 : 0;
            differ += p.apply(i, 42, 0) != p.apply(i, 42, 1) ? 1 : 0;
        }
        assertTrue(moved > 950, "a shuffle, not the identity: " + moved + " of 1000 moved");
        assertTrue(differ > 950, "each epoch has its own order: " + differ + " of 1000 differ");
    }

    @Test
    void everyWindowOncePerEpochInANewOrderEachEpoch() {
        BatchSampler s = BatchSampler.epochs(ds, Split.TRAIN, 3, 16, 7);
        long w = s.windowsPerEpoch();
        assertEquals((ds.tokens(Split.TRAIN) - 1) / 16, w);
        List<Long> first = new ArrayList<>();
        List<Long> second = new ArrayList<>();
        for (long i = 0; i < w; i++) {
            first.add(s.nextStart());
        }
        for (long i = 0; i < w; i++) {
            second.add(s.nextStart());
        }
        for (List<Long> epoch : List.of(first, second)) {
            BitSet windows = new BitSet();
            for (long start : epoch) {
                assertEquals(0, start % 16, "windows are aligned to the stride");
                windows.set((int) (start / 16));
            }
            assertEquals(w, windows.cardinality(), "each window exactly once per epoch");
        }
        assertNotEquals(first, second, "the second epoch is shuffled differently");
        assertNotEquals(first, new ArrayList<>(first).stream().sorted().toList(), "not in corpus order");
        BatchSampler other = BatchSampler.epochs(ds, Split.TRAIN, 3, 16, 8);
        assertNotEquals(first.getFirst() * 1000 + first.get(1), other.nextStart() * 1000 + other.nextStart(),
                "another seed starts elsewhere");
    }

    /**
     * The reason for the sampler: drawing 43 % of an epoch's tokens, random windows (with replacement) cover
     * about 1 - e^-0.43 = 35 % of the positions and repeat about 19 % of the tokens they show; shuffled epochs
     * cover 43 % and repeat none.
     */
    @Test
    void withoutReplacementRepeatsNothingWhereRandomWindowsDo() {
        int seq = 16;
        long n = ds.tokens(Split.TRAIN);
        long draws = (long) (0.43 * ((n - 1) / seq));
        double[] random = coverage(new BatchSampler(ds, Split.TRAIN, 1, seq, 5), draws, seq, n);
        double[] epochs = coverage(BatchSampler.epochs(ds, Split.TRAIN, 1, seq, 5), draws, seq, n);
        System.out.printf("[EpochSamplerTest] %d windows of %d over %d tokens: random covers %.3f, repeats %.3f;"
                + " epochs covers %.3f, repeats %.3f%n", draws, seq, n, random[0], random[1], epochs[0], epochs[1]);
        assertEquals(0.0, epochs[1], "no target position twice within an epoch");
        assertEquals(draws * seq / (double) n, epochs[0], 1e-9);
        assertEquals(1 - Math.exp(-0.43), random[0], 0.03);
        assertTrue(random[1] > 0.12, "random windows repeat: " + random[1]);
    }

    /** {fraction of target positions covered, fraction of targets drawn that were drawn before}. */
    private static double[] coverage(BatchSampler s, long draws, int seq, long n) {
        BitSet seen = new BitSet();
        long repeats = 0;
        for (long d = 0; d < draws; d++) {
            long start = s.nextStart();
            for (int t = 1; t <= seq; t++) {
                int pos = (int) (start + t);
                repeats += seen.get(pos) ? 1 : 0;
                seen.set(pos);
            }
        }
        return new double[] {seen.cardinality() / (double) n, repeats / (double) (draws * seq)};
    }

    @Test
    void resumesBitExactlyAcrossAnEpochBoundaryAndRefusesAnotherSeedOrMode() {
        BatchSampler a = BatchSampler.epochs(ds, Split.TRAIN, 4, 8, 11);
        long half = a.windowsPerEpoch() / 4 * 3 / 4; // batches of 4: stop three quarters into the first epoch
        for (long i = 0; i < half; i++) {
            a.next(new int[32], new int[32]);
        }
        long[] state = a.state();
        int[][] rest = draw(a, (int) (a.windowsPerEpoch() / 4)); // runs into the second epoch
        BatchSampler b = BatchSampler.epochs(ds, Split.TRAIN, 4, 8, 11);
        b.restore(state);
        assertArrayEquals(rest, draw(b, (int) (b.windowsPerEpoch() / 4)));
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> BatchSampler.epochs(ds, Split.TRAIN, 4, 8, 12).restore(state));
        assertTrue(e.getMessage().contains("seed"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> new BatchSampler(ds, Split.TRAIN, 4, 8, 11).restore(state));
        assertTrue(e.getMessage().contains("shuffled epochs"), e.getMessage());
    }

    private static int[][] draw(BatchSampler s, int batches) {
        int n = s.batch() * s.seq();
        int[][] out = new int[2 * batches][];
        for (int i = 0; i < batches; i++) {
            int[] in = new int[n];
            int[] tg = new int[n];
            s.next(in, tg);
            out[2 * i] = in;
            out[2 * i + 1] = tg;
        }
        return out;
    }
}
