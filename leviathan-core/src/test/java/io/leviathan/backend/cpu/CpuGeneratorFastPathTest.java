package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.TestData.bits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The vector fast paths of the generator's kernels ({@link CpuSplineBasisLanes}, {@link CpuSeparableModesBlocked})
 * give the same bits as the plain loops they replace, on random data with windows at both ends of the grid,
 * clamped and NaN coordinates, ranges that do not fill a vector, and one and two threads.
 */
@ExtendWith(NativeMemoryCheck.class)
class CpuGeneratorFastPathTest {

    /** Coordinates with the special cases of {@link CpuSplineBasisTest#coordinates}, plus NaN and -0. */
    private static float[] coordinates(long seed, int count, int knots) {
        float[] t = CpuSplineBasisTest.coordinates(seed, count, knots);
        for (int e = 11; e < count; e += 97) {
            t[e] = e % 2 == 0 ? Float.NaN : -0f;
        }
        return t;
    }


    @Test
    void splineBasisLanesEqualTheScalarLoop() {
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); Parallel par = new Parallel(threads)) {
                for (int knots : new int[] {3, 5, 32}) {
                    for (int count : new int[] {1, 7, 8, 9, 15, 16, 17, 33, 100, 256, 264, 300, 20_011}) {
                        for (boolean normalize : new boolean[] {false, true}) {
                            String what = "threads=" + threads + " K=" + knots + " count=" + count + " normalize=" + normalize;
                            float[] tv = coordinates(knots * 31L + count, count, knots);
                            Tensor t = arena.of(tv, count, 1);
                            Tensor[] first = new Tensor[2], weights = new Tensor[2], dT = new Tensor[2];
                            float[] g = TestData.normal(count + 5L, count * 3, 1);
                            float[] dT0 = TestData.normal(count + 6L, count, 1);
                            for (int f = 0; f < 2; f++) {
                                first[f] = arena.allocate(DType.I32, count, 1);
                                weights[f] = arena.allocate(DType.F32, count, 1, 3);
                                CpuSplineBasis.splineBasis(par, t, knots, normalize, first[f], weights[f], f == 1);
                                dT[f] = arena.of(dT0, count, 1);
                                CpuSplineBasis.splineBasisBackward(par, arena.of(g, count, 1, 3), t, first[f], knots,
                                        normalize, dT[f], f == 1);
                            }
                            assertArrayEquals(first[0].toIntArray(), first[1].toIntArray(), what + " first");
                            assertArrayEquals(bits(weights[0].toFloatArray()), bits(weights[1].toFloatArray()), what + " weights");
                            assertArrayEquals(bits(dT[0].toFloatArray()), bits(dT[1].toFloatArray()), what + " dT");
                        }
                    }
                }
            }
        }
    }

    @Test
    void splineBasisBackwardLanesNameTheSameBadWindow() {
        try (TensorArena arena = new TensorArena(); Parallel par = new Parallel(2)) {
            int count = 5000, knots = 32;
            Tensor t = arena.of(coordinates(3, count, knots), 50, 100);
            Tensor first = arena.allocate(DType.I32, 50, 100);
            CpuSplineBasis.splineBasis(par, t, knots, true, first, arena.allocate(DType.F32, 50, 100, 3), true);
            int[] f = first.toIntArray();
            f[4321] = f[4321] == 0 ? 1 : 0;
            f[4400] = knots; // off the grid, later than the first bad one
            Tensor bad = arena.ofInts(f, 50, 100);
            Tensor g = arena.allocate(DType.F32, 50, 100, 3);
            String[] messages = new String[2];
            for (int fast = 0; fast < 2; fast++) {
                boolean useFast = fast == 1;
                messages[fast] = assertThrows(IllegalArgumentException.class, () -> CpuSplineBasis.splineBasisBackward(par,
                        g, t, bad, knots, true, arena.allocate(DType.F32, 50, 100), useFast)).getMessage();
            }
            assertEquals(messages[0], messages[1]);
        }
    }

    /**
     * {@code first [G, N, d]} and {@code weights [G, N, d, 3]}: the spline basis of random coordinates, with
     * windows at both ends of the grid.
     */
    private static Tensor[] windows(TensorArena arena, Parallel par, long seed, int groups, int n, int d, int knots) {
        float[] tv = CpuSplineBasisTest.coordinates(seed, groups * n * d, knots);
        Tensor first = arena.allocate(DType.I32, groups, n, d);
        Tensor weights = arena.allocate(DType.F32, groups, n, d, 3);
        CpuSplineBasis.splineBasis(par, arena.of(tv, (long) groups * n, d), knots, true,
                first.reshape((long) groups * n, d), weights.reshape((long) groups * n, d, 3), false);
        return new Tensor[] {first, weights};
    }

    /** A random spline {@code [G, d, K, R]} with some negative values (negative factors) and some zeros. */
    private static Tensor spline(TensorArena arena, long seed, int groups, int d, int knots, int r) {
        float[] sv = CpuSeparableModesTest.initSpline(seed, groups * d, knots, r);
        for (int i = 0; i < sv.length; i += 53) {
            sv[i] = -sv[i];
        }
        for (int i = 0; i < sv.length; i += 211) {
            sv[i] = 0f;
        }
        return arena.of(sv, groups, d, knots, r);
    }

    @Test
    void separableModesBlockedEqualsTheGeneralLoop() {
        // {groups, rows, seed dims, knots, modes}: R a multiple of 16 takes the fast path on any vector width; the
        // sixth shape crosses row blocks and groups of seed dimensions with partial ones at both; the last three
        // put many rows on each window start (more than a vector's worth) with R in chunks of one vector only,
        // of four vectors and one, and of four vectors twice; the next has R four vectors (with 512-bit ones) and
        // d 19 (groups of 8 seed dimensions, a pair and one left); the last takes the backward's rows in two passes
        int[][] shapes = {{1, 37, 5, 4, 64}, {3, 70, 9, 32, 16}, {2, 45, 128, 32, 64}, {2, 9, 4, 3, 32}, {1, 5, 3, 3, 7},
                {2, 150, 37, 6, 32}, {1, 90, 3, 3, 48}, {2, 61, 5, 5, 80}, {1, 300, 3, 4, 128}, {2, 70, 19, 6, 64},
                {2, CpuSeparableModes.ROW_PASS + 123, 2, 5, 64}};
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); Parallel par = new Parallel(threads)) {
                for (int[] c : shapes) {
                    int groups = c[0], n = c[1], d = c[2], knots = c[3], r = c[4];
                    String what = "threads=" + threads + " shape=" + java.util.Arrays.toString(c);
                    Tensor[] windows = windows(arena, par, n * 7L + d, groups, n, d, knots);
                    Tensor first = windows[0], weights = windows[1];
                    Tensor spline = spline(arena, d + 1L, groups, d, knots, r);
                    Tensor dModes = arena.of(TestData.normal(n + 2L, n * groups * r, 1), n, groups, r);
                    float[] dW0 = TestData.normal(n + 3L, groups * n * d * 3, 1);
                    float[] dS0 = TestData.normal(n + 4L, groups * d * knots * r, 1);
                    float[][] out = new float[2][];
                    for (int f = 0; f < 2; f++) {
                        Tensor modes = arena.allocate(DType.F32, n, groups, r);
                        CpuSeparableModes.separableModes(par, first, weights, spline, modes, f == 1);
                        Tensor dW = arena.of(dW0, groups, n, d, 3), dS = arena.of(dS0, groups, d, knots, r);
                        CpuSeparableModes.separableModesBackward(par, dModes, first, weights, spline, modes, dW, dS, f == 1);
                        out[f] = CpuReductionsTest.concat(modes.toFloatArray(), dW.toFloatArray(), dS.toFloatArray());
                    }
                    assertArrayEquals(bits(out[0]), bits(out[1]), what);
                }
            }
        }
    }

    @Test
    void separableModesForwardCopyingSliceBySliceEqualsTheGeneralLoop() {
        // a spline too large to copy per head (here: any) is copied per pair of seed dimensions and block of rows;
        // odd and even d, partial row blocks; {groups, rows, seed dims, knots, modes}
        int[][] shapes = {{2, 70, 9, 32, 16}, {1, 130, 8, 5, 64}, {2, 21, 1, 4, 32}};
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); Parallel par = new Parallel(threads)) {
                for (int[] c : shapes) {
                    int groups = c[0], n = c[1], d = c[2], knots = c[3], r = c[4];
                    String what = "threads=" + threads + " shape=" + java.util.Arrays.toString(c);
                    Tensor[] windows = windows(arena, par, n * 5L + d, groups, n, d, knots);
                    Tensor first = windows[0], weights = windows[1];
                    Tensor spline = spline(arena, d + 7L, groups, d, knots, r);
                    Tensor general = arena.allocate(DType.F32, n, groups, r);
                    Tensor sliced = arena.allocate(DType.F32, n, groups, r);
                    CpuSeparableModes.separableModes(par, first, weights, spline, general, false);
                    CpuSeparableModes.Dims dims = CpuSeparableModes.Dims.of(
                            io.leviathan.backend.SeparableModesChecks.separableModes(first, weights, spline, sliced));
                    CpuSeparableModesBlocked.forward(par, dims, first.segment(CpuMemory.KEY),
                            weights.segment(CpuMemory.KEY), spline.segment(CpuMemory.KEY), sliced.segment(CpuMemory.KEY), 0);
                    assertArrayEquals(bits(general.toFloatArray()), bits(sliced.toFloatArray()), what);
                }
            }
        }
    }
}
