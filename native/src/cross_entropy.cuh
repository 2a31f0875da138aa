// cross_entropy.cuh: the per-row and per-element arithmetic of the fused softmax + cross-entropy
// (io.leviathan.backend.cpu.CpuCrossEntropy), shared by the kernels and their host twin.
#pragma once

#include "activations.cuh"
#include "common.cuh"

namespace lv {

LV_HD bool ce_counted(int32_t target, int ignore_index, int64_t vocab) {
    return target != ignore_index && target >= 0 && static_cast<int64_t>(target) < vocab;
}

// The gradient weight of one counted row: grad_scale / counted (0 when nothing is counted).
LV_HD float ce_grad_per_row(float grad_scale, int64_t counted) {
    return counted == 0 ? 0.0f : static_cast<float>(static_cast<double>(grad_scale) / static_cast<double>(counted));
}

// loss = log(sum_j exp(x_j - max)) + max - x_target
LV_HD double ce_row_loss(double sum_exp, float max, float x_target) {
    return log(sum_exp) + static_cast<double>(max) - static_cast<double>(x_target);
}

// The factor turning exp(x - max) into the gradient: grad_per_row / sum.
LV_HD float ce_grad_factor(float grad_per_row, double sum_exp) {
    return static_cast<float>(static_cast<double>(grad_per_row) / sum_exp);
}

// dLogits at one column: exp(x - max) * factor, minus grad_per_row at the target.
LV_HD float ce_grad(float e, float factor, bool is_target, float grad_per_row) {
    float g = e * factor;
    return is_target ? g - grad_per_row : g;
}

// The mean loss over the counted rows (0 when none), as added to loss_sum[0].
LV_HD float ce_mean(double total, int64_t counted) {
    return counted == 0 ? 0.0f : static_cast<float>(total / static_cast<double>(counted));
}

} // namespace lv
