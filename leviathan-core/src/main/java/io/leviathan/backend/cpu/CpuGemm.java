package io.leviathan.backend.cpu;

import io.leviathan.backend.GemmChecks;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply for the CPU backend: a packed, cache-blocked GEMM in the
 * GotoBLAS/BLIS style with a register-blocked Vector API micro-kernel. A and B may each be F32 or BF16;
 * C and all arithmetic are F32.
 *
 * <h2>How it works</h2>
 * All matrices are row-major. For a sub-problem {@code C[m, n] += op(A)[m, k] · op(B)[k, n]}:
 * <ol>
 *   <li>{@code op(A)} is packed, {@link #KC} columns at a time, into {@link #MR}-row micro-panels stored
 *       row by row (stride {@link #KS}), so an untransposed A packs with one bulk copy per row. A block of
 *       up to {@link #MC} rows is packed for each packed B block and swept across its width. A transposed
 *       F32 A (stored {@code [K, M]}, as in a weight gradient) is instead packed k-major by
 *       {@link CpuGemmKMajor}, where each k's MR values are already contiguous in A.</li>
 *   <li>{@code op(B)} is packed into {@link #NR}-column micro-panels (for each {@code k}, {@code NR}
 *       consecutive floats), {@link #NC} columns at a time, once per K block and N block; the A blocks
 *       then follow one another through it.</li>
 *   <li>The micro-kernel multiplies one A micro-panel (cache-resident: it is reused across the whole B
 *       block) by one B micro-panel (streamed): per {@code k} it loads {@code NR/lanes} vectors of B,
 *       broadcasts {@code MR} values of A and issues {@code MR * NR/lanes} fused multiply-adds into
 *       accumulators held in registers, then stores the tile to a small per-thread array.</li>
 *   <li>The tile is merged into C: on the first K block as {@code alpha * tile + beta * C} (or just
 *       {@code alpha * tile} when {@code beta == 0}, so NaN in C is ignored), then
 *       {@code C += alpha * tile}.</li>
 * </ol>
 * Packing pads edge panels with zeros, so the micro-kernel always runs a full tile; only the merge looks at
 * the true edge. Packing is also where BF16 operands become F32: a BF16 value is the upper half of the F32
 * it stands for, so widening (16-bit load, shift left by 16) is exact and the packed panels, and hence
 * every result bit, are the same as for an F32 operand holding the same values. The micro-kernel never
 * sees BF16. Tiny problems skip all of this and run {@link #gemmSimple}. Work is split over the
 * {@link Parallel} pool by batch items and by blocks of rows (or of columns, when C is wide and short);
 * every thread packs into its own reusable buffers, so a call allocates no native memory.
 */
final class CpuGemm {
    private CpuGemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort H = ValueLayout.JAVA_SHORT_UNALIGNED;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** L shorts (BF16 values), widened to L ints and reinterpreted as one {@link #S} vector. */
    private static final VectorSpecies<Short> SH = VectorSpecies.of(short.class, VectorShape.forBitSize(L * Short.SIZE));
    private static final VectorSpecies<Integer> SI = VectorSpecies.of(int.class, S.vectorShape());

    /**
     * Micro-tile rows. 12 rows x 2 vectors = 24 accumulators + 2 B vectors + 1 broadcast fit the 32 vector
     * registers of AVX-512 (and of NEON/SVE); AVX2 has only 16, so it gets 6 rows (12 accumulators).
     */
    static final int MR = L == 8 ? 6 : 12;
    /** Micro-tile columns: two vectors. */
    static final int NR = 2 * L;
    /**
     * Depth of a packed block. Deep blocks mean fewer passes over C (each K block reads and writes all of
     * it); an A micro-panel is then {@code MR * KC} floats (24 KiB), about the size of L1.
     */
    static final int KC = 512;
    /**
     * Row stride of a packed A micro-panel. Padded by a cache line past {@link #KC} so the micro-panel's
     * MR rows, read side by side by the micro-kernel, do not all map to the same L1 cache sets.
     */
    static final int KS = KC + 16;
    /** Columns of a packed B block: {@code KC * NC} floats (2 MiB), streamed through L2 by the kernel. */
    static final int NC = 1024;
    /**
     * Rows of a packed A block (a multiple of MR). B is packed once per (K block, N block) and every A block
     * is then packed and swept across it, so A is repacked once per N block: {@code 1 / NC} of the
     * multiply-adds' work. A block of 384 rows (0.8 MiB at full depth) stays in a 2 MiB L2 beside its B block,
     * so each micro-panel the kernel takes comes from L2; with 2304 rows (4.6 MiB, the whole of A at the
     * transformer's shapes, one pass of B) they came from L3, and the layer shapes ran up to 15 % slower on
     * one thread and up to about 5 % on two (same-process A/B against OpenBLAS, 2 December 2026).
     */
    static final int MC = 384 / MR * MR;

    /** Problems with at most this many multiply-adds run the simple loop: packing would cost more. */
    static final long SIMPLE_MAX_FMAS = 16 * 16 * 16;
    /** Below this many multiply-adds a call stays on one thread: a fork costs microseconds. */
    static final long PARALLEL_MIN_FMAS = 1L << 17;

    /** Per-thread packing buffers, grown on demand and then reused by every call on that thread. */
    private static final class Buffers {
        float[] a = new float[0];
        float[] b = new float[0];
        final float[] tile = new float[MR * NR];

        float[] a(int n) {
            if (a.length < n) {
                a = new float[n];
            }
            return a;
        }

        float[] b(int n) {
            if (b.length < n) {
                b = new float[n];
            }
            return b;
        }
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    // ------------------------------------------------------------------------------------------ matmul

    /**
     * {@code c = alpha * op(a) · op(b) + beta * c} with the {@link io.leviathan.backend.Backend#matmul}
     * contract: rank 2, or rank 3 with a shared leading batch dimension where a rank-2 {@code a} or
     * {@code b} is broadcast over the batch; {@code beta == 0} ignores C's old contents. {@code a} and
     * {@code b} are each F32 or BF16, {@code c} is F32.
     */
    static void matmul(Parallel par, Tensor a, boolean transA, Tensor b, boolean transB, Tensor c,
                       float alpha, float beta) {
        GemmChecks.check(a, transA, b, transB, c); // not matmul(): its dimensions record would be garbage
        int ra = a.rank();
        int rb = b.rank();
        long batch = GemmChecks.batch(c);
        MemorySegment as = a.segment(CpuMemory.KEY);
        MemorySegment bs = b.segment(CpuMemory.KEY);
        MemorySegment cs = c.segment(CpuMemory.KEY);
        GemmChecks.noOverlap(a, as, b, bs, c, cs);
        int mi = (int) GemmChecks.m(a, transA);
        int ni = (int) GemmChecks.n(b, transB);
        int ki = (int) GemmChecks.k(a, transA);
        long strideA = ra == 3 ? (long) mi * ki : 0;
        long strideB = rb == 3 ? (long) ki * ni : 0;
        long strideC = (long) mi * ni;
        int lda = (int) a.size(-1);
        int ldb = (int) b.size(-1);
        gemmBatched(par, (int) batch, transA, transB, mi, ni, ki, alpha,
                as, a.dtype(), 0, strideA, lda, bs, b.dtype(), 0, strideB, ldb, beta, cs, 0, strideC, ni);
    }

    // ------------------------------------------------------------------------------------------ raw gemm

    /**
     * Raw row-major sgemm over memory segments, like CBLAS {@code sgemm} with {@code CblasRowMajor}:
     * {@code C = alpha * op(A) · op(B) + beta * C}, where {@code op(A)} is {@code m x k}, {@code op(B)} is
     * {@code k x n} and C is {@code m x n}. Offsets are in elements; {@code lda}, {@code ldb}, {@code ldc}
     * are the row strides (in elements) of the matrices as stored. {@code beta == 0} ignores C's contents.
     * All three matrices are F32; {@link #gemm} also takes BF16 A and B.
     */
    static void sgemm(Parallel par, boolean transA, boolean transB, int m, int n, int k, float alpha,
                      MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                      float beta, MemorySegment c, long cOff, int ldc) {
        gemm(par, transA, transB, m, n, k, alpha, a, DType.F32, aOff, lda, b, DType.F32, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * {@link #sgemm} with A stored as {@code aType} and B as {@code bType}, each {@link DType#F32} or
     * {@link DType#BF16}; C is F32. Offsets and leading dimensions count elements of the matrix's own
     * type. BF16 elements are widened (exactly) to F32 as they are packed, so the result is bit for bit
     * the one for F32 matrices holding the same values.
     */
    static void gemm(Parallel par, boolean transA, boolean transB, int m, int n, int k, float alpha,
                     MemorySegment a, DType aType, long aOff, int lda, MemorySegment b, DType bType, long bOff,
                     int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        gemmBatched(par, 1, transA, transB, m, n, k, alpha, a, aType, aOff, 0, lda, b, bType, bOff, 0, ldb,
                beta, c, cOff, 0, ldc);
    }

    /** {@link #gemmBatched} with F32 A and B. */
    static void sgemmBatched(Parallel par, int batch, boolean transA, boolean transB, int m, int n, int k,
                             float alpha, MemorySegment a, long aOff, long strideA, int lda,
                             MemorySegment b, long bOff, long strideB, int ldb,
                             float beta, MemorySegment c, long cOff, long strideC, int ldc) {
        gemmBatched(par, batch, transA, transB, m, n, k, alpha, a, DType.F32, aOff, strideA, lda,
                b, DType.F32, bOff, strideB, ldb, beta, c, cOff, strideC, ldc);
    }

    /**
     * {@code batch} independent gemms; item {@code i} uses A at {@code aOff + i * strideA} (a stride of 0
     * broadcasts one matrix), and likewise B and C. Offsets and strides count elements of each matrix's type.
     */
    static void gemmBatched(Parallel par, int batch, boolean transA, boolean transB, int m, int n, int k,
                            float alpha, MemorySegment a, DType aType, long aOff, long strideA, int lda,
                            MemorySegment b, DType bType, long bOff, long strideB, int ldb,
                            float beta, MemorySegment c, long cOff, long strideC, int ldc) {
        boolean aBf16 = isBf16("a", aType);
        boolean bBf16 = isBf16("b", bType);
        if (batch <= 0 || m <= 0 || n <= 0) {
            return;
        }
        long fmas = (long) batch * m * n * Math.max(k, 1);
        int threads = par.threads();
        if (threads == 1 || fmas < PARALLEL_MIN_FMAS) {
            for (int i = 0; i < batch; i++) {
                gemmSerial(transA, transB, m, n, k, alpha, a, aBf16, aOff + i * strideA, lda,
                        b, bBf16, bOff + i * strideB, ldb, beta, c, cOff + i * strideC, ldc);
            }
            return;
        }
        // Split each batch item into `parts` disjoint blocks of C so that batch * parts spreads evenly over
        // the threads, by rows (multiples of MR) or columns (multiples of NR). Every block packs all of the
        // other operand, so split the larger dimension: rows when C is taller than wide (each thread then
        // repacks B), columns otherwise (each thread repacks A), unless that side has too few panels.
        int parts = batch % threads == 0 ? 1 : threads;
        int mPanels = ceilDiv(m, MR);
        int nPanels = ceilDiv(n, NR);
        boolean splitRows = m >= n
                ? mPanels >= parts || mPanels >= nPanels
                : nPanels < parts && mPanels > nPanels;
        int panels = splitRows ? mPanels : nPanels;
        int p = Math.min(parts, panels);
        // The blocks' parameters travel in a job object reused by the calling thread, not a capturing
        // lambda: a matmul runs dozens of times a step and should leave no garbage behind.
        BlockJob job = JOBS.get();
        job.set(p, panels, splitRows, transA, transB, m, n, k, alpha, a, aBf16, aOff, strideA, lda,
                b, bBf16, bOff, strideB, ldb, beta, c, cOff, strideC, ldc);
        try {
            par.forRange((long) batch * p, 1, job);
        } finally {
            job.clear(); // drop the segments so a closed arena's memory is not kept reachable
        }
    }

    private static final ThreadLocal<BlockJob> JOBS = ThreadLocal.withInitial(BlockJob::new);

    /** Blocks {@code [start, end)} of a batched gemm split into {@code p} parts per batch item. */
    private static final class BlockJob implements Parallel.RangeBody {
        private int p, panels, m, n, k, lda, ldb, ldc;
        private boolean splitRows, transA, transB, aBf16, bBf16;
        private float alpha, beta;
        private MemorySegment a, b, c;
        private long aOff, strideA, bOff, strideB, cOff, strideC;

        void set(int p, int panels, boolean splitRows, boolean transA, boolean transB, int m, int n, int k,
                 float alpha, MemorySegment a, boolean aBf16, long aOff, long strideA, int lda,
                 MemorySegment b, boolean bBf16, long bOff, long strideB, int ldb,
                 float beta, MemorySegment c, long cOff, long strideC, int ldc) {
            this.p = p;
            this.panels = panels;
            this.splitRows = splitRows;
            this.transA = transA;
            this.transB = transB;
            this.m = m;
            this.n = n;
            this.k = k;
            this.alpha = alpha;
            this.a = a;
            this.aBf16 = aBf16;
            this.aOff = aOff;
            this.strideA = strideA;
            this.lda = lda;
            this.b = b;
            this.bBf16 = bBf16;
            this.bOff = bOff;
            this.strideB = strideB;
            this.ldb = ldb;
            this.beta = beta;
            this.c = c;
            this.cOff = cOff;
            this.strideC = strideC;
            this.ldc = ldc;
        }

        void clear() {
            a = b = c = null;
        }

        @Override
        public void run(long start, long end) {
            for (long t = start; t < end; t++) {
                int item = (int) (t / p);
                int part = (int) (t % p);
                int first = (int) ((long) panels * part / p);
                int last = (int) ((long) panels * (part + 1) / p);
                long ao = aOff + item * strideA;
                long bo = bOff + item * strideB;
                long co = cOff + item * strideC;
                if (splitRows) {
                    int r0 = first * MR;
                    int r1 = Math.min(m, last * MR);
                    if (r1 > r0) {
                        long aRow = transA ? r0 : (long) r0 * lda;
                        gemmSerial(transA, transB, r1 - r0, n, k, alpha, a, aBf16, ao + aRow, lda,
                                b, bBf16, bo, ldb, beta, c, co + (long) r0 * ldc, ldc);
                    }
                } else {
                    int c0 = first * NR;
                    int c1 = Math.min(n, last * NR);
                    if (c1 > c0) {
                        long bCol = transB ? (long) c0 * ldb : c0;
                        gemmSerial(transA, transB, m, c1 - c0, k, alpha, a, aBf16, ao, lda,
                                b, bBf16, bo + bCol, ldb, beta, c, co + c0, ldc);
                    }
                }
            }
        }
    }

    /** True for BF16, false for F32; anything else is refused, naming the matrix. */
    private static boolean isBf16(String name, DType type) {
        if (type != DType.F32 && type != DType.BF16) {
            throw new IllegalArgumentException("gemm: " + name + " must be F32 or BF16 but is " + type);
        }
        return type == DType.BF16;
    }

    /** One gemm on the calling thread; {@code aBf16}/{@code bBf16} say whether A/B hold BF16. */
    private static void gemmSerial(boolean transA, boolean transB, int m, int n, int k, float alpha,
                                   MemorySegment a, boolean aBf16, long aOff, int lda,
                                   MemorySegment b, boolean bBf16, long bOff, int ldb,
                                   float beta, MemorySegment c, long cOff, int ldc) {
        if (m <= 0 || n <= 0) {
            return;
        }
        if (k == 0 || alpha == 0) {
            scaleC(m, n, beta, c, cOff, ldc);
            return;
        }
        if ((long) m * n * k <= SIMPLE_MAX_FMAS) {
            simple(transA, transB, m, n, k, alpha, a, aBf16, aOff, lda, b, bBf16, bOff, ldb, beta, c, cOff, ldc);
            return;
        }
        Buffers buf = BUFFERS.get();
        float[] tile = buf.tile;
        // Equal-sized blocks (rather than full blocks and a thin remainder), so no block is mostly overhead.
        int mStep = roundUp(ceilDiv(m, ceilDiv(m, MC)), MR);
        int kStep = roundUp(ceilDiv(k, ceilDiv(k, KC)), 16);
        int nStep = roundUp(ceilDiv(n, ceilDiv(n, NC)), NR);
        // A transposed (stored [K, M]) packs k-major: each k's MR values are contiguous in A already.
        boolean kMajor = transA && !aBf16 && K_MAJOR;
        float[] ap = buf.a(mStep * KS);
        float[] bp = buf.b(nStep * kStep);
        for (int p0 = 0; p0 < k; p0 += kStep) {
            int kc = Math.min(kStep, k - p0);
            boolean firstK = p0 == 0;
            for (int j0 = 0; j0 < n; j0 += nStep) {
                int nc = Math.min(nStep, n - j0);
                packB(transB, b, bBf16, bOff, ldb, p0, kc, j0, nc, bp);
                for (int i0 = 0; i0 < m; i0 += mStep) {
                    int mc = Math.min(mStep, m - i0);
                    if (kMajor) {
                        CpuGemmKMajor.packTransposedA(a, aOff, lda, i0, mc, p0, kc, ap);
                    } else {
                        packA(transA, a, aBf16, aOff, lda, i0, mc, p0, kc, ap);
                    }
                    block(kMajor, mc, nc, kc, ap, bp, tile, c, cOff + (long) i0 * ldc + j0, ldc, firstK, alpha, beta);
                }
            }
        }
    }

    /**
     * One packed A block ({@code mc x kc}) times one packed B block ({@code kc x nc}) into C at {@code cOff}:
     * each A micro-panel, held in L1, against every B micro-panel.
     */
    private static void block(boolean kMajor, int mc, int nc, int kc, float[] ap, float[] bp, float[] tile,
                              MemorySegment c, long cOff, int ldc, boolean firstK, float alpha, float beta) {
        for (int ir = 0; ir < mc; ir += MR) {
            int rows = Math.min(MR, mc - ir);
            int pa = ir * KS;
            for (int jr = 0; jr < nc; jr += NR) {
                int cols = Math.min(NR, nc - jr);
                if (kMajor) {
                    CpuGemmKMajor.kernel12(kc, ap, ir * kc, bp, jr * kc, tile);
                } else if (MR == 12) {
                    kernel12(kc, ap, pa, bp, jr * kc, tile);
                } else {
                    kernel6(kc, ap, pa, bp, jr * kc, tile);
                }
                long co = cOff + (long) ir * ldc + jr;
                if (rows == MR && cols == NR) {
                    mergeFull(tile, c, co, ldc, firstK, alpha, beta);
                } else {
                    mergeEdge(tile, rows, cols, c, co, ldc, firstK, alpha, beta);
                }
            }
        }
    }

    private static int ceilDiv(int x, int y) {
        return (x + y - 1) / y;
    }

    private static int roundUp(int x, int to) {
        return (x + to - 1) / to * to;
    }

    // ------------------------------------------------------------------------------------------ packing

    /**
     * Packs {@code op(A)[i0 : i0+mc, p0 : p0+kc]} into MR-row micro-panels stored row by row: row
     * {@code i} of the block (panel {@code i / MR}, row {@code i % MR} in it) is at {@code ap[i * KS ...]};
     * rows from {@code mc} up to the next multiple of MR are zero. Row-major panels make the common
     * untransposed A a bulk copy per row (a vector widening loop for BF16).
     */
    private static void packA(boolean transA, MemorySegment a, boolean bf16, long aOff, int lda, int i0, int mc,
                              int p0, int kc, float[] ap) {
        int es = bf16 ? Short.BYTES : Float.BYTES;
        if (!transA) {
            for (int i = 0; i < mc; i++) {
                long src = (aOff + (long) (i0 + i) * lda + p0) * es;
                if (bf16) {
                    widen(a, src, ap, i * KS, kc);
                } else {
                    MemorySegment.copy(a, F, src, ap, i * KS, kc);
                }
            }
        } else {
            // A stored [K, M]: a transpose. 16x16 blocks in registers, then scalar edges.
            int mFull = TRANSPOSE16 ? mc / 16 * 16 : 0;
            int kFull = TRANSPOSE16 ? kc / 16 * 16 : 0;
            long stride = (long) lda * es;
            for (int kk = 0; kk < kFull; kk += 16) {
                long row = (aOff + (long) (p0 + kk) * lda + i0) * es;
                for (int i = 0; i < mFull; i += 16) {
                    if (bf16) {
                        transpose16Bf16(a, row + (long) i * es, stride, ap, i * KS + kk, KS);
                    } else {
                        transpose16(a, row + (long) i * es, stride, ap, i * KS + kk, KS);
                    }
                }
            }
            for (int kk = 0; kk < kc; kk++) {
                long src = aOff + (long) (p0 + kk) * lda + i0;
                for (int i = kk < kFull ? mFull : 0; i < mc; i++) {
                    ap[i * KS + kk] = get(a, bf16, src + i);
                }
            }
        }
        for (int i = mc; i < roundUp(mc, MR); i++) {
            Arrays.fill(ap, i * KS, i * KS + kc, 0f);
        }
    }

    /**
     * Packs {@code op(B)[p0 : p0+kc, j0 : j0+nc]} into NR-column micro-panels: panel {@code q} holds, for
     * each {@code k}, columns {@code q*NR .. q*NR+NR-1} consecutively; columns past {@code nc} are zero.
     */
    private static void packB(boolean transB, MemorySegment b, boolean bf16, long bOff, int ldb, int p0, int kc,
                              int j0, int nc, float[] bp) {
        int es = bf16 ? Short.BYTES : Float.BYTES;
        for (int jr = 0; jr < nc; jr += NR) {
            int cols = Math.min(NR, nc - jr);
            int base = jr * kc;
            if (!transB) {
                // B stored [K, N]: each k's NR columns are one contiguous run: copy it as vectors. BF16 and
                // F32 get separate branches that each store, so no vector is merged from both (see
                // transpose16Bf16).
                for (int kk = 0; kk < kc; kk++) {
                    long first = bOff + (long) (p0 + kk) * ldb + j0 + jr;
                    int dst = base + kk * NR;
                    if (cols == NR && bf16) {
                        loadBf16(b, first * Short.BYTES).intoArray(bp, dst);
                        loadBf16(b, (first + L) * Short.BYTES).intoArray(bp, dst + L);
                    } else if (cols == NR) {
                        FloatVector.fromMemorySegment(S, b, first * Float.BYTES, NATIVE).intoArray(bp, dst);
                        FloatVector.fromMemorySegment(S, b, (first + L) * Float.BYTES, NATIVE).intoArray(bp, dst + L);
                    } else {
                        for (int j = 0; j < cols; j++) {
                            bp[dst + j] = get(b, bf16, first + j);
                        }
                        for (int j = cols; j < NR; j++) {
                            bp[dst + j] = 0f;
                        }
                    }
                }
            } else {
                // B stored [N, K]: each column of op(B) is a contiguous row of B; a transpose. Full panels
                // go through 16x16 register transposes, the rest element by element.
                int kFull = TRANSPOSE16 && cols == NR ? kc / 16 * 16 : 0;
                long stride = (long) ldb * es;
                for (int jh = 0; jh < NR && kFull > 0; jh += 16) {
                    long row = (bOff + (long) (j0 + jr + jh) * ldb + p0) * es;
                    for (int kk = 0; kk < kFull; kk += 16) {
                        if (bf16) {
                            transpose16Bf16(b, row + (long) kk * es, stride, bp, base + kk * NR + jh, NR);
                        } else {
                            transpose16(b, row + (long) kk * es, stride, bp, base + kk * NR + jh, NR);
                        }
                    }
                }
                for (int j = 0; j < NR; j++) {
                    long src = bOff + (long) (j0 + jr + j) * ldb + p0;
                    for (int kk = kFull; kk < kc; kk++) {
                        bp[base + kk * NR + j] = j < cols ? get(b, bf16, src + kk) : 0f;
                    }
                }
            }
        }
    }

    /** Element {@code index} (counted in elements) of an F32 or BF16 matrix, as an F32. */
    private static float get(MemorySegment m, boolean bf16, long index) {
        return bf16 ? Float.intBitsToFloat(m.getAtIndex(H, index) << 16) : m.getAtIndex(F, index);
    }

    /**
     * {@link #L} BF16 values at byte offset {@code off}, widened: each 16-bit value becomes the upper half
     * of a 32-bit lane (sign-extending convert, then shift left by 16, which drops the extension).
     */
    private static FloatVector loadBf16(MemorySegment m, long off) {
        ShortVector h = ShortVector.fromMemorySegment(SH, m, off, NATIVE);
        return ((IntVector) h.convertShape(VectorOperators.S2I, SI, 0))
                .lanewise(VectorOperators.LSHL, 16)
                .reinterpretAsFloats();
    }

    /** {@code dst[dstOff : dstOff+n] =} the {@code n} BF16 values at byte offset {@code off}, widened. */
    private static void widen(MemorySegment src, long off, float[] dst, int dstOff, int n) {
        int i = 0;
        for (; i <= n - L; i += L) {
            loadBf16(src, off + (long) i * Short.BYTES).intoArray(dst, dstOff + i);
        }
        for (; i < n; i++) {
            dst[dstOff + i] = Float.intBitsToFloat(src.get(H, off + (long) i * Short.BYTES) << 16);
        }
    }

    /** Two-source lane selectors for {@link #transpose16}: interleave the low (high) halves of two vectors. */
    private static final FloatVector ZIP_LO = zipIndex(0);
    private static final FloatVector ZIP_HI = zipIndex(L / 2);

    private static FloatVector zipIndex(int from) {
        float[] idx = new float[L];
        for (int q = 0; q < L; q++) {
            idx[q] = (q % 2 == 0 ? 0 : L) + from + q / 2;
        }
        return FloatVector.fromArray(S, idx, 0);
    }

    /**
     * True when a transposed F32 A packs k-major ({@link CpuGemmKMajor}): 16-lane vectors, so one masked
     * load takes a k's {@link #MR} = 12 values.
     */
    static final boolean K_MAJOR = L == 16 && MR == 12;

    /** True when {@link #transpose16} applies: 16-lane vectors (AVX-512). Otherwise packing is scalar. */
    private static final boolean TRANSPOSE16 = L == 16;

    /**
     * Transposes a 16x16 block: row {@code q} of {@code src} (16 floats at byte offset
     * {@code srcOff + q * srcStride}) becomes column {@code q} of the 16 rows written to {@code dst} at
     * {@code dstOff + i * dstStride}. Four rounds of "interleave row j with row j+8" transpose the block in
     * registers (one two-source permute per output vector per round); this is several times faster than
     * moving the 256 floats one by one with strided stores.
     */
    private static void transpose16(MemorySegment src, long srcOff, long srcStride,
                                    float[] dst, int dstOff, int dstStride) {
        FloatVector lo = ZIP_LO;
        FloatVector hi = ZIP_HI;
        FloatVector v0 = FloatVector.fromMemorySegment(S, src, srcOff + 0 * srcStride, NATIVE);
        FloatVector v1 = FloatVector.fromMemorySegment(S, src, srcOff + 1 * srcStride, NATIVE);
        FloatVector v2 = FloatVector.fromMemorySegment(S, src, srcOff + 2 * srcStride, NATIVE);
        FloatVector v3 = FloatVector.fromMemorySegment(S, src, srcOff + 3 * srcStride, NATIVE);
        FloatVector v4 = FloatVector.fromMemorySegment(S, src, srcOff + 4 * srcStride, NATIVE);
        FloatVector v5 = FloatVector.fromMemorySegment(S, src, srcOff + 5 * srcStride, NATIVE);
        FloatVector v6 = FloatVector.fromMemorySegment(S, src, srcOff + 6 * srcStride, NATIVE);
        FloatVector v7 = FloatVector.fromMemorySegment(S, src, srcOff + 7 * srcStride, NATIVE);
        FloatVector v8 = FloatVector.fromMemorySegment(S, src, srcOff + 8 * srcStride, NATIVE);
        FloatVector v9 = FloatVector.fromMemorySegment(S, src, srcOff + 9 * srcStride, NATIVE);
        FloatVector v10 = FloatVector.fromMemorySegment(S, src, srcOff + 10 * srcStride, NATIVE);
        FloatVector v11 = FloatVector.fromMemorySegment(S, src, srcOff + 11 * srcStride, NATIVE);
        FloatVector v12 = FloatVector.fromMemorySegment(S, src, srcOff + 12 * srcStride, NATIVE);
        FloatVector v13 = FloatVector.fromMemorySegment(S, src, srcOff + 13 * srcStride, NATIVE);
        FloatVector v14 = FloatVector.fromMemorySegment(S, src, srcOff + 14 * srcStride, NATIVE);
        FloatVector v15 = FloatVector.fromMemorySegment(S, src, srcOff + 15 * srcStride, NATIVE);
        FloatVector w0 = lo.selectFrom(v0, v8);
        FloatVector w1 = hi.selectFrom(v0, v8);
        FloatVector w2 = lo.selectFrom(v1, v9);
        FloatVector w3 = hi.selectFrom(v1, v9);
        FloatVector w4 = lo.selectFrom(v2, v10);
        FloatVector w5 = hi.selectFrom(v2, v10);
        FloatVector w6 = lo.selectFrom(v3, v11);
        FloatVector w7 = hi.selectFrom(v3, v11);
        FloatVector w8 = lo.selectFrom(v4, v12);
        FloatVector w9 = hi.selectFrom(v4, v12);
        FloatVector w10 = lo.selectFrom(v5, v13);
        FloatVector w11 = hi.selectFrom(v5, v13);
        FloatVector w12 = lo.selectFrom(v6, v14);
        FloatVector w13 = hi.selectFrom(v6, v14);
        FloatVector w14 = lo.selectFrom(v7, v15);
        FloatVector w15 = hi.selectFrom(v7, v15);
        v0 = lo.selectFrom(w0, w8);
        v1 = hi.selectFrom(w0, w8);
        v2 = lo.selectFrom(w1, w9);
        v3 = hi.selectFrom(w1, w9);
        v4 = lo.selectFrom(w2, w10);
        v5 = hi.selectFrom(w2, w10);
        v6 = lo.selectFrom(w3, w11);
        v7 = hi.selectFrom(w3, w11);
        v8 = lo.selectFrom(w4, w12);
        v9 = hi.selectFrom(w4, w12);
        v10 = lo.selectFrom(w5, w13);
        v11 = hi.selectFrom(w5, w13);
        v12 = lo.selectFrom(w6, w14);
        v13 = hi.selectFrom(w6, w14);
        v14 = lo.selectFrom(w7, w15);
        v15 = hi.selectFrom(w7, w15);
        w0 = lo.selectFrom(v0, v8);
        w1 = hi.selectFrom(v0, v8);
        w2 = lo.selectFrom(v1, v9);
        w3 = hi.selectFrom(v1, v9);
        w4 = lo.selectFrom(v2, v10);
        w5 = hi.selectFrom(v2, v10);
        w6 = lo.selectFrom(v3, v11);
        w7 = hi.selectFrom(v3, v11);
        w8 = lo.selectFrom(v4, v12);
        w9 = hi.selectFrom(v4, v12);
        w10 = lo.selectFrom(v5, v13);
        w11 = hi.selectFrom(v5, v13);
        w12 = lo.selectFrom(v6, v14);
        w13 = hi.selectFrom(v6, v14);
        w14 = lo.selectFrom(v7, v15);
        w15 = hi.selectFrom(v7, v15);
        v0 = lo.selectFrom(w0, w8);
        v1 = hi.selectFrom(w0, w8);
        v2 = lo.selectFrom(w1, w9);
        v3 = hi.selectFrom(w1, w9);
        v4 = lo.selectFrom(w2, w10);
        v5 = hi.selectFrom(w2, w10);
        v6 = lo.selectFrom(w3, w11);
        v7 = hi.selectFrom(w3, w11);
        v8 = lo.selectFrom(w4, w12);
        v9 = hi.selectFrom(w4, w12);
        v10 = lo.selectFrom(w5, w13);
        v11 = hi.selectFrom(w5, w13);
        v12 = lo.selectFrom(w6, w14);
        v13 = hi.selectFrom(w6, w14);
        v14 = lo.selectFrom(w7, w15);
        v15 = hi.selectFrom(w7, w15);
        v0.intoArray(dst, dstOff + 0 * dstStride);
        v1.intoArray(dst, dstOff + 1 * dstStride);
        v2.intoArray(dst, dstOff + 2 * dstStride);
        v3.intoArray(dst, dstOff + 3 * dstStride);
        v4.intoArray(dst, dstOff + 4 * dstStride);
        v5.intoArray(dst, dstOff + 5 * dstStride);
        v6.intoArray(dst, dstOff + 6 * dstStride);
        v7.intoArray(dst, dstOff + 7 * dstStride);
        v8.intoArray(dst, dstOff + 8 * dstStride);
        v9.intoArray(dst, dstOff + 9 * dstStride);
        v10.intoArray(dst, dstOff + 10 * dstStride);
        v11.intoArray(dst, dstOff + 11 * dstStride);
        v12.intoArray(dst, dstOff + 12 * dstStride);
        v13.intoArray(dst, dstOff + 13 * dstStride);
        v14.intoArray(dst, dstOff + 14 * dstStride);
        v15.intoArray(dst, dstOff + 15 * dstStride);
    }

    /**
     * {@link #transpose16} for a block of BF16 values, widened to F32 as they are loaded. A separate copy
     * rather than a flag on one method: merging F32 and BF16 loads into the same vector variables makes C2
     * box them (a vector phi), which made the F32 transposed packing about a fifth slower once both dtypes
     * had run.
     */
    private static void transpose16Bf16(MemorySegment src, long srcOff, long srcStride,
                                        float[] dst, int dstOff, int dstStride) {
        FloatVector lo = ZIP_LO;
        FloatVector hi = ZIP_HI;
        FloatVector v0 = loadBf16(src, srcOff + 0 * srcStride);
        FloatVector v1 = loadBf16(src, srcOff + 1 * srcStride);
        FloatVector v2 = loadBf16(src, srcOff + 2 * srcStride);
        FloatVector v3 = loadBf16(src, srcOff + 3 * srcStride);
        FloatVector v4 = loadBf16(src, srcOff + 4 * srcStride);
        FloatVector v5 = loadBf16(src, srcOff + 5 * srcStride);
        FloatVector v6 = loadBf16(src, srcOff + 6 * srcStride);
        FloatVector v7 = loadBf16(src, srcOff + 7 * srcStride);
        FloatVector v8 = loadBf16(src, srcOff + 8 * srcStride);
        FloatVector v9 = loadBf16(src, srcOff + 9 * srcStride);
        FloatVector v10 = loadBf16(src, srcOff + 10 * srcStride);
        FloatVector v11 = loadBf16(src, srcOff + 11 * srcStride);
        FloatVector v12 = loadBf16(src, srcOff + 12 * srcStride);
        FloatVector v13 = loadBf16(src, srcOff + 13 * srcStride);
        FloatVector v14 = loadBf16(src, srcOff + 14 * srcStride);
        FloatVector v15 = loadBf16(src, srcOff + 15 * srcStride);
        FloatVector w0 = lo.selectFrom(v0, v8);
        FloatVector w1 = hi.selectFrom(v0, v8);
        FloatVector w2 = lo.selectFrom(v1, v9);
        FloatVector w3 = hi.selectFrom(v1, v9);
        FloatVector w4 = lo.selectFrom(v2, v10);
        FloatVector w5 = hi.selectFrom(v2, v10);
        FloatVector w6 = lo.selectFrom(v3, v11);
        FloatVector w7 = hi.selectFrom(v3, v11);
        FloatVector w8 = lo.selectFrom(v4, v12);
        FloatVector w9 = hi.selectFrom(v4, v12);
        FloatVector w10 = lo.selectFrom(v5, v13);
        FloatVector w11 = hi.selectFrom(v5, v13);
        FloatVector w12 = lo.selectFrom(v6, v14);
        FloatVector w13 = hi.selectFrom(v6, v14);
        FloatVector w14 = lo.selectFrom(v7, v15);
        FloatVector w15 = hi.selectFrom(v7, v15);
        v0 = lo.selectFrom(w0, w8);
        v1 = hi.selectFrom(w0, w8);
        v2 = lo.selectFrom(w1, w9);
        v3 = hi.selectFrom(w1, w9);
        v4 = lo.selectFrom(w2, w10);
        v5 = hi.selectFrom(w2, w10);
        v6 = lo.selectFrom(w3, w11);
        v7 = hi.selectFrom(w3, w11);
        v8 = lo.selectFrom(w4, w12);
        v9 = hi.selectFrom(w4, w12);
        v10 = lo.selectFrom(w5, w13);
        v11 = hi.selectFrom(w5, w13);
        v12 = lo.selectFrom(w6, w14);
        v13 = hi.selectFrom(w6, w14);
        v14 = lo.selectFrom(w7, w15);
        v15 = hi.selectFrom(w7, w15);
        w0 = lo.selectFrom(v0, v8);
        w1 = hi.selectFrom(v0, v8);
        w2 = lo.selectFrom(v1, v9);
        w3 = hi.selectFrom(v1, v9);
        w4 = lo.selectFrom(v2, v10);
        w5 = hi.selectFrom(v2, v10);
        w6 = lo.selectFrom(v3, v11);
        w7 = hi.selectFrom(v3, v11);
        w8 = lo.selectFrom(v4, v12);
        w9 = hi.selectFrom(v4, v12);
        w10 = lo.selectFrom(v5, v13);
        w11 = hi.selectFrom(v5, v13);
        w12 = lo.selectFrom(v6, v14);
        w13 = hi.selectFrom(v6, v14);
        w14 = lo.selectFrom(v7, v15);
        w15 = hi.selectFrom(v7, v15);
        v0 = lo.selectFrom(w0, w8);
        v1 = hi.selectFrom(w0, w8);
        v2 = lo.selectFrom(w1, w9);
        v3 = hi.selectFrom(w1, w9);
        v4 = lo.selectFrom(w2, w10);
        v5 = hi.selectFrom(w2, w10);
        v6 = lo.selectFrom(w3, w11);
        v7 = hi.selectFrom(w3, w11);
        v8 = lo.selectFrom(w4, w12);
        v9 = hi.selectFrom(w4, w12);
        v10 = lo.selectFrom(w5, w13);
        v11 = hi.selectFrom(w5, w13);
        v12 = lo.selectFrom(w6, w14);
        v13 = hi.selectFrom(w6, w14);
        v14 = lo.selectFrom(w7, w15);
        v15 = hi.selectFrom(w7, w15);
        v0.intoArray(dst, dstOff + 0 * dstStride);
        v1.intoArray(dst, dstOff + 1 * dstStride);
        v2.intoArray(dst, dstOff + 2 * dstStride);
        v3.intoArray(dst, dstOff + 3 * dstStride);
        v4.intoArray(dst, dstOff + 4 * dstStride);
        v5.intoArray(dst, dstOff + 5 * dstStride);
        v6.intoArray(dst, dstOff + 6 * dstStride);
        v7.intoArray(dst, dstOff + 7 * dstStride);
        v8.intoArray(dst, dstOff + 8 * dstStride);
        v9.intoArray(dst, dstOff + 9 * dstStride);
        v10.intoArray(dst, dstOff + 10 * dstStride);
        v11.intoArray(dst, dstOff + 11 * dstStride);
        v12.intoArray(dst, dstOff + 12 * dstStride);
        v13.intoArray(dst, dstOff + 13 * dstStride);
        v14.intoArray(dst, dstOff + 14 * dstStride);
        v15.intoArray(dst, dstOff + 15 * dstStride);
    }

    // ------------------------------------------------------------------------------------------ micro-kernels

    /**
     * tile[12 x 2L] = A micro-panel · B micro-panel over {@code kc}. The 24 accumulators are locals so the
     * JIT keeps them in vector registers; per k: 2 vector loads of B, 12 broadcasts of A, 24 FMAs.
     */
    private static void kernel12(int kc, float[] ap, int pa, float[] bp, int pb, float[] tile) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z;
        FloatVector c40 = z, c41 = z, c50 = z, c51 = z, c60 = z, c61 = z, c70 = z, c71 = z;
        FloatVector c80 = z, c81 = z, c90 = z, c91 = z, ca0 = z, ca1 = z, cb0 = z, cb1 = z;
        for (int kk = 0; kk < kc; kk++) {
            int ia = pa + kk;
            int ib = pb + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, ib);
            FloatVector b1 = FloatVector.fromArray(S, bp, ib + L);
            FloatVector x;
            x = FloatVector.broadcast(S, ap[ia]);      c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ia + 1 * KS]);  c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ia + 2 * KS]);  c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ia + 3 * KS]);  c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ia + 4 * KS]);  c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ia + 5 * KS]);  c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
            x = FloatVector.broadcast(S, ap[ia + 6 * KS]);  c60 = x.fma(b0, c60); c61 = x.fma(b1, c61);
            x = FloatVector.broadcast(S, ap[ia + 7 * KS]);  c70 = x.fma(b0, c70); c71 = x.fma(b1, c71);
            x = FloatVector.broadcast(S, ap[ia + 8 * KS]);  c80 = x.fma(b0, c80); c81 = x.fma(b1, c81);
            x = FloatVector.broadcast(S, ap[ia + 9 * KS]);  c90 = x.fma(b0, c90); c91 = x.fma(b1, c91);
            x = FloatVector.broadcast(S, ap[ia + 10 * KS]); ca0 = x.fma(b0, ca0); ca1 = x.fma(b1, ca1);
            x = FloatVector.broadcast(S, ap[ia + 11 * KS]); cb0 = x.fma(b0, cb0); cb1 = x.fma(b1, cb1);
        }
        c00.intoArray(tile, 0);       c01.intoArray(tile, L);
        c10.intoArray(tile, NR);      c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR);  c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR);  c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR);  c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR);  c51.intoArray(tile, 5 * NR + L);
        c60.intoArray(tile, 6 * NR);  c61.intoArray(tile, 6 * NR + L);
        c70.intoArray(tile, 7 * NR);  c71.intoArray(tile, 7 * NR + L);
        c80.intoArray(tile, 8 * NR);  c81.intoArray(tile, 8 * NR + L);
        c90.intoArray(tile, 9 * NR);  c91.intoArray(tile, 9 * NR + L);
        ca0.intoArray(tile, 10 * NR); ca1.intoArray(tile, 10 * NR + L);
        cb0.intoArray(tile, 11 * NR); cb1.intoArray(tile, 11 * NR + L);
    }

    /** The 6-row kernel for 16-register ISAs (AVX2): 12 accumulators, 2 B vectors, 1 broadcast. */
    private static void kernel6(int kc, float[] ap, int pa, float[] bp, int pb, float[] tile) {
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z;
        FloatVector c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        for (int kk = 0; kk < kc; kk++) {
            int ia = pa + kk;
            int ib = pb + kk * NR;
            FloatVector b0 = FloatVector.fromArray(S, bp, ib);
            FloatVector b1 = FloatVector.fromArray(S, bp, ib + L);
            FloatVector x;
            x = FloatVector.broadcast(S, ap[ia]);     c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, ap[ia + 1 * KS]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, ap[ia + 2 * KS]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, ap[ia + 3 * KS]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, ap[ia + 4 * KS]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, ap[ia + 5 * KS]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(tile, 0);      c01.intoArray(tile, L);
        c10.intoArray(tile, NR);     c11.intoArray(tile, NR + L);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + L);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + L);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + L);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + L);
    }

    // ------------------------------------------------------------------------------------------ merging into C

    /** A full MR x NR tile into C: {@code C = tile + beta*C} on the first K block, then {@code C += tile}. */
    private static void mergeFull(float[] tile, MemorySegment c, long cOff, int ldc, boolean firstK,
                                  float alpha, float beta) {
        boolean overwrite = firstK && beta == 0f;
        float scale = firstK ? beta : 1f;
        for (int r = 0; r < MR; r++) {
            long off = (cOff + (long) r * ldc) * Float.BYTES;
            for (int v = 0; v < NR; v += L) {
                FloatVector t = FloatVector.fromArray(S, tile, r * NR + v);
                if (alpha != 1f) {
                    t = t.mul(alpha);
                }
                long o = off + (long) v * Float.BYTES;
                if (!overwrite) {
                    FloatVector old = FloatVector.fromMemorySegment(S, c, o, NATIVE);
                    t = scale == 1f ? t.add(old) : old.fma(FloatVector.broadcast(S, scale), t);
                }
                t.intoMemorySegment(c, o, NATIVE);
            }
        }
    }

    /** A partial tile ({@code rows x cols} of it are inside C) into C, element by element. */
    private static void mergeEdge(float[] tile, int rows, int cols, MemorySegment c, long cOff, int ldc,
                                  boolean firstK, float alpha, float beta) {
        boolean overwrite = firstK && beta == 0f;
        float scale = firstK ? beta : 1f;
        for (int r = 0; r < rows; r++) {
            long row = cOff + (long) r * ldc;
            for (int j = 0; j < cols; j++) {
                float t = alpha * tile[r * NR + j];
                if (!overwrite) {
                    t += scale * c.getAtIndex(F, row + j);
                }
                c.setAtIndex(F, row + j, t);
            }
        }
    }

    /** {@code C = beta * C}, or zero when {@code beta == 0} (the K = 0 and alpha = 0 cases). */
    private static void scaleC(int m, int n, float beta, MemorySegment c, long cOff, int ldc) {
        if (beta == 1f) {
            return;
        }
        for (int i = 0; i < m; i++) {
            long row = cOff + (long) i * ldc;
            for (int j = 0; j < n; j++) {
                c.setAtIndex(F, row + j, beta == 0f ? 0f : beta * c.getAtIndex(F, row + j));
            }
        }
    }

    // ------------------------------------------------------------------------------------------ simple path

    /** {@link #gemmSimple} with F32 A and B. */
    static void sgemmSimple(boolean transA, boolean transB, int m, int n, int k, float alpha,
                            MemorySegment a, long aOff, int lda, MemorySegment b, long bOff, int ldb,
                            float beta, MemorySegment c, long cOff, int ldc) {
        simple(transA, transB, m, n, k, alpha, a, false, aOff, lda, b, false, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * The control path: a plain triple loop with float accumulation, used for tiny problems (where packing
     * costs more than it saves) and as a cross-check for the blocked path in tests. Same arguments as
     * {@link #gemm} (without the threads); BF16 elements are widened one by one as they are read.
     */
    static void gemmSimple(boolean transA, boolean transB, int m, int n, int k, float alpha,
                           MemorySegment a, DType aType, long aOff, int lda, MemorySegment b, DType bType,
                           long bOff, int ldb, float beta, MemorySegment c, long cOff, int ldc) {
        simple(transA, transB, m, n, k, alpha, a, isBf16("a", aType), aOff, lda, b, isBf16("b", bType), bOff,
                ldb, beta, c, cOff, ldc);
    }

    private static void simple(boolean transA, boolean transB, int m, int n, int k, float alpha,
                               MemorySegment a, boolean aBf16, long aOff, int lda,
                               MemorySegment b, boolean bBf16, long bOff, int ldb,
                               float beta, MemorySegment c, long cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                float acc = 0f;
                for (int p = 0; p < k; p++) {
                    float x = get(a, aBf16, aOff + (transA ? (long) p * lda + i : (long) i * lda + p));
                    float y = get(b, bBf16, bOff + (transB ? (long) j * ldb + p : (long) p * ldb + j));
                    acc = Math.fma(x, y, acc);
                }
                long ci = cOff + (long) i * ldc + j;
                float v = alpha * acc;
                c.setAtIndex(F, ci, beta == 0f ? v : v + beta * c.getAtIndex(F, ci));
            }
        }
    }
}
