/*
 * commands.c - what pmirrorctl can ask of the daemon.
 *
 * Every command that shows or changes intercept data is CTL_F_MIRROR: hidden
 * until the session has entered `mirror-enable` (JUNOSe: mirror commands,
 * options and show output need mirror-enable).  Handlers run on the control
 * thread; the rings lock themselves and the trap statistics are a snapshot
 * published by the agent thread (trapstats.h).
 */
#include "commands.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define CONF_TH_MAX_WORDS 48

#include <openssl/crypto.h>

#include "agent/notify.h"
#include "pmirrord/agent_call.h"
#include "pmirrord/audit.h"
#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/log.h"
#include "pmirrord/pm_codec.h"
#include "pmirrord/slog_ring.h"
#include "pmirrord/trapstats.h"

static struct pm_commands_ctx cmd;

static const char *const severity_names[8] = {"emergency", "alert",  "critical",      "error",
                                              "warning",   "notice", "informational", "debug"};

static void fmt_time(const struct timespec *ts, char *buf, size_t len)
{
    struct tm tm;
    char base[32];
    localtime_r(&ts->tv_sec, &tm);
    strftime(base, sizeof(base), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ld", base, ts->tv_nsec / 1000000);
}

static int visit_row(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    struct ctl_reply *r = arg;
    char seqs[24], when[48];
    snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq);
    fmt_time(ts, when, sizeof(when));
    ctl_reply_row(r, seqs, when, text, (char *)NULL);
    return 0;
}

static void show_ring(struct ctl_reply *r, struct slog_ring *ring, const char *title)
{
    ctl_reply_kv(r, "log", "%s", title);
    ctl_reply_kv_int(r, "entries", (long long)slog_ring_count(ring));
    ctl_reply_kv_int(r, "capacity", (long long)slog_ring_capacity(ring));
    ctl_reply_kv_int(r, "overwritten", (long long)slog_ring_overflows(ring));
    ctl_reply_table(r, "log-entries", "Seq", "Time", "Entry", (char *)NULL);
    slog_ring_foreach(ring, visit_row, r);
}

static int c_show_mirror_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    show_ring(r, cmd.mirror_ring, "mirror log");
    return 0;
}

static int c_clear_mirror_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    slog_ring_clear(cmd.mirror_ring);
    ctl_reply_printf(r, "mirror log cleared\n");
    return 0;
}

static int c_show_secure_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    ctl_reply_kv(r, "secure-log", "%s", pm_audit_enabled() ? "enabled" : "disabled");
    show_ring(r, cmd.audit_ring, "snmp secure-log");
    return 0;
}

static int c_clear_secure_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    slog_ring_clear(cmd.audit_ring);
    ctl_reply_printf(r, "snmp secure-log cleared\n");
    return 0;
}

static int c_secure_log_on(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    pm_audit_set_enabled(1);
    log_info("ctl", "snmp secure-log enabled from the control socket");
    ctl_reply_printf(r, "snmp secure-log enabled\n");
    return 0;
}

static int c_secure_log_off(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    pm_audit_set_enabled(0);
    log_info("ctl", "snmp secure-log disabled from the control socket");
    ctl_reply_printf(r, "snmp secure-log disabled\n");
    return 0;
}

static int c_show_snmp_trap(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    struct pm_trapstats st;
    char num[12][24];
    if (pm_trapstats_get(&st) < 0) {
        ctl_reply_error(r, "no trap statistics yet");
        return -1;
    }
    ctl_reply_kv(r, "Enabled Categories", "PacketMirror");
    ctl_reply_kv(r, "juniPacketMirrorTrapEnable", "%s", st.trap_enable ? "true" : "false");
    ctl_reply_kv(r, "Global Trap Severity Level", "%d - %s", st.global_severity,
                 severity_names[st.global_severity & 7]);
    ctl_reply_kv_int(r, "events", (long long)st.events);
    ctl_reply_kv_int(r, "not sent (trap enable false)", (long long)st.disabled_drops);
    ctl_reply_kv_int(r, "filtered (global severity)", (long long)st.global_filtered);
    ctl_reply_kv_int(r, "malformed events", (long long)st.invalid);
    ctl_reply_kv_int(r, "event queue drops", (long long)st.event_queue_drops);

    ctl_reply_table(r, "severities", "Trap", "Severity", (char *)NULL);
    for (int i = 1; i <= 10; i++) {
        snprintf(num[0], sizeof(num[0]), "%d - %s", st.trap_severity[i],
                 severity_names[st.trap_severity[i] & 7]);
        ctl_reply_row(r, pm_trap_name((enum pm_trap)i), num[0], (char *)NULL);
    }

    ctl_reply_table(r, "hosts", "Address", "Security String", "Ver", "Type", "Trap Categories",
                    (char *)NULL);
    for (size_t i = 0; i < st.nhosts; i++)
        ctl_reply_row(r, st.hosts[i].address, st.hosts[i].user, "v3",
                      st.hosts[i].inform ? "inform" : "trap", "PacketMirror", (char *)NULL);

    ctl_reply_table(r, "queues", "Address", "TrapSeverityFilter", "Maximum QueueSize",
                    "Queue DrainRate", "Queue Full discrd methd", "Timeout", "Retries",
                    (char *)NULL);
    for (size_t i = 0; i < st.nhosts; i++) {
        const struct pm_trapstats_host *h = &st.hosts[i];
        snprintf(num[0], sizeof(num[0]), "%d - %s", h->severity, severity_names[h->severity & 7]);
        snprintf(num[1], sizeof(num[1]), "%u", h->queue_size);
        snprintf(num[2], sizeof(num[2]), "%u", h->drain_rate);
        snprintf(num[3], sizeof(num[3]), "%u", h->timeout_s);
        snprintf(num[4], sizeof(num[4]), "%u", h->retries);
        ctl_reply_row(r, h->address, num[0], num[1], num[2],
                      h->queue_full == TH_DROP_FIRST_IN ? "dropFirstIn" : "dropLastIn", num[3],
                      num[4], (char *)NULL);
    }

    ctl_reply_table(r, "counters", "Address", "Sent", "Filtered", "QueueFullDiscards",
                    "NoResponseDiscards", "BadEncodingDiscards", "Queued", "InFlight",
                    (char *)NULL);
    for (size_t i = 0; i < st.nhosts; i++) {
        const struct pm_trapstats_host *h = &st.hosts[i];
        const uint64_t v[7] = {h->sent,
                               h->filtered,
                               h->queue_full_discards,
                               h->no_response_discards,
                               h->bad_encoding_discards,
                               h->queued,
                               h->inflight};
        for (int k = 0; k < 7; k++)
            snprintf(num[k], sizeof(num[k]), "%llu", (unsigned long long)v[k]);
        ctl_reply_row(r, h->address, num[0], num[1], num[2], num[3], num[4], num[5], num[6],
                      (char *)NULL);
    }
    return 0;
}

/* trap-host add ADDRESS[:PORT] user NAME auth PROTO PASS priv PROTO PASS [options]:
 * the trapHost grammar of the configuration file; applied on the agent thread. */
static int c_trap_host_add(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char *words[CONF_TH_MAX_WORDS + 1], err[400];
    struct pm_traphost_conf hc;
    int rc = -1;

    if (argc < 1 || argc >= CONF_TH_MAX_WORDS) {
        ctl_reply_error(r, "usage: trap-host add ADDRESS[:PORT] user NAME auth PROTO PASSPHRASE "
                           "priv PROTO PASSPHRASE [inform] [options]");
        goto out;
    }
    words[0] = (char *)"trapHost";
    for (int i = 0; i < argc; i++)
        words[i + 1] = argv[i];
    if (conf_parse_traphost(&hc, argc + 1, words, "pmirrorctl", err, sizeof(err)) < 0) {
        ctl_reply_error(r, "%s", err);
        goto out;
    }
    rc = pm_agent_call(notify_add_host, &hc, 5000, err, sizeof(err));
    if (rc < 0)
        ctl_reply_error(r, "%s", err);
    else
        ctl_reply_printf(r, "trap host %s added\n", hc.address);
    OPENSSL_cleanse(&hc, sizeof(hc));
out:
    /* The request's words hold the passphrases. */
    for (int i = 0; i < argc; i++)
        OPENSSL_cleanse(argv[i], strlen(argv[i]));
    return rc;
}

static int c_trap_host_remove(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char err[400];
    if (argc != 1) {
        ctl_reply_error(r, "usage: trap-host remove ADDRESS[:PORT] (as shown by show snmp trap)");
        return -1;
    }
    if (pm_agent_call(notify_remove_host, argv[0], 5000, err, sizeof(err)) < 0) {
        ctl_reply_error(r, "%s", err);
        return -1;
    }
    ctl_reply_printf(r, "trap host %s removed\n", argv[0]);
    return 0;
}

static int c_show_version(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    ctl_reply_kv(r, "version", "pmirrord %s", PM_VERSION);
    return 0;
}

int pm_commands_register(struct ctl_server *s, const struct pm_commands_ctx *ctx, char *err,
                         size_t errlen)
{
    static const struct {
        const char *words;
        unsigned flags;
        const char *help;
        ctl_cmd_fn fn;
    } table[] = {
        {"show version", 0, "Show the daemon's version", c_show_version},
        {"show mirror log", CTL_F_MIRROR, "Show the secure mirror log", c_show_mirror_log},
        {"clear mirror log", CTL_F_MIRROR, "Clear the secure mirror log", c_clear_mirror_log},
        {"show snmp secure-log", CTL_F_MIRROR, "Show the SNMP secure audit log", c_show_secure_log},
        {"clear snmp secure-log", CTL_F_MIRROR, "Clear the SNMP secure audit log",
         c_clear_secure_log},
        {"snmp-server clear secure-log", CTL_F_MIRROR, "Clear the SNMP secure audit log",
         c_clear_secure_log},
        {"snmp secure-log", CTL_F_MIRROR, "Start capturing the SNMP secure audit log",
         c_secure_log_on},
        {"no snmp secure-log", CTL_F_MIRROR, "Stop capturing the SNMP secure audit log",
         c_secure_log_off},
        {"show snmp trap", CTL_F_MIRROR, "Show secure trap hosts, queues and counters",
         c_show_snmp_trap},
        {"trap-host add <address> <user-auth-priv...> [options...]", CTL_F_MIRROR,
         "Add a secure trap host (trapHost syntax)", c_trap_host_add},
        {"trap-host remove <address>", CTL_F_MIRROR, "Remove a secure trap host",
         c_trap_host_remove},
    };
    cmd = *ctx;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (ctl_server_add_command(s, table[i].words, table[i].flags, table[i].help, table[i].fn,
                                   NULL, err, errlen) < 0)
            return -1;
    return 0;
}
