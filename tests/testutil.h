/* Minimal assertions for the C tests: each failure prints where and why and
 * the test exits non-zero at the end (or at once with REQUIRE). */
#ifndef ORFEAS_TESTUTIL_H
#define ORFEAS_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>

/* Atomic: checks may run on several threads. */
extern _Atomic int testutil_failures;
extern _Atomic int testutil_checks;

/* 1 in an ASan or TSan build, where a network pass is 5-20x slower: tests
 * then skip their largest cases (and say so), keeping the threaded ones. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TESTUTIL_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define TESTUTIL_SANITIZED 1
#endif
#endif
#ifndef TESTUTIL_SANITIZED
#define TESTUTIL_SANITIZED 0
#endif

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        testutil_checks++;                                                                         \
        if (!(cond)) {                                                                             \
            testutil_failures++;                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECKF(cond, ...)                                                                          \
    do {                                                                                           \
        testutil_checks++;                                                                         \
        if (!(cond)) {                                                                             \
            testutil_failures++;                                                                   \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);               \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        testutil_checks++;                                                                         \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

/* Prints "N passed, N failed" and returns the exit status. */
int testutil_finish(const char *name);
/* Path of a file of the test data ("images/plant.jpg", "depth_golden/case_a.json"):
 * tests/testdata.h says where ($ORFEAS_TESTDATA, else the configured directory;
 * images that ship with the repository from there). */
const char *testutil_data(const char *relative);
/* When a file of the list (as for testutil_data) is missing: one line
 * "SKIP TEST: needs ../shared/testdata/REL (not found at PATH); set
 * ORFEAS_TESTDATA=DIR ..." and exit 77, which ctest reports as skipped
 * (SKIP_RETURN_CODE, tests/CMakeLists.txt); exit 1 if a check failed before. */
#define testutil_require_data(test, ...)                                                           \
    testutil_require_data_(test, __VA_ARGS__, (const char *)NULL)
/* 1 when every file is there; else 0 after one such SKIP line naming WHAT, the
 * part of a test that then does not run (the rest of the test does). */
#define testutil_have_data(what, ...) testutil_have_data_(what, __VA_ARGS__, (const char *)NULL)
void testutil_require_data_(const char *test, ...);
int testutil_have_data_(const char *what, ...);
/* n raw little-endian floats from a file under the test data (malloc'd), or
 * NULL when it is missing or shorter. */
float *testutil_read_f32(const char *relative, size_t n);

#endif
