/* OpenBLAS's kernels for this CPU.
 *
 * A distribution's OpenBLAS knows the CPUs of its day: on a newer one it
 * falls back to its Prescott (SSE3) kernels, about 3x slower on every GEMM
 * (Debian's 0.3.21 on recent Xeons). OpenBLAS reads OPENBLAS_CORETYPE once,
 * when it is loaded, before main; so orfeas_blas_select() re-executes the
 * program with it set when the CPU runs better kernels than those OpenBLAS
 * picked, unless the user chose (OPENBLAS_CORETYPE or ORFEAS_BLAS_CORE).
 *
 * ORFEAS_BLAS_CORE: "auto" (the default: upgrade a fallback), "keep" (never
 * re-execute), or an OpenBLAS core name (SkylakeX, Haswell, Prescott, ...):
 * those kernels, through the same re-execution. */
#ifndef ORFEAS_BLAS_H
#define ORFEAS_BLAS_H

#include <stddef.h>

typedef enum orfeas_blas_source {
    ORFEAS_BLAS_DETECTED, /* OpenBLAS's own choice, kept */
    ORFEAS_BLAS_KEPT,     /* OpenBLAS's own choice, kept by ORFEAS_BLAS_CORE=keep */
    ORFEAS_BLAS_UPGRADED, /* orfeas asked for the kernels this CPU supports */
    ORFEAS_BLAS_FORCED,   /* ORFEAS_BLAS_CORE named the kernels */
    ORFEAS_BLAS_USER      /* OPENBLAS_CORETYPE was set by the user */
} orfeas_blas_source;

/* Vector levels, lowest first; both a CPU's and a kernel set's. */
enum { ORFEAS_BLAS_SSE = 0, ORFEAS_BLAS_AVX, ORFEAS_BLAS_AVX2, ORFEAS_BLAS_AVX512 };

typedef struct orfeas_blas_info {
    char core[32];      /* the kernels running (openblas_get_corename) */
    char detected[32];  /* what OpenBLAS picked before orfeas asked, else = core */
    char requested[32]; /* what was asked for ("" when nothing was) */
    char config[160];   /* openblas_get_config */
    int cpu_level;      /* this CPU's vector level, -1 when not x86-64 */
    orfeas_blas_source source;
} orfeas_blas_info;

/* Call first in main, before any thread starts: may re-execute the program
 * (argv as main received it). Returns when the kernels are right, or when
 * they cannot be changed; orfeas_blas_info_get() then says which. */
void orfeas_blas_select(char **argv);
void orfeas_blas_info_get(orfeas_blas_info *info);
/* One line for `orfeas version` and the start-up log, e.g. "OpenBLAS 0.3.21,
 * SkylakeX kernels (chosen by orfeas: OpenBLAS picked Prescott on this
 * AVX-512 CPU)". Returns 1 when the kernels are slower than the CPU allows. */
int orfeas_blas_describe(char *buf, size_t size);

/* The rule, exposed for tests: the vector level of an OpenBLAS core name
 * (-1 when unknown), the name of a CPU level ("avx512"), and the core to ask
 * for when OpenBLAS picked `picked` on a CPU of `cpu_level` (NULL: keep). */
int orfeas_blas_core_level(const char *core);
const char *orfeas_blas_level_name(int level);
const char *orfeas_blas_better_core(const char *picked, int cpu_level);

#endif
