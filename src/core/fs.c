#include "core/fs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int orfeas_mkdir_p(const char *path)
{
    char buf[1200];
    int n = snprintf(buf, sizeof buf, "%s", path);
    if (n < 0 || (size_t)n >= sizeof buf) return ENAMETOOLONG;
    for (char *p = buf + 1;; p++) {
        if (*p && *p != '/') continue;
        char c = *p;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return errno;
        if (!c) return 0;
        *p = c;
    }
}
