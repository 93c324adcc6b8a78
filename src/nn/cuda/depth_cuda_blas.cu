/* cuBLAS, loaded with dlopen on first use (libcublas.so.<major of the
 * headers>, then the toolkit's lib directory of the build, or the file
 * ORFEAS_CUBLAS names), and the GEMM wrappers of the forward pass. */
#include "device/cuda/cuda_backend.h"

#include "nn/cuda/depth_cuda_internal.h"

extern "C" {
#include "orfeas/error.h"
#include "orfeas/log.h"
}

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef ORFEAS_CUBLAS_DIR
#define ORFEAS_CUBLAS_DIR "/usr/local/cuda/lib64"
#endif

using namespace orfeas_dc;

blas_api orfeas_dc::blas;

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void *open_lib(const char *dir, char *err, size_t err_size)
{
    const char *env = getenv("ORFEAS_CUBLAS");
    void *lib = NULL;
    if (env && env[0]) {
        lib = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (!lib) snprintf(err, err_size, "%s", dlerror());
        return lib;
    }
    lib = dlopen(CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (lib) return lib;
    snprintf(err, err_size, "%s", dlerror());
    /* The toolkit's directory of the build: libcublas finds its libcublasLt
     * there through its own RUNPATH ($ORIGIN). */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, CUBLAS_SONAME);
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) snprintf(err, err_size, "%s", dlerror());
    return lib;
}

static void blas_load(void)
{
    char err[200] = "";
    void *lib = open_lib(ORFEAS_CUBLAS_DIR, err, sizeof err);
    if (!lib) {
        snprintf(blas.why, sizeof blas.why, "cuBLAS not found: %s", err);
        return;
    }
    *(void **)&blas.create = dlsym(lib, "cublasCreate_v2");
    *(void **)&blas.destroy = dlsym(lib, "cublasDestroy_v2");
    *(void **)&blas.set_stream = dlsym(lib, "cublasSetStream_v2");
    *(void **)&blas.set_math_mode = dlsym(lib, "cublasSetMathMode");
    *(void **)&blas.sgemm = dlsym(lib, "cublasSgemm_v2");
    *(void **)&blas.sgemm_strided = dlsym(lib, "cublasSgemmStridedBatched");
    *(void **)&blas.status_string = dlsym(lib, "cublasGetStatusString");
    if (!blas.create || !blas.destroy || !blas.set_stream || !blas.set_math_mode || !blas.sgemm ||
        !blas.sgemm_strided) {
        snprintf(blas.why, sizeof blas.why, "cuBLAS (%s) lacks a needed symbol", CUBLAS_SONAME);
        dlclose(lib);
        return;
    }
    /* Kept for the life of the process: handles may live until exit. */
    blas.ready = 1;
    ORFEAS_DEBUG("depth cuda: cuBLAS loaded (%s)", CUBLAS_SONAME);
}

int orfeas_dc::blas_error(cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    if (s == CUBLAS_STATUS_ALLOC_FAILED) return ORFEAS_EGPUOOM;
    ORFEAS_ERROR("depth cuda: %s: %s (%d)", what,
                 blas.status_string ? blas.status_string(s) : "cuBLAS error", (int)s);
    return ORFEAS_EINTERNAL;
}

void orfeas_dc::blas_load_once(void)
{
    pthread_once(&blas_once, blas_load);
}

int orfeas_dc::gemm(fw *f, bool ta, bool tb, int M, int N, int K, float alpha, const float *A,
                    int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
    return blas_error(blas.sgemm(f->d->handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                 ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb, A, lda,
                                 &beta, C, ldc),
                      "cublasSgemm");
}

int orfeas_dc::gemm_batched(fw *f, bool ta, bool tb, int M, int N, int K, float alpha,
                            const float *A, int lda, long long sa, const float *B, int ldb,
                            long long sb, float beta, float *C, int ldc, long long sc, int batch)
{
    return blas_error(blas.sgemm_strided(f->d->handle, tb ? CUBLAS_OP_T : CUBLAS_OP_N,
                                         ta ? CUBLAS_OP_T : CUBLAS_OP_N, N, M, K, &alpha, B, ldb,
                                         sb, A, lda, sa, &beta, C, ldc, sc, batch),
                      "cublasSgemmStridedBatched");
}
