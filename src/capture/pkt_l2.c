/*
 * pkt_l2.c - link layers for pkt_decode(): Ethernet II (and 802.3 LLC,
 * recognised and left alone), VLAN tags (802.1Q 0x8100, 802.1ad 0x88a8 and
 * the pre-standard QinQ outer TPID 0x9100), PPPoE (RFC 2516), Linux cooked
 * captures SLL and SLL2 (libpcap's pcap-linktype(7)), raw IP, BSD loopback.
 *
 * Abbreviations: et EtherType, sid PPPoE session id, PFC PPP protocol field
 * compression (RFC 1661 section 6.5).
 */
#include "pkt_internal.h"

#include <pcap/dlt.h>
#include <string.h>

#define ET_IPV4       0x0800
#define ET_IPV6       0x86dd
#define ET_VLAN       0x8100 /* IEEE 802.1Q */
#define ET_QINQ       0x88a8 /* IEEE 802.1ad service tag */
#define ET_QINQ_OLD   0x9100 /* pre-802.1ad outer tag, still common on BRAS uplinks */
#define ET_PPPOE_DISC 0x8863
#define ET_PPPOE_SESS 0x8864
#define ET_MAX_LENGTH 1500 /* below 0x0600 the field is an 802.3 length (IEEE 802.3 3.2.6) */

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

#define ARPHRD_ETHER_ 1 /* <net/if_arp.h> ARPHRD_ETHER, without including it */

#define SLL_HDR_LEN  16
#define SLL2_HDR_LEN 20

/* PPPoE session stage (RFC 2516 section 6): ver/type 0x11, code 0, then PPP. */
static int pppoe(struct pkt_view *v, size_t off, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end - off < 6)
        return PKT_E_TRUNCATED;
    if (p[off] != 0x11 || p[off + 1] != 0x00)
        return PKT_E_L2;
    v->pppoe_sid = pkt_rd16(p + off + 2);
    v->flags |= PKT_F_PPPOE;
    size_t len = pkt_rd16(p + off + 4);
    off += 6;
    if (len > wend - off)
        return PKT_E_PPPOE_LEN;
    /* The PPPoE length ends the payload; Ethernet padding follows. */
    wend = off + len;
    if (end > wend)
        end = wend;
    if (len < 1)
        return PKT_E_PPPOE_LEN;
    if (end - off < 1)
        return PKT_E_TRUNCATED;
    uint16_t proto = p[off];
    if (proto & 1) { /* PFC: a one-octet protocol */
        off += 1;
    } else {
        if (len < 2)
            return PKT_E_PPPOE_LEN;
        if (end - off < 2)
            return PKT_E_TRUNCATED;
        proto = pkt_rd16(p + off);
        off += 2;
    }
    v->ppp_proto = proto;
    if (proto == PPP_IPV4)
        return pkt_ip_decode(v, 4, off, end, wend);
    if (proto == PPP_IPV6)
        return pkt_ip_decode(v, 6, off, end, wend);
    return PKT_OK; /* LCP, IPCP, authentication...: no IP */
}

/* VLAN tags, then PPPoE or IP, from an EtherType at off. */
static int ethertype(struct pkt_view *v, uint16_t et, size_t off, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    while (et == ET_VLAN || et == ET_QINQ || et == ET_QINQ_OLD) {
        v->ethertype = et;
        if (v->nvlan == PKT_MAX_VLAN)
            return PKT_E_VLAN_DEPTH;
        if (end - off < 4)
            return PKT_E_TRUNCATED;
        v->vlan_tpid[v->nvlan] = et;
        v->vlan_tci[v->nvlan] = pkt_rd16(p + off);
        v->nvlan++;
        et = pkt_rd16(p + off + 2);
        off += 4;
    }
    v->ethertype = et;
    if (et <= ET_MAX_LENGTH) {
        v->flags |= PKT_F_LLC;
        return PKT_OK;
    }
    switch (et) {
    case ET_IPV4:
        return pkt_ip_decode(v, 4, off, end, wend);
    case ET_IPV6:
        return pkt_ip_decode(v, 6, off, end, wend);
    case ET_PPPOE_SESS:
        return pppoe(v, off, end, wend);
    case ET_PPPOE_DISC:
        v->flags |= PKT_F_PPPOE_DISC;
        return PKT_OK;
    default:
        return PKT_OK; /* ARP, LLDP, MPLS...: no IP decoded */
    }
}

static int ethernet(struct pkt_view *v, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end < 14)
        return PKT_E_TRUNCATED;
    memcpy(v->dst_mac, p, 6);
    memcpy(v->src_mac, p + 6, 6);
    v->flags |= PKT_F_SRCMAC | PKT_F_DSTMAC;
    return ethertype(v, pkt_rd16(p + 12), 14, end, wend);
}

/* Link-layer address of an SLL/SLL2 header: a MAC when the device is Ethernet. */
static void sll_addr(struct pkt_view *v, uint16_t hatype, uint8_t halen, const uint8_t *addr)
{
    if (hatype == ARPHRD_ETHER_ && halen == 6) {
        memcpy(v->src_mac, addr, 6);
        v->flags |= PKT_F_SRCMAC;
    }
}

/*
 * SLL (v1): packet type, ARPHRD type, address length, 8 address bytes,
 * protocol.  The protocol is an EtherType for the types that matter here
 * (Ethernet, PPP, tunnels); values below 0x0600 are Linux's ETH_P_802_2 and
 * friends, reported as LLC.
 */
static int sll(struct pkt_view *v, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end < SLL_HDR_LEN)
        return PKT_E_TRUNCATED;
    v->sll_pkttype = pkt_rd16(p);
    uint16_t halen = pkt_rd16(p + 4);
    sll_addr(v, pkt_rd16(p + 2), halen > 8 ? 0 : (uint8_t)halen, p + 6);
    return ethertype(v, pkt_rd16(p + 14), SLL_HDR_LEN, end, wend);
}

/* SLL2: protocol, reserved, ifindex, ARPHRD type, packet type, address length, 8 bytes. */
static int sll2(struct pkt_view *v, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end < SLL2_HDR_LEN)
        return PKT_E_TRUNCATED;
    v->sll_ifindex = pkt_rd32(p + 4);
    v->sll_pkttype = p[10];
    sll_addr(v, pkt_rd16(p + 8), p[11], p + 12);
    return ethertype(v, pkt_rd16(p), SLL2_HDR_LEN, end, wend);
}

/*
 * DLT_NULL: a 4-byte address family in the capturing host's byte order;
 * DLT_LOOP: the same in network byte order.  AF_INET is 2 everywhere,
 * AF_INET6 is 10 (Linux), 24 (NetBSD, OpenBSD), 28 (FreeBSD), 30 (macOS).
 */
static int loopback(struct pkt_view *v, int swap_ok, size_t end, size_t wend)
{
    const uint8_t *p = v->frame;
    if (end < 4)
        return PKT_E_TRUNCATED;
    uint32_t af = pkt_rd32(p);
    if (swap_ok && af > 0xffff)
        af = (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
    if (af == 2)
        return pkt_ip_decode(v, 4, 4, end, wend);
    if (af == 10 || af == 24 || af == 28 || af == 30)
        return pkt_ip_decode(v, 6, 4, end, wend);
    return PKT_OK;
}

int pkt_l2_decode(struct pkt_view *v)
{
    size_t end = v->caplen, wend = v->wirelen;
    switch (v->dlt) {
    case DLT_EN10MB:
        return ethernet(v, end, wend);
    case DLT_LINUX_SLL:
        return sll(v, end, wend);
    case DLT_LINUX_SLL2:
        return sll2(v, end, wend);
    case DLT_RAW:
        return pkt_ip_decode(v, 0, 0, end, wend);
    case DLT_IPV4:
        return pkt_ip_decode(v, 4, 0, end, wend);
    case DLT_IPV6:
        return pkt_ip_decode(v, 6, 0, end, wend);
    case DLT_NULL:
        return loopback(v, 1, end, wend);
    case DLT_LOOP:
        return loopback(v, 0, end, wend);
    default:
        return PKT_E_LINKTYPE;
    }
}
