/*
 * sess_rules.c - the CLI trigger table in the capture process: a new table
 * from the agent (config file and pmirrorctl), warrant windows opening and
 * closing by themselves, static interface mirrors and the interfaces they
 * sit on (docs/sessions.md, "Triggers", "Static mirrors").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pmirrord/escape.h"
#include "sess_priv.h"

/* Same rule and same settings: an unchanged rule changes nothing. */
static int rule_equal(const struct pm_trigger *a, const struct pm_trigger *b)
{
    return trig_same(a, b) && a->analyzer.family == b->analyzer.family &&
           memcmp(a->analyzer.addr, b->analyzer.addr, a->analyzer.family == 6 ? 16 : 4) == 0 &&
           a->analyzer.port == b->analyzer.port && a->direction == b->direction &&
           a->has_session_id == b->has_session_id &&
           (!a->has_session_id || a->session_id == b->session_id) && a->from == b->from &&
           a->until == b->until;
}

static int ifindex_of(const struct sess_engine *e, const char *name)
{
    for (int i = 0; i < SE_SOURCES_MAX; i++)
        if (e->ifname[i][0] != '\0' && strcmp(e->ifname[i], name) == 0)
            return i;
    return -1;
}

/* The static mirror as an intercept, for its notifications. */
static void static_icpt(const struct se_rule *r, struct se_icpt *ic)
{
    memset(ic, 0, sizeof(*ic));
    ic->mirror_id = r->t.mirror_id;
    ic->session_id = r->st_sid;
    ic->analyzer = r->t.analyzer;
    ic->direction = r->t.direction;
    ic->cs = SE_CS_CLI_STATIC;
    ic->tt = TRIG_INTERFACE;
    ic->rid = 0;
    se_copy(ic->tr, sizeof(ic->tr), r->tr);
}

static void raise_static(struct sess_engine *e, const struct se_rule *r, enum pm_trap trap,
                         int64_t sec, uint32_t usec)
{
    struct se_icpt ic;
    struct se_evctx c = {.trap = trap, .sec = sec, .usec = usec};
    static_icpt(r, &ic);
    se_raise_icpt(e, &c, &ic);
}

/* A rule that cannot be applied: CliTriggerBasedMirroringFailure. */
static void rule_failure(struct sess_engine *e, const struct se_rule *r, int ec, const char *es,
                         int64_t sec)
{
    struct se_evctx c = {.trap = PM_TRAP_CLI_FAILURE, .sec = sec, .ec = ec, .es = es};
    se_raise_failure(e, &c, r->t.type == TRIG_INTERFACE ? SE_CS_CLI_STATIC : SE_CS_CLI_TRIGGER,
                     (int)r->t.type, r->tr, 0, r->t.mirror_id, 0, NULL);
}

/*
 * Static mirrors follow their rule and their interface: running when the
 * rule's window is open and the interface is up.  interface_event: the
 * change is an interface's (se_interface_up/down report it themselves).
 */
void se_static_eval(struct sess_engine *e, int64_t sec, uint32_t usec, int interface_event)
{
    e->nstatic = 0;
    e->static_scan = 0;
    if (e->static_cap < e->nrules) {
        uint32_t *n = realloc(e->static_run, e->nrules * sizeof(*n));
        if (n != NULL) {
            e->static_run = n;
            e->static_cap = e->nrules;
        }
    }
    for (size_t i = 0; i < e->nrules; i++) {
        struct se_rule *r = &e->rules[i];
        if (r->t.type != TRIG_INTERFACE)
            continue;
        r->ifidx = ifindex_of(e, r->t.text);
        int want = r->open && r->usable && r->ifidx >= 0 && e->ifup[r->ifidx];
        if (want && !r->st_active) {
            if (r->st_sid == 0)
                r->st_sid = r->t.has_session_id ? r->t.session_id : se_sid_counter(e);
            raise_static(e, r, PM_TRAP_IFSESS_ACTIVATED, sec, usec);
        } else if (!want && r->st_active && !interface_event) {
            raise_static(e, r, PM_TRAP_IFSESS_DEACTIVATED, sec, usec);
        }
        r->st_active = want;
        if (want && e->nstatic < e->static_cap)
            e->static_run[e->nstatic] = (uint32_t)i;
        else if (want)
            e->static_scan = 1; /* out of memory: the slow way, never a packet missed */
        e->nstatic += (size_t)want;
    }
}

static int in_list(const uint32_t *l, size_t n, uint32_t v)
{
    for (size_t i = 0; i < n; i++)
        if (l[i] == v)
            return 1;
    return 0;
}

/* Intercepts of s whose CLI rule is no longer in force: the next rule of the
 * same mirror ID takes over (InterfaceSessionActivated with its values), or
 * mirroring stops (InterfaceSessionDeactivated). */
static void drop_gone(struct sess_engine *e, struct sess *s, const struct se_view *v, int64_t sec,
                      uint32_t usec)
{
    struct se_icpt *ic = s->icpt, *nx;
    for (; ic != NULL; ic = nx) {
        nx = ic->next;
        if (ic->rule == 0)
            continue;
        struct se_rule *r = se_rule_by_serial(e, ic->rule);
        if (r != NULL && r->open && r->usable)
            continue;
        struct se_rule *fb = se_best_rule(e, v, ic->mirror_id, 0);
        struct se_evctx c = {.sec = sec, .usec = usec, .s = s, .view = v};
        if (fb != NULL) {
            int was = ic->announced;
            se_icpt_from_rule(e, s, ic, fb);
            if (was) {
                c.trap = PM_TRAP_IFSESS_ACTIVATED;
                se_raise_icpt(e, &c, ic);
                se_icpt_set_announced(e, ic, 1);
            }
            continue;
        }
        if (ic->announced) {
            c.trap = PM_TRAP_IFSESS_DEACTIVATED;
            se_raise_icpt(e, &c, ic);
        }
        se_icpt_unlink(e, s, ic);
    }
}

/* New rules on s: per mirror ID the best of them; it replaces a RADIUS
 * intercept (the newest wins) or a CLI one of lower precedence. */
static void add_new(struct sess_engine *e, struct sess *s, const struct se_view *v,
                    const uint32_t *added, size_t nadded, int64_t sec, uint32_t usec)
{
    for (size_t i = 0; i < e->nrules; i++) {
        struct se_rule *r = &e->rules[i];
        if (!in_list(added, nadded, r->serial) || r->t.type == TRIG_INTERFACE || !r->open ||
            !r->usable || !se_rule_matches(&r->t, v))
            continue;
        /* the best of the added rules for this mirror ID */
        int better_seen = 0;
        for (size_t j = 0; j < e->nrules && !better_seen; j++) {
            const struct se_rule *o = &e->rules[j];
            if (j == i || o->t.mirror_id != r->t.mirror_id || !in_list(added, nadded, o->serial) ||
                !o->open || !o->usable || !se_rule_matches(&o->t, v))
                continue;
            int ro = se_type_rank((int)o->t.type), rr = se_type_rank((int)r->t.type);
            better_seen = ro < rr || (ro == rr && j < i);
        }
        if (better_seen)
            continue;
        struct se_icpt *ic = se_icpt_find(s, r->t.mirror_id);
        if (ic != NULL && ic->rule != 0 && ic->rank <= se_type_rank((int)r->t.type))
            continue;
        if (ic == NULL && se_icpt_count(s) >= SE_TARGETS_MAX) {
            struct se_evctx c = {.trap = PM_TRAP_CLI_FAILURE,
                                 .sec = sec,
                                 .usec = usec,
                                 .s = s,
                                 .view = v,
                                 .ec = SE_EC_NO_RESOURCES,
                                 .es = "too many intercepts on one session"};
            se_raise_failure(e, &c, SE_CS_CLI_TRIGGER, (int)r->t.type, r->tr, s->router_id,
                             r->t.mirror_id, 0, NULL);
            continue;
        }
        if (ic == NULL) {
            if ((ic = se_icpt_add(e, s, r->t.mirror_id)) == NULL)
                continue;
            ic->since = sec;
        } else if (ic->rule == 0) {
            se_report(e, s, ic, 0);
        }
        se_icpt_from_rule(e, s, ic, r);
        if (s->flags & SE_F_STARTED) {
            struct se_evctx c = {
                .trap = PM_TRAP_IFSESS_ACTIVATED, .sec = sec, .usec = usec, .s = s, .view = v};
            se_raise_icpt(e, &c, ic);
            se_icpt_set_announced(e, ic, 1);
        }
    }
}

void se_rules_changed(struct sess_engine *e, const uint32_t *added, size_t nadded, int64_t sec,
                      uint32_t usec)
{
    struct sess *s, *nx;
    for (s = st_next(e->st, NULL); s != NULL; s = nx) {
        nx = st_next(e->st, s);
        if (s->icpt == NULL && nadded == 0)
            continue;
        struct se_view v;
        se_view_sess(&v, s);
        drop_gone(e, s, &v, sec, usec);
        if (nadded > 0)
            add_new(e, s, &v, added, nadded, sec, usec);
    }
    se_static_eval(e, sec, usec, 0);
}

void se_set_triggers(struct sess_engine *e, const struct pm_trigger *t, size_t n, int64_t now)
{
    if (now > e->now)
        e->now = now;
    e->on_us = now * 1000000; /* a table's rules take packets from its second on */
    struct se_rule *nr = n > 0 ? calloc(n, sizeof(*nr)) : NULL;
    uint32_t *added = n > 0 ? calloc(n, sizeof(*added)) : NULL;
    size_t nadded = 0;
    if (n > 0 && (nr == NULL || added == NULL)) {
        free(nr);
        free(added);
        return; /* the old table stays */
    }
    for (size_t i = 0; i < n; i++) {
        nr[i].t = t[i];
        nr[i].ifidx = -1;
        pm_escape(nr[i].tr, sizeof(nr[i].tr), t[i].text, strnlen(t[i].text, TRIG_TEXT_MAX));
        const struct se_rule *old = NULL;
        for (size_t j = 0; j < e->nrules && old == NULL; j++)
            if (rule_equal(&e->rules[j].t, &t[i]))
                old = &e->rules[j];
        if (old != NULL) {
            nr[i].serial = old->serial;
            nr[i].open = old->open;
            nr[i].usable = old->usable;
            nr[i].st_active = old->st_active;
            nr[i].st_sid = old->st_sid;
            continue;
        }
        nr[i].serial = ++e->next_serial;
        nr[i].open = trig_window_open(&t[i], now);
        nr[i].usable = se_analyzer_usable(&t[i].analyzer);
        added[nadded++] = nr[i].serial;
    }
    /* static mirrors that are gone stop */
    for (size_t j = 0; j < e->nrules; j++) {
        const struct se_rule *o = &e->rules[j];
        int kept = 0;
        for (size_t i = 0; i < n && !kept; i++)
            kept = nr[i].serial == o->serial;
        if (!kept && o->t.type == TRIG_INTERFACE && o->st_active)
            raise_static(e, o, PM_TRAP_IFSESS_DEACTIVATED, now, 0);
    }
    if (e->rules != NULL) {
        OPENSSL_cleanse(e->rules, e->nrules * sizeof(*e->rules));
        free(e->rules);
    }
    e->rules = nr;
    e->nrules = n;
    e->stats.triggers = n;
    for (size_t i = 0; i < n; i++) {
        struct se_rule *r = &nr[i];
        if (!in_list(added, nadded, r->serial))
            continue;
        if (!r->usable)
            rule_failure(e, r, SE_EC_INVALID_ANALYZER, "the analyzer is not a unicast address",
                         now);
        else if (r->t.type == TRIG_INTERFACE && ifindex_of(e, r->t.text) < 0)
            rule_failure(e, r, SE_EC_NO_SUCH_USER, "no capture source has that interface", now);
    }
    se_rules_changed(e, added, nadded, now, 0);
    free(added);
    e->win_next = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t b = nr[i].t.from > now ? nr[i].t.from : (nr[i].t.until > now ? nr[i].t.until : 0);
        if (b > 0 && (e->win_next == 0 || b < e->win_next))
            e->win_next = b;
    }
}

/* Warrant windows: rules whose window opened or closed since the last look.
 * Returns the seconds until the next boundary (-1 none). */
int64_t se_rules_tick(struct sess_engine *e, int64_t now, uint32_t usec)
{
    uint32_t *opened = e->nrules > 0 ? calloc(e->nrules, sizeof(*opened)) : NULL;
    size_t nopened = 0;
    int changed = 0;
    int64_t next = -1;
    for (size_t i = 0; i < e->nrules; i++) {
        struct se_rule *r = &e->rules[i];
        int open = trig_window_open(&r->t, now);
        if (open != r->open) {
            if (open && opened == NULL)
                continue; /* out of memory: the next tick tries again */
            r->open = open;
            changed = 1;
            if (open)
                opened[nopened++] = r->serial;
        }
        int64_t b = r->t.from > now ? r->t.from : (r->t.until > now ? r->t.until : -1);
        if (b > 0 && (next < 0 || b - now < next))
            next = b - now;
    }
    e->win_next = next >= 0 ? now + next : 0;
    if (changed)
        se_rules_changed(e, opened, nopened, now, usec);
    free(opened);
    return next;
}

void se_set_source(struct sess_engine *e, unsigned idx, const char *ifname)
{
    if (idx >= SE_SOURCES_MAX)
        return;
    se_copy(e->ifname[idx], sizeof(e->ifname[idx]), ifname != NULL ? ifname : "");
    e->ifup[idx] = ifname != NULL && ifname[0] != '\0';
    se_static_eval(e, e->now, 0, 0); /* a static mirror waiting for it starts */
}

void se_interface_down(struct sess_engine *e, unsigned idx, int64_t now)
{
    if (now > e->now)
        e->now = now;
    if (idx >= SE_SOURCES_MAX || !e->ifup[idx])
        return;
    e->ifup[idx] = 0;
    struct se_evctx c = {.trap = PM_TRAP_INTERFACE_DELETED, .sec = now};
    for (size_t i = 0; i < e->nrules; i++) {
        struct se_rule *r = &e->rules[i];
        if (r->t.type == TRIG_INTERFACE && r->st_active && r->ifidx == (int)idx) {
            struct se_icpt ic;
            static_icpt(r, &ic);
            se_raise_icpt(e, &c, &ic);
        }
    }
    for (struct sess *s = st_next(e->st, NULL); s != NULL; s = st_next(e->st, s)) {
        if (s->last_src != idx || s->icpt == NULL)
            continue;
        struct se_view v;
        se_view_sess(&v, s);
        c.s = s;
        c.view = &v;
        for (struct se_icpt *ic = s->icpt; ic != NULL; ic = ic->next)
            if (ic->announced)
                se_raise_icpt(e, &c, ic);
    }
    se_static_eval(e, now, 0, 1);
}

void se_interface_up(struct sess_engine *e, unsigned idx, int64_t now)
{
    if (idx >= SE_SOURCES_MAX || e->ifup[idx] || e->ifname[idx][0] == '\0')
        return;
    e->ifup[idx] = 1;
    e->on_us = now * 1000000;
    se_static_eval(e, now, 0, 0);
}
