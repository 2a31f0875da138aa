package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.NativeFunction;
import java.io.IOException;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@link LeviathanCuda}'s binding table against {@code native/include/leviathan_cuda.h}, parsed here: every
 * header function is bound exactly once, in the header's order, under its own symbol, with the header's
 * declaration, and each parameter's layout matches its C type (int32_t and int: JAVA_INT, int64_t: JAVA_LONG,
 * float: JAVA_FLOAT, double: JAVA_DOUBLE, any pointer: ADDRESS). The macros the bindings mirror as constants
 * are compared too.
 */
class LeviathanCudaHeaderTest {

    /** One C declaration: return type, name, parameter types, and the whole declaration on one line. */
    record CFunction(String returnType, String name, List<String> parameterTypes, String declaration) {}

    static Path header() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            Path h = p.resolve("native/include/leviathan_cuda.h");
            if (Files.isRegularFile(h)) {
                return h;
            }
        }
        throw new AssertionError("native/include/leviathan_cuda.h not found above " + Path.of("").toAbsolutePath());
    }

    /** The header's function declarations, in order. */
    static List<CFunction> parse(String source) {
        String text = source.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
        text = text.replaceAll("(?m)^\\s*#.*$", " ").replace("extern \"C\" {", " ").replace("}", " ");
        Pattern decl = Pattern.compile("([A-Za-z_][\\w\\s\\*]*?[\\s\\*])(\\w+)\\s*\\(([^)]*)\\)");
        List<CFunction> out = new ArrayList<>();
        for (String statement : text.split(";")) {
            String s = statement.replaceAll("\\s+", " ").trim();
            if (s.isEmpty()) {
                continue;
            }
            Matcher m = decl.matcher(s);
            if (!m.matches()) {
                throw new AssertionError("cannot parse a declaration of the header: " + s);
            }
            List<String> types = new ArrayList<>();
            String params = m.group(3).trim();
            if (!params.equals("void")) {
                for (String p : params.split(",")) {
                    Matcher pm = Pattern.compile("(.*?[\\s\\*])(\\w+)").matcher(p.trim());
                    assertTrue(pm.matches(), "parameter without a name in " + s + ": " + p);
                    types.add(pm.group(1).trim());
                }
            }
            out.add(new CFunction(m.group(1).trim(), m.group(2), types, s + ";"));
        }
        return out;
    }

    /** The FFM layout a C type must have in a binding. */
    static MemoryLayout layoutOf(String cType) {
        if (cType.contains("*")) {
            return ValueLayout.ADDRESS;
        }
        return switch (cType.replace("const", "").trim()) {
            case "int", "int32_t" -> ValueLayout.JAVA_INT;
            case "int64_t" -> ValueLayout.JAVA_LONG;
            case "float" -> ValueLayout.JAVA_FLOAT;
            case "double" -> ValueLayout.JAVA_DOUBLE;
            default -> throw new AssertionError("a C type the ABI does not allow: " + cType);
        };
    }

    @Test
    void everyHeaderFunctionIsBoundWithItsSignature() throws IOException {
        List<CFunction> header = parse(Files.readString(header()));
        assertTrue(header.size() > 60, "parsed " + header.size() + " functions; the header has more");
        assertEquals(header.size(), LeviathanCuda.FUNCTIONS.size(), "bound functions vs header functions");
        Map<String, NativeFunction> bound = new LinkedHashMap<>();
        for (NativeFunction f : LeviathanCuda.FUNCTIONS) {
            assertEquals(null, bound.put(f.symbol(), f), f.symbol() + " is bound twice");
        }
        for (int i = 0; i < header.size(); i++) {
            CFunction c = header.get(i);
            NativeFunction f = LeviathanCuda.FUNCTIONS.get(i);
            assertEquals(c.name(), f.symbol(), "function " + i + " in header order");
            assertEquals(c.declaration(), f.declaration(), c.name() + ": the declaration as the header has it");
            List<MemoryLayout> args = f.descriptor().argumentLayouts();
            assertEquals(c.parameterTypes().size(), args.size(), c.name() + ": parameter count");
            for (int p = 0; p < args.size(); p++) {
                assertEquals(layoutOf(c.parameterTypes().get(p)), args.get(p),
                        c.name() + " parameter " + p + " (" + c.parameterTypes().get(p) + ")");
            }
            Optional<MemoryLayout> ret = f.descriptor().returnLayout();
            assertTrue(ret.isPresent(), c.name() + " returns a value");
            assertEquals(layoutOf(c.returnType()), ret.get(), c.name() + ": return type " + c.returnType());
        }
    }

    @Test
    void mirroredMacrosHaveTheHeadersValues() throws IOException {
        Map<String, Integer> macros = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^#define (LV_\\w+) (-?\\d+)").matcher(Files.readString(header()));
        while (m.find()) {
            macros.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        Map<String, Integer> mirrored = Map.ofEntries(
                Map.entry("LV_ABI_VERSION", LeviathanCuda.LV_ABI_VERSION),
                Map.entry("LV_OK", LeviathanCuda.LV_OK),
                Map.entry("LV_ERR_INVALID_ARGUMENT", LeviathanCuda.LV_ERR_INVALID_ARGUMENT),
                Map.entry("LV_ERR_UNSUPPORTED_DTYPE", LeviathanCuda.LV_ERR_UNSUPPORTED_DTYPE),
                Map.entry("LV_ERR_WORKSPACE_TOO_SMALL", LeviathanCuda.LV_ERR_WORKSPACE_TOO_SMALL),
                Map.entry("LV_F32", LeviathanCuda.LV_F32),
                Map.entry("LV_BF16", LeviathanCuda.LV_BF16),
                Map.entry("LV_I32", LeviathanCuda.LV_I32),
                Map.entry("LV_OP_EMBEDDING", LeviathanCuda.LV_OP_EMBEDDING),
                Map.entry("LV_OP_EMBEDDING_BACKWARD", LeviathanCuda.LV_OP_EMBEDDING_BACKWARD),
                Map.entry("LV_OP_CROSS_ENTROPY", LeviathanCuda.LV_OP_CROSS_ENTROPY));
        assertEquals(macros.keySet(), mirrored.keySet(), "every LV_ macro is mirrored, and nothing else");
        for (Map.Entry<String, Integer> e : mirrored.entrySet()) {
            assertEquals(macros.get(e.getKey()), e.getValue(), e.getKey());
        }
    }

    @Test
    void theParserReadsMultiLineDeclarationsAndRejectsOtherTypes() {
        List<CFunction> fs = parse("/* c */\nint lv_x(const float *a,\n   int64_t n, void *stream);\n"
                + "const char *lv_y(int s);\n");
        assertEquals(2, fs.size());
        assertEquals(new CFunction("int", "lv_x", List.of("const float *", "int64_t", "void *"),
                "int lv_x(const float *a, int64_t n, void *stream);"), fs.get(0));
        assertEquals(ValueLayout.ADDRESS, layoutOf(fs.get(1).returnType()));
        assertNotNull(layoutOf("int32_t"));
        AssertionError e = org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> layoutOf("size_t"));
        assertTrue(e.getMessage().contains("size_t"));
    }
}
