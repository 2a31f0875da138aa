package io.leviathan.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * An n-dimensional array over native memory. A tensor is a view: a base {@link MemorySegment}, an element
 * offset, a shape and strides (in elements). {@link #reshape}, {@link #transpose}, {@link #narrow},
 * {@link #slice} and {@link #select} return new views over the same memory without copying.
 *
 * <p>Memory belongs to the {@link TensorArena} that allocated it; every view dies with that arena. Using a
 * tensor after its arena is closed throws {@link TensorClosedException}. Tensors are not thread-safe for
 * concurrent writes to overlapping elements; kernels partition their outputs.
 */
public final class Tensor {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    private final TensorArena owner;
    private final MemorySegment base;
    private final long offset;
    private final long[] shape;
    private final long[] strides;
    private final DType dtype;
    private final long numel;
    private final String name;           // for messages; null when unnamed
    private MemorySegment slice;         // this view's memory when contiguous, made once: kernels ask every call

    Tensor(TensorArena owner, MemorySegment base, long offset, DType dtype, long[] shape, long[] strides) {
        this(owner, base, offset, dtype, shape, strides, null);
    }

    private Tensor(TensorArena owner, MemorySegment base, long offset, DType dtype, long[] shape, long[] strides,
                   String name) {
        this.name = name;
        this.owner = owner;
        this.base = base;
        this.offset = offset;
        this.dtype = dtype;
        this.shape = shape;
        this.strides = strides;
        this.numel = numel(shape);
    }

    static long numel(long[] shape) {
        long n = 1;
        for (long d : shape) {
            n = Math.multiplyExact(n, d);
        }
        return n;
    }

    static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= shape[i];
        }
        return s;
    }

    // ---- facts ----

    /** The element type. */
    public DType dtype() {
        return dtype;
    }

    /** Where the memory lives. */
    public Device device() {
        return owner.device();
    }

    /** The number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** A copy of the shape. */
    public long[] shape() {
        return shape.clone();
    }

    /** The size of dimension {@code dim}; negative {@code dim} counts from the end. */
    public long size(int dim) {
        return shape[normDim(dim, "size")];
    }

    /** True when {@code other} has this tensor's shape (compared without copying either). */
    public boolean sameShape(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    /** True when the shape is {@code expected}. */
    public boolean hasShape(long... expected) {
        return Arrays.equals(shape, expected);
    }

    /** True when {@code rows} has this tensor's shape without its last dimension (per-row statistics). */
    public boolean isRowsOf(Tensor rows) {
        return shape.length >= 1 && Arrays.equals(shape, 0, shape.length - 1, rows.shape, 0, rows.shape.length);
    }

    /** A copy of the strides, in elements. */
    public long[] strides() {
        return strides.clone();
    }

    /** The number of elements. */
    public long numel() {
        return numel;
    }

    /** The size in bytes of the elements this view covers. */
    public long byteSize() {
        return numel * dtype.byteSize();
    }

    /** True when the elements are laid out row-major with no gaps, so {@link #segment()} is valid. */
    public boolean isContiguous() {
        long expected = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != expected) {
                return false;
            }
            expected *= shape[i];
        }
        return true;
    }

    /** True when the memory is a read-only file mapping. */
    public boolean isReadOnly() {
        return base.isReadOnly();
    }

    /** The name given by {@link #named}, or null. Views keep the name of the tensor they view. */
    public String name() {
        return name;
    }

    /** The same view under {@code name}, which error messages use (parameters carry their model names). */
    public Tensor named(String name) {
        return new Tensor(owner, base, offset, dtype, shape, strides, name);
    }

    /** True when Java code may read and write the elements directly (see {@link Allocator#hostAccessible()}). */
    public boolean isHostAccessible() {
        return owner.hostAccessible();
    }

    /** The arena that owns this tensor's memory. */
    public TensorArena arena() {
        return owner;
    }

    /** True while the owning arena is open. */
    public boolean isAlive() {
        return owner.isOpen();
    }

    /**
     * The memory of a contiguous tensor, exactly {@link #byteSize()} bytes starting at its first element.
     * This is the zero-copy bridge to host code and native libraries that read host memory.
     *
     * @throws IllegalStateException if the tensor is not contiguous, or its memory is not host accessible
     *     (device memory: download it through the backend)
     */
    public MemorySegment segment() {
        checkAlive("segment");
        requireHost("segment");
        return contiguousSlice("segment");
    }

    /**
     * The memory of a contiguous tensor for a backend's kernels: the host segment, or for device memory a
     * segment carrying the device address. Only a key the owning allocator grants opens it.
     *
     * @throws IllegalStateException if the tensor is not contiguous, or {@code key} does not open its memory
     */
    public MemorySegment segment(MemoryKey key) {
        checkAlive("segment");
        if (!owner.allocator().grants(key)) {
            throw new IllegalArgumentException(describe() + " lives on " + owner.allocator().location()
                    + ", which " + key + " cannot address; the backend that owns it must run this operation");
        }
        return contiguousSlice("segment");
    }

    private MemorySegment contiguousSlice(String op) {
        MemorySegment s = slice; // a benign race: every thread computes the same immutable slice
        if (s == null) {
            if (!isContiguous()) {
                throw new IllegalStateException(op + "(): " + this + " is not contiguous; copy it with contiguous(arena) first");
            }
            s = base.asSlice(offset * dtype.byteSize(), byteSize());
            slice = s;
        }
        return s;
    }

    /** Throws {@link TensorClosedException} naming {@code op} if the owning arena is closed. */
    public void checkAlive(String op) {
        if (!owner.isOpen()) {
            throw new TensorClosedException(op + ": " + describe() + " was used after its arena was closed");
        }
    }

    // ---- views ----

    /**
     * A view with a new shape over the same elements; one dimension may be {@code -1} and is inferred.
     *
     * @throws IllegalStateException if this view is not contiguous
     * @throws ShapeMismatchException if the element counts differ
     */
    public Tensor reshape(long... newShape) {
        checkAlive("reshape");
        long[] s = newShape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < s.length; i++) {
            if (s[i] == -1) {
                if (infer >= 0) {
                    throw new ShapeMismatchException("reshape: more than one -1 in " + Arrays.toString(newShape));
                }
                infer = i;
            } else if (s[i] < 0) {
                throw new ShapeMismatchException("reshape: negative dimension in " + Arrays.toString(newShape));
            } else {
                known *= s[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || numel % known != 0) {
                throw new ShapeMismatchException("reshape: cannot infer -1 in " + Arrays.toString(newShape)
                        + " from shape " + Arrays.toString(shape));
            }
            s[infer] = numel / known;
        }
        if (numel(s) != numel) {
            throw new ShapeMismatchException("reshape: shape " + Arrays.toString(shape) + " (" + numel
                    + " elements) cannot become " + Arrays.toString(newShape));
        }
        if (!isContiguous()) {
            throw new IllegalStateException("reshape: " + this + " is not contiguous; copy it with contiguous(arena) first");
        }
        return new Tensor(owner, base, offset, dtype, s, contiguousStrides(s), name);
    }

    /** A view with dimensions {@code d0} and {@code d1} swapped (no copy). */
    public Tensor transpose(int d0, int d1) {
        checkAlive("transpose");
        int a = normDim(d0, "transpose");
        int b = normDim(d1, "transpose");
        long[] s = shape.clone();
        long[] st = strides.clone();
        s[a] = shape[b];
        s[b] = shape[a];
        st[a] = strides[b];
        st[b] = strides[a];
        return new Tensor(owner, base, offset, dtype, s, st, name);
    }

    /** A view of {@code length} entries of dimension {@code dim} starting at {@code start}. */
    public Tensor narrow(int dim, long start, long length) {
        checkAlive("narrow");
        int d = normDim(dim, "narrow");
        if (start < 0 || length < 0 || start + length > shape[d]) {
            throw new IndexOutOfBoundsException("narrow: range [" + start + ", " + (start + length)
                    + ") out of bounds for dimension " + d + " of shape " + Arrays.toString(shape));
        }
        long[] s = shape.clone();
        s[d] = length;
        return new Tensor(owner, base, offset + start * strides[d], dtype, s, strides.clone(), name);
    }

    /** Rows {@code [start, end)} of dimension 0. */
    public Tensor slice(long start, long end) {
        return narrow(0, start, end - start);
    }

    /** The view at {@code index} of dimension {@code dim}, with that dimension removed. */
    public Tensor select(int dim, long index) {
        checkAlive("select");
        int d = normDim(dim, "select");
        if (index < 0 || index >= shape[d]) {
            throw new IndexOutOfBoundsException("select: index " + index + " out of bounds for dimension " + d
                    + " of shape " + Arrays.toString(shape));
        }
        long[] s = new long[shape.length - 1];
        long[] st = new long[shape.length - 1];
        for (int i = 0, j = 0; i < shape.length; i++) {
            if (i != d) {
                s[j] = shape[i];
                st[j++] = strides[i];
            }
        }
        return new Tensor(owner, base, offset + index * strides[d], dtype, s, st, name);
    }

    /** This tensor if contiguous, otherwise a contiguous copy allocated from {@code arena}. */
    public Tensor contiguous(TensorArena arena) {
        if (isContiguous()) {
            checkAlive("contiguous");
            return this;
        }
        Tensor t = arena.allocate(dtype, shape);
        t.copyFrom(this);
        return t;
    }

    // ---- element access ----

    /** The element at {@code index} as a float (F32 or BF16). */
    public float getFloat(long... index) {
        long e = elementOffset("getFloat", index);
        return readFloat(e);
    }

    /** Stores {@code value} at {@code index} (F32, or BF16 rounded to nearest even). */
    public void setFloat(float value, long... index) {
        long e = elementOffset("setFloat", index);
        checkWritable("setFloat");
        writeFloat(e, value);
    }

    /** The I32 element at {@code index}. */
    public int getInt(long... index) {
        requireDType("getInt", DType.I32);
        return base.get(I32, elementOffset("getInt", index) * 4);
    }

    /** Stores an I32 {@code value} at {@code index}. */
    public void setInt(int value, long... index) {
        requireDType("setInt", DType.I32);
        long e = elementOffset("setInt", index);
        checkWritable("setInt");
        base.set(I32, e * 4, value);
    }

    /** The elements in row-major order as floats (F32 or BF16). */
    public float[] toFloatArray() {
        checkAlive("toFloatArray");
        requireHost("toFloatArray");
        requireFloating("toFloatArray");
        float[] out = new float[Math.toIntExact(numel)];
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(base, F32, offset * 4, out, 0, out.length);
            return out;
        }
        ElementCursor c = new ElementCursor(shape, strides, offset);
        for (int i = 0; i < out.length; i++) {
            out[i] = readFloat(c.next());
        }
        return out;
    }

    /** The I32 elements in row-major order. */
    public int[] toIntArray() {
        checkAlive("toIntArray");
        requireHost("toIntArray");
        requireDType("toIntArray", DType.I32);
        int[] out = new int[Math.toIntExact(numel)];
        if (isContiguous()) {
            MemorySegment.copy(base, I32, offset * 4, out, 0, out.length);
            return out;
        }
        ElementCursor c = new ElementCursor(shape, strides, offset);
        for (int i = 0; i < out.length; i++) {
            out[i] = base.get(I32, c.next() * 4);
        }
        return out;
    }

    /** Overwrites the elements, in row-major order, from {@code data} (F32, or BF16 rounded). */
    public Tensor copyFrom(float[] data) {
        checkAlive("copyFrom");
        requireHost("copyFrom");
        requireFloating("copyFrom");
        checkWritable("copyFrom");
        if (data.length != numel) {
            throw new ShapeMismatchException("copyFrom: array of " + data.length + " floats for " + describe());
        }
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment.copy(data, 0, base, F32, offset * 4, data.length);
            return this;
        }
        ElementCursor c = new ElementCursor(shape, strides, offset);
        for (float v : data) {
            writeFloat(c.next(), v);
        }
        return this;
    }

    /** Overwrites the I32 elements, in row-major order, from {@code data}. */
    public Tensor copyFrom(int[] data) {
        checkAlive("copyFrom");
        requireHost("copyFrom");
        requireDType("copyFrom", DType.I32);
        checkWritable("copyFrom");
        if (data.length != numel) {
            throw new ShapeMismatchException("copyFrom: array of " + data.length + " ints for " + describe());
        }
        if (isContiguous()) {
            MemorySegment.copy(data, 0, base, I32, offset * 4, data.length);
            return this;
        }
        ElementCursor c = new ElementCursor(shape, strides, offset);
        for (int v : data) {
            base.set(I32, c.next() * 4, v);
        }
        return this;
    }

    /**
     * Copies {@code src} into this tensor element by element (any strides). Shapes must match; F32 and
     * BF16 convert into each other, I32 only copies to I32.
     */
    public Tensor copyFrom(Tensor src) {
        checkAlive("copyFrom");
        src.checkAlive("copyFrom");
        requireHost("copyFrom");
        src.requireHost("copyFrom");
        checkWritable("copyFrom");
        if (!Arrays.equals(shape, src.shape)) {
            throw new ShapeMismatchException("copyFrom: source shape " + Arrays.toString(src.shape)
                    + " differs from destination shape " + Arrays.toString(shape));
        }
        if ((dtype == DType.I32) != (src.dtype == DType.I32)) {
            throw new IllegalArgumentException("copyFrom: cannot copy " + src.dtype + " into " + dtype);
        }
        if (dtype == src.dtype && isContiguous() && src.isContiguous()) {
            MemorySegment.copy(src.base, src.offset * dtype.byteSize(), base, offset * dtype.byteSize(), byteSize());
            return this;
        }
        ElementCursor d = new ElementCursor(shape, strides, offset);
        ElementCursor s = new ElementCursor(src.shape, src.strides, src.offset);
        for (long i = 0; i < numel; i++) {
            long de = d.next();
            long se = s.next();
            if (dtype == DType.I32) {
                base.set(I32, de * 4, src.base.get(I32, se * 4));
            } else {
                writeFloat(de, src.readFloat(se));
            }
        }
        return this;
    }

    /** Sets every element to {@code value} (floating types). */
    public Tensor fill(float value) {
        checkAlive("fill");
        requireHost("fill");
        requireFloating("fill");
        checkWritable("fill");
        if (dtype == DType.F32 && isContiguous()) {
            MemorySegment seg = segment();
            for (long i = 0; i < numel; i++) {
                seg.setAtIndex(F32, i, value);
            }
            return this;
        }
        ElementCursor c = new ElementCursor(shape, strides, offset);
        for (long i = 0; i < numel; i++) {
            writeFloat(c.next(), value);
        }
        return this;
    }

    /** Sets every byte of a contiguous tensor to zero (0.0 for floating types, 0 for I32). */
    public Tensor zero() {
        checkAlive("zero");
        requireHost("zero");
        checkWritable("zero");
        segment().fill((byte) 0);
        return this;
    }

    // ---- checks used by operations ----

    /** Throws unless the dtype is {@code expected}, naming the operation and argument. */
    public Tensor requireDType(String op, DType expected) {
        if (dtype != expected) {
            throw new IllegalArgumentException(op + ": expected " + expected + " but got " + describe());
        }
        return this;
    }

    private void requireFloating(String op) {
        if (!dtype.isFloating()) {
            throw new IllegalArgumentException(op + ": expected F32 or BF16 but got " + describe());
        }
    }

    private void requireHost(String op) {
        if (!owner.hostAccessible()) {
            throw new IllegalStateException(op + ": tensor " + describe() + " lives on "
                    + owner.allocator().location() + "; download it first (Backend.download)");
        }
    }

    private void checkWritable(String op) {
        if (base.isReadOnly()) {
            throw new IllegalStateException(op + ": " + describe() + " is a read-only file mapping");
        }
    }

    private int normDim(int dim, String op) {
        int d = dim < 0 ? dim + shape.length : dim;
        if (d < 0 || d >= shape.length) {
            throw new IndexOutOfBoundsException(op + ": dimension " + dim + " out of range for shape "
                    + Arrays.toString(shape));
        }
        return d;
    }

    private long elementOffset(String op, long[] index) {
        checkAlive(op);
        requireHost(op);
        if (index.length != shape.length) {
            throw new IndexOutOfBoundsException(op + ": index " + Arrays.toString(index) + " has " + index.length
                    + " coordinates but shape " + Arrays.toString(shape) + " has " + shape.length);
        }
        long e = offset;
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i]) {
                throw new IndexOutOfBoundsException(op + ": index " + Arrays.toString(index)
                        + " out of range for shape " + Arrays.toString(shape));
            }
            e += index[i] * strides[i];
        }
        return e;
    }

    private float readFloat(long element) {
        return switch (dtype) {
            case F32 -> base.get(F32, element * 4);
            case BF16 -> Bf16.toFloat(base.get(BF16, element * 2));
            case I32 -> throw new IllegalArgumentException("expected F32 or BF16 but got " + describe());
        };
    }

    private void writeFloat(long element, float v) {
        switch (dtype) {
            case F32 -> base.set(F32, element * 4, v);
            case BF16 -> base.set(BF16, element * 2, Bf16.fromFloat(v));
            case I32 -> throw new IllegalArgumentException("expected F32 or BF16 but got " + describe());
        }
    }

    /** A short description: the name when there is one, dtype and shape. */
    public String describe() {
        return (name == null ? "" : name + " ") + dtype + Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return "Tensor[" + dtype + ", shape=" + Arrays.toString(shape)
                + (isContiguous() ? "" : ", strides=" + Arrays.toString(strides))
                + (name == null ? "" : ", " + name) + ", " + owner.allocator().location() + (owner.isOpen() ? "" : ", closed") + "]";
    }

    /** Walks element offsets of a strided view in row-major order without allocating per element. */
    private static final class ElementCursor {
        private final long[] shape;
        private final long[] strides;
        private final long[] idx;
        private long current;
        private boolean started;

        ElementCursor(long[] shape, long[] strides, long offset) {
            this.shape = shape;
            this.strides = strides;
            this.idx = new long[shape.length];
            this.current = offset;
        }

        long next() {
            if (!started) {
                started = true;
                return current;
            }
            for (int d = shape.length - 1; d >= 0; d--) {
                idx[d]++;
                current += strides[d];
                if (idx[d] < shape[d]) {
                    return current;
                }
                current -= strides[d] * shape[d];
                idx[d] = 0;
            }
            return current;
        }
    }
}
