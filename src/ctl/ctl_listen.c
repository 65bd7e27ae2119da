/*
 * ctl_listen.c - the control socket's node without a server (ctl_listen.h).
 */
#include "pmirrord/ctl_listen.h"

#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl_socket.h"
#include "pmirrord/errbuf.h"

int ctl_listen_open(struct ctl_listen *l, const char *path, const char *group, char *err,
                    size_t errlen)
{
    gid_t gid = 0;
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    if (strlen(path) >= sizeof(l->path))
        return pm_err(err, errlen, "control socket %s: path longer than %zu characters", path,
                      sizeof(l->path) - 1);
    if (group != NULL) {
        struct group gr, *res = NULL;
        char buf[4096];
        int rc = getgrnam_r(group, &gr, buf, sizeof(buf), &res);
        if (res == NULL)
            return pm_err(err, errlen, "controlGroup \"%s\": %s", group,
                          rc ? strerror(rc) : "no such group");
        gid = gr.gr_gid;
    }
    int fd = ctl_sock_listen(path, group != NULL, gid, &l->dev, &l->ino, err, errlen);
    if (fd < 0)
        return -1;
    l->fd = fd;
    snprintf(l->path, sizeof(l->path), "%s", path);
    return 0;
}

void ctl_listen_close(struct ctl_listen *l)
{
    struct stat st;
    if (l->fd < 0)
        return;
    close(l->fd);
    l->fd = -1;
    if (lstat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(l->path);
}
