/* Length-prefixed fields: "ab"+"c" and "a"+"bc" hash differently, and an
 * absent mask differs from the image moving into the mask slot. */
#include "cache/key.h"
#include "orfeas/engine.h"
#include "orfeas/error.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One field: its length as 8 little-endian bytes, then its bytes. */
static int feed(EVP_MD_CTX *ctx, const void *data, size_t size)
{
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)((uint64_t)size >> (8 * i));
    return EVP_DigestUpdate(ctx, len, sizeof len) && (!size || EVP_DigestUpdate(ctx, data, size));
}

int orfeas_cache_key(const orfeas_params *params, const orfeas_input *input,
                     const char *depth_model_id, char out[ORFEAS_SHA256_HEX])
{
    out[0] = '\0';
    if (!params || !input || !input->image) return ORFEAS_EINVAL;
    char canonical[1024];
    if (orfeas_params_canonical(params, canonical, sizeof canonical)) return ORFEAS_EINVAL;
    static const char tag[] = "orfeas-cache-key-v1";
    const char *model = depth_model_id ? depth_model_id : "";
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx) return ORFEAS_ENOMEM;
    uint8_t md[32];
    unsigned len = 0;
    int ok =
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) && feed(ctx, tag, sizeof tag - 1) &&
        feed(ctx, ORFEAS_ENGINE_VERSION, strlen(ORFEAS_ENGINE_VERSION)) &&
        feed(ctx, canonical, strlen(canonical)) && feed(ctx, input->image, input->image_size) &&
        feed(ctx, input->mask, input->mask_size) && feed(ctx, input->depth, input->depth_size) &&
        feed(ctx, model, strlen(model)) && EVP_DigestFinal_ex(ctx, md, &len) && len == 32;
    EVP_MD_CTX_free(ctx);
    if (!ok) return ORFEAS_EINTERNAL;
    orfeas_hex(md, sizeof md, out);
    return 0;
}
