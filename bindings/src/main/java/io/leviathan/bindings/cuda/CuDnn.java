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
 * Bindings to cuDNN 9 ({@code libcudnn.so.9}): the handle, its stream, the version, error strings and the backend
 * (graph) API: create, set and get attributes, finalize, execute and destroy descriptors. cuDNN 9's only C
 * interface is this API; its C++ front end is header-only and cannot be called through FFM.
 *
 * <p>Constant values are those of cuDNN 9's {@code cudnn_graph.h}, as mirrored with every enum value in Maven
 * Central's {@code org.bytedeco:cuda:13.1-9.19-1.5.13} ({@code org.bytedeco.cuda.global.cudnn}). Only the values
 * the attention graphs use are copied; every one is checked against that mirror and, on the GPU machine, the
 * header.
 */
public final class CuDnn {

    // Status
    /** {@code CUDNN_STATUS_SUCCESS}: success. */
    public static final int CUDNN_STATUS_SUCCESS = 0;
    /** {@code CUDNN_STATUS_NOT_SUPPORTED}: the operation, shape or layout is not supported (an engine or plan declines). */
    public static final int CUDNN_STATUS_NOT_SUPPORTED = 3000;

    // cudnnBackendDescriptorType_t
    /** {@code CUDNN_BACKEND_POINTWISE_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_POINTWISE_DESCRIPTOR = 0;
    /** {@code CUDNN_BACKEND_ENGINECFG_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_ENGINECFG_DESCRIPTOR = 3;
    /** {@code CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR = 4;
    /** {@code CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR = 5;
    /** {@code CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR = 13;
    /** {@code CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR = 15;
    /** {@code CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR = 16;
    /** {@code CUDNN_BACKEND_TENSOR_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_TENSOR_DESCRIPTOR = 17;
    /** {@code CUDNN_BACKEND_MATMUL_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_MATMUL_DESCRIPTOR = 18;
    /** {@code CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR = 19;
    /** {@code CUDNN_BACKEND_REDUCTION_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_REDUCTION_DESCRIPTOR = 21;
    /** {@code CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR} ({@code cudnnBackendDescriptorType_t}). */
    public static final int CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR = 22;

    // cudnnBackendAttributeType_t
    /** {@code CUDNN_TYPE_HANDLE} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_HANDLE = 0;
    /** {@code CUDNN_TYPE_DATA_TYPE} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_DATA_TYPE = 1;
    /** {@code CUDNN_TYPE_BOOLEAN} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_BOOLEAN = 2;
    /** {@code CUDNN_TYPE_INT64} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_INT64 = 3;
    /** {@code CUDNN_TYPE_FLOAT} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_FLOAT = 4;
    /** {@code CUDNN_TYPE_VOID_PTR} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_VOID_PTR = 6;
    /** {@code CUDNN_TYPE_HEUR_MODE} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_HEUR_MODE = 8;
    /** {@code CUDNN_TYPE_POINTWISE_MODE} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_POINTWISE_MODE = 14;
    /** {@code CUDNN_TYPE_BACKEND_DESCRIPTOR} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_BACKEND_DESCRIPTOR = 15;
    /** {@code CUDNN_TYPE_REDUCTION_OPERATOR_TYPE} ({@code cudnnBackendAttributeType_t}). */
    public static final int CUDNN_TYPE_REDUCTION_OPERATOR_TYPE = 18;

    // cudnnDataType_t
    /** {@code CUDNN_DATA_FLOAT} ({@code cudnnDataType_t}). */
    public static final int CUDNN_DATA_FLOAT = 0;
    /** {@code CUDNN_DATA_INT32} ({@code cudnnDataType_t}). */
    public static final int CUDNN_DATA_INT32 = 4;
    /** {@code CUDNN_DATA_BFLOAT16} ({@code cudnnDataType_t}). */
    public static final int CUDNN_DATA_BFLOAT16 = 9;
    /** {@code CUDNN_DATA_BOOLEAN} ({@code cudnnDataType_t}). */
    public static final int CUDNN_DATA_BOOLEAN = 11;

    // cudnnPointwiseMode_t
    /** {@code CUDNN_POINTWISE_ADD} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_ADD = 0;
    /** {@code CUDNN_POINTWISE_MUL} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_MUL = 1;
    /** {@code CUDNN_POINTWISE_DIV} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_DIV = 6;
    /** {@code CUDNN_POINTWISE_SUB} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_SUB = 9;
    /** {@code CUDNN_POINTWISE_EXP} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_EXP = 13;
    /** {@code CUDNN_POINTWISE_LOG} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_LOG = 15;
    /** {@code CUDNN_POINTWISE_CMP_GE} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_CMP_GE = 303;
    /** {@code CUDNN_POINTWISE_GEN_INDEX} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_GEN_INDEX = 501;
    /** {@code CUDNN_POINTWISE_BINARY_SELECT} ({@code cudnnPointwiseMode_t}). */
    public static final int CUDNN_POINTWISE_BINARY_SELECT = 601;

    // cudnnReduceTensorOp_t
    /** {@code CUDNN_REDUCE_TENSOR_ADD} ({@code cudnnReduceTensorOp_t}). */
    public static final int CUDNN_REDUCE_TENSOR_ADD = 0;
    /** {@code CUDNN_REDUCE_TENSOR_MAX} ({@code cudnnReduceTensorOp_t}). */
    public static final int CUDNN_REDUCE_TENSOR_MAX = 3;

    // cudnnBackendHeurMode_t
    /** {@code CUDNN_HEUR_MODE_A} ({@code cudnnBackendHeurMode_t}). */
    public static final int CUDNN_HEUR_MODE_A = 3;
    /** {@code CUDNN_HEUR_MODE_FALLBACK} ({@code cudnnBackendHeurMode_t}). */
    public static final int CUDNN_HEUR_MODE_FALLBACK = 2;

    // cudnnBackendAttributeName_t
    /** {@code CUDNN_ATTR_POINTWISE_MODE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_POINTWISE_MODE = 0;
    /** {@code CUDNN_ATTR_POINTWISE_MATH_PREC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_POINTWISE_MATH_PREC = 1;
    /** {@code CUDNN_ATTR_POINTWISE_AXIS} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_POINTWISE_AXIS = 9;
    /** {@code CUDNN_ATTR_ENGINEHEUR_MODE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_ENGINEHEUR_MODE = 200;
    /** {@code CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH = 201;
    /** {@code CUDNN_ATTR_ENGINEHEUR_RESULTS} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_ENGINEHEUR_RESULTS = 202;
    /** {@code CUDNN_ATTR_EXECUTION_PLAN_HANDLE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_EXECUTION_PLAN_HANDLE = 400;
    /** {@code CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG = 401;
    /** {@code CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE = 402;
    /** {@code CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR = 750;
    /** {@code CUDNN_ATTR_OPERATION_POINTWISE_XDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_POINTWISE_XDESC = 751;
    /** {@code CUDNN_ATTR_OPERATION_POINTWISE_BDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_POINTWISE_BDESC = 752;
    /** {@code CUDNN_ATTR_OPERATION_POINTWISE_YDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_POINTWISE_YDESC = 753;
    /** {@code CUDNN_ATTR_OPERATION_POINTWISE_TDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_POINTWISE_TDESC = 758;
    /** {@code CUDNN_ATTR_OPERATIONGRAPH_HANDLE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATIONGRAPH_HANDLE = 800;
    /** {@code CUDNN_ATTR_OPERATIONGRAPH_OPS} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATIONGRAPH_OPS = 801;
    /** {@code CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT = 900;
    /** {@code CUDNN_ATTR_TENSOR_DATA_TYPE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_DATA_TYPE = 901;
    /** {@code CUDNN_ATTR_TENSOR_DIMENSIONS} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_DIMENSIONS = 902;
    /** {@code CUDNN_ATTR_TENSOR_STRIDES} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_STRIDES = 903;
    /** {@code CUDNN_ATTR_TENSOR_UNIQUE_ID} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_UNIQUE_ID = 906;
    /** {@code CUDNN_ATTR_TENSOR_IS_VIRTUAL} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_IS_VIRTUAL = 907;
    /** {@code CUDNN_ATTR_TENSOR_IS_BY_VALUE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_TENSOR_IS_BY_VALUE = 908;
    /** {@code CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS = 1000;
    /** {@code CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS = 1001;
    /** {@code CUDNN_ATTR_VARIANT_PACK_WORKSPACE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_VARIANT_PACK_WORKSPACE = 1003;
    /** {@code CUDNN_ATTR_MATMUL_COMP_TYPE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_MATMUL_COMP_TYPE = 1500;
    /** {@code CUDNN_ATTR_OPERATION_MATMUL_ADESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_MATMUL_ADESC = 1520;
    /** {@code CUDNN_ATTR_OPERATION_MATMUL_BDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_MATMUL_BDESC = 1521;
    /** {@code CUDNN_ATTR_OPERATION_MATMUL_CDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_MATMUL_CDESC = 1522;
    /** {@code CUDNN_ATTR_OPERATION_MATMUL_DESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_MATMUL_DESC = 1523;
    /** {@code CUDNN_ATTR_REDUCTION_OPERATOR} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_REDUCTION_OPERATOR = 1600;
    /** {@code CUDNN_ATTR_REDUCTION_COMP_TYPE} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_REDUCTION_COMP_TYPE = 1601;
    /** {@code CUDNN_ATTR_OPERATION_REDUCTION_XDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_REDUCTION_XDESC = 1610;
    /** {@code CUDNN_ATTR_OPERATION_REDUCTION_YDESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_REDUCTION_YDESC = 1611;
    /** {@code CUDNN_ATTR_OPERATION_REDUCTION_DESC} ({@code cudnnBackendAttributeName_t}). */
    public static final int CUDNN_ATTR_OPERATION_REDUCTION_DESC = 1612;

    /** The binding of {@code cudnnGetVersion}. */
    public static final NativeFunction cudnnGetVersion$FUNC = new NativeFunction("cudnnGetVersion",
            FunctionDescriptor.of(ValueLayout.JAVA_LONG),
            "size_t cudnnGetVersion(void);");

    /** The binding of {@code cudnnGetErrorString}. */
    public static final NativeFunction cudnnGetErrorString$FUNC = new NativeFunction("cudnnGetErrorString",
            FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
            "const char *cudnnGetErrorString(cudnnStatus_t status);");

    /** The binding of {@code cudnnCreate}. */
    public static final NativeFunction cudnnCreate$FUNC = new NativeFunction("cudnnCreate",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnCreate(cudnnHandle_t *handle);");

    /** The binding of {@code cudnnDestroy}. */
    public static final NativeFunction cudnnDestroy$FUNC = new NativeFunction("cudnnDestroy",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnDestroy(cudnnHandle_t handle);");

    /** The binding of {@code cudnnSetStream}. */
    public static final NativeFunction cudnnSetStream$FUNC = new NativeFunction("cudnnSetStream",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId);");

    /** The binding of {@code cudnnBackendCreateDescriptor}. */
    public static final NativeFunction cudnnBackendCreateDescriptor$FUNC = new NativeFunction("cudnnBackendCreateDescriptor",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType, cudnnBackendDescriptor_t *descriptor);");

    /** The binding of {@code cudnnBackendDestroyDescriptor}. */
    public static final NativeFunction cudnnBackendDestroyDescriptor$FUNC = new NativeFunction("cudnnBackendDestroyDescriptor",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor);");

    /** The binding of {@code cudnnBackendFinalize}. */
    public static final NativeFunction cudnnBackendFinalize$FUNC = new NativeFunction("cudnnBackendFinalize",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor);");

    /** The binding of {@code cudnnBackendSetAttribute}. */
    public static final NativeFunction cudnnBackendSetAttribute$FUNC = new NativeFunction("cudnnBackendSetAttribute",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t attributeName, cudnnBackendAttributeType_t attributeType, int64_t elementCount, const void *arrayOfElements);");

    /** The binding of {@code cudnnBackendGetAttribute}. */
    public static final NativeFunction cudnnBackendGetAttribute$FUNC = new NativeFunction("cudnnBackendGetAttribute",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor, cudnnBackendAttributeName_t attributeName, cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount, int64_t *elementCount, void *arrayOfElements);");

    /** The binding of {@code cudnnBackendExecute}. */
    public static final NativeFunction cudnnBackendExecute$FUNC = new NativeFunction("cudnnBackendExecute",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.ADDRESS),
            "cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack);");

    /** Every function bound here, in slot order. */
    public static final List<NativeFunction> FUNCTIONS = List.of(
            cudnnGetVersion$FUNC,
            cudnnGetErrorString$FUNC,
            cudnnCreate$FUNC,
            cudnnDestroy$FUNC,
            cudnnSetStream$FUNC,
            cudnnBackendCreateDescriptor$FUNC,
            cudnnBackendDestroyDescriptor$FUNC,
            cudnnBackendFinalize$FUNC,
            cudnnBackendSetAttribute$FUNC,
            cudnnBackendGetAttribute$FUNC,
            cudnnBackendExecute$FUNC);

    private final LinkedLibrary library;
    private final FunctionSlots slots;

    /** Bindings over the loaded {@code libcudnn.so.9}. */
    public CuDnn(LinkedLibrary library) {
        if (library == null) {
            throw new IllegalArgumentException("CuDnn: library is null");
        }
        this.library = library;
        this.slots = new FunctionSlots(library, FUNCTIONS);
    }

    /** The loaded library these bindings call. */
    public LinkedLibrary library() {
        return library;
    }

    /**
     * Throws a {@link NativeCallException} naming {@code call}, the status and {@code cudnnGetErrorString}'s
     * description unless {@code status} is {@link #CUDNN_STATUS_SUCCESS}.
     */
    public void check(String call, int status) {
        if (status != CUDNN_STATUS_SUCCESS) {
            throw new NativeCallException(call, status, errorString(status));
        }
    }

    /** {@code cudnnGetErrorString(status)} as a Java string. */
    public String errorString(int status) {
        MemorySegment s = cudnnGetErrorString(status);
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }


    /** {@code size_t cudnnGetVersion(void);} */
    public long cudnnGetVersion() {
        try {
            return (long) slots.handle(0, cudnnGetVersion$FUNC).invokeExact();
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnGetVersion$FUNC, t);
        }
    }

    /** {@code const char *cudnnGetErrorString(cudnnStatus_t status);} */
    public MemorySegment cudnnGetErrorString(int status) {
        try {
            return (MemorySegment) slots.handle(1, cudnnGetErrorString$FUNC).invokeExact(status);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnGetErrorString$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnCreate(cudnnHandle_t *handle);} */
    public int cudnnCreate(MemorySegment handle) {
        try {
            return (int) slots.handle(2, cudnnCreate$FUNC).invokeExact(handle);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnCreate$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnDestroy(cudnnHandle_t handle);} */
    public int cudnnDestroy(MemorySegment handle) {
        try {
            return (int) slots.handle(3, cudnnDestroy$FUNC).invokeExact(handle);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnDestroy$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnSetStream(cudnnHandle_t handle, cudaStream_t streamId);} */
    public int cudnnSetStream(MemorySegment handle, MemorySegment stream) {
        try {
            return (int) slots.handle(4, cudnnSetStream$FUNC).invokeExact(handle, stream);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnSetStream$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType, cudnnBackendDescriptor_t *descriptor);} */
    public int cudnnBackendCreateDescriptor(int descriptorType, MemorySegment descriptor) {
        try {
            return (int) slots.handle(5, cudnnBackendCreateDescriptor$FUNC).invokeExact(descriptorType, descriptor);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnBackendCreateDescriptor$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor);} */
    public int cudnnBackendDestroyDescriptor(MemorySegment descriptor) {
        try {
            return (int) slots.handle(6, cudnnBackendDestroyDescriptor$FUNC).invokeExact(descriptor);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnBackendDestroyDescriptor$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor);} */
    public int cudnnBackendFinalize(MemorySegment descriptor) {
        try {
            return (int) slots.handle(7, cudnnBackendFinalize$FUNC).invokeExact(descriptor);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnBackendFinalize$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t attributeName, cudnnBackendAttributeType_t attributeType, int64_t elementCount, const void *arrayOfElements);} */
    public int cudnnBackendSetAttribute(MemorySegment descriptor, int attributeName, int attributeType, long elementCount, MemorySegment arrayOfElements) {
        try {
            return (int) slots.handle(8, cudnnBackendSetAttribute$FUNC).invokeExact(descriptor, attributeName, attributeType, elementCount, arrayOfElements);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnBackendSetAttribute$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor, cudnnBackendAttributeName_t attributeName, cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount, int64_t *elementCount, void *arrayOfElements);} */
    public int cudnnBackendGetAttribute(MemorySegment descriptor, int attributeName, int attributeType, long requestedElementCount, MemorySegment elementCount, MemorySegment arrayOfElements) {
        try {
            return (int) slots.handle(9, cudnnBackendGetAttribute$FUNC).invokeExact(descriptor, attributeName, attributeType, requestedElementCount, elementCount, arrayOfElements);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnBackendGetAttribute$FUNC, t);
        }
    }

    /** {@code cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan, cudnnBackendDescriptor_t variantPack);} */
    public int cudnnBackendExecute(MemorySegment handle, MemorySegment executionPlan, MemorySegment variantPack) {
        try {
            return (int) slots.handle(10, cudnnBackendExecute$FUNC).invokeExact(handle, executionPlan, variantPack);
        } catch (Throwable t) {
            throw FunctionSlots.rethrow(cudnnBackendExecute$FUNC, t);
        }
    }
}
