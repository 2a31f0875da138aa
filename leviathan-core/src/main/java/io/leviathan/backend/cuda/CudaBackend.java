package io.leviathan.backend.cuda;

import io.leviathan.backend.ActivationChecks;
import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.AttentionChecks;
import io.leviathan.backend.AttentionChoice;
import io.leviathan.backend.Backend;
import io.leviathan.backend.CrossEntropyChecks;
import io.leviathan.backend.ElementwiseChecks;
import io.leviathan.backend.EmbeddingChecks;
import io.leviathan.backend.NormChecks;
import io.leviathan.backend.OpChecks;
import io.leviathan.backend.OptimizerChecks;
import io.leviathan.backend.ReductionChecks;
import io.leviathan.backend.RopeChecks;
import io.leviathan.backend.SeparableModesChecks;
import io.leviathan.backend.SplineBasisChecks;
import io.leviathan.bindings.NativeCallException;
import io.leviathan.bindings.cuda.CuBlas;
import io.leviathan.bindings.cuda.CuBlasLt;
import io.leviathan.bindings.cuda.CuDnn;
import io.leviathan.bindings.cuda.CudaLibraries;
import io.leviathan.bindings.cuda.CudaLibrary;
import io.leviathan.bindings.cuda.LeviathanCuda;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Device;
import io.leviathan.tensor.MemoryKey;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The CUDA backend: one device, one stream, every operation an asynchronous call into Leviathan's kernel
 * library ({@link LeviathanCuda}) or cuBLAS ({@link CudaGemm}) after the same argument checks as the CPU
 * backend. Nothing waits for the device except a download and {@link #synchronize()}, which also throw the
 * bad data kernels recorded in the {@link DeviceErrorRecord}. Memory comes from a caching allocator
 * ({@link CudaAllocator}), workspaces from reused {@link DeviceScratch} buffers and host transfers go through
 * pinned staging ({@link CudaTransfer}), so a training step allocates nothing once warm.
 *
 * <p>System properties: {@code leviathan.cuda.tf32=true} lets F32 GEMMs use TF32 tensor cores (off by
 * default: F32 means F32); {@code leviathan.cuda.deterministic=false} lets the embedding backward use atomics
 * (by default it sums each row in a fixed order, so runs and resumes repeat bit for bit).
 *
 * <p>Use it from one thread at a time (the host side is one stream); a thread switch re-selects the device.
 */
public final class CudaBackend implements Backend {
    /** System property: {@code true} allows TF32 products in F32 GEMMs. */
    public static final String TF32_PROPERTY = "leviathan.cuda.tf32";
    /** System property: {@code false} allows the faster, non-deterministic embedding backward. */
    public static final String DETERMINISTIC_PROPERTY = "leviathan.cuda.deterministic";

    private static final int F32 = LeviathanCuda.LV_F32;
    private static final int BF16 = LeviathanCuda.LV_BF16;

    private final LeviathanCuda lib;
    private final CudaContext cx;
    private final MemoryKey key;
    private final CachingDeviceMemory memory;
    private final CudaAllocator allocator;
    private final DeviceErrorRecord errors;
    private final CudaTransfer transfer;
    private final CudaGemm gemm;
    private final CuBlasLt cublasLt;
    private final DeviceScratch workspace;
    private final DeviceScratch normAccumulator;
    private final boolean deterministic;
    private final String deviceName;
    private boolean closed;
    // attention: which implementation runs it (useAttention); cuDNN's part is null when not loaded, with the reason
    private AttentionRoute attentionRoute = new AttentionRoute(AttentionChoice.NATIVE, System.err);
    private CudnnAttention cudnnAttention;
    private String cudnnMissing = "cuDNN is not loaded";

    private CudaBackend(LeviathanCuda lib, CudaContext cx, MemoryKey key, CachingDeviceMemory memory,
                        DeviceErrorRecord errors, CudaTransfer transfer, CudaGemm gemm, CuBlasLt cublasLt,
                        String deviceName) {
        this.lib = lib;
        this.cx = cx;
        this.key = key;
        this.memory = memory;
        this.allocator = new CudaAllocator(memory, key, cx.device);
        this.errors = errors;
        this.transfer = transfer;
        this.gemm = gemm;
        this.cublasLt = cublasLt;
        this.workspace = new DeviceScratch(cx);
        this.normAccumulator = new DeviceScratch(cx);
        this.deterministic = !"false".equalsIgnoreCase(System.getProperty(DETERMINISTIC_PROPERTY));
        this.deviceName = deviceName;
    }

    /**
     * Opens a backend on {@code device}: checks the kernel library's ABI version, selects the device, creates
     * the stream, the error record, the staging event and a cuBLAS handle on the stream.
     *
     * @param lib the loaded kernel library
     * @param cublas the loaded cuBLAS
     * @param cublasLtOrNull the loaded cuBLASLt, or null: then BF16 x BF16 GEMMs use {@code cublasGemmEx} too
     * @param device the CUDA device ordinal
     * @throws IllegalStateException when the library's ABI version is not the one these bindings were written for
     * @throws io.leviathan.bindings.NativeCallException naming the first runtime or cuBLAS call that failed
     */
    public static CudaBackend open(LeviathanCuda lib, CuBlas cublas, CuBlasLt cublasLtOrNull, int device) {
        if (lib == null || cublas == null) {
            throw new IllegalArgumentException("CudaBackend.open: the kernel library and cuBLAS are required");
        }
        int abi = lib.lv_abi_version();
        if (abi != LeviathanCuda.LV_ABI_VERSION) {
            throw new IllegalStateException("CUDA kernel library " + lib.library().file() + " has ABI version " + abi
                    + " but this build needs " + LeviathanCuda.LV_ABI_VERSION + "; rebuild native/");
        }
        String name = deviceName(lib, device);
        CudaContext cx = CudaContext.open(lib, device);
        MemoryKey key = new MemoryKey("cuda backend (" + "cuda:" + device + ")");
        CachingDeviceMemory memory = new CachingDeviceMemory(cx);
        DeviceErrorRecord errors = null;
        CudaTransfer transfer = null;
        try {
            errors = new DeviceErrorRecord(cx);
            transfer = new CudaTransfer(cx, key, errors);
            CudaGemm gemm = new CudaGemm(cx, cublas, cublasLtOrNull, key, Boolean.getBoolean(TF32_PROPERTY));
            return new CudaBackend(lib, cx, key, memory, errors, transfer, gemm, cublasLtOrNull, name);
        } catch (RuntimeException e) {
            closeQuietly(transfer, e);
            closeQuietly(errors, e);
            closeQuietly(memory, e);
            closeQuietly(cx, e);
            throw e;
        }
    }

    /**
     * Opens a backend on {@code device} with the libraries {@code libraries} finds: cuBLAS and cuBLASLt (loaded
     * cuBLASLt first) and our kernel library. Call it after {@code CudaProbe} reported CUDA available.
     *
     * @throws io.leviathan.bindings.cuda.LibraryNotFoundException listing every place tried, for a missing library
     */
    public static CudaBackend open(CudaLibraries libraries, int device) {
        return open(libraries, device, AttentionChoice.AUTO);
    }

    /**
     * {@link #open(CudaLibraries, int)} with attention run as {@code attention} says: {@code auto} and
     * {@code cudnn} load cuDNN from {@code libraries} (see {@link #useAttention}).
     *
     * @throws IllegalStateException with attention = cudnn, when cuDNN cannot be loaded or started
     */
    public static CudaBackend open(CudaLibraries libraries, int device, AttentionChoice attention) {
        CuBlas cublas = new CuBlas(libraries.load(CudaLibrary.CUBLAS));
        CuBlasLt cublasLt = new CuBlasLt(libraries.load(CudaLibrary.CUBLAS_LT));
        LeviathanCuda lib = new LeviathanCuda(libraries.load(CudaLibrary.LEVIATHAN));
        CudaBackend be = open(lib, cublas, cublasLt, device);
        try {
            be.useAttention(attention, libraries);
        } catch (RuntimeException e) {
            closeQuietly(be, e);
            throw e;
        }
        return be;
    }

    /**
     * Sets how attention runs. {@code native}: our kernel. {@code auto}: cuDNN's fused attention where cuDNN loads
     * from {@code libraries} and finalizes a plan for the call's dtype and shape, else our kernel. {@code cudnn}: cuDNN
     * or an error. The decision and its reason go to standard error once each.
     *
     * @throws IllegalStateException with {@code cudnn}, when cuDNN cannot be loaded or started
     */
    public void useAttention(AttentionChoice attention, CudaLibraries libraries) {
        cx.bindThread();
        if (attention != AttentionChoice.NATIVE && cudnnAttention == null) {
            try {
                cudnnAttention = CudnnAttention.open(new CuDnn(libraries.load(CudaLibrary.CUDNN)), lib, cx);
            } catch (RuntimeException | LinkageError e) {
                cudnnMissing = "cuDNN unavailable: " + e.getMessage();
                if (attention == AttentionChoice.CUDNN) {
                    throw new IllegalStateException("attention = cudnn, but " + cudnnMissing, e);
                }
            }
        }
        attentionRoute = new AttentionRoute(attention, System.err);
    }

    private static String deviceName(LeviathanCuda lib, int device) {
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment buf = a.allocate(256);
            lib.check("lv_device_name", lib.lv_device_name(device, buf, 256));
            return buf.getString(0);
        }
    }

    private static void closeQuietly(AutoCloseable c, RuntimeException primary) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception suppressed) {
            primary.addSuppressed(suppressed);
        }
    }

    @Override public String name() { return "cuda"; }
    @Override public Device device() { return Device.CUDA; }
    @Override public int threads() { return 1; }
    @Override public TensorArena newArena() { return new TensorArena(allocator); }

    /** The device's name as the runtime reports it, e.g. "NVIDIA H200". */
    public String deviceName() {
        return deviceName;
    }

    /** The device ordinal. */
    public int deviceOrdinal() {
        return cx.device;
    }

    /** The cuBLAS version the handle reports ({@code cublasGetVersion_v2}), e.g. 130100 for 13.1.0. */
    public int cublasVersion() {
        cx.bindThread();
        return gemm.version();
    }

    /** True when a cuBLASLt library was supplied: BF16 x BF16 GEMMs then run on it where it has an algorithm. */
    public boolean hasCublasLt() {
        return cublasLt != null;
    }

    /** Distinct GEMM shapes cuBLASLt has planned (each plans once; 0 without cuBLASLt). */
    public int cublasLtPlans() {
        return gemm.cublasLtPlans();
    }

    /**
     * The device's free memory ({@code lv_mem_info}) plus the blocks the caching allocator holds free, which
     * new tensors reuse before asking the driver.
     */
    @Override
    public java.util.OptionalLong memoryAvailable() {
        cx.bindThread();
        try (java.lang.foreign.Arena a = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment free = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            MemorySegment total = a.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            check("lv_mem_info", lib.lv_mem_info(free, total));
            return java.util.OptionalLong.of(free.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0)
                    + memory.stats().bytesCached());
        }
    }

    /** The caching allocator's counters: driver allocations, cache hits, bytes in use and cached. */
    public String memoryStats() {
        return memory.stats().toString();
    }

    /** Driver allocations made so far by the caching allocator (constant across warm training steps). */
    public long driverAllocations() {
        return memory.stats().driverAllocations();
    }

    // ---------------------------------------------------------------- pointers and statuses

    private MemorySegment p(Tensor t) {
        return t == null ? MemorySegment.NULL : t.segment(key);
    }

    private void check(String call, int status) {
        lib.check(call, status);
    }

    private MemorySegment s() {
        return cx.stream;
    }

    // ---------------------------------------------------------------- the host boundary

    @Override public void upload(float[] src, int srcOffset, Tensor dst) { cx.bindThread(); transfer.upload(src, srcOffset, dst); }
    @Override public void upload(int[] src, int srcOffset, Tensor dst) { cx.bindThread(); transfer.upload(src, srcOffset, dst); }
    @Override public void upload(MemorySegment src, Tensor dst) { cx.bindThread(); transfer.upload(src, dst); }
    @Override public void download(Tensor src, float[] dst, int dstOffset) { cx.bindThread(); transfer.download(src, dst, dstOffset); }
    @Override public void download(Tensor src, int[] dst, int dstOffset) { cx.bindThread(); transfer.download(src, dst, dstOffset); }
    @Override public void download(Tensor src, MemorySegment dst) { cx.bindThread(); transfer.download(src, dst); }

    /** Waits for the stream and throws the first bad-data error kernels recorded since the last call. */
    @Override
    public void synchronize() {
        cx.bindThread();
        errors.synchronizeAndCheck();
    }

    // ---------------------------------------------------------------- data movement and conversion

    @Override
    public void copy(Tensor src, Tensor dst) {
        ElementwiseChecks.copy(src, dst);
        DType from = src.dtype(), to = dst.dtype();
        cx.bindThread();
        MemorySegment s = p(src), d = p(dst);
        if (from == to) {
            if (s.address() != d.address() && s.byteSize() > 0) {
                check("lv_memcpy_async", lib.lv_memcpy_async(d, s, s.byteSize(), s()));
            }
        } else {
            check("lv_copy", lib.lv_copy(s, code(from), d, code(to), src.numel(), s()));
        }
    }

    @Override
    public void fill(Tensor t, float value) {
        ElementwiseChecks.fill(t);
        if (t.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_fill", lib.lv_fill(p(t), code(t.dtype()), t.numel(), value, s()));
    }

    private static int code(DType t) {
        return switch (t) {
            case F32 -> F32;
            case BF16 -> BF16;
            case I32 -> LeviathanCuda.LV_I32;
        };
    }

    // ---------------------------------------------------------------- matrix multiplication

    @Override
    public void matmul(Tensor a, boolean transA, Tensor b, boolean transB, Tensor c, float alpha, float beta) {
        cx.bindThread();
        gemm.matmul(a, transA, b, transB, c, alpha, beta);
    }

    // ---------------------------------------------------------------- element-wise

    @Override
    public void add(Tensor a, Tensor b, Tensor out) {
        ElementwiseChecks.binary("add", a, b, out);
        if (a.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_add", lib.lv_add(p(a), p(b), p(out), a.numel(), s()));
    }

    @Override
    public void mul(Tensor a, Tensor b, Tensor out) {
        ElementwiseChecks.binary("mul", a, b, out);
        if (a.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_mul", lib.lv_mul(p(a), p(b), p(out), a.numel(), s()));
    }

    @Override
    public void mulBackward(Tensor dOut, Tensor a, Tensor b, Tensor dA, Tensor dB) {
        ElementwiseChecks.mulBackward(dOut, a, b, dA, dB);
        if (dOut.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_mul_backward", lib.lv_mul_backward(p(dOut), p(a), p(b), p(dA), p(dB), dOut.numel(), s()));
    }

    @Override
    public void scale(Tensor a, float sc, Tensor out) {
        ElementwiseChecks.scale(a, out);
        if (a.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_scale", lib.lv_scale(p(a), sc, p(out), a.numel(), s()));
    }

    @Override
    public void axpy(float alpha, Tensor x, Tensor y) {
        ElementwiseChecks.axpy(x, y);
        if (x.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_axpy", lib.lv_axpy(alpha, p(x), p(y), x.numel(), s()));
    }

    // ---------------------------------------------------------------- reductions

    @Override public void sumLastDim(Tensor x, Tensor out) { rowReduce("sumLastDim", x, out, false); }
    @Override public void meanLastDim(Tensor x, Tensor out) { rowReduce("meanLastDim", x, out, true); }
    @Override public void sumLastDimBackward(Tensor dOut, Tensor dX) { rowBroadcastBackward("sumLastDimBackward", dOut, dX, false); }
    @Override public void meanLastDimBackward(Tensor dOut, Tensor dX) { rowBroadcastBackward("meanLastDimBackward", dOut, dX, true); }

    private void rowReduce(String op, Tensor x, Tensor out, boolean mean) {
        long c = ReductionChecks.rowReduce(op, x, out);
        if (out.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_row_sum", lib.lv_row_sum(p(x), p(out), out.numel(), c, mean ? (float) (1.0 / c) : 1f, s()));
    }

    private void rowBroadcastBackward(String op, Tensor dOut, Tensor dX, boolean mean) {
        long c = ReductionChecks.rowBroadcastBackward(op, dOut, dX);
        if (dOut.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_row_sum_backward", lib.lv_row_sum_backward(p(dOut), p(dX), dOut.numel(), c,
                mean ? (float) (1.0 / c) : 1f, s()));
    }

    @Override
    public void sum(Tensor x, Tensor out) {
        OpChecks.f32("sum", "x", x);
        OpChecks.scalarOut("sum", "out", out);
        cx.bindThread();
        if (x.numel() == 0) { // the empty sum, without launching an empty grid
            check("lv_fill", lib.lv_fill(p(out), F32, 1, 0f, s()));
            return;
        }
        check("lv_reduce_sum", lib.lv_reduce_sum(p(x), x.numel(), 1.0, p(out), s()));
    }

    @Override
    public void mean(Tensor x, Tensor out) {
        OpChecks.f32("mean", "x", x);
        OpChecks.scalarOut("mean", "out", out);
        cx.bindThread();
        if (x.numel() == 0) { // 0 / 0, as the CPU backend gives it
            check("lv_fill", lib.lv_fill(p(out), F32, 1, Float.NaN, s()));
            return;
        }
        check("lv_reduce_sum", lib.lv_reduce_sum(p(x), x.numel(), 1.0 / x.numel(), p(out), s()));
    }

    // ---------------------------------------------------------------- normalisation

    @Override
    public void rmsNorm(Tensor x, Tensor weight, float eps, Tensor out, Tensor rstd) {
        long c = NormChecks.rmsNorm(x, weight, out, rstd);
        if (rstd.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_rmsnorm_forward", lib.lv_rmsnorm_forward(p(x), p(weight), eps, p(out), p(rstd), rstd.numel(), c, s()));
    }

    @Override
    public void rmsNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor rstd, Tensor dX, Tensor dWeight) {
        long c = NormChecks.rmsNormBackward(dOut, x, weight, rstd, dX, dWeight);
        if (rstd.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_rmsnorm_backward", lib.lv_rmsnorm_backward(p(dOut), p(x), p(weight), p(rstd), p(dX), p(dWeight),
                rstd.numel(), c, s()));
    }

    @Override
    public void layerNorm(Tensor x, Tensor weight, Tensor bias, float eps, Tensor out, Tensor mean, Tensor rstd) {
        NormChecks.LayerNormDims dims = NormChecks.layerNorm(x, weight, bias, out, mean, rstd);
        long c = dims.c(), groups = dims.groups();
        long rows = rstd.numel();
        if (rows == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_layernorm_forward", lib.lv_layernorm_forward(p(x), p(weight), p(bias), eps, p(out), p(mean),
                p(rstd), groups, groups == 0 ? 0 : rows / groups, c, s()));
    }

    @Override
    public void layerNormBackward(Tensor dOut, Tensor x, Tensor weight, Tensor mean, Tensor rstd,
                                  Tensor dX, Tensor dWeight, Tensor dBias) {
        NormChecks.LayerNormDims dims = NormChecks.layerNormBackward(dOut, x, weight, mean, rstd, dX, dWeight, dBias);
        long c = dims.c(), groups = dims.groups();
        long rows = rstd.numel();
        if (rows == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_layernorm_backward", lib.lv_layernorm_backward(p(dOut), p(x), p(weight), p(mean), p(rstd),
                p(dX), p(dWeight), p(dBias), groups, groups == 0 ? 0 : rows / groups, c, s()));
    }

    // ---------------------------------------------------------------- position encoding

    @Override
    public void rope(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        RopeChecks.rotation("rope", "x", x, cos, sin, "out", out);
        if (x.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_rope_forward", lib.lv_rope_forward(p(x), p(cos), p(sin), p(out),
                x.size(0), x.size(1), x.size(2), x.size(3), s()));
    }

    @Override
    public void ropeBackward(Tensor dOut, Tensor cos, Tensor sin, Tensor dX) {
        RopeChecks.rotation("ropeBackward", "dOut", dOut, cos, sin, "dX", dX);
        if (dOut.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_rope_backward", lib.lv_rope_backward(p(dOut), p(cos), p(sin), p(dX),
                dOut.size(0), dOut.size(1), dOut.size(2), dOut.size(3), s()));
    }

    @Override
    public void ropeTables(float theta, Tensor cos, Tensor sin) {
        RopeChecks.tables(theta, cos, sin);
        if (cos.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_rope_tables", lib.lv_rope_tables(theta, p(cos), p(sin), cos.size(0), 2 * cos.size(1), s()));
    }

    // ---------------------------------------------------------------- activations

    @Override
    public void silu(Tensor x, Tensor out) {
        ActivationChecks.unary("silu", x, out);
        if (x.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_silu", lib.lv_silu(p(x), p(out), x.numel(), s()));
    }

    @Override
    public void siluBackward(Tensor dOut, Tensor x, Tensor dX) {
        ActivationChecks.unaryBackward("siluBackward", dOut, "x", x, dX);
        if (x.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_silu_backward", lib.lv_silu_backward(p(dOut), p(x), p(dX), x.numel(), s()));
    }

    @Override
    public void sigmoid(Tensor x, Tensor out) {
        ActivationChecks.unary("sigmoid", x, out);
        if (x.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_sigmoid", lib.lv_sigmoid(p(x), p(out), x.numel(), s()));
    }

    @Override
    public void sigmoidBackward(Tensor dOut, Tensor y, Tensor dX) {
        ActivationChecks.unaryBackward("sigmoidBackward", dOut, "y", y, dX);
        if (y.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_sigmoid_backward", lib.lv_sigmoid_backward(p(dOut), p(y), p(dX), y.numel(), s()));
    }

    @Override
    public void swiglu(Tensor gate, Tensor up, Tensor out) {
        ActivationChecks.swiglu(gate, up, out);
        if (gate.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_swiglu", lib.lv_swiglu(p(gate), p(up), p(out), gate.numel(), s()));
    }

    @Override
    public void swigluBackward(Tensor dOut, Tensor gate, Tensor up, Tensor dGate, Tensor dUp) {
        ActivationChecks.swigluBackward(dOut, gate, up, dGate, dUp);
        if (gate.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_swiglu_backward", lib.lv_swiglu_backward(p(dOut), p(gate), p(up), p(dGate), p(dUp),
                gate.numel(), s()));
    }

    @Override
    public void softmax(Tensor x, Tensor out) {
        long c = ActivationChecks.softmax(x, out);
        if (c == 0) {
            return;
        }
        if (x.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_softmax", lib.lv_softmax(p(x), p(out), x.numel() / c, c, s()));
    }

    @Override
    public void softmaxBackward(Tensor dOut, Tensor y, Tensor dX) {
        long c = ActivationChecks.softmaxBackward(dOut, y, dX);
        if (c == 0) {
            return;
        }
        if (y.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_softmax_backward", lib.lv_softmax_backward(p(dOut), p(y), p(dX), y.numel() / c, c, s()));
    }

    // ---------------------------------------------------------------- attention

    @Override
    public void attention(Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse) {
        DType type = AttentionChecks.attention(q, k, v, out, lse);
        CudaChecks.attentionHeadDim("attention", q);
        if (q.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        CudnnPlan plan = cudnnPlan(false, type, q, k, v, out, lse);
        if (plan != null) {
            cudnnAttention.forward(plan, q.size(3), a(q), a(k), a(v), a(out), a(lse));
            return;
        }
        check("lv_attention_forward", lib.lv_attention_forward(p(q), p(k), p(v), p(out), p(lse), code(type),
                q.size(0), q.size(1), q.size(2), q.size(3), s()));
    }

    @Override
    public void attentionBackward(Tensor dOut, Tensor q, Tensor k, Tensor v, Tensor out, Tensor lse,
                                  Tensor dQ, Tensor dK, Tensor dV) {
        AttentionChecks.BackwardTypes types = AttentionChecks.attentionBackward(dOut, q, k, v, out, lse, dQ, dK, dV);
        DType type = types.type(), gradType = types.gradType();
        CudaChecks.attentionHeadDim("attentionBackward", q);
        long b = q.size(0), t = q.size(1), h = q.size(2), dh = q.size(3);
        if (q.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        CudnnPlan plan = cudnnPlan(true, type, q, dOut, k, v, out, lse, dQ, dK, dV);
        if (plan != null) {
            cudnnAttention.backward(plan, q.numel(), dh, a(dOut), gradType, a(q), a(k), a(v), a(out), a(lse), a(dQ),
                    a(dK), a(dV));
            return;
        }
        long need = workspaceBytes("lv_attention_backward_workspace_bytes",
                lib.lv_attention_backward_workspace_bytes(b, t, h, dh));
        MemorySegment ws = workspace.get(need);
        check("lv_attention_backward", lib.lv_attention_backward(p(dOut), code(gradType), p(q), p(k), p(v), p(out),
                p(lse), p(dQ), p(dK), p(dV), code(type), b, t, h, dh, ws, Math.max(need, 0), s()));
    }

    @Override
    public void kvCacheAppend(Tensor k, Tensor v, Tensor kCache, Tensor vCache, int start) {
        DType type = AttentionChecks.kvCacheAppend(k, v, kCache, vCache, start);
        if (k.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_kv_cache_append", lib.lv_kv_cache_append(p(k), p(v), p(kCache), p(vCache), code(type),
                k.size(0), k.size(1), k.size(2), k.size(3), kCache.size(2), start, s()));
    }

    @Override
    public void attentionDecode(Tensor q, Tensor kCache, Tensor vCache, int start, Tensor out) {
        DType type = AttentionChecks.attentionDecode(q, kCache, vCache, start, out);
        CudaChecks.attentionHeadDim("attentionDecode", q);
        if (q.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_attention_decode", lib.lv_attention_decode(p(q), p(kCache), p(vCache), p(out), code(type),
                q.size(0), q.size(1), q.size(2), q.size(3), kCache.size(2), start, s()));
    }

    /**
     * The cuDNN plan for this attention call when the route takes cuDNN, else null (our kernel runs it);
     * {@code tensors} are the call's other tensors, whose addresses must meet the plan's alignment.
     */
    private CudnnPlan cudnnPlan(boolean backward, DType type, Tensor q, Tensor... tensors) {
        CudnnAttentionGraphs.Shape shape = new CudnnAttentionGraphs.Shape(q.size(0), q.size(1), q.size(2), q.size(3));
        String pass = backward ? "backward" : "forward";
        if (attentionRoute.nativeOnly()) {
            attentionRoute.useCudnn(pass, shape, null);
            return null;
        }
        String reason = cudnnAttention == null ? cudnnMissing : CudnnAttention.unsupported(type, q.size(3));
        for (int i = 0; reason == null && i <= tensors.length; i++) {
            long address = a(i == 0 ? q : tensors[i - 1]);
            if (address % CudnnDescriptors.ALIGNMENT != 0) {
                reason = "a tensor of the call is at " + Long.toHexString(address) + ", not "
                        + CudnnDescriptors.ALIGNMENT + "-byte aligned as the plan declares";
            }
        }
        CudnnPlanCache.Entry entry = null;
        if (reason == null) {
            entry = cudnnAttention.plan(backward, shape);
            reason = entry.reason();
        }
        return attentionRoute.useCudnn(pass, shape, reason) ? entry.plan() : null;
    }

    private long a(Tensor t) {
        return p(t).address();
    }

    // ---------------------------------------------------------------- embedding and loss

    @Override
    public void embedding(Tensor ids, Tensor table, Tensor out) {
        EmbeddingChecks.embedding(ids, table, out);
        if (out.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_embedding_forward", lib.lv_embedding_forward(p(ids), p(table), p(out), ids.numel(),
                table.size(0), table.size(1), errors.pointer(), s()));
    }

    @Override
    public void embeddingBackward(Tensor dOut, Tensor ids, Tensor dTable) {
        EmbeddingChecks.embeddingBackward(dOut, ids, dTable);
        long count = ids.numel(), vocab = dTable.size(0), dim = dTable.size(1);
        if (dOut.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        long need = workspaceBytes("lv_embedding_backward_workspace_bytes",
                lib.lv_embedding_backward_workspace_bytes(count, vocab, dim));
        MemorySegment ws = workspace.get(need);
        check("lv_embedding_backward", lib.lv_embedding_backward(p(dOut), p(ids), p(dTable), count, vocab, dim,
                deterministic ? 1 : 0, ws, Math.max(need, 0), errors.pointer(), s()));
    }

    @Override
    public void crossEntropy(Tensor logits, Tensor targets, int ignoreIndex, Tensor losses, Tensor dLogits,
                             float gradScale, Tensor lossSum) {
        OpChecks.scalarOut("crossEntropy", "lossSum", lossSum);
        long vocab = CrossEntropyChecks.crossEntropy(logits, targets, losses, dLogits);
        long n = CrossEntropyChecks.rows(logits, vocab);
        if (n == 0 || vocab == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        long need = workspaceBytes("lv_cross_entropy_workspace_bytes",
                lib.lv_cross_entropy_workspace_bytes(n, vocab));
        MemorySegment ws = workspace.get(need);
        check("lv_cross_entropy", lib.lv_cross_entropy(p(logits), p(targets), ignoreIndex, p(losses), p(dLogits),
                gradScale, p(lossSum), n, vocab, ws, Math.max(need, 0), errors.pointer(), s()));
    }

    /** A workspace size from a {@code lv_*_workspace_bytes} call, whose negative value is a CUDA status. */
    private static long workspaceBytes(String call, long need) {
        if (need < 0) {
            throw new NativeCallException(call, (int) -need, "the CUDA library could not size its workspace");
        }
        return need;
    }

    // ---------------------------------------------------------------- Leviathan generator

    @Override
    public void splineBasis(Tensor t, int knots, boolean normalize, Tensor first, Tensor weights) {
        SplineBasisChecks.splineBasis(t, knots, first, weights);
        if (t.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_spline_basis", lib.lv_spline_basis(p(t), t.size(0), t.size(1), knots, normalize ? 1 : 0,
                p(first), p(weights), s()));
    }

    @Override
    public void splineBasisBackward(Tensor dWeights, Tensor t, Tensor first, int knots, boolean normalize, Tensor dT) {
        SplineBasisChecks.splineBasisBackward(dWeights, t, first, knots, dT);
        if (t.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_spline_basis_backward", lib.lv_spline_basis_backward(p(dWeights), p(t), p(first), t.size(0),
                t.size(1), knots, normalize ? 1 : 0, p(dT), s()));
    }

    @Override
    public void separableModes(Tensor first, Tensor weights, Tensor spline, Tensor modes) {
        String op = "separableModes";
        SeparableModesChecks.ModeDims d = SeparableModesChecks.separableModes(first, weights, spline, modes);
        if (modes.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        check("lv_separable_modes", lib.lv_separable_modes(p(first), p(weights), p(spline), p(modes),
                d.groups(), d.n(), d.d(), CudaChecks.knotsInt(op, d.knots()), d.r(), s()));
    }

    @Override
    public void separableModesBackward(Tensor dModes, Tensor first, Tensor weights, Tensor spline, Tensor modes,
                                       Tensor dWeights, Tensor dSpline) {
        SeparableModesChecks.ModeDims d = SeparableModesChecks.separableModesBackward(dModes, first, weights, spline,
                modes, dWeights, dSpline);
        int knots = CudaChecks.knotsInt("separableModesBackward", d.knots());
        if (modes.numel() == 0) {
            return; // nothing to compute: no launch of an empty grid
        }
        cx.bindThread();
        long need = workspaceBytes("lv_separable_modes_backward_workspace_bytes",
                lib.lv_separable_modes_backward_workspace_bytes(d.groups(), d.n(), d.d(), knots, d.r()));
        MemorySegment ws = workspace.get(need);
        check("lv_separable_modes_backward", lib.lv_separable_modes_backward(p(dModes), p(first), p(weights),
                p(spline), p(modes), p(dWeights), p(dSpline), d.groups(), d.n(), d.d(), knots, d.r(), ws,
                Math.max(need, 0), s()));
    }

    // ---------------------------------------------------------------- optimisation

    @Override
    public void globalL2Norm(List<Tensor> tensors, Tensor out) {
        OptimizerChecks.globalL2Norm(tensors);
        OpChecks.scalarOut("globalL2Norm", "out", out);
        cx.bindThread();
        MemorySegment acc = normAccumulator.get(Double.BYTES);
        check("lv_memset_async", lib.lv_memset_async(acc, 0, Double.BYTES, s()));
        for (Tensor t : tensors) {
            if (t.numel() > 0) {
                check("lv_sum_squares", lib.lv_sum_squares(p(t), t.numel(), acc, s()));
            }
        }
        check("lv_sqrt_to_float", lib.lv_sqrt_to_float(acc, p(out), s()));
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        OptimizerChecks.adamw(param, grad, m, v, step);
        long n = param.numel();
        if (n == 0) {
            return;
        }
        cx.bindThread();
        check("lv_adamw", lib.lv_adamw(p(param), p(grad), p(m), p(v), n, step.lr(), step.beta1(), step.beta2(),
                step.eps(), step.weightDecay(), 1.0 - Math.pow(step.beta1(), step.step()),
                1.0 - Math.pow(step.beta2(), step.step()), n, MemorySegment.NULL, 0f, s()));
    }

    @Override
    public void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, long decayedCount,
                      Tensor gradNorm, float clipNorm) {
        OptimizerChecks.adamw(param, grad, m, v, step, decayedCount, gradNorm, clipNorm);
        long n = param.numel();
        if (n == 0) {
            return;
        }
        cx.bindThread();
        check("lv_adamw", lib.lv_adamw(p(param), p(grad), p(m), p(v), n, step.lr(), step.beta1(), step.beta2(),
                step.eps(), step.weightDecay(), 1.0 - Math.pow(step.beta1(), step.step()),
                1.0 - Math.pow(step.beta2(), step.step()), decayedCount, p(gradNorm), clipNorm, s()));
    }

    // ---------------------------------------------------------------- lifetime

    /** Waits for the stream, then releases the cuBLAS handle, staging, scratch, cached memory and the stream. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        cx.bindThread();
        ClosingOrder.closeAll(cudnnAttention, transfer, gemm, workspace, normAccumulator, errors, memory, cx);
    }

    @Override
    public String toString() {
        return "CudaBackend[cuda:" + cx.device + " " + deviceName + "]";
    }
}
