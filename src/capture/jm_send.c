/*
 * jm_send.c - the jmirror sender (jm_send.h, docs/jmirror.md): one UDP
 * datagram per mirrored IP packet, an 8-octet header first.
 *
 * The header: the first 32-bit word holds a 2-bit mirror header value (0)
 * in its two most significant bits and the 30-bit mirror identifier below
 * them; the second word is the session identifier; both in network order.
 * The payload is the IP packet from its header on.  The UDP checksum is the
 * kernel's; fragmentation too, since a mirrored packet of a full MTU does
 * not fit in one with the 36 octets added (IP_PMTUDISC_DONT: the datagram
 * is fragmented instead of refused).
 *
 * Both sockets are opened and bound (to an ephemeral port on the wildcard
 * address) here, before the capture sandbox is installed: the sandbox then
 * lets the process send datagrams on these two descriptors and on no other
 * (docs/sandbox.md).  Sends never wait (MSG_DONTWAIT): a full socket buffer
 * is a send error, counted.
 */
#include "pmirrord/jm_send.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

#define JM_SNDBUF (4 << 20) /* asked for; the kernel caps it at net.core.wmem_max */
/* The largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6 (65535 - 8). */
#define JM_MAX_PAYLOAD4 65507u
#define JM_MAX_PAYLOAD6 65527u

struct jm_sender {
    int fd4, fd6;
    uint16_t port4, port6; /* the local ports, network order (jm_local_port) */
    struct jm_stats st;
};

void jm_header(uint8_t out[JM_HDR_LEN], uint32_t mirror_id, uint32_t session_id)
{
    uint32_t w = mirror_id & 0x3fffffffu; /* mirror header value 0 in the top two bits */
    out[0] = (uint8_t)(w >> 24);
    out[1] = (uint8_t)(w >> 16);
    out[2] = (uint8_t)(w >> 8);
    out[3] = (uint8_t)w;
    out[4] = (uint8_t)(session_id >> 24);
    out[5] = (uint8_t)(session_id >> 16);
    out[6] = (uint8_t)(session_id >> 8);
    out[7] = (uint8_t)session_id;
}

/* A datagram socket of family af bound to an ephemeral port; -1 when the
 * family is not there (an IPv6-less kernel), with *port its local port. */
static int open_socket(int af, uint16_t *port)
{
    int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    int one = 1, buf = JM_SNDBUF;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (af == AF_INET) {
        int pmtu = IP_PMTUDISC_DONT;
        (void)setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        sl = sizeof(*a);
    } else {
        int pmtu = IPV6_PMTUDISC_DONT;
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &pmtu, sizeof(pmtu));
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        sl = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 ||
        getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
        close(fd);
        return -1;
    }
    *port = af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                          : ((struct sockaddr_in6 *)&ss)->sin6_port;
    return fd;
}

struct jm_sender *jm_new(char *err, size_t errlen)
{
    struct jm_sender *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        pm_err(err, errlen, "jmirror: out of memory");
        return NULL;
    }
    s->fd4 = open_socket(AF_INET, &s->port4);
    int e4 = errno;
    s->fd6 = open_socket(AF_INET6, &s->port6);
    if (s->fd4 < 0 && s->fd6 < 0) {
        pm_err(err, errlen, "jmirror: no UDP socket for IPv4 (%s) nor IPv6 (%s)", strerror(e4),
               strerror(errno));
        free(s);
        return NULL;
    }
    return s;
}

void jm_free(struct jm_sender *s)
{
    if (s == NULL)
        return;
    if (s->fd4 >= 0)
        close(s->fd4);
    if (s->fd6 >= 0)
        close(s->fd6);
    free(s);
}

void jm_fds(const struct jm_sender *s, int *fd4, int *fd6)
{
    *fd4 = s != NULL ? s->fd4 : -1;
    *fd6 = s != NULL ? s->fd6 : -1;
}

uint16_t jm_local_port(const struct jm_sender *s, int family)
{
    if (s == NULL)
        return 0;
    return family == 4 ? s->port4 : family == 6 ? s->port6 : 0;
}

int jm_send(struct jm_sender *s, const struct trig_analyzer *a, uint32_t mirror_id,
            uint32_t session_id, const uint8_t *ip, size_t len)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    int fd;

    memset(&ss, 0, sizeof(ss));
    if (a->family == 4) {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(a->port);
        memcpy(&in->sin_addr, a->addr, 4);
        sl = sizeof(*in);
        fd = s->fd4;
        if (len > JM_MAX_PAYLOAD4 - JM_HDR_LEN) {
            s->st.too_big++;
            errno = EMSGSIZE;
            return -1;
        }
    } else if (a->family == 6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(a->port);
        memcpy(&in6->sin6_addr, a->addr, 16);
        sl = sizeof(*in6);
        fd = s->fd6;
        if (len > JM_MAX_PAYLOAD6 - JM_HDR_LEN) {
            s->st.too_big++;
            errno = EMSGSIZE;
            return -1;
        }
    } else {
        fd = -1;
        sl = 0;
    }
    if (fd < 0) {
        s->st.no_socket++;
        errno = EAFNOSUPPORT;
        return -1;
    }
    uint8_t hdr[JM_HDR_LEN];
    jm_header(hdr, mirror_id, session_id);
    struct iovec iov[2] = {{hdr, sizeof(hdr)}, {(void *)ip, len}};
    struct msghdr mh = {.msg_name = &ss, .msg_namelen = sl, .msg_iov = iov, .msg_iovlen = 2};
    if (sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        s->st.send_errors++;
        return -1;
    }
    s->st.sent++;
    s->st.bytes += JM_HDR_LEN + len;
    return 0;
}

void jm_get_stats(const struct jm_sender *s, struct jm_stats *out)
{
    if (s == NULL)
        memset(out, 0, sizeof(*out));
    else
        *out = s->st;
}
