package io.leviathan.bindings.openblas;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** The OpenBLAS binding against a naive double-precision GEMM; skipped, with the reason, without OpenBLAS. */
class OpenBlasTest {

    @Test
    void reportsAvailabilityWithAReason() {
        if (!OpenBlas.isAvailable()) {
            assertTrue(OpenBlas.unavailableReason().isPresent());
            assertFalse(OpenBlas.unavailableReason().get().isBlank());
        } else {
            assertTrue(OpenBlas.unavailableReason().isEmpty());
            assertFalse(OpenBlas.openblas_get_corename().isBlank());
            assertTrue(OpenBlas.openblas_get_num_threads() >= 1);
        }
    }

    @Test
    void sgemmMatchesNaiveReferenceForEveryTransposeCombination() {
        assumeTrue(OpenBlas.isAvailable(), () -> "OpenBLAS not installed: " + OpenBlas.unavailableReason().orElse(""));
        int m = 37, n = 29, k = 53;
        SplittableRandom rnd = new SplittableRandom(11);
        for (boolean ta : new boolean[] {false, true}) {
            for (boolean tb : new boolean[] {false, true}) {
                try (Arena arena = Arena.ofConfined()) {
                    float[] a = random(rnd, m * k);
                    float[] b = random(rnd, k * n);
                    float[] c = random(rnd, m * n);
                    MemorySegment as = arena.allocateFrom(ValueLayout.JAVA_FLOAT, a);
                    MemorySegment bs = arena.allocateFrom(ValueLayout.JAVA_FLOAT, b);
                    MemorySegment cs = arena.allocateFrom(ValueLayout.JAVA_FLOAT, c);
                    int lda = ta ? m : k;
                    int ldb = tb ? k : n;
                    OpenBlas.cblas_sgemm(OpenBlas.CblasRowMajor, ta ? OpenBlas.CblasTrans : OpenBlas.CblasNoTrans,
                            tb ? OpenBlas.CblasTrans : OpenBlas.CblasNoTrans, m, n, k,
                            1.5f, as, lda, bs, ldb, 0.5f, cs, n);
                    for (int i = 0; i < m; i++) {
                        for (int j = 0; j < n; j++) {
                            double s = 0;
                            for (int p = 0; p < k; p++) {
                                double av = ta ? a[p * m + i] : a[i * k + p];
                                double bv = tb ? b[j * k + p] : b[p * n + j];
                                s += av * bv;
                            }
                            double expect = 1.5 * s + 0.5 * c[i * n + j];
                            assertEquals(expect, cs.getAtIndex(ValueLayout.JAVA_FLOAT, (long) i * n + j), 1e-4,
                                    "C[" + i + "," + j + "] transA=" + ta + " transB=" + tb);
                        }
                    }
                }
            }
        }
    }

    private static float[] random(SplittableRandom rnd, int n) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (rnd.nextDouble() * 2 - 1);
        }
        return x;
    }
}
