/*
 * fsutil.h - directories the daemon creates or trusts.
 */
#ifndef PMIRRORD_FSUTIL_H
#define PMIRRORD_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Creates the directory `path` with exactly `mode` if it is missing.  Returns
 * 1 if it was created, 0 if a directory (or a symbolic link to one) was there
 * already, -1 with err filled otherwise.
 */
int pm_make_dir(const char *path, mode_t mode, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Checks every ancestor of the absolute `path` ("/", "/a", ... its parent,
 * not path itself) with lstat(): each must be a directory, not a symbolic
 * link, owned by root or by our effective uid, and writable by nobody else
 * unless it is sticky (like /tmp: nobody can rename what another user put
 * there).  Then nobody but root and us can replace a node below path.
 * Returns 0, or -1 with err naming the first offending directory.
 */
int pm_check_ancestors(const char *path, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * The strict form, for a file about to be opened: walks the directories of
 * the absolute `path` down from "/" with openat(O_PATH | O_DIRECTORY |
 * O_NOFOLLOW), each checked as above on what was opened, and a missing one is
 * an error ("... does not exist"): nobody can create it or swap it in between
 * the check and the use.  Returns a descriptor of path's parent (O_PATH, for
 * openat() and fstatat() of *base, the last component of path), or -1 with err
 * filled.
 */
int pm_open_parent(const char *path, const char **base, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
