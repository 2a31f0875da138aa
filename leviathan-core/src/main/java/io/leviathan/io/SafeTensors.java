package io.leviathan.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The safetensors format: an 8-byte little-endian header length, a JSON header mapping each tensor name to
 * {@code dtype}, {@code shape} and {@code data_offsets} (relative to the end of the header) plus an optional
 * {@code __metadata__} map of strings, then the tensors' bytes, contiguous and in order.
 *
 * <p>{@link #open} memory-maps the tensors read-only without copying; {@link #write} writes to a temporary
 * file and renames it, so an interrupted write never damages an existing file.
 */
public final class SafeTensors {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_HEADER = 100L << 20;

    private final Path file;
    private final Map<String, Tensor> tensors;
    private final Map<String, String> metadata;

    private SafeTensors(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        this.file = file;
        this.tensors = tensors;
        this.metadata = metadata;
    }

    /**
     * Opens {@code file}, mapping every tensor read-only into {@code arena}.
     *
     * @throws IllegalArgumentException naming the file and the problem when the file is not valid safetensors
     *     (truncated, bad header, unknown dtype, offsets that do not match the shape or leave the file)
     */
    public static SafeTensors open(Path file, TensorArena arena) {
        long size;
        long headerLen;
        JsonNode header;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < 8) {
                throw bad(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > MAX_HEADER || 8 + headerLen > size) {
                throw bad(file, "header length " + headerLen + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            header = JSON.readTree(new String(hb.array(), StandardCharsets.UTF_8));
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("safetensors: file not found: " + file, e);
        } catch (JsonProcessingException e) {
            throw bad(file, "header is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new UncheckedIOException("safetensors: cannot read " + file + ": " + e.getMessage(), e);
        }
        if (!header.isObject()) {
            throw bad(file, "header must be a JSON object");
        }
        long dataStart = 8 + headerLen;
        long dataSize = size - dataStart;
        Map<String, Tensor> out = new LinkedHashMap<>();
        Map<String, String> meta = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode node = e.getValue();
            if (name.equals("__metadata__")) {
                if (!node.isObject()) {
                    throw bad(file, "__metadata__ must be an object of strings");
                }
                node.fields().forEachRemaining(m -> {
                    if (!m.getValue().isTextual()) {
                        throw bad(file, "__metadata__." + m.getKey() + " must be a string");
                    }
                    meta.put(m.getKey(), m.getValue().asText());
                });
                continue;
            }
            DType dtype = dtype(file, name, node.path("dtype").asText(null));
            JsonNode shapeNode = node.path("shape");
            JsonNode offsets = node.path("data_offsets");
            if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
                throw bad(file, "tensor '" + name + "' needs a shape array and two data_offsets");
            }
            long[] shape = new long[shapeNode.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = shapeNode.get(i).asLong(-1);
                if (shape[i] < 0) {
                    throw bad(file, "tensor '" + name + "' has a negative or non-integer dimension " + shapeNode);
                }
                numel *= shape[i];
            }
            long begin = offsets.get(0).asLong(-1);
            long end = offsets.get(1).asLong(-1);
            if (begin < 0 || end < begin || end > dataSize) {
                throw bad(file, "tensor '" + name + "' has data_offsets [" + begin + ", " + end
                        + "] outside the " + dataSize + " data bytes (truncated file?)");
            }
            if (end - begin != numel * dtype.byteSize()) {
                throw bad(file, "tensor '" + name + "' of shape " + shapeNode + " and dtype " + dtype + " needs "
                        + numel * dtype.byteSize() + " bytes but data_offsets span " + (end - begin));
            }
            out.put(name, arena.map(file, dtype, dataStart + begin, shape));
        }
        return new SafeTensors(file, Collections.unmodifiableMap(out), Collections.unmodifiableMap(meta));
    }

    /**
     * Writes {@code tensors} (host tensors, any strides) and {@code metadata} to {@code file} atomically:
     * the bytes go to a temporary file in the same folder, which is then renamed over {@code file}.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
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
            json = JSON.writeValueAsBytes(header);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("safetensors: cannot encode header: " + e.getMessage(), e);
        }
        int padded = (json.length + 7) / 8 * 8; // keep the data 8-byte aligned, as the reference writer does
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            makeReadable(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
                head.putLong(padded).put(json);
                while (head.hasRemaining()) {
                    head.put((byte) ' ');
                }
                writeFully(ch, head.flip());
                for (Tensor t : tensors.values()) {
                    if (t.isContiguous()) {
                        writeFully(ch, t.segment().asByteBuffer());
                    } else {
                        try (TensorArena scratch = new TensorArena()) {
                            writeFully(ch, t.contiguous(scratch).segment().asByteBuffer());
                        }
                    }
                }
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            tmp = null;
        } catch (IOException e) {
            throw new UncheckedIOException("safetensors: cannot write " + file + ": " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the temporary file is left behind; the target was not touched
                }
            }
        }
    }

    /** The file this was read from. */
    public Path file() {
        return file;
    }

    /** Tensor names in file order. */
    public Set<String> names() {
        return tensors.keySet();
    }

    /** True when the file holds {@code name}. */
    public boolean contains(String name) {
        return tensors.containsKey(name);
    }

    /** The tensor {@code name}; throws naming the file if absent. */
    public Tensor get(String name) {
        Tensor t = tensors.get(name);
        if (t == null) {
            throw new IllegalArgumentException("safetensors: " + file + " has no tensor '" + name + "'");
        }
        return t;
    }

    /** The {@code __metadata__} entries (empty when absent). */
    public Map<String, String> metadata() {
        return metadata;
    }

    private static DType dtype(Path file, String name, String s) {
        if (s == null) {
            throw bad(file, "tensor '" + name + "' has no dtype");
        }
        return switch (s) {
            case "F32" -> DType.F32;
            case "BF16" -> DType.BF16;
            case "I32" -> DType.I32;
            default -> throw bad(file, "tensor '" + name + "' has dtype " + s + "; supported: F32, BF16, I32");
        };
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos + buf.position());
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }

    /** Temporary files are created owner-only; the finished file gets the usual rw-r--r--. */
    private static void makeReadable(Path p) throws IOException {
        if (Files.getFileStore(p).supportsFileAttributeView(java.nio.file.attribute.PosixFileAttributeView.class)) {
            Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException("safetensors: " + file + ": " + what);
    }
}
