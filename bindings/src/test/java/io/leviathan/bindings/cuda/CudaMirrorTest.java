package io.leviathan.bindings.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.bindings.NativeFunction;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.FieldModel;
import java.lang.classfile.MethodModel;
import java.lang.classfile.constantpool.ConstantValueEntry;
import java.lang.classfile.AnnotationValue;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.AccessFlag;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/**
 * Every binding table against the Java mirror of the NVIDIA headers in {@code org.bytedeco:cuda} (test scope):
 * each bound function's arity and parameter kinds (32-bit, 64-bit, float, double, pointer) must equal one of the
 * mirror's overloads, and each constant its value. The mirror's class files are read, never loaded, so none of
 * its native code runs.
 */
class CudaMirrorTest {
    /** The mirror of the CUDA runtime and driver headers, which also holds library_types.h (CUDA_R_16BF). */
    private static final String CUDART = "org.bytedeco.cuda.global.cudart";

    private static final Map<String, Mirror> MIRRORS = new ConcurrentHashMap<>();

    /**
     * One mirror class: native functions by C name (a {@code @Name} annotation wins over the Java name), each
     * overload as a kind string, and its compile-time int and long constants.
     */
    record Mirror(String className, Map<String, Set<String>> functions, Map<String, Long> constants) {}

    static Mirror mirror(String className) {
        return MIRRORS.computeIfAbsent(className, CudaMirrorTest::read);
    }

    private static Mirror read(String className) {
        String resource = className.replace('.', '/') + ".class";
        byte[] bytes;
        try (InputStream in = CudaMirrorTest.class.getClassLoader().getResourceAsStream(resource)) {
            assertNotNull(in, resource + " is not on the test class path (org.bytedeco:cuda)");
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ClassModel model = ClassFile.of().parse(bytes);
        Map<String, Set<String>> functions = new HashMap<>();
        for (MethodModel m : model.methods()) {
            if (!m.flags().has(AccessFlag.NATIVE) || !m.flags().has(AccessFlag.STATIC)) {
                continue;
            }
            String name = m.methodName().stringValue();
            var annotations = m.findAttribute(Attributes.runtimeVisibleAnnotations());
            if (annotations.isPresent()) {
                for (var a : annotations.get().annotations()) {
                    if (a.className().stringValue().equals("Lorg/bytedeco/javacpp/annotation/Name;")) {
                        for (var e : a.elements()) {
                            if (e.value() instanceof AnnotationValue.OfArray arr && !arr.values().isEmpty()
                                    && arr.values().getFirst() instanceof AnnotationValue.OfString s) {
                                name = s.stringValue();
                            } else if (e.value() instanceof AnnotationValue.OfString s) {
                                name = s.stringValue();
                            }
                        }
                    }
                }
            }
            functions.computeIfAbsent(name, k -> new LinkedHashSet<>()).add(kinds(m.methodTypeSymbol()));
        }
        Map<String, Long> constants = new HashMap<>();
        for (FieldModel f : model.fields()) {
            var value = f.findAttribute(Attributes.constantValue());
            if (value.isEmpty()) {
                continue;
            }
            ConstantValueEntry entry = value.get().constant();
            if (entry.constantValue() instanceof Integer i) {
                constants.put(f.fieldName().stringValue(), i.longValue());
            } else if (entry.constantValue() instanceof Long l) {
                constants.put(f.fieldName().stringValue(), l);
            }
        }
        return new Mirror(className, functions, constants);
    }

    /** The same letters as {@link CudaHeaderCheck#kinds}: return, then each parameter. */
    private static String kinds(MethodTypeDesc type) {
        StringBuilder k = new StringBuilder().append(kind(type.returnType()));
        for (ClassDesc p : type.parameterList()) {
            k.append(kind(p));
        }
        return k.toString();
    }

    private static char kind(ClassDesc c) {
        if (!c.isPrimitive()) {
            return 'A';
        }
        return switch (c.descriptorString()) {
            case "V" -> 'V';
            case "I" -> 'I';
            case "J" -> 'J';
            case "F" -> 'F';
            case "D" -> 'D';
            case "S", "C" -> 'S';
            case "B", "Z" -> 'B';
            default -> '?';
        };
    }

    /** What differs between {@code table} and its mirror; empty when nothing does. */
    static List<String> problems(BindingTable table) {
        List<Mirror> mirrors = table.mirrorClass().equals(CUDART)
                ? List.of(mirror(CUDART)) : List.of(mirror(table.mirrorClass()), mirror(CUDART));
        List<String> problems = new ArrayList<>();
        for (NativeFunction f : table.functions()) {
            List<String> names = new ArrayList<>(List.of(f.symbol(), BindingTable.declaredName(f),
                    f.symbol().replaceFirst("_v\\d+$", "")));
            Set<String> overloads = null;
            String found = null;
            for (String n : names) {
                for (Mirror m : mirrors) {
                    if (overloads == null && m.functions().containsKey(n)) {
                        overloads = m.functions().get(n);
                        found = m.className() + "." + n;
                    }
                }
            }
            String ours = CudaHeaderCheck.kinds(f);
            if (overloads == null) {
                problems.add(f.symbol() + ": no function " + names + " in " + mirrors.stream().map(Mirror::className).toList());
            } else if (!overloads.contains(ours)) {
                problems.add(f.symbol() + ": Java descriptor " + f.descriptor() + " has kinds " + ours + " (return, then "
                        + "parameters), " + found + " declares " + overloads);
            }
        }
        for (Map.Entry<String, Long> c : table.constants().entrySet()) {
            Long theirs = mirrors.stream().map(m -> m.constants().get(c.getKey())).filter(v -> v != null).findFirst().orElse(null);
            if (theirs == null) {
                problems.add(c.getKey() + ": no such constant in " + mirrors.stream().map(Mirror::className).toList());
            } else if (!theirs.equals(c.getValue())) {
                problems.add(c.getKey() + ": Java has " + c.getValue() + ", the headers " + theirs);
            }
        }
        return problems;
    }

    @Test
    void everyTableMatchesTheMirroredHeaders() {
        int checked = 0;
        for (BindingTable t : CudaBindingTables.ALL) {
            if (t.mirrorClass() == null) {
                continue;
            }
            assertEquals(List.of(), problems(t), t.name());
            checked++;
        }
        assertTrue(checked >= 1, "at least the driver table has a mirror");
    }

    @Test
    void theMirrorReadsAsTheHeadersSay() {
        assertEquals(68L, mirror("org.bytedeco.cuda.global.cublas").constants().get("CUBLAS_COMPUTE_32F"));
        assertEquals(14L, mirror(CUDART).constants().get("CUDA_R_16BF"));
        assertEquals(Set.of("IAI"), mirror(CUDART).functions().get("cuDeviceTotalMem"));
        assertTrue(mirror(CUDART).functions().get("cuDeviceGetName").contains("IAII"));
    }

    private static BindingTable driverTable(NativeFunction f, Map<String, Long> constants) {
        return new BindingTable("wrong", List.of(f), constants, CudaLibrary.DRIVER, List.of("cuda.h"), CUDART);
    }

    @Test
    void aWrongDescriptorIsReported() {
        NativeFunction wrong = new NativeFunction("cuDeviceTotalMem_v2",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG),
                "CUresult cuDeviceTotalMem(size_t *bytes, CUdevice dev)");
        List<String> p = problems(driverTable(wrong, Map.of()));
        assertEquals(1, p.size(), p.toString());
        assertTrue(p.getFirst().startsWith("cuDeviceTotalMem_v2: Java descriptor"), p.getFirst());
        assertTrue(p.getFirst().contains("has kinds IAJ") && p.getFirst().contains("declares [IAI]"), p.getFirst());

        NativeFunction shortOne = new NativeFunction("cuDeviceGetName",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT),
                "CUresult cuDeviceGetName(char *name, int len, CUdevice dev)");
        assertEquals(1, problems(driverTable(shortOne, Map.of())).size());

        NativeFunction floatNotInt = new NativeFunction("cuInit",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_FLOAT), "CUresult cuInit(unsigned int Flags)");
        assertEquals(1, problems(driverTable(floatNotInt, Map.of())).size());
    }

    @Test
    void aWrongOrUnknownConstantAndAnUnknownFunctionAreReported() {
        List<String> p = problems(driverTable(CudaDriver.cuInit,
                Map.of("CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR", 74L, "CUDA_ERROR_NO_SUCH_THING", 1L)));
        assertEquals(2, p.size(), p.toString());
        assertTrue(p.contains("CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR: Java has 74, the headers 75"), p.toString());
        NativeFunction unknown = new NativeFunction("cuFrobnicate",
                FunctionDescriptor.of(ValueLayout.JAVA_INT), "CUresult cuFrobnicate(void)");
        List<String> q = problems(driverTable(unknown, Map.of()));
        assertEquals(1, q.size());
        assertTrue(q.getFirst().startsWith("cuFrobnicate: no function"), q.getFirst());
    }
}
