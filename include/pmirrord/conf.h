/*
 * conf.h - pmirrord's configuration file.
 *
 * A line-oriented format: one directive per line, words separated by blanks,
 * '#' starts a comment, double quotes group a word.  Every error is reported
 * as "FILE:LINE: message" and nothing of a file with an error is applied
 * (conf_load() fills a fresh struct; the caller swaps it in only on success).
 * The directives are documented in README.md ("Configuration reference").
 */
#ifndef PMIRRORD_CONF_H
#define PMIRRORD_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/cap_source.h"
#include "pmirrord/conf_mirror.h"
#include "pmirrord/trigger.h"

#define PM_CONF_DEFAULT_PATH "/etc/pmirrord/pmirrord.conf"
#define PM_PATH_MAX          256
#define PM_MAX_TRAPHOSTS     64
#define PM_MAX_CAPTURES      64
#define PM_MAX_TRIGGERS_MAX  10000 /* the largest maxTriggers */
#define PM_MAX_DHCP_SERVERS  16    /* = DH_SERVERS_MAX (dhcp_track.h) */

enum th_auth { TH_AUTH_SHA1 = 1, TH_AUTH_SHA224, TH_AUTH_SHA256, TH_AUTH_SHA384, TH_AUTH_SHA512 };
enum th_priv { TH_PRIV_AES128 = 1, TH_PRIV_AES192, TH_PRIV_AES256 };
enum th_full { TH_DROP_LAST_IN = 0, TH_DROP_FIRST_IN = 1 };

/* One secure trap host (trapHost directive or `pmirrorctl trap-host add`). */
struct pm_traphost_conf {
    char address[128];   /* as written: 198.18.0.1:162 or [2001:db8::1]:162 */
    char transport[160]; /* normalised Net-SNMP peername: udp:198.18.0.1:162 / udp6:[..]:162 */
    char user[64];
    enum th_auth auth;
    char auth_pass[128];
    enum th_priv priv;
    char priv_pass[128];
    int inform;
    uint8_t engine_id[32]; /* receiver engineID for informs (0 length: discover) */
    size_t engine_id_len;
    int severity; /* host filter: minimum severity 0-7 passes if <= */
    unsigned queue_size;
    unsigned drain_rate; /* notifications per second, 0 = unlimited */
    enum th_full queue_full;
    unsigned timeout_s;
    unsigned retries;
    uint8_t cred_digest[32];      /* HMAC-SHA256 of protocols and passphrases under a
                                   * per-process random key: lets two definitions be
                                   * compared after the passphrases are wiped */
    char where[PM_PATH_MAX + 16]; /* "file:line" of the definition */
    /* The master keys Ku (RFC 3414 §A.2, RFC 7860 §9.3 for SHA-2: the
     * passphrase hashed over 1 MiB with the auth protocol's hash, as long as
     * that hash), from the passphrases or given as `authKey`/`privKey`.  Not
     * bound to an engine: as secret as the passphrases, wiped with them. */
    uint8_t auth_ku[64];
    size_t auth_ku_len;
    uint8_t priv_ku[64];
    size_t priv_ku_len;
};

/* One `capture` directive (cap_source.h). */
struct pm_capture_conf {
    struct cap_spec spec;
    char where[PM_PATH_MAX + 16]; /* "file:line" */
};

/* One `mirror` directive that no later `no mirror` removed (trigger.h). */
struct pm_conf_trigger {
    struct pm_trigger rule;
    char where[PM_PATH_MAX + 16]; /* "file:line" */
};
struct rt_conf; /* radius_conf.h */

/* The agent directives that change only at a restart (docs/reload.md), in
 * the order of pm_conf.restart_where[]. */
#define CONF_RESTART_N 10
extern const char *const conf_restart_names[CONF_RESTART_N];

struct pm_conf {
    char path[PM_PATH_MAX];
    /* agent */
    char agentx_socket[PM_PATH_MAX]; /* path, unix:PATH, tcp:A.B.C.D:PORT or tcp:[IPv6]:PORT (port
                                        always set) */
    unsigned agentx_ping_interval;
    char persistent_dir[PM_PATH_MAX];
    char persistent_dir_where[PM_PATH_MAX + 16]; /* "file:line", "" for the default */
    int trap_enable;                          /* 1 true, 0 false: used when nothing is persisted */
    char trap_enable_where[PM_PATH_MAX + 16]; /* "file:line" of trapEnable, "" if absent */
    uint8_t engine_id[32]; /* our SNMP engineID; 0 length: generated and persisted */
    size_t engine_id_len;
    /* notifications */
    struct pm_traphost_conf *hosts;
    size_t nhosts;
    int global_severity;   /* globalTrapSeverity, 0-7 */
    int trap_severity[11]; /* per trap, index 1..10 */
    unsigned event_queue_size;
    /* secure logs and control */
    unsigned secure_log_size;
    unsigned mirror_log_size;
    int secure_log; /* snmp secure-log on/off */
    char control_socket[108];
    char control_group[64];  /* a group that existed when the file was read */
    char mirror_secret[256]; /* salted hash, never the secret */
    /* capture process */
    struct pm_capture_conf *captures; /* `capture` directives, in file order */
    size_t ncaptures;
    unsigned signalling_latency; /* signallingLatency, ms (1..1000) */
    /* mirror triggers (agent): `mirror`, `no mirror`, `maxTriggers` */
    struct pm_conf_trigger *triggers; /* in file order; wiped when freed */
    size_t ntriggers;
    unsigned max_triggers; /* maxTriggers, TRIG_DEFAULT_MAX */
    /* RADIUS tracker (radius_conf.h): allocated at the first radius* directive,
     * NULL without one; holds secrets, wiped by conf_free().  The capture
     * process may take it (set the pointer to NULL before conf_free()). */
    struct rt_conf *radius;
    unsigned max_subscribers; /* maxSubscribers (conf_sess.h) */
    /* DHCP (dhcp_conf.h) */
    uint32_t dhcp_server[PM_MAX_DHCP_SERVERS]; /* dhcpServer, network order */
    size_t ndhcp_servers;
    unsigned session_start_timeout; /* sessionStartTimeout, s (1..3600; sess_engine.h) */
    /* jmirror sender: mirrorSource, mirrorDscp, mirrorInterface, analyzerHoldDown */
    struct pm_mirror_conf mirror; /* conf_mirror.h */
    /* "file:line" of the last line of each directive of conf_restart_names[]
     * ("" if absent): agent directives a reload reports and does not apply
     * (docs/reload.md) */
    char restart_where[CONF_RESTART_N][PM_PATH_MAX + 16];
    /* persistRuntimeChanges (rtconf.h): run-time trap hosts and triggers kept
     * in <persistentDir>/runtime.conf; "file:line" of the directive or "" */
    int persist_runtime;
    char persist_runtime_where[PM_PATH_MAX + 16];
};

/* Which process a directive goes to (docs/process-model.md "Configuration
 * slices"): a bit mask. */
enum conf_dest { CONF_DEST_AGENT = 1, CONF_DEST_CAPTURE = 2 };

/* Called for every directive line: dest (enum conf_dest bits), its number,
 * the directive's name as the table spells it, and the line as written
 * without its line end (CR LF or LF).  text is wiped after the call: the
 * callee wipes whatever it copies.  Non-zero stops the load: conf_load_lines()
 * fails with "FILE:LINE: DIRECTIVE: the line cannot be passed on to its
 * process". */
typedef int (*conf_line_fn)(void *arg, unsigned dest, int line, const char *directive,
                            const char *text);
/* The destination mask of a directive name (any case), 0 if unknown. */
unsigned conf_directive_dest(const char *name);

void conf_defaults(struct pm_conf *c);
/* Warnings (a weak mirrorSecret, SHA-1) are logged by the parse that
 * validates the file; the parses that only slice it for a child, and the
 * child's own parse of its slice, say nothing again (1: quiet).  Returns the
 * previous setting.  Not thread-safe: parses run on one thread. */
int conf_set_quiet(int quiet);
int conf_quiet(void);
/* Load a file into *c (defaults first).  Returns 0, or -1 with
 * "FILE:LINE: message" in err; *c is then freed and must not be used.  A file
 * that group or others may read or write is refused ("FILE: mode 0644 ...").
 * Warnings (weak mirrorSecret, SHA-1) go to the log as "FILE:LINE: ...". */
int conf_load(const char *path, struct pm_conf *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same for text already in memory: name stands for the file in messages
 * ("NAME:LINE: message") and in c->path.  buf need not be NUL-terminated. */
int conf_load_buffer(const char *name, const char *buf, size_t len, struct pm_conf *c, char *err,
                     size_t errlen) __attribute__((warn_unused_result));
/* conf_load(), with fn (may be NULL) called for every directive line as it is
 * read (before the file as a whole is validated: the caller uses what it got
 * only when 0 is returned). */
int conf_load_lines(const char *path, struct pm_conf *c, conf_line_fn fn, void *arg, char *err,
                    size_t errlen) __attribute__((warn_unused_result));
/* Parse one trapHost directive's words (argv[0] = "trapHost"); where = "file:line". */
int conf_parse_traphost(struct pm_traphost_conf *h, int argc, char **argv, const char *where,
                        char *err, size_t errlen) __attribute__((warn_unused_result));
/* The names the trapHost grammar takes for h's protocols ("SHA-256", "AES-128"; "?" for none). */
const char *conf_traphost_auth_name(int auth);
const char *conf_traphost_priv_name(int priv);
/* "trap-host add ADDRESS user NAME auth PROTO priv PROTO[ inform][ engineId 0x..]":
 * what an added host is in the mirror log, never its passphrases or keys (address
 * and user escaped, escape.h).  out is always NUL-terminated. */
void conf_traphost_describe(const struct pm_traphost_conf *h, char *out, size_t outlen);
/* Would h clash with the already defined host o?  The same transport, or the
 * same USM user name for the same engineID with other credentials (USM keeps
 * one user per engineID and name).  Returns 1 with a sentence in msg, else 0. */
int conf_traphost_conflict(const struct pm_traphost_conf *o, const struct pm_traphost_conf *h,
                           char *msg, size_t msglen);
/* ADDRESS[:PORT] as trapHost takes it -> the normalised Net-SNMP peername
 * ("udp:198.18.0.1:162", "udp6:[2001:db8::1]:162"; port 162 by default,
 * IPv6 in inet_ntop() form), so one host has one spelling.  0, or -1 with a
 * sentence in err. */
int conf_traphost_transport(const char *address, char *transport, size_t tlen, char *err,
                            size_t errlen) __attribute__((warn_unused_result));
void conf_free(struct pm_conf *c);
/*
 * Adds the lines of another file (runtime.conf, rtconf.h) to an already
 * loaded *c: only trapHost, mirror, `no trapHost` and `no mirror` lines,
 * numbered and named "NAME:LINE" in errors and in each object's where.  A
 * `no mirror` or `no trapHost` that matches nothing is skipped (the
 * configuration file may have dropped it since).  fn (may be NULL) is called
 * for every line applied.  Returns 0, or -1 with "NAME:LINE: message"; *c is
 * then partly changed: the caller
 * frees it.
 */
int conf_load_more(const char *name, const char *buf, size_t len, struct pm_conf *c,
                   conf_line_fn fn, void *arg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The length of the master key Ku of an auth protocol (its hash's), 0 if unknown. */
size_t conf_ku_len(enum th_auth a);

/* Parse 0x... into bytes. Returns length or -1. */
int conf_parse_hex(const char *s, uint8_t *out, size_t outlen);

#endif
