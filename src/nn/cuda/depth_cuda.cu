/* The depth network's handle on CUDA: whether CUDA and cuBLAS are there,
 * the weights' upload (the host model's three buffers, copied as they are)
 * with the handle's stream, memory pool and cuBLAS handle, and its free.
 * Runs: depth_cuda_forward.cu. */
#include "device/cuda/cuda_backend.h"

#include "nn/cuda/depth_cuda_internal.h"

extern "C" {
#include "orfeas/error.h"
#include "orfeas/log.h"
}

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

using namespace orfeas_dc;

static const char *precision_name(int p)
{
    return p == NN_DC_FP16 ? "fp16" : p == NN_DC_INT8 ? "int8" : "fp32";
}

int orfeas_dc::use_device(int ordinal)
{
    return orfeas_cuda_error(cudaSetDevice(ordinal), "cudaSetDevice");
}

int orfeas_nn_dc_available(char *why, size_t why_size)
{
    int count = 0;
    if (orfeas_cuda_device_count(&count, why, why_size)) return 0;
    if (count < 1) {
        orfeas_cuda_set_why(why, why_size, "no CUDA device");
        return 0;
    }
    blas_load_once();
    if (!blas.ready) {
        orfeas_cuda_set_why(why, why_size, "%s", blas.why);
        return 0;
    }
    orfeas_cuda_set_why(why, why_size, "%d CUDA device(s), %s", count, CUBLAS_SONAME);
    return 1;
}

size_t orfeas_nn_dc_resident_bytes(const nn_depth_cuda *d)
{
    return d ? d->blob_n * sizeof(float) + d->half_n * sizeof(__half) + d->q_bytes : 0;
}

int orfeas_nn_dc_precision(const nn_depth_cuda *d)
{
    return d ? d->precision : NN_DC_FP32;
}

size_t orfeas_nn_dc_last_run_bytes(const nn_depth_cuda *d)
{
    return d ? d->last_run_bytes : 0;
}

void orfeas_nn_dc_free(nn_depth_cuda *d)
{
    if (!d) return;
    if (!use_device(d->ordinal)) {
        if (d->stream) orfeas_cuda_error(cudaStreamSynchronize(d->stream), "cudaStreamSynchronize");
        if (d->handle) blas_error(blas.destroy(d->handle), "cublasDestroy");
        if (d->blob) orfeas_cuda_error(cudaFree(d->blob), "cudaFree");
        if (d->hstore) orfeas_cuda_error(cudaFree(d->hstore), "cudaFree");
        if (d->qstore) orfeas_cuda_error(cudaFree(d->qstore), "cudaFree");
        if (d->pool) orfeas_cuda_error(cudaMemPoolDestroy(d->pool), "cudaMemPoolDestroy");
        if (d->stream) orfeas_cuda_error(cudaStreamDestroy(d->stream), "cudaStreamDestroy");
    }
    pthread_mutex_destroy(&d->lock);
    free(d);
}

static int upload_buffer(nn_depth_cuda *d, void **dst, const void *src, size_t bytes)
{
    *dst = NULL;
    if (!bytes) return 0;
    int rc = orfeas_cuda_error(cudaMalloc(dst, bytes), "cudaMalloc (weights)");
    if (rc) {
        *dst = NULL;
        return rc;
    }
    return orfeas_cuda_error(cudaMemcpyAsync(*dst, src, bytes, cudaMemcpyHostToDevice, d->stream),
                             "cudaMemcpyAsync (weights)");
}

int orfeas_nn_dc_upload(const nn_dc_layout *l, int ordinal, nn_depth_cuda **out)
{
    *out = NULL;
    char why[256];
    if (!orfeas_nn_dc_available(why, sizeof why)) {
        ORFEAS_WARN("depth cuda: not available (%s)", why);
        return ORFEAS_ENOTFOUND;
    }
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || ordinal < 0 || ordinal >= count) {
        (void)cudaGetLastError();
        ORFEAS_WARN("depth cuda: no CUDA device %d (found %d)", ordinal, count);
        return ORFEAS_ENOTFOUND;
    }
    nn_depth_cuda *d = (nn_depth_cuda *)calloc(1, sizeof *d);
    if (!d) return ORFEAS_ENOMEM;
    pthread_mutex_init(&d->lock, NULL);
    d->ordinal = ordinal;
    d->precision = l->precision;
    d->blob_n = l->blob_n;
    d->half_n = l->half_n;
    d->q_bytes = l->q_bytes;
    memcpy(d->t_off, l->t_off, sizeof d->t_off);
    memcpy(d->h_off, l->h_off, sizeof d->h_off);
    memcpy(d->lin, l->lin, sizeof d->lin);

    int rc = orfeas_cuda_stream_pool_create(ordinal, &d->stream, &d->pool);
    if (!rc) {
        cublasStatus_t s = blas.create(&d->handle);
        if (s != CUBLAS_STATUS_SUCCESS) {
            d->handle = NULL;
            if (s == CUBLAS_STATUS_NOT_INITIALIZED) {
                ORFEAS_WARN("depth cuda: cublasCreate: CUDA not initialised");
                rc = ORFEAS_ENOTFOUND;
            } else {
                rc = blas_error(s, "cublasCreate");
            }
        }
    }
    if (!rc) rc = blas_error(blas.set_stream(d->handle, d->stream), "cublasSetStream");
    /* True fp32: no TF32 tensor cores, no reduced-precision reductions. */
    if (!rc)
        rc = blas_error(blas.set_math_mode(d->handle, CUBLAS_PEDANTIC_MATH), "cublasSetMathMode");
    if (!rc) rc = upload_buffer(d, (void **)&d->blob, l->blob, d->blob_n * sizeof(float));
    if (!rc) rc = upload_buffer(d, (void **)&d->hstore, l->hstore, d->half_n * sizeof(uint16_t));
    if (!rc) rc = upload_buffer(d, (void **)&d->qstore, l->qstore, d->q_bytes);
    if (!rc)
        rc = orfeas_cuda_error(cudaStreamSynchronize(d->stream), "cudaStreamSynchronize (upload)");
    if (rc) {
        if (rc == ORFEAS_EGPUOOM)
            ORFEAS_WARN("depth cuda: out of device memory for the %s weights (%.1f MiB)",
                        precision_name(l->precision), orfeas_nn_dc_resident_bytes(d) / 1048576.0);
        orfeas_nn_dc_free(d);
        return rc;
    }
    ORFEAS_INFO("depth cuda: %s weights on cuda:%d (%.1f MiB)", precision_name(l->precision),
                ordinal, orfeas_nn_dc_resident_bytes(d) / 1048576.0);
    *out = d;
    return 0;
}
