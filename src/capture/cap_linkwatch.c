/*
 * cap_linkwatch.c - rtnetlink link notifications (cap_linkwatch.h).
 *
 * RTM_NEWLINK comes for a new interface and for every change of an existing
 * one (flags, MTU, name); RTM_DELLINK when it is deleted, with its last name
 * and index (rtnetlink(7)).  Messages are batched into one datagram of
 * several nlmsghdr; IFLA_IFNAME is the only attribute read.  A message from
 * anything but the kernel (nl_pid != 0) is ignored.
 */
#include "pmirrord/cap_linkwatch.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

#define LW_RCVBUF (256 * 1024)

struct cap_linkwatch {
    int fd;
    /* 8 KiB is NLMSG_GOODSIZE on 4 KiB pages; aligned for nlmsghdr. */
    union {
        struct nlmsghdr nh;
        char buf[8192];
    } u;
};

struct cap_linkwatch *cap_linkwatch_open(char *err, size_t errlen)
{
    struct cap_linkwatch *lw = calloc(1, sizeof(*lw));
    if (lw == NULL) {
        pm_err(err, errlen, "link watcher: out of memory");
        return NULL;
    }
    lw->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (lw->fd < 0) {
        pm_err(err, errlen, "link watcher: netlink socket: %s", strerror(errno));
        free(lw);
        return NULL;
    }
    int sz = LW_RCVBUF;
    (void)setsockopt(lw->fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)); /* best effort */
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
    if (bind(lw->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        pm_err(err, errlen, "link watcher: binding to RTMGRP_LINK: %s", strerror(errno));
        close(lw->fd);
        free(lw);
        return NULL;
    }
    return lw;
}

void cap_linkwatch_free(struct cap_linkwatch *lw)
{
    if (lw == NULL)
        return;
    close(lw->fd);
    free(lw);
}

int cap_linkwatch_fd(const struct cap_linkwatch *lw)
{
    return lw->fd;
}

static int one_link(struct nlmsghdr *nh, cap_link_fn fn, void *arg)
{
    if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return 0;
    struct ifinfomsg *ifi = NLMSG_DATA(nh);
    char name[IF_NAMESIZE] = "";
    int len = (int)(nh->nlmsg_len - NLMSG_LENGTH(sizeof(*ifi)));
    for (struct rtattr *rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
        if (rta->rta_type != IFLA_IFNAME)
            continue;
        size_t n = RTA_PAYLOAD(rta);
        if (n == 0 || n > IF_NAMESIZE)
            return 0;
        memcpy(name, RTA_DATA(rta), n);
        name[n - 1] = '\0';
    }
    if (name[0] == '\0' || ifi->ifi_index <= 0)
        return 0;
    fn(arg, nh->nlmsg_type == RTM_NEWLINK ? CAP_LINK_NEW : CAP_LINK_DEL, (unsigned)ifi->ifi_index,
       name, ifi->ifi_flags);
    return 1;
}

int cap_linkwatch_read(struct cap_linkwatch *lw, cap_link_fn fn, void *arg, char *err,
                       size_t errlen)
{
    int count = 0;

    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {lw->u.buf, sizeof(lw->u.buf)};
        struct msghdr msg = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n = recvmsg(lw->fd, &msg, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return count;
            if (errno == ENOBUFS) {
                fn(arg, CAP_LINK_RESYNC, 0, NULL, 0);
                count++;
                continue;
            }
            return pm_err(err, errlen, "link watcher: recvmsg: %s", strerror(errno));
        }
        if (from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
            continue;
        int left = (int)n;
        for (struct nlmsghdr *nh = &lw->u.nh; NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
            if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
                count += one_link(nh, fn, arg);
        }
    }
}
