package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.io.SafeTensors;
import io.leviathan.model.Family;
import io.leviathan.model.GeneratorConfig;
import io.leviathan.model.LlamaModel;
import io.leviathan.model.ModelConfig;
import io.leviathan.model.Parameter;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Saving, loading, the file format, pruning, and the errors of {@link Checkpoint}. */
class CheckpointTest {
    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    static ModelConfig dense() {
        return new ModelConfig(Family.DENSE, 50, 16, 1, 2, 32, 1e-5f, 10_000f, 16, false, null);
    }

    static ModelConfig leviathan() {
        return dense().asLeviathan(new GeneratorConfig(2, 8, 2, 8, 8, false, true, 1e-5f));
    }

    /** A model with random weights and an optimizer with random moments after 3 steps. */
    static void randomise(LlamaModel m, AdamW opt, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (Parameter p : m.parameters().all()) {
            fill(p.value(), r);
        }
        for (Tensor t : opt.state().values()) {
            fill(t, r);
        }
        opt.setSteps(3);
    }

    static void fill(Tensor t, SplittableRandom r) {
        float[] v = new float[(int) t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        be.upload(v, t);
    }

    static Map<String, String> meta() {
        return Map.of("train_config", TrainConfig.defaults().toJson(), "sampler_state", "[1,2,-3]",
                "tokenizer", "o200k_base", "vocabulary_sha256", "none", "dataset", "/nowhere");
    }

    @Test
    void roundTripRestoresWeightsMomentsAndState(@TempDir Path dir) {
        long baseline = NativeMemory.allocatedBytes();
        for (ModelConfig c : List.of(dense(), leviathan())) {
            Path file;
            try (LlamaModel a = new LlamaModel(be, c, 1, 4); AdamW oa = new AdamW(be, a.parameters(), AdamWConfig.defaults())) {
                randomise(a, oa, 5);
                file = Checkpoint.save(dir.resolve(c.family().name()), 12, a, oa, meta(), 3);
                assertEquals("step-0000012.safetensors", file.getFileName().toString());
                try (LlamaModel b = new LlamaModel(be, c, 2, 8); AdamW ob = new AdamW(be, b.parameters(), AdamWConfig.defaults());
                     Checkpoint ck = Checkpoint.load(file.getParent().getParent().resolve(c.family().name()))) {
                    assertEquals(12, ck.step());
                    assertEquals(c, ck.modelConfig());
                    assertArrayEquals(new long[] {1, 2, -3}, ck.samplerState());
                    assertEquals(TrainConfig.defaults(), ck.trainConfig());
                    assertEquals("o200k_base", ck.tokenizerName());
                    assertTrue(ck.vocabularyMap().isEmpty());
                    ck.restoreWeights(b);
                    ck.restoreOptimizer(ob);
                    assertEquals(3, ob.steps());
                    for (int i = 0; i < a.parameters().all().size(); i++) {
                        assertArrayEquals(be.downloadFloats(a.parameters().all().get(i).value()),
                                be.downloadFloats(b.parameters().all().get(i).value()));
                    }
                    for (String k : oa.state().keySet()) {
                        assertArrayEquals(be.downloadFloats(oa.state().get(k)), be.downloadFloats(ob.state().get(k)), k);
                    }
                }
            }
        }
        assertEquals(baseline, NativeMemory.allocatedBytes());
    }

    /** Reads the file by the safetensors rules, independently of {@link SafeTensors}. */
    @Test
    void fileFollowsTheSafetensorsFormat(@TempDir Path dir) throws IOException {
        Path file;
        List<String> expectNames = new ArrayList<>();
        try (LlamaModel a = new LlamaModel(be, leviathan(), 1, 4); AdamW oa = new AdamW(be, a.parameters(), AdamWConfig.defaults())) {
            randomise(a, oa, 9);
            file = Checkpoint.save(dir, 1, a, oa, meta(), 1);
            a.parameters().all().forEach(p -> expectNames.add(p.name()));
            expectNames.addAll(oa.state().keySet());
        }
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long n = b.getLong(0);
        assertTrue(n > 0 && 8 + n <= bytes.length);
        assertEquals(0, (8 + n) % 8, "data starts 8-byte aligned");
        String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
        assertEquals('{', header.charAt(0));
        JsonNode h = new ObjectMapper().readTree(header);
        JsonNode meta = h.get("__metadata__");
        assertTrue(meta.isObject());
        for (Iterator<Map.Entry<String, JsonNode>> it = meta.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            assertTrue(e.getValue().isTextual(), "metadata values are strings: " + e.getKey());
        }
        assertEquals("pt", meta.get("format").asText());
        assertEquals("1", meta.get("step").asText());
        long dataLen = bytes.length - 8 - n;
        List<long[]> ranges = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = h.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals("__metadata__")) {
                continue;
            }
            names.add(e.getKey());
            JsonNode t = e.getValue();
            assertEquals("F32", t.get("dtype").asText());
            long numel = 1;
            for (JsonNode d : t.get("shape")) {
                numel *= d.asLong();
            }
            long begin = t.get("data_offsets").get(0).asLong();
            long end = t.get("data_offsets").get(1).asLong();
            assertEquals(numel * 4, end - begin, e.getKey());
            ranges.add(new long[] {begin, end});
        }
        assertEquals(new java.util.HashSet<>(expectNames), new java.util.HashSet<>(names));
        // the byte buffer is fully indexed: sorted ranges tile [0, dataLen) without holes or overlaps
        ranges.sort((x, y) -> Long.compare(x[0], y[0]));
        long pos = 0;
        for (long[] r : ranges) {
            assertEquals(pos, r[0]);
            pos = r[1];
        }
        assertEquals(dataLen, pos);
    }

    @Test
    void keepsTheNewestKAndNeverOverwrites(@TempDir Path dir) throws IOException {
        try (LlamaModel a = new LlamaModel(be, dense(), 1, 4); AdamW oa = new AdamW(be, a.parameters(), AdamWConfig.defaults())) {
            randomise(a, oa, 1);
            for (long s = 1; s <= 5; s++) {
                Checkpoint.save(dir, s * 10, a, oa, meta(), 2);
            }
            List<Path> left = Checkpoint.list(dir);
            assertEquals(List.of(dir.resolve("step-0000040.safetensors"), dir.resolve("step-0000050.safetensors")), left);
            byte[] before = Files.readAllBytes(left.getLast());
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Checkpoint.save(dir, 50, a, oa, meta(), 2));
            assertTrue(e.getMessage().contains("refusing to overwrite"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(left.getLast()));
            try (var files = Files.list(dir)) {
                assertEquals(2, files.count(), "no temporary files left behind");
            }
            assertEquals(dir.resolve("step-0000050.safetensors"), Checkpoint.resolve(dir));
        }
    }

    @Test
    void truncatedCorruptedAndForeignFilesAreNamed(@TempDir Path dir) throws IOException {
        Path file;
        try (LlamaModel a = new LlamaModel(be, dense(), 1, 4); AdamW oa = new AdamW(be, a.parameters(), AdamWConfig.defaults())) {
            randomise(a, oa, 2);
            file = Checkpoint.save(dir, 7, a, oa, meta(), 3);
        }
        byte[] bytes = Files.readAllBytes(file);

        Path truncated = dir.resolve("truncated.safetensors");
        Files.write(truncated, java.util.Arrays.copyOf(bytes, bytes.length - 100));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(truncated));
        assertTrue(e.getMessage().contains("truncated.safetensors") && e.getMessage().contains("damaged"), e.getMessage());

        Path stub = dir.resolve("stub.safetensors");
        Files.write(stub, java.util.Arrays.copyOf(bytes, 5));
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(stub));
        assertTrue(e.getMessage().contains("stub.safetensors") && e.getMessage().contains("damaged"), e.getMessage());

        Path flipped = dir.resolve("flipped.safetensors");
        byte[] copy = bytes.clone();
        copy[copy.length - 3] ^= 0x10;
        Files.write(flipped, copy);
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(flipped));
        assertTrue(e.getMessage().contains("flipped.safetensors") && e.getMessage().contains("corrupted"), e.getMessage());

        Path foreign = dir.resolve("foreign.safetensors");
        try (TensorArena arena = new TensorArena()) {
            SafeTensors.write(foreign, Map.of("x", arena.of(new float[] {1, 2}, 2)), Map.of("format", "pt"));
        }
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(foreign));
        assertTrue(e.getMessage().contains("not a Leviathan checkpoint"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(dir.resolve("missing")));
        assertTrue(e.getMessage().contains("no such file"), e.getMessage());
        assertArrayEquals(bytes, Files.readAllBytes(file), "the good checkpoint is untouched");
    }

    @Test
    void aDifferentModelIsRefusedNamingTheDifference(@TempDir Path dir) {
        Path file;
        try (LlamaModel a = new LlamaModel(be, dense(), 1, 4); AdamW oa = new AdamW(be, a.parameters(), AdamWConfig.defaults())) {
            randomise(a, oa, 3);
            file = Checkpoint.save(dir, 1, a, oa, meta(), 3);
        }
        try (Checkpoint ck = Checkpoint.load(file);
             LlamaModel other = new LlamaModel(be, dense().withVocab(60), 1, 4);
             LlamaModel lev = new LlamaModel(be, leviathan(), 1, 4)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ck.restoreWeights(other));
            assertTrue(e.getMessage().contains("different model") && e.getMessage().contains("vocab 50 in the checkpoint, 60 here"),
                    e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> ck.restoreWeights(lev));
            assertTrue(e.getMessage().contains("family dense in the checkpoint, leviathan here"), e.getMessage());
        }
    }
}
