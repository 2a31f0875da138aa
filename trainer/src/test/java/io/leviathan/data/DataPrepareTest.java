package io.leviathan.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.train.SharedFixture;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataPrepareTest {
    @TempDir
    Path tmp;

    private static JsonNode manifest(Path dir) throws IOException {
        return Fixtures.JSON.readTree(dir.resolve(DataPrepare.MANIFEST).toFile());
    }

    @Test
    void devCorpusSliceEndToEnd() throws IOException {
        Path corpus = SharedFixture.require(Fixtures.devCorpus(), "the development corpus data/nlp-corpus.jsonl.zst");
        List<String> lines = Fixtures.zstLines(corpus, 2000);
        Path slice = Fixtures.writeZst(tmp.resolve("slice.jsonl.zst"), lines);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path out = tmp.resolve("ds");
        DataPrepare.prepare(List.of(slice), out, "o200k_base", 0.05, true, false, 10_000,
                new PrintStream(log, true, StandardCharsets.UTF_8));
        String progress = log.toString(StandardCharsets.UTF_8);
        assertTrue(progress.contains("2,000 documents: 1,900 train, 100 val"), progress);
        assertTrue(progress.contains("wrote "), progress);

        JsonNode m = manifest(out);
        assertEquals("o200k_base", m.get("tokenizer").asText());
        assertEquals(200_019, m.get("tokenizerVocabSize").asInt());
        assertTrue(m.get("compacted").asBoolean());
        assertEquals(1900, m.at("/splits/train/documents").asLong());
        assertEquals(100, m.at("/splits/val/documents").asLong());
        assertEquals(slice.toString(), m.at("/sources/0/path").asText());
        assertEquals(2000, m.at("/sources/0/documents").asLong());
        // the manifest's counts equal the shards' contents
        long[] sums = new long[2];
        int shards = 0;
        for (JsonNode s : m.get("shards")) {
            Path f = out.resolve(s.get("file").asText());
            TokenShard.Header h = TokenShard.readHeader(f);
            assertEquals(s.get("tokens").asLong(), h.count());
            assertEquals(Files.size(f), 64 + 4 * h.count());
            assertEquals(s.get("maxId").asInt(), h.maxId());
            assertTrue(h.count() <= 10_000);
            sums[s.get("split").asText().equals("train") ? 0 : 1] += h.count();
            shards++;
        }
        assertTrue(shards >= 3, "small shard limit gives several shards, got " + shards);
        assertEquals(m.at("/splits/train/tokens").asLong(), sums[0]);
        assertEquals(m.at("/splits/val/tokens").asLong(), sums[1]);

        try (TokenDataset ds = TokenDataset.open(out)) {
            assertEquals(sums[0], ds.tokens(Split.TRAIN));
            assertEquals(sums[1], ds.tokens(Split.VAL));
            VocabularyMap map = ds.vocabularyMap().orElseThrow();
            assertEquals(map.size(), ds.vocabSize());
            assertEquals(m.get("vocabSize").asInt(), ds.vocabSize());
            assertTrue(ds.vocabSize() < 20_000 && ds.vocabSize() > 1000, "vocab " + ds.vocabSize());
            // round trip: the documents decode to the source texts, the validation split being the last 5 %
            List<String> train = Fixtures.documents(ds, Split.TRAIN);
            List<String> val = Fixtures.documents(ds, Split.VAL);
            assertEquals(1900, train.size());
            assertEquals(100, val.size());
            for (int i : new int[] {0, 1, 17, 1899}) {
                assertEquals(Fixtures.textOf(lines.get(i)), train.get(i), "train document " + i);
            }
            assertEquals(Fixtures.textOf(lines.get(1900)), val.get(0));
            assertEquals(Fixtures.textOf(lines.get(1999)), val.get(99));
            // compaction: dense, ordered by original id, consistent both ways, covering every token
            int[] orig = map.originalIds();
            for (int c = 0; c < orig.length; c++) {
                assertEquals(orig[c], map.toOriginal(c));
                assertEquals(c, map.toCompact(orig[c]));
                if (c > 0) {
                    assertTrue(orig[c] > orig[c - 1]);
                }
            }
            int[] trainTokens = Fixtures.all(ds, Split.TRAIN);
            java.util.BitSet used = new java.util.BitSet();
            for (int t : trainTokens) {
                used.set(t);
            }
            for (int t : Fixtures.all(ds, Split.VAL)) {
                used.set(t);
            }
            assertEquals(map.size(), used.cardinality(), "every compact id occurs (end-of-text included)");
            assertEquals(map.toCompact(199_999), ds.endOfText());
            assertEquals(ds.endOfText(), trainTokens[0]);
            assertEquals(trainTokens[12_345], ds.token(Split.TRAIN, 12_345));
            assertEquals(map, VocabularyMap.load(out.resolve(DataPrepare.VOCAB_MAP)));
        }
    }

    @Test
    void textJsonlAndZstFixturesWithoutCompaction() throws IOException {
        List<String> a = Fixtures.sentences(30, "Alpha");
        List<String> withBlanks = new ArrayList<>(a);
        withBlanks.add(5, "");
        withBlanks.add(9, "   ");
        Path txt = Fixtures.write(tmp.resolve("a.txt"), withBlanks);
        List<String> b = Fixtures.sentences(20, "Beta");
        List<String> bLines = new ArrayList<>(b.stream().map(Fixtures::jsonLine).toList());
        bLines.add(3, "");
        bLines.add(4, "{\"text\": \"\"}"); // an empty document is no document
        Path dir = Files.createDirectories(tmp.resolve("in"));
        Fixtures.write(dir.resolve("b.jsonl"), bLines);
        List<String> c = Fixtures.sentences(10, "Gamma");
        Fixtures.writeZst(dir.resolve("c.jsonl.zst"), c.stream().map(Fixtures::jsonLine).toList());
        Files.writeString(dir.resolve("ignored.md"), "not a corpus file");

        Path out = tmp.resolve("ds");
        DataPrepare.prepare(List.of(txt, dir), out, "cl100k_base", 0.0, false, false, null);
        try (TokenDataset ds = TokenDataset.open(out)) {
            assertEquals("cl100k_base", ds.tokenizerName());
            assertEquals(100_277, ds.vocabSize());
            assertFalse(ds.compacted());
            assertEquals(100_257, ds.endOfText());
            assertEquals(0, ds.tokens(Split.VAL));
            List<String> expected = new ArrayList<>(a);
            expected.addAll(b);
            expected.addAll(c);
            assertEquals(expected, Fixtures.documents(ds, Split.TRAIN));
        }
        JsonNode m = manifest(out);
        assertEquals(3, m.get("sources").size());
        assertEquals(dir.resolve("b.jsonl").toString(), m.at("/sources/1/path").asText());
        assertEquals("text", m.at("/sources/0/format").asText());
        assertTrue(m.at("/sources/2/zstd").asBoolean());
    }

    @Test
    void malformedJsonLineNamesFileAndLine() throws IOException {
        List<String> lines = new ArrayList<>(Fixtures.sentences(5, "x").stream().map(Fixtures::jsonLine).toList());
        lines.add(2, "{\"text\": \"unterminated");
        lines.add(4, "{\"meta\": 1}");
        lines.add(5, "[1, 2]");
        Path f = Fixtures.write(tmp.resolve("bad.jsonl"), lines);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(f), tmp.resolve("ds"), "o200k_base", 0.2, false, false, null));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("line 3"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("ds")));

        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Path out = DataPrepare.prepare(List.of(f), tmp.resolve("ds"), "o200k_base", 0.2, true, true,
                new PrintStream(log, true, StandardCharsets.UTF_8));
        assertTrue(log.toString(StandardCharsets.UTF_8).contains("skipped 3 malformed lines (first: " + f + ": line 3"),
                log.toString(StandardCharsets.UTF_8));
        assertEquals(3, manifest(out).get("skippedLines").asLong());
        try (TokenDataset ds = TokenDataset.open(out)) {
            assertEquals(3, ds.skippedLines());
            assertEquals(4, ds.documents(Split.TRAIN));
            assertEquals(1, ds.documents(Split.VAL));
        }

        Path noText = Fixtures.write(tmp.resolve("notext.jsonl"), List.of(Fixtures.jsonLine("fine"), "{\"txt\": \"a\"}"));
        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(noText), tmp.resolve("ds2"), "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains(noText + ": line 2: no \"text\" field"), e.getMessage());
    }

    @Test
    void badInputsGiveClearErrors() throws IOException {
        Path missing = tmp.resolve("nope.jsonl");
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(missing), tmp.resolve("o1"), "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains(missing.toString()), e.getMessage());

        Path empty = Fixtures.write(tmp.resolve("empty.txt"), List.of("", "  ", ""));
        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(empty), tmp.resolve("o2"), "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains("empty corpus") && e.getMessage().contains(empty.toString()), e.getMessage());

        Path odd = Fixtures.write(tmp.resolve("data.csv"), List.of("a,b"));
        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(odd), tmp.resolve("o3"), "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains(odd.toString()) && e.getMessage().contains("unsupported"), e.getMessage());

        Path zst = Fixtures.writeZst(tmp.resolve("cut.jsonl.zst"),
                Fixtures.sentences(3000, "z").stream().map(Fixtures::jsonLine).toList());
        byte[] bytes = Files.readAllBytes(zst);
        Files.write(zst, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        e = assertThrows(UncheckedIOException.class,
                () -> DataPrepare.prepare(List.of(zst), tmp.resolve("o4"), "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains(zst.toString()), e.getMessage());

        Path badUtf8 = tmp.resolve("latin1.txt");
        Files.write(badUtf8, "fine\ncaf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(badUtf8), tmp.resolve("o5"), "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains(badUtf8 + ": line 2: invalid UTF-8"), e.getMessage());

        Path one = Fixtures.write(tmp.resolve("one.txt"), List.of("only one document"));
        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(one), tmp.resolve("o6"), "o200k_base", 0.05, false, false, null));
        assertTrue(e.getMessage().contains("leaves no training documents"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(one), tmp.resolve("o7"), "gpt2", 0, false, false, null));
        assertTrue(e.getMessage().contains("unknown tokenizer 'gpt2'"), e.getMessage());

        Path busy = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(busy.resolve("precious.txt"), "keep me");
        e = assertThrows(IllegalArgumentException.class,
                () -> DataPrepare.prepare(List.of(one), busy, "o200k_base", 0, false, false, null));
        assertTrue(e.getMessage().contains("refusing to overwrite"), e.getMessage());
        assertTrue(Files.exists(busy.resolve("precious.txt")));
    }

    @Test
    void interruptedPrepareLeavesNoDatasetAndKeepsTheOldOne() throws IOException {
        Path out = tmp.resolve("ds");
        Path good = Fixtures.write(tmp.resolve("good.txt"), Fixtures.sentences(50, "old"));
        DataPrepare.prepare(List.of(good), out, "o200k_base", 0.1, false, false, null);
        long oldTrain;
        try (TokenDataset ds = TokenDataset.open(out)) {
            oldTrain = ds.tokens(Split.TRAIN);
        }
        // a source whose second reading (the tokenising pass) fails half-way
        byte[] data = (String.join("\n", Fixtures.sentences(4000, "new")) + "\n").getBytes(StandardCharsets.UTF_8);
        int[] opens = {0};
        CorpusReader.Source flaky = CorpusReader.describe("flaky.txt", data.length, () -> {
            boolean fail = ++opens[0] == 2;
            return new FilterInputStream(new java.io.ByteArrayInputStream(data)) {
                long read;

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (fail && read > data.length / 2) {
                        throw new IOException("disk unplugged");
                    }
                    int r = super.read(b, off, Math.min(len, 4096));
                    read += Math.max(r, 0);
                    return r;
                }
            };
        });
        UncheckedIOException e = assertThrows(UncheckedIOException.class, () -> DataPrepare.prepareSources(
                List.of(flaky), out, "o200k_base", 0.1, false, false, 1000, null, null));
        assertTrue(e.getMessage().contains("flaky.txt") && e.getMessage().contains("disk unplugged"), e.getMessage());
        try (Stream<Path> s = Files.list(tmp)) {
            assertEquals(List.of(), s.filter(p -> p.getFileName().toString().startsWith(".")).toList(),
                    "no staging folder left behind");
        }
        try (TokenDataset ds = TokenDataset.open(out)) {
            assertEquals(oldTrain, ds.tokens(Split.TRAIN), "the previous dataset is untouched");
        }
        // a second prepare replaces the existing dataset
        DataPrepare.prepare(List.of(good, Fixtures.write(tmp.resolve("more.txt"), Fixtures.sentences(50, "more"))),
                out, "o200k_base", 0.1, false, false, null);
        try (TokenDataset ds = TokenDataset.open(out)) {
            assertTrue(ds.tokens(Split.TRAIN) > oldTrain);
        }
    }

    @Test
    void partialOrDamagedDatasetsAreRejected() throws IOException {
        Path src = Fixtures.write(tmp.resolve("s.txt"), Fixtures.sentences(200, "s"));
        Path out = DataPrepare.prepare(List.of(src), tmp.resolve("ds"), "o200k_base", 0.1, true, false, 1000, null);
        JsonNode m = manifest(out);
        Path shard0 = out.resolve(m.at("/shards/0/file").asText());
        assertEquals("train-00000.tok", shard0.getFileName().toString());

        // shards without a manifest, as an interrupted prepare might leave them
        Path noManifest = copy(out, "nomanifest");
        Files.delete(noManifest.resolve("manifest.json"));
        Exception e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(noManifest));
        assertTrue(e.getMessage().contains("no manifest.json"), e.getMessage());

        Path truncated = copy(out, "truncated");
        try (FileChannel ch = FileChannel.open(truncated.resolve("train-00000.tok"), StandardOpenOption.WRITE)) {
            ch.truncate(ch.size() - 4);
        }
        e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(truncated));
        assertTrue(e.getMessage().contains("train-00000.tok") && e.getMessage().contains("truncated"), e.getMessage());

        Path zeroHeader = copy(out, "zeroheader"); // a shard whose header was never written
        try (FileChannel ch = FileChannel.open(zeroHeader.resolve("train-00000.tok"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(64), 0);
        }
        e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(zeroHeader));
        assertTrue(e.getMessage().contains("train-00000.tok") && e.getMessage().contains("bad magic"), e.getMessage());

        Path missingShard = copy(out, "missingshard");
        Files.delete(missingShard.resolve("val-00000.tok"));
        e = assertThrows(UncheckedIOException.class, () -> TokenDataset.open(missingShard));
        assertTrue(e.getMessage().contains("val-00000.tok"), e.getMessage());

        Path badCount = copy(out, "badcount");
        ObjectNode mm = (ObjectNode) manifest(badCount);
        ((ObjectNode) mm.get("shards").get(0)).put("tokens", 999);
        Files.write(badCount.resolve("manifest.json"), Fixtures.JSON.writeValueAsBytes(mm));
        e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(badCount));
        assertTrue(e.getMessage().contains("train-00000.tok") && e.getMessage().contains("999"), e.getMessage());

        Path brokenJson = copy(out, "brokenjson");
        Files.writeString(brokenJson.resolve("manifest.json"), "{\"format\": \"leviathan-token-dataset\", ");
        e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(brokenJson));
        assertTrue(e.getMessage().contains("manifest.json") && e.getMessage().contains("not valid JSON"), e.getMessage());

        // an id the compacted vocabulary does not hold, below the shard's recorded largest id
        Path foreign = copy(out, "foreign");
        VocabularyMap map = VocabularyMap.load(foreign.resolve("vocab-map.json"));
        int absent = 0;
        while (map.contains(absent)) {
            absent++;
        }
        try (FileChannel ch = FileChannel.open(foreign.resolve("train-00000.tok"), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, absent), 64 + 4 * 7);
        }
        e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(foreign));
        assertTrue(e.getMessage().contains("train-00000.tok: token 7 ") && e.getMessage().contains("id " + absent),
                e.getMessage());

        // an id past the tokenizer's range
        Path outside = copy(out, "outside");
        try (FileChannel ch = FileChannel.open(outside.resolve("val-00000.tok"), StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, 300_000);
            ch.write(b, 24); // header's largest id
        }
        e = assertThrows(IllegalArgumentException.class, () -> TokenDataset.open(outside));
        assertTrue(e.getMessage().contains("val-00000.tok"), e.getMessage());

        TokenDataset closed = TokenDataset.open(out);
        closed.close();
        assertThrows(IllegalStateException.class, () -> closed.token(Split.TRAIN, 0));
    }

    @Test
    void shardHeaderLayout() throws IOException {
        Path f = tmp.resolve("x.tok");
        try (TokenShard.Writer w = new TokenShard.Writer(f, "o200k_base")) {
            for (int id : new int[] {5, 199_999, 42}) {
                w.write(id);
            }
            w.finish();
        }
        byte[] b = Files.readAllBytes(f);
        assertEquals(64 + 12, b.length);
        assertEquals("LVTOKENS", new String(b, 0, 8, StandardCharsets.US_ASCII));
        ByteBuffer bb = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(1, bb.getInt(8));
        assertEquals(1, bb.getInt(12));
        assertEquals(3, bb.getLong(16));
        assertEquals(199_999, bb.getInt(24));
        assertEquals(64, bb.getInt(28));
        assertEquals("o200k_base", new String(b, 32, 10, StandardCharsets.US_ASCII));
        assertEquals(0, b[42]);
        assertArrayEquals(new int[] {5, 199_999, 42}, new int[] {bb.getInt(64), bb.getInt(68), bb.getInt(72)});
        assertEquals(new TokenShard.Header(1, 1, 3, 199_999, "o200k_base"), TokenShard.readHeader(f));

        bb.putInt(8, 2);
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> TokenShard.parse(ByteBuffer.wrap(b), f, b.length));
        assertTrue(e.getMessage().contains(f.toString()) && e.getMessage().contains("version 2"), e.getMessage());
        bb.putInt(8, 1);
        bb.putInt(12, 7);
        e = assertThrows(IllegalArgumentException.class, () -> TokenShard.parse(ByteBuffer.wrap(b), f, b.length));
        assertTrue(e.getMessage().contains("dtype code 7"), e.getMessage());
        bb.putInt(12, 1);
        e = assertThrows(IllegalArgumentException.class, () -> TokenShard.parse(ByteBuffer.wrap(b), f, 20));
        assertTrue(e.getMessage().contains("shorter than the 64-byte header"), e.getMessage());
    }

    private Path copy(Path dir, String name) throws IOException {
        Path to = Files.createDirectories(tmp.resolve(name));
        try (Stream<Path> s = Files.list(dir)) {
            for (Path p : s.toList()) {
                Files.copy(p, to.resolve(p.getFileName()));
            }
        }
        return to;
    }
}
