// activations.cuh: exp, sigmoid, SiLU, SwiGLU and the softmax steps, per element.
//
// exp is the CPU backend's polynomial (io.leviathan.backend.cpu.CpuActivations.expOf), built only from
// add, multiply, fma and bit operations in the same order, so a kernel, its host twin and the Java backend
// give the same bits (expf would differ in the last place between the GPU and the host's libm).
#pragma once

#include "common.cuh"
#include "elementwise.cuh"

namespace lv {

LV_HD float exp_poly(float x) {
    const float kLimit = 88.0f;
    const float kLog2e = 1.44269504088896341f;
    const float kLn2Hi = 0.693359375f;
    const float kLn2Lo = -2.12194440e-4f;
    const float kRoundMagic = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer in the low bits
    const uint32_t kRoundMagicBits = 0x4B400000u;
    const float p0 = 1.9875691500e-4f, p1 = 1.3981999507e-3f, p2 = 8.3334519073e-3f;
    const float p3 = 4.1665795894e-2f, p4 = 1.6666665459e-1f, p5 = 5.0000001201e-1f;
    if (x > kLimit) return INFINITY;
    if (x < -kLimit) return 0.0f;
    float t = x * kLog2e + kRoundMagic;
    float n = t - kRoundMagic;
    float r = fmaf(n, -kLn2Hi, x);
    r = fmaf(n, -kLn2Lo, r);
    float p = fmaf(r, p0, p1);
    p = fmaf(p, r, p2);
    p = fmaf(p, r, p3);
    p = fmaf(p, r, p4);
    p = fmaf(p, r, p5);
    float y = fmaf(p, r * r, r) + 1.0f;
    return y * bits_float((float_bits(t) - (kRoundMagicBits - 127u)) << 23);
}

LV_HD float sigmoid_of(float x) { return 1.0f / (exp_poly(-x) + 1.0f); }

LV_HD float silu_of(float x) { return x * sigmoid_of(x); }
// d silu / dx = s * (1 + x * (1 - s))
LV_HD float silu_grad(float x) {
    float s = sigmoid_of(x);
    return s * (1.0f + x * (1.0f - s));
}
LV_HD float silu_backward(float d_out, float x, float d_x) { return fmaf(d_out, silu_grad(x), d_x); }
LV_HD float sigmoid_backward(float d_out, float y, float d_x) { return fmaf(d_out, y * (1.0f - y), d_x); }

LV_HD float swiglu_of(float gate, float up) { return gate * sigmoid_of(gate) * up; }
// dGate += dOut * up * silu'(gate), dUp += dOut * silu(gate)
LV_HD void swiglu_backward(float d_out, float gate, float up, float *d_gate, float *d_up) {
    float s = sigmoid_of(gate);
    *d_gate = fmaf(d_out * up, s * (1.0f + gate * (1.0f - s)), *d_gate);
    *d_up = fmaf(d_out, gate * s, *d_up);
}

// Softmax: e = exp(x - max), summed in double, then out = e * (float) (1 / sum).
LV_HD float softmax_exp(float x, float max) { return exp_poly(x - max); }
LV_HD float softmax_inv_sum(double sum) { return static_cast<float>(1.0 / sum); }
// dX += y * (dOut - dot), dot = (float) sum(dOut * y)
LV_HD float softmax_backward(float d_out, float y, float dot, float d_x) { return fmaf(y, d_out - dot, d_x); }

} // namespace lv
