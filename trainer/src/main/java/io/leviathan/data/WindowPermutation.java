package io.leviathan.data;

/**
 * A pseudo-random permutation of {@code [0, size)} computed one element at a time, with no table: a
 * six-round Feistel network on the smallest even-bit power-of-two domain that holds {@code size} values,
 * with cycle walking (an output at or above {@code size} is permuted again until it falls inside). Each
 * (seed, epoch) pair gives another permutation, so a sampler's whole position is two numbers however many
 * windows a split has (a stored permutation of a billion-token split would be megabytes in every
 * checkpoint).
 */
final class WindowPermutation {
    private static final int ROUNDS = 6;

    private final long size;
    private final int halfBits;
    private final long halfMask;

    /** The permutations of {@code [0, size)}; {@code size >= 1}. */
    WindowPermutation(long size) {
        if (size < 1) {
            throw new IllegalArgumentException("a permutation needs at least one element, got " + size);
        }
        this.size = size;
        int bits = Math.max(2, 64 - Long.numberOfLeadingZeros(size - 1));
        this.halfBits = (bits + 1) / 2;
        this.halfMask = (1L << halfBits) - 1;
    }

    /** The element at {@code index} of the permutation for {@code seed} and {@code epoch}. */
    long apply(long index, long seed, long epoch) {
        if (index < 0 || index >= size) {
            throw new IndexOutOfBoundsException("index " + index + " outside [0, " + size + ")");
        }
        long key = mix(seed ^ mix(epoch + 0x632BE59BD9B4E019L));
        long x = index;
        do { // cycle walking: at most a few rounds on average, since the domain is under 4 x size
            x = encrypt(x, key);
        } while (x >= size);
        return x;
    }

    private long encrypt(long x, long key) {
        long left = x >>> halfBits;
        long right = x & halfMask;
        for (int r = 0; r < ROUNDS; r++) {
            long f = mix(key + r * 0x9E3779B97F4A7C15L + right) & halfMask;
            long next = left ^ f;
            left = right;
            right = next;
        }
        return (left << halfBits) | right;
    }

    /** SplitMix64's finaliser: a bijective 64-bit mix. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
