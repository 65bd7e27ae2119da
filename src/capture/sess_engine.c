/*
 * sess_engine.c - sessions from signalling facts (sig_fact.h): when a
 * session starts, ends or fails, which intercepts run on it, and the
 * notification each step raises (docs/sessions.md has the rules, event by
 * event).  The trigger table is in sess_rules.c, intercept lists and
 * precedence in sess_icpt.c, the varbind values in sess_sid.c and
 * sess_events.c, the per-packet answer in sess_query.c.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "pmirrord/errbuf.h"
#include "pmirrord/escape.h"
#include "sess_priv.h"

struct sess_engine *se_new(const struct se_conf *c, const struct se_out *out, char *err,
                           size_t errlen)
{
    struct sess_engine *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        pm_err(err, errlen, "session engine: out of memory");
        return NULL;
    }
    e->conf = *c;
    if (e->conf.max_subscribers == 0)
        e->conf.max_subscribers = ST_DEFAULT_MAX;
    if (e->conf.session_start_timeout == 0)
        e->conf.session_start_timeout = SE_START_TIMEOUT_DEFAULT;
    if (out != NULL)
        e->out = *out;
    e->next_sid = 1;
    e->hkey = 0xcbf29ce484222325ull ^ ((uint64_t)(uintptr_t)e << 16) ^ (uint64_t)time(NULL);
    e->st = st_new(e->conf.max_subscribers, err, errlen);
    if (e->st == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

static void free_icpts(struct sess_engine *e, struct sess *s)
{
    while (s->icpt != NULL)
        se_icpt_unlink(e, s, s->icpt);
}

void se_set_start_timeout(struct sess_engine *e, unsigned seconds)
{
    e->conf.session_start_timeout = seconds != 0 ? seconds : SE_START_TIMEOUT_DEFAULT;
}

void se_free(struct sess_engine *e)
{
    if (e == NULL)
        return;
    for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s))
        free_icpts(e, s);
    st_free(e->st);
    if (e->rules != NULL) {
        OPENSSL_cleanse(e->rules, e->nrules * sizeof(*e->rules));
        free(e->rules);
    }
    free(e->pend);
    free(e->static_run);
    se_live_free(e);
    OPENSSL_cleanse(e, sizeof(*e));
    free(e);
}

/* ---- sessionStartTimeout queue (appended in deadline order) ---- */

/* due: microseconds of the capture clock */
static void pend_add(struct sess_engine *e, struct sess *s, int64_t due)
{
    if (s->flags & SE_F_PENDING)
        return;
    if (e->pend_head > 0 && e->pend_head * 2 >= e->pend_len) {
        memmove(e->pend, e->pend + e->pend_head, (e->pend_len - e->pend_head) * sizeof(*e->pend));
        e->pend_len -= e->pend_head;
        e->pend_head = 0;
    }
    if (e->pend_len == e->pend_cap) {
        size_t cap = e->pend_cap ? e->pend_cap * 2 : 64;
        struct se_pend *p = realloc(e->pend, cap * sizeof(*p));
        if (p == NULL)
            return; /* no timeout for this one: it ends by its Stop */
        e->pend = p;
        e->pend_cap = cap;
    }
    e->pend[e->pend_len++] = (struct se_pend){.s = s, .due = due};
    s->flags |= SE_F_PENDING;
    s->t_deadline = due / 1000000;
}

/* The newest entries are the likeliest: an Accounting-Start follows its
 * Accept within moments, so the search runs from the end. */
static void pend_remove(struct sess_engine *e, struct sess *s)
{
    if (!(s->flags & SE_F_PENDING))
        return;
    for (size_t i = e->pend_len; i > e->pend_head; i--)
        if (e->pend[i - 1].s == s) {
            e->pend[i - 1].s = NULL;
            break;
        }
    s->flags &= (uint8_t)~SE_F_PENDING;
    s->t_deadline = 0;
}

/* ---- Disconnect-ACK tombstones ---- */

static uint64_t h64(const struct sess_engine *e, const uint8_t *v, size_t n, uint64_t h)
{
    h ^= e->hkey;
    for (size_t i = 0; i < n; i++) {
        h ^= v[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t nas_key_hash(const struct sess_engine *e, const struct sig_ident *id)
{
    if (id->user.len == 0)
        return 0;
    uint64_t h = h64(e, id->user.v, id->user.len, 1);
    h = id->nas_ip ? h64(e, (const uint8_t *)&id->nas_ip, 4, h)
                   : h64(e, id->nas_id.v, id->nas_id.len, h);
    h = id->has_nas_port ? h64(e, (const uint8_t *)&id->nas_port, 4, h)
                         : h64(e, id->nas_port_id.v, id->nas_port_id.len, h);
    return h;
}

static void tomb_add(struct sess_engine *e, const struct sess *s, int64_t now)
{
    struct sig_ident id;
    st_ident(s, &id);
    struct se_tomb *t = &e->tomb[e->tomb_next++ % SE_TOMB_MAX];
    t->h_sid = id.acct_sid.len ? h64(e, id.acct_sid.v, id.acct_sid.len, 2) : 0;
    t->h_nas = nas_key_hash(e, &id);
    t->ip4 = id.framed_ip;
    t->until = now + (int64_t)e->conf.session_start_timeout;
    OPENSSL_cleanse(&id, sizeof(id));
}

static int tomb_match(struct sess_engine *e, const struct sig_ident *id, int64_t now)
{
    uint64_t hs = id->acct_sid.len ? h64(e, id->acct_sid.v, id->acct_sid.len, 2) : 0;
    uint64_t hn = nas_key_hash(e, id);
    for (unsigned i = 0; i < SE_TOMB_MAX; i++) {
        struct se_tomb *t = &e->tomb[i];
        if (t->until < now || t->until == 0)
            continue;
        if ((hs && hs == t->h_sid) || (!hs && hn && hn == t->h_nas) ||
            (!hs && !hn && id->framed_ip && id->framed_ip == t->ip4)) {
            memset(t, 0, sizeof(*t));
            return 1;
        }
    }
    return 0;
}

/* ---- finding and creating sessions ---- */

/* Accounting joins its Access-Accept (and a CoA its session) by
 * Acct-Session-Id, else the NAS key, else the framed address. */
/* s has an Acct-Session-Id and it is not id's (which has one): another
 * session, whatever else they share. */
static int other_acct_sid(const struct sess *s, const struct sig_ident *id)
{
    const uint8_t *v;
    size_t n = st_get(s, ST_ACCT_SID, &v);
    return id->acct_sid.len > 0 && n > 0 &&
           (n != id->acct_sid.len || memcmp(v, id->acct_sid.v, n) != 0);
}

/* A candidate found by a weaker key: taken unless its Acct-Session-Id says
 * it is another session (then *other is set). */
static struct sess *weak(struct sess *s, const struct sig_ident *id, int *other)
{
    if (s != NULL && other_acct_sid(s, id)) {
        *other = 1;
        return NULL;
    }
    return s;
}

/* other_out (may be NULL): set when a weaker key found only sessions with
 * another Acct-Session-Id (docs/sessions.md "Creating and joining"). */
static struct sess *find_sess2(struct sess_engine *e, const struct sig_ident *id, int *other_out)
{
    struct sess *s = NULL;
    int other = 0;
    if (other_out != NULL)
        *other_out = 0;
    if (id->acct_sid.len > 0 && (s = st_find_acct_sid(e->st, id->acct_sid.v, id->acct_sid.len)))
        return s;
    if ((s = weak(st_find_nas_key(e->st, id), id, &other)) != NULL)
        return s;
    if (id->framed_ip != 0 && (s = weak(st_find_ip4(e->st, id->framed_ip), id, &other)) != NULL)
        return s;
    if (id->has_framed_ip6 && (s = weak(st_find_ip6(e->st, id->framed_ip6), id, &other)) != NULL)
        return s;
    /* an IPv6-only login: the session that holds the very same prefix */
    for (unsigned i = 0; i < id->nprefix6 && i < SIG_PREFIX6_MAX; i++) {
        if ((s = weak(st_find_ip6(e->st, id->prefix6[i].addr), id, &other)) == NULL)
            continue;
        const struct sig_prefix6 *p;
        unsigned np = st_prefixes6(s, &p);
        for (unsigned j = 0; j < np; j++)
            if (p[j].len == id->prefix6[i].len && memcmp(p[j].addr, id->prefix6[i].addr, 16) == 0)
                return s;
    }
    if (other_out != NULL)
        *other_out = other;
    return NULL;
}

static struct sess *find_sess(struct sess_engine *e, const struct sig_ident *id)
{
    return find_sess2(e, id, NULL);
}

static int str_is(const uint8_t *v, size_t n, const struct sig_str *x)
{
    return x->len > 0 && n == x->len && memcmp(v, x->v, n) == 0;
}

/* A CoA or Disconnect-Request may name the session by Calling-Station-Id,
 * User-Name or NAS-Port-Id alone (RFC 5176 section 3): a walk, rare. */
static struct sess *find_by_scan(struct sess_engine *e, const struct sig_ident *id)
{
    static const struct {
        enum st_field f;
        size_t off;
    } keys[] = {{ST_CSID, offsetof(struct sig_ident, csid)},
                {ST_USER, offsetof(struct sig_ident, user)},
                {ST_NAS_PORT_ID, offsetof(struct sig_ident, nas_port_id)}};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        const struct sig_str *x = (const struct sig_str *)((const char *)id + keys[k].off);
        if (x->len == 0)
            continue;
        for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s)) {
            const uint8_t *v;
            size_t n = st_get(s, keys[k].f, &v);
            if (str_is(v, n, x) && !other_acct_sid(s, id))
                return s;
        }
    }
    return NULL;
}

static int li_wants_on(const struct sig_li *li)
{
    return li->present && !li->error && li->action != SIG_LI_OFF && li->action != SIG_LI_NOOP;
}

/* A user name for RadiusBasedMirroringFailure: User-Name, else
 * Calling-Station-Id, else the trigger value. */
static void user_of(const struct se_view *v, const char *tr, char *buf, size_t cap)
{
    if (v->l[ST_USER] > 0)
        pm_escape(buf, cap, (const char *)v->f[ST_USER], v->l[ST_USER]);
    else if (v->l[ST_CSID] > 0)
        pm_escape(buf, cap, (const char *)v->f[ST_CSID], v->l[ST_CSID]);
    else
        snprintf(buf, cap, "%s", tr);
}

static void radius_failure(struct sess_engine *e, const struct sig_fact *f, struct sess *s, int cs,
                           int ec, const char *es)
{
    struct se_view v;
    int tt;
    char tr[PM_ICPT_TRIGGER_MAX + 1], user[PM_EV_USER_MAX * 4];
    se_view_ident(&v, &f->id);
    se_first_trigger(&v, f->kind == SIG_ACCESS_ACCEPT, &tt, tr, sizeof(tr));
    user_of(&v, tr, user, sizeof(user));
    uint32_t rid = se_router_id(&f->id);
    if (rid == 0 && s != NULL)
        rid = s->router_id;
    uint32_t sid = f->li.has_sid        ? f->li.session_id
                   : s != NULL          ? se_sess_sid(e, s)
                   : f->id.acct_sid.len ? se_sid_from_acct(f->id.acct_sid.v, f->id.acct_sid.len)
                                        : 0;
    struct se_evctx c = {.trap = PM_TRAP_RADIUS_FAILURE,
                         .sec = f->ts_sec,
                         .usec = f->ts_usec,
                         .s = s,
                         .view = &v,
                         .ec = ec,
                         .es = es};
    se_raise_failure(e, &c, cs, tt, tr, rid, f->li.has_handle ? f->li.mirror_id : 0, sid, user);
    OPENSSL_cleanse(user, sizeof(user));
    OPENSSL_cleanse(tr, sizeof(tr));
}

/* maxSubscribers reached: a target's session raises the failure, any other
 * is counted, with one mirror-log entry per episode. */
static void untracked(struct sess_engine *e, const struct sig_fact *f)
{
    struct se_view v;
    int target = 0;
    e->stats.untracked++;
    /* a session's start says so once; its Interim-Updates and Stop (and a
     * restore) are only counted */
    int starts =
        f->kind == SIG_ACCESS_ACCEPT || f->kind == SIG_ACCT_START || f->kind == SIG_DHCP_ACK;
    if (f->kind == SIG_ACCESS_ACCEPT && li_wants_on(&f->li)) {
        radius_failure(e, f, NULL, SE_CS_RADIUS_LOGIN, SE_EC_NO_RESOURCES,
                       "maxSubscribers reached");
        target = 1;
    }
    se_view_ident(&v, &f->id);
    for (size_t i = 0; starts && i < e->nrules; i++) {
        const struct se_rule *r = &e->rules[i];
        struct se_rule *best = se_best_rule(e, &v, r->t.mirror_id, 0);
        if (best != r)
            continue; /* one per mirror ID: its best rule */
        struct se_evctx c = {.trap = PM_TRAP_CLI_FAILURE,
                             .sec = f->ts_sec,
                             .usec = f->ts_usec,
                             .view = &v,
                             .ec = SE_EC_NO_RESOURCES,
                             .es = "maxSubscribers reached"};
        se_raise_failure(e, &c, SE_CS_CLI_TRIGGER, (int)r->t.type, r->tr, se_router_id(&f->id),
                         r->t.mirror_id, 0, NULL);
        target = 1;
    }
    if (!target && !e->untracked_episode)
        se_mlogf(e,
                 "maxSubscribers reached (%u sessions): sessions that match no trigger "
                 "are counted, not tracked, until there is room again",
                 e->conf.max_subscribers);
    e->untracked_episode = 1;
}

static struct sess *create_sess(struct sess_engine *e, const struct sig_fact *f)
{
    char err[128];
    struct sess *s = st_create(e->st, &f->id, NULL, err, sizeof(err));
    if (s == NULL) {
        untracked(e, f);
        return NULL;
    }
    e->untracked_episode = 0;
    e->stats.sessions_created++;
    s->state = 0;
    s->flags = 0;
    s->last_src = 0xff;
    s->session_id = 0;
    s->router_id = se_router_id(&f->id);
    s->t_start = f->ts_sec;
    s->t_deadline = 0;
    s->icpt = NULL;
    return s;
}

static void update_sess(struct sess_engine *e, struct sess *s, const struct sig_ident *id)
{
    char err[128];
    (void)st_update(e->st, s, id, err, sizeof(err)); /* on failure s keeps what it had */
    if (s->router_id == 0)
        s->router_id = se_router_id(id);
}

int se_session_live(const struct sess *s)
{
    return (s->flags & SE_F_STARTED) != 0;
}

/* ---- ending ---- */

void se_end_session(struct sess_engine *e, struct sess *s, enum pm_trap trap, int trm, int64_t sec,
                    uint32_t usec)
{
    struct se_view v;
    se_view_sess(&v, s);
    for (struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next) {
        struct se_evctx c = {.sec = sec, .usec = usec, .s = s, .view = &v, .trm = trm};
        if (trap == PM_TRAP_SESSION_END && !ic->announced) {
            c.trap = PM_TRAP_IFSESS_ACTIVATED; /* first seen mid-life */
            se_raise_icpt(e, &c, ic);
        }
        c.trap = trap;
        se_raise_icpt(e, &c, ic);
        se_report(e, s, ic, 0);
    }
    free_icpts(e, s);
    pend_remove(e, s);
    e->stats.sessions_ended++;
    st_destroy(e->st, s); /* identities zeroised */
}

/* Acct-Terminate-Cause 1..22 is TerminationReason as is (RFC 2866 section
 * 5.10, RFC 3580 section 3.17); anything else genericFailure(0). */
static int trm_of(const struct sig_fact *f)
{
    return f->has_term_cause && f->term_cause >= 1 && f->term_cause <= 22 ? (int)f->term_cause
                                                                          : SE_TRM_GENERIC;
}

/* ---- RADIUS ---- */

static int same_dest(const struct trig_analyzer *a, const struct trig_analyzer *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->addr, b->addr, a->family == 6 ? 16 : 4) == 0;
}

/* The LI VSAs of an Access-Accept (cs radiusLogin) or CoA (radiusCoa). */
static void radius_li(struct sess_engine *e, struct sess *s, const struct sig_fact *f, int cs)
{
    const struct sig_li *li = &f->li;
    if (!li->present)
        return;
    if (li->error) {
        e->stats.li_errors++;
        radius_failure(e, f, s, cs, li->error,
                       li->error_text[0] ? li->error_text : "the LI attributes are unusable");
        return;
    }
    if (li->action == SIG_LI_NOOP)
        return;
    struct se_view v;
    se_view_sess(&v, s);
    if (li->action == SIG_LI_OFF) {
        if (cs != SE_CS_RADIUS_COA)
            return;
        struct se_icpt *ic = s->icpt, *nx;
        for (; ic != NULL; ic = nx) {
            nx = ic->next;
            if (li->has_handle ? ic->mirror_id != li->mirror_id : ic->rule != 0)
                continue;
            if (ic->announced) {
                struct se_evctx c = {.trap = PM_TRAP_IFSESS_DEACTIVATED,
                                     .sec = f->ts_sec,
                                     .usec = f->ts_usec,
                                     .s = s,
                                     .view = &v};
                se_raise_icpt(e, &c, ic);
            }
            se_report(e, s, ic, 0);
            se_icpt_unlink(e, s, ic);
        }
        return;
    }
    struct trig_analyzer an = {.family = 4, .port = li->port};
    memcpy(an.addr, li->analyzer, 4);
    if (!li->has_handle || !li->has_analyzer || !li->has_port) {
        e->stats.li_errors++;
        radius_failure(e, f, s, cs, SE_EC_MISSING_ATTR,
                       !li->has_handle ? "the LI attributes carry no mirror handle"
                                       : "the LI attributes carry no analyzer address or port");
        return;
    }
    if (!se_analyzer_usable(&an)) {
        e->stats.li_errors++;
        radius_failure(e, f, s, cs, SE_EC_INVALID_ANALYZER,
                       "the analyzer is not a unicast address");
        return;
    }
    uint32_t sid = li->has_sid ? li->session_id : se_sess_sid(e, s);
    struct se_icpt *ic = se_icpt_find(s, li->mirror_id);
    if (ic != NULL && ic->rule == 0 && same_dest(&ic->analyzer, &an) && ic->session_id == sid)
        return; /* the same intercept again (a re-authentication, a repeated CoA) */
    if (ic == NULL) {
        if (se_icpt_count(s) >= SE_TARGETS_MAX || (ic = se_icpt_add(e, s, li->mirror_id)) == NULL) {
            radius_failure(e, f, s, cs, SE_EC_NO_RESOURCES, "too many intercepts on one session");
            return;
        }
    } else if (ic->rule == 0) {
        se_report(e, s, ic, 0);
    }
    /* RADIUS wins at login; a CoA is the newest configuration */
    se_icpt_set_announced(e, ic, 0);
    struct se_view rv;
    se_view_ident(&rv, &f->id);
    memset(ic->tr, 0, sizeof(ic->tr));
    se_first_trigger(&rv, f->kind == SIG_ACCESS_ACCEPT, &ic->tt, ic->tr, sizeof(ic->tr));
    ic->mirror_id = li->mirror_id;
    ic->session_id = sid;
    ic->analyzer = an;
    ic->direction = TRIG_DIR_BOTH;
    ic->cs = cs;
    ic->rule = 0;
    ic->rank = 0;
    ic->rid = cs == SE_CS_RADIUS_COA && f->id.nas_ip ? ntohl(f->id.nas_ip) : s->router_id;
    ic->since = f->ts_sec;
    se_report(e, s, ic, 1);
}

static int has_framed(const struct sig_ident *id)
{
    return id->framed_ip != 0 || id->has_framed_ip6 || id->nprefix6 > 0;
}

/* 1 when the session s, found by its address alone, belongs to another
 * subscriber than the signalling id: both have a User-Name, or both an
 * Acct-Session-Id, and they differ. */
static int other_subscriber(const struct sess *s, const struct sig_ident *id)
{
    const uint8_t *v;
    size_t n = st_get(s, ST_USER, &v);
    if (id->user.len > 0 && n > 0 && !str_is(v, n, &id->user))
        return 1;
    n = st_get(s, ST_ACCT_SID, &v);
    return id->acct_sid.len > 0 && n > 0 && !str_is(v, n, &id->acct_sid);
}

/* find_sess() for an Access-Accept or Accounting-Request.  A session found only
 * by its framed address that belongs to another subscriber is not this login's:
 * the address was given to someone else and the old session's end was not seen
 * (a lost Accounting-Stop).  A new login (Accept, Start) ends the old session
 * (SessionEnd, genericFailure) instead of joining it, so that its intercepts
 * never mirror the new subscriber; an Interim-Update or Stop of the old
 * subscriber is not applied to the new one (*stale = 1). */
static struct sess *find_login(struct sess_engine *e, const struct sig_fact *f, int *stale,
                               int *other)
{
    *stale = 0;
    struct sess *s = find_sess2(e, &f->id, other);
    if (s == NULL ||
        (f->id.acct_sid.len > 0 &&
         st_find_acct_sid(e->st, f->id.acct_sid.v, f->id.acct_sid.len) == s) ||
        st_find_nas_key(e->st, &f->id) == s || !other_subscriber(s, &f->id))
        return s;
    if (f->kind == SIG_ACCESS_ACCEPT || f->kind == SIG_ACCT_START) {
        se_end_session(e, s, PM_TRAP_SESSION_END, SE_TRM_GENERIC, f->ts_sec, f->ts_usec);
        return NULL;
    }
    *stale = 1;
    return NULL;
}

static void on_accept(struct sess_engine *e, const struct sig_fact *f)
{
    int stale;
    struct sess *s = find_login(e, f, &stale, NULL);
    if (s == NULL && (s = create_sess(e, f)) == NULL)
        return;
    update_sess(e, s, &f->id);
    s->flags |= SE_F_RADIUS;
    if (s->state != SE_ST_ACTIVE) {
        s->state = SE_ST_ACCEPTED;
        pend_add(e, s, (f->ts_sec + (int64_t)e->conf.session_start_timeout) * 1000000 + f->ts_usec);
    }
    radius_li(e, s, f, SE_CS_RADIUS_LOGIN);
    se_apply_rules(e, s, f->ts_sec, f->ts_usec);
    if (se_session_live(s)) {
        se_announce(e, s, PM_TRAP_IFSESS_ACTIVATED, f->ts_sec, f->ts_usec);
    } else if (has_framed(&f->id)) {
        s->flags |= SE_F_STARTED;
        se_announce(e, s, PM_TRAP_SESSION_START, f->ts_sec, f->ts_usec);
    }
}

static void on_reject(struct sess_engine *e, const struct sig_fact *f)
{
    struct se_view v;
    se_view_ident(&v, &f->id);
    for (size_t i = 0; i < e->nrules; i++) {
        const struct se_rule *r = &e->rules[i];
        if (se_best_rule(e, &v, r->t.mirror_id, 0) != r)
            continue;
        struct se_icpt ic = {.mirror_id = r->t.mirror_id,
                             .analyzer = r->t.analyzer,
                             .direction = r->t.direction,
                             .cs = SE_CS_CLI_TRIGGER,
                             .tt = (int)r->t.type,
                             .rid = se_router_id(&f->id)};
        ic.session_id = r->t.has_session_id ? r->t.session_id
                        : f->id.acct_sid.len
                            ? se_sid_from_acct(f->id.acct_sid.v, f->id.acct_sid.len)
                            : se_sid_counter(e);
        se_copy(ic.tr, sizeof(ic.tr), r->tr);
        struct se_evctx c = {
            .trap = PM_TRAP_SESSION_REJECT, .sec = f->ts_sec, .usec = f->ts_usec, .view = &v};
        se_raise_icpt(e, &c, &ic);
        OPENSSL_cleanse(&ic, sizeof(ic));
    }
}

static void on_acct(struct sess_engine *e, const struct sig_fact *f)
{
    int stale, other;
    struct sess *s = find_login(e, f, &stale, &other);
    if (stale)
        return;
    if (s == NULL && f->kind == SIG_ACCT_STOP && tomb_match(e, &f->id, f->ts_sec))
        return; /* ended by its Disconnect-ACK already */
    if (s == NULL && f->kind == SIG_ACCT_STOP && other) {
        /* the Stop of a session that is not here (long over, or a replay):
         * the one that now holds its NAS key or address is another, and
         * creating this one would take that address from it */
        e->stats.stops_unmatched++;
        return;
    }
    int fresh = s == NULL;
    if (s == NULL && (s = create_sess(e, f)) == NULL)
        return;
    update_sess(e, s, &f->id);
    s->flags |= SE_F_RADIUS;
    int in_login = fresh || s->state == SE_ST_ACCEPTED;
    se_sess_sid_refine(e, s);
    pend_remove(e, s);
    s->state = SE_ST_ACTIVE;
    se_apply_rules(e, s, f->ts_sec, f->ts_usec);
    if (f->kind == SIG_ACCT_STOP) {
        s->flags |= SE_F_STARTED;
        int failed = f->has_session_time && f->session_time == 0 && !fresh;
        se_end_session(e, s, failed ? PM_TRAP_SESSION_FAILED : PM_TRAP_SESSION_END, trm_of(f),
                       f->ts_sec, f->ts_usec);
        return;
    }
    /* an Accounting-Start ends the login: what it has not announced starts;
     * an Interim-Update of a session whose start was not seen is mid-life */
    enum pm_trap t =
        f->kind == SIG_ACCT_START && in_login ? PM_TRAP_SESSION_START : PM_TRAP_IFSESS_ACTIVATED;
    s->flags |= SE_F_STARTED;
    se_announce(e, s, t, f->ts_sec, f->ts_usec);
}

static struct sess *find_coa(struct sess_engine *e, const struct sig_ident *id)
{
    struct sess *s = find_sess(e, id);
    return s != NULL ? s : find_by_scan(e, id);
}

static void on_coa(struct sess_engine *e, const struct sig_fact *f)
{
    struct sess *s = find_coa(e, &f->id);
    if (s == NULL) {
        if (f->li.present && !f->li.error && f->li.action != SIG_LI_NOOP)
            radius_failure(e, f, NULL, SE_CS_RADIUS_COA, SE_EC_NO_SUCH_USER,
                           "no session matches the CoA-Request");
        else if (f->li.error)
            radius_failure(e, f, NULL, SE_CS_RADIUS_COA, f->li.error, f->li.error_text);
        return;
    }
    radius_li(e, s, f, SE_CS_RADIUS_COA);
    if (se_session_live(s))
        se_announce(e, s, PM_TRAP_IFSESS_ACTIVATED, f->ts_sec, f->ts_usec);
}

static void on_disconnect(struct sess_engine *e, const struct sig_fact *f)
{
    struct sess *s = find_coa(e, &f->id);
    if (s == NULL)
        return; /* its Stop came first */
    tomb_add(e, s, f->ts_sec);
    se_end_session(e, s, PM_TRAP_SESSION_END, SE_TRM_ADMIN, f->ts_sec, f->ts_usec);
}

/* ---- DHCP ---- */

/*
 * The session a DHCP fact is about.  The address alone is not enough: a
 * session that holds it may be another client's (its chaddr differs: a
 * session restored after a restart, or one whose end was never seen, while
 * the server gave the address to someone else).  An ACK joins such a
 * session only when it has no chaddr yet (a RADIUS login with the same
 * address) or the same one; otherwise the ACK makes a session of its own,
 * which takes the address, so that the new holder is not mirrored under the
 * old holder's intercept.  An end (RELEASE, DECLINE, expiry) ends only a
 * session of its chaddr holding its address, or holding no address.
 */
static int same_client(const struct sess *s, const struct sig_ident *id, int ack)
{
    if (!s->has_chaddr || !id->has_chaddr)
        return ack;
    return memcmp(s->chaddr, id->chaddr, 6) == 0;
}

static struct sess *find_dhcp(struct sess_engine *e, const struct sig_ident *id, int ack)
{
    struct sess *s = NULL;
    if (id->framed_ip != 0 && (s = st_find_ip4(e->st, id->framed_ip)) != NULL &&
        same_client(s, id, ack))
        return s;
    if (id->has_chaddr && (s = st_find_chaddr(e->st, id->chaddr)) != NULL &&
        (ack || s->framed_ip == 0 || s->framed_ip == id->framed_ip))
        return s;
    return NULL;
}

static void on_dhcp(struct sess_engine *e, const struct sig_fact *f)
{
    struct sess *s = find_dhcp(e, &f->id, f->kind == SIG_DHCP_ACK);
    if (f->kind != SIG_DHCP_ACK) {
        if (s == NULL)
            return;
        if (f->kind == SIG_DHCP_RELEASE)
            se_end_session(e, s, PM_TRAP_SESSION_END, SE_TRM_USER_REQUEST, f->ts_sec, f->ts_usec);
        else if (f->kind == SIG_DHCP_EXPIRE)
            se_end_session(e, s, PM_TRAP_SESSION_END, SE_TRM_SESSION_TIMEOUT, f->ts_sec,
                           f->ts_usec);
        else
            se_end_session(e, s, PM_TRAP_SESSION_FAILED, SE_TRM_GENERIC, f->ts_sec, f->ts_usec);
        return;
    }
    if (s == NULL && (s = create_sess(e, f)) == NULL)
        return;
    update_sess(e, s, &f->id);
    s->flags |= SE_F_DHCP;
    pend_remove(e, s);
    s->state = SE_ST_ACTIVE;
    se_apply_rules(e, s, f->ts_sec, f->ts_usec);
    enum pm_trap t = se_session_live(s) ? PM_TRAP_IFSESS_ACTIVATED : PM_TRAP_SESSION_START;
    s->flags |= SE_F_STARTED;
    se_announce(e, s, t, f->ts_sec, f->ts_usec);
}

void se_on_fact(const struct sig_fact *f, void *arg)
{
    struct sess_engine *e = arg;
    if (f == NULL || e == NULL)
        return;
    if (f->ts_sec > e->now)
        e->now = f->ts_sec;
    e->on_us = f->ts_sec * 1000000 + f->ts_usec;
    /* a window boundary passed since the last tick: the rules first, so
     * that this packet meets them as they now are */
    if (e->win_next != 0 && f->ts_sec >= e->win_next)
        (void)se_rules_tick(e, f->ts_sec, f->ts_usec);
    switch (f->kind) {
    case SIG_ACCESS_ACCEPT:
        on_accept(e, f);
        break;
    case SIG_ACCESS_REJECT:
        on_reject(e, f);
        break;
    case SIG_ACCT_START:
    case SIG_ACCT_INTERIM:
    case SIG_ACCT_STOP:
        on_acct(e, f);
        break;
    case SIG_COA:
        on_coa(e, f);
        break;
    case SIG_COA_NAK:
        se_mlogf(e, "CoA-NAK: the NAS refused a CoA-Request; the mirroring stands");
        break;
    case SIG_DISCONNECT:
        on_disconnect(e, f);
        break;
    case SIG_DHCP_ACK:
    case SIG_DHCP_RELEASE:
    case SIG_DHCP_DECLINE:
    case SIG_DHCP_EXPIRE:
        on_dhcp(e, f);
        break;
    }
}

/* ---- the clock ---- */

int se_tick(struct sess_engine *e, int64_t now_sec, uint32_t now_usec)
{
    int64_t now_us = now_sec * 1000000 + now_usec;
    if (now_sec > e->now)
        e->now = now_sec;
    e->on_us = now_us;
    int64_t next_ms = -1;
    int64_t win = se_rules_tick(e, now_sec, now_usec); /* whole seconds to the next boundary */
    if (win >= 0)
        next_ms = win * 1000 - now_usec / 1000;
    while (e->pend_head < e->pend_len) {
        struct se_pend *p = &e->pend[e->pend_head];
        if (p->s != NULL && p->due > now_us)
            break;
        struct sess *s = p->s;
        e->pend_head++;
        if (s == NULL)
            continue;
        s->flags &= (uint8_t)~SE_F_PENDING;
        s->t_deadline = 0;
        if (s->state == SE_ST_ACCEPTED) /* no Accounting-Start in time: the login failed */
            se_end_session(e, s, PM_TRAP_SESSION_FAILED, SE_TRM_GENERIC, now_sec, now_usec);
    }
    if (e->pend_head == e->pend_len) {
        e->pend_head = e->pend_len = 0;
    } else {
        int64_t d = (e->pend[e->pend_head].due - now_us + 999) / 1000;
        if (next_ms < 0 || d < next_ms)
            next_ms = d;
    }
    if (next_ms < 0)
        return -1;
    return next_ms > 86400000 ? 86400000 : (int)next_ms;
}

/* ---- restart ---- */

int se_restore(struct sess_engine *e, const struct pm_intercept *ic)
{
    if (ic == NULL || ic->mirror_id > TRIG_MIRROR_ID_MAX ||
        (ic->config_source != SE_CS_RADIUS_LOGIN && ic->config_source != SE_CS_RADIUS_COA) ||
        !se_analyzer_usable(&ic->analyzer) || (int)ic->direction < 0 ||
        ic->direction > TRIG_DIR_BOTH || ic->trigger_type < 0 || ic->trigger_type > TRIG_TYPE_MAX)
        return -1; /* the caller counts refusals */
    struct sig_fact f;
    memset(&f, 0, sizeof(f));
    f.id = ic->id;
    f.ts_sec = ic->since_sec;
    struct sess *s = find_sess(e, &ic->id);
    if (s == NULL && (s = create_sess(e, &f)) == NULL) {
        OPENSSL_cleanse(&f, sizeof(f));
        return -1;
    }
    OPENSSL_cleanse(&f, sizeof(f));
    update_sess(e, s, &ic->id);
    pend_remove(e, s);
    s->state = SE_ST_ACTIVE;
    s->flags |= SE_F_STARTED | SE_F_RADIUS;
    s->router_id = ic->router_id;
    struct se_icpt *x = se_icpt_find(s, ic->mirror_id);
    if (x == NULL &&
        (se_icpt_count(s) >= SE_TARGETS_MAX || (x = se_icpt_add(e, s, ic->mirror_id)) == NULL))
        return -1;
    se_icpt_set_announced(e, x, 0);
    x->mirror_id = ic->mirror_id;
    x->session_id = ic->session_id;
    x->analyzer = ic->analyzer;
    x->direction = ic->direction;
    x->cs = ic->config_source;
    x->tt = ic->trigger_type;
    x->rule = 0;
    x->rank = 0;
    int64_t on_us = e->on_us;
    e->on_us = 0; /* it was running before the restart: no bound */
    se_icpt_set_announced(e, x, 1);
    e->on_us = on_us;
    x->rid = ic->router_id;
    x->since = ic->since_sec;
    se_copy(x->tr, sizeof(x->tr), ic->trigger);
    e->stats.restored++;
    return 0;
}
