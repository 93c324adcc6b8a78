/* File-system helpers shared by the stores (results, jobs, cache). */
#ifndef ORFEAS_CORE_FS_H
#define ORFEAS_CORE_FS_H

/* mkdir -p (mode 0755): 0, or the errno of the step that failed
 * (ENAMETOOLONG for a path over 1 KiB). */
int orfeas_mkdir_p(const char *path);

#endif
