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

/*
 * Replaces dir/name with len octets of buf atomically: a new file in the same
 * directory (".NAME.tmp.PID.N", created O_EXCL | O_NOFOLLOW with `mode`),
 * written, fsync()ed, renamed over name, then the directory fsync()ed.  A
 * crash at any point leaves either the old file or the new one whole (a
 * stray temporary file at worst).  Returns 0, or -1 with err filled (the
 * temporary file removed).
 */
int pm_write_atomic(const char *dir, const char *name, const void *buf, size_t len, mode_t mode,
                    char *err, size_t errlen) __attribute__((warn_unused_result));
/* Tests: 1 makes the next pm_write_atomic() stop after writing its temporary
 * file, as if the process died there (the file is left, -1 returned). */
extern int pm_write_atomic_test_crash;

#endif
