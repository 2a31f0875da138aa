package io.leviathan.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.leviathan.bindings.LinkedLibrary;
import io.leviathan.bindings.NativeFunction;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The headers against the built library: every function declared is exported, and the test-side call tables
 * declare each function exactly as the header does.
 */
class ExportsTest {
    private static final Pattern DECLARATION =
            Pattern.compile("(?m)^(int|int64_t|const char \\*)\\s*(lv_\\w+)\\(([^;]*?)\\);");
    private static final Pattern SECTION = Pattern.compile("/\\* -{10,} ([^*]+?) \\*/");

    private static Path sources() {
        String dir = System.getProperty("leviathan.native.sources");
        assumeTrue(dir != null, "system property leviathan.native.sources is not set");
        return Path.of(dir);
    }

    /** Declarations of a header, by name, whitespace normalised, with the section each is in. */
    private static Map<String, String[]> declarations(Path header) throws IOException {
        String text = Files.readString(header).replaceAll("(?s)/\\*(?! -{10,}).*?\\*/", "");
        Map<String, String[]> out = new LinkedHashMap<>();
        List<int[]> sectionStarts = new ArrayList<>();
        List<String> sectionNames = new ArrayList<>();
        Matcher s = SECTION.matcher(text);
        while (s.find()) {
            sectionStarts.add(new int[] {s.start()});
            sectionNames.add(s.group(1).trim());
        }
        Matcher m = DECLARATION.matcher(text);
        while (m.find()) {
            String section = "";
            for (int i = 0; i < sectionStarts.size(); i++) {
                if (sectionStarts.get(i)[0] < m.start()) {
                    section = sectionNames.get(i);
                }
            }
            String decl = (m.group(1) + " " + m.group(2) + "(" + m.group(3) + ")").replaceAll("\\s+", " ")
                    .replace("* ", "*");
            out.put(m.group(2), new String[] {decl, section});
        }
        return out;
    }

    /**
     * Sections whose kernels live in their own source file: checked once that file is part of the build.
     */
    private static boolean built(String section) {
        Path src = sources().resolve("src");
        return switch (section) {
            case "attention" -> Files.exists(src.resolve("attention.cu"));
            case "Leviathan generator (F32)" -> Files.exists(src.resolve("generator.cu"));
            default -> true;
        };
    }

    @Test
    void everyDeclaredFunctionIsExported() throws IOException {
        LinkedLibrary lib = CudaLibrary.get();
        List<String> missing = new ArrayList<>();
        int checked = 0;
        for (String header : List.of("leviathan_cuda.h", "leviathan_cuda_host.h")) {
            for (Map.Entry<String, String[]> e : declarations(sources().resolve("include").resolve(header)).entrySet()) {
                if (!built(e.getValue()[1])) {
                    continue;
                }
                checked++;
                if (!lib.has(e.getKey())) {
                    missing.add(e.getKey() + " (" + header + ", " + e.getValue()[1] + ")");
                }
            }
        }
        assertTrue(checked > 80, "only " + checked + " declarations found: the header parse is broken");
        assertEquals(List.of(), missing, "declared but not exported by " + lib.file());
    }

    /** The Java side finds the library as this class-path resource (the module's jar carries it). */
    @Test
    void libraryIsPackagedAsAClassPathResource() throws IOException {
        LinkedLibrary lib = CudaLibrary.get();
        String resource = "/io/leviathan/cuda/linux-x86_64/libleviathan_cuda.so";
        try (var in = ExportsTest.class.getResourceAsStream(resource)) {
            assertTrue(in != null, resource + " is not on the class path");
            assertEquals(Files.size(Path.of(lib.file())), in.readAllBytes().length, resource + " is not the built library");
        }
    }

    @Test
    void libraryExportsNothingButTheAbi() throws IOException {
        // The version script keeps the static runtime's and CUB's symbols private.
        LinkedLibrary lib = CudaLibrary.get();
        for (String symbol : List.of("cudaMalloc", "cudaGetDeviceCount", "cudaLaunchKernel")) {
            assertTrue(!lib.has(symbol), symbol + " is exported by " + lib.file());
        }
    }

    @Test
    void callTablesMatchTheHeaders() throws IOException {
        Map<String, String[]> all = new LinkedHashMap<>();
        all.putAll(declarations(sources().resolve("include/leviathan_cuda.h")));
        all.putAll(declarations(sources().resolve("include/leviathan_cuda_host.h")));
        List<NativeFunction> tables = Stream.of(HostKernels.FUNCTIONS, DeviceCalls.FUNCTIONS, RuntimeCalls.FUNCTIONS)
                .flatMap(List::stream).toList();
        for (NativeFunction f : tables) {
            String[] decl = all.get(f.symbol());
            assertTrue(decl != null, f.symbol() + " is not declared in the headers");
            String ours = f.declaration().replaceAll("\\s+", " ").replace("* ", "*");
            assertEquals(decl[0], ours, f.symbol());
            // Parameters: one layout per C parameter ("void" alone is none).
            String params = decl[0].substring(decl[0].indexOf('(') + 1, decl[0].lastIndexOf(')')).trim();
            int arity = params.equals("void") || params.isEmpty() ? 0 : params.split(",").length;
            assertEquals(arity, f.descriptor().argumentLayouts().size(), f.symbol() + " arity");
        }
    }
}
