package io.leviathan.backend.cpu;

/** The reference matrix multiply: a plain triple loop in double precision over row-major arrays. */
final class NaiveGemm {
    private NaiveGemm() {}

    /**
     * {@code alpha * op(a) · op(b) + beta * c} for one {@code m x n} result, returned as a new array;
     * {@code a} is stored {@code [m, k]} (or {@code [k, m]} when {@code transA}), {@code b} is stored
     * {@code [k, n]} (or {@code [n, k]} when {@code transB}). {@code beta == 0} ignores {@code c}, which may
     * then be null.
     */
    static double[] gemm(boolean transA, boolean transB, int m, int n, int k, double alpha,
                         double[] a, int aOff, double[] b, int bOff, double beta, double[] c, int cOff) {
        double[] out = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double acc = 0;
                for (int p = 0; p < k; p++) {
                    double x = a[aOff + (transA ? p * m + i : i * k + p)];
                    double y = b[bOff + (transB ? j * k + p : p * n + j)];
                    acc += x * y;
                }
                double v = alpha * acc;
                if (beta != 0) {
                    v += beta * c[cOff + i * n + j];
                }
                out[i * n + j] = v;
            }
        }
        return out;
    }

    /**
     * The batched form of {@link #gemm}: {@code batch} items, where a rank-2 operand (its
     * {@code batched} flag false) is shared by every item.
     */
    static double[] batched(int batch, boolean aBatched, boolean bBatched, boolean transA, boolean transB,
                            int m, int n, int k, double alpha, double[] a, double[] b, double beta, double[] c) {
        double[] out = new double[batch * m * n];
        for (int t = 0; t < batch; t++) {
            double[] r = gemm(transA, transB, m, n, k, alpha, a, aBatched ? t * m * k : 0,
                    b, bBatched ? t * k * n : 0, beta, c, t * m * n);
            System.arraycopy(r, 0, out, t * m * n, m * n);
        }
        return out;
    }
}
