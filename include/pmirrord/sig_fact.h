/*
 * sig_fact.h - what the signalling trackers (RADIUS: radius_track.h, DHCPv4:
 * dhcp_track.h) tell the session engine (sess_engine.h): one "fact" per
 * verified, paired, fresh signalling exchange.  The trackers decide what is
 * true on the wire (authenticators, pairing, replay, trust); the engine
 * decides what it means for sessions and intercepts (docs/sessions.md).
 *
 * Identities are octet strings as they came off the wire (RADIUS strings
 * need not be UTF-8 and may hold NUL octets): a length and the octets, never
 * NUL-terminated.  Addresses are in network order.  A fact lives on the
 * caller's stack for the duration of the callback; the callee copies what it
 * keeps, and the tracker wipes the fact afterwards.
 */
#ifndef PMIRRORD_SIG_FACT_H
#define PMIRRORD_SIG_FACT_H

#include <stddef.h>
#include <stdint.h>

#define SIG_STR_MAX     253 /* longest RADIUS attribute value (RFC 2865 section 5) */
#define SIG_PREFIX6_MAX 4   /* IPv6 prefixes kept per fact */

/* One identity string (User-Name, Calling-Station-Id, ...). */
struct sig_str {
    uint8_t len; /* 0: absent */
    uint8_t v[SIG_STR_MAX];
};

struct sig_prefix6 {
    uint8_t addr[16]; /* bits past len are zero */
    uint8_t len;      /* 1..128 */
};

/*
 * The identity of a subscriber as one exchange carried it.  For a RADIUS
 * exchange: the request's attributes (Access-Request, Accounting-Request,
 * CoA/Disconnect-Request), completed by the Access-Accept's (Framed-*
 * addresses and the Acct-Session-Id that the server may assign).  For DHCP:
 * the ACK's yiaddr, chaddr, giaddr and the relay's option 82.
 */
struct sig_ident {
    struct sig_str user;        /* User-Name (1) */
    struct sig_str csid;        /* Calling-Station-Id (31) */
    struct sig_str acct_sid;    /* Acct-Session-Id (44) */
    struct sig_str nas_port_id; /* NAS-Port-Id (87) */
    struct sig_str nas_id;      /* NAS-Identifier (32) */
    struct sig_str circuit; /* DSL Forum Agent-Circuit-Id (26-3561-1), or option 82 sub-option 1 */
    struct sig_str remote;  /* DSL Forum Agent-Remote-Id (26-3561-2), or option 82 sub-option 2 */
    struct sig_str opt82;   /* ERX-Dhcp-Option-82 (26-4874-159), or the whole option 82 value */
    uint32_t nas_ip;        /* NAS-IP-Address (4), network order; 0 absent */
    int has_nas_port;
    uint32_t nas_port;  /* NAS-Port (5) */
    uint32_t framed_ip; /* Framed-IP-Address (8) or DHCP yiaddr/ciaddr, network order; 0 absent */
    int has_framed_ip6;
    uint8_t framed_ip6[16]; /* Framed-IPv6-Address (168) */
    unsigned nprefix6;
    struct sig_prefix6
        prefix6[SIG_PREFIX6_MAX]; /* Framed-IPv6-Prefix (97), Delegated-IPv6-Prefix (123) */
    uint32_t peer_ip;             /* RADIUS: the NAS (client) IPv4 source; DHCP: giaddr; 0 none */
    int has_chaddr;
    uint8_t chaddr[6]; /* DHCP client hardware address (Ethernet) */
};

/* ERX lawful-intercept VSAs 26-4874-58..61 after salt decryption (docs/radius.md). */
enum sig_li_action { SIG_LI_ABSENT = -1, SIG_LI_OFF = 0, SIG_LI_ON = 1, SIG_LI_NOOP = 2 };

struct sig_li {
    int present;        /* any of 58..61 was in the packet */
    int action;         /* enum sig_li_action; absent with VSAs present means "on" */
    int has_handle;     /* 26-59 */
    int handle_len;     /* 8 or 4 */
    uint32_t mirror_id; /* 30 bits */
    int has_sid;        /* 8-byte handle: its second word */
    uint32_t session_id;
    int has_analyzer; /* 26-60 */
    uint8_t analyzer[4];
    int has_port; /* 26-61 */
    uint16_t port;
    int error;            /* MIB ErrorCause when unusable: missingOrInvalidAttribute(7) (59
                           * without 61 or the reverse, a handle not 4 or 8 octets, a value
                           * that does not decrypt), invalidAnalyzerAddress(4); 0 usable */
    char error_text[128]; /* one sentence for ErrorString; no identity in it */
};

enum sig_kind {
    SIG_ACCESS_ACCEPT = 1, /* ident = request's attributes + accept's; li from the Accept */
    SIG_ACCESS_REJECT,     /* ident = the Access-Request's attributes */
    SIG_ACCT_START,        /* Accounting-Request Acct-Status-Type Start, answered */
    SIG_ACCT_INTERIM,      /* Interim-Update, answered */
    SIG_ACCT_STOP,         /* Stop, answered: term_cause, session_time */
    SIG_COA,        /* CoA-Request verified, fresh (li: its VSAs; ident: its session-identification
                       attributes) */
    SIG_COA_NAK,    /* the NAS refused a CoA we applied: counted and logged, nothing else */
    SIG_DISCONNECT, /* Disconnect-ACK to a verified Disconnect-Request: ident = the request's */
    SIG_DHCP_ACK,   /* DHCPACK from the trusted server creating a binding */
    SIG_DHCP_RELEASE, /* DHCPRELEASE for a known binding */
    SIG_DHCP_DECLINE, /* DHCPDECLINE for a known binding */
    SIG_DHCP_EXPIRE,  /* lease time passed without a renewal */
};

struct sig_fact {
    enum sig_kind kind;
    int64_t ts_sec; /* the packet's timestamp (the last packet of the exchange) */
    uint32_t ts_usec;
    struct sig_ident id;
    struct sig_li li; /* SIG_ACCESS_ACCEPT, SIG_COA */
    int has_term_cause;
    uint32_t term_cause; /* Acct-Terminate-Cause (49) */
    int has_session_time;
    uint32_t session_time; /* Acct-Session-Time (46), seconds */
    uint32_t lease_s;      /* SIG_DHCP_ACK: lease time (option 51), 0xffffffff infinite */
    int has_event_ts;      /* SIG_COA, SIG_DISCONNECT: Event-Timestamp (55) */
    uint32_t event_ts;
};

/* The callback through which a tracker hands over facts. */
typedef void (*sig_fact_fn)(const struct sig_fact *f, void *arg);

#endif
