/*
 * jm_sock.c - the jmirror sender's sockets (jm_send.h, docs/jmirror.md
 * "Sockets and the sandbox"), opened by the unprivileged capture process
 * before its sandbox is installed.
 *
 * Per family: a fallback socket on an ephemeral port first (on mirrorSource
 * when set: it is also where an unusable mirrorSource is found), then one
 * socket per analyzer port (JM_DEFAULT_PORT first, then the configured
 * ones, without duplicates, at most JM_PORTS_MAX), bound to that port so the
 * UDP source port equals the destination port.  SO_REUSEADDR is not set: a
 * port another socket holds is not shared, its datagrams leave from the
 * fallback socket, and that is said once.  Ports below 1024 need a
 * privilege the process does not have: not tried, they fall back too.
 *
 * Options of every socket, before bind: SO_SNDBUF (asked; the kernel caps
 * it at net.core.wmem_max), TTL or hop limit 255, the DSCP (IP_TOS or
 * IPV6_TCLASS, DSCP in the six high bits) when mirrorDscp is set, path MTU
 * discovery off (IP_PMTUDISC_DONT: a datagram larger than the path MTU is
 * fragmented by the kernel, never refused), IP_RECVERR (ICMP errors queued
 * on the socket's error queue with the original destination), IPV6_V6ONLY,
 * SO_BINDTODEVICE mirrorInterface (allowed without privilege on a socket not
 * yet bound to a device, Linux 5.7 and later).
 *
 * The sockets are never read but for their error queues, yet a bound port
 * (0.0.0.0:30030) receives what anyone sends to it: a drop-all classic BPF
 * filter (SO_ATTACH_FILTER, `ret #0`, locked: SO_LOCK_FILTER) and a small
 * SO_RCVBUF (JM_RCVBUF), before bind, so that no datagram is ever queued on
 * them.  ICMP errors (IP_RECVERR) still reach the error queue: the kernel
 * queues them without the socket filter, into the receive buffer's room
 * (read each time the socket polls POLLERR).  Either option failing is an
 * error: without them anyone could fill every socket's receive buffer with
 * datagrams nobody reads (kernel memory, rmem_default each).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "jm_priv.h"
#include "pmirrord/errbuf.h"

#define JM_SNDBUF (4 << 20)
#define JM_TTL    255
/* Asked (the kernel doubles it): room for the error queue alone, a few ICMP
 * errors as a NIC receives them (truesize up to about 5 KiB), not the
 * kernel's smallest (2304: one error from a NIC with 4 KiB buffers would not
 * fit and be dropped, IP_RECVERR then useless). */
#define JM_RCVBUF 16384

static int fam_af(int family)
{
    return family == 4 ? AF_INET : AF_INET6;
}

static const char *src_text(const struct jm_opts *o, int family, char *buf, size_t len)
{
    if (inet_ntop(fam_af(family), family == 4 ? (const void *)o->src4 : (const void *)o->src6, buf,
                  (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

/* The options of every socket (the file's comment).  -1 with err. */
static int sock_options(const struct jm_opts *o, int fd, int family, char *err, size_t errlen)
{
    int buf = JM_SNDBUF, rbuf = JM_RCVBUF, one = 1, ttl = JM_TTL;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    /* never read: nothing received is queued (the file's comment) */
    struct sock_filter drop_all[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
    struct sock_fprog prog = {1, drop_all};
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_LOCK_FILTER, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rbuf, sizeof(rbuf)) < 0)
        return pm_err(err, errlen, "jmirror: IPv%d socket receive filter: %s", family,
                      strerror(errno));
    int rc;
    if (family == 4) {
        int pmtu = IP_PMTUDISC_DONT;
        rc = setsockopt(fd, IPPROTO_IP, IP_TTL, &ttl, sizeof(ttl));
        if (rc == 0)
            rc = setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
        if (rc == 0)
            rc = setsockopt(fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
        if (rc == 0 && o->dscp >= 0) {
            int tos = (o->dscp & 0x3f) << 2;
            rc = setsockopt(fd, IPPROTO_IP, IP_TOS, &tos, sizeof(tos));
        }
    } else {
        int pmtu = IPV6_PMTUDISC_DONT;
        rc = setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (rc == 0)
            rc = setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &ttl, sizeof(ttl));
        if (rc == 0)
            rc = setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
        if (rc == 0)
            rc = setsockopt(fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
        if (rc == 0 && o->dscp >= 0) {
            int tc = (o->dscp & 0x3f) << 2;
            rc = setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &tc, sizeof(tc));
        }
    }
    if (rc < 0)
        return pm_err(err, errlen, "jmirror: IPv%d socket options: %s", family, strerror(errno));
    if (o->ifname[0] != '\0' &&
        setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, o->ifname, (socklen_t)strlen(o->ifname)) < 0)
        return pm_err(err, errlen, "jmirror: mirrorInterface %s cannot be used: %s", o->ifname,
                      strerror(errno));
    return 0;
}

/* Binds fd to mirrorSource of its family (else the wildcard) and port.
 * 0, or the errno. */
static int sock_bind(const struct jm_opts *o, int fd, int family, uint16_t port)
{
    union jm_addr a;
    socklen_t sl;
    memset(&a, 0, sizeof(a));
    if (family == 4) {
        a.in.sin_family = AF_INET;
        a.in.sin_port = htons(port);
        if (o->has_src4)
            memcpy(&a.in.sin_addr, o->src4, 4);
        sl = sizeof(a.in);
    } else {
        a.in6.sin6_family = AF_INET6;
        a.in6.sin6_port = htons(port);
        if (o->has_src6) {
            memcpy(&a.in6.sin6_addr, o->src6, 16);
            if (IN6_IS_ADDR_LINKLOCAL(&a.in6.sin6_addr) && o->ifname[0] != '\0')
                a.in6.sin6_scope_id = if_nametoindex(o->ifname);
        }
        sl = sizeof(a.in6);
    }
    return bind(fd, &a.sa, sl) < 0 ? errno : 0;
}

/* Can the kernel segment a datagram sent on fd (UDP_SEGMENT, Linux 4.18)?  A
 * socket-wide size of 0 leaves every send unsegmented but for a cmsg. */
static int gso_probe(struct jm_sender *s, int fd)
{
    if (!s->o.gso)
        return 0; /* mirrorGso off (the default): not asked, not counted */
    int zero = 0;
    if (setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof(zero)) == 0)
        return 1;
    s->st.gso_off++;
    return 0;
}

static int add_sock(struct jm_sender *s, int fd, int family, uint16_t port, int fallback)
{
    s->socks[s->nsocks] = (struct jm_sock){fd, family, port, fallback, gso_probe(s, fd)};
    return (int)s->nsocks++;
}

/* The family's fallback socket.  1 opened, 0 the family is not there (no
 * mirrorSource of it asked), -1 with err. */
static int open_fallback(struct jm_sender *s, int family, char *err, size_t errlen)
{
    const struct jm_opts *o = &s->o;
    int has_src = family == 4 ? o->has_src4 : o->has_src6;
    char a[INET6_ADDRSTRLEN];
    int fd = socket(fam_af(family), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        if (!has_src)
            return 0; /* a kernel without IPv6 */
        return pm_err(err, errlen, "jmirror: mirrorSource %s cannot be used: %s",
                      src_text(o, family, a, sizeof(a)), strerror(errno));
    }
    if (sock_options(o, fd, family, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    int e = sock_bind(o, fd, family, 0);
    union jm_addr la;
    socklen_t sl = sizeof(la);
    if (e == 0 && getsockname(fd, &la.sa, &sl) < 0)
        e = errno;
    if (e != 0) {
        close(fd);
        if (!has_src)
            return 0;
        return pm_err(err, errlen, "jmirror: mirrorSource %s cannot be used: %s",
                      src_text(o, family, a, sizeof(a)), strerror(e));
    }
    uint16_t port = ntohs(family == 4 ? la.in.sin_port : la.in6.sin6_port);
    s->fallback[family == 4 ? 0 : 1] = add_sock(s, fd, family, port, 1);
    return 1;
}

/* The analyzer ports with a socket: JM_DEFAULT_PORT, then the configured
 * ones; no duplicate, none below 1024, at most JM_PORTS_MAX. */
static size_t port_list(const struct jm_opts *o, uint16_t *out)
{
    size_t n = 0;
    out[n++] = JM_DEFAULT_PORT;
    for (size_t i = 0; i < o->nports && i < JM_PORTS_MAX && n < JM_PORTS_MAX; i++) {
        uint16_t p = o->ports[i];
        int dup = p < 1024;
        for (size_t j = 0; j < n && !dup; j++)
            dup = out[j] == p;
        if (!dup)
            out[n++] = p;
    }
    return n;
}

/* A socket bound to port; a port that cannot be bound is said once. */
static int open_port(struct jm_sender *s, int family, uint16_t port, char *err, size_t errlen)
{
    const struct jm_opts *o = &s->o;
    int fd = socket(fam_af(family), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return pm_err(err, errlen, "jmirror: IPv%d socket: %s", family, strerror(errno));
    if (sock_options(o, fd, family, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    int e = sock_bind(o, fd, family, port);
    if (e != 0) {
        close(fd);
        char why[128];
        snprintf(why, sizeof(why), "cannot be bound (%s)", strerror(e));
        jm_sock_notice(s, family, port, why);
        return 0;
    }
    add_sock(s, fd, family, port, 0);
    return 0;
}

int jm_sock_open(struct jm_sender *s, char *err, size_t errlen)
{
    uint16_t ports[JM_PORTS_MAX];
    size_t np = port_list(&s->o, ports);
    int fams = 0;
    s->fallback[0] = s->fallback[1] = -1;
    for (int family = 4; family <= 6; family += 2) {
        int rc = open_fallback(s, family, err, errlen);
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        fams++;
        for (size_t i = 0; i < np; i++)
            if (open_port(s, family, ports[i], err, errlen) < 0)
                return -1;
    }
    if (fams == 0)
        return pm_err(err, errlen, "jmirror: no UDP socket for IPv4 nor IPv6");
    return 0;
}

void jm_sock_close(struct jm_sender *s)
{
    for (size_t i = 0; i < s->nsocks; i++)
        close(s->socks[i].fd);
    s->nsocks = 0;
    s->fallback[0] = s->fallback[1] = -1;
}

int jm_sock_for(const struct jm_sender *s, int family, uint16_t port)
{
    for (size_t i = 0; i < s->nsocks; i++)
        if (s->socks[i].port == port && s->socks[i].family == family && !s->socks[i].fallback)
            return (int)i;
    if (family == 4 || family == 6)
        return s->fallback[family == 4 ? 0 : 1];
    return -1;
}

void jm_sock_notice(struct jm_sender *s, int family, uint16_t port, const char *why)
{
    uint8_t *bits = s->noticed[family == 4 ? 0 : 1];
    if (bits[port >> 3] & (1u << (port & 7)))
        return;
    bits[port >> 3] |= (uint8_t)(1u << (port & 7));
    if (s->h.notice == NULL)
        return;
    int fb = s->fallback[family == 4 ? 0 : 1];
    char text[256];
    snprintf(text, sizeof(text),
             "jmirror: UDP port %u %s: IPv%d datagrams to analyzers on that port leave from "
             "port %u, their source port not equal to the destination port",
             (unsigned)port, why, family, fb >= 0 ? (unsigned)s->socks[fb].port : 0u);
    s->h.notice(s->h.arg, text);
}
