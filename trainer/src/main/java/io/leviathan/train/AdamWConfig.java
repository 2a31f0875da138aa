package io.leviathan.train;

/**
 * AdamW's hyper-parameters other than the learning rate (which the schedule supplies per step).
 *
 * @param beta1 first-moment decay, in [0, 1) (e.g. 0.9)
 * @param beta2 second-moment decay, in [0, 1) (e.g. 0.95)
 * @param eps added to the root of the second moment, > 0 (e.g. 1e-8)
 * @param weightDecay decoupled weight decay coefficient, >= 0 (e.g. 0.1); applied only to parameters whose
 *     {@link io.leviathan.model.Parameter#decay()} is true (see {@link AdamW})
 */
public record AdamWConfig(float beta1, float beta2, float eps, float weightDecay) {

    /** beta1 0.9, beta2 0.95, eps 1e-8, weight decay 0.1 (the usual LLaMA-style pre-training values). */
    public static AdamWConfig defaults() {
        return new AdamWConfig(0.9f, 0.95f, 1e-8f, 0.1f);
    }

    public AdamWConfig {
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("AdamW beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW beta2 must be in [0, 1), got " + beta2);
        }
        if (!(eps > 0) || !Float.isFinite(eps)) {
            throw new IllegalArgumentException("AdamW eps must be finite and > 0, got " + eps);
        }
        if (!(weightDecay >= 0) || !Float.isFinite(weightDecay)) {
            throw new IllegalArgumentException("AdamW weight decay must be finite and >= 0, got " + weightDecay);
        }
    }
}
