// device_check.cpp: runs every kernel of libleviathan_cuda.so on the GPU and compares it with its lv_host_*
// twin on the same random data, so a machine with a GPU and no Java checks what the host-entry tests cannot:
// launch geometry, shared memory, races and stream ordering. Prints one line per check and a summary;
// exits 0 when every check passes, 1 when one fails, 2 when no CUDA device can be used.
//
// Usage: leviathan_cuda_check
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "leviathan_cuda.h"
#include "leviathan_cuda_host.h"

namespace {

using Floats = std::vector<float>;
using Ints = std::vector<int32_t>;

void check(int status, const char *call) {
    if (status != LV_OK) throw std::runtime_error(std::string(call) + ": " + lv_error_string(status));
}
#define CK(call) check((call), #call)

void *g_stream = nullptr;
int g_failures = 0, g_checks = 0;

// Device buffers freed at scope exit.
struct Device {
    std::vector<void *> owned;
    ~Device() {
        for (void *p : owned) lv_free(p);
    }
    void *alloc(int64_t bytes) {
        void *p = nullptr;
        CK(lv_malloc(&p, bytes < 1 ? 1 : bytes));
        owned.push_back(p);
        return p;
    }
    template <typename T> T *up(const std::vector<T> &host) {
        T *p = static_cast<T *>(alloc(static_cast<int64_t>(host.size() * sizeof(T))));
        CK(lv_memcpy_async(p, host.data(), static_cast<int64_t>(host.size() * sizeof(T)), g_stream));
        return p;
    }
    template <typename T> std::vector<T> down(const T *p, size_t n) {
        std::vector<T> out(n);
        CK(lv_memcpy_async(out.data(), p, static_cast<int64_t>(n * sizeof(T)), g_stream));
        CK(lv_stream_synchronize(g_stream));
        return out;
    }
};

std::mt19937 g_rng(20260101);

Floats gaussian(size_t n, float scale) {
    std::normal_distribution<float> d(0.0f, scale);
    Floats v(n);
    for (float &x : v) x = d(g_rng);
    return v;
}

Ints ints(size_t n, int lo, int hi) {
    std::uniform_int_distribution<int> d(lo, hi - 1);
    Ints v(n);
    for (int32_t &x : v) x = d(g_rng);
    return v;
}

uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

// rel = 0 and abs = 0: same bits. Otherwise |e - a| <= rel |e| + abs max|e|.
void compare(const std::string &what, const Floats &expected, const Floats &actual, double rel = 0, double abs = 0) {
    g_checks++;
    double max = 0;
    for (float e : expected) max = fmax(max, fabs(e));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < expected.size(); i++) {
        bool ok;
        if (rel == 0 && abs == 0) ok = bits(expected[i]) == bits(actual[i]) || (isnan(expected[i]) && isnan(actual[i]));
        else ok = isnan(expected[i]) ? isnan(actual[i]) : fabs(expected[i] - actual[i]) <= rel * fabs(expected[i]) + abs * max;
        if (!ok && bad++ == 0) first = i;
    }
    if (bad == 0) {
        printf("PASS  %-48s %zu elements%s\n", what.c_str(), expected.size(), rel == 0 && abs == 0 ? ", same bits" : "");
    } else {
        g_failures++;
        printf("FAIL  %-48s %zu of %zu differ; first at %zu: host %.9g, device %.9g\n", what.c_str(), bad,
               expected.size(), first, expected[first], actual[first]);
    }
}

void compare_ints(const std::string &what, const Ints &expected, const Ints &actual) {
    g_checks++;
    if (expected == actual) {
        printf("PASS  %-48s %zu ints\n", what.c_str(), expected.size());
    } else {
        g_failures++;
        printf("FAIL  %-48s ints differ\n", what.c_str());
    }
}

// ---------------------------------------------------------------- the checks, one family each

void elementwise(int64_t n) {
    Device d;
    std::string tag = " n=" + std::to_string(n);
    Floats a = gaussian(n, 2), b = gaussian(n, 2), g = gaussian(n, 1), y0 = gaussian(n, 1);
    a[0] = NAN;
    float *da = d.up(a), *db = d.up(b), *dg = d.up(g);
    float *out = static_cast<float *>(d.alloc(n * 4));
    Floats host(n);

    uint16_t *bf = static_cast<uint16_t *>(d.alloc(n * 2));
    std::vector<uint16_t> hbf(n);
    CK(lv_copy(da, LV_F32, bf, LV_BF16, n, g_stream));
    CK(lv_host_copy(a.data(), LV_F32, hbf.data(), LV_BF16, n));
    std::vector<uint16_t> dbf = d.down(bf, n);
    Floats e1(n), a1(n);
    for (int64_t i = 0; i < n; i++) {
        e1[i] = static_cast<float>(hbf[i]);
        a1[i] = static_cast<float>(dbf[i]);
    }
    compare("copy f32 -> bf16 (bits)" + tag, e1, a1);
    CK(lv_copy(bf, LV_BF16, out, LV_F32, n, g_stream));
    CK(lv_host_copy(hbf.data(), LV_BF16, host.data(), LV_F32, n));
    compare("copy bf16 -> f32" + tag, host, d.down(out, n));

    CK(lv_fill(out, LV_F32, n, -1.25f, g_stream));
    CK(lv_host_fill(host.data(), LV_F32, n, -1.25f));
    compare("fill" + tag, host, d.down(out, n));

    CK(lv_add(da, db, out, n, g_stream));
    CK(lv_host_add(a.data(), b.data(), host.data(), n));
    compare("add" + tag, host, d.down(out, n));
    CK(lv_mul(da, db, out, n, g_stream));
    CK(lv_host_mul(a.data(), b.data(), host.data(), n));
    compare("mul" + tag, host, d.down(out, n));
    CK(lv_scale(da, 0.37f, out, n, g_stream));
    CK(lv_host_scale(a.data(), 0.37f, host.data(), n));
    compare("scale" + tag, host, d.down(out, n));

    Floats hy = y0, ha = y0, hb = g;
    float *dy = d.up(y0), *dda = d.up(y0), *ddb = d.up(g);
    CK(lv_axpy(-1.5f, da, dy, n, g_stream));
    CK(lv_host_axpy(-1.5f, a.data(), hy.data(), n));
    compare("axpy" + tag, hy, d.down(dy, n));
    CK(lv_mul_backward(dg, da, db, dda, ddb, n, g_stream));
    CK(lv_host_mul_backward(g.data(), a.data(), b.data(), ha.data(), hb.data(), n));
    compare("mul_backward dA" + tag, ha, d.down(dda, n));
    compare("mul_backward dB" + tag, hb, d.down(ddb, n));
}

void activations(int64_t n) {
    Device d;
    std::string tag = " n=" + std::to_string(n);
    Floats x = gaussian(n, 4), up = gaussian(n, 2), g = gaussian(n, 1), d0 = gaussian(n, 0.5f), d1 = gaussian(n, 0.5f);
    float *dx = d.up(x), *dup = d.up(up), *dg = d.up(g);
    float *out = static_cast<float *>(d.alloc(n * 4));
    Floats host(n);
    CK(lv_silu(dx, out, n, g_stream));
    CK(lv_host_silu(x.data(), host.data(), n));
    compare("silu" + tag, host, d.down(out, n));
    CK(lv_sigmoid(dx, out, n, g_stream));
    CK(lv_host_sigmoid(x.data(), host.data(), n));
    compare("sigmoid" + tag, host, d.down(out, n));
    Floats y = host;
    CK(lv_swiglu(dx, dup, out, n, g_stream));
    CK(lv_host_swiglu(x.data(), up.data(), host.data(), n));
    compare("swiglu" + tag, host, d.down(out, n));

    Floats h0 = d0, h1 = d1;
    float *dd0 = d.up(d0), *dd1 = d.up(d1);
    CK(lv_silu_backward(dg, dx, dd0, n, g_stream));
    CK(lv_host_silu_backward(g.data(), x.data(), h0.data(), n));
    compare("silu_backward" + tag, h0, d.down(dd0, n));
    float *dy = d.up(y);
    CK(lv_sigmoid_backward(dg, dy, dd0, n, g_stream));
    CK(lv_host_sigmoid_backward(g.data(), y.data(), h0.data(), n));
    compare("sigmoid_backward" + tag, h0, d.down(dd0, n));
    CK(lv_swiglu_backward(dg, dx, dup, dd0, dd1, n, g_stream));
    CK(lv_host_swiglu_backward(g.data(), x.data(), up.data(), h0.data(), h1.data(), n));
    compare("swiglu_backward dGate" + tag, h0, d.down(dd0, n));
    compare("swiglu_backward dUp" + tag, h1, d.down(dd1, n));
}

void rows(int64_t rows, int64_t cols) {
    Device d;
    std::string tag = " " + std::to_string(rows) + "x" + std::to_string(cols);
    int64_t n = rows * cols;
    Floats x = gaussian(n, 2), g = gaussian(n, 1), w = gaussian(cols, 1), b = gaussian(cols, 1);
    Floats gr = gaussian(rows, 1), dx0 = gaussian(n, 0.1f), dw0 = gaussian(cols, 0.1f), db0 = gaussian(cols, 0.1f);
    for (float &v : x) v += 0.5f;
    float *dx = d.up(x), *dg = d.up(g), *dw = d.up(w), *dbias = d.up(b), *dgr = d.up(gr);
    float *out = static_cast<float *>(d.alloc(n * 4));
    float *r1 = static_cast<float *>(d.alloc(rows * 4)), *r2 = static_cast<float *>(d.alloc(rows * 4));
    Floats host(n), hr1(rows), hr2(rows);

    CK(lv_row_sum(dx, r1, rows, cols, 1.0f / cols, g_stream));
    CK(lv_host_row_sum(x.data(), hr1.data(), rows, cols, 1.0f / cols));
    compare("row_sum (mean)" + tag, hr1, d.down(r1, rows), 1e-6, 1e-7);
    Floats hdx = dx0;
    float *ddx = d.up(dx0);
    CK(lv_row_sum_backward(dgr, ddx, rows, cols, 0.5f, g_stream));
    CK(lv_host_row_sum_backward(gr.data(), hdx.data(), rows, cols, 0.5f));
    compare("row_sum_backward" + tag, hdx, d.down(ddx, n));

    CK(lv_softmax(dx, out, rows, cols, g_stream));
    CK(lv_host_softmax(x.data(), host.data(), rows, cols));
    compare("softmax" + tag, host, d.down(out, n), 1e-6, 1e-9);
    Floats y = host;
    hdx = dx0;
    ddx = d.up(dx0);
    CK(lv_softmax_backward(dg, out, ddx, rows, cols, g_stream));
    CK(lv_host_softmax_backward(g.data(), y.data(), hdx.data(), rows, cols));
    compare("softmax_backward" + tag, hdx, d.down(ddx, n), 1e-5, 1e-6);

    CK(lv_rmsnorm_forward(dx, dw, 1e-5f, out, r1, rows, cols, g_stream));
    CK(lv_host_rmsnorm_forward(x.data(), w.data(), 1e-5f, host.data(), hr1.data(), rows, cols));
    compare("rmsnorm_forward out" + tag, host, d.down(out, n), 1e-6, 1e-7);
    compare("rmsnorm_forward rstd" + tag, hr1, d.down(r1, rows), 1e-6, 0);
    hdx = dx0;
    Floats hdw = dw0;
    ddx = d.up(dx0);
    float *ddw = d.up(dw0);
    float *hrstd = d.up(hr1); // both backward passes read the host's rstd
    CK(lv_rmsnorm_backward(dg, dx, dw, hrstd, ddx, ddw, rows, cols, g_stream));
    CK(lv_host_rmsnorm_backward(g.data(), x.data(), w.data(), hr1.data(), hdx.data(), hdw.data(), rows, cols));
    compare("rmsnorm_backward dX" + tag, hdx, d.down(ddx, n), 1e-5, 1e-6);
    compare("rmsnorm_backward dW" + tag, hdw, d.down(ddw, cols), 1e-5, 1e-6);

    CK(lv_layernorm_forward(dx, dw, dbias, 1e-5f, out, r1, r2, 1, rows, cols, g_stream));
    CK(lv_host_layernorm_forward(x.data(), w.data(), b.data(), 1e-5f, host.data(), hr1.data(), hr2.data(), 1, rows, cols));
    compare("layernorm_forward out" + tag, host, d.down(out, n), 1e-6, 1e-7);
    compare("layernorm_forward mean" + tag, hr1, d.down(r1, rows), 1e-6, 1e-7);
    compare("layernorm_forward rstd" + tag, hr2, d.down(r2, rows), 1e-6, 0);
    hdx = dx0;
    hdw = dw0;
    Floats hdb = db0;
    ddx = d.up(dx0);
    ddw = d.up(dw0);
    float *ddb = d.up(db0), *hm = d.up(hr1), *hs = d.up(hr2);
    CK(lv_layernorm_backward(dg, dx, dw, hm, hs, ddx, ddw, ddb, 1, rows, cols, g_stream));
    CK(lv_host_layernorm_backward(g.data(), x.data(), w.data(), hr1.data(), hr2.data(), hdx.data(), hdw.data(),
                                  hdb.data(), 1, rows, cols));
    compare("layernorm_backward dX" + tag, hdx, d.down(ddx, n), 1e-5, 1e-6);
    compare("layernorm_backward dW" + tag, hdw, d.down(ddw, cols), 1e-5, 1e-6);
    compare("layernorm_backward dB" + tag, hdb, d.down(ddb, cols), 1e-5, 1e-6);
}

void grouped_layernorm(int64_t groups, int64_t per_group, int64_t cols) {
    Device d;
    std::string tag = " " + std::to_string(groups) + "x" + std::to_string(per_group) + "x" + std::to_string(cols);
    int64_t rows = groups * per_group, n = rows * cols;
    Floats x = gaussian(n, 2), g = gaussian(n, 1), w = gaussian(groups * cols, 1), b = gaussian(groups * cols, 1);
    Floats dx0 = gaussian(n, 0.1f), dw0 = gaussian(groups * cols, 0.1f), db0 = gaussian(groups * cols, 0.1f);
    float *dx = d.up(x), *dg = d.up(g), *dw = d.up(w), *dbias = d.up(b);
    float *out = static_cast<float *>(d.alloc(n * 4));
    float *m = static_cast<float *>(d.alloc(rows * 4)), *s = static_cast<float *>(d.alloc(rows * 4));
    Floats host(n), hm(rows), hs(rows);
    CK(lv_layernorm_forward(dx, dw, dbias, 1e-5f, out, m, s, groups, per_group, cols, g_stream));
    CK(lv_host_layernorm_forward(x.data(), w.data(), b.data(), 1e-5f, host.data(), hm.data(), hs.data(), groups,
                                 per_group, cols));
    compare("layernorm_forward grouped" + tag, host, d.down(out, n), 1e-6, 1e-7);
    Floats hdx = dx0, hdw = dw0, hdb = db0;
    float *ddx = d.up(dx0), *ddw = d.up(dw0), *ddb = d.up(db0), *pm = d.up(hm), *ps = d.up(hs);
    CK(lv_layernorm_backward(dg, dx, dw, pm, ps, ddx, ddw, ddb, groups, per_group, cols, g_stream));
    CK(lv_host_layernorm_backward(g.data(), x.data(), w.data(), hm.data(), hs.data(), hdx.data(), hdw.data(),
                                  hdb.data(), groups, per_group, cols));
    compare("layernorm_backward grouped dX" + tag, hdx, d.down(ddx, n), 1e-5, 1e-6);
    compare("layernorm_backward grouped dW" + tag, hdw, d.down(ddw, groups * cols), 1e-5, 1e-6);
    compare("layernorm_backward grouped dB" + tag, hdb, d.down(ddb, groups * cols), 1e-5, 1e-6);
}

void sums(int64_t n) {
    Device d;
    std::string tag = " n=" + std::to_string(n);
    Floats x = gaussian(n, 1.5f);
    float *dx = d.up(x);
    float *out = static_cast<float *>(d.alloc(4));
    Floats host(1);
    CK(lv_reduce_sum(dx, n, 1.0, out, g_stream));
    CK(lv_host_reduce_sum(x.data(), n, 1.0, host.data()));
    compare("reduce_sum" + tag, host, d.down(out, 1), 1e-6, 0);
    std::vector<double> zero = {0.25};
    double *acc = d.up(zero);
    double hacc = 0.25;
    CK(lv_sum_squares(dx, n, acc, g_stream));
    CK(lv_sum_squares(dx, n / 3, acc, g_stream));
    CK(lv_sqrt_to_float(acc, out, g_stream));
    CK(lv_host_sum_squares(x.data(), n, &hacc));
    CK(lv_host_sum_squares(x.data(), n / 3, &hacc));
    CK(lv_host_sqrt_to_float(&hacc, host.data()));
    compare("sum_squares + sqrt_to_float" + tag, host, d.down(out, 1), 1e-6, 0);
}

void rope(int64_t batch, int64_t seq, int64_t heads, int64_t head_dim) {
    Device d;
    std::string tag = " " + std::to_string(batch) + "x" + std::to_string(seq) + "x" + std::to_string(heads) + "x" +
                      std::to_string(head_dim);
    int64_t n = batch * seq * heads * head_dim, half = head_dim / 2;
    float *c = static_cast<float *>(d.alloc(seq * half * 4)), *s = static_cast<float *>(d.alloc(seq * half * 4));
    Floats hc(seq * half), hs(seq * half);
    CK(lv_rope_tables(10000.0f, c, s, seq, head_dim, g_stream));
    CK(lv_host_rope_tables(10000.0f, hc.data(), hs.data(), seq, head_dim));
    compare("rope_tables cos" + tag, hc, d.down(c, seq * half), 1.2e-7, 1e-7);
    compare("rope_tables sin" + tag, hs, d.down(s, seq * half), 1.2e-7, 1e-7);
    float *pc = d.up(hc), *ps = d.up(hs);
    Floats x = gaussian(n, 1), g = gaussian(n, 1), dx0 = gaussian(n, 0.2f);
    float *dx = d.up(x);
    Floats host(n);
    CK(lv_rope_forward(dx, pc, ps, dx, batch, seq, heads, head_dim, g_stream)); // in place
    CK(lv_host_rope_forward(x.data(), hc.data(), hs.data(), host.data(), batch, seq, heads, head_dim));
    compare("rope_forward (in place)" + tag, host, d.down(dx, n));
    Floats hdx = dx0;
    float *ddx = d.up(dx0), *dg = d.up(g);
    CK(lv_rope_backward(dg, pc, ps, ddx, batch, seq, heads, head_dim, g_stream));
    CK(lv_host_rope_backward(g.data(), hc.data(), hs.data(), hdx.data(), batch, seq, heads, head_dim));
    compare("rope_backward" + tag, hdx, d.down(ddx, n));
}

void embedding(int64_t count, int64_t vocab, int64_t dim) {
    Device d;
    std::string tag = " " + std::to_string(count) + " ids, " + std::to_string(vocab) + "x" + std::to_string(dim);
    Ints ids = ints(count, 0, static_cast<int>(vocab));
    ids[count / 2] = static_cast<int32_t>(vocab) + 3; // one bad id
    Floats table = gaussian(vocab * dim, 1), g = gaussian(count * dim, 1), t0 = gaussian(vocab * dim, 0.1f);
    int32_t *dids = d.up(ids);
    float *dt = d.up(table), *dg = d.up(g);
    float *out = static_cast<float *>(d.alloc(count * dim * 4));
    Ints zero(4, 0), herr(4, 0);
    int32_t *err = d.up(zero);
    Floats host(count * dim);
    CK(lv_embedding_forward(dids, dt, out, count, vocab, dim, err, g_stream));
    CK(lv_host_embedding_forward(ids.data(), table.data(), host.data(), count, vocab, dim, herr.data()));
    compare("embedding_forward" + tag, host, d.down(out, count * dim));
    compare_ints("embedding_forward error record" + tag, herr, d.down(err, 4));

    int64_t ws_bytes = lv_embedding_backward_workspace_bytes(count, vocab, dim);
    if (ws_bytes < 0) throw std::runtime_error("lv_embedding_backward_workspace_bytes: " + std::to_string(ws_bytes));
    void *ws = d.alloc(ws_bytes);
    Floats ht = t0;
    herr = zero;
    CK(lv_host_embedding_backward(g.data(), ids.data(), ht.data(), count, vocab, dim, 1, nullptr, 0, herr.data()));
    Floats first;
    for (int run = 0; run < 2; run++) {
        float *ddt = d.up(t0);
        int32_t *e2 = d.up(zero);
        CK(lv_embedding_backward(dg, dids, ddt, count, vocab, dim, 1, ws, ws_bytes, e2, g_stream));
        Floats got = d.down(ddt, vocab * dim);
        // The device sums each row in position order, as the host does: the same bits.
        compare("embedding_backward deterministic run " + std::to_string(run + 1) + tag, ht, got);
        if (run == 0) {
            first = got;
            compare_ints("embedding_backward error record" + tag, herr, d.down(e2, 4));
        } else {
            compare("embedding_backward deterministic repeats" + tag, first, got);
        }
    }
    float *ddt = d.up(t0);
    CK(lv_embedding_backward(dg, dids, ddt, count, vocab, dim, 0, nullptr, 0, nullptr, g_stream));
    compare("embedding_backward atomic" + tag, ht, d.down(ddt, vocab * dim), 1e-5, 1e-6);
}

void cross_entropy(int64_t rows, int64_t vocab) {
    Device d;
    std::string tag = " " + std::to_string(rows) + "x" + std::to_string(vocab);
    Floats logits = gaussian(rows * vocab, 3);
    Ints targets = ints(rows, 0, static_cast<int>(vocab));
    targets[0] = -100;
    targets[rows / 2] = -100;
    targets[rows - 1] = static_cast<int32_t>(vocab); // bad: recorded, row ignored
    int64_t ws_bytes = lv_cross_entropy_workspace_bytes(rows, vocab);
    std::vector<char> hws(ws_bytes);
    void *ws = d.alloc(ws_bytes);
    Floats hl(rows), hd(rows * vocab), hsum = {0.5f};
    Ints zero(4, 0), herr(4, 0);
    CK(lv_host_cross_entropy(logits.data(), targets.data(), -100, hl.data(), hd.data(), 0.5f, hsum.data(), rows, vocab,
                             hws.data(), ws_bytes, herr.data()));
    float *dl = d.up(logits), *losses = static_cast<float *>(d.alloc(rows * 4)), *sum = d.up(Floats{0.5f});
    int32_t *dtg = d.up(targets), *err = d.up(zero);
    CK(lv_cross_entropy(dl, dtg, -100, losses, dl, 0.5f, sum, rows, vocab, ws, ws_bytes, err, g_stream)); // in place
    compare("cross_entropy losses" + tag, hl, d.down(losses, rows), 1e-6, 1e-7);
    compare("cross_entropy dLogits (in place)" + tag, hd, d.down(dl, rows * vocab), 1e-6, 1e-7);
    compare("cross_entropy loss_sum" + tag, hsum, d.down(sum, 1), 1e-6, 0);
    compare_ints("cross_entropy error record" + tag, herr, d.down(err, 4));
}

void adamw(int64_t n) {
    Device d;
    std::string tag = " n=" + std::to_string(n);
    Floats p = gaussian(n, 1), g = gaussian(n, 1), m = gaussian(n, 0.1f), v = gaussian(n, 0.1f);
    for (float &x : v) x = x * x;
    const float norms[] = {0.5f, 4.0f, NAN};
    for (float norm : norms) {
        Floats hp = p, hm = m, hv = v;
        float *dp = d.up(p), *dg = d.up(g), *dm = d.up(m), *dv = d.up(v), *dn = d.up(Floats{norm});
        double b1 = 1.0 - pow(0.9, 7), b2 = 1.0 - pow(0.95, 7);
        CK(lv_adamw(dp, dg, dm, dv, n, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, b1, b2, n / 3, dn, 1.0f, g_stream));
        CK(lv_host_adamw(hp.data(), g.data(), hm.data(), hv.data(), n, 3e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, b1, b2, n / 3,
                         &norm, 1.0f));
        std::string t = tag + " norm " + std::to_string(norm);
        compare("adamw param" + t, hp, d.down(dp, n));
        compare("adamw m" + t, hm, d.down(dm, n));
        compare("adamw v" + t, hv, d.down(dv, n));
    }
}

} // namespace

int main() {
    int count = 0;
    int status = lv_device_count(&count);
    if (status != LV_OK || count < 1) {
        printf("no usable CUDA device: %s (devices: %d)\n", lv_error_string(status), count);
        return 2;
    }
    char name[256];
    int runtime = 0, driver = 0;
    CK(lv_set_device(0));
    CK(lv_device_name(0, name, sizeof name));
    CK(lv_runtime_version(&runtime));
    CK(lv_driver_version(&driver));
    printf("libleviathan_cuda ABI %d on %s (runtime %d, driver %d)\n", lv_abi_version(), name, runtime, driver);
    CK(lv_stream_create(&g_stream));
    try {
        for (int64_t n : {1LL, 1000LL, 4099LL, 3000001LL}) {
            elementwise(n);
            activations(n);
            adamw(n);
        }
        for (int64_t n : {1LL, 4099LL, 5000011LL}) sums(n);
        rows(1, 1);
        rows(7, 33);
        rows(1000, 768);
        rows(3, 50257);
        rows(4096, 65);
        grouped_layernorm(3, 17, 33);
        grouped_layernorm(8, 500, 256);
        rope(1, 1, 1, 2);
        rope(2, 37, 3, 64);
        rope(4, 1024, 8, 128);
        embedding(1, 1, 1);
        embedding(777, 50, 33);
        embedding(16384, 50257, 256);
        cross_entropy(1, 7);
        cross_entropy(37, 1000);
        cross_entropy(2048, 50257);
        CK(lv_stream_synchronize(g_stream));
    } catch (const std::exception &e) {
        printf("ERROR %s\n", e.what());
        g_failures++;
    }
    lv_stream_destroy(g_stream);
    printf("%d checks, %d failed\n", g_checks, g_failures);
    return g_failures == 0 ? 0 : 1;
}
