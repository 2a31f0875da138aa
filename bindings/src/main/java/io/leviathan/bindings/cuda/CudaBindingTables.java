package io.leviathan.bindings.cuda;

import java.util.List;
import java.util.Map;

/** Every CUDA binding class, one line each, for the ABI checks ({@link CudaHeaderCheck}, {@link CudaSymbolCheck}). */
public final class CudaBindingTables {
    private CudaBindingTables() {}

    /** The tables in the order the checks report them. */
    public static final List<BindingTable> ALL = List.of(
            new BindingTable("CUDA driver", CudaDriver.FUNCTIONS, BindingTable.constantsOf(CudaDriver.class),
                    CudaLibrary.DRIVER, List.of("cuda.h"), "org.bytedeco.cuda.global.cudart"),
            new BindingTable("Leviathan CUDA library (probe)", List.of(CudaProbe.lv_abi_version),
                    Map.of("LV_ABI_VERSION", (long) CudaProbe.LV_ABI_VERSION),
                    CudaLibrary.LEVIATHAN, List.of("leviathan_cuda.h"), null),
            new BindingTable("Leviathan CUDA library", LeviathanCuda.FUNCTIONS,
                    BindingTable.constantsOf(LeviathanCuda.class), CudaLibrary.LEVIATHAN,
                    List.of("leviathan_cuda.h"), null),
            new BindingTable("cuBLASLt", CuBlasLt.FUNCTIONS, BindingTable.constantsOf(CuBlasLt.class),
                    CudaLibrary.CUBLAS_LT, List.of("cublasLt.h"), "org.bytedeco.cuda.global.cublas"),
            new BindingTable("cuBLAS", CuBlas.FUNCTIONS, BindingTable.constantsOf(CuBlas.class),
                    CudaLibrary.CUBLAS, List.of("cublas_v2.h"), "org.bytedeco.cuda.global.cublas"),
            new BindingTable("cuDNN", CuDnn.FUNCTIONS, BindingTable.constantsOf(CuDnn.class),
                    CudaLibrary.CUDNN, List.of("cudnn.h"), "org.bytedeco.cuda.global.cudnn"));

    /** The table called {@code name}. */
    public static BindingTable named(String name) {
        return ALL.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow(
                () -> new IllegalArgumentException("no binding table '" + name + "'; tables: "
                        + ALL.stream().map(BindingTable::name).toList()));
    }
}
