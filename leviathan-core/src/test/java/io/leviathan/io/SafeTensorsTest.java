package io.leviathan.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {

    @TempDir
    Path dir;

    private Map<String, Tensor> sample(TensorArena arena) {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("w", arena.of(new float[] {1.5f, -2f, 3.25f, 4f, 5f, -6.5f}, 2, 3));
        Tensor b = arena.allocate(DType.BF16, 3);
        b.copyFrom(new float[] {1f, -0.5f, 2f});
        m.put("b", b);
        m.put("ids", arena.ofInts(new int[] {7, -1, 1 << 20}, 3));
        m.put("wT", arena.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).transpose(0, 1)); // a strided view
        return m;
    }

    @Test
    void roundTripsTensorsAndMetadata() {
        Path file = dir.resolve("a.safetensors");
        try (TensorArena arena = new TensorArena()) {
            SafeTensors.write(file, sample(arena), Map.of("step", "12", "config", "{\"x\":1}"));
        }
        try (TensorArena arena = new TensorArena()) {
            SafeTensors st = SafeTensors.open(file, arena);
            assertEquals(java.util.List.of("w", "b", "ids", "wT"), new java.util.ArrayList<>(st.names()));
            assertArrayEquals(new float[] {1.5f, -2f, 3.25f, 4f, 5f, -6.5f}, st.get("w").toFloatArray());
            assertArrayEquals(new long[] {2, 3}, st.get("w").shape());
            assertEquals(DType.BF16, st.get("b").dtype());
            assertArrayEquals(new float[] {1f, -0.5f, 2f}, st.get("b").toFloatArray());
            assertArrayEquals(new int[] {7, -1, 1 << 20}, st.get("ids").toIntArray());
            assertArrayEquals(new float[] {1, 4, 2, 5, 3, 6}, st.get("wT").toFloatArray());
            assertEquals("12", st.metadata().get("step"));
            assertEquals("{\"x\":1}", st.metadata().get("config"));
            assertTrue(st.get("w").isReadOnly(), "tensors are mapped, not copied");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> st.get("nope"));
            assertTrue(e.getMessage().contains("nope") && e.getMessage().contains("a.safetensors"));
        }
    }

    @Test
    void fileFollowsTheFormatRules() throws IOException {
        Path file = dir.resolve("b.safetensors");
        try (TensorArena arena = new TensorArena()) {
            SafeTensors.write(file, sample(arena), Map.of("k", "v"));
        }
        byte[] bytes = Files.readAllBytes(file);
        long n = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        JsonNode h = new ObjectMapper().readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8).strip());
        assertEquals("v", h.get("__metadata__").get("k").asText());
        long expectBegin = 0;
        for (String name : new String[] {"w", "b", "ids", "wT"}) {
            JsonNode t = h.get(name);
            long begin = t.get("data_offsets").get(0).asLong();
            long end = t.get("data_offsets").get(1).asLong();
            assertEquals(expectBegin, begin, name + " data is contiguous, in order");
            long numel = 1;
            for (JsonNode d : t.get("shape")) {
                numel *= d.asLong();
            }
            int size = switch (t.get("dtype").asText()) {
                case "F32", "I32" -> 4;
                case "BF16" -> 2;
                default -> throw new AssertionError(t);
            };
            assertEquals(numel * size, end - begin, name);
            expectBegin = end;
        }
        assertEquals(8 + n + expectBegin, bytes.length, "no trailing bytes");
        // The first tensor's bytes are little-endian floats.
        assertEquals(1.5f, ByteBuffer.wrap(bytes, (int) (8 + n), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
    }

    @Test
    void truncatedAndCorruptFilesAreClearErrors() throws IOException {
        Path good = dir.resolve("good.safetensors");
        try (TensorArena arena = new TensorArena()) {
            SafeTensors.write(good, sample(arena), Map.of());
        }
        byte[] bytes = Files.readAllBytes(good);
        Path truncated = dir.resolve("truncated.safetensors");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length - 5));
        Path tiny = dir.resolve("tiny.safetensors");
        Files.write(tiny, new byte[] {1, 2, 3});
        Path badJson = dir.resolve("badjson.safetensors");
        byte[] junk = "{not json".getBytes(StandardCharsets.UTF_8);
        ByteBuffer bb = ByteBuffer.allocate(8 + junk.length).order(ByteOrder.LITTLE_ENDIAN);
        bb.putLong(junk.length).put(junk);
        Files.write(badJson, bb.array());
        Path badDtype = dir.resolve("baddtype.safetensors");
        byte[] hdr = "{\"x\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer bd = ByteBuffer.allocate(8 + hdr.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        bd.putLong(hdr.length).put(hdr);
        Files.write(badDtype, bd.array());

        try (TensorArena arena = new TensorArena()) {
            assertMessage(() -> SafeTensors.open(truncated, arena), "truncated.safetensors", "truncated");
            assertMessage(() -> SafeTensors.open(tiny, arena), "tiny.safetensors", "3 bytes");
            assertMessage(() -> SafeTensors.open(badJson, arena), "badjson.safetensors", "JSON");
            assertMessage(() -> SafeTensors.open(badDtype, arena), "'x'", "F64");
        }
    }

    @Test
    void aFailedWriteLeavesTheExistingFileIntact() throws IOException {
        Path file = dir.resolve("keep.safetensors");
        try (TensorArena arena = new TensorArena()) {
            SafeTensors.write(file, sample(arena), Map.of("v", "1"));
        }
        byte[] before = Files.readAllBytes(file);
        Tensor dead;
        try (TensorArena arena = new TensorArena()) {
            dead = arena.allocate(DType.F32, 4);
        }
        assertThrows(TensorClosedException.class, () -> SafeTensors.write(file, Map.of("dead", dead), Map.of()));
        assertArrayEquals(before, Files.readAllBytes(file), "the old file is untouched");
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file is left behind");
        }
    }

    private static void assertMessage(Runnable r, String... parts) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "'" + p + "' missing from: " + e.getMessage());
        }
    }
}
