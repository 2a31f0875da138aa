/*
 * rounding.cuh: float and double operations with one rounding each, the same on the host and the device,
 * and the host twin of a warp's butterfly sum.
 *
 * nvcc contracts a * b + c into one fma on the device unless told not to, and gcc does not on x86-64, so a
 * kernel and its host twin written with plain operators could round differently. Written with these
 * helpers they cannot: on the device each is the _rn intrinsic, which is never contracted, and on the host
 * each is the plain IEEE operation (fmaf and fma are the correctly rounded library functions).
 */
#ifndef LEVIATHAN_ROUNDING_CUH
#define LEVIATHAN_ROUNDING_CUH

#include <cuda_runtime.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#ifndef LV_HD
#define LV_HD __host__ __device__ inline
#endif

namespace lv_rounding {

#ifdef __CUDA_ARCH__
LV_HD float rn_mul(float a, float b) { return __fmul_rn(a, b); }
LV_HD float rn_add(float a, float b) { return __fadd_rn(a, b); }
LV_HD float rn_sub(float a, float b) { return __fsub_rn(a, b); }
LV_HD float rn_div(float a, float b) { return __fdiv_rn(a, b); }
LV_HD float rn_fma(float a, float b, float c) { return __fmaf_rn(a, b, c); }
LV_HD double rn_mul(double a, double b) { return __dmul_rn(a, b); }
LV_HD double rn_add(double a, double b) { return __dadd_rn(a, b); }
LV_HD double rn_sub(double a, double b) { return __dsub_rn(a, b); }
LV_HD double rn_div(double a, double b) { return __ddiv_rn(a, b); }
LV_HD float bits_to_float(uint32_t u) { return __uint_as_float(u); }
LV_HD uint32_t float_to_bits(float f) { return __float_as_uint(f); }
#else
LV_HD float rn_mul(float a, float b) { return a * b; }
LV_HD float rn_add(float a, float b) { return a + b; }
LV_HD float rn_sub(float a, float b) { return a - b; }
LV_HD float rn_div(float a, float b) { return a / b; }
LV_HD float rn_fma(float a, float b, float c) { return fmaf(a, b, c); }
LV_HD double rn_mul(double a, double b) { return a * b; }
LV_HD double rn_add(double a, double b) { return a + b; }
LV_HD double rn_sub(double a, double b) { return a - b; }
LV_HD double rn_div(double a, double b) { return a / b; }
LV_HD float bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}
LV_HD uint32_t float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
#endif

/*
 * The butterfly N lanes of a warp run (__shfl_xor_sync at N/2, ..., 2, 1), emulated over an array: after step o, lane l
 * holds v[l] + v[l ^ o], which is the same float for both partners, so every lane ends with the same sum,
 * added in the same order as on the device.
 */
template <int N>
inline float lane_tree_sum(float *v) {
    for (int o = N / 2; o >= 1; o >>= 1) {
        for (int l = 0; l < N; l++) {
            if ((l & o) == 0) {
                float s = rn_add(v[l], v[l ^ o]);
                v[l] = s;
                v[l ^ o] = s;
            }
        }
    }
    return v[0];
}

template <int N>
inline double lane_tree_sum_double(double *v) {
    for (int o = N / 2; o >= 1; o >>= 1) {
        for (int l = 0; l < N; l++) {
            if ((l & o) == 0) {
                double s = v[l] + v[l ^ o];
                v[l] = s;
                v[l ^ o] = s;
            }
        }
    }
    return v[0];
}

}  // namespace lv_rounding

#endif
