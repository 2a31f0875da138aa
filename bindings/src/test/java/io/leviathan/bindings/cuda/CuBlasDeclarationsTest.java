package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The cuBLAS, cuBLASLt and cuDNN binding tables are consistent with their own C declarations: each declaration parses,
 * names the symbol it binds, and its parameter types map to the descriptor's layouts (enums and {@code int}
 * to JAVA_INT; {@code size_t}, {@code int64_t}, {@code uint64_t} and {@code long long} to JAVA_LONG; handles,
 * descriptors, streams, arrays and pointers to ADDRESS). Whether the declarations match NVIDIA's headers is
 * checked where those headers exist (the GPU machine); the enum values are the CUDA 13 ones recorded in
 * {@link CuBlas}, {@link CuBlasLt} and {@link CuDnn}.
 */
class CuBlasDeclarationsTest {
    private static final Set<String> INT_TYPES = Set.of("int", "cublasStatus_t", "cublasOperation_t",
            "cudaDataType", "cudaDataType_t", "cublasComputeType_t", "cublasGemmAlgo_t", "cublasMath_t",
            "cublasLtMatmulDescAttributes_t", "cublasLtMatrixLayoutAttribute_t", "cublasLtMatmulPreferenceAttributes_t",
            "cudnnStatus_t", "cudnnBackendDescriptorType_t", "cudnnBackendAttributeName_t", "cudnnBackendAttributeType_t");
    private static final Set<String> LONG_TYPES = Set.of("size_t", "int64_t", "uint64_t", "long long int");
    private static final Set<String> HANDLE_TYPES = Set.of("cublasHandle_t", "cudaStream_t", "cublasLtHandle_t",
            "cublasLtMatmulDesc_t", "cublasLtMatrixLayout_t", "cublasLtMatmulPreference_t", "cudnnHandle_t",
            "cudnnBackendDescriptor_t");

    static MemoryLayout layoutOf(String cType, boolean array) {
        String t = (" " + cType + " ").replace(" const ", " ").trim();
        if (array || t.contains("*") || HANDLE_TYPES.contains(t)) {
            return ValueLayout.ADDRESS;
        }
        if (INT_TYPES.contains(t)) {
            return ValueLayout.JAVA_INT;
        }
        if (LONG_TYPES.contains(t)) {
            return ValueLayout.JAVA_LONG;
        }
        throw new AssertionError("no layout for C type '" + cType + "'");
    }

    @Test
    void everyDeclarationMatchesItsDescriptor() {
        List<NativeFunction> all = Stream.of(CuBlas.FUNCTIONS, CuBlasLt.FUNCTIONS, CuDnn.FUNCTIONS)
                .flatMap(List::stream).toList();
        Set<String> symbols = new HashSet<>();
        for (NativeFunction f : all) {
            assertTrue(symbols.add(f.symbol()), f.symbol() + " bound twice");
            String d = f.declaration().replaceAll("\\s+", " ").trim();
            assertTrue(d.endsWith(");"), f.symbol() + ": " + d);
            int open = d.indexOf('(');
            String head = d.substring(0, open).trim();
            String name = head.substring(Math.max(head.lastIndexOf(' '), head.lastIndexOf('*')) + 1);
            assertEquals(f.symbol(), name, "the declaration names the bound symbol");
            String returnType = head.substring(0, head.length() - name.length()).trim();
            assertEquals(layoutOf(returnType, false), f.descriptor().returnLayout().orElseThrow(), name + " return");
            String params = d.substring(open + 1, d.length() - 2).trim();
            List<MemoryLayout> args = f.descriptor().argumentLayouts();
            String[] ps = params.equals("void") ? new String[0] : params.split(",");
            assertEquals(ps.length, args.size(), name + ": parameter count");
            for (int i = 0; i < ps.length; i++) {
                String p = ps[i].trim();
                boolean array = p.endsWith("[]");
                p = array ? p.substring(0, p.length() - 2) : p;
                int cut = Math.max(p.lastIndexOf(' '), p.lastIndexOf('*'));
                String type = p.substring(0, cut + 1).trim();
                assertEquals(layoutOf(type, array), args.get(i), name + " parameter " + i + " (" + ps[i].trim() + ")");
            }
        }
        assertEquals(34, symbols.size());
    }

    @Test
    void cublasGemmArgumentsAreWhereCublasHasThem() {
        // cublasGemmEx: handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, ldc,
        // computeType, algo (19); the strided form adds strideA, strideB, strideC (long long) and batchCount.
        assertEquals(19, CuBlas.cublasGemmEx$FUNC.descriptor().argumentLayouts().size());
        List<MemoryLayout> s = CuBlas.cublasGemmStridedBatchedEx$FUNC.descriptor().argumentLayouts();
        assertEquals(23, s.size());
        assertEquals(ValueLayout.JAVA_LONG, s.get(10));
        assertEquals(ValueLayout.JAVA_LONG, s.get(14));
        assertEquals(ValueLayout.JAVA_LONG, s.get(19));
        assertEquals(ValueLayout.JAVA_INT, s.get(20));
        assertEquals(96, CuBlasLt.HEURISTIC_RESULT.byteSize(), "sizeof(cublasLtMatmulHeuristicResult_t)");
        assertEquals(64, CuBlasLt.ALGO.byteSize(), "sizeof(cublasLtMatmulAlgo_t)");
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment r = a.allocate(CuBlasLt.HEURISTIC_RESULT);
            r.set(ValueLayout.JAVA_LONG, 64, 12345L); // after the 64-byte algo
            r.set(ValueLayout.JAVA_INT, 72, 15);
            assertEquals(12345L, CuBlasLt.heuristicWorkspaceSize(r));
            assertEquals(15, CuBlasLt.heuristicState(r));
        }
    }
}
