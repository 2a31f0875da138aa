package io.leviathan.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.BitSet;

/**
 * Vocabulary compaction: the token ids that occur in a dataset (plus {@code <|endoftext|>}), renumbered
 * densely from 0 in the order of their original ids. A model trained on a compacted dataset has
 * {@link #size()} rows in its embedding and output head instead of the tokenizer's full range; its ids are
 * compact ids, so text generation maps every sampled id back with {@link #toOriginal} before
 * {@link Tokenizer#decode}, and maps a prompt's ids with {@link #toCompact}.
 *
 * <p>Saved as JSON ({@code vocab-map.json} in a dataset folder):
 * <pre>{@code {"format": "leviathan-vocab-map", "version": 1, "tokenizer": "o200k_base",
 *  "tokenizerVocabSize": 200019, "size": 3, "originalIds": [11, 264, 199999]}}</pre>
 * where {@code originalIds[c]} is the original id of compact id {@code c}.
 */
public final class VocabularyMap {
    static final String FORMAT = "leviathan-vocab-map";
    static final int VERSION = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String tokenizer;
    private final int tokenizerVocabSize;
    private final int[] originalIds;
    private final int[] compact; // original id -> compact id, -1 where absent

    private VocabularyMap(String tokenizer, int tokenizerVocabSize, int[] originalIds) {
        this.tokenizer = tokenizer;
        this.tokenizerVocabSize = tokenizerVocabSize;
        this.originalIds = originalIds;
        this.compact = new int[tokenizerVocabSize];
        Arrays.fill(compact, -1);
        for (int c = 0; c < originalIds.length; c++) {
            compact[originalIds[c]] = c;
        }
    }

    /**
     * A map over {@code originalIds}, which must be strictly increasing and inside {@code [0, tokenizerVocabSize)}.
     *
     * @throws IllegalArgumentException naming the offending id otherwise
     */
    public static VocabularyMap of(String tokenizer, int tokenizerVocabSize, int[] originalIds) {
        check(originalIds, tokenizerVocabSize, "vocabulary map");
        return new VocabularyMap(tokenizer, tokenizerVocabSize, originalIds.clone());
    }

    /** A map over the set bits of {@code present} (ids of {@code tokenizer}). */
    public static VocabularyMap of(Tokenizer tokenizer, BitSet present) {
        return of(tokenizer.name(), tokenizer.vocabSize(), present.stream().toArray());
    }

    private static void check(int[] ids, int tokenizerVocabSize, String where) {
        if (ids.length == 0) {
            throw new IllegalArgumentException(where + ": no ids");
        }
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] < 0 || ids[i] >= tokenizerVocabSize) {
                throw new IllegalArgumentException(where + ": original id " + ids[i] + " at index " + i
                        + " is outside the tokenizer's range [0, " + tokenizerVocabSize + ")");
            }
            if (i > 0 && ids[i] <= ids[i - 1]) {
                throw new IllegalArgumentException(where + ": original ids must be strictly increasing, but index "
                        + i + " holds " + ids[i] + " after " + ids[i - 1]);
            }
        }
    }

    /** The number of compact ids (the model's vocabulary size). */
    public int size() {
        return originalIds.length;
    }

    /** The tokenizer whose ids this map compacts. */
    public String tokenizer() {
        return tokenizer;
    }

    /** The tokenizer's id range. */
    public int tokenizerVocabSize() {
        return tokenizerVocabSize;
    }

    /** True if {@code originalId} has a compact id. */
    public boolean contains(int originalId) {
        return originalId >= 0 && originalId < compact.length && compact[originalId] >= 0;
    }

    /**
     * The compact id of {@code originalId}.
     *
     * @throws IllegalArgumentException naming the id when it is not in the map
     */
    public int toCompact(int originalId) {
        if (!contains(originalId)) {
            throw new IllegalArgumentException("token id " + originalId + " (" + tokenizer
                    + ") is not in the compacted vocabulary of " + size() + " ids: it never occurred in the dataset");
        }
        return compact[originalId];
    }

    /** Compact id for {@code originalId}, or -1 when absent (no exception; for hot loops). */
    int toCompactOrMinusOne(int originalId) {
        return originalId >= 0 && originalId < compact.length ? compact[originalId] : -1;
    }

    /**
     * The original tokenizer id of {@code compactId}.
     *
     * @throws IllegalArgumentException when {@code compactId} is outside {@code [0, size())}
     */
    public int toOriginal(int compactId) {
        if (compactId < 0 || compactId >= originalIds.length) {
            throw new IllegalArgumentException("compact token id " + compactId + " is outside [0, " + size() + ")");
        }
        return originalIds[compactId];
    }

    /** {@link #toOriginal} of every element, in a new array. */
    public int[] toOriginal(int[] compactIds) {
        int[] out = new int[compactIds.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = toOriginal(compactIds[i]);
        }
        return out;
    }

    /** {@link #toCompact} of every element, in a new array. */
    public int[] toCompact(int[] originalIdsToMap) {
        int[] out = new int[originalIdsToMap.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = toCompact(originalIdsToMap[i]);
        }
        return out;
    }

    /** The original ids in compact order (increasing); a copy. */
    public int[] originalIds() {
        return originalIds.clone();
    }

    /** This map as JSON text (the format in the class comment), e.g. for checkpoint metadata. */
    public String toJsonString() {
        return new String(DataFiles.toJsonBytes(toJson(), false), java.nio.charset.StandardCharsets.UTF_8);
    }

    /**
     * The map in JSON text from {@link #toJsonString()}; {@code where} names its source in errors.
     *
     * @throws IllegalArgumentException naming {@code where} when the text is not a valid map
     */
    public static VocabularyMap fromJsonString(String json, String where) {
        try {
            return fromJson(JSON.readTree(json), where);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(where + ": vocabulary map is not valid JSON: " + e.getOriginalMessage(), e);
        }
    }

    /** This map as a JSON tree (the format in the class comment). */
    ObjectNode toJson() {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("version", VERSION);
        root.put("tokenizer", tokenizer);
        root.put("tokenizerVocabSize", tokenizerVocabSize);
        root.put("size", originalIds.length);
        ArrayNode ids = root.putArray("originalIds");
        for (int id : originalIds) {
            ids.add(id);
        }
        return root;
    }

    /** The map described by a JSON tree from {@link #toJson()}; {@code where} names its source in errors. */
    static VocabularyMap fromJson(JsonNode root, String where) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(where + ": not a JSON object");
        }
        if (!FORMAT.equals(root.path("format").asText(null))) {
            throw new IllegalArgumentException(where + ": not a vocabulary map (format is not '" + FORMAT + "')");
        }
        if (root.path("version").asInt(-1) != VERSION) {
            throw new IllegalArgumentException(where + ": unsupported vocabulary map version " + root.path("version")
                    + " (this build reads version " + VERSION + ")");
        }
        String tok = root.path("tokenizer").asText(null);
        if (tok == null) {
            throw new IllegalArgumentException(where + ": no 'tokenizer'");
        }
        JsonNode tokVocabNode = root.path("tokenizerVocabSize");
        if (!tokVocabNode.isInt() || tokVocabNode.intValue() <= 0) {
            throw new IllegalArgumentException(where + ": missing or bad 'tokenizerVocabSize': " + tokVocabNode);
        }
        int tokVocab = tokVocabNode.intValue();
        int known;
        try {
            known = Tokenizer.vocabSizeOf(tok);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
        if (tokVocab != known) {
            // the map allocates one slot per tokenizer id: the size comes from the tokenizer, not the file
            throw new IllegalArgumentException(where + ": 'tokenizerVocabSize' is " + tokVocab + " but tokenizer "
                    + tok + " has " + known + " ids");
        }
        JsonNode ids = root.path("originalIds");
        if (!ids.isArray()) {
            throw new IllegalArgumentException(where + ": 'originalIds' is not an array");
        }
        int[] out = new int[ids.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode n = ids.get(i);
            if (!n.isInt()) {
                throw new IllegalArgumentException(where + ": originalIds[" + i + "] is not an integer: " + n);
            }
            out[i] = n.intValue();
        }
        if (root.has("size") && root.path("size").asInt(-1) != out.length) {
            throw new IllegalArgumentException(where + ": 'size' is " + root.path("size") + " but 'originalIds' holds "
                    + out.length + " ids");
        }
        check(out, tokVocab, where);
        return new VocabularyMap(tok, tokVocab, out);
    }

    /** Writes this map as JSON to {@code file}, atomically (a temporary file, then a rename). */
    public void save(Path file) {
        DataFiles.writeAtomically(file, DataFiles.toJsonBytes(toJson(), false));
    }

    /**
     * Reads a map saved by {@link #save}.
     *
     * @throws IllegalArgumentException or {@link UncheckedIOException} naming the file when it is missing or invalid
     */
    public static VocabularyMap load(Path file) {
        JsonNode root;
        try {
            root = JSON.readTree(file.toFile());
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            throw new UncheckedIOException("vocabulary map not found: " + file, e);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalArgumentException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read vocabulary map " + file + ": " + e.getMessage(), e);
        }
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(file + ": not a regular file");
        }
        return fromJson(root, file.toString());
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof VocabularyMap m && m.tokenizer.equals(tokenizer)
                && m.tokenizerVocabSize == tokenizerVocabSize && Arrays.equals(m.originalIds, originalIds);
    }

    @Override
    public int hashCode() {
        return tokenizer.hashCode() * 31 + Arrays.hashCode(originalIds);
    }

    @Override
    public String toString() {
        return "VocabularyMap[" + tokenizer + ", " + size() + " of " + tokenizerVocabSize + " ids]";
    }
}
