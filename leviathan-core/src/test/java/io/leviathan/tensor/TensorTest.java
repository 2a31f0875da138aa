package io.leviathan.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class TensorTest {

    private static float[] iota(int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = i + 0.5f;
        }
        return x;
    }

    @Test
    void roundTripsArraysAndIndexes() {
        try (TensorArena arena = new TensorArena()) {
            Tensor t = arena.of(iota(24), 2, 3, 4);
            assertEquals(3, t.rank());
            assertEquals(24, t.numel());
            assertArrayEquals(new long[] {12, 4, 1}, t.strides());
            assertEquals(1 * 12 + 2 * 4 + 3 + 0.5f, t.getFloat(1, 2, 3));
            t.setFloat(-7f, 0, 1, 2);
            assertEquals(-7f, t.toFloatArray()[6]);
            Tensor ids = arena.ofInts(new int[] {5, -1, 200_018}, 3);
            assertArrayEquals(new int[] {5, -1, 200_018}, ids.toIntArray());
            assertEquals(200_018, ids.getInt(2));
        }
    }

    @Test
    void viewsShareMemoryWithoutCopying() {
        try (TensorArena arena = new TensorArena()) {
            long before = arena.allocatedBytes();
            Tensor t = arena.of(iota(24), 4, 6);
            long afterAlloc = arena.allocatedBytes();
            Tensor r = t.reshape(2, -1, 3);
            Tensor tr = t.transpose(0, 1);
            Tensor n = t.narrow(1, 2, 3);
            Tensor s = t.slice(1, 3);
            Tensor sel = t.select(1, 4);
            assertEquals(afterAlloc, arena.allocatedBytes(), "views must not allocate");
            assertEquals(24 * 4, afterAlloc - before);

            assertArrayEquals(new long[] {2, 4, 3}, r.shape());
            assertArrayEquals(new long[] {6, 4}, tr.shape());
            assertFalse(tr.isContiguous());
            assertFalse(n.isContiguous());
            assertTrue(s.isContiguous());
            assertEquals(t.getFloat(3, 1), tr.getFloat(1, 3));
            assertEquals(t.getFloat(2, 4), n.getFloat(2, 2));
            assertEquals(t.getFloat(2, 5), s.getFloat(1, 5));
            assertEquals(t.getFloat(3, 4), sel.getFloat(3));

            // A write through a view is seen by the base tensor.
            tr.setFloat(99f, 5, 0);
            assertEquals(99f, t.getFloat(0, 5));
            n.setFloat(-3f, 1, 0);
            assertEquals(-3f, t.getFloat(1, 2));

            // Strided read-out and contiguous copies follow row-major order of the view.
            float[] trData = tr.toFloatArray();
            assertEquals(t.getFloat(2, 1), trData[1 * 4 + 2]);
            Tensor c = tr.contiguous(arena);
            assertTrue(c.isContiguous());
            assertArrayEquals(trData, c.toFloatArray());
        }
    }

    @Test
    void reshapeOfNonContiguousViewIsAnError() {
        try (TensorArena arena = new TensorArena()) {
            Tensor t = arena.allocate(DType.F32, 4, 6).transpose(0, 1);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.reshape(24));
            assertTrue(e.getMessage().contains("not contiguous"), e.getMessage());
            ShapeMismatchException m = assertThrows(ShapeMismatchException.class,
                    () -> arena.allocate(DType.F32, 4, 6).reshape(5, 5));
            assertTrue(m.getMessage().contains("[4, 6]") && m.getMessage().contains("[5, 5]"), m.getMessage());
        }
    }

    @Test
    void outOfRangeIndexNamesShape() {
        try (TensorArena arena = new TensorArena()) {
            Tensor t = arena.allocate(DType.F32, 2, 3);
            IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> t.getFloat(2, 0));
            assertTrue(e.getMessage().contains("[2, 0]") && e.getMessage().contains("[2, 3]"), e.getMessage());
            assertThrows(IndexOutOfBoundsException.class, () -> t.getFloat(1));
            assertThrows(IndexOutOfBoundsException.class, () -> t.narrow(1, 2, 2));
            assertThrows(IndexOutOfBoundsException.class, () -> t.transpose(0, 2));
        }
    }

    @Test
    void wrongDTypeIsAnError() {
        try (TensorArena arena = new TensorArena()) {
            Tensor ids = arena.allocate(DType.I32, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ids::toFloatArray);
            assertTrue(e.getMessage().contains("I32[3]"), e.getMessage());
            Tensor f = arena.allocate(DType.F32, 3);
            assertThrows(IllegalArgumentException.class, () -> f.getInt(0));
            assertThrows(ShapeMismatchException.class, () -> f.copyFrom(new float[4]));
        }
    }

    @Test
    void bf16TensorsRoundOnStoreAndWidenOnLoad() {
        try (TensorArena arena = new TensorArena()) {
            Tensor b = arena.allocate(DType.BF16, 3);
            assertEquals(6, b.byteSize());
            b.copyFrom(new float[] {1.0f, 1.0f + 0x1p-8f, 1.0f + 3 * 0x1p-8f});
            assertArrayEquals(new float[] {1.0f, 1.0f, 1.0f + 0x1p-6f}, b.toFloatArray());
            Tensor f = arena.allocate(DType.F32, 3).copyFrom(b);
            assertArrayEquals(b.toFloatArray(), f.toFloatArray());
        }
    }

    @Test
    void useAfterCloseThrowsNamingTheTensor() {
        Tensor t;
        Tensor view;
        try (TensorArena arena = new TensorArena()) {
            t = arena.of(iota(6), 2, 3);
            view = t.transpose(0, 1);
        }
        assertFalse(t.isAlive());
        TensorClosedException e = assertThrows(TensorClosedException.class, t::toFloatArray);
        assertTrue(e.getMessage().contains("F32[2, 3]") && e.getMessage().contains("closed"), e.getMessage());
        assertThrows(TensorClosedException.class, () -> view.getFloat(0, 0));
        assertThrows(TensorClosedException.class, t::segment);
        assertThrows(TensorClosedException.class, () -> t.reshape(6));
    }
}
