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
