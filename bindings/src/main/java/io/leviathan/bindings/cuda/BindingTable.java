package io.leviathan.bindings.cuda;

import io.leviathan.bindings.NativeFunction;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One binding class as the ABI checks see it: the functions it binds, the header constants it copies, the library
 * that exports them, the headers that declare them and the Java mirror of those headers in
 * {@code org.bytedeco:cuda} (used by the tests only).
 *
 * @param name a short name for messages, e.g. {@code CUDA driver}
 * @param functions every function bound, the class's {@code FUNCTIONS}
 * @param constants header constants (enum values and macros) the class copies, by their header name
 * @param library the library that must export every symbol
 * @param headers the headers that declare the functions and constants, included in this order
 * @param mirrorClass the {@code org.bytedeco.cuda.global} class mirroring those headers, or null for our own library
 */
public record BindingTable(String name, List<NativeFunction> functions, Map<String, Long> constants,
                           CudaLibrary library, List<String> headers, String mirrorClass) {

    public BindingTable {
        functions = List.copyOf(functions);
        constants = Map.copyOf(constants);
        headers = List.copyOf(headers);
    }

    /**
     * Every {@code public static final int} or {@code long} field of {@code binding}, by name. Binding classes keep
     * only copies of header constants in such fields (layouts and sizes are other types), so all of them are
     * checked against the headers.
     */
    public static Map<String, Long> constantsOf(Class<?> binding) {
        Map<String, Long> out = new LinkedHashMap<>();
        for (Field f : binding.getFields()) {
            int m = f.getModifiers();
            if (!Modifier.isStatic(m) || !Modifier.isFinal(m) || f.getDeclaringClass() != binding) {
                continue;
            }
            try {
                if (f.getType() == int.class) {
                    out.put(f.getName(), (long) f.getInt(null));
                } else if (f.getType() == long.class) {
                    out.put(f.getName(), f.getLong(null));
                }
            } catch (IllegalAccessException e) {
                throw new IllegalStateException("cannot read " + binding.getName() + "." + f.getName(), e);
            }
        }
        return out;
    }

    /**
     * The function name the C declaration gives, e.g. {@code cuDeviceTotalMem} for the symbol
     * {@code cuDeviceTotalMem_v2}: the identifier before the parameter list.
     */
    public static String declaredName(NativeFunction f) {
        String d = f.declaration();
        int paren = d.indexOf('(');
        if (paren < 0) {
            throw new IllegalArgumentException("declaration of " + f.symbol() + " has no parameter list: " + d);
        }
        int end = paren;
        while (end > 0 && Character.isWhitespace(d.charAt(end - 1))) {
            end--;
        }
        int start = end;
        while (start > 0 && (Character.isJavaIdentifierPart(d.charAt(start - 1)))) {
            start--;
        }
        if (start == end) {
            throw new IllegalArgumentException("declaration of " + f.symbol() + " names no function: " + d);
        }
        return d.substring(start, end);
    }
}
