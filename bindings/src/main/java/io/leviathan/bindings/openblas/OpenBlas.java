package io.leviathan.bindings.openblas;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Bindings to OpenBLAS ({@code libopenblas.so.0}): the CBLAS single-precision GEMM and the thread and
 * kernel queries. Loaded lazily; {@link #isAvailable()} is false, with {@link #unavailableReason()}, when the
 * library is not installed (Debian: {@code libopenblas0-pthread}).
 */
public final class OpenBlas {
    private OpenBlas() {}

    /** CBLAS_ORDER: row-major. */
    public static final int CblasRowMajor = 101;
    /** CBLAS_TRANSPOSE: no transpose. */
    public static final int CblasNoTrans = 111;
    /** CBLAS_TRANSPOSE: transpose. */
    public static final int CblasTrans = 112;

    private static final String[] CANDIDATES = {
        "libopenblas.so.0", "libopenblas.so",
        "/usr/lib/x86_64-linux-gnu/libopenblas.so.0", "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    };

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP;
    private static final String REASON;

    static {
        SymbolLookup found = null;
        String reason = "libopenblas.so.0 not found (Debian: apt-get install libopenblas0-pthread)";
        for (String name : CANDIDATES) {
            if (name.startsWith("/") && !Files.exists(Path.of(name))) {
                continue;
            }
            try {
                found = SymbolLookup.libraryLookup(name, Arena.global());
                reason = null;
                break;
            } catch (IllegalArgumentException e) {
                // try the next candidate
            } catch (IllegalCallerException e) {
                reason = "native access is disabled for this module (run with --enable-native-access)";
                break;
            }
        }
        LOOKUP = found;
        REASON = reason;
    }

    /** void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc). */
    public static final FunctionDescriptor cblas_sgemm$DESC = FunctionDescriptor.ofVoid(
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
            ValueLayout.ADDRESS, ValueLayout.JAVA_INT,
            ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT);
    /** void openblas_set_num_threads(int). */
    public static final FunctionDescriptor openblas_set_num_threads$DESC = FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT);
    /** int openblas_get_num_threads(void). */
    public static final FunctionDescriptor openblas_get_num_threads$DESC = FunctionDescriptor.of(ValueLayout.JAVA_INT);
    /** char* openblas_get_corename(void). */
    public static final FunctionDescriptor openblas_get_corename$DESC = FunctionDescriptor.of(ValueLayout.ADDRESS);

    private static final class Handles {
        static final MethodHandle cblas_sgemm = downcall("cblas_sgemm", cblas_sgemm$DESC);
        static final MethodHandle openblas_set_num_threads = downcall("openblas_set_num_threads", openblas_set_num_threads$DESC);
        static final MethodHandle openblas_get_num_threads = downcall("openblas_get_num_threads", openblas_get_num_threads$DESC);
        static final MethodHandle openblas_get_corename = downcall("openblas_get_corename", openblas_get_corename$DESC);
    }

    private static MethodHandle downcall(String name, FunctionDescriptor desc) {
        requireAvailable();
        MemorySegment sym = LOOKUP.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("OpenBLAS: symbol " + name + " not found in libopenblas"));
        return LINKER.downcallHandle(sym, desc, Linker.Option.critical(false));
    }

    /** True when libopenblas could be loaded. */
    public static boolean isAvailable() {
        return LOOKUP != null;
    }

    /** Why the library is unavailable, if it is. */
    public static Optional<String> unavailableReason() {
        return Optional.ofNullable(REASON);
    }

    private static void requireAvailable() {
        if (LOOKUP == null) {
            throw new IllegalStateException("OpenBLAS is unavailable: " + REASON);
        }
    }

    /** C = alpha * op(A) op(B) + beta * C over native memory. */
    public static void cblas_sgemm(int order, int transA, int transB, int m, int n, int k,
                                   float alpha, MemorySegment a, int lda, MemorySegment b, int ldb,
                                   float beta, MemorySegment c, int ldc) {
        try {
            Handles.cblas_sgemm.invokeExact(order, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        } catch (Throwable t) {
            throw rethrow("cblas_sgemm", t);
        }
    }

    /** Sets OpenBLAS's worker thread count. */
    public static void openblas_set_num_threads(int threads) {
        try {
            Handles.openblas_set_num_threads.invokeExact(threads);
        } catch (Throwable t) {
            throw rethrow("openblas_set_num_threads", t);
        }
    }

    /** OpenBLAS's worker thread count. */
    public static int openblas_get_num_threads() {
        try {
            return (int) Handles.openblas_get_num_threads.invokeExact();
        } catch (Throwable t) {
            throw rethrow("openblas_get_num_threads", t);
        }
    }

    /** The name of the kernel family OpenBLAS selected for this CPU (e.g. "Haswell", "Cooperlake"). */
    public static String openblas_get_corename() {
        try {
            MemorySegment p = (MemorySegment) Handles.openblas_get_corename.invokeExact();
            return p.reinterpret(Long.MAX_VALUE).getString(0);
        } catch (Throwable t) {
            throw rethrow("openblas_get_corename", t);
        }
    }

    private static RuntimeException rethrow(String call, Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException("OpenBLAS " + call + " failed: " + t, t);
    }
}
