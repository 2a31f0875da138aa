package io.leviathan.cuda;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.leviathan.bindings.LinkedLibrary;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The freshly built libleviathan_cuda.so, loaded once for the tests. The build passes its path in the
 * system property {@code leviathan.cuda.library}; where nvcc was absent the file does not exist and every
 * test that needs it is skipped with that reason.
 */
final class CudaLibrary {
    static final String PROPERTY = "leviathan.cuda.library";

    private static LinkedLibrary library;

    private CudaLibrary() {}

    /** The loaded library, or a skipped test naming why there is none. */
    static synchronized LinkedLibrary get() {
        if (library == null) {
            String path = System.getProperty(PROPERTY);
            assumeTrue(path != null && !path.isBlank(), "system property " + PROPERTY + " is not set");
            assumeTrue(Files.isRegularFile(Path.of(path)),
                    "libleviathan_cuda.so was not built (nvcc absent?): no file at " + path);
            library = LinkedLibrary.load(path);
        }
        return library;
    }
}
