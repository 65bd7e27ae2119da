/*
 * conf.c - load pmirrord.conf (see conf.h and README "Configuration reference").
 */
#include "pmirrord/conf.h"
#include "pmirrord/conf_mirror.h"
#include "pmirrord/conf_sess.h"
#include "conf_lex.h"
#include "pmirrord/dhcp_conf.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/fsutil.h"
#include "pmirrord/log.h"
#include "pmirrord/pm_codec.h"
#include "pmirrord/radius_conf.h"
#include "pmirrord/secret.h"
#include "pmirrord/sess_engine.h"
#include "pmirrord/slog_ring.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* JuniTrapSeverity: emergency(0) .. debug(7).  JUNOSe's own default table is
 * not published (docs/mirror-mib.md); these are ours, documented in the README. */
static const int default_trap_severity[11] = {
    [1] = 3,  /* RadiusBasedMirroringFailure: error */
    [2] = 3,  /* CliTriggerBasedMirroringFailure: error */
    [3] = 4,  /* InterfaceDeleted: warning */
    [4] = 2,  /* AnalyzerUnreachable: critical */
    [5] = 6,  /* SessionStart: informational */
    [6] = 6,  /* SessionEnd: informational */
    [7] = 6,  /* InterfaceSessionActivated: informational */
    [8] = 6,  /* InterfaceSessionDeactivated: informational */
    [9] = 5,  /* SessionReject: notice */
    [10] = 4, /* SessionFailed: warning */
};

static int quiet;

int conf_set_quiet(int q)
{
    int old = quiet;
    quiet = q;
    return old;
}

int conf_quiet(void)
{
    return quiet;
}

void conf_defaults(struct pm_conf *c)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->agentx_socket, sizeof(c->agentx_socket), "/var/agentx/master");
    c->agentx_ping_interval = 5;
    snprintf(c->persistent_dir, sizeof(c->persistent_dir), "/var/lib/pmirrord");
    c->trap_enable = 0; /* DEFVAL { false } */
    c->global_severity = 7;
    for (int i = 1; i <= 10; i++)
        c->trap_severity[i] = default_trap_severity[i];
    c->event_queue_size = 4096;
    c->secure_log_size = 100;
    c->mirror_log_size = 100;
    c->secure_log = 0; /* off by default, as `snmp secure-log` in JUNOSe */
    snprintf(c->control_socket, sizeof(c->control_socket), "/run/pmirrord/pmirrord.sock");
    c->signalling_latency = CAP_LATENCY_MS_DEFAULT;
    c->max_triggers = TRIG_DEFAULT_MAX;
    c->max_subscribers = CONF_MAX_SUBSCRIBERS_DEFAULT;
    c->session_start_timeout = SE_START_TIMEOUT_DEFAULT;
    conf_mirror_defaults(&c->mirror);
}

void conf_free(struct pm_conf *c)
{
    if (c->hosts != NULL) {
        OPENSSL_cleanse(c->hosts, c->nhosts * sizeof(*c->hosts));
        free(c->hosts);
    }
    c->hosts = NULL;
    c->nhosts = 0;
    free(c->captures);
    c->captures = NULL;
    c->ncaptures = 0;
    if (c->triggers != NULL) {
        OPENSSL_cleanse(c->triggers, c->ntriggers * sizeof(*c->triggers));
        free(c->triggers);
    }
    c->triggers = NULL;
    c->ntriggers = 0;
    rt_conf_free(c->radius);
    c->radius = NULL;
}

int conf_parse_hex(const char *s, uint8_t *out, size_t outlen)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return -1;
    s += 2;
    size_t n = strlen(s);
    if (n == 0 || n % 2 != 0 || n / 2 > outlen)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (uint8_t)v;
    }
    return (int)(n / 2);
}

struct conf_ctx {
    struct pm_conf *c;
    const char *file;
    int line;
    char *err;
    size_t errlen;
    conf_line_fn fn; /* conf_load_lines(): told of every directive line */
    void *fn_arg;
    int more;    /* conf_load_more(): trapHost, mirror and no mirror only */
    int skipped; /* the directive just read changed nothing (fn not told) */
};

#define CONF_FAIL(x, ...)                                                                          \
    do {                                                                                           \
        char msg_[512];                                                                            \
        snprintf(msg_, sizeof(msg_), __VA_ARGS__);                                                 \
        snprintf((x)->err, (x)->errlen, "%s:%d: %s", (x)->file, (x)->line, msg_);                  \
        return -1;                                                                                 \
    } while (0)

typedef int (*directive_fn)(struct conf_ctx *x, int argc, char **argv);

static int want_args(struct conf_ctx *x, int argc, char **argv, int n)
{
    if (argc != n + 1)
        CONF_FAIL(x, "%s takes %d argument%s, %d given", argv[0], n, n == 1 ? "" : "s", argc - 1);
    return 0;
}

static int set_string(struct conf_ctx *x, int argc, char **argv, char *dst, size_t dstlen)
{
    if (want_args(x, argc, argv, 1) < 0)
        return -1;
    if (argv[1][0] == '\0')
        CONF_FAIL(x, "%s: empty value", argv[0]);
    if (strlen(argv[1]) >= dstlen)
        CONF_FAIL(x, "%s: value longer than %zu characters", argv[0], dstlen - 1);
    snprintf(dst, dstlen, "%s", argv[1]);
    return 0;
}

static int set_uint(struct conf_ctx *x, int argc, char **argv, unsigned long min, unsigned long max,
                    unsigned *dst)
{
    unsigned long v;
    if (want_args(x, argc, argv, 1) < 0)
        return -1;
    if (conf_uint(argv[1], min, max, &v) < 0)
        CONF_FAIL(x, "%s: \"%s\" is not a number from %lu to %lu", argv[0], argv[1], min, max);
    *dst = (unsigned)v;
    return 0;
}

/* README "Configuration reference": the same words for every on/off directive.
 * Numbers are refused: TruthValue's false(2) would read as "on" to anyone. */
static int parse_bool(struct conf_ctx *x, int argc, char **argv, int *dst)
{
    if (want_args(x, argc, argv, 1) < 0)
        return -1;
    if (conf_onoff(argv[1], dst) == 0)
        return 0;
    CONF_FAIL(x, "%s: \"%s\" is not yes/no, on/off, true/false or enable/disable", argv[0],
              argv[1]);
}

/*
 * tcp:ADDRESS[:PORT]: a numeric IPv4 address, or a numeric IPv6 address in
 * brackets (RFC 3986 §3.2.2: tcp:[::1]:705), the agent connects without
 * blocking and never resolves names (agent_transport.c); the AgentX port 705
 * (RFC 2741 §8.1) when none is given.  Stored with the port and the address
 * in inet_ntop() form, so the agent sees one form.
 */
static int agentx_tcp(struct conf_ctx *x, const char *spec)
{
    char host[INET6_ADDRSTRLEN + 1], norm[INET6_ADDRSTRLEN];
    const char *port = NULL;
    size_t hl;
    unsigned long portnum = 705;
    int v6 = spec[0] == '[';
    if (v6) {
        const char *close = strchr(spec, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            CONF_FAIL(x,
                      "agentXSocket: \"tcp:%s\": an IPv6 address is written in brackets, "
                      "optionally followed by :PORT (tcp:[::1]:705)",
                      spec);
        hl = (size_t)(close - spec - 1);
        spec++;
        port = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strchr(spec, ':');
        if (colon != NULL && strchr(colon + 1, ':') != NULL)
            CONF_FAIL(x,
                      "agentXSocket: \"tcp:%s\": an IPv6 address must be in brackets "
                      "(tcp:[::1]:705)",
                      spec);
        hl = colon != NULL ? (size_t)(colon - spec) : strlen(spec);
        port = colon != NULL ? colon + 1 : NULL;
    }
    if (hl == 0)
        CONF_FAIL(x, "agentXSocket: tcp: needs an address (tcp:127.0.0.1:705 or tcp:[::1]:705)");
    if (hl >= sizeof(host))
        CONF_FAIL(x, "agentXSocket: tcp: address too long; use a numeric address");
    memcpy(host, spec, hl);
    host[hl] = '\0';
    struct in6_addr a6;
    struct in_addr a4;
    if (v6 ? inet_pton(AF_INET6, host, &a6) != 1 : inet_pton(AF_INET, host, &a4) != 1)
        CONF_FAIL(x,
                  "agentXSocket: \"%s\" is not a numeric %s address; use a numeric address "
                  "(tcp:127.0.0.1:705 or tcp:[::1]:705), host names are not resolved",
                  host, v6 ? "IPv6" : "IPv4");
    if (port != NULL && conf_uint(port, 1, 65535, &portnum) < 0)
        CONF_FAIL(x, "agentXSocket: \"%s\" is not a port from 1 to 65535", port);
    if (v6) {
        inet_ntop(AF_INET6, &a6, norm, sizeof(norm));
        snprintf(x->c->agentx_socket, sizeof(x->c->agentx_socket), "tcp:[%s]:%lu", norm, portnum);
    } else {
        snprintf(x->c->agentx_socket, sizeof(x->c->agentx_socket), "tcp:%s:%lu", host, portnum);
    }
    return 0;
}

static int d_agentx_socket(struct conf_ctx *x, int argc, char **argv)
{
    if (set_string(x, argc, argv, x->c->agentx_socket, sizeof(x->c->agentx_socket)) < 0)
        return -1;
    const char *s = argv[1];
    if (strncmp(s, "tcp:", 4) == 0)
        return agentx_tcp(x, s + 4);
    if (s[0] != '/' && (strncmp(s, "unix:", 5) != 0 || s[5] != '/'))
        CONF_FAIL(x,
                  "agentXSocket: \"%s\" is neither an absolute unix socket path nor "
                  "tcp:ADDRESS[:PORT]",
                  s);
    return 0;
}

static int d_ping(struct conf_ctx *x, int argc, char **argv)
{
    return set_uint(x, argc, argv, 1, 3600, &x->c->agentx_ping_interval);
}

static int d_persistent_dir(struct conf_ctx *x, int argc, char **argv)
{
    if (set_string(x, argc, argv, x->c->persistent_dir, sizeof(x->c->persistent_dir)) < 0)
        return -1;
    if (x->c->persistent_dir[0] != '/')
        CONF_FAIL(x, "persistentDir must be an absolute path");
    snprintf(x->c->persistent_dir_where, sizeof(x->c->persistent_dir_where), "%s:%d", x->file,
             x->line);
    return 0;
}

static int d_trap_enable(struct conf_ctx *x, int argc, char **argv)
{
    if (parse_bool(x, argc, argv, &x->c->trap_enable) < 0)
        return -1;
    /* For the warning when a value set by SNMP and persisted overrides it. */
    snprintf(x->c->trap_enable_where, sizeof(x->c->trap_enable_where), "%s:%d", x->file, x->line);
    return 0;
}

static int d_engine_id(struct conf_ctx *x, int argc, char **argv)
{
    if (want_args(x, argc, argv, 1) < 0)
        return -1;
    int n = conf_parse_hex(argv[1], x->c->engine_id, sizeof(x->c->engine_id));
    if (n < 5)
        CONF_FAIL(x, "engineId: \"%s\" is not 0x followed by 5 to 32 octets in hex", argv[1]);
    x->c->engine_id_len = (size_t)n;
    return 0;
}

int conf_traphost_conflict(const struct pm_traphost_conf *o, const struct pm_traphost_conf *h,
                           char *msg, size_t msglen)
{
    if (strcmp(o->transport, h->transport) == 0) {
        (void)pm_err(msg, msglen, "trapHost %s is already defined at %s", h->address, o->where);
        return 1;
    }
    /* USM keeps one user per (engineID, name): TRAP hosts all use our engineID,
     * INFORM hosts with one configured engineId share it.  A second definition
     * of the user with other credentials would silently get the first one's
     * keys (usm_create_user_from_session() fills only what is unset). */
    int same_engine =
        (!o->inform && !h->inform) ||
        (o->inform && h->inform && o->engine_id_len > 0 && o->engine_id_len == h->engine_id_len &&
         memcmp(o->engine_id, h->engine_id, h->engine_id_len) == 0);
    if (same_engine && strcmp(o->user, h->user) == 0 &&
        CRYPTO_memcmp(o->cred_digest, h->cred_digest, sizeof(h->cred_digest)) != 0) {
        (void)pm_err(msg, msglen,
                     "trapHost: user %s is defined at %s with other credentials for the same "
                     "engineID; use another user name",
                     h->user, o->where);
        return 1;
    }
    return 0;
}

static int d_traphost(struct conf_ctx *x, int argc, char **argv)
{
    char where[PM_PATH_MAX + 16];
    snprintf(where, sizeof(where), "%s:%d", x->file, x->line);
    struct pm_traphost_conf h;
    if (conf_parse_traphost(&h, argc, argv, where, x->err, x->errlen) < 0)
        return -1;
    for (size_t i = 0; i < x->c->nhosts; i++) {
        char msg[400];
        if (conf_traphost_conflict(&x->c->hosts[i], &h, msg, sizeof(msg))) {
            OPENSSL_cleanse(&h, sizeof(h));
            CONF_FAIL(x, "%s", msg);
        }
    }
    if (x->c->nhosts == PM_MAX_TRAPHOSTS) {
        OPENSSL_cleanse(&h, sizeof(h));
        CONF_FAIL(x, "trapHost: at most %d trap hosts", PM_MAX_TRAPHOSTS);
    }
    /* Not realloc(): the old array holds passphrases and would be freed unwiped. */
    struct pm_traphost_conf *nh = calloc(x->c->nhosts + 1, sizeof(*nh));
    if (nh == NULL) {
        OPENSSL_cleanse(&h, sizeof(h));
        CONF_FAIL(x, "out of memory");
    }
    if (x->c->nhosts > 0) {
        memcpy(nh, x->c->hosts, x->c->nhosts * sizeof(*nh));
        OPENSSL_cleanse(x->c->hosts, x->c->nhosts * sizeof(*nh));
    }
    free(x->c->hosts);
    x->c->hosts = nh;
    x->c->hosts[x->c->nhosts++] = h;
    OPENSSL_cleanse(&h, sizeof(h));
    return 0;
}

static int d_global_severity(struct conf_ctx *x, int argc, char **argv)
{
    unsigned v;
    if (set_uint(x, argc, argv, 0, 7, &v) < 0)
        return -1;
    x->c->global_severity = (int)v;
    return 0;
}

static int d_trap_severity(struct conf_ctx *x, int argc, char **argv)
{
    unsigned long v;
    if (want_args(x, argc, argv, 2) < 0)
        return -1;
    int trap = 0;
    for (int i = 1; i <= 10; i++)
        if (strcasecmp(argv[1], pm_trap_name((enum pm_trap)i)) == 0)
            trap = i;
    if (trap == 0)
        CONF_FAIL(x, "trapSeverity: unknown notification \"%s\" (use e.g. SessionStart)", argv[1]);
    if (conf_uint(argv[2], 0, 7, &v) < 0)
        CONF_FAIL(x, "trapSeverity: \"%s\" is not a severity from 0 to 7", argv[2]);
    x->c->trap_severity[trap] = (int)v;
    return 0;
}

static int d_event_queue(struct conf_ctx *x, int argc, char **argv)
{
    return set_uint(x, argc, argv, 16, 1u << 20, &x->c->event_queue_size);
}

static int d_secure_log_size(struct conf_ctx *x, int argc, char **argv)
{
    return set_uint(x, argc, argv, 1, SLOG_RING_MAX_CAPACITY, &x->c->secure_log_size);
}

static int d_mirror_log_size(struct conf_ctx *x, int argc, char **argv)
{
    return set_uint(x, argc, argv, 1, SLOG_RING_MAX_CAPACITY, &x->c->mirror_log_size);
}

static int d_secure_log(struct conf_ctx *x, int argc, char **argv)
{
    return parse_bool(x, argc, argv, &x->c->secure_log);
}

static int d_control_socket(struct conf_ctx *x, int argc, char **argv)
{
    if (set_string(x, argc, argv, x->c->control_socket, sizeof(x->c->control_socket)) < 0)
        return -1;
    if (x->c->control_socket[0] != '/')
        CONF_FAIL(x, "controlSocket must be an absolute path");
    return 0;
}

static int d_control_group(struct conf_ctx *x, int argc, char **argv)
{
    if (set_string(x, argc, argv, x->c->control_group, sizeof(x->c->control_group)) < 0)
        return -1;
    errno = 0;
    if (getgrnam(x->c->control_group) == NULL)
        CONF_FAIL(x, "controlGroup: group \"%s\" does not exist%s%s", x->c->control_group,
                  errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
    return 0;
}

/* Fewer rounds than this make a stolen configuration cheap to brute-force. */
#define MIRROR_SECRET_WARN_ITER 100000ul

static int d_mirror_secret(struct conf_ctx *x, int argc, char **argv)
{
    if (set_string(x, argc, argv, x->c->mirror_secret, sizeof(x->c->mirror_secret)) < 0)
        return -1;
    char why[160];
    if (x->c->mirror_secret[0] != '$' || secret_check(x->c->mirror_secret, why, sizeof(why)) < 0)
        CONF_FAIL(x, "mirrorSecret must be a hash made by `pmirrorctl hash-secret`, "
                     "never the secret itself");
    /* $pbkdf2-sha256$<iterations>$... (secret.h), well-formed by now */
    unsigned long iter = strtoul(x->c->mirror_secret + strlen(SECRET_SCHEME), NULL, 10);
    if (iter < MIRROR_SECRET_WARN_ITER && !conf_quiet())
        log_warnx("conf",
                  "%s:%d: mirrorSecret has only %lu PBKDF2 iterations; make one with at least "
                  "%lu (pmirrorctl hash-secret uses %u)",
                  x->file, x->line, iter, MIRROR_SECRET_WARN_ITER, SECRET_DEFAULT_ITER);
    return 0;
}

/* capture SRC [...] (cap_source.h, docs/capture-sources.md); one source
 * once: a second directive for the same SRC is refused. */
static int d_capture(struct conf_ctx *x, int argc, char **argv)
{
    struct pm_capture_conf cc;
    char why[300];
    if (argc < 2)
        CONF_FAIL(x, "capture: needs a source (an interface name or pcap:FILE)");
    memset(&cc, 0, sizeof(cc));
    if (cap_spec_parse((const char *const *)argv + 1, argc - 1, &cc.spec, why, sizeof(why)) < 0)
        CONF_FAIL(x, "%s", why);
    for (size_t i = 0; i < x->c->ncaptures; i++)
        if (x->c->captures[i].spec.offline == cc.spec.offline &&
            strcmp(x->c->captures[i].spec.src, cc.spec.src) == 0)
            CONF_FAIL(x, "capture: %s%s is already captured at %.200s",
                      cc.spec.offline ? "pcap:" : "", cc.spec.src, x->c->captures[i].where);
    if (x->c->ncaptures == PM_MAX_CAPTURES)
        CONF_FAIL(x, "capture: at most %d capture sources", PM_MAX_CAPTURES);
    struct pm_capture_conf *n =
        realloc(x->c->captures, (x->c->ncaptures + 1) * sizeof(*x->c->captures));
    if (n == NULL)
        CONF_FAIL(x, "out of memory");
    snprintf(cc.where, sizeof(cc.where), "%s:%d", x->file, x->line);
    n[x->c->ncaptures++] = cc;
    x->c->captures = n;
    return 0;
}

static int d_signalling_latency(struct conf_ctx *x, int argc, char **argv)
{
    return set_uint(x, argc, argv, 1, 1000, &x->c->signalling_latency);
}

/* mirror TYPE VALUE analyzer ADDRESS:PORT id MIRROR-ID [...] (trigger.h).
 * The messages name word positions only: VALUE is a target's identity. */
static int d_mirror(struct conf_ctx *x, int argc, char **argv)
{
    struct pm_conf_trigger ct;
    char why[300];
    memset(&ct, 0, sizeof(ct));
    if (trig_parse(&ct.rule, argc, argv, why, sizeof(why)) < 0) {
        OPENSSL_cleanse(&ct, sizeof(ct));
        CONF_FAIL(x, "%s", why);
    }
    for (size_t i = 0; i < x->c->ntriggers; i++)
        if (trig_same(&x->c->triggers[i].rule, &ct.rule)) {
            OPENSSL_cleanse(&ct, sizeof(ct));
            CONF_FAIL(x, "mirror: the same trigger and mirror ID are defined at %.200s",
                      x->c->triggers[i].where);
        }
    if (x->c->ntriggers >= x->c->max_triggers) {
        OPENSSL_cleanse(&ct, sizeof(ct));
        CONF_FAIL(x, "mirror: more than maxTriggers (%u) triggers", x->c->max_triggers);
    }
    /* Not realloc(): the old array holds target identities and would be freed unwiped. */
    struct pm_conf_trigger *n = calloc(x->c->ntriggers + 1, sizeof(*n));
    if (n == NULL) {
        OPENSSL_cleanse(&ct, sizeof(ct));
        CONF_FAIL(x, "out of memory");
    }
    if (x->c->ntriggers > 0) {
        memcpy(n, x->c->triggers, x->c->ntriggers * sizeof(*n));
        OPENSSL_cleanse(x->c->triggers, x->c->ntriggers * sizeof(*n));
    }
    free(x->c->triggers);
    snprintf(ct.where, sizeof(ct.where), "%s:%d", x->file, x->line);
    n[x->c->ntriggers++] = ct;
    x->c->triggers = n;
    OPENSSL_cleanse(&ct, sizeof(ct));
    return 0;
}

/* no mirror TYPE VALUE [id MIRROR-ID]: removes every earlier rule it
 * matches; one that matches nothing is an error (a mistyped removal would
 * leave a target mirrored). */
/* no trapHost ADDRESS[:PORT]: removes the earlier trap host at that address
 * (runtime.conf keeps a configuration file's host removed at run time so). */
static int d_no_traphost(struct conf_ctx *x, int argc, char **argv)
{
    char transport[sizeof(x->c->hosts[0].transport)], why[300];
    if (argc != 3)
        CONF_FAIL(x, "no trapHost takes one address");
    if (conf_traphost_transport(argv[2], transport, sizeof(transport), why, sizeof(why)) < 0)
        CONF_FAIL(x, "no trapHost: %s", why);
    for (size_t i = 0; i < x->c->nhosts; i++) {
        if (strcmp(x->c->hosts[i].transport, transport) != 0)
            continue;
        memmove(&x->c->hosts[i], &x->c->hosts[i + 1],
                (x->c->nhosts - i - 1) * sizeof(x->c->hosts[0]));
        OPENSSL_cleanse(&x->c->hosts[--x->c->nhosts], sizeof(x->c->hosts[0]));
        return 0;
    }
    if (x->more) { /* runtime.conf: the file may have dropped the host since */
        x->skipped = 1;
        return 0;
    }
    CONF_FAIL(x, "no trapHost: no earlier trapHost line has that address");
}

static int d_no(struct conf_ctx *x, int argc, char **argv)
{
    struct pm_trigger_del d;
    char why[300];
    if (argc >= 2 && strcasecmp(argv[1], "trapHost") == 0)
        return d_no_traphost(x, argc, argv);
    if (trig_parse_del(&d, argc, argv, why, sizeof(why)) < 0) {
        OPENSSL_cleanse(&d, sizeof(d));
        CONF_FAIL(x, "%s", why);
    }
    size_t kept = 0, n = x->c->ntriggers;
    for (size_t i = 0; i < n; i++) {
        if (trig_del_matches(&d, &x->c->triggers[i].rule))
            continue;
        if (kept != i)
            x->c->triggers[kept] = x->c->triggers[i];
        kept++;
    }
    OPENSSL_cleanse(&d, sizeof(d));
    if (kept == n && x->more) { /* runtime.conf: the file may have dropped the rule since */
        x->skipped = 1;
        return 0;
    }
    if (kept == n)
        CONF_FAIL(x, "no mirror: no earlier mirror line matches");
    OPENSSL_cleanse(x->c->triggers + kept, (n - kept) * sizeof(*x->c->triggers));
    x->c->ntriggers = kept;
    return 0;
}

static int d_max_triggers(struct conf_ctx *x, int argc, char **argv)
{
    if (set_uint(x, argc, argv, 1, PM_MAX_TRIGGERS_MAX, &x->c->max_triggers) < 0)
        return -1;
    if (x->c->ntriggers > x->c->max_triggers)
        CONF_FAIL(x, "maxTriggers: %zu mirror lines come before it", x->c->ntriggers);
    return 0;
}

/* The radius* directives (radius_conf.h): parsed by conf_radius.c for the
 * monitor and the capture process alike.  radiusSecretsFile only records the
 * path here; conf_load_lines() reads the file (a buffer never opens one). */
static int d_radius(struct conf_ctx *x, int argc, char **argv)
{
    char where[RT_WHERE_MAX], msg[400];
    if (x->c->radius == NULL && (x->c->radius = rt_conf_new()) == NULL)
        CONF_FAIL(x, "out of memory");
    snprintf(where, sizeof(where), "%s:%d", x->file, x->line);
    if (rt_conf_parse(x->c->radius, argc, argv, where, msg, sizeof(msg)) < 0)
        CONF_FAIL(x, "%s", msg);
    return 0;
}

static int d_max_subscribers(struct conf_ctx *x, int argc, char **argv)
{
    char why[160];
    if (conf_parse_max_subscribers(argc, argv, &x->c->max_subscribers, why, sizeof(why)) < 0)
        CONF_FAIL(x, "%s", why);
    return 0;
}

static int d_dhcp_server(struct conf_ctx *x, int argc, char **argv)
{
    char why[200];
    if (conf_dhcp_server(x->c->dhcp_server, &x->c->ndhcp_servers, argc, argv, why, sizeof(why)) < 0)
        CONF_FAIL(x, "%s", why);
    return 0;
}

/* docs/sessions.md, "SessionFailed": how long an accepted login may wait
 * for its Accounting-Start. */
static int d_session_start_timeout(struct conf_ctx *x, int argc, char **argv)
{
    return set_uint(x, argc, argv, 1, 3600, &x->c->session_start_timeout);
}

/* mirrorSource, mirrorDscp, mirrorInterface, analyzerHoldDown (conf_mirror.h). */
static int d_jmirror(struct conf_ctx *x, int argc, char **argv)
{
    char why[400], where[CONF_MIRROR_WHERE_MAX];
    snprintf(where, sizeof(where), "%s:%d", x->file, x->line);
    if (conf_mirror_parse(&x->c->mirror, argc, argv, where, why, sizeof(why)) < 0)
        CONF_FAIL(x, "%s", why);
    return 0;
}

static int d_persist_runtime(struct conf_ctx *x, int argc, char **argv)
{
    if (parse_bool(x, argc, argv, &x->c->persist_runtime) < 0)
        return -1;
    snprintf(x->c->persist_runtime_where, sizeof(x->c->persist_runtime_where), "%s:%d", x->file,
             x->line);
    return 0;
}

#define TO_AGENT   CONF_DEST_AGENT
#define TO_CAPTURE CONF_DEST_CAPTURE

/* dest: which process gets the line (docs/process-model.md, "Configuration
 * slices"); the monitor reads every one. */
static const struct {
    const char *name;
    directive_fn fn;
    unsigned dest;
} directives[] = {
    {"agentXSocket", d_agentx_socket, TO_AGENT},
    {"agentXPingInterval", d_ping, TO_AGENT},
    {"persistentDir", d_persistent_dir, TO_AGENT},
    {"trapEnable", d_trap_enable, TO_AGENT},
    {"engineId", d_engine_id, TO_AGENT},
    {"trapHost", d_traphost, TO_AGENT},
    {"globalTrapSeverity", d_global_severity, TO_AGENT},
    {"trapSeverity", d_trap_severity, TO_AGENT},
    {"eventQueueSize", d_event_queue, TO_AGENT},
    {"secureLogSize", d_secure_log_size, TO_AGENT},
    {"mirrorLogSize", d_mirror_log_size, TO_AGENT},
    {"secureLog", d_secure_log, TO_AGENT},
    {"controlSocket", d_control_socket, TO_AGENT},
    {"controlGroup", d_control_group, TO_AGENT},
    {"mirrorSecret", d_mirror_secret, TO_AGENT},
    {"mirror", d_mirror, TO_AGENT},
    {"no", d_no, TO_AGENT},
    {"maxTriggers", d_max_triggers, TO_AGENT},
    {"capture", d_capture, TO_CAPTURE},
    {"signallingLatency", d_signalling_latency, TO_CAPTURE},
    {"radiusServer", d_radius, TO_CAPTURE},
    {"radiusClient", d_radius, TO_CAPTURE},
    {"radiusDynamicClient", d_radius, TO_CAPTURE},
    {"radiusSecretsFile", d_radius, TO_CAPTURE},
    {"requireMessageAuthenticator", d_radius, TO_CAPTURE},
    {"radiusPairTimeout", d_radius, TO_CAPTURE},
    {"radiusReplayWindow", d_radius, TO_CAPTURE},
    {"radiusRequireEventTimestamp", d_radius, TO_CAPTURE},
    {"maxSubscribers", d_max_subscribers, TO_CAPTURE},
    {"dhcpServer", d_dhcp_server, TO_CAPTURE},
    {"sessionStartTimeout", d_session_start_timeout, TO_CAPTURE},
    {"mirrorSource", d_jmirror, TO_CAPTURE},
    {"mirrorDscp", d_jmirror, TO_CAPTURE},
    {"mirrorInterface", d_jmirror, TO_CAPTURE},
    {"analyzerHoldDown", d_jmirror, TO_CAPTURE},
    {"mirrorGso", d_jmirror, TO_CAPTURE},
    {"persistRuntimeChanges", d_persist_runtime, TO_AGENT},
};

unsigned conf_directive_dest(const char *name)
{
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
        if (strcasecmp(name, directives[i].name) == 0)
            return directives[i].dest;
    return 0;
}

const char *const conf_restart_names[CONF_RESTART_N] = {
    "agentXSocket",  "agentXPingInterval", "persistentDir", "engineId",     "eventQueueSize",
    "secureLogSize", "mirrorLogSize",      "controlSocket", "controlGroup", "persistRuntimeChanges",
};

/* Where a directive that changes only at a restart was written (the last line wins). */
static void note_restart_where(struct conf_ctx *x, const char *name)
{
    for (size_t i = 0; i < CONF_RESTART_N; i++)
        if (strcmp(name, conf_restart_names[i]) == 0)
            snprintf(x->c->restart_where[i], sizeof(x->c->restart_where[i]), "%s:%d", x->file,
                     x->line);
}

/* raw: the line as written, without its line end (for x->fn). */
static int conf_line(struct conf_ctx *x, char *line, const char *raw)
{
    char *argv[CONF_MAX_WORDS];
    char lexerr[128];
    int argc = conf_split(line, argv, CONF_MAX_WORDS, lexerr, sizeof(lexerr));
    if (argc < 0)
        CONF_FAIL(x, "%s", lexerr);
    if (argc == 0)
        return 0;
    for (size_t i = 0; i < sizeof(directives) / sizeof(directives[0]); i++)
        if (strcasecmp(argv[0], directives[i].name) == 0) {
            if (x->more && directives[i].fn != d_traphost && directives[i].fn != d_mirror &&
                directives[i].fn != d_no)
                CONF_FAIL(x,
                          "%s: only trapHost, mirror, no trapHost and no mirror lines belong here",
                          directives[i].name);
            x->skipped = 0;
            if (directives[i].fn(x, argc, argv) < 0)
                return -1;
            note_restart_where(x, directives[i].name);
            if (x->fn != NULL && !x->skipped &&
                x->fn(x->fn_arg, directives[i].dest, x->line, directives[i].name, raw) != 0)
                CONF_FAIL(x, "%s: the line cannot be passed on to its process", argv[0]);
            return 0;
        }
    /* Quoted only if it looks like a directive name: the first word of a line
     * may be a passphrase (a trapHost line broken in two). */
    size_t alpha = strspn(argv[0], "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ");
    if (argv[0][alpha] == '\0' && alpha <= 32)
        CONF_FAIL(x, "unknown directive \"%s\"", argv[0]);
    CONF_FAIL(x, "unknown directive (word 1 is not a directive name)");
}

/*
 * Where the lines come from: a FILE (conf_load) or a buffer (conf_load_buffer).
 * src_gets() behaves like fgets() for both, so both read the same lines.
 */
struct line_src {
    FILE *f;
    const char *p;
    size_t left;
};

/* Reads one line (with its LF) into buf, at most cap - 1 octets, and
 * NUL-terminates it; returns how many octets were read, 0 at the end.  The
 * count, not strlen(), tells whether the line held a NUL byte. */
static size_t src_gets(struct line_src *s, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap) {
        int ch;
        if (s->f != NULL) {
            ch = getc(s->f);
            if (ch == EOF)
                break;
        } else {
            if (s->left == 0)
                break;
            ch = (unsigned char)*s->p++;
            s->left--;
        }
        buf[n++] = (char)ch;
        if (ch == '\n')
            break;
    }
    buf[n] = '\0';
    return n;
}

/* The line loop shared by conf_load() and conf_load_buffer(). */
static int conf_lines(struct conf_ctx *x, struct line_src *src)
{
    char buf[4096], raw[4096];
    int rc = 0;
    size_t n;
    while ((n = src_gets(src, buf, sizeof(buf))) > 0) {
        x->line++;
        if (n == sizeof(buf) - 1 && buf[n - 1] != '\n') {
            snprintf(x->err, x->errlen, "%s:%d: line longer than %zu characters", x->file, x->line,
                     sizeof(buf) - 2);
            rc = -1;
            break;
        }
        if (memchr(buf, '\0', n) != NULL) {
            snprintf(x->err, x->errlen, "%s:%d: NUL byte in the line", x->file, x->line);
            rc = -1;
            break;
        }
        if (x->fn != NULL) {
            size_t rl = n;
            while (rl > 0 && (buf[rl - 1] == '\n' || buf[rl - 1] == '\r'))
                rl--;
            memcpy(raw, buf, rl);
            raw[rl] = '\0';
        }
        if (conf_line(x, buf, raw) < 0) {
            rc = -1;
            break;
        }
    }
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

/* Appends "; and " and the formatted text to err (which holds len bytes). */
static void conf_more(char *err, size_t errlen, const char *fmt, ...) PM_PRINTF(3, 4);
static void conf_more(char *err, size_t errlen, const char *fmt, ...)
{
    size_t len = strlen(err);
    if (len > 0 && len + 6 < errlen) {
        memcpy(err + len, "; and ", 7);
        len += 6;
    }
    va_list ap;
    va_start(ap, fmt);
    if (len < errlen)
        vsnprintf(err + len, errlen - len, fmt, ap);
    va_end(ap);
}

/*
 * The file holds USM passphrases and the mirror secret's hash: only root and
 * the user pmirrord runs as may own it, nobody else may read or change it,
 * and nobody else may replace it, so every directory above it passes
 * pm_open_parent() (fsutil.h): each one there, owned by root or us, writable by
 * nobody else unless sticky; if the path is a symbolic link, the directories
 * above its target as well.  Checked on the
 * open file, after the parse, so a syntax error is still reported with its
 * line; every problem found is reported at once (pmirrord -n).
 */
/*
 * Is the file read (fst) the one at the absolute path, in directories that
 * pm_open_parent() (fsutil.h) finds only root or us can change, all of them
 * there?  0 yes, 1 path is a symbolic link (its target is checked then), -1
 * no, with why filled.  Checked with the directory open, not by path again.
 */
static int conf_same_file(const char *path, const struct stat *fst, char *why, size_t whylen)
{
    const char *base;
    struct stat st;
    why[0] = '\0';
    int dfd = pm_open_parent(path, &base, why, whylen);
    if (dfd < 0)
        return -1;
    int rc = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW);
    int e = errno;
    close(dfd);
    if (rc < 0)
        return pm_err(why, whylen, "%s", strerror(e));
    if (S_ISLNK(st.st_mode))
        return 1;
    if (st.st_dev != fst->st_dev || st.st_ino != fst->st_ino)
        return pm_err(why, whylen, "%s is no longer the file that was read", path);
    return 0;
}

static int conf_check_file(const char *path, int fd, char *err, size_t errlen)
{
    char abs[PATH_MAX], real[PATH_MAX], why[600], cwd[PATH_MAX];
    struct stat st;
    err[0] = '\0';
    if (fstat(fd, &st) < 0)
        return pm_err(err, errlen, "%s: %s", path, strerror(errno));
    if ((st.st_mode & 077) != 0)
        conf_more(err, errlen,
                  "%s: mode %04o lets group or others read or change it, and it holds "
                  "passphrases; run: chmod 600 %s",
                  path, (unsigned)(st.st_mode & 07777), path);
    if (st.st_uid != 0 && st.st_uid != geteuid()) {
        char who[64] = "root";
        if (geteuid() != 0)
            snprintf(who, sizeof(who), "root or uid %u (pmirrord's)", (unsigned)geteuid());
        conf_more(err, errlen,
                  "%s: owned by uid %u, not by %s: its owner could change mirrorSecret and the "
                  "trap hosts; run: chown root %s",
                  path, (unsigned)st.st_uid, who, path);
    }
    if (path[0] == '/')
        snprintf(abs, sizeof(abs), "%s", path);
    else if (getcwd(cwd, sizeof(cwd)) == NULL ||
             snprintf(abs, sizeof(abs), "%s/%s", cwd, path) >= (int)sizeof(abs))
        abs[0] = '\0';
    int r;
    if (abs[0] == '\0')
        conf_more(err, errlen, "%s: cannot tell its directories", path);
    else if ((r = conf_same_file(abs, &st, why, sizeof(why))) < 0)
        conf_more(err, errlen, "%s: %s", path, why);
    else if (r == 1) {
        if (realpath(abs, real) == NULL)
            conf_more(err, errlen, "%s: %s", path, strerror(errno));
        else if (conf_same_file(real, &st, why, sizeof(why)) != 0)
            conf_more(err, errlen, "%s (a symbolic link to %s): %s", path, real,
                      why[0] != '\0' ? why : "changed while it was read");
    }
    return err[0] != '\0' ? -1 : 0;
}

/*
 * The lines of a radiusSecretsFile go to the capture process like the main
 * file's own (conf_load_lines()'s callback, docs/radius.md): numbered after
 * the main file's last line, since a slice's line numbers only grow.
 */
static int secrets_line(void *arg, unsigned line, const char *directive, const char *text)
{
    struct conf_ctx *x = arg;
    if (x->fn == NULL)
        return 0;
    return x->fn(x->fn_arg, CONF_DEST_CAPTURE, x->line + (int)line, directive, text);
}

static int conf_secrets(struct conf_ctx *x)
{
    struct rt_conf *rc = x->c->radius;
    if (rc == NULL || rc->secrets_file[0] == '\0')
        return 0;
    char why[800];
    if (rt_conf_read_secrets(rc, rc->secrets_file, secrets_line, x, why, sizeof(why)) < 0) {
        snprintf(x->err, x->errlen, "%s: radiusSecretsFile: %s", rc->secrets_where, why);
        return -1;
    }
    return 0;
}

int conf_load(const char *path, struct pm_conf *c, char *err, size_t errlen)
{
    return conf_load_lines(path, c, NULL, NULL, err, errlen);
}

int conf_load_lines(const char *path, struct pm_conf *c, conf_line_fn fn, void *arg, char *err,
                    size_t errlen)
{
    conf_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", path);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* Our own stdio buffer, so the file's passphrases can be wiped after. */
    static char iobuf[8192];
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
    struct conf_ctx x = {c, path, 0, err, errlen, fn, arg, 0, 0};
    struct line_src src = {f, NULL, 0};
    int rc = conf_lines(&x, &src);
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s:%d: read error: %s", path, x.line, strerror(errno));
        rc = -1;
    }
    if (rc == 0)
        rc = conf_secrets(&x);
    if (rc == 0)
        rc = conf_check_file(path, fileno(f), err, errlen);
    fclose(f);
    OPENSSL_cleanse(iobuf, sizeof(iobuf));
    if (rc < 0)
        conf_free(c);
    return rc;
}

int conf_load_buffer(const char *name, const char *buf, size_t len, struct pm_conf *c, char *err,
                     size_t errlen)
{
    conf_defaults(c);
    snprintf(c->path, sizeof(c->path), "%s", name);
    struct conf_ctx x = {c, name, 0, err, errlen, NULL, NULL, 0, 0};
    struct line_src src = {NULL, buf, len};
    int rc = conf_lines(&x, &src);
    if (rc < 0)
        conf_free(c);
    return rc;
}

int conf_load_more(const char *name, const char *buf, size_t len, struct pm_conf *c,
                   conf_line_fn fn, void *arg, char *err, size_t errlen)
{
    struct conf_ctx x = {c, name, 0, err, errlen, fn, arg, 1, 0};
    struct line_src src = {NULL, buf, len};
    return conf_lines(&x, &src);
}
