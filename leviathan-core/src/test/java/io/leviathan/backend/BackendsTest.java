package io.leviathan.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** Choosing a backend by name: {@code cpu}, {@code cuda}, {@code auto}, and the errors for anything else. */
class BackendsTest {
    @Test
    void autoFallsBackToTheCpuSayingWhyOnce() {
        BackendInfo cuda = new BackendInfo("cuda", false, "no CUDA driver found (libcuda.so.1 is not on the library path)");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        AtomicBoolean reported = new AtomicBoolean();
        try (Backend first = Backends.auto(cuda, err, reported); Backend second = Backends.auto(cuda, err, reported)) {
            assertTrue(first.name().startsWith("cpu"), first.name());
            assertTrue(second.name().startsWith("cpu"), second.name());
        }
        assertEquals("CUDA unavailable: no CUDA driver found (libcuda.so.1 is not on the library path); using the CPU backend"
                + System.lineSeparator(), bytes.toString(StandardCharsets.UTF_8), "the reason, printed once");
    }

    @Test
    void fallbackNoticeDoesNotRepeatThePrefix() {
        BackendInfo cuda = new BackendInfo("cuda", false, "CUDA unavailable: cuInit failed: CUDA_ERROR_NO_DEVICE");
        assertEquals("CUDA unavailable: cuInit failed: CUDA_ERROR_NO_DEVICE; using the CPU backend",
                Backends.fallbackNotice(cuda));
    }

    @Test
    void autoFollowsTheProbe() {
        BackendInfo cuda = Backends.probe().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        try (Backend be = Backends.create("auto")) {
            if (cuda.available()) {
                assertEquals("cuda", be.name(), "CUDA is available: " + cuda.detail());
            } else {
                assertTrue(be.name().startsWith("cpu"), "CUDA is unavailable (" + cuda.detail() + "), got " + be.name());
            }
        }
    }

    @Test
    void unknownNamesListTheValidOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.create("tpu"));
        assertEquals("unknown backend 'tpu'; valid: cpu, cuda, auto", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Backends.create("CUDA"));
        assertTrue(e.getMessage().contains("valid: cpu, cuda, auto"), e.getMessage());
    }

    @Test
    void cudaUnavailableSaysWhy() {
        BackendInfo cuda = Backends.probe().stream().filter(b -> b.name().equals("cuda")).findFirst().orElseThrow();
        if (cuda.available()) {
            try (Backend be = Backends.create("cuda")) {
                assertEquals("cuda", be.name());
            }
        } else {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.create("cuda"));
            assertTrue(e.getMessage().contains(cuda.detail()), e.getMessage());
        }
    }

    @Test
    void attentionCudnnIsRefusedOnTheCpuAndAutoAndNativeRunThere() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Backends.create("cpu", AttentionChoice.CUDNN));
        assertEquals("attention 'cudnn' needs the CUDA backend, but the device is 'cpu' (the CPU backend has its own"
                + " attention: use attention auto or native)", e.getMessage());
        BackendInfo noCuda = new BackendInfo("cuda", false, "no CUDA driver found");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = new PrintStream(bytes, true, StandardCharsets.UTF_8);
        e = assertThrows(IllegalArgumentException.class,
                () -> Backends.auto(noCuda, err, new AtomicBoolean(), AttentionChoice.CUDNN));
        assertTrue(e.getMessage().contains("the device is 'auto, which fell back to the CPU: CUDA unavailable: no CUDA"
                + " driver found; using the CPU backend'"), e.getMessage());
        for (AttentionChoice c : new AttentionChoice[] {AttentionChoice.AUTO, AttentionChoice.NATIVE}) {
            try (Backend be = Backends.create("cpu", c)) {
                assertTrue(be.name().startsWith("cpu"), be.name());
            }
        }
    }

    @Test
    void attentionChoiceNames() {
        assertEquals(java.util.List.of("auto", "cudnn", "native"), AttentionChoice.NAMES);
        assertEquals(AttentionChoice.CUDNN, AttentionChoice.of("cudnn"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AttentionChoice.of("Flash"));
        assertEquals("attention must be one of auto, cudnn, native, got 'Flash'", e.getMessage());
    }
}
