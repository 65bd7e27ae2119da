/*
 * agent_reload.c - the agent's side of a reload (agent_reload.h, docs/reload.md).
 *
 * What the file says is compared with what runs, object by object:
 *  - trap hosts: the live hosts whose where is "FILE:LINE" of the file are
 *    the file's; a host of the new file with the same transport and the same
 *    USM identity (user, protocols, credentials' digest, inform, engineId)
 *    is the same host: unchanged, or retuned in place (queue size, discard
 *    method, drain rate, severity filter, timeout, retries), keeping its
 *    queue and its Net-SNMP session; another identity is a removal and an
 *    addition.  Hosts added through pmirrorctl are left alone.
 *  - triggers: trig_table_reload() (the file's entries only); the table is
 *    pushed to the capture process once, and only if a rule changed.
 *  - trapEnable and secureLog may also change at run time (an SNMP SET, a
 *    pmirrorctl command): the file's value is applied only when it differs
 *    from the value of the file the agent last read.
 *  - globalTrapSeverity, trapSeverity, mirrorSecret, maxTriggers: applied
 *    when they differ.
 *  - conf_restart_names[]: reported ("FILE:LINE: controlSocket changes at the
 *    next restart"), not applied.
 * Every check that can refuse comes first: a refusal changes nothing.
 */
#include "agent_reload.h"
#include "rtconf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "agent/agent.h"
#include "agent/notify.h"
#include "memlock.h"
#include "trig_table.h"
#include "pmirrord/audit.h"
#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/escape.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"

#define RULE_MAX 1200 /* trig_format() of the longest rule */

/* What the running configuration said (no passphrase, no identity). */
static struct {
    int up;
    struct agent_reload_ctx ctx;
    char path[PM_PATH_MAX];
    int trap_enable, secure_log, global_severity, trap_severity[11];
    unsigned max_triggers;
    uint8_t secret_digest[32];
    size_t queue_budget; /* slots of all trap host queues together (memlock.c) */
    char restart_val[CONF_RESTART_N][PM_PATH_MAX + 16];
} ar;

static void secret_digest(const char *hash, uint8_t out[32])
{
    unsigned len = 32;
    if (EVP_Digest(hash, strlen(hash), out, &len, EVP_sha256(), NULL) != 1)
        memset(out, 0, 32);
}

/* The value of conf_restart_names[i] as text, to compare. */
static void restart_value(const struct pm_conf *c, size_t i, char *buf, size_t cap)
{
    switch (i) {
    case 0:
        snprintf(buf, cap, "%s", c->agentx_socket);
        break;
    case 1:
        snprintf(buf, cap, "%u", c->agentx_ping_interval);
        break;
    case 2:
        snprintf(buf, cap, "%s", c->persistent_dir);
        break;
    case 3: {
        size_t n = 0;
        buf[0] = '\0';
        for (size_t k = 0; k < c->engine_id_len && n + 3 < cap; k++)
            n += (size_t)snprintf(buf + n, cap - n, "%02x", c->engine_id[k]);
        break;
    }
    case 4:
        snprintf(buf, cap, "%u", c->event_queue_size);
        break;
    case 5:
        snprintf(buf, cap, "%u", c->secure_log_size);
        break;
    case 6:
        snprintf(buf, cap, "%u", c->mirror_log_size);
        break;
    case 7:
        snprintf(buf, cap, "%s", c->control_socket);
        break;
    case 8:
        snprintf(buf, cap, "%s", c->control_group);
        break;
    case 9:
        snprintf(buf, cap, "%d", c->persist_runtime != 0);
        break;
    default:
        buf[0] = '\0';
    }
}

/* The reloadable values of c become the running ones. */
static void remember(const struct pm_conf *c)
{
    snprintf(ar.path, sizeof(ar.path), "%s", c->path);
    ar.trap_enable = c->trap_enable != 0;
    ar.secure_log = c->secure_log != 0;
    ar.global_severity = c->global_severity;
    memcpy(ar.trap_severity, c->trap_severity, sizeof(ar.trap_severity));
    ar.max_triggers = c->max_triggers != 0 ? c->max_triggers : TRIG_DEFAULT_MAX;
    secret_digest(c->mirror_secret, ar.secret_digest);
}

int agent_reload_init(const struct pm_conf *c, const struct agent_reload_ctx *ctx, char *err,
                      size_t errlen)
{
    (void)err;
    (void)errlen;
    memset(&ar, 0, sizeof(ar));
    ar.ctx = *ctx;
    remember(c);
    for (size_t i = 0; i < CONF_RESTART_N; i++)
        restart_value(c, i, ar.restart_val[i], sizeof(ar.restart_val[i]));
    /* pm_memlock_needed(): each host of the file its queue, every other slot
     * up to PM_MAX_TRAPHOSTS a run-time host's. */
    for (size_t i = 0; i < c->nhosts; i++)
        ar.queue_budget += c->hosts[i].queue_size;
    if (c->nhosts < PM_MAX_TRAPHOSTS)
        ar.queue_budget += (PM_MAX_TRAPHOSTS - c->nhosts) * (size_t)PM_RUNTIME_QUEUE_MAX;
    ar.up = 1;
    return 0;
}

void agent_reload_shutdown(void)
{
    OPENSSL_cleanse(&ar, sizeof(ar));
}

/* ---- the summary ----------------------------------------------------------------------------- */

struct sum {
    char *buf;
    size_t cap, len;
};

static void sum_add(struct sum *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sum_add(struct sum *s, const char *fmt, ...)
{
    if (s->len + 1 >= s->cap)
        return;
    if (s->len > 0)
        s->len += (size_t)snprintf(s->buf + s->len, s->cap - s->len, "; ");
    if (s->len + 1 >= s->cap) {
        s->len = s->cap - 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->buf + s->len, s->cap - s->len, fmt, ap);
    va_end(ap);
    s->len = n < 0 ? s->len : s->len + (size_t)n >= s->cap ? s->cap - 1 : s->len + (size_t)n;
}

/* "1 added, 2 unchanged" (the non-zero counts; "unchanged" always when nothing else) */
static void counts_text(char *buf, size_t cap, const char *const *names, const size_t *v, size_t n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        if (v[i] == 0 && !(i == n - 1 && len == 0))
            continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu %s", len ? ", " : "", v[i], names[i]);
        if (len >= cap)
            return;
    }
}

/* ---- trap hosts ------------------------------------------------------------------------------ */

static int is_file_host(const struct pm_traphost_conf *h, const char *file)
{
    size_t n = strlen(file);
    return strncmp(h->where, file, n) == 0 && h->where[n] == ':';
}

/* The same USM identity on the same transport: the host may stay. */
static int same_identity(const struct pm_traphost_conf *a, const struct pm_traphost_conf *b)
{
    return strcmp(a->transport, b->transport) == 0 && strcmp(a->user, b->user) == 0 &&
           a->auth == b->auth && a->priv == b->priv && a->inform == b->inform &&
           a->engine_id_len == b->engine_id_len &&
           memcmp(a->engine_id, b->engine_id, a->engine_id_len) == 0 &&
           CRYPTO_memcmp(a->cred_digest, b->cred_digest, sizeof(a->cred_digest)) == 0;
}

static int same_tuning(const struct pm_traphost_conf *a, const struct pm_traphost_conf *b)
{
    return a->queue_size == b->queue_size && a->drain_rate == b->drain_rate &&
           a->queue_full == b->queue_full && a->severity == b->severity &&
           a->timeout_s == b->timeout_s && a->retries == b->retries;
}

/* The mirror log's words for a host added, as `pmirrorctl trap-host add` writes them. */
static void log_host_add(const struct pm_traphost_conf *hc)
{
    char what[800];
    conf_traphost_describe(hc, what, sizeof(what));
    pm_mirrorlog_reload(hc->where, what);
}

static void log_host_other(const struct pm_traphost_conf *hc, const char *where, int removed)
{
    char addr[4 * sizeof(hc->address)], what[1200];
    pm_escape(addr, sizeof(addr), hc->address, strnlen(hc->address, sizeof(hc->address)));
    if (removed)
        snprintf(what, sizeof(what), "trap-host remove %s", addr);
    else
        snprintf(what, sizeof(what),
                 "trap-host change %s queueSize %u queueFull %s drainRate %u severity %d "
                 "timeout %u retries %u",
                 addr, hc->queue_size,
                 hc->queue_full == TH_DROP_FIRST_IN ? "dropFirstIn" : "dropLastIn", hc->drain_rate,
                 hc->severity, hc->timeout_s, hc->retries);
    pm_mirrorlog_reload(where, what);
}

enum hk { HK_ADD, HK_SAME, HK_TUNE, HK_REPLACE, HK_CTL };

struct host_plan {
    enum hk kind[PM_MAX_TRAPHOSTS]; /* per host of next */
    size_t added, removed, changed, unchanged, ctl;
};

/* Classifies next's hosts against the live ones and checks the result.
 * 0, or -1 with err (nothing changed yet). */
static int plan_hosts(const struct pm_conf *next, struct host_plan *p, char *err, size_t errlen)
{
    size_t live = notify_host_count(), total = 0, slots = 0;
    memset(p, 0, sizeof(*p));
    if (next->nhosts > PM_MAX_TRAPHOSTS) {
        snprintf(err, errlen, "more than %d trap hosts", PM_MAX_TRAPHOSTS);
        return -1;
    }
    for (size_t j = 0; j < next->nhosts; j++) {
        const struct pm_traphost_conf *n = &next->hosts[j], *o = NULL;
        for (size_t i = 0; i < live && o == NULL; i++) {
            const struct pm_traphost_conf *h = notify_host_conf(i);
            if (strcmp(h->transport, n->transport) == 0)
                o = h;
        }
        if (o == NULL)
            p->kind[j] = HK_ADD;
        else if (!is_file_host(o, ar.path))
            p->kind[j] = HK_CTL; /* pmirrorctl's host at that address stays */
        else if (!same_identity(o, n))
            p->kind[j] = HK_REPLACE;
        else
            p->kind[j] = same_tuning(o, n) ? HK_SAME : HK_TUNE;
    }
    /* The hosts once applied: the run-time ones and the file's. */
    for (size_t i = 0; i < live; i++) {
        const struct pm_traphost_conf *h = notify_host_conf(i);
        if (is_file_host(h, ar.path))
            continue;
        total++;
        slots += h->queue_size;
        for (size_t j = 0; j < next->nhosts; j++) {
            char msg[400];
            if (p->kind[j] != HK_CTL &&
                conf_traphost_conflict(h, &next->hosts[j], msg, sizeof(msg))) {
                snprintf(err, errlen,
                         "%s: trapHost: the same USM user as a trap host added through pmirrorctl, "
                         "with other credentials; use another user name",
                         next->hosts[j].where);
                return -1;
            }
        }
    }
    for (size_t j = 0; j < next->nhosts; j++)
        if (p->kind[j] != HK_CTL) {
            total++;
            slots += next->hosts[j].queue_size;
        }
    if (total > PM_MAX_TRAPHOSTS) {
        snprintf(err, errlen, "%zu trap hosts with those added through pmirrorctl; at most %d",
                 total, PM_MAX_TRAPHOSTS);
        return -1;
    }
    /* Every slot left free may still take a pmirrorctl host of the run-time
     * size (as pm_memlock_needed() counted it): those queues are budgeted too. */
    size_t need = slots + (PM_MAX_TRAPHOSTS - total) * (size_t)PM_RUNTIME_QUEUE_MAX;
    if (need > ar.queue_budget) {
        snprintf(err, errlen,
                 "the trap host queues would hold %zu notifications (with %zu free for hosts "
                 "added through pmirrorctl), more than the %zu locked at the start; restart "
                 "pmirrord for larger queues",
                 slots, need - slots, ar.queue_budget);
        return -1;
    }
    return 0;
}

/* Applies the plan: removals first (a new host may take a removed one's USM
 * user), then changes and additions.  A failure now (out of memory) leaves
 * that host out; it is said in the summary. */
static void apply_hosts(const struct pm_conf *next, struct host_plan *p, struct sum *s)
{
    char err[400];
    size_t failed = 0;
    /* file hosts gone from the file, or replaced */
    for (size_t i = 0; i < notify_host_count();) {
        const struct pm_traphost_conf *h = notify_host_conf(i);
        size_t j = 0;
        while (j < next->nhosts && strcmp(next->hosts[j].transport, h->transport) != 0)
            j++;
        if (!is_file_host(h, ar.path) ||
            (j < next->nhosts && p->kind[j] != HK_REPLACE && p->kind[j] != HK_CTL)) {
            i++;
            continue;
        }
        if (j == next->nhosts)
            p->removed++;
        log_host_other(h, j < next->nhosts ? next->hosts[j].where : ar.path, 1);
        char transport[sizeof(h->transport)];
        snprintf(transport, sizeof(transport), "%s", h->transport);
        (void)notify_reload_remove(transport); /* h is gone now */
    }
    for (size_t j = 0; j < next->nhosts; j++) {
        const struct pm_traphost_conf *n = &next->hosts[j];
        switch (p->kind[j]) {
        case HK_SAME:
        case HK_TUNE:
            /* where follows the line; the queue and the session stay */
            if (notify_reload_retune(n, err, sizeof(err)) < 0) {
                failed++;
                log_warnx("reload", "%s: trapHost not changed: %s", n->where,
                          "the queue refused the new settings");
                break;
            }
            if (p->kind[j] == HK_TUNE) {
                p->changed++;
                log_host_other(n, n->where, 0);
            } else {
                p->unchanged++;
            }
            break;
        case HK_ADD:
        case HK_REPLACE:
            if (notify_reload_add(n, err, sizeof(err)) < 0) {
                failed++;
                log_warnx("reload", "%s: trapHost not added (its session could not be opened)",
                          n->where);
                break;
            }
            if (p->kind[j] == HK_ADD)
                p->added++;
            else
                p->changed++;
            log_host_add(n);
            break;
        case HK_CTL:
            p->ctl++;
            break;
        }
        OPENSSL_cleanse(err, sizeof(err));
    }
    static const char *const names[] = {"added",  "removed",  "changed", "kept from pmirrorctl",
                                        "failed", "unchanged"};
    size_t v[] = {p->added, p->removed, p->changed, p->ctl, failed, p->unchanged};
    char text[200];
    counts_text(text, sizeof(text), names, v, 6);
    if (p->added + p->removed + p->changed + p->ctl + failed > 0 || next->nhosts > 0)
        sum_add(s, "trapHost: %s", text);
}

/* ---- triggers -------------------------------------------------------------------------------- */

static void note_trigger(void *arg, int added, const struct trig_entry *e)
{
    char line[RULE_MAX], esc[4 * RULE_MAX], what[4 * RULE_MAX + 16];
    const char *file = arg;
    if (trig_format(&e->rule, line, sizeof(line)) < 0)
        snprintf(line, sizeof(line), "mirror (a rule)");
    pm_escape_text(esc, sizeof(esc), line, strlen(line));
    snprintf(what, sizeof(what), "%s %s", esc, added ? "added" : "removed");
    pm_mirrorlog_reload(added ? e->where : file, what);
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(esc, sizeof(esc));
    OPENSSL_cleanse(what, sizeof(what));
}

/* ---- the reload ------------------------------------------------------------------------------ */

int agent_reload_apply(struct pm_conf *next, char *summary, size_t slen, char *err, size_t errlen)
{
    struct sum s = {summary, slen, 0};
    struct host_plan *plan = calloc(1, sizeof(*plan));
    struct trig_reload_counts tc;
    int trig_changed = 0;
    size_t max = next->max_triggers != 0 ? next->max_triggers : TRIG_DEFAULT_MAX;

    if (slen > 0)
        summary[0] = '\0';
    if (!ar.up) {
        snprintf(err, errlen, "the agent is not running yet");
        free(plan);
        return -1;
    }
    if (plan == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    /* the file's rules removed at run time and kept so (runtime.conf) stay removed */
    size_t rt_removed = rtconf_reload_filter(next);
    /* 1. everything that may refuse */
    if (plan_hosts(next, plan, err, errlen) < 0)
        goto refuse;
    if (ar.ctx.trig != NULL) {
        if (trig_table_reload(ar.ctx.trig, ar.path, next->triggers, next->ntriggers, max, &tc,
                              &trig_changed, note_trigger, ar.path, err, errlen) < 0) {
            /* maxTriggers is the line to look at */
            goto refuse;
        }
    } else if (next->ntriggers > 0) {
        snprintf(err, errlen, "%s: mirror: no trigger table (no capture process)",
                 next->triggers[0].where);
        goto refuse;
    }

    /* 2. the rest cannot refuse */
    if (ar.ctx.trig != NULL && trig_changed && ar.ctx.push_table != NULL)
        ar.ctx.push_table(ar.ctx.push_arg); /* once */
    apply_hosts(next, plan, &s);
    if (ar.ctx.trig != NULL) {
        static const char *const names[] = {"added", "removed", "kept from pmirrorctl",
                                            "unchanged"};
        size_t v[] = {tc.added, tc.removed, tc.kept_ctl, tc.unchanged};
        char text[200];
        counts_text(text, sizeof(text), names, v, 4);
        if (tc.added + tc.removed + tc.kept_ctl > 0 || next->ntriggers > 0)
            sum_add(&s, "mirror: %s", text);
        if (max != ar.max_triggers) {
            sum_add(&s, "maxTriggers");
            char what[64];
            snprintf(what, sizeof(what), "maxTriggers %zu", max);
            pm_mirrorlog_reload(next->path, what);
        }
    }
    if ((next->trap_enable != 0) != ar.trap_enable) {
        const char *where = next->trap_enable_where[0] ? next->trap_enable_where : next->path;
        mib_trapenable_set(next->trap_enable);
        sum_add(&s, "trapEnable");
        log_info("reload", "%s: juniPacketMirrorTrapEnable set to %s by the configuration", where,
                 next->trap_enable ? "true" : "false");
        pm_mirrorlog_reload(where, next->trap_enable ? "trapEnable true" : "trapEnable false");
        pm_audit_pdu("RELOAD", "juniPacketMirrorTrapEnable.0",
                     next->trap_enable ? "true(1)" : "false(2)", "ok");
    }
    if (next->global_severity != ar.global_severity ||
        memcmp(next->trap_severity, ar.trap_severity, sizeof(ar.trap_severity)) != 0) {
        notify_reload_severity(next->global_severity, next->trap_severity);
        if (next->global_severity != ar.global_severity) {
            char what[64];
            snprintf(what, sizeof(what), "globalTrapSeverity %d", next->global_severity);
            pm_mirrorlog_reload(next->path, what);
            sum_add(&s, "globalTrapSeverity");
        }
        if (memcmp(next->trap_severity, ar.trap_severity, sizeof(ar.trap_severity)) != 0) {
            pm_mirrorlog_reload(next->path, "trapSeverity changed");
            sum_add(&s, "trapSeverity");
        }
    }
    if ((next->secure_log != 0) != ar.secure_log) {
        pm_audit_set_enabled(next->secure_log);
        pm_mirrorlog_reload(next->path,
                            next->secure_log ? "snmp secure-log" : "no snmp secure-log");
        sum_add(&s, "secureLog");
    }
    uint8_t d[32], running_secret[32];
    int secret_kept = 0;
    memcpy(running_secret, ar.secret_digest, sizeof(running_secret));
    secret_digest(next->mirror_secret, d);
    if (memcmp(d, ar.secret_digest, sizeof(d)) != 0) {
        char e[300];
        if (ar.ctx.ctl != NULL &&
            ctl_server_set_secret(ar.ctx.ctl, next->mirror_secret[0] ? next->mirror_secret : NULL,
                                  e, sizeof(e)) < 0) {
            sum_add(&s, "mirrorSecret not applied (%s)", e);
            secret_kept = 1; /* the old one runs: the next reload tries again */
        } else {
            pm_mirrorlog_reload(next->path, next->mirror_secret[0] ? "mirrorSecret changed"
                                                                   : "mirrorSecret removed");
            sum_add(&s, "mirrorSecret");
        }
    }
    /* restart-only: said, not applied (the same words as the capture process's) */
    for (size_t i = 0; i < CONF_RESTART_N; i++) {
        char v[PM_PATH_MAX + 16];
        restart_value(next, i, v, sizeof(v));
        if (strcmp(v, ar.restart_val[i]) != 0)
            sum_add(&s, "%s: %s changes at the next restart",
                    next->restart_where[i][0] ? next->restart_where[i] : next->path,
                    conf_restart_names[i]);
    }
    if (rt_removed > 0)
        sum_add(&s, "%zu mirror rule%s of the file removed at run time stay%s removed (%s)",
                rt_removed, rt_removed == 1 ? "" : "s", rt_removed == 1 ? "s" : "", RTCONF_NAME);
    if (s.len == 0)
        sum_add(&s, "nothing changed");
    rtconf_note_conf(next); /* show mirror running-config */

    /* next is the running configuration now (the restart-only values stay those running) */
    remember(next);
    if (secret_kept)
        memcpy(ar.secret_digest, running_secret, sizeof(running_secret));
    OPENSSL_cleanse(plan, sizeof(*plan));
    free(plan);
    conf_free(next);
    OPENSSL_cleanse(next->mirror_secret, sizeof(next->mirror_secret));
    return 0;
refuse:
    OPENSSL_cleanse(plan, sizeof(*plan));
    free(plan);
    return -1;
}
