package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.data.Tokenizer;
import io.leviathan.data.VocabularyMap;
import io.leviathan.io.SafeTensors;
import io.leviathan.model.LlamaModel;
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
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One-bit flips in every byte of a checkpoint's header and across its data are refused, naming the file;
 * the vocabulary map is checked against its stored SHA-256; format version 1 files still load.
 */
class CheckpointIntegrityTest {
    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** 50 original ids of the o200k tokenizer, one per compact id of the test model's vocabulary of 50. */
    static VocabularyMap map() {
        int[] ids = new int[50];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = 3 + 19 * i;
        }
        return VocabularyMap.of("o200k_base", Tokenizer.of("o200k_base").vocabSize(), ids);
    }

    static Map<String, String> meta(VocabularyMap map) {
        Map<String, String> m = new LinkedHashMap<>(CheckpointTest.meta());
        m.put("vocabulary_map", Checkpoint.vocabularyText(map));
        m.put("vocabulary_sha256", Checkpoint.vocabularyHash(java.util.Optional.of(map)));
        // its length keeps the header JSON off a multiple of 8 bytes, so the header has padding to flip (a
        // train-config key added or removed can change that: then adjust this state's length)
        m.put("sampler_state", "[8815392012,77,-30]");
        return m;
    }

    static Path save(Path dir) {
        try (LlamaModel a = new LlamaModel(be, CheckpointTest.dense(), 1, 4);
             AdamW oa = new AdamW(be, a.parameters(), AdamWConfig.defaults())) {
            java.util.SplittableRandom r = new java.util.SplittableRandom(21);
            List<Tensor> all = new ArrayList<>();
            a.parameters().all().forEach(p -> all.add(p.value()));
            all.addAll(oa.state().values());
            for (Tensor t : all) {
                float[] v = new float[(int) t.numel()];
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) r.nextGaussian();
                }
                be.upload(v, t);
            }
            oa.setSteps(3);
            return Checkpoint.save(dir, 40, a, oa, meta(map()), 3);
        }
    }

    @Test
    void aOneBitFlipInAnyHeaderByteOrAcrossTheDataIsRefused(@TempDir Path dir) throws IOException {
        long baseline = NativeMemory.allocatedBytes();
        Path good = save(dir.resolve("run"));
        byte[] bytes = Files.readAllBytes(good);
        try (Checkpoint ck = Checkpoint.load(good)) {
            assertEquals(40, ck.step(), "the unchanged file loads");
            assertEquals(map(), ck.vocabularyMap().orElseThrow());
        }
        int headerEnd = (int) (8 + ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0));
        String header = new String(bytes, 0, headerEnd, StandardCharsets.ISO_8859_1);
        Map<String, int[]> spans = spans(header);
        for (String region : List.of("metadata sampler_state", "metadata vocabulary_map", "metadata step",
                "metadata model_config", "metadata train_config", "metadata leviathan.checksum", "tensor name",
                "dtype", "shape", "data_offsets", "padding")) {
            if (region.equals("padding") && !header.endsWith(" ")) {
                continue; // a header whose length is already a multiple of 8 has no padding to flip
            }
            assertTrue(spans.containsKey(region), region + " located in the header");
        }
        List<Integer> positions = new ArrayList<>();
        for (int i = 0; i < headerEnd; i++) {
            // every byte of the length prefix, the padding and the short named parts (names, dtype, shape,
            // offsets, step, sampler state, checksum); every fifth byte of the long ones and the rest
            int[] span = spans.get(region(i, headerEnd, spans));
            boolean whole = i < 8 || span != null && span[1] - span[0] <= 64;
            if (whole || i % 5 == 0) {
                positions.add(i);
            }
        }
        int headerPositions = positions.size();
        int dataPositions = 300;
        for (int k = 0; k < dataPositions; k++) {
            positions.add(headerEnd + (int) ((long) k * (bytes.length - 1 - headerEnd) / (dataPositions - 1)));
        }
        Path flipped = dir.resolve("flipped.safetensors");
        Map<String, Integer> tried = new TreeMap<>();
        Map<String, List<String>> accepted = new TreeMap<>();
        for (int pos : positions) {
            byte[] copy = bytes.clone();
            copy[pos] ^= (byte) (1 << (pos % 8));
            Files.write(flipped, copy);
            String region = region(pos, headerEnd, spans);
            tried.merge(region, 1, Integer::sum);
            try (Checkpoint ck = Checkpoint.load(flipped)) {
                accepted.computeIfAbsent(region, r -> new ArrayList<>()).add("byte " + pos + " bit " + (pos % 8));
            } catch (IllegalArgumentException e) {
                assertTrue(e.getMessage().contains(flipped.toString()), "names the file: " + e.getMessage());
                assertTrue(e.getMessage().contains("corrupted") || e.getMessage().contains("damaged"),
                        "says what happened: " + e.getMessage());
            }
        }
        Map<String, String> summary = new TreeMap<>();
        accepted.forEach((r, l) -> summary.put(r, l.size() + " of " + tried.get(r) + " flips accepted, e.g. " + l.getFirst()));
        assertEquals(Map.of(), summary, "flips tried per region: " + tried);
        System.out.println("checkpoint of " + bytes.length + " bytes, header " + headerEnd + " bytes: flips refused per region "
                + tried);
        assertEquals(headerPositions + dataPositions, positions.size());
        assertTrue(headerPositions > headerEnd / 5, headerPositions + " header positions of " + headerEnd);
        assertEquals(baseline, NativeMemory.allocatedBytes(), "every refused load unmapped its file");
    }

    /** Byte ranges [begin, end) of named parts of the header, found in its text. */
    private static Map<String, int[]> spans(String header) {
        Map<String, int[]> s = new HashMap<>();
        for (String key : List.of("sampler_state", "vocabulary_map", "step", "model_config", "train_config",
                "leviathan.checksum")) {
            String open = "\"" + key + "\":\"";
            int b = header.indexOf(open) + open.length();
            int e = b;
            while (header.charAt(e) != '"' || header.charAt(e - 1) == '\\') {
                e++;
            }
            s.put("metadata " + key, new int[] {b, e});
        }
        int entry = header.indexOf(":{\"dtype\":");
        int nameStart = header.lastIndexOf('"', header.lastIndexOf('"', entry - 1) - 1) + 1;
        s.put("tensor name", new int[] {nameStart, entry - 1});
        s.put("dtype", range(header, entry, "\"dtype\":\"", "\""));
        s.put("shape", range(header, entry, "\"shape\":[", "]"));
        s.put("data_offsets", range(header, entry, "\"data_offsets\":[", "]"));
        int jsonEnd = header.lastIndexOf('}') + 1;
        if (jsonEnd < header.length()) {
            s.put("padding", new int[] {jsonEnd, header.length()});
        }
        return s;
    }

    private static int[] range(String header, int from, String open, String close) {
        int b = header.indexOf(open, from) + open.length();
        return new int[] {b, header.indexOf(close, b)};
    }

    private static String region(int pos, int headerEnd, Map<String, int[]> spans) {
        if (pos < 8) {
            return "header length";
        }
        if (pos >= headerEnd) {
            return "tensor data";
        }
        for (Map.Entry<String, int[]> e : spans.entrySet()) {
            if (pos >= e.getValue()[0] && pos < e.getValue()[1]) {
                return e.getKey();
            }
        }
        return "other header JSON";
    }

    @Test
    void aVocabularyMapThatDoesNotMatchItsHashIsRefusedWhereverTheCheckpointIsUsed(@TempDir Path dir) {
        Path good = save(dir.resolve("run"));
        Map<String, String> changed = new LinkedHashMap<>();
        int[] ids = map().originalIds();
        ids[7] += 1; // one original id moved: text would decode to the wrong tokens
        changed.put("vocabulary_map", Checkpoint.vocabularyText(
                VocabularyMap.of("o200k_base", Tokenizer.of("o200k_base").vocabSize(), ids)));
        Path tampered = rewriteAsVersion1(good, dir.resolve("tampered.safetensors"), changed);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(tampered));
        assertTrue(e.getMessage().contains(tampered.toString()) && e.getMessage().contains("vocabulary map")
                && e.getMessage().contains("vocabulary_sha256"), e.getMessage());
        // export (and generate, which reads through the same source) and eval open checkpoints through load
        e = assertThrows(IllegalArgumentException.class,
                () -> HfLlamaExport.export(tampered, dir.resolve("export"), false));
        assertTrue(e.getMessage().contains(tampered.toString()) && e.getMessage().contains("vocabulary map"), e.getMessage());

        Map<String, String> dropped = new LinkedHashMap<>();
        dropped.put("vocabulary_map", null);
        Path missing = rewriteAsVersion1(good, dir.resolve("missing.safetensors"), dropped);
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(missing));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("the map is missing"), e.getMessage());
    }

    @Test
    void formatVersion1StillLoadsAndItsTensorChecksumHolds(@TempDir Path dir) throws IOException {
        Path good = save(dir.resolve("run"));
        Path old = rewriteAsVersion1(good, dir.resolve("old.safetensors"), Map.of());
        try (Checkpoint v1 = Checkpoint.load(old); Checkpoint v2 = Checkpoint.load(good);
             LlamaModel m = new LlamaModel(be, CheckpointTest.dense(), 1, 4);
             AdamW opt = new AdamW(be, m.parameters(), AdamWConfig.defaults())) {
            assertEquals(Checkpoint.TENSOR_CRC_VERSION, v1.metadata(Checkpoint.MARKER));
            assertEquals(v2.step(), v1.step());
            assertArrayEquals(v2.samplerState(), v1.samplerState());
            assertEquals(map(), v1.vocabularyMap().orElseThrow());
            v1.restoreWeights(m);
            v1.restoreOptimizer(opt);
            for (Parameter p : m.parameters().all()) {
                assertArrayEquals(v2.tensors().get(p.name()).toFloatArray(), be.downloadFloats(p.value()), p.name());
            }
        }
        byte[] bytes = Files.readAllBytes(old);
        bytes[bytes.length - 5] ^= 0x04;
        Path flipped = dir.resolve("old-flipped.safetensors");
        Files.write(flipped, bytes);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(flipped));
        assertTrue(e.getMessage().contains(flipped.toString()) && e.getMessage().contains("corrupted"), e.getMessage());

        Map<String, String> future = new LinkedHashMap<>();
        future.put(Checkpoint.MARKER, "3");
        Path newer = rewriteAsVersion1(good, dir.resolve("newer.safetensors"), future);
        e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(newer));
        assertTrue(e.getMessage().contains(newer.toString()) && e.getMessage().contains("format version 3")
                && e.getMessage().contains("versions 1 and 2"), e.getMessage());
    }

    @Test
    void aVersion2FileWithoutItsChecksumIsRefused(@TempDir Path dir) {
        Path good = save(dir.resolve("run"));
        Map<String, String> asV2 = new LinkedHashMap<>();
        asV2.put(Checkpoint.MARKER, Checkpoint.VERSION);
        asV2.put("crc32c", null);
        Path noSum = rewriteAsVersion1(good, dir.resolve("nosum.safetensors"), asV2);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Checkpoint.load(noSum));
        assertTrue(e.getMessage().contains(noSum.toString()) && e.getMessage().contains("leviathan.checksum"), e.getMessage());
    }

    /**
     * Rewrites {@code source} as format version 1 wrote it (marker 1, {@code crc32c} of the tensor bytes, no
     * whole-file checksum), with {@code changes} applied to the metadata (a null value removes the key).
     */
    static Path rewriteAsVersion1(Path source, Path target, Map<String, String> changes) {
        try (Checkpoint ck = Checkpoint.load(source)) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            CRC32C crc = new CRC32C();
            for (String name : ck.tensors().names()) {
                Tensor t = ck.tensors().get(name);
                tensors.put(name, t);
                crc.update(t.segment().asByteBuffer());
            }
            Map<String, String> meta = new LinkedHashMap<>(ck.metadata());
            meta.remove(CheckpointChecksum.KEY);
            meta.put(Checkpoint.MARKER, Checkpoint.TENSOR_CRC_VERSION);
            meta.put("crc32c", String.format("%08x", crc.getValue()));
            changes.forEach((k, v) -> {
                if (v == null) {
                    meta.remove(k);
                } else {
                    meta.put(k, v);
                }
            });
            SafeTensors.write(target, tensors, meta);
        }
        return target;
    }

    @Test
    void theChecksumIsTheCrcOfTheWholeFileWithItsDigitsZeroed(@TempDir Path dir) throws IOException {
        Path good = save(dir.resolve("run"));
        byte[] bytes = Files.readAllBytes(good);
        String text = new String(bytes, StandardCharsets.ISO_8859_1);
        String open = "\"" + CheckpointChecksum.KEY + "\":\"crc32c:";
        int at = text.indexOf(open) + open.length();
        assertEquals(at - open.length(), text.lastIndexOf(open), "one checksum entry");
        String stored = text.substring(at, at + 8);
        java.util.Arrays.fill(bytes, at, at + 8, (byte) '0');
        CRC32C c = new CRC32C();
        c.update(bytes);
        assertEquals(String.format("%08x", c.getValue()), stored);
        try (TensorArena arena = new TensorArena()) {
            assertEquals("crc32c:" + stored, SafeTensors.open(good, arena).metadata().get(CheckpointChecksum.KEY));
        }
    }
}
