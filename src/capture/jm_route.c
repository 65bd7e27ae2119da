/*
 * jm_route.c - the path MTU towards an analyzer from rtnetlink (jm_route.h).
 *
 * One NETLINK_ROUTE socket, opened before the sandbox; in it, the capture
 * process only send()s requests (no address: to the kernel) and recvmsg()s
 * the answers (docs/sandbox.md).  A query is RTM_GETROUTE with RTA_DST, the
 * way `ip route get` asks (rtnetlink(7)); the answer's RTA_METRICS/RTAX_MTU
 * is the path MTU when the route has one, else RTM_GETLINK of its RTA_OIF
 * gives the interface's IFLA_MTU.  With mirrorInterface the interface is
 * asked by name (IFLA_IFNAME) and its MTU is the answer for every analyzer.
 *
 * A query (one or two exchanges) waits at most JMR_WAIT_MS in all (poll);
 * messages of an earlier, abandoned exchange (another sequence number) are
 * skipped.  Answers, 0 (no route) included, are kept per destination for
 * JMR_CACHE_MS; when the cache is full the oldest entry is replaced.
 */
#include "pmirrord/jm_route.h"

#include "pmirrord/errbuf.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define JMR_BUF 16384

struct jmr_entry {
    int family; /* 0: free */
    uint8_t addr[16];
    unsigned mtu;
    int64_t at;
};

struct jm_route {
    int fd;
    uint32_t seq;
    char ifname[IFNAMSIZ];
    struct jmr_entry ifentry; /* mirrorInterface's answer */
    struct jmr_entry cache[JMR_CACHE_MAX];
    _Alignas(struct nlmsghdr) uint8_t buf[JMR_BUF];
};

/* What an exchange learnt. */
struct jmr_answer {
    int ok; /* a RTM_NEWROUTE / RTM_NEWLINK of ours was read */
    int oif;
    unsigned mtu;
};

struct jm_route *jm_route_new(const char *ifname, char *err, size_t errlen)
{
    if (ifname && strlen(ifname) >= IFNAMSIZ) {
        pm_err(err, errlen, "mirror route: interface name longer than %d octets", IFNAMSIZ - 1);
        return NULL;
    }
    struct jm_route *r = calloc(1, sizeof *r);
    if (r == NULL) {
        pm_err(err, errlen, "mirror route: out of memory");
        return NULL;
    }
    r->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
    if (r->fd < 0 || bind(r->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        pm_err(err, errlen, "mirror route: netlink socket: %s", strerror(errno));
        jm_route_free(r);
        return NULL;
    }
    if (ifname)
        memcpy(r->ifname, ifname, strlen(ifname) + 1);
    r->seq = (uint32_t)time(NULL);
    return r;
}

void jm_route_free(struct jm_route *r)
{
    if (r == NULL)
        return;
    if (r->fd >= 0)
        close(r->fd);
    free(r);
}

void jm_route_flush(struct jm_route *r)
{
    if (r == NULL)
        return;
    memset(r->cache, 0, sizeof r->cache);
    memset(&r->ifentry, 0, sizeof r->ifentry);
}

int jm_route_fd(const struct jm_route *r)
{
    return r ? r->fd : -1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void add_attr(struct nlmsghdr *h, unsigned short type, const void *data, size_t len)
{
    struct rtattr *a = (struct rtattr *)((uint8_t *)h + NLMSG_ALIGN(h->nlmsg_len));
    a->rta_type = type;
    a->rta_len = (unsigned short)RTA_LENGTH(len);
    memcpy(RTA_DATA(a), data, len);
    h->nlmsg_len = NLMSG_ALIGN(h->nlmsg_len) + RTA_ALIGN(a->rta_len);
}

/* The route's RTAX_MTU in a RTA_METRICS nest; 0 none. */
static unsigned metrics_mtu(const struct rtattr *nest)
{
    int len = (int)RTA_PAYLOAD(nest);
    for (const struct rtattr *a = RTA_DATA(nest); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == RTAX_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
            uint32_t v;
            memcpy(&v, RTA_DATA(a), sizeof v);
            return v;
        }
    return 0;
}

static void parse_route(const struct nlmsghdr *h, struct jmr_answer *ans)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct rtmsg)))
        return;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(struct rtmsg)));
    const struct rtmsg *rt = NLMSG_DATA(h);
    ans->ok = 1;
    for (const struct rtattr *a = RTM_RTA(rt); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (a->rta_type == RTA_OIF && RTA_PAYLOAD(a) >= sizeof(int))
            memcpy(&ans->oif, RTA_DATA(a), sizeof(int));
        else if (a->rta_type == RTA_METRICS)
            ans->mtu = metrics_mtu(a);
    }
}

static void parse_link(const struct nlmsghdr *h, struct jmr_answer *ans)
{
    if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(struct ifinfomsg)));
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    ans->ok = 1;
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t)) {
            uint32_t v;
            memcpy(&v, RTA_DATA(a), sizeof v);
            ans->mtu = v;
        }
}

/* Sends the request h and reads until its answer, an error or the deadline
 * (CLOCK_MONOTONIC ms, shared by the exchanges of one query).  0 with ans
 * filled, -1 nothing usable. */
static int exchange(struct jm_route *r, struct nlmsghdr *h, struct jmr_answer *ans,
                    int64_t deadline)
{
    memset(ans, 0, sizeof *ans);
    h->nlmsg_seq = ++r->seq;
    h->nlmsg_flags = NLM_F_REQUEST;
    /* answers of an exchange given up earlier may still be queued: skipped
     * below by their sequence number */
    if (send(r->fd, h, h->nlmsg_len, 0) != (ssize_t)h->nlmsg_len)
        return -1;
    for (;;) {
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return -1;
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        struct sockaddr_nl from;
        struct iovec iov = {r->buf, sizeof r->buf};
        struct msghdr msg = {
            .msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        ssize_t got = recvmsg(r->fd, &msg, 0);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == ENOBUFS)
                continue;
            return -1;
        }
        if (msg.msg_namelen < sizeof from || from.nl_pid != 0 || (msg.msg_flags & MSG_TRUNC))
            continue; /* not the kernel's, or cut: not trusted */
        int len = (int)got;
        int done = 0;
        for (struct nlmsghdr *m = (struct nlmsghdr *)r->buf; NLMSG_OK(m, len);
             m = NLMSG_NEXT(m, len)) {
            if (m->nlmsg_seq != h->nlmsg_seq)
                continue; /* stale */
            if (m->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(m);
                if (m->nlmsg_len < NLMSG_LENGTH(sizeof *e) || e->error != 0)
                    return -1; /* no route (ENETUNREACH...), no such link (ENODEV) */
                done = 1;
            } else if (m->nlmsg_type == NLMSG_DONE) {
                done = 1;
            } else if (m->nlmsg_type == RTM_NEWROUTE) {
                parse_route(m, ans);
                done = 1;
            } else if (m->nlmsg_type == RTM_NEWLINK) {
                parse_link(m, ans);
                done = 1;
            }
        }
        if (done)
            return ans->ok ? 0 : -1;
    }
}

/* The MTU of a link by index (ifname NULL) or by name; 0 unknown. */
static unsigned link_mtu(struct jm_route *r, int ifindex, const char *ifname, int64_t deadline)
{
    union {
        struct nlmsghdr h;
        uint8_t b[NLMSG_SPACE(sizeof(struct ifinfomsg)) + RTA_SPACE(IFNAMSIZ)];
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req.h.nlmsg_type = RTM_GETLINK;
    struct ifinfomsg *ifi = NLMSG_DATA(&req.h);
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = ifindex;
    if (ifname)
        add_attr(&req.h, IFLA_IFNAME, ifname, strlen(ifname) + 1);
    struct jmr_answer ans;
    if (exchange(r, &req.h, &ans, deadline) < 0)
        return 0;
    return ans.mtu;
}

static unsigned route_mtu(struct jm_route *r, const struct trig_analyzer *a, int64_t deadline)
{
    union {
        struct nlmsghdr h;
        uint8_t b[NLMSG_SPACE(sizeof(struct rtmsg)) + RTA_SPACE(16)];
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg));
    req.h.nlmsg_type = RTM_GETROUTE;
    struct rtmsg *rt = NLMSG_DATA(&req.h);
    size_t alen = a->family == 6 ? 16 : 4;
    rt->rtm_family = a->family == 6 ? AF_INET6 : AF_INET;
    rt->rtm_dst_len = (unsigned char)(alen * 8);
    add_attr(&req.h, RTA_DST, a->addr, alen);
    struct jmr_answer ans;
    if (exchange(r, &req.h, &ans, deadline) < 0)
        return 0;
    if (ans.mtu != 0)
        return ans.mtu;
    return ans.oif > 0 ? link_mtu(r, ans.oif, NULL, deadline) : 0;
}

static int fresh(const struct jmr_entry *e, int64_t now_ms)
{
    return e->family != 0 && now_ms - e->at >= 0 && now_ms - e->at < JMR_CACHE_MS;
}

unsigned jm_route_mtu(struct jm_route *r, const struct trig_analyzer *a, int64_t now_ms)
{
    if (r == NULL || a == NULL || (a->family != 4 && a->family != 6))
        return 0;
    if (r->ifname[0] != '\0') {
        if (!fresh(&r->ifentry, now_ms)) {
            r->ifentry.mtu = link_mtu(r, 0, r->ifname, mono_ms() + JMR_WAIT_MS);
            r->ifentry.family = 1;
            r->ifentry.at = now_ms;
        }
        return r->ifentry.mtu;
    }
    size_t alen = a->family == 6 ? 16 : 4;
    struct jmr_entry *slot = NULL;
    for (size_t i = 0; i < JMR_CACHE_MAX; i++) {
        struct jmr_entry *e = &r->cache[i];
        if (e->family == a->family && memcmp(e->addr, a->addr, alen) == 0) {
            if (fresh(e, now_ms))
                return e->mtu;
            slot = e;
            break;
        }
        if (slot == NULL || (slot->family != 0 && (e->family == 0 || e->at < slot->at)))
            slot = e;
    }
    unsigned mtu = route_mtu(r, a, mono_ms() + JMR_WAIT_MS); /* both exchanges within it */
    memset(slot, 0, sizeof *slot);
    slot->family = a->family;
    memcpy(slot->addr, a->addr, alen);
    slot->mtu = mtu;
    slot->at = now_ms;
    return mtu;
}
