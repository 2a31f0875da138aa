package io.leviathan.train;

import java.io.ByteArrayOutputStream;

/**
 * GPT-2's byte-level alphabet ({@code bytes_to_unicode} in its {@code encoder.py}, the {@code ByteLevel} step of
 * Hugging Face {@code tokenizers}): each of the 256 byte values as one printable character, so that byte-level
 * BPE tokens can be stored as JSON strings. Printable Latin-1 bytes ({@code !}..{@code ~}, {@code ¡}..{@code ¬},
 * {@code ®}..{@code ÿ}) stand for themselves; the other 68 take the characters from U+0100 on, in byte order
 * (the space, 0x20, is {@code Ġ}, U+0120).
 */
public final class ByteLevelAlphabet {
    private ByteLevelAlphabet() {}

    private static final char[] CHAR_OF_BYTE = new char[256];
    private static final int[] BYTE_OF_CHAR = new int[0x100 + 256];

    static {
        java.util.Arrays.fill(BYTE_OF_CHAR, -1);
        int next = 0;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = printable ? (char) b : (char) (0x100 + next++);
            CHAR_OF_BYTE[b] = c;
            BYTE_OF_CHAR[c] = b;
        }
    }

    /** The alphabet's string for {@code bytes}. */
    public static String encode(byte[] bytes) {
        StringBuilder sb = new StringBuilder(bytes.length);
        for (byte b : bytes) {
            sb.append(CHAR_OF_BYTE[b & 0xFF]);
        }
        return sb.toString();
    }

    /**
     * The bytes that {@code s} (a string over the alphabet) stands for.
     *
     * @throws IllegalArgumentException naming the first character outside the alphabet
     */
    public static byte[] decode(String s) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            int b = c < BYTE_OF_CHAR.length ? BYTE_OF_CHAR[c] : -1;
            if (b < 0) {
                throw new IllegalArgumentException("character U+" + String.format("%04X", (int) c) + " at index " + i
                        + " is not in the byte-level alphabet");
            }
            out.write(b);
        }
        return out.toByteArray();
    }
}
