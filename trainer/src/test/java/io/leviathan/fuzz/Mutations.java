package io.leviathan.fuzz;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.SplittableRandom;

/** Byte- and text-level mutations of a valid input, the way coverage-blind fuzzers make them. */
public final class Mutations {
    private Mutations() {}

    /** Values that break length and count fields: zero, signs, powers of two and their neighbours, extremes. */
    public static final long[] INTERESTING = {0, 1, -1, 2, 7, 8, 255, 256, 65535, 65536, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 1L << 31, 1L << 32, (1L << 32) + 1, 1L << 40, 1L << 62, Long.MAX_VALUE, Long.MIN_VALUE,
            100L << 20, (100L << 20) + 1};

    /** Numbers for text fields: integers at the edges, fractions, exponents, and things that are not numbers. */
    public static final String[] INTERESTING_TEXT = {"0", "-1", "1.5", "1e3", "1e400", "-0", "2147483648",
            "4294967296", "9223372036854775807", "9223372036854775808", "18446744073709551616", "\"7\"", "null",
            "true", "[]", "{}", "[1,2]", "\"\"", "NaN", "1099511627776"};

    /** One to {@code maxEdits} random edits of {@code seed}. */
    public static byte[] mutate(byte[] seed, SplittableRandom r, int maxEdits) {
        byte[] b = seed.clone();
        int edits = 1 + r.nextInt(maxEdits);
        for (int e = 0; e < edits; e++) {
            b = edit(b, r);
        }
        return b;
    }

    private static byte[] edit(byte[] b, SplittableRandom r) {
        if (b.length == 0) {
            return new byte[] {(byte) r.nextInt(256)};
        }
        int pos = r.nextInt(b.length);
        switch (r.nextInt(9)) {
            case 0 -> b[pos] ^= (byte) (1 << r.nextInt(8));                  // one bit
            case 1 -> b[pos] = (byte) r.nextInt(256);                        // one byte
            case 2 -> { // a little-endian field set to an interesting value
                int width = r.nextBoolean() ? 8 : 4;
                if (pos + width <= b.length) {
                    long v = INTERESTING[r.nextInt(INTERESTING.length)];
                    for (int i = 0; i < width; i++) {
                        b[pos + i] = (byte) (v >>> (8 * i));
                    }
                }
            }
            case 3 -> b = Arrays.copyOf(b, pos);                             // truncated
            case 4 -> { // bytes appended
                byte[] tail = new byte[1 + r.nextInt(64)];
                r.nextBytes(tail);
                byte[] c = Arrays.copyOf(b, b.length + tail.length);
                System.arraycopy(tail, 0, c, b.length, tail.length);
                b = c;
            }
            case 5 -> { // a run of bytes removed
                int len = Math.min(b.length - pos, 1 + r.nextInt(16));
                byte[] c = new byte[b.length - len];
                System.arraycopy(b, 0, c, 0, pos);
                System.arraycopy(b, pos + len, c, pos, b.length - pos - len);
                b = c;
            }
            case 6 -> { // a run of bytes duplicated
                int len = Math.min(b.length - pos, 1 + r.nextInt(32));
                byte[] c = new byte[b.length + len];
                System.arraycopy(b, 0, c, 0, pos + len);
                System.arraycopy(b, pos, c, pos + len, b.length - pos);
                b = c;
            }
            case 7 -> b[pos] = (byte) "{}[]\":,0-9e.\\ \n".charAt(r.nextInt(15)); // JSON punctuation
            default -> b = replaceNumber(b, r);                               // a number in text replaced
        }
        return b;
    }

    /** Replaces one run of ASCII digits with an interesting text value (for JSON inside the input). */
    private static byte[] replaceNumber(byte[] b, SplittableRandom r) {
        int start = r.nextInt(b.length);
        while (start < b.length && !Character.isDigit(b[start])) {
            start++;
        }
        if (start == b.length) {
            return b;
        }
        int end = start;
        while (end < b.length && Character.isDigit(b[end])) {
            end++;
        }
        byte[] v = INTERESTING_TEXT[r.nextInt(INTERESTING_TEXT.length)].getBytes(StandardCharsets.US_ASCII);
        byte[] c = new byte[b.length - (end - start) + v.length];
        System.arraycopy(b, 0, c, 0, start);
        System.arraycopy(v, 0, c, start, v.length);
        System.arraycopy(b, end, c, start + v.length, b.length - end);
        return c;
    }

    /** {@code value} written as the first 8 bytes (a safetensors header length) of a copy of {@code b}. */
    public static byte[] withLeadingLong(byte[] b, long value) {
        byte[] c = b.length >= 8 ? b.clone() : Arrays.copyOf(b, 8);
        ByteBuffer.wrap(c).order(ByteOrder.LITTLE_ENDIAN).putLong(0, value);
        return c;
    }
}
