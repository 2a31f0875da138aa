package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuAttention.TILE;
import static io.leviathan.backend.cpu.TestData.bits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;

/**
 * The tile products of attention: the fast path for {@code TILE x TILE} tiles ({@link CpuAttentionTiles#squareTile})
 * against the general blocks ({@link CpuAttentionTiles#blocked}) bit for bit, and both against a naive product in
 * double. Random data at offsets inside larger arrays, with and without a transposed A, overwriting and
 * accumulating.
 */
class CpuAttentionTilesTest {
    private static final int N = TILE * TILE;

    @Test
    void squareTileMatchesTheGeneralBlocksBitForBit() {
        int aOff = 3 * TILE + 5, bOff = 2 * TILE + 7, cOff = TILE + 1; // not vector-aligned
        float[] a = TestData.uniform(1, aOff + N, 1.0), b = TestData.uniform(2, bOff + N, 1.0);
        float[] c0 = TestData.uniform(3, cOff + N, 1.0);
        for (boolean transposedA : new boolean[] {false, true}) {
            for (boolean accumulate : new boolean[] {false, true}) {
                String what = "transposedA=" + transposedA + " accumulate=" + accumulate;
                float[] fast = c0.clone(), general = c0.clone();
                CpuAttentionTiles.squareTile(a, aOff, transposedA, b, bOff, fast, cOff, accumulate);
                CpuAttentionTiles.blocked(a, aOff, TILE, transposedA, b, bOff, TILE, general, cOff, TILE,
                        TILE, TILE, TILE, accumulate);
                assertArrayEquals(bits(general), bits(fast), what);
                float[] product = c0.clone();
                CpuAttentionTiles.product(a, aOff, TILE, transposedA, b, bOff, TILE, product, cOff, TILE,
                        TILE, TILE, TILE, accumulate);
                assertArrayEquals(bits(fast), bits(product), what + ": product takes the fast path's bits");
                Approx.assertClose(what, naive(a, aOff, TILE, transposedA, b, bOff, TILE, c0, cOff, TILE,
                        TILE, TILE, TILE, accumulate), fast, 1e-5, 1e-5);
            }
        }
    }

    @Test
    void generalShapesMatchTheNaiveProduct() {
        // rows, inner, width, aRow, bRow, cRow: narrower, wider and strided shapes (head sizes other than 64)
        // (widths are multiples of 16, so of the vector length on AVX-512 and AVX2)
        int[][] shapes = {{8, 40, 48, 40, 48, 48}, {TILE, 24, TILE, 32, TILE, TILE}, {TILE, TILE, 32, TILE, 32, 48},
                {4, TILE, 16, TILE, 16, 16}, {12, 72, 80, 75, 80, 96}};
        int seed = 10;
        for (int[] s : shapes) {
            int rows = s[0], inner = s[1], width = s[2], aRow = s[3], bRow = s[4], cRow = s[5];
            for (boolean transposedA : new boolean[] {false, true}) {
                int aLen = transposedA ? inner * TILE : rows * aRow;
                float[] a = TestData.uniform(seed++, 9 + aLen, 1.0);
                float[] b = TestData.uniform(seed++, 5 + inner * bRow, 1.0);
                float[] c0 = TestData.uniform(seed++, 2 + rows * cRow, 1.0);
                for (boolean accumulate : new boolean[] {false, true}) {
                    float[] c = c0.clone();
                    CpuAttentionTiles.product(a, 9, aRow, transposedA, b, 5, bRow, c, 2, cRow, rows, inner, width,
                            accumulate);
                    String what = "rows=" + rows + " inner=" + inner + " width=" + width + " transposedA="
                            + transposedA + " accumulate=" + accumulate;
                    Approx.assertClose(what, naive(a, 9, aRow, transposedA, b, 5, bRow, c0, 2, cRow, rows, inner,
                            width, accumulate), c, 1e-5, 1e-5);
                }
            }
        }
    }

    /** The product's contract in double; {@code c0} outside the written block is kept as it is. */
    private static double[] naive(float[] a, int aOff, int aRow, boolean transposedA, float[] b, int bOff, int bRow,
                                  float[] c0, int cOff, int cRow, int rows, int inner, int width, boolean accumulate) {
        double[] c = new double[c0.length];
        for (int i = 0; i < c.length; i++) {
            c[i] = c0[i];
        }
        for (int r = 0; r < rows; r++) {
            for (int j = 0; j < width; j++) {
                double sum = accumulate ? c0[cOff + r * cRow + j] : 0;
                for (int x = 0; x < inner; x++) {
                    float ax = transposedA ? a[aOff + x * TILE + r] : a[aOff + r * aRow + x];
                    sum += (double) ax * b[bOff + x * bRow + j];
                }
                c[cOff + r * cRow + j] = sum;
            }
        }
        return c;
    }

}
