// adamw.cuh: one AdamW update of one element, exactly as io.leviathan.backend.cpu.CpuOptimizer (and
// torch.optim.AdamW) computes it, and the clip scale read from the gradient norm.
#pragma once

#include "common.cuh"

namespace lv {

// The per-call constants, computed once (in double, rounded to float as the CPU backend does).
struct AdamwConsts {
    float b1, b2, c1, c2, eps, step_size, bc2_sqrt, decay;
};

LV_HD AdamwConsts adamw_consts(float lr, float beta1, float beta2, float eps, float weight_decay, double bias1,
                               double bias2) {
    AdamwConsts k;
    k.b1 = beta1;
    k.b2 = beta2;
    k.c1 = 1.0f - beta1;
    k.c2 = 1.0f - beta2;
    k.eps = eps;
    k.step_size = static_cast<float>(static_cast<double>(lr) / bias1);
    k.bc2_sqrt = static_cast<float>(sqrt(bias2));
    k.decay = static_cast<float>(1.0 - static_cast<double>(lr) * static_cast<double>(weight_decay));
    return k;
}

// The gradient's multiplier: clip / (norm + 1e-6) when clipping applies, else 1. Callers skip the update
// when the norm is not finite.
LV_HD float adamw_clip_scale(float norm, float clip_norm) {
    return clip_norm > 0.0f && norm > clip_norm
               ? static_cast<float>(static_cast<double>(clip_norm) / (static_cast<double>(norm) + 1e-6))
               : 1.0f;
}

// m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; p = p * decay - m / (sqrt(v) / sqrt(bias2) + eps) * lr / bias1
LV_HD void adamw_update(float *p, float grad, float *m, float *v, const AdamwConsts &k, float clip, bool decayed) {
    float g = grad * clip;
    float mi = *m * k.b1 + g * k.c1;
    float vi = *v * k.b2 + g * g * k.c2;
    float denom = sqrtf(vi) / k.bc2_sqrt + k.eps;
    *p = *p * (decayed ? k.decay : 1.0f) - mi / denom * k.step_size;
    *m = mi;
    *v = vi;
}

} // namespace lv
