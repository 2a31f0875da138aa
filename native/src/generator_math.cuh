/*
 * generator_math.cuh: the arithmetic of the Leviathan generator's kernels (generator.cu) and their host
 * twins: the quadratic B-spline basis of one coordinate and its derivative, and the factor of one seed
 * dimension of a separable mode with its gradient.
 *
 * The Java CPU backend (CpuSplineBasis, CpuSeparableModes) is the specification; these functions perform
 * its operations in its order, with one rounding each (rounding.cuh): the host twins match the Java backend
 * bit for bit where the Java side's summation order is the same (the basis, its backward and the modes) and
 * to rounding elsewhere (the dWeights and dSpline sums), and the kernels run the same operations as the
 * twins.
 */
#ifndef LEVIATHAN_GENERATOR_MATH_CUH
#define LEVIATHAN_GENERATOR_MATH_CUH

#include <math.h>
#include <stdint.h>

#include "rounding.cuh"

namespace lv_generator {

using namespace lv_rounding;

/* The 1e-9 of log(|phi| + 1e-9). */
constexpr float EPS = 1e-9f;

// ================================================================ spline basis (double, as the Java side)

/* t clamped to [0, 1]; NaN stays NaN. */
LV_HD double clamp01(double t) { return t < 0 ? 0.0 : (t > 1 ? 1.0 : t); }

/* The knot nearest to c >= 0, ties going up; c - floor(c) is exact. NaN gives 0, as Java's (int) NaN. */
LV_HD int nearest_knot(double c) {
    if (c != c) {
        return 0;
    }
    int fl = (int) c;
    return rn_sub(c, (double) fl) >= 0.5 ? fl + 1 : fl;
}

/* B(1 + x): the weight of the knot left of the nearest, x in [-0.5, 0.5]. */
LV_HD double left_weight(double x) {
    double a = rn_sub(0.5, x);
    return rn_mul(rn_mul(0.5, a), a);
}

/* B(1 - x): the weight of the knot right of the nearest. */
LV_HD double right_weight(double x) {
    double a = rn_add(0.5, x);
    return rn_mul(rn_mul(0.5, a), a);
}

/* B(x): the nearest knot's weight. */
LV_HD double middle_weight(double x) { return rn_sub(0.75, rn_mul(x, x)); }

/*
 * The sparse basis of one coordinate t on `knots` knots: returns the window's first knot (nearest - 1) and
 * its three weights (0 off the grid), divided by their sum when normalize.
 */
LV_HD int spline_window(float t, int knots, bool normalize, float w[3]) {
    double scale = (double) (knots - 1);
    double c = rn_mul(clamp01((double) t), scale);
    int jn = nearest_knot(c);
    double x = rn_sub(c, (double) jn);
    double u0 = jn >= 1 ? left_weight(x) : 0.0;
    double u1 = middle_weight(x);
    double u2 = jn + 1 < knots ? right_weight(x) : 0.0;
    double scale_w = normalize ? rn_div(1.0, rn_add(rn_add(u0, u1), u2)) : 1.0;
    w[0] = (float) rn_mul(u0, scale_w);
    w[1] = (float) rn_mul(u1, scale_w);
    w[2] = (float) rn_mul(u2, scale_w);
    return jn - 1;
}

/*
 * sum_m g_m d w_m / dx at offset x from the nearest knot, u'_m = x - 0.5, -2x, x + 0.5 (0 off the grid):
 * without normalisation sum g_m u'_m; with it (sum g_m u'_m - S' sum g_m u_m / S) / S.
 */
LV_HD double window_grad(double x, bool left, bool right, bool normalize, double g0, double g1, double g2) {
    double u0 = left ? left_weight(x) : 0.0, du0 = left ? rn_sub(x, 0.5) : 0.0;
    double u1 = middle_weight(x), du1 = rn_mul(-2.0, x);
    double u2 = right ? right_weight(x) : 0.0, du2 = right ? rn_add(x, 0.5) : 0.0;
    double g_du = rn_add(rn_add(rn_mul(g0, du0), rn_mul(g1, du1)), rn_mul(g2, du2));
    if (!normalize) {
        return g_du;
    }
    double sum = rn_add(rn_add(u0, u1), u2), d_sum = rn_add(rn_add(du0, du1), du2);
    double g_u = rn_add(rn_add(rn_mul(g0, u0), rn_mul(g1, u1)), rn_mul(g2, u2));
    return rn_div(rn_sub(g_du, rn_div(rn_mul(d_sum, g_u), sum)), sum);
}

/*
 * d_t + d weights / d t . g for one coordinate whose window starts at first: unchanged where t was clamped
 * (outside [0, 1]: the weights do not depend on t there).
 */
LV_HD float spline_grad(float d_t, float t, int first, int knots, bool normalize, const float g[3]) {
    if (t < 0.f || t > 1.f) {
        return d_t;
    }
    double scale = (double) (knots - 1);
    double c = rn_mul((double) t, scale);
    int jn = first + 1;
    double dc = window_grad(rn_sub(c, (double) jn), jn >= 1, jn + 1 < knots, normalize, g[0], g[1], g[2]);
    return rn_add(d_t, (float) rn_mul(dc, scale));
}

// ================================================================ separable modes (float)

/* The sizes of a (grouped) separable-modes call: G heads, N rows, d seed dims, K knots, R modes. */
struct ModeDims {
    int64_t groups, n, d, knots, rank;

    /* The element offset of modes[n, g, :] ([N, G, R]). */
    LV_HD int64_t modes_row(int64_t row, int64_t g) const { return (row * groups + g) * rank; }
};

/*
 * The window of element (g, n, i): offsets of the three spline rows of head g's spline[g, i] (in elements;
 * a knot off the grid gets the middle row and weight 0) and their weights. Returns false, leaving the
 * window empty, when first is outside [-1, knots - 2] (never the case for a window lv_spline_basis made).
 */
struct Window {
    int first;
    int64_t rows[3];
    float w[3];
    bool left, right;

    LV_HD bool load(const ModeDims &s, const int32_t *first_, const float *weights, int64_t g, int64_t row,
                    int64_t i) {
        int64_t e = (g * s.n + row) * s.d + i;
        first = first_[e];
        if (first < -1 || first > s.knots - 2) {
            return false;
        }
        int64_t mid = ((g * s.d + i) * s.knots + first + 1) * s.rank;
        left = first >= 0;
        right = first + 2 < s.knots;
        rows[0] = left ? mid - s.rank : mid;
        rows[1] = mid;
        rows[2] = right ? mid + s.rank : mid;
        w[0] = left ? weights[e * 3] : 0.f;
        w[1] = weights[e * 3 + 1];
        w[2] = right ? weights[e * 3 + 2] : 0.f;
        return true;
    }

    /* Knot m of the window is on the grid. */
    LV_HD bool on_grid(int m) const { return m == 1 || (m == 0 ? left : right); }
};

/* phi[r] = w0 s0 + w1 s1 + w2 s2 as s0 * w0, then fma w1, then fma w2. */
LV_HD float factor(const float *spline, const Window &win, int64_t r) {
    float s0 = spline[win.rows[0] + r], s1 = spline[win.rows[1] + r], s2 = spline[win.rows[2] + r];
    return rn_fma(s2, win.w[2], rn_fma(s1, win.w[1], rn_mul(s0, win.w[0])));
}

/* +EPS where phi >= 0 (zero included), else -EPS (NaN too): phi + it is the factor f with |f| = |phi| + EPS. */
LV_HD float signed_eps(float phi) { return phi >= 0.f ? EPS : -EPS; }

/* f = phi + signed_eps(phi): the product of the f over i is sign * exp(sum_i log(|phi_i| + EPS)) exactly. */
LV_HD float safe_factor(float phi) { return rn_add(phi, signed_eps(phi)); }

/* d modes / d phi times dModes: gm / f with gm = dModes * modes, and 0 where phi == 0. */
LV_HD float factor_grad(float gm, float phi) { return phi == 0.f ? 0.f : rn_div(gm, safe_factor(phi)); }

/* The seed dimensions a dSpline scatter block covers, and how the rows are split between blocks. */
struct ScatterPlan {
    int64_t chunks;          // row chunks, summed in order at the end
    int64_t rows_per_chunk;  // rows of one chunk (the last may have fewer)
    bool shared;             // a block's [K][R] accumulator fits in shared memory

    static constexpr int64_t SHARED_BYTES = 48 * 1024;
    static constexpr int64_t TARGET_BLOCKS = 2048;  // enough (g, i, chunk) blocks to fill a large GPU
    static constexpr int64_t MIN_CHUNK_ROWS = 64;

    /* A function of the shapes only, so every run sums in the same order. */
    LV_HD static ScatterPlan of(const ModeDims &s) {
        ScatterPlan p;
        int64_t heads_dims = s.groups * s.d > 0 ? s.groups * s.d : 1;
        int64_t want = (TARGET_BLOCKS + heads_dims - 1) / heads_dims;
        int64_t most = (s.n + MIN_CHUNK_ROWS - 1) / MIN_CHUNK_ROWS;
        int64_t chunks = want < most ? want : most;
        if (chunks < 1) {
            chunks = 1;
        }
        p.rows_per_chunk = s.n > 0 ? (s.n + chunks - 1) / chunks : 1;
        p.chunks = s.n > 0 ? (s.n + p.rows_per_chunk - 1) / p.rows_per_chunk : 1;
        p.shared = s.knots * s.rank * (int64_t) sizeof(float) <= SHARED_BYTES;
        return p;
    }

    /* Bytes of partial sums in the workspace: one [G, d, K, R] slice per chunk, none when one chunk
     * accumulates in shared memory straight into dSpline. */
    LV_HD int64_t workspace_bytes(const ModeDims &s) const {
        if (chunks == 1 && shared) {
            return 0;
        }
        return chunks * s.groups * s.d * s.knots * s.rank * (int64_t) sizeof(float);
    }
};

/*
 * One column r of a dSpline scatter block (chunk c, head g, seed dim i): for rows in the chunk, in order,
 * acc[(first + m) * R + r] += w_m * dphi[r] for the window's knots on the grid. acc is the block's [K][R]
 * accumulator (zeroed by the caller); the column belongs to one thread, so no other thread touches it.
 */
LV_HD void scatter_column(const ModeDims &s, const ScatterPlan &plan, const float *d_modes, const int32_t *first,
                          const float *weights, const float *spline, const float *modes, int64_t c, int64_t g,
                          int64_t i, int64_t r, float *acc) {
    int64_t end = (c + 1) * plan.rows_per_chunk < s.n ? (c + 1) * plan.rows_per_chunk : s.n;
    for (int64_t row = c * plan.rows_per_chunk; row < end; row++) {
        Window win;
        if (!win.load(s, first, weights, g, row, i)) {
            continue;  // nothing can be scattered for a window off the grid; its dWeights are NaN
        }
        int64_t o = s.modes_row(row, g) + r;
        float dphi = factor_grad(rn_mul(d_modes[o], modes[o]), factor(spline, win, r));
        for (int m = 0; m < 3; m++) {
            if (win.on_grid(m)) {
                int64_t at = (win.first + m) * s.rank + r;
                acc[at] = rn_fma(dphi, win.w[m], acc[at]);
            }
        }
    }
}

/* Lane `lane` of a 32-lane warp's share of dWeights[g, n, i, :]: sum over r = lane, lane + 32, ... */
LV_HD void weight_grad_lane(const ModeDims &s, const Window &win, const float *d_modes, const float *spline,
                            const float *modes, int64_t g, int64_t row, int lane, float dw[3]) {
    dw[0] = dw[1] = dw[2] = 0.f;
    for (int64_t r = lane; r < s.rank; r += 32) {
        int64_t o = s.modes_row(row, g) + r;
        float dphi = factor_grad(rn_mul(d_modes[o], modes[o]), factor(spline, win, r));
        for (int m = 0; m < 3; m++) {
            dw[m] = rn_fma(dphi, spline[win.rows[m] + r], dw[m]);
        }
    }
}

}  // namespace lv_generator

#endif
