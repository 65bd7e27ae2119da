/*
 * fsutil.c - directories the daemon creates or trusts (see pmirrord/fsutil.h).
 */
#include "pmirrord/fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

int pm_make_dir(const char *path, mode_t mode, char *err, size_t errlen)
{
    struct stat st;
    if (mkdir(path, mode) == 0) {
        /* mkdir() applies the umask: set the mode asked for */
        if (chmod(path, mode) < 0)
            return pm_err(err, errlen, "%s: %s", path, strerror(errno));
        return 1;
    }
    if (errno != EEXIST)
        return pm_err(err, errlen, "cannot create %s: %s", path, strerror(errno));
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return pm_err(err, errlen, "%s is not a directory", path);
    return 0;
}

/* Whether st, the directory dir, is one only root or we can change. */
static int check_stat(const char *dir, const struct stat *st, char *err, size_t errlen)
{
    if (S_ISLNK(st->st_mode))
        return pm_err(err, errlen, "%s is a symbolic link: give the real path", dir);
    if (!S_ISDIR(st->st_mode))
        return pm_err(err, errlen, "%s is not a directory", dir);
    if (st->st_uid != 0 && st->st_uid != geteuid())
        return pm_err(err, errlen, "%s is owned by uid %u, not by root or uid %u", dir,
                      (unsigned)st->st_uid, (unsigned)geteuid());
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st->st_mode & S_ISVTX) == 0)
        return pm_err(err, errlen, "%s is writable by group or others (and not sticky)", dir);
    return 0;
}

static int check_one(const char *dir, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return errno == ENOENT ? 0 : pm_err(err, errlen, "%s: %s", dir, strerror(errno));
    return check_stat(dir, &st, err, errlen);
}

int pm_check_ancestors(const char *path, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    if (path[0] != '/' || strlen(path) >= sizeof dir)
        return pm_err(err, errlen, "%s: not an absolute path", path);
    if (check_one("/", err, errlen) < 0)
        return -1;
    snprintf(dir, sizeof dir, "%s", path);
    /* each prefix that ends before a '/' (other than the leading one) */
    for (char *p = dir + 1; (p = strchr(p, '/')) != NULL; p++) {
        if (p[-1] == '/')
            continue; /* "//" */
        *p = '\0';
        const char *last = strrchr(dir, '/') + 1;
        int rc = strcmp(last, "..") == 0
                     ? pm_err(err, errlen, "%s: \"..\" is not allowed in this path", path)
                     : check_one(dir, err, errlen);
        *p = '/';
        if (rc < 0)
            return -1;
    }
    return 0;
}

int pm_open_parent(const char *path, const char **base, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    struct stat st;
    if (path[0] != '/' || strlen(path) >= sizeof dir)
        return pm_err(err, errlen, "%s: not an absolute path", path);
    const char *last = strrchr(path, '/') + 1;
    if (*last == '\0' || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
        return pm_err(err, errlen, "%s: does not name a file", path);
    int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return pm_err(err, errlen, "/: %s", strerror(errno));
    if (fstat(fd, &st) < 0 ? pm_err(err, errlen, "/: %s", strerror(errno))
                           : check_stat("/", &st, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    /* Down from "/", one component at a time, each opened relative to the one
     * checked before it and checked on what was opened: nothing can be swapped
     * in between the check and the use. */
    snprintf(dir, sizeof dir, "%s", path);
    char *name = dir + 1;
    for (char *p; (p = strchr(name, '/')) != NULL; name = p + 1) {
        if (p == name)
            continue; /* "//" */
        *p = '\0';
        int rc = 0, next = -1;
        if (strcmp(name, "..") == 0)
            rc = pm_err(err, errlen, "%s: \"..\" is not allowed in this path", path);
        else if ((next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
            int e = errno;
            if (e == ENOENT)
                rc = pm_err(err, errlen, "%s does not exist", dir);
            else if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
                rc = check_stat(dir, &st, err, errlen); /* a link, not a directory */
            if (rc == 0)
                rc = pm_err(err, errlen, "%s: %s", dir, strerror(e));
        } else if (fstat(next, &st) < 0)
            rc = pm_err(err, errlen, "%s: %s", dir, strerror(errno));
        else
            rc = check_stat(dir, &st, err, errlen);
        *p = '/';
        close(fd);
        fd = next;
        if (rc < 0) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
    }
    *base = last;
    return fd;
}

int pm_write_atomic_test_crash;

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int pm_write_atomic(const char *dir, const char *name, const void *buf, size_t len, mode_t mode,
                    char *err, size_t errlen)
{
    static unsigned seq;
    char tmp[NAME_MAX + 1];
    int fd = -1, e;
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return pm_err(err, errlen, "%s: %s", dir, strerror(errno));
    for (int tries = 0; fd < 0 && tries < 100; tries++) {
        if (snprintf(tmp, sizeof(tmp), ".%s.tmp.%ld.%u", name, (long)getpid(), seq++) >=
            (int)sizeof(tmp)) {
            close(dfd);
            return pm_err(err, errlen, "%s/%s: name too long", dir, name);
        }
        fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        e = errno;
        close(dfd);
        return pm_err(err, errlen, "cannot create a file in %s: %s", dir, strerror(e));
    }
    if (fchmod(fd, mode) < 0 || write_all(fd, buf, len) < 0 || fsync(fd) < 0)
        goto fail;
    if (pm_write_atomic_test_crash) {
        pm_write_atomic_test_crash = 0;
        close(fd);
        close(dfd);
        return pm_err(err, errlen, "%s/%s: stopped before the rename (test)", dir, name);
    }
    if (close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (renameat(dfd, tmp, dfd, name) < 0)
        goto fail;
    if (fsync(dfd) < 0) { /* renamed: the new file stands; only its durability is in doubt */
        e = errno;
        close(dfd);
        return pm_err(err, errlen, "%s: fsync: %s", dir, strerror(e));
    }
    close(dfd);
    return 0;
fail:
    e = errno;
    if (fd >= 0)
        close(fd);
    unlinkat(dfd, tmp, 0);
    close(dfd);
    return pm_err(err, errlen, "%s/%s: %s", dir, name, strerror(e));
}
