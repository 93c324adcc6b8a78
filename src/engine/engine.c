#include "orfeas/engine.h"
#include "orfeas/error.h"
#include <string.h>
int orfeas_generate(const orfeas_input *input, const orfeas_params *params,
                    const orfeas_generate_options *options, orfeas_mesh *mesh,
                    orfeas_generate_stats *stats)
{
    (void)input, (void)params, (void)options, (void)stats;
    memset(mesh, 0, sizeof *mesh);
    return ORFEAS_EINTERNAL;
}
