package io.leviathan.cuda;

import static io.leviathan.cuda.AttentionHostTest.assertClose;
import static io.leviathan.cuda.AttentionHostTest.normal;
import static io.leviathan.cuda.GeneratorHostTest.assertBits;
import static io.leviathan.cuda.GeneratorHostTest.coordinates;
import static io.leviathan.cuda.HostAttentionCalls.LV_BF16;
import static io.leviathan.cuda.HostAttentionCalls.LV_F32;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.leviathan.tensor.Bf16;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The attention and generator kernels on a GPU against their host twins, which run the same arithmetic in
 * the same order (AttentionHostTest and GeneratorHostTest hold the twins to the Java CPU backend). The
 * generator must agree to the bit; attention to an ulp or two of the exponentials. Each backward runs twice
 * and must give the same bits (no atomics). Skipped, with the reason, where no device is usable.
 */
class AttentionGeneratorDeviceTest {

    @Test
    void attentionMatchesItsHostTwin() throws Throwable {
        int[][] shapes = {{1, 1, 1, 1}, {2, 33, 2, 32}, {1, 130, 2, 64}, {2, 65, 1, 48}, {1, 75, 2, 128},
            {1, 40, 1, 100}, {2, 300, 3, 64}};
        for (int[] shape : shapes) {
            attention(shape, LV_F32, LV_F32, 40L + shape[1]);
        }
        attention(new int[] {2, 97, 2, 64}, LV_BF16, LV_BF16, 1);
        attention(new int[] {1, 75, 2, 128}, LV_BF16, LV_F32, 2);
    }

    private static void attention(int[] shape, int dtype, int gradDtype, long seed) throws Throwable {
        int B = shape[0], T = shape[1], H = shape[2], Dh = shape[3], n = B * T * H * Dh;
        String what = "attention on the device " + Arrays.toString(shape) + " dtype " + dtype + " dOut " + gradDtype;
        Random rnd = new Random(seed);
        try (Arena host = Arena.ofConfined(); DeviceMemory dev = DeviceMemory.open()) {
            MemorySegment q = data(host, dtype, normal(rnd, n, 1.5f)), k = data(host, dtype, normal(rnd, n, 1.5f));
            MemorySegment v = data(host, dtype, normal(rnd, n, 1f)), dOut = data(host, gradDtype, normal(rnd, n, 1f));
            MemorySegment out = host.allocate(q.byteSize()), lse = host.allocate(4L * B * H * T);
            HostAttentionCalls.attentionForward(q, k, v, out, lse, dtype, B, T, H, Dh);

            MemorySegment dq = dev.copyOf(q), dk = dev.copyOf(k), dv = dev.copyOf(v);
            MemorySegment dOutD = dev.allocate(out.byteSize()), dLse = dev.allocate(lse.byteSize());
            DeviceAttentionCalls.attentionForward(dq, dk, dv, dOutD, dLse, dtype, B, T, H, Dh);
            MemorySegment gotOut = host.allocate(out.byteSize()), gotLse = host.allocate(lse.byteSize());
            dev.copy(gotOut, dOutD, out.byteSize());
            dev.copy(gotLse, dLse, lse.byteSize());
            assertClose(what + ": out", floats(out, dtype), floats(gotOut, dtype), dtype == LV_BF16 ? 0x1p-7 : 1e-6);
            assertClose(what + ": lse", floats(lse, LV_F32), floats(gotLse, LV_F32), 1e-6);

            float[] g0 = normal(rnd, n, 1f);
            MemorySegment hq = data(host, LV_F32, g0), hk = data(host, LV_F32, g0), hv = data(host, LV_F32, g0);
            long ws = HostAttentionCalls.attentionBackwardWorkspaceBytes(B, T, H, Dh);
            MemorySegment hws = host.allocate(ws);
            HostAttentionCalls.attentionBackward(dOut, gradDtype, q, k, v, out, lse, hq, hk, hv, dtype, B, T, H, Dh,
                    hws, ws);
            MemorySegment dDOut = dev.copyOf(dOut), dws = dev.allocate(ws);
            MemorySegment dIn = dev.copyOf(out), dLseIn = dev.copyOf(lse); // the backward on the host's forward
            float[][] runs = new float[2][];
            for (int run = 0; run < 2; run++) {
                MemorySegment gq = dev.copyOf(data(host, LV_F32, g0)), gk = dev.copyOf(data(host, LV_F32, g0));
                MemorySegment gv = dev.copyOf(data(host, LV_F32, g0));
                DeviceAttentionCalls.attentionBackward(dDOut, gradDtype, dq, dk, dv, dIn, dLseIn, gq, gk, gv, dtype,
                        B, T, H, Dh, dws, ws);
                float[] all = new float[3 * n];
                int at = 0;
                for (MemorySegment g : new MemorySegment[] {gq, gk, gv}) {
                    MemorySegment back = host.allocate(4L * n);
                    dev.copy(back, g, 4L * n);
                    System.arraycopy(floats(back, LV_F32), 0, all, at, n);
                    at += n;
                }
                runs[run] = all;
            }
            float[] expected = new float[3 * n];
            System.arraycopy(floats(hq, LV_F32), 0, expected, 0, n);
            System.arraycopy(floats(hk, LV_F32), 0, expected, n, n);
            System.arraycopy(floats(hv, LV_F32), 0, expected, 2 * n, n);
            assertClose(what + ": dQ, dK, dV", expected, runs[0], 1e-5);
            assertBits(what + ": a second backward", runs[0], runs[1]);
        }
    }

    @Test
    void splineBasisMatchesItsHostTwinBitForBit() throws Throwable {
        Random rnd = new Random(12);
        int n = 1000, d = 9, count = n * d;
        for (int knots : new int[] {2, 5, 32}) {
            for (boolean normalize : new boolean[] {false, true}) {
                String what = "splineBasis on the device, knots " + knots + (normalize ? " normalised" : "");
                try (Arena host = Arena.ofConfined(); DeviceMemory dev = DeviceMemory.open()) {
                    MemorySegment t = data(host, LV_F32, coordinates(rnd, count, knots));
                    MemorySegment first = host.allocate(4L * count), w = host.allocate(12L * count);
                    HostAttentionCalls.splineBasis(t, n, d, knots, normalize, first, w);
                    MemorySegment dt = dev.copyOf(t), dFirst = dev.allocate(first.byteSize()), dw = dev.allocate(w.byteSize());
                    DeviceAttentionCalls.splineBasis(dt, n, d, knots, normalize, dFirst, dw);
                    assertInts(what + ": first", first, download(dev, host, dFirst, first.byteSize()));
                    assertBits(what + ": weights", floats(w, LV_F32), floats(download(dev, host, dw, w.byteSize()), LV_F32));

                    float[] g = normal(rnd, 3 * count, 1f), dT0 = normal(rnd, count, 1f);
                    MemorySegment hdT = data(host, LV_F32, dT0), gw = data(host, LV_F32, g);
                    HostAttentionCalls.splineBasisBackward(gw, t, first, n, d, knots, normalize, hdT);
                    MemorySegment ddT = dev.copyOf(data(host, LV_F32, dT0));
                    DeviceAttentionCalls.splineBasisBackward(dev.copyOf(gw), dt, dev.copyOf(first), n, d, knots,
                            normalize, ddT);
                    assertBits(what + ": dT", floats(hdT, LV_F32), floats(download(dev, host, ddT, hdT.byteSize()), LV_F32));
                }
            }
        }
    }

    @Test
    void separableModesMatchTheirHostTwinBitForBit() throws Throwable {
        int[][] shapes = {{1, 1, 1, 3, 1}, {1, 37, 5, 7, 33}, {3, 300, 5, 7, 5}, {8, 1024, 32, 32, 64},
            {1, 40, 2, 200, 64}, {1, 150, 2, 200, 64}, {2, 70, 3, 4, 300}};
        for (int[] shape : shapes) {
            modes(shape, 7L + Arrays.hashCode(shape));
        }
    }

    private static void modes(int[] shape, long seed) throws Throwable {
        int G = shape[0], N = shape[1], d = shape[2], K = shape[3], R = shape[4];
        String what = "separableModes on the device " + Arrays.toString(shape);
        Random rnd = new Random(seed);
        try (Arena host = Arena.ofConfined(); DeviceMemory dev = DeviceMemory.open()) {
            MemorySegment first = host.allocate(4L * G * N * d), w = host.allocate(12L * G * N * d);
            HostAttentionCalls.splineBasis(data(host, LV_F32, coordinates(rnd, G * N * d, K)), (long) G * N, d, K, true,
                    first, w);
            float[] s = new float[G * d * K * R];
            for (int i = 0; i < s.length; i++) {
                s[i] = (float) ((rnd.nextBoolean() ? 1 : -1) * (0.5 + rnd.nextDouble()));
            }
            MemorySegment spline = data(host, LV_F32, s), modes = host.allocate(4L * N * G * R);
            HostAttentionCalls.separableModes(first, w, spline, modes, G, N, d, K, R);
            MemorySegment dFirst = dev.copyOf(first), dw = dev.copyOf(w), dSpline = dev.copyOf(spline);
            MemorySegment dModes = dev.allocate(modes.byteSize());
            DeviceAttentionCalls.separableModes(dFirst, dw, dSpline, dModes, G, N, d, K, R);
            assertBits(what + ": modes", floats(modes, LV_F32), floats(download(dev, host, dModes, modes.byteSize()), LV_F32));

            MemorySegment gm = data(host, LV_F32, normal(rnd, N * G * R, 1f));
            float[] dW0 = normal(rnd, G * N * d * 3, 1f), dS0 = normal(rnd, G * d * K * R, 1f);
            MemorySegment hdW = data(host, LV_F32, dW0), hdS = data(host, LV_F32, dS0);
            long ws = HostAttentionCalls.separableModesBackwardWorkspaceBytes(G, N, d, K, R);
            MemorySegment hws = ws == 0 ? MemorySegment.NULL : host.allocate(ws);
            HostAttentionCalls.separableModesBackward(gm, first, w, spline, modes, hdW, hdS, G, N, d, K, R, hws, ws);
            MemorySegment dGm = dev.copyOf(gm), dws = ws == 0 ? MemorySegment.NULL : dev.allocate(ws);
            for (int run = 0; run < 2; run++) {
                MemorySegment ddW = dev.copyOf(data(host, LV_F32, dW0)), ddS = dev.copyOf(data(host, LV_F32, dS0));
                DeviceAttentionCalls.separableModesBackward(dGm, dFirst, dw, dSpline, dModes, ddW, ddS, G, N, d, K, R,
                        dws, ws);
                assertBits(what + ": dWeights, run " + run, floats(hdW, LV_F32),
                        floats(download(dev, host, ddW, hdW.byteSize()), LV_F32));
                assertBits(what + ": dSpline, run " + run, floats(hdS, LV_F32),
                        floats(download(dev, host, ddS, hdS.byteSize()), LV_F32));
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    /** A host segment holding {@code x} as F32, or as BF16 rounded to nearest even. */
    private static MemorySegment data(Arena host, int dtype, float[] x) {
        if (dtype == LV_BF16) {
            MemorySegment s = host.allocate(2L * Math.max(1, x.length));
            for (int i = 0; i < x.length; i++) {
                s.setAtIndex(JAVA_SHORT, i, Bf16.fromFloat(x[i]));
            }
            return s;
        }
        MemorySegment s = host.allocate(4L * Math.max(1, x.length));
        MemorySegment.copy(x, 0, s, JAVA_FLOAT, 0, x.length);
        return s;
    }

    private static float[] floats(MemorySegment s, int dtype) {
        if (dtype == LV_BF16) {
            float[] out = new float[(int) (s.byteSize() / 2)];
            for (int i = 0; i < out.length; i++) {
                out[i] = Bf16.toFloat(s.getAtIndex(JAVA_SHORT, i));
            }
            return out;
        }
        return s.toArray(JAVA_FLOAT);
    }

    private static MemorySegment download(DeviceMemory dev, Arena host, MemorySegment d, long bytes) throws Throwable {
        MemorySegment h = host.allocate(bytes);
        dev.copy(h, d, bytes);
        return h;
    }

    private static void assertInts(String what, MemorySegment expected, MemorySegment actual) {
        int[] e = expected.toArray(JAVA_INT), a = actual.toArray(JAVA_INT);
        if (!Arrays.equals(e, a)) {
            int i = Arrays.mismatch(e, a);
            throw new AssertionError(what + ": element " + i + " is " + a[i] + ", expected " + e[i]);
        }
    }
}
