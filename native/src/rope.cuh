// rope.cuh: rotary position embedding, rotate-half convention. For i < Dh/2 the pair (x_i, x_{i+Dh/2}) is
// rotated by the angle t * theta^(-2i/Dh) of its position t (io.leviathan.backend.cpu.CpuRope).
#pragma once

#include "common.cuh"

namespace lv {

// out_lo = a*c - b*s, out_hi = b*c + a*s for the pair (a, b) = (x_i, x_{i+h}).
LV_HD void rope_rotate(float a, float b, float c, float s, float *lo, float *hi) {
    *lo = a * c - b * s;
    *hi = b * c + a * s;
}

// Backward, the rotation by the negative angle, accumulated: dlo += a*c + b*s, dhi += b*c - a*s.
LV_HD void rope_rotate_back(float a, float b, float c, float s, float *d_lo, float *d_hi) {
    *d_lo = *d_lo + (a * c + b * s);
    *d_hi = *d_hi + (b * c - a * s);
}

// The angle of position t for frequency index i of a head of head_dim, in double.
LV_HD double rope_angle(double theta, int64_t t, int64_t i, int64_t head_dim) {
    return static_cast<double>(t) * pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
}

} // namespace lv
