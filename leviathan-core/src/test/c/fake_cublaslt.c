/*
 * A host-memory stand-in for libcublasLt.so.13 with the real exported symbols and signatures (cublasLt.h):
 * descriptors and layouts are heap objects holding their attributes; the heuristic checks that the layouts fit
 * the operation (as cuBLASLt does) and offers one algorithm; cublasLtMatmul computes column-major
 * D = alpha op(A) op(B) + beta C in double for BF16 A and B and F32 C and D, reading no C when beta is 0, and
 * only with an algorithm the heuristic handed out. Counters let tests check plan caching and cleanup.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };
enum { R_32F = 0, R_16BF = 14, COMPUTE_32F = 68 };
enum { DESC_COMPUTE_TYPE = 0, DESC_SCALE_TYPE = 1, DESC_TRANSA = 3, DESC_TRANSB = 4 };
enum { LAYOUT_BATCH_COUNT = 5, LAYOUT_STRIDED_BATCH_OFFSET = 6 };
enum { PREF_MAX_WORKSPACE_BYTES = 1 };
#define ALGO_MAGIC 0x4c54414c474f0001ULL

typedef struct { int compute, scale, transa, transb; } desc_t;
typedef struct { int type; uint64_t rows, cols; int64_t ld; int batch; int64_t stride; } layout_t;
typedef struct { uint64_t max_workspace; } pref_t;
typedef struct { uint64_t data[8]; } algo_t;
typedef struct { algo_t algo; size_t workspaceSize; int state; float wavesCount; int reserved[4]; } result_t;

static int handle_token, live_objects = 0, heuristic_calls = 0, matmul_calls = 0;
int fake_lt_live_objects(void) { return live_objects; }
int fake_lt_heuristic_calls(void) { return heuristic_calls; }
int fake_lt_matmul_calls(void) { return matmul_calls; }

int cublasLtCreate(void **handle) { *handle = &handle_token; live_objects++; return SUCCESS; }
int cublasLtDestroy(void *handle) { if (handle != &handle_token) return NOT_INITIALIZED; live_objects--; return SUCCESS; }
const char *cublasLtGetStatusString(int status) {
    return status == SUCCESS ? "the operation completed successfully" : "a cuBLASLt call failed";
}

int cublasLtMatmulDescCreate(desc_t **desc, int computeType, int scaleType) {
    *desc = calloc(1, sizeof(desc_t));
    (*desc)->compute = computeType;
    (*desc)->scale = scaleType;
    live_objects++;
    return SUCCESS;
}
int cublasLtMatmulDescDestroy(desc_t *desc) { free(desc); live_objects--; return SUCCESS; }
int cublasLtMatmulDescSetAttribute(desc_t *desc, int attr, const void *buf, size_t size) {
    if (size != 4) return INVALID_VALUE;
    int v = *(const int *) buf;
    switch (attr) {
    case DESC_COMPUTE_TYPE: desc->compute = v; break;
    case DESC_SCALE_TYPE: desc->scale = v; break;
    case DESC_TRANSA: desc->transa = v; break;
    case DESC_TRANSB: desc->transb = v; break;
    default: return INVALID_VALUE;
    }
    return SUCCESS;
}
int cublasLtMatrixLayoutCreate(layout_t **layout, int type, uint64_t rows, uint64_t cols, int64_t ld) {
    if (ld < (int64_t) (rows > 1 ? rows : 1)) return INVALID_VALUE;
    *layout = calloc(1, sizeof(layout_t));
    **layout = (layout_t) {type, rows, cols, ld, 1, 0};
    live_objects++;
    return SUCCESS;
}
int cublasLtMatrixLayoutDestroy(layout_t *layout) { free(layout); live_objects--; return SUCCESS; }
int cublasLtMatrixLayoutSetAttribute(layout_t *layout, int attr, const void *buf, size_t size) {
    if (attr == LAYOUT_BATCH_COUNT && size == 4) layout->batch = *(const int *) buf;
    else if (attr == LAYOUT_STRIDED_BATCH_OFFSET && size == 8) layout->stride = *(const int64_t *) buf;
    else return INVALID_VALUE;
    return SUCCESS;
}
int cublasLtMatmulPreferenceCreate(pref_t **pref) { *pref = calloc(1, sizeof(pref_t)); live_objects++; return SUCCESS; }
int cublasLtMatmulPreferenceDestroy(pref_t *pref) { free(pref); live_objects--; return SUCCESS; }
int cublasLtMatmulPreferenceSetAttribute(pref_t *pref, int attr, const void *buf, size_t size) {
    if (attr != PREF_MAX_WORKSPACE_BYTES || size != 8) return INVALID_VALUE;
    pref->max_workspace = *(const uint64_t *) buf;
    return SUCCESS;
}

/* op(A) is m x k, op(B) k x n, C m x n: what the layouts must say for the descriptor's transposes. */
static int fits(const desc_t *d, const layout_t *a, const layout_t *b, const layout_t *c) {
    uint64_t m = c->rows, n = c->cols;
    uint64_t k = d->transa ? a->rows : a->cols;
    if ((d->transa ? a->cols : a->rows) != m) return 0;
    if ((d->transb ? b->rows : b->cols) != n || (d->transb ? b->cols : b->rows) != k) return 0;
    return a->batch == c->batch && b->batch == c->batch;
}

int cublasLtMatmulAlgoGetHeuristic(void *handle, desc_t *desc, layout_t *a, layout_t *b, layout_t *c, layout_t *d,
                                   pref_t *pref, int requested, result_t results[], int *returned) {
    heuristic_calls++;
    if (handle != &handle_token) return NOT_INITIALIZED;
    if (requested < 1) return INVALID_VALUE;
    *returned = 0;
    if (desc->compute != COMPUTE_32F || desc->scale != R_32F || a->type != R_16BF || b->type != R_16BF
        || c->type != R_32F || d->type != R_32F || !fits(desc, a, b, c) || pref->max_workspace == 0) {
        return NOT_SUPPORTED;
    }
    memset(&results[0], 0, sizeof(result_t));
    results[0].algo.data[0] = ALGO_MAGIC;
    results[0].state = SUCCESS;
    results[0].wavesCount = 1.0f;
    *returned = 1;
    return SUCCESS;
}

static double bf16(const uint16_t *p, int64_t i) {
    uint32_t u = (uint32_t) p[i] << 16;
    float f; memcpy(&f, &u, 4);
    return f;
}

int cublasLtMatmul(void *handle, desc_t *desc, const void *alpha, const void *A, layout_t *adesc, const void *B,
                   layout_t *bdesc, const void *beta, const void *C, layout_t *cdesc, void *D, layout_t *ddesc,
                   const algo_t *algo, void *workspace, size_t workspaceBytes, void *stream) {
    (void) workspace; (void) workspaceBytes; (void) stream;
    matmul_calls++;
    if (handle != &handle_token) return NOT_INITIALIZED;
    if (!algo || algo->data[0] != ALGO_MAGIC || !fits(desc, adesc, bdesc, cdesc) || ddesc->rows != cdesc->rows) {
        return INVALID_VALUE;
    }
    int m = (int) cdesc->rows, n = (int) cdesc->cols, k = (int) (desc->transa ? adesc->rows : adesc->cols);
    float al = *(const float *) alpha, be = *(const float *) beta;
    for (int t = 0; t < cdesc->batch; t++) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int l = 0; l < k; l++) {
                    double a = bf16(A, t * adesc->stride + (desc->transa ? l + (int64_t) i * adesc->ld : i + (int64_t) l * adesc->ld));
                    double b = bf16(B, t * bdesc->stride + (desc->transb ? j + (int64_t) l * bdesc->ld : l + (int64_t) j * bdesc->ld));
                    acc += a * b;
                }
                int64_t ci = t * cdesc->stride + i + (int64_t) j * cdesc->ld;
                double c = be == 0.0f ? 0.0 : be * (double) ((const float *) C)[ci];
                ((float *) D)[t * ddesc->stride + i + (int64_t) j * ddesc->ld] = (float) (al * acc + c);
            }
        }
    }
    return SUCCESS;
}
