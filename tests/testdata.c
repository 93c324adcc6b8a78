#include "testdata.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Where copies of shared images ship, looked in before the shared data. */
static const char *const shipped[] = {"examples", "tests/fixtures"};

/* The shared test data directory. */
static const char *testdata_dir(void)
{
    const char *env = getenv("ORFEAS_TESTDATA");
    return env && *env ? env : ORFEAS_TESTDATA;
}

const char *testdata_path(const char *relative, char *buf, size_t size)
{
    if (strncmp(relative, "images/", 7) == 0 && relative[7] && !strchr(relative + 7, '/'))
        for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
            snprintf(buf, size, "%s/%s/%s", ORFEAS_SOURCE_DIR, shipped[i], relative + 7);
            if (access(buf, R_OK) == 0) return buf;
        }
    snprintf(buf, size, "%s/%s", testdata_dir(), relative);
    return buf;
}

/* 0 when RELATIVE is there, else -1 after the line on out. */
static int check_one(FILE *out, const char *who, const char *relative)
{
    char path[4096];
    if (access(testdata_path(relative, path, sizeof path), R_OK) == 0) return 0;
    fprintf(out,
            "%s: needs ../shared/testdata/%s (not found at %s); set ORFEAS_TESTDATA=DIR to the "
            "orfeas shared test data\n",
            who, relative, path);
    fflush(out);
    return -1;
}

int testdata_vcheck(FILE *out, const char *who, va_list files)
{
    for (const char *rel = va_arg(files, const char *); rel; rel = va_arg(files, const char *))
        if (check_one(out, who, rel)) return -1;
    return 0;
}

const char *testdata_image(const char *name, char *buf, size_t size)
{
    char rel[512];
    snprintf(rel, sizeof rel, "images/%s", name);
    return testdata_path(rel, buf, size);
}

int testdata_check_images(FILE *out, const char *who, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!names[i]) continue;
        char rel[512];
        snprintf(rel, sizeof rel, "images/%s", names[i]);
        if (check_one(out, who, rel)) return -1;
    }
    return 0;
}
