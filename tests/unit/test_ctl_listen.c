/*
 * test_ctl_listen.c - the control socket bound without a server
 * (src/ctl/ctl_listen.c): mode 0600 without a group, a client connects on the
 * listening descriptor, a second bind while it listens is refused, close
 * unlinks only our own node.
 */
#include "pmirrord/ctl_listen.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static int dial(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    CHECK(strlen(path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = errno;
    if (rc < 0) {
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int main(void)
{
    char dir[] = "/tmp/test_ctl_listen.XXXXXX", path[128], err[512];
    struct ctl_listen l, l2;
    struct stat st;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/run/ctl.sock", dir);

    CHECK(ctl_listen_open(&l, path, NULL, err, sizeof(err)) == 0);
    CHECK(l.fd >= 0 && lstat(path, &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK((st.st_mode & 0777) == 0600);
    int c = dial(path);
    CHECK(c >= 0);
    int a = accept(l.fd, NULL, NULL);
    CHECK(a >= 0);
    close(a);
    close(c);

    CHECK(ctl_listen_open(&l2, path, NULL, err, sizeof(err)) == -1);
    CHECK(strstr(err, "another server is listening") != NULL);
    CHECK(ctl_listen_open(&l2, path, "no-such-group-pm", err, sizeof(err)) == -1);
    CHECK(strstr(err, "controlGroup") != NULL);

    ctl_listen_close(&l);
    CHECK(l.fd == -1 && lstat(path, &st) == -1 && errno == ENOENT);
    ctl_listen_close(&l); /* twice: nothing */

    /* a node that is no longer ours stays */
    CHECK(ctl_listen_open(&l, path, NULL, err, sizeof(err)) == 0);
    CHECK(unlink(path) == 0);
    CHECK(ctl_listen_open(&l2, path, NULL, err, sizeof(err)) == 0);
    ctl_listen_close(&l);
    CHECK(lstat(path, &st) == 0);
    ctl_listen_close(&l2);
    CHECK(lstat(path, &st) == -1);

    snprintf(path, sizeof(path), "%s/run", dir);
    rmdir(path);
    rmdir(dir);
    printf("test_ctl_listen: OK\n");
    return 0;
}
