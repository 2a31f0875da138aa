package io.leviathan.backend;

import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Host views of a backend's tensors, for code that must read bytes on the host (writing files, checksums):
 * tensors Java can address are returned as they are; the others are downloaded through the backend into
 * a host arena the caller owns and closes.
 */
public final class HostTensors {
    private HostTensors() {}

    /** {@code t} itself when host accessible, else a contiguous host copy in {@code host} (one download). */
    public static Tensor of(Backend be, Tensor t, TensorArena host) {
        if (t.isHostAccessible()) {
            return t;
        }
        if (!host.hostAccessible()) {
            throw new IllegalArgumentException("HostTensors: the staging arena must be host memory");
        }
        Tensor copy = host.allocate(t.dtype(), t.shape());
        be.download(t, copy.segment());
        return t.name() == null ? copy : copy.named(t.name());
    }

    /** {@link #of} for each entry, in order. */
    public static Map<String, Tensor> of(Backend be, Map<String, Tensor> tensors, TensorArena host) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            out.put(e.getKey(), of(be, e.getValue(), host));
        }
        return out;
    }
}
