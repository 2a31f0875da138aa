package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.LinkedLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Library discovery over fake folder trees: the order of the search, what it refuses, and its error message. */
class CudaLibrariesTest {
    @TempDir
    Path root;

    private static Path touch(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        return Files.write(file, new byte[] {1});
    }

    /** A tree with libcublas.so.13 in every place the search looks, each place recognisable by its path. */
    private FakeMachine everywhere() throws IOException {
        FakeMachine m = new FakeMachine(root);
        m.env.put("VIRTUAL_ENV", "/venv");
        m.env.put("CONDA_PREFIX", "/conda");
        m.env.put("CUDA_HOME", "/opt/cuda-home");
        m.pythonSites = List.of("/usr/lib/python3/dist-packages");
        m.systemLoaderKnows.add("libcublas.so.13");
        touch(m.path("/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13"));
        touch(m.path("/conda/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.13"));
        touch(m.path("/usr/lib/python3/dist-packages/nvidia/cu13/lib/libcublas.so.13"));
        touch(m.path("/opt/cuda-home/lib64/libcublas.so.13"));
        touch(m.path("/usr/local/cuda/lib64/libcublas.so.13"));
        touch(m.path("/explicit/libcublas.so.13"));
        touch(m.path("/from-env/libcublas.so.13"));
        return m;
    }

    @Test
    void searchesInTheDocumentedOrderAndTheFirstHitWins() throws IOException {
        FakeMachine m = everywhere();
        m.properties.put("leviathan.cublas.path", "/explicit/libcublas.so.13");
        m.env.put("LEVIATHAN_CUBLAS_PATH", "/from-env/libcublas.so.13");
        CudaLibraries.Located hit = m.libraries().locate(CudaLibrary.CUBLAS);
        assertEquals(m.path("/explicit/libcublas.so.13").toString(), hit.location());
        assertEquals("set by -Dleviathan.cublas.path", hit.source());

        m.properties.clear();
        assertEquals(m.path("/from-env/libcublas.so.13").toString(), m.libraries().locate(CudaLibrary.CUBLAS).location());
        m.env.remove("LEVIATHAN_CUBLAS_PATH");

        List<String> expected = List.of(
                "/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcublas.so.13",
                "/conda/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.13",
                "/usr/lib/python3/dist-packages/nvidia/cu13/lib/libcublas.so.13",
                "/opt/cuda-home/lib64/libcublas.so.13");
        for (String file : expected) {
            assertEquals(m.path(file).toString(), m.libraries().locate(CudaLibrary.CUBLAS).location());
            Files.delete(m.path(file));
        }
        CudaLibraries.Located system = m.libraries().locate(CudaLibrary.CUBLAS);
        assertEquals("libcublas.so.13", system.location(), "the system loader, by versioned name");
        assertEquals("system loader", system.source());
        m.systemLoaderKnows.clear();
        assertEquals(m.path("/usr/local/cuda/lib64/libcublas.so.13").toString(),
                m.libraries().locate(CudaLibrary.CUBLAS).location());
    }

    @Test
    void alreadyLoadedCopyComesBeforeTheWheels() throws IOException {
        FakeMachine m = everywhere();
        Path real = touch(m.path("/somewhere/lib/libcublas.so.13.1.0.3"));
        Files.writeString(touch(m.path("/proc/self/maps")),
                "7f0000000000-7f0000001000 r-xp 00000000 08:01 42 /somewhere/lib/libcublasLt.so.13.1.0.3\n"
                + "7f0000001000-7f0000002000 r-xp 00000000 08:01 43 /somewhere/lib/libcublas.so.13.1.0.3\n");
        CudaLibraries.Located hit = m.libraries().locate(CudaLibrary.CUBLAS);
        assertEquals(real.toString(), hit.location());
        assertEquals("already loaded in this process", hit.source());
    }

    @Test
    void versionedToolkitFoldersAfterTheUnversionedOneNewestFirst() throws IOException {
        FakeMachine m = new FakeMachine(root);
        touch(m.path("/usr/local/cuda-12.8/lib64/libcublas.so.13"));
        touch(m.path("/usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13"));
        assertEquals(m.path("/usr/local/cuda-13.0/targets/x86_64-linux/lib/libcublas.so.13").toString(),
                m.libraries().locate(CudaLibrary.CUBLAS).location());
        touch(m.path("/usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13"));
        assertEquals(m.path("/usr/local/cuda/targets/x86_64-linux/lib/libcublas.so.13").toString(),
                m.libraries().locate(CudaLibrary.CUBLAS).location());
    }

    @Test
    void notFoundListsEveryPlaceTriedInOrder() {
        FakeMachine m = new FakeMachine(root);
        m.env.put("VIRTUAL_ENV", "/venv");
        m.env.put("CUDA_HOME", "/opt/cuda");
        m.pythonSites = List.of("/py/site-packages");
        LibraryNotFoundException e = assertThrows(LibraryNotFoundException.class,
                () -> m.libraries().locate(CudaLibrary.CUDNN));
        String msg = e.getMessage();
        List<String> places = List.of(
                "-Dleviathan.cudnn.path / $LEVIATHAN_CUDNN_PATH (not set)",
                "already loaded in this process",
                "$VIRTUAL_ENV=/venv (no lib/python3*/site-packages)",
                "$CONDA_PREFIX (not set)",
                m.path("/py/site-packages/nvidia/cu13/lib/libcudnn.so.9").toString(),
                m.path("/py/site-packages/nvidia/cudnn/lib/libcudnn.so.9").toString(),
                m.path("/opt/cuda/lib64/libcudnn.so.9").toString(),
                "system loader: libcudnn.so.9",
                m.path("/usr/local/cuda/lib64/libcudnn.so.9").toString(),
                m.path("/usr/local/cuda/targets/x86_64-linux/lib/libcudnn.so.9").toString());
        int at = -1;
        for (String place : places) {
            int next = msg.indexOf(place);
            assertTrue(next > at, "'" + place + "' listed after the previous place in:\n" + msg);
            at = next;
        }
        assertTrue(msg.startsWith("libcudnn.so.9 not found"), msg);
        assertTrue(e.tried().size() >= places.size(), e.tried().toString());
    }

    @Test
    void explicitSettingThatNamesNoFileIsAnErrorNotAFallThrough() throws IOException {
        FakeMachine m = everywhere();
        m.env.put("LEVIATHAN_CUBLAS_PATH", "/nowhere/libcublas.so.13");
        LibraryNotFoundException e = assertThrows(LibraryNotFoundException.class,
                () -> m.libraries().locate(CudaLibrary.CUBLAS));
        assertTrue(e.getMessage().contains("$LEVIATHAN_CUBLAS_PATH=/nowhere/libcublas.so.13 (no such file)"),
                e.getMessage());
    }

    @Test
    void aRelativeSettingIsRelativeToTheWorkingFolder() throws IOException {
        FakeMachine m = new FakeMachine(root);
        Path file = touch(Path.of("target", "relative-setting-" + ProcessHandle.current().pid(), "libnccl.so.2"));
        try {
            m.env.put("LEVIATHAN_NCCL_PATH", file.toString());
            assertEquals(file.toAbsolutePath().toString(), m.libraries().locate(CudaLibrary.NCCL).location());
        } finally {
            Files.delete(file);
            Files.delete(file.getParent());
        }
    }

    @Test
    void driverComesOnlyFromTheSystemNeverFromAToolkitOrWheel() throws IOException {
        FakeMachine m = new FakeMachine(root);
        m.env.put("CUDA_HOME", "/usr/local/cuda");
        m.env.put("VIRTUAL_ENV", "/venv");
        touch(m.path("/usr/local/cuda/lib64/libcuda.so.1"));
        touch(m.path("/usr/local/cuda/lib64/stubs/libcuda.so.1"));
        touch(m.path("/venv/lib/python3.12/site-packages/nvidia/cu13/lib/libcuda.so.1"));
        LibraryNotFoundException e = assertThrows(LibraryNotFoundException.class,
                () -> m.libraries().locate(CudaLibrary.DRIVER));
        assertTrue(e.getMessage().contains("system loader: libcuda.so.1"), e.getMessage());
        assertTrue(!e.getMessage().contains("/usr/local/cuda"), e.getMessage());

        Path wsl = touch(m.path("/usr/lib/wsl/lib/libcuda.so.1"));
        assertEquals(wsl.toString(), m.libraries().locate(CudaLibrary.DRIVER).location());
        m.systemLoaderKnows.add("libcuda.so.1");
        assertEquals("libcuda.so.1", m.libraries().locate(CudaLibrary.DRIVER).location());
        Files.writeString(touch(m.path("/proc/self/maps")),
                "7f0000000000-7f0000001000 r-xp 00000000 08:01 42 /usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06\n");
        touch(m.path("/usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06"));
        assertEquals(m.path("/usr/lib/x86_64-linux-gnu/libcuda.so.580.65.06").toString(),
                m.libraries().locate(CudaLibrary.DRIVER).location());
    }

    @Test
    void ourLibraryIsExtractedOnceIntoAFolderNamedByItsHash() throws IOException {
        FakeMachine m = new FakeMachine(root);
        LibraryNotFoundException none = assertThrows(LibraryNotFoundException.class,
                () -> m.libraries().locate(CudaLibrary.LEVIATHAN));
        assertTrue(none.getMessage().contains("class-path resource " + CudaLibrary.LEVIATHAN_RESOURCE + " (absent)"),
                none.getMessage());
        assertTrue(none.getMessage().contains("-Dleviathan.cuda.library"), none.getMessage());

        byte[] bytes = {0x7f, 'E', 'L', 'F', 9, 8, 7};
        Path jarCopy = Files.write(root.resolve("resource.so"), bytes);
        m.resource = jarCopy.toUri().toURL();
        CudaLibraries.Located first = m.libraries().locate(CudaLibrary.LEVIATHAN);
        Path extracted = Path.of(first.location());
        assertEquals("libleviathan_cuda.so", extracted.getFileName().toString());
        assertEquals(root.resolve("cache"), extracted.getParent().getParent());
        assertEquals(16, extracted.getParent().getFileName().toString().length(), "a hash prefix names the folder");
        assertArrayEquals(bytes, Files.readAllBytes(extracted));
        long modified = Files.getLastModifiedTime(extracted).toMillis();
        assertEquals(first.location(), m.libraries().locate(CudaLibrary.LEVIATHAN).location());
        assertEquals(modified, Files.getLastModifiedTime(extracted).toMillis(), "not written twice");
        try (var files = Files.list(extracted.getParent())) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }

        Files.write(jarCopy, new byte[] {0x7f, 'E', 'L', 'F', 1});
        assertTrue(!m.libraries().locate(CudaLibrary.LEVIATHAN).location().equals(first.location()),
                "other bytes, another folder");

        Path explicit = touch(m.path("/build/libleviathan_cuda.so"));
        m.properties.put("leviathan.cuda.library", "/build/libleviathan_cuda.so");
        assertEquals(explicit.toString(), m.libraries().locate(CudaLibrary.LEVIATHAN).location());
    }

    @Test
    void loadsCublasLtFirstByAbsolutePathFromCublasFolder() {
        FakeLibraries.assumeGcc();
        FakeMachine m = new FakeMachine(root);
        m.env.put("VIRTUAL_ENV", "/venv");
        Path wheel = m.path("/venv/lib/python3.12/site-packages/nvidia/cu13/lib");
        FakeLibraries.cublas(wheel);
        CudaLibraries libraries = m.libraries();
        LinkedLibrary cublas = libraries.load(CudaLibrary.CUBLAS);
        assertEquals(wheel.resolve("libcublas.so.13").toString(), cublas.file());
        assertTrue(cublas.has("cublasGetProperty"));
        assertSame(cublas, libraries.load(CudaLibrary.CUBLAS), "loaded once");
        LinkedLibrary lt = libraries.load(CudaLibrary.CUBLAS_LT);
        assertEquals(wheel.resolve("libcublasLt.so.13").toString(), lt.file());
        assertTrue(lt.has("cublasLtGetVersion"));
    }

    @Test
    void aFileTheLoaderRefusesIsReportedWithItsPath() throws IOException {
        FakeMachine m = new FakeMachine(root);
        Path broken = touch(m.path("/broken/libnccl.so.2"));
        m.properties.put("leviathan.nccl.path", "/broken/libnccl.so.2");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.libraries().load(CudaLibrary.NCCL));
        assertTrue(e.getMessage().contains("cannot load libnccl.so.2 from " + broken), e.getMessage());
    }
}
