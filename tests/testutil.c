#include "testutil.h"
#include "orfeas/blas.h"

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
    snprintf(path, sizeof path, "%s/%s", ORFEAS_TESTDATA, relative);
    return path;
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
