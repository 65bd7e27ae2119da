/*
 * mirrorlog.c - entries of the secure mirror log (see mirrorlog.h).
 */
#include "pmirrord/mirrorlog.h"
#include "pmirrord/slog_ring.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "pmirrord/escape.h"
#include "pmirrord/pm_codec.h"

static struct slog_ring *ml_ring;

static const char *const trigger_types[] = {
    "interfaceString", "ipAddress",    "nasPortId",      "username",      "callingStationId",
    "acctSessionId",   "dhcpOption82", "agentCircuitId", "agentRemoteId",
};
static const char *const config_sources[] = {"radiusLogin", "radiusCoa", "cliTrigger", "cliStatic"};

void pm_mirrorlog_init(struct slog_ring *ring)
{
    ml_ring = ring;
}

static const char *kind(enum pm_trap t)
{
    switch (t) {
    case PM_TRAP_SESSION_START:
    case PM_TRAP_IFSESS_ACTIVATED:
        return "activation";
    case PM_TRAP_SESSION_END:
    case PM_TRAP_IFSESS_DEACTIVATED:
    case PM_TRAP_INTERFACE_DELETED:
        return "deactivation";
    default:
        return "failure";
    }
}

void pm_mirrorlog_event(const struct pm_event *ev)
{
    char analyzer[INET_ADDRSTRLEN] = "-";
    if (ml_ring == NULL)
        return;
    if (ev->analyzer_ip != 0)
        inet_ntop(AF_INET, &ev->analyzer_ip, analyzer, sizeof(analyzer));
    const char *tt = ev->trigger_type >= 0 && ev->trigger_type <= 8
                         ? trigger_types[ev->trigger_type]
                         : "unknown";
    const char *cs = ev->config_source >= 0 && ev->config_source <= 3
                         ? config_sources[ev->config_source]
                         : "unknown";
    const char *name = pm_trap_name(ev->trap);
    if (ev->trap == PM_TRAP_ANALYZER_UNREACHABLE) {
        /* The notification carries the date, the analyzer and the router ID only: no
         * intercept, so no mirror ID, trigger or configuration source to show (their
         * zero values read as "radiusLogin", "interfaceString"). */
        slog_ring_appendf(ml_ring, "failure %s router-id=%u analyzer=%s", name ? name : "?",
                          ev->router_id, analyzer);
        return;
    }
    char trigger[8 * PM_EV_TRIGGER_MAX + 1], error[8 * PM_EV_ERRSTR_MAX + 1];
    pm_escape(trigger, sizeof(trigger), ev->trigger, strnlen(ev->trigger, sizeof(ev->trigger)));
    pm_escape(error, sizeof(error), ev->error_string,
              strnlen(ev->error_string, sizeof(ev->error_string)));
    slog_ring_appendf(ml_ring,
                      "%s %s mirror-id=%u session-id=%u trigger-type=%s trigger=\"%s\" "
                      "source=%s analyzer=%s%s%s",
                      kind(ev->trap), name ? name : "?", ev->mirror_id, ev->session_id, tt, trigger,
                      cs, analyzer, error[0] ? " error=" : "", error);
    OPENSSL_cleanse(trigger, sizeof(trigger));
    OPENSSL_cleanse(error, sizeof(error));
}

void pm_mirrorlog_refusal(uid_t uid, gid_t gid, pid_t pid, const char *why)
{
    if (ml_ring == NULL)
        return;
    slog_ring_appendf(ml_ring, "control-refused uid=%ld gid=%ld pid=%ld: %s", (long)uid, (long)gid,
                      (long)pid, why);
}

void pm_mirrorlog_operator(uid_t uid, gid_t gid, pid_t pid, const char *action)
{
    if (ml_ring == NULL)
        return;
    slog_ring_appendf(ml_ring, "operator uid=%ld gid=%ld pid=%ld: %s", (long)uid, (long)gid,
                      (long)pid, action);
}

void pm_mirrorlog_reload(const char *where, const char *action)
{
    if (ml_ring == NULL)
        return;
    slog_ring_appendf(ml_ring, "reload %s: %s", where, action);
}
