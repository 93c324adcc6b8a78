/* Where the tests and the bench programs find their data, by one rule (the
 * shell side is tests/testdata.sh):
 *   - the shared test data is $ORFEAS_TESTDATA when set, else the directory
 *     CMake was configured with (-DORFEAS_TESTDATA, default
 *     ../shared/testdata beside the repository);
 *   - "images/NAME" is the copy that ships with the repository (examples/,
 *     tests/fixtures/) when there is one: byte-identical, so a clone without
 *     ../shared still runs what needs only those. */
#ifndef ORFEAS_TESTDATA_H
#define ORFEAS_TESTDATA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

/* Writes the path of RELATIVE ("images/apple.jpg", "depth_golden") to buf. */
const char *testdata_path(const char *relative, char *buf, size_t size);
/* 0 when each file of the NULL-terminated list is there; else -1 after one
 * line on out: "WHO: needs ../shared/testdata/REL (not found at PATH); set
 * ORFEAS_TESTDATA=DIR ...", naming the first one missing. */
int testdata_vcheck(FILE *out, const char *who, va_list files);
/* The same for "images/NAME", NAME each of the n names (NULL entries skipped). */
const char *testdata_image(const char *name, char *buf, size_t size);
int testdata_check_images(FILE *out, const char *who, const char *const *names, size_t n);

#endif
