// adamw.cu: one AdamW step over flat buffers (every parameter of a model in one launch). The gradient norm
// and so the clip scale are read on the device, so the step needs no host sync; a non-finite norm leaves
// everything unchanged (the caller learns of it from the norm it downloads once per step).
#include "adamw.cuh"
#include "common.cuh"

namespace {

using lv::kThreads;

__global__ void adamw_kernel(float *param, const float *grad, float *m, float *v, int64_t n, lv::AdamwConsts k,
                             int64_t decayed_count, const float *grad_norm, float clip_norm) {
    float clip = 1.0f;
    if (grad_norm != nullptr) {
        float norm = grad_norm[0];
        if (!isfinite(norm)) return;
        clip = lv::adamw_clip_scale(norm, clip_norm);
    }
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x)
        lv::adamw_update(&param[i], grad[i], &m[i], &v[i], k, clip, i < decayed_count);
}

int check_adamw(const float *param, const float *grad, const float *m, const float *v, int64_t n, float lr,
                float beta1, float beta2, float eps, float weight_decay, double bias1, double bias2,
                int64_t decayed_count, float clip_norm) {
    LV_REQUIRE(n >= 0 && decayed_count >= 0 && decayed_count <= n);
    LV_REQUIRE(n == 0 || (param != nullptr && grad != nullptr && m != nullptr && v != nullptr));
    LV_REQUIRE(lr >= 0.0f && isfinite(lr) && beta1 >= 0.0f && beta1 < 1.0f && beta2 >= 0.0f && beta2 < 1.0f);
    LV_REQUIRE(eps > 0.0f && weight_decay >= 0.0f && bias1 > 0.0 && bias1 <= 1.0 && bias2 > 0.0 && bias2 <= 1.0);
    LV_REQUIRE(clip_norm >= 0.0f && isfinite(clip_norm));
    return LV_OK;
}

} // namespace

extern "C" {

int lv_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1, float beta2,
             float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count,
             const float *grad_norm, float clip_norm, void *stream) {
    int status = check_adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, bias1, bias2,
                             decayed_count, clip_norm);
    if (status != LV_OK || n == 0) return status;
    lv::AdamwConsts k = lv::adamw_consts(lr, beta1, beta2, eps, weight_decay, bias1, bias2);
    adamw_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(param, grad, m, v, n, k,
                                                                                   decayed_count, grad_norm,
                                                                                   clip_norm);
    return lv::launch_status();
}

int lv_host_adamw(float *param, const float *grad, float *m, float *v, int64_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, double bias1, double bias2, int64_t decayed_count,
                  const float *grad_norm, float clip_norm) {
    int status = check_adamw(param, grad, m, v, n, lr, beta1, beta2, eps, weight_decay, bias1, bias2,
                             decayed_count, clip_norm);
    if (status != LV_OK || n == 0) return status;
    lv::AdamwConsts k = lv::adamw_consts(lr, beta1, beta2, eps, weight_decay, bias1, bias2);
    float clip = 1.0f;
    if (grad_norm != nullptr) {
        if (!isfinite(grad_norm[0])) return LV_OK;
        clip = lv::adamw_clip_scale(grad_norm[0], clip_norm);
    }
    for (int64_t i = 0; i < n; i++) lv::adamw_update(&param[i], grad[i], &m[i], &v[i], k, clip, i < decayed_count);
    return LV_OK;
}

} // extern "C"
