package io.leviathan.backend.cuda;

import io.leviathan.bindings.NativeCallException;
import java.util.HashMap;
import java.util.Map;

/**
 * The attention execution plans, built once per pass and shape and kept: a plan cuDNN finalizes, or the reason it
 * could not, so a declined shape is not asked about again every step.
 */
final class CudnnPlanCache implements AutoCloseable {
    /** A pass and its shape. */
    record Key(boolean backward, CudnnAttentionGraphs.Shape shape) {
        @Override
        public String toString() {
            return (backward ? "backward " : "forward ") + shape;
        }
    }

    /** A plan, or (plan null) the reason there is none. */
    record Entry(CudnnPlan plan, String reason) {}

    private final CudnnBackendApi api;
    private final long handle;
    private final Map<Key, Entry> entries = new HashMap<>();

    CudnnPlanCache(CudnnBackendApi api, long handle) {
        this.api = api;
        this.handle = handle;
    }

    /** The plan for {@code key}, built on first use; a declined or failing build is remembered as its reason. */
    synchronized Entry get(Key key) {
        Entry e = entries.get(key);
        if (e == null) {
            e = build(key);
            entries.put(key, e);
        }
        return e;
    }

    private Entry build(Key key) {
        CudnnDescriptors d = new CudnnDescriptors(api);
        CudnnAttentionGraphs.Graph graph;
        try {
            graph = key.backward() ? CudnnAttentionGraphs.backward(d, handle, key.shape())
                    : CudnnAttentionGraphs.forward(d, handle, key.shape());
        } catch (NativeCallException e) {
            closeQuietly(d, e);
            return new Entry(null, "cuDNN refused the " + key + " graph: " + e.getMessage());
        } catch (RuntimeException e) {
            closeQuietly(d, e);
            throw e;
        }
        try {
            return new Entry(CudnnPlan.build(d, handle, graph), null);
        } catch (CudnnPlan.DeclinedException | NativeCallException e) {
            return new Entry(null, "no cuDNN plan for the " + key + " graph: " + e.getMessage());
        }
    }

    private static void closeQuietly(CudnnDescriptors d, RuntimeException cause) {
        try {
            d.close();
        } catch (RuntimeException e) {
            cause.addSuppressed(e);
        }
    }

    /** Plans built so far (for tests and reports). */
    synchronized int size() {
        return entries.size();
    }

    /** Destroys every plan and its descriptors. */
    @Override
    public synchronized void close() {
        try {
            ClosingOrder.closeAll(entries.values().stream().map(Entry::plan).toArray(AutoCloseable[]::new));
        } finally {
            entries.clear();
        }
    }
}
