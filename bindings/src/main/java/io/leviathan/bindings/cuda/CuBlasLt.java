package io.leviathan.bindings.cuda;

import io.leviathan.bindings.FunctionSlots;
import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Bindings to cuBLASLt ({@code libcublasLt.so.13}): descriptors, matrix layouts, preferences, the algorithm
 * heuristic and {@code cublasLtMatmul}. Statuses are {@code cublasStatus_t}, as in {@link CuBlas}.
 *
 * <p>Attribute values and struct layouts are those of CUDA 13's {@code cublasLt.h}: the enum values as
 * mirrored in Maven Central's {@code org.bytedeco:cuda:13.1-9.19-1.5.13}
 * ({@code org.bytedeco.cuda.global.cublas}); {@code cublasLtMatmulAlgo_t} is {@code uint64_t data[8]} and
 * {@code cublasLtMatmulHeuristicResult_t} is {@code {algo; size_t workspaceSize; cublasStatus_t state;
 * float wavesCount; int reserved[4];}}, as declared in NVIDIA's {@code cublasLt.h}.
 */
public final class CuBlasLt {

    /** {@code cublasLtMatmulDescAttributes_t}: the compute type (int32). */
    public static final int CUBLASLT_MATMUL_DESC_COMPUTE_TYPE = 0;
    /** {@code cublasLtMatmulDescAttributes_t}: the type of alpha and beta (int32 cudaDataType). */
    public static final int CUBLASLT_MATMUL_DESC_SCALE_TYPE = 1;
    /** {@code cublasLtMatmulDescAttributes_t}: where alpha and beta live (int32 cublasLtPointerMode_t). */
    public static final int CUBLASLT_MATMUL_DESC_POINTER_MODE = 2;
    /** {@code cublasLtMatmulDescAttributes_t}: op(A) (int32 cublasOperation_t). */
    public static final int CUBLASLT_MATMUL_DESC_TRANSA = 3;
    /** {@code cublasLtMatmulDescAttributes_t}: op(B) (int32 cublasOperation_t). */
    public static final int CUBLASLT_MATMUL_DESC_TRANSB = 4;

    /** {@code cublasLtMatrixLayoutAttribute_t}: the number of matrices in a batch (int32). */
    public static final int CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT = 5;
    /** {@code cublasLtMatrixLayoutAttribute_t}: elements between consecutive matrices of a batch (int64). */
    public static final int CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET = 6;

    /** {@code cublasLtMatmulPreferenceAttributes_t}: the most workspace an algorithm may use (uint64). */
    public static final int CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES = 1;

    /** {@code cublasLtPointerMode_t}: alpha and beta are host pointers. */
    public static final int CUBLASLT_POINTER_MODE_HOST = 0;

    /** {@code cublasLtMatmulAlgo_t}: an opaque {@code uint64_t data[8]}. */
    public static final MemoryLayout ALGO = MemoryLayout.sequenceLayout(8, ValueLayout.JAVA_LONG).withName("data");

    /** {@code cublasLtMatmulHeuristicResult_t} (96 bytes). */
    public static final StructLayout HEURISTIC_RESULT = MemoryLayout.structLayout(
            ALGO.withName("algo"),
            ValueLayout.JAVA_LONG.withName("workspaceSize"),
            ValueLayout.JAVA_INT.withName("state"),
            ValueLayout.JAVA_FLOAT.withName("wavesCount"),
            MemoryLayout.sequenceLayout(4, ValueLayout.JAVA_INT).withName("reserved"));

    private static final long WORKSPACE_SIZE_OFFSET =
            HEURISTIC_RESULT.byteOffset(MemoryLayout.PathElement.groupElement("workspaceSize"));
    private static final long STATE_OFFSET =
            HEURISTIC_RESULT.byteOffset(MemoryLayout.PathElement.groupElement("state"));

    /** The {@code workspaceSize} of a {@link #HEURISTIC_RESULT}. */
    public static long heuristicWorkspaceSize(MemorySegment result) {
        return result.get(ValueLayout.JAVA_LONG, WORKSPACE_SIZE_OFFSET);
    }

    /** The {@code state} of a {@link #HEURISTIC_RESULT}: success when the other fields are valid. */
    public static int heuristicState(MemorySegment result) {
        return result.get(ValueLayout.JAVA_INT, STATE_OFFSET);
    }

    private static final ValueLayout A = ValueLayout.ADDRESS;
    private static final ValueLayout I = ValueLayout.JAVA_INT;
    private static final ValueLayout L = ValueLayout.JAVA_LONG;

    /** The binding of {@code cublasLtCreate}. */
    public static final NativeFunction cublasLtCreate$FUNC = new NativeFunction("cublasLtCreate",
            FunctionDescriptor.of(I, A), "cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle);");
    /** The binding of {@code cublasLtDestroy}. */
    public static final NativeFunction cublasLtDestroy$FUNC = new NativeFunction("cublasLtDestroy",
            FunctionDescriptor.of(I, A), "cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle);");
    /** The binding of {@code cublasLtGetStatusString}. */
    public static final NativeFunction cublasLtGetStatusString$FUNC = new NativeFunction("cublasLtGetStatusString",
            FunctionDescriptor.of(A, I), "const char *cublasLtGetStatusString(cublasStatus_t status);");
    /** The binding of {@code cublasLtMatmulDescCreate}. */
    public static final NativeFunction cublasLtMatmulDescCreate$FUNC = new NativeFunction("cublasLtMatmulDescCreate",
            FunctionDescriptor.of(I, A, I, I),
            "cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc,"
                    + " cublasComputeType_t computeType, cudaDataType_t scaleType);");
    /** The binding of {@code cublasLtMatmulDescDestroy}. */
    public static final NativeFunction cublasLtMatmulDescDestroy$FUNC = new NativeFunction("cublasLtMatmulDescDestroy",
            FunctionDescriptor.of(I, A), "cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc);");
    /** The binding of {@code cublasLtMatmulDescSetAttribute}. */
    public static final NativeFunction cublasLtMatmulDescSetAttribute$FUNC = new NativeFunction(
            "cublasLtMatmulDescSetAttribute",
            FunctionDescriptor.of(I, A, I, A, L),
            "cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc,"
                    + " cublasLtMatmulDescAttributes_t attr, const void *buf, size_t sizeInBytes);");
    /** The binding of {@code cublasLtMatrixLayoutCreate}. */
    public static final NativeFunction cublasLtMatrixLayoutCreate$FUNC = new NativeFunction(
            "cublasLtMatrixLayoutCreate",
            FunctionDescriptor.of(I, A, I, L, L, L),
            "cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout, cudaDataType type,"
                    + " uint64_t rows, uint64_t cols, int64_t ld);");
    /** The binding of {@code cublasLtMatrixLayoutDestroy}. */
    public static final NativeFunction cublasLtMatrixLayoutDestroy$FUNC = new NativeFunction(
            "cublasLtMatrixLayoutDestroy",
            FunctionDescriptor.of(I, A), "cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout);");
    /** The binding of {@code cublasLtMatrixLayoutSetAttribute}. */
    public static final NativeFunction cublasLtMatrixLayoutSetAttribute$FUNC = new NativeFunction(
            "cublasLtMatrixLayoutSetAttribute",
            FunctionDescriptor.of(I, A, I, A, L),
            "cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t matLayout,"
                    + " cublasLtMatrixLayoutAttribute_t attr, const void *buf, size_t sizeInBytes);");
    /** The binding of {@code cublasLtMatmulPreferenceCreate}. */
    public static final NativeFunction cublasLtMatmulPreferenceCreate$FUNC = new NativeFunction(
            "cublasLtMatmulPreferenceCreate",
            FunctionDescriptor.of(I, A), "cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref);");
    /** The binding of {@code cublasLtMatmulPreferenceDestroy}. */
    public static final NativeFunction cublasLtMatmulPreferenceDestroy$FUNC = new NativeFunction(
            "cublasLtMatmulPreferenceDestroy",
            FunctionDescriptor.of(I, A), "cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref);");
    /** The binding of {@code cublasLtMatmulPreferenceSetAttribute}. */
    public static final NativeFunction cublasLtMatmulPreferenceSetAttribute$FUNC = new NativeFunction(
            "cublasLtMatmulPreferenceSetAttribute",
            FunctionDescriptor.of(I, A, I, A, L),
            "cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,"
                    + " cublasLtMatmulPreferenceAttributes_t attr, const void *buf, size_t sizeInBytes);");
    /** The binding of {@code cublasLtMatmulAlgoGetHeuristic}. */
    public static final NativeFunction cublasLtMatmulAlgoGetHeuristic$FUNC = new NativeFunction(
            "cublasLtMatmulAlgoGetHeuristic",
            FunctionDescriptor.of(I, A, A, A, A, A, A, A, I, A, A),
            "cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle,"
                    + " cublasLtMatmulDesc_t operationDesc, cublasLtMatrixLayout_t Adesc, cublasLtMatrixLayout_t Bdesc,"
                    + " cublasLtMatrixLayout_t Cdesc, cublasLtMatrixLayout_t Ddesc, cublasLtMatmulPreference_t preference,"
                    + " int requestedAlgoCount, cublasLtMatmulHeuristicResult_t heuristicResultsArray[],"
                    + " int *returnAlgoCount);");
    /** The binding of {@code cublasLtMatmul}. */
    public static final NativeFunction cublasLtMatmul$FUNC = new NativeFunction("cublasLtMatmul",
            FunctionDescriptor.of(I, A, A, A, A, A, A, A, A, A, A, A, A, A, A, L, A),
            "cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc,"
                    + " const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc, const void *B,"
                    + " cublasLtMatrixLayout_t Bdesc, const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc,"
                    + " void *D, cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,"
                    + " size_t workspaceSizeInBytes, cudaStream_t stream);");

    /** Every function bound here. */
    public static final List<NativeFunction> FUNCTIONS = List.of(
            cublasLtCreate$FUNC,
            cublasLtDestroy$FUNC,
            cublasLtGetStatusString$FUNC,
            cublasLtMatmulDescCreate$FUNC,
            cublasLtMatmulDescDestroy$FUNC,
            cublasLtMatmulDescSetAttribute$FUNC,
            cublasLtMatrixLayoutCreate$FUNC,
            cublasLtMatrixLayoutDestroy$FUNC,
            cublasLtMatrixLayoutSetAttribute$FUNC,
            cublasLtMatmulPreferenceCreate$FUNC,
            cublasLtMatmulPreferenceDestroy$FUNC,
            cublasLtMatmulPreferenceSetAttribute$FUNC,
            cublasLtMatmulAlgoGetHeuristic$FUNC,
            cublasLtMatmul$FUNC);

    private final LinkedLibrary library;
    private final FunctionSlots slots;

    /** Bindings over the loaded {@code libcublasLt.so.13}. */
    public CuBlasLt(LinkedLibrary library) {
        if (library == null) {
            throw new IllegalArgumentException("CuBlasLt: library is null");
        }
        this.library = library;
        this.slots = new FunctionSlots(library, FUNCTIONS);
    }

    /** The loaded library these bindings call. */
    public LinkedLibrary library() {
        return library;
    }

    /** Throws a {@link NativeCallException} naming {@code call} and the status unless it is success (0). */
    public void check(String call, int status) {
        if (status != CuBlas.CUBLAS_STATUS_SUCCESS) {
            throw new NativeCallException(call, status, statusString(status));
        }
    }

    /** {@code cublasLtGetStatusString(status)} as a Java string. */
    public String statusString(int status) {
        MemorySegment s = cublasLtGetStatusString(status);
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** {@code cublasLtCreate(&handle)}. */
    public int cublasLtCreate(MemorySegment handleOut) {
        return call(0, cublasLtCreate$FUNC, handleOut);
    }

    /** {@code cublasLtDestroy(handle)}. */
    public int cublasLtDestroy(MemorySegment handle) {
        return call(1, cublasLtDestroy$FUNC, handle);
    }

    /** {@code const char *cublasLtGetStatusString(status)}. */
    public MemorySegment cublasLtGetStatusString(int status) {
        try {
            return (MemorySegment) slots.handle(2, cublasLtGetStatusString$FUNC).invokeExact(status);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasLtGetStatusString$FUNC, t);
        }
    }

    /** {@code cublasLtMatmulDescCreate(&desc, computeType, scaleType)}. */
    public int cublasLtMatmulDescCreate(MemorySegment descOut, int computeType, int scaleType) {
        try {
            return (int) slots.handle(3, cublasLtMatmulDescCreate$FUNC).invokeExact(descOut, computeType, scaleType);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasLtMatmulDescCreate$FUNC, t);
        }
    }

    /** {@code cublasLtMatmulDescDestroy(desc)}. */
    public int cublasLtMatmulDescDestroy(MemorySegment desc) {
        return call(4, cublasLtMatmulDescDestroy$FUNC, desc);
    }

    /** {@code cublasLtMatmulDescSetAttribute(desc, attr, buf, size)}. */
    public int cublasLtMatmulDescSetAttribute(MemorySegment desc, int attr, MemorySegment buf, long size) {
        return setAttribute(5, cublasLtMatmulDescSetAttribute$FUNC, desc, attr, buf, size);
    }

    /** {@code cublasLtMatrixLayoutCreate(&layout, type, rows, cols, ld)}. */
    public int cublasLtMatrixLayoutCreate(MemorySegment layoutOut, int type, long rows, long cols, long ld) {
        try {
            return (int) slots.handle(6, cublasLtMatrixLayoutCreate$FUNC).invokeExact(layoutOut, type, rows, cols, ld);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasLtMatrixLayoutCreate$FUNC, t);
        }
    }

    /** {@code cublasLtMatrixLayoutDestroy(layout)}. */
    public int cublasLtMatrixLayoutDestroy(MemorySegment layout) {
        return call(7, cublasLtMatrixLayoutDestroy$FUNC, layout);
    }

    /** {@code cublasLtMatrixLayoutSetAttribute(layout, attr, buf, size)}. */
    public int cublasLtMatrixLayoutSetAttribute(MemorySegment layout, int attr, MemorySegment buf, long size) {
        return setAttribute(8, cublasLtMatrixLayoutSetAttribute$FUNC, layout, attr, buf, size);
    }

    /** {@code cublasLtMatmulPreferenceCreate(&pref)}. */
    public int cublasLtMatmulPreferenceCreate(MemorySegment prefOut) {
        return call(9, cublasLtMatmulPreferenceCreate$FUNC, prefOut);
    }

    /** {@code cublasLtMatmulPreferenceDestroy(pref)}. */
    public int cublasLtMatmulPreferenceDestroy(MemorySegment pref) {
        return call(10, cublasLtMatmulPreferenceDestroy$FUNC, pref);
    }

    /** {@code cublasLtMatmulPreferenceSetAttribute(pref, attr, buf, size)}. */
    public int cublasLtMatmulPreferenceSetAttribute(MemorySegment pref, int attr, MemorySegment buf, long size) {
        return setAttribute(11, cublasLtMatmulPreferenceSetAttribute$FUNC, pref, attr, buf, size);
    }

    /** {@code cublasLtMatmulAlgoGetHeuristic(...)}: up to {@code requested} results into {@code results}. */
    public int cublasLtMatmulAlgoGetHeuristic(MemorySegment handle, MemorySegment desc, MemorySegment aDesc,
                                              MemorySegment bDesc, MemorySegment cDesc, MemorySegment dDesc,
                                              MemorySegment preference, int requested, MemorySegment results,
                                              MemorySegment returnedOut) {
        try {
            return (int) slots.handle(12, cublasLtMatmulAlgoGetHeuristic$FUNC).invokeExact(handle, desc, aDesc, bDesc,
                    cDesc, dDesc, preference, requested, results, returnedOut);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasLtMatmulAlgoGetHeuristic$FUNC, t);
        }
    }

    /** {@code cublasLtMatmul(...)}: {@code D = alpha op(A) op(B) + beta C}. */
    public int cublasLtMatmul(MemorySegment handle, MemorySegment desc, MemorySegment alpha,
                              MemorySegment a, MemorySegment aDesc, MemorySegment b, MemorySegment bDesc,
                              MemorySegment beta, MemorySegment c, MemorySegment cDesc,
                              MemorySegment d, MemorySegment dDesc, MemorySegment algo,
                              MemorySegment workspace, long workspaceBytes, MemorySegment stream) {
        try {
            return (int) slots.handle(13, cublasLtMatmul$FUNC).invokeExact(handle, desc, alpha, a, aDesc, b, bDesc,
                    beta, c, cDesc, d, dDesc, algo, workspace, workspaceBytes, stream);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasLtMatmul$FUNC, t);
        }
    }

    private int call(int index, NativeFunction f, MemorySegment arg) {
        try {
            return (int) slots.handle(index, f).invokeExact(arg);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(f, t);
        }
    }

    private int setAttribute(int index, NativeFunction f, MemorySegment target, int attr, MemorySegment buf,
                             long size) {
        try {
            return (int) slots.handle(index, f).invokeExact(target, attr, buf, size);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(f, t);
        }
    }


}
