package io.leviathan.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.leviathan.backend.KernelDataException;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.MemoryKey;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** The strict CPU backend behaves as device memory would, and the host boundary moves data exactly. */
@ExtendWith(NativeMemoryCheck.class)
class StrictCpuBackendTest {

    @Test
    void strictTensorsRefuseEveryHostAccessNamingTheTensorAndItsLocation() {
        try (CpuBackend be = CpuBackend.strict(2); TensorArena arena = be.newArena()) {
            assertTrue(be.isStrict());
            assertEquals("cpu-strict", be.name());
            assertFalse(arena.hostAccessible());
            Tensor w = arena.allocate(DType.F32, 3, 4).named("model.layers.0.mlp.up_proj.weight");
            Tensor ids = arena.allocate(DType.I32, 5);
            java.util.List<Consumer<Tensor>> floatAccesses = java.util.List.of(
                    Tensor::segment, Tensor::toFloatArray, t -> t.fill(1f), Tensor::zero,
                    t -> t.copyFrom(new float[12]), t -> t.getFloat(0, 0), t -> t.setFloat(1f, 0, 0),
                    t -> t.copyFrom(w));
            for (Consumer<Tensor> access : floatAccesses) {
                IllegalStateException e = assertThrows(IllegalStateException.class, () -> access.accept(w));
                assertTrue(e.getMessage().contains("model.layers.0.mlp.up_proj.weight")
                        && e.getMessage().contains("lives on cpu (strict)")
                        && e.getMessage().contains("download it first"), e.getMessage());
            }
            assertThrows(IllegalStateException.class, ids::toIntArray);
            assertThrows(IllegalStateException.class, () -> ids.copyFrom(new int[5]));
            assertThrows(IllegalStateException.class, () -> arena.of(new float[] {1f}, 1));
            // A key the allocator does not grant cannot open it either.
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> w.segment(new MemoryKey("another backend")));
            assertTrue(e.getMessage().contains("cannot address"), e.getMessage());
            // Views keep the refusal, and the backend's own kernels still work.
            assertThrows(IllegalStateException.class, () -> w.select(0, 1).toFloatArray());
            be.fill(w, 2f);
            assertArrayEquals(new float[] {2f, 2f, 2f, 2f}, be.downloadFloats(w.select(0, 2)));
        }
    }

    @Test
    void uploadAndDownloadMoveExactValuesOnBothBackends() {
        for (CpuBackend be : new CpuBackend[] {new CpuBackend(2), CpuBackend.strict(2)}) {
            try (be; TensorArena arena = be.newArena(); Arena host = Arena.ofConfined()) {
                float[] x = {1.5f, -2.25f, 3.0e-8f, Float.MAX_VALUE, -0f, 7f, 1f / 3f};
                Tensor f = arena.allocate(DType.F32, 7);
                be.upload(x, f);
                assertArrayEquals(x, be.downloadFloats(f));
                // From an offset into a larger array, and into a view.
                Tensor two = arena.allocate(DType.F32, 2, 2);
                be.upload(x, 3, two.select(0, 1));
                float[] out = new float[5];
                be.download(two, out, 1);
                assertArrayEquals(new float[] {0f, 0f, 0f, Float.MAX_VALUE, -0f}, out);
                // BF16 rounds to nearest even on the way in and widens exactly on the way out.
                Tensor h = arena.allocate(DType.BF16, 3);
                be.upload(new float[] {1f + 0x1p-8f, 1f + 0x3p-8f, -2.5f}, h);
                assertArrayEquals(new float[] {1f, 1f + 0x1p-6f, -2.5f}, be.downloadFloats(h));
                // Ints and raw segments.
                Tensor i = arena.allocate(DType.I32, 4);
                be.upload(new int[] {9, -1, Integer.MAX_VALUE, 0}, i);
                assertArrayEquals(new int[] {9, -1, Integer.MAX_VALUE, 0}, be.downloadInts(i));
                MemorySegment seg = host.allocate(16);
                be.download(i, seg);
                assertEquals(Integer.MAX_VALUE, seg.getAtIndex(ValueLayout.JAVA_INT, 2));
                seg.setAtIndex(ValueLayout.JAVA_INT, 1, 42);
                be.upload(seg, i);
                assertEquals(42, be.downloadInts(i)[1]);
                assertEquals(-2.25f, be.downloadScalar(f.narrow(0, 1, 1)));
                // Sizes are checked and named.
                ShapeMismatchException e = assertThrows(ShapeMismatchException.class, () -> be.upload(new float[6], f));
                assertTrue(e.getMessage().contains("6"), e.getMessage());
                assertThrows(ShapeMismatchException.class, () -> be.upload(new float[8], 2, f));
                assertThrows(IllegalArgumentException.class, () -> be.upload(new float[4], i));
                assertThrows(IllegalArgumentException.class, () -> be.download(f, new int[7], 0));
                assertThrows(IllegalArgumentException.class, () -> be.upload(new float[2], two.transpose(0, 1).select(0, 0)));
            }
        }
    }

    @Test
    void badIdsThrowAtOnceOnThePlainBackendAndAtTheNextSyncOnTheStrictOne() {
        try (CpuBackend plain = new CpuBackend(2); TensorArena arena = plain.newArena()) {
            Tensor table = arena.allocate(DType.F32, 4, 3);
            Tensor ids = arena.allocate(DType.I32, 2);
            Tensor out = arena.allocate(DType.F32, 2, 3);
            plain.upload(new int[] {1, 9}, ids);
            KernelDataException e = assertThrows(KernelDataException.class, () -> plain.embedding(ids, table, out));
            assertTrue(e.getMessage().contains("id 9 at position 1"), e.getMessage());
        }
        try (CpuBackend strict = CpuBackend.strict(2); TensorArena arena = strict.newArena()) {
            Tensor table = arena.allocate(DType.F32, 4, 3);
            Tensor ids = arena.allocate(DType.I32, 2);
            Tensor out = arena.allocate(DType.F32, 2, 3);
            Tensor logits = arena.allocate(DType.F32, 2, 4);
            Tensor loss = arena.allocate(DType.F32, 1);
            strict.upload(new int[] {1, 9}, ids);
            strict.embedding(ids, table, out);                                   // recorded, not thrown
            strict.crossEntropy(logits, ids, -100, null, null, 1f, loss);        // a second error
            KernelDataException e = assertThrows(KernelDataException.class, strict::synchronize);
            assertTrue(e.getMessage().contains("id 9 at position 1") && e.getMessage().contains("2 errors"),
                    e.getMessage());
            strict.synchronize(); // the flag is cleared once reported
            strict.embedding(ids, table, out);
            assertThrows(KernelDataException.class, () -> strict.downloadFloats(out)); // a download synchronizes
            // Shape errors are argument checks: thrown at once, as a device backend would on the host.
            assertThrows(ShapeMismatchException.class, () -> strict.embedding(ids, table, arena.allocate(DType.F32, 3, 3)));
        }
    }
}
