/* SHA-256 of bytes and of files, as raw digests or 64 lowercase hex digits. */
#ifndef ORFEAS_CACHE_SHA256_H
#define ORFEAS_CACHE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define ORFEAS_SHA256_HEX 65 /* 64 digits and the terminator */

/* SHA-256 of bytes; 0 or ORFEAS_EINTERNAL. */
int orfeas_sha256(const void *data, size_t size, uint8_t out[32]);
int orfeas_sha256_hex(const void *data, size_t size, char out[ORFEAS_SHA256_HEX]);
void orfeas_hex(const uint8_t *bytes, size_t n, char *out); /* out: 2n + 1 */
/* SHA-256 of a file's content, read in chunks; 0, ORFEAS_EIO or
 * ORFEAS_EINTERNAL. */
int orfeas_sha256_file_hex(const char *path, char out[ORFEAS_SHA256_HEX]);

#endif
