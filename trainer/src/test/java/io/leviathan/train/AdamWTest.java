package io.leviathan.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.Backend;
import io.leviathan.backend.Backends;
import io.leviathan.model.Parameter;
import io.leviathan.model.ParameterStore;
import io.leviathan.tensor.NativeMemory;
import io.leviathan.tensor.TensorArena;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@link AdamW} against a double-precision reference of torch.optim.AdamW + clip_grad_norm_. */
class AdamWTest {
    private static Backend be;

    @BeforeAll
    static void open() {
        be = Backends.cpu(2);
    }

    @AfterAll
    static void close() {
        be.close();
    }

    /** The reference: one parameter tensor's state in double. */
    static final class Ref {
        final double[] p, m, v;
        final boolean decay;

        Ref(float[] init, boolean decay) {
            p = new double[init.length];
            for (int i = 0; i < init.length; i++) {
                p[i] = init[i];
            }
            m = new double[init.length];
            v = new double[init.length];
            this.decay = decay;
        }

        void step(double[] g, double lr, AdamWConfig c, long t) {
            double bc1 = 1 - Math.pow(c.beta1(), t);
            double bc2 = 1 - Math.pow(c.beta2(), t);
            for (int i = 0; i < p.length; i++) {
                if (decay) {
                    p[i] *= 1 - lr * c.weightDecay();
                }
                m[i] = c.beta1() * m[i] + (1 - c.beta1()) * g[i];
                v[i] = c.beta2() * v[i] + (1 - c.beta2()) * g[i] * g[i];
                p[i] -= lr / bc1 * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + c.eps());
            }
        }
    }

    @Test
    void matchesDoubleReferenceWithDecayGroupsAndClipping() {
        AdamWConfig c = new AdamWConfig(0.9f, 0.95f, 1e-8f, 0.1f);
        long[][] shapes = {{7, 5}, {33}, {3, 4, 19}, {1}};
        boolean[] decay = {true, false, true, false};
        long baseline = NativeMemory.allocatedBytes();
        try (TensorArena arena = be.newArena()) {
            ParameterStore store = new ParameterStore(arena);
            SplittableRandom r = new SplittableRandom(42);
            Ref[] refs = new Ref[shapes.length];
            for (int k = 0; k < shapes.length; k++) {
                store.create("p" + k, decay[k], shapes[k]);
            }
            for (int k = 0; k < shapes.length; k++) {
                Parameter p = store.get("p" + k);
                float[] init = new float[(int) p.value().numel()];
                for (int i = 0; i < init.length; i++) {
                    init[i] = (float) r.nextGaussian();
                }
                be.upload(init, p.value());
                refs[k] = new Ref(init, decay[k]);
            }
            try (AdamW opt = new AdamW(be, store, c)) {
                assertEquals(2 * shapes.length, opt.state().size());
                assertTrue(opt.state().containsKey("adamw.m.p0") && opt.state().containsKey("adamw.v.p3"));
                float[] lrs = {1e-2f, 3e-3f, 5e-2f, 1e-3f, 2e-2f};
                float[] clips = {0f, 1.0f, 0.5f, 100f, 0.75f};  // 0 = off; 100 never bites
                long before = NativeMemory.allocatedBytes();
                for (int t = 1; t <= lrs.length; t++) {
                    double[][] g = new double[shapes.length][];
                    double sq = 0;
                    List<Parameter> ps = store.all();
                    for (int k = 0; k < ps.size(); k++) {
                        float[] gf = new float[(int) ps.get(k).grad().numel()];
                        g[k] = new double[gf.length];
                        for (int i = 0; i < gf.length; i++) {
                            gf[i] = (float) (r.nextGaussian() * 0.3);
                            g[k][i] = gf[i];
                            sq += g[k][i] * g[k][i];
                        }
                        be.upload(gf, ps.get(k).grad());
                    }
                    double norm = Math.sqrt(sq);
                    float clip = clips[t - 1];
                    double scale = clip > 0 && norm > clip ? clip / (norm + AdamW.CLIP_EPS) : 1.0;
                    if (t == 2 || t == 3 || t == 5) {
                        assertTrue(scale < 1, "clipping must bite at step " + t + " (norm " + norm + ")");
                    }
                    for (int k = 0; k < refs.length; k++) {
                        for (int i = 0; i < g[k].length; i++) {
                            g[k][i] *= scale;
                        }
                        refs[k].step(g[k], lrs[t - 1], c, t);
                    }
                    double got = opt.step(lrs[t - 1], clip);
                    assertEquals(norm, got, 1e-6 * norm, "pre-clip norm at step " + t); // float partial sums inside the kernel
                    assertEquals(t, opt.steps());
                    for (int k = 0; k < refs.length; k++) {
                        float[] p = be.downloadFloats(ps.get(k).value());
                        float[] m = be.downloadFloats(opt.state().get("adamw.m.p" + k));
                        float[] v = be.downloadFloats(opt.state().get("adamw.v.p" + k));
                        for (int i = 0; i < p.length; i++) {
                            assertEquals(refs[k].p[i], p[i], 2e-6 * Math.max(1, Math.abs(refs[k].p[i])),
                                    "p" + k + "[" + i + "] at step " + t);
                            assertEquals(refs[k].m[i], m[i], 1e-6 * Math.max(0.05, Math.abs(refs[k].m[i])));
                            assertEquals(refs[k].v[i], v[i], 1e-6 * Math.max(0.01, Math.abs(refs[k].v[i])));
                        }
                    }
                }
                assertEquals(before, NativeMemory.allocatedBytes(), "AdamW.step allocates no native memory");
            }
        }
        assertEquals(baseline, NativeMemory.allocatedBytes());
    }

    @Test
    void decayOnlyTouchesDecayedParameters() {
        try (TensorArena arena = be.newArena()) {
            ParameterStore store = new ParameterStore(arena);
            Parameter w = store.create("w", true, 4);
            Parameter n = store.create("n", false, 4);
            be.fill(w.value(), 2f);
            be.fill(n.value(), 2f);
            try (AdamW opt = new AdamW(be, store, new AdamWConfig(0.9f, 0.95f, 1e-8f, 0.5f))) {
                opt.step(0.1f, 0f); // zero gradients: only decay moves anything
            }
            assertEquals(2f * (1 - 0.1f * 0.5f), be.downloadFloats(w.value())[0], 1e-7);
            assertEquals(2f, be.downloadFloats(n.value())[0]);
        }
    }

    @Test
    void divergedGradientsAreReportedAndNothingChanges() {
        try (TensorArena arena = be.newArena()) {
            ParameterStore store = new ParameterStore(arena);
            Parameter w = store.create("w", true, 3);
            be.fill(w.value(), 1f);
            be.upload(new float[] {1f, Float.NaN, 0f}, w.grad());
            try (AdamW opt = new AdamW(be, store, AdamWConfig.defaults())) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> opt.step(1e-3f, 1f));
                assertTrue(e.getMessage().contains("diverged"), e.getMessage());
                assertEquals(0, opt.steps());
            }
            assertArrayEquals(new float[] {1f, 1f, 1f}, be.downloadFloats(w.value()));
        }
    }

    @Test
    void divergenceAdviceSuggestsClippingOnlyWhenItIsOff() {
        try (TensorArena arena = be.newArena()) {
            ParameterStore store = new ParameterStore(arena);
            store.create("w", true, 2);
            try (AdamW opt = new AdamW(be, store, AdamWConfig.defaults())) {
                IllegalStateException on = assertThrows(IllegalStateException.class, () -> opt.checkNorm(Double.NaN, 1f));
                assertTrue(on.getMessage().contains("lower the learning rate"), on.getMessage());
                assertTrue(!on.getMessage().contains("clipping"), "clipping is on: " + on.getMessage());
                IllegalStateException off = assertThrows(IllegalStateException.class,
                        () -> opt.checkNorm(Double.POSITIVE_INFINITY, 0f));
                assertTrue(off.getMessage().contains("enable clipping"), off.getMessage());
                assertEquals(2.5, opt.checkNorm(2.5, 1f));
            }
        }
    }

    @Test
    void badHyperParametersAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> new AdamWConfig(1f, 0.95f, 1e-8f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdamWConfig(0.9f, -0.1f, 1e-8f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdamWConfig(0.9f, 0.95f, 0f, 0f));
        assertThrows(IllegalArgumentException.class, () -> new AdamWConfig(0.9f, 0.95f, 1e-8f, -1f));
    }
}
