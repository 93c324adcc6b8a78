#include "testutil.h"
#include "orfeas/blas.h"
#include "testdata.h"

#include <stdarg.h>

_Atomic int testutil_failures;
_Atomic int testutil_checks;

int testutil_finish(const char *name)
{
    printf("%s: %d checks, %d failed\n", name, testutil_checks, testutil_failures);
    return testutil_failures ? 1 : 0;
}

const char *testutil_data(const char *relative)
{
    static char path[4096];
    return testdata_path(relative, path, sizeof path);
}

/* Checks the NULL-terminated list after `what`; prints "SKIP what: ..." */
static int have_data(const char *what, va_list files)
{
    char who[512];
    snprintf(who, sizeof who, "SKIP %s", what);
    return testdata_vcheck(stdout, who, files) == 0;
}

void testutil_require_data_(const char *test, ...)
{
    va_list files;
    va_start(files, test);
    int have = have_data(test, files);
    va_end(files);
    if (!have) exit(testutil_failures ? 1 : 77);
}

int testutil_have_data_(const char *what, ...)
{
    va_list files;
    va_start(files, what);
    int have = have_data(what, files);
    va_end(files);
    return have;
}

float *testutil_read_f32(const char *relative, size_t n)
{
    FILE *fp = fopen(testutil_data(relative), "rb");
    if (!fp) return NULL;
    float *d = malloc(n * sizeof(float));
    if (d && fread(d, sizeof(float), n, fp) != n) {
        free(d);
        d = NULL;
    }
    fclose(fp);
    return d;
}

/* Every test runs on the OpenBLAS kernels orfeas would choose (this may
 * re-execute the test, before main). glibc passes main's arguments to
 * constructors. */
__attribute__((constructor)) static void testutil_blas(int argc, char **argv, char **envp)
{
    (void)argc;
    (void)envp;
    orfeas_blas_select(argv);
}
