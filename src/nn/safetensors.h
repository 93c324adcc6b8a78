/* A bounds-checked reader (and a small F32 writer) for the safetensors
 * format: 8-byte little-endian header length, a JSON header mapping names to
 * {dtype, shape, data_offsets}, then the data. Every offset and size comes
 * from the file, so each is checked before use; a malformed file is
 * ORFEAS_EINVAL with a message, never a crash. */
#ifndef ORFEAS_NN_SAFETENSORS_H
#define ORFEAS_NN_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#define NN_ST_MAX_DIMS 8
/* Headers larger than this are refused (the real files have ~30 KiB). */
#define NN_ST_MAX_HEADER (64u * 1024u * 1024u)

typedef enum nn_dtype { NN_DT_F32, NN_DT_F16, NN_DT_BF16 } nn_dtype;

typedef struct nn_st_tensor {
    char *name;
    nn_dtype dtype;
    int ndim;
    int64_t shape[NN_ST_MAX_DIMS];
    uint64_t numel;
    uint64_t begin, end; /* byte range inside the data section */
} nn_st_tensor;

typedef struct nn_st_file {
    nn_st_tensor *tensors; /* sorted by name */
    size_t count;
    const uint8_t *data; /* the data section (after the header) */
    uint64_t data_len;
    uint8_t *owned; /* the whole file when loaded by orfeas_nn_st_load */
} nn_st_file;

/* Parses a safetensors image in memory; `buf` must outlive `out`. On error
 * writes a message into err (when non-NULL) and leaves `out` empty. */
int orfeas_nn_st_parse(const uint8_t *buf, size_t len, nn_st_file *out, char *err, size_t errlen);
/* Reads and parses a file (the file stays in memory until orfeas_nn_st_free). */
int orfeas_nn_st_load(const char *path, nn_st_file *out, char *err, size_t errlen);
void orfeas_nn_st_free(nn_st_file *f);
const nn_st_tensor *orfeas_nn_st_find(const nn_st_file *f, const char *name);
/* Converts a tensor's elements (any dtype) to float32. */
void orfeas_nn_st_to_f32(const nn_st_file *f, const nn_st_tensor *t, float *dst);

typedef struct nn_st_out {
    const char *name;
    int ndim;
    const int64_t *shape;
    const float *data;
} nn_st_out;
/* Writes F32 tensors (names must be unique) to a safetensors file. */
int orfeas_nn_st_write_f32(const char *path, const nn_st_out *tensors, size_t count);

#endif
