// rope.cu: rotary position embedding on x [B, T, H, Dh], forward and backward, and its cos/sin tables
// [maxT, Dh/2]. One thread per rotated pair; every pair is independent, so out may be x.
#include "common.cuh"
#include "rope.cuh"

namespace {

using lv::kThreads;

// pair p of the flat [B*T*H, Dh/2] index space: row r = p / half, i = p % half, position (r / H) % T.
__global__ void rope_forward_kernel(const float *x, const float *cos, const float *sin, float *out, int64_t pairs,
                                    int64_t seq, int64_t heads, int64_t half) {
    for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p < pairs; p += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = p / half, i = p % half;
        int64_t t = (r / heads) % seq;
        int64_t lo = r * 2 * half + i, hi = lo + half;
        float a = x[lo], b = x[hi];
        lv::rope_rotate(a, b, cos[t * half + i], sin[t * half + i], &out[lo], &out[hi]);
    }
}

__global__ void rope_backward_kernel(const float *d_out, const float *cos, const float *sin, float *d_x,
                                     int64_t pairs, int64_t seq, int64_t heads, int64_t half) {
    for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p < pairs; p += (int64_t)gridDim.x * blockDim.x) {
        int64_t r = p / half, i = p % half;
        int64_t t = (r / heads) % seq;
        int64_t lo = r * 2 * half + i, hi = lo + half;
        lv::rope_rotate_back(d_out[lo], d_out[hi], cos[t * half + i], sin[t * half + i], &d_x[lo], &d_x[hi]);
    }
}

__global__ void rope_tables_kernel(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim) {
    int64_t half = head_dim / 2, n = max_t * half;
    for (int64_t p = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; p < n; p += (int64_t)gridDim.x * blockDim.x) {
        double angle = lv::rope_angle(theta, p / half, p % half, head_dim);
        cos[p] = static_cast<float>(::cos(angle));
        sin[p] = static_cast<float>(::sin(angle));
    }
}

int check_rope(const void *a, const void *b, const void *c, const void *d, int64_t batch, int64_t seq,
               int64_t heads, int64_t head_dim) {
    LV_REQUIRE(batch >= 0 && seq >= 0 && heads >= 0 && head_dim >= 0 && head_dim % 2 == 0);
    LV_REQUIRE(batch * seq * heads * head_dim == 0 || (a != nullptr && b != nullptr && c != nullptr && d != nullptr));
    return LV_OK;
}

int check_tables(float theta, const float *cos, const float *sin, int64_t max_t, int64_t head_dim) {
    LV_REQUIRE(theta > 0.0f && isfinite(theta));
    LV_REQUIRE(max_t >= 0 && head_dim >= 0 && head_dim % 2 == 0);
    LV_REQUIRE(max_t * head_dim == 0 || (cos != nullptr && sin != nullptr));
    return LV_OK;
}

} // namespace

extern "C" {

int lv_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch, int64_t seq,
                    int64_t heads, int64_t head_dim, void *stream) {
    int status = check_rope(x, cos, sin, out, batch, seq, heads, head_dim);
    int64_t pairs = batch * seq * heads * (head_dim / 2);
    if (status != LV_OK || pairs == 0) return status;
    rope_forward_kernel<<<lv::grid_for(pairs, kThreads), kThreads, 0, lv::as_stream(stream)>>>(
        x, cos, sin, out, pairs, seq, heads, head_dim / 2);
    return lv::launch_status();
}

int lv_host_rope_forward(const float *x, const float *cos, const float *sin, float *out, int64_t batch,
                         int64_t seq, int64_t heads, int64_t head_dim) {
    int status = check_rope(x, cos, sin, out, batch, seq, heads, head_dim);
    int64_t half = head_dim / 2, pairs = batch * seq * heads * half;
    if (status != LV_OK || pairs == 0) return status;
    for (int64_t p = 0; p < pairs; p++) {
        int64_t r = p / half, i = p % half, t = (r / heads) % seq;
        int64_t lo = r * head_dim + i, hi = lo + half;
        float a = x[lo], b = x[hi];
        lv::rope_rotate(a, b, cos[t * half + i], sin[t * half + i], &out[lo], &out[hi]);
    }
    return LV_OK;
}

int lv_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch,
                     int64_t seq, int64_t heads, int64_t head_dim, void *stream) {
    int status = check_rope(d_out, cos, sin, d_x, batch, seq, heads, head_dim);
    int64_t pairs = batch * seq * heads * (head_dim / 2);
    if (status != LV_OK || pairs == 0) return status;
    rope_backward_kernel<<<lv::grid_for(pairs, kThreads), kThreads, 0, lv::as_stream(stream)>>>(
        d_out, cos, sin, d_x, pairs, seq, heads, head_dim / 2);
    return lv::launch_status();
}

int lv_host_rope_backward(const float *d_out, const float *cos, const float *sin, float *d_x, int64_t batch,
                          int64_t seq, int64_t heads, int64_t head_dim) {
    int status = check_rope(d_out, cos, sin, d_x, batch, seq, heads, head_dim);
    int64_t half = head_dim / 2, pairs = batch * seq * heads * half;
    if (status != LV_OK || pairs == 0) return status;
    for (int64_t p = 0; p < pairs; p++) {
        int64_t r = p / half, i = p % half, t = (r / heads) % seq;
        int64_t lo = r * head_dim + i, hi = lo + half;
        lv::rope_rotate_back(d_out[lo], d_out[hi], cos[t * half + i], sin[t * half + i], &d_x[lo], &d_x[hi]);
    }
    return LV_OK;
}

int lv_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim, void *stream) {
    int status = check_tables(theta, cos, sin, max_t, head_dim);
    int64_t n = max_t * (head_dim / 2);
    if (status != LV_OK || n == 0) return status;
    rope_tables_kernel<<<lv::grid_for(n, kThreads), kThreads, 0, lv::as_stream(stream)>>>(theta, cos, sin, max_t,
                                                                                          head_dim);
    return lv::launch_status();
}

int lv_host_rope_tables(float theta, float *cos, float *sin, int64_t max_t, int64_t head_dim) {
    int status = check_tables(theta, cos, sin, max_t, head_dim);
    int64_t half = head_dim / 2, n = max_t * half;
    if (status != LV_OK || n == 0) return status;
    for (int64_t p = 0; p < n; p++) {
        double angle = lv::rope_angle(theta, p / half, p % half, head_dim);
        cos[p] = static_cast<float>(::cos(angle));
        sin[p] = static_cast<float>(::sin(angle));
    }
    return LV_OK;
}

} // extern "C"
