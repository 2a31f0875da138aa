package io.leviathan.bindings.cuda;

import io.leviathan.bindings.FunctionSlots;
import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * Bindings to cuBLAS ({@code libcublas.so.13}): the handle, its stream, workspace and math mode, and the two
 * mixed-precision GEMMs ({@code cublasGemmEx}, {@code cublasGemmStridedBatchedEx}). The functions of
 * {@code cublas_v2.h} that the header renames by macro are bound by their exported {@code _v2} symbols.
 *
 * <p>Constant values are those of CUDA 13's {@code cublas_api.h} and {@code library_types.h}, as mirrored
 * with every enum value in Maven Central's {@code org.bytedeco:cuda:13.1-9.19-1.5.13}
 * ({@code org.bytedeco.cuda.global.cublas}, {@code org.bytedeco.cuda.global.cudart}).
 */
public final class CuBlas {

    /** {@code cublasOperation_t}: no transpose. */
    public static final int CUBLAS_OP_N = 0;
    /** {@code cublasOperation_t}: transpose. */
    public static final int CUBLAS_OP_T = 1;

    /** {@code cudaDataType}: IEEE float. */
    public static final int CUDA_R_32F = 0;
    /** {@code cudaDataType}: bfloat16. */
    public static final int CUDA_R_16BF = 14;

    /** {@code cublasComputeType_t}: fp32 arithmetic (no TF32 or reduced-precision shortcuts). */
    public static final int CUBLAS_COMPUTE_32F = 68;
    /** {@code cublasComputeType_t}: fp32 accumulation with TF32 tensor-core products. */
    public static final int CUBLAS_COMPUTE_32F_FAST_TF32 = 77;

    /** {@code cublasGemmAlgo_t}: let cuBLAS choose. */
    public static final int CUBLAS_GEMM_DEFAULT = -1;

    /** {@code cublasMath_t}: the default (TF32 only where the compute type asks for it). */
    public static final int CUBLAS_DEFAULT_MATH = 0;
    /** {@code cublasMath_t}: strictly the compute type's precision. */
    public static final int CUBLAS_PEDANTIC_MATH = 2;
    /** {@code cublasMath_t}: allow TF32 tensor cores for fp32 GEMMs. */
    public static final int CUBLAS_TF32_TENSOR_OP_MATH = 3;

    /** {@code cublasStatus_t}: success. */
    public static final int CUBLAS_STATUS_SUCCESS = 0;
    /** {@code cublasStatus_t}: the library was not initialised (no device, or no driver). */
    public static final int CUBLAS_STATUS_NOT_INITIALIZED = 1;
    /** {@code cublasStatus_t}: an allocation failed. */
    public static final int CUBLAS_STATUS_ALLOC_FAILED = 3;
    /** {@code cublasStatus_t}: an unsupported value or parameter. */
    public static final int CUBLAS_STATUS_INVALID_VALUE = 7;
    /** {@code cublasStatus_t}: the device lacks a feature. */
    public static final int CUBLAS_STATUS_ARCH_MISMATCH = 8;
    /** {@code cublasStatus_t}: the GPU program failed to execute. */
    public static final int CUBLAS_STATUS_EXECUTION_FAILED = 13;
    /** {@code cublasStatus_t}: an internal operation failed. */
    public static final int CUBLAS_STATUS_INTERNAL_ERROR = 14;
    /** {@code cublasStatus_t}: the combination of parameters is not supported. */
    public static final int CUBLAS_STATUS_NOT_SUPPORTED = 15;

    /** The binding of {@code cublasCreate_v2}. */
    public static final NativeFunction cublasCreate_v2$FUNC = new NativeFunction("cublasCreate_v2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cublasStatus_t cublasCreate_v2(cublasHandle_t *handle);");

    /** The binding of {@code cublasDestroy_v2}. */
    public static final NativeFunction cublasDestroy_v2$FUNC = new NativeFunction("cublasDestroy_v2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);");

    /** The binding of {@code cublasSetStream_v2}. */
    public static final NativeFunction cublasSetStream_v2$FUNC = new NativeFunction("cublasSetStream_v2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);");

    /** The binding of {@code cublasSetWorkspace_v2}. */
    public static final NativeFunction cublasSetWorkspace_v2$FUNC = new NativeFunction("cublasSetWorkspace_v2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
            "cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes);");

    /** The binding of {@code cublasSetMathMode}. */
    public static final NativeFunction cublasSetMathMode$FUNC = new NativeFunction("cublasSetMathMode",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            "cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);");

    /** The binding of {@code cublasGetVersion_v2}. */
    public static final NativeFunction cublasGetVersion_v2$FUNC = new NativeFunction("cublasGetVersion_v2",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version);");

    /** The binding of {@code cublasGetStatusString}. */
    public static final NativeFunction cublasGetStatusString$FUNC = new NativeFunction("cublasGetStatusString",
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            "const char *cublasGetStatusString(cublasStatus_t status);");

    /** The binding of {@code cublasGemmEx}. */
    public static final NativeFunction cublasGemmEx$FUNC = new NativeFunction("cublasGemmEx",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            "cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb,"
                    + " int m, int n, int k, const void *alpha, const void *A, cudaDataType Atype, int lda,"
                    + " const void *B, cudaDataType Btype, int ldb, const void *beta, void *C, cudaDataType Ctype,"
                    + " int ldc, cublasComputeType_t computeType, cublasGemmAlgo_t algo);");

    /** The binding of {@code cublasGemmStridedBatchedEx}. */
    public static final NativeFunction cublasGemmStridedBatchedEx$FUNC = new NativeFunction(
            "cublasGemmStridedBatchedEx",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG,
                    ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT),
            "cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,"
                    + " cublasOperation_t transb, int m, int n, int k, const void *alpha, const void *A,"
                    + " cudaDataType Atype, int lda, long long int strideA, const void *B, cudaDataType Btype,"
                    + " int ldb, long long int strideB, const void *beta, void *C, cudaDataType Ctype, int ldc,"
                    + " long long int strideC, int batchCount, cublasComputeType_t computeType,"
                    + " cublasGemmAlgo_t algo);");

    /** Every function bound here. */
    public static final List<NativeFunction> FUNCTIONS = List.of(
            cublasCreate_v2$FUNC,
            cublasDestroy_v2$FUNC,
            cublasSetStream_v2$FUNC,
            cublasSetWorkspace_v2$FUNC,
            cublasSetMathMode$FUNC,
            cublasGetVersion_v2$FUNC,
            cublasGetStatusString$FUNC,
            cublasGemmEx$FUNC,
            cublasGemmStridedBatchedEx$FUNC);

    private final LinkedLibrary library;
    private final FunctionSlots slots;

    /** Bindings over the loaded {@code libcublas.so.13}. */
    public CuBlas(LinkedLibrary library) {
        if (library == null) {
            throw new IllegalArgumentException("CuBlas: library is null");
        }
        this.library = library;
        this.slots = new FunctionSlots(library, FUNCTIONS);
    }

    /** The loaded library these bindings call. */
    public LinkedLibrary library() {
        return library;
    }

    /**
     * Throws a {@link NativeCallException} naming {@code call}, the status and
     * {@code cublasGetStatusString}'s description unless {@code status} is {@link #CUBLAS_STATUS_SUCCESS}.
     */
    public void check(String call, int status) {
        if (status != CUBLAS_STATUS_SUCCESS) {
            throw new NativeCallException(call, status, statusString(status));
        }
    }

    /** {@code cublasGetStatusString(status)} as a Java string. */
    public String statusString(int status) {
        MemorySegment s = cublasGetStatusString(status);
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }

    /** {@code cublasStatus_t cublasCreate_v2(cublasHandle_t *handle);} */
    public int cublasCreate_v2(MemorySegment handle) {
        try {
            return (int) slots.handle(0, cublasCreate_v2$FUNC).invokeExact(handle);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasCreate_v2$FUNC, t);
        }
    }

    /** {@code cublasStatus_t cublasDestroy_v2(cublasHandle_t handle);} */
    public int cublasDestroy_v2(MemorySegment handle) {
        try {
            return (int) slots.handle(1, cublasDestroy_v2$FUNC).invokeExact(handle);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasDestroy_v2$FUNC, t);
        }
    }

    /** {@code cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId);} */
    public int cublasSetStream_v2(MemorySegment handle, MemorySegment stream) {
        try {
            return (int) slots.handle(2, cublasSetStream_v2$FUNC).invokeExact(handle, stream);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasSetStream_v2$FUNC, t);
        }
    }

    /** {@code cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace, size_t workspaceSizeInBytes);} */
    public int cublasSetWorkspace_v2(MemorySegment handle, MemorySegment workspace, long workspaceSizeInBytes) {
        try {
            return (int) slots.handle(3, cublasSetWorkspace_v2$FUNC).invokeExact(handle, workspace, workspaceSizeInBytes);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasSetWorkspace_v2$FUNC, t);
        }
    }

    /** {@code cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode);} */
    public int cublasSetMathMode(MemorySegment handle, int mode) {
        try {
            return (int) slots.handle(4, cublasSetMathMode$FUNC).invokeExact(handle, mode);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasSetMathMode$FUNC, t);
        }
    }

    /** {@code cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version);} */
    public int cublasGetVersion_v2(MemorySegment handle, MemorySegment version) {
        try {
            return (int) slots.handle(5, cublasGetVersion_v2$FUNC).invokeExact(handle, version);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasGetVersion_v2$FUNC, t);
        }
    }

    /** {@code const char *cublasGetStatusString(cublasStatus_t status);} */
    public MemorySegment cublasGetStatusString(int status) {
        try {
            return (MemorySegment) slots.handle(6, cublasGetStatusString$FUNC).invokeExact(status);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasGetStatusString$FUNC, t);
        }
    }

    /** {@code cublasGemmEx}: {@code C = alpha op(A) op(B) + beta C}, column-major, with per-operand types. */
    public int cublasGemmEx(MemorySegment handle, int transa, int transb, int m, int n, int k,
                            MemorySegment alpha, MemorySegment a, int aType, int lda,
                            MemorySegment b, int bType, int ldb,
                            MemorySegment beta, MemorySegment c, int cType, int ldc, int computeType, int algo) {
        try {
            return (int) slots.handle(7, cublasGemmEx$FUNC).invokeExact(handle, transa, transb, m, n, k,
                    alpha, a, aType, lda, b, bType, ldb, beta, c, cType, ldc, computeType, algo);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasGemmEx$FUNC, t);
        }
    }

    /** {@code cublasGemmStridedBatchedEx}: {@link #cublasGemmEx} over {@code batchCount} strided matrices. */
    public int cublasGemmStridedBatchedEx(MemorySegment handle, int transa, int transb, int m, int n, int k,
                                          MemorySegment alpha, MemorySegment a, int aType, int lda, long strideA,
                                          MemorySegment b, int bType, int ldb, long strideB,
                                          MemorySegment beta, MemorySegment c, int cType, int ldc, long strideC,
                                          int batchCount, int computeType, int algo) {
        try {
            return (int) slots.handle(8, cublasGemmStridedBatchedEx$FUNC).invokeExact(handle, transa, transb, m, n, k,
                    alpha, a, aType, lda, strideA, b, bType, ldb, strideB, beta, c, cType, ldc, strideC,
                    batchCount, computeType, algo);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cublasGemmStridedBatchedEx$FUNC, t);
        }
    }


}
