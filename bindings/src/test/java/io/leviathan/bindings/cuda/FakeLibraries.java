package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Builds small real shared libraries with gcc for the discovery and probe tests, which need loadable files. */
final class FakeLibraries {
    private FakeLibraries() {}

    /** Skips the calling test, with the reason, when there is no gcc. */
    static void assumeGcc() {
        assumeTrue(gccAvailable(), "gcc is not on the PATH: the fake CUDA libraries cannot be built");
    }

    private static boolean gccAvailable() {
        try {
            Process p = new ProcessBuilder("gcc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** The fake driver's source, {@code fake_libcuda.c}. */
    static String fakeDriverSource() {
        try (InputStream in = FakeLibraries.class.getResourceAsStream("fake_libcuda.c")) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A fake {@code libcuda.so.1} in {@code dir}, built with the given {@code -D} settings. */
    static Path driver(Path dir, String... defines) {
        List<String> flags = new ArrayList<>();
        for (String d : defines) {
            flags.add("-D" + d);
        }
        return build(dir, "libcuda.so.1", fakeDriverSource(), flags);
    }

    /** A fake {@code libleviathan_cuda.so} whose lv_abi_version returns {@code abi}. */
    static Path leviathan(Path dir, int abi) {
        return build(dir, "libleviathan_cuda.so", "int lv_abi_version(void) { return " + abi + "; }\n", List.of());
    }

    /**
     * A fake cuBLASLt and cuBLAS pair in {@code dir}; cuBLAS needs {@code libcublasLt.so.13} (by soname, with no
     * search path of its own), as the real one does.
     */
    static void cublas(Path dir) {
        build(dir, "libcublasLt.so.13", "int cublasLtGetVersion(void) { return 130000; }\n",
                List.of("-Wl,-soname,libcublasLt.so.13"));
        build(dir, "libcublas.so.13", """
                int cublasLtGetVersion(void);
                int cublasGetProperty(int type, int *value) { *value = cublasLtGetVersion() + type; return 0; }
                """, List.of("-Wl,-soname,libcublas.so.13", "-L" + dir, "-l:libcublasLt.so.13"));
    }

    /** Compiles {@code source} into {@code dir/name} as a shared library. */
    static Path build(Path dir, String name, String source, List<String> flags) {
        try {
            Files.createDirectories(dir);
            Path src = Files.createTempFile(dir, "src", ".c");
            Files.writeString(src, source);
            Path out = dir.resolve(name);
            List<String> cmd = new ArrayList<>(List.of("gcc", "-shared", "-fPIC", "-O1", "-o", out.toString(),
                    src.toString()));
            cmd.addAll(flags);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed:\n" + log);
            }
            Files.delete(src);
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
