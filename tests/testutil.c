#include "testutil.h"

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
