package io.leviathan.backend.cuda;

import static io.leviathan.bindings.cuda.CuDnn.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Typed builders over {@link CudnnBackendApi}: tensors, pointwise, matmul and reduction operations, an operation
 * graph, and the setters they share. Every descriptor created here is owned by this object and destroyed, newest
 * first, by {@link #close()}, also when building fails halfway; a finalized execution plan keeps the graph it was
 * built from, so its owner closes them together when the plan is dropped.
 */
final class CudnnDescriptors implements AutoCloseable {
    /**
     * Byte alignment declared for every real tensor: blocks of the caching allocator are 256-byte aligned, and
     * the backend checks each call's addresses before using a plan (a view at an odd offset runs our kernel).
     */
    static final long ALIGNMENT = 16;

    private final CudnnBackendApi api;
    private final Arena arena = Arena.ofShared(); // a plan may be dropped by another thread than built it
    private final List<Long> owned = new ArrayList<>();

    CudnnDescriptors(CudnnBackendApi api) {
        this.api = api;
    }

    CudnnBackendApi api() {
        return api;
    }

    /** A new descriptor of {@code type}, owned here. */
    long create(int type) {
        long d = api.create(type);
        owned.add(d);
        return d;
    }

    void finalizeDescriptor(long d) {
        api.finalizeDescriptor(d);
    }

    // ---------------------------------------------------------------- attribute setters, one per C element type

    void setInt64(long d, int name, long... values) {
        MemorySegment s = arena.allocate(ValueLayout.JAVA_LONG, values.length);
        MemorySegment.copy(values, 0, s, ValueLayout.JAVA_LONG, 0, values.length);
        api.setAttribute(d, name, CUDNN_TYPE_INT64, values.length, s);
    }

    /** A 4-byte enum attribute ({@code cudnnDataType_t}, pointwise mode, reduction operator, heuristic mode). */
    void setEnum(long d, int name, int type, int value) {
        api.setAttribute(d, name, type, 1, arena.allocateFrom(ValueLayout.JAVA_INT, value));
    }

    /** A C {@code bool} attribute (one byte). */
    void setBoolean(long d, int name, boolean value) {
        api.setAttribute(d, name, CUDNN_TYPE_BOOLEAN, 1, arena.allocateFrom(ValueLayout.JAVA_BYTE, (byte) (value ? 1 : 0)));
    }

    /** A {@code CUDNN_TYPE_HANDLE} or {@code CUDNN_TYPE_VOID_PTR} attribute of one pointer. */
    void setPointer(long d, int name, int type, long address) {
        MemorySegment s = arena.allocate(ValueLayout.ADDRESS);
        s.set(ValueLayout.ADDRESS, 0, MemorySegment.ofAddress(address));
        api.setAttribute(d, name, type, 1, s);
    }

    void setDescriptors(long d, int name, long... descriptors) {
        MemorySegment s = arena.allocate(ValueLayout.ADDRESS, descriptors.length);
        for (int i = 0; i < descriptors.length; i++) {
            s.setAtIndex(ValueLayout.ADDRESS, i, MemorySegment.ofAddress(descriptors[i]));
        }
        api.setAttribute(d, name, CUDNN_TYPE_BACKEND_DESCRIPTOR, descriptors.length, s);
    }

    // ---------------------------------------------------------------- tensors

    /** A real tensor: cuDNN reads or writes it through the variant pack's pointer for {@code uid}. */
    long tensor(long uid, int dataType, long[] dims, long[] strides) {
        return tensor(uid, dataType, dims, strides, false, false);
    }

    /** A virtual tensor: an intermediate cuDNN keeps to itself (fused away), with packed strides. */
    long virtualTensor(long uid, int dataType, long... dims) {
        return tensor(uid, dataType, dims, packedStrides(dims), true, false);
    }

    /** A scalar passed by value in the variant pack (the softmax scale, minus infinity), {@code [1,1,1,1]}. */
    long scalar(long uid, int dataType) {
        long[] one = {1, 1, 1, 1};
        return tensor(uid, dataType, one, one, false, true);
    }

    private long tensor(long uid, int dataType, long[] dims, long[] strides, boolean virtual, boolean byValue) {
        long t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
        setEnum(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, dataType);
        setInt64(t, CUDNN_ATTR_TENSOR_DIMENSIONS, dims);
        setInt64(t, CUDNN_ATTR_TENSOR_STRIDES, strides);
        setInt64(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, uid);
        setInt64(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, ALIGNMENT);
        if (virtual) {
            setBoolean(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, true);
        }
        if (byValue) {
            setBoolean(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, true);
        }
        finalizeDescriptor(t);
        return t;
    }

    /** Row-major strides of {@code dims}. */
    static long[] packedStrides(long... dims) {
        long[] s = new long[dims.length];
        long step = 1;
        for (int i = dims.length - 1; i >= 0; i--) {
            s[i] = step;
            step *= dims[i];
        }
        return s;
    }

    // ---------------------------------------------------------------- operations

    /** {@code y = mode(x)} (EXP, LOG). */
    long pointwise(int mode, long x, long y) {
        return pointwiseOp(pointwiseDescriptor(mode, -1), x, 0, 0, y);
    }

    /** {@code y = mode(x, b)} (ADD, SUB, MUL, DIV, CMP_GE), broadcasting size-1 dimensions of {@code b}. */
    long pointwise(int mode, long x, long b, long y) {
        return pointwiseOp(pointwiseDescriptor(mode, -1), x, b, 0, y);
    }

    /** {@code y = t ? x : b}. */
    long select(long x, long b, long t, long y) {
        return pointwiseOp(pointwiseDescriptor(CUDNN_POINTWISE_BINARY_SELECT, -1), x, b, t, y);
    }

    /** {@code y} = each element's index along {@code axis} of {@code x}'s shape. */
    long index(long x, int axis, long y) {
        return pointwiseOp(pointwiseDescriptor(CUDNN_POINTWISE_GEN_INDEX, axis), x, 0, 0, y);
    }

    private long pointwiseDescriptor(int mode, int axis) {
        long pw = create(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
        setEnum(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, mode);
        setEnum(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT);
        if (axis >= 0) {
            setInt64(pw, CUDNN_ATTR_POINTWISE_AXIS, axis);
        }
        finalizeDescriptor(pw);
        return pw;
    }

    private long pointwiseOp(long pw, long x, long b, long t, long y) {
        long op = create(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
        setDescriptors(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
        setDescriptors(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
        if (b != 0) {
            setDescriptors(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, b);
        }
        if (t != 0) {
            setDescriptors(op, CUDNN_ATTR_OPERATION_POINTWISE_TDESC, t);
        }
        setDescriptors(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
        finalizeDescriptor(op);
        return op;
    }

    /** {@code c = a b} over the last two dimensions, batched over the first two, with fp32 accumulation. */
    long matmul(long a, long b, long c) {
        long mm = create(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
        setEnum(mm, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT);
        finalizeDescriptor(mm);
        long op = create(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
        setDescriptors(op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, a);
        setDescriptors(op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, b);
        setDescriptors(op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, c);
        setDescriptors(op, CUDNN_ATTR_OPERATION_MATMUL_DESC, mm);
        finalizeDescriptor(op);
        return op;
    }

    /** {@code y = reduce(x)} over the dimensions where {@code y} has size 1 ({@code ADD} or {@code MAX}). */
    long reduction(int operator, long x, long y) {
        long r = create(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
        setEnum(r, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, operator);
        setEnum(r, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, CUDNN_DATA_FLOAT);
        finalizeDescriptor(r);
        long op = create(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
        setDescriptors(op, CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x);
        setDescriptors(op, CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y);
        setDescriptors(op, CUDNN_ATTR_OPERATION_REDUCTION_DESC, r);
        finalizeDescriptor(op);
        return op;
    }

    /** The operation graph of {@code ops} on {@code handle}, finalized. */
    long graph(long handle, List<Long> ops) {
        long g = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
        setDescriptors(g, CUDNN_ATTR_OPERATIONGRAPH_OPS, ops.stream().mapToLong(Long::longValue).toArray());
        setPointer(g, CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, handle);
        finalizeDescriptor(g);
        return g;
    }

    /** Destroys {@code d} now (a plan an engine declined) instead of at {@link #close()}. */
    void destroyNow(long d) {
        if (owned.remove(Long.valueOf(d))) {
            api.destroy(d);
        }
    }

    /** Destroys every descriptor still owned, newest first; the first failure is thrown after trying all. */
    @Override
    public void close() {
        AutoCloseable[] steps = new AutoCloseable[owned.size() + 1];
        for (int i = 0; i < owned.size(); i++) {
            long d = owned.get(owned.size() - 1 - i);
            steps[i] = () -> api.destroy(d);
        }
        steps[owned.size()] = arena;
        owned.clear();
        ClosingOrder.closeAll(steps);
    }
}
