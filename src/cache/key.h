/* The dedup cache key: SHA-256 over a length-prefixed encoding of everything
 * that determines a result (engine version, canonical parameters, image,
 * mask and depth bytes, depth-model id), as 64 lowercase hex digits. */
#ifndef ORFEAS_CACHE_KEY_H
#define ORFEAS_CACHE_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "orfeas/engine.h"
#include "orfeas/params.h"
#include "cache/sha256.h"

/* The key of a generation: its parameters, its input bytes (an image is
 * required; mask and depth are optional) and the depth model's id (NULL:
 * none). Because the parameters enter in canonical form, the order in
 * which they were set does not matter. 0, ORFEAS_EINVAL or
 * ORFEAS_EINTERNAL. */
int orfeas_cache_key(const orfeas_params *params, const orfeas_input *input,
                     const char *depth_model_id, char out[ORFEAS_SHA256_HEX]);

#endif
