/*
 * pkt_decode.c - IPv4 (RFC 791), IPv6 (RFC 8200) with its extension headers,
 * UDP (RFC 768) and TCP (RFC 9293) for pkt_decode(); the link layers are in
 * pkt_l2.c.  What counts as malformed: docs/decoding.md.
 *
 * Abbreviations: hl IPv4 header length, tot IP total length, fo fragment
 * offset in bytes, nh IPv6 next header, iend/wiend captured/claimed end of
 * the IP packet (offsets into the frame).
 */
#include "pkt_internal.h"

#include <string.h>

#define IPPROTO_HOPOPTS_  0
#define IPPROTO_TCP_      6
#define IPPROTO_UDP_      17
#define IPPROTO_ROUTING_  43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_       51
#define IPPROTO_DSTOPTS_  60

#define IP_MAXPACKET_ 65535

static const char *const reason_names[PKT_REASON_COUNT] = {
    "ok",
    "bad-argument",
    "truncated",
    "unsupported-link-type",
    "bad-link-header",
    "vlan-depth",
    "ip-version",
    "ip-hdrlen",
    "ip-length",
    "ip-fragment",
    "ip6-ext",
    "udp-length",
    "tcp-hdrlen",
    "pppoe-length",
};

const char *pkt_reason_name(int rc)
{
    if (rc > 0 || rc <= -PKT_REASON_COUNT)
        return "unknown";
    return reason_names[-rc];
}

/*
 * UDP or TCP at off.  first: the packet holds the start of the transport
 * header (not a later fragment).  For a first fragment the UDP length
 * describes the whole datagram and is checked only for its minimum.
 */
static int l4(struct pkt_view *v, int first, size_t off, size_t iend, size_t wiend)
{
    const uint8_t *p = v->frame;
    v->l4_off = off;
    v->payload = p + off;
    v->payload_len = iend - off;
    if (!first)
        return PKT_OK;
    int frag = (v->flags & PKT_F_FRAG) != 0;
    if (v->proto == IPPROTO_UDP_) {
        if (wiend - off < 8)
            return frag ? PKT_OK : PKT_E_UDP_LEN; /* a tiny first fragment: ports later */
        if (iend - off < 8)
            return PKT_E_TRUNCATED;
        uint16_t ulen = pkt_rd16(p + off + 4);
        if (ulen < 8 || (!frag && ulen > wiend - off))
            return PKT_E_UDP_LEN;
        v->sport = pkt_rd16(p + off);
        v->dport = pkt_rd16(p + off + 2);
        v->udp_len = ulen;
        v->flags |= PKT_F_PORTS;
        size_t data = frag ? wiend - off - 8 : (size_t)ulen - 8;
        size_t have = iend - off - 8;
        v->payload = p + off + 8;
        v->payload_len = data < have ? data : have;
        return PKT_OK;
    }
    if (v->proto == IPPROTO_TCP_) {
        if (wiend - off < 20)
            return frag ? PKT_OK : PKT_E_TCP_HDRLEN;
        if (iend - off < 20)
            return PKT_E_TRUNCATED;
        size_t doff = (size_t)(p[off + 12] >> 4) * 4;
        if (doff < 20 || (!frag && doff > wiend - off))
            return PKT_E_TCP_HDRLEN;
        if (doff > wiend - off) /* options continue in the next fragment: ports later */
            return PKT_OK;
        if (doff > iend - off)
            return PKT_E_TRUNCATED;
        v->sport = pkt_rd16(p + off);
        v->dport = pkt_rd16(p + off + 2);
        v->tcp_flags = p[off + 13];
        v->flags |= PKT_F_PORTS;
        v->payload = p + off + doff;
        v->payload_len = iend - off - doff;
        return PKT_OK;
    }
    return PKT_OK;
}

/* Records the IP length and how much of it was captured. */
static void ip_extent(struct pkt_view *v, size_t off, size_t tot, size_t end)
{
    size_t avail = end - off;
    v->l3_off = off;
    v->ip_len = tot;
    v->l3_caplen = tot < avail ? tot : avail;
    if (tot > avail)
        v->flags |= PKT_F_SNAPPED;
}

static int ipv4(struct pkt_view *v, size_t off, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end - off < 20)
        return PKT_E_TRUNCATED;
    size_t hl = (size_t)(p[off] & 0x0f) * 4;
    if (hl < 20)
        return PKT_E_IP_HDRLEN;
    if (end - off < hl)
        return PKT_E_TRUNCATED;
    size_t tot = pkt_rd16(p + off + 2);
    /* Longer than the frame on the wire: malformed, whatever the snap length. */
    if (tot < hl || tot > wend - off)
        return PKT_E_IP_LEN;
    v->family = PKT_FAM_IPV4;
    ip_extent(v, off, tot, end);
    v->l3_hdrlen = hl;
    v->ttl = p[off + 8];
    v->proto = p[off + 9];
    memcpy(v->src, p + off + 12, 4);
    memcpy(v->dst, p + off + 16, 4);
    v->frag_id = pkt_rd16(p + off + 4);
    uint16_t ff = pkt_rd16(p + off + 6);
    v->frag_off = (uint32_t)(ff & 0x1fff) * 8;
    if (ff & 0x4000)
        v->flags |= PKT_F_DF;
    if (ff & 0x2000)
        v->flags |= PKT_F_MF;
    if ((ff & 0x2000) || v->frag_off != 0)
        v->flags |= PKT_F_FRAG;
    if (v->frag_off + (tot - hl) > IP_MAXPACKET_)
        return PKT_E_IP_FRAG;
    return l4(v, v->frag_off == 0, off + hl, off + v->l3_caplen, off + tot);
}

/*
 * IPv6 and its extension headers (RFC 8200 section 4): hop-by-hop only
 * first, at most one fragment header, at most PKT_MAX_IP6_EXT headers, each inside the payload
 * length. A fragment header with a non-zero offset ends the walk: what follows is fragment data. An
 * atomic fragment (offset 0, M clear; RFC 6946) is not a fragment.  ESP, No Next Header and unknown
 * headers end the walk too.
 */
static int ipv6(struct pkt_view *v, size_t off, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end - off < 40)
        return PKT_E_TRUNCATED;
    size_t tot = 40 + (size_t)pkt_rd16(p + off + 4);
    if (tot > wend - off)
        return PKT_E_IP_LEN;
    v->family = PKT_FAM_IPV6;
    ip_extent(v, off, tot, end);
    v->ttl = p[off + 7];
    memcpy(v->src, p + off + 8, 16);
    memcpy(v->dst, p + off + 24, 16);
    size_t iend = off + v->l3_caplen, wiend = off + tot;
    size_t cur = off + 40, nh_off = off + 6;
    uint8_t nh = p[nh_off];
    int first = 1, frag_seen = 0;
    unsigned n = 0;
    for (;;) {
        v->proto = nh;
        v->l3_hdrlen = cur - off;
        v->n_ext = n;
        if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ && nh != IPPROTO_DSTOPTS_ &&
            nh != IPPROTO_AH_ && nh != IPPROTO_FRAGMENT_)
            break;
        if (n == PKT_MAX_IP6_EXT || (nh == IPPROTO_HOPOPTS_ && n != 0))
            return PKT_E_IP6_EXT;
        if (wiend - cur < 8) /* every extension header is at least 8 bytes */
            return PKT_E_IP6_EXT;
        if (nh == IPPROTO_FRAGMENT_) {
            /* RFC 8200 section 4.1: at most once; a second one would hide the
             * first's offset and identification from reassembly. */
            if (frag_seen++)
                return PKT_E_IP6_EXT;
            if (iend - cur < 8)
                return PKT_E_TRUNCATED;
            uint16_t fm = pkt_rd16(p + cur + 2);
            uint32_t fo = fm & 0xfff8u;
            if (fo != 0 || (fm & 1)) {
                v->flags |= PKT_F_FRAG | ((fm & 1) ? PKT_F_MF : 0);
                v->frag_off = fo;
                v->frag_id = pkt_rd32(p + cur + 4);
                v->frag_hdr_off = cur;
                v->frag_nh_off = nh_off;
                if (fo + (wiend - cur - 8) > IP_MAXPACKET_)
                    return PKT_E_IP_FRAG;
            }
            nh_off = cur;
            nh = p[cur];
            cur += 8;
            n++;
            if (fo != 0) {
                first = 0;
                v->proto = nh;
                v->l3_hdrlen = cur - off;
                v->n_ext = n;
                break;
            }
            continue;
        }
        if (iend - cur < 2)
            return PKT_E_TRUNCATED;
        size_t len =
            nh == IPPROTO_AH_ ? ((size_t)p[cur + 1] + 2) * 4 : ((size_t)p[cur + 1] + 1) * 8;
        if (len > wiend - cur)
            return PKT_E_IP6_EXT;
        if (len > iend - cur)
            return PKT_E_TRUNCATED;
        nh_off = cur;
        nh = p[cur];
        cur += len;
        n++;
    }
    return l4(v, first, cur, iend, wiend);
}

int pkt_ip_decode(struct pkt_view *v, int want, size_t off, size_t end, size_t wend)
{
    if (end - off < 1)
        return PKT_E_TRUNCATED;
    int ver = v->frame[off] >> 4;
    if ((want != 0 && ver != want) || (ver != 4 && ver != 6))
        return PKT_E_IP_VERSION;
    return ver == 4 ? ipv4(v, off, end, wend) : ipv6(v, off, end, wend);
}

int pkt_decode(int dlt, const uint8_t *p, size_t caplen, size_t wirelen, struct pkt_view *out)
{
    if (out == NULL)
        return PKT_E_ARG;
    memset(out, 0, sizeof(*out));
    out->dlt = dlt;
    out->frame = p;
    out->caplen = caplen;
    out->wirelen = wirelen;
    if (p == NULL || caplen > wirelen) {
        out->caplen = 0;
        return PKT_E_ARG;
    }
    return pkt_l2_decode(out);
}

int pkt_is_superpacket(const struct pkt_view *v, unsigned mtu)
{
    if (v == NULL || v->family == PKT_FAM_NONE)
        return 0;
    /*
     * The kernel rewrites the IP length of a GRO/LRO-merged packet and a TSO
     * packet carries its unsegmented length, so the IP length tells.  (The
     * frame length does not: a NIC with rx-fcs on appends 4 bytes.)
     */
    return v->ip_len > mtu;
}
