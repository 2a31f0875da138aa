package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwiseTest.assertAccumulated;
import static io.leviathan.backend.cpu.CpuElementwiseTest.assertMessage;
import static io.leviathan.backend.cpu.TestData.bits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The fused spline basis and separable modes ({@code separableModesOfCoordinates} and its backward) give the same
 * bits as the two ops they replace, on the fast path and on the general one, and their gradients match finite
 * differences of a double-precision forward.
 */
@ExtendWith(NativeMemoryCheck.class)
class CpuSplineModesFusionTest {

    /** Coordinates with the basis tests' special cases (knots, midpoints, 0, 1, clamped) and some -0 and NaN. */
    private static float[] coordinates(long seed, int count, int knots, boolean nan) {
        float[] t = CpuSplineBasisTest.coordinates(seed, count, knots);
        for (int e = 13; e < count; e += 89) {
            t[e] = nan && e % 2 == 1 ? Float.NaN : -0f;
        }
        return t;
    }

    /** A random spline {@code [G, d, K, R]} around 1 with some negative values and zeros. */
    private static float[] spline(long seed, int groups, int d, int knots, int r) {
        float[] sv = CpuSeparableModesTest.initSpline(seed, groups * d, knots, r);
        for (int i = 0; i < sv.length; i += 53) {
            sv[i] = -sv[i];
        }
        for (int i = 0; i < sv.length; i += 211) {
            sv[i] = 0f;
        }
        return sv;
    }

    @Test
    void fusedEqualsTheBasisThenTheModesBitForBit() {
        // {groups (0: ungrouped), rows, seed dims, knots, modes}: R a multiple of 16 runs the fused fast path on any
        // vector width, R 7 and 20 the general one; partial row blocks and seed-dimension groups, odd d, many rows
        // per window start, and two passes of the backward's rows in the last
        int[][] shapes = {{0, 37, 5, 4, 64}, {3, 70, 9, 32, 16}, {2, 45, 128, 32, 64}, {1, 5, 3, 3, 7},
                {2, 150, 37, 6, 32}, {0, 33, 19, 5, 20}, {2, 300, 3, 4, 48}, {1, CpuSeparableModes.ROW_PASS + 77, 2, 5, 16}};
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); Parallel par = new Parallel(threads)) {
                for (int[] c : shapes) {
                    int groups = Math.max(1, c[0]), n = c[1], d = c[2], knots = c[3], r = c[4];
                    boolean grouped = c[0] > 0;
                    for (boolean normalize : new boolean[] {false, true}) {
                        String what = "threads=" + threads + " shape=" + Arrays.toString(c) + " normalize=" + normalize;
                        long seed = n * 7L + d + (normalize ? 1 : 0);
                        long[] tShape = grouped ? new long[] {groups, n, d} : new long[] {n, d};
                        long[] sShape = grouped ? new long[] {groups, d, knots, r} : new long[] {d, knots, r};
                        long[] mShape = grouped ? new long[] {n, groups, r} : new long[] {n, r};
                        Tensor t = arena.of(coordinates(seed, groups * n * d, knots, c[0] == 2), tShape);
                        Tensor spline = arena.of(spline(seed + 1, groups, d, knots, r), sShape);
                        Tensor dModes = arena.of(TestData.normal(seed + 2, n * groups * r, 1), mShape);
                        float[] dT0 = TestData.normal(seed + 3, groups * n * d, 1);
                        float[] dS0 = TestData.normal(seed + 4, groups * d * knots * r, 1);

                        // the two ops, each on its fast path: first and weights in memory
                        Tensor tRows = t.reshape((long) groups * n, d);
                        Tensor first = arena.allocate(DType.I32, (long) groups * n, d);
                        Tensor weights = arena.allocate(DType.F32, (long) groups * n, d, 3);
                        CpuSplineBasis.splineBasis(par, tRows, knots, normalize, first, weights, true);
                        Tensor f = grouped ? first.reshape(groups, n, d) : first;
                        Tensor w = grouped ? weights.reshape(groups, n, d, 3) : weights;
                        Tensor modes = arena.allocate(DType.F32, mShape);
                        CpuSeparableModes.separableModes(par, f, w, spline, modes, true);
                        // dT from dT0 (the fused op adding to it) and from zeros (the fused op writing it)
                        float[][] expected = new float[2][];
                        for (int add = 0; add < 2; add++) {
                            Tensor dW = arena.allocate(DType.F32, w.shape());
                            Tensor dS = arena.of(dS0, sShape);
                            Tensor dT = add == 1 ? arena.of(dT0, tShape) : arena.allocate(DType.F32, tShape);
                            CpuSeparableModes.separableModesBackward(par, dModes, f, w, spline, modes, dW, dS, true);
                            CpuSplineBasis.splineBasisBackward(par, dW.reshape((long) groups * n, d, 3), tRows,
                                    first, knots, normalize, dT.reshape((long) groups * n, d), true);
                            expected[add] = CpuReductionsTest.concat(modes.toFloatArray(), dT.toFloatArray(),
                                    dS.toFloatArray());
                        }

                        float[] nans = new float[dT0.length];
                        Arrays.fill(nans, Float.NaN);
                        for (boolean fast : new boolean[] {true, false}) {
                            for (boolean accumulate : new boolean[] {true, false}) {
                                Tensor fm = arena.allocate(DType.F32, mShape);
                                CpuSeparableModes.separableModesOfCoordinates(par, t, normalize, spline, fm, fast);
                                Tensor fdS = arena.of(dS0, sShape), fdT = arena.of(accumulate ? dT0 : nans, tShape);
                                CpuSeparableModes.separableModesOfCoordinatesBackward(par, dModes, t, normalize,
                                        spline, fm, fdT, fdS, accumulate, fast);
                                float[] actual = CpuReductionsTest.concat(fm.toFloatArray(), fdT.toFloatArray(),
                                        fdS.toFloatArray());
                                assertArrayEquals(bits(expected[accumulate ? 1 : 0]), bits(actual),
                                        what + " fast=" + fast + " accumulate=" + accumulate);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void fusedGradientsMatchFiniteDifferencesAndAccumulate() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            for (int r : new int[] {16, 7}) { // the fast path and the general one
                for (boolean normalize : new boolean[] {false, true}) {
                    int n = 9, d = 4, knots = 5;
                    long seed = r * 3L + (normalize ? 1 : 0);
                    float[] tv = TestData.uniform(seed, n * d, 0.45);
                    for (int e = 0; e < tv.length; e++) {
                        tv[e] += 0.5f; // inside (0, 1): no clamping, where the gradient is 0 by definition
                    }
                    float[] sv = CpuSeparableModesTest.initSpline(seed + 1, d, knots, r);
                    Tensor t = arena.of(tv, n, d), spline = arena.of(sv, d, knots, r);
                    Tensor modes = arena.allocate(DType.F32, n, r);
                    be.separableModesOfCoordinates(t, normalize, spline, modes);
                    float[] g = TestData.normal(seed + 2, n * r, 1);
                    float[] dT0 = TestData.uniform(seed + 3, n * d, 0.5);
                    float[] dS0 = TestData.uniform(seed + 4, d * knots * r, 0.5);
                    Tensor dT = arena.of(dT0, n, d), dS = arena.of(dS0, d, knots, r);
                    be.separableModesOfCoordinatesBackward(arena.of(g, n, r), t, normalize, spline, modes, dT, dS,
                            true);

                    double[] td = TestData.toDouble(tv), sd = TestData.toDouble(sv), dg = TestData.toDouble(g);
                    String what = "fused R=" + r + " normalize=" + normalize;
                    Approx.assertClose(what + " modes", CpuSeparableModesTest.denseModes(td, n, d, knots, normalize,
                            sd, r), modes.toFloatArray(), 1e-5, 1e-5);
                    assertAccumulated(what + " dT", dT0, GradCheck.numeric(
                            v -> CpuSeparableModesTest.denseModes(v, n, d, knots, normalize, sd, r), td, dg),
                            dT.toFloatArray());
                    assertAccumulated(what + " dSpline", dS0, GradCheck.numeric(
                            v -> CpuSeparableModesTest.denseModes(td, n, d, knots, normalize, v, r), sd, dg),
                            dS.toFloatArray());
                }
            }
        }
    }

    /**
     * {@code be} with {@link Backend}'s own default fused ops (the two ops through a scratch arena) in place of
     * its fused kernels, as a backend that does not fuse runs them.
     */
    private static Backend unfused(Backend be) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
                (proxy, method, args) -> switch (method.getName()) {
                    case "fusesSplineBasis" -> false;
                    case "separableModesOfCoordinates", "separableModesOfCoordinatesBackward" ->
                            InvocationHandler.invokeDefault(proxy, method, args);
                    default -> {
                        try {
                            yield method.invoke(be, args);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    }
                });
    }

    @Test
    void theDefaultOpsOfABackendThatDoesNotFuseGiveTheSameBits() {
        // {groups (0: ungrouped), rows, seed dims, knots, modes}; on the plain and the strict (device-like) backend
        int[][] shapes = {{0, 37, 5, 4, 64}, {3, 70, 19, 32, 16}, {2, 20, 6, 5, 7}};
        for (CpuBackend be : new CpuBackend[] {new CpuBackend(2), CpuBackend.strict(2)}) {
            try (be; TensorArena arena = be.newArena()) {
                Backend twoOps = unfused(be);
                assertTrue(be.fusesSplineBasis());
                assertFalse(twoOps.fusesSplineBasis());
                for (int[] c : shapes) {
                    int groups = Math.max(1, c[0]), n = c[1], d = c[2], knots = c[3], r = c[4];
                    boolean grouped = c[0] > 0;
                    long[] tShape = grouped ? new long[] {groups, n, d} : new long[] {n, d};
                    long[] sShape = grouped ? new long[] {groups, d, knots, r} : new long[] {d, knots, r};
                    long[] mShape = grouped ? new long[] {n, groups, r} : new long[] {n, r};
                    long seed = n * 11L + d;
                    Tensor t = upload(be, arena, coordinates(seed, groups * n * d, knots, true), tShape);
                    Tensor spline = upload(be, arena, spline(seed + 1, groups, d, knots, r), sShape);
                    Tensor dModes = upload(be, arena, TestData.normal(seed + 2, n * groups * r, 1), mShape);
                    float[] dT0 = TestData.normal(seed + 3, groups * n * d, 1);
                    float[] dS0 = TestData.normal(seed + 4, groups * d * knots * r, 1);
                    for (boolean accumulate : new boolean[] {true, false}) {
                        float[][] out = new float[2][];
                        Backend[] ways = {be, twoOps};
                        for (int k = 0; k < 2; k++) {
                            Tensor modes = arena.allocate(DType.F32, mShape);
                            ways[k].separableModesOfCoordinates(t, true, spline, modes);
                            Tensor dT = upload(be, arena, dT0, tShape), dS = upload(be, arena, dS0, sShape);
                            ways[k].separableModesOfCoordinatesBackward(dModes, t, true, spline, modes, dT, dS,
                                    accumulate);
                            out[k] = CpuReductionsTest.concat(be.downloadFloats(modes), be.downloadFloats(dT),
                                    be.downloadFloats(dS));
                        }
                        assertArrayEquals(bits(out[0]), bits(out[1]),
                                be.name() + " shape=" + Arrays.toString(c) + " accumulate=" + accumulate);
                    }
                }
            }
        }
    }

    private static Tensor upload(Backend be, TensorArena arena, float[] values, long... shape) {
        Tensor x = arena.allocate(DType.F32, shape);
        be.upload(values, x);
        return x;
    }

    @Test
    void badOperandsAreNamed() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(1)) {
            Tensor t = arena.allocate(DType.F32, 2, 5, 3), spline = arena.allocate(DType.F32, 2, 3, 4, 16);
            Tensor modes = arena.allocate(DType.F32, 5, 2, 16);
            assertMessage(assertThrows(ShapeMismatchException.class, () -> be.separableModesOfCoordinates(
                    arena.allocate(DType.F32, 5, 3), false, spline, modes)), "separableModesOfCoordinates", "spline",
                    "[d, knots, R]", "t [5, 3]");
            assertMessage(assertThrows(ShapeMismatchException.class, () -> be.separableModesOfCoordinates(t, false,
                    spline, arena.allocate(DType.F32, 5, 16))), "separableModesOfCoordinates", "modes");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> be.separableModesOfCoordinates(t, false,
                    arena.allocate(DType.F32, 2, 3, 1, 16), modes)), "separableModesOfCoordinates", "at least 2 knots");
            assertMessage(assertThrows(IllegalArgumentException.class, () -> be.separableModesOfCoordinates(
                    arena.allocate(DType.I32, 2, 5, 3), false, spline, modes)), "separableModesOfCoordinates", "t");
            assertMessage(assertThrows(ShapeMismatchException.class, () -> be.separableModesOfCoordinatesBackward(
                    modes, t, false, spline, modes, arena.allocate(DType.F32, 2, 5, 4), arena.allocate(DType.F32,
                            spline.shape()), true)), "separableModesOfCoordinatesBackward", "dT");
            assertMessage(assertThrows(ShapeMismatchException.class, () -> be.separableModesOfCoordinatesBackward(
                    modes, t, false, spline, modes, arena.allocate(DType.F32, t.shape()), arena.allocate(DType.F32,
                            2, 3, 4, 15), false)), "separableModesOfCoordinatesBackward", "dSpline");
            assertTrue(be.fusesSplineBasis());
        }
    }
}
