package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuAttention.TILE;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The tile products of {@link CpuAttention}: {@code C (+)= A B} for tiles of at most {@code TILE} rows, one
 * operand broadcast element by element and the other multiplied as vectors, so no lane sums are needed.
 *
 * <p>Two ways to compute one product, and every output lane is one fma chain over the inner index in order
 * in both, so they give the same bits:
 * <ul>
 *   <li>{@link #squareTile}, the fast path: a product of {@code TILE x TILE} tiles whose every stride is
 *       {@code TILE}, which is every product of a head of 64 (the {@code Dh} of most presets). With the
 *       strides constant the JIT folds the rows' offsets into the loads and drops the bounds checks, and a
 *       block of 12 rows by 2 vectors (24 accumulators) loads each vector of B once for 12 fmas. The three
 *       tiles of a product are 48 KiB, more than this machine's L1, so B comes from L2; blocks of 4 rows by
 *       4 vectors, which read B three times as often, ran the attention's backward about 10 % slower and its
 *       forward about 6 %.</li>
 *   <li>{@link #blocked}, the general one for any head size: blocks of 4 rows by 4, 2 or 1 vectors with the
 *       strides as arguments.</li>
 * </ul>
 */
final class CpuAttentionTiles {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * The rows {@link #squareTile} takes 12 at a time (24 accumulators, two vectors of B and a broadcast fill
     * 32 vector registers), a multiple of 24 so that the rest is whole blocks of 8: 48 of a tile of 64. None
     * with AVX2's 16 registers, where such blocks would spill.
     */
    static final int ROWS_IN_TWELVES = L >= 16 ? TILE / 24 * 24 : 0;
    /** The rows up to which {@link #squareTile} takes 8 at a time (16 accumulators) after the blocks of 12. */
    static final int ROWS_IN_EIGHTS = L >= 16 ? TILE / 8 * 8 : 0;

    private CpuAttentionTiles() {}

    /**
     * {@code c[r][j] = (accumulate ? c[r][j] : 0) + sum_{x < inner} a(r, x) * b[x][j]} for {@code r < rows}
     * and {@code j < width}, where {@code a(r, x) = a[aOff + r * aRow + x]}, or, when {@code transposedA}, the
     * transpose of a {@code TILE}-wide tile: {@code a(r, x) = a[aOff + x * TILE + r]};
     * {@code b[x][j] = b[bOff + x * bRow + j]} and {@code c[r][j] = c[cOff + r * cRow + j]}. {@code rows} must
     * be a multiple of 4 and {@code width} of L. Each output lane is one fma chain in {@code x} order.
     */
    static void product(float[] a, int aOff, int aRow, boolean transposedA, float[] b, int bOff, int bRow,
                        float[] c, int cOff, int cRow, int rows, int inner, int width, boolean accumulate) {
        if (rows == TILE && inner == TILE && width == TILE && aRow == TILE && bRow == TILE && cRow == TILE) {
            squareTile(a, aOff, transposedA, b, bOff, c, cOff, accumulate);
        } else {
            blocked(a, aOff, aRow, transposedA, b, bOff, bRow, c, cOff, cRow, rows, inner, width, accumulate);
        }
    }

    // ---------------------------------------------------------------- the fast path: TILE x TILE, strides TILE

    /**
     * {@link #product} of {@code TILE x TILE} tiles with every stride {@code TILE}, in blocks of rows by two
     * vectors: with 32 vector registers, blocks of 12 rows up to {@link #ROWS_IN_TWELVES} and of 8 after them
     * (a tile of 64 is 4 x 12 + 2 x 8: a last block of 4 rows would load B for 4 fmas a vector and ran 1.3
     * times slower per row), then blocks of 4 for what is left, which on AVX2 is every row.
     */
    static void squareTile(float[] a, int aOff, boolean transposedA, float[] b, int bOff, float[] c, int cOff,
                           boolean accumulate) {
        int r = 0;
        for (; r < ROWS_IN_TWELVES; r += 12) {
            for (int j = 0; j < TILE; j += 2 * L) {
                int cr = cOff + r * TILE + j;
                if (transposedA) {
                    square12x2Transposed(a, aOff + r, b, bOff + j, c, cr, accumulate);
                } else {
                    square12x2(a, aOff + r * TILE, b, bOff + j, c, cr, accumulate);
                }
            }
        }
        for (; r < ROWS_IN_EIGHTS; r += 8) {
            for (int j = 0; j < TILE; j += 2 * L) {
                int cr = cOff + r * TILE + j;
                if (transposedA) {
                    square8x2Transposed(a, aOff + r, b, bOff + j, c, cr, accumulate);
                } else {
                    square8x2(a, aOff + r * TILE, b, bOff + j, c, cr, accumulate);
                }
            }
        }
        for (; r < TILE; r += 4) {
            for (int j = 0; j < TILE; j += 2 * L) {
                int cr = cOff + r * TILE + j;
                if (transposedA) {
                    square4x2Transposed(a, aOff + r, b, bOff + j, c, cr, accumulate);
                } else {
                    square4x2(a, aOff + r * TILE, b, bOff + j, c, cr, accumulate);
                }
            }
        }
    }

    /** Twelve rows by two vectors of {@link #squareTile}, A's rows at {@code a0 + r * TILE}. */
    private static void square12x2(float[] a, int a0, float[] b, int b0, float[] c, int c0,
                                   boolean accumulate) {
        FloatVector acc0lo = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc0hi = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc1lo = accumulate ? FloatVector.fromArray(S, c, c0 + TILE) : FloatVector.zero(S);
        FloatVector acc1hi = accumulate ? FloatVector.fromArray(S, c, c0 + TILE + L) : FloatVector.zero(S);
        FloatVector acc2lo = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE) : FloatVector.zero(S);
        FloatVector acc2hi = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE + L) : FloatVector.zero(S);
        FloatVector acc3lo = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE) : FloatVector.zero(S);
        FloatVector acc3hi = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE + L) : FloatVector.zero(S);
        FloatVector acc4lo = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE) : FloatVector.zero(S);
        FloatVector acc4hi = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE + L) : FloatVector.zero(S);
        FloatVector acc5lo = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE) : FloatVector.zero(S);
        FloatVector acc5hi = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE + L) : FloatVector.zero(S);
        FloatVector acc6lo = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE) : FloatVector.zero(S);
        FloatVector acc6hi = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE + L) : FloatVector.zero(S);
        FloatVector acc7lo = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE) : FloatVector.zero(S);
        FloatVector acc7hi = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE + L) : FloatVector.zero(S);
        FloatVector acc8lo = accumulate ? FloatVector.fromArray(S, c, c0 + 8 * TILE) : FloatVector.zero(S);
        FloatVector acc8hi = accumulate ? FloatVector.fromArray(S, c, c0 + 8 * TILE + L) : FloatVector.zero(S);
        FloatVector acc9lo = accumulate ? FloatVector.fromArray(S, c, c0 + 9 * TILE) : FloatVector.zero(S);
        FloatVector acc9hi = accumulate ? FloatVector.fromArray(S, c, c0 + 9 * TILE + L) : FloatVector.zero(S);
        FloatVector acc10lo = accumulate ? FloatVector.fromArray(S, c, c0 + 10 * TILE) : FloatVector.zero(S);
        FloatVector acc10hi = accumulate ? FloatVector.fromArray(S, c, c0 + 10 * TILE + L) : FloatVector.zero(S);
        FloatVector acc11lo = accumulate ? FloatVector.fromArray(S, c, c0 + 11 * TILE) : FloatVector.zero(S);
        FloatVector acc11hi = accumulate ? FloatVector.fromArray(S, c, c0 + 11 * TILE + L) : FloatVector.zero(S);
        for (int x = 0; x < TILE; x++) {
            int ax = a0 + x, bx = b0 + x * TILE;
            FloatVector bLo = FloatVector.fromArray(S, b, bx);
            FloatVector bHi = FloatVector.fromArray(S, b, bx + L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc0lo = bLo.fma(av, acc0lo);
            acc0hi = bHi.fma(av, acc0hi);
            av = FloatVector.broadcast(S, a[ax + TILE]);
            acc1lo = bLo.fma(av, acc1lo);
            acc1hi = bHi.fma(av, acc1hi);
            av = FloatVector.broadcast(S, a[ax + 2 * TILE]);
            acc2lo = bLo.fma(av, acc2lo);
            acc2hi = bHi.fma(av, acc2hi);
            av = FloatVector.broadcast(S, a[ax + 3 * TILE]);
            acc3lo = bLo.fma(av, acc3lo);
            acc3hi = bHi.fma(av, acc3hi);
            av = FloatVector.broadcast(S, a[ax + 4 * TILE]);
            acc4lo = bLo.fma(av, acc4lo);
            acc4hi = bHi.fma(av, acc4hi);
            av = FloatVector.broadcast(S, a[ax + 5 * TILE]);
            acc5lo = bLo.fma(av, acc5lo);
            acc5hi = bHi.fma(av, acc5hi);
            av = FloatVector.broadcast(S, a[ax + 6 * TILE]);
            acc6lo = bLo.fma(av, acc6lo);
            acc6hi = bHi.fma(av, acc6hi);
            av = FloatVector.broadcast(S, a[ax + 7 * TILE]);
            acc7lo = bLo.fma(av, acc7lo);
            acc7hi = bHi.fma(av, acc7hi);
            av = FloatVector.broadcast(S, a[ax + 8 * TILE]);
            acc8lo = bLo.fma(av, acc8lo);
            acc8hi = bHi.fma(av, acc8hi);
            av = FloatVector.broadcast(S, a[ax + 9 * TILE]);
            acc9lo = bLo.fma(av, acc9lo);
            acc9hi = bHi.fma(av, acc9hi);
            av = FloatVector.broadcast(S, a[ax + 10 * TILE]);
            acc10lo = bLo.fma(av, acc10lo);
            acc10hi = bHi.fma(av, acc10hi);
            av = FloatVector.broadcast(S, a[ax + 11 * TILE]);
            acc11lo = bLo.fma(av, acc11lo);
            acc11hi = bHi.fma(av, acc11hi);
        }
        acc0lo.intoArray(c, c0);
        acc0hi.intoArray(c, c0 + L);
        acc1lo.intoArray(c, c0 + TILE);
        acc1hi.intoArray(c, c0 + TILE + L);
        acc2lo.intoArray(c, c0 + 2 * TILE);
        acc2hi.intoArray(c, c0 + 2 * TILE + L);
        acc3lo.intoArray(c, c0 + 3 * TILE);
        acc3hi.intoArray(c, c0 + 3 * TILE + L);
        acc4lo.intoArray(c, c0 + 4 * TILE);
        acc4hi.intoArray(c, c0 + 4 * TILE + L);
        acc5lo.intoArray(c, c0 + 5 * TILE);
        acc5hi.intoArray(c, c0 + 5 * TILE + L);
        acc6lo.intoArray(c, c0 + 6 * TILE);
        acc6hi.intoArray(c, c0 + 6 * TILE + L);
        acc7lo.intoArray(c, c0 + 7 * TILE);
        acc7hi.intoArray(c, c0 + 7 * TILE + L);
        acc8lo.intoArray(c, c0 + 8 * TILE);
        acc8hi.intoArray(c, c0 + 8 * TILE + L);
        acc9lo.intoArray(c, c0 + 9 * TILE);
        acc9hi.intoArray(c, c0 + 9 * TILE + L);
        acc10lo.intoArray(c, c0 + 10 * TILE);
        acc10hi.intoArray(c, c0 + 10 * TILE + L);
        acc11lo.intoArray(c, c0 + 11 * TILE);
        acc11hi.intoArray(c, c0 + 11 * TILE + L);
    }

    /**
     * {@link #square12x2} with A the transpose of a tile: {@code a(r, x) = a[a0 + x * TILE + r]}. A copy
     * rather than a shared helper: 24 accumulators crossing a call would be boxed.
     */
    private static void square12x2Transposed(float[] a, int a0, float[] b, int b0, float[] c, int c0,
                                             boolean accumulate) {
        FloatVector acc0lo = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc0hi = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc1lo = accumulate ? FloatVector.fromArray(S, c, c0 + TILE) : FloatVector.zero(S);
        FloatVector acc1hi = accumulate ? FloatVector.fromArray(S, c, c0 + TILE + L) : FloatVector.zero(S);
        FloatVector acc2lo = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE) : FloatVector.zero(S);
        FloatVector acc2hi = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE + L) : FloatVector.zero(S);
        FloatVector acc3lo = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE) : FloatVector.zero(S);
        FloatVector acc3hi = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE + L) : FloatVector.zero(S);
        FloatVector acc4lo = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE) : FloatVector.zero(S);
        FloatVector acc4hi = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE + L) : FloatVector.zero(S);
        FloatVector acc5lo = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE) : FloatVector.zero(S);
        FloatVector acc5hi = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE + L) : FloatVector.zero(S);
        FloatVector acc6lo = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE) : FloatVector.zero(S);
        FloatVector acc6hi = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE + L) : FloatVector.zero(S);
        FloatVector acc7lo = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE) : FloatVector.zero(S);
        FloatVector acc7hi = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE + L) : FloatVector.zero(S);
        FloatVector acc8lo = accumulate ? FloatVector.fromArray(S, c, c0 + 8 * TILE) : FloatVector.zero(S);
        FloatVector acc8hi = accumulate ? FloatVector.fromArray(S, c, c0 + 8 * TILE + L) : FloatVector.zero(S);
        FloatVector acc9lo = accumulate ? FloatVector.fromArray(S, c, c0 + 9 * TILE) : FloatVector.zero(S);
        FloatVector acc9hi = accumulate ? FloatVector.fromArray(S, c, c0 + 9 * TILE + L) : FloatVector.zero(S);
        FloatVector acc10lo = accumulate ? FloatVector.fromArray(S, c, c0 + 10 * TILE) : FloatVector.zero(S);
        FloatVector acc10hi = accumulate ? FloatVector.fromArray(S, c, c0 + 10 * TILE + L) : FloatVector.zero(S);
        FloatVector acc11lo = accumulate ? FloatVector.fromArray(S, c, c0 + 11 * TILE) : FloatVector.zero(S);
        FloatVector acc11hi = accumulate ? FloatVector.fromArray(S, c, c0 + 11 * TILE + L) : FloatVector.zero(S);
        for (int x = 0; x < TILE; x++) {
            int ax = a0 + x * TILE, bx = b0 + x * TILE;
            FloatVector bLo = FloatVector.fromArray(S, b, bx);
            FloatVector bHi = FloatVector.fromArray(S, b, bx + L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc0lo = bLo.fma(av, acc0lo);
            acc0hi = bHi.fma(av, acc0hi);
            av = FloatVector.broadcast(S, a[ax + 1]);
            acc1lo = bLo.fma(av, acc1lo);
            acc1hi = bHi.fma(av, acc1hi);
            av = FloatVector.broadcast(S, a[ax + 2]);
            acc2lo = bLo.fma(av, acc2lo);
            acc2hi = bHi.fma(av, acc2hi);
            av = FloatVector.broadcast(S, a[ax + 3]);
            acc3lo = bLo.fma(av, acc3lo);
            acc3hi = bHi.fma(av, acc3hi);
            av = FloatVector.broadcast(S, a[ax + 4]);
            acc4lo = bLo.fma(av, acc4lo);
            acc4hi = bHi.fma(av, acc4hi);
            av = FloatVector.broadcast(S, a[ax + 5]);
            acc5lo = bLo.fma(av, acc5lo);
            acc5hi = bHi.fma(av, acc5hi);
            av = FloatVector.broadcast(S, a[ax + 6]);
            acc6lo = bLo.fma(av, acc6lo);
            acc6hi = bHi.fma(av, acc6hi);
            av = FloatVector.broadcast(S, a[ax + 7]);
            acc7lo = bLo.fma(av, acc7lo);
            acc7hi = bHi.fma(av, acc7hi);
            av = FloatVector.broadcast(S, a[ax + 8]);
            acc8lo = bLo.fma(av, acc8lo);
            acc8hi = bHi.fma(av, acc8hi);
            av = FloatVector.broadcast(S, a[ax + 9]);
            acc9lo = bLo.fma(av, acc9lo);
            acc9hi = bHi.fma(av, acc9hi);
            av = FloatVector.broadcast(S, a[ax + 10]);
            acc10lo = bLo.fma(av, acc10lo);
            acc10hi = bHi.fma(av, acc10hi);
            av = FloatVector.broadcast(S, a[ax + 11]);
            acc11lo = bLo.fma(av, acc11lo);
            acc11hi = bHi.fma(av, acc11hi);
        }
        acc0lo.intoArray(c, c0);
        acc0hi.intoArray(c, c0 + L);
        acc1lo.intoArray(c, c0 + TILE);
        acc1hi.intoArray(c, c0 + TILE + L);
        acc2lo.intoArray(c, c0 + 2 * TILE);
        acc2hi.intoArray(c, c0 + 2 * TILE + L);
        acc3lo.intoArray(c, c0 + 3 * TILE);
        acc3hi.intoArray(c, c0 + 3 * TILE + L);
        acc4lo.intoArray(c, c0 + 4 * TILE);
        acc4hi.intoArray(c, c0 + 4 * TILE + L);
        acc5lo.intoArray(c, c0 + 5 * TILE);
        acc5hi.intoArray(c, c0 + 5 * TILE + L);
        acc6lo.intoArray(c, c0 + 6 * TILE);
        acc6hi.intoArray(c, c0 + 6 * TILE + L);
        acc7lo.intoArray(c, c0 + 7 * TILE);
        acc7hi.intoArray(c, c0 + 7 * TILE + L);
        acc8lo.intoArray(c, c0 + 8 * TILE);
        acc8hi.intoArray(c, c0 + 8 * TILE + L);
        acc9lo.intoArray(c, c0 + 9 * TILE);
        acc9hi.intoArray(c, c0 + 9 * TILE + L);
        acc10lo.intoArray(c, c0 + 10 * TILE);
        acc10hi.intoArray(c, c0 + 10 * TILE + L);
        acc11lo.intoArray(c, c0 + 11 * TILE);
        acc11hi.intoArray(c, c0 + 11 * TILE + L);
    }

    /** Eight rows by two vectors of {@link #squareTile}: the last 16 rows of a tile of 64. */
    private static void square8x2(float[] a, int a0, float[] b, int b0, float[] c, int c0,
                                   boolean accumulate) {
        FloatVector acc0lo = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc0hi = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc1lo = accumulate ? FloatVector.fromArray(S, c, c0 + TILE) : FloatVector.zero(S);
        FloatVector acc1hi = accumulate ? FloatVector.fromArray(S, c, c0 + TILE + L) : FloatVector.zero(S);
        FloatVector acc2lo = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE) : FloatVector.zero(S);
        FloatVector acc2hi = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE + L) : FloatVector.zero(S);
        FloatVector acc3lo = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE) : FloatVector.zero(S);
        FloatVector acc3hi = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE + L) : FloatVector.zero(S);
        FloatVector acc4lo = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE) : FloatVector.zero(S);
        FloatVector acc4hi = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE + L) : FloatVector.zero(S);
        FloatVector acc5lo = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE) : FloatVector.zero(S);
        FloatVector acc5hi = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE + L) : FloatVector.zero(S);
        FloatVector acc6lo = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE) : FloatVector.zero(S);
        FloatVector acc6hi = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE + L) : FloatVector.zero(S);
        FloatVector acc7lo = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE) : FloatVector.zero(S);
        FloatVector acc7hi = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE + L) : FloatVector.zero(S);
        for (int x = 0; x < TILE; x++) {
            int ax = a0 + x, bx = b0 + x * TILE;
            FloatVector bLo = FloatVector.fromArray(S, b, bx);
            FloatVector bHi = FloatVector.fromArray(S, b, bx + L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc0lo = bLo.fma(av, acc0lo);
            acc0hi = bHi.fma(av, acc0hi);
            av = FloatVector.broadcast(S, a[ax + TILE]);
            acc1lo = bLo.fma(av, acc1lo);
            acc1hi = bHi.fma(av, acc1hi);
            av = FloatVector.broadcast(S, a[ax + 2 * TILE]);
            acc2lo = bLo.fma(av, acc2lo);
            acc2hi = bHi.fma(av, acc2hi);
            av = FloatVector.broadcast(S, a[ax + 3 * TILE]);
            acc3lo = bLo.fma(av, acc3lo);
            acc3hi = bHi.fma(av, acc3hi);
            av = FloatVector.broadcast(S, a[ax + 4 * TILE]);
            acc4lo = bLo.fma(av, acc4lo);
            acc4hi = bHi.fma(av, acc4hi);
            av = FloatVector.broadcast(S, a[ax + 5 * TILE]);
            acc5lo = bLo.fma(av, acc5lo);
            acc5hi = bHi.fma(av, acc5hi);
            av = FloatVector.broadcast(S, a[ax + 6 * TILE]);
            acc6lo = bLo.fma(av, acc6lo);
            acc6hi = bHi.fma(av, acc6hi);
            av = FloatVector.broadcast(S, a[ax + 7 * TILE]);
            acc7lo = bLo.fma(av, acc7lo);
            acc7hi = bHi.fma(av, acc7hi);
        }
        acc0lo.intoArray(c, c0);
        acc0hi.intoArray(c, c0 + L);
        acc1lo.intoArray(c, c0 + TILE);
        acc1hi.intoArray(c, c0 + TILE + L);
        acc2lo.intoArray(c, c0 + 2 * TILE);
        acc2hi.intoArray(c, c0 + 2 * TILE + L);
        acc3lo.intoArray(c, c0 + 3 * TILE);
        acc3hi.intoArray(c, c0 + 3 * TILE + L);
        acc4lo.intoArray(c, c0 + 4 * TILE);
        acc4hi.intoArray(c, c0 + 4 * TILE + L);
        acc5lo.intoArray(c, c0 + 5 * TILE);
        acc5hi.intoArray(c, c0 + 5 * TILE + L);
        acc6lo.intoArray(c, c0 + 6 * TILE);
        acc6hi.intoArray(c, c0 + 6 * TILE + L);
        acc7lo.intoArray(c, c0 + 7 * TILE);
        acc7hi.intoArray(c, c0 + 7 * TILE + L);
    }

    /** {@link #square8x2} with A the transpose of a tile: {@code a(r, x) = a[a0 + x * TILE + r]}. */
    private static void square8x2Transposed(float[] a, int a0, float[] b, int b0, float[] c, int c0,
                                             boolean accumulate) {
        FloatVector acc0lo = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc0hi = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc1lo = accumulate ? FloatVector.fromArray(S, c, c0 + TILE) : FloatVector.zero(S);
        FloatVector acc1hi = accumulate ? FloatVector.fromArray(S, c, c0 + TILE + L) : FloatVector.zero(S);
        FloatVector acc2lo = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE) : FloatVector.zero(S);
        FloatVector acc2hi = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE + L) : FloatVector.zero(S);
        FloatVector acc3lo = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE) : FloatVector.zero(S);
        FloatVector acc3hi = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE + L) : FloatVector.zero(S);
        FloatVector acc4lo = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE) : FloatVector.zero(S);
        FloatVector acc4hi = accumulate ? FloatVector.fromArray(S, c, c0 + 4 * TILE + L) : FloatVector.zero(S);
        FloatVector acc5lo = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE) : FloatVector.zero(S);
        FloatVector acc5hi = accumulate ? FloatVector.fromArray(S, c, c0 + 5 * TILE + L) : FloatVector.zero(S);
        FloatVector acc6lo = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE) : FloatVector.zero(S);
        FloatVector acc6hi = accumulate ? FloatVector.fromArray(S, c, c0 + 6 * TILE + L) : FloatVector.zero(S);
        FloatVector acc7lo = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE) : FloatVector.zero(S);
        FloatVector acc7hi = accumulate ? FloatVector.fromArray(S, c, c0 + 7 * TILE + L) : FloatVector.zero(S);
        for (int x = 0; x < TILE; x++) {
            int ax = a0 + x * TILE, bx = b0 + x * TILE;
            FloatVector bLo = FloatVector.fromArray(S, b, bx);
            FloatVector bHi = FloatVector.fromArray(S, b, bx + L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc0lo = bLo.fma(av, acc0lo);
            acc0hi = bHi.fma(av, acc0hi);
            av = FloatVector.broadcast(S, a[ax + 1]);
            acc1lo = bLo.fma(av, acc1lo);
            acc1hi = bHi.fma(av, acc1hi);
            av = FloatVector.broadcast(S, a[ax + 2]);
            acc2lo = bLo.fma(av, acc2lo);
            acc2hi = bHi.fma(av, acc2hi);
            av = FloatVector.broadcast(S, a[ax + 3]);
            acc3lo = bLo.fma(av, acc3lo);
            acc3hi = bHi.fma(av, acc3hi);
            av = FloatVector.broadcast(S, a[ax + 4]);
            acc4lo = bLo.fma(av, acc4lo);
            acc4hi = bHi.fma(av, acc4hi);
            av = FloatVector.broadcast(S, a[ax + 5]);
            acc5lo = bLo.fma(av, acc5lo);
            acc5hi = bHi.fma(av, acc5hi);
            av = FloatVector.broadcast(S, a[ax + 6]);
            acc6lo = bLo.fma(av, acc6lo);
            acc6hi = bHi.fma(av, acc6hi);
            av = FloatVector.broadcast(S, a[ax + 7]);
            acc7lo = bLo.fma(av, acc7lo);
            acc7hi = bHi.fma(av, acc7hi);
        }
        acc0lo.intoArray(c, c0);
        acc0hi.intoArray(c, c0 + L);
        acc1lo.intoArray(c, c0 + TILE);
        acc1hi.intoArray(c, c0 + TILE + L);
        acc2lo.intoArray(c, c0 + 2 * TILE);
        acc2hi.intoArray(c, c0 + 2 * TILE + L);
        acc3lo.intoArray(c, c0 + 3 * TILE);
        acc3hi.intoArray(c, c0 + 3 * TILE + L);
        acc4lo.intoArray(c, c0 + 4 * TILE);
        acc4hi.intoArray(c, c0 + 4 * TILE + L);
        acc5lo.intoArray(c, c0 + 5 * TILE);
        acc5hi.intoArray(c, c0 + 5 * TILE + L);
        acc6lo.intoArray(c, c0 + 6 * TILE);
        acc6hi.intoArray(c, c0 + 6 * TILE + L);
        acc7lo.intoArray(c, c0 + 7 * TILE);
        acc7hi.intoArray(c, c0 + 7 * TILE + L);
    }

    /** Four rows by two vectors of {@link #squareTile}: every row on AVX2 (and any rows past the blocks of 8). */
    private static void square4x2(float[] a, int a0, float[] b, int b0, float[] c, int c0,
                                  boolean accumulate) {
        FloatVector acc0lo = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc0hi = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc1lo = accumulate ? FloatVector.fromArray(S, c, c0 + TILE) : FloatVector.zero(S);
        FloatVector acc1hi = accumulate ? FloatVector.fromArray(S, c, c0 + TILE + L) : FloatVector.zero(S);
        FloatVector acc2lo = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE) : FloatVector.zero(S);
        FloatVector acc2hi = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE + L) : FloatVector.zero(S);
        FloatVector acc3lo = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE) : FloatVector.zero(S);
        FloatVector acc3hi = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE + L) : FloatVector.zero(S);
        for (int x = 0; x < TILE; x++) {
            int ax = a0 + x, bx = b0 + x * TILE;
            FloatVector bLo = FloatVector.fromArray(S, b, bx);
            FloatVector bHi = FloatVector.fromArray(S, b, bx + L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc0lo = bLo.fma(av, acc0lo);
            acc0hi = bHi.fma(av, acc0hi);
            av = FloatVector.broadcast(S, a[ax + TILE]);
            acc1lo = bLo.fma(av, acc1lo);
            acc1hi = bHi.fma(av, acc1hi);
            av = FloatVector.broadcast(S, a[ax + 2 * TILE]);
            acc2lo = bLo.fma(av, acc2lo);
            acc2hi = bHi.fma(av, acc2hi);
            av = FloatVector.broadcast(S, a[ax + 3 * TILE]);
            acc3lo = bLo.fma(av, acc3lo);
            acc3hi = bHi.fma(av, acc3hi);
        }
        acc0lo.intoArray(c, c0);
        acc0hi.intoArray(c, c0 + L);
        acc1lo.intoArray(c, c0 + TILE);
        acc1hi.intoArray(c, c0 + TILE + L);
        acc2lo.intoArray(c, c0 + 2 * TILE);
        acc2hi.intoArray(c, c0 + 2 * TILE + L);
        acc3lo.intoArray(c, c0 + 3 * TILE);
        acc3hi.intoArray(c, c0 + 3 * TILE + L);
    }

    /** {@link #square4x2} with A the transpose of a tile: {@code a(r, x) = a[a0 + x * TILE + r]}. */
    private static void square4x2Transposed(float[] a, int a0, float[] b, int b0, float[] c, int c0,
                                            boolean accumulate) {
        FloatVector acc0lo = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc0hi = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc1lo = accumulate ? FloatVector.fromArray(S, c, c0 + TILE) : FloatVector.zero(S);
        FloatVector acc1hi = accumulate ? FloatVector.fromArray(S, c, c0 + TILE + L) : FloatVector.zero(S);
        FloatVector acc2lo = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE) : FloatVector.zero(S);
        FloatVector acc2hi = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * TILE + L) : FloatVector.zero(S);
        FloatVector acc3lo = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE) : FloatVector.zero(S);
        FloatVector acc3hi = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * TILE + L) : FloatVector.zero(S);
        for (int x = 0; x < TILE; x++) {
            int ax = a0 + x * TILE, bx = b0 + x * TILE;
            FloatVector bLo = FloatVector.fromArray(S, b, bx);
            FloatVector bHi = FloatVector.fromArray(S, b, bx + L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc0lo = bLo.fma(av, acc0lo);
            acc0hi = bHi.fma(av, acc0hi);
            av = FloatVector.broadcast(S, a[ax + 1]);
            acc1lo = bLo.fma(av, acc1lo);
            acc1hi = bHi.fma(av, acc1hi);
            av = FloatVector.broadcast(S, a[ax + 2]);
            acc2lo = bLo.fma(av, acc2lo);
            acc2hi = bHi.fma(av, acc2hi);
            av = FloatVector.broadcast(S, a[ax + 3]);
            acc3lo = bLo.fma(av, acc3lo);
            acc3hi = bHi.fma(av, acc3hi);
        }
        acc0lo.intoArray(c, c0);
        acc0hi.intoArray(c, c0 + L);
        acc1lo.intoArray(c, c0 + TILE);
        acc1hi.intoArray(c, c0 + TILE + L);
        acc2lo.intoArray(c, c0 + 2 * TILE);
        acc2hi.intoArray(c, c0 + 2 * TILE + L);
        acc3lo.intoArray(c, c0 + 3 * TILE);
        acc3hi.intoArray(c, c0 + 3 * TILE + L);
    }

    // ---------------------------------------------------------------- the general path: strides as arguments

    /**
     * {@link #product} for any shape it allows: blocks of 4 rows by 4, 2 or 1 vectors, the strides as
     * arguments.
     */
    static void blocked(float[] a, int aOff, int aRow, boolean transposedA, float[] b, int bOff, int bRow,
                        float[] c, int cOff, int cRow, int rows, int inner, int width, boolean accumulate) {
        int wider = width - width % (4 * L);
        int wide = width - width % (2 * L);
        // the strides of a(r, x) for the narrower blocks, which only the tails of unusual widths reach
        int rStride = transposedA ? 1 : aRow, xStride = transposedA ? TILE : 1;
        for (int r = 0; r < rows; r += 4) {
            int ar = aOff + r * rStride, cr = cOff + r * cRow;
            int j = 0;
            for (; j < wider; j += 4 * L) {
                if (transposedA) {
                    rowBlock4x4Transposed(a, ar, b, bOff + j, bRow, c, cr + j, cRow, inner, accumulate);
                } else {
                    rowBlock4x4(a, ar, aRow, b, bOff + j, bRow, c, cr + j, cRow, inner, accumulate);
                }
            }
            for (; j < wide; j += 2 * L) {
                rowBlock4x2(a, ar, rStride, xStride, b, bOff + j, bRow, c, cr + j, cRow, inner, accumulate);
            }
            for (; j < width; j += L) {
                rowBlock4x1(a, ar, rStride, xStride, b, bOff + j, bRow, c, cr + j, cRow, inner, accumulate);
            }
        }
    }

    /**
     * Four rows by four vectors of {@link #blocked}: {@code c[0..4)[0..4L)} at {@code c0}. Sixteen accumulators
     * hide the fma latency, and each broadcast of A feeds four fmas instead of two, so fewer loads per fma
     * than {@link #rowBlock4x2}; every lane is still one fma chain in {@code x} order, so the bits are the
     * same as the narrower blocks'. A row of A is contiguous here: indexing it by {@code x} itself lets the
     * JIT drop the bounds checks that a variable stride keeps, which is most of the gain over the strided
     * blocks.
     */
    private static void rowBlock4x4(float[] a, int a0, int aRow, float[] b, int b0, int bRow,
                                    float[] c, int c0, int cRow, int inner, boolean accumulate) {
        int a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
        int c1 = c0 + cRow, c2 = c1 + cRow, c3 = c2 + cRow;
        FloatVector acc00 = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc01 = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc02 = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * L) : FloatVector.zero(S);
        FloatVector acc03 = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * L) : FloatVector.zero(S);
        FloatVector acc10 = accumulate ? FloatVector.fromArray(S, c, c1) : FloatVector.zero(S);
        FloatVector acc11 = accumulate ? FloatVector.fromArray(S, c, c1 + L) : FloatVector.zero(S);
        FloatVector acc12 = accumulate ? FloatVector.fromArray(S, c, c1 + 2 * L) : FloatVector.zero(S);
        FloatVector acc13 = accumulate ? FloatVector.fromArray(S, c, c1 + 3 * L) : FloatVector.zero(S);
        FloatVector acc20 = accumulate ? FloatVector.fromArray(S, c, c2) : FloatVector.zero(S);
        FloatVector acc21 = accumulate ? FloatVector.fromArray(S, c, c2 + L) : FloatVector.zero(S);
        FloatVector acc22 = accumulate ? FloatVector.fromArray(S, c, c2 + 2 * L) : FloatVector.zero(S);
        FloatVector acc23 = accumulate ? FloatVector.fromArray(S, c, c2 + 3 * L) : FloatVector.zero(S);
        FloatVector acc30 = accumulate ? FloatVector.fromArray(S, c, c3) : FloatVector.zero(S);
        FloatVector acc31 = accumulate ? FloatVector.fromArray(S, c, c3 + L) : FloatVector.zero(S);
        FloatVector acc32 = accumulate ? FloatVector.fromArray(S, c, c3 + 2 * L) : FloatVector.zero(S);
        FloatVector acc33 = accumulate ? FloatVector.fromArray(S, c, c3 + 3 * L) : FloatVector.zero(S);
        for (int x = 0, bx = b0; x < inner; x++, bx += bRow) {
            FloatVector b0v = FloatVector.fromArray(S, b, bx);
            FloatVector b1v = FloatVector.fromArray(S, b, bx + L);
            FloatVector b2v = FloatVector.fromArray(S, b, bx + 2 * L);
            FloatVector b3v = FloatVector.fromArray(S, b, bx + 3 * L);
            FloatVector av = FloatVector.broadcast(S, a[a0 + x]);
            acc00 = b0v.fma(av, acc00);
            acc01 = b1v.fma(av, acc01);
            acc02 = b2v.fma(av, acc02);
            acc03 = b3v.fma(av, acc03);
            av = FloatVector.broadcast(S, a[a1 + x]);
            acc10 = b0v.fma(av, acc10);
            acc11 = b1v.fma(av, acc11);
            acc12 = b2v.fma(av, acc12);
            acc13 = b3v.fma(av, acc13);
            av = FloatVector.broadcast(S, a[a2 + x]);
            acc20 = b0v.fma(av, acc20);
            acc21 = b1v.fma(av, acc21);
            acc22 = b2v.fma(av, acc22);
            acc23 = b3v.fma(av, acc23);
            av = FloatVector.broadcast(S, a[a3 + x]);
            acc30 = b0v.fma(av, acc30);
            acc31 = b1v.fma(av, acc31);
            acc32 = b2v.fma(av, acc32);
            acc33 = b3v.fma(av, acc33);
        }
        acc00.intoArray(c, c0);
        acc01.intoArray(c, c0 + L);
        acc02.intoArray(c, c0 + 2 * L);
        acc03.intoArray(c, c0 + 3 * L);
        acc10.intoArray(c, c1);
        acc11.intoArray(c, c1 + L);
        acc12.intoArray(c, c1 + 2 * L);
        acc13.intoArray(c, c1 + 3 * L);
        acc20.intoArray(c, c2);
        acc21.intoArray(c, c2 + L);
        acc22.intoArray(c, c2 + 2 * L);
        acc23.intoArray(c, c2 + 3 * L);
        acc30.intoArray(c, c3);
        acc31.intoArray(c, c3 + L);
        acc32.intoArray(c, c3 + 2 * L);
        acc33.intoArray(c, c3 + 3 * L);
    }

    /**
     * {@link #rowBlock4x4} with A the transpose of a {@code TILE}-wide tile: {@code a(r, x) = a[a0 + x * TILE + r]}.
     * A copy rather than a shared helper: the sixteen accumulators would cross a call and be boxed, and a stride
     * passed as a parameter would keep the bounds checks this copy exists to drop.
     */
    private static void rowBlock4x4Transposed(float[] a, int a0, float[] b, int b0, int bRow,
                                              float[] c, int c0, int cRow, int inner, boolean accumulate) {
        int c1 = c0 + cRow, c2 = c1 + cRow, c3 = c2 + cRow;
        FloatVector acc00 = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc01 = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc02 = accumulate ? FloatVector.fromArray(S, c, c0 + 2 * L) : FloatVector.zero(S);
        FloatVector acc03 = accumulate ? FloatVector.fromArray(S, c, c0 + 3 * L) : FloatVector.zero(S);
        FloatVector acc10 = accumulate ? FloatVector.fromArray(S, c, c1) : FloatVector.zero(S);
        FloatVector acc11 = accumulate ? FloatVector.fromArray(S, c, c1 + L) : FloatVector.zero(S);
        FloatVector acc12 = accumulate ? FloatVector.fromArray(S, c, c1 + 2 * L) : FloatVector.zero(S);
        FloatVector acc13 = accumulate ? FloatVector.fromArray(S, c, c1 + 3 * L) : FloatVector.zero(S);
        FloatVector acc20 = accumulate ? FloatVector.fromArray(S, c, c2) : FloatVector.zero(S);
        FloatVector acc21 = accumulate ? FloatVector.fromArray(S, c, c2 + L) : FloatVector.zero(S);
        FloatVector acc22 = accumulate ? FloatVector.fromArray(S, c, c2 + 2 * L) : FloatVector.zero(S);
        FloatVector acc23 = accumulate ? FloatVector.fromArray(S, c, c2 + 3 * L) : FloatVector.zero(S);
        FloatVector acc30 = accumulate ? FloatVector.fromArray(S, c, c3) : FloatVector.zero(S);
        FloatVector acc31 = accumulate ? FloatVector.fromArray(S, c, c3 + L) : FloatVector.zero(S);
        FloatVector acc32 = accumulate ? FloatVector.fromArray(S, c, c3 + 2 * L) : FloatVector.zero(S);
        FloatVector acc33 = accumulate ? FloatVector.fromArray(S, c, c3 + 3 * L) : FloatVector.zero(S);
        for (int x = 0, bx = b0; x < inner; x++, bx += bRow) {
            int ax = a0 + x * TILE;
            FloatVector b0v = FloatVector.fromArray(S, b, bx);
            FloatVector b1v = FloatVector.fromArray(S, b, bx + L);
            FloatVector b2v = FloatVector.fromArray(S, b, bx + 2 * L);
            FloatVector b3v = FloatVector.fromArray(S, b, bx + 3 * L);
            FloatVector av = FloatVector.broadcast(S, a[ax]);
            acc00 = b0v.fma(av, acc00);
            acc01 = b1v.fma(av, acc01);
            acc02 = b2v.fma(av, acc02);
            acc03 = b3v.fma(av, acc03);
            av = FloatVector.broadcast(S, a[ax + 1]);
            acc10 = b0v.fma(av, acc10);
            acc11 = b1v.fma(av, acc11);
            acc12 = b2v.fma(av, acc12);
            acc13 = b3v.fma(av, acc13);
            av = FloatVector.broadcast(S, a[ax + 2]);
            acc20 = b0v.fma(av, acc20);
            acc21 = b1v.fma(av, acc21);
            acc22 = b2v.fma(av, acc22);
            acc23 = b3v.fma(av, acc23);
            av = FloatVector.broadcast(S, a[ax + 3]);
            acc30 = b0v.fma(av, acc30);
            acc31 = b1v.fma(av, acc31);
            acc32 = b2v.fma(av, acc32);
            acc33 = b3v.fma(av, acc33);
        }
        acc00.intoArray(c, c0);
        acc01.intoArray(c, c0 + L);
        acc02.intoArray(c, c0 + 2 * L);
        acc03.intoArray(c, c0 + 3 * L);
        acc10.intoArray(c, c1);
        acc11.intoArray(c, c1 + L);
        acc12.intoArray(c, c1 + 2 * L);
        acc13.intoArray(c, c1 + 3 * L);
        acc20.intoArray(c, c2);
        acc21.intoArray(c, c2 + L);
        acc22.intoArray(c, c2 + 2 * L);
        acc23.intoArray(c, c2 + 3 * L);
        acc30.intoArray(c, c3);
        acc31.intoArray(c, c3 + L);
        acc32.intoArray(c, c3 + 2 * L);
        acc33.intoArray(c, c3 + 3 * L);
    }

    /** Four rows by two vectors of {@link #blocked}: {@code c[0..4)[0..2L)} at {@code c0}. */
    private static void rowBlock4x2(float[] a, int a0, int aRow, int aCol, float[] b, int b0, int bRow,
                                    float[] c, int c0, int cRow, int inner, boolean accumulate) {
        int a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
        int c1 = c0 + cRow, c2 = c1 + cRow, c3 = c2 + cRow;
        FloatVector acc00 = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc01 = accumulate ? FloatVector.fromArray(S, c, c0 + L) : FloatVector.zero(S);
        FloatVector acc10 = accumulate ? FloatVector.fromArray(S, c, c1) : FloatVector.zero(S);
        FloatVector acc11 = accumulate ? FloatVector.fromArray(S, c, c1 + L) : FloatVector.zero(S);
        FloatVector acc20 = accumulate ? FloatVector.fromArray(S, c, c2) : FloatVector.zero(S);
        FloatVector acc21 = accumulate ? FloatVector.fromArray(S, c, c2 + L) : FloatVector.zero(S);
        FloatVector acc30 = accumulate ? FloatVector.fromArray(S, c, c3) : FloatVector.zero(S);
        FloatVector acc31 = accumulate ? FloatVector.fromArray(S, c, c3 + L) : FloatVector.zero(S);
        for (int x = 0, ax = 0, bx = b0; x < inner; x++, ax += aCol, bx += bRow) {
            FloatVector b0v = FloatVector.fromArray(S, b, bx);
            FloatVector b1v = FloatVector.fromArray(S, b, bx + L);
            FloatVector a0v = FloatVector.broadcast(S, a[a0 + ax]);
            acc00 = b0v.fma(a0v, acc00);
            acc01 = b1v.fma(a0v, acc01);
            FloatVector a1v = FloatVector.broadcast(S, a[a1 + ax]);
            acc10 = b0v.fma(a1v, acc10);
            acc11 = b1v.fma(a1v, acc11);
            FloatVector a2v = FloatVector.broadcast(S, a[a2 + ax]);
            acc20 = b0v.fma(a2v, acc20);
            acc21 = b1v.fma(a2v, acc21);
            FloatVector a3v = FloatVector.broadcast(S, a[a3 + ax]);
            acc30 = b0v.fma(a3v, acc30);
            acc31 = b1v.fma(a3v, acc31);
        }
        acc00.intoArray(c, c0);
        acc01.intoArray(c, c0 + L);
        acc10.intoArray(c, c1);
        acc11.intoArray(c, c1 + L);
        acc20.intoArray(c, c2);
        acc21.intoArray(c, c2 + L);
        acc30.intoArray(c, c3);
        acc31.intoArray(c, c3 + L);
    }

    /** Four rows by one vector of {@link #blocked}: {@code c[0..4)[0..L)} at {@code c0}. */
    private static void rowBlock4x1(float[] a, int a0, int aRow, int aCol, float[] b, int b0, int bRow,
                                    float[] c, int c0, int cRow, int inner, boolean accumulate) {
        int a1 = a0 + aRow, a2 = a1 + aRow, a3 = a2 + aRow;
        int c1 = c0 + cRow, c2 = c1 + cRow, c3 = c2 + cRow;
        FloatVector acc0 = accumulate ? FloatVector.fromArray(S, c, c0) : FloatVector.zero(S);
        FloatVector acc1 = accumulate ? FloatVector.fromArray(S, c, c1) : FloatVector.zero(S);
        FloatVector acc2 = accumulate ? FloatVector.fromArray(S, c, c2) : FloatVector.zero(S);
        FloatVector acc3 = accumulate ? FloatVector.fromArray(S, c, c3) : FloatVector.zero(S);
        for (int x = 0, ax = 0, bx = b0; x < inner; x++, ax += aCol, bx += bRow) {
            FloatVector bv = FloatVector.fromArray(S, b, bx);
            acc0 = bv.fma(FloatVector.broadcast(S, a[a0 + ax]), acc0);
            acc1 = bv.fma(FloatVector.broadcast(S, a[a1 + ax]), acc1);
            acc2 = bv.fma(FloatVector.broadcast(S, a[a2 + ax]), acc2);
            acc3 = bv.fma(FloatVector.broadcast(S, a[a3 + ax]), acc3);
        }
        acc0.intoArray(c, c0);
        acc1.intoArray(c, c1);
        acc2.intoArray(c, c2);
        acc3.intoArray(c, c3);
    }
}
