/*
 * jm_send.c - the jmirror sender (jm_send.h, docs/jmirror.md): one UDP
 * datagram per mirrored IP packet, an 8-octet header first, queued into a
 * batch and sent with sendmmsg.
 *
 * The header: the first 32-bit word holds a 2-bit mirror header value (0)
 * in its two most significant bits and the 30-bit mirror identifier below
 * them; the second word is the session identifier; both in network order.
 * The payload is the IP packet from its header on.  The UDP checksum is the
 * kernel's; fragmentation too (the sockets, jm_sock.c).
 *
 * The batch: jm_queue() copies header and packet into one arena allocated
 * at jm_new() (the only copy), with the destination and the caller's tag in
 * a slot; jm_flush() sends each run of consecutive slots leaving from the
 * same socket with one sendmmsg (MSG_DONTWAIT: sends never wait, a full
 * socket buffer is an error, counted), then reports every slot's outcome in
 * queue order.  sendmmsg stops at the first datagram the kernel refuses and
 * returns how many went: the refused one is then sent alone to learn its
 * errno, and the run goes on after it.  An ICMP error received for an
 * earlier datagram (IP_RECVERR) is also reported by the socket's next send,
 * whatever that datagram's destination: so a datagram refused with an
 * unreachable-kind errno is tried once more before it counts as refused;
 * the ICMP error itself is read from the error queue (jm_read_errors()).
 *
 * UDP GSO: within a socket's run, consecutive slots to the same analyzer of
 * one length L (the last may be shorter), adjacent in the arena and within
 * the path MTU given to jm_queue_mtu(), leave as one message (a train: one
 * iovec over the slots, cmsg UDP_SEGMENT = L, at most 64 datagrams and a
 * UDP payload's octets) that the kernel cuts into the same datagrams.  A
 * train's outcome is each of its datagrams'; a train refused as a whole
 * (EINVAL, EIO) is sent again one by one and the socket's GSO
 * turned off (gso_off).
 */
#include <errno.h>
#include <time.h> /* before linux/errqueue.h, which uses struct timespec */
#include <linux/errqueue.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jm_priv.h"
#include "pmirrord/errbuf.h"

/* The largest UDP payload over IPv4 (65535 - 20 - 8) and over IPv6 (65535 - 8). */
#define JM_MAX_PAYLOAD4 65507u
#define JM_MAX_PAYLOAD6 65527u
#define JM_ERRQ_MAX     256 /* error-queue entries read per socket and call */

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

struct jm_sender *jm_new(const struct jm_opts *o, const struct jm_hooks *h, char *err,
                         size_t errlen)
{
    struct jm_sender *s = calloc(1, sizeof(*s));
    if (s == NULL || (s->arena = malloc(JM_ARENA_BYTES)) == NULL) {
        free(s);
        pm_err(err, errlen, "jmirror: out of memory");
        return NULL;
    }
    if (o != NULL)
        s->o = *o;
    else
        s->o.dscp = -1;
    if (s->o.nports > JM_PORTS_MAX)
        s->o.nports = JM_PORTS_MAX;
    if (h != NULL)
        s->h = *h;
    s->fallback[0] = s->fallback[1] = -1;
    if (!s->o.dry_run && jm_sock_open(s, err, errlen) < 0) {
        jm_free(s);
        return NULL;
    }
    return s;
}

void jm_free(struct jm_sender *s)
{
    if (s == NULL)
        return;
    jm_sock_close(s);
    if (s->arena != NULL)
        explicit_bzero(s->arena, JM_ARENA_BYTES);
    free(s->arena);
    free(s);
}

size_t jm_fds(const struct jm_sender *s, int *fds, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; s != NULL && i < s->nsocks && n < max; i++)
        fds[n++] = s->socks[i].fd;
    return n;
}

int jm_is_local_port(const struct jm_sender *s, int family, uint16_t port)
{
    for (size_t i = 0; s != NULL && i < s->nsocks; i++)
        if (s->socks[i].port == port && s->socks[i].family == family)
            return 1;
    return 0;
}

uint16_t jm_source_port(const struct jm_sender *s, const struct trig_analyzer *a)
{
    if (s == NULL || a == NULL)
        return 0;
    int i = jm_sock_for(s, a->family, a->port);
    return i >= 0 ? s->socks[i].port : 0;
}

size_t jm_pending(const struct jm_sender *s)
{
    return s != NULL ? s->n : 0;
}

void jm_get_stats(const struct jm_sender *s, struct jm_stats *out)
{
    if (s == NULL)
        memset(out, 0, sizeof(*out));
    else
        *out = s->st;
}

/* ---- the batch ------------------------------------------------------------------------------ */

static void set_name(union jm_addr *n, socklen_t *sl, const struct trig_analyzer *a)
{
    memset(n, 0, sizeof(*n));
    if (a->family == 4) {
        n->in.sin_family = AF_INET;
        n->in.sin_port = htons(a->port);
        memcpy(&n->in.sin_addr, a->addr, 4);
        *sl = sizeof(n->in);
    } else {
        n->in6.sin6_family = AF_INET6;
        n->in6.sin6_port = htons(a->port);
        memcpy(&n->in6.sin6_addr, a->addr, 16);
        *sl = sizeof(n->in6);
    }
}

int jm_queue(struct jm_sender *s, const struct trig_analyzer *a, uint32_t mirror_id,
             uint32_t session_id, const uint8_t *ip, size_t len, uint32_t tag)
{
    return jm_queue_mtu(s, a, mirror_id, session_id, ip, len, tag, 0);
}

int jm_queue_mtu(struct jm_sender *s, const struct trig_analyzer *a, uint32_t mirror_id,
                 uint32_t session_id, const uint8_t *ip, size_t len, uint32_t tag,
                 unsigned path_mtu)
{
    if (s == NULL || (ip == NULL && len > 0))
        return -1;
    if (s->n == JM_BATCH_MAX || s->used + JM_HDR_LEN + len > JM_ARENA_BYTES)
        jm_flush(s);
    struct jm_slot *sl = &s->slot[s->n];
    memset(sl, 0, sizeof(*sl));
    sl->tag = tag;
    sl->mtu = path_mtu;
    sl->sock = -1;
    sl->len = (uint32_t)(JM_HDR_LEN + len); /* refused ones too: what was lost */
    if (a != NULL)
        sl->an = *a;
    if (a == NULL || (a->family != 4 && a->family != 6)) {
        s->st.no_socket++;
        sl->err = EAFNOSUPPORT;
    } else if (len > (a->family == 4 ? JM_MAX_PAYLOAD4 : JM_MAX_PAYLOAD6) - JM_HDR_LEN) {
        s->st.too_big++;
        sl->err = EMSGSIZE;
    } else if (!s->o.dry_run && (sl->sock = jm_sock_for(s, a->family, a->port)) < 0) {
        s->st.no_socket++;
        sl->err = EAFNOSUPPORT;
    }
    if (sl->err != 0) { /* reported by the next flush, in its place */
        s->n++;
        return -1;
    }
    if (sl->sock >= 0 && s->socks[sl->sock].fallback) {
        s->st.sport_fallback++;
        jm_sock_notice(s, a->family, a->port,
                       a->port < 1024 ? "is below 1024 (a privileged port)"
                                      : "was not given a socket at start");
    }
    sl->off = (uint32_t)s->used;
    jm_header(s->arena + s->used, mirror_id, session_id);
    if (len > 0)
        memcpy(s->arena + s->used + JM_HDR_LEN, ip, len);
    s->used += sl->len;
    socklen_t nl;
    set_name(&s->name[s->n], &nl, a);
    s->iov[s->n] = (struct iovec){s->arena + sl->off, sl->len};
    s->mm[s->n].msg_hdr = (struct msghdr){
        .msg_name = &s->name[s->n], .msg_namelen = nl, .msg_iov = &s->iov[s->n], .msg_iovlen = 1};
    s->mm[s->n].msg_len = 0;
    s->n++;
    return 0;
}

/* An errno a send may return for an ICMP error received earlier on the
 * socket, possibly for another destination (icmp_err_convert: unreachable,
 * time exceeded, parameter problem; EMSGSIZE: an ICMPv6 Packet Too Big,
 * which Linux reports with path MTU discovery off too, and a datagram too
 * large for any path is refused before it is queued). */
static int pending_kind(int e)
{
    return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
           e == EACCES || e == EPROTO || e == ENOPROTOOPT || e == EOPNOTSUPP || e == EMSGSIZE;
}

static void count_error(struct jm_sender *s, int e)
{
    s->st.send_errors++;
    if (e == EHOSTUNREACH || e == ENETUNREACH || e == ECONNREFUSED)
        s->st.err_unreach++;
    else if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS)
        s->st.err_nobufs++;
}

/* Sends slots [i, j), all on one socket, a message each. */
static void send_plain(struct jm_sender *s, size_t i, size_t j)
{
    int fd = s->socks[s->slot[i].sock].fd;
    size_t k = i;
    unsigned eintr = 0;
    while (k < j) {
        int rc = sendmmsg(fd, &s->mm[k], (unsigned)(j - k), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (rc > 0) {
            s->st.batches++;
            for (size_t m = k; m < k + (size_t)rc; m++) {
                s->st.sent++;
                s->st.bytes += s->slot[m].len;
            }
            k += (size_t)rc;
            continue;
        }
        int e = rc < 0 ? errno : EAGAIN;
        if (e == EINTR && eintr++ < 4)
            continue;
        if (pending_kind(e) && !s->slot[k].retried) {
            s->slot[k].retried = 1; /* maybe another datagram's ICMP error: once more */
            continue;
        }
        if (e == EAGAIN || e == EWOULDBLOCK) { /* the buffer is full: so for the rest too */
            for (; k < j; k++) {
                s->slot[k].err = e;
                count_error(s, e);
            }
            break;
        }
        s->slot[k].err = e;
        count_error(s, e);
        k++;
    }
}

/* ---- GSO: a train of equal datagrams as one message ------------------------------------------ */

static int same_dest(const struct jm_slot *a, const struct jm_slot *b)
{
    return a->an.family == b->an.family && a->an.port == b->an.port &&
           memcmp(a->an.addr, b->an.addr, a->an.family == 4 ? 4 : 16) == 0;
}

/* May slot a head a train: its datagram fits the path MTU unfragmented. */
static int gso_head(const struct jm_slot *a)
{
    size_t outer = (size_t)a->len + 8 + (a->an.family == 4 ? 20 : 40);
    return a->mtu != 0 && outer <= a->mtu;
}

/* How many slots from k on go in k's train (1: none), within [k, j). */
static size_t train_len(const struct jm_sender *s, size_t k, size_t j)
{
    const struct jm_slot *h = &s->slot[k];
    if (!s->socks[h->sock].gso || !gso_head(h))
        return 1;
    size_t max = h->an.family == 4 ? JM_MAX_PAYLOAD4 : JM_MAX_PAYLOAD6;
    size_t n = 1, total = h->len;
    while (k + n < j && n < JM_GSO_MAX) {
        const struct jm_slot *x = &s->slot[k + n], *prev = &s->slot[k + n - 1];
        if (x->len > h->len || x->mtu != h->mtu || total + x->len > max || !same_dest(h, x) ||
            x->off != prev->off + prev->len)
            break;
        total += x->len;
        n++;
        if (x->len < h->len) /* a shorter last segment ends the train */
            break;
    }
    return n;
}

/* Message m: slots [k, k + n), one datagram's own or a train. */
static void build_msg(struct jm_sender *s, size_t m, size_t k, size_t n)
{
    s->gfirst[m] = (uint16_t)k;
    s->gcount[m] = (uint16_t)n;
    s->gm[m] = s->mm[k];
    if (n == 1)
        return;
    const struct jm_slot *h = &s->slot[k], *last = &s->slot[k + n - 1];
    s->giov[m] = (struct iovec){s->arena + h->off, last->off + last->len - h->off};
    struct msghdr *mh = &s->gm[m].msg_hdr;
    mh->msg_iov = &s->giov[m];
    mh->msg_iovlen = 1;
    mh->msg_control = s->gctl[m].buf;
    mh->msg_controllen = sizeof(s->gctl[m].buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(mh);
    c->cmsg_level = SOL_UDP;
    c->cmsg_type = UDP_SEGMENT;
    c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t seg = (uint16_t)h->len;
    memcpy(CMSG_DATA(c), &seg, sizeof(seg));
}

static void msg_sent(struct jm_sender *s, size_t m)
{
    size_t k = s->gfirst[m], n = s->gcount[m];
    for (size_t x = k; x < k + n; x++) {
        s->st.sent++;
        s->st.bytes += s->slot[x].len;
    }
    if (n > 1) {
        s->st.gso_msgs++;
        s->st.gso_segments += n;
    }
}

static void msg_failed(struct jm_sender *s, size_t m, int e)
{
    for (size_t x = s->gfirst[m]; x < (size_t)s->gfirst[m] + s->gcount[m]; x++) {
        s->slot[x].err = e;
        count_error(s, e);
    }
}

/* A train the kernel refuses as a whole (no GSO on the device or path, a
 * segment over the MTU): its datagrams one by one, and no more trains on
 * that socket. */
static int gso_refused(struct jm_sender *s, size_t m, int e)
{
    /* not EMSGSIZE: that is a pending ICMPv6 Packet Too Big of any destination
     * (the train's sizes are checked before it is built) */
    if (s->gcount[m] < 2 || (e != EINVAL && e != EIO))
        return 0;
    struct jm_sock *so = &s->socks[s->slot[s->gfirst[m]].sock];
    if (so->gso) {
        so->gso = 0;
        s->st.gso_off++;
    }
    send_plain(s, s->gfirst[m], (size_t)s->gfirst[m] + s->gcount[m]);
    return 1;
}

/* Sends messages [0, nm), all on one socket: send_plain()'s rules per message. */
static void send_msgs(struct jm_sender *s, int fd, size_t nm)
{
    size_t k = 0;
    unsigned eintr = 0;
    while (k < nm) {
        int rc = sendmmsg(fd, &s->gm[k], (unsigned)(nm - k), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (rc > 0) {
            s->st.batches++;
            for (size_t m = k; m < k + (size_t)rc; m++)
                msg_sent(s, m);
            k += (size_t)rc;
            continue;
        }
        int e = rc < 0 ? errno : EAGAIN;
        if (e == EINTR && eintr++ < 4)
            continue;
        if (gso_refused(s, k, e)) {
            k++;
            continue;
        }
        struct jm_slot *h = &s->slot[s->gfirst[k]];
        if (pending_kind(e) && !h->retried) {
            h->retried = 1; /* maybe another datagram's ICMP error: once more */
            continue;
        }
        if (e == EAGAIN || e == EWOULDBLOCK) { /* the buffer is full: so for the rest too */
            for (; k < nm; k++)
                msg_failed(s, k, e);
            break;
        }
        msg_failed(s, k, e);
        k++;
    }
}

/* Sends slots [i, j), all on one socket: trains where they form, else one by one. */
static void send_run(struct jm_sender *s, size_t i, size_t j)
{
    size_t nm = 0, trains = 0;
    for (size_t k = i; k < j; nm++) {
        size_t n = train_len(s, k, j);
        build_msg(s, nm, k, n);
        trains += n > 1;
        k += n;
    }
    if (trains == 0)
        send_plain(s, i, j);
    else
        send_msgs(s, s->socks[s->slot[i].sock].fd, nm);
}

void jm_flush(struct jm_sender *s)
{
    if (s == NULL || s->n == 0)
        return;
    size_t n = s->n;
    if (s->o.dry_run) {
        for (size_t i = 0; i < n; i++)
            s->st.built += s->slot[i].err == 0;
    } else {
        size_t i = 0;
        while (i < n) {
            if (s->slot[i].err != 0) {
                i++;
                continue;
            }
            size_t j = i + 1;
            while (j < n && s->slot[j].err == 0 && s->slot[j].sock == s->slot[i].sock)
                j++;
            send_run(s, i, j);
            i = j;
        }
    }
    for (size_t i = 0; i < n && s->h.result != NULL; i++) {
        const struct jm_slot *sl = &s->slot[i];
        struct jm_result r = {sl->tag, &sl->an, sl->len, sl->err};
        s->h.result(s->h.arg, &r);
    }
    /* The batch held the target's packets behind their mirror IDs: they were sent,
     * and nothing of them stays (docs/hygiene.md).  The octets were just written:
     * the wipe costs a pass over warm cache, once a batch. */
    explicit_bzero(s->arena, s->used);
    s->n = 0;
    s->used = 0;
}

/* ---- the error queue ------------------------------------------------------------------------ */

size_t jm_read_errors(struct jm_sender *s)
{
    size_t total = 0;
    for (size_t i = 0; s != NULL && i < s->nsocks; i++) {
        for (unsigned k = 0; k < JM_ERRQ_MAX; k++) {
            uint8_t data[64]; /* the datagram that caused it, cut: not needed */
            union jm_addr name;
            union {
                struct cmsghdr align;
                uint8_t buf[512];
            } ctl;
            struct iovec iov = {data, sizeof(data)};
            struct msghdr mh = {.msg_name = &name,
                                .msg_namelen = sizeof(name),
                                .msg_iov = &iov,
                                .msg_iovlen = 1,
                                .msg_control = ctl.buf,
                                .msg_controllen = sizeof(ctl.buf)};
            memset(&name, 0, sizeof(name));
            ssize_t rc = recvmsg(s->socks[i].fd, &mh, MSG_ERRQUEUE | MSG_DONTWAIT);
            if (rc < 0) {
                if (errno == EINTR)
                    continue;
                break; /* EAGAIN: empty */
            }
            total++;
            s->st.icmp_errors++;
            const struct sock_extended_err *ee = NULL;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
                if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                    (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
                    ee = (const struct sock_extended_err *)CMSG_DATA(c);
            /* a Packet Too Big (IPv6; IPv4's Fragmentation Needed is not queued
             * with path MTU discovery off) says the path is narrower, not
             * that the analyzer is unreachable: the kernel fragments the next
             * datagrams to that MTU */
            if (ee == NULL || ee->ee_errno == EMSGSIZE || s->h.icmp == NULL)
                continue;
            struct trig_analyzer an;
            memset(&an, 0, sizeof(an));
            if (name.sa.sa_family == AF_INET && mh.msg_namelen >= sizeof(name.in)) {
                an.family = 4;
                memcpy(an.addr, &name.in.sin_addr, 4);
                an.port = ntohs(name.in.sin_port);
            } else if (name.sa.sa_family == AF_INET6 && mh.msg_namelen >= sizeof(name.in6)) {
                an.family = 6;
                memcpy(an.addr, &name.in6.sin6_addr, 16);
                an.port = ntohs(name.in6.sin6_port);
            } else {
                continue; /* no destination: nothing to say it of */
            }
            s->h.icmp(s->h.arg, &an, (int)ee->ee_errno);
        }
    }
    return total;
}
