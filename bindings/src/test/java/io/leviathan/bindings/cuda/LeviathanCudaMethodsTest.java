package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeCallException;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every method of {@link LeviathanCuda} calls its own C function: a library generated here from the header
 * defines each function to return its position in the header (and {@code lv_error_string} a known text), and
 * each Java method, called with zeros and null pointers, must return that position. A method bound to the
 * wrong symbol, slot or descriptor fails; so does a header function without a method.
 */
class LeviathanCudaMethodsTest {

    @TempDir
    Path build;

    private Path compileNumberedLibrary(List<LeviathanCudaHeaderTest.CFunction> functions) throws Exception {
        StringBuilder c = new StringBuilder("#include \"leviathan_cuda.h\"\n");
        for (int i = 0; i < functions.size(); i++) {
            LeviathanCudaHeaderTest.CFunction f = functions.get(i);
            String body = f.name().equals("lv_error_string") ? "return \"numbered\";" : "return " + i + ";";
            c.append(f.declaration(), 0, f.declaration().length() - 1).append(" { ");
            for (int p = 0; p < f.parameterTypes().size(); p++) {
                c.append("(void) ").append(parameterName(f.declaration(), p)).append("; ");
            }
            c.append(body).append(" }\n");
        }
        Path source = build.resolve("numbered.c");
        Files.writeString(source, c);
        Path lib = build.resolve("libnumbered.so");
        Process p;
        try {
            p = new ProcessBuilder("cc", "-shared", "-fPIC", "-Wall", "-Werror",
                    "-I" + LeviathanCudaHeaderTest.header().getParent(), "-o", lib.toString(), source.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException noCompiler) {
            Assumptions.abort("no C compiler (cc): " + noCompiler.getMessage());
            throw noCompiler;
        }
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), "cc failed:\n" + log + "\n" + c);
        return lib;
    }

    private static String parameterName(String declaration, int index) {
        String params = declaration.substring(declaration.indexOf('(') + 1, declaration.lastIndexOf(')'));
        String p = params.split(",")[index].trim();
        return p.substring(Math.max(p.lastIndexOf(' '), p.lastIndexOf('*')) + 1);
    }

    private static Object zero(Class<?> type) {
        if (type == int.class) {
            return 0;
        }
        if (type == long.class) {
            return 0L;
        }
        if (type == float.class) {
            return 0f;
        }
        if (type == double.class) {
            return 0.0;
        }
        assertEquals(MemorySegment.class, type);
        return MemorySegment.NULL;
    }

    @Test
    void everyMethodCallsItsOwnFunction() throws Exception {
        List<LeviathanCudaHeaderTest.CFunction> functions =
                LeviathanCudaHeaderTest.parse(Files.readString(LeviathanCudaHeaderTest.header()));
        LeviathanCuda lib = new LeviathanCuda(LinkedLibrary.load(compileNumberedLibrary(functions).toString()));
        int called = 0;
        for (int i = 0; i < functions.size(); i++) {
            String name = functions.get(i).name();
            Method m = Arrays.stream(LeviathanCuda.class.getMethods()).filter(x -> x.getName().equals(name))
                    .findFirst().orElseThrow(() -> new AssertionError("no method for " + name));
            assertEquals(functions.get(i).parameterTypes().size(), m.getParameterCount(), name + ": parameters");
            Object[] args = Arrays.stream(m.getParameterTypes()).map(LeviathanCudaMethodsTest::zero).toArray();
            Object result;
            try {
                result = m.invoke(lib, args);
            } catch (InvocationTargetException e) {
                throw new AssertionError(name + " threw", e.getCause());
            }
            if (name.equals("lv_error_string")) {
                assertEquals("numbered", ((MemorySegment) result).reinterpret(64).getString(0));
            } else {
                assertEquals(i, ((Number) result).intValue(), name + " reached function " + result + " of the header");
            }
            called++;
        }
        assertEquals(LeviathanCuda.FUNCTIONS.size(), called);
        NativeCallException e = org.junit.jupiter.api.Assertions.assertThrows(NativeCallException.class,
                () -> lib.check("lv_add", 10001));
        assertEquals("lv_add failed with status 10001 (numbered)", e.getMessage());
    }
}
