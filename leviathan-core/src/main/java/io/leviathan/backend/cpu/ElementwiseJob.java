package io.leviathan.backend.cpu;

import static io.leviathan.backend.cpu.CpuElementwise.ELEMENT_GRAIN;
import static io.leviathan.backend.cpu.CpuElementwise.L;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One elementwise kernel over {@code [0, n)}, split into chunks whose boundaries are multiples of the lane
 * count, so each element takes the same (vector or scalar-tail) path whatever the thread count. The calling thread reuses one job for every call instead of a capturing
 * lambda per call, so the training step's copies, fills and activations leave no garbage behind.
 */
final class ElementwiseJob implements Parallel.RangeBody {
    /** The kernels a job runs, with the segments each reads ({@code a}, {@code b}, ...) in order. */
    enum Kernel {
        /** {@code b = a}, {@code bits} bytes per element. */
        COPY_BYTES,
        F32_TO_BF16, BF16_TO_F32,
        /** {@code a = s}; BF16: {@code a = bits}. */
        FILL_F32, FILL_BF16,
        ADD, MUL,
        /** {@code c += a * b}. */
        ADD_PRODUCT,
        SCALE, AXPY,
        SILU, SILU_GRAD, SIGMOID, SIGMOID_GRAD, SWIGLU, SWIGLU_GRAD,
        /** Swiglu's backward written over its outputs instead of added to them. */
        SWIGLU_GRAD_WRITE
    }

    private static final ThreadLocal<ElementwiseJob> JOBS = ThreadLocal.withInitial(ElementwiseJob::new);

    private Kernel kernel;
    private long n;
    private MemorySegment a, b, c, d, e;
    private float s;
    private int bits;
    private boolean busy;

    /** Runs {@code kernel} over {@code n} elements; unused segments are null. */
    static void run(Parallel par, Kernel kernel, long n, MemorySegment a, MemorySegment b, MemorySegment c,
                    MemorySegment d, MemorySegment e, float s, int bits) {
        ElementwiseJob job = JOBS.get();
        if (job.busy) {
            job = new ElementwiseJob(); // called from inside a chunk of this thread's job: do not clobber it
        }
        job.busy = true;
        job.kernel = kernel;
        job.n = n;
        job.a = a;
        job.b = b;
        job.c = c;
        job.d = d;
        job.e = e;
        job.s = s;
        job.bits = bits;
        try {
            par.forRange((n + L - 1) / L, ELEMENT_GRAIN / L, job);
        } finally {
            job.a = job.b = job.c = job.d = job.e = null; // a closed arena's memory must not stay reachable
            job.busy = false;
        }
    }

    @Override
    public void run(long b0, long b1) {
        long i0 = b0 * L, i1 = Math.min(b1 * L, n);
        switch (kernel) {
            case COPY_BYTES -> MemorySegment.copy(a, i0 * bits, b, i0 * bits, (i1 - i0) * bits);
            case F32_TO_BF16 -> CpuElementwise.f32ToBf16(a, b, i0, i1);
            case BF16_TO_F32 -> CpuElementwise.bf16ToF32(a, b, i0, i1);
            case FILL_F32 -> CpuElementwise.fillF32(a, s, i0, i1);
            case FILL_BF16 -> {
                for (long i = i0; i < i1; i++) {
                    a.set(ValueLayout.JAVA_SHORT_UNALIGNED, i * 2, (short) bits);
                }
            }
            case ADD -> CpuElementwise.addRange(a, b, c, i0, i1);
            case MUL -> CpuElementwise.mulRange(a, b, c, i0, i1);
            case ADD_PRODUCT -> CpuElementwise.addProductRange(a, b, c, i0, i1);
            case SCALE -> CpuElementwise.scaleRange(a, s, b, i0, i1);
            case AXPY -> CpuElementwise.axpyRange(s, a, b, i0, i1);
            case SILU -> CpuActivations.siluRange(a, b, i0, i1);
            case SILU_GRAD -> CpuActivations.siluGradRange(a, b, c, i0, i1);
            case SIGMOID -> CpuActivations.sigmoidRange(a, b, i0, i1);
            case SIGMOID_GRAD -> CpuActivations.sigmoidGradRange(a, b, c, i0, i1);
            case SWIGLU -> CpuActivations.swigluRange(a, b, c, i0, i1);
            case SWIGLU_GRAD -> CpuActivations.swigluGradRange(a, b, c, d, e, i0, i1, true);
            case SWIGLU_GRAD_WRITE -> CpuActivations.swigluGradRange(a, b, c, d, e, i0, i1, false);
        }
    }
}
