package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.NativeFunction;
import java.io.IOException;
import java.io.InputStream;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.FieldModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.constantpool.IntegerEntry;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Our cuBLAS and cuBLASLt bindings against the CUDA 13 declarations mirrored in Maven Central's
 * {@code org.bytedeco:cuda:13.1-9.19-1.5.13} (test scope): every bound function exists there with the same
 * arity and, parameter by parameter, the same kind (32-bit, 64-bit or pointer), and every {@code int} constant
 * of {@link CuBlas} and {@link CuBlasLt} has the header's value. The class files are parsed, never loaded, so
 * no native library is needed.
 */
class CuBlasAbiTest {

    private static ClassModel mirrored(String className) throws IOException {
        String resource = className.replace('.', '/') + ".class";
        try (InputStream in = ClassLoader.getSystemClassLoader().getResourceAsStream(resource)) {
            assertNotNull(in, resource + " not on the test class path (org.bytedeco:cuda)");
            return ClassFile.of().parse(in.readAllBytes());
        }
    }

    private static Map<String, Integer> intConstants(ClassModel model) {
        Map<String, Integer> out = new HashMap<>();
        for (FieldModel f : model.fields()) {
            f.findAttribute(Attributes.constantValue()).ifPresent(cv -> {
                if (cv.constant() instanceof IntegerEntry i) {
                    out.put(f.fieldName().stringValue(), i.intValue());
                }
            });
        }
        return out;
    }

    /** The layout FFM uses for a parameter of this JVM type: primitives by width, any reference a pointer. */
    private static MemoryLayout kind(ClassDesc type) {
        return switch (type.descriptorString()) {
            case "I" -> ValueLayout.JAVA_INT;
            case "J" -> ValueLayout.JAVA_LONG;
            case "F" -> ValueLayout.JAVA_FLOAT;
            case "D" -> ValueLayout.JAVA_DOUBLE;
            default -> ValueLayout.ADDRESS;
        };
    }

    @Test
    void everyBoundFunctionHasTheMirroredArityAndParameterKinds() throws IOException {
        ClassModel cublas = mirrored("org.bytedeco.cuda.global.cublas");
        List<NativeFunction> bound = new ArrayList<>(CuBlas.FUNCTIONS);
        bound.addAll(CuBlasLt.FUNCTIONS);
        for (NativeFunction f : bound) {
            List<String> seen = new ArrayList<>();
            boolean match = false;
            for (MethodModel m : cublas.methods()) {
                if (!m.methodName().stringValue().equals(f.symbol())) {
                    continue;
                }
                MethodTypeDesc t = m.methodTypeSymbol();
                List<MemoryLayout> kinds = t.parameterList().stream().map(CuBlasAbiTest::kind).toList();
                seen.add(kinds.toString());
                match |= kinds.equals(f.descriptor().argumentLayouts())
                        && kind(t.returnType()).equals(f.descriptor().returnLayout().orElseThrow());
            }
            assertTrue(!seen.isEmpty(), f.symbol() + " is not declared in the CUDA 13 cuBLAS headers");
            assertTrue(match, f.symbol() + ": our " + f.descriptor() + " matches none of the mirrored overloads " + seen);
        }
    }

    @Test
    void everyConstantHasTheHeadersValue() throws IOException, IllegalAccessException {
        Map<String, Integer> expected = new HashMap<>(intConstants(mirrored("org.bytedeco.cuda.global.cublas")));
        expected.putAll(intConstants(mirrored("org.bytedeco.cuda.global.cudart")));
        int compared = 0;
        for (Class<?> c : List.of(CuBlas.class, CuBlasLt.class)) {
            for (Field f : c.getFields()) {
                if (f.getType() == int.class && Modifier.isStatic(f.getModifiers())) {
                    String name = f.getName();
                    assertTrue(expected.containsKey(name), c.getSimpleName() + "." + name + " is not a CUDA 13 constant");
                    assertEquals(expected.get(name), f.getInt(null), c.getSimpleName() + "." + name);
                    compared++;
                }
            }
        }
        assertTrue(compared >= 25, "compared " + compared + " constants");
    }
}
