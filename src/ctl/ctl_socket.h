/*
 * ctl_socket.h - internal: the control socket's file and its peers' groups
 * (used by ctl_server.c).
 */
#ifndef PMIRRORD_CTL_SOCKET_H
#define PMIRRORD_CTL_SOCKET_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/*
 * Creates the socket's directory if missing (0750, group gid if has_group),
 * removes a stale socket, binds, sets mode 0660 and group gid (0600 without a
 * group), listens.  Returns the non-blocking listening fd and the node's
 * identity (so that only our own node is unlinked later), or -1 with err
 * filled (and no node left behind).
 */
int ctl_sock_listen(const char *path, int has_group, gid_t gid, dev_t *dev, ino_t *ino, char *err,
                    size_t errlen);

/* Is the peer on fd (credentials uc) a member of group gid? */
int ctl_peer_in_group(int fd, const struct ucred *uc, gid_t gid);

#endif
