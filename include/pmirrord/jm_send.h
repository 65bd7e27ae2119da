/*
 * jm_send.h - the jmirror sender: each mirrored IP packet leaves as one UDP
 * datagram to its analyzer, an 8-octet header first (2-bit version 0, 30-bit
 * mirror ID, 32-bit session ID, network order), then the packet from its IP
 * header on, cut to its IP total length (docs/jmirror.md).
 *
 * Datagrams are queued (jm_queue(): the one copy, into a preallocated slot)
 * and leave in batches (jm_flush(): sendmmsg, one call per run of datagrams
 * on the same socket), at the end of the capture loop's pass over a ring
 * block, or when the batch is full.  No allocation, lock or copy per packet
 * beyond the one into the slot.
 *
 * Sockets: jm_new() opens them before the capture sandbox is installed
 * (the sandbox lets the process send on them and on nothing else,
 * docs/sandbox.md):
 *   - per family, one socket per analyzer port named in opts->ports, bound
 *     to that port (UDP source port = destination port, as JUNOSe sends),
 *     on mirrorSource of that family when set (else the wildcard address);
 *   - per family, one fallback socket on an ephemeral port, for analyzer
 *     ports without their own socket (a port below 1024, a port in use, a
 *     port learnt after start from RADIUS or pmirrorctl): such datagrams are
 *     counted (sport_fallback) and the port is said once (the `notice` hook).
 * Every socket: TTL / hop limit 255, DSCP mirrorDscp, IP_PMTUDISC_DONT (the
 * kernel fragments a datagram larger than the path MTU instead of refusing
 * it), IP_RECVERR (ICMP errors come back on the error queue), the UDP
 * checksum computed by the kernel, SO_BINDTODEVICE mirrorInterface when set.
 */
#ifndef PMIRRORD_JM_SEND_H
#define PMIRRORD_JM_SEND_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "pmirrord/trigger.h"

#define JM_HDR_LEN      8
#define JM_PORTS_MAX    16 /* analyzer ports with their own socket, per family */
#define JM_FDS_MAX      (2 * (JM_PORTS_MAX + 1))
#define JM_BATCH_MAX    64         /* datagrams per jm_flush() (sendmmsg vlen) */
#define JM_ARENA_BYTES  (1u << 20) /* slot space of one batch; full: flushed */
#define JM_DEFAULT_PORT 30030      /* Wireshark's jmirror port: always given a socket */

struct jm_opts {
    int has_src4, has_src6; /* mirrorSource, per family */
    uint8_t src4[4];        /* network order */
    uint8_t src6[16];
    int dscp;                     /* mirrorDscp 0..63; -1: leave the kernel's 0 */
    char ifname[IF_NAMESIZE];     /* mirrorInterface; "" none */
    uint16_t ports[JM_PORTS_MAX]; /* host order: the analyzer ports of the configured
                                   * triggers, JM_DEFAULT_PORT added by jm_new() */
    size_t nports;
    int gso;     /* mirrorGso: UDP GSO trains where the kernel supports them */
    int dry_run; /* bench: datagrams are built into the batch, counted (built),
                  * reported as sent; no socket is opened, no system call made */
};

struct jm_stats {
    uint64_t sent, bytes;    /* datagrams sent and their octets (UDP payload) */
    uint64_t batches;        /* sendmmsg calls that sent at least one datagram */
    uint64_t send_errors;    /* datagrams the kernel refused (errno counted per reason below) */
    uint64_t err_unreach;    /* of which EHOSTUNREACH, ENETUNREACH, ECONNREFUSED */
    uint64_t err_nobufs;     /* of which EAGAIN, ENOBUFS (socket buffer full: sends never wait) */
    uint64_t too_big;        /* larger than a UDP datagram can carry */
    uint64_t no_socket;      /* the analyzer's family has no socket */
    uint64_t sport_fallback; /* sent from the ephemeral-port socket (its port not bound) */
    uint64_t icmp_errors;    /* error-queue entries read (jm_read_errors) */
    uint64_t built;          /* dry run: datagrams built and not sent */
    uint64_t gso_msgs;       /* messages sent as one GSO train (UDP_SEGMENT) */
    uint64_t gso_segments;   /* the datagrams they carried */
    uint64_t gso_off;        /* sockets without GSO: not supported, or a train refused */
};

/* What became of each queued datagram, reported by jm_flush() in queue order. */
struct jm_result {
    uint32_t tag;                   /* as given to jm_queue() */
    const struct trig_analyzer *an; /* the destination (valid during the call) */
    size_t bytes;                   /* UDP payload octets */
    int err;                        /* 0 sent; else the errno */
};

struct jm_hooks {
    /* each datagram of a flush, in order (may be NULL) */
    void (*result)(void *arg, const struct jm_result *r);
    /* an ICMP error (or a local delivery error) from the error queue: the
     * destination it concerns, errno (ECONNREFUSED, EHOSTUNREACH, ...) */
    void (*icmp)(void *arg, const struct trig_analyzer *an, int err);
    /* a sentence to log once (a port sent from the fallback socket, ...);
     * no analyzer address in it (log lines carry no intercept data) */
    void (*notice)(void *arg, const char *text);
    void *arg;
};

struct jm_sender;

/* Opens the sockets (fails, with a sentence in err, if mirrorSource or
 * mirrorInterface cannot be used, or no family has a socket). */
struct jm_sender *jm_new(const struct jm_opts *o, const struct jm_hooks *h, char *err,
                         size_t errlen);
void jm_free(struct jm_sender *s);

/* The descriptors the sandbox must let send (sbx_set_datagram_fds) and the
 * loop must poll for POLLERR (then jm_read_errors()); returns how many. */
size_t jm_fds(const struct jm_sender *s, int *fds, size_t max);
/* Is port (host order) one of our sockets' local ports for family 4 or 6?
 * (the data path never mirrors its own datagrams) */
int jm_is_local_port(const struct jm_sender *s, int family, uint16_t port);
/* The local port (host order) a datagram to a leaves from; 0 none. */
uint16_t jm_source_port(const struct jm_sender *s, const struct trig_analyzer *a);

/* Writes the 8-octet header (version 0). */
void jm_header(uint8_t out[JM_HDR_LEN], uint32_t mirror_id, uint32_t session_id);

/* Queues ip[0..len) (an IP packet, already cut to its total length) to a
 * (copied: a need not outlive the call); flushes first when the batch is
 * full.  0 queued; -1 not (too big: EMSGSIZE, no socket for the family:
 * EAFNOSUPPORT; counted, and reported through hooks->result by the next
 * jm_flush(), in its place in the queue order, like every datagram). */
int jm_queue(struct jm_sender *s, const struct trig_analyzer *a, uint32_t mirror_id,
             uint32_t session_id, const uint8_t *ip, size_t len, uint32_t tag);
/* jm_queue() with the path MTU to a (jm_route.h; 0 unknown).  A run of
 * datagrams queued in a row to the same analyzer, of one length L (the last
 * may be shorter) with L + 8 + the IP header within path_mtu, leaves as one
 * UDP GSO message (UDP_SEGMENT = L, at most 64 datagrams) the kernel cuts
 * into the same datagrams: nothing changes on the wire, the send costs less.
 * Larger ones (fragmented), or with path_mtu 0, leave one by one. */
int jm_queue_mtu(struct jm_sender *s, const struct trig_analyzer *a, uint32_t mirror_id,
                 uint32_t session_id, const uint8_t *ip, size_t len, uint32_t tag,
                 unsigned path_mtu);
/* Sends what is queued; each datagram's outcome through hooks->result, in
 * queue order, once the whole batch is sent (a hook must not queue or flush).
 * A datagram refused by the kernel is not retried, except once after an
 * unreachable-kind error that may have belonged to an earlier datagram (a
 * pending ICMP error); EAGAIN (socket buffer full) fails the rest of that
 * socket's run at once. */
void jm_flush(struct jm_sender *s);
size_t jm_pending(const struct jm_sender *s);
/* Reads every socket's error queue (MSG_ERRQUEUE); hooks->icmp per entry.
 * Returns entries read. */
size_t jm_read_errors(struct jm_sender *s);

void jm_get_stats(const struct jm_sender *s, struct jm_stats *out);

#endif
