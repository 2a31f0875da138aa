package io.leviathan.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;

/**
 * Strict reading of JSON configuration files: duplicate keys and trailing content are errors, and so is any
 * key outside the documented set, with a message that names the source and lists the valid keys.
 */
public final class JsonConfig {
    /** Strict about duplicates and trailing tokens; writes indented JSON. */
    public static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(SerializationFeature.INDENT_OUTPUT);

    private JsonConfig() {}

    /**
     * Parses {@code json} as one object whose keys all belong to {@code keys}.
     *
     * @param source names the text (usually a file) in error messages
     * @throws IllegalArgumentException for invalid JSON, a non-object, or an unknown key
     */
    public static JsonNode parseObject(String json, String source, List<String> keys) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(source + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException(source + ": expected a JSON object with keys " + String.join(", ", keys));
        }
        checkKeys(source, "", root, keys);
        return root;
    }

    /**
     * Throws unless every key of {@code obj} is in {@code valid}. {@code prefix} (empty, or a section name
     * followed by a dot) qualifies the keys of a nested object in the message.
     */
    public static void checkKeys(String source, String prefix, JsonNode obj, List<String> valid) {
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = obj.fieldNames(); it.hasNext(); ) {
            String k = it.next();
            if (!valid.contains(k)) {
                unknown.add("'" + prefix + k + "'");
            }
        }
        if (!unknown.isEmpty()) {
            throw new IllegalArgumentException(source + ": unknown key" + (unknown.size() > 1 ? "s " : " ")
                    + String.join(", ", unknown) + "; valid keys"
                    + (prefix.isEmpty() ? "" : " of '" + prefix.substring(0, prefix.length() - 1) + "'")
                    + ": " + String.join(", ", valid));
        }
    }
}
