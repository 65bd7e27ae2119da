/*
 * test_pkt_decode.c - pkt_decode() (src/capture/pkt_decode.c, pkt_l2.c) on
 * frames written byte by byte: every link type and encapsulation, every
 * malformed case, and every truncation of every valid frame (with the
 * frame cut short, and with a snap length).  Each input is copied to a heap
 * buffer of its exact size so ASan sees any read past it.
 */
#include "check.h"
#include "pmirrord/pkt_decode.h"

#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* IPv4 192.0.2.1 -> 198.51.100.2, id 0x1234, TTL 64, UDP 1024 -> 1812, "abcd": 32 bytes. */
#define IP4_HDR(totlen, ff, proto)                                                                 \
    0x45, 0x00, 0x00, (totlen), 0x12, 0x34, (ff) >> 8, (ff)&0xff, 0x40, (proto), 0x00, 0x00, 0xc0, \
        0x00, 0x02, 0x01, 0xc6, 0x33, 0x64, 0x02
#define UDP_HDR(len) 0x04, 0x00, 0x07, 0x14, 0x00, (len), 0x00, 0x00
#define IP4_UDP      IP4_HDR(32, 0, 17), UDP_HDR(12), 'a', 'b', 'c', 'd'
/* IPv6 2001:db8::1 -> 2001:db8::2, hop limit 64. */
#define IP6_HDR(plen, nh)                                                                          \
    0x60, 0x00, 0x00, 0x00, 0x00, (plen), (nh), 0x40, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, \
        0, 0, 0, 0, 0x01, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02
#define IP6_UDP IP6_HDR(12, 17), UDP_HDR(12), 'a', 'b', 'c', 'd'
#define MACS    0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02

static const uint8_t eth_ip4[] = {MACS, 0x08, 0x00, IP4_UDP};
static const uint8_t eth_ip6[] = {MACS, 0x86, 0xdd, IP6_UDP};
static const uint8_t dot1q[] = {MACS, 0x81, 0x00, 0x20, 0x64, 0x08, 0x00, IP4_UDP};
static const uint8_t qinq[] = {MACS, 0x88, 0xa8, 0x00, 0xc8, 0x81,
                               0x00, 0x00, 0x64, 0x08, 0x00, IP4_UDP};
static const uint8_t qinq9100[] = {MACS, 0x91, 0x00, 0x00, 0x0a, 0x81,
                                   0x00, 0x00, 0x14, 0x86, 0xdd, IP6_UDP};
static const uint8_t pppoe4[] = {MACS, 0x88, 0x64, 0x11, 0x00, 0x12,
                                 0x34, 0x00, 34,   0x00, 0x21, IP4_UDP};
static const uint8_t pppoe6_vlan[] = {MACS, 0x81, 0x00, 0x00, 0x07, 0x88, 0x64, 0x11,
                                      0x00, 0xbe, 0xef, 0x00, 54,   0x00, 0x57, IP6_UDP};
/* PPP protocol field compression: 0x21 alone is IPv4 (RFC 1661 section 6.5). */
static const uint8_t pppoe_pfc[] = {MACS, 0x88, 0x64, 0x11, 0x00,   0x00,
                                    0x01, 0x00, 33,   0x21, IP4_UDP};
static const uint8_t pppoe_lcp[] = {MACS, 0x88, 0x64, 0x11, 0x00, 0x00, 0x01, 0x00,
                                    6,    0xc0, 0x21, 0x09, 0x01, 0x00, 0x00};
static const uint8_t pppoe_disc[] = {MACS, 0x88, 0x63, 0x11, 0x09, 0x00, 0x00, 0x00, 0x00};
static const uint8_t sll[] = {0x00, 0x00, 0x00, 0x01, 0x00, 0x06, 0x02, 0x00,   0x00,
                              0x00, 0x00, 0x02, 0x00, 0x00, 0x08, 0x00, IP4_UDP};
static const uint8_t sll_vlan[] = {0x00, 0x04, 0x00, 0x01, 0x00, 0x06, 0x02,
                                   0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00,
                                   0x81, 0x00, 0x00, 0x64, 0x08, 0x00, IP4_UDP};
/* SLL on a ppp interface: ARPHRD_PPP (512), no address. */
static const uint8_t sll_ppp[] = {0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0,    0,      0,
                                  0,    0,    0,    0,    0,    0x86, 0xdd, IP6_UDP};
static const uint8_t sll2[] = {0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x01,   0x04,
                               0x06, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, IP4_UDP};
static const uint8_t raw4[] = {IP4_UDP};
static const uint8_t raw6[] = {IP6_UDP};
static const uint8_t null4[] = {0x02, 0x00, 0x00, 0x00, IP4_UDP};
static const uint8_t null6[] = {0x1e, 0x00, 0x00, 0x00, IP6_UDP};
static const uint8_t loop4[] = {0x00, 0x00, 0x00, 0x02, IP4_UDP};
/* Hop-by-hop (PadN), then a first fragment (M set, id 0xabcd) of a 100-byte UDP datagram. */
static const uint8_t ip6_hbh_frag[] = {
    IP6_HDR(40, 0),
    44,
    0,
    0x01,
    0x04,
    0,
    0,
    0,
    0, /* hop-by-hop */
    17,
    0,
    0,
    0x01,
    0,
    0,
    0xab,
    0xcd, /* fragment: offset 0, M */
    UDP_HDR(100),
    'x',
    'x',
    'x',
    'x',
    'x',
    'x',
    'x',
    'x', /* 16 bytes */
    'y',
    'y',
    'y',
    'y',
    'y',
    'y',
    'y',
    'y',
};
/* The next fragment: offset 24, M clear: data only. */
static const uint8_t ip6_frag2[] = {
    IP6_HDR(16, 44), 17, 0, 0x00, 0x18, 0, 0, 0xab, 0xcd, 'z', 'z', 'z', 'z', 'z', 'z', 'z', 'z'};
/* IPv4 TCP 192.0.2.1:1024 -> 198.51.100.2:1812, SYN|ACK, data offset 6 (4 option bytes). */
#define TCP_SYNACK                                                                                 \
    0x04, 0x00, 0x07, 0x14, 0, 0, 0, 1, 0, 0, 0, 0, 0x60, 0x12, 0xff, 0xff, 0, 0, 0, 0, 0x02,      \
        0x04, 0x05, 0xb4
static const uint8_t raw4_tcp[] = {IP4_HDR(46, 0x4000, 6), TCP_SYNACK, 'h', 'i'};
/* Second IPv4 fragment (offset 8 * 8 = 64, MF clear): 12 data bytes. */
static const uint8_t raw4_frag2[] = {
    IP4_HDR(32, 0x0008, 17), 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
/* ARP request: no IP. */
static const uint8_t eth_arp[] = {MACS, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1, 2,   0, 0, 0, 0,
                                  2,    192,  0,    2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2};
/* An 802.3 length field (46) and LLC. */
static const uint8_t eth_llc[] = {MACS, 0x00, 0x2e, 0x42, 0x42, 0x03, 0, 0, 0, 0};
/* Ethernet padding to 60 bytes after a 32-byte IPv4 packet. */
static const uint8_t eth_padded[60] = {MACS, 0x08, 0x00, IP4_UDP};

struct frame {
    const char *name;
    int dlt;
    const uint8_t *p;
    size_t len;
};

#define F(dlt, a)                                                                                  \
    {                                                                                              \
#a, dlt, a, sizeof(a)                                                                      \
    }
static const struct frame frames[] = {
    F(DLT_EN10MB, eth_ip4),     F(DLT_EN10MB, eth_ip6),   F(DLT_EN10MB, dot1q),
    F(DLT_EN10MB, qinq),        F(DLT_EN10MB, qinq9100),  F(DLT_EN10MB, pppoe4),
    F(DLT_EN10MB, pppoe6_vlan), F(DLT_EN10MB, pppoe_pfc), F(DLT_EN10MB, pppoe_lcp),
    F(DLT_EN10MB, pppoe_disc),  F(DLT_LINUX_SLL, sll),    F(DLT_LINUX_SLL, sll_vlan),
    F(DLT_LINUX_SLL, sll_ppp),  F(DLT_LINUX_SLL2, sll2),  F(DLT_RAW, raw4),
    F(DLT_RAW, raw6),           F(DLT_IPV4, raw4),        F(DLT_IPV6, raw6),
    F(DLT_NULL, null4),         F(DLT_NULL, null6),       F(DLT_LOOP, loop4),
    F(DLT_RAW, ip6_hbh_frag),   F(DLT_RAW, ip6_frag2),    F(DLT_RAW, raw4_tcp),
    F(DLT_RAW, raw4_frag2),     F(DLT_EN10MB, eth_arp),   F(DLT_EN10MB, eth_llc),
    F(DLT_EN10MB, eth_padded),
};

/* Decodes a heap copy of exactly caplen bytes. */
static int decode(int dlt, const uint8_t *p, size_t caplen, size_t wirelen, struct pkt_view *v,
                  uint8_t **copy)
{
    *copy = malloc(caplen ? caplen : 1);
    CHECK(*copy != NULL);
    memcpy(*copy, p, caplen);
    return pkt_decode(dlt, *copy, caplen, wirelen, v);
}

/* What must hold of any view, whatever the result. */
static void check_view(const struct pkt_view *v, int rc)
{
    const uint8_t *end = v->frame + v->caplen;
    CHECK(rc <= 0 && rc > -PKT_REASON_COUNT);
    CHECK(strcmp(pkt_reason_name(rc), "unknown") != 0);
    CHECK(v->nvlan <= PKT_MAX_VLAN);
    CHECK(v->n_ext <= PKT_MAX_IP6_EXT);
    if (rc == 0 && v->family != PKT_FAM_NONE) {
        CHECK(v->l3_off <= v->caplen && v->l3_caplen <= v->caplen - v->l3_off);
        CHECK(v->l3_caplen <= v->ip_len);
        CHECK(v->l3_hdrlen <= v->l3_caplen);
        CHECK(v->l4_off >= v->l3_off + v->l3_hdrlen && v->l4_off <= v->l3_off + v->l3_caplen);
        CHECK(v->payload >= v->frame + v->l4_off && v->payload <= end);
        CHECK(v->payload_len <= (size_t)(end - v->payload));
        CHECK(((v->flags & PKT_F_SNAPPED) != 0) == (v->l3_caplen < v->ip_len));
    }
}

static void test_truncations(const struct frame *f)
{
    struct pkt_view full, v;
    uint8_t *copy;
    int rc = decode(f->dlt, f->p, f->len, f->len, &full, &copy);
    if (rc != 0)
        fprintf(stderr, "%s: %s\n", f->name, pkt_reason_name(rc));
    CHECK(rc == 0);
    check_view(&full, rc);
    int has_ip = full.family != PKT_FAM_NONE && full.l3_off + full.ip_len == f->len;
    for (size_t k = 0; k < f->len; k++) {
        uint8_t *c2;
        /* Cut short on the wire: an IP frame without padding is always an error. */
        rc = decode(f->dlt, copy, k, k, &v, &c2);
        check_view(&v, rc);
        if (has_ip && rc == 0)
            fprintf(stderr, "%s cut at %zu decoded\n", f->name, k);
        CHECK(!has_ip || rc != 0);
        free(c2);
        /* Cut by a snap length: truncated, or a view that agrees with the whole frame. */
        rc = decode(f->dlt, copy, k, f->len, &v, &c2);
        check_view(&v, rc);
        CHECK(rc == 0 || rc == PKT_E_TRUNCATED);
        if (rc == 0) {
            CHECK(v.family == full.family && v.nvlan == full.nvlan);
            CHECK(v.ethertype == full.ethertype);
            if (v.family != PKT_FAM_NONE) {
                CHECK(v.ip_len == full.ip_len && v.proto == full.proto);
                CHECK(memcmp(v.src, full.src, 16) == 0 && memcmp(v.dst, full.dst, 16) == 0);
                CHECK((v.flags & PKT_F_SNAPPED) || k >= full.l3_off + full.ip_len);
            }
            if (v.flags & PKT_F_PORTS)
                CHECK(v.sport == full.sport && v.dport == full.dport);
        }
        free(c2);
    }
    free(copy);
}

static const uint8_t ip4_src[4] = {192, 0, 2, 1}, ip4_dst[4] = {198, 51, 100, 2};
static const uint8_t ip6_src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};

static void expect_udp4(const struct pkt_view *v, size_t l3_off)
{
    CHECK(v->family == PKT_FAM_IPV4);
    CHECK(v->l3_off == l3_off && v->l3_hdrlen == 20 && v->ip_len == 32 && v->l3_caplen == 32);
    CHECK(memcmp(v->src, ip4_src, 4) == 0 && memcmp(v->dst, ip4_dst, 4) == 0);
    CHECK(v->ttl == 64 && v->proto == 17 && v->frag_id == 0x1234 && !(v->flags & PKT_F_FRAG));
    CHECK((v->flags & PKT_F_PORTS) && v->sport == 1024 && v->dport == 1812 && v->udp_len == 12);
    CHECK(v->l4_off == l3_off + 20);
    CHECK(v->payload_len == 4 && memcmp(v->payload, "abcd", 4) == 0);
}

static void expect_udp6(const struct pkt_view *v, size_t l3_off)
{
    CHECK(v->family == PKT_FAM_IPV6);
    CHECK(v->l3_off == l3_off && v->l3_hdrlen == 40 && v->ip_len == 52 && v->n_ext == 0);
    CHECK(memcmp(v->src, ip6_src, 16) == 0 && v->dst[15] == 2 && v->ttl == 64);
    CHECK(v->proto == 17 && (v->flags & PKT_F_PORTS) && v->sport == 1024 && v->dport == 1812);
    CHECK(v->payload_len == 4 && memcmp(v->payload, "abcd", 4) == 0);
}

static int dec(int dlt, const uint8_t *p, size_t n, struct pkt_view *v)
{
    return pkt_decode(dlt, p, n, n, v);
}

static void test_values(void)
{
    struct pkt_view v;
    static const uint8_t mac1[6] = {2, 0, 0, 0, 0, 1}, mac2[6] = {2, 0, 0, 0, 0, 2};

    CHECK(dec(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), &v) == 0);
    expect_udp4(&v, 14);
    CHECK((v.flags & PKT_F_SRCMAC) && (v.flags & PKT_F_DSTMAC));
    CHECK(memcmp(v.dst_mac, mac1, 6) == 0 && memcmp(v.src_mac, mac2, 6) == 0);
    CHECK(v.ethertype == 0x0800 && v.nvlan == 0 && v.dlt == DLT_EN10MB);

    CHECK(dec(DLT_EN10MB, eth_ip6, sizeof(eth_ip6), &v) == 0);
    expect_udp6(&v, 14);

    CHECK(dec(DLT_EN10MB, dot1q, sizeof(dot1q), &v) == 0);
    expect_udp4(&v, 18);
    CHECK(v.nvlan == 1 && v.vlan_tpid[0] == 0x8100 && v.vlan_tci[0] == 0x2064);
    CHECK((v.vlan_tci[0] & 0xfff) == 100);

    CHECK(dec(DLT_EN10MB, qinq, sizeof(qinq), &v) == 0);
    expect_udp4(&v, 22);
    CHECK(v.nvlan == 2 && v.vlan_tpid[0] == 0x88a8 && v.vlan_tci[0] == 200);
    CHECK(v.vlan_tpid[1] == 0x8100 && v.vlan_tci[1] == 100);

    CHECK(dec(DLT_EN10MB, qinq9100, sizeof(qinq9100), &v) == 0);
    expect_udp6(&v, 22);
    CHECK(v.nvlan == 2 && v.vlan_tpid[0] == 0x9100 && v.vlan_tci[0] == 10 && v.vlan_tci[1] == 20);

    CHECK(dec(DLT_EN10MB, pppoe4, sizeof(pppoe4), &v) == 0);
    expect_udp4(&v, 22);
    CHECK((v.flags & PKT_F_PPPOE) && v.pppoe_sid == 0x1234 && v.ppp_proto == 0x0021);

    CHECK(dec(DLT_EN10MB, pppoe6_vlan, sizeof(pppoe6_vlan), &v) == 0);
    expect_udp6(&v, 26);
    CHECK(v.nvlan == 1 && (v.flags & PKT_F_PPPOE) && v.pppoe_sid == 0xbeef);
    CHECK(v.ppp_proto == 0x0057);

    CHECK(dec(DLT_EN10MB, pppoe_pfc, sizeof(pppoe_pfc), &v) == 0);
    expect_udp4(&v, 21);
    CHECK(v.ppp_proto == 0x21);

    CHECK(dec(DLT_EN10MB, pppoe_lcp, sizeof(pppoe_lcp), &v) == 0);
    CHECK(v.family == PKT_FAM_NONE && (v.flags & PKT_F_PPPOE) && v.ppp_proto == 0xc021);

    CHECK(dec(DLT_EN10MB, pppoe_disc, sizeof(pppoe_disc), &v) == 0);
    CHECK(v.family == PKT_FAM_NONE && (v.flags & PKT_F_PPPOE_DISC) && !(v.flags & PKT_F_PPPOE));
    CHECK(v.ethertype == 0x8863);

    CHECK(dec(DLT_LINUX_SLL, sll, sizeof(sll), &v) == 0);
    expect_udp4(&v, 16);
    CHECK((v.flags & PKT_F_SRCMAC) && !(v.flags & PKT_F_DSTMAC));
    CHECK(memcmp(v.src_mac, mac2, 6) == 0 && v.sll_pkttype == 0);

    CHECK(dec(DLT_LINUX_SLL, sll_vlan, sizeof(sll_vlan), &v) == 0);
    expect_udp4(&v, 20);
    CHECK(v.nvlan == 1 && (v.vlan_tci[0] & 0xfff) == 100 && v.sll_pkttype == 4);

    CHECK(dec(DLT_LINUX_SLL, sll_ppp, sizeof(sll_ppp), &v) == 0);
    expect_udp6(&v, 16);
    CHECK(!(v.flags & PKT_F_SRCMAC));

    CHECK(dec(DLT_LINUX_SLL2, sll2, sizeof(sll2), &v) == 0);
    expect_udp4(&v, 20);
    CHECK(v.sll_ifindex == 3 && v.sll_pkttype == 4 && (v.flags & PKT_F_SRCMAC));
    CHECK(memcmp(v.src_mac, mac2, 6) == 0);

    CHECK(dec(DLT_RAW, raw4, sizeof(raw4), &v) == 0);
    expect_udp4(&v, 0);
    CHECK(v.ethertype == 0 && !(v.flags & (PKT_F_SRCMAC | PKT_F_DSTMAC)));
    CHECK(dec(DLT_IPV4, raw4, sizeof(raw4), &v) == 0);
    expect_udp4(&v, 0);
    CHECK(dec(DLT_RAW, raw6, sizeof(raw6), &v) == 0);
    expect_udp6(&v, 0);
    CHECK(dec(DLT_IPV6, raw6, sizeof(raw6), &v) == 0);
    expect_udp6(&v, 0);
    CHECK(dec(DLT_IPV4, raw6, sizeof(raw6), &v) == PKT_E_IP_VERSION);
    CHECK(dec(DLT_IPV6, raw4, sizeof(raw4), &v) == PKT_E_IP_VERSION);

    CHECK(dec(DLT_NULL, null4, sizeof(null4), &v) == 0);
    expect_udp4(&v, 4);
    CHECK(dec(DLT_NULL, null6, sizeof(null6), &v) == 0);
    expect_udp6(&v, 4);
    CHECK(dec(DLT_LOOP, loop4, sizeof(loop4), &v) == 0);
    expect_udp4(&v, 4);

    CHECK(dec(DLT_RAW, ip6_hbh_frag, sizeof(ip6_hbh_frag), &v) == 0);
    CHECK(v.family == PKT_FAM_IPV6 && v.n_ext == 2 && v.l3_hdrlen == 56 && v.proto == 17);
    CHECK((v.flags & PKT_F_FRAG) && (v.flags & PKT_F_MF) && v.frag_off == 0);
    CHECK(v.frag_id == 0xabcd && v.frag_hdr_off == 48 && v.frag_nh_off == 40);
    CHECK((v.flags & PKT_F_PORTS) && v.sport == 1024 && v.dport == 1812 && v.udp_len == 100);
    CHECK(v.payload_len == 16 && v.payload[0] == 'x' && v.payload[15] == 'y');

    CHECK(dec(DLT_RAW, ip6_frag2, sizeof(ip6_frag2), &v) == 0);
    CHECK(v.family == PKT_FAM_IPV6 && v.n_ext == 1 && v.proto == 17 && v.frag_off == 24);
    CHECK((v.flags & PKT_F_FRAG) && !(v.flags & PKT_F_MF) && !(v.flags & PKT_F_PORTS));
    CHECK(v.frag_nh_off == 6 && v.payload_len == 8 && v.payload[0] == 'z');

    CHECK(dec(DLT_RAW, raw4_tcp, sizeof(raw4_tcp), &v) == 0);
    CHECK(v.proto == 6 && (v.flags & PKT_F_PORTS) && v.sport == 1024 && v.dport == 1812);
    CHECK(v.tcp_flags == 0x12 && (v.flags & PKT_F_DF) && v.payload_len == 2);
    CHECK(memcmp(v.payload, "hi", 2) == 0);

    CHECK(dec(DLT_RAW, raw4_frag2, sizeof(raw4_frag2), &v) == 0);
    CHECK((v.flags & PKT_F_FRAG) && !(v.flags & PKT_F_MF) && v.frag_off == 64);
    CHECK(!(v.flags & PKT_F_PORTS) && v.payload_len == 12 && v.payload[0] == 1);

    CHECK(dec(DLT_EN10MB, eth_arp, sizeof(eth_arp), &v) == 0);
    CHECK(v.family == PKT_FAM_NONE && v.ethertype == 0x0806);
    CHECK(dec(DLT_EN10MB, eth_llc, sizeof(eth_llc), &v) == 0);
    CHECK(v.family == PKT_FAM_NONE && (v.flags & PKT_F_LLC));

    CHECK(dec(DLT_EN10MB, eth_padded, sizeof(eth_padded), &v) == 0);
    expect_udp4(&v, 14);

    /* A snap length: the IP packet is longer than what was captured. */
    CHECK(pkt_decode(DLT_EN10MB, eth_ip4, 44, sizeof(eth_ip4), &v) == 0);
    CHECK((v.flags & PKT_F_SNAPPED) && v.ip_len == 32 && v.l3_caplen == 30);
    CHECK(v.payload_len == 2 && (v.flags & PKT_F_PORTS));
    CHECK(pkt_decode(DLT_EN10MB, eth_ip4, 40, sizeof(eth_ip4), &v) == PKT_E_TRUNCATED);
}

/* Copies a template, patches one byte, decodes. */
static int patched(int dlt, const uint8_t *tpl, size_t n, size_t at, uint8_t val)
{
    uint8_t buf[256];
    struct pkt_view v;
    CHECK(n <= sizeof(buf));
    memcpy(buf, tpl, n);
    if (at < n)
        buf[at] = val;
    int rc = pkt_decode(dlt, buf, n, n, &v);
    check_view(&v, rc);
    return rc;
}

static void test_malformed(void)
{
    struct pkt_view v;
    const size_t E = 14; /* the IP header in eth_ip4 */

    CHECK(pkt_decode(DLT_EN10MB, NULL, 0, 0, &v) == PKT_E_ARG);
    CHECK(pkt_decode(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), 10, &v) == PKT_E_ARG);
    CHECK(pkt_decode(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), sizeof(eth_ip4), NULL) == PKT_E_ARG);
    CHECK(pkt_decode(9999, eth_ip4, sizeof(eth_ip4), sizeof(eth_ip4), &v) == PKT_E_LINKTYPE);
    CHECK(pkt_decode(DLT_IEEE802_11, eth_ip4, sizeof(eth_ip4), sizeof(eth_ip4), &v) ==
          PKT_E_LINKTYPE);

    CHECK(patched(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), E, 0x55) == PKT_E_IP_VERSION);
    CHECK(patched(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), E, 0x44) == PKT_E_IP_HDRLEN);
    /* total length: shorter than the header, longer than the frame */
    CHECK(patched(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), E + 3, 19) == PKT_E_IP_LEN);
    CHECK(patched(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), E + 3, 33) == PKT_E_IP_LEN);
    /* A total length beyond the frame is fine when a snap length explains it. */
    uint8_t big[sizeof(eth_ip4)];
    memcpy(big, eth_ip4, sizeof(big));
    big[E + 2] = 0x05; /* 1312 bytes */
    /* UDP length 12 < 1292 of IP payload: accepted, trailing bytes are not UDP data. */
    CHECK(pkt_decode(DLT_EN10MB, big, sizeof(big), 1400, &v) == 0 && v.payload_len == 4);
    CHECK((v.flags & PKT_F_SNAPPED) && v.ip_len == 1312 && v.l3_caplen == 32);
    CHECK(pkt_decode(DLT_EN10MB, big, sizeof(big), 1300, &v) == PKT_E_IP_LEN);
    /* Fragment offset + length beyond 65535. */
    memcpy(big, eth_ip4, sizeof(big));
    big[E + 6] = 0x1f;
    big[E + 7] = 0xff;
    CHECK(pkt_decode(DLT_EN10MB, big, sizeof(big), sizeof(big), &v) == PKT_E_IP_FRAG);

    /* UDP length < 8 or > the IP payload. */
    CHECK(patched(DLT_RAW, raw4, sizeof(raw4), 25, 7) == PKT_E_UDP_LEN);
    CHECK(patched(DLT_RAW, raw4, sizeof(raw4), 25, 13) == PKT_E_UDP_LEN);
    CHECK(patched(DLT_RAW, raw4, sizeof(raw4), 25, 8) == 0);
    /* An IP payload too short for the UDP header (total length 24). */
    CHECK(patched(DLT_RAW, raw4, 24, 3, 24) == PKT_E_UDP_LEN);
    /* TCP data offset 4, or past the packet. */
    CHECK(patched(DLT_RAW, raw4_tcp, sizeof(raw4_tcp), 32, 0x40) == PKT_E_TCP_HDRLEN);
    CHECK(patched(DLT_RAW, raw4_tcp, sizeof(raw4_tcp), 32, 0xf0) == PKT_E_TCP_HDRLEN);
    /* ... unless it is a first fragment whose options continue in the next one. */
    uint8_t tf[sizeof(raw4_tcp)];
    memcpy(tf, raw4_tcp, sizeof(tf));
    tf[6] = 0x20; /* MF */
    tf[32] = 0xf0;
    CHECK(dec(DLT_RAW, tf, sizeof(tf), &v) == 0 && (v.flags & PKT_F_FRAG));
    CHECK(!(v.flags & PKT_F_PORTS) && v.payload == tf + 20 && v.payload_len == 26);

    /* PPPoE: version/type, code, length. */
    CHECK(patched(DLT_EN10MB, pppoe4, sizeof(pppoe4), 14, 0x21) == PKT_E_L2);
    CHECK(patched(DLT_EN10MB, pppoe4, sizeof(pppoe4), 15, 0x09) == PKT_E_L2);
    CHECK(patched(DLT_EN10MB, pppoe4, sizeof(pppoe4), 19, 35) == PKT_E_PPPOE_LEN);
    CHECK(patched(DLT_EN10MB, pppoe4, sizeof(pppoe4), 19, 0) == PKT_E_PPPOE_LEN);
    /* A PPPoE length shorter than the IP packet it carries. */
    CHECK(patched(DLT_EN10MB, pppoe4, sizeof(pppoe4), 19, 30) == PKT_E_IP_LEN);
    CHECK(patched(DLT_EN10MB, pppoe4, sizeof(pppoe4), 21, 0x57) == PKT_E_IP_VERSION);

    /* A third VLAN tag. */
    static const uint8_t three[] = {MACS, 0x88, 0xa8, 0, 1, 0x81, 0, 0,
                                    2,    0x81, 0,    0, 3, 8,    0, IP4_UDP};
    CHECK(dec(DLT_EN10MB, three, sizeof(three), &v) == PKT_E_VLAN_DEPTH);
    CHECK(v.nvlan == 2);

    /* IPv6: hop-by-hop after another extension header; nine extension headers. */
    static const uint8_t hbh_late[] = {
        IP6_HDR(24, 60), 0, 0, 1, 4, 0, 0, 0, 0, 17, 0, 1, 4, 0, 0, 0, 0, UDP_HDR(8)};
    CHECK(dec(DLT_RAW, hbh_late, sizeof(hbh_late), &v) == PKT_E_IP6_EXT);
    uint8_t nine[40 + 9 * 8 + 8];
    memcpy(nine, raw6, 40);
    nine[5] = 9 * 8 + 8;
    nine[6] = 60;
    for (int i = 0; i < 9; i++) {
        uint8_t *h = nine + 40 + i * 8;
        memset(h, 0, 8);
        h[0] = i == 8 ? 17 : 60;
        h[2] = 1; /* PadN of 4 */
        h[3] = 4;
    }
    memcpy(nine + 40 + 72, raw6 + 40, 8);
    nine[40 + 72 + 5] = 8;
    CHECK(dec(DLT_RAW, nine, sizeof(nine), &v) == PKT_E_IP6_EXT);
    /* Eight are fine. */
    nine[5] -= 8;
    nine[40 + 7 * 8] = 17;
    memcpy(nine + 40 + 64, raw6 + 40, 8);
    nine[40 + 64 + 5] = 8;
    CHECK(dec(DLT_RAW, nine, sizeof(nine) - 8, &v) == 0);
    CHECK(v.n_ext == 8 && v.proto == 17 && v.dport == 1812);
    /* An extension header longer than the payload. */
    CHECK(patched(DLT_RAW, ip6_hbh_frag, sizeof(ip6_hbh_frag), 41, 9) == PKT_E_IP6_EXT);
    /* A second fragment header (the first's next header says 44 again). */
    CHECK(patched(DLT_RAW, ip6_hbh_frag, sizeof(ip6_hbh_frag), 48, 44) == PKT_E_IP6_EXT);
    /* IPv6 fragment beyond 65535 bytes. */
    uint8_t f2[sizeof(ip6_frag2)];
    memcpy(f2, ip6_frag2, sizeof(f2));
    f2[42] = 0xff;
    f2[43] = 0xf8;
    CHECK(dec(DLT_RAW, f2, sizeof(f2), &v) == PKT_E_IP_FRAG);
    f2[43] = 0xf0; /* 65520 + 8 */
    CHECK(dec(DLT_RAW, f2, sizeof(f2), &v) == 0 && v.frag_off == 65520);

    /* Short headers everywhere. */
    CHECK(dec(DLT_LINUX_SLL, sll, 15, &v) == PKT_E_TRUNCATED);
    CHECK(dec(DLT_LINUX_SLL2, sll2, 19, &v) == PKT_E_TRUNCATED);
    CHECK(dec(DLT_EN10MB, eth_ip4, 13, &v) == PKT_E_TRUNCATED);
    CHECK(dec(DLT_NULL, null4, 3, &v) == PKT_E_TRUNCATED);
    CHECK(dec(DLT_RAW, raw4, 0, &v) == PKT_E_TRUNCATED);

    CHECK(strcmp(pkt_reason_name(PKT_E_TRUNCATED), "truncated") == 0);
    CHECK(strcmp(pkt_reason_name(PKT_E_PPPOE_LEN), "pppoe-length") == 0);
    CHECK(strcmp(pkt_reason_name(-100), "unknown") == 0);
    CHECK(strcmp(pkt_reason_name(1), "unknown") == 0);
}

static void test_superpacket(void)
{
    struct pkt_view v;
    uint8_t big[sizeof(eth_ip4)];
    memcpy(big, eth_ip4, sizeof(big));
    big[14 + 2] = 0x23; /* total length 9000: a GRO-merged packet, captured with snaplen 46 */
    big[14 + 3] = 0x28;
    CHECK(pkt_decode(DLT_EN10MB, big, sizeof(big), 14 + 9000, &v) == 0);
    CHECK(pkt_is_superpacket(&v, 1500));
    CHECK(!pkt_is_superpacket(&v, 9000));
    CHECK(dec(DLT_EN10MB, eth_ip4, sizeof(eth_ip4), &v) == 0);
    CHECK(!pkt_is_superpacket(&v, 1500));
    CHECK(pkt_is_superpacket(&v, 31));
    CHECK(dec(DLT_EN10MB, eth_arp, sizeof(eth_arp), &v) == 0);
    CHECK(!pkt_is_superpacket(&v, 10));
    CHECK(!pkt_is_superpacket(NULL, 10));
}

int main(void)
{
    test_values();
    test_malformed();
    test_superpacket();
    for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
        test_truncations(&frames[i]);
    printf("test_pkt_decode: ok\n");
    return 0;
}
