/*
 * cap_frames.c - what the capture process does with every frame a source
 * delivers: decode (pkt_decode.h), drop the copy of a packet already seen on
 * another source (pkt_dedupe.h), reassemble fragmented UDP (ip_reasm.h),
 * classify RADIUS (RFC 2865, 2866: UDP 1812/1813, the old 1645/1646; RFC
 * 5176: 3799; and the ports of the configured peers) and DHCP (RFC 2131:
 * UDP 67/68), count per source and for the process, hand signalling packets
 * to the trackers and every IP packet to the data path (cap_mirror.c).
 * Also the process's clock (cap_clock, cap_proc.h), which runs the
 * trackers' and the engine's timers as a pcap file's time passes them.
 */
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <string.h>
#include <time.h>

#include "cap_proc_priv.h"
#include "pmirrord/ip_reasm.h"
#include "pmirrord/log.h"
#include "pmirrord/pkt_dedupe.h"

void cap_clock_packet(struct cap_clock *c, int64_t ts_sec, uint32_t ts_usec)
{
    if (ts_sec > 0)
        c->last_pkt_ms = (uint64_t)ts_sec * 1000 + ts_usec / 1000;
}

uint64_t cap_clock_now_ms(const struct cap_clock *c)
{
    if (c->offline_only)
        return c->last_pkt_ms;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void cap_clock_pass(struct cap_clock *c)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    c->pass_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t cap_clock_frame_ms(const struct cap_clock *c)
{
    if (c->offline_only || c->pass_ms == 0)
        return cap_clock_now_ms(c);
    return c->pass_ms;
}

int cp_radius_port(uint16_t port)
{
    return port == 1812 || port == 1813 || port == 1645 || port == 1646 || port == 3799;
}

int cp_dhcp_port(uint16_t port)
{
    return port == 67 || port == 68;
}

/* FNV-1a, 64 bits: the test builds' digest of the signalling packets. */
static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

/*
 * Test builds: a digest of the decoded signalling packets, the sum of one
 * FNV-1a per packet over what does not depend on how it was captured (the
 * addresses, ports and UDP payload; no link layer, no timestamp), so a live
 * capture and a pcap file of the same traffic give the same value whatever
 * the order.
 */
static void digest(struct cap_proc *p, const struct pkt_view *v)
{
    size_t alen = v->family == PKT_FAM_IPV4 ? 4 : 16;
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    uint8_t fam = (uint8_t)v->family;
    h = fnv1a(h, &fam, 1);
    h = fnv1a(h, v->src, alen);
    h = fnv1a(h, v->dst, alen);
    h = fnv1a(h, &v->sport, sizeof(v->sport));
    h = fnv1a(h, &v->dport, sizeof(v->dport));
    h = fnv1a(h, v->payload, v->payload_len);
    p->sig_digest += h;
}

/*
 * RADIUS and DHCP packets, decoded and reassembled, one call per packet
 * (duplicates from other sources already removed), to their trackers.
 */
static void cp_signalling(struct cap_proc *p, const struct pkt_view *v, int radius, int64_t ts_sec,
                          uint32_t ts_usec)
{
    if (p->test_build)
        digest(p, v);
    cp_sess_signalling(p, v, radius, ts_sec, ts_usec);
}

static void classify(struct cap_proc *p, struct cp_source *s, const struct pkt_view *v,
                     int64_t ts_sec, uint32_t ts_usec)
{
    if (v->proto != IPPROTO_UDP || !(v->flags & PKT_F_PORTS))
        return;
    if (cp_radius_port(v->sport) || cp_radius_port(v->dport) || cp_sess_radius_wants(p, v)) {
        s->radius++;
        p->radius++;
        cp_signalling(p, v, 1, ts_sec, ts_usec);
    } else if (cp_dhcp_port(v->sport) || cp_dhcp_port(v->dport)) {
        s->dhcp++;
        p->dhcp++;
        cp_signalling(p, v, 0, ts_sec, ts_usec);
    }
}

void cp_frame(struct cap_proc *p, struct cp_source *s, int dlt, const uint8_t *data, size_t caplen,
              size_t wirelen, int64_t ts_sec, uint32_t ts_usec, int iface_dir)
{
    struct pkt_view v;

    cap_clock_packet(&p->clock, ts_sec, ts_usec);
    p->frame_us = ts_sec > 0 ? ts_sec * 1000000 + ts_usec : 0;
    uint64_t now = cap_clock_frame_ms(&p->clock);
    if (pkt_decode(dlt, data, caplen, wirelen, &v) != 0) {
        s->malformed++;
        p->malformed++;
        return;
    }
    p->decoded++;
    if (v.family == PKT_FAM_NONE)
        return;
    /* copies are dropped only across sources: one source has none */
    if (p->nsrc > 1 && pkt_dedupe_seen(p->dedupe, &v, (unsigned)(s - p->src), now)) {
        s->duplicates++;
        p->duplicates++;
        return;
    }
    if (now >= p->timer_due_ms)
        cp_sess_timers(p, now);
    /* a fragment as it is, before reassembly; the frame's clock read once */
    cp_mirror(p, s, &v, iface_dir, p->super_mtu, (int64_t)now);
    if (!(v.flags & PKT_F_FRAG)) {
        classify(p, s, &v, ts_sec, ts_usec);
        return;
    }
    if (v.proto != IPPROTO_UDP)
        return; /* only RADIUS and DHCP are reassembled */
    static uint8_t whole[REASM_MAX_PACKET];
    size_t n = 0;
    int rc = reasm_add(p->reasm, &v, now, whole, sizeof(whole), &n);
    if (rc == REASM_COMPLETE) {
        struct pkt_view w;
        p->reasm_completed++;
        if (pkt_decode(DLT_RAW, whole, n, n, &w) == 0)
            classify(p, s, &w, ts_sec, ts_usec);
        else
            s->malformed++, p->malformed++;
        memset(whole, 0, n);
    } else if (rc < 0) {
        p->reasm_dropped++;
    }
}

int cp_on_packet(void *arg, struct cap_source *src, const struct cap_packet *pkt)
{
    struct cp_source *s = arg;
    struct cap_proc *p = s->proc;
    p->super_mtu = 0;
    if (pkt->flags & CAP_PKT_SUPER) { /* GRO/TSO: cut back to the interface's MTU */
        if (s->mtu == 0) {
            struct cap_stats st;
            cap_source_stats(src, &st);
            s->mtu = st.mtu > 0 ? (unsigned)st.mtu : 0;
        }
        p->super_mtu = s->mtu;
    }
    int dir = pkt->dir == CAP_DIR_IN    ? TRIG_DIR_INGRESS
              : pkt->dir == CAP_DIR_OUT ? TRIG_DIR_EGRESS
                                        : -1;
    cp_frame(p, s, pkt->dlt, pkt->data, pkt->caplen, pkt->wirelen, pkt->ts_sec, pkt->ts_usec, dir);
    p->super_mtu = 0;
    return CAP_PKT_TAKEN;
}
