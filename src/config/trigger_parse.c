/*
 * trigger_parse.c - the words of `mirror ...` and `no mirror ...` into a
 * struct pm_trigger / pm_trigger_del, and back into one canonical line
 * (trigger.h).  Errors name the word by its position (word 1 is the
 * directive) and never quote a word: VALUE is a target identity, and the
 * analyzer and IDs belong to the mirror log only (CONTRIBUTING.md).
 *
 * Decisions (README "Configuration reference", `mirror`):
 * - keywords (analyzer, id, session, direction, from, until) are matched in
 *   any case, in any order after VALUE, each at most once;
 * - an ipAddress prefix must have no bits set after its length;
 * - `mirror interface IFNAME` takes analyzer, id and direction only: a
 *   static mirror has no session and no warrant window of its own;
 * - `from` must be before `until` when both are given.
 */
#include "pmirrord/trigger.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Decimal digits only, no sign, within [0, max]. */
static int parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    if (!isdigit((unsigned char)s[0]) || strlen(s) > 10)
        return -1;
    for (const char *p = s; *p != '\0'; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* 0x followed by 1..cap octets in hex -> out; length or -1. */
static int parse_hex(const char *s, uint8_t *out, size_t cap)
{
    s += 2;
    size_t n = strlen(s);
    if (n == 0 || n % 2 != 0 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval((unsigned char)s[2 * i]), lo = hexval((unsigned char)s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(n / 2);
}

static int is_hex_word(const char *s)
{
    return s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
}

/* An IPv4/IPv6 address or prefix; no host bits after the length. */
static int parse_ip(const char *s, int *family, uint8_t ip[16], unsigned *plen, const char **why)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(s) >= sizeof(buf)) {
        *why = "is not an IPv4 or IPv6 address or prefix";
        return -1;
    }
    snprintf(buf, sizeof(buf), "%s", s);
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash++ = '\0';
    memset(ip, 0, 16);
    unsigned max;
    if (inet_pton(AF_INET, buf, ip) == 1) {
        *family = 4;
        max = 32;
    } else if (inet_pton(AF_INET6, buf, ip) == 1) {
        *family = 6;
        max = 128;
    } else {
        *why = "is not an IPv4 or IPv6 address or prefix";
        return -1;
    }
    *plen = max;
    if (slash != NULL) {
        uint32_t v;
        if (parse_u32(slash, max, &v) < 0) {
            *why = "has a prefix length out of range";
            return -1;
        }
        *plen = v;
    }
    for (unsigned b = *plen; b < max; b++)
        if (ip[b / 8] & (0x80u >> (b % 8))) {
            *why = "has bits set after its prefix length";
            return -1;
        }
    return 0;
}

int trig_analyzer_parse(const char *s, struct trig_analyzer *a, char *err, size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port;
    size_t hl;
    memset(a, 0, sizeof(*a));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return fail(err, errlen, "an IPv6 analyzer is written [ADDRESS]:PORT");
        hl = (size_t)(close - s - 1);
        s++;
        port = close + 2;
        a->family = 6;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL)
            return fail(err, errlen, "the analyzer is written ADDRESS:PORT");
        if (memchr(s, ':', (size_t)(colon - s)) != NULL)
            return fail(err, errlen, "an IPv6 analyzer is written [ADDRESS]:PORT");
        hl = (size_t)(colon - s);
        port = colon + 1;
        a->family = 4;
    }
    if (hl == 0 || hl >= sizeof(host))
        return fail(err, errlen, "the analyzer address is missing or too long");
    memcpy(host, s, hl);
    host[hl] = '\0';
    if (inet_pton(a->family == 6 ? AF_INET6 : AF_INET, host, a->addr) != 1)
        return fail(err, errlen, "the analyzer address is not a numeric IPv%d address", a->family);
    static const uint8_t zero[16];
    if (memcmp(a->addr, zero, a->family == 6 ? 16 : 4) == 0)
        return fail(err, errlen, "the analyzer address is unspecified");
    uint32_t p;
    if (parse_u32(port, 65535, &p) < 0 || p == 0)
        return fail(err, errlen, "the analyzer port is not a number from 1 to 65535");
    a->port = (uint16_t)p;
    return 0;
}

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* YYYY-MM-DDTHH:MM[:SS](Z|+HH:MM|-HH:MM|+HHMM|+HH) -> seconds since the epoch. */
static int parse_time(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, sec = 0;
    const char *p = s;
    if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 || *p++ != '-' ||
        digits(&p, 2, &d) < 0 || (*p != 'T' && *p != 't') || (p++, digits(&p, 2, &h)) < 0 ||
        *p++ != ':' || digits(&p, 2, &mi) < 0)
        return -1;
    if (*p == ':') {
        p++;
        if (digits(&p, 2, &sec) < 0)
            return -1;
    }
    int off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p++ == '-' ? -1 : 1, oh, om = 0;
        if (digits(&p, 2, &oh) < 0)
            return -1;
        if (*p == ':' && (p++, digits(&p, 2, &om)) < 0) /* +HH:MM: the minutes too */
            return -1;
        if (*p != '\0' && digits(&p, 2, &om) < 0)
            return -1;
        if (oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -1; /* a local time would depend on the host's zone */
    }
    if (*p != '\0' || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 59)
        return -1;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1) /* 2026-02-30 */
        return -1;
    int64_t v = (int64_t)t - off;
    if (v <= 0)
        return -1; /* 0 means "unbounded" */
    *out = v;
    return 0;
}

/* TYPE VALUE at argv[i], argv[i+1] -> the common fields; i is 1-based in messages. */
static int parse_type_value(const char *what, int argc, char *const *argv, int i,
                            enum trig_type *type, char *text, uint8_t *value, size_t *value_len,
                            int *family, uint8_t *ip, unsigned *plen, char *err, size_t errlen)
{
    if (argc <= i)
        return fail(err, errlen, "%s: word %d: a trigger type is missing", what, i + 1);
    int t = trig_type_parse(argv[i]);
    if (t < 0)
        return fail(err, errlen,
                    "%s: word %d: not a trigger type (ipAddress, nasPortId, username, "
                    "callingStationId, acctSessionId, dhcpOption82, agentCircuitId, "
                    "agentRemoteId, interface)",
                    what, i + 1);
    *type = (enum trig_type)t;
    if (argc <= i + 1)
        return fail(err, errlen, "%s: word %d: the %s value is missing", what, i + 2,
                    t == TRIG_INTERFACE ? "interface name" : "trigger");
    const char *v = argv[i + 1];
    size_t vl = strlen(v);
    if (vl == 0)
        return fail(err, errlen, "%s: word %d: the value is empty", what, i + 2);
    if (vl > TRIG_TEXT_MAX)
        return fail(err, errlen, "%s: word %d: the value is longer than %d characters", what, i + 2,
                    TRIG_TEXT_MAX);
    /* A control character (CR above all) would make the rule's text, which
     * TRIGGER_SET carries as a configuration line, fail to encode, and with
     * it every push of the table; octets like these are written in hex. */
    for (size_t k = 0; k < vl; k++)
        if ((unsigned char)v[k] < 0x20 || v[k] == 0x7f)
            return fail(err, errlen,
                        "%s: word %d: a control character in the value (write it as 0x "
                        "followed by hex)",
                        what, i + 2);
    if (text != NULL)
        memcpy(text, v, vl + 1);
    *value_len = 0;
    *family = 0;
    *plen = 0;
    memset(ip, 0, 16);
    if (t == TRIG_INTERFACE) {
        if (vl > IFNAME_MAX || strpbrk(v, "/: ") != NULL) /* as the kernel's dev_valid_name() */
            return fail(err, errlen, "%s: word %d: not an interface name (1 to %d characters)",
                        what, i + 2, IFNAME_MAX);
        memcpy(value, v, vl);
        *value_len = vl;
        return 0;
    }
    if (t == TRIG_IP) {
        const char *why = NULL;
        if (parse_ip(v, family, ip, plen, &why) < 0)
            return fail(err, errlen, "%s: word %d: the ipAddress value %s", what, i + 2, why);
        return 0;
    }
    if (is_hex_word(v)) {
        int n = parse_hex(v, value, TRIG_VALUE_MAX);
        if (n < 0)
            return fail(err, errlen, "%s: word %d: not 0x followed by 1 to %d octets in hex", what,
                        i + 2, TRIG_VALUE_MAX);
        *value_len = (size_t)n;
        return 0;
    }
    if (vl > TRIG_VALUE_MAX)
        return fail(err, errlen, "%s: word %d: the value is longer than %d octets", what, i + 2,
                    TRIG_VALUE_MAX);
    memcpy(value, v, vl);
    *value_len = vl;
    return 0;
}

int trig_parse(struct pm_trigger *t, int argc, char *const *argv, char *err, size_t errlen)
{
    memset(t, 0, sizeof(*t));
    t->direction = TRIG_DIR_BOTH;
    if (argc < 1 || strcasecmp(argv[0], "mirror") != 0)
        return fail(err, errlen, "mirror: word 1: expected \"mirror\"");
    if (parse_type_value("mirror", argc, argv, 1, &t->type, t->text, t->value, &t->value_len,
                         &t->ip_family, t->ip, &t->ip_plen, err, errlen) < 0)
        return -1;
    int seen_analyzer = 0, seen_id = 0, seen_dir = 0, seen_from = 0, seen_until = 0;
    for (int i = 3; i < argc; i += 2) {
        const char *k = argv[i];
        int pos = i + 1;
        int *seen;
        if (strcasecmp(k, "analyzer") == 0)
            seen = &seen_analyzer;
        else if (strcasecmp(k, "id") == 0)
            seen = &seen_id;
        else if (strcasecmp(k, "session") == 0)
            seen = &t->has_session_id;
        else if (strcasecmp(k, "direction") == 0)
            seen = &seen_dir;
        else if (strcasecmp(k, "from") == 0)
            seen = &seen_from;
        else if (strcasecmp(k, "until") == 0)
            seen = &seen_until;
        else
            return fail(err, errlen,
                        "mirror: word %d: expected analyzer, id, session, direction, from or "
                        "until",
                        pos);
        if (*seen)
            return fail(err, errlen, "mirror: word %d: %s is given twice", pos, k);
        if (t->type == TRIG_INTERFACE &&
            (seen == &t->has_session_id || seen == &seen_from || seen == &seen_until))
            return fail(err, errlen,
                        "mirror: word %d: a static interface mirror takes analyzer, id and "
                        "direction only",
                        pos);
        *seen = 1;
        if (i + 1 >= argc)
            return fail(err, errlen, "mirror: word %d: %s needs a value", pos + 1, k);
        const char *v = argv[i + 1];
        if (seen == &seen_analyzer) {
            char why[128];
            if (trig_analyzer_parse(v, &t->analyzer, why, sizeof(why)) < 0)
                return fail(err, errlen, "mirror: word %d: %s", pos + 1, why);
        } else if (seen == &seen_id) {
            if (parse_u32(v, TRIG_MIRROR_ID_MAX, &t->mirror_id) < 0)
                return fail(err, errlen,
                            "mirror: word %d: the mirror ID is not a number from 0 "
                            "to 1073741823",
                            pos + 1);
        } else if (seen == &t->has_session_id) {
            if (parse_u32(v, UINT32_MAX, &t->session_id) < 0)
                return fail(err, errlen,
                            "mirror: word %d: the session ID is not a number from "
                            "0 to 4294967295",
                            pos + 1);
        } else if (seen == &seen_dir) {
            if (strcasecmp(v, "ingress") == 0)
                t->direction = TRIG_DIR_INGRESS;
            else if (strcasecmp(v, "egress") == 0)
                t->direction = TRIG_DIR_EGRESS;
            else if (strcasecmp(v, "both") == 0)
                t->direction = TRIG_DIR_BOTH;
            else
                return fail(err, errlen, "mirror: word %d: direction is ingress, egress or both",
                            pos + 1);
        } else {
            int64_t *dst = seen == &seen_from ? &t->from : &t->until;
            if (parse_time(v, dst) < 0)
                return fail(err, errlen,
                            "mirror: word %d: not an ISO 8601 time with Z or an offset "
                            "(2026-11-27T13:00:00Z)",
                            pos + 1);
        }
    }
    if (!seen_analyzer)
        return fail(err, errlen, "mirror: word %d: analyzer ADDRESS:PORT is missing", argc + 1);
    if (!seen_id)
        return fail(err, errlen, "mirror: word %d: id MIRROR-ID is missing", argc + 1);
    if (t->from != 0 && t->until != 0 && t->from >= t->until)
        return fail(err, errlen, "mirror: `from` must be before `until`");
    return 0;
}

int trig_parse_del(struct pm_trigger_del *d, int argc, char *const *argv, char *err, size_t errlen)
{
    memset(d, 0, sizeof(*d));
    if (argc < 1 || strcasecmp(argv[0], "no") != 0)
        return fail(err, errlen, "no: word 1: expected \"no\"");
    if (argc < 2 || strcasecmp(argv[1], "mirror") != 0)
        return fail(err, errlen, "no: word 2: expected \"mirror\"");
    if (parse_type_value("no mirror", argc, argv, 2, &d->type, NULL, d->value, &d->value_len,
                         &d->ip_family, d->ip, &d->ip_plen, err, errlen) < 0)
        return -1;
    if (argc == 4)
        return 0;
    if (strcasecmp(argv[4], "id") != 0)
        return fail(err, errlen, "no mirror: word 5: expected id");
    if (argc < 6)
        return fail(err, errlen, "no mirror: word 6: id needs a value");
    if (parse_u32(argv[5], TRIG_MIRROR_ID_MAX, &d->mirror_id) < 0)
        return fail(err, errlen,
                    "no mirror: word 6: the mirror ID is not a number from 0 to 1073741823");
    d->has_mirror_id = 1;
    if (argc > 6)
        return fail(err, errlen, "no mirror: word 7: nothing may follow the mirror ID");
    return 0;
}

/* Appends to buf at *n; -1 once cap is short. */
static int put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int put(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap)
        return -1;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (r < 0 || (size_t)r >= cap - *n)
        return -1;
    *n += (size_t)r;
    return 0;
}

static int put_time(char *buf, size_t cap, size_t *n, const char *kw, int64_t v)
{
    time_t tt = (time_t)v;
    struct tm tm;
    char ts[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return -1;
    return put(buf, cap, n, " %s %s", kw, ts);
}

/* The VALUE word: as text when it reads back the same, else 0x + hex. */
static int put_value(char *buf, size_t cap, size_t *n, const uint8_t *v, size_t len)
{
    int plain = len > 0 && !(len >= 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'));
    int space = 0, backslash = 0;
    for (size_t i = 0; plain && i < len; i++) {
        if (v[i] == ' ')
            space = 1;
        else if (v[i] == '\\')
            backslash = 1;
        else if (v[i] < 0x21 || v[i] > 0x7e || v[i] == '"' || v[i] == '#')
            plain = 0;
    }
    /* quoted, a backslash reads differently to pmirrorctl (an escape) and to
     * the configuration file (itself): hex reads the same to both */
    if (space && backslash)
        plain = 0;
    if (plain)
        return put(buf, cap, n, space ? " \"%.*s\"" : " %.*s", (int)len, (const char *)v);
    if (put(buf, cap, n, " 0x") < 0)
        return -1;
    for (size_t i = 0; i < len; i++)
        if (put(buf, cap, n, "%02x", v[i]) < 0)
            return -1;
    return 0;
}

int trig_format(const struct pm_trigger *t, char *buf, size_t cap)
{
    size_t n = 0;
    const char *label = trig_type_label(t->type);
    if (label == NULL || cap == 0)
        return -1;
    if (put(buf, cap, &n, "mirror %s", t->type == TRIG_INTERFACE ? "interface" : label) < 0)
        return -1;
    if (t->type == TRIG_INTERFACE) {
        if (put(buf, cap, &n, " %.*s", (int)strnlen(t->text, TRIG_TEXT_MAX), t->text) < 0)
            return -1;
    } else if (t->type == TRIG_IP) {
        char ip[INET6_ADDRSTRLEN];
        unsigned full = t->ip_family == 6 ? 128 : 32;
        if (inet_ntop(t->ip_family == 6 ? AF_INET6 : AF_INET, t->ip, ip, sizeof(ip)) == NULL)
            return -1;
        if (put(buf, cap, &n, t->ip_plen < full ? " %s/%u" : " %s", ip, t->ip_plen) < 0)
            return -1;
    } else if (put_value(buf, cap, &n, t->value, t->value_len) < 0) {
        return -1;
    }
    char an[INET6_ADDRSTRLEN + 10];
    if (trig_analyzer_format(&t->analyzer, an, sizeof(an)) < 0 ||
        put(buf, cap, &n, " analyzer %s id %u", an, (unsigned)t->mirror_id) < 0)
        return -1;
    if (t->has_session_id && put(buf, cap, &n, " session %u", (unsigned)t->session_id) < 0)
        return -1;
    if (t->direction != TRIG_DIR_BOTH &&
        put(buf, cap, &n, " direction %s",
            t->direction == TRIG_DIR_INGRESS ? "ingress" : "egress") < 0)
        return -1;
    if (t->from != 0 && put_time(buf, cap, &n, "from", t->from) < 0)
        return -1;
    if (t->until != 0 && put_time(buf, cap, &n, "until", t->until) < 0)
        return -1;
    return (int)n;
}
