/* OpenBLAS's kernels for this CPU (include/orfeas/blas.h). */
#include "orfeas/blas.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The marker of a re-executed process: what OpenBLAS picked before. Also
 * stops a second re-execution (and tells child processes, which inherit
 * OPENBLAS_CORETYPE, that orfeas set it). */
#define MARKER "ORFEAS_BLAS_DETECTED"

static orfeas_blas_info state;
static int state_ready;

/* OpenBLAS 0.3.x's x86-64 core names (driver/others/dynamic.c) by level. */
static const struct {
    const char *name;
    int level;
} cores[] = {
    {"Katmai", ORFEAS_BLAS_SSE},
    {"Coppermine", ORFEAS_BLAS_SSE},
    {"Northwood", ORFEAS_BLAS_SSE},
    {"Prescott", ORFEAS_BLAS_SSE},
    {"Banias", ORFEAS_BLAS_SSE},
    {"Atom", ORFEAS_BLAS_SSE},
    {"Core2", ORFEAS_BLAS_SSE},
    {"Penryn", ORFEAS_BLAS_SSE},
    {"Dunnington", ORFEAS_BLAS_SSE},
    {"Nehalem", ORFEAS_BLAS_SSE},
    {"Athlon", ORFEAS_BLAS_SSE},
    {"Opteron", ORFEAS_BLAS_SSE},
    {"Opteron(SSE3)", ORFEAS_BLAS_SSE},
    {"Opteron_SSE3", ORFEAS_BLAS_SSE},
    {"Barcelona", ORFEAS_BLAS_SSE},
    {"Nano", ORFEAS_BLAS_SSE},
    {"Bobcat", ORFEAS_BLAS_SSE},
    {"Sandybridge", ORFEAS_BLAS_AVX},
    {"Bulldozer", ORFEAS_BLAS_AVX},
    {"Piledriver", ORFEAS_BLAS_AVX},
    {"Steamroller", ORFEAS_BLAS_AVX},
    {"Excavator", ORFEAS_BLAS_AVX},
    {"Haswell", ORFEAS_BLAS_AVX2},
    {"Zen", ORFEAS_BLAS_AVX2},
    {"SkylakeX", ORFEAS_BLAS_AVX512},
    {"Cooperlake", ORFEAS_BLAS_AVX512},
    {"SapphireRapids", ORFEAS_BLAS_AVX512},
};

/* The kernels to ask for at each CPU level. */
static const char *const level_core[] = {NULL, "Sandybridge", "Haswell", "SkylakeX"};
static const char *const level_names[] = {"sse", "avx", "avx2", "avx512"};

int orfeas_blas_core_level(const char *core)
{
    if (!core) return -1;
    for (size_t i = 0; i < sizeof cores / sizeof cores[0]; i++)
        if (strcasecmp(core, cores[i].name) == 0) return cores[i].level;
    return -1;
}

const char *orfeas_blas_level_name(int level)
{
    return level >= 0 && level <= ORFEAS_BLAS_AVX512 ? level_names[level] : "unknown";
}

const char *orfeas_blas_better_core(const char *picked, int cpu_level)
{
    int have = orfeas_blas_core_level(picked);
    /* An unknown name (a newer OpenBLAS, another architecture) is trusted. */
    if (have < 0 || cpu_level <= have || cpu_level > ORFEAS_BLAS_AVX512) return NULL;
    return level_core[cpu_level];
}

static int cpu_level(void)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    /* libgcc's checks include the OS's support (XCR0) for the AVX states. */
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512cd"))
        return ORFEAS_BLAS_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ORFEAS_BLAS_AVX2;
    if (__builtin_cpu_supports("avx")) return ORFEAS_BLAS_AVX;
    return ORFEAS_BLAS_SSE;
#else
    return -1;
#endif
}

static void copy(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Reads what runs now; the source is the caller's. */
static void fill(orfeas_blas_source source, const char *detected, const char *requested)
{
    copy(state.core, sizeof state.core, openblas_get_corename());
    copy(state.detected, sizeof state.detected, detected ? detected : state.core);
    copy(state.requested, sizeof state.requested, requested);
    copy(state.config, sizeof state.config, openblas_get_config());
    state.cpu_level = cpu_level();
    state.source = source;
    state_ready = 1;
}

static void reexec(char **argv, const char *core)
{
    const char *now = openblas_get_corename();
    if (!argv || !argv[0] || !strstr(openblas_get_config(), "DYNAMIC_ARCH")) return;
    setenv(MARKER, now ? now : "", 1);
    setenv("OPENBLAS_CORETYPE", core, 1);
    fflush(NULL);
    execv("/proc/self/exe", argv);
    /* Still here: keep the kernels loaded (info says so). */
    unsetenv(MARKER);
    unsetenv("OPENBLAS_CORETYPE");
}

void orfeas_blas_select(char **argv)
{
    const char *marker = getenv(MARKER), *user = getenv("OPENBLAS_CORETYPE");
    if (user && !*user) user = NULL;
    const char *want = getenv("ORFEAS_BLAS_CORE");
    int keep = want && strcasecmp(want, "keep") == 0;
    int forced = want && *want && !keep && strcasecmp(want, "auto") != 0;
    if (marker) {
        /* The re-executed process: orfeas asked for OPENBLAS_CORETYPE. */
        fill(forced ? ORFEAS_BLAS_FORCED : ORFEAS_BLAS_UPGRADED, marker, user);
        return;
    }
    if (forced) {
        if (strcasecmp(openblas_get_corename(), want) != 0) reexec(argv, want);
        fill(ORFEAS_BLAS_FORCED, NULL, want);
        return;
    }
    if (user) {
        fill(ORFEAS_BLAS_USER, NULL, user);
        return;
    }
    if (keep) {
        fill(ORFEAS_BLAS_KEPT, NULL, NULL);
        return;
    }
    const char *better = orfeas_blas_better_core(openblas_get_corename(), cpu_level());
    if (better) reexec(argv, better);
    fill(ORFEAS_BLAS_DETECTED, NULL, NULL);
}

void orfeas_blas_info_get(orfeas_blas_info *info)
{
    if (!state_ready) fill(ORFEAS_BLAS_DETECTED, NULL, NULL);
    *info = state;
}

int orfeas_blas_describe(char *buf, size_t size)
{
    orfeas_blas_info in;
    orfeas_blas_info_get(&in);
    /* "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ...": its first two words. */
    size_t n = strlen(in.config);
    const char *sp = strchr(in.config, ' ');
    if (sp && strchr(sp + 1, ' ')) n = (size_t)(strchr(sp + 1, ' ') - in.config);
    const char *cpu = orfeas_blas_level_name(in.cpu_level);
    int slow = orfeas_blas_better_core(in.core, in.cpu_level) != NULL;
    char why[160];
    switch (in.source) {
    case ORFEAS_BLAS_UPGRADED:
        snprintf(why, sizeof why, "chosen by orfeas: OpenBLAS picked %s on this %s CPU",
                 in.detected, cpu);
        break;
    case ORFEAS_BLAS_FORCED:
        snprintf(why, sizeof why, "ORFEAS_BLAS_CORE=%s%s", in.requested,
                 strcasecmp(in.core, in.requested) ? ", which this OpenBLAS does not have" : "");
        break;
    case ORFEAS_BLAS_USER:
        snprintf(why, sizeof why, "OPENBLAS_CORETYPE=%s, set by the user", in.requested);
        break;
    case ORFEAS_BLAS_KEPT:
        snprintf(why, sizeof why, "OpenBLAS's own choice, kept by ORFEAS_BLAS_CORE=keep");
        break;
    default:
        snprintf(why, sizeof why, "%s",
                 slow ? "OpenBLAS's choice; orfeas could not change it" : "OpenBLAS's own choice");
    }
    snprintf(buf, size, "%.*s, %s kernels (%s)%s%s%s", (int)n, in.config, in.core, why,
             slow ? "; this " : "", slow ? cpu : "", slow ? " CPU runs faster ones" : "");
    return slow;
}
