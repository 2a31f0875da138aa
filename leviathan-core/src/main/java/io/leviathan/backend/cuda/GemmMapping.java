package io.leviathan.backend.cuda;

/**
 * The cuBLAS arguments of one row-major {@code Backend.matmul}. cuBLAS is column-major, and a row-major
 * {@code [r, c]} matrix read column-major is its transpose, so {@code C = op(A) op(B)} (row-major) is computed
 * as {@code C^T = op(B)^T op(A)^T} (column-major): the operands swap places ({@link #swapped}), {@code m} and
 * {@code n} swap, each operand's transpose flag stays with it, and every leading dimension is the row stride
 * of the matrix as stored.
 *
 * @param transa cuBLAS's {@code transa}: whether its first operand (the Backend's {@code b}) is transposed
 * @param transb cuBLAS's {@code transb}: whether its second operand (the Backend's {@code a}) is transposed
 * @param m rows of cuBLAS's result: the Backend's {@code n}
 * @param n columns of cuBLAS's result: the Backend's {@code m}
 * @param k the shared inner dimension
 * @param lda leading dimension of cuBLAS's first operand ({@code b.size(-1)})
 * @param ldb leading dimension of cuBLAS's second operand ({@code a.size(-1)})
 * @param ldc leading dimension of the result ({@code c.size(-1)}, the Backend's {@code n})
 * @param strideA elements between batch matrices of cuBLAS's first operand (0: a broadcast rank-2 {@code b})
 * @param strideB elements between batch matrices of cuBLAS's second operand (0: a broadcast rank-2 {@code a})
 * @param strideC elements between batch matrices of the result
 * @param batch the number of matrices (1 for rank 2)
 * @param swapped true: cuBLAS's first operand is the Backend's {@code b} and its second is {@code a} (always,
 *     recorded so the caller passes pointers by this record, never by habit)
 */
record GemmMapping(boolean transa, boolean transb, int m, int n, int k, int lda, int ldb, int ldc,
                   long strideA, long strideB, long strideC, int batch, boolean swapped) {

    /**
     * The mapping for {@code c = op(a) op(b)} with the given (already validated) row-major shapes: rank 2, or
     * rank 3 with a leading batch dimension, where a rank-2 operand is broadcast over the batch.
     */
    static GemmMapping of(long[] aShape, boolean transA, long[] bShape, boolean transB, long[] cShape) {
        int ra = aShape.length, rb = bShape.length, rc = cShape.length;
        long rowsA = aShape[ra - 2], colsA = aShape[ra - 1];
        long rowsB = bShape[rb - 2], colsB = bShape[rb - 1];
        long m = transA ? colsA : rowsA;
        long k = transA ? rowsA : colsA;
        long n = transB ? rowsB : colsB;
        long batch = rc == 3 ? cShape[0] : 1;
        return new GemmMapping(
                transB, transA,
                Math.toIntExact(n), Math.toIntExact(m), Math.toIntExact(k),
                Math.toIntExact(colsB), Math.toIntExact(colsA), Math.toIntExact(n),
                rb == 3 ? rowsB * colsB : 0,
                ra == 3 ? rowsA * colsA : 0,
                m * n,
                Math.toIntExact(batch),
                true);
    }
}
