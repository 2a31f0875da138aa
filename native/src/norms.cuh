// norms.cuh: the arithmetic of RMSNorm and LayerNorm, per element and per row, as the CPU backend
// (io.leviathan.backend.cpu.CpuNorms) writes it; shared by the kernels and their host twins.
#pragma once

#include "common.cuh"

namespace lv {

// ---------------------------------------------------------------- RMSNorm: out = x * rstd * w

LV_HD double rms_step(double acc, float x) { return acc + static_cast<double>(x * x); }
// rstd = 1 / sqrt(mean(x^2) + eps), from the row's sum of squares.
LV_HD float rms_rstd(double sum_squares, int64_t cols, float eps) {
    return static_cast<float>(1.0 / sqrt(sum_squares / static_cast<double>(cols) + static_cast<double>(eps)));
}
LV_HD float rms_apply(float x, float rstd, float w) { return x * rstd * w; }
// The backward's row sum: sum_c dOut * w * x.
LV_HD double rms_dot_step(double acc, float d_out, float w, float x) {
    return acc + static_cast<double>(d_out * w * x);
}
// k = rstd^3 * sum(dOut * w * x) / C
LV_HD float rms_k(float rstd, double dot, int64_t cols) {
    return static_cast<float>(static_cast<double>(rstd) * rstd * rstd * dot / static_cast<double>(cols));
}
// dX += rstd * dOut * w - k * x
LV_HD float rms_dx(float d_x, float d_out, float w, float x, float rstd, float k) {
    return d_x + d_out * w * rstd - x * k;
}

// ---------------------------------------------------------------- LayerNorm: out = (x - mean) * rstd * w + b

LV_HD double sum_step_f(double acc, float x) { return acc + static_cast<double>(x); }
LV_HD float ln_mean(double sum, int64_t cols) { return static_cast<float>(sum / static_cast<double>(cols)); }
LV_HD double ln_var_step(double acc, float x, float mean) {
    float d = x - mean;
    return acc + static_cast<double>(d * d);
}
// rstd = 1 / sqrt(biased variance + eps)
LV_HD float ln_rstd(double sum_sq_dev, int64_t cols, float eps) {
    return static_cast<float>(1.0 / sqrt(sum_sq_dev / static_cast<double>(cols) + static_cast<double>(eps)));
}
LV_HD float ln_xhat(float x, float mean, float rstd) { return (x - mean) * rstd; }
LV_HD float ln_apply(float x, float mean, float rstd, float w, float b) { return fmaf(ln_xhat(x, mean, rstd), w, b); }
// dX += rstd * (dn - mean(dn) - xhat * mean(dn * xhat)), dn = dOut * w
LV_HD float ln_dx(float d_x, float d_out, float w, float x, float mean, float rstd, float mean_dn,
                  float mean_dn_xhat) {
    float dn = d_out * w;
    float xhat = ln_xhat(x, mean, rstd);
    return fmaf(dn - mean_dn - xhat * mean_dn_xhat, rstd, d_x);
}

// ---------------------------------------------------------------- shared: parameter gradients

// One row's contribution to dW at one column: dW += dOut * xhat (RMSNorm: mean 0). dB += dOut is a plain add.
LV_HD float weight_grad_step(float acc, float d_out, float x, float mean, float rstd) {
    return fmaf(d_out, ln_xhat(x, mean, rstd), acc);
}

} // namespace lv
