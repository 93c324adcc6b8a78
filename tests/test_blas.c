/* The OpenBLAS kernel rule (include/orfeas/blas.h): the level of each core
 * name OpenBLAS reports, the core asked for on a CPU that runs more than
 * OpenBLAS picked (the Prescott fallback on a CPU newer than the library),
 * and nothing asked where OpenBLAS's pick is as good or unknown. The
 * re-execution itself is tested through the binary in test_blas.sh. */
#include "orfeas/blas.h"
#include "testutil.h"

#include <cblas.h>
#include <string.h>

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int main(void)
{
    CHECK(orfeas_blas_core_level("Prescott") == ORFEAS_BLAS_SSE);
    CHECK(orfeas_blas_core_level("prescott") == ORFEAS_BLAS_SSE);
    CHECK(orfeas_blas_core_level("Nehalem") == ORFEAS_BLAS_SSE);
    CHECK(orfeas_blas_core_level("Sandybridge") == ORFEAS_BLAS_AVX);
    CHECK(orfeas_blas_core_level("Haswell") == ORFEAS_BLAS_AVX2);
    CHECK(orfeas_blas_core_level("Zen") == ORFEAS_BLAS_AVX2);
    CHECK(orfeas_blas_core_level("SkylakeX") == ORFEAS_BLAS_AVX512);
    CHECK(orfeas_blas_core_level("Cooperlake") == ORFEAS_BLAS_AVX512);
    CHECK(orfeas_blas_core_level("NeoverseN1") == -1);
    CHECK(orfeas_blas_core_level(NULL) == -1);

    static const struct {
        const char *picked;
        int cpu;
        const char *want;
    } cases[] = {
        {"Prescott", ORFEAS_BLAS_AVX512, "SkylakeX"}, /* Debian 0.3.21 on a new Xeon */
        {"Prescott", ORFEAS_BLAS_AVX2, "Haswell"},
        {"Prescott", ORFEAS_BLAS_AVX, "Sandybridge"},
        {"Core2", ORFEAS_BLAS_AVX2, "Haswell"},
        {"Sandybridge", ORFEAS_BLAS_AVX512, "SkylakeX"},
        {"Haswell", ORFEAS_BLAS_AVX512, "SkylakeX"},
        {"Zen", ORFEAS_BLAS_AVX512, "SkylakeX"},
        {"Prescott", ORFEAS_BLAS_SSE, NULL}, /* nothing better to run */
        {"Haswell", ORFEAS_BLAS_AVX2, NULL},
        {"Zen", ORFEAS_BLAS_AVX2, NULL},
        {"Cooperlake", ORFEAS_BLAS_AVX512, NULL}, /* AMD Zen 4: already right */
        {"SkylakeX", ORFEAS_BLAS_AVX512, NULL},
        {"SkylakeX", ORFEAS_BLAS_AVX2, NULL},     /* never downgrade */
        {"NeoverseN1", ORFEAS_BLAS_AVX512, NULL}, /* unknown names are trusted */
        {"Prescott", -1, NULL},                   /* not x86-64 */
        {"Prescott", 99, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = orfeas_blas_better_core(cases[i].picked, cases[i].cpu);
        CHECKF(same(got, cases[i].want), "%s on %s: %s, not %s", cases[i].picked,
               orfeas_blas_level_name(cases[i].cpu), got ? got : "keep",
               cases[i].want ? cases[i].want : "keep");
    }
    CHECK(strcmp(orfeas_blas_level_name(ORFEAS_BLAS_AVX512), "avx512") == 0);
    CHECK(strcmp(orfeas_blas_level_name(7), "unknown") == 0);

    /* What runs is what OpenBLAS says runs, and the line names it. */
    orfeas_blas_info in;
    orfeas_blas_info_get(&in);
    CHECK(strcmp(in.core, openblas_get_corename()) == 0);
    CHECK(strncmp(in.config, "OpenBLAS", 8) == 0);
    char line[320];
    orfeas_blas_describe(line, sizeof line);
    CHECKF(strstr(line, in.core) && strncmp(line, "OpenBLAS ", 9) == 0, "%s", line);
    printf("blas: %s\n", line);
    return testutil_finish("test_blas");
}
