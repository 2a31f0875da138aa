package io.leviathan.backend;

import io.leviathan.backend.cpu.CpuBackend;

/** The conformance suite on the CPU backend (two worker threads, so the parallel splits run). */
class CpuConformanceTest extends BackendConformanceTest {
    @Override
    protected Backend newBackend() {
        return new CpuBackend(2);
    }
}
