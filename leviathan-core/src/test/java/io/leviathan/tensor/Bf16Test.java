package io.leviathan.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class Bf16Test {

    private static int bits(float f) {
        return Bf16.fromFloat(f) & 0xffff;
    }

    @Test
    void roundsToNearestEven() {
        assertEquals(0x3F80, bits(1.0f));
        assertEquals(0x3F80, bits(1.0f + 0x1p-8f), "halfway rounds down to the even mantissa");
        assertEquals(0x3F82, bits(1.0f + 3 * 0x1p-8f), "halfway rounds up to the even mantissa");
        assertEquals(0x3F81, bits(1.0f + 0x1p-8f + 0x1p-20f), "above halfway rounds up");
        assertEquals(0xBF80, bits(-1.0f));
        assertEquals(0x0000, bits(0.0f));
        assertEquals(0x8000, bits(-0.0f));
        assertEquals(0x7F80, bits(Float.POSITIVE_INFINITY));
        assertEquals(0xFF80, bits(Float.NEGATIVE_INFINITY));
        assertEquals(0x7F80, bits(Float.MAX_VALUE), "the largest float rounds to infinity");
        assertEquals(0x4049, bits((float) Math.PI));
        assertEquals(0x0001, bits(Float.MIN_VALUE * 65536), "subnormals keep their top bits");
    }

    @Test
    void nanStaysNan() {
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.NaN))));
        assertTrue(Float.isNaN(Bf16.toFloat(Bf16.fromFloat(Float.intBitsToFloat(0x7F800001)))),
                "a NaN with only low mantissa bits must not truncate to infinity");
    }

    @Test
    void widensExactly() {
        assertEquals(1.0f, Bf16.toFloat((short) 0x3F80));
        assertEquals(-2.0f, Bf16.toFloat((short) 0xC000));
        for (int b = 0; b < 0x10000; b += 97) {
            float f = Bf16.toFloat((short) b);
            if (!Float.isNaN(f)) {
                assertEquals(b, bits(f), "bf16 -> f32 -> bf16 must be the identity");
            }
        }
    }
}
