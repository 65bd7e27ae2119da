/*
 * radius_conf.h - the RADIUS directives of the capture process (parsed by
 * src/config/conf_radius.c for both the monitor, which validates the whole
 * file, and the capture process, which builds its tracker from its slice):
 *
 *   radiusServer ADDRESS[:AUTHPORT[,ACCTPORT]] secret SECRET [coaPort PORT]
 *   radiusClient ADDRESS[/LEN] secret SECRET
 *   radiusDynamicClient ADDRESS secret SECRET
 *   radiusSecretsFile PATH
 *   requireMessageAuthenticator on|off
 *   radiusPairTimeout SECONDS        (default 30)
 *   radiusReplayWindow SECONDS       (default 300)
 *   radiusRequireEventTimestamp on|off
 *
 * IPv6 addresses with ports are written in brackets ([2001:db8::1]:1812).
 * Meaning and trust rules: docs/radius.md ("The tracker").  No function
 * here writes a secret into an error message.
 */
#ifndef PMIRRORD_RADIUS_CONF_H
#define PMIRRORD_RADIUS_CONF_H

#include <stddef.h>
#include <stdint.h>

#define RT_CONF_MAX_PEERS    64   /* radiusServer + radiusClient + radiusDynamicClient */
#define RT_SECRET_MAX        128  /* octets of a shared secret */
#define RT_PAIR_TIMEOUT_DEF  30   /* radiusPairTimeout, seconds */
#define RT_REPLAY_WINDOW_DEF 300  /* radiusReplayWindow, seconds */
#define RT_COA_PORT_DEF      3799 /* RFC 5176 section 3 */
#define RT_WHERE_MAX         280  /* "file:line" */

enum rt_peer_kind {
    RT_PEER_SERVER = 1, /* radiusServer: answers Access/Accounting, sends CoA/Disconnect */
    RT_PEER_CLIENT,     /* radiusClient: a NAS (or a prefix of them) with its own secret */
    RT_PEER_DYNCLIENT,  /* radiusDynamicClient: another CoA/Disconnect sender */
};

struct rt_peer {
    int kind;         /* enum rt_peer_kind */
    int family;       /* 4 or 6 */
    uint8_t addr[16]; /* network order; IPv4 in the first 4 octets; bits past plen zero */
    uint8_t plen;     /* prefix length: 32/128 except for a radiusClient prefix */
    int ports_given;  /* radiusServer: AUTHPORT[,ACCTPORT] written */
    uint16_t auth_port, acct_port; /* ports_given: ACCTPORT defaults to AUTHPORT + 1 */
    uint16_t coa_port;             /* radiusServer: coaPort (3799) */
    size_t secret_len;
    uint8_t secret[RT_SECRET_MAX];
    char where[RT_WHERE_MAX]; /* "file:line" of the directive */
};

struct rt_conf {
    unsigned npeers;
    struct rt_peer peer[RT_CONF_MAX_PEERS];
    int require_msgauth;      /* requireMessageAuthenticator (off) */
    unsigned pair_timeout_s;  /* radiusPairTimeout */
    unsigned replay_window_s; /* radiusReplayWindow */
    int require_event_ts;     /* radiusRequireEventTimestamp (off) */
    char secrets_file[256];   /* radiusSecretsFile, "" none */
    char secrets_where[RT_WHERE_MAX];
};

/* A zeroed struct with the defaults. */
void rt_conf_init(struct rt_conf *c);
/* calloc() + rt_conf_init(); NULL when out of memory. */
struct rt_conf *rt_conf_new(void);
/* Wipes (the secrets) and frees; NULL is fine. */
void rt_conf_free(struct rt_conf *c);

/* 1 if name (any case) is one of the directives above, 2 if it is one of the
 * three peer directives (the only ones a radiusSecretsFile may hold). */
int rt_conf_directive_kind(const char *name);

/*
 * One directive's words (argv[0] is its name; where = "file:line", kept in
 * the peer).  0, or -1 with one sentence in err (no FILE:LINE: the caller
 * adds it; never the secret).
 */
int rt_conf_parse(struct rt_conf *c, int argc, char **argv, const char *where, char *err,
                  size_t errlen) __attribute__((warn_unused_result));

/*
 * One line as written (a slice line of the capture process): split into
 * words and rt_conf_parse()d.  Blank and comment lines are fine.  A line
 * that is not a RADIUS directive is refused.  0, or -1 with
 * "FILE:LINE: message" in err.  The words are wiped.
 */
int rt_conf_add_line(struct rt_conf *c, const char *file, unsigned line, const char *text,
                     char *err, size_t errlen) __attribute__((warn_unused_result));

/* Called for every directive line of a secrets file (line: its number there;
 * text: the line without its line end, wiped after the call).  Non-zero stops
 * the read with "PATH:LINE: the line cannot be passed on to its process". */
typedef int (*rt_secrets_line_fn)(void *arg, unsigned line, const char *directive,
                                  const char *text);

/*
 * Reads a radiusSecretsFile (the monitor, while it validates the
 * configuration): a regular file owned by root (or, when not run as root,
 * by the effective user), with no permission for group or others, holding
 * only radiusServer, radiusClient and radiusDynamicClient lines, each
 * rt_conf_parse()d into c and handed to fn (may be NULL).  0, or -1 with
 * "PATH:LINE: message" or "PATH: message" in err.  Buffers are wiped.
 */
int rt_conf_read_secrets(struct rt_conf *c, const char *path, rt_secrets_line_fn fn, void *arg,
                         char *err, size_t errlen) __attribute__((warn_unused_result));

/* Whose secret a NAS at addr (family 4 or 6) shares with the peer at index
 * sender (a server or dynamic client): the index of the longest matching
 * radiusClient for a server, else sender itself. */
unsigned rt_conf_secret_peer(const struct rt_conf *c, unsigned sender, int family,
                             const uint8_t *addr);
/* 1 if addr lies in peer p's address (prefix). */
int rt_peer_match(const struct rt_peer *p, int family, const uint8_t *addr);

#endif
