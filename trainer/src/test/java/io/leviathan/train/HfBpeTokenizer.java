package io.leviathan.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An independent reader of a Hugging Face {@code tokenizer.json} with a byte-level BPE model, written from the
 * {@code tokenizers} documentation and nothing of ours but the file: added tokens split the text first; the
 * {@code Sequence} pre-tokenizer's {@code Split} ({@code Isolated}: matches and the text between them are
 * pieces) and {@code ByteLevel} (UTF-8 bytes through GPT-2's {@code bytes_to_unicode}, built here again); the
 * BPE model takes a piece that is a whole vocabulary entry as is when {@code ignore_merges} is set, and
 * otherwise starts from single characters and repeatedly merges the adjacent pair that comes first in
 * {@code merges} (the leftmost such pair on ties); the {@code ByteLevel} decoder maps characters back to bytes
 * and reads them as UTF-8. As in the Rust library, an added token's id is not read from the file: a token
 * already in the vocabulary keeps its id and the others are numbered from the vocabulary's size on, in file
 * order (the ids in the file must agree, or the reader refuses the file). It refuses what it does not implement, so a file in another form fails the test.
 */
final class HfBpeTokenizer {
    private final Map<String, Integer> vocab = new HashMap<>();
    private final Map<Integer, String> tokenOf = new HashMap<>();
    private final Map<String, Integer> mergeRank = new HashMap<>(); // "left right" -> priority
    private final Map<String, Integer> added = new LinkedHashMap<>();
    private final Pattern addedPattern;
    private final Pattern split;
    private final boolean ignoreMerges;
    private final char[] charOfByte = new char[256];
    private final Map<Character, Integer> byteOfChar = new HashMap<>();

    HfBpeTokenizer(Path file) throws IOException {
        JsonNode root = new ObjectMapper().readTree(file.toFile());
        JsonNode model = root.get("model");
        require("BPE".equals(model.path("type").asText()), "model.type is not BPE");
        require(!model.path("byte_fallback").asBoolean(false), "byte_fallback is not implemented");
        require(root.get("normalizer").isNull(), "normalizers are not implemented");
        ignoreMerges = model.path("ignore_merges").asBoolean(false);
        model.get("vocab").properties().forEach(e -> {
            vocab.put(e.getKey(), e.getValue().intValue());
            tokenOf.put(e.getValue().intValue(), e.getKey());
        });
        JsonNode merges = model.get("merges");
        for (int i = 0; i < merges.size(); i++) {
            JsonNode m = merges.get(i);
            String key = m.isArray() ? m.get(0).asText() + " " + m.get(1).asText() : m.asText();
            mergeRank.putIfAbsent(key, i);
        }
        StringBuilder alternatives = new StringBuilder();
        int next = vocab.size();
        for (JsonNode t : root.get("added_tokens")) {
            String content = t.get("content").asText();
            int id = vocab.containsKey(content) ? vocab.get(content) : next++;
            require(id == t.get("id").intValue(), "added token " + content + " has id " + t.get("id")
                    + " in the file but loads as " + id);
            added.put(content, id);
            tokenOf.put(id, content);
            alternatives.append(alternatives.isEmpty() ? "" : "|").append(Pattern.quote(content));
        }
        addedPattern = alternatives.isEmpty() ? null : Pattern.compile(alternatives.toString());

        JsonNode pre = root.get("pre_tokenizer");
        require("Sequence".equals(pre.path("type").asText()), "pre_tokenizer is not a Sequence");
        JsonNode steps = pre.get("pretokenizers");
        require(steps.size() == 2, "pre_tokenizer: expected Split then ByteLevel");
        JsonNode s = steps.get(0);
        require("Split".equals(s.path("type").asText()) && "Isolated".equals(s.path("behavior").asText())
                && !s.path("invert").asBoolean(), "pre_tokenizer[0] is not an isolating Split");
        // Rust's regex engines give \s and case folding their Unicode meaning
        split = Pattern.compile(s.get("pattern").get("Regex").asText(), Pattern.UNICODE_CHARACTER_CLASS);
        JsonNode b = steps.get(1);
        require("ByteLevel".equals(b.path("type").asText()) && !b.path("add_prefix_space").asBoolean()
                && !b.path("use_regex").asBoolean(), "pre_tokenizer[1] is not a plain ByteLevel step");
        require("ByteLevel".equals(root.get("decoder").path("type").asText()), "decoder is not ByteLevel");

        int n = 0;
        for (int c = 0; c < 256; c++) {
            boolean kept = (c >= 33 && c <= 126) || (c >= 161 && c <= 172) || (c >= 174 && c <= 255);
            charOfByte[c] = (char) (kept ? c : 256 + n++);
            byteOfChar.put(charOfByte[c], c);
        }
    }

    private static void require(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException("tokenizer.json: " + what);
        }
    }

    /** The ids of {@code text}, added tokens included. */
    int[] encode(String text) {
        List<Integer> out = new ArrayList<>();
        int from = 0;
        if (addedPattern != null) {
            Matcher m = addedPattern.matcher(text);
            while (m.find()) {
                encodeOrdinary(text.substring(from, m.start()), out);
                out.add(added.get(m.group()));
                from = m.end();
            }
        }
        encodeOrdinary(text.substring(from), out);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    private void encodeOrdinary(String text, List<Integer> out) {
        Matcher m = split.matcher(text);
        int from = 0;
        while (m.find()) {
            if (m.start() > from) {
                piece(text.substring(from, m.start()), out);
            }
            piece(m.group(), out);
            from = m.end();
        }
        if (from < text.length()) {
            piece(text.substring(from), out);
        }
    }

    private void piece(String piece, List<Integer> out) {
        if (piece.isEmpty()) {
            return;
        }
        StringBuilder mapped = new StringBuilder();
        for (byte x : piece.getBytes(StandardCharsets.UTF_8)) {
            mapped.append(charOfByte[x & 0xFF]);
        }
        String word = mapped.toString();
        if (ignoreMerges && vocab.containsKey(word)) {
            out.add(vocab.get(word));
            return;
        }
        List<String> parts = new ArrayList<>();
        for (int i = 0; i < word.length(); i++) {
            parts.add(String.valueOf(word.charAt(i)));
        }
        while (parts.size() > 1) {
            int best = -1;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < parts.size(); i++) {
                Integer r = mergeRank.get(parts.get(i) + " " + parts.get(i + 1));
                if (r != null && r < bestRank) {
                    bestRank = r;
                    best = i;
                }
            }
            if (best < 0) {
                break;
            }
            parts.set(best, parts.get(best) + parts.remove(best + 1));
        }
        for (String p : parts) {
            Integer id = vocab.get(p);
            if (id == null) {
                throw new IllegalStateException("tokenizer.json: no vocabulary entry for '" + p + "'");
            }
            out.add(id);
        }
    }

    /** The text of {@code ids}; bytes that do not form UTF-8 become U+FFFD. */
    String decode(int[] ids) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int id : ids) {
            String t = tokenOf.get(id);
            if (t == null) {
                throw new IllegalArgumentException("no token has id " + id);
            }
            if (added.containsKey(t)) {
                bytes.writeBytes(t.getBytes(StandardCharsets.UTF_8));
                continue;
            }
            for (int i = 0; i < t.length(); i++) {
                bytes.write(byteOfChar.get(t.charAt(i)));
            }
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
