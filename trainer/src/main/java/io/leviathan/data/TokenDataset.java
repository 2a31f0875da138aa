package io.leviathan.data;

import com.fasterxml.jackson.databind.JsonNode;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * A dataset folder written by {@link DataPrepare}: {@code manifest.json}, token shards ({@link TokenShard})
 * and, when compacted, {@code vocab-map.json}. The shards are memory-mapped read-only with
 * {@link TensorArena#map}, without copying; {@link #close()} unmaps them.
 *
 * <p>Each split is the concatenation of its shards, in manifest order, indexed from 0 to
 * {@code tokens(split) - 1}. {@link #token} and {@link #read} return <em>model ids</em>: compact ids when the
 * dataset has a vocabulary map, original tokenizer ids otherwise; {@link #readOriginal} returns the ids as
 * stored.
 *
 * <p>{@link #open} checks the manifest, the vocabulary map and every shard header (magic, version, dtype,
 * tokenizer, token count against the manifest and the file size, largest id against the vocabulary), and for
 * datasets of up to 2^28 tokens scans every id once; larger ones are checked as they are read. An id outside
 * the vocabulary is reported with its shard and position. Reading is thread-safe.
 */
public final class TokenDataset implements AutoCloseable {
    /** Datasets up to this many tokens have every id checked by {@link #open}. */
    public static final long FULL_SCAN_LIMIT = 1L << 28;
    private static final ValueLayout.OfInt LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private record Shard(String file, Path path, long start, long count, int maxId, MemorySegment data) {}

    private final Path dir;
    private final Tokenizer tokenizer;
    private final int vocabSize;
    private final VocabularyMap map;
    private final Shard[][] shards = new Shard[2][];
    private final long[][] starts = new long[2][];
    private final long[] tokens = new long[2];
    private final long[] documents = new long[2];
    private final long skippedLines;
    private final TensorArena arena;
    private volatile boolean closed;

    private TokenDataset(Path dir, Tokenizer tokenizer, int vocabSize, VocabularyMap map, long skippedLines,
                         TensorArena arena) {
        this.dir = dir;
        this.tokenizer = tokenizer;
        this.vocabSize = vocabSize;
        this.map = map;
        this.skippedLines = skippedLines;
        this.arena = arena;
    }

    /**
     * Opens the dataset in {@code dir}.
     *
     * @throws IllegalArgumentException naming the file and the problem when the folder is not a complete, valid
     *     dataset (no manifest, e.g. after an interrupted prepare; a bad or inconsistent manifest; a missing,
     *     truncated or damaged shard; a token id outside the vocabulary, with shard and position)
     */
    public static TokenDataset open(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            throw new IllegalArgumentException("dataset folder not found: " + dir);
        }
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("not a dataset folder: " + dir);
        }
        Path manifestFile = dir.resolve(DataPrepare.MANIFEST);
        if (!Files.isRegularFile(manifestFile)) {
            throw new IllegalArgumentException("not a prepared dataset: " + dir + " has no " + DataPrepare.MANIFEST
                    + " (written last by `data prepare`, so an interrupted prepare leaves none; run it again)");
        }
        JsonNode m;
        try {
            m = DataFiles.JSON.readTree(manifestFile.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(manifestFile + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        String where = manifestFile.toString();
        if (m == null || !m.isObject() || !DataPrepare.FORMAT.equals(m.path("format").asText(null))) {
            throw new IllegalArgumentException(where + ": not a Leviathan dataset manifest (format is not '"
                    + DataPrepare.FORMAT + "')");
        }
        if (m.path("version").asInt(-1) != DataPrepare.VERSION) {
            throw new IllegalArgumentException(where + ": unsupported manifest version " + m.path("version")
                    + " (this build reads version " + DataPrepare.VERSION + ")");
        }
        Tokenizer tok;
        try {
            tok = Tokenizer.of(text(m, "tokenizer", where));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
        if (integer(m, "tokenizerVocabSize", where) != tok.vocabSize()) {
            throw new IllegalArgumentException(where + ": tokenizerVocabSize " + m.get("tokenizerVocabSize")
                    + " does not match " + tok.name() + " (" + tok.vocabSize() + ")");
        }
        if (integer(m, "endOfText", where) != tok.endOfText()) {
            throw new IllegalArgumentException(where + ": endOfText " + m.get("endOfText") + " does not match "
                    + tok.name() + " (" + tok.endOfText() + ")");
        }
        long vocab = integer(m, "vocabSize", where);
        JsonNode compactedNode = m.get("compacted");
        if (compactedNode == null || !compactedNode.isBoolean()) {
            throw new IllegalArgumentException(where + ": missing or non-boolean 'compacted'");
        }
        VocabularyMap map = null;
        if (compactedNode.booleanValue()) {
            String name = text(m, "vocabMap", where);
            Path mapFile = plainFile(dir, name, where);
            map = VocabularyMap.load(mapFile);
            if (!map.tokenizer().equals(tok.name()) || map.tokenizerVocabSize() != tok.vocabSize()) {
                throw new IllegalArgumentException(mapFile + ": map is for " + map.tokenizer() + " ("
                        + map.tokenizerVocabSize() + " ids) but the dataset uses " + tok.name());
            }
            if (map.size() != vocab) {
                throw new IllegalArgumentException(mapFile + ": holds " + map.size() + " ids but " + where
                        + " says vocabSize " + vocab);
            }
            if (!map.contains(tok.endOfText())) {
                throw new IllegalArgumentException(mapFile + ": does not contain the end-of-text id " + tok.endOfText());
            }
        } else if (vocab != tok.vocabSize()) {
            throw new IllegalArgumentException(where + ": vocabSize " + vocab + " of an uncompacted dataset differs"
                    + " from the tokenizer's " + tok.vocabSize());
        }
        JsonNode splits = m.path("splits");
        TensorArena arena = new TensorArena();
        TokenDataset ds = new TokenDataset(dir, tok, (int) vocab, map, m.path("skippedLines").asLong(0), arena);
        try {
            List<List<Shard>> bySplit = List.of(new ArrayList<>(), new ArrayList<>());
            JsonNode shardList = m.get("shards");
            if (shardList == null || !shardList.isArray()) {
                throw new IllegalArgumentException(where + ": missing 'shards' array");
            }
            long[] sums = new long[2];
            for (JsonNode s : shardList) {
                String file = text(s, "file", where + " shard entry");
                Split split = split(text(s, "split", where + " shard " + file), where);
                long count = integer(s, "tokens", where + " shard " + file);
                long maxId = integer(s, "maxId", where + " shard " + file);
                Path path = plainFile(dir, file, where);
                TokenShard.Header h = TokenShard.readHeader(path);
                if (!h.tokenizer().equals(tok.name())) {
                    throw new IllegalArgumentException("token shard " + path + ": written with tokenizer "
                            + h.tokenizer() + " but the dataset uses " + tok.name());
                }
                if (h.count() != count) {
                    throw new IllegalArgumentException("token shard " + path + ": holds " + h.count() + " tokens but "
                            + where + " says " + count);
                }
                if (h.maxId() != maxId) {
                    throw new IllegalArgumentException("token shard " + path + ": largest id " + h.maxId() + " but "
                            + where + " says " + maxId);
                }
                if (h.maxId() >= tok.vocabSize()) {
                    throw new IllegalArgumentException("token shard " + path + ": holds token id " + h.maxId()
                            + ", outside the " + tok.name() + " vocabulary [0, " + tok.vocabSize() + ")");
                }
                if (count == 0) {
                    continue;
                }
                MemorySegment data = arena.map(path, DType.I32, TokenShard.HEADER_BYTES, count).segment();
                List<Shard> list = bySplit.get(split.ordinal());
                list.add(new Shard(file, path, sums[split.ordinal()], count, h.maxId(), data));
                sums[split.ordinal()] += count;
            }
            for (Split s : Split.values()) {
                JsonNode sp = splits.path(s.id());
                long expected = integer(sp, "tokens", where + " splits." + s.id());
                if (expected != sums[s.ordinal()]) {
                    throw new IllegalArgumentException(where + ": splits." + s.id() + ".tokens is " + expected
                            + " but its shards hold " + sums[s.ordinal()]);
                }
                ds.tokens[s.ordinal()] = expected;
                ds.documents[s.ordinal()] = integer(sp, "documents", where + " splits." + s.id());
                List<Shard> list = bySplit.get(s.ordinal());
                ds.shards[s.ordinal()] = list.toArray(new Shard[0]);
                ds.starts[s.ordinal()] = list.stream().mapToLong(Shard::start).toArray();
            }
            if (ds.tokens[0] == 0) {
                throw new IllegalArgumentException(where + ": the dataset has no training tokens");
            }
            if (ds.tokens[0] + ds.tokens[1] <= FULL_SCAN_LIMIT) {
                ds.verify();
            }
            return ds;
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /** Checks every token id of the dataset against the vocabulary (see {@link #open}). */
    public void verify() {
        int[] buf = new int[1 << 16];
        for (Split s : Split.values()) {
            long n = tokens(s);
            for (long pos = 0; pos < n; pos += buf.length) {
                int len = (int) Math.min(buf.length, n - pos);
                read(s, pos, buf, 0, len);
            }
        }
    }

    private static Split split(String id, String where) {
        for (Split s : Split.values()) {
            if (s.id().equals(id)) {
                return s;
            }
        }
        throw new IllegalArgumentException(where + ": unknown split '" + id + "' (expected train or val)");
    }

    private static Path plainFile(Path dir, String name, String where) {
        if (name.isEmpty() || name.contains("/") || name.contains("\\") || name.startsWith(".")) {
            throw new IllegalArgumentException(where + ": file name '" + name + "' must be a plain name inside " + dir);
        }
        return dir.resolve(name);
    }

    private static String text(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new IllegalArgumentException(where + ": missing or non-string '" + field + "'");
        }
        return v.textValue();
    }

    private static long integer(JsonNode n, String field, String where) {
        JsonNode v = n.get(field);
        if (v == null || !v.canConvertToLong() || !v.isIntegralNumber()) {
            throw new IllegalArgumentException(where + ": missing or non-integer '" + field + "'");
        }
        return v.longValue();
    }

    /** The dataset folder. */
    public Path directory() {
        return dir;
    }

    /** The tokenizer's name, e.g. {@code o200k_base}. */
    public String tokenizerName() {
        return tokenizer.name();
    }

    /** The tokenizer (decode model ids with {@link #toOriginal} first when compacted). */
    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The model's vocabulary size: the compacted size when compacted, else the tokenizer's id range. */
    public int vocabSize() {
        return vocabSize;
    }

    /** True when token ids are compacted through {@link #vocabularyMap()}. */
    public boolean compacted() {
        return map != null;
    }

    /** The compaction map, when the dataset was prepared with vocabulary compaction. */
    public Optional<VocabularyMap> vocabularyMap() {
        return Optional.ofNullable(map);
    }

    /** The end-of-text id as a model id (compacted when compacted). */
    public int endOfText() {
        return map == null ? tokenizer.endOfText() : map.toCompact(tokenizer.endOfText());
    }

    /** A model id mapped back to the tokenizer's id (identity when not compacted). */
    public int toOriginal(int modelId) {
        return map == null ? modelId : map.toOriginal(modelId);
    }

    /** Tokens in {@code split}, end-of-text separators included. */
    public long tokens(Split split) {
        return tokens[split.ordinal()];
    }

    /** Documents in {@code split}. */
    public long documents(Split split) {
        return documents[split.ordinal()];
    }

    /** Malformed lines skipped when the dataset was prepared. */
    public long skippedLines() {
        return skippedLines;
    }

    /** Number of shard files of {@code split}. */
    public int shardCount(Split split) {
        return shards[split.ordinal()].length;
    }

    /**
     * The model id at {@code index} of {@code split}.
     *
     * @throws IndexOutOfBoundsException outside {@code [0, tokens(split))}
     */
    public int token(Split split, long index) {
        int[] one = new int[1];
        read(split, index, one, 0, 1);
        return one[0];
    }

    /**
     * Copies the model ids {@code [start, start + len)} of {@code split} into {@code dst[off..]}.
     *
     * @throws IndexOutOfBoundsException for a range outside the split or the array
     * @throws IllegalArgumentException naming shard and position for an id outside the vocabulary
     */
    public void read(Split split, long start, int[] dst, int off, int len) {
        readOriginal(split, start, dst, off, len);
        Shard[] list = shards[split.ordinal()];
        for (int i = 0; i < len; i++) {
            int id = dst[off + i];
            int model = map == null ? (id >= 0 && id < vocabSize ? id : -1) : map.toCompactOrMinusOne(id);
            if (model < 0) {
                long pos = start + i;
                Shard sh = list[shardOf(split, pos)];
                throw new IllegalArgumentException("token shard " + sh.path() + ": token " + (pos - sh.start())
                        + " (" + split.id() + " position " + pos + ") is id " + id + ", outside the "
                        + (map == null ? tokenizer.name() + " vocabulary [0, " + vocabSize + ")"
                                : "compacted vocabulary (" + map.size() + " ids)"));
            }
            dst[off + i] = model;
        }
    }

    /** Like {@link #read} but copies the ids as stored (original tokenizer ids), unchecked. */
    public void readOriginal(Split split, long start, int[] dst, int off, int len) {
        if (closed) {
            throw new IllegalStateException("dataset " + dir + " is closed");
        }
        long n = tokens(split);
        if (start < 0 || len < 0 || start > n - len) {
            throw new IndexOutOfBoundsException("tokens [" + start + ", " + (start + len) + ") outside the "
                    + split.id() + " split of " + n + " tokens in " + dir);
        }
        java.util.Objects.checkFromIndexSize(off, len, dst.length);
        Shard[] list = shards[split.ordinal()];
        int k = len == 0 ? 0 : shardOf(split, start);
        long pos = start;
        int done = 0;
        while (done < len) {
            Shard sh = list[k];
            long inShard = pos - sh.start();
            int n1 = (int) Math.min(len - done, sh.count() - inShard);
            MemorySegment.copy(sh.data(), LE, inShard * 4, dst, off + done, n1);
            done += n1;
            pos += n1;
            k++;
        }
    }

    private int shardOf(Split split, long pos) {
        long[] st = starts[split.ordinal()];
        int i = Arrays.binarySearch(st, pos);
        return i >= 0 ? i : -i - 2;
    }

    /** Unmaps the shards; reading afterwards throws. Calling it again does nothing. */
    @Override
    public void close() {
        closed = true;
        arena.close();
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "TokenDataset[%s, %s, vocab %d%s, train %d, val %d tokens]", dir,
                tokenizer.name(), vocabSize, map != null ? " compacted" : "", tokens[0], tokens[1]);
    }
}
