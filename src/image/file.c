/* orfeas — reading a whole file into memory. */
#include "orfeas/image.h"

#include "orfeas/error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_error(int e)
{
    return e == ENOENT || e == ENOTDIR ? ORFEAS_ENOTFOUND : ORFEAS_EIO;
}

/* The buffer gets one spare byte (set to 0) so text callers may treat it as
 * a string; an empty file gives a valid 1-byte buffer and *size 0. */
int orfeas_read_file(const char *path, size_t max_bytes, uint8_t **data, size_t *size)
{
    if (!data || !size) return ORFEAS_EINVAL;
    *data = NULL;
    *size = 0;
    if (!path || !*path) return ORFEAS_EINVAL;
    if (max_bytes == 0 || max_bytes > SIZE_MAX - 1) max_bytes = SIZE_MAX - 1;

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return open_error(errno);
    struct stat st;
    if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
        close(fd);
        return ORFEAS_EIO;
    }
    /* Regular files tell their size; pipes and /proc files are read until EOF. */
    size_t cap = 65536;
    if (S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uint64_t)st.st_size > max_bytes) {
            close(fd);
            return ORFEAS_ETOOBIG;
        }
        cap = (size_t)st.st_size + 1;
    }
    if (cap > max_bytes + 1) cap = max_bytes + 1;
    uint8_t *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return ORFEAS_ENOMEM;
    }
    size_t len = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            /* The file grew (or had no size): grow, but never past max_bytes + 1
             * so one more byte than allowed is enough to tell ETOOBIG. */
            if (cap > max_bytes) {
                rc = ORFEAS_ETOOBIG;
                break;
            }
            size_t next = cap > (max_bytes + 1) / 2 ? max_bytes + 1 : cap * 2;
            uint8_t *grown = realloc(buf, next);
            if (!grown) {
                rc = ORFEAS_ENOMEM;
                break;
            }
            buf = grown;
            cap = next;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR) continue;
            rc = ORFEAS_EIO;
            break;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    if (!rc && len > max_bytes) rc = ORFEAS_ETOOBIG;
    if (rc) {
        free(buf);
        return rc;
    }
    buf[len] = 0; /* the loop only stops at EOF with len < cap */
    *data = buf;
    *size = len;
    return 0;
}
