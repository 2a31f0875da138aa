package io.leviathan.train;

/**
 * The learning-rate schedule: linear warmup to {@code maxLr}, then cosine decay to the floor {@code minLr}
 * (as in llm.c). Steps count from 0; {@link #lr(long) lr(s)} is the rate of the update made at step
 * {@code s}:
 * <pre>
 *   s &lt; warmup:           maxLr * (s + 1) / warmup
 *   warmup &lt;= s &lt; total:  minLr + (maxLr - minLr) * (1 + cos(pi * (s - warmup) / (total - warmup))) / 2
 *   s &gt;= total:           minLr
 * </pre>
 * so the first step after warmup runs at {@code maxLr} and the rate approaches {@code minLr} at the last step.
 *
 * @param maxLr the peak learning rate, > 0
 * @param minLr the floor, in [0, maxLr]
 * @param warmupSteps steps of linear warmup, in [0, totalSteps]
 * @param totalSteps the length of the run, >= 1
 */
public record CosineSchedule(float maxLr, float minLr, long warmupSteps, long totalSteps) {

    public CosineSchedule {
        if (!(maxLr > 0) || !Float.isFinite(maxLr)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + maxLr);
        }
        if (!(minLr >= 0 && minLr <= maxLr)) {
            throw new IllegalArgumentException("minimum learning rate must be in [0, " + maxLr + "], got " + minLr);
        }
        if (totalSteps < 1) {
            throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("warmup steps must be in [0, " + totalSteps + "], got " + warmupSteps);
        }
    }

    /** The learning rate of the update at 0-based step {@code step}. */
    public float lr(long step) {
        if (step < 0) {
            throw new IllegalArgumentException("step must be >= 0, got " + step);
        }
        if (step < warmupSteps) {
            return (float) ((double) maxLr * (step + 1) / warmupSteps);
        }
        if (step >= totalSteps) {
            return minLr;
        }
        double ratio = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
        double coeff = 0.5 * (1.0 + Math.cos(Math.PI * ratio));
        return (float) (minLr + coeff * ((double) maxLr - minLr));
    }
}
