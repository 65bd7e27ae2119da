/*
 * trigger.h - mirror triggers: the `mirror` and `no mirror` directives of
 * pmirrord.conf and of `pmirrorctl` (docs/sessions.md, "Triggers"), parsed
 * into one form that the monitor validates, the agent keeps and pushes
 * (TRIGGER_SET, docs/ipc-protocol.md) and the capture process matches
 * against sessions.  Pure functions: no I/O, no logging, no global state.
 *
 *   mirror TYPE VALUE analyzer ADDRESS:PORT id MIRROR-ID [session SESSION-ID]
 *          [direction ingress|egress|both] [from TIME] [until TIME]
 *   mirror interface IFNAME analyzer ADDRESS:PORT id MIRROR-ID [direction ...]
 *   no mirror TYPE VALUE [id MIRROR-ID]
 *
 * TYPE: a MIB TriggerType label or its JUNOSe keyword, any case.  VALUE:
 * text, or 0x followed by hex digits for octets; an ipAddress VALUE may be
 * an IPv4 or IPv6 address or prefix.  TIME: ISO 8601, e.g.
 * 2026-11-27T13:00:00Z or with an offset (+01:00); seconds optional.
 */
#ifndef PMIRRORD_TRIGGER_H
#define PMIRRORD_TRIGGER_H

#include <stddef.h>
#include <stdint.h>

#define TRIG_VALUE_MAX     253         /* octets of a VALUE (RADIUS attribute maximum) */
#define TRIG_TEXT_MAX      512         /* VALUE as written (0x + 2 * 253, IFNAME) */
#define TRIG_MIRROR_ID_MAX 1073741823u /* 30 bits */
#define TRIG_DEFAULT_MAX   100         /* maxTriggers, as JUNOSe */

/* MIB juniPacketMirrorTriggerType. */
enum trig_type {
    TRIG_INTERFACE = 0, /* interfaceString: `mirror interface IFNAME` (cliStatic) */
    TRIG_IP = 1,        /* ipAddress, ip-address */
    TRIG_NAS_PORT_ID = 2,
    TRIG_USERNAME = 3,
    TRIG_CSID = 4,     /* callingStationId, calling-station-id */
    TRIG_ACCT_SID = 5, /* acctSessionId, acct-session-id */
    TRIG_OPT82 = 6,    /* dhcpOption82, dhcp-option-82 */
    TRIG_CIRCUIT = 7,  /* agentCircuitId, agent-circuit-id */
    TRIG_REMOTE = 8,   /* agentRemoteId, agent-remote-id */
};
#define TRIG_TYPE_MAX 8

/* Where mirroring sends, and what. */
enum trig_dir { TRIG_DIR_INGRESS = 0, TRIG_DIR_EGRESS = 1, TRIG_DIR_BOTH = 2 };

struct trig_analyzer {
    int family;       /* 4 or 6 */
    uint8_t addr[16]; /* network order; 4 octets used for IPv4 */
    uint16_t port;    /* 1..65535 */
};

struct pm_trigger {
    enum trig_type type;
    char text[TRIG_TEXT_MAX + 1]; /* VALUE (or IFNAME) as written */
    /* TRIG_IP: the address or prefix; others: the octets to match */
    uint8_t value[TRIG_VALUE_MAX];
    size_t value_len;
    int ip_family; /* TRIG_IP: 4 or 6 */
    uint8_t ip[16];
    unsigned ip_plen; /* 32 / 128 for an address */
    struct trig_analyzer analyzer;
    uint32_t mirror_id; /* 0..TRIG_MIRROR_ID_MAX */
    int has_session_id;
    uint32_t session_id;
    enum trig_dir direction; /* TRIG_DIR_BOTH by default */
    int64_t from, until;     /* seconds since the epoch; 0: unbounded */
};

/* Removal: `no mirror TYPE VALUE [id MIRROR-ID]`. */
struct pm_trigger_del {
    enum trig_type type;
    uint8_t value[TRIG_VALUE_MAX];
    size_t value_len;
    int ip_family;
    uint8_t ip[16];
    unsigned ip_plen;
    int has_mirror_id;
    uint32_t mirror_id;
};

/* The MIB label ("ipAddress") of a type; NULL if out of range. */
const char *trig_type_label(enum trig_type t);
/* A MIB label or JUNOSe keyword, any case -> type; -1 if unknown. */
int trig_type_parse(const char *word);

/*
 * Parses `mirror ...` words (argv[0] = "mirror").  Returns 0, or -1 with one
 * sentence in err that names the word's position and never echoes VALUE (a
 * target identity must not reach a log).
 */
int trig_parse(struct pm_trigger *t, int argc, char *const *argv, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Parses `no mirror ...` words (argv[0] = "no"). */
int trig_parse_del(struct pm_trigger_del *d, int argc, char *const *argv, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Does d remove t?  (Same type and value; same mirror ID when d names one.) */
int trig_del_matches(const struct pm_trigger_del *d, const struct pm_trigger *t);
/* Are a and b the same rule (type, value, mirror ID)?  A second one is a duplicate. */
int trig_same(const struct pm_trigger *a, const struct pm_trigger *b);

/* The canonical `mirror ...` line (what `show mirror triggers` prints and
 * what re-parses to the same rule).  Returns the length, or -1 if cap is short. */
int trig_format(const struct pm_trigger *t, char *buf, size_t cap);
/* "198.18.0.9:30030" or "[2001:db8::9]:30030". */
int trig_analyzer_format(const struct trig_analyzer *a, char *buf, size_t cap);
/* ADDRESS:PORT or [ADDR]:PORT; 0 or -1 with err. */
int trig_analyzer_parse(const char *s, struct trig_analyzer *a, char *err, size_t errlen);

/* Is the rule's warrant window open at time now (seconds since the epoch)? */
int trig_window_open(const struct pm_trigger *t, int64_t now);

/* The MIB Direction of a rule: ingress(0) for ingress and both, egress(1). */
int trig_mib_direction(enum trig_dir d);

#endif
