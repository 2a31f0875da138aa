package io.leviathan.backend.cuda;

import io.leviathan.backend.GemmChecks;
import io.leviathan.bindings.cuda.CuBlas;
import io.leviathan.bindings.cuda.CuBlasLt;
import io.leviathan.bindings.cuda.LeviathanCuda;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.MemoryKey;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * {@code Backend.matmul} on cuBLAS: one handle on the backend's stream, with a workspace, issuing
 * {@code cublasGemmEx} (rank 2) or {@code cublasGemmStridedBatchedEx} (rank 3; stride 0 broadcasts a rank-2
 * operand) with the arguments of {@link GemmMapping}. Inputs are F32 or BF16, the output F32, the arithmetic
 * {@code CUBLAS_COMPUTE_32F} (TF32 products only when asked for with {@code -Dleviathan.cuda.tf32=true}, and
 * then only for F32 x F32). cuBLAS needs both inputs of one type, so a BF16 operand multiplied with an F32
 * one is first widened (exactly) into a reused F32 scratch buffer. cuBLAS reads no {@code C} when
 * {@code beta = 0}, so NaN there is ignored, as the interface requires.
 *
 * <p>With a cuBLASLt library, BF16 x BF16 products go through {@link CublasLtGemm} (one cached plan and
 * algorithm per shape) and fall back to {@code cublasGemmEx} for a shape it has no algorithm for.
 */
final class CudaGemm implements AutoCloseable {
    /** cuBLAS's recommended workspace on Hopper (32 MiB) also covers every earlier architecture. */
    static final long WORKSPACE_BYTES = 32L << 20;

    private final CudaContext cx;
    private final CuBlas cublas;
    private final MemoryKey key;
    private final boolean tf32;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment alpha = arena.allocate(ValueLayout.JAVA_FLOAT);
    private final MemorySegment beta = arena.allocate(ValueLayout.JAVA_FLOAT);
    private final long workspace;
    private final DeviceScratch widened;
    private final CublasLtGemm lt;
    private boolean closed;

    CudaGemm(CudaContext cx, CuBlas cublas, CuBlasLt cublasLtOrNull, MemoryKey key, boolean tf32) {
        this.cx = cx;
        this.cublas = cublas;
        this.key = key;
        this.tf32 = tf32;
        MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
        cublas.check("cublasCreate_v2", cublas.cublasCreate_v2(out));
        this.handle = out.get(ValueLayout.ADDRESS, 0);
        long ws = 0;
        try {
            cublas.check("cublasSetStream_v2", cublas.cublasSetStream_v2(handle, cx.stream));
            ws = cx.allocate(WORKSPACE_BYTES);
            cublas.check("cublasSetWorkspace_v2",
                    cublas.cublasSetWorkspace_v2(handle, MemorySegment.ofAddress(ws), WORKSPACE_BYTES));
            cublas.check("cublasSetMathMode", cublas.cublasSetMathMode(handle,
                    tf32 ? CuBlas.CUBLAS_TF32_TENSOR_OP_MATH : CuBlas.CUBLAS_DEFAULT_MATH));
            // cuBLAS and cuBLASLt share the workspace: both use it only in the stream's order
            this.lt = cublasLtOrNull == null ? null
                    : new CublasLtGemm(cx, cublasLtOrNull, MemorySegment.ofAddress(ws), WORKSPACE_BYTES);
        } catch (RuntimeException e) {
            if (ws != 0) {
                cx.free(ws);
            }
            cublas.cublasDestroy_v2(handle);
            arena.close();
            throw e;
        }
        this.workspace = ws;
        this.widened = new DeviceScratch(cx);
    }

    /** Shapes cuBLASLt has planned (0 without cuBLASLt). */
    int cublasLtPlans() {
        return lt == null ? 0 : lt.plannedShapes();
    }

    /** The cuBLAS version ({@code cublasGetVersion_v2}), e.g. 130100. */
    int version() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment v = a.allocate(ValueLayout.JAVA_INT);
            cublas.check("cublasGetVersion_v2", cublas.cublasGetVersion_v2(handle, v));
            return v.get(ValueLayout.JAVA_INT, 0);
        }
    }

    synchronized void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alphaValue,
                             float betaValue) {
        GemmChecks.MatmulDims dims = GemmChecks.matmul(a, transA, b, transB, c);
        if (dims.batch() > Integer.MAX_VALUE) { // cuBLAS takes the batch count as an int too
            throw GemmChecks.tooLarge(a, transA, b, transB, c);
        }
        long batch = dims.batch(), m = dims.m(), n = dims.n(), ka = dims.k();
        MemorySegment as = a.segment(key), bs = b.segment(key), cs = c.segment(key);
        GemmChecks.noOverlap(a, as, b, bs, c, cs);
        if (m == 0 || n == 0 || batch == 0) {
            return;
        }
        LeviathanCuda lib = cx.lib;
        if (ka == 0) { // an empty sum: c = beta * c (and exactly 0 for beta = 0, whatever c held)
            if (betaValue == 0f) {
                lib.check("lv_memset_async", lib.lv_memset_async(cs, 0, cs.byteSize(), cx.stream));
            } else if (betaValue != 1f) {
                lib.check("lv_scale", lib.lv_scale(cs, betaValue, cs, c.numel(), cx.stream));
            }
            return;
        }
        DType ta = a.dtype(), tb = b.dtype();
        if (ta != tb) { // cuBLAS takes one input type: widen the BF16 operand (exactly) into F32 scratch
            Tensor narrow = ta == DType.BF16 ? a : b;
            MemorySegment wide = widened.get(narrow.numel() * 4);
            lib.check("lv_copy", lib.lv_copy(narrow == a ? as : bs, LeviathanCuda.LV_BF16, wide, LeviathanCuda.LV_F32,
                    narrow.numel(), cx.stream));
            if (narrow == a) {
                as = wide;
                ta = DType.F32;
            } else {
                bs = wide;
                tb = DType.F32;
            }
        }
        int inputType = ta == DType.BF16 ? CuBlas.CUDA_R_16BF : CuBlas.CUDA_R_32F;
        int compute = tf32 && ta == DType.F32 ? CuBlas.CUBLAS_COMPUTE_32F_FAST_TF32 : CuBlas.CUBLAS_COMPUTE_32F;
        GemmMapping g = GemmMapping.of(a.shape(), transA, b.shape(), transB, c.shape());
        // cuBLAS's first operand is the Backend's b, its second the Backend's a (see GemmMapping)
        MemorySegment first = g.swapped() ? bs : as, second = g.swapped() ? as : bs;
        int opA = g.transa() ? CuBlas.CUBLAS_OP_T : CuBlas.CUBLAS_OP_N;
        int opB = g.transb() ? CuBlas.CUBLAS_OP_T : CuBlas.CUBLAS_OP_N;
        alpha.set(ValueLayout.JAVA_FLOAT, 0, alphaValue);
        beta.set(ValueLayout.JAVA_FLOAT, 0, betaValue);
        if (inputType == CuBlas.CUDA_R_16BF && lt != null && lt.matmul(g, first, second, cs, alpha, beta)) {
            return;
        }
        if (g.batch() == 1) {
            cublas.check("cublasGemmEx", cublas.cublasGemmEx(handle, opA, opB, g.m(), g.n(), g.k(),
                    alpha, first, inputType, g.lda(), second, inputType, g.ldb(),
                    beta, cs, CuBlas.CUDA_R_32F, g.ldc(), compute, CuBlas.CUBLAS_GEMM_DEFAULT));
        } else {
            cublas.check("cublasGemmStridedBatchedEx", cublas.cublasGemmStridedBatchedEx(handle, opA, opB,
                    g.m(), g.n(), g.k(), alpha, first, inputType, g.lda(), g.strideA(),
                    second, inputType, g.ldb(), g.strideB(), beta, cs, CuBlas.CUDA_R_32F, g.ldc(), g.strideC(),
                    g.batch(), compute, CuBlas.CUBLAS_GEMM_DEFAULT));
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (lt != null) {
                lt.close();
            }
            widened.close();
            cx.free(workspace);
        } finally {
            try {
                cublas.check("cublasDestroy_v2", cublas.cublasDestroy_v2(handle));
            } finally {
                arena.close();
            }
        }
    }
}
