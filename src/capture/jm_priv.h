/*
 * jm_priv.h - the jmirror sender's state, shared by jm_send.c (the batch:
 * queue, flush, error queue) and jm_sock.c (the sockets and their options).
 */
#ifndef PMIRRORD_JM_PRIV_H
#define PMIRRORD_JM_PRIV_H

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include "pmirrord/jm_send.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* Linux 4.18 */
#endif
#define JM_GSO_MAX 64 /* UDP_MAX_SEGMENTS */

struct jm_sock {
    int fd;
    int family;    /* 4 or 6 */
    uint16_t port; /* local port, host order */
    int fallback;  /* the family's ephemeral-port socket */
    int gso;       /* UDP_SEGMENT usable: probed at open, off after a refused GSO send */
};

union jm_addr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
};

/* One queued datagram: header and packet at arena[off .. off + len). */
struct jm_slot {
    struct trig_analyzer an; /* a copy: the caller's pointer may not outlive the packet */
    uint32_t off, len;
    uint32_t tag;
    uint32_t mtu; /* path MTU to an (0 unknown: never segmented by the kernel) */
    int sock;     /* index in socks[]; -1 none (refused, or dry run) */
    int err;      /* refused when queued (EMSGSIZE, EAFNOSUPPORT), else the send's outcome */
    int retried;  /* sent again once after an error that was pending on the socket */
};

struct jm_sender {
    struct jm_opts o;
    struct jm_hooks h;
    struct jm_sock socks[JM_FDS_MAX];
    size_t nsocks;
    int fallback[2]; /* index in socks[] of the ephemeral-port socket, IPv4 and IPv6; -1 none */
    uint8_t noticed[2][65536 / 8]; /* ports said once through hooks->notice, per family */

    struct jm_slot slot[JM_BATCH_MAX];
    struct mmsghdr mm[JM_BATCH_MAX];
    struct iovec iov[JM_BATCH_MAX];
    union jm_addr name[JM_BATCH_MAX];
    /* the messages of one socket's run: a datagram's own (mm[]) or a GSO train */
    struct mmsghdr gm[JM_BATCH_MAX];
    struct iovec giov[JM_BATCH_MAX];
    union {
        struct cmsghdr align;
        uint8_t buf[CMSG_SPACE(sizeof(uint16_t))];
    } gctl[JM_BATCH_MAX];
    uint16_t gfirst[JM_BATCH_MAX], gcount[JM_BATCH_MAX]; /* its slots */
    size_t n;                                            /* queued */
    size_t used;                                         /* arena octets in use */
    uint8_t *arena;
    struct jm_stats st;
};

/* Opens every socket jm_new() promises (jm_sock.c).  -1 with err. */
int jm_sock_open(struct jm_sender *s, char *err, size_t errlen);
void jm_sock_close(struct jm_sender *s);
/* The socket a datagram to (family, port) leaves from: the port's own, else
 * the family's fallback; -1 when the family has none. */
int jm_sock_for(const struct jm_sender *s, int family, uint16_t port);
/* Says once per family and port why datagrams to port leave from the fallback. */
void jm_sock_notice(struct jm_sender *s, int family, uint16_t port, const char *why);

#endif
