/*
 * conf_radius.c - the RADIUS directives of the capture process and the
 * radiusSecretsFile reader (radius_conf.h, docs/radius.md "The tracker").
 *
 * Words of a line may be secrets: no message quotes a word, except an
 * address after it has been recognised as one.
 */
#include "pmirrord/radius_conf.h"
#include "conf_lex.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/fsutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

static const struct {
    const char *name;
    int peer; /* 1: may appear in a radiusSecretsFile */
} rt_directives[] = {
    {"radiusServer", 1},
    {"radiusClient", 1},
    {"radiusDynamicClient", 1},
    {"radiusSecretsFile", 0},
    {"requireMessageAuthenticator", 0},
    {"radiusPairTimeout", 0},
    {"radiusReplayWindow", 0},
    {"radiusRequireEventTimestamp", 0},
};
#define RT_NDIRECTIVES (sizeof(rt_directives) / sizeof(rt_directives[0]))

void rt_conf_init(struct rt_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->pair_timeout_s = RT_PAIR_TIMEOUT_DEF;
    c->replay_window_s = RT_REPLAY_WINDOW_DEF;
}

struct rt_conf *rt_conf_new(void)
{
    struct rt_conf *c = malloc(sizeof(*c));
    if (c != NULL)
        rt_conf_init(c);
    return c;
}

void rt_conf_free(struct rt_conf *c)
{
    if (c == NULL)
        return;
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

static int find_directive(const char *name)
{
    for (size_t i = 0; i < RT_NDIRECTIVES; i++)
        if (strcasecmp(name, rt_directives[i].name) == 0)
            return (int)i;
    return -1;
}

int rt_conf_directive_kind(const char *name)
{
    int i = find_directive(name);
    if (i < 0)
        return 0;
    return rt_directives[i].peer ? 2 : 1;
}

int rt_peer_match(const struct rt_peer *p, int family, const uint8_t *addr)
{
    if (p->family != family)
        return 0;
    unsigned full = p->plen / 8, rest = p->plen % 8;
    if (memcmp(p->addr, addr, full) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xffu << (8 - rest));
    return (addr[full] & mask) == p->addr[full];
}

unsigned rt_conf_secret_peer(const struct rt_conf *c, unsigned sender, int family,
                             const uint8_t *addr)
{
    if (sender >= c->npeers || c->peer[sender].kind != RT_PEER_SERVER)
        return sender;
    unsigned best = sender;
    int best_len = -1;
    for (unsigned i = 0; i < c->npeers; i++) {
        const struct rt_peer *p = &c->peer[i];
        if (p->kind == RT_PEER_CLIENT && p->plen > best_len && rt_peer_match(p, family, addr)) {
            best = i;
            best_len = p->plen;
        }
    }
    return best;
}

/* A numeric address, "[v6]" allowed; family and octets out.  0 or -1. */
static int parse_addr(const char *s, size_t n, int *family, uint8_t out[16])
{
    char buf[INET6_ADDRSTRLEN + 2];
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
        if (n == 0 || n >= sizeof(buf))
            return -1;
        memcpy(buf, s, n);
        buf[n] = '\0';
        memset(out, 0, 16);
        *family = 6;
        return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
    }
    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    memset(out, 0, 16);
    if (inet_pton(AF_INET, buf, out) == 1) {
        *family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, out) == 1) {
        *family = 6;
        return 0;
    }
    return -1;
}

static int port_of(const char *s, uint16_t *out)
{
    unsigned long v;
    if (conf_uint(s, 1, 65535, &v) < 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* ADDRESS[:AUTHPORT[,ACCTPORT]] of radiusServer. */
static int server_address(struct rt_peer *p, const char *s, char *err, size_t errlen)
{
    const char *ports = NULL;
    size_t alen = strlen(s);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            return pm_err(err, errlen,
                          "radiusServer: an IPv6 address is written in brackets, optionally "
                          "followed by :AUTHPORT[,ACCTPORT]");
        alen = (size_t)(close - s + 1);
        ports = close[1] == ':' ? close + 2 : NULL;
    } else {
        const char *colon = strchr(s, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL) { /* IPv4:PORTS */
            alen = (size_t)(colon - s);
            ports = colon + 1;
        }
    }
    if (parse_addr(s, alen, &p->family, p->addr) < 0)
        return pm_err(err, errlen,
                      "radiusServer: the first word is not a numeric IPv4 or IPv6 address");
    p->plen = p->family == 4 ? 32 : 128;
    if (ports == NULL)
        return 0;
    char pb[16];
    if (strlen(ports) >= sizeof(pb))
        return pm_err(err, errlen, "radiusServer: the ports are not AUTHPORT[,ACCTPORT]");
    snprintf(pb, sizeof(pb), "%s", ports);
    char *comma = strchr(pb, ',');
    if (comma != NULL)
        *comma = '\0';
    if (port_of(pb, &p->auth_port) < 0 ||
        (comma != NULL ? port_of(comma + 1, &p->acct_port) < 0 : p->auth_port == 65535))
        return pm_err(err, errlen,
                      "radiusServer: the ports are not AUTHPORT[,ACCTPORT] (ports 1 to 65535)");
    if (comma == NULL)
        p->acct_port = (uint16_t)(p->auth_port + 1);
    p->ports_given = 1;
    return 0;
}

/* ADDRESS[/LEN] of radiusClient (prefix) or radiusDynamicClient (none). */
static int client_address(struct rt_peer *p, const char *s, int prefix, const char *name, char *err,
                          size_t errlen)
{
    const char *slash = prefix ? strchr(s, '/') : NULL;
    size_t alen = slash != NULL ? (size_t)(slash - s) : strlen(s);
    if (parse_addr(s, alen, &p->family, p->addr) < 0)
        return pm_err(err, errlen, "%s: the first word is not a numeric IPv4 or IPv6 address%s",
                      name, prefix ? " (with an optional /LEN)" : "");
    unsigned max = p->family == 4 ? 32 : 128;
    unsigned long len = max;
    if (slash != NULL && conf_uint(slash + 1, 0, max, &len) < 0)
        return pm_err(err, errlen, "%s: the prefix length is not a number from 0 to %u", name, max);
    p->plen = (uint8_t)len;
    for (unsigned b = p->plen; b < max; b++)
        if (p->addr[b / 8] & (0x80u >> (b % 8)))
            return pm_err(err, errlen, "%s: the address has bits set past /%u", name, p->plen);
    return 0;
}

static const char *kind_name(int kind)
{
    return kind == RT_PEER_SERVER   ? "radiusServer"
           : kind == RT_PEER_CLIENT ? "radiusClient"
                                    : "radiusDynamicClient";
}

static int parse_peer(struct rt_conf *c, int kind, int argc, char **argv, const char *where,
                      char *err, size_t errlen)
{
    const char *name = kind_name(kind);
    struct rt_peer p;
    int rc = -1;
    memset(&p, 0, sizeof(p));
    p.kind = kind;
    p.coa_port = RT_COA_PORT_DEF;
    if (argc < 2) {
        pm_err(err, errlen, "%s: needs an address and `secret SECRET`", name);
        goto out;
    }
    if ((kind == RT_PEER_SERVER
             ? server_address(&p, argv[1], err, errlen)
             : client_address(&p, argv[1], kind == RT_PEER_CLIENT, name, err, errlen)) < 0)
        goto out;
    int have_secret = 0, have_coa = 0;
    for (int i = 2; i < argc; i += 2) {
        int is_secret = strcasecmp(argv[i], "secret") == 0;
        int is_coa = kind == RT_PEER_SERVER && strcasecmp(argv[i], "coaPort") == 0;
        if (!is_secret && !is_coa) {
            pm_err(err, errlen, "%s: word %d is neither `secret`%s", name, i + 1,
                   kind == RT_PEER_SERVER ? " nor `coaPort`" : "");
            goto out;
        }
        if (i + 1 >= argc) {
            pm_err(err, errlen, "%s: `%s` needs a value", name, is_secret ? "secret" : "coaPort");
            goto out;
        }
        if ((is_secret && have_secret) || (is_coa && have_coa)) {
            pm_err(err, errlen, "%s: `%s` given twice", name, is_secret ? "secret" : "coaPort");
            goto out;
        }
        if (is_secret) {
            size_t n = strlen(argv[i + 1]);
            if (n == 0 || n > RT_SECRET_MAX) {
                pm_err(err, errlen, "%s: the secret must be 1 to %d octets", name, RT_SECRET_MAX);
                goto out;
            }
            memcpy(p.secret, argv[i + 1], n);
            p.secret_len = n;
            have_secret = 1;
        } else {
            if (port_of(argv[i + 1], &p.coa_port) < 0) {
                pm_err(err, errlen, "%s: coaPort needs a port from 1 to 65535", name);
                goto out;
            }
            have_coa = 1;
        }
    }
    if (!have_secret) {
        pm_err(err, errlen, "%s: `secret SECRET` is missing", name);
        goto out;
    }
    for (unsigned i = 0; i < c->npeers; i++) {
        const struct rt_peer *o = &c->peer[i];
        int same_class = (o->kind == RT_PEER_CLIENT) == (kind == RT_PEER_CLIENT);
        if (same_class && o->family == p.family && o->plen == p.plen &&
            memcmp(o->addr, p.addr, 16) == 0) {
            char a[INET6_ADDRSTRLEN];
            inet_ntop(p.family == 4 ? AF_INET : AF_INET6, p.addr, a, sizeof(a));
            pm_err(err, errlen, "%s: %s is already defined at %s", name, a, o->where);
            goto out;
        }
    }
    if (c->npeers == RT_CONF_MAX_PEERS) {
        pm_err(err, errlen, "%s: at most %d RADIUS peers", name, RT_CONF_MAX_PEERS);
        goto out;
    }
    snprintf(p.where, sizeof(p.where), "%s", where);
    c->peer[c->npeers++] = p;
    rc = 0;
out:
    OPENSSL_cleanse(&p, sizeof(p));
    return rc;
}

int rt_conf_parse(struct rt_conf *c, int argc, char **argv, const char *where, char *err,
                  size_t errlen)
{
    int d = argc > 0 ? find_directive(argv[0]) : -1;
    if (d < 0)
        return pm_err(err, errlen, "not a RADIUS directive");
    const char *name = rt_directives[d].name;
    unsigned long v;
    switch (d) {
    case 0:
        return parse_peer(c, RT_PEER_SERVER, argc, argv, where, err, errlen);
    case 1:
        return parse_peer(c, RT_PEER_CLIENT, argc, argv, where, err, errlen);
    case 2:
        return parse_peer(c, RT_PEER_DYNCLIENT, argc, argv, where, err, errlen);
    default:
        break;
    }
    if (argc != 2)
        return pm_err(err, errlen, "%s takes 1 argument, %d given", name, argc - 1);
    switch (d) {
    case 3:
        if (c->secrets_file[0] != '\0')
            return pm_err(err, errlen, "radiusSecretsFile: already given at %s", c->secrets_where);
        if (argv[1][0] != '/' || strlen(argv[1]) >= sizeof(c->secrets_file))
            return pm_err(err, errlen,
                          "radiusSecretsFile: needs an absolute path shorter than "
                          "%zu characters",
                          sizeof(c->secrets_file));
        snprintf(c->secrets_file, sizeof(c->secrets_file), "%s", argv[1]);
        snprintf(c->secrets_where, sizeof(c->secrets_where), "%s", where);
        return 0;
    case 4:
        if (conf_onoff(argv[1], &c->require_msgauth) < 0)
            return pm_err(err, errlen, "%s: \"%s\" is not on or off", name, argv[1]);
        return 0;
    case 5:
        if (conf_uint(argv[1], 1, 3600, &v) < 0)
            return pm_err(err, errlen, "%s: \"%s\" is not a number of seconds from 1 to 3600", name,
                          argv[1]);
        c->pair_timeout_s = (unsigned)v;
        return 0;
    case 7:
        if (conf_onoff(argv[1], &c->require_event_ts) < 0)
            return pm_err(err, errlen, "%s: \"%s\" is not on or off", name, argv[1]);
        return 0;
    default:
        if (conf_uint(argv[1], 1, 86400, &v) < 0)
            return pm_err(err, errlen, "%s: \"%s\" is not a number of seconds from 1 to 86400",
                          name, argv[1]);
        c->replay_window_s = (unsigned)v;
        return 0;
    }
}

/* Splits a copy of text; 0 words is fine.  Returns argc or -1 (err: no FILE:LINE). */
static int split_copy(char *copy, size_t cap, const char *text, char **argv, char *err,
                      size_t errlen)
{
    size_t n = strlen(text);
    if (n >= cap)
        return pm_err(err, errlen, "line longer than %zu characters", cap - 1);
    memcpy(copy, text, n + 1);
    return conf_split(copy, argv, CONF_MAX_WORDS, err, errlen);
}

int rt_conf_add_line(struct rt_conf *c, const char *file, unsigned line, const char *text,
                     char *err, size_t errlen)
{
    char copy[4096], where[RT_WHERE_MAX], msg[400];
    char *argv[CONF_MAX_WORDS];
    snprintf(where, sizeof(where), "%s:%u", file, line);
    int argc = split_copy(copy, sizeof(copy), text, argv, msg, sizeof(msg));
    int rc = 0;
    if (argc > 0 && rt_conf_directive_kind(argv[0]) == 0)
        rc = pm_err(msg, sizeof(msg), "not a RADIUS directive");
    else if (argc > 0)
        rc = rt_conf_parse(c, argc, argv, where, msg, sizeof(msg));
    else if (argc < 0)
        rc = -1;
    OPENSSL_cleanse(copy, sizeof(copy));
    if (rc < 0)
        return pm_err(err, errlen, "%s: %s", where, msg);
    return 0;
}

/* The secrets file's own checks, on the open descriptor. */
static int secrets_file_ok(const char *path, int fd, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return pm_err(err, errlen, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return pm_err(err, errlen, "%s: not a regular file", path);
    if (st.st_uid != 0 && st.st_uid != geteuid())
        return pm_err(err, errlen,
                      "%s: owned by uid %u, not by root: its owner could change the RADIUS "
                      "secrets; run: chown root %s",
                      path, (unsigned)st.st_uid, path);
    if ((st.st_mode & 077) != 0)
        return pm_err(err, errlen,
                      "%s: mode %04o lets group or others read or change it, and it holds "
                      "RADIUS secrets; run: chmod 600 %s",
                      path, (unsigned)(st.st_mode & 07777), path);
    return 0;
}

int rt_conf_read_secrets(struct rt_conf *c, const char *path, rt_secrets_line_fn fn, void *arg,
                         char *err, size_t errlen)
{
    const char *base;
    char why[600];
    int dfd = pm_open_parent(path, &base, why, sizeof(why));
    if (dfd < 0)
        return pm_err(err, errlen, "%s: %s", path, why);
    int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    int e = errno;
    close(dfd);
    if (fd < 0)
        return pm_err(err, errlen, "%s: %s%s", path, strerror(e),
                      e == ELOOP ? " (a symbolic link is not followed)" : "");
    if (secrets_file_ok(path, fd, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    if (f == NULL) {
        close(fd);
        return pm_err(err, errlen, "%s: %s", path, strerror(errno));
    }
    static char iobuf[4096]; /* ours, so that it can be wiped */
    setvbuf(f, iobuf, _IOFBF, sizeof(iobuf));
    char buf[4096], copy[4096], where[RT_WHERE_MAX], msg[400];
    char *argv[CONF_MAX_WORDS];
    unsigned line = 0;
    int rc = 0;
    while (rc == 0 && fgets(buf, sizeof(buf), f) != NULL) {
        line++;
        size_t n = strlen(buf);
        if (n == sizeof(buf) - 1 && buf[n - 1] != '\n') {
            rc = pm_err(err, errlen, "%s:%u: line longer than %zu characters", path, line,
                        sizeof(buf) - 2);
            break;
        }
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
            buf[--n] = '\0';
        snprintf(where, sizeof(where), "%s:%u", path, line);
        int argc = split_copy(copy, sizeof(copy), buf, argv, msg, sizeof(msg));
        if (argc < 0) {
            rc = pm_err(err, errlen, "%s: %s", where, msg);
        } else if (argc > 0 && rt_conf_directive_kind(argv[0]) != 2) {
            rc = pm_err(err, errlen,
                        "%s: a RADIUS secrets file holds only radiusServer, radiusClient and "
                        "radiusDynamicClient lines",
                        where);
        } else if (argc > 0 && rt_conf_parse(c, argc, argv, where, msg, sizeof(msg)) < 0) {
            rc = pm_err(err, errlen, "%s: %s", where, msg);
        } else if (argc > 0 && fn != NULL &&
                   fn(arg, line, rt_directives[find_directive(argv[0])].name, buf) != 0) {
            rc = pm_err(err, errlen, "%s: the line cannot be passed on to its process", where);
        }
    }
    if (rc == 0 && ferror(f))
        rc = pm_err(err, errlen, "%s:%u: read error", path, line);
    fclose(f);
    OPENSSL_cleanse(buf, sizeof(buf));
    OPENSSL_cleanse(copy, sizeof(copy));
    OPENSSL_cleanse(iobuf, sizeof(iobuf));
    return rc;
}
