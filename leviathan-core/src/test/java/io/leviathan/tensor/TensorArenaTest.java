package io.leviathan.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorArenaTest {

    @TempDir
    Path dir;

    @Test
    void accountingReturnsToZeroAfterClose() {
        long baseline = NativeMemory.allocatedBytes();
        try (TensorArena arena = new TensorArena()) {
            arena.allocate(DType.F32, 1000);
            arena.allocate(DType.BF16, 10, 10);
            arena.allocate(DType.I32, 7);
            assertEquals(4000 + 200 + 28, arena.allocatedBytes());
            assertEquals(baseline + 4228, NativeMemory.allocatedBytes());
            try (TensorArena inner = new TensorArena()) {
                inner.allocate(DType.F32, 16);
                assertEquals(baseline + 4228 + 64, NativeMemory.allocatedBytes());
            }
            assertEquals(baseline + 4228, NativeMemory.allocatedBytes());
        }
        assertEquals(baseline, NativeMemory.allocatedBytes());
        assertTrue(NativeMemory.peakAllocatedBytes() >= baseline + 4228 + 64);
    }

    @Test
    void allocationsAreZeroedAndAligned() {
        try (TensorArena arena = new TensorArena()) {
            Tensor t = arena.allocate(DType.F32, 33);
            for (float v : t.toFloatArray()) {
                assertEquals(0f, v);
            }
            assertEquals(0, t.segment().address() % TensorArena.ALIGNMENT);
        }
    }

    @Test
    void closeTwiceIsHarmlessAndAllocateAfterCloseFails() {
        TensorArena arena = new TensorArena();
        arena.close();
        arena.close();
        assertThrows(TensorClosedException.class, () -> arena.allocate(DType.F32, 1));
    }

    @Test
    void negativeShapeIsRejected() {
        try (TensorArena arena = new TensorArena()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> arena.allocate(DType.F32, 3, -1));
            assertTrue(e.getMessage().contains("[3, -1]"), e.getMessage());
        }
    }

    @Test
    void mapsAFileReadOnlyWithoutCopying() throws IOException {
        Path file = dir.resolve("weights.bin");
        ByteBuffer buf = ByteBuffer.allocate(16 + 6 * 4).order(ByteOrder.LITTLE_ENDIAN);
        buf.putLong(0xC0FFEEL).putLong(6);
        for (int i = 0; i < 6; i++) {
            buf.putFloat(i * 1.25f - 2f);
        }
        Files.write(file, buf.array());

        long allocatedBefore = NativeMemory.allocatedBytes();
        long mappedBefore = NativeMemory.mappedBytes();
        try (TensorArena arena = new TensorArena()) {
            Tensor t = arena.map(file, DType.F32, 16, 2, 3);
            assertArrayEquals(new float[] {-2f, -0.75f, 0.5f, 1.75f, 3f, 4.25f}, t.toFloatArray());
            assertEquals(allocatedBefore, NativeMemory.allocatedBytes(), "a mapping allocates no memory");
            assertEquals(mappedBefore + 24, NativeMemory.mappedBytes());
            assertTrue(t.isReadOnly());
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> t.setFloat(1f, 0, 0));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            // Views of a mapping are still views: the transposed element is the file's element.
            assertEquals(1.75f, t.transpose(0, 1).getFloat(0, 1));
        }
        assertEquals(mappedBefore, NativeMemory.mappedBytes());
    }

    @Test
    void mappingPastTheEndOfAFileNamesFileAndSizes() throws IOException {
        Path file = dir.resolve("short.bin");
        Files.write(file, new byte[10]);
        try (TensorArena arena = new TensorArena()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> arena.map(file, DType.F32, 0, 3));
            assertTrue(e.getMessage().contains("short.bin") && e.getMessage().contains("10 bytes")
                    && e.getMessage().contains("12"), e.getMessage());
            UncheckedIOException missing = assertThrows(UncheckedIOException.class,
                    () -> arena.map(dir.resolve("absent.bin"), DType.F32, 0, 1));
            assertTrue(missing.getMessage().contains("absent.bin"), missing.getMessage());
        }
    }
}
