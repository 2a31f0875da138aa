/*
 * A host-memory stand-in for libcublas.so.13 with the real exported symbols and signatures (cublas_api.h):
 * cublasGemmEx and cublasGemmStridedBatchedEx compute column-major C = alpha op(A) op(B) + beta C in double
 * for CUDA_R_32F or CUDA_R_16BF inputs (both the same) and a CUDA_R_32F output, reading no C when beta is 0,
 * and refuse what cuBLAS refuses (mixed input types, leading dimensions too small). It lets the tests drive
 * the backend's real FFM calls into "cuBLAS" without a GPU.
 */
#include <stdint.h>
#include <string.h>

typedef struct { int stream_set; int math_mode; long workspace_bytes; } handle_t;
static handle_t the_handle;
static int live_handles = 0;
int fake_live_handles(void) { return live_handles; }
int fake_math_mode(void) { return the_handle.math_mode; }
long fake_workspace_bytes(void) { return the_handle.workspace_bytes; }

enum { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };
enum { R_32F = 0, R_16BF = 14, COMPUTE_32F = 68, COMPUTE_32F_FAST_TF32 = 77 };

int cublasCreate_v2(void **handle) { *handle = &the_handle; live_handles++; return SUCCESS; }
int cublasDestroy_v2(void *handle) { if (handle != &the_handle) return NOT_INITIALIZED; live_handles--; return SUCCESS; }
int cublasSetStream_v2(void *handle, void *stream) { (void) stream; ((handle_t *) handle)->stream_set = 1; return SUCCESS; }
int cublasSetWorkspace_v2(void *handle, void *ws, size_t bytes) {
    (void) ws; ((handle_t *) handle)->workspace_bytes = (long) bytes; return SUCCESS;
}
int cublasSetMathMode(void *handle, int mode) { ((handle_t *) handle)->math_mode = mode; return SUCCESS; }
int cublasGetVersion_v2(void *handle, int *version) { (void) handle; *version = 130100; return SUCCESS; }
const char *cublasGetStatusString(int status) {
    switch (status) {
    case SUCCESS: return "the operation completed successfully";
    case INVALID_VALUE: return "an unsupported value or parameter was passed to the function";
    case NOT_SUPPORTED: return "the functionality requested is not supported";
    default: return "unknown cuBLAS status";
    }
}

static double element(const void *p, int type, long long i) {
    if (type == R_32F) return ((const float *) p)[i];
    uint32_t u = (uint32_t) ((const uint16_t *) p)[i] << 16;
    float f; memcpy(&f, &u, 4);
    return f;
}

int cublasGemmStridedBatchedEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha,
                               const void *A, int Atype, int lda, long long strideA, const void *B, int Btype,
                               int ldb, long long strideB, const void *beta, void *C, int Ctype, int ldc,
                               long long strideC, int batchCount, int computeType, int algo) {
    (void) algo;
    if (handle != &the_handle || !the_handle.stream_set) return NOT_INITIALIZED;
    if (Atype != Btype || (Atype != R_32F && Atype != R_16BF) || Ctype != R_32F) return NOT_SUPPORTED;
    if (computeType != COMPUTE_32F && computeType != COMPUTE_32F_FAST_TF32) return NOT_SUPPORTED;
    if (m < 0 || n < 0 || k < 0 || batchCount < 0) return INVALID_VALUE;
    if (lda < (transa ? (k > 1 ? k : 1) : (m > 1 ? m : 1))) return INVALID_VALUE;
    if (ldb < (transb ? (n > 1 ? n : 1) : (k > 1 ? k : 1))) return INVALID_VALUE;
    if (ldc < (m > 1 ? m : 1)) return INVALID_VALUE;
    float al = *(const float *) alpha, be = *(const float *) beta;
    for (int t = 0; t < batchCount; t++) {
        for (int j = 0; j < n; j++) {
            for (int i = 0; i < m; i++) {
                double acc = 0;
                for (int l = 0; l < k; l++) {
                    double a = element(A, Atype, t * strideA + (transa ? l + (long long) i * lda : i + (long long) l * lda));
                    double b = element(B, Btype, t * strideB + (transb ? j + (long long) l * ldb : l + (long long) j * ldb));
                    acc += a * b;
                }
                float *c = (float *) C + t * strideC + i + (long long) j * ldc;
                *c = (float) (al * acc + (be == 0.0f ? 0.0 : be * (double) *c));
            }
        }
    }
    return SUCCESS;
}

int cublasGemmEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, const void *A,
                 int Atype, int lda, const void *B, int Btype, int ldb, const void *beta, void *C, int Ctype,
                 int ldc, int computeType, int algo) {
    return cublasGemmStridedBatchedEx(handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B, Btype, ldb, 0,
                                      beta, C, Ctype, ldc, 0, 1, computeType, algo);
}
