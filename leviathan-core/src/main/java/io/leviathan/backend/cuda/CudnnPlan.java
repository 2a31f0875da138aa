package io.leviathan.backend.cuda;

import static io.leviathan.bindings.cuda.CuDnn.*;

import io.leviathan.bindings.NativeCallException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A finalized execution plan for one graph, with the descriptors it was built from (owned, destroyed with it).
 * The variant pack (the pointers of the real tensors and the workspace) is built on the first execution and
 * rebuilt only when a pointer changes, so a training step, whose buffers are the same every step, makes only the
 * {@code cudnnBackendExecute} call.
 */
final class CudnnPlan implements AutoCloseable {
    /** How many of the heuristic's engine configurations are tried before giving up on a graph. */
    static final int MAX_CONFIGS = 8;

    private final CudnnDescriptors descriptors;
    private final long handle;
    private final long plan;
    private final long workspaceBytes;
    private final long[] uids;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment uidArray;
    private final MemorySegment pointerArray;
    private final long[] lastPointers;
    private long variantPack;

    private CudnnPlan(CudnnDescriptors descriptors, long handle, long plan, long workspaceBytes, long[] uids) {
        this.descriptors = descriptors;
        this.handle = handle;
        this.plan = plan;
        this.workspaceBytes = workspaceBytes;
        this.uids = uids.clone();
        this.lastPointers = new long[uids.length + 1];
        this.uidArray = arena.allocate(ValueLayout.JAVA_LONG, uids.length);
        MemorySegment.copy(uids, 0, uidArray, ValueLayout.JAVA_LONG, 0, uids.length);
        this.pointerArray = arena.allocate(ValueLayout.ADDRESS, uids.length);
    }

    /** Thrown when no engine configuration of the heuristic finalizes a plan; the message lists why each declined. */
    static final class DeclinedException extends RuntimeException {
        DeclinedException(String message) {
            super(message);
        }
    }

    /**
     * Asks the heuristic (mode A) for engine configurations of {@code graph} and finalizes a plan with the first of
     * up to {@link #MAX_CONFIGS} that cuDNN accepts. Takes ownership of {@code descriptors}: it is closed here when
     * no plan results, else by the plan's {@link #close()}.
     *
     * @throws DeclinedException when the heuristic offers nothing or every configuration is declined
     * @throws NativeCallException for any other failing call
     */
    static CudnnPlan build(CudnnDescriptors descriptors, long handle, CudnnAttentionGraphs.Graph graph) {
        try {
            CudnnBackendApi api = descriptors.api();
            long heur = descriptors.create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
            descriptors.setDescriptors(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph.descriptor());
            descriptors.setEnum(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, CUDNN_HEUR_MODE_A);
            descriptors.finalizeDescriptor(heur);
            long offered = api.getAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 0,
                    MemorySegment.NULL);
            int n = (int) Math.min(offered, MAX_CONFIGS);
            if (n <= 0) {
                throw new DeclinedException("the heuristic offers no engine for the graph");
            }
            try (Arena a = Arena.ofConfined()) {
                MemorySegment configs = a.allocate(ValueLayout.ADDRESS, n);
                for (int i = 0; i < n; i++) {
                    configs.setAtIndex(ValueLayout.ADDRESS, i,
                            MemorySegment.ofAddress(descriptors.create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR)));
                }
                long returned = Math.min(n, api.getAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                        CUDNN_TYPE_BACKEND_DESCRIPTOR, n, configs));
                List<String> declined = new ArrayList<>();
                for (int i = 0; i < returned; i++) {
                    long plan = descriptors.create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
                    try {
                        descriptors.setPointer(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, handle);
                        descriptors.setDescriptors(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                                configs.getAtIndex(ValueLayout.ADDRESS, i).address());
                        descriptors.finalizeDescriptor(plan);
                    } catch (NativeCallException e) {
                        declined.add("engine configuration " + i + ": " + e.getMessage());
                        descriptors.destroyNow(plan);
                        continue;
                    }
                    MemorySegment size = a.allocate(ValueLayout.JAVA_LONG);
                    api.getAttribute(plan, CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE, CUDNN_TYPE_INT64, 1, size);
                    return new CudnnPlan(descriptors, handle, plan, size.get(ValueLayout.JAVA_LONG, 0), graph.uids());
                }
                throw new DeclinedException(returned + " of " + offered + " engine configurations tried, each declined: "
                        + String.join("; ", declined));
            }
        } catch (RuntimeException e) {
            try {
                descriptors.close();
            } catch (RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    /** Device bytes of workspace each execution needs. */
    long workspaceBytes() {
        return workspaceBytes;
    }

    /** The unique ids whose pointers {@link #execute} takes, in order. */
    long[] uids() {
        return uids.clone();
    }

    /**
     * Runs the plan on the handle's stream with {@code pointers[i]} for {@code uids()[i]} (a device address, or for
     * a by-value scalar a host address) and {@code workspace} of at least {@link #workspaceBytes()} bytes.
     */
    void execute(long[] pointers, long workspace) {
        if (pointers.length != uids.length) {
            throw new IllegalArgumentException("execute: " + pointers.length + " pointers for " + uids.length + " tensors");
        }
        CudnnBackendApi api = descriptors.api();
        boolean same = variantPack != 0 && lastPointers[uids.length] == workspace;
        for (int i = 0; same && i < pointers.length; i++) {
            same = lastPointers[i] == pointers[i];
        }
        if (!same) {
            if (variantPack != 0) {
                descriptors.destroyNow(variantPack);
                variantPack = 0;
            }
            long vp = descriptors.create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
            for (int i = 0; i < pointers.length; i++) {
                pointerArray.setAtIndex(ValueLayout.ADDRESS, i, MemorySegment.ofAddress(pointers[i]));
            }
            api.setAttribute(vp, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, uids.length, uidArray);
            api.setAttribute(vp, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, pointers.length,
                    pointerArray);
            descriptors.setPointer(vp, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, workspace);
            descriptors.finalizeDescriptor(vp);
            variantPack = vp;
            System.arraycopy(pointers, 0, lastPointers, 0, pointers.length);
            lastPointers[uids.length] = workspace;
        }
        api.execute(handle, plan, variantPack);
    }

    @Override
    public void close() {
        try {
            descriptors.close();
        } finally {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "plan over " + Arrays.toString(uids) + ", workspace " + workspaceBytes + " bytes";
    }
}
