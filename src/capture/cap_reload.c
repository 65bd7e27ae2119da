/*
 * cap_reload.c - the capture process's side of a reload (docs/reload.md):
 * applies what differs between the running configuration and the reloaded
 * one; unchanged sources, RADIUS peers and sessions are left untouched.
 *
 *   capture        matched by source (interface, or pcap:FILE): the same
 *                  line keeps its handle, counters and state (its slot, so
 *                  the sessions last seen there keep their source); a
 *                  removed one is closed and its slot left empty; an added
 *                  one is opened and activated in the sandbox (libpcap's
 *                  socket, as at a link flap); another filter or option:
 *                  a new handle in the same slot.  A pcap file needs a
 *                  descriptor from the monitor, which a reload does not
 *                  carry: added or changed, it is read at the next restart.
 *   RADIUS         peers and secrets replaced in the tracker's locked page
 *                  (rt_reconfigure): pending requests and replay windows stay.
 *   dhcpServer, sessionStartTimeout, signallingLatency, analyzerHoldDown:
 *                  applied in place.
 *   restart-only   mirrorSource, mirrorInterface, mirrorGso, mirrorDscp (the
 *                  sockets' IP options cannot be set inside the sandbox), the
 *                  analyzer ports of the mirror rules (sockets bound before
 *                  the sandbox: a new port's datagrams leave from the
 *                  family's fallback socket, docs/jmirror.md), maxSubscribers
 *                  (tables sized once): named
 *                  with FILE:LINE in the summary, the running value stays.
 *
 * Sessions are never forgotten: the engine is not touched.  A session
 * learnt from a removed RADIUS peer stays until it ends by another way
 * (DHCP, a peer still configured, the engine's timers).
 *
 * The summary holds counts and directive names, FILE:LINE of what waits for
 * a restart; never an address, identity or secret.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cap_proc_priv.h"
#include "pmirrord/conf.h"
#include "pmirrord/dhcp_track.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/log.h"
#include "pmirrord/mir_stats.h"
#include "pmirrord/radius_conf.h"
#include "pmirrord/radius_track.h"
#include "pmirrord/sess_engine.h"

#include <openssl/crypto.h>

enum rl_act { RL_UNCHANGED = 1, RL_CHANGED, RL_ADDED, RL_LATER };

struct rl_sum {
    char *buf;
    size_t cap, len;
};

static void sum_add(struct rl_sum *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sum_add(struct rl_sum *s, const char *fmt, ...)
{
    va_list ap;
    if (s->cap == 0 || s->len >= s->cap - 1)
        return;
    if (s->len > 0)
        s->len += (size_t)snprintf(s->buf + s->len, s->cap - s->len, "; ");
    if (s->len >= s->cap - 1)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        s->len += (size_t)n;
    if (s->len >= s->cap)
        s->len = s->cap - 1;
}

static int same_source(const struct cap_spec *a, const struct cap_spec *b)
{
    return a->offline == b->offline && strcmp(a->src, b->src) == 0;
}

static int same_spec(const struct cap_spec *a, const struct cap_spec *b)
{
    return same_source(a, b) && a->role == b->role && a->buffer_mib == b->buffer_mib &&
           a->snaplen == b->snaplen && a->pace == b->pace && strcmp(a->filter, b->filter) == 0;
}

/* FILE:LINE of key in c; the file's name when c has no such line (it was removed). */
static const char *where_of(const struct cp_conf *c, const struct cp_conf *old, const char *key)
{
    for (size_t i = 0; i < c->nrwhere; i++)
        if (!strcmp(c->rwhere[i].key, key))
            return c->rwhere[i].where;
    return c->file[0] != '\0' ? c->file : old->file;
}

static const char *first_of(const char *a, const char *b, const char *c)
{
    return a[0] != '\0' ? a : b[0] != '\0' ? b : c;
}

/* The restart-only directives that differ, named; the running values stay in next. */
static void restart_only(struct cp_conf *run, struct cp_conf *next, struct rl_sum *sum)
{
    struct pm_mirror_conf *o = &run->mirror, *n = &next->mirror;
    int d4 = o->has_src4 != n->has_src4 || (n->has_src4 && memcmp(o->src4, n->src4, 4) != 0);
    int d6 = o->has_src6 != n->has_src6 || (n->has_src6 && memcmp(o->src6, n->src6, 16) != 0);
    if (d4) /* the IPv4 line, or the one removed */
        sum_add(sum, "%s: mirrorSource changes at the next restart",
                first_of(n->src4_where, "", where_of(next, run, "mirrorSource")));
    if (d6)
        sum_add(sum, "%s: mirrorSource changes at the next restart",
                first_of(n->src6_where, "", where_of(next, run, "mirrorSource")));
    if (strcmp(o->ifname, n->ifname) != 0)
        sum_add(sum, "%s: mirrorInterface changes at the next restart",
                first_of(n->ifname_where, "", where_of(next, run, "mirrorInterface")));
    if (o->gso != n->gso)
        sum_add(sum, "%s: mirrorGso changes at the next restart", where_of(next, run, "mirrorGso"));
    if (o->dscp != n->dscp)
        sum_add(sum, "%s: mirrorDscp changes at the next restart",
                where_of(next, run, "mirrorDscp"));
    if (run->nports != next->nports ||
        memcmp(run->ports, next->ports, run->nports * sizeof(run->ports[0])) != 0)
        sum_add(sum,
                "%s: the analyzer ports of the mirror rules change at the next restart (a "
                "new port's datagrams leave from the fallback socket until then)",
                next->file[0] != '\0' ? next->file : run->file);
    if (run->max_subscribers != next->max_subscribers)
        sum_add(sum, "%s: maxSubscribers changes at the next restart",
                where_of(next, run, "maxSubscribers"));
    /* not applied: the running values stay (a later reload says so again) */
    unsigned hold = n->hold_down;
    *n = *o;
    n->hold_down = hold;
    next->nports = run->nports;
    memcpy(next->ports, run->ports, sizeof(next->ports));
    next->max_subscribers = run->max_subscribers;
    next->dh.max_bindings = run->dh.max_bindings;
}

/* A slot for a new source: one never used, else an empty one. */
static struct cp_source *free_slot(struct cap_proc *p)
{
    if (p->nsrc < CAP_PROC_SOURCES_MAX)
        return &p->src[p->nsrc++];
    for (size_t i = 0; i < p->nsrc; i++)
        if (p->src[i].removed)
            return &p->src[i];
    return NULL;
}

/* Closes the source of slot s and leaves the slot empty; the agent drops its
 * statistics row (a STATS record without counters, docs/ipc-protocol.md). */
static void close_slot(struct cp_source *s)
{
    static struct ipc_rec rec;
    struct cap_proc *p = s->proc;
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_STATS;
    snprintf(rec.u.stats.source, sizeof(rec.u.stats.source), "%s", s->name);
    (void)cp_put_c(p, &rec);
    /* The engine forgets the interface too: a static mirror of it ends
     * (IFSESS deactivated) instead of staying active with no traffic, and
     * a trigger naming it no longer finds the slot. */
    if (p->se != NULL)
        se_set_source(p->se, (unsigned)(s - p->src), NULL);
    cap_source_free(s->src);
    memset(s, 0, sizeof(*s));
    s->proc = p;
    s->removed = 1;
}

/* Moves a staged (opened and activated) source into slot s. */
static void take_staged(struct cap_proc *p, struct cp_source *s, struct cp_source *st)
{
    int was_down = s->down;
    *s = *st;
    memset(st, 0, sizeof(*st));
    s->proc = p;
    s->removed = 0;
    cap_source_set_arg(s->src, s);
    cp_health_pass(s); /* just opened: not quiet since the loop began (cap_health.c) */
    if (p->se != NULL)
        se_set_source(p->se, (unsigned)(s - p->src), s->spec.src);
    if (was_down && cap_source_state(s->src) == CAP_STATE_UP) {
        s->down = 1; /* the old handle's sessions were told the interface went: back now */
        cp_sess_interface(p, s, 1);
    }
}

int cp_reload_apply(struct cap_proc *p, struct cp_conf *next, char *summary, size_t slen, char *err,
                    size_t errlen)
{
    static struct cp_source stage[CAP_PROC_SOURCES_MAX]; /* new handles before the commit */
    enum rl_act act[CAP_PROC_SOURCES_MAX];
    int slot[CAP_PROC_SOURCES_MAX];    /* next spec -> running slot (-1 none) */
    int matched[CAP_PROC_SOURCES_MAX]; /* running slot -> next spec (-1 none) */
    struct rl_sum sum = {summary, slen, 0};
    struct cp_conf *run = &p->run;
    struct rt_conf_diff rd;
    unsigned added = 0, removed = 0, changed = 0, unchanged = 0;
    char e[512];

    if (slen > 0)
        summary[0] = '\0';
    if (next->nspec > CAP_PROC_SOURCES_MAX) {
        cp_conf_clear(next);
        return pm_err(err, errlen, "more than %d capture sources", CAP_PROC_SOURCES_MAX);
    }

    /* 1. Sources: what becomes of each. */
    for (size_t i = 0; i < CAP_PROC_SOURCES_MAX; i++)
        matched[i] = -1;
    size_t need = 0, empty = CAP_PROC_SOURCES_MAX - p->nsrc;
    for (size_t j = 0; j < next->nspec; j++) {
        slot[j] = -1;
        for (size_t i = 0; i < p->nsrc && slot[j] < 0; i++)
            if (!p->src[i].removed && matched[i] < 0 &&
                same_source(&p->src[i].spec, &next->spec[j]))
                slot[j] = (int)i;
        if (slot[j] >= 0) {
            matched[slot[j]] = (int)j;
            if (same_spec(&p->src[slot[j]].spec, &next->spec[j]))
                act[j] = RL_UNCHANGED;
            else
                act[j] = next->spec[j].offline ? RL_LATER : RL_CHANGED;
        } else {
            act[j] = next->spec[j].offline ? RL_LATER : RL_ADDED;
            need += act[j] == RL_ADDED;
        }
    }
    for (size_t i = 0; i < p->nsrc; i++)
        empty += p->src[i].removed || matched[i] < 0;
    if (need > empty) {
        cp_conf_clear(next);
        return pm_err(err, errlen, "more than %d capture sources", CAP_PROC_SOURCES_MAX);
    }
    if (p->rt != NULL && next->rt != NULL && next->rt->npeers > RT_CONF_MAX_PEERS) {
        cp_conf_clear(next);
        return pm_err(err, errlen, "more than %d RADIUS peers", RT_CONF_MAX_PEERS);
    }

    /* 2. New handles opened and activated before anything changes: a
     * failure leaves the running configuration as it was. */
    p->latency_ms = next->latency_ms;
    for (size_t j = 0; j < next->nspec; j++) {
        if (act[j] != RL_ADDED && act[j] != RL_CHANGED)
            continue;
        struct cp_source *st = &stage[j];
        if (cp_source_open(p, st, &next->spec[j], next->where[j], -1, e, sizeof(e)) < 0 ||
            cap_source_activate(st->src, e, sizeof(e)) < 0) {
            for (size_t k = 0; k <= j; k++) {
                cap_source_free(stage[k].src);
                memset(&stage[k], 0, sizeof(stage[k]));
            }
            p->latency_ms = run->latency_ms;
            cp_conf_clear(next);
            /* cp_source_open's text starts with FILE:LINE; activation's does not */
            if (strncmp(e, next->where[j], strlen(next->where[j])) == 0)
                return pm_err(err, errlen, "%s", e);
            return pm_err(err, errlen, "%s: %s", next->where[j], e);
        }
    }

    /* 3. The commit. Removed sources first (their slots may be reused). */
    for (size_t i = 0; i < p->nsrc; i++) {
        if (p->src[i].removed || matched[i] >= 0)
            continue;
        close_slot(&p->src[i]);
        removed++;
    }
    for (size_t j = 0; j < next->nspec; j++) {
        struct cp_source *s = slot[j] >= 0 ? &p->src[slot[j]] : NULL;
        switch (act[j]) {
        case RL_UNCHANGED:
            snprintf(s->where, sizeof(s->where), "%s", next->where[j]); /* lines move */
            unchanged++;
            break;
        case RL_CHANGED:
            cap_source_free(s->src); /* the old handle */
            s->src = NULL;
            take_staged(p, s, &stage[j]);
            changed++;
            break;
        case RL_ADDED:
            take_staged(p, free_slot(p), &stage[j]);
            added++;
            break;
        case RL_LATER:
            sum_add(&sum, "%s: capture (a pcap file, %s) changes at the next restart",
                    next->where[j], slot[j] >= 0 ? "changed" : "added");
            if (s != NULL) {
                next->spec[j] = s->spec; /* the running one stays */
                unchanged++;
            }
            break;
        }
    }
    /* pcap sources not added stay out of the running list: a later reload tries again */
    size_t w = 0;
    for (size_t j = 0; j < next->nspec; j++)
        if (!(act[j] == RL_LATER && slot[j] < 0)) {
            next->spec[w] = next->spec[j];
            memmove(next->where[w], next->where[j], sizeof(next->where[0]));
            w++;
        }
    next->nspec = w;
    int live = 0;
    for (size_t i = 0; i < p->nsrc; i++) {
        if (p->src[i].removed || p->src[i].src == NULL)
            continue;
        live += !p->src[i].spec.offline;
        if (cap_source_set_latency(p->src[i].src, p->latency_ms, e, sizeof(e)) < 0)
            log_warnx(CP_TOKEN, "%s: %s", p->src[i].where, e); /* validated: not seen */
    }
    p->clock.offline_only = live == 0;
    if (added + removed + changed > 0) {
        cp_static_exclude(p); /* the new handles exclude our own datagrams too */
        sum_add(&sum, "capture: %u added, %u removed, %u changed, %u unchanged", added, removed,
                changed, unchanged);
    }

    /* 4. RADIUS, DHCP, sessions, the data path. */
    if (p->rt != NULL) {
        if (rt_reconfigure(p->rt, next->rt, &rd, e, sizeof(e)) == 0) {
            if (rd.added + rd.removed + rd.changed > 0)
                sum_add(&sum, "radius peers: %u added, %u removed, %u changed, %u unchanged",
                        rd.added, rd.removed, rd.changed, rd.unchanged);
            if (rd.settings)
                sum_add(&sum, "radius settings: changed");
        } else {
            sum_add(&sum, "radius: not applied (%s)", e);
        }
    }
    if (run->dh.nservers != next->dh.nservers ||
        memcmp(run->dh.server, next->dh.server, sizeof(run->dh.server)) != 0) {
        if (p->dh != NULL)
            dh_set_servers(p->dh, &next->dh);
        sum_add(&sum, "dhcpServer: changed");
    }
    if (run->session_start_timeout != next->session_start_timeout) {
        if (p->se != NULL)
            se_set_start_timeout(p->se, next->session_start_timeout);
        sum_add(&sum, "sessionStartTimeout: changed");
    }
    if (run->latency_ms != next->latency_ms)
        sum_add(&sum, "signallingLatency: changed");
    if (run->mirror.hold_down != next->mirror.hold_down) {
        if (p->ms != NULL)
            ms_set_hold_down(p->ms, next->mirror.hold_down != 0 ? next->mirror.hold_down
                                                                : MS_HOLD_DOWN_DEFAULT);
        sum_add(&sum, "analyzerHoldDown: changed");
    }
    restart_only(run, next, &sum);

    /* 5. next is the running configuration; the secrets only in the tracker. */
    next->dry_run = run->dry_run;
    cp_conf_clear(next);
    *run = *next;
    OPENSSL_cleanse(next, sizeof(*next));
    if (sum.len == 0)
        sum_add(&sum, "no change");
    log_debug(CP_TOKEN, "reload applied: %s", summary); /* the monitor logs it */
    return 0;
}

void cp_reload_keep(struct cap_proc *p, struct cp_conf *c)
{
    cp_conf_clear(c); /* the RADIUS part: the tracker has its own copy */
    p->run = *c;
    p->run.rt = NULL;
}
