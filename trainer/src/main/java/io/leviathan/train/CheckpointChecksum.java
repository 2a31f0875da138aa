package io.leviathan.train;

import io.leviathan.tensor.Tensor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * The checksum of a checkpoint file: CRC32C of every byte of the file (the header length, the whole JSON
 * header with its names, dtypes, shapes, offsets and metadata, the padding and every tensor byte), computed
 * with the checksum's own eight hex digits read as {@code 00000000}. The value lives in the metadata entry
 * {@value #KEY} as {@code crc32c:xxxxxxxx}; because it has a fixed width, writing it in changes no other byte.
 *
 * <p>CRC32C detects every single-bit error and every burst of up to 32 bits, anywhere in the file.
 */
final class CheckpointChecksum {
    /** The metadata key holding the checksum. */
    static final String KEY = "leviathan.checksum";
    private static final String PREFIX = "crc32c:";
    /** The value written while the checksum is computed. */
    static final String PLACEHOLDER = PREFIX + "00000000";
    /** How the entry appears in the header bytes as {@code SafeTensorsHeader.encode} writes it. */
    private static final byte[] PATTERN = ("\"" + KEY + "\":\"" + PREFIX).getBytes(StandardCharsets.UTF_8);
    private static final int HEX = 8;

    private CheckpointChecksum() {}

    /**
     * The value of {@value #KEY} for a file whose first bytes are {@code header} (encoded with
     * {@link #PLACEHOLDER} as the value) followed by {@code tensors}' bytes in order.
     */
    static String compute(byte[] header, Iterable<Tensor> tensors) {
        locate(header, null);
        CRC32C c = new CRC32C();
        c.update(header);
        for (Tensor t : tensors) {
            if (!t.isContiguous()) {
                throw new IllegalArgumentException("checkpoint tensors must be contiguous: " + t.describe());
            }
            c.update(t.segment().asByteBuffer());
        }
        return PREFIX + String.format("%08x", c.getValue());
    }

    /**
     * Reads {@code file} whole and checks it against {@code stored}, the value its metadata holds.
     *
     * @throws IllegalArgumentException naming the file when a byte differs from what was written
     */
    static void verify(Path file, String stored) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, len, 0);
            // SafeTensors.open has already checked this length against the file and the header limit.
            byte[] header = new byte[Math.toIntExact(8 + len.getLong(0))];
            readFully(ch, ByteBuffer.wrap(header), 0);
            int at = locate(header, file);
            String raw = new String(header, at, HEX, StandardCharsets.US_ASCII);
            if (!stored.equals(PREFIX + raw) || header[at + HEX] != '"') {
                throw corrupted(file, "its checksum entry '" + KEY + "' is malformed (" + stored + ")");
            }
            Arrays.fill(header, at, at + HEX, (byte) '0');
            CRC32C c = new CRC32C();
            c.update(header);
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            long pos = header.length;
            while (true) {
                buf.clear();
                int n = ch.read(buf, pos);
                if (n < 0) {
                    break;
                }
                pos += n;
                c.update(buf.flip());
            }
            String actual = PREFIX + String.format("%08x", c.getValue());
            if (!actual.equals(stored)) {
                throw corrupted(file, "its bytes have " + actual + " but it was written with " + stored
                        + " (a header or data byte changed since it was written)");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read checkpoint " + file + ": " + e.getMessage(), e);
        }
    }

    /** The index of the first hex digit of the checksum in {@code header}; it must occur exactly once. */
    private static int locate(byte[] header, Path file) {
        int found = -1;
        int count = 0;
        for (int i = 0; i + PATTERN.length + HEX < header.length; i++) {
            if (header[i] == PATTERN[0] && Arrays.equals(header, i, i + PATTERN.length, PATTERN, 0, PATTERN.length)) {
                found = i + PATTERN.length;
                count++;
            }
        }
        if (count != 1) {
            String what = "its header holds the checksum entry '" + KEY + "' " + count + " times instead of once";
            throw file == null ? new IllegalStateException("checkpoint header: " + what) : corrupted(file, what);
        }
        return found;
    }

    private static IllegalArgumentException corrupted(Path file, String what) {
        return new IllegalArgumentException("checkpoint " + file + " is corrupted: " + what);
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos) throws IOException {
        while (buf.hasRemaining()) {
            if (ch.read(buf, pos + buf.position()) < 0) {
                throw new IOException("unexpected end of file");
            }
        }
    }
}
