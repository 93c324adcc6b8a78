/* Growable byte buffer (include/orfeas/buffer.h). */
#include "orfeas/buffer.h"
#include "orfeas/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int orfeas_buffer_reserve(orfeas_buffer *buf, size_t extra)
{
    if (!buf) return ORFEAS_EINVAL;
    if (extra > SIZE_MAX - buf->size) return ORFEAS_ENOMEM;
    size_t need = buf->size + extra;
    if (need <= buf->capacity) return 0;
    /* Geometric growth keeps repeated appends linear overall. */
    size_t cap = buf->capacity ? buf->capacity : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    uint8_t *data = realloc(buf->data, cap);
    if (!data) return ORFEAS_ENOMEM;
    buf->data = data;
    buf->capacity = cap;
    return 0;
}

int orfeas_buffer_append(orfeas_buffer *buf, const void *bytes, size_t size)
{
    if (!buf || (size && !bytes)) return ORFEAS_EINVAL;
    if (size == 0) return 0;
    int rc = orfeas_buffer_reserve(buf, size);
    if (rc) return rc;
    memcpy(buf->data + buf->size, bytes, size);
    buf->size += size;
    return 0;
}

void orfeas_buffer_free(orfeas_buffer *buf)
{
    if (!buf) return;
    free(buf->data);
    buf->data = NULL;
    buf->size = 0;
    buf->capacity = 0;
}
