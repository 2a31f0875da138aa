package io.leviathan.model;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;

/**
 * The activation buffers of the inference path ({@link DecoderLayer#forwardCached}), for {@code n} rows of
 * one sequence. One set is allocated for a session's capacity; {@link #first(int)} gives views of its first
 * rows, so a step of any length up to the capacity runs in the same memory. Every layer uses the same set:
 * inference keeps nothing for a backward pass, only the key/value cache.
 */
final class InferenceRows {
    final int n;
    final Tensor ids;                    // I32 [n]
    final Tensor xa, xb;                 // [n, D] residual stream, ping-pong between layers
    final Tensor ln1, q, k, v, att;      // [n, D] in the compute dtype
    final Tensor mid;                    // [n, D]
    final Tensor ln2;                    // [n, D] in the compute dtype
    final Tensor rstd;                   // [n]: a norm's statistics (read by nothing)
    final Tensor gate, up;               // [n, F]
    final Tensor act;                    // [n, F] in the compute dtype
    final Tensor norm32, q32, k32, v32, act32; // fp32 results before rounding; null under fp32
    final Tensor q4, k4, v4, att4;       // [1, n, H, Dh] views
    final Tensor q32v4, k32v4;           // [1, n, H, Dh] views of q32, k32; null under fp32

    /** Allocates the buffers for {@code capacity} rows of model {@code c} under compute dtype {@code cd}. */
    static InferenceRows allocate(TensorArena arena, ModelConfig c, DType cd, int capacity) {
        int d = c.dModel(), f = c.ffnHidden();
        boolean casts = cd != DType.F32;
        return new InferenceRows(c, capacity,
                arena.allocate(DType.I32, capacity),
                arena.allocate(DType.F32, capacity, d), arena.allocate(DType.F32, capacity, d),
                arena.allocate(cd, capacity, d), arena.allocate(cd, capacity, d), arena.allocate(cd, capacity, d),
                arena.allocate(cd, capacity, d), arena.allocate(cd, capacity, d),
                arena.allocate(DType.F32, capacity, d), arena.allocate(cd, capacity, d),
                arena.allocate(DType.F32, capacity),
                arena.allocate(DType.F32, capacity, f), arena.allocate(DType.F32, capacity, f),
                arena.allocate(cd, capacity, f),
                casts ? arena.allocate(DType.F32, capacity, d) : null,
                casts ? arena.allocate(DType.F32, capacity, d) : null,
                casts ? arena.allocate(DType.F32, capacity, d) : null,
                casts ? arena.allocate(DType.F32, capacity, d) : null,
                casts ? arena.allocate(DType.F32, capacity, f) : null);
    }

    private final ModelConfig config;

    private InferenceRows(ModelConfig c, int n, Tensor ids, Tensor xa, Tensor xb, Tensor ln1, Tensor q, Tensor k,
                          Tensor v, Tensor att, Tensor mid, Tensor ln2, Tensor rstd, Tensor gate, Tensor up,
                          Tensor act, Tensor norm32, Tensor q32, Tensor k32, Tensor v32, Tensor act32) {
        this.config = c;
        this.n = n;
        this.ids = ids;
        this.xa = xa;
        this.xb = xb;
        this.ln1 = ln1;
        this.q = q;
        this.k = k;
        this.v = v;
        this.att = att;
        this.mid = mid;
        this.ln2 = ln2;
        this.rstd = rstd;
        this.gate = gate;
        this.up = up;
        this.act = act;
        this.norm32 = norm32;
        this.q32 = q32;
        this.k32 = k32;
        this.v32 = v32;
        this.act32 = act32;
        long[] s4 = {1, n, c.heads(), c.headDim()};
        q4 = q.reshape(s4);
        k4 = k.reshape(s4);
        v4 = v.reshape(s4);
        att4 = att.reshape(s4);
        q32v4 = q32 == null ? null : q32.reshape(s4);
        k32v4 = k32 == null ? null : k32.reshape(s4);
    }

    /** Views of the first {@code rows} rows of every buffer (new view objects; the memory is shared). */
    InferenceRows first(int rows) {
        return new InferenceRows(config, rows, head(ids, rows), head(xa, rows), head(xb, rows), head(ln1, rows),
                head(q, rows), head(k, rows), head(v, rows), head(att, rows), head(mid, rows), head(ln2, rows),
                head(rstd, rows), head(gate, rows), head(up, rows), head(act, rows), head(norm32, rows),
                head(q32, rows), head(k32, rows), head(v32, rows), head(act32, rows));
    }

    private static Tensor head(Tensor t, int rows) {
        return t == null ? null : t.narrow(0, 0, rows);
    }
}
