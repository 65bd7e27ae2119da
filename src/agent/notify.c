/*
 * notify.c - event dispatch, the severity gates and the drain timer (see notify.h).
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent.h"
#include "agent_priv.h"
#include "notify.h"
#include "notify_pdu.h"
#include "pmirrord/audit.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_codec.h"
#include "pmirrord/trapstats.h"
#include "traphost.h"

#define NOTIFY_BATCH 64

static struct {
    int active;
    struct pm_evq *q;
    struct th_host **hosts;
    size_t nhosts;
    int global_severity;
    int trap_severity[11];
    unsigned int alarm; /* drain timer, 0 when none */
    int64_t alarm_due;
    unsigned int stats_alarm;
    struct pm_trapstats st; /* global counters; hosts filled at publish */
} nt;

static void publish(void)
{
    nt.st.trap_enable = mib_trapenable_value();
    nt.st.global_severity = nt.global_severity;
    memcpy(nt.st.trap_severity, nt.trap_severity, sizeof(nt.trap_severity));
    nt.st.event_queue_drops = nt.q != NULL ? pm_evq_dropped(nt.q) : 0;
    nt.st.nhosts = 0;
    for (size_t i = 0; i < nt.nhosts && i < PM_TRAPSTATS_MAX_HOSTS; i++) {
        const struct pm_traphost_conf *hc = th_host_conf(nt.hosts[i]);
        struct pm_trapstats_host *o = &nt.st.hosts[nt.st.nhosts++];
        struct th_counters c;
        th_host_counters(nt.hosts[i], &c);
        snprintf(o->address, sizeof(o->address), "%s", hc->address);
        snprintf(o->user, sizeof(o->user), "%s", hc->user);
        o->inform = hc->inform;
        o->severity = hc->severity;
        o->queue_size = hc->queue_size;
        o->drain_rate = hc->drain_rate;
        o->queue_full = hc->queue_full;
        o->timeout_s = hc->timeout_s;
        o->retries = hc->retries;
        o->sent = c.sent;
        o->filtered = c.filtered;
        o->queue_full_discards = c.queue_full_discards;
        o->no_response_discards = c.no_response_discards;
        o->bad_encoding_discards = c.bad_encoding_discards;
        o->send_failed_discards = c.send_failed_discards;
        o->no_memory_discards = c.no_memory_discards;
        o->queued = c.queued;
        o->inflight = c.inflight;
        snprintf(o->where, sizeof(o->where), "%s", hc->where);
        o->auth = hc->auth;
        o->priv = hc->priv;
    }
    pm_trapstats_publish(&nt.st);
}

static void drain_alarm(unsigned int reg, void *arg);

/* Frees h, which is no longer in nt.hosts; its USM user goes with its last
 * holder (th_user_release()). */
static void drop_host(struct th_host *h)
{
    th_host_free(h);
}

/* -- USM users in use (traphost.h) ------------------------------------------ */

/* SnmpEngineID is OCTET STRING (SIZE(5..32)) (RFC 3411 §5). */
#define NT_EID_MAX 32

struct nt_user {
    struct nt_user *next;
    u_char eid[NT_EID_MAX];
    size_t eid_len;
    char name[64];
    uint8_t digest[32];
    int refs;
};

/* Not in nt: it outlives notify_shutdown() for hosts freed late, and tests use it alone. */
static struct nt_user *nt_users;

static struct nt_user **user_find(const uint8_t *eid, size_t len, const char *name)
{
    struct nt_user **p;
    for (p = &nt_users; *p != NULL; p = &(*p)->next)
        if ((*p)->eid_len == len && memcmp((*p)->eid, eid, len) == 0 &&
            strcmp((*p)->name, name) == 0)
            return p;
    return NULL;
}

/* Removes the USM user (eid, name) from USM, its localised keys wiped. */
static void usm_user_remove(const uint8_t *eid, size_t len, const char *name)
{
    struct usmUser *u = usm_get_user((u_char *)eid, len, (char *)name);
    if (u == NULL)
        return;
    usm_remove_user(u);
    u->next = u->prev = NULL; /* usm_free_user() would relink its neighbours */
    if (u->authKey != NULL)
        OPENSSL_cleanse(u->authKey, u->authKeyLen);
    if (u->privKey != NULL)
        OPENSSL_cleanse(u->privKey, u->privKeyLen);
    usm_free_user(u);
}

enum th_user_hold th_user_hold(const uint8_t *eid, size_t len, const char *name,
                               const uint8_t digest[32])
{
    struct nt_user **p = user_find(eid, len, name);
    if (p != NULL) {
        if (CRYPTO_memcmp((*p)->digest, digest, sizeof((*p)->digest)) != 0)
            return TH_USER_FOREIGN;
        (*p)->refs++;
        return TH_USER_HELD;
    }
    if (len == 0 || len > NT_EID_MAX || strlen(name) >= sizeof((*p)->name))
        return TH_USER_FOREIGN; /* not a user we can account for */
    struct nt_user *u = calloc(1, sizeof(*u));
    if (u == NULL)
        return TH_USER_NOMEM;
    memcpy(u->eid, eid, len);
    u->eid_len = len;
    snprintf(u->name, sizeof(u->name), "%s", name);
    memcpy(u->digest, digest, sizeof(u->digest));
    u->refs = 1;
    u->next = nt_users;
    nt_users = u;
    usm_user_remove(eid, len, name); /* held by no one: keys of unknown origin */
    return TH_USER_HELD;
}

void th_user_release(const uint8_t *eid, size_t len, const char *name)
{
    struct nt_user **p = user_find(eid, len, name);
    if (p == NULL || --(*p)->refs > 0)
        return;
    struct nt_user *u = *p;
    *p = u->next;
    usm_user_remove(eid, len, name);
    OPENSSL_cleanse(u, sizeof(*u));
    free(u);
}

int th_user_refs(const uint8_t *eid, size_t len, const char *name)
{
    struct nt_user **p = user_find(eid, len, name);
    return p != NULL ? (*p)->refs : 0;
}

/* Drain every host, then arm the timer for the earliest host still waiting. */
static void drain_all(void)
{
    int64_t now = th_now_ns(), due = -1;
    for (size_t i = 0; i < nt.nhosts; i++)
        th_host_drain(nt.hosts[i], now);
    for (size_t i = 0; i < nt.nhosts; i++) {
        int64_t d = th_host_next_due(nt.hosts[i], now);
        if (d >= 0 && (due < 0 || d < due))
            due = d;
    }
    if (due >= 0 && (nt.alarm == 0 || due < nt.alarm_due)) {
        if (nt.alarm != 0)
            snmp_alarm_unregister(nt.alarm);
        int64_t wait = due > now ? due - now : 0;
        struct timeval tv = {(time_t)(wait / 1000000000), (suseconds_t)(wait % 1000000000 / 1000)};
        nt.alarm = snmp_alarm_register_hr(tv, 0, drain_alarm, NULL);
        nt.alarm_due = due;
        /* On failure the 1 s statistics alarm drains instead (stats_alarm). */
        if (nt.alarm == 0)
            log_warnx("notify", "cannot register the drain timer");
    }
    publish();
}

static void drain_alarm(unsigned int reg, void *arg)
{
    if (reg == nt.alarm)
        nt.alarm = 0;
    drain_all();
}

void notify_kick(void)
{
    if (!nt.active)
        return;
    /* Never re-enter the library from its own callback: drain from an alarm. */
    if (nt.alarm != 0 && nt.alarm_due <= th_now_ns())
        return;
    if (nt.alarm != 0)
        snmp_alarm_unregister(nt.alarm);
    struct timeval tv = {0, 0};
    nt.alarm = snmp_alarm_register_hr(tv, 0, drain_alarm, NULL);
    nt.alarm_due = th_now_ns();
}

static void handle_event(const struct pm_event *ev)
{
    char err[160];
    nt.st.events++;
    if (pm_event_check(ev, err, sizeof(err)) < 0) {
        nt.st.invalid++;
        log_warnx("notify", "malformed event dropped: %s", err);
        return;
    }
    /* The mirror log records every mirroring event, whatever the SNMP gates say. */
    pm_mirrorlog_event(ev);
    if (!mib_trapenable_value()) {
        nt.st.disabled_drops++;
        th_audit("not-sent-trap-enable-false", "-", ev);
        return;
    }
    int sev = nt.trap_severity[ev->trap];
    if (sev > nt.global_severity) {
        nt.st.global_filtered++;
        th_audit("filtered-global-severity", "-", ev);
        return;
    }
    struct th_ev *e = th_ev_new(ev);
    if (e == NULL) {
        nt.st.no_memory_drops++;
        log_warnx("notify", "out of memory: notification dropped");
        return;
    }
    for (size_t i = 0; i < nt.nhosts; i++) {
        if (th_host_accepts(nt.hosts[i], sev))
            th_host_enqueue(nt.hosts[i], e);
        else
            th_audit("filtered-host-severity", th_host_conf(nt.hosts[i])->address, ev);
    }
    th_ev_unref(e);
}

static void on_events(int fd, void *arg)
{
    struct pm_event batch[NOTIFY_BATCH];
    size_t n;
    /* Bounded work per wake-up keeps AgentX requests answered during a burst. */
    for (int rounds = 0; rounds < 16; rounds++) {
        n = pm_evq_pop(nt.q, batch, NOTIFY_BATCH);
        for (size_t i = 0; i < n; i++) {
            handle_event(&batch[i]);
            /* Send what may go now before queueing the next one: a queue holds
             * only what the drain rate or the inform window holds back, so a
             * burst is not discarded merely for arriving in one wake-up. */
            int64_t now = th_now_ns();
            for (size_t h = 0; h < nt.nhosts; h++)
                th_host_drain(nt.hosts[h], now);
        }
        if (n < NOTIFY_BATCH)
            break;
    }
    OPENSSL_cleanse(batch, sizeof(batch));
    drain_all();
}

static void stats_alarm(unsigned int reg, void *arg)
{
    if (nt.alarm == 0)
        drain_all(); /* a lost drain timer must not stall the queues */
    else
        publish();
}

/* Adds a host; from (NULL: the control socket) is said in the log line. */
static int add_host(const struct pm_traphost_conf *hc, const char *from, char *err, size_t errlen)
{
    char msg[400];
    for (size_t i = 0; i < nt.nhosts; i++)
        if (conf_traphost_conflict(th_host_conf(nt.hosts[i]), hc, msg, sizeof(msg)))
            return pm_err(err, errlen, "%s", msg);
    if (nt.nhosts == PM_MAX_TRAPHOSTS)
        return pm_err(err, errlen, "at most %d trap hosts", PM_MAX_TRAPHOSTS);
    struct th_host *h = th_host_new(hc, err, errlen);
    if (h == NULL)
        return -1;
    /* Not realloc(): it would free the old array without wiping it. */
    struct th_host **nh = calloc(nt.nhosts + 1, sizeof(*nh));
    if (nh == NULL) {
        drop_host(h);
        return pm_err(err, errlen, "out of memory");
    }
    if (nt.nhosts > 0)
        memcpy(nh, nt.hosts, nt.nhosts * sizeof(*nh));
    OPENSSL_cleanse(nt.hosts, nt.nhosts * sizeof(*nt.hosts));
    free(nt.hosts);
    nt.hosts = nh;
    nt.hosts[nt.nhosts++] = h;
    if (from == NULL)
        log_info("notify", "a secure trap host was added from the control socket (%zu now)",
                 nt.nhosts);
    publish();
    return 0;
}

int notify_add_host(void *arg, char *err, size_t errlen)
{
    return add_host(arg, NULL, err, errlen);
}

/* Removes nt.hosts[i]; from (NULL: the control socket) is said in the log line. */
static void remove_at(size_t i, const char *from)
{
    struct th_host *h = nt.hosts[i];
    memmove(&nt.hosts[i], &nt.hosts[i + 1], (nt.nhosts - i - 1) * sizeof(nt.hosts[0]));
    nt.hosts[--nt.nhosts] = NULL;
    drop_host(h); /* queued notifications are dropped with it */
    if (from == NULL)
        log_info("notify", "a secure trap host was removed from the control socket (%zu left)",
                 nt.nhosts);
    publish();
}

static long find_transport(const char *transport)
{
    for (size_t i = 0; i < nt.nhosts; i++)
        if (strcmp(th_host_conf(nt.hosts[i])->transport, transport) == 0)
            return (long)i;
    return -1;
}

size_t notify_host_count(void)
{
    return nt.nhosts;
}

const struct pm_traphost_conf *notify_host_conf(size_t i)
{
    return i < nt.nhosts ? th_host_conf(nt.hosts[i]) : NULL;
}

int notify_reload_add(const struct pm_traphost_conf *hc, char *err, size_t errlen)
{
    return add_host(hc, "reload", err, errlen);
}

int notify_reload_remove(const char *transport)
{
    long i = find_transport(transport);
    if (i < 0)
        return -1;
    remove_at((size_t)i, "reload");
    return 0;
}

int notify_reload_retune(const struct pm_traphost_conf *hc, char *err, size_t errlen)
{
    long i = find_transport(hc->transport);
    if (i < 0)
        return pm_err(err, errlen, "%s: no such trap host", hc->where);
    if (th_host_retune(nt.hosts[i], hc, err, errlen) < 0)
        return -1;
    publish();
    notify_kick(); /* a new drain rate or a larger queue: drain again */
    return 0;
}

void notify_reload_severity(int global, const int trap[11])
{
    nt.global_severity = global;
    memcpy(nt.trap_severity, trap, sizeof(nt.trap_severity));
    publish();
}

int notify_remove_host(void *arg, char *err, size_t errlen)
{
    const char *address = arg;
    char transport[sizeof(((struct pm_traphost_conf *)0)->transport)], msg[200];
    /* Compare what the address means, not how it is written: 127.0.0.1 is
     * 127.0.0.1:162, [::1] is [0:0::1]:162 (conf_traphost_transport()). */
    if (conf_traphost_transport(address, transport, sizeof(transport), msg, sizeof(msg)) < 0)
        return pm_err(err, errlen, "no trap host %s: %s", address, msg);
    long i = find_transport(transport);
    if (i < 0)
        return pm_err(err, errlen, "no trap host %s", address);
    remove_at((size_t)i, NULL);
    return 0;
}

int notify_init(const struct pm_conf *c, struct pm_evq *q, char *err, size_t errlen)
{
    memset(&nt, 0, sizeof(nt));
    nt.q = q;
    nt.global_severity = c->global_severity;
    memcpy(nt.trap_severity, c->trap_severity, sizeof(nt.trap_severity));
    if (c->nhosts > PM_TRAPSTATS_MAX_HOSTS) {
        snprintf(err, errlen, "%s: at most %d trap hosts", c->hosts[PM_TRAPSTATS_MAX_HOSTS].where,
                 PM_TRAPSTATS_MAX_HOSTS);
        return -1;
    }
    nt.hosts = calloc(c->nhosts ? c->nhosts : 1, sizeof(*nt.hosts));
    if (nt.hosts == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < c->nhosts; i++) {
        nt.hosts[i] = th_host_new(&c->hosts[i], err, errlen);
        if (nt.hosts[i] == NULL) {
            notify_shutdown();
            return -1;
        }
        nt.nhosts++;
    }
    if (agent_watch_fd(pm_evq_fd(q), on_events, NULL) < 0) {
        snprintf(err, errlen, "cannot watch the event queue");
        notify_shutdown();
        return -1;
    }
    u_char eid[32];
    size_t n = snmpv3_get_engineID(eid, sizeof(eid));
    if (n > 0) {
        strcpy(nt.st.engine_id, "0x");
        for (size_t i = 0; i < n; i++)
            snprintf(nt.st.engine_id + 2 + 2 * i, 3, "%02x", eid[i]);
    }
    nt.active = 1;
    nt.stats_alarm = snmp_alarm_register(1, SA_REPEAT, stats_alarm, NULL);
    publish();
    log_info("notify", "%zu secure trap host%s configured", nt.nhosts, nt.nhosts == 1 ? "" : "s");
    return 0;
}

void notify_shutdown(void)
{
    nt.active = 0;
    if (nt.alarm != 0)
        snmp_alarm_unregister(nt.alarm);
    if (nt.stats_alarm != 0)
        snmp_alarm_unregister(nt.stats_alarm);
    if (nt.q != NULL)
        agent_unwatch_fd(pm_evq_fd(nt.q));
    while (nt.nhosts > 0) {
        struct th_host *h = nt.hosts[--nt.nhosts];
        nt.hosts[nt.nhosts] = NULL;
        drop_host(h);
    }
    free(nt.hosts);
    memset(&nt, 0, sizeof(nt));
}
