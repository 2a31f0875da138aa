// reductions.cuh: the arithmetic of the sums. Every sum is accumulated in double; these are the steps a
// thread takes per element and the final scaling, shared by the kernels and their host twins.
#pragma once

#include "common.cuh"

namespace lv {

LV_HD double sum_step(double acc, float x) { return acc + static_cast<double>(x); }
LV_HD double square_step(double acc, float x) { return acc + static_cast<double>(x) * static_cast<double>(x); }
// A row's or a tensor's sum times scale, rounded once to float.
LV_HD float scaled_sum(double sum, double scale) { return static_cast<float>(scale * sum); }
// dX[r, c] += scale * dOut[r]
LV_HD float row_sum_grad(float d_x, float d_out, float scale) { return d_x + scale * d_out; }
LV_HD float sqrt_to_float(double acc) { return static_cast<float>(sqrt(acc)); }

} // namespace lv
