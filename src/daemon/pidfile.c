/*
 * pidfile.c - the pidfile and instance lock (see pidfile.h).
 */
#include "pidfile.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"
#include "pmirrord/fsutil.h"

/*
 * The pidfile is written by root, at a path the operator chose: never follow
 * a symbolic link, never write into anything but a regular file (O_NONBLOCK:
 * a FIFO must not hang us).
 * Scripts stop the daemon by signalling the PID in it, as root: whoever can
 * change that file can have any process signalled.  So
 *  - its directories must pass pm_open_parent() (fsutil.h): each exists, is
 *    no symbolic link, is owned by root or us, and is writable by nobody else
 *    unless sticky; the file is opened in the directory so checked (openat);
 *  - the file must be ours (st_uid == geteuid()), not group- or
 *    other-writable, and have no other name (st_nlink == 1): a file someone
 *    else created, or a hard link to one, is refused rather than reused.
 * Not create-under-a-temporary-name-and-rename(): the lock below must be on
 * the inode the path names.  A second daemon that renamed its own file over
 * the path would lock a fresh inode and never see the first one's lock, so
 * two instances could run.  The file is reused in place instead, and these
 * checks make sure that nobody else can write it.
 *
 * It is also the instance lock: flock(2) on it is held for the daemon's
 * lifetime (the descriptor stays open), so a second pmirrord with the same
 * pidfile refuses to start before it touches anything, and a stale file left
 * by a killed daemon is simply taken over.  At exit it is removed only if the
 * path still names our file and the file still holds our PID.
 */
static struct {
    int fd;
    char path[PATH_MAX];
} pidf = {-1, ""};

/* The PID written in the file open on fd, or 0. */
static long pidfile_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/* Whether st, the pidfile at path, is one that only we can write. */
static int pidfile_trusted(const char *path, const struct stat *st, char *err, size_t errlen)
{
    if (!S_ISREG(st->st_mode))
        return pm_err(err, errlen, "pidfile %.512s is not a regular file", path);
    if (st->st_uid != geteuid())
        return pm_err(err, errlen,
                      "pidfile %.512s is owned by uid %u, not by uid %u (pmirrord's): its "
                      "owner could write any PID into it; remove it, or give -p a path in "
                      "a directory only root or uid %u can write",
                      path, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)geteuid());
    if (st->st_nlink != 1)
        return pm_err(err, errlen,
                      "pidfile %.512s has %lu links: another name for the file would keep the "
                      "PID written; remove it",
                      path, (unsigned long)st->st_nlink);
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return pm_err(err, errlen,
                      "pidfile %.512s is writable by group or others (mode %04o); remove it", path,
                      (unsigned)(st->st_mode & 07777));
    return 0;
}

int pidfile_write(const char *path, char *err, size_t errlen)
{
    char why[600];
    struct stat st;
    const char *base;
    int dirfd = pm_open_parent(path, &base, why, sizeof(why));
    if (dirfd < 0)
        return pm_err(err, errlen, "pidfile %.512s: %s", path, why);
    /* Refused before open(): O_CREAT on another user's file in a sticky
     * directory may fail with a bare EACCES (fs.protected_regular). */
    if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode) &&
        pidfile_trusted(path, &st, err, errlen) < 0) {
        close(dirfd);
        return -1;
    }
    /* In the directory checked, not at the path again: it cannot have been
     * created or swapped in since. */
    int fd = openat(dirfd, base, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    int open_errno = errno;
    close(dirfd);
    errno = open_errno;
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(err, errlen, "pidfile %.512s is a symbolic link; refusing to write through it",
                     path);
        else
            snprintf(err, errlen, "cannot write pidfile %.512s: %s", path, strerror(errno));
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    /* Again on what was opened: the path may have changed since lstat(). */
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "pidfile %.512s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (pidfile_trusted(path, &st, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        long other = pidfile_pid(fd);
        close(fd);
        if (e != EWOULDBLOCK) {
            snprintf(err, errlen, "cannot lock pidfile %.512s: %s", path, strerror(e));
            return -1;
        }
        if (other > 0)
            snprintf(err, errlen,
                     "pidfile %.512s is locked by a running pmirrord, PID %ld; stop it first "
                     "(kill %ld), or give this one another -p PIDFILE and its own "
                     "controlSocket and persistentDir",
                     path, other, other);
        else
            snprintf(err, errlen,
                     "pidfile %.512s is locked by another running pmirrord; stop it first or "
                     "give this one another -p PIDFILE and its own controlSocket and "
                     "persistentDir",
                     path);
        return -1;
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write pidfile %.512s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    pidf.fd = fd;
    snprintf(pidf.path, sizeof(pidf.path), "%s", path);
    return 0;
}

/* Remove the pidfile if it is still ours, then drop the lock. */
void pidfile_remove(void)
{
    struct stat ours, now;
    if (pidf.fd < 0)
        return;
    if (fstat(pidf.fd, &ours) == 0 && lstat(pidf.path, &now) == 0 && ours.st_dev == now.st_dev &&
        ours.st_ino == now.st_ino && pidfile_pid(pidf.fd) == (long)getpid())
        unlink(pidf.path);
    close(pidf.fd);
    pidf.fd = -1;
}
