/*
 * sess_icpt.c - a session's intercepts and the CLI rules that create them:
 * matching a rule against a subscriber's identities, JUNOSe's precedence
 * among the rules of one mirror ID, and reporting RADIUS-provisioned
 * intercepts to the agent (docs/sessions.md, "Triggers" and "Precedence").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sess_priv.h"

struct se_icpt *se_icpt_find(const struct sess *s, uint32_t mid)
{
    for (struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next)
        if (ic->mirror_id == mid)
            return ic;
    return NULL;
}

size_t se_icpt_count(const struct sess *s)
{
    size_t n = 0;
    for (const struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next)
        n++;
    return n;
}

struct se_icpt *se_icpt_add(struct sess_engine *e, struct sess *s, uint32_t mid)
{
    struct se_icpt *ic = calloc(1, sizeof(*ic));
    if (ic == NULL)
        return NULL;
    ic->mirror_id = mid;
    e->n_targets += s->icpt == NULL;
    e->n_icpt++;
    struct se_icpt **pp = &s->icpt;
    while (*pp != NULL && (*pp)->mirror_id <= mid)
        pp = &(*pp)->next;
    ic->next = *pp;
    *pp = ic;
    return ic;
}

/* Unlinks ic from s and frees it (its trigger text is wiped). */
void se_icpt_unlink(struct sess_engine *e, struct sess *s, struct se_icpt *ic)
{
    for (struct se_icpt **pp = &s->icpt; *pp != NULL; pp = &(*pp)->next)
        if (*pp == ic) {
            se_icpt_set_announced(e, ic, 0);
            *pp = ic->next;
            OPENSSL_cleanse(ic, sizeof(*ic));
            free(ic);
            e->n_icpt--;
            e->n_targets -= s->icpt == NULL;
            return;
        }
}

/* Do the first len bits of a and b agree? */
static int bits_equal(const uint8_t *a, const uint8_t *b, unsigned len)
{
    unsigned n = len / 8, r = len % 8;
    if (memcmp(a, b, n) != 0)
        return 0;
    return r == 0 || ((a[n] ^ b[n]) & (uint8_t)(0xff << (8 - r))) == 0;
}

/* An ipAddress rule holds the subscriber when its prefix holds the
 * subscriber's IPv4 or IPv6 address, or overlaps one of its IPv6 prefixes
 * (Framed-IPv6-Prefix, Delegated-IPv6-Prefix): either contains the other. */
static int ip_matches(const struct pm_trigger *t, const struct se_view *v)
{
    if (t->ip_family == 4)
        return v->ip4 != 0 && bits_equal((const uint8_t *)&v->ip4, t->ip, t->ip_plen);
    if (v->has_ip6 && bits_equal(v->ip6, t->ip, t->ip_plen))
        return 1;
    for (unsigned i = 0; i < v->np6; i++) {
        unsigned len = v->p6[i].len < t->ip_plen ? v->p6[i].len : t->ip_plen;
        if (bits_equal(v->p6[i].addr, t->ip, len))
            return 1;
    }
    return 0;
}

int se_rule_matches(const struct pm_trigger *t, const struct se_view *v)
{
    static const int field[TRIG_TYPE_MAX + 1] = {
        [TRIG_INTERFACE] = -1,
        [TRIG_IP] = -1,
        [TRIG_NAS_PORT_ID] = ST_NAS_PORT_ID,
        [TRIG_USERNAME] = ST_USER,
        [TRIG_CSID] = ST_CSID,
        [TRIG_ACCT_SID] = ST_ACCT_SID,
        [TRIG_OPT82] = ST_OPT82,
        [TRIG_CIRCUIT] = ST_CIRCUIT,
        [TRIG_REMOTE] = ST_REMOTE,
    };
    if ((int)t->type < 0 || t->type > TRIG_TYPE_MAX || t->type == TRIG_INTERFACE)
        return 0;
    if (t->type == TRIG_IP)
        return ip_matches(t, v);
    int f = field[t->type];
    return t->value_len > 0 && v->l[f] == t->value_len &&
           memcmp(v->f[f], t->value, t->value_len) == 0;
}

/* Is r in force: a subscriber rule, its window open, its analyzer usable? */
static int rule_in_force(const struct se_rule *r)
{
    return r->t.type != TRIG_INTERFACE && r->open && r->usable;
}

/* JUNOSe examines the rules of one mirror ID in its precedence and stops at
 * the first that matches; between two ipAddress rules the longer prefix. */
struct se_rule *se_best_rule(struct sess_engine *e, const struct se_view *v, uint32_t mid,
                             uint32_t skip_serial)
{
    struct se_rule *best = NULL;
    for (size_t i = 0; i < e->nrules; i++) {
        struct se_rule *r = &e->rules[i];
        if (!rule_in_force(r) || r->t.mirror_id != mid || r->serial == skip_serial ||
            !se_rule_matches(&r->t, v))
            continue;
        if (best == NULL)
            best = r;
        else if (se_type_rank(r->t.type) < se_type_rank(best->t.type))
            best = r;
        else if (r->t.type == TRIG_IP && best->t.type == TRIG_IP && r->t.ip_plen > best->t.ip_plen)
            best = r;
    }
    return best;
}

struct se_rule *se_rule_by_serial(struct sess_engine *e, uint32_t serial)
{
    for (size_t i = 0; i < e->nrules; i++)
        if (e->rules[i].serial == serial)
            return &e->rules[i];
    return NULL;
}

/* ic takes r's values (a CLI intercept: cliTrigger, the rule's type and
 * value as written); not announced yet. */
void se_icpt_from_rule(struct sess_engine *e, struct sess *s, struct se_icpt *ic,
                       const struct se_rule *r)
{
    se_icpt_set_announced(e, ic, 0);
    ic->mirror_id = r->t.mirror_id;
    ic->session_id = r->t.has_session_id ? r->t.session_id : se_sess_sid(e, s);
    ic->analyzer = r->t.analyzer;
    ic->direction = r->t.direction;
    ic->cs = SE_CS_CLI_TRIGGER;
    ic->tt = (int)r->t.type;
    ic->rule = r->serial;
    ic->rank = se_type_rank((int)r->t.type);
    ic->rid = s->router_id;
    se_copy(ic->tr, sizeof(ic->tr), r->tr);
}

/* An intercept s cannot take (SE_TARGETS_MAX): CliTriggerBasedMirroringFailure
 * noResourcesAvailable. */
static void cli_no_room(struct sess_engine *e, struct sess *s, const struct se_rule *r,
                        const struct se_view *v, int64_t sec, uint32_t usec)
{
    struct se_evctx c = {.trap = PM_TRAP_CLI_FAILURE,
                         .sec = sec,
                         .usec = usec,
                         .s = s,
                         .view = v,
                         .ec = SE_EC_NO_RESOURCES,
                         .es = "too many intercepts on one session"};
    se_raise_failure(e, &c, SE_CS_CLI_TRIGGER, (int)r->t.type, r->tr, s->router_id, r->t.mirror_id,
                     0, NULL);
}

/* Puts rule r on s for its mirror ID: a new intercept, or the one of that
 * mirror ID switched to r.  Returns it (unannounced), NULL if none. */
static struct se_icpt *put_rule(struct sess_engine *e, struct sess *s, const struct se_rule *r,
                                const struct se_view *v, int64_t sec, uint32_t usec)
{
    struct se_icpt *ic = se_icpt_find(s, r->t.mirror_id);
    if (ic == NULL) {
        if (se_icpt_count(s) >= SE_TARGETS_MAX ||
            (ic = se_icpt_add(e, s, r->t.mirror_id)) == NULL) {
            cli_no_room(e, s, r, v, sec, usec);
            return NULL;
        }
        ic->since = sec;
    } else if (ic->rule == 0) {
        se_report(e, s, ic, 0); /* a RADIUS-provisioned one gives way */
    }
    se_icpt_from_rule(e, s, ic, r);
    return ic;
}

static int seen_mid(const struct sess_engine *e, size_t upto, uint32_t mid)
{
    for (size_t j = 0; j < upto; j++)
        if (e->rules[j].t.mirror_id == mid && rule_in_force(&e->rules[j]))
            return 1;
    return 0;
}

void se_apply_rules(struct sess_engine *e, struct sess *s, int64_t sec, uint32_t usec)
{
    struct se_view v;
    if (e->nrules == 0)
        return;
    se_view_sess(&v, s);
    for (size_t i = 0; i < e->nrules; i++) {
        const struct se_rule *r = &e->rules[i];
        if (!rule_in_force(r) || seen_mid(e, i, r->t.mirror_id))
            continue;
        struct se_rule *best = se_best_rule(e, &v, r->t.mirror_id, 0);
        if (best == NULL)
            continue;
        struct se_icpt *ic = se_icpt_find(s, best->t.mirror_id);
        if (ic != NULL && (ic->rule == 0 || ic->rule == best->serial ||
                           ic->rank <= se_type_rank((int)best->t.type)))
            continue; /* RADIUS wins at login; a better or the same rule runs */
        put_rule(e, s, best, &v, sec, usec);
    }
}

void se_announce(struct sess_engine *e, struct sess *s, enum pm_trap trap, int64_t sec,
                 uint32_t usec)
{
    struct se_view v;
    int have_view = 0;
    for (struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next) {
        if (ic->announced)
            continue;
        if (!have_view) {
            se_view_sess(&v, s);
            have_view = 1;
        }
        struct se_evctx c = {.trap = trap, .sec = sec, .usec = usec, .s = s, .view = &v};
        se_raise_icpt(e, &c, ic);
        se_icpt_set_announced(e, ic, 1);
    }
}

/* RADIUS-provisioned intercepts only: the agent keeps them for a restart. */
void se_report(struct sess_engine *e, const struct sess *s, const struct se_icpt *ic, int up)
{
    struct pm_intercept p;
    if (ic->rule != 0 || e->out.intercept == NULL)
        return;
    memset(&p, 0, sizeof(p));
    st_ident(s, &p.id);
    p.mirror_id = ic->mirror_id;
    p.session_id = ic->session_id;
    p.analyzer = ic->analyzer;
    p.direction = ic->direction;
    p.config_source = ic->cs;
    p.trigger_type = ic->tt;
    se_copy(p.trigger, sizeof(p.trigger), ic->tr);
    p.router_id = ic->rid;
    p.since_sec = ic->since;
    e->out.intercept(e->out.arg, &p, up);
    OPENSSL_cleanse(&p, sizeof(p));
}
