package io.leviathan.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * cuDNN's fused causal attention ({@code attention = cudnn}) against our CUDA kernel ({@code attention = native})
 * on the same GPU and, at the shortest sequence, against the CPU backend, on random BF16 data: forward output and
 * log-sum-exp, and the accumulated F32 gradients of the backward, for sequences 128 to 2048 and head dimensions 64
 * and 128. Runs only where CUDA is available (skipped with the probe's reason elsewhere; a failure under
 * {@code -Dleviathan.cuda.required=true}, as in the GPU check).
 *
 * <p>Tolerances are BF16's: cuDNN writes BF16 output and BF16 gradients (which we widen and add), so each is
 * compared relative to the largest magnitude of the reference, at 2^-6 (out, gradients) and 1e-3 absolute (lse,
 * which both compute in F32 from the same BF16 inputs).
 */
@ExtendWith(CudaConformanceTest.CudaAvailable.class)
class CudnnAttentionCudaTest {
    private static final int[][] SHAPES = {{2, 128, 4, 64}, {2, 128, 4, 128}, {1, 512, 4, 64}, {1, 1024, 2, 128},
        {1, 2048, 2, 64}};

    @Test
    void cudnnMatchesOurKernelAndTheCpuForwardAndBackward() {
        try (Backend cudnn = Backends.create("cuda", AttentionChoice.CUDNN);
             Backend ours = Backends.create("cuda", AttentionChoice.NATIVE);
             Backend cpu = Backends.cpu()) {
            SplittableRandom rng = new SplittableRandom(10);
            for (int[] s : SHAPES) {
                int b = s[0], t = s[1], h = s[2], dh = s[3], n = b * t * h * dh;
                String what = "attention B=" + b + " T=" + t + " H=" + h + " Dh=" + dh;
                float[] q = normal(rng, n), k = normal(rng, n), v = normal(rng, n), dOut = normal(rng, n);
                float[] dq0 = normal(rng, n), dk0 = normal(rng, n), dv0 = normal(rng, n);
                Result a = run(cudnn, q, k, v, dOut, dq0, dk0, dv0, b, t, h, dh);
                Result r = run(ours, q, k, v, dOut, dq0, dk0, dv0, b, t, h, dh);
                a.assertCloseTo(r, what + ", cuDNN vs our CUDA kernel");
                if (t == 128) {
                    a.assertCloseTo(run(cpu, q, k, v, dOut, dq0, dk0, dv0, b, t, h, dh), what + ", cuDNN vs the CPU");
                }
            }
        }
    }

    /** Forward and backward outputs of one backend, downloaded. */
    private record Result(float[] out, float[] lse, float[] dQ, float[] dK, float[] dV) {
        void assertCloseTo(Result ref, String what) {
            assertRelative(what + " out", ref.out, out, 0x1p-6);
            assertAbsolute(what + " lse", ref.lse, lse, 1e-3);
            assertRelative(what + " dQ", ref.dQ, dQ, 0x1p-6);
            assertRelative(what + " dK", ref.dK, dK, 0x1p-6);
            assertRelative(what + " dV", ref.dV, dV, 0x1p-6);
        }
    }

    private static Result run(Backend be, float[] q, float[] k, float[] v, float[] dOut, float[] dq0, float[] dk0,
                              float[] dv0, int b, int t, int h, int dh) {
        try (TensorArena arena = be.newArena()) {
            Tensor qt = upload(be, arena, DType.BF16, q, b, t, h, dh), kt = upload(be, arena, DType.BF16, k, b, t, h, dh);
            Tensor vt = upload(be, arena, DType.BF16, v, b, t, h, dh);
            Tensor out = arena.allocate(DType.BF16, b, t, h, dh), lse = arena.allocate(DType.F32, b, h, t);
            be.attention(qt, kt, vt, out, lse);
            Tensor dQ = upload(be, arena, DType.F32, dq0, b, t, h, dh), dK = upload(be, arena, DType.F32, dk0, b, t, h, dh);
            Tensor dV = upload(be, arena, DType.F32, dv0, b, t, h, dh);
            be.attentionBackward(upload(be, arena, DType.F32, dOut, b, t, h, dh), qt, kt, vt, out, lse, dQ, dK, dV);
            // compare what the backward added (the gradients start random: accumulation is part of the contract)
            return new Result(be.downloadFloats(out), be.downloadFloats(lse), minus(be.downloadFloats(dQ), dq0),
                    minus(be.downloadFloats(dK), dk0), minus(be.downloadFloats(dV), dv0));
        }
    }

    private static float[] minus(float[] a, float[] b) {
        float[] d = new float[a.length];
        for (int i = 0; i < a.length; i++) {
            d[i] = a[i] - b[i];
        }
        return d;
    }

    private static Tensor upload(Backend be, TensorArena arena, DType type, float[] x, long... shape) {
        Tensor t = arena.allocate(type, shape);
        be.upload(x, 0, t);
        return t;
    }

    private static float[] normal(SplittableRandom rng, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            double u = rng.nextDouble(), w = rng.nextDouble();
            x[i] = (float) (Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * w));
        }
        return x;
    }

    private static void assertRelative(String what, float[] ref, float[] got, double tol) {
        double scale = 0;
        for (float r : ref) {
            scale = Math.max(scale, Math.abs(r));
        }
        assertAbsolute(what + " (relative to max |ref| = " + scale + ")", ref, got, tol * Math.max(scale, 1e-30));
    }

    private static void assertAbsolute(String what, float[] ref, float[] got, double tol) {
        double worst = 0;
        int at = -1;
        for (int i = 0; i < ref.length; i++) {
            double e = Math.abs((double) got[i] - ref[i]);
            if (!(e <= worst)) { // NaN counts as worst
                worst = Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
                at = i;
            }
        }
        final double w = worst;
        final int i = at;
        assertTrue(w <= tol, () -> what + ": largest difference " + w + " at " + i + " (ref " + ref[i] + ", got " + got[i]
                + ") exceeds " + tol);
    }
}
