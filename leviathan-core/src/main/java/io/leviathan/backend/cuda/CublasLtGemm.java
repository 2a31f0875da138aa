package io.leviathan.backend.cuda;

import io.leviathan.bindings.cuda.CuBlas;
import io.leviathan.bindings.cuda.CuBlasLt;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * BF16 x BF16 GEMMs with F32 output and F32 accumulation on cuBLASLt. The first GEMM of each shape creates its
 * plan (operation descriptor, three matrix layouts, the heuristic's best algorithm) and caches it, so later
 * calls of the shape make one {@code cublasLtMatmul} call and nothing else. A shape for which the heuristic
 * offers no algorithm is remembered as such and the caller falls back to {@code cublasGemmEx}. The
 * arguments are those of {@link GemmMapping} (column-major, operands swapped), as for cuBLAS.
 */
final class CublasLtGemm implements AutoCloseable {
    private final CudaContext cx;
    private final CuBlasLt lt;
    private final MemorySegment workspace;
    private final long workspaceBytes;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private final MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
    private final Map<GemmMapping, Plan> plans = new HashMap<>();
    private final List<MemorySegment> descs = new ArrayList<>();
    private final List<MemorySegment> layouts = new ArrayList<>();
    private boolean closed;

    /** A cached plan; {@code algo} is null when the heuristic found none for the shape. */
    private record Plan(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c, MemorySegment algo) {}

    CublasLtGemm(CudaContext cx, CuBlasLt lt, MemorySegment workspace, long workspaceBytes) {
        this.cx = cx;
        this.lt = lt;
        this.workspace = workspace;
        this.workspaceBytes = workspaceBytes;
        lt.check("cublasLtCreate", lt.cublasLtCreate(out));
        this.handle = out.get(ValueLayout.ADDRESS, 0);
    }

    /** Shapes planned so far (with or without an algorithm). */
    synchronized int plannedShapes() {
        return plans.size();
    }

    /**
     * {@code c = alpha op(first) op(second) + beta c} for BF16 operands and an F32 {@code c}, as mapped by
     * {@code g}; returns false, having done nothing, when cuBLASLt has no algorithm for the shape.
     */
    synchronized boolean matmul(GemmMapping g, MemorySegment first, MemorySegment second, MemorySegment c,
                                MemorySegment alpha, MemorySegment beta) {
        Plan plan = plans.get(g);
        if (plan == null) {
            plan = plan(g);
            plans.put(g, plan);
        }
        if (plan.algo() == null) {
            return false;
        }
        lt.check("cublasLtMatmul", lt.cublasLtMatmul(handle, plan.desc(), alpha, first, plan.a(), second, plan.b(),
                beta, c, plan.c(), c, plan.c(), plan.algo(), workspace, workspaceBytes, cx.stream));
        return true;
    }

    private Plan plan(GemmMapping g) {
        lt.check("cublasLtMatmulDescCreate",
                lt.cublasLtMatmulDescCreate(out, CuBlas.CUBLAS_COMPUTE_32F, CuBlas.CUDA_R_32F));
        MemorySegment desc = out.get(ValueLayout.ADDRESS, 0);
        descs.add(desc);
        setInt(desc, CuBlasLt.CUBLASLT_MATMUL_DESC_TRANSA, g.transa() ? CuBlas.CUBLAS_OP_T : CuBlas.CUBLAS_OP_N);
        setInt(desc, CuBlasLt.CUBLASLT_MATMUL_DESC_TRANSB, g.transb() ? CuBlas.CUBLAS_OP_T : CuBlas.CUBLAS_OP_N);
        // Layouts describe the matrices as stored (column-major): rows x cols with the leading dimension.
        MemorySegment a = layout(CuBlas.CUDA_R_16BF, g.transa() ? g.k() : g.m(), g.transa() ? g.m() : g.k(), g.lda(),
                g.batch(), g.strideA());
        MemorySegment b = layout(CuBlas.CUDA_R_16BF, g.transb() ? g.n() : g.k(), g.transb() ? g.k() : g.n(), g.ldb(),
                g.batch(), g.strideB());
        MemorySegment c = layout(CuBlas.CUDA_R_32F, g.m(), g.n(), g.ldc(), g.batch(), g.strideC());
        return new Plan(desc, a, b, c, bestAlgorithm(desc, a, b, c));
    }

    private MemorySegment layout(int type, long rows, long cols, long ld, int batch, long stride) {
        lt.check("cublasLtMatrixLayoutCreate", lt.cublasLtMatrixLayoutCreate(out, type, rows, cols, ld));
        MemorySegment layout = out.get(ValueLayout.ADDRESS, 0);
        layouts.add(layout);
        if (batch > 1) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment count = a.allocateFrom(ValueLayout.JAVA_INT, batch);
                lt.check("cublasLtMatrixLayoutSetAttribute", lt.cublasLtMatrixLayoutSetAttribute(layout,
                        CuBlasLt.CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, count, Integer.BYTES));
                MemorySegment offset = a.allocateFrom(ValueLayout.JAVA_LONG, stride);
                lt.check("cublasLtMatrixLayoutSetAttribute", lt.cublasLtMatrixLayoutSetAttribute(layout,
                        CuBlasLt.CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, offset, Long.BYTES));
            }
        }
        return layout;
    }

    /** The heuristic's first algorithm within our workspace, copied into memory the plan keeps; null if none. */
    private MemorySegment bestAlgorithm(MemorySegment desc, MemorySegment a, MemorySegment b, MemorySegment c) {
        try (Arena tmp = Arena.ofConfined()) {
            lt.check("cublasLtMatmulPreferenceCreate", lt.cublasLtMatmulPreferenceCreate(out));
            MemorySegment pref = out.get(ValueLayout.ADDRESS, 0);
            try {
                MemorySegment max = tmp.allocateFrom(ValueLayout.JAVA_LONG, workspaceBytes);
                lt.check("cublasLtMatmulPreferenceSetAttribute", lt.cublasLtMatmulPreferenceSetAttribute(pref,
                        CuBlasLt.CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, max, Long.BYTES));
                MemorySegment result = tmp.allocate(CuBlasLt.HEURISTIC_RESULT);
                MemorySegment returned = tmp.allocate(ValueLayout.JAVA_INT);
                int status = lt.cublasLtMatmulAlgoGetHeuristic(handle, desc, a, b, c, c, pref, 1, result, returned);
                // NOT_SUPPORTED (or no result) means no algorithm for this shape: cublasGemmEx takes it.
                if (status == CuBlas.CUBLAS_STATUS_NOT_SUPPORTED || returned.get(ValueLayout.JAVA_INT, 0) < 1) {
                    return null;
                }
                lt.check("cublasLtMatmulAlgoGetHeuristic", status);
                if (CuBlasLt.heuristicState(result) != CuBlas.CUBLAS_STATUS_SUCCESS) {
                    return null;
                }
                MemorySegment algo = arena.allocate(CuBlasLt.ALGO);
                algo.copyFrom(result.asSlice(0, CuBlasLt.ALGO.byteSize()));
                return algo;
            } finally {
                lt.check("cublasLtMatmulPreferenceDestroy", lt.cublasLtMatmulPreferenceDestroy(pref));
            }
        }
    }

    private void setInt(MemorySegment desc, int attribute, int value) {
        try (Arena a = Arena.ofConfined()) {
            lt.check("cublasLtMatmulDescSetAttribute", lt.cublasLtMatmulDescSetAttribute(desc, attribute,
                    a.allocateFrom(ValueLayout.JAVA_INT, value), Integer.BYTES));
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            // every object created, including those of a plan whose creation failed half way
            for (MemorySegment d : descs) {
                lt.check("cublasLtMatmulDescDestroy", lt.cublasLtMatmulDescDestroy(d));
            }
            for (MemorySegment l : layouts) {
                lt.check("cublasLtMatrixLayoutDestroy", lt.cublasLtMatrixLayoutDestroy(l));
            }
            descs.clear();
            layouts.clear();
            plans.clear();
            lt.check("cublasLtDestroy", lt.cublasLtDestroy(handle));
        } finally {
            arena.close();
        }
    }
}
