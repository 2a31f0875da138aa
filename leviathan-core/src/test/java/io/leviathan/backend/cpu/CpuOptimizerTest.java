package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.AdamWStep;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import io.leviathan.tensor.TensorClosedException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(NativeMemoryCheck.class)
class CpuOptimizerTest {

    // ---------------------------------------------------------------- global L2 norm

    @Test
    void globalL2NormMatchesReference() {
        int[] sizes = {1, 17, 40_000, 5, 16_384, 100_003};
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                List<Tensor> ts = new ArrayList<>();
                double sumSq = 0;
                for (int i = 0; i < sizes.length; i++) {
                    float[] x = TestData.normal(100 + i, sizes[i], 0.5 + i);
                    for (float f : x) {
                        sumSq += (double) f * f;
                    }
                    ts.add(arena.of(x, sizes[i]));
                }
                double norm = be.globalL2Norm(ts);
                assertEquals(Math.sqrt(sumSq), norm, 1e-6 * Math.sqrt(sumSq), "threads=" + threads);
                assertEquals(0.0, be.globalL2Norm(List.of()));
                assertEquals(5.0, be.globalL2Norm(List.of(arena.of(new float[] {3f}, 1), arena.of(new float[] {4f}, 1, 1))),
                        1e-12);
            }
        }
    }

    @Test
    void globalL2NormOneAndTwoThreadsAgree() {
        double[] norms = new double[2];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                norms[threads - 1] = be.globalL2Norm(List.of(arena.of(TestData.normal(7, 70_001, 1.0), 70_001),
                        arena.of(TestData.normal(8, 33, 1.0), 3, 11)));
            }
        }
        assertEquals(norms[0], norms[1], 1e-9 * norms[0]); // lane reduction order may differ once JIT-compiled
    }

    @Test
    void globalL2NormRejectsBadTensors() {
        try (CpuBackend be = new CpuBackend(2)) {
            try (TensorArena arena = new TensorArena()) {
                var e = assertThrows(IllegalArgumentException.class,
                        () -> be.globalL2Norm(List.of(arena.allocate(DType.F32, 3), arena.allocate(DType.I32, 3))));
                assertTrue(e.getMessage().contains("tensors[1]"), e.getMessage());
            }
            TensorArena closed = new TensorArena();
            Tensor t = closed.allocate(DType.F32, 3);
            closed.close();
            assertThrows(TensorClosedException.class, () -> be.globalL2Norm(List.of(t)));
        }
    }

    // ---------------------------------------------------------------- AdamW

    /** One step of the torch.optim.AdamW formula in double, in place. */
    static void referenceAdamW(double[] p, double[] g, double[] m, double[] v, double lr, double b1, double b2,
                               double eps, double wd, long t) {
        for (int i = 0; i < p.length; i++) {
            p[i] *= 1 - lr * wd;
            m[i] = b1 * m[i] + (1 - b1) * g[i];
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i];
            double mHat = m[i] / (1 - Math.pow(b1, t));
            double vHat = v[i] / (1 - Math.pow(b2, t));
            p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
        }
    }

    @Test
    void adamwMatchesReferenceOverSeveralSteps() {
        for (float wd : new float[] {0f, 0.1f}) {
            for (int n : new int[] {1, 7, 16, 37, 1000, 40_001}) {
                checkAdamW(n, wd);
            }
        }
    }

    private void checkAdamW(int n, float wd) {
        float lr = 1e-2f, b1 = 0.9f, b2 = 0.95f, eps = 1e-8f;
        double[] p = TestData.toDouble(TestData.normal(n, n, 1.0));
        double[] m = new double[n], v = new double[n];
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor pt = arena.of(TestData.normal(n, n, 1.0), n);
            Tensor mt = arena.allocate(DType.F32, n), vt = arena.allocate(DType.F32, n);
            for (int step = 1; step <= 5; step++) {
                float[] g = TestData.normal(1000L * step + n, n, 0.1 * step);
                be.adamw(pt, arena.of(g, n), mt, vt, new AdamWStep(lr, b1, b2, eps, wd, step));
                referenceAdamW(p, TestData.toDouble(g), m, v, lr, b1, b2, eps, wd, step);
                if (step == 1 || step == 5) {
                    String what = "adamw n=" + n + " wd=" + wd + " step=" + step;
                    Approx.assertClose(what + " param", p, pt.toFloatArray(), 1e-6, 1e-7);
                    Approx.assertClose(what + " m", m, mt.toFloatArray(), 1e-6, 0);
                    Approx.assertClose(what + " v", v, vt.toFloatArray(), 1e-6, 0);
                }
            }
        }
    }

    @Test
    void adamwKnownValues() {
        // lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.01, step 1 from zero moments, p = 1:
        // decay: p = 1 * (1 - 0.1 * 0.01) = 0.999
        // g = 0.5: m = 0.05, v = 0.00025, mHat = 0.5, vHat = 0.25, p = 0.999 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.899
        // g = -2:  m = -0.2, v = 0.004,   mHat = -2,  vHat = 4,    p = 0.999 + 0.1 * 2 / (2 + 1e-8)   = 1.099
        // step 2, g = 0.5 again (first element): m = 0.095, v = 0.00049975,
        //   mHat = 0.095 / 0.19 = 0.5, vHat = 0.00049975 / 0.001999 = 0.25, p = 0.899 * 0.999 - 0.1 = 0.798101
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor p = arena.of(new float[] {1f, 1f}, 2);
            Tensor m = arena.allocate(DType.F32, 2), v = arena.allocate(DType.F32, 2);
            Tensor g = arena.of(new float[] {0.5f, -2f}, 2);
            be.adamw(p, g, m, v, new AdamWStep(0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1));
            Approx.assertClose("known p", new double[] {0.899, 1.099}, p.toFloatArray(), 0, 1e-6);
            Approx.assertClose("known m", new double[] {0.05, -0.2}, m.toFloatArray(), 0, 1e-7);
            Approx.assertClose("known v", new double[] {0.00025, 0.004}, v.toFloatArray(), 0, 1e-7);
            be.adamw(p, arena.of(new float[] {0.5f, 0.5f}, 2), m, v, new AdamWStep(0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 2));
            assertEquals(0.798101, p.getFloat(0), 1e-6);
            assertEquals(0.095, m.getFloat(0), 1e-7);
            assertEquals(0.00049975, v.getFloat(0), 1e-8);
        }
    }

    @Test
    void adamwOneAndTwoThreadsAgree() {
        int n = 50_001;
        float[][] out = new float[2][];
        for (int threads = 1; threads <= 2; threads++) {
            try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(threads)) {
                Tensor p = arena.of(TestData.normal(1, n, 1.0), n);
                Tensor m = arena.of(TestData.normal(2, n, 0.1), n), v = arena.of(TestData.uniform(3, n, 0.01), n);
                for (int i = 0; i < n; i++) {
                    v.setFloat(Math.abs(v.getFloat(i)), i);
                }
                be.adamw(p, arena.of(TestData.normal(4, n, 1.0), n), m, v, new AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 3));
                out[threads - 1] = p.toFloatArray();
            }
        }
        assertArrayEquals(out[0], out[1]); // element-wise: bitwise equal whatever the split
    }

    @Test
    void adamwRejectsBadArguments() {
        try (TensorArena arena = new TensorArena(); CpuBackend be = new CpuBackend(2)) {
            Tensor p = arena.allocate(DType.F32, 4, 3), g = arena.allocate(DType.F32, 4, 3);
            Tensor m = arena.allocate(DType.F32, 4, 3), v = arena.allocate(DType.F32, 12);
            AdamWStep s = new AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 1);
            var e = assertThrows(ShapeMismatchException.class, () -> be.adamw(p, g, m, v, s));
            assertTrue(e.getMessage().contains("adamw") && e.getMessage().contains("param[4, 3]")
                    && e.getMessage().contains("v[12]"), e.getMessage());
            Tensor bf = arena.allocate(DType.BF16, 4, 3);
            var dtype = assertThrows(IllegalArgumentException.class, () -> be.adamw(p, bf, m, m, s));
            assertTrue(dtype.getMessage().contains("grad"), dtype.getMessage());
            assertThrows(IllegalArgumentException.class, () -> be.adamw(p, g, m, m, null));
        }
        try (CpuBackend be = new CpuBackend(2)) {
            TensorArena arena = new TensorArena();
            Tensor p = arena.allocate(DType.F32, 3);
            arena.close();
            assertThrows(TensorClosedException.class,
                    () -> be.adamw(p, p, p, p, new AdamWStep(1e-3f, 0.9f, 0.95f, 1e-8f, 0f, 1)));
        }
    }
}
