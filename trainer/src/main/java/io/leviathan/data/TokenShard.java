package io.leviathan.data;

import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A token shard file ({@code train-00000.tok}, {@code val-00000.tok}): a 64-byte header, then the tokens.
 *
 * <p>Byte layout, all integers little-endian:
 * <pre>
 *  offset size  field
 *   0      8    magic, the ASCII bytes "LVTOKENS"
 *   8      4    format version, 1
 *  12      4    dtype code: 1 = 32-bit little-endian integer per token (ids are non-negative, so int32 and
 *               uint32 read the same)
 *  16      8    token count N (int64)
 *  24      4    largest token id in the shard (int32), -1 when N = 0
 *  28      4    header size in bytes = offset of the first token, 64
 *  32     32    tokenizer name (e.g. "o200k_base"), ASCII, padded with NUL bytes
 *  64     4N    the tokens, original tokenizer ids (not compacted), in stream order
 * </pre>
 * The file is exactly {@code 64 + 4N} bytes. The header is 64 bytes so the token data stays 64-byte aligned
 * for memory mapping ({@link io.leviathan.tensor.TensorArena#map}).
 */
public final class TokenShard {
    /** The magic bytes at offset 0. */
    public static final String MAGIC = "LVTOKENS";
    /** The format version this build writes and reads. */
    public static final int VERSION = 1;
    /** Dtype code of 32-bit little-endian token ids. */
    public static final int DTYPE_INT32_LE = 1;
    /** Header size and offset of the first token. */
    public static final int HEADER_BYTES = 64;
    /** Longest tokenizer name the header holds. */
    public static final int NAME_BYTES = 32;

    private TokenShard() {}

    /** A parsed shard header. */
    public record Header(int version, int dtype, long count, int maxId, String tokenizer) {
        /** The file size this header implies. */
        public long fileSize() {
            return HEADER_BYTES + 4L * count;
        }
    }

    /** The header bytes for {@code h}. */
    static ByteBuffer encode(Header h) {
        byte[] name = h.tokenizer().getBytes(StandardCharsets.US_ASCII);
        if (name.length > NAME_BYTES) {
            throw new IllegalArgumentException("tokenizer name '" + h.tokenizer() + "' is longer than " + NAME_BYTES
                    + " bytes");
        }
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC.getBytes(StandardCharsets.US_ASCII));
        b.putInt(h.version());
        b.putInt(h.dtype());
        b.putLong(h.count());
        b.putInt(h.maxId());
        b.putInt(HEADER_BYTES);
        b.put(name);
        b.position(0);
        return b;
    }

    /**
     * Parses and checks a header read from {@code file} of {@code fileSize} bytes.
     *
     * @throws IllegalArgumentException naming the file and the problem (bad magic, version, dtype, header size,
     *     tokenizer name, or a size that does not match the token count)
     */
    public static Header parse(ByteBuffer bytes, Path file, long fileSize) {
        if (fileSize < HEADER_BYTES || bytes.remaining() < HEADER_BYTES) {
            throw bad(file, "file is " + fileSize + " bytes, shorter than the " + HEADER_BYTES + "-byte header"
                    + " (truncated or not a token shard)");
        }
        ByteBuffer b = bytes.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int p = b.position();
        byte[] magic = new byte[8];
        b.get(magic);
        if (!MAGIC.equals(new String(magic, StandardCharsets.ISO_8859_1))) {
            throw bad(file, "bad magic (not a Leviathan token shard; expected \"" + MAGIC + "\")");
        }
        int version = b.getInt(p + 8);
        if (version != VERSION) {
            throw bad(file, "unsupported shard version " + version + " (this build reads version " + VERSION + ")");
        }
        int dtype = b.getInt(p + 12);
        if (dtype != DTYPE_INT32_LE) {
            throw bad(file, "unsupported dtype code " + dtype + " (expected " + DTYPE_INT32_LE + ", int32 little-endian)");
        }
        long count = b.getLong(p + 16);
        int maxId = b.getInt(p + 24);
        int headerBytes = b.getInt(p + 28);
        if (headerBytes != HEADER_BYTES) {
            throw bad(file, "header size field is " + headerBytes + ", expected " + HEADER_BYTES);
        }
        byte[] nameBytes = new byte[NAME_BYTES];
        b.position(p + 32);
        b.get(nameBytes);
        int len = 0;
        while (len < NAME_BYTES && nameBytes[len] != 0) {
            len++;
        }
        for (int i = len; i < NAME_BYTES; i++) {
            if (nameBytes[i] != 0) {
                throw bad(file, "tokenizer name field is not NUL-padded");
            }
        }
        String tokenizer = new String(nameBytes, 0, len, StandardCharsets.US_ASCII);
        if (count < 0 || count > (Long.MAX_VALUE - HEADER_BYTES) / 4) {
            throw bad(file, "bad token count " + count);
        }
        if (count == 0 ? maxId != -1 : maxId < 0) {
            throw bad(file, "bad largest token id " + maxId + " for " + count + " tokens");
        }
        Header h = new Header(version, dtype, count, maxId, tokenizer);
        if (fileSize != h.fileSize()) {
            throw bad(file, "file is " + fileSize + " bytes but its header promises " + count + " tokens ("
                    + h.fileSize() + " bytes): truncated or damaged");
        }
        return h;
    }

    /** Reads and checks the header of {@code file}. */
    public static Header readHeader(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES);
            while (b.hasRemaining()) {
                if (ch.read(b, b.position()) < 0) {
                    break;
                }
            }
            b.flip();
            return parse(b, file, size);
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("token shard not found: " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read token shard " + file + ": " + e.getMessage(), e);
        }
    }

    private static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException("token shard " + file + ": " + what);
    }

    /** Streams tokens into a new shard file; {@link #finish()} writes the real header. */
    static final class Writer implements Closeable {
        private final Path file;
        private final String tokenizer;
        private final FileChannel ch;
        private final ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        private long count;
        private int maxId = -1;
        private boolean finished;

        Writer(Path file, String tokenizer) throws IOException {
            this.file = file;
            this.tokenizer = tokenizer;
            this.ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
            ch.write(ByteBuffer.allocate(HEADER_BYTES), 0); // placeholder: zero magic until finish()
            ch.position(HEADER_BYTES);
        }

        Path file() {
            return file;
        }

        long count() {
            return count;
        }

        int maxId() {
            return maxId;
        }

        void write(int id) throws IOException {
            if (!buf.hasRemaining()) {
                flush();
            }
            buf.putInt(id);
            count++;
            if (id > maxId) {
                maxId = id;
            }
        }

        private void flush() throws IOException {
            buf.flip();
            while (buf.hasRemaining()) {
                ch.write(buf);
            }
            buf.clear();
        }

        /** Flushes the tokens, writes the header, forces the file to disk and closes it. */
        Header finish() throws IOException {
            flush();
            Header h = new Header(VERSION, DTYPE_INT32_LE, count, maxId, tokenizer);
            ByteBuffer hb = encode(h);
            while (hb.hasRemaining()) {
                ch.write(hb, hb.position());
            }
            ch.force(true);
            ch.close();
            finished = true;
            return h;
        }

        @Override
        public void close() throws IOException {
            if (!finished) {
                ch.close();
            }
        }
    }
}
