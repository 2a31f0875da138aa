package io.leviathan.tensor;

/** Where a tensor's memory lives. Only host memory can be read element by element from Java. */
public enum Device {
    /** Host (CPU) memory: native, off-heap, directly addressable. */
    CPU,
    /** CUDA device memory, owned by the CUDA backend; not addressable from Java. */
    CUDA
}
