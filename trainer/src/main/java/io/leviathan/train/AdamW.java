package io.leviathan.train;

import io.leviathan.backend.AdamWStep;
import io.leviathan.backend.Backend;
import io.leviathan.model.Parameter;
import io.leviathan.model.ParameterStore;
import io.leviathan.tensor.DType;
import io.leviathan.tensor.Tensor;
import io.leviathan.tensor.TensorArena;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * AdamW (Loshchilov and Hutter) with global-norm gradient clipping, as {@code torch.optim.AdamW} after
 * {@code torch.nn.utils.clip_grad_norm_}:
 * <pre>
 *   norm = sqrt(sum over every gradient element g^2)                    (double accumulation)
 *   if clip &gt; 0 and norm &gt; clip:   g *= clip / (norm + 1e-6)          every gradient
 *   for each parameter p:
 *     p *= 1 - lr * wd          only when p.decay()
 *     m  = beta1 m + (1 - beta1) g;   v = beta2 v + (1 - beta2) g^2
 *     p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
 * </pre>
 *
 * <p><b>Decay groups.</b> Decoupled weight decay applies exactly to the parameters whose
 * {@link Parameter#decay()} flag is set, which the model assigns as the PyTorch reference does: matrices
 * that map between spaces are decayed (attention and MLP projections, {@code lm_head}, the dense embedding
 * table, and in the Leviathan generator the digit {@code codebooks}, {@code seed_proj} and {@code out_proj});
 * gains, biases and other 1-D parameters are not ({@code input_layernorm}, {@code post_attention_layernorm},
 * {@code model.norm}), nor are the generator's LayerNorm ({@code ln_weight}, {@code ln_bias}) and its
 * B-spline coefficients ({@code spline}), which are function values on a grid rather than a linear map:
 * shrinking them toward zero would shrink every separable mode multiplicatively (a product over seed
 * dimensions) instead of acting as a mild regulariser.
 *
 * <p>The moments live in two flat buffers laid out like the parameter store's (one view per parameter), in an
 * arena of the parameters' backend, allocated once. A step is three backend calls whatever the model's size
 * (the norm, the clip decision inside AdamW, the update) and never waits for the device: the norm stays in
 * a device scalar the caller downloads when it wants it ({@link #step} returns nothing). {@link #step}
 * allocates no native memory. {@link #close()} frees the moments.
 */
public final class AdamW implements AutoCloseable {
    /** Added to the norm before dividing, as in {@code clip_grad_norm_}. */
    static final double CLIP_EPS = 1e-6;

    private final Backend be;
    private final AdamWConfig cfg;
    private final ParameterStore store;
    private final List<Tensor> flatGrad;
    private final Tensor m;
    private final Tensor v;
    private final TensorArena arena;
    private final Map<String, Tensor> state;
    private long steps;

    /** Zero moments for every parameter of {@code params}, allocated on {@code be}'s device. */
    public AdamW(Backend be, ParameterStore params, AdamWConfig cfg) {
        this.be = be;
        this.cfg = cfg;
        this.store = params;
        this.flatGrad = List.of(params.flatGrads());
        this.arena = be.newArena();
        try {
            m = arena.allocate(DType.F32, params.flatSize()).named("adamw.m");
            v = arena.allocate(DType.F32, params.flatSize()).named("adamw.v");
            Map<String, Tensor> s = new LinkedHashMap<>();
            for (Parameter p : params.all()) {
                s.put(momentName("m", p.name()), params.view(m, p).named(momentName("m", p.name())));
            }
            for (Parameter p : params.all()) {
                s.put(momentName("v", p.name()), params.view(v, p).named(momentName("v", p.name())));
            }
            state = Collections.unmodifiableMap(s);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /** {@code "adamw.m.<param>"} or {@code "adamw.v.<param>"}. */
    public static String momentName(String which, String param) {
        return "adamw." + which + "." + param;
    }

    /**
     * One update from the gradients the parameters hold, issued without waiting: writes the global gradient
     * norm (before clipping) into {@code gradNorm[0]}, then applies AdamW at rate {@code lr}, reading the
     * gradients scaled to norm {@code clipNorm} when {@code clipNorm > 0} and the norm exceeds it (the
     * gradients themselves are left as they are). When the norm is not finite the backend updates nothing;
     * the caller sees it in the norm it downloads (see {@link #checkNorm}).
     */
    public void step(float lr, float clipNorm, Tensor gradNorm) {
        be.globalL2Norm(flatGrad, gradNorm);
        steps++;
        AdamWStep decayed = new AdamWStep(lr, cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay(), steps);
        be.adamw(store.flatValues(), store.flatGrads(), m, v, decayed, store.decayedCount(), gradNorm, clipNorm);
    }

    /**
     * {@link #step(float, float, Tensor)} that waits and returns the gradient norm before clipping.
     *
     * @throws IllegalStateException if the gradient norm is not finite (nothing is updated then)
     */
    public double step(float lr, float clipNorm) {
        try (TensorArena scratch = be.newArena()) {
            Tensor norm = scratch.allocate(DType.F32, 1);
            step(lr, clipNorm, norm);
            return checkNorm(be.downloadScalar(norm), clipNorm);
        }
    }

    /**
     * Returns {@code norm} (downloaded from a step's norm tensor) when finite.
     *
     * @param clipNorm the clipping threshold the step ran with (0 = no clipping), for the advice given
     * @throws IllegalStateException if it is not: the backend skipped that step's update (the loss diverged),
     *     so the step count goes back to what it was
     */
    public double checkNorm(double norm, float clipNorm) {
        if (!Double.isFinite(norm)) {
            long failed = steps--;
            // clipping cannot rescue a non-finite norm, so suggest it only when it is off
            String advice = clipNorm > 0 ? "lower the learning rate" : "lower the learning rate or enable clipping";
            throw new IllegalStateException("gradient norm is " + norm + " at optimizer step " + failed
                    + "; the loss diverged (" + advice + ")");
        }
        return norm;
    }

    /** Updates made so far (the bias-correction step count of the last update). */
    public long steps() {
        return steps;
    }

    /** Sets the update count, when restoring from a checkpoint. */
    public void setSteps(long steps) {
        if (steps < 0) {
            throw new IllegalArgumentException("AdamW step count must be >= 0, got " + steps);
        }
        this.steps = steps;
    }

    /** The backend the moments live on. */
    public Backend backend() {
        return be;
    }

    /** The hyper-parameters. */
    public AdamWConfig config() {
        return cfg;
    }

    /**
     * The moments by name: {@code adamw.m.<param>} for every parameter in order, then {@code adamw.v.<param>};
     * the live tensors (views of the flat moment buffers; restore through the backend's upload).
     */
    public Map<String, Tensor> state() {
        return state;
    }

    /** Frees the moments. */
    @Override
    public void close() {
        arena.close();
    }
}
