/* Fuzzes the safetensors header parser: any input either parses into
 * tensors whose byte ranges lie inside the data, or is refused. */
#include "nn/safetensors.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_st_file f;
    char err[256];
    int rc = orfeas_nn_st_parse(data, size, &f, err, sizeof(err));
    if (rc == 0) {
        for (size_t i = 0; i < f.count; i++) {
            const nn_st_tensor *t = &f.tensors[i];
            if (t->begin > t->end || t->end > f.data_len) abort();
            if (orfeas_nn_st_find(&f, t->name) != t) abort();
            /* Touch every byte through the converter. */
            if (t->numel && t->numel <= (1u << 20)) {
                float *tmp = malloc(t->numel * sizeof(float));
                if (tmp) {
                    orfeas_nn_st_to_f32(&f, t, tmp);
                    free(tmp);
                }
            }
        }
    } else if (f.tensors || f.count) {
        abort();
    }
    orfeas_nn_st_free(&f);
    return 0;
}
