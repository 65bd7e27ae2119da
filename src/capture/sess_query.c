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
        out[n++] = (struct se_target){ic->mirror_id, ic->session_id, &ic->analyzer};
    }
    return n;
}

size_t se_match_packet(struct sess_engine *e, int family, const uint8_t *src, const uint8_t *dst,
                       unsigned src_idx, struct se_target *out, size_t max)
{
    size_t n = 0;
    int v6 = family == 6 || family == AF_INET6;
    if (e == NULL || src == NULL || dst == NULL || out == NULL)
        return 0;
    /* static mirrors: every packet of their interface */
    for (size_t i = 0; e->nstatic > 0 && i < e->nrules && n < max; i++) {
        const struct se_rule *r = &e->rules[i];
        if (r->t.type == TRIG_INTERFACE && r->st_active && r->ifidx == (int)src_idx)
            out[n++] = (struct se_target){r->t.mirror_id, r->st_sid, &r->t.analyzer};
    }
    struct sess *s = lookup(e, v6, src);
    if (s != NULL)
        n = add_sess(s, TRIG_DIR_INGRESS, src_idx, out, n, max);
    struct sess *d = lookup(e, v6, dst);
    if (d != NULL && d != s)
        n = add_sess(d, TRIG_DIR_EGRESS, src_idx, out, n, max);
    return n;
}

/* One row: the session's identities, escaped, each cut to fit. */
static void row_of(const struct sess *s, char *row, size_t cap)
{
    static const char *const key[ST_NFIELDS] = {
        [ST_USER] = "user",        [ST_CSID] = "csid",   [ST_ACCT_SID] = "acct",
        [ST_NAS_PORT_ID] = "port", [ST_NAS_ID] = "nas",  [ST_CIRCUIT] = "circuit",
        [ST_REMOTE] = "remote",    [ST_OPT82] = "opt82",
    };
    char a[INET6_ADDRSTRLEN], esc[64];
    size_t n = 0;
    int k = snprintf(row, cap, "%s %s", s->icpt != NULL ? "*" : "-",
                     s->state == SE_ST_ACTIVE ? "active" : "accepted");
    n = k > 0 ? (size_t)k : 0;
    if (s->framed_ip != 0 && inet_ntop(AF_INET, &s->framed_ip, a, sizeof(a)) != NULL && n < cap)
        n += (size_t)snprintf(row + n, cap - n, " ip=%s", a);
    if (s->has_ip6 && inet_ntop(AF_INET6, s->ip6, a, sizeof(a)) != NULL && n < cap)
        n += (size_t)snprintf(row + n, cap - n, " ip6=%s", a);
    const struct sig_prefix6 *p;
    unsigned np = st_prefixes6(s, &p);
    for (unsigned i = 0; i < np && n < cap; i++)
        if (inet_ntop(AF_INET6, p[i].addr, a, sizeof(a)) != NULL)
            n += (size_t)snprintf(row + n, cap - n, " prefix6=%s/%u", a, (unsigned)p[i].len);
    for (int f = 0; f < ST_NFIELDS && n < cap; f++) {
        const uint8_t *v;
        size_t l = st_get(s, (enum st_field)f, &v);
        if (l == 0)
            continue;
        pm_escape(esc, sizeof(esc), (const char *)v, l);
        n += (size_t)snprintf(row + n, cap - n, " %s=\"%s\"", key[f], esc);
    }
    if (n < cap)
        snprintf(row + n, cap - n, " intercepts=%zu", se_icpt_count(s));
    OPENSSL_cleanse(esc, sizeof(esc));
}

size_t se_list(struct sess_engine *e, const char *filter, uint32_t offset, size_t max,
               char rows[][256], int *more)
{
    size_t n = 0;
    uint32_t seen = 0;
    char row[256];
    if (more != NULL)
        *more = 0;
    for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s)) {
        row_of(s, row, sizeof(row));
        if (filter != NULL && filter[0] != '\0' && strstr(row + 2, filter) == NULL)
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
    s->targets = s->intercepts = 0;
    for (const struct sess *x = st_next(e->st, NULL); x != NULL; x = st_next(e->st, x)) {
        if (x->icpt == NULL)
            continue;
        s->targets++;
        s->intercepts += se_icpt_count(x);
    }
    for (size_t i = 0; i < e->nrules; i++)
        if (e->rules[i].st_active)
            s->intercepts++;
}
