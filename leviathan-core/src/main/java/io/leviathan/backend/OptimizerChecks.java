package io.leviathan.backend;

import io.leviathan.tensor.DType;
import io.leviathan.tensor.ShapeMismatchException;
import io.leviathan.tensor.Tensor;
import java.util.List;

/** The argument checks of the global gradient norm and AdamW, the same on every backend. */
public final class OptimizerChecks {
    private OptimizerChecks() {}

    /** Every tensor of the list live, contiguous and F32 (the output is checked with {@link OpChecks#scalarOut}). */
    public static void globalL2Norm(List<Tensor> tensors) {
        String op = "globalL2Norm";
        if (tensors == null) {
            throw new IllegalArgumentException(op + ": tensors is null");
        }
        for (int i = 0; i < tensors.size(); i++) {
            Tensor t = tensors.get(i);
            if (t == null || t.dtype() != DType.F32 || !t.isContiguous()) {
                OpChecks.f32(op, "tensors[" + i + "]", t); // throws; the name is built only for the message
            }
            t.checkAlive(op);
        }
    }

    /** One AdamW step: param, grad, m and v F32 of one shape, param, m and v writable. */
    public static void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step) {
        adamwOperands(param, grad, m, v, false, null, step);
    }

    /**
     * The multi-tensor AdamW over flat buffers: as {@link #adamw}, with {@code decayedCount} in
     * {@code [0, n]}, a device norm with at least one element, and {@code clipNorm} finite and {@code >= 0}.
     */
    public static void adamw(Tensor param, Tensor grad, Tensor m, Tensor v, AdamWStep step, long decayedCount,
                             Tensor gradNorm, float clipNorm) {
        String op = "adamw";
        adamwOperands(param, grad, m, v, true, gradNorm, step);
        long n = param.numel();
        if (decayedCount < 0 || decayedCount > n) {
            throw new IllegalArgumentException(op + ": decayedCount " + decayedCount + " outside [0, " + n + "]");
        }
        if (gradNorm.numel() < 1) {
            throw new ShapeMismatchException(op + ": gradNorm " + gradNorm.describe() + " is empty");
        }
        if (!(clipNorm >= 0) || !Float.isFinite(clipNorm)) {
            throw new IllegalArgumentException(op + ": clipNorm must be finite and >= 0, got " + clipNorm);
        }
    }

    /** The operands both forms share, in the order both check them; the flat form also has {@code gradNorm}. */
    private static void adamwOperands(Tensor param, Tensor grad, Tensor m, Tensor v, boolean flat, Tensor gradNorm,
                                      AdamWStep step) {
        String op = "adamw";
        OpChecks.f32Out(op, "param", param);
        OpChecks.f32(op, "grad", grad);
        OpChecks.f32Out(op, "m", m);
        OpChecks.f32Out(op, "v", v);
        if (flat) {
            OpChecks.f32(op, "gradNorm", gradNorm);
        }
        if (step == null) {
            throw new IllegalArgumentException(op + ": step is null");
        }
        OpChecks.sameShape(op, "param", param, "grad", grad);
        OpChecks.sameShape(op, "param", param, "m", m);
        OpChecks.sameShape(op, "param", param, "v", v);
    }
}
