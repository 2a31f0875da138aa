package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeFunction;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The exported-symbol check over a fake driver that exports exactly what the real one does for these calls. */
class CudaSymbolCheckTest {
    @TempDir
    Path dir;

    @Test
    void everyDriverSymbolIsExportedByTheFakeAndAMissingOneIsReported() {
        FakeLibraries.assumeGcc();
        LinkedLibrary lib = LinkedLibrary.load(FakeLibraries.driver(dir).toString());
        List<CudaSymbolCheck.Row> rows = CudaSymbolCheck.check(CudaBindingTables.named("CUDA driver"), lib);
        assertEquals(CudaDriver.FUNCTIONS.size(), rows.size());
        for (CudaSymbolCheck.Row r : rows) {
            assertTrue(r.exported(), r.toString());
        }
        BindingTable unversioned = new BindingTable("unversioned", List.of(new NativeFunction("cuDeviceTotalMem",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                "CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)")), Map.of(), CudaLibrary.DRIVER,
                List.of("cuda.h"), null);
        CudaSymbolCheck.Row missing = CudaSymbolCheck.check(unversioned, lib).getFirst();
        assertFalse(missing.exported());
        assertEquals("cuDeviceTotalMem", missing.symbol());
    }
}
