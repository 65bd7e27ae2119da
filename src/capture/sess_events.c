/*
 * sess_events.c - the notifications the session engine raises: one struct
 * pm_event per event with the values docs/sessions.md lists (the MIB's
 * sizes are cut by the agent), and one mirror-log entry per event with the
 * full values (IPv6 addresses, identities up to 253 octets, escaped).
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "pmirrord/escape.h"
#include "pmirrord/ipc.h"
#include "sess_priv.h"

static const char *const trap_name[PM_TRAP_MAX + 1] = {
    [PM_TRAP_RADIUS_FAILURE] = "RadiusBasedMirroringFailure",
    [PM_TRAP_CLI_FAILURE] = "CliTriggerBasedMirroringFailure",
    [PM_TRAP_INTERFACE_DELETED] = "InterfaceDeleted",
    [PM_TRAP_ANALYZER_UNREACHABLE] = "AnalyzerUnreachable",
    [PM_TRAP_SESSION_START] = "SessionStart",
    [PM_TRAP_SESSION_END] = "SessionEnd",
    [PM_TRAP_IFSESS_ACTIVATED] = "InterfaceSessionActivated",
    [PM_TRAP_IFSESS_DEACTIVATED] = "InterfaceSessionDeactivated",
    [PM_TRAP_SESSION_REJECT] = "SessionReject",
    [PM_TRAP_SESSION_FAILED] = "SessionFailed",
};

static const char *const cs_name[] = {"radiusLogin", "radiusCoa", "cliTrigger", "cliStatic"};

/* An entry is one line of the mirror log, which the capture process hands
 * on whole up to IPC_MLOG_MAX characters (cp_mlog() would cut a longer one
 * anywhere, inside an escape too). */
#define MLOG_MAX  (IPC_MLOG_MAX + 1)
#define TIME_ROOM 40 /* " time=YYYY-MM-DDTHH:MM:SS.uuuuuuZ" is kept room for */

void se_mlogf(struct sess_engine *e, const char *fmt, ...)
{
    char buf[MLOG_MAX];
    va_list ap;
    if (e->out.mlog == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    e->out.mlog(e->out.arg, buf);
    OPENSSL_cleanse(buf, sizeof(buf));
}

/* Appends to b (at *n of cap) when it fits whole; otherwise leaves it out
 * (a field cut inside an escape would leave a backslash that swallows its
 * closing quote). */
static void put(char *b, size_t cap, size_t *n, const char *fmt, ...) PM_PRINTF(4, 5);
static void put(char *b, size_t cap, size_t *n, const char *fmt, ...)
{
    if (*n >= cap - 1)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(b + *n, cap - *n, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= cap - *n)
        b[*n] = '\0';
    else
        *n += (size_t)k;
}

static void put_str(char *b, size_t cap, size_t *n, const char *key, const uint8_t *v, size_t l)
{
    char esc[SIG_STR_MAX * 4 + 1];
    if (l == 0)
        return;
    pm_escape(esc, sizeof(esc), (const char *)v, l);
    put(b, cap, n, " %s=\"%s\"", key, esc);
    OPENSSL_cleanse(esc, sizeof(esc));
}

static void put_view(char *b, size_t cap, size_t *n, const struct se_view *v)
{
    static const char *const key[ST_NFIELDS] = {
        [ST_USER] = "userName",          [ST_CSID] = "callingStationId",
        [ST_ACCT_SID] = "acctSessionId", [ST_NAS_PORT_ID] = "nasPortId",
        [ST_NAS_ID] = "nasIdentifier",   [ST_CIRCUIT] = "agentCircuitId",
        [ST_REMOTE] = "agentRemoteId",   [ST_OPT82] = "dhcpOption82",
    };
    char a[INET6_ADDRSTRLEN];
    if (v == NULL)
        return;
    for (int f = 0; f < ST_NFIELDS; f++)
        put_str(b, cap, n, key[f], v->f[f], v->l[f]);
    if (v->has_ip6 && inet_ntop(AF_INET6, v->ip6, a, sizeof(a)) != NULL)
        put(b, cap, n, " framedIpv6=%s", a);
    for (unsigned i = 0; i < v->np6; i++)
        if (inet_ntop(AF_INET6, v->p6[i].addr, a, sizeof(a)) != NULL)
            put(b, cap, n, " ipv6Prefix=%s/%u", a, (unsigned)v->p6[i].len);
}

static void put_time(char *b, size_t cap, size_t *n, int64_t sec, uint32_t usec)
{
    struct tm tm;
    time_t t = (time_t)sec;
    char ts[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(ts, sizeof(ts), "%lld", (long long)sec);
    put(b, cap, n, " time=%s.%06uZ", ts, (unsigned)usec);
}

static void put_ip4(char *b, size_t cap, size_t *n, const char *key, uint32_t be)
{
    char a[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &be, a, sizeof(a));
    put(b, cap, n, " %s=%s", key, a);
}

static void emit(struct sess_engine *e, const struct pm_event *ev, const char *line)
{
    if (pm_event_raise(ev) == 0)
        e->stats.events_raised++;
    else
        e->stats.events_dropped++;
    if (e->out.mlog != NULL)
        e->out.mlog(e->out.arg, line);
}

static void ev_base(struct pm_event *ev, const struct se_evctx *c)
{
    memset(ev, 0, sizeof(*ev));
    ev->trap = c->trap;
    ev->when.tv_sec = (time_t)c->sec;
    ev->when.tv_nsec = (long)c->usec * 1000L;
    ev->termination_reason = c->trm;
    ev->error_cause = c->ec;
    if (c->es != NULL)
        se_copy(ev->error_string, sizeof(ev->error_string), c->es);
}

/* One notification about one intercept (traps 3 and 5..10). */
void se_raise_icpt(struct sess_engine *e, const struct se_evctx *c, const struct se_icpt *ic)
{
    struct pm_event ev;
    char line[MLOG_MAX];
    char an[80] = "";
    size_t n = 0;

    ev_base(&ev, c);
    ev.config_source = ic->cs;
    ev.trigger_type = ic->tt;
    se_copy(ev.trigger, sizeof(ev.trigger), ic->tr);
    ev.router_id = ic->rid;
    ev.mirror_id = ic->mirror_id;
    ev.session_id = ic->session_id;
    snprintf(ev.policy_name, sizeof(ev.policy_name), "spl_%08x", ic->mirror_id);
    ev.policy_id = ic->mirror_id;
    ev.direction = trig_mib_direction(ic->direction);
    ev.target_ip = c->s != NULL ? c->s->framed_ip : 0;
    if (ic->analyzer.family == 4)
        memcpy(&ev.analyzer_ip, ic->analyzer.addr, 4);

    trig_analyzer_format(&ic->analyzer, an, sizeof(an));
    put(line, sizeof(line), &n, "%s configurationSource=%s triggerType=%s trigger=\"%s\"",
        trap_name[c->trap], cs_name[ic->cs & 3], trig_type_label((enum trig_type)ic->tt), ic->tr);
    put(line, sizeof(line), &n, " routerId=%u mirrorId=%u sessionId=%u policyName=%s policyId=%u",
        ev.router_id, ev.mirror_id, ev.session_id, ev.policy_name, ev.policy_id);
    put(line, sizeof(line), &n, " direction=%s", ev.direction == 0 ? "ingress" : "egress");
    if (ic->direction == TRIG_DIR_BOTH)
        put(line, sizeof(line), &n, "(both)");
    put_ip4(line, sizeof(line), &n, "targetIpAddress", ev.target_ip);
    put(line, sizeof(line), &n, " analyzer=%s", an);
    if (c->trap == PM_TRAP_SESSION_END || c->trap == PM_TRAP_SESSION_FAILED)
        put(line, sizeof(line), &n, " terminationReason=%d", c->trm);
    put_view(line, sizeof(line) - TIME_ROOM, &n, c->view);
    put_time(line, sizeof(line), &n, c->sec, c->usec);
    emit(e, &ev, line);
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(&ev, sizeof(ev));
}

/* Traps 1 and 2 (c->trap says which; c->ec and c->es their cause). */
void se_raise_failure(struct sess_engine *e, const struct se_evctx *c, int cs, int tt,
                      const char *tr, uint32_t rid, uint32_t mid, uint32_t sid, const char *user)
{
    struct pm_event ev;
    char line[MLOG_MAX];
    size_t n = 0;

    ev_base(&ev, c);
    ev.config_source = cs;
    ev.trigger_type = tt;
    se_copy(ev.trigger, sizeof(ev.trigger), tr);
    ev.router_id = rid;
    ev.mirror_id = mid;
    ev.session_id = sid;
    if (user != NULL)
        se_copy(ev.user_name, sizeof(ev.user_name), user);
    snprintf(ev.policy_name, sizeof(ev.policy_name), "spl_%08x", mid);
    ev.policy_id = mid;
    ev.application = 0; /* policyManager */

    put(line, sizeof(line), &n, "%s configurationSource=%s triggerType=%s trigger=\"%s\"",
        trap_name[c->trap], cs_name[cs & 3], trig_type_label((enum trig_type)tt), tr);
    put(line, sizeof(line), &n, " routerId=%u", rid);
    if (c->trap == PM_TRAP_RADIUS_FAILURE)
        put(line, sizeof(line), &n, " userName=\"%s\" mirrorId=%u sessionId=%u",
            user != NULL ? user : "", mid, sid);
    else
        put(line, sizeof(line), &n, " mirrorId=%u policyName=%s policyId=%u", mid, ev.policy_name,
            mid);
    put(line, sizeof(line), &n, " errorCause=%d errorString=\"%s\"", c->ec,
        c->es != NULL ? c->es : "");
    put_view(line, sizeof(line) - TIME_ROOM, &n, c->view);
    put_time(line, sizeof(line), &n, c->sec, c->usec);
    emit(e, &ev, line);
    OPENSSL_cleanse(line, sizeof(line));
    OPENSSL_cleanse(&ev, sizeof(ev));
}
