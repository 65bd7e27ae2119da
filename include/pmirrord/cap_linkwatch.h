/*
 * cap_linkwatch.h - rtnetlink link notifications (RTM_NEWLINK, RTM_DELLINK)
 * for the capture sources: an interface that appears, is re-created or is
 * deleted (rtnetlink(7), RTMGRP_LINK).
 *
 * One NETLINK_ROUTE socket, opened by cap_linkwatch_open() (no capability
 * needed), non-blocking; the caller polls cap_linkwatch_fd() and calls
 * cap_linkwatch_read(), which hands each link message to the callback.  If
 * the kernel dropped notifications (ENOBUFS on a full socket buffer), the
 * callback gets CAP_LINK_RESYNC once, with no name: check every source.
 * No thread; system calls: socket, bind, setsockopt(SO_RCVBUF), recvmsg, close.
 */
#ifndef PMIRRORD_CAP_LINKWATCH_H
#define PMIRRORD_CAP_LINKWATCH_H

#include <stddef.h>

#include "pmirrord/cap_source.h"

struct cap_linkwatch;

/* ifname NULL for CAP_LINK_RESYNC; ifflags are IFF_* of ifinfomsg. */
typedef void (*cap_link_fn)(void *arg, enum cap_link what, unsigned ifindex, const char *ifname,
                            unsigned ifflags);

struct cap_linkwatch *cap_linkwatch_open(char *err, size_t errlen);
void cap_linkwatch_free(struct cap_linkwatch *lw);
int cap_linkwatch_fd(const struct cap_linkwatch *lw);
/* Reads what is queued.  Returns the number of link messages handed over, or
 * -1 with err on a socket error other than EAGAIN/ENOBUFS. */
int cap_linkwatch_read(struct cap_linkwatch *lw, cap_link_fn fn, void *arg, char *err,
                       size_t errlen);

#endif
