package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The binding tables compiled against the real headers ({@code cuda.h} of the installed toolkit and our
 * {@code leviathan_cuda.h}): every table whose headers are here must pass, and a wrong signature, a macro name, a
 * wrong declaration or a wrong constant must fail to compile.
 */
class CudaHeaderCheckTest {
    private static final Path CUDA_INCLUDE = Path.of("/usr/local/cuda/include");
    private static final List<Path> INCLUDES = List.of(CUDA_INCLUDE, Path.of("..", "native", "include"));

    @TempDir
    Path work;

    private static String compiler() {
        String c = CudaHeaderCheck.findCompiler().orElse(null);
        assumeTrue(c != null, "no C++ compiler (c++, g++, clang++, nvcc) on the PATH: header check skipped");
        return c;
    }

    private static void assumeCudaHeader() {
        assumeTrue(Files.isRegularFile(CUDA_INCLUDE.resolve("cuda.h")),
                CUDA_INCLUDE.resolve("cuda.h") + " is absent: header check skipped");
    }

    private CudaHeaderCheck.Result check(BindingTable table) {
        return CudaHeaderCheck.check(table, INCLUDES, compiler(), work);
    }

    @Test
    void everyTableWhoseHeadersAreHerePasses() {
        assumeCudaHeader();
        for (BindingTable t : CudaBindingTables.ALL) {
            CudaHeaderCheck.Result r = check(t);
            System.out.println("header check: " + r.outcome() + " " + t.name() + ": " + r.detail());
            assertTrue(r.outcome() != CudaHeaderCheck.Outcome.FAILED, t.name() + ":\n" + r.detail());
        }
        assertEquals(CudaHeaderCheck.Outcome.PASSED, check(CudaBindingTables.named("CUDA driver")).outcome());
        assertEquals(CudaHeaderCheck.Outcome.PASSED,
                check(CudaBindingTables.named("Leviathan CUDA library (probe)")).outcome());
    }

    private static BindingTable driverTable(NativeFunction f, Map<String, Long> constants) {
        return new BindingTable("wrong " + f.symbol(), List.of(f), constants, CudaLibrary.DRIVER, List.of("cuda.h"), null);
    }

    private void assertFailsWith(BindingTable table, String expected) {
        assumeCudaHeader();
        CudaHeaderCheck.Result r = check(table);
        assertEquals(CudaHeaderCheck.Outcome.FAILED, r.outcome(), r.detail());
        assertTrue(r.detail().contains(expected), "expected '" + expected + "' in:\n" + r.detail());
    }

    @Test
    void aParameterOfTheWrongWidthFails() {
        assertFailsWith(driverTable(new NativeFunction("cuDeviceTotalMem_v2",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                "CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)"), Map.of()),
                "cuDeviceTotalMem_v2: the Java descriptor");
    }

    @Test
    void aMissingParameterFails() {
        assertFailsWith(driverTable(new NativeFunction("cuDeviceGetName",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                "CUresult cuDeviceGetName(char *name, int len, CUdevice dev)"), Map.of()),
                "cuDeviceGetName: the Java descriptor");
    }

    @Test
    void bindingTheNameCudaHRenamesByMacroFails() {
        assertFailsWith(driverTable(new NativeFunction("cuDeviceTotalMem",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                "CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)"), Map.of()),
                "cuDeviceTotalMem is a macro in the header");
    }

    @Test
    void aDeclarationThatDiffersFromTheHeaderFails() {
        assertFailsWith(driverTable(new NativeFunction("cuDeviceGet",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                "CUresult cuDeviceGet(CUdevice *device, unsigned int ordinal)"), Map.of()),
                "cuDeviceGet: the stored declaration");
    }

    @Test
    void aWrongConstantFails() {
        assertFailsWith(driverTable(CudaDriver.cuInit, Map.of("CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR", 74L)),
                "CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: Java has 74");
    }

    @Test
    void aTableWhoseHeaderIsAbsentIsSkippedWithTheReason() {
        BindingTable t = new BindingTable("absent", List.of(CudaDriver.cuInit), Map.of(), CudaLibrary.CUBLAS,
                List.of("no_such_header_here.h"), null);
        CudaHeaderCheck.Result r = CudaHeaderCheck.check(t, INCLUDES, "c++", work);
        assertEquals(CudaHeaderCheck.Outcome.SKIPPED, r.outcome());
        assertTrue(r.detail().startsWith("no_such_header_here.h is in none of"), r.detail());
    }

    @Test
    void declaredNameIsTheIdentifierBeforeTheParameters() {
        assertEquals("cuDeviceTotalMem", BindingTable.declaredName(CudaDriver.cuDeviceTotalMem_v2));
        assertEquals("lv_abi_version", BindingTable.declaredName(CudaProbe.lv_abi_version));
        assertEquals("lv_error_string", BindingTable.declaredName(new NativeFunction("lv_error_string",
                FunctionDescriptor.of(ValueLayout.ADDRESS, ValueLayout.JAVA_INT), "const char *lv_error_string(int status)")));
    }
}
