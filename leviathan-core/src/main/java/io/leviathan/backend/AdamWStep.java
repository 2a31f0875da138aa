package io.leviathan.backend;

/**
 * The hyper-parameters of one AdamW step, as passed to {@link Backend#adamw}.
 *
 * @param lr learning rate for this step (after any schedule)
 * @param beta1 first-moment decay, e.g. 0.9
 * @param beta2 second-moment decay, e.g. 0.95
 * @param eps added to the root of the second moment
 * @param weightDecay decoupled decay coefficient; 0 for parameters that are not decayed
 * @param step the 1-based step count, for bias correction
 */
public record AdamWStep(float lr, float beta1, float beta2, float eps, float weightDecay, long step) {
    public AdamWStep {
        if (!(lr >= 0) || !Float.isFinite(lr)) {
            throw new IllegalArgumentException("AdamW: learning rate must be finite and >= 0, got " + lr);
        }
        if (!(beta1 >= 0 && beta1 < 1)) {
            throw new IllegalArgumentException("AdamW: beta1 must be in [0, 1), got " + beta1);
        }
        if (!(beta2 >= 0 && beta2 < 1)) {
            throw new IllegalArgumentException("AdamW: beta2 must be in [0, 1), got " + beta2);
        }
        if (!(eps > 0)) {
            throw new IllegalArgumentException("AdamW: eps must be > 0, got " + eps);
        }
        if (!(weightDecay >= 0)) {
            throw new IllegalArgumentException("AdamW: weight decay must be >= 0, got " + weightDecay);
        }
        if (step < 1) {
            throw new IllegalArgumentException("AdamW: step counts from 1, got " + step);
        }
    }

    /** The same hyper-parameters with another weight decay (for parameters excluded from decay). */
    public AdamWStep withWeightDecay(float wd) {
        return new AdamWStep(lr, beta1, beta2, eps, wd, step);
    }
}
