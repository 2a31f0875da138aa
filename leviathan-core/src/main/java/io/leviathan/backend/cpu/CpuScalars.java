package io.leviathan.backend.cpu;

import io.leviathan.backend.OpChecks;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Device scalars (a loss, a gradient norm) written by the CPU backend: the first element of an F32 tensor. */
final class CpuScalars {
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT;

    private CpuScalars() {}

    /** Throws unless {@code t} is a writable F32 tensor with at least one element (a shape error when it has none). */
    static MemorySegment check(String op, String name, Tensor t) {
        OpChecks.scalarOut(op, name, t);
        return t.segment(CpuMemory.KEY);
    }

    /** {@code t[0] = value}. */
    static void set(String op, Tensor t, double value) {
        check(op, "out", t).setAtIndex(F, 0, (float) value);
    }

    /** {@code t[0] += value} (float addition, as a device kernel would do it). */
    static void add(Tensor t, double value) {
        MemorySegment s = t.segment(CpuMemory.KEY);
        s.setAtIndex(F, 0, s.getAtIndex(F, 0) + (float) value);
    }

    /** {@code t[0]}. */
    static float get(Tensor t) {
        return t.segment(CpuMemory.KEY).getAtIndex(F, 0);
    }
}
