// elementwise.cuh: per-element arithmetic of copy/fill (BF16 conversion) and add, mul, scale, axpy.
#pragma once

#include <stdint.h>
#include <string.h>

#include "common.cuh"

namespace lv {

LV_HD uint32_t float_bits(float f) {
#ifdef __CUDA_ARCH__
    return static_cast<uint32_t>(__float_as_uint(f));
#else
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
#endif
}

LV_HD float bits_float(uint32_t u) {
#ifdef __CUDA_ARCH__
    return __uint_as_float(u);
#else
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
#endif
}

// F32 to BF16 bits, round to nearest even; NaN keeps its sign and gets a quiet mantissa bit so that
// truncation cannot turn it into infinity (exactly io.leviathan.tensor.Bf16.fromFloat).
LV_HD uint16_t f32_to_bf16(float f) {
    uint32_t bits = float_bits(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x0040u);
    uint32_t lsb = (bits >> 16) & 1u;
    return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

// BF16 bits to the F32 they represent (exact).
LV_HD float bf16_to_f32(uint16_t h) { return bits_float(static_cast<uint32_t>(h) << 16); }

LV_HD float add_op(float a, float b) { return a + b; }
LV_HD float mul_op(float a, float b) { return a * b; }
// acc + x * y with one rounding, as the CPU backend's fma.
LV_HD float fma_acc(float x, float y, float acc) { return fmaf(x, y, acc); }
LV_HD float scale_op(float s, float a) { return s * a; }
LV_HD float axpy_op(float alpha, float x, float y) { return fmaf(x, alpha, y); }

} // namespace lv
