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
 * leviathan_cuda_host_attention.h against the built library and the call tables {@link HostAttentionCalls} and
 * {@link DeviceAttentionCalls}: every function the header declares is exported, and every function a table
 * binds is declared (there or in leviathan_cuda.h) exactly as the table says, with one layout per parameter.
 */
class HostAttentionHeaderTest {
    private static final Pattern DECLARATION = Pattern.compile("(?m)^(int|int64_t)\\s*(lv_\\w+)\\(([^;]*?)\\);");

    private static Path include() {
        String dir = System.getProperty("leviathan.native.sources");
        assumeTrue(dir != null, "system property leviathan.native.sources is not set");
        return Path.of(dir, "include");
    }

    /** The header's declarations by name, comments removed and whitespace normalised. */
    private static Map<String, String> declarations(String header) throws IOException {
        String text = Files.readString(include().resolve(header)).replaceAll("(?s)/\\*.*?\\*/", "");
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = DECLARATION.matcher(text);
        while (m.find()) {
            out.put(m.group(2), normalise(m.group(1) + " " + m.group(2) + "(" + m.group(3) + ")"));
        }
        return out;
    }

    private static String normalise(String declaration) {
        return declaration.replaceAll("\\s+", " ").replace("* ", "*");
    }

    @Test
    void everyHostTwinIsExported() throws IOException {
        LinkedLibrary lib = CudaLibrary.get();
        Map<String, String> host = declarations("leviathan_cuda_host_attention.h");
        assertEquals(8, host.size(), "declarations parsed: " + host.keySet());
        List<String> missing = new ArrayList<>();
        for (String name : host.keySet()) {
            if (!lib.has(name)) {
                missing.add(name);
            }
        }
        assertEquals(List.of(), missing, "declared but not exported by " + lib.file());
    }

    @Test
    void callTableMatchesTheHeaders() throws IOException {
        Map<String, String> all = new LinkedHashMap<>(declarations("leviathan_cuda.h"));
        all.putAll(declarations("leviathan_cuda_host_attention.h"));
        for (NativeFunction f : Stream.of(HostAttentionCalls.FUNCTIONS, DeviceAttentionCalls.FUNCTIONS)
                .flatMap(List::stream).toList()) {
            String declared = all.get(f.symbol());
            assertTrue(declared != null, f.symbol() + " is not declared in the headers");
            assertEquals(declared, normalise(f.declaration()), f.symbol());
            String params = declared.substring(declared.indexOf('(') + 1, declared.lastIndexOf(')')).trim();
            int arity = params.equals("void") ? 0 : params.split(",").length;
            assertEquals(arity, f.descriptor().argumentLayouts().size(), f.symbol() + " arity");
        }
    }
}
