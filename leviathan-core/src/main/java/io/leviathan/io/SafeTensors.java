package io.leviathan.io;

import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
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
     * @throws IllegalArgumentException naming the file, the tensor and the problem when the file is not valid
     *     safetensors by the rules {@link SafeTensorsHeader} enforces (truncated, bad header, unknown dtype,
     *     a shape that is not integers or overflows, duplicate names, offsets that do not tile the data)
     */
    public static SafeTensors open(Path file, TensorArena arena) {
        long size;
        long headerLen;
        byte[] json;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            size = ch.size();
            if (size < 8) {
                throw bad(file, "file is " + size + " bytes, shorter than the 8-byte header length");
            }
            ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, lenBuf, 0);
            headerLen = lenBuf.getLong(0);
            if (headerLen <= 0 || headerLen > SafeTensorsHeader.MAX_HEADER || 8 + headerLen > size) {
                throw bad(file, "header length " + headerLen + " does not fit a file of " + size + " bytes"
                        + " (at most " + SafeTensorsHeader.MAX_HEADER + ")");
            }
            ByteBuffer hb = ByteBuffer.allocate((int) headerLen);
            readFully(ch, hb, 8);
            json = hb.array();
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("safetensors: file not found: " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("safetensors: cannot read " + file + ": " + e.getMessage(), e);
        }
        long dataStart = 8 + headerLen;
        SafeTensorsHeader header = SafeTensorsHeader.parse(file, json, size - dataStart);
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (SafeTensorsHeader.Entry e : header.entries()) {
            out.put(e.name(), arena.map(file, e.dtype(), dataStart + e.begin(), e.shape()));
        }
        return new SafeTensors(file, Collections.unmodifiableMap(out), header.metadata());
    }

    /**
     * Writes {@code tensors} (host tensors, any strides) and {@code metadata} to {@code file} atomically:
     * the bytes go to a temporary file in the same folder, which is then renamed over {@code file}.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) {
        byte[] head = SafeTensorsHeader.encode(tensors, metadata);
        Path dir = file.toAbsolutePath().getParent();
        Path tmp = null;
        try {
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp");
            makeReadable(tmp);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                writeFully(ch, ByteBuffer.wrap(head));
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
