package io.leviathan.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Owns the native memory of the tensors it allocates; {@link #close()} frees all of it at once. Use it with
 * try-with-resources:
 *
 * <pre>{@code
 * try (TensorArena arena = new TensorArena()) {
 *     Tensor x = arena.allocate(DType.F32, 4, 8);
 *     ...
 * } // every tensor from this arena is freed here; using one afterwards throws TensorClosedException
 * }</pre>
 *
 * The arena is shared: its tensors may be read and written from any thread (kernels use a thread pool).
 * Allocated bytes are counted in {@link NativeMemory}.
 */
public final class TensorArena implements AutoCloseable {
    /** Allocation alignment in bytes: one cache line, and a full 512-bit vector. */
    public static final long ALIGNMENT = 64;

    private final Allocator allocator;
    private final Allocator.Scope scope;
    private Arena mappings;          // created on the first map(); host arenas only
    private long allocated;
    private long mapped;
    private volatile boolean open = true;

    /** A new arena over host memory that any code may address. */
    public TensorArena() {
        this(Allocator.host());
    }

    /**
     * A new arena over {@code allocator}'s memory. Backends create their arenas this way
     * ({@code Backend.newArena()}); tensors of an arena whose allocator is not host accessible refuse
     * element access from Java and move through the backend's upload and download.
     */
    public TensorArena(Allocator allocator) {
        this.allocator = allocator;
        this.scope = allocator.open();
    }

    /** The device whose memory this arena hands out. */
    public Device device() {
        return allocator.device();
    }

    /** The allocator this arena draws from. */
    public Allocator allocator() {
        return allocator;
    }

    /** True when Java code may read and write this arena's tensors directly. */
    public boolean hostAccessible() {
        return allocator.hostAccessible();
    }

    /** True until {@link #close()}. */
    public boolean isOpen() {
        return open;
    }

    /** Bytes this arena has allocated (mapped files excluded). */
    public synchronized long allocatedBytes() {
        return allocated;
    }

    /** A new zero-filled tensor. */
    public Tensor allocate(DType dtype, long... shape) {
        checkOpen("allocate");
        checkShape("allocate", shape);
        long bytes = Math.multiplyExact(Tensor.numel(shape), dtype.byteSize());
        MemorySegment seg;
        synchronized (this) {
            seg = scope.allocate(Math.max(bytes, 1), ALIGNMENT).asSlice(0, bytes); // zero-filled
            allocated += bytes;
        }
        NativeMemory.allocated(bytes);
        return new Tensor(this, seg, 0, dtype, shape.clone(), Tensor.contiguousStrides(shape));
    }

    /**
     * A new F32 tensor holding {@code data} in row-major order (host-accessible arenas only; on a device
     * arena allocate and use the backend's {@code upload}).
     */
    public Tensor of(float[] data, long... shape) {
        checkShape("of", shape);
        if (Tensor.numel(shape) != data.length) {
            throw new ShapeMismatchException("of: " + data.length + " values do not fill shape " + Arrays.toString(shape));
        }
        return allocate(DType.F32, shape).copyFrom(data);
    }

    /** A new I32 tensor holding {@code data} in row-major order (host-accessible arenas only). */
    public Tensor ofInts(int[] data, long... shape) {
        checkShape("ofInts", shape);
        if (Tensor.numel(shape) != data.length) {
            throw new ShapeMismatchException("ofInts: " + data.length + " values do not fill shape " + Arrays.toString(shape));
        }
        return allocate(DType.I32, shape).copyFrom(data);
    }

    /**
     * A read-only tensor over part of a file, memory-mapped without copying. The mapping lives until this
     * arena closes. Elements are read in little-endian (native) order.
     *
     * @param file the file to map
     * @param dtype the element type stored in the file
     * @param byteOffset where the first element starts in the file
     * @param shape the tensor's shape; the file must hold every element
     */
    public Tensor map(Path file, DType dtype, long byteOffset, long... shape) {
        checkOpen("map");
        checkShape("map", shape);
        if (!allocator.hostAccessible()) {
            throw new IllegalStateException("map: this arena's memory is on " + allocator.location()
                    + "; map files in a host arena (new TensorArena()) and upload them through the backend");
        }
        if (byteOffset < 0) {
            throw new IllegalArgumentException("map: negative byte offset " + byteOffset + " for " + file);
        }
        long bytes = Math.multiplyExact(Tensor.numel(shape), dtype.byteSize());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (byteOffset + bytes > size) {
                throw new IllegalArgumentException("map: " + file + " holds " + size + " bytes, but a " + dtype
                        + Arrays.toString(shape) + " tensor at offset " + byteOffset + " needs "
                        + (byteOffset + bytes));
            }
            MemorySegment seg;
            synchronized (this) {
                if (mappings == null) {
                    mappings = Arena.ofShared();
                }
                seg = ch.map(FileChannel.MapMode.READ_ONLY, byteOffset, bytes, mappings);
                mapped += bytes;
            }
            NativeMemory.mapped(bytes);
            return new Tensor(this, seg, 0, dtype, shape.clone(), Tensor.contiguousStrides(shape));
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException("map: file not found: " + file, e);
        } catch (IOException e) {
            throw new UncheckedIOException("map: cannot read " + file + (Files.isDirectory(file) ? " (a directory)" : "")
                    + ": " + e.getMessage(), e);
        }
    }

    /** Frees every tensor this arena allocated or mapped. Calling it again does nothing. */
    @Override
    public void close() {
        long freed;
        long unmapped;
        synchronized (this) {
            if (!open) {
                return;
            }
            open = false;
            scope.close();
            if (mappings != null) {
                mappings.close();
            }
            freed = allocated;
            unmapped = mapped;
            allocated = 0;
            mapped = 0;
        }
        NativeMemory.allocated(-freed);
        NativeMemory.mapped(-unmapped);
    }

    private void checkOpen(String op) {
        if (!open) {
            throw new TensorClosedException(op + ": this arena is closed");
        }
    }

    private static void checkShape(String op, long[] shape) {
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException(op + ": negative dimension in shape " + Arrays.toString(shape));
            }
        }
    }
}
