/*
 * test_jm_send.c - the jmirror sender (src/capture/jm_send.c, jm_sock.c):
 * the header's bits; batches received in order, byte for byte, on
 * 127.0.0.9 and ::1; the results in queue order (refusals in their place);
 * source port = destination port for a configured port, the fallback port
 * for another (counted, said once), a port in use falling back; TTL / hop
 * limit 255 and the DSCP seen by the receiver; mirrorSource seen by the
 * receiver, an unusable mirrorSource or mirrorInterface refused; an ICMP
 * port unreachable read from the error queue for its destination, and a
 * send after it not lost; dry run; large datagrams; sending from inside the
 * capture sandbox (docs/sandbox.md), where another socket naming an address
 * kills the process; an ICMPv6 Packet Too Big neither loses the next
 * datagram nor makes the analyzer unreachable; a datagram sent to a jmirror
 * socket's port is dropped, never queued (drop-all filter, small receive
 * buffer).  UDP GSO: 64 equal datagrams leave as one message and arrive as
 * 64, byte for byte and in order; trains split by length, analyzer and the
 * 65507-octet limit; none with a path MTU too small or unknown; a train
 * after another destination's ICMP error still goes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/sandbox.h"

/* ---- helpers -------------------------------------------------------------------------------- */

#define REC_MAX 256

struct rec {
    uint32_t tag[REC_MAX];
    int err[REC_MAX];
    size_t bytes[REC_MAX];
    struct trig_analyzer an[REC_MAX];
    size_t n;
    char notice[8][256];
    size_t nnotice;
    struct trig_analyzer icmp_an[16];
    int icmp_err[16];
    size_t nicmp;
};

static void on_result(void *arg, const struct jm_result *r)
{
    struct rec *g = arg;
    if (g->n < REC_MAX) {
        g->tag[g->n] = r->tag;
        g->err[g->n] = r->err;
        g->bytes[g->n] = r->bytes;
        g->an[g->n] = *r->an;
    }
    g->n++;
}

static void on_icmp(void *arg, const struct trig_analyzer *an, int err)
{
    struct rec *g = arg;
    if (g->nicmp < 16) {
        g->icmp_an[g->nicmp] = *an;
        g->icmp_err[g->nicmp] = err;
    }
    g->nicmp++;
}

static void on_notice(void *arg, const char *text)
{
    struct rec *g = arg;
    CHECK(strstr(text, "127.") == NULL && strstr(text, "::1") == NULL); /* no address */
    if (g->nnotice < 8)
        snprintf(g->notice[g->nnotice], sizeof(g->notice[0]), "%s", text);
    g->nnotice++;
}

/* Notices that name port (other tests of the machine may hold 30030). */
static size_t notices_of(const struct rec *g, uint16_t port)
{
    char key[32];
    snprintf(key, sizeof(key), "UDP port %u ", (unsigned)port);
    size_t n = 0;
    for (size_t i = 0; i < g->nnotice && i < 8; i++)
        n += strstr(g->notice[i], key) != NULL;
    return n;
}

static struct jm_sender *sender(const struct jm_opts *o, struct rec *g)
{
    char err[256];
    struct jm_opts def = {.dscp = -1, .gso = 1}; /* trains only through jm_queue_mtu() */
    struct jm_hooks h = {on_result, on_icmp, on_notice, g};
    struct jm_sender *s = jm_new(o != NULL ? o : &def, &h, err, sizeof(err));
    if (s == NULL)
        fprintf(stderr, "test_jm_send: %s\n", err);
    CHECK(s != NULL);
    return s;
}

static int sockaddr_of(int af, const char *addr, uint16_t port, struct sockaddr_storage *ss,
                       socklen_t *sl)
{
    memset(ss, 0, sizeof(*ss));
    if (af == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_port = htons(port);
        *sl = sizeof(*a);
        return inet_pton(AF_INET, addr, &a->sin_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    *sl = sizeof(*a);
    return inet_pton(AF_INET6, addr, &a->sin6_addr) == 1 ? 0 : -1;
}

/* A receiving socket on addr (127.0.0.x, 0.0.0.0 or ::1) and port (0: any),
 * its port in *port; TTL / hop limit and TOS / traffic class asked for. */
static int listener(int af, const char *addr, uint16_t want, uint16_t *port)
{
    int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (af == AF_INET6) {
        int one = 1;
        CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) == 0);
    }
    struct sockaddr_storage ss;
    socklen_t sl;
    CHECK(sockaddr_of(af, addr, want, &ss, &sl) == 0);
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
        close(fd);
        return -1;
    }
    *port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    struct timeval tv = {2, 0};
    int one = 1, big = 1 << 20;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    if (af == AF_INET) {
        CHECK(setsockopt(fd, IPPROTO_IP, IP_RECVTTL, &one, sizeof(one)) == 0);
        CHECK(setsockopt(fd, IPPROTO_IP, IP_RECVTOS, &one, sizeof(one)) == 0);
    } else {
        CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &one, sizeof(one)) == 0);
        CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_RECVTCLASS, &one, sizeof(one)) == 0);
    }
    return fd;
}

/* A port nothing listens on (for ICMP port unreachable). */
static uint16_t dead_port(void)
{
    uint16_t port;
    int fd = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(fd >= 0);
    close(fd);
    return port;
}

struct got {
    ssize_t n;
    uint16_t from_port;
    uint8_t from[16];
    int ttl, tos;
};

static struct got receive(int fd, uint8_t *buf, size_t len)
{
    struct got g = {.ttl = -1, .tos = -1};
    struct sockaddr_storage from;
    union {
        struct cmsghdr align;
        uint8_t b[256];
    } ctl;
    struct iovec iov = {buf, len};
    struct msghdr mh = {.msg_name = &from,
                        .msg_namelen = sizeof(from),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = ctl.b,
                        .msg_controllen = sizeof(ctl.b)};
    g.n = recvmsg(fd, &mh, 0);
    if (g.n < 0)
        return g;
    if (from.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&from;
        g.from_port = ntohs(a->sin_port);
        memcpy(g.from, &a->sin_addr, 4);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&from;
        g.from_port = ntohs(a->sin6_port);
        memcpy(g.from, &a->sin6_addr, 16);
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
            memcpy(&g.ttl, CMSG_DATA(c), sizeof(int));
        else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS)
            g.tos = *(const uint8_t *)CMSG_DATA(c);
        else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_HOPLIMIT)
            memcpy(&g.ttl, CMSG_DATA(c), sizeof(int));
        else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS)
            memcpy(&g.tos, CMSG_DATA(c), sizeof(int));
    }
    return g;
}

static struct trig_analyzer analyzer(int family, const char *addr, uint16_t port)
{
    struct trig_analyzer a;
    memset(&a, 0, sizeof(a));
    a.family = family;
    a.port = port;
    CHECK(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, a.addr) == 1);
    return a;
}

/* A small IPv4/UDP packet (the mirrored one): 20 + 8 + 5 octets. */
static const uint8_t pkt4[] = {0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00,
                               0x00, 198,  18,   0,    1,    198,  18,   0,    2,    0x30, 0x39,
                               0x00, 0x35, 0x00, 0x0d, 0x00, 0x00, 'h',  'e',  'l',  'l',  'o'};

/* Packet i of a batch: its length and octets differ with i. */
static size_t numbered(uint8_t *p, size_t i)
{
    size_t len = 40 + (i * 7) % 300;
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)(i * 31 + k);
    return len;
}

static int has_ipv6_loopback(void)
{
    uint16_t port;
    int fd = listener(AF_INET6, "::1", 0, &port);
    if (fd < 0)
        return 0;
    close(fd);
    return 1;
}

/* ---- tests ---------------------------------------------------------------------------------- */

static void test_header(void)
{
    uint8_t h[JM_HDR_LEN];
    static const uint8_t want1[] = {0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x90};
    jm_header(h, 0x300, 0x90); /* domain example: handle 0000030000000090 */
    CHECK(memcmp(h, want1, 8) == 0);
    jm_header(h, 0x3fffffffu, 0xfedcba98u);
    static const uint8_t want2[] = {0x3f, 0xff, 0xff, 0xff, 0xfe, 0xdc, 0xba, 0x98};
    CHECK(memcmp(h, want2, 8) == 0);
    /* the two version bits are always 0, whatever the caller passes */
    jm_header(h, 0xffffffffu, 0);
    CHECK((h[0] & 0xc0) == 0 && h[0] == 0x3f && h[3] == 0xff);
    jm_header(h, 0x40000001u, 1);
    CHECK(h[0] == 0 && h[3] == 1);
}

/* N datagrams (more than a batch) to one analyzer: received in order, byte
 * for byte, from the fallback port (an unconfigured analyzer port); the
 * results in queue order; the port said once. */
static void test_batch(int af, const char *addr)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    uint16_t port;
    int rx = listener(af, addr, 0, &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(af == AF_INET ? 4 : 6, addr, port);
    enum { N = 150 };
    uint8_t pkt[400], buf[2048];
    for (size_t i = 0; i < N; i++) {
        size_t len = numbered(pkt, i);
        CHECK(jm_queue(s, &a, 0x300 + (uint32_t)i, 0x90, pkt, len, 1000 + (uint32_t)i) == 0);
    }
    CHECK(jm_pending(s) == N % JM_BATCH_MAX); /* the full batches went already */
    CHECK(g.n == N - N % JM_BATCH_MAX);
    jm_flush(s);
    CHECK(jm_pending(s) == 0 && g.n == N);
    uint16_t sport = jm_source_port(s, &a);
    CHECK(sport != 0 && sport != port && jm_is_local_port(s, a.family, sport));
    for (size_t i = 0; i < N; i++) {
        CHECK(g.tag[i] == 1000 + i && g.err[i] == 0);
        size_t len = numbered(pkt, i);
        CHECK(g.bytes[i] == JM_HDR_LEN + len);
        CHECK(g.an[i].port == port && g.an[i].family == a.family);
        struct got r = receive(rx, buf, sizeof(buf));
        CHECK(r.n == (ssize_t)(JM_HDR_LEN + len));
        uint8_t hdr[JM_HDR_LEN];
        jm_header(hdr, 0x300 + (uint32_t)i, 0x90);
        CHECK(memcmp(buf, hdr, JM_HDR_LEN) == 0 && memcmp(buf + JM_HDR_LEN, pkt, len) == 0);
        CHECK(r.from_port == sport);
        CHECK(r.ttl == 255);
        CHECK(r.tos == 0); /* no mirrorDscp */
    }
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.sent == N && st.sport_fallback == N && st.send_errors == 0);
    CHECK(st.batches >= 3 && st.batches <= 3 + 2); /* 64 + 64 + 22, a partial send or two */
    CHECK(notices_of(&g, port) == 1);
    /* every socket leaves path MTU discovery to fragmentation */
    int fds[JM_FDS_MAX];
    size_t nfds = jm_fds(s, fds, JM_FDS_MAX);
    CHECK(nfds >= 2);
    for (size_t i = 0; i < nfds; i++) {
        int v = -1;
        socklen_t vl = sizeof(v);
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        CHECK(getsockname(fds[i], (struct sockaddr *)&ss, &sl) == 0);
        if (ss.ss_family == AF_INET)
            CHECK(getsockopt(fds[i], IPPROTO_IP, IP_MTU_DISCOVER, &v, &vl) == 0 &&
                  v == IP_PMTUDISC_DONT);
        else
            CHECK(getsockopt(fds[i], IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v, &vl) == 0 &&
                  v == IPV6_PMTUDISC_DONT);
    }
    close(rx);
    jm_free(s);
}

/* mirrorSource 127.0.0.5, a configured port Q: the datagram leaves from
 * 127.0.0.5:Q (source port = destination port); mirrorDscp and TTL at the
 * receiver; an unconfigured port leaves from the fallback (counted, said
 * once); a port in use falls back (said at start, once). */
static void test_source_port(void)
{
    uint16_t q, r, t;
    int rxq = listener(AF_INET, "127.0.0.9", 0, &q);
    int rxr = listener(AF_INET, "127.0.0.9", 0, &r);
    int blocker = listener(AF_INET, "0.0.0.0", 0, &t); /* holds T on every address */
    CHECK(rxq >= 0 && rxr >= 0 && blocker >= 0);
    struct jm_opts o = {.has_src4 = 1, .src4 = {127, 0, 0, 5}, .dscp = 46, .nports = 4};
    o.ports[0] = q;
    o.ports[1] = q;   /* a duplicate */
    o.ports[2] = 514; /* below 1024: falls back */
    o.ports[3] = t;
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(&o, &g);
    CHECK(notices_of(&g, t) == 1 && notices_of(&g, q) == 0);
    struct trig_analyzer aq = analyzer(4, "127.0.0.9", q), ar = analyzer(4, "127.0.0.9", r),
                         at = analyzer(4, "127.0.0.9", t), a514 = analyzer(4, "127.0.0.9", 514);
    CHECK(jm_source_port(s, &aq) == q && jm_is_local_port(s, 4, q));
    uint16_t fb = jm_source_port(s, &ar);
    CHECK(fb != 0 && fb != q && fb != r);
    CHECK(jm_source_port(s, &at) == fb && jm_source_port(s, &a514) == fb);
    CHECK(!jm_is_local_port(s, 4, t) && !jm_is_local_port(s, 4, 514));

    CHECK(jm_queue(s, &aq, 1, 2, pkt4, sizeof(pkt4), 1) == 0);
    CHECK(jm_queue(s, &ar, 1, 2, pkt4, sizeof(pkt4), 2) == 0);
    CHECK(jm_queue(s, &ar, 1, 2, pkt4, sizeof(pkt4), 3) == 0);
    CHECK(jm_queue(s, &at, 1, 2, pkt4, sizeof(pkt4), 4) == 0);
    jm_flush(s);
    CHECK(g.n == 4 && g.err[0] == 0 && g.err[1] == 0 && g.err[2] == 0 && g.err[3] == 0);
    uint8_t buf[256];
    struct got x = receive(rxq, buf, sizeof(buf));
    CHECK(x.n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(x.from_port == q && memcmp(x.from, o.src4, 4) == 0);
    CHECK(x.ttl == 255 && x.tos == 46 << 2);
    for (int i = 0; i < 2; i++) {
        x = receive(rxr, buf, sizeof(buf));
        CHECK(x.n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
        CHECK(x.from_port == fb && memcmp(x.from, o.src4, 4) == 0 && x.tos == 46 << 2);
    }
    x = receive(blocker, buf, sizeof(buf));
    CHECK(x.n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)) && x.from_port == fb);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.sport_fallback == 3 && st.sent == 4);
    CHECK(notices_of(&g, r) == 1 && notices_of(&g, t) == 1); /* once each */
    close(rxq);
    close(rxr);
    close(blocker);
    jm_free(s);
}

/* IPv6: hop limit 255 and the traffic class at the receiver. */
static void test_ipv6_options(void)
{
    uint16_t port;
    int rx = listener(AF_INET6, "::1", 0, &port);
    CHECK(rx >= 0);
    struct jm_opts o = {.dscp = 10};
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(&o, &g);
    struct trig_analyzer a = analyzer(6, "::1", port);
    uint8_t pkt6[40 + 8 + 3] = {0x60, 0, 0, 0, 0, 11, 17, 64};
    CHECK(jm_queue(s, &a, 7, 0xdeadbeefu, pkt6, sizeof(pkt6), 9) == 0);
    jm_flush(s);
    uint8_t buf[256];
    struct got x = receive(rx, buf, sizeof(buf));
    CHECK(x.n == (ssize_t)(JM_HDR_LEN + sizeof(pkt6)));
    static const uint8_t hdr[] = {0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef};
    CHECK(memcmp(buf, hdr, 8) == 0 && memcmp(buf + 8, pkt6, sizeof(pkt6)) == 0);
    CHECK(x.ttl == 255 && x.tos == 10 << 2);
    CHECK(x.from_port == jm_source_port(s, &a));
    close(rx);
    jm_free(s);
}

/* Waits (bounded) until one of the sender's sockets has an error. */
static int wait_pollerr(struct jm_sender *s)
{
    int fds[JM_FDS_MAX];
    size_t n = jm_fds(s, fds, JM_FDS_MAX);
    struct pollfd p[JM_FDS_MAX];
    for (size_t i = 0; i < n; i++)
        p[i] = (struct pollfd){fds[i], 0, 0};
    for (int round = 0; round < 50; round++) {
        int rc = poll(p, n, 100);
        if (rc > 0)
            for (size_t i = 0; i < n; i++)
                if (p[i].revents & POLLERR)
                    return 1;
    }
    return 0;
}

/* A send to a port with no listener: ICMP port unreachable, read from the
 * error queue for that destination; the next datagram on the socket (to a
 * live analyzer) is not lost to the pending error. */
static void test_unreachable(void)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    uint16_t dead = dead_port(), live;
    int rx = listener(AF_INET, "127.0.0.9", 0, &live);
    CHECK(rx >= 0);
    struct trig_analyzer ad = analyzer(4, "127.0.0.9", dead), al = analyzer(4, "127.0.0.9", live);
    CHECK(jm_queue(s, &ad, 1, 1, pkt4, sizeof(pkt4), 1) == 0);
    jm_flush(s);
    CHECK(g.n == 1 && g.err[0] == 0); /* sent: the refusal comes later */
    CHECK(wait_pollerr(s));
    CHECK(jm_queue(s, &al, 1, 1, pkt4, sizeof(pkt4), 2) == 0);
    jm_flush(s);
    CHECK(g.n == 2 && g.err[1] == 0); /* tried again after the other's error */
    uint8_t buf[256];
    CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(jm_read_errors(s) == 1);
    CHECK(g.nicmp == 1 && g.icmp_err[0] == ECONNREFUSED);
    CHECK(g.icmp_an[0].family == 4 && g.icmp_an[0].port == dead &&
          memcmp(g.icmp_an[0].addr, ad.addr, 4) == 0);
    CHECK(jm_read_errors(s) == 0);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.icmp_errors == 1 && st.send_errors == 0 && st.sent == 2);

    /* twice to the dead port: the second may meet the first's error, is
     * tried again, and goes; both errors come back */
    CHECK(jm_queue(s, &ad, 1, 1, pkt4, sizeof(pkt4), 3) == 0);
    jm_flush(s);
    CHECK(wait_pollerr(s));
    CHECK(jm_queue(s, &ad, 1, 1, pkt4, sizeof(pkt4), 4) == 0);
    jm_flush(s);
    CHECK(g.n == 4 && g.err[3] == 0);
    int got = 0;
    for (int round = 0; round < 50 && got < 2; round++) {
        got += (int)jm_read_errors(s);
        if (got < 2)
            CHECK(wait_pollerr(s));
    }
    CHECK(got == 2 && g.nicmp == 3 && g.icmp_err[2] == ECONNREFUSED);
    close(rx);

    /* IPv6: ICMPv6 port unreachable, the same way */
    if (has_ipv6_loopback()) {
        uint16_t port6;
        int fd6 = listener(AF_INET6, "::1", 0, &port6);
        CHECK(fd6 >= 0);
        close(fd6); /* nothing listens on port6 now */
        struct trig_analyzer a6 = analyzer(6, "::1", port6);
        CHECK(jm_queue(s, &a6, 1, 1, pkt4, sizeof(pkt4), 5) == 0);
        jm_flush(s);
        CHECK(g.n == 5 && g.err[4] == 0);
        CHECK(wait_pollerr(s));
        CHECK(jm_read_errors(s) == 1);
        CHECK(g.nicmp == 4 && g.icmp_err[3] == ECONNREFUSED && g.icmp_an[3].family == 6);
        CHECK(g.icmp_an[3].port == port6 && memcmp(g.icmp_an[3].addr, a6.addr, 16) == 0);
    }
    jm_free(s);
}

/* The sender's socket of family af bound to port; -1 none. */
static int sock_of_port(struct jm_sender *s, int af, uint16_t port)
{
    int fds[JM_FDS_MAX];
    size_t n = jm_fds(s, fds, JM_FDS_MAX);
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        if (getsockname(fds[i], (struct sockaddr *)&ss, &sl) < 0 || ss.ss_family != af)
            continue;
        uint16_t p = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);
        if (p == port)
            return fds[i];
    }
    return -1;
}

/* Datagrams sent to a jmirror socket's port (anyone may: 0.0.0.0:30030) are
 * dropped by its filter, never queued: the kernel counts them as drops
 * (SO_MEMINFO), FIONREAD stays 0 and a read finds nothing; the receive
 * buffer is small.  The error queue still works (test_unreachable). */
static void test_never_queued(int af, const char *addr)
{
    uint16_t port;
    int probe = listener(af, addr, 0, &port); /* a free port, given to the sender */
    CHECK(probe >= 0);
    close(probe);
    struct jm_opts o = {.dscp = -1, .nports = 1};
    o.ports[0] = port;
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(&o, &g);
    int fd = sock_of_port(s, af, port);
    CHECK(fd >= 0);
    int rcvbuf = 0;
    socklen_t ol = sizeof(rcvbuf);
    CHECK(getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &ol) == 0);
    CHECK(rcvbuf > 0 && rcvbuf <= 32768); /* small: the error queue's room alone */

    int tx = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(tx >= 0);
    struct sockaddr_storage to;
    socklen_t tl;
    CHECK(sockaddr_of(af, addr, port, &to, &tl) == 0);
    uint8_t junk[512];
    memset(junk, 0xa5, sizeof(junk));
    for (int i = 0; i < 8; i++)
        CHECK(sendto(tx, junk, sizeof(junk), 0, (struct sockaddr *)&to, tl) ==
              (ssize_t)sizeof(junk));
    uint32_t mi[SK_MEMINFO_VARS];
    int drops = 0;
    for (int round = 0; round < 2000 && drops < 8; round++) {
        ol = sizeof(mi);
        memset(mi, 0, sizeof(mi));
        CHECK(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mi, &ol) == 0);
        drops = (int)mi[SK_MEMINFO_DROPS];
        if (drops < 8)
            (void)poll(NULL, 0, 1);
    }
    CHECK(drops == 8); /* all eight arrived at the socket, and were dropped */
    int inq = -1;
    CHECK(ioctl(fd, SIOCINQ, &inq) == 0 && inq == 0);
    CHECK(mi[SK_MEMINFO_RMEM_ALLOC] == 0);
    uint8_t buf[64];
    CHECK(recv(fd, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN);
    /* the filter cannot be taken off (SO_LOCK_FILTER) */
    int zero = 0;
    CHECK(setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof(zero)) < 0);
    close(tx);
    jm_free(s);
}

/* An ICMPv6 Packet Too Big for a datagram of ours (a router on a narrower
 * path; anyone who knows the analyzer can forge one): Linux queues it on the
 * error queue and makes the socket's next send fail with EMSGSIZE, path MTU
 * discovery off or not.  That next datagram is sent again, not lost, and the
 * error does not make the analyzer unreachable.  Root (a raw ICMPv6 socket),
 * in a network namespace of its own (the PMTU it leaves on ::1). */
static void test_packet_too_big(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_jm_send: not root; the Packet Too Big case is skipped\n");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (unshare(CLONE_NEWNET) < 0)
            _exit(77);
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
        int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        CHECK(u >= 0 && ioctl(u, SIOCGIFFLAGS, &ifr) == 0);
        ifr.ifr_flags |= IFF_UP;
        CHECK(ioctl(u, SIOCSIFFLAGS, &ifr) == 0);
        close(u);
        int raw = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_ICMPV6);
        if (raw < 0 || !has_ipv6_loopback())
            _exit(77);
        struct rec g;
        memset(&g, 0, sizeof(g));
        struct jm_sender *s = sender(NULL, &g);
        uint16_t live;
        int rx = listener(AF_INET6, "::1", 0, &live);
        CHECK(rx >= 0);
        struct trig_analyzer a = analyzer(6, "::1", live);
        uint16_t sport = jm_source_port(s, &a);
        uint8_t m[8 + 40 + 8];
        memset(m, 0, sizeof(m));
        m[0] = 2;         /* Packet Too Big, code 0 */
        m[6] = 1280 >> 8; /* MTU */
        m[7] = 1280 & 0xff;
        uint8_t *ip = m + 8, *uh = m + 48; /* the start of one of our datagrams */
        ip[0] = 0x60;
        ip[4] = 1400 >> 8;
        ip[5] = 1400 & 0xff;
        ip[6] = 17;
        ip[7] = 255;
        ip[8 + 15] = 1;  /* from ::1 */
        ip[24 + 15] = 1; /* to ::1 */
        uh[0] = (uint8_t)(sport >> 8);
        uh[1] = (uint8_t)sport;
        uh[2] = (uint8_t)(live >> 8);
        uh[3] = (uint8_t)live;
        uh[4] = 1400 >> 8;
        uh[5] = 1400 & 0xff;
        struct sockaddr_storage to;
        socklen_t tl;
        CHECK(sockaddr_of(AF_INET6, "::1", 0, &to, &tl) == 0);
        CHECK(sendto(raw, m, sizeof(m), 0, (struct sockaddr *)&to, tl) == (ssize_t)sizeof(m));
        CHECK(wait_pollerr(s));
        CHECK(jm_queue(s, &a, 1, 1, pkt4, sizeof(pkt4), 1) == 0);
        jm_flush(s);
        CHECK(g.n == 1 && g.err[0] == 0); /* sent again after the pending EMSGSIZE */
        uint8_t buf[256];
        CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
        CHECK(jm_read_errors(s) == 1 && g.nicmp == 0); /* read, not an unreachable analyzer */
        close(rx);
        close(raw);
        jm_free(s);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st));
    if (WEXITSTATUS(st) == 77)
        fprintf(stderr, "test_jm_send: no network namespace or IPv6; Packet Too Big skipped\n");
    else
        CHECK(WEXITSTATUS(st) == 0);
}

/* Refusals are reported in their place; too big and no family counted. */
static void test_refusals(void)
{
    static uint8_t big[65536];
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(4, "127.0.0.9", port), none = a;
    none.family = 0;
    CHECK(jm_queue(s, &a, 1, 1, pkt4, sizeof(pkt4), 1) == 0);
    CHECK(jm_queue(s, &a, 1, 1, big, 65500, 2) == -1);
    CHECK(jm_queue(s, &a, 1, 1, pkt4, sizeof(pkt4), 3) == 0);
    CHECK(jm_queue(s, &none, 1, 1, pkt4, sizeof(pkt4), 4) == -1);
    CHECK(jm_queue(s, &a, 1, 1, big, 65507 - JM_HDR_LEN, 5) == 0); /* the largest */
    /* a 1500-octet packet: 1508 octets of UDP payload, beyond an Ethernet MTU */
    for (size_t i = 0; i < 1500; i++)
        big[i] = (uint8_t)i;
    CHECK(jm_queue(s, &a, 1, 1, big, 1500, 6) == 0);
    jm_flush(s);
    CHECK(g.n == 6);
    for (size_t i = 0; i < 6; i++)
        CHECK(g.tag[i] == i + 1);
    CHECK(g.err[0] == 0 && g.err[1] == EMSGSIZE && g.err[2] == 0 && g.err[3] == EAFNOSUPPORT);
    CHECK(g.err[4] == 0 && g.err[5] == 0 && g.bytes[5] == 1508);
    static uint8_t buf[65536];
    CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(receive(rx, buf, sizeof(buf)).n == 65507);
    CHECK(receive(rx, buf, sizeof(buf)).n == 1508 && memcmp(buf + 8, big, 1500) == 0);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.too_big == 1 && st.no_socket == 1 && st.sent == 4 && st.send_errors == 0);
    close(rx);
    jm_free(s);
}

/* An unusable mirrorSource or mirrorInterface: a sentence; a usable
 * interface (lo) sends. */
static void test_bad_options(void)
{
    char err[256] = "";
    struct jm_opts o = {.has_src4 = 1, .src4 = {192, 0, 2, 55}, .dscp = -1};
    CHECK(jm_new(&o, NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mirrorSource 192.0.2.55") != NULL);
    struct jm_opts o6 = {.has_src6 = 1, .src6 = {0x20, 0x01, 0x0d, 0xb8, [15] = 7}, .dscp = -1};
    err[0] = '\0';
    CHECK(jm_new(&o6, NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mirrorSource 2001:db8::7") != NULL);
    struct jm_opts oi = {.dscp = -1};
    snprintf(oi.ifname, sizeof(oi.ifname), "pmnosuch0");
    err[0] = '\0';
    CHECK(jm_new(&oi, NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "mirrorInterface pmnosuch0") != NULL);

    snprintf(oi.ifname, sizeof(oi.ifname), "lo");
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(&oi, &g);
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(4, "127.0.0.9", port);
    CHECK(jm_queue(s, &a, 1, 1, pkt4, sizeof(pkt4), 1) == 0);
    jm_flush(s);
    uint8_t buf[256];
    CHECK(g.n == 1 && g.err[0] == 0);
    CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    close(rx);
    jm_free(s);
}

/* As the capture process calls it: without privilege (a child that gave up
 * root first, when the test runs as root), with mirrorInterface lo, mirrorSource
 * 127.0.0.5, DSCP and port sockets: every option is allowed; the datagram
 * arrives from 127.0.0.5. */
static void test_unprivileged(void)
{
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(rx >= 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (geteuid() == 0 &&
            (setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0))
            _exit(3);
        struct jm_opts o = {.has_src4 = 1, .src4 = {127, 0, 0, 5}, .dscp = 8, .nports = 1};
        o.ports[0] = port;
        snprintf(o.ifname, sizeof(o.ifname), "lo");
        char err[256];
        struct jm_sender *s = jm_new(&o, NULL, err, sizeof(err));
        if (s == NULL) {
            fprintf(stderr, "test_jm_send: unprivileged: %s\n", err);
            _exit(4);
        }
        struct trig_analyzer a = analyzer(4, "127.0.0.9", port);
        if (jm_source_port(s, &a) != port || jm_queue(s, &a, 3, 4, pkt4, sizeof(pkt4), 0) != 0)
            _exit(5);
        jm_flush(s);
        struct jm_stats st;
        jm_get_stats(s, &st);
        jm_free(s);
        _exit(st.sent == 1 ? 0 : 6);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    uint8_t buf[256];
    struct got x = receive(rx, buf, sizeof(buf));
    CHECK(x.n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)) && x.from_port == port);
    CHECK(memcmp(x.from, (uint8_t[]){127, 0, 0, 5}, 4) == 0 && x.tos == 8 << 2 && x.ttl == 255);
    close(rx);
}

/* Dry run: built and reported as sent, nothing on the wire, no socket;
 * a full arena flushes the batch first. */
static void test_dry_run(void)
{
    static uint8_t big[60000];
    struct jm_opts o = {.dscp = -1, .dry_run = 1};
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(&o, &g);
    int fds[JM_FDS_MAX];
    CHECK(jm_fds(s, fds, JM_FDS_MAX) == 0);
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(4, "127.0.0.9", port);
    for (uint32_t i = 0; i < 3; i++)
        CHECK(jm_queue(s, &a, 1, 1, pkt4, sizeof(pkt4), i) == 0);
    jm_flush(s);
    CHECK(g.n == 3 && g.err[0] == 0 && g.err[2] == 0);
    /* 17 of 60008 octets fit in the arena, the 18th flushes them */
    size_t fit = JM_ARENA_BYTES / (JM_HDR_LEN + sizeof(big));
    for (size_t i = 0; i < fit; i++)
        CHECK(jm_queue(s, &a, 1, 1, big, sizeof(big), 100) == 0);
    CHECK(jm_pending(s) == fit && g.n == 3);
    CHECK(jm_queue(s, &a, 1, 1, big, sizeof(big), 100) == 0);
    CHECK(jm_pending(s) == 1 && g.n == 3 + fit);
    jm_flush(s);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.built == 3 + fit + 1 && st.sent == 0 && st.batches == 0);
    uint8_t buf[64];
    CHECK(recv(rx, buf, sizeof(buf), MSG_DONTWAIT) < 0 && errno == EAGAIN);
    close(rx);
    jm_free(s);
}

/* In a child: the sandbox with the sender's sockets let through; a batch
 * (sendmmsg) and the error queue (recvmsg) work.  other_fd >= 0: then
 * sendto (how 1) or sendmmsg (how 2) on it.  Returns the child's exit
 * status, or 1000 + the signal that ended it. */
static int sandboxed(struct jm_sender *s, uint16_t rx_port, int other_fd, int how)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char err[256];
        int fds[SBX_DGRAM_FDS_MAX];
        size_t n = jm_fds(s, fds, JM_FDS_MAX);
        for (; n < SBX_DGRAM_FDS_MAX; n++) /* the largest filter loads too */
            fds[n] = 900 + (int)n;
        if (sbx_set_datagram_fds(fds, n, err, sizeof(err)) < 0 ||
            sbx_apply_seccomp(0, err, sizeof(err)) < 0)
            _exit(99);
        struct trig_analyzer a = analyzer(4, "127.0.0.9", rx_port);
        CHECK(jm_queue(s, &a, 5, 6, pkt4, sizeof(pkt4), 1) == 0);
        CHECK(jm_queue(s, &a, 5, 7, pkt4, sizeof(pkt4), 2) == 0);
        jm_flush(s);
        (void)jm_read_errors(s);
        struct jm_stats st;
        jm_get_stats(s, &st);
        if (st.sent != 2)
            _exit(2);
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
        to.sin_addr.s_addr = htonl(0x7f000009);
        if (other_fd >= 0 && how == 1) { /* any other socket naming an address: SIGSYS */
            (void)sendto(other_fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
            _exit(3);
        }
        if (other_fd >= 0 && how == 2) {
            struct iovec iov = {"x", 1};
            struct mmsghdr mm = {
                .msg_hdr = {
                    .msg_name = &to, .msg_namelen = sizeof(to), .msg_iov = &iov, .msg_iovlen = 1}};
            (void)sendmmsg(other_fd, &mm, 1, 0);
            _exit(3);
        }
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void test_sandbox(void)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(rx >= 0);
    CHECK(sandboxed(s, port, -1, 0) == 0);
    uint8_t buf[256];
    CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(buf[3] == 5 && buf[7] == 6);
    CHECK(receive(rx, buf, sizeof(buf)).n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(buf[7] == 7);
    int other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(other >= 0);
    CHECK(sandboxed(s, port, other, 1) == 1000 + SIGSYS);
    CHECK(sandboxed(s, port, other, 2) == 1000 + SIGSYS);
    close(other);
    close(rx);
    jm_free(s);
}

/* ---- GSO ------------------------------------------------------------------------------------ */

/* Did the kernel take trains (UDP_SEGMENT, Linux 4.18)?  Else the counts are not asked. */
static int has_gso(struct jm_sender *s)
{
    struct jm_stats st;
    jm_get_stats(s, &st);
    if (st.gso_off != 0)
        fprintf(stderr, "test_jm_send: no UDP GSO here; its counts are not checked\n");
    return st.gso_off == 0;
}

/* Packet i of length len: its octets differ with i. */
static void fill(uint8_t *p, size_t len, size_t i)
{
    for (size_t k = 0; k < len; k++)
        p[k] = (uint8_t)(i * 37 + k * 3);
}

/* n datagrams of lens[i] (packet octets) queued to as[i] with path MTU mtu,
 * flushed; their results in queue order, tags 500 + i, none refused. */
static void queue_lens(struct jm_sender *s, struct rec *g, const struct trig_analyzer *const *as,
                       const size_t *lens, size_t n, unsigned mtu)
{
    uint8_t pkt[2048];
    size_t before = g->n;
    for (size_t i = 0; i < n; i++) {
        fill(pkt, lens[i], i);
        CHECK(jm_queue_mtu(s, as[i], 7, (uint32_t)i, pkt, lens[i], 500 + (uint32_t)i, mtu) == 0);
    }
    jm_flush(s);
    CHECK(g->n == before + n);
    for (size_t i = 0; i < n; i++) {
        CHECK(g->tag[before + i] == 500 + i && g->err[before + i] == 0);
        CHECK(g->bytes[before + i] == JM_HDR_LEN + lens[i]);
    }
}

/* The datagrams of queue_lens() sent to a, received on rx one by one, byte for byte, in order. */
static void receive_lens(int rx, const struct trig_analyzer *const *as,
                         const struct trig_analyzer *a, const size_t *lens, size_t n)
{
    uint8_t pkt[2048], buf[4096], hdr[JM_HDR_LEN];
    for (size_t i = 0; i < n; i++) {
        if (as[i] != a)
            continue;
        fill(pkt, lens[i], i);
        jm_header(hdr, 7, (uint32_t)i);
        struct got r = receive(rx, buf, sizeof(buf));
        CHECK(r.n == (ssize_t)(JM_HDR_LEN + lens[i]));
        CHECK(memcmp(buf, hdr, JM_HDR_LEN) == 0 && memcmp(buf + JM_HDR_LEN, pkt, lens[i]) == 0);
    }
    int avail = -1;
    CHECK(ioctl(rx, FIONREAD, &avail) == 0 && avail == 0); /* nothing more */
}

/* 64 equal datagrams to one analyzer: one message of 64 segments, received as 64. */
/* mirrorGso off (the default): equal datagrams within the MTU still leave one by one. */
static void test_gso_off(void)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_opts o = {.dscp = -1};
    struct jm_sender *s = sender(&o, &g);
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", 0, &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(4, "127.0.0.9", port);
    uint8_t pkt[100];
    for (size_t i = 0; i < 16; i++) {
        fill(pkt, sizeof(pkt), i);
        CHECK(jm_queue_mtu(s, &a, 1, 2, pkt, sizeof(pkt), (uint32_t)i, 1500) == 0);
    }
    jm_flush(s);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.sent == 16 && st.gso_msgs == 0 && st.gso_segments == 0 && st.gso_off == 0);
    close(rx);
    jm_free(s);
}

static void test_gso_train(int af, const char *addr)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    int gso = has_gso(s);
    uint16_t port;
    int rx = listener(af, addr, 0, &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(af == AF_INET ? 4 : 6, addr, port);
    const struct trig_analyzer *as[JM_BATCH_MAX];
    size_t lens[JM_BATCH_MAX];
    for (size_t i = 0; i < JM_BATCH_MAX; i++) {
        as[i] = &a;
        lens[i] = 60;
    }
    queue_lens(s, &g, as, lens, JM_BATCH_MAX - 1, 1500); /* the 64th flushes the batch */
    receive_lens(rx, as, &a, lens, JM_BATCH_MAX - 1);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.sent == JM_BATCH_MAX - 1 && st.send_errors == 0);
    CHECK(!gso || (st.gso_msgs == 1 && st.gso_segments == JM_BATCH_MAX - 1 && st.batches == 1));
    memset(&g, 0, sizeof(g));
    uint8_t pkt[60];
    for (size_t i = 0; i < JM_BATCH_MAX; i++) { /* full: jm_queue() flushes at the 65th */
        fill(pkt, 60, i);
        CHECK(jm_queue_mtu(s, &a, 7, (uint32_t)i, pkt, 60, 500 + (uint32_t)i, 1500) == 0);
    }
    CHECK(jm_pending(s) == JM_BATCH_MAX);
    jm_flush(s);
    CHECK(g.n == JM_BATCH_MAX);
    for (size_t i = 0; i < JM_BATCH_MAX; i++)
        CHECK(g.tag[i] == 500 + i && g.err[i] == 0);
    receive_lens(rx, as, &a, lens, JM_BATCH_MAX);
    jm_get_stats(s, &st);
    CHECK(st.sent == 2 * JM_BATCH_MAX - 1);
    CHECK(!gso || (st.gso_msgs == 2 && st.gso_segments == 2 * JM_BATCH_MAX - 1 && st.batches == 2));
    close(rx);
    jm_free(s);
}

/* Runs split by length and analyzer; a shorter last segment joins its train. */
static void test_gso_runs(void)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    int gso = has_gso(s);
    uint16_t p1, p2;
    int rx1 = listener(AF_INET, "127.0.0.9", 0, &p1), rx2 = listener(AF_INET, "127.0.0.9", 0, &p2);
    CHECK(rx1 >= 0 && rx2 >= 0);
    struct trig_analyzer a1 = analyzer(4, "127.0.0.9", p1), a2 = analyzer(4, "127.0.0.9", p2);
    /* trains: 100 x5 + 50 (6), 200 x3 (3), then 300 to a2 alone, 100 x4 (4) */
    const size_t lens[] = {100, 100, 100, 100, 100, 50, 200, 200, 200, 300, 100, 100, 100, 100};
    const struct trig_analyzer *as[] = {&a1, &a1, &a1, &a1, &a1, &a1, &a1,
                                        &a1, &a1, &a2, &a1, &a1, &a1, &a1};
    size_t n = sizeof(lens) / sizeof(lens[0]);
    queue_lens(s, &g, as, lens, n, 1500);
    receive_lens(rx1, as, &a1, lens, n);
    receive_lens(rx2, as, &a2, lens, n);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.sent == n && st.send_errors == 0);
    CHECK(!gso || (st.gso_msgs == 3 && st.gso_segments == 13 && st.batches == 1));

    /* 64 of 1108 octets: at most 59 in a train (65507 octets), then 5 */
    const struct trig_analyzer *big_as[JM_BATCH_MAX];
    size_t big[JM_BATCH_MAX];
    for (size_t i = 0; i < JM_BATCH_MAX; i++) {
        big_as[i] = &a1;
        big[i] = 1100;
    }
    memset(&g, 0, sizeof(g));
    queue_lens(s, &g, big_as, big, JM_BATCH_MAX - 1, 65536);
    receive_lens(rx1, big_as, &a1, big, JM_BATCH_MAX - 1);
    jm_get_stats(s, &st);
    CHECK(!gso || (st.gso_msgs == 5 && st.gso_segments == 13 + JM_BATCH_MAX - 1));

    /* a path MTU below L + 28, or unknown: one by one, all arrive */
    memset(&g, 0, sizeof(g));
    queue_lens(s, &g, as, lens, n, 100 + JM_HDR_LEN + 28 - 1);
    receive_lens(rx1, as, &a1, lens, n);
    receive_lens(rx2, as, &a2, lens, n);
    struct jm_stats st2;
    jm_get_stats(s, &st2);
    /* only 50 + 8 + 28 fits: a train needs two */
    CHECK(st2.gso_msgs == st.gso_msgs && st2.gso_segments == st.gso_segments);
    memset(&g, 0, sizeof(g));
    queue_lens(s, &g, as, lens, n, 0);
    receive_lens(rx1, as, &a1, lens, n);
    receive_lens(rx2, as, &a2, lens, n);
    jm_get_stats(s, &st2);
    CHECK(st2.gso_msgs == st.gso_msgs && st2.sent == st.sent + 2 * n && st2.send_errors == 0);
    close(rx1);
    close(rx2);
    jm_free(s);
}

/* A train after an ICMP port unreachable for another destination: tried again, all go. */
static void test_gso_unreachable(void)
{
    struct rec g;
    memset(&g, 0, sizeof(g));
    struct jm_sender *s = sender(NULL, &g);
    uint16_t dead = dead_port(), live;
    int rx = listener(AF_INET, "127.0.0.9", 0, &live);
    CHECK(rx >= 0);
    struct trig_analyzer ad = analyzer(4, "127.0.0.9", dead), al = analyzer(4, "127.0.0.9", live);
    const struct trig_analyzer *as[8];
    size_t lens[8];
    for (size_t i = 0; i < 8; i++) {
        as[i] = &ad;
        lens[i] = 80;
    }
    queue_lens(s, &g, as, lens, 8, 1500); /* sent: the refusal comes later */
    CHECK(wait_pollerr(s));
    for (size_t i = 0; i < 8; i++)
        as[i] = &al;
    memset(&g, 0, sizeof(g));
    queue_lens(s, &g, as, lens, 8, 1500);
    receive_lens(rx, as, &al, lens, 8);
    CHECK(jm_read_errors(s) >= 1 && g.icmp_err[0] == ECONNREFUSED);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.send_errors == 0 && st.sent == 16);
    close(rx);
    jm_free(s);
}

int main(void)
{
    test_header();
    test_batch(AF_INET, "127.0.0.9");
    if (has_ipv6_loopback()) {
        test_batch(AF_INET6, "::1");
        test_ipv6_options();
    } else {
        fprintf(stderr, "test_jm_send: no IPv6 loopback here; the IPv6 cases are skipped\n");
    }
    test_source_port();
    test_never_queued(AF_INET, "127.0.0.9");
    if (has_ipv6_loopback())
        test_never_queued(AF_INET6, "::1");
    test_unreachable();
    test_packet_too_big();
    test_refusals();
    test_bad_options();
    test_unprivileged();
    test_dry_run();
    test_sandbox();
    test_gso_off();
    test_gso_train(AF_INET, "127.0.0.9");
    if (has_ipv6_loopback())
        test_gso_train(AF_INET6, "::1");
    test_gso_runs();
    test_gso_unreachable();
    return 0;
}
