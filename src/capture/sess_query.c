/*
 * sess_query.c - what the rest of the capture process asks the session
 * engine: per packet, which intercepts it feeds (no allocation, no lock);
 * `show mirror subscribers` rows; the counters.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pmirrord/escape.h"
#include "sess_priv.h"

static struct sess *lookup(const struct sess_engine *e, int v6, const uint8_t *a)
{
    if (v6)
        return st_find_ip6(e->st, a);
    uint32_t be;
    memcpy(&be, a, 4);
    return be != 0 ? st_find_ip4(e->st, be) : NULL;
}

/* side: TRIG_DIR_INGRESS (the subscriber sent it) or TRIG_DIR_EGRESS. */
static size_t add_sess(struct sess *s, enum trig_dir side, unsigned src_idx, struct se_target *out,
                       size_t n, size_t max)
{
    if (src_idx < SE_SOURCES_MAX)
        s->last_src = (uint8_t)src_idx;
    for (const struct se_icpt *ic = s->icpt; ic != NULL && n < max; ic = ic->next) {
        if (!ic->announced || (ic->direction != TRIG_DIR_BOTH && ic->direction != side))
            continue;
        out[n++] = (struct se_target){.mirror_id = ic->mirror_id,
                                      .session_id = ic->session_id,
                                      .router_id = ic->rid,
                                      .since_us = ic->on_us,
                                      .analyzer = &ic->analyzer};
    }
    return n;
}

/* A static mirror of direction dir takes a frame that crossed its interface
 * as iface_dir: both takes every frame; ingress and egress only frames known
 * to be received or sent (a frame of unknown direction, -1, is not taken:
 * one direction must never carry the other's packets). */
static int static_dir_ok(enum trig_dir dir, int iface_dir)
{
    if (dir == TRIG_DIR_BOTH)
        return 1;
    return iface_dir >= 0 && (int)dir == iface_dir;
}

size_t se_match_packet(struct sess_engine *e, int family, const uint8_t *src, const uint8_t *dst,
                       unsigned src_idx, int iface_dir, struct se_target *out, size_t max)
{
    size_t n = 0;
    int v6 = family == 6 || family == AF_INET6;
    if (e == NULL || src == NULL || dst == NULL || out == NULL)
        return 0;
    /* static mirrors: every packet of their interface */
    size_t walk = e->static_scan ? e->nrules : e->nstatic;
    for (size_t k = 0; e->nstatic > 0 && k < walk && n < max; k++) {
        const struct se_rule *r = &e->rules[e->static_scan ? k : e->static_run[k]];
        if (r->t.type == TRIG_INTERFACE && r->st_active && r->ifidx == (int)src_idx &&
            static_dir_ok(r->t.direction, iface_dir))
            out[n++] = (struct se_target){
                .mirror_id = r->t.mirror_id, .session_id = r->st_sid, .analyzer = &r->t.analyzer};
    }
    struct sess *s = lookup(e, v6, src);
    if (s != NULL)
        n = add_sess(s, TRIG_DIR_INGRESS, src_idx, out, n, max);
    struct sess *d = lookup(e, v6, dst);
    if (d != NULL && d != s)
        n = add_sess(d, TRIG_DIR_EGRESS, src_idx, out, n, max);
    return n;
}

/* The length of the escape unit (pm_escape's output) at e: a backslash
 * escape, one UTF-8 sequence, one octet. */
static size_t esc_unit(const char *e)
{
    unsigned char c = (unsigned char)e[0];
    if (c == '\\')
        return e[1] == 'x' ? 4 : 2;
    if (c >= 0xf0)
        return 4;
    if (c >= 0xe0)
        return 3;
    if (c >= 0xc0)
        return 2;
    return 1;
}

/* Appends " key=\"value\"" (value: v escaped, at most ROW_VALUE_MAX
 * characters, cut between escape units) when it fits whole; returns 0 when
 * it does not (the row is full). */
#define ROW_VALUE_MAX 63
static int put_field(char *row, size_t cap, size_t *n, const char *key, const uint8_t *v, size_t l)
{
    char esc[SIG_STR_MAX * 4 + 1];
    pm_escape(esc, sizeof(esc), (const char *)v, l);
    size_t cut = 0, u;
    while (esc[cut] != '\0' && cut + (u = esc_unit(esc + cut)) <= ROW_VALUE_MAX)
        cut += u;
    esc[cut] = '\0'; /* never half an escape: a lone backslash would eat the closing quote */
    int k = snprintf(row + *n, cap - *n, " %s=\"%s\"", key, esc);
    OPENSSL_cleanse(esc, sizeof(esc));
    if (k < 0 || (size_t)k >= cap - *n) {
        row[*n] = '\0';
        return 0;
    }
    *n += (size_t)k;
    return 1;
}

/* Appends text when it fits whole; 0 when it does not. */
static int put_text(char *row, size_t cap, size_t *n, const char *key, const char *text)
{
    int k = snprintf(row + *n, cap - *n, " %s=%s", key, text);
    if (k < 0 || (size_t)k >= cap - *n) {
        row[*n] = '\0';
        return 0;
    }
    *n += (size_t)k;
    return 1;
}

/* One row: the session's identities, escaped, each cut to fit; a field that
 * does not fit whole is left out with the ones after it. */
static void row_of(const struct sess *s, char *row, size_t cap)
{
    static const char *const key[ST_NFIELDS] = {
        [ST_USER] = "user",        [ST_CSID] = "csid",   [ST_ACCT_SID] = "acct",
        [ST_NAS_PORT_ID] = "port", [ST_NAS_ID] = "nas",  [ST_CIRCUIT] = "circuit",
        [ST_REMOTE] = "remote",    [ST_OPT82] = "opt82",
    };
    char a[INET6_ADDRSTRLEN + 8];
    size_t n = 0;
    int k = snprintf(row, cap, "%s %s", s->icpt != NULL ? "*" : "-",
                     s->state == SE_ST_ACTIVE ? "active" : "accepted");
    n = k > 0 && (size_t)k < cap ? (size_t)k : 0;
    int room = 1;
    if (s->framed_ip != 0 && inet_ntop(AF_INET, &s->framed_ip, a, sizeof(a)) != NULL)
        room = put_text(row, cap, &n, "ip", a);
    if (room && s->has_ip6 && inet_ntop(AF_INET6, s->ip6, a, sizeof(a)) != NULL)
        room = put_text(row, cap, &n, "ip6", a);
    const struct sig_prefix6 *p;
    unsigned np = st_prefixes6(s, &p);
    for (unsigned i = 0; i < np && room; i++)
        if (inet_ntop(AF_INET6, p[i].addr, a, INET6_ADDRSTRLEN) != NULL) {
            size_t al = strlen(a);
            snprintf(a + al, sizeof(a) - al, "/%u", (unsigned)p[i].len);
            room = put_text(row, cap, &n, "prefix6", a);
        }
    for (int f = 0; f < ST_NFIELDS && room; f++) {
        const uint8_t *v;
        size_t l = st_get(s, (enum st_field)f, &v);
        if (l > 0)
            room = put_field(row, cap, &n, key[f], v, l);
    }
    if (room)
        snprintf(a, sizeof(a), "%zu", se_icpt_count(s)),
            (void)put_text(row, cap, &n, "intercepts", a);
    OPENSSL_cleanse(a, sizeof(a));
}

size_t se_list(struct sess_engine *e, const char *filter, uint32_t offset, size_t max,
               char rows[][256], int *more)
{
    size_t n = 0;
    uint32_t seen = 0;
    char row[256];
    if (more != NULL)
        *more = 0;
    int all = filter == NULL || filter[0] == '\0';
    for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s)) {
        if (all && seen < offset) { /* no row to build for what is skipped */
            seen++;
            continue;
        }
        row_of(s, row, sizeof(row));
        if (!all && strstr(row + 2, filter) == NULL)
            continue;
        if (seen++ < offset)
            continue;
        if (n == max) {
            if (more != NULL)
                *more = 1;
            break;
        }
        memcpy(rows[n++], row, sizeof(row));
    }
    OPENSSL_cleanse(row, sizeof(row));
    return n;
}

void se_get_stats(const struct sess_engine *e, struct se_stats *s)
{
    *s = e->stats;
    s->sessions = st_count(e->st);
    /* kept as intercepts come and go: STATS every second must not walk a
     * million sessions on the capture thread */
    s->targets = e->n_targets;
    s->intercepts = e->n_icpt + e->nstatic;
}
