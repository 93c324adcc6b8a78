/* SHA-256 through OpenSSL's EVP interface (the cache keys, the stored
 * blobs' names, a model file's identity). */
#include "cache/sha256.h"
#include "orfeas/error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

void orfeas_hex(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

int orfeas_sha256(const void *data, size_t size, uint8_t out[32])
{
    unsigned len = 0;
    if (!EVP_Digest(data, size, out, &len, EVP_sha256(), NULL) || len != 32)
        return ORFEAS_EINTERNAL;
    return 0;
}

int orfeas_sha256_hex(const void *data, size_t size, char out[ORFEAS_SHA256_HEX])
{
    uint8_t md[32];
    int rc = orfeas_sha256(data, size, md);
    if (rc) return rc;
    orfeas_hex(md, sizeof md, out);
    return 0;
}

int orfeas_sha256_file_hex(const char *path, char out[ORFEAS_SHA256_HEX])
{
    out[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return ORFEAS_EIO;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    uint8_t *buf = malloc(1 << 20);
    int ok = ctx && buf && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    size_t n;
    while (ok && (n = fread(buf, 1, 1 << 20, f)) > 0)
        ok = EVP_DigestUpdate(ctx, buf, n);
    int read_error = ferror(f);
    uint8_t md[32];
    unsigned len = 0;
    ok = ok && !read_error && EVP_DigestFinal_ex(ctx, md, &len) && len == 32;
    fclose(f);
    free(buf);
    EVP_MD_CTX_free(ctx);
    if (!ok) return read_error ? ORFEAS_EIO : ORFEAS_EINTERNAL;
    orfeas_hex(md, sizeof md, out);
    return 0;
}
