package io.leviathan.backend.cuda;

import static io.leviathan.backend.cuda.CudnnAttentionGraphs.*;

import io.leviathan.bindings.cuda.CuDnn;
import io.leviathan.bindings.cuda.LeviathanCuda;
import io.leviathan.tensor.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;

/**
 * Causal attention through cuDNN on the backend's stream: a cuDNN handle bound to the stream, the execution plans
 * ({@link CudnnPlanCache}) and the conversions between our contract and cuDNN's. cuDNN's fused attention takes
 * BF16 Q, K, V and O and writes BF16 gradients; our backward takes an F32 or BF16 dOut and accumulates into F32
 * dQ, dK and dV, so the backward converts dOut to BF16 first and adds the BF16 gradients into the F32 ones after
 * (both in reused device scratch, so a warm step allocates nothing).
 */
final class CudnnAttention implements AutoCloseable {
    private static final int F32 = LeviathanCuda.LV_F32;
    private static final int BF16 = LeviathanCuda.LV_BF16;

    private final CuDnn cudnn;
    private final LeviathanCuda lib;
    private final CudaContext cx;
    private final long handle;
    private final CudnnFfmApi api;
    private final CudnnPlanCache plans;
    private final DeviceScratch workspace;
    private final DeviceScratch conversions;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment negInf = arena.allocateFrom(ValueLayout.JAVA_FLOAT, Float.NEGATIVE_INFINITY);
    private final Map<Long, MemorySegment> scales = new HashMap<>();
    private final long version;

    private CudnnAttention(CuDnn cudnn, LeviathanCuda lib, CudaContext cx, long handle) {
        this.cudnn = cudnn;
        this.lib = lib;
        this.cx = cx;
        this.handle = handle;
        this.api = new CudnnFfmApi(cudnn);
        this.plans = new CudnnPlanCache(api, handle);
        this.workspace = new DeviceScratch(cx);
        this.conversions = new DeviceScratch(cx);
        this.version = cudnn.cudnnGetVersion();
    }

    /** Creates a cuDNN handle on the backend's stream. */
    static CudnnAttention open(CuDnn cudnn, LeviathanCuda lib, CudaContext cx) {
        long handle;
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.ADDRESS);
            cudnn.check("cudnnCreate", cudnn.cudnnCreate(out));
            handle = out.get(ValueLayout.ADDRESS, 0).address();
        }
        try {
            cudnn.check("cudnnSetStream", cudnn.cudnnSetStream(MemorySegment.ofAddress(handle), cx.stream));
            return new CudnnAttention(cudnn, lib, cx, handle);
        } catch (RuntimeException e) {
            cudnn.cudnnDestroy(MemorySegment.ofAddress(handle)); // the first failure is the one to report
            throw e;
        }
    }

    /** The loaded cuDNN's version, e.g. 91900 for 9.19.0. */
    long version() {
        return version;
    }

    /** Why cuDNN cannot take tensors of this dtype and head dimension, or null when it can. */
    static String unsupported(DType type, long dh) {
        if (type != DType.BF16) {
            return "cuDNN's fused attention takes BF16 q, k, v and out, these are " + type;
        }
        if (dh % 8 != 0 || dh > 128) {
            return "cuDNN's fused attention needs a head dimension that is a multiple of 8 and at most 128, got " + dh;
        }
        return null;
    }

    /** The plan for the pass and shape, or the reason there is none. */
    CudnnPlanCache.Entry plan(boolean backward, Shape shape) {
        return plans.get(new CudnnPlanCache.Key(backward, shape));
    }

    /**
     * Runs the forward with {@code plan} (from {@link #plan}) on the device addresses of checked tensors:
     * {@code q}, {@code k}, {@code v}, {@code out} BF16 {@code [B, T, H, Dh]}, {@code lse} F32 {@code [B, H, T]}.
     */
    void forward(CudnnPlan plan, long dh, long q, long k, long v, long out, long lse) {
        long[] ptrs = pointers(plan, Map.of(Q, q, K_T, k, V, v, O, out, STATS, lse,
                SCALE, scale(dh).address(), NEG_INF, negInf.address()));
        plan.execute(ptrs, workspace.get(plan.workspaceBytes()).address());
    }

    /**
     * Runs the backward with {@code plan} on device addresses, accumulating into the F32 {@code dQ}, {@code dK},
     * {@code dV}; {@code dOut} is F32 or BF16 ({@code dOutType}), every tensor {@code n} elements.
     */
    void backward(CudnnPlan plan, long n, long dh, long dOut, DType dOutType, long q, long k, long v, long out,
                  long lse, long dQ, long dK, long dV) {
        long half = n * 2;
        // [dO as BF16 | dQ | dK | dV as BF16 | one F32 buffer for widening]; n is a multiple of 8, so every part
        // stays 16-byte aligned
        long base = conversions.get(4 * half + n * 4).address();
        long dO16 = base, dQ16 = base + half, dK16 = base + 2 * half, dV16 = base + 3 * half, wide = base + 4 * half;
        long s = cx.stream.address();
        if (dOutType == DType.BF16) {
            dO16 = dOut;
        } else {
            lib.check("lv_copy", lib.lv_copy(p(dOut), F32, p(dO16), BF16, n, p(s)));
        }
        long[] ptrs = pointers(plan, Map.ofEntries(Map.entry(Q, q), Map.entry(Q_T, q), Map.entry(K, k),
                Map.entry(K_T, k), Map.entry(V, v), Map.entry(O_T, out), Map.entry(D_O, dO16),
                Map.entry(D_O_T, dO16), Map.entry(STATS_T, lse), Map.entry(D_Q, dQ16), Map.entry(D_K, dK16),
                Map.entry(D_V, dV16), Map.entry(SCALE, scale(dh).address()), Map.entry(NEG_INF, negInf.address())));
        plan.execute(ptrs, workspace.get(plan.workspaceBytes()).address());
        long[][] pairs = {{dQ16, dQ}, {dK16, dK}, {dV16, dV}};
        for (long[] pair : pairs) {
            lib.check("lv_copy", lib.lv_copy(p(pair[0]), BF16, p(wide), F32, n, p(s)));
            lib.check("lv_axpy", lib.lv_axpy(1f, p(wide), p(pair[1]), n, p(s)));
        }
    }

    private static long[] pointers(CudnnPlan plan, Map<Long, Long> byUid) {
        long[] uids = plan.uids();
        long[] ptrs = new long[uids.length];
        for (int i = 0; i < uids.length; i++) {
            Long p = byUid.get(uids[i]);
            if (p == null) {
                throw new IllegalStateException("no pointer for tensor uid " + uids[i] + " of " + plan);
            }
            ptrs[i] = p;
        }
        return ptrs;
    }

    /** The host scalar 1 / sqrt(Dh) the plan reads by value; one per head dimension, kept. */
    private synchronized MemorySegment scale(long dh) {
        return scales.computeIfAbsent(dh, d -> arena.allocateFrom(ValueLayout.JAVA_FLOAT, (float) (1.0 / Math.sqrt(d))));
    }

    private static MemorySegment p(long address) {
        return MemorySegment.ofAddress(address);
    }

    /** Destroys the plans, the scratch and the handle. */
    @Override
    public void close() {
        ClosingOrder.closeAll(plans, workspace, conversions, api,
                () -> cudnn.check("cudnnDestroy", cudnn.cudnnDestroy(MemorySegment.ofAddress(handle))), arena);
    }
}
