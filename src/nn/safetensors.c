#include "nn/safetensors.h"

#include "core/half.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return ORFEAS_EINVAL;
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

/* A JSON number that is an exact non-negative integer no larger than 2^53. */
static int json_u64(const cJSON *item, uint64_t *out)
{
    if (!cJSON_IsNumber(item)) return -1;
    double d = item->valuedouble;
    if (!(d >= 0.0) || d > 9007199254740992.0 || d != (double)(uint64_t)d) return -1;
    *out = (uint64_t)d;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const nn_st_tensor *)a)->name, ((const nn_st_tensor *)b)->name);
}

static int by_begin(const void *a, const void *b)
{
    const nn_st_tensor *x = *(nn_st_tensor *const *)a, *y = *(nn_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

void orfeas_nn_st_free(nn_st_file *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->count; i++)
        free(f->tensors[i].name);
    free(f->tensors);
    free(f->owned);
    memset(f, 0, sizeof(*f));
}

static int parse_entry(const cJSON *e, nn_st_tensor *t, uint64_t data_len, char *err, size_t errlen)
{
    if (!cJSON_IsObject(e)) return fail(err, errlen, "tensor '%s' is not an object", t->name);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(e, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
    if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return fail(err, errlen, "tensor '%s' lacks dtype, shape or data_offsets", t->name);
    size_t esize;
    if (strcmp(dt->valuestring, "F32") == 0) {
        t->dtype = NN_DT_F32;
        esize = 4;
    } else if (strcmp(dt->valuestring, "F16") == 0) {
        t->dtype = NN_DT_F16;
        esize = 2;
    } else if (strcmp(dt->valuestring, "BF16") == 0) {
        t->dtype = NN_DT_BF16;
        esize = 2;
    } else {
        return fail(err, errlen, "tensor '%s': unsupported dtype '%.16s'", t->name,
                    dt->valuestring);
    }
    int nd = cJSON_GetArraySize(shape);
    if (nd > NN_ST_MAX_DIMS)
        return fail(err, errlen, "tensor '%s' has %d dims (max %d)", t->name, nd, NN_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int i = 0;
    for (const cJSON *d = shape->child; d; d = d->next, i++) {
        uint64_t v;
        if (json_u64(d, &v) != 0)
            return fail(err, errlen, "tensor '%s': bad dimension %d", t->name, i);
        if (v != 0 && numel > UINT64_MAX / 8 / v)
            return fail(err, errlen, "tensor '%s': shape overflows", t->name);
        numel *= v;
        t->shape[i] = (int64_t)v;
    }
    t->numel = numel;
    uint64_t b, en;
    if (cJSON_GetArraySize(offs) != 2 || json_u64(offs->child, &b) != 0 ||
        json_u64(offs->child->next, &en) != 0)
        return fail(err, errlen, "tensor '%s': data_offsets must be two integers", t->name);
    if (b > en || en > data_len)
        return fail(err, errlen,
                    "tensor '%s': data_offsets [%llu, %llu) outside the %llu data bytes", t->name,
                    (unsigned long long)b, (unsigned long long)en, (unsigned long long)data_len);
    if (en - b != numel * esize)
        return fail(err, errlen, "tensor '%s': %llu bytes for %llu elements of %s", t->name,
                    (unsigned long long)(en - b), (unsigned long long)numel, dt->valuestring);
    t->begin = b;
    t->end = en;
    return 0;
}

int orfeas_nn_st_parse(const uint8_t *buf, size_t len, nn_st_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    if (!buf || len < 8) return fail(err, errlen, "file shorter than the 8-byte header length");
    uint64_t hlen = le64(buf);
    if (hlen > len - 8)
        return fail(err, errlen, "header length %llu exceeds the file", (unsigned long long)hlen);
    if (hlen > NN_ST_MAX_HEADER)
        return fail(err, errlen, "header too large (%llu bytes)", (unsigned long long)hlen);
    if (hlen < 2) return fail(err, errlen, "header too short");
    const char *hdr = (const char *)buf + 8;
    if (hdr[0] != '{') return fail(err, errlen, "header is not a JSON object");
    cJSON *root = cJSON_ParseWithLength(hdr, (size_t)hlen);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(err, errlen, "header is not valid JSON");
    }
    int rc = 0;
    size_t n = 0;
    for (const cJSON *e = root->child; e; e = e->next)
        if (!e->string || strcmp(e->string, "__metadata__") != 0) n++;
    nn_st_tensor **order = NULL;
    out->data = buf + 8 + hlen;
    out->data_len = len - 8 - hlen;
    if (n) {
        out->tensors = calloc(n, sizeof(*out->tensors));
        order = calloc(n, sizeof(*order));
        if (!out->tensors || !order) {
            rc = ORFEAS_ENOMEM;
            fail(err, errlen, "out of memory");
            goto done;
        }
    }
    for (const cJSON *e = root->child; e; e = e->next) {
        if (!e->string) {
            rc = fail(err, errlen, "tensor without a name");
            goto done;
        }
        if (strcmp(e->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(e)) {
                rc = fail(err, errlen, "__metadata__ is not an object");
                goto done;
            }
            continue;
        }
        nn_st_tensor *t = &out->tensors[out->count];
        t->name = strdup(e->string);
        if (!t->name) {
            rc = ORFEAS_ENOMEM;
            fail(err, errlen, "out of memory");
            goto done;
        }
        out->count++;
        rc = parse_entry(e, t, out->data_len, err, errlen);
        if (rc) goto done;
    }
    if (out->count == 0) goto done; /* qsort wants a non-NULL base */
    qsort(out->tensors, out->count, sizeof(*out->tensors), by_name);
    for (size_t i = 0; i < out->count; i++) {
        if (i && strcmp(out->tensors[i - 1].name, out->tensors[i].name) == 0) {
            rc = fail(err, errlen, "tensor '%s' appears twice", out->tensors[i].name);
            goto done;
        }
        order[i] = &out->tensors[i];
    }
    qsort(order, out->count, sizeof(*order), by_begin);
    /* Against the furthest end so far, so an empty tensor in between hides nothing. */
    const nn_st_tensor *reach = NULL;
    for (size_t i = 0; i < out->count; i++) {
        if (order[i]->begin == order[i]->end) continue; /* empty: occupies no bytes */
        if (reach && order[i]->begin < reach->end) {
            rc = fail(err, errlen, "tensors '%s' and '%s' overlap", reach->name, order[i]->name);
            goto done;
        }
        if (!reach || order[i]->end > reach->end) reach = order[i];
    }
done:
    free(order);
    cJSON_Delete(root);
    if (rc) orfeas_nn_st_free(out);
    return rc;
}

int orfeas_nn_st_load(const char *path, nn_st_file *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? ORFEAS_ENOTFOUND : ORFEAS_EIO;
    }
    uint8_t *buf = NULL;
    long size = -1;
    if (fseek(fp, 0, SEEK_END) == 0) size = ftell(fp);
    if (size < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        fail(err, errlen, "%s: cannot determine its size", path);
        return ORFEAS_EIO;
    }
    buf = malloc(size ? (size_t)size : 1);
    if (!buf) {
        fclose(fp);
        fail(err, errlen, "%s: out of memory for %ld bytes", path, size);
        return ORFEAS_ENOMEM;
    }
    size_t got = fread(buf, 1, (size_t)size, fp);
    fclose(fp);
    if (got != (size_t)size) {
        free(buf);
        fail(err, errlen, "%s: short read", path);
        return ORFEAS_EIO;
    }
    int rc = orfeas_nn_st_parse(buf, (size_t)size, out, err, errlen);
    if (rc) {
        free(buf);
        return rc;
    }
    out->owned = buf;
    return 0;
}

const nn_st_tensor *orfeas_nn_st_find(const nn_st_file *f, const char *name)
{
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->tensors[mid].name, name);
        if (c == 0) return &f->tensors[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void orfeas_nn_st_to_f32(const nn_st_file *f, const nn_st_tensor *t, float *dst)
{
    const uint8_t *p = f->data + t->begin;
    for (uint64_t i = 0; i < t->numel; i++) {
        if (t->dtype == NN_DT_F32) {
            uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                         (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
            memcpy(&dst[i], &u, 4);
        } else {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            if (t->dtype == NN_DT_F16) {
                dst[i] = orfeas_f16_to_f32(h);
            } else {
                uint32_t u = (uint32_t)h << 16;
                memcpy(&dst[i], &u, 4);
            }
        }
    }
}

int orfeas_nn_st_write_f32(const char *path, const nn_st_out *tensors, size_t count)
{
    cJSON *root = cJSON_CreateObject();
    if (!root) return ORFEAS_ENOMEM;
    uint64_t off = 0;
    int rc = 0;
    for (size_t i = 0; i < count && !rc; i++) {
        const nn_st_out *t = &tensors[i];
        uint64_t numel = 1;
        cJSON *e = cJSON_AddObjectToObject(root, t->name);
        cJSON *shape = e ? cJSON_AddArrayToObject(e, "shape") : NULL;
        cJSON *offs = e ? cJSON_AddArrayToObject(e, "data_offsets") : NULL;
        if (!shape || !offs || !cJSON_AddStringToObject(e, "dtype", "F32")) {
            rc = ORFEAS_ENOMEM;
            break;
        }
        for (int d = 0; d < t->ndim; d++) {
            numel *= (uint64_t)t->shape[d];
            cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        }
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        off += numel * 4;
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
    }
    char *json = rc ? NULL : cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!json) return rc ? rc : ORFEAS_ENOMEM;
    size_t jl = strlen(json);
    size_t padded = (jl + 7) & ~(size_t)7; /* data stays 8-byte aligned */
    FILE *fp = fopen(path, "wb");
    if (!fp) {
        free(json);
        ORFEAS_ERROR("%s: %s", path, strerror(errno));
        return ORFEAS_EIO;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((uint64_t)padded >> (8 * i));
    int ok = fwrite(len8, 1, 8, fp) == 8 && fwrite(json, 1, jl, fp) == jl;
    for (size_t i = jl; i < padded && ok; i++)
        ok = fputc(' ', fp) != EOF;
    free(json);
    for (size_t i = 0; i < count && ok; i++) {
        uint64_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++)
            numel *= (uint64_t)tensors[i].shape[d];
        /* The host is little-endian (x86-64, aarch64), as the format is. */
        ok = fwrite(tensors[i].data, 4, numel, fp) == numel;
    }
    if (fclose(fp) != 0) ok = 0;
    if (!ok) {
        ORFEAS_ERROR("%s: write failed", path);
        return ORFEAS_EIO;
    }
    return 0;
}
