package io.leviathan.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.tensor.NativeMemory;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/** {@link MemoryEstimate} against what a built {@link LlamaModel} actually allocates. */
class MemoryEstimateTest {

    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(1);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** Odd sizes so every parameter's 16-element alignment gap shows. */
    private static ModelConfig dense(boolean tied) {
        return new ModelConfig(Family.DENSE, 997, 24, 3, 3, 40, 1e-5f, 10_000f, 32, tied, null);
    }

    private static ModelConfig leviathan() {
        return dense(false).asLeviathan(new GeneratorConfig(3, 12, 3, 7, 5, false, true, 1e-5f));
    }

    private static ModelConfig leviathanSharedCodebook() {
        return dense(false).asLeviathan(new GeneratorConfig(2, 16, 2, 9, 8, true, true, 1e-5f));
    }

    static List<Arguments> configs() {
        return List.of(
                Arguments.of("dense", dense(false), Precision.FP32, 2, 5),
                Arguments.of("dense", dense(false), Precision.BF16, 3, 17),
                Arguments.of("dense tied", dense(true), Precision.FP32, 1, 32),
                Arguments.of("dense tied", dense(true), Precision.BF16, 4, 9),
                Arguments.of("leviathan", leviathan(), Precision.FP32, 2, 13),
                Arguments.of("leviathan", leviathan(), Precision.BF16, 5, 7),
                Arguments.of("leviathan shared codebook", leviathanSharedCodebook(), Precision.FP32, 3, 11),
                Arguments.of("leviathan shared codebook", leviathanSharedCodebook(), Precision.BF16, 1, 1));
    }

    @ParameterizedTest(name = "{0} {2} batch {3} seq {4}")
    @MethodSource("configs")
    void backendBytesEqualWhatTheModelAllocates(String label, ModelConfig c, Precision p, int batch, int seq) {
        MemoryEstimate e = MemoryEstimate.model(c, batch, seq, p);
        long before = NativeMemory.allocatedBytes();
        try (LlamaModel model = new LlamaModel(be, c, batch, seq, p)) {
            assertEquals(model.arena().allocatedBytes(), e.bytes(MemoryEstimate.Place.BACKEND),
                    label + ": " + e.items());
            assertEquals(model.arena().allocatedBytes(), NativeMemory.allocatedBytes() - before,
                    "the model's arena is all the native memory it takes");
            assertEquals(model.parameters().flatSize(), MemoryEstimate.flatSize(c));
            // a training step allocates nothing more, so the estimate holds after one too
            int[] ids = new int[batch * seq];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = (i * 31 + 7) % c.vocab();
            }
            model.initialize(11);
            model.evaluate(ids, ids);
            assertEquals(e.bytes(MemoryEstimate.Place.BACKEND), NativeMemory.allocatedBytes() - before);
        }
    }

    @ParameterizedTest(name = "{0} {2} batch {3} seq {4}")
    @MethodSource("configs")
    void trainingAddsTheMomentsStatisticsAndHostBatches(String label, ModelConfig c, Precision p, int batch, int seq) {
        MemoryEstimate model = MemoryEstimate.model(c, batch, seq, p);
        MemoryEstimate training = MemoryEstimate.training(c, batch, seq, p);
        long flat = MemoryEstimate.flatSize(c);
        assertEquals(model.bytes(MemoryEstimate.Place.BACKEND) + 2 * 4 * flat + 2 * 4,
                training.bytes(MemoryEstimate.Place.BACKEND));
        assertEquals(model.bytes(MemoryEstimate.Place.HEAP) + 2 * 16 + 2 * 4L * batch * seq,
                training.bytes(MemoryEstimate.Place.HEAP));
    }

    @Test
    void logitsAreTheirOwnItem() {
        MemoryEstimate e = MemoryEstimate.training(Presets.get("tiny"), 100_000, 256, Precision.FP32);
        long logits = e.items().stream().filter(i -> i.name().startsWith("logits")).mapToLong(MemoryEstimate.Item::bytes)
                .sum();
        assertEquals(4L * 100_000 * 256 * 200_019, logits);
        assertTrue(e.bytes(MemoryEstimate.Place.BACKEND) > logits);
    }

    @Test
    void largestBatchIsTheLastThatFits() {
        ModelConfig c = leviathan();
        long budget = MemoryEstimate.training(c, 37, 16, Precision.BF16).bytes(MemoryEstimate.Place.BACKEND);
        int fits = MemoryEstimate.largestBatch(c, 16, Precision.BF16, true, 1_000_000,
                e -> e.bytes(MemoryEstimate.Place.BACKEND) <= budget);
        assertEquals(37, fits);
        assertEquals(0, MemoryEstimate.largestBatch(c, 16, Precision.BF16, true, 1_000_000, e -> false));
        assertEquals(5, MemoryEstimate.largestBatch(c, 16, Precision.BF16, true, 5, e -> true));
    }

    @Test
    void anOverflowingShapeIsRefusedInWords() {
        ModelConfig big = Presets.get("tiny").withMaxSeq(1 << 30);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MemoryEstimate.training(big, Integer.MAX_VALUE, 1 << 30, Precision.FP32));
        assertTrue(e.getMessage().contains("needs more than"), e.getMessage());
        assertEquals(0, MemoryEstimate.largestBatch(big, 1 << 30, Precision.FP32, true, Integer.MAX_VALUE,
                x -> x.total() < 0));
    }

    @Test
    void humanSizes() {
        assertEquals("812 B", MemoryEstimate.human(812));
        assertEquals("1.5 KiB", MemoryEstimate.human(1536));
        assertEquals("9.0 GiB", MemoryEstimate.human(9L << 30));
    }
}
