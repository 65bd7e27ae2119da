/*
 * pkt_segment.c - GRO/TSO super-packets split back into wire packets
 * (pkt_segment.h).
 *
 * The cut is the one the kernel's TCP segmentation offload makes in software
 * (GSO): every segment carries the IP and TCP headers of the super-packet,
 * options included, and at most MSS = MTU - IP header - TCP header octets of
 * its payload.  Per segment: the IPv4 total length, identifier (the first
 * segment keeps the super-packet's, each next one adds 1) and header
 * checksum (RFC 791), or the IPv6 payload length (RFC 8200); the TCP
 * sequence number advanced by the payload of the segments before; FIN and
 * PSH kept on the last segment only, CWR on the first only (RFC 3168 6.1.2);
 * the TCP checksum over the pseudo-header (RFC 9293 3.1, RFC 8200 8.1).
 *
 * Everything is validated before the first segment is handed over: an
 * answer other than PSEG_SPLIT means the callback was never called.  A
 * malformed packet (lengths that disagree, a header cut short, an IPv4
 * fragment, IPv6 jumbo payload length 0) is PSEG_UNSPLIT when it exceeds
 * the MTU, PSEG_FITS otherwise; no octet past len is read.
 */
#include "pmirrord/pkt_segment.h"

#include <string.h>

#define PSEG_PROTO_TCP 6
#define TCP_FIN        0x01
#define TCP_PSH        0x08
#define TCP_CWR        0x80

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The one's complement sum (RFC 1071), not yet folded. */
static uint64_t sum_add(uint64_t sum, const uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; i + 1 < n; i += 2)
        sum += get16(p + i);
    if (i < n)
        sum += (uint32_t)p[i] << 8;
    return sum;
}

static uint16_t sum_fold(uint64_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* The super-packet as parsed: where the headers end, what is cut. */
struct pseg_view {
    int v6;
    size_t iphl;  /* IP header octets */
    size_t tcphl; /* TCP header octets */
    size_t plen;  /* TCP payload octets */
};

static int parse4(const uint8_t *ip, size_t len, struct pseg_view *v)
{
    if (len < 20)
        return -1;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > len || get16(ip + 2) != len)
        return -1;
    if ((get16(ip + 6) & 0x3fff) != 0 || ip[9] != PSEG_PROTO_TCP)
        return -1; /* a fragment (MF or an offset), or not TCP */
    v->v6 = 0;
    v->iphl = ihl;
    return 0;
}

static int parse6(const uint8_t *ip, size_t len, struct pseg_view *v)
{
    if (len < 40 || get16(ip + 4) == 0 || (size_t)get16(ip + 4) + 40 != len)
        return -1; /* payload length 0: a jumbogram (RFC 2675), not cut here */
    if (ip[6] != PSEG_PROTO_TCP)
        return -1; /* extension headers: not split */
    v->v6 = 1;
    v->iphl = 40;
    return 0;
}

static int parse(const uint8_t *ip, size_t len, struct pseg_view *v)
{
    int rc;
    switch (ip[0] >> 4) {
    case 4:
        rc = parse4(ip, len, v);
        break;
    case 6:
        rc = parse6(ip, len, v);
        break;
    default:
        return -1;
    }
    if (rc < 0 || len - v->iphl < 20)
        return -1;
    size_t doff = (size_t)(ip[v->iphl + 12] >> 4) * 4;
    if (doff < 20 || doff > len - v->iphl)
        return -1;
    v->tcphl = doff;
    v->plen = len - v->iphl - doff;
    return 0;
}

/* The TCP checksum of seg (IP header then TCP segment of tcplen octets). */
static uint16_t tcp_csum(const uint8_t *seg, const struct pseg_view *v, size_t tcplen)
{
    uint64_t sum = 0;
    if (v->v6) {
        sum = sum_add(sum, seg + 8, 32); /* source and destination */
        sum += (uint32_t)tcplen >> 16;
        sum += tcplen & 0xffff;
    } else {
        sum = sum_add(sum, seg + 12, 8);
        sum += tcplen;
    }
    sum += PSEG_PROTO_TCP;
    return sum_fold(sum_add(sum, seg + v->iphl, tcplen));
}

enum pseg_rc pkt_segment(const uint8_t *ip, size_t len, unsigned mtu, uint8_t *buf, size_t buflen,
                         pseg_fn fn, void *arg, size_t *nseg)
{
    if (nseg)
        *nseg = 0;
    if (mtu == 0 || len <= mtu)
        return PSEG_FITS;
    if (ip == NULL || buf == NULL || fn == NULL || mtu < PSEG_MTU_MIN || buflen < mtu)
        return PSEG_UNSPLIT;
    struct pseg_view v;
    if (parse(ip, len, &v) < 0)
        return PSEG_UNSPLIT;
    size_t hl = v.iphl + v.tcphl;
    if (hl >= mtu || v.plen == 0)
        return PSEG_UNSPLIT; /* headers alone fill the MTU; nothing to cut */
    size_t mss = mtu - hl;

    const uint8_t *tcp = ip + v.iphl;
    uint32_t seq = get32(tcp + 4);
    uint16_t id = v.v6 ? 0 : get16(ip + 4);
    uint8_t flags = tcp[13];
    size_t n = 0;
    for (size_t off = 0; off < v.plen; off += mss, n++) {
        size_t chunk = v.plen - off < mss ? v.plen - off : mss;
        int last = off + chunk == v.plen;
        size_t seglen = hl + chunk;
        memcpy(buf, ip, hl);
        memcpy(buf + hl, tcp + v.tcphl + off, chunk);
        if (v.v6) {
            put16(buf + 4, (uint16_t)(seglen - 40));
        } else {
            put16(buf + 2, (uint16_t)seglen);
            put16(buf + 4, (uint16_t)(id + n));
            put16(buf + 10, 0);
            put16(buf + 10, sum_fold(sum_add(0, buf, v.iphl)));
        }
        uint8_t *th = buf + v.iphl;
        put32(th + 4, seq + (uint32_t)off);
        uint8_t f = flags;
        if (!last)
            f &= (uint8_t) ~(TCP_FIN | TCP_PSH);
        if (n > 0)
            f &= (uint8_t)~TCP_CWR;
        th[13] = f;
        put16(th + 16, 0);
        put16(th + 16, tcp_csum(buf, &v, seglen - v.iphl));
        if (nseg)
            *nseg = n + 1;
        if (fn(arg, buf, seglen) < 0)
            break;
    }
    return PSEG_SPLIT;
}
