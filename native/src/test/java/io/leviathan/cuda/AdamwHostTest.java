package io.leviathan.cuda;

import static io.leviathan.cuda.Reference.CPU;
import static io.leviathan.cuda.Reference.assertSameBits;
import static io.leviathan.cuda.Reference.gaussian;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.leviathan.backend.AdamWStep;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** AdamW over flat buffers against the CPU backend, bit for bit: the same operations in the same order. */
class AdamwHostTest {

    private static final AdamWStep STEP = new AdamWStep(3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 7);

    private static double bias(float beta, long step) {
        return 1.0 - Math.pow(beta, step);
    }

    /** norm 0.5 with clip 1 (no clipping), norm 4 with clip 1 (clipped), clip 0 (off), NaN and infinite norms. */
    @ParameterizedTest
    @CsvSource({"1, 1, 0, 0.5, 1", "33, 20, 20, 4, 1", "1000, 377, 0, 4, 0", "4099, 4099, 1000, NaN, 1",
            "100, 50, 3, Infinity, 1"})
    void flatStep(int n, long decayed, long seed, float norm, float clip) {
        Random rnd = new Random(n + seed);
        float[] p = gaussian(rnd, n, 1f), g = gaussian(rnd, n, 1f), m = gaussian(rnd, n, 0.1f);
        float[] v = gaussian(rnd, n, 0.1f);
        for (int i = 0; i < n; i++) {
            v[i] = v[i] * v[i];
        }
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tp = arena.of(p, n), tm = arena.of(m, n), tv = arena.of(v, n);
            CPU.adamw(tp, arena.of(g, n), tm, tv, STEP, decayed, arena.of(new float[] {norm}, 1), clip);
            MemorySegment hp = mem.floats(p), hm = mem.floats(m), hv = mem.floats(v);
            assertEquals(0, HostKernels.call(HostKernels.ADAMW, hp, mem.floats(g), hm, hv, (long) n, STEP.lr(),
                    STEP.beta1(), STEP.beta2(), STEP.eps(), STEP.weightDecay(), bias(STEP.beta1(), STEP.step()),
                    bias(STEP.beta2(), STEP.step()), decayed, mem.floats(new float[] {norm}), clip));
            assertSameBits("param", CPU.downloadFloats(tp), HostMemory.toFloats(hp, n));
            assertSameBits("m", CPU.downloadFloats(tm), HostMemory.toFloats(hm, n));
            assertSameBits("v", CPU.downloadFloats(tv), HostMemory.toFloats(hv, n));
            if (!Float.isFinite(norm)) {
                assertSameBits("a non-finite norm changes nothing", p, HostMemory.toFloats(hp, n));
            }
        }
    }

    /** Without a norm: every element decayed, no clipping, as the per-tensor AdamW. */
    @Test
    void withoutNormIsThePerTensorStep() {
        int n = 517;
        Random rnd = new Random(12);
        float[] p = gaussian(rnd, n, 1f), g = gaussian(rnd, n, 3f), m = new float[n], v = new float[n];
        AdamWStep first = new AdamWStep(1e-2f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
        try (HostMemory mem = new HostMemory(); TensorArena arena = CPU.newArena()) {
            Tensor tp = arena.of(p, n), tm = arena.of(m, n), tv = arena.of(v, n);
            CPU.adamw(tp, arena.of(g, n), tm, tv, first);
            MemorySegment hp = mem.floats(p), hm = mem.floats(m), hv = mem.floats(v);
            assertEquals(0, HostKernels.call(HostKernels.ADAMW, hp, mem.floats(g), hm, hv, (long) n, first.lr(),
                    first.beta1(), first.beta2(), first.eps(), first.weightDecay(), bias(first.beta1(), 1),
                    bias(first.beta2(), 1), (long) n, MemorySegment.NULL, 0f));
            assertSameBits("param", CPU.downloadFloats(tp), HostMemory.toFloats(hp, n));
            assertSameBits("m", CPU.downloadFloats(tm), HostMemory.toFloats(hm, n));
            assertSameBits("v", CPU.downloadFloats(tv), HostMemory.toFloats(hv, n));
        }
    }
}
