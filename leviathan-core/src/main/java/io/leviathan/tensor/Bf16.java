package io.leviathan.tensor;

/**
 * bfloat16 conversions. F32 to BF16 rounds to nearest, ties to even; NaN stays NaN (quiet) rather than
 * rounding into infinity. BF16 to F32 is exact.
 */
public final class Bf16 {
    private Bf16() {}

    /** Rounds an F32 to the nearest BF16 (ties to even) and returns its 16 bits. */
    public static short fromFloat(float f) {
        int bits = Float.floatToRawIntBits(f);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            // NaN: keep the sign and force a quiet mantissa bit so truncation cannot make it infinite.
            return (short) ((bits >>> 16) | 0x0040);
        }
        int lsb = (bits >>> 16) & 1;
        int rounded = bits + 0x7fff + lsb;
        return (short) (rounded >>> 16);
    }

    /** Widens BF16 bits to the F32 they represent (exact). */
    public static float toFloat(short bf16) {
        return Float.intBitsToFloat((bf16 & 0xffff) << 16);
    }
}
