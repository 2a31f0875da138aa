package io.leviathan.tensor;

/** Element types a {@link Tensor} can hold. */
public enum DType {
    /** IEEE-754 binary32. */
    F32(4),
    /** bfloat16: the upper half of an F32 (8-bit exponent, 7-bit mantissa), stored as 16 bits. */
    BF16(2),
    /** Signed 32-bit integers, used for token ids. */
    I32(4);

    private final int byteSize;

    DType(int byteSize) {
        this.byteSize = byteSize;
    }

    /** Bytes per element. */
    public int byteSize() {
        return byteSize;
    }

    /** True for the floating-point types. */
    public boolean isFloating() {
        return this != I32;
    }
}
