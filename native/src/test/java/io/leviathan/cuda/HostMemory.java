package io.leviathan.cuda;

import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** Native host buffers for the lv_host_* calls of one test, freed together on close. */
final class HostMemory implements AutoCloseable {
    private final Arena arena = Arena.ofConfined();

    MemorySegment floats(float[] data) {
        MemorySegment s = arena.allocate(JAVA_FLOAT, Math.max(1, data.length));
        MemorySegment.copy(data, 0, s, JAVA_FLOAT, 0, data.length);
        return s;
    }

    MemorySegment ints(int[] data) {
        MemorySegment s = arena.allocate(JAVA_INT, Math.max(1, data.length));
        MemorySegment.copy(data, 0, s, JAVA_INT, 0, data.length);
        return s;
    }

    MemorySegment doubles(double... data) {
        MemorySegment s = arena.allocate(JAVA_DOUBLE, Math.max(1, data.length));
        MemorySegment.copy(data, 0, s, JAVA_DOUBLE, 0, data.length);
        return s;
    }

    MemorySegment shorts(int n) {
        return arena.allocate(JAVA_SHORT, Math.max(1, n));
    }

    MemorySegment bytes(long n) {
        return arena.allocate(Math.max(1, n), 256);
    }

    static float[] toFloats(MemorySegment s, int n) {
        float[] out = new float[n];
        MemorySegment.copy(s, JAVA_FLOAT, 0, out, 0, n);
        return out;
    }

    static int[] toInts(MemorySegment s, int n) {
        int[] out = new int[n];
        MemorySegment.copy(s, JAVA_INT, 0, out, 0, n);
        return out;
    }

    static short[] toShorts(MemorySegment s, int n) {
        short[] out = new short[n];
        MemorySegment.copy(s, JAVA_SHORT, 0, out, 0, n);
        return out;
    }

    @Override
    public void close() {
        arena.close();
    }
}
