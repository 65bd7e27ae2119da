/*
 * test_fsutil.c - pm_open_parent(): a path is opened only below directories
 * that exist and that only root or we can change.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/fsutil.h"

static char err[1024];

/* pm_open_parent(path): the descriptor (closed) or -1; *base checked */
static int try_open(const char *path, const char *want_base)
{
    const char *base = NULL;
    err[0] = '\0';
    int fd = pm_open_parent(path, &base, err, sizeof(err));
    if (fd >= 0) {
        CHECK(base != NULL && strcmp(base, want_base) == 0);
        close(fd);
    }
    return fd;
}

int main(void)
{
    char top[] = "/tmp/pm_fsutil_XXXXXX", path[PATH_MAX], other[PATH_MAX];
    CHECK(mkdtemp(top) != NULL);
    CHECK(chmod(top, 0700) == 0);

    /* a file in an existing trusted directory: the parent is opened */
    snprintf(path, sizeof(path), "%s/x.pid", top);
    CHECK(try_open(path, "x.pid") >= 0);
    snprintf(path, sizeof(path), "%s//x.pid", top);
    CHECK(try_open(path, "x.pid") >= 0);

    /* a missing directory is an error: somebody could create it in between */
    snprintf(path, sizeof(path), "%s/missing/x.pid", top);
    CHECK(try_open(path, "x.pid") < 0);
    snprintf(other, sizeof(other), "%s/missing does not exist", top);
    CHECK(strstr(err, other) != NULL);
    /* and so is a missing one further up, named as the first missing */
    snprintf(path, sizeof(path), "%s/missing/deeper/x.pid", top);
    CHECK(try_open(path, "x.pid") < 0);
    CHECK(strstr(err, other) != NULL);
    /* the lenient check still lets a missing directory through (the control
     * socket's, which is then created) */
    CHECK(pm_check_ancestors(path, err, sizeof(err)) == 0);

    /* group-writable, not sticky */
    snprintf(path, sizeof(path), "%s/gw", top);
    CHECK(mkdir(path, 0700) == 0 && chmod(path, 0770) == 0);
    snprintf(path, sizeof(path), "%s/gw/x.pid", top);
    CHECK(try_open(path, "x.pid") < 0);
    CHECK(strstr(err, "writable by group or others") != NULL);
    /* sticky: allowed, like /tmp */
    snprintf(path, sizeof(path), "%s/gw", top);
    CHECK(chmod(path, 01777) == 0);
    snprintf(path, sizeof(path), "%s/gw/x.pid", top);
    CHECK(try_open(path, "x.pid") >= 0);

    /* a symbolic link to a directory */
    snprintf(path, sizeof(path), "%s/link", top);
    CHECK(symlink(top, path) == 0);
    snprintf(path, sizeof(path), "%s/link/x.pid", top);
    CHECK(try_open(path, "x.pid") < 0);
    CHECK(strstr(err, "symbolic link") != NULL);

    /* a file where a directory should be */
    snprintf(path, sizeof(path), "%s/file", top);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    CHECK(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/file/x.pid", top);
    CHECK(try_open(path, "x.pid") < 0);
    CHECK(strstr(err, "not a directory") != NULL);

    /* "..", relative paths, no file name */
    snprintf(path, sizeof(path), "%s/gw/../x.pid", top);
    CHECK(try_open(path, "x.pid") < 0);
    CHECK(strstr(err, "\"..\" is not allowed") != NULL);
    CHECK(try_open("x.pid", "x.pid") < 0);
    snprintf(path, sizeof(path), "%s/", top);
    CHECK(try_open(path, "") < 0);

    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
    CHECK(system(cmd) == 0);
    return 0;
}
