/*
 * dhcp_codec.h - a bounds-checked decoder for DHCPv4/BOOTP messages (RFC
 * 2131 section 2, RFC 2132, RFC 951): the fixed header, the magic cookie,
 * the options (with the file and sname fields when option 52 overloads
 * them) and the few options the tracker uses: message type (53), lease time
 * (51), server identifier (54), requested address (50) and the relay agent
 * information option 82 (RFC 3046), kept whole and split into its
 * sub-options 1 (Agent Circuit ID) and 2 (Agent Remote ID).
 *
 * No state, no allocation: dhcp_parse() fills a caller's struct dhcp_msg
 * whose pointers point into the caller's buffer.  Every malformation is an
 * enum dhcp_reason, never an abort.  Choices: docs/dhcp.md.
 */
#ifndef PMIRRORD_DHCP_CODEC_H
#define PMIRRORD_DHCP_CODEC_H

#include <stddef.h>
#include <stdint.h>

#define DHCP_FIXED_LEN   236        /* op .. file (RFC 2131 section 2, figure 1) */
#define DHCP_OPTIONS_OFF 240        /* after the magic cookie */
#define DHCP_COOKIE      0x63825363 /* 99.130.83.99 (RFC 2131 section 3) */
#define DHCP_CHADDR_LEN  16
#define DHCP_SNAME_OFF   44
#define DHCP_SNAME_LEN   64
#define DHCP_FILE_OFF    108
#define DHCP_FILE_LEN    128

/* BOOTP op (RFC 951). */
#define DHCP_BOOTREQUEST 1
#define DHCP_BOOTREPLY   2

/* DHCP message types, option 53 (RFC 2132 section 9.6). */
enum dhcp_type {
    DHCP_NONE = 0, /* no option 53: plain BOOTP */
    DHCP_DISCOVER = 1,
    DHCP_OFFER = 2,
    DHCP_REQUEST = 3,
    DHCP_DECLINE = 4,
    DHCP_ACK = 5,
    DHCP_NAK = 6,
    DHCP_RELEASE = 7,
    DHCP_INFORM = 8,
};

/* Option codes used here. */
#define DHCP_OPT_PAD       0
#define DHCP_OPT_REQ_ADDR  50 /* requested IP address (RFC 2132 section 9.1) */
#define DHCP_OPT_LEASE     51 /* IP address lease time (9.2) */
#define DHCP_OPT_OVERLOAD  52 /* option overload (9.3) */
#define DHCP_OPT_MSG_TYPE  53 /* DHCP message type (9.6) */
#define DHCP_OPT_SERVER_ID 54 /* server identifier (9.7) */
#define DHCP_OPT_RELAY     82 /* relay agent information (RFC 3046) */
#define DHCP_OPT_END       255

/* Option 82 sub-options (RFC 3046 section 2.0). */
#define DHCP_RAI_CIRCUIT_ID 1
#define DHCP_RAI_REMOTE_ID  2

#define DHCP_LEASE_INFINITE 0xffffffffu /* RFC 2131 section 3.3 */

/* Why dhcp_parse() refused a message; 0 is success. */
enum dhcp_reason {
    DHCP_OK = 0,
    DHCP_E_ARG = -1,       /* NULL pointers */
    DHCP_E_SHORT = -2,     /* fewer than 240 octets (fixed header and cookie) */
    DHCP_E_OP = -3,        /* op neither BOOTREQUEST nor BOOTREPLY */
    DHCP_E_HLEN = -4,      /* hlen above 16 */
    DHCP_E_COOKIE = -5,    /* no magic cookie: BOOTP without options, or not DHCP */
    DHCP_E_OPT_TRUNC = -6, /* an option's length octet or value past the end */
    DHCP_E_NO_END = -7,    /* the options field has no End option */
    DHCP_E_DUP = -8,       /* option 50, 51, 52, 53, 54 or 82 twice (RFC 3396 not applied) */
    DHCP_E_OPT_LEN = -9,   /* option 53 or 52 not 1 octet, 50, 51 or 54 not 4 */
    DHCP_E_OVERLOAD = -10, /* option 52 not 1..3, or inside an overloaded field */
    DHCP_E_RAI = -11,      /* option 82 empty, its sub-options not tiling it, sub-option 1
                            * or 2 empty or twice */
};
#define DHCP_REASON_COUNT 12 /* 0 and the 11 errors: index with -rc */

struct dhcp_msg {
    const uint8_t *pkt; /* the buffer passed in */
    size_t len;         /* its length (octets after End are padding) */
    uint8_t op, htype, hlen, hops;
    uint32_t xid;
    uint16_t secs, flags;
    uint32_t ciaddr, yiaddr, siaddr, giaddr; /* network order */
    const uint8_t *chaddr;                   /* DHCP_CHADDR_LEN octets; hlen significant */
    uint8_t overload;                        /* option 52: 1 file, 2 sname, 3 both; 0 none */
    unsigned noptions;                       /* options other than Pad and End, every field */

    int type; /* enum dhcp_type or any other value of option 53; DHCP_NONE without */
    int has_lease;
    uint32_t lease_s; /* option 51, seconds; DHCP_LEASE_INFINITE */
    int has_server_id;
    uint32_t server_id; /* option 54, network order */
    int has_req_addr;
    uint32_t req_addr; /* option 50, network order */

    int has_rai;        /* option 82 present */
    const uint8_t *rai; /* its value, rai_len octets (1..255) */
    uint8_t rai_len;
    const uint8_t *circuit; /* sub-option 1's value, NULL if absent */
    uint8_t circuit_len;
    const uint8_t *remote; /* sub-option 2's value, NULL if absent */
    uint8_t remote_len;
};

/*
 * Parses the DHCP message in [p, p + n) into *out (its pointers point into
 * p).  Returns 0 or a negative enum dhcp_reason; on error *out holds the
 * fixed header (when there are 236 octets) and what the options before the
 * bad one gave.
 */
int dhcp_parse(const uint8_t *p, size_t n, struct dhcp_msg *out);

/* Short constant names ("ok", "opt-trunc", ...); "unknown" for other values. */
const char *dhcp_reason_name(int rc);
/* "DHCPACK", ...; "BOOTP" for DHCP_NONE, "unknown" for other values. */
const char *dhcp_type_name(int type);

#endif
