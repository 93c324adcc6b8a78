/* Atomic file replacement: readers see the old file or the complete new
 * one, never a torn write, even across a crash (fsync before rename, then
 * fsync the directory so the rename itself is durable). */
#include "export_internal.h"
#include "orfeas/error.h"
#include "orfeas/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int map_errno(int e)
{
    if (e == ENOSPC) return ORFEAS_ENOSPACE;
#ifdef EDQUOT
    if (e == EDQUOT) return ORFEAS_ENOSPACE;
#endif
    return ORFEAS_EIO;
}

int orfeas_write_all_fd_(int fd, const void *data, size_t size)
{
    const uint8_t *p = data;
    while (size > 0) {
        /* Large single writes can be capped by the kernel; loop on short ones. */
        ssize_t n = write(fd, p, size > (1u << 30) ? (1u << 30) : size);
        if (n < 0) {
            if (errno == EINTR) continue;
            return map_errno(errno);
        }
        if (n == 0) return ORFEAS_EIO;
        p += n;
        size -= (size_t)n;
    }
    return 0;
}

/* Directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    size_t len = (size_t)(slash - path);
    char *dir = malloc(len + 1);
    if (!dir) return NULL;
    memcpy(dir, path, len);
    dir[len] = '\0';
    return dir;
}

int orfeas_write_file_atomic(const char *path, const void *data, size_t size)
{
    if (!path || !*path || (size && !data)) return ORFEAS_EINVAL;
    size_t plen = strlen(path);
    static const char suffix[] = ".tmp.XXXXXX";
    char *tmp = malloc(plen + sizeof suffix);
    if (!tmp) return ORFEAS_ENOMEM;
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, suffix, sizeof suffix);

    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        ORFEAS_WARN("atomic write: cannot create temp file for %s: %s", path, strerror(e));
        free(tmp);
        return map_errno(e);
    }
    int rc = 0;
    const char *step = "write";
    /* mkstemp makes 0600; results are ordinary readable files. */
    if (fchmod(fd, 0644) != 0) {
        rc = map_errno(errno);
        step = "chmod";
    }
    if (!rc) rc = orfeas_write_all_fd_(fd, data, size);
    if (!rc && fsync(fd) != 0) {
        rc = map_errno(errno);
        step = "fsync";
    }
    /* close can report a deferred write error (NFS), so it is checked. */
    if (close(fd) != 0 && !rc) {
        rc = map_errno(errno);
        step = "close";
    }
    if (!rc && rename(tmp, path) != 0) {
        rc = map_errno(errno);
        step = "rename";
    }
    if (rc) {
        ORFEAS_WARN("atomic write: %s of %s failed: %s", step, path, orfeas_strerror(rc));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);

    char *dir = dir_of(path);
    if (!dir) return ORFEAS_ENOMEM;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        /* The file is already in place; a failing directory fsync only
         * weakens durability, so it is logged, not returned. */
        if (fsync(dfd) != 0)
            ORFEAS_WARN("atomic write: fsync of directory %s failed: %s", dir, strerror(errno));
        close(dfd);
    } else {
        ORFEAS_WARN("atomic write: cannot open directory %s: %s", dir, strerror(errno));
    }
    free(dir);
    return 0;
}
