package io.leviathan.bindings.cuda;

import java.util.List;
import java.util.Locale;

/**
 * The native libraries the CUDA backend loads, with the file name each is found by and the setting that
 * points at one explicitly: system property {@code leviathan.<id>.path} or environment variable
 * {@code LEVIATHAN_<ID>_PATH}; for our own kernel library {@code leviathan.cuda.library} or
 * {@code LEVIATHAN_CUDA_LIBRARY}.
 */
public enum CudaLibrary {
    /** The CUDA driver, only ever the system's (a toolkit's {@code stubs/libcuda.so} is never picked). */
    DRIVER("libcuda.so.1", "cuda.driver", "libcuda.so."),
    /** cuBLASLt, loaded before cuBLAS, which links against it. */
    CUBLAS_LT("libcublasLt.so.13", "cublaslt", "libcublasLt.so.13"),
    /** cuBLAS. */
    CUBLAS("libcublas.so.13", "cublas", "libcublas.so.13"),
    /** cuDNN 9. */
    CUDNN("libcudnn.so.9", "cudnn", "libcudnn.so.9"),
    /** NCCL 2. */
    NCCL("libnccl.so.2", "nccl", "libnccl.so.2"),
    /** Our kernel library (native/), with the CUDA runtime linked in statically. */
    LEVIATHAN("libleviathan_cuda.so", "cuda.library", "libleviathan_cuda.so");

    /** Class-path resource holding our kernel library for this platform. */
    public static final String LEVIATHAN_RESOURCE = "io/leviathan/cuda/linux-x86_64/libleviathan_cuda.so";

    private final String fileName;
    private final String id;
    private final String loadedPrefix;

    CudaLibrary(String fileName, String id, String loadedPrefix) {
        this.fileName = fileName;
        this.id = id;
        this.loadedPrefix = loadedPrefix;
    }

    /** The versioned file name the system loader knows it by, e.g. {@code libcublas.so.13}. */
    public String fileName() {
        return fileName;
    }

    /** The system property that names its file explicitly. */
    public String property() {
        return this == LEVIATHAN ? "leviathan.cuda.library" : "leviathan." + id + ".path";
    }

    /** The environment variable that names its file explicitly (the property wins when both are set). */
    public String environmentVariable() {
        String base = "LEVIATHAN_" + id.toUpperCase(Locale.ROOT).replace('.', '_');
        return this == LEVIATHAN ? base : base + "_PATH";
    }

    /** Libraries to load first, by absolute path, so the dynamic loader resolves this one's needs to them. */
    public List<CudaLibrary> dependencies() {
        return this == CUBLAS ? List.of(CUBLAS_LT) : List.of();
    }

    /**
     * True when a file of this name, seen in {@code /proc/self/maps}, is this library already loaded. The map
     * shows the real file behind the link ({@code libcuda.so.580.65.06}, {@code libcublas.so.13.1.0.3}).
     */
    boolean isLoadedFile(String name) {
        return name.equals(fileName) || name.startsWith(loadedPrefix.endsWith(".") ? loadedPrefix : loadedPrefix + ".");
    }
}
