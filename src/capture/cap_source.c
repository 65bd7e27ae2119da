/*
 * cap_source.c - live capture sources on libpcap, and what every source
 * shares (cap_source.h; pcap files are in cap_offline.c).
 *
 * Ring choice (libpcap 1.10 on Linux, pcap-linux.c): libpcap uses TPACKET_V3
 * unless immediate mode is set, which forces TPACKET_V2.  V3 fills blocks and
 * hands a block over when it is full or when its retire timer (the pcap
 * timeout, in ms) fires, so a lone RADIUS packet waits up to that timeout; V2
 * immediate mode wakes the reader for every frame, but its ring has fixed
 * slots of snaplen (or MTU + 18 with offloads off) bytes and overflows under a
 * flood.  Sources that carry signalling must deliver within signallingLatency.
 * Measured (docs/capture-sources.md "Latency"): role signalling, BPF-filtered,
 * uses immediate mode; role both uses V3 with a block timeout of half the
 * latency, since V2 dropped signalling frames at full data rate; role data
 * uses V3 with a CAP_DATA_TIMEOUT_MS timeout.  A V3 source's poll timeout is
 * its block timeout, so a block the kernel retired is read in time.
 *
 * The handle is non-blocking; the caller polls pcap_get_selectable_fd() and
 * calls cap_source_dispatch(), which reads at most one batch.  A capture
 * error (PCAP_ERROR: ENETDOWN, ENODEV when the interface is deleted) or a
 * DELLINK for our ifindex closes the handle at once and the source is DOWN;
 * a NEWLINK for our name opens it again.  ifindex and MTU are read with
 * ioctl(SIOCGIFINDEX/SIOCGIFMTU) on the packet socket itself, so no other
 * socket is needed.  libpcap creates no threads; the system calls it makes
 * are listed in docs/capture-sources.md for the seccomp allowlist.
 */
#include "cap_priv.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

int64_t cap_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void event(struct cap_source *src, enum cap_event ev)
{
    if (src->on_event != NULL)
        src->on_event(src->arg, src, ev, src->reason);
}

void cap_set_state(struct cap_source *src, enum cap_state st, enum cap_cause cause, const char *fmt,
                   ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->reason, sizeof(src->reason), fmt, ap);
    va_end(ap);
    src->state = st;
    src->cause = cause;
    event(src, CAP_EV_STATE);
}

void cap_warn(struct cap_source *src, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(src->reason, sizeof(src->reason), fmt, ap);
    va_end(ap);
    event(src, CAP_EV_WARN);
}

/* Compiled here, where the handle's link type is known: the directive's
 * filter, and the exclusion (cap_source_set_exclude) as "(FILTER) and not
 * (EXCLUDE)".  A filter that does not compile leaves the handle's as it was. */
int cap_filter(struct cap_source *src, char *err, size_t errlen)
{
    static char text[CAP_FILTER_MAX + CAP_EXCLUDE_MAX + 32]; /* one thread */
    struct bpf_program prog;
    const char *f = src->spec.filter, *x = src->exclude;
    if (f[0] == '\0' && x[0] == '\0') {
        if (src->filtered == 0)
            return 0;
        snprintf(text, sizeof(text), "%s", ""); /* an exclusion removed: everything again */
    } else if (x[0] == '\0') {
        snprintf(text, sizeof(text), "%s", f);
    } else if (f[0] == '\0') {
        snprintf(text, sizeof(text), "not (%s)", x);
    } else {
        snprintf(text, sizeof(text), "(%s) and not (%s)", f, x);
    }
    if (pcap_compile(src->p, &prog, text, 1, PCAP_NETMASK_UNKNOWN) < 0)
        return pm_err(err, errlen, "capture %s: filter: %s", src->spec.src, pcap_geterr(src->p));
    int rc = pcap_setfilter(src->p, &prog);
    pcap_freecode(&prog);
    if (rc < 0)
        return pm_err(err, errlen, "capture %s: setting the filter: %s", src->spec.src,
                      pcap_geterr(src->p));
    src->filtered = text[0] != '\0';
    return 0;
}

int cap_source_set_exclude(struct cap_source *src, const char *expr, char *err, size_t errlen)
{
    static char old[CAP_EXCLUDE_MAX]; /* one thread */
    if (expr == NULL)
        expr = "";
    if (strlen(expr) >= sizeof(src->exclude))
        return pm_err(err, errlen, "capture %s: exclusion of %zu octets is too long", src->spec.src,
                      strlen(expr));
    if (strcmp(expr, src->exclude) == 0)
        return 0;
    memcpy(old, src->exclude, sizeof(old));
    snprintf(src->exclude, sizeof(src->exclude), "%s", expr);
    if (src->p == NULL)
        return 0; /* set at the next activation */
    if (cap_filter(src, err, errlen) < 0) {
        memcpy(src->exclude, old, sizeof(old)); /* the handle keeps the old one */
        return -1;
    }
    return 0;
}

struct cap_source *cap_source_new(const struct cap_spec *spec, cap_packet_fn on_packet,
                                  cap_event_fn on_event, void *arg, char *err, size_t errlen)
{
    if (spec->src[0] == '\0' || on_packet == NULL) {
        pm_err(err, errlen, "capture: a source needs a name and a packet callback");
        return NULL;
    }
    struct cap_source *src = calloc(1, sizeof(*src));
    if (src == NULL) {
        pm_err(err, errlen, "capture %s: out of memory", spec->src);
        return NULL;
    }
    src->spec = *spec;
    src->on_packet = on_packet;
    src->on_event = on_event;
    src->arg = arg;
    src->latency_ms = CAP_LATENCY_MS_DEFAULT;
    src->batch = CAP_BATCH_DEFAULT;
    src->pollfd = -1;
    src->file_fd = -1;
    return src;
}

/* The handle's drop counters since it was opened (libpcap sums the kernel's
 * PACKET_STATISTICS, which reset at every read). */
static void handle_drops(pcap_t *p, uint64_t *kdrops, uint64_t *ifdrops)
{
    struct pcap_stat ps;
    memset(&ps, 0, sizeof(ps));
    if (pcap_stats(p, &ps) == 0) {
        *kdrops += ps.ps_drop;
        *ifdrops += ps.ps_ifdrop;
    }
}

/* Adds the handle's drop counters to the totals and closes it. */
static void close_live(struct cap_source *src)
{
    if (src->p == NULL)
        return;
    handle_drops(src->p, &src->kdrops_base, &src->ifdrops_base);
    pcap_close(src->p);
    src->p = NULL;
    src->pollfd = -1;
}

void cap_source_set_arg(struct cap_source *src, void *arg)
{
    src->arg = arg;
}

void cap_source_free(struct cap_source *src)
{
    if (src == NULL)
        return;
    if (src->spec.offline)
        cap_offline_close(src);
    else
        close_live(src);
    if (src->file_fd >= 0)
        close(src->file_fd);
    free(src);
}

int cap_source_set_latency(struct cap_source *src, unsigned ms, char *err, size_t errlen)
{
    if (ms < 1 || ms > 1000)
        return pm_err(err, errlen, "capture %s: latency %u ms is not 1..1000", src->spec.src, ms);
    src->latency_ms = ms;
    return 0;
}

int cap_source_set_ring(struct cap_source *src, enum cap_ring ring, char *err, size_t errlen)
{
    if (ring != CAP_RING_AUTO && ring != CAP_RING_IMMEDIATE && ring != CAP_RING_BLOCK)
        return pm_err(err, errlen, "capture %s: unknown ring mode %d", src->spec.src, (int)ring);
    src->ring = ring;
    return 0;
}

int cap_source_set_batch(struct cap_source *src, int batch, char *err, size_t errlen)
{
    if (batch < 1 || batch > 4096)
        return pm_err(err, errlen, "capture %s: batch %d is not 1..4096", src->spec.src, batch);
    src->batch = batch;
    return 0;
}

int cap_source_set_fd(struct cap_source *src, int fd, char *err, size_t errlen)
{
    if (!src->spec.offline)
        return pm_err(err, errlen, "capture %s: a descriptor is for pcap:FILE sources only",
                      src->spec.src);
    if (fd < 0 || src->p != NULL)
        return pm_err(err, errlen, "capture pcap:%s: descriptor given twice or invalid",
                      src->spec.src);
    if (src->file_fd >= 0)
        close(src->file_fd);
    src->file_fd = fd;
    return 0;
}

/* Link-layer header length per DLT, plus 8 octets for two VLAN tags (libpcap
 * puts the tag the NIC stripped back into the frame), so that a wire-size
 * frame is never mistaken for a super-packet.  0 = unknown link: no check. */
static uint32_t link_header(int dlt)
{
    switch (dlt) {
    case DLT_EN10MB:
        return 14 + 8;
    case DLT_LINUX_SLL:
        return 16 + 8;
    case DLT_LINUX_SLL2:
        return 20 + 8;
    case DLT_RAW:
        return 0 + 8;
    default:
        return 0;
    }
}

/* AUTO: signalling sources (BPF-filtered, low rate) in immediate mode; data
 * and both in TPACKET_V3, which keeps up with a full data rate where V2 drops
 * (docs/capture-sources.md "Latency"). */
static int want_immediate(const struct cap_source *src)
{
    if (src->ring != CAP_RING_AUTO)
        return src->ring == CAP_RING_IMMEDIATE;
    return src->spec.role == CAP_ROLE_SIGNALLING;
}

/* TPACKET_V3 block timeout in ms: half of signallingLatency for sources that
 * carry signalling, so that the reader's wake-up and a busy CPU still fit in
 * the latency (a lone packet waits up to one timeout); 50 ms for data. */
static int block_timeout(const struct cap_source *src)
{
    if (src->spec.role == CAP_ROLE_DATA)
        return (int)CAP_DATA_TIMEOUT_MS;
    return src->latency_ms >= 2 ? (int)src->latency_ms / 2 : 1;
}

/* The interface's own Ethernet address, read on the packet socket itself
 * (at every activation and NEWLINK: an address can change). */
static void read_mac(struct cap_source *src)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IFNAMSIZ - 1, src->spec.src);
    src->has_mac = src->dlt == DLT_EN10MB && src->pollfd >= 0 &&
                   ioctl(src->pollfd, SIOCGIFHWADDR, &ifr) == 0 &&
                   ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
    if (src->has_mac)
        memcpy(src->mac, ifr.ifr_hwaddr.sa_data, sizeof(src->mac));
}

/* How the frame crossed the interface (docs/capture-sources.md "Direction").
 * libpcap's callback does not give the packet type of an Ethernet capture
 * (the kernel's sll_pkttype stays in the ring), so a frame whose source
 * address is the interface's own was sent by this host, any other received;
 * but one whose destination is the interface's own address too was received
 * (this host never sends a frame to itself on the wire): a sender on the
 * link forging our source address must not have its frames taken for ours,
 * out of an ingress mirror.  A cooked capture carries the packet type itself. */
int cap_frame_dir(const struct cap_source *src, const struct pcap_pkthdr *h, const u_char *b)
{
    switch (src->dlt) {
    case DLT_EN10MB:
        if (!src->has_mac || h->caplen < 12)
            return CAP_DIR_UNKNOWN;
        if (memcmp(b + 6, src->mac, sizeof(src->mac)) != 0)
            return CAP_DIR_IN;
        /* from us to us: forged, except on the loopback (all-zero address,
         * each frame seen twice: labelled sent as before) */
        static const uint8_t zero[6];
        return memcmp(b, src->mac, sizeof(src->mac)) != 0 ||
                       memcmp(src->mac, zero, sizeof(zero)) == 0
                   ? CAP_DIR_OUT
                   : CAP_DIR_IN;
    case DLT_LINUX_SLL: /* sll_pkttype, 16 bits at 0 */
        if (h->caplen < 2)
            return CAP_DIR_UNKNOWN;
        return ((b[0] << 8) | b[1]) == PACKET_OUTGOING ? CAP_DIR_OUT : CAP_DIR_IN;
    case DLT_LINUX_SLL2: /* sll2_pkttype, 8 bits at 10 */
        if (h->caplen < 11)
            return CAP_DIR_UNKNOWN;
        return b[10] == PACKET_OUTGOING ? CAP_DIR_OUT : CAP_DIR_IN;
    default:
        return CAP_DIR_UNKNOWN;
    }
}

/* Opens the live handle.  Returns 0 when up, 1 when the interface does not
 * exist, 2 when it is not up (nothing opened), -1 with err on any other
 * failure. */
static int open_live(struct cap_source *src, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    const char *name = src->spec.src;
    int immediate = want_immediate(src);
    int timeout = block_timeout(src);

    src->p = pcap_create(name, ebuf);
    if (src->p == NULL)
        return pm_err(err, errlen, "capture %s: %s", name, ebuf);
    if (pcap_set_snaplen(src->p, (int)src->spec.snaplen) != 0 || pcap_set_promisc(src->p, 0) != 0 ||
        pcap_set_buffer_size(src->p, (int)(src->spec.buffer_mib << 20)) != 0 ||
        pcap_set_timeout(src->p, timeout) != 0 || pcap_set_immediate_mode(src->p, immediate) != 0) {
        pm_err(err, errlen, "capture %s: setting the capture options: %s", name,
               pcap_geterr(src->p));
        goto fail;
    }
    int rc = pcap_activate(src->p);
    /* libpcap 1.10 refuses an interface that is not up (ENETDOWN at bind):
     * like an absent one, it is waited for; its NEWLINK with IFF_UP comes. */
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_IFACE_NOT_UP) {
        pcap_close(src->p);
        src->p = NULL;
        return rc == PCAP_ERROR_NO_SUCH_DEVICE ? 1 : 2;
    }
    if (rc != 0) {
        const char *why = pcap_geterr(src->p)[0] ? pcap_geterr(src->p) : pcap_statustostr(rc);
        if (rc < 0) {
            pm_err(err, errlen, "capture %s: %s", name, why);
            goto fail;
        }
        cap_warn(src, "capture %s: %s", name, why);
    }
    if (cap_filter(src, err, errlen) < 0)
        goto fail;
    if (pcap_setnonblock(src->p, 1, ebuf) < 0) {
        pm_err(err, errlen, "capture %s: non-blocking mode: %s", name, ebuf);
        goto fail;
    }
    src->pollfd = pcap_get_selectable_fd(src->p);
    if (src->pollfd < 0) {
        pm_err(err, errlen, "capture %s: no selectable descriptor", name);
        goto fail;
    }
    src->dlt = pcap_datalink(src->p);
    src->immediate = immediate;

    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IFNAMSIZ - 1, name);
    src->ifindex = ioctl(src->pollfd, SIOCGIFINDEX, &ifr) == 0 ? (unsigned)ifr.ifr_ifindex : 0;
    src->mtu = ioctl(src->pollfd, SIOCGIFMTU, &ifr) == 0 ? ifr.ifr_mtu : 0;
    read_mac(src);
    uint32_t lh = link_header(src->dlt);
    src->super_limit = src->mtu > 0 && lh > 0 ? (uint32_t)src->mtu + lh : 0;
    return 0;
fail:
    pcap_close(src->p);
    src->p = NULL;
    src->pollfd = -1;
    return -1;
}

/* (Re)opens a live source; MISSING/DOWN stay as they are when it fails. */
static int try_open(struct cap_source *src, int first, char *err, size_t errlen)
{
    int rc = open_live(src, err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 1 && first)
        cap_set_state(src, CAP_STATE_MISSING, CAP_CAUSE_ABSENT,
                      "capture %s: no such interface; capture begins when it appears",
                      src->spec.src);
    if (rc == 2 && first)
        cap_set_state(src, CAP_STATE_DOWN, CAP_CAUSE_NOT_UP,
                      "capture %s: down: the interface is not up; capture begins when it is",
                      src->spec.src);
    if (rc > 0)
        return 0;
    src->activations++;
    if (src->immediate)
        cap_set_state(src, CAP_STATE_UP, CAP_CAUSE_OPENED,
                      "capture %s: up, ifindex %u, mtu %d, %s, immediate mode "
                      "(TPACKET_V2)",
                      src->spec.src, src->ifindex, src->mtu, pcap_datalink_val_to_name(src->dlt));
    else
        cap_set_state(src, CAP_STATE_UP, CAP_CAUSE_OPENED,
                      "capture %s: up, ifindex %u, mtu %d, %s, TPACKET_V3 "
                      "blocks, timeout %d ms",
                      src->spec.src, src->ifindex, src->mtu, pcap_datalink_val_to_name(src->dlt),
                      block_timeout(src));
    return 0;
}

int cap_source_activate(struct cap_source *src, char *err, size_t errlen)
{
    if (src->state != CAP_STATE_INIT)
        return pm_err(err, errlen, "capture %s: already activated", src->spec.src);
    if (src->spec.offline)
        return cap_offline_open(src, err, errlen);
    return try_open(src, 1, err, errlen);
}

static void go_down(struct cap_source *src, enum cap_cause cause, const char *why)
{
    char reason[160];
    snprintf(reason, sizeof(reason), "%.150s", why);
    src->lost_ifindex = src->ifindex;
    close_live(src);
    cap_set_state(src, CAP_STATE_DOWN, cause,
                  "capture %s: down: %s; it reopens when the interface returns", src->spec.src,
                  reason);
}

int cap_source_pollfd(const struct cap_source *src)
{
    return src->state == CAP_STATE_UP && !src->spec.offline ? src->pollfd : -1;
}

int cap_source_poll_timeout(const struct cap_source *src)
{
    if (src->state != CAP_STATE_UP)
        return -1;
    if (src->spec.offline)
        return cap_offline_timeout(src);
    if (!src->immediate)
        return block_timeout(src);
    return -1;
}

struct live_batch {
    struct cap_source *src;
    int taken;
};

static void live_cb(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    struct live_batch *b = (struct live_batch *)user;
    struct cap_source *src = b->src;
    struct cap_packet pkt = {
        .dlt = src->dlt,
        .ts_sec = h->ts.tv_sec,
        .ts_usec = (uint32_t)h->ts.tv_usec,
        .caplen = h->caplen,
        .wirelen = h->len,
        .dir = cap_frame_dir(src, h, bytes),
        .data = bytes,
    };
    if (src->super_limit != 0 && h->len > src->super_limit) {
        pkt.flags |= CAP_PKT_SUPER;
        src->super_packets++;
        if (!src->super_warned) {
            src->super_warned = 1;
            cap_warn(src,
                     "capture %s: super-packet of %u bytes > MTU %d + link header: GRO/LRO/TSO "
                     "is on, mirrored packets would not be wire packets; turn the offloads off "
                     "(ethtool -K %s gro off lro off tso off gso off)",
                     src->spec.src, h->len, src->mtu, src->spec.src);
        }
    }
    if (src->on_packet(src->arg, src, &pkt) == CAP_PKT_FULL) {
        src->backlog_drops++;
        pcap_breakloop(src->p);
        return;
    }
    b->taken++;
    src->packets++;
    src->bytes += h->caplen;
    src->last_ts_sec = pkt.ts_sec;
    src->last_ts_usec = pkt.ts_usec;
}

int cap_source_dispatch(struct cap_source *src, char *err, size_t errlen)
{
    if (src->state == CAP_STATE_INIT)
        return pm_err(err, errlen, "capture %s: dispatch before activation", src->spec.src);
    if (src->state != CAP_STATE_UP)
        return 0;
    if (src->spec.offline)
        return cap_offline_dispatch(src);
    struct live_batch b = {src, 0};
    int rc = pcap_dispatch(src->p, src->batch, live_cb, (u_char *)&b);
    if (rc < 0 && rc != PCAP_ERROR_BREAK) {
        char why[PCAP_ERRBUF_SIZE + 32];
        snprintf(why, sizeof(why), "capture error: %s", pcap_geterr(src->p));
        go_down(src, CAP_CAUSE_ERROR, why);
    }
    return b.taken;
}

void cap_source_link(struct cap_source *src, enum cap_link what, unsigned ifindex,
                     const char *ifname, unsigned ifflags)
{
    char err[CAP_REASON_MAX];
    if (src->spec.offline || src->state == CAP_STATE_INIT)
        return;
    int ours = ifname != NULL && strcmp(ifname, src->spec.src) == 0;

    switch (what) {
    case CAP_LINK_DEL:
        if (src->state == CAP_STATE_UP && (ifindex == src->ifindex || ours))
            go_down(src, CAP_CAUSE_DELETED, "interface deleted");
        return;
    case CAP_LINK_NEW:
        if (!ours)
            return;
        if (src->state == CAP_STATE_UP) {
            if (ifindex == src->ifindex) {
                read_mac(src); /* its address may have changed */
                return;
            }
            go_down(src, CAP_CAUSE_REPLACED, "interface replaced");
        }
        /* The interface we lost, still being torn down: wait for it to be
         * up again or for a new one. */
        if (src->state == CAP_STATE_DOWN && ifindex == src->lost_ifindex && !(ifflags & IFF_UP))
            return;
        break;
    case CAP_LINK_RESYNC:
        if (src->state == CAP_STATE_UP) {
            struct ifreq ifr;
            memset(&ifr, 0, sizeof(ifr));
            snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IFNAMSIZ - 1, src->spec.src);
            if (ioctl(src->pollfd, SIOCGIFINDEX, &ifr) == 0 &&
                (unsigned)ifr.ifr_ifindex == src->ifindex)
                return;
            go_down(src, CAP_CAUSE_GONE, "interface gone (found after lost link notifications)");
        }
        break;
    }
    if (try_open(src, 0, err, sizeof(err)) < 0)
        cap_warn(src, "%s", err);
}

enum cap_state cap_source_state(const struct cap_source *src)
{
    return src->state;
}

enum cap_cause cap_source_cause(const struct cap_source *src)
{
    return src->cause;
}

const struct cap_spec *cap_source_spec(const struct cap_source *src)
{
    return &src->spec;
}

void cap_source_stats(struct cap_source *src, struct cap_stats *st)
{
    memset(st, 0, sizeof(*st));
    st->state = src->state;
    st->cause = src->cause;
    snprintf(st->reason, sizeof(st->reason), "%s", src->reason);
    st->packets = src->packets;
    st->bytes = src->bytes;
    st->kernel_drops = src->kdrops_base;
    st->if_drops = src->ifdrops_base;
    st->backlog_drops = src->backlog_drops;
    st->super_packets = src->super_packets;
    st->reopens = src->activations > 1 ? (uint64_t)src->activations - 1 : 0;
    st->last_ts_sec = src->last_ts_sec;
    st->last_ts_usec = src->last_ts_usec;
    st->mtu = src->mtu;
    st->immediate = src->immediate;
    st->offset = src->offset;
    st->size = src->size;
    st->excluding = src->exclude[0] != '\0';
    if (!src->spec.offline && src->p != NULL)
        handle_drops(src->p, &st->kernel_drops, &st->if_drops);
}
