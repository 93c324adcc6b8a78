/* A growable byte buffer (the exporters' output, HTTP bodies, metrics
 * text). The caller owns it: zero-initialise, append, free once. */
#ifndef ORFEAS_BUFFER_H
#define ORFEAS_BUFFER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct orfeas_buffer {
    uint8_t *data;
    size_t size;
    size_t capacity;
} orfeas_buffer;

int orfeas_buffer_reserve(orfeas_buffer *buf, size_t extra);
int orfeas_buffer_append(orfeas_buffer *buf, const void *bytes, size_t size);
void orfeas_buffer_free(orfeas_buffer *buf);

#ifdef __cplusplus
}
#endif

#endif
