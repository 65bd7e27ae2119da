/*
 * pkt_decode.h - a pure, bounds-checked decoder for captured frames: link
 * layer (Ethernet, 802.1Q/802.1ad/QinQ, PPPoE, Linux cooked SLL/SLL2, raw IP,
 * BSD loopback), IPv4 and IPv6 (extension headers walked), UDP and TCP.
 *
 * The decoder reads attacker-controlled bytes in the capture process: it
 * never reads outside [p, p + caplen), allocates nothing, keeps no state and
 * calls neither libpcap nor anything else.  What it accepts and what it
 * counts as malformed: docs/decoding.md.
 *
 * Offsets in the view are from the start of the frame (`frame`); every
 * pointer/length pair it fills lies inside the captured bytes.
 */
#ifndef PMIRRORD_PKT_DECODE_H
#define PMIRRORD_PKT_DECODE_H

#include <stddef.h>
#include <stdint.h>

/* Why pkt_decode() refused a frame; 0 is success. */
enum pkt_reason {
    PKT_OK = 0,
    PKT_E_ARG = -1,         /* NULL pointers, caplen > wirelen */
    PKT_E_TRUNCATED = -2,   /* a header ends past the captured bytes */
    PKT_E_LINKTYPE = -3,    /* a DLT this decoder does not know */
    PKT_E_L2 = -4,          /* bad link-layer header (PPPoE version/type or code) */
    PKT_E_VLAN_DEPTH = -5,  /* more than PKT_MAX_VLAN VLAN tags */
    PKT_E_IP_VERSION = -6,  /* IP version does not match the link layer's protocol */
    PKT_E_IP_HDRLEN = -7,   /* IPv4 IHL < 5 */
    PKT_E_IP_LEN = -8,      /* IP length shorter than its header, or longer than the frame */
    PKT_E_IP_FRAG = -9,     /* fragment offset + length beyond 65535 */
    PKT_E_IP6_EXT = -10,    /* IPv6 extension header chain too long or misplaced */
    PKT_E_UDP_LEN = -11,    /* UDP length < 8 or longer than the IP payload */
    PKT_E_TCP_HDRLEN = -12, /* TCP data offset < 5 or past the IP payload */
    PKT_E_PPPOE_LEN = -13,  /* PPPoE length longer than the frame */
};
#define PKT_REASON_COUNT 14 /* 0 and the 13 errors: index with -rc */

/* Flags in pkt_view.flags. */
#define PKT_F_SRCMAC     0x0001u /* src_mac valid (Ethernet; SLL/SLL2 with a 6-byte address) */
#define PKT_F_DSTMAC     0x0002u /* dst_mac valid (Ethernet) */
#define PKT_F_PPPOE      0x0004u /* PPPoE session frame: pppoe_sid, ppp_proto */
#define PKT_F_PPPOE_DISC 0x0008u /* PPPoE discovery frame (0x8863): not decoded further */
#define PKT_F_FRAG       0x0010u /* an IP fragment (offset != 0 or more fragments) */
#define PKT_F_MF         0x0020u /* more fragments */
#define PKT_F_DF         0x0040u /* IPv4 don't fragment */
#define PKT_F_PORTS      0x0080u /* sport/dport valid (UDP or TCP header decoded) */
#define PKT_F_SNAPPED    0x0100u /* the IP packet is longer than what was captured */
#define PKT_F_LLC        0x0200u /* 802.3 length field: an LLC frame, not decoded */

#define PKT_MAX_VLAN    2 /* tags decoded; a third is PKT_E_VLAN_DEPTH */
#define PKT_MAX_IP6_EXT 8 /* IPv6 extension headers walked; a ninth is PKT_E_IP6_EXT */

/* pkt_view.family */
#define PKT_FAM_NONE 0
#define PKT_FAM_IPV4 4
#define PKT_FAM_IPV6 6

struct pkt_view {
    int dlt;              /* the link type decoded */
    uint32_t flags;       /* PKT_F_* */
    const uint8_t *frame; /* the frame passed in */
    size_t caplen;        /* bytes captured */
    size_t wirelen;       /* bytes on the wire */

    /* Link layer. */
    uint8_t src_mac[6];   /* PKT_F_SRCMAC */
    uint8_t dst_mac[6];   /* PKT_F_DSTMAC */
    uint16_t sll_pkttype; /* SLL/SLL2 packet type (PACKET_HOST, PACKET_OUTGOING, ...) */
    uint32_t sll_ifindex; /* SLL2 interface index */
    unsigned nvlan;       /* VLAN tags, outermost first */
    uint16_t vlan_tpid[PKT_MAX_VLAN];
    uint16_t vlan_tci[PKT_MAX_VLAN]; /* VLAN ID is tci & 0x0fff */
    uint16_t pppoe_sid;              /* PKT_F_PPPOE */
    uint16_t ppp_proto;              /* PKT_F_PPPOE: the PPP protocol (0x0021 IPv4, 0x0057 IPv6) */
    uint16_t ethertype;              /* innermost EtherType / SLL protocol; 0 for raw IP */

    /* Network layer (family != PKT_FAM_NONE). */
    int family;       /* PKT_FAM_* */
    size_t l3_off;    /* offset of the IP header */
    size_t l3_hdrlen; /* IPv4 IHL * 4; IPv6 40 + the extension headers walked */
    size_t ip_len;    /* length the IP header claims (IPv6: 40 + payload length) */
    size_t l3_caplen; /* bytes of the IP packet captured: min(ip_len, captured) */
    uint8_t src[16];  /* IPv4 in the first 4 bytes */
    uint8_t dst[16];
    uint8_t ttl;         /* TTL / hop limit */
    uint8_t proto;       /* upper-layer protocol (IPv6: after the extension headers) */
    unsigned n_ext;      /* IPv6 extension headers walked */
    uint32_t frag_id;    /* IPv4 identification / IPv6 fragment header identification */
    uint32_t frag_off;   /* fragment offset in bytes */
    size_t frag_hdr_off; /* IPv6 with PKT_F_FRAG: offset of the fragment header */
    size_t frag_nh_off;  /* ... and of the next-header byte that names it */

    /* Transport layer. */
    size_t l4_off;         /* offset of the IP payload (after all IP headers) */
    uint16_t sport, dport; /* PKT_F_PORTS */
    uint16_t udp_len;      /* UDP length field */
    uint8_t tcp_flags;
    const uint8_t *payload; /* UDP/TCP data; otherwise the IP payload (fragment data) */
    size_t payload_len;     /* captured bytes at payload */
};

/*
 * Decodes one frame of link type dlt (DLT_* of <pcap/dlt.h>: EN10MB,
 * LINUX_SLL, LINUX_SLL2, RAW, IPV4, IPV6, NULL, LOOP).  Returns 0 with *out
 * filled (family PKT_FAM_NONE for frames that carry no IP: ARP, LLC,
 * PPPoE discovery, PPP control protocols), or a negative enum pkt_reason.
 * On error *out holds what was decoded before the error, consistently.
 * caplen < wirelen (a snap length) is not an error unless a header is cut.
 */
int pkt_decode(int dlt, const uint8_t *p, size_t caplen, size_t wirelen, struct pkt_view *out);

/* A short constant name for a pkt_decode() result ("ok", "truncated", ...). */
const char *pkt_reason_name(int rc);

/*
 * 1 when v is an IP packet longer than mtu: a GRO/LRO/TSO super-packet that
 * AF_PACKET saw before segmentation or after merging (docs/decoding.md).
 */
int pkt_is_superpacket(const struct pkt_view *v, unsigned mtu);

#endif
