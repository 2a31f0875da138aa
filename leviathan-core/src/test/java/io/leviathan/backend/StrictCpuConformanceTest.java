package io.leviathan.backend;

import static org.junit.jupiter.api.Assertions.assertFalse;

import io.leviathan.backend.cpu.CpuBackend;
import io.leviathan.tensor.TensorArena;
import org.junit.jupiter.api.Test;

/**
 * The conformance suite on the strict CPU backend: the CPU's kernels, with tensors that refuse host access as
 * GPU memory would, so the suite itself is proven to move data only through the host boundary.
 */
class StrictCpuConformanceTest extends BackendConformanceTest {
    @Override
    protected Backend newBackend() {
        return CpuBackend.strict(2);
    }

    @Test
    void tensorsAreNotHostAccessible() {
        try (TensorArena arena = backend().newArena()) {
            assertFalse(arena.hostAccessible(), "a strict backend's arena refuses host access");
        }
    }
}
