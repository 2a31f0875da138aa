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
 * <p>The moments live in an arena of the parameters' backend, allocated once; {@link #step} allocates no
 * native memory. {@link #close()} frees them.
 */
public final class AdamW implements AutoCloseable {
    /** Added to the norm before dividing, as in {@code clip_grad_norm_}. */
    static final double CLIP_EPS = 1e-6;

    private final Backend be;
    private final AdamWConfig cfg;
    private final List<Parameter> params;
    private final List<Tensor> grads;
    private final Tensor[] m;
    private final Tensor[] v;
    private final TensorArena arena;
    private final Map<String, Tensor> state;
    private long steps;

    /** Zero moments for every parameter of {@code params}, allocated on {@code be}'s device. */
    public AdamW(Backend be, ParameterStore params, AdamWConfig cfg) {
        this.be = be;
        this.cfg = cfg;
        this.params = params.all();
        this.grads = params.grads();
        this.arena = be.newArena();
        try {
            m = new Tensor[this.params.size()];
            v = new Tensor[this.params.size()];
            Map<String, Tensor> s = new LinkedHashMap<>();
            for (int i = 0; i < m.length; i++) {
                Parameter p = this.params.get(i);
                m[i] = arena.allocate(DType.F32, p.value().shape());
                v[i] = arena.allocate(DType.F32, p.value().shape());
                s.put(momentName("m", p.name()), m[i]);
            }
            for (int i = 0; i < v.length; i++) {
                s.put(momentName("v", this.params.get(i).name()), v[i]);
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
     * One update from the gradients the parameters hold: clips them (in place) to global norm
     * {@code clipNorm} when {@code clipNorm > 0} and the norm exceeds it, then applies AdamW at rate
     * {@code lr}. Returns the gradient norm before clipping.
     *
     * @throws IllegalStateException if the gradient norm is not finite (nothing is updated then)
     */
    public double step(float lr, float clipNorm) {
        double norm = be.globalL2Norm(grads);
        if (!Double.isFinite(norm)) {
            throw new IllegalStateException("gradient norm is " + norm + " at optimizer step " + (steps + 1)
                    + "; the loss diverged (lower the learning rate or enable clipping)");
        }
        if (clipNorm > 0 && norm > clipNorm) {
            float scale = (float) (clipNorm / (norm + CLIP_EPS));
            for (Tensor g : grads) {
                be.scale(g, scale, g);
            }
        }
        steps++;
        AdamWStep decayed = new AdamWStep(lr, cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay(), steps);
        AdamWStep plain = decayed.withWeightDecay(0f);
        for (int i = 0; i < m.length; i++) {
            Parameter p = params.get(i);
            be.adamw(p.value(), p.grad(), m[i], v[i], p.decay() ? decayed : plain);
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

    /** The hyper-parameters. */
    public AdamWConfig config() {
        return cfg;
    }

    /**
     * The moments by name: {@code adamw.m.<param>} for every parameter in order, then {@code adamw.v.<param>};
     * the live tensors (write into them to restore).
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
