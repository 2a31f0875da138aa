package io.leviathan.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonStreamContext;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The JSON header of a safetensors file, parsed strictly by the format's rules and encoded the one way
 * {@link SafeTensors#write} writes it.
 *
 * <p>The rules: the header is one JSON object with unique keys and nothing after it but spaces; each key
 * other than {@code __metadata__} names a tensor whose value is an object with exactly {@code dtype} (a known
 * dtype name), {@code shape} (an array of non-negative integers) and {@code data_offsets} (two non-negative
 * integers, begin &lt;= end); the element count times the dtype's size fits a long and equals the span; and
 * the spans, in offset order, tile the data bytes exactly: no gap, no overlap, nothing after the last one.
 * {@code __metadata__} is an object mapping strings to strings. Every error names the file and, where there
 * is one, the tensor.
 */
public final class SafeTensorsHeader {
    /** The largest header accepted (the reference implementation's limit). */
    public static final long MAX_HEADER = 100L << 20;
    /** The metadata key of the format. */
    public static final String METADATA = "__metadata__";
    private static final Set<String> ENTRY_KEYS = Set.of("dtype", "shape", "data_offsets");
    private static final ObjectMapper STRICT = new ObjectMapper(JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    /** One tensor's entry: its dtype, shape and byte span relative to the start of the data. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {
        /** Bytes it spans. */
        public long byteSize() {
            return end - begin;
        }
    }

    private final List<Entry> entries;
    private final Map<String, String> metadata;

    private SafeTensorsHeader(List<Entry> entries, Map<String, String> metadata) {
        this.entries = entries;
        this.metadata = metadata;
    }

    /** The tensor entries in header order. */
    public List<Entry> entries() {
        return entries;
    }

    /** The {@code __metadata__} entries (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    // ------------------------------------------------------------------------------------------ parsing

    /**
     * Parses the header {@code json} of {@code file}, whose data section holds {@code dataSize} bytes.
     *
     * @throws IllegalArgumentException naming the file, the tensor and the rule broken
     */
    public static SafeTensorsHeader parse(Path file, byte[] json, long dataSize) {
        JsonNode root;
        try {
            root = STRICT.readTree(json);
        } catch (JsonProcessingException e) {
            throw bad(file, null, "header is not valid JSON" + where(e) + ": " + e.getOriginalMessage());
        } catch (IOException e) {
            throw bad(file, null, "header cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw bad(file, null, "header must be a JSON object");
        }
        List<Entry> entries = new ArrayList<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().equals(METADATA)) {
                metadata(file, e.getValue(), meta);
            } else {
                entries.add(entry(file, e.getKey(), e.getValue(), dataSize));
            }
        }
        checkTiling(file, entries, dataSize);
        return new SafeTensorsHeader(Collections.unmodifiableList(entries), Collections.unmodifiableMap(meta));
    }

    private static void metadata(Path file, JsonNode node, Map<String, String> out) {
        if (node.isNull()) {
            return; // the format allows an absent (null) metadata map
        }
        if (!node.isObject()) {
            throw bad(file, null, METADATA + " must be an object of strings, got " + kind(node));
        }
        node.fields().forEachRemaining(m -> {
            if (!m.getValue().isTextual()) {
                throw bad(file, null, METADATA + "." + m.getKey() + " must be a string, got " + kind(m.getValue()));
            }
            out.put(m.getKey(), m.getValue().textValue());
        });
    }

    private static Entry entry(Path file, String name, JsonNode node, long dataSize) {
        if (!node.isObject()) {
            throw bad(file, name, "entry must be an object with dtype, shape and data_offsets, got " + kind(node));
        }
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!ENTRY_KEYS.contains(key)) {
                throw bad(file, name, "unknown field '" + key + "'; an entry holds dtype, shape and data_offsets");
            }
        }
        JsonNode dtypeNode = node.get("dtype");
        if (dtypeNode == null || !dtypeNode.isTextual()) {
            throw bad(file, name, "dtype must be a string, got " + kind(dtypeNode));
        }
        DType dtype = dtype(file, name, dtypeNode.textValue());
        JsonNode shapeNode = node.get("shape");
        if (shapeNode == null || !shapeNode.isArray()) {
            throw bad(file, name, "shape must be an array of integers, got " + kind(shapeNode));
        }
        long[] shape = new long[shapeNode.size()];
        long numel = 1;
        for (int i = 0; i < shape.length; i++) {
            shape[i] = nonNegativeLong(file, name, "shape[" + i + "]", shapeNode.get(i));
            try {
                numel = Math.multiplyExact(numel, shape[i]);
            } catch (ArithmeticException e) {
                throw bad(file, name, "shape " + shapeNode + " has more elements than a long can count");
            }
        }
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, dtype.byteSize());
        } catch (ArithmeticException e) {
            throw bad(file, name, "shape " + shapeNode + " of " + dtype + " needs more bytes than a long can count");
        }
        JsonNode offsets = node.get("data_offsets");
        if (offsets == null || !offsets.isArray() || offsets.size() != 2) {
            throw bad(file, name, "data_offsets must be an array of two integers, got " + kind(offsets));
        }
        long begin = nonNegativeLong(file, name, "data_offsets[0]", offsets.get(0));
        long end = nonNegativeLong(file, name, "data_offsets[1]", offsets.get(1));
        if (end < begin) {
            throw bad(file, name, "data_offsets [" + begin + ", " + end + "] end before they begin");
        }
        if (end > dataSize) {
            throw bad(file, name, "data_offsets [" + begin + ", " + end + "] run past the " + dataSize
                    + " data bytes (truncated file?)");
        }
        if (end - begin != bytes) {
            throw bad(file, name, "shape " + shapeNode + " of " + dtype + " needs " + bytes
                    + " bytes but data_offsets [" + begin + ", " + end + "] span " + (end - begin));
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    /** Sorted by offset, the spans must follow one another from 0 to exactly the end of the data. */
    private static void checkTiling(Path file, List<Entry> entries, long dataSize) {
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long pos = 0;
        String previous = null;
        for (Entry e : sorted) {
            if (e.begin() > pos) {
                throw bad(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] leave a gap of "
                        + (e.begin() - pos) + " bytes after " + (previous == null ? "the start of the data"
                        : "tensor '" + previous + "'"));
            }
            if (e.begin() < pos) {
                throw bad(file, e.name(), "data_offsets [" + e.begin() + ", " + e.end() + "] overlap tensor '"
                        + previous + "', which ends at " + pos);
            }
            pos = e.end();
            previous = e.name();
        }
        if (pos != dataSize) {
            throw bad(file, previous, (dataSize - pos) + " bytes follow the last tensor's data (the data section holds "
                    + dataSize + " bytes, the tensors " + pos + ")");
        }
    }

    private static long nonNegativeLong(Path file, String name, String what, JsonNode n) {
        if (n == null || !n.isIntegralNumber()) {
            throw bad(file, name, what + " must be a non-negative integer, got " + kind(n));
        }
        if (!n.canConvertToLong()) {
            throw bad(file, name, what + " = " + n + " does not fit a long");
        }
        long v = n.longValue();
        if (v < 0) {
            throw bad(file, name, what + " must be a non-negative integer, got " + v);
        }
        return v;
    }

    /** The dtype named {@code s}; the format's other dtypes exist but this library does not compute in them. */
    static DType dtype(Path file, String name, String s) {
        return switch (s) {
            case "F32" -> DType.F32;
            case "BF16" -> DType.BF16;
            case "I32" -> DType.I32;
            default -> throw bad(file, name, "dtype " + s + " is not supported; supported: F32, BF16, I32");
        };
    }

    private static String kind(JsonNode n) {
        if (n == null || n.isMissingNode()) {
            return "nothing";
        }
        String text = n.toString();
        String shown = text.length() > 40 ? text.substring(0, 40) + "..." : text;
        return n.getNodeType().name().toLowerCase(java.util.Locale.ROOT) + " " + shown;
    }

    /** " at tensor 'x' (field 'dtype')" from the parser's position, when the error has one. */
    private static String where(JsonProcessingException e) {
        if (!(e.getProcessor() instanceof JsonParser p)) {
            return "";
        }
        List<String> path = new ArrayList<>();
        for (JsonStreamContext c = p.getParsingContext(); c != null; c = c.getParent()) {
            if (c.getCurrentName() != null) {
                path.addFirst(c.getCurrentName());
            }
        }
        if (path.isEmpty()) {
            return "";
        }
        String head = path.getFirst().equals(METADATA) ? METADATA : "tensor '" + path.getFirst() + "'";
        return path.size() == 1 ? " at " + head : " at " + head + " (field '" + String.join(".", path.subList(1, path.size())) + "')";
    }

    // ------------------------------------------------------------------------------------------ encoding

    /**
     * The first bytes of a safetensors file holding {@code tensors} (in map order, contiguous) and
     * {@code metadata}: the 8-byte little-endian length, then the JSON header padded with spaces so that the
     * data starts 8-byte aligned. {@link SafeTensors#write} writes exactly these bytes.
     */
    public static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = STRICT.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject(METADATA);
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("safetensors: a tensor cannot be named " + METADATA);
            }
            Tensor t = e.getValue();
            ObjectNode n = header.putObject(e.getKey());
            n.put("dtype", t.dtype().name());
            ArrayNode shape = n.putArray("shape");
            for (long d : t.shape()) {
                shape.add(d);
            }
            n.putArray("data_offsets").add(offset).add(offset + t.byteSize());
            offset += t.byteSize();
        }
        byte[] json;
        try {
            json = STRICT.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("safetensors: cannot encode header: " + e.getMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8; // keep the data 8-byte aligned, as the reference writer does
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        Arrays.fill(head.array(), 8 + json.length, 8 + padded, (byte) ' ');
        return head.array();
    }

    static IllegalArgumentException bad(Path file, String tensor, String what) {
        return new IllegalArgumentException("safetensors: " + file + ": "
                + (tensor == null ? "" : "tensor '" + tensor + "': ") + what);
    }
}
