/*
 * ctl_socket.c - the control socket's node in the file system, and the
 * group check of its peers (see ctl_socket.h).
 */
#include "ctl_socket.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <sys/un.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"
#include "pmirrord/fsutil.h"
#include "pmirrord/log.h"

#define LISTEN_BACKLOG 16

static int gid_in(gid_t g, const gid_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == g)
            return 1;
    return 0;
}

/*
 * Is the peer a member of the control group?  SO_PEERGROUPS (Linux 4.13) gives
 * the supplementary groups the peer had at connect(), like SO_PEERCRED does for
 * uid/gid: no race with the peer exiting.  Older kernels: the user database.
 */
int ctl_peer_in_group(int fd, const struct ucred *uc, gid_t gid)
{
    if (uc->gid == gid)
        return 1;
    gid_t stackbuf[64];
    socklen_t len = sizeof stackbuf;
    int in = 0;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, stackbuf, &len) == 0)
        return gid_in(gid, stackbuf, len / sizeof(gid_t));
    if (errno == ERANGE) {
        gid_t *groups = malloc(len);
        if (groups != NULL && getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0)
            in = gid_in(gid, groups, len / sizeof(gid_t));
        free(groups);
        return in;
    }
    if (errno != ENOPROTOOPT)
        return 0;
    /* no SO_PEERGROUPS: primary + supplementary groups from the user database */
    struct passwd pw, *res = NULL;
    char buf[4096];
    if (getpwuid_r(uc->uid, &pw, buf, sizeof buf, &res) != 0 || res == NULL)
        return 0;
    int n = 64;
    gid_t *gl = malloc((size_t)n * sizeof *gl);
    if (gl && getgrouplist(pw.pw_name, pw.pw_gid, gl, &n) < 0) {
        gid_t *g2 = realloc(gl, (size_t)n * sizeof *gl);
        if (g2 == NULL || getgrouplist(pw.pw_name, pw.pw_gid, g2, &n) < 0)
            n = 0;
        gl = g2 ? g2 : gl;
    }
    in = gl && gid_in(gid, gl, (size_t)n);
    free(gl);
    return in;
}

/* Removes `path` if it is a socket nobody listens on. */
static int clear_stale(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : pm_err(err, errlen, "%s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return pm_err(err, errlen, "%s exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return pm_err(err, errlen, "socket: %s", strerror(errno));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    int e = errno;
    close(fd);
    if (rc == 0)
        return pm_err(err, errlen, "%s: another server is listening on it", path);
    if (e != ECONNREFUSED && e != ENOENT)
        return pm_err(err, errlen, "%s: %s", path, strerror(e));
    if (unlink(path) < 0 && errno != ENOENT)
        return pm_err(err, errlen, "cannot remove stale %s: %s", path, strerror(errno));
    return 0;
}

/*
 * The socket's directory: created 0750 (group gid) if missing; an existing
 * one is left as it is, but only if nobody else could swap the socket node
 * in it for something else.  Its ancestors are checked the same way, sticky
 * directories like /tmp allowed (pmirrord/fsutil.h).
 */
static int make_dir(const char *path, int has_group, gid_t gid, char *err, size_t errlen)
{
    char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        return 0; /* socket in / */
    *slash = '\0';
    if (pm_check_ancestors(dir, err, errlen) < 0)
        return -1;
    int made = pm_make_dir(dir, 0750, err, errlen);
    if (made < 0)
        return -1;
    if (made) {
        if (has_group && chown(dir, (uid_t)-1, gid) < 0)
            return pm_err(err, errlen, "%s: %s", dir, strerror(errno));
        return 0;
    }
    struct stat st;
    if (lstat(dir, &st) < 0)
        return pm_err(err, errlen, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode) || (st.st_uid != 0 && st.st_uid != geteuid()) ||
        (st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return pm_err(err, errlen,
                      "%s: the control socket's directory must be a real directory owned by "
                      "root and writable by nobody else",
                      dir);
    return 0;
}

int ctl_sock_listen(const char *path, int has_group, gid_t gid, dev_t *dev, ino_t *ino, char *err,
                    size_t errlen)
{
    if (make_dir(path, has_group, gid, err, errlen) < 0 || clear_stale(path, err, errlen) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return pm_err(err, errlen, "socket: %s", strerror(errno));
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    /* bind() creates the node with 0777 & ~umask: set the final mode there,
     * so there is no window with a wider one.  The server thread does not
     * exist yet, so changing the process umask is safe here. */
    mode_t old = umask(has_group ? 0117 : 0177);
    int brc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int berr = errno;
    umask(old);
    if (brc < 0) {
        pm_err(err, errlen, "bind %s: %s", path, strerror(berr));
        close(fd);
        return -1;
    }
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode) ||
        (has_group && fchownat(AT_FDCWD, path, (uid_t)-1, gid, AT_SYMLINK_NOFOLLOW) < 0) ||
        listen(fd, LISTEN_BACKLOG) < 0) {
        pm_err(err, errlen, "%s: %s", path, strerror(errno));
        unlink(path);
        close(fd);
        return -1;
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
    return fd;
}
