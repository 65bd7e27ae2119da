/*
 * cap_sessions.c - sessions and mirroring in the capture process: the RADIUS
 * tracker (radius_track.h), the DHCP tracker (dhcp_track.h), the session
 * engine (sess_engine.h) and the jmirror sender (jm_send.h, docs/jmirror.md),
 * created before the sandbox and wired to the loop:
 *
 *   signalling packets -> rt_input() / dh_input() -> facts -> se_on_fact()
 *   every IP packet of a data source -> cp_mirror() (cap_mirror.c)
 *   the capture clock -> rt_tick(), dh_tick(), se_tick()
 *   TRIGGER_SET tables -> se_set_triggers(); INTERCEPT RESTORE -> se_restore()
 *   the engine's RADIUS-provisioned intercepts -> INTERCEPT UP / DOWN (all of
 *     them UP again on a new agent channel: a restarted agent knows none)
 *   LIST_REQ "subscribers" -> se_list() -> LIST_PAGE
 *   an interface gone or back -> se_interface_down() / se_interface_up()
 *   STATS "radius", "dhcp", "sessions", "jmirror" once a second
 *
 * The trackers' and the engine's mirror-log text goes through cp_mlog()
 * (its queue and budget, cap_report.c); nothing here logs an identity.
 */
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap_proc_priv.h"
#include "pmirrord/conf.h"
#include "pmirrord/dhcp_conf.h"
#include "pmirrord/dhcp_track.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/log.h"
#include "pmirrord/radius.h"
#include "pmirrord/radius_conf.h"
#include "pmirrord/radius_track.h"
#include "pmirrord/sess_engine.h"

#define CP_TIMER_MAX_MS 1000 /* timers run at least once a second of the capture clock */

/* ---- callbacks from the trackers and the engine --------------------------------------------- */

static void on_mlog(void *arg, const char *text)
{
    cp_mlog(arg, "%s", text);
}

/* A RADIUS-provisioned intercept began or ended: the agent keeps it, so
 * that a restarted capture process gets it back (INTERCEPT RESTORE). */
static void on_intercept(void *arg, const struct pm_intercept *ic, int up)
{
    struct cap_proc *p = arg;
    static struct ipc_rec rec; /* large; one thread */
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_INTERCEPT;
    rec.flags = up ? IPC_F_ICPT_UP : IPC_F_ICPT_DOWN;
    rec.u.intercept.ic = *ic;
    if (cp_put_c(p, &rec) == 0) {
        if (up)
            p->icpt_up++;
        else
            p->icpt_down++;
    } else {
        p->icpt_not_sent++;
        cp_mlog(p,
                "intercept of mirror ID %u (session ID %u) %s: not handed to the agent (no "
                "channel or the path is full); a restarted capture process will not have it",
                ic->mirror_id, ic->session_id, up ? "began" : "ended");
    }
    OPENSSL_cleanse(&rec, sizeof(rec));
}

/* ---- configuration and start ----------------------------------------------------------------- */

int cp_sess_conf(struct pm_conf *c, struct cp_conf *out, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    out->rt = c->radius; /* taken: conf_free() leaves it alone */
    c->radius = NULL;
    out->max_subscribers = c->max_subscribers;
    conf_dhcp_init(&out->dh, c->max_subscribers);
    conf_dhcp_from(c, &out->dh);
    out->session_start_timeout = c->session_start_timeout;
    return 0;
}

void cp_conf_clear(struct cp_conf *c)
{
    rt_conf_free(c->rt); /* wipes the secrets */
    c->rt = NULL;
}

/* now in seconds of the capture clock; before the first packet of a pcap
 * file, the wall clock. */
static int64_t now_sec(const struct cap_proc *p)
{
    uint64_t ms = cap_clock_now_ms(&p->clock);
    if (ms == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return ts.tv_sec;
    }
    return (int64_t)(ms / 1000);
}

int cp_sess_start(struct cap_proc *p, const struct cp_conf *c, char *err, size_t errlen)
{
    char e[256];
    if (rad_crypto_init() != 0)
        return pm_err(err, errlen, "capture: OpenSSL offers no MD5 (RADIUS authenticators)");
    struct se_conf sc = {.max_subscribers = c->max_subscribers,
                         .session_start_timeout = c->session_start_timeout};
    struct se_out so = {.mlog = on_mlog, .intercept = on_intercept, .arg = p};
    p->se = se_new(&sc, &so, e, sizeof(e));
    if (p->se == NULL)
        return pm_err(err, errlen, "capture: sessions: %s", e);
    /* without radius* directives too: RADIUS between unknown peers is counted */
    p->rt = rt_new(c->rt, se_on_fact, p->se, on_mlog, p, e, sizeof(e));
    if (p->rt == NULL)
        return pm_err(err, errlen, "capture: RADIUS: %s", e);
    p->dh = dh_new(&c->dh, se_on_fact, p->se, e, sizeof(e));
    if (p->dh == NULL)
        return pm_err(err, errlen, "capture: DHCP: %s", e);
    if (cp_mirror_start(p, c, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < p->nsrc; i++)
        se_set_source(p->se, (unsigned)i, p->src[i].spec.src);
    return 0;
}

void cp_sess_free(struct cap_proc *p)
{
    cp_mirror_free(p); /* before the engine: its last flush asks se_icpt_active() */
    rt_free(p->rt);
    dh_free(p->dh);
    if (p->se != NULL)
        se_free(p->se);
    p->rt = NULL;
    p->dh = NULL;
    p->se = NULL;
}

/* ---- signalling, timers ---------------------------------------------------------------------- */

int cp_sess_radius_wants(struct cap_proc *p, const struct pkt_view *v)
{
    return p->rt != NULL && rt_wants(p->rt, v);
}

void cp_sess_signalling(struct cap_proc *p, const struct pkt_view *v, int radius, int64_t ts_sec,
                        uint32_t ts_usec)
{
    if (radius) {
        if (p->rt != NULL && rt_wants(p->rt, v))
            rt_input(p->rt, v, ts_sec, ts_usec);
    } else if (p->dh != NULL) {
        dh_input(p->dh, v, ts_sec, ts_usec);
    }
}

static int min_ms(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

void cp_sess_timers(struct cap_proc *p, uint64_t now_ms)
{
    if (now_ms == 0 || p->se == NULL)
        return; /* a pcap clock before its first packet */
    int next = -1;
    if (p->rt != NULL)
        next = min_ms(next, rt_tick(p->rt, now_ms));
    if (p->dh != NULL)
        next = min_ms(next, dh_tick(p->dh, (int64_t)(now_ms / 1000)));
    next = min_ms(next, se_tick(p->se, (int64_t)(now_ms / 1000), (uint32_t)(now_ms % 1000) * 1000));
    next = min_ms(next, cp_mirror_timers(p, now_ms));
    if (next < 1 || next > CP_TIMER_MAX_MS)
        next = next < 1 && next >= 0 ? 1 : CP_TIMER_MAX_MS;
    p->timer_due_ms = now_ms + (uint64_t)next;
}

/* ---- records from the agent, sources --------------------------------------------------------- */

void cp_sess_triggers(struct cap_proc *p)
{
    if (p->se == NULL)
        return;
    struct pm_trigger *t = NULL;
    if (p->ntrig > 0 && (t = calloc(p->ntrig, sizeof(*t))) == NULL) {
        log_warnx(CP_TOKEN, "a trigger table not applied: out of memory");
        return;
    }
    for (size_t i = 0; i < p->ntrig; i++)
        t[i] = p->trig[i].rule;
    se_set_triggers(p->se, t, p->ntrig, now_sec(p));
    cp_static_exclude(p);
    if (t != NULL) {
        OPENSSL_cleanse(t, p->ntrig * sizeof(*t));
        free(t);
    }
}

void cp_sess_restore(struct cap_proc *p, const struct pm_intercept *ic)
{
    if (p->se != NULL && se_restore(p->se, ic) == 0)
        p->icpt_restored++;
    else
        p->icpt_refused++;
}

void cp_sess_reannounce(struct cap_proc *p)
{
    if (p->se != NULL)
        p->icpt_reannounced += se_report_all(p->se);
}

void cp_sess_interface(struct cap_proc *p, struct cp_source *s, int up)
{
    if (p->se == NULL || s->down == !up)
        return;
    s->down = !up;
    if (up)
        se_interface_up(p->se, (unsigned)(s - p->src), now_sec(p));
    else
        se_interface_down(p->se, (unsigned)(s - p->src), now_sec(p));
}

/* LIST_REQ: "subscribers" (`show mirror subscribers`), a page of rows;
 * another listing gets an empty last page (the agent does not wait). */
void cp_sess_list(struct cap_proc *p, const struct ipc_list_req *req)
{
    static char rows[CP_LIST_ROWS][256];
    static char srows[CP_STATS_ROWS][MS_ROW_MAX];
    static struct ipc_rec rec;
    size_t n = 0;
    int more = 0, stat_rows = 0;

    p->list_reqs++;
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_LIST_PAGE;
    rec.u.list_page.request_id = req->request_id;
    rec.u.list_page.offset = req->offset;
    if (strcmp(req->list, "subscribers") == 0 && p->se != NULL) {
        size_t max = req->max_rows < CP_LIST_ROWS ? req->max_rows : CP_LIST_ROWS;
        n = se_list(p->se, req->filter, req->offset, max, rows, &more);
        if (n > max)
            n = max;
        struct se_stats st;
        se_get_stats(p->se, &st);
        rec.u.list_page.has_count = 1; /* the sessions held, before the filter */
        rec.u.list_page.count = (uint32_t)st.sessions;
        if (!more && (n > 0 || req->offset == 0)) { /* the last page: the total is known */
            rec.u.list_page.has_total = 1;
            rec.u.list_page.total = req->offset + (uint32_t)n;
        }
    } else if (strcmp(req->list, "statistics") == 0) {
        /* `show mirror statistics`: per intercept, then per analyzer (empty without p->ms) */
        size_t max = req->max_rows < CP_STATS_ROWS ? req->max_rows : CP_STATS_ROWS;
        n = p->ms != NULL ? ms_list(p->ms, req->offset, max, srows, &more) : 0;
        if (n > max)
            n = max;
        for (size_t i = 0; i < n; i++) {
            srows[i][MS_ROW_MAX - 1] = '\0';
            rec.u.list_page.rows[i].s = srows[i];
            rec.u.list_page.rows[i].len = strlen(srows[i]);
        }
        stat_rows = 1;
        rec.u.list_page.has_count = 1;
        rec.u.list_page.count =
            p->ms != NULL ? (uint32_t)(ms_count_icpt(p->ms) + ms_count_analyzers(p->ms)) : 0;
        if (!more && (n > 0 || req->offset == 0)) {
            rec.u.list_page.has_total = 1;
            rec.u.list_page.total = req->offset + (uint32_t)n;
        }
    } else {
        p->list_unknown++;
    }
    for (size_t i = 0; i < n && !stat_rows; i++) {
        rows[i][sizeof(rows[i]) - 1] = '\0';
        rec.u.list_page.rows[i].s = rows[i];
        rec.u.list_page.rows[i].len = strlen(rows[i]);
    }
    rec.u.list_page.nrows = n;
    rec.u.list_page.more = more ? 1 : 0;
    (void)cp_put_c(p, &rec);
    OPENSSL_cleanse(rows, sizeof(rows));   /* identities */
    OPENSSL_cleanse(srows, sizeof(srows)); /* mirror IDs, analyzers */
    OPENSSL_cleanse(&rec, sizeof(rec));
}

/* ---- statistics ------------------------------------------------------------------------------ */

static struct ipc_rec srec; /* 9 KiB; one thread */

static void begin(const char *source)
{
    memset(&srec, 0, sizeof(srec));
    srec.type = IPC_STATS;
    snprintf(srec.u.stats.source, sizeof(srec.u.stats.source), "%s", source);
}

static void ctr(const char *name, uint64_t v)
{
    cp_stats_add(&srec.u.stats, name, v);
}

void cp_sess_stats(struct cap_proc *p)
{
    if (p->se == NULL)
        return;
    if (p->rt != NULL) {
        struct rt_stats r;
        rt_get_stats(p->rt, &r);
        begin("radius");
        ctr("parsed", r.parsed);
        ctr("malformed", r.malformed);
        ctr("not_peer", r.not_peer);
        ctr("auth_failed", r.auth_failed);
        ctr("msgauth_missing", r.msgauth_missing);
        ctr("replays", r.replays);
        ctr("pairs_expired", r.pairs_expired);
        ctr("ambiguous", r.ambiguous);
        ctr("unpaired", r.unpaired);
        ctr("coa_naks", r.coa_naks);
        ctr("li_errors", r.li_errors);
        ctr("facts", r.facts);
        (void)cp_put_c(p, &srec);
    }
    if (p->dh != NULL) {
        struct dh_stats d;
        dh_get_stats(p->dh, &d);
        begin("dhcp");
        ctr("parsed", d.parsed);
        ctr("malformed", d.malformed);
        ctr("untrusted", d.untrusted);
        ctr("acks", d.acks);
        ctr("renewals", d.renewals);
        ctr("releases", d.releases);
        ctr("declines", d.declines);
        ctr("expired", d.expired);
        ctr("bindings", d.bindings);
        ctr("full", d.full);
        ctr("facts", d.facts);
        (void)cp_put_c(p, &srec);
    }
    struct se_stats e;
    se_get_stats(p->se, &e);
    begin("sessions");
    ctr("sessions", e.sessions);
    ctr("targets", e.targets);
    ctr("intercepts", e.intercepts);
    ctr("created", e.sessions_created);
    ctr("ended", e.sessions_ended);
    ctr("untracked", e.untracked);
    ctr("events_raised", e.events_raised);
    ctr("events_dropped", e.events_dropped);
    ctr("triggers", e.triggers);
    ctr("li_errors", e.li_errors);
    ctr("restored", e.restored);
    ctr("stops_unmatched", e.stops_unmatched);
    ctr("intercepts_up_sent", p->icpt_up);
    ctr("intercepts_down_sent", p->icpt_down);
    ctr("intercepts_not_sent", p->icpt_not_sent);
    ctr("intercepts_reannounced", p->icpt_reannounced);
    ctr("restore_accepted", p->icpt_restored);
    ctr("restore_refused", p->icpt_refused);
    ctr("list_requests", p->list_reqs);
    ctr("list_unknown", p->list_unknown);
    (void)cp_put_c(p, &srec);

    cp_mirror_stats(p);
}
