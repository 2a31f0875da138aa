package io.leviathan.backend;

import io.leviathan.backend.cpu.CpuBackend;
import io.leviathan.backend.cuda.CudaBackend;
import io.leviathan.bindings.cuda.CudaLibraries;
import java.io.PrintStream;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/** Finds and creates backends. */
public final class Backends {
    private Backends() {}

    /**
     * Set to {@code true} (system property) to make {@link #cpu()} and {@link #cpu(int)} return strict CPU
     * backends, whose tensors refuse host access as device memory would. The test suites run once plain and
     * once with it set, so a host access that bypasses the backend's upload and download fails the build.
     */
    public static final String STRICT_PROPERTY = "leviathan.cpu.strict";

    /**
     * The device names {@link #create} takes, in the order error messages list them: {@code cpu}, {@code cuda},
     * and {@code auto} (CUDA where it can run, else the CPU).
     */
    public static final List<String> DEVICES = List.of("cpu", "cuda", "auto");

    /** Set once {@code auto} has said why it fell back to the CPU, so a process says it once. */
    private static final AtomicBoolean FALLBACK_REPORTED = new AtomicBoolean();

    /** The CPU backend with one worker thread per available core. */
    public static Backend cpu() {
        return cpu(Runtime.getRuntime().availableProcessors());
    }

    /** The CPU backend with {@code threads} worker threads (strict when {@link #STRICT_PROPERTY} is set). */
    public static Backend cpu(int threads) {
        return Boolean.getBoolean(STRICT_PROPERTY) ? strictCpu(threads) : new CpuBackend(threads);
    }

    /**
     * A strict CPU backend: the CPU's kernels, with arenas that refuse direct host access (see
     * {@link CpuBackend#strict}), behind a guard that refuses host tensors as operation arguments. Together
     * they hold code above the backend to what a GPU backend allows.
     */
    public static Backend strictCpu(int threads) {
        return DeviceOnlyGuard.wrap(CpuBackend.strict(threads));
    }

    /**
     * The backend named {@code name}: {@code "cpu"}, {@code "cuda"}, or {@code "auto"}, which is CUDA when
     * {@link #probe()} reports it available and otherwise the CPU backend, printing the reason to standard error
     * the first time it falls back ("CUDA unavailable: &lt;reason&gt;; using the CPU backend").
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException when the backend exists but cannot run here; the message says why
     */
    public static Backend create(String name) {
        return create(name, AttentionChoice.AUTO);
    }

    /**
     * {@link #create(String)} with attention run as {@code attention} says. On the CUDA backend: {@code auto} uses
     * cuDNN's fused attention where its plan finalizes for the call, else our kernel; {@code cudnn} insists on
     * cuDNN; {@code native} uses our kernel. The CPU backend has one attention: {@code auto} and {@code native} run
     * it, and {@code cudnn} is an error naming the device, also when {@code auto} falls back to the CPU.
     *
     * @throws IllegalArgumentException for an unknown name, or {@code cudnn} with a CPU backend
     * @throws IllegalStateException when the backend exists but cannot run here; the message says why
     */
    public static Backend create(String name, AttentionChoice attention) {
        return switch (name) {
            case "cpu", "cpu-strict" -> {
                refuseCudnnOnCpu(attention, name);
                yield name.equals("cpu") ? cpu() : strictCpu(Runtime.getRuntime().availableProcessors());
            }
            case "cuda" -> {
                BackendInfo info = BackendProbe.cuda();
                if (!info.available()) {
                    throw new IllegalStateException("backend 'cuda' is unavailable: " + info.detail());
                }
                yield CudaBackend.open(CudaLibraries.system(), 0, attention); // the libraries the probe just found
            }
            case "auto" -> auto(BackendProbe.cuda(), System.err, FALLBACK_REPORTED, attention);
            default -> throw new IllegalArgumentException("unknown backend '" + name + "'; valid: "
                    + String.join(", ", DEVICES));
        };
    }

    /** {@code attention = cudnn} has no meaning on the CPU backend: an error naming what was asked. */
    static void refuseCudnnOnCpu(AttentionChoice attention, String device) {
        if (attention == AttentionChoice.CUDNN) {
            throw new IllegalArgumentException("attention 'cudnn' needs the CUDA backend, but the device is '" + device
                    + "' (the CPU backend has its own attention: use attention auto or native)");
        }
    }

    /**
     * {@code auto}'s choice given the CUDA probe's answer: CUDA when available, else the CPU backend, with the
     * probe's reason written to {@code err} unless {@code reported} says it was written already.
     */
    static Backend auto(BackendInfo cuda, PrintStream err, AtomicBoolean reported) {
        return auto(cuda, err, reported, AttentionChoice.AUTO);
    }

    static Backend auto(BackendInfo cuda, PrintStream err, AtomicBoolean reported, AttentionChoice attention) {
        if (cuda.available()) {
            return create("cuda", attention);
        }
        refuseCudnnOnCpu(attention, "auto, which fell back to the CPU: " + fallbackNotice(cuda));
        if (reported.compareAndSet(false, true)) {
            err.println(fallbackNotice(cuda));
        }
        return cpu();
    }

    /** "CUDA unavailable: &lt;reason&gt;; using the CPU backend", without repeating a prefix the reason carries. */
    static String fallbackNotice(BackendInfo cuda) {
        String prefix = "CUDA unavailable: ";
        String reason = cuda.detail().startsWith(prefix) ? cuda.detail().substring(prefix.length()) : cuda.detail();
        return prefix + reason + "; using the CPU backend";
    }

    /**
     * Where the CUDA backend's kernel library ({@code libleviathan_cuda.so}) is loaded from, and how it was
     * found, or why it is not found. Answered on any machine, with or without a GPU.
     */
    public static String cudaKernelLibrary() {
        return BackendProbe.cudaKernelLibrary();
    }

    /** Every backend this library knows, whether it can run here, and why not when it cannot. */
    public static List<BackendInfo> probe() {
        return List.of(BackendProbe.cpu(), BackendProbe.cuda());
    }
}
