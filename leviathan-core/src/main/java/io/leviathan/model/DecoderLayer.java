package io.leviathan.model;

import io.leviathan.backend.Backend;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;

/**
 * One pre-norm LLaMA decoder block, forward and backward side by side (llm.c style):
 * <pre>
 *   h   = rmsNorm(x) * input_layernorm
 *   q,k = rope(h Wq^T), rope(h Wk^T);  v = h Wv^T          [B, T, H, Dh]
 *   mid = x + attention(q, k, v) Wo^T
 *   g   = rmsNorm(mid) * post_attention_layernorm
 *   out = mid + (silu(g Wg^T) * (g Wu^T)) Wd^T
 * </pre>
 * Every activation the backward pass reads is a buffer of this layer, allocated once for {@code [B, T]}; the
 * gradient buffers are shared by all layers ({@link Scratch}), since the backward pass visits one layer at a
 * time. Forward overwrites, backward accumulates into the parameter gradients and into {@code dX}.
 */
final class DecoderLayer {

    /** Gradient buffers shared by every layer of a model (contents are dead between layer calls). */
    static final class Scratch {
        final Tensor dNorm;              // [N, D]  gradient w.r.t. a norm's output
        final Tensor dAtt;               // [N, D]  gradient w.r.t. the attention output
        final Tensor dQkv;               // [5, N, D]: dQr, dKr, dV, dQ, dK, each written whole by its op
        final Tensor dQr, dKr, dV;       // [N, D]  gradients w.r.t. rotated q, rotated k, and v
        final Tensor dQ, dK;             // [N, D]  gradients w.r.t. q and k before rotation
        final Tensor dGateUp;            // [2, N, F]: dGate, dUp, written whole by swigluBackward
        final Tensor dAct, dGate, dUp;   // [N, F]
        final Tensor dAtt4, dQr4, dKr4, dV4, dQ4, dK4; // [B, T, H, Dh] views
        // Under a casting precision: fp32 results before they are rounded into the saved bf16 activations.
        final Tensor norm32;             // [N, D]
        final Tensor q32, k32, v32;      // [N, D]
        final Tensor act32;              // [N, F]
        final Tensor q32v4, k32v4;       // [B, T, H, Dh] views

        Scratch(TensorArena arena, ModelConfig c, int batch, int seq, Precision precision) {
            long n = (long) batch * seq;
            int d = c.dModel();
            int f = c.ffnHidden();
            dNorm = arena.allocate(DType.F32, n, d);
            dAtt = arena.allocate(DType.F32, n, d);
            // The backward ops accumulate into these, so they are zeroed before use: contiguous groups make
            // that one fill each instead of one per buffer (fewer backend calls, fewer kernel launches).
            dQkv = arena.allocate(DType.F32, 5, n, d);
            dQr = dQkv.select(0, 0);
            dKr = dQkv.select(0, 1);
            dV = dQkv.select(0, 2);
            dQ = dQkv.select(0, 3);
            dK = dQkv.select(0, 4);
            dAct = arena.allocate(DType.F32, n, f);
            dGateUp = arena.allocate(DType.F32, 2, n, f);
            dGate = dGateUp.select(0, 0);
            dUp = dGateUp.select(0, 1);
            long[] s4 = {batch, seq, c.heads(), c.headDim()};
            dAtt4 = dAtt.reshape(s4);
            dQr4 = dQr.reshape(s4);
            dKr4 = dKr.reshape(s4);
            dV4 = dV.reshape(s4);
            dQ4 = dQ.reshape(s4);
            dK4 = dK.reshape(s4);
            if (precision.casts()) {
                norm32 = arena.allocate(DType.F32, n, d);
                q32 = arena.allocate(DType.F32, n, d);
                k32 = arena.allocate(DType.F32, n, d);
                v32 = arena.allocate(DType.F32, n, d);
                act32 = arena.allocate(DType.F32, n, f);
                q32v4 = q32.reshape(s4);
                k32v4 = k32.reshape(s4);
            } else {
                norm32 = q32 = k32 = v32 = act32 = q32v4 = k32v4 = null;
            }
        }
    }

    static final double INIT_STD = 0.02;

    private final Backend be;
    private final float eps;
    private final Scratch s;

    final Parameter inputNorm, wq, wk, wv, wo, postNorm, wGate, wUp, wDown;

    // Saved activations ([N, D] unless noted). Those that feed a matmul or attention are in the precision's
    // compute dtype (bf16 under BF16); the residual stream, statistics and the SwiGLU inputs stay fp32.
    private final Tensor ln1, rstd1;        // input norm output, its reciprocal RMS [N]
    private final Tensor q, k, v;           // projections; q and k rotated
    private final Tensor att;               // attention output (before Wo)
    private final Tensor lse;               // [B, H, T] log-sum-exp of each attention row
    private final Tensor mid;               // residual stream after the attention branch
    private final Tensor ln2, rstd2;        // post-attention norm output, its reciprocal RMS [N]
    private final Tensor gate, up, act;     // [N, F]; act = silu(gate) * up
    private final Tensor q4, k4, v4, att4;  // [B, T, H, Dh] views

    DecoderLayer(Backend backend, TensorArena arena, ParameterStore store, ModelConfig c, int index,
                 int batch, int seq, Scratch scratch) {
        this.be = backend;
        this.eps = c.normEps();
        this.s = scratch;
        int d = c.dModel();
        int f = c.ffnHidden();
        String p = "model.layers." + index + ".";
        inputNorm = store.create(p + "input_layernorm.weight", false, d);
        wq = store.create(p + "self_attn.q_proj.weight", true, d, d);
        wk = store.create(p + "self_attn.k_proj.weight", true, d, d);
        wv = store.create(p + "self_attn.v_proj.weight", true, d, d);
        wo = store.create(p + "self_attn.o_proj.weight", true, d, d);
        postNorm = store.create(p + "post_attention_layernorm.weight", false, d);
        wGate = store.create(p + "mlp.gate_proj.weight", true, f, d);
        wUp = store.create(p + "mlp.up_proj.weight", true, f, d);
        wDown = store.create(p + "mlp.down_proj.weight", true, d, f);

        long n = (long) batch * seq;
        DType cd = store.precision().compute();
        ln1 = arena.allocate(cd, n, d);
        rstd1 = arena.allocate(DType.F32, n);
        q = arena.allocate(cd, n, d);
        k = arena.allocate(cd, n, d);
        v = arena.allocate(cd, n, d);
        att = arena.allocate(cd, n, d);
        lse = arena.allocate(DType.F32, batch, c.heads(), seq);
        mid = arena.allocate(DType.F32, n, d);
        ln2 = arena.allocate(cd, n, d);
        rstd2 = arena.allocate(DType.F32, n);
        gate = arena.allocate(DType.F32, n, f);
        up = arena.allocate(DType.F32, n, f);
        act = arena.allocate(cd, n, f);
        long[] s4 = {batch, seq, c.heads(), c.headDim()};
        q4 = q.reshape(s4);
        k4 = k.reshape(s4);
        v4 = v.reshape(s4);
        att4 = att.reshape(s4);
    }

    /** Norm gains 1, every linear weight N(0, 0.02^2) from its own named stream. */
    void initialize(long seed) {
        Init.constant(be, inputNorm.value(), 1f);
        Init.constant(be, postNorm.value(), 1f);
        for (Parameter w : new Parameter[] {wq, wk, wv, wo, wGate, wUp, wDown}) {
            Init.normal(be, w.value(), seed, w.name(), 0.0, INIT_STD);
        }
    }

    /** {@code out = block(x)}; {@code x} and {@code out} are {@code [N, D]} and distinct. */
    void forward(Tensor x, Tensor cos, Tensor sin, Tensor out) {
        // ---- attention branch: mid = x + Wo(attention(rope(Wq h), rope(Wk h), Wv h)), h = rmsNorm(x)
        be.rmsNorm(x, inputNorm.value(), eps, fp32(ln1, s.norm32), rstd1);
        round(s.norm32, ln1);
        be.matmul(ln1, false, wq.compute(), true, fp32(q, s.q32), 1f, 0f);
        be.matmul(ln1, false, wk.compute(), true, fp32(k, s.k32), 1f, 0f);
        be.matmul(ln1, false, wv.compute(), true, fp32(v, s.v32), 1f, 0f);
        Tensor qRot = fp32(q4, s.q32v4), kRot = fp32(k4, s.k32v4);
        be.rope(qRot, cos, sin, qRot);
        be.rope(kRot, cos, sin, kRot);
        round(s.q32, q);
        round(s.k32, k);
        round(s.v32, v);
        be.attention(q4, k4, v4, att4, lse);
        be.copy(x, mid);
        be.matmul(att, false, wo.compute(), true, mid, 1f, 1f);
        // ---- MLP branch: out = mid + Wd(silu(Wg g) * Wu g), g = rmsNorm(mid)
        be.rmsNorm(mid, postNorm.value(), eps, fp32(ln2, s.norm32), rstd2);
        round(s.norm32, ln2);
        be.matmul(ln2, false, wGate.compute(), true, gate, 1f, 0f);
        be.matmul(ln2, false, wUp.compute(), true, up, 1f, 0f);
        be.swiglu(gate, up, fp32(act, s.act32));
        round(s.act32, act);
        be.copy(mid, out);
        be.matmul(act, false, wDown.compute(), true, out, 1f, 1f);
    }

    /**
     * {@link #forward} for inference, side by side with it: the {@code n} rows of {@code x} ({@code [n, D]}) are
     * positions {@code [start, start + n)} of one sequence; {@code cos} and {@code sin} are those rows of the
     * RoPE tables. The rotated keys and the values are appended to this layer's cache and the queries attend
     * to every cached position up to their own. Activations go to {@code r}'s buffers (shared by every
     * layer: nothing is kept for a backward pass). Every operation is the one {@link #forward} issues, on
     * the same rows, so the output rows equal the full forward's.
     */
    void forwardCached(Tensor x, Tensor cos, Tensor sin, InferenceRows r, Tensor kCache, Tensor vCache, int start,
                       Tensor out) {
        // ---- attention branch, with this layer's cache in place of the whole sequence's k and v
        be.rmsNorm(x, inputNorm.value(), eps, fp32(r.ln1, r.norm32), r.rstd);
        round(r.norm32, r.ln1);
        be.matmul(r.ln1, false, wq.compute(), true, fp32(r.q, r.q32), 1f, 0f);
        be.matmul(r.ln1, false, wk.compute(), true, fp32(r.k, r.k32), 1f, 0f);
        be.matmul(r.ln1, false, wv.compute(), true, fp32(r.v, r.v32), 1f, 0f);
        Tensor qRot = fp32(r.q4, r.q32v4), kRot = fp32(r.k4, r.k32v4);
        be.rope(qRot, cos, sin, qRot);
        be.rope(kRot, cos, sin, kRot);
        round(r.q32, r.q);
        round(r.k32, r.k);
        round(r.v32, r.v);
        be.kvCacheAppend(r.k4, r.v4, kCache, vCache, start);
        be.attentionDecode(r.q4, kCache, vCache, start, r.att4);
        be.copy(x, r.mid);
        be.matmul(r.att, false, wo.compute(), true, r.mid, 1f, 1f);
        // ---- MLP branch, as in forward
        be.rmsNorm(r.mid, postNorm.value(), eps, fp32(r.ln2, r.norm32), r.rstd);
        round(r.norm32, r.ln2);
        be.matmul(r.ln2, false, wGate.compute(), true, r.gate, 1f, 0f);
        be.matmul(r.ln2, false, wUp.compute(), true, r.up, 1f, 0f);
        be.swiglu(r.gate, r.up, fp32(r.act, r.act32));
        round(r.act32, r.act);
        be.copy(r.mid, out);
        be.matmul(r.act, false, wDown.compute(), true, out, 1f, 1f);
    }

    /** Where an fp32 result goes: the saved activation itself when it is fp32, else the fp32 scratch. */
    private static Tensor fp32(Tensor saved, Tensor scratch) {
        return saved.dtype() == DType.F32 ? saved : scratch;
    }

    /** Rounds an fp32 result into its saved compute-dtype activation (nothing to do under fp32). */
    private void round(Tensor scratch, Tensor saved) {
        if (saved.dtype() != DType.F32) {
            be.copy(scratch, saved);
        }
    }

    /**
     * Backward of {@link #forward}. On entry {@code dX} holds the gradient w.r.t. this block's output; on
     * return, the gradient w.r.t. its input {@code x} (the residual passes straight through, the branches
     * add theirs). Parameter gradients accumulate.
     */
    void backward(Tensor x, Tensor cos, Tensor sin, Tensor dX) {
        // ---- MLP branch (dX = d out = d mid's residual part)
        be.matmul(dX, false, wDown.compute(), false, s.dAct, 1f, 0f);        // dAct = dOut Wd
        be.matmul(dX, true, act, false, wDown.grad(), 1f, 1f);             // dWd += dOut^T act
        be.swigluBackward(s.dAct, gate, up, s.dGate, s.dUp, false);          // written, not added: no zeroing
        be.matmul(s.dGate, false, wGate.compute(), false, s.dNorm, 1f, 0f);  // dG = dGate Wg + dUp Wu
        be.matmul(s.dUp, false, wUp.compute(), false, s.dNorm, 1f, 1f);
        be.matmul(s.dGate, true, ln2, false, wGate.grad(), 1f, 1f);
        be.matmul(s.dUp, true, ln2, false, wUp.grad(), 1f, 1f);
        be.rmsNormBackward(s.dNorm, mid, postNorm.value(), rstd2, dX, postNorm.grad()); // dX = d mid
        // ---- attention branch
        be.matmul(dX, false, wo.compute(), false, s.dAtt, 1f, 0f);           // dAtt = dMid Wo
        be.matmul(dX, true, att, false, wo.grad(), 1f, 1f);                // dWo += dMid^T att
        be.attentionBackward(s.dAtt4, q4, k4, v4, att4, lse, s.dQr4, s.dKr4, s.dV4, false);
        be.ropeBackward(s.dQr4, cos, sin, s.dQ4, false);
        be.ropeBackward(s.dKr4, cos, sin, s.dK4, false);
        be.matmul(s.dQ, false, wq.compute(), false, s.dNorm, 1f, 0f);        // dH = dQ Wq + dK Wk + dV Wv
        be.matmul(s.dK, false, wk.compute(), false, s.dNorm, 1f, 1f);
        be.matmul(s.dV, false, wv.compute(), false, s.dNorm, 1f, 1f);
        be.matmul(s.dQ, true, ln1, false, wq.grad(), 1f, 1f);
        be.matmul(s.dK, true, ln1, false, wk.grad(), 1f, 1f);
        be.matmul(s.dV, true, ln1, false, wv.grad(), 1f, 1f);
        be.rmsNormBackward(s.dNorm, x, inputNorm.value(), rstd1, dX, inputNorm.grad());  // dX = d x
    }
}
