/*
 * ctl_listen.h - the control socket's listening node, bound without a
 * server: the monitor binds it as root (docs/process-model.md) and hands the
 * descriptor to the agent, whose ctl_server serves it.  The node is made as
 * ctl_server_start() makes it (ctl_socket.c: directory 0750, mode 0660 and
 * group controlGroup, 0600 without one; a stale node replaced, a live one
 * refused).
 */
#ifndef PMIRRORD_CTL_LISTEN_H
#define PMIRRORD_CTL_LISTEN_H

#include <stddef.h>
#include <sys/types.h>

struct ctl_listen {
    int fd; /* listening, non-blocking, close-on-exec; -1 when closed */
    dev_t dev;
    ino_t ino;
    char path[108];
};

/* Binds and listens at path; group (may be NULL) is admitted by the node's
 * mode.  0, or -1 with one sentence in err (no node left behind). */
int ctl_listen_open(struct ctl_listen *l, const char *path, const char *group, char *err,
                    size_t errlen) __attribute__((warn_unused_result));
/* Closes the descriptor and unlinks the node if it is still ours (not one
 * a newer instance has put there). */
void ctl_listen_close(struct ctl_listen *l);

#endif
