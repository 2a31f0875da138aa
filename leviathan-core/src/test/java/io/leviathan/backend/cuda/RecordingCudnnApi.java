package io.leviathan.backend.cuda;

import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.cuda.CuDnn;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.StringJoiner;

/**
 * A fake of cuDNN's backend API that records every call as one line of text: the descriptor type, attribute
 * name, attribute type and element count by their header names, and the values (descriptors as {@code d<n>} in
 * creation order, pointers in hex, the test's handle as {@code handle}). The heuristic offers
 * {@link #offered} engine configurations; the first {@link #declinedPlans} execution plans fail to finalize with
 * {@code CUDNN_STATUS_NOT_SUPPORTED}, and a set attribute named in {@link #failingAttribute} fails, as a real
 * library would for an unsupported graph.
 */
final class RecordingCudnnApi implements CudnnBackendApi {
    static final long HANDLE = 0x4000_0000L;
    static final long WORKSPACE = 4096;

    private static final Map<Integer, String> TYPES = names("CUDNN_BACKEND_");
    private static final Map<Integer, String> ATTRIBUTES = names("CUDNN_ATTR_");
    private static final Map<Integer, String> ATTRIBUTE_TYPES = names("CUDNN_TYPE_");
    /** Names of the 4-byte enum values, by attribute type. */
    private static final Map<Integer, Map<Integer, String>> ENUMS = Map.of(
            CuDnn.CUDNN_TYPE_DATA_TYPE, names("CUDNN_DATA_"),
            CuDnn.CUDNN_TYPE_POINTWISE_MODE, names("CUDNN_POINTWISE_"),
            CuDnn.CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, names("CUDNN_REDUCE_TENSOR_"),
            CuDnn.CUDNN_TYPE_HEUR_MODE, names("CUDNN_HEUR_MODE_"));

    final List<String> calls = new ArrayList<>();
    int offered = 3;
    int declinedPlans;
    int failingAttribute = -1;

    private final Map<Long, Integer> typeOf = new HashMap<>();
    private final Set<Long> live = new HashSet<>();
    private long next = 1;
    private int plansFinalized;
    int created;
    int destroyed;

    private static Map<Integer, String> names(String prefix) {
        Map<Integer, String> m = new HashMap<>();
        for (Field f : CuDnn.class.getFields()) {
            if (f.getName().startsWith(prefix) && f.getType() == int.class && Modifier.isStatic(f.getModifiers())) {
                try {
                    m.put(f.getInt(null), f.getName());
                } catch (IllegalAccessException e) {
                    throw new IllegalStateException(e);
                }
            }
        }
        return m;
    }

    private static String name(Map<Integer, String> names, int v) {
        return names.getOrDefault(v, "?" + v);
    }

    private static String d(long descriptor) {
        return "d" + (descriptor - HANDLE * 2);
    }

    @Override
    public long create(int descriptorType) {
        long d = HANDLE * 2 + next++;
        typeOf.put(d, descriptorType);
        live.add(d);
        created++;
        calls.add("create " + name(TYPES, descriptorType) + " -> " + d(d));
        return d;
    }

    @Override
    public void setAttribute(long descriptor, int name, int type, long count, MemorySegment values) {
        requireLive(descriptor, "setAttribute");
        calls.add("set " + d(descriptor) + " " + name(ATTRIBUTES, name) + " " + name(ATTRIBUTE_TYPES, type) + " x" + count
                + " = " + values(type, count, values));
        if (name == failingAttribute) {
            throw new NativeCallException("cudnnBackendSetAttribute(attribute " + name + ")", 2000, "CUDNN_STATUS_BAD_PARAM");
        }
    }

    private static String values(int type, long count, MemorySegment values) {
        StringJoiner j = new StringJoiner(",", "[", "]");
        MemorySegment v = values.reinterpret(Long.MAX_VALUE);
        for (long i = 0; i < count; i++) {
            switch (type) {
                case CuDnn.CUDNN_TYPE_INT64 -> j.add(Long.toString(v.getAtIndex(ValueLayout.JAVA_LONG, i)));
                case CuDnn.CUDNN_TYPE_BOOLEAN -> j.add(v.get(ValueLayout.JAVA_BYTE, i) != 0 ? "true" : "false");
                case CuDnn.CUDNN_TYPE_FLOAT -> j.add(Float.toString(v.getAtIndex(ValueLayout.JAVA_FLOAT, i)));
                case CuDnn.CUDNN_TYPE_BACKEND_DESCRIPTOR -> j.add(d(v.getAtIndex(ValueLayout.ADDRESS, i).address()));
                case CuDnn.CUDNN_TYPE_HANDLE, CuDnn.CUDNN_TYPE_VOID_PTR -> {
                    long a = v.getAtIndex(ValueLayout.ADDRESS, i).address();
                    j.add(a == HANDLE ? "handle" : "0x" + Long.toHexString(a));
                }
                default -> { // 4-byte enums
                    Map<Integer, String> names = ENUMS.get(type);
                    int e = v.getAtIndex(ValueLayout.JAVA_INT, i);
                    j.add(names == null ? Integer.toString(e) : name(names, e));
                }
            }
        }
        return j.toString();
    }

    @Override
    public long getAttribute(long descriptor, int name, int type, long requested, MemorySegment values) {
        requireLive(descriptor, "getAttribute");
        calls.add("get " + d(descriptor) + " " + name(ATTRIBUTES, name) + " " + name(ATTRIBUTE_TYPES, type) + " x"
                + requested);
        if (name == CuDnn.CUDNN_ATTR_ENGINEHEUR_RESULTS) {
            return requested == 0 ? offered : Math.min(requested, offered);
        }
        if (name == CuDnn.CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE) {
            values.reinterpret(8).set(ValueLayout.JAVA_LONG, 0, WORKSPACE);
            return 1;
        }
        throw new IllegalStateException("the fake has no value for attribute " + name(ATTRIBUTES, name));
    }

    @Override
    public void finalizeDescriptor(long descriptor) {
        requireLive(descriptor, "finalize");
        calls.add("finalize " + d(descriptor));
        if (typeOf.get(descriptor) == CuDnn.CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR && plansFinalized++ < declinedPlans) {
            throw new NativeCallException("cudnnBackendFinalize", CuDnn.CUDNN_STATUS_NOT_SUPPORTED,
                    "CUDNN_STATUS_NOT_SUPPORTED");
        }
    }

    @Override
    public void execute(long handle, long plan, long variantPack) {
        requireLive(plan, "execute");
        requireLive(variantPack, "execute");
        calls.add("execute " + (handle == HANDLE ? "handle" : "?") + " " + d(plan) + " " + d(variantPack));
    }

    @Override
    public void destroy(long descriptor) {
        requireLive(descriptor, "destroy");
        live.remove(descriptor);
        destroyed++;
        calls.add("destroy " + d(descriptor));
    }

    private void requireLive(long descriptor, String call) {
        if (!live.contains(descriptor)) {
            throw new IllegalStateException(call + " on " + d(descriptor) + ", which is not a live descriptor");
        }
    }

    /** Descriptors created and not yet destroyed. */
    int live() {
        return live.size();
    }
}
