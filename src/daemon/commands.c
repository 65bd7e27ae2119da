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
#include "memlock.h"
#include "rtconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CONF_TH_MAX_WORDS 48

#include <openssl/crypto.h>

#include "agent/notify.h"
#include "pmirrord/agent_call.h"
#include "pmirrord/audit.h"
#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/escape.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_codec.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/slog_ring.h"
#include "pmirrord/trapstats.h"

static struct pm_commands_ctx cmd;

static const char *const severity_names[8] = {"emergency", "alert",  "critical",      "error",
                                              "warning",   "notice", "informational", "debug"};

/*
 * Local time with its UTC offset: 2026-11-27 08:33:12.123+00:00 (RFC 3339 §5.6).
 * A table of log entries formats many times, mostly of the same few seconds:
 * struct when_cache keeps the last second's "date time" and "+hh:mm", so that
 * localtime_r(3) runs once per distinct second, and the digits are written
 * directly instead of through strftime(3) and snprintf(3).
 */
struct when_cache {
    int valid;
    time_t sec;
    char base[32]; /* "YYYY-MM-DD HH:MM:SS" */
    char off[7];   /* "+hh:mm" */
};

static void put_digits(char *p, long v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

static void fmt_time(struct when_cache *wc, const struct timespec *ts, char *buf, size_t len)
{
    if (!wc->valid || wc->sec != ts->tv_sec) {
        struct tm tm;
        char off[8];
        localtime_r(&ts->tv_sec, &tm);
        long year = (long)tm.tm_year + 1900, gm = tm.tm_gmtoff / 60, am = gm < 0 ? -gm : gm;
        if (year >= 0 && year <= 9999) {
            char *b = wc->base;
            put_digits(b, year, 4);
            b[4] = '-';
            put_digits(b + 5, tm.tm_mon + 1, 2);
            b[7] = '-';
            put_digits(b + 8, tm.tm_mday, 2);
            b[10] = ' ';
            put_digits(b + 11, tm.tm_hour, 2);
            b[13] = ':';
            put_digits(b + 14, tm.tm_min, 2);
            b[16] = ':';
            put_digits(b + 17, tm.tm_sec, 2);
            b[19] = '\0';
        } else {
            strftime(wc->base, sizeof(wc->base), "%Y-%m-%d %H:%M:%S", &tm);
        }
        /* strftime's %z: +hhmm of tm_gmtoff in whole minutes; anything else as +0000 */
        if (am / 60 <= 99)
            snprintf(off, sizeof(off), "%c%02ld%02ld", tm.tm_gmtoff < 0 ? '-' : '+', am / 60,
                     am % 60);
        else
            snprintf(off, sizeof(off), "+0000");
        wc->off[0] = off[0];
        wc->off[1] = off[1];
        wc->off[2] = off[2];
        wc->off[3] = ':';
        wc->off[4] = off[3];
        wc->off[5] = off[4];
        wc->off[6] = '\0';
        wc->sec = ts->tv_sec;
        wc->valid = 1;
    }
    int ms = (int)(ts->tv_nsec / 1000000) % 1000;
    size_t bl = strnlen(wc->base, 20);
    if (len < bl + 1 + 3 + 6 + 1) {
        snprintf(buf, len, "%.20s.%03d%s", wc->base, ms, wc->off);
        return;
    }
    memcpy(buf, wc->base, bl);
    buf[bl] = '.';
    put_digits(buf + bl + 1, ms, 3);
    memcpy(buf + bl + 4, wc->off, 7);
}

/* "uid=U gid=G pid=P" of the client whose request this is. */
static void fmt_peer(const struct ctl_reply *r, char *buf, size_t len)
{
    const struct ctl_peer *p = ctl_reply_peer(r);
    snprintf(buf, len, "uid=%ld gid=%ld pid=%ld", (long)p->uid, (long)p->gid, (long)p->pid);
}

/* An operator's change, into the mirror log. */
static void trail(const struct ctl_reply *r, const char *action)
{
    const struct ctl_peer *p = ctl_reply_peer(r);
    pm_mirrorlog_operator(p->uid, p->gid, p->pid, action);
}

/* Clears a ring; its first entry then says who cleared it. */
static void clear_ring(const struct ctl_reply *r, struct slog_ring *ring)
{
    char who[80];
    fmt_peer(r, who, sizeof(who));
    slog_ring_clear(ring);
    slog_ring_appendf(ring, "cleared by %s", who);
}

/*
 * Paging: a reply holds at most LOG_PAGE entries and about LOG_PAGE_BYTES of
 * entry text, so a full ring (SLOG_RING_MAX_CAPACITY entries of up to
 * SLOG_RING_MAX_ENTRY bytes) never exceeds the protocol's 4 MiB reply limit
 * even when JSON escaping multiplies the text by six.
 */
#define LOG_PAGE       1000
#define LOG_PAGE_BYTES (512u * 1024u)

struct page {
    struct ctl_reply *r;
    uint64_t from;   /* first seq wanted */
    size_t max;      /* entries */
    size_t shown;    /* entries added */
    size_t bytes;    /* entry text added */
    uint64_t oldest; /* first seq in the ring, 0 if empty */
    uint64_t newest; /* last seq in the ring, 0 if empty */
    uint64_t last;   /* last seq shown */
    int more;        /* entries after the page exist */
    struct when_cache when;
};

static int visit_row(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    struct page *pg = arg;
    char seqs[24], when[48];
    size_t len = strlen(text);
    if (pg->oldest == 0)
        pg->oldest = seq;
    pg->newest = seq; /* every entry is visited: the newest is known even past the page */
    if (seq < pg->from || pg->more)
        return 0;
    if (pg->shown == pg->max || (pg->shown > 0 && pg->bytes + len > LOG_PAGE_BYTES)) {
        pg->more = 1;
        return 0;
    }
    snprintf(seqs, sizeof(seqs), "%llu", (unsigned long long)seq);
    fmt_time(&pg->when, ts, when, sizeof(when));
    ctl_reply_row(pg->r, seqs, when, text, (char *)NULL);
    pg->shown++;
    pg->bytes += len;
    pg->last = seq;
    return 0;
}

/* For `last N`: the seq and size of the newest max entries. */
struct tail {
    uint64_t *seq;
    size_t *len;
    size_t max, n, head;
};

static int visit_tail(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    struct tail *t = arg;
    t->seq[t->head] = seq;
    t->len[t->head] = strlen(text);
    t->head = (t->head + 1) % t->max;
    t->n += t->n < t->max;
    return 0;
}

/* The first seq of the newest max entries that fit in one page (0: none). */
static uint64_t tail_start(struct slog_ring *ring, size_t max)
{
    struct tail t = {calloc(max, sizeof(uint64_t)), calloc(max, sizeof(size_t)), max, 0, 0};
    uint64_t start = 0;
    if (t.seq != NULL && t.len != NULL) {
        slog_ring_foreach(ring, visit_tail, &t);
        size_t bytes = 0;
        for (size_t k = 0; k < t.n; k++) {
            size_t i = (t.head + t.max - 1 - k) % t.max;
            if (k > 0 && bytes + t.len[i] > LOG_PAGE_BYTES)
                break;
            bytes += t.len[i];
            start = t.seq[i];
        }
    }
    free(t.seq);
    free(t.len);
    return start;
}

/* [last N | from SEQ]: fills *from and *max, or replies with an error. */
static int page_args(struct ctl_reply *r, int argc, char **argv, const char *cmdname,
                     uint64_t *from, size_t *max, int *tail)
{
    char *end;
    *from = 1;
    *max = LOG_PAGE;
    *tail = 1;
    if (argc == 0)
        return 0;
    if (argc == 2 && strcmp(argv[0], "last") == 0) {
        errno = 0;
        unsigned long long n = strtoull(argv[1], &end, 10);
        if (argv[1][0] != '-' && *end == '\0' && end != argv[1] && errno == 0 && n >= 1 &&
            n <= LOG_PAGE) {
            *max = (size_t)n;
            return 0;
        }
    } else if (argc == 2 && strcmp(argv[0], "from") == 0) {
        errno = 0;
        unsigned long long n = strtoull(argv[1], &end, 10);
        if (argv[1][0] != '-' && *end == '\0' && end != argv[1] && errno == 0) {
            *from = n;
            *tail = 0;
            return 0;
        }
    }
    ctl_reply_error(r, "usage: %s [last N | from SEQ] (N: 1-%d entries; SEQ: a sequence number)",
                    cmdname, LOG_PAGE);
    return -1;
}

static int show_ring(struct ctl_reply *r, struct slog_ring *ring, const char *title, int argc,
                     char **argv)
{
    struct page pg = {.r = r};
    int tail;
    char cmdname[40];
    snprintf(cmdname, sizeof(cmdname), "show %s", title);
    if (page_args(r, argc, argv, cmdname, &pg.from, &pg.max, &tail) < 0)
        return -1;
    if (tail)
        pg.from = tail_start(ring, pg.max);
    ctl_reply_kv(r, "log", "%s", title);
    ctl_reply_kv_int(r, "entries", (long long)slog_ring_count(ring));
    ctl_reply_kv_int(r, "capacity", (long long)slog_ring_capacity(ring));
    ctl_reply_kv_int(r, "overwritten", (long long)slog_ring_overflows(ring));
    ctl_reply_table(r, "log_entries", "#seq|Seq", "time|Time", "entry|Entry", (char *)NULL);
    slog_ring_foreach(ring, visit_row, &pg);
    uint64_t next = pg.shown ? pg.last + 1 : (pg.from > pg.oldest ? pg.from : pg.oldest);
    uint64_t overwritten = slog_ring_overflows(ring);
    if (ctl_reply_is_json(r)) {
        ctl_reply_kv_int(r, "oldest_seq", (long long)pg.oldest);
        ctl_reply_kv_int(r, "newest_seq", (long long)pg.newest);
        ctl_reply_kv_int(r, "shown", (long long)pg.shown);
        ctl_reply_kv_bool(r, "more", pg.more, "yes", "no");
        ctl_reply_kv_int(r, "next_seq", (long long)next);
        return 0;
    }
    /* "from SEQ" past the newest entry, or before the oldest one still kept: say so
     * rather than show an empty or shifted table */
    if (!tail && pg.shown == 0 && pg.newest > 0 && pg.from > pg.newest)
        ctl_reply_printf(r, "no entries from %llu: the newest is %llu\n",
                         (unsigned long long)pg.from, (unsigned long long)pg.newest);
    uint64_t lo = pg.from > 0 ? pg.from : 1; /* sequence numbers start at 1 */
    if (!tail && pg.shown > 0 && lo < pg.oldest)
        /* a clear resets the overwrite count but not the sequence numbers */
        ctl_reply_printf(r, "entries %llu-%llu were %s; showing from %llu\n",
                         (unsigned long long)lo, (unsigned long long)pg.oldest - 1,
                         overwritten >= pg.oldest - lo ? "overwritten" : "cleared or overwritten",
                         (unsigned long long)pg.oldest);
    if (pg.shown > 0 && pg.oldest < pg.last + 1 - pg.shown)
        ctl_reply_printf(r, "Older entries: %s from %llu\n", cmdname,
                         (unsigned long long)pg.oldest);
    if (pg.more)
        ctl_reply_printf(r, "More entries: %s from %llu\n", cmdname, (unsigned long long)next);
    return 0;
}

static int c_show_mirror_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    return show_ring(r, cmd.mirror_ring, "mirror log", argc, argv);
}

static int c_clear_mirror_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    clear_ring(r, cmd.mirror_ring); /* the "cleared by" entry is the trail */
    ctl_reply_printf(r, "mirror log cleared\n");
    return 0;
}

static int c_show_secure_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    ctl_reply_kv_bool(r, "secure_log|secure-log", pm_audit_enabled(), "enabled", "disabled");
    return show_ring(r, cmd.audit_ring, "snmp secure-log", argc, argv);
}

static int c_clear_secure_log(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    clear_ring(r, cmd.audit_ring);
    trail(r, "clear snmp secure-log");
    ctl_reply_printf(r, "snmp secure-log cleared\n");
    return 0;
}

static int c_secure_log_on(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    pm_audit_set_enabled(1);
    trail(r, "snmp secure-log");
    log_info("ctl", "snmp secure-log enabled from the control socket");
    ctl_reply_printf(r, "snmp secure-log enabled\n");
    return 0;
}

static int c_secure_log_off(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    pm_audit_set_enabled(0);
    trail(r, "no snmp secure-log");
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
    /* what every receiver's `createUser -e` needs */
    ctl_reply_kv(r, "engine_id|engineID", "%s", st.engine_id);
    ctl_reply_kv(r, "enabled_categories|Enabled Categories", "PacketMirror");
    ctl_reply_kv_bool(r, "trap_enable|juniPacketMirrorTrapEnable", st.trap_enable, "true", "false");
    ctl_reply_kv(r, "#global_severity|Global Trap Severity Level", "%d - %s", st.global_severity,
                 severity_names[st.global_severity & 7]);
    ctl_reply_kv_int(r, "events", (long long)st.events);
    ctl_reply_kv_int(r, "not_sent_trap_disabled|not sent (trap enable false)",
                     (long long)st.disabled_drops);
    ctl_reply_kv_int(r, "filtered_global_severity|filtered (global severity)",
                     (long long)st.global_filtered);
    ctl_reply_kv_int(r, "malformed_events|malformed events", (long long)st.invalid);
    ctl_reply_kv_int(r, "event_queue_drops|event queue drops", (long long)st.event_queue_drops);
    ctl_reply_kv_int(r, "no_memory_drops|dropped (out of memory)", (long long)st.no_memory_drops);

    ctl_reply_table(r, "severities", "trap|Trap", "#severity|Severity", (char *)NULL);
    for (int i = 1; i <= 10; i++) {
        snprintf(num[0], sizeof(num[0]), "%d - %s", st.trap_severity[i],
                 severity_names[st.trap_severity[i] & 7]);
        ctl_reply_row(r, pm_trap_name((enum pm_trap)i), num[0], (char *)NULL);
    }

    ctl_reply_table(r, "hosts", "address|Address", "user|Security String", "version|Ver",
                    "type|Type", "categories|Trap Categories", (char *)NULL);
    for (size_t i = 0; i < st.nhosts; i++)
        ctl_reply_row(r, st.hosts[i].address, st.hosts[i].user, "v3",
                      st.hosts[i].inform ? "inform" : "trap", "PacketMirror", (char *)NULL);

    ctl_reply_table(r, "queues", "address|Address", "#severity_filter|TrapSeverityFilter",
                    "#queue_size|Maximum QueueSize", "#drain_rate|Queue DrainRate",
                    "queue_full|Queue Full discrd methd", "#timeout_s|Timeout", "#retries|Retries",
                    (char *)NULL);
    for (size_t i = 0; i < st.nhosts; i++) {
        const struct pm_trapstats_host *h = &st.hosts[i];
        snprintf(num[0], sizeof(num[0]), "%d - %s", h->severity, severity_names[h->severity & 7]);
        snprintf(num[1], sizeof(num[1]), "%u", h->queue_size);
        snprintf(num[2], sizeof(num[2]), "%u", h->drain_rate);
        /* timeout and retries apply to informs only (a trap is never answered nor
         * resent): "-" in text, null in JSON */
        snprintf(num[3], sizeof(num[3]), h->inform ? "%u" : "-", h->timeout_s);
        snprintf(num[4], sizeof(num[4]), h->inform ? "%u" : "-", h->retries);
        ctl_reply_row(r, h->address, num[0], num[1], num[2],
                      h->queue_full == TH_DROP_FIRST_IN ? "dropFirstIn" : "dropLastIn", num[3],
                      num[4], (char *)NULL);
    }

    ctl_reply_table(r, "counters", "address|Address", "#sent|Sent", "#filtered|Filtered",
                    "#queue_full_discards|QueueFullDiscards",
                    "#no_response_discards|NoResponseDiscards",
                    "#bad_encoding_discards|BadEncodingDiscards", "#send_failed|SendFailed",
                    "#no_memory|NoMemory", "#queued|Queued", "#in_flight|InFlight", (char *)NULL);
    for (size_t i = 0; i < st.nhosts; i++) {
        const struct pm_trapstats_host *h = &st.hosts[i];
        const uint64_t v[9] = {h->sent,
                               h->filtered,
                               h->queue_full_discards,
                               h->no_response_discards,
                               h->bad_encoding_discards,
                               h->send_failed_discards,
                               h->no_memory_discards,
                               h->queued,
                               h->inflight};
        for (int k = 0; k < 9; k++)
            snprintf(num[k], sizeof(num[k]), "%llu", (unsigned long long)v[k]);
        ctl_reply_row(r, h->address, num[0], num[1], num[2], num[3], num[4], num[5], num[6], num[7],
                      num[8], (char *)NULL);
    }
    return 0;
}

/* trap-host add ADDRESS[:PORT] user NAME auth PROTO PASS priv PROTO PASS [options]:
 * the trapHost grammar of the configuration file; applied on the agent thread. */

/* The trail of an added host: what was configured, never the passphrases. */
static void trail_add(const struct ctl_reply *r, const struct pm_traphost_conf *hc)
{
    char what[800];
    conf_traphost_describe(hc, what, sizeof(what));
    trail(r, what);
}

/* Messages of the trapHost parser start with where: cut it, the operator knows. */
static const char *without_where(const char *msg, const char *where)
{
    size_t n = strlen(where);
    return strncmp(msg, where, n) == 0 && strncmp(msg + n, ": ", 2) == 0 ? msg + n + 2 : msg;
}

/*
 * The trail of a refused trap-host request: the address as given and the
 * reason (the trapHost parser never quotes a word that may be a passphrase),
 * both made terminal-safe.
 */
static void trail_refused(const struct ctl_reply *r, const char *verb, const char *address,
                          const char *reason)
{
    char addr[4 * 128], why[4 * 400], what[2400];
    pm_escape(addr, sizeof(addr), address, strnlen(address, 128));
    pm_escape(why, sizeof(why), reason, strnlen(reason, 400));
    snprintf(what, sizeof(what), "trap-host %s%s%s refused: %s", verb, addr[0] ? " " : "", addr,
             why);
    trail(r, what);
}

static int c_trap_host_add(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char *words[CONF_TH_MAX_WORDS + 1], err[400], where[64];
    struct pm_traphost_conf hc;
    int rc = -1;

    /* A later clash with this host names it: "... is already defined at run time by uid N". */
    snprintf(where, sizeof(where), "run time by uid %ld", (long)ctl_reply_peer(r)->uid);

    if (argc < 1 || argc >= CONF_TH_MAX_WORDS) {
        trail_refused(r, "add", argc >= 1 ? argv[0] : "",
                      argc < 1 ? "no address" : "too many words");
        ctl_reply_error(r, "usage: trap-host add ADDRESS[:PORT] user NAME auth PROTO PASSPHRASE "
                           "priv PROTO PASSPHRASE [inform] [options]");
        goto out;
    }
    words[0] = (char *)"trapHost";
    for (int i = 0; i < argc; i++)
        words[i + 1] = argv[i];
    for (int i = 1; i < argc; i++)
        if (strcasecmp(argv[i], "authKey") == 0 || strcasecmp(argv[i], "privKey") == 0) {
            /* Keys are for files (runtime.conf keeps them); an operator gives passphrases. */
            trail_refused(r, "add", argv[0], "authKey/privKey given");
            ctl_reply_error(r, "trap-host add takes passphrases (auth PROTO -, priv PROTO -); "
                               "authKey and privKey belong in the configuration file");
            goto out;
        }
    if (conf_parse_traphost(&hc, argc + 1, words, where, err, sizeof(err)) < 0) {
        trail_refused(r, "add", argv[0], without_where(err, where));
        ctl_reply_error(r, "%s", without_where(err, where));
        goto out;
    }
    if (hc.queue_size > PM_RUNTIME_QUEUE_MAX) {
        /* Locked memory is budgeted at start for run-time hosts of this size. */
        snprintf(err, sizeof(err),
                 "trapHost: queueSize %u is more than a host added at run time may have (%u); "
                 "put this host in the configuration file",
                 hc.queue_size, PM_RUNTIME_QUEUE_MAX);
        trail_refused(r, "add", hc.address, err);
        ctl_reply_error(r, "%s", err);
        OPENSSL_cleanse(&hc, sizeof(hc));
        goto out;
    }
    rc = pm_agent_call(notify_add_host, &hc, 5000, err, sizeof(err));
    if (rc < 0) {
        trail_refused(r, "add", hc.address, without_where(err, where));
        ctl_reply_error(r, "%s", without_where(err, where));
    } else {
        char why[400];
        trail_add(r, &hc);
        ctl_reply_printf(r, "trap host %s added\n", hc.address);
        if (rtconf_host_added(&hc, why, sizeof(why)) < 0)
            ctl_reply_printf(r, "warning: not kept for the next start: %s\n", why);
    }
    OPENSSL_cleanse(&hc, sizeof(hc));
out:
    /* The request's words hold the passphrases. */
    for (int i = 0; i < argc; i++)
        OPENSSL_cleanse(argv[i], strlen(argv[i]));
    return rc;
}

static int c_trap_host_remove(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    char err[400], transport[160] = "", shown[160];
    if (argc != 1) {
        trail_refused(r, "remove", "", "no address");
        ctl_reply_error(r, "usage: trap-host remove ADDRESS[:PORT] (as shown by show snmp trap)");
        return -1;
    }
    /* The normalised form names the host in answers and the trail (127.0.0.1 is
     * 127.0.0.1:162): the transport without its "udp:"/"udp6:" domain. */
    const char *addr = argv[0];
    if (conf_traphost_transport(argv[0], transport, sizeof(transport), err, sizeof(err)) == 0) {
        const char *t = transport;
        if (strncmp(t, "udp:", 4) == 0)
            t += 4;
        else if (strncmp(t, "udp6:", 5) == 0)
            t += 5;
        snprintf(shown, sizeof(shown), "%s", t);
        addr = shown;
    }
    if (pm_agent_call(notify_remove_host, (void *)addr, 5000, err, sizeof(err)) < 0) {
        trail_refused(r, "remove", addr, err);
        ctl_reply_error(r, "%s", err);
        return -1;
    }
    char esc[4 * 160], what[700];
    pm_escape(esc, sizeof(esc), addr, strnlen(addr, 160));
    snprintf(what, sizeof(what), "trap-host remove %s", esc);
    trail(r, what);
    ctl_reply_printf(r, "trap host %s removed\n", addr);
    int from_file = 0;
    if (rtconf_host_removed(transport, &from_file, err, sizeof(err)) < 0)
        ctl_reply_printf(r, "warning: not kept for the next start: %s\n", err);
    return 0;
}

/* ---- show mirror statistics ---------------------------------------------------------------- */

static const char *intake_state_name(enum intake_state st)
{
    switch (st) {
    case INTAKE_IDLE:
        return "idle";
    case INTAKE_RUNNING:
        return "connected";
    case INTAKE_EOF:
        return "closed by the capture process";
    case INTAKE_ERROR:
        return "socket error";
    case INTAKE_STOPPED:
        return "stopped";
    }
    return "?";
}

static long long age_ms(const struct timespec *now, const struct timespec *then)
{
    return (long long)(now->tv_sec - then->tv_sec) * 1000 +
           (now->tv_nsec - then->tv_nsec) / 1000000;
}

static void u64s(char *buf, size_t len, uint64_t v)
{
    snprintf(buf, len, "%llu", (unsigned long long)v);
}

/* Every counter of a STATS record, as sent: names escaped (another process chose them). */
static void stats_rows(struct ctl_reply *r, const char *source, const struct ipc_counter *c,
                       size_t n)
{
    char src[4 * IPC_NAME_MAX + 1], name[4 * IPC_NAME_MAX + 1], val[24];
    pm_escape(src, sizeof(src), source, strnlen(source, IPC_NAME_MAX));
    for (size_t i = 0; i < n; i++) {
        pm_escape(name, sizeof(name), c[i].name, strnlen(c[i].name, IPC_NAME_MAX));
        u64s(val, sizeof(val), c[i].value);
        ctl_reply_row(r, src, name, val, (char *)NULL);
    }
}

/* A counter of a process STATS record by name, or -1. */
static long long proc_counter(const struct pm_mirror_stats *st, int k, const char *name)
{
    if (!st->have_proc[k])
        return -1;
    for (size_t i = 0; i < st->proc[k].ncounters && i < IPC_COUNTER_MAX; i++)
        if (strcmp(st->proc[k].counters[i].name, name) == 0)
            return (long long)st->proc[k].counters[i].value;
    return -1;
}

static void proc_row(struct ctl_reply *r, const struct pm_mirror_stats *st, int k, const char *name,
                     long long pid, long long hb_age)
{
    char v[4][24];
    long long starts = proc_counter(st, k, "starts"), restarts = proc_counter(st, k, "restarts");
    snprintf(v[0], sizeof(v[0]), pid > 0 ? "%lld" : "-", pid);
    snprintf(v[1], sizeof(v[1]), starts >= 0 ? "%lld" : "-", starts);
    snprintf(v[2], sizeof(v[2]), restarts >= 0 ? "%lld" : "-", restarts);
    snprintf(v[3], sizeof(v[3]), hb_age >= 0 ? "%lld" : "-", hb_age);
    ctl_reply_row(r, name, v[0], v[1], v[2], v[3], (char *)NULL);
}

static void path_row(struct ctl_reply *r, const char *path, const struct ipc_chan_stats *c,
                     uint64_t extra_drops, uint64_t extra_rejects)
{
    char v[6][24];
    uint64_t drops = extra_drops, rejects = extra_rejects;
    for (unsigned i = 0; i <= IPC_TYPE_MAX; i++)
        drops += c->tx_full_drops[i];
    for (unsigned i = 0; i < IPC_REJ_NREASONS; i++)
        rejects += c->rx.rejects[i];
    u64s(v[0], sizeof(v[0]), c->backlog_bytes);
    u64s(v[1], sizeof(v[1]), c->backlog_peak);
    u64s(v[2], sizeof(v[2]), c->tx_records);
    u64s(v[3], sizeof(v[3]), drops);
    u64s(v[4], sizeof(v[4]), c->rx.records);
    u64s(v[5], sizeof(v[5]), rejects);
    ctl_reply_row(r, path, v[0], v[1], v[2], v[3], v[4], v[5], (char *)NULL);
}

static int c_show_mirror_statistics(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    unsigned long page;
    if (pm_stats_page_arg(r, argc, argv, &page) < 0)
        return -1;
    if (cmd.mirror_stats == NULL) {
        ctl_reply_error(r, "no capture process: this daemon does not run one");
        return -1;
    }
    struct pm_mirror_stats *st = calloc(1, sizeof(*st)); /* large: not on the thread's stack */
    if (st == NULL || cmd.mirror_stats(st, cmd.mirror_stats_arg) < 0) {
        free(st);
        ctl_reply_error(r, "no mirror statistics yet");
        return -1;
    }
    const struct intake_counts *c = &st->counts;
    const struct pm_mirror_totals *b = &st->before;

    ctl_reply_kv(r, "capture_channel|Capture channel", "%s",
                 st->have_intake ? intake_state_name(st->state) : "none");
    ctl_reply_kv_int(r, "capture_restarts_seen|Capture channels replaced",
                     (long long)st->chan_replacements);
    ctl_reply_kv_int(r, "events|Events received", (long long)(c->events + b->events));
    ctl_reply_kv_int(r, "event_drops|Event drops (queue full)",
                     (long long)(c->event_drops + b->event_drops));
    ctl_reply_kv_int(r, "mirror_log_entries|Mirror-log entries received",
                     (long long)(c->mlogs + b->mlogs));
    ctl_reply_kv_int(r, "unexpected_records|Unexpected records",
                     (long long)(c->unexpected_total + b->unexpected + st->monitor_unexpected));
    ctl_reply_kv_int(r, "trigger_table_generation|Intercept table generation",
                     (long long)st->table_generation);
    ctl_reply_kv_int(r, "trigger_tables_sent|Intercept tables sent", (long long)c->tables_sent);
    ctl_reply_kv_int(r, "trigger_tables_failed|Intercept tables not sent whole",
                     (long long)c->tables_failed);
    ctl_reply_kv_int(r, "trigger_acks|Intercept table acknowledgements",
                     (long long)(c->trigger_acks + b->trigger_acks));
    ctl_reply_kv_int(r, "trigger_ack_generation|Acknowledged generation",
                     (long long)c->ack_generation);
    ctl_reply_kv_int(r, "agentx_requests|AgentX sockets asked of the monitor",
                     (long long)st->priv_requests);
    ctl_reply_kv_int(r, "agentx_refused|AgentX requests failed",
                     (long long)(st->priv_fails + st->priv_timeouts));
    ctl_reply_kv_int(r, "stats_sources_dropped|Statistics of sources not kept",
                     (long long)c->stats_sources_full);
    ctl_reply_kv_int(r, "intercepts_up|Intercept UP records", (long long)c->intercept_ups);
    ctl_reply_kv_int(r, "intercepts_down|Intercept DOWN records", (long long)c->intercept_downs);
    ctl_reply_kv_int(r, "intercepts_dropped|Intercept records not applied",
                     (long long)c->intercept_drops);
    ctl_reply_kv_int(r, "intercepts_restored|Intercepts restored to the capture process",
                     (long long)c->restores_sent);
    if (cmd.intercepts != NULL) {
        struct icpt_counts ic;
        icpt_table_counts(cmd.intercepts, &ic);
        ctl_reply_kv_int(r, "intercepts_held|Intercepts held", (long long)ic.n);
        ctl_reply_kv_int(r, "intercepts_full|Intercepts refused (table full)", (long long)ic.drops);
    }

    /* Every counter the capture process sent, per source, and the monitor's. */
    ctl_reply_table(r, "counters", "source|Source", "counter|Counter", "#value|Value",
                    (char *)NULL);
    size_t n = st->nsources < INTAKE_SOURCES_MAX ? st->nsources : INTAKE_SOURCES_MAX;
    for (size_t i = 0; i < n; i++)
        stats_rows(r, st->sources[i].name, st->sources[i].counters,
                   st->sources[i].ncounters < INTAKE_COUNTERS_MAX ? st->sources[i].ncounters
                                                                  : INTAKE_COUNTERS_MAX);
    for (int k = 0; k < PM_PROC_N; k++)
        if (st->have_proc[k])
            stats_rows(r, st->proc[k].source, st->proc[k].counters,
                       st->proc[k].ncounters < IPC_COUNTER_MAX ? st->proc[k].ncounters
                                                               : IPC_COUNTER_MAX);

    ctl_reply_table(r, "sources", "source|Source", "#updates|Updates", "#age_ms|Updated (ms ago)",
                    (char *)NULL);
    for (size_t i = 0; i < n; i++) {
        char src[4 * IPC_NAME_MAX + 1], v[2][24];
        pm_escape(src, sizeof(src), st->sources[i].name,
                  strnlen(st->sources[i].name, IPC_NAME_MAX));
        u64s(v[0], sizeof(v[0]), st->sources[i].updates);
        snprintf(v[1], sizeof(v[1]), "%lld", age_ms(&st->now, &st->sources[i].updated));
        ctl_reply_row(r, src, v[0], v[1], (char *)NULL);
    }

    ctl_reply_table(r, "processes", "process|Process", "#pid|PID", "#starts|Starts",
                    "#restarts|Restarts", "#heartbeat_age_ms|Heartbeat (ms ago)", (char *)NULL);
    proc_row(r, st, PM_PROC_AGENT, "agent", (long long)st->agent_pid, -1);
    proc_row(r, st, PM_PROC_CAPTURE, "capture", st->peer.hello_seen ? (long long)st->peer.pid : -1,
             st->peer.heartbeat_seen ? age_ms(&st->now, &st->peer.heartbeat_at) : -1);

    ctl_reply_table(r, "paths", "path|Path", "#depth|Depth (bytes)", "#peak|Peak (bytes)",
                    "#sent|Records sent", "#drops|Dropped (full)", "#received|Records received",
                    "#refused|Refused", (char *)NULL);
    {
        /* with what the earlier capture channels counted */
        struct ipc_chan_stats sum = c->chan;
        for (unsigned i = 0; i < IPC_REJ_NREASONS; i++)
            sum.rx.rejects[i] += b->rejects[i];
        sum.rx.records += b->records;
        path_row(r, "agent-capture", &sum, b->tx_full_drops, 0);
    }
    path_row(r, "agent-monitor", &st->chan_a, st->pending_drops, 0);

    ctl_reply_table(r, "refused", "path|Path", "reason|Reason", "#count|Count", (char *)NULL);
    for (unsigned i = 0; i < IPC_REJ_NREASONS; i++) {
        char v[24];
        uint64_t cc = c->chan.rx.rejects[i] + b->rejects[i];
        if (cc > 0) {
            u64s(v, sizeof(v), cc);
            ctl_reply_row(r, "agent-capture", ipc_reject_name((enum ipc_reject)i), v, (char *)NULL);
        }
        if (st->chan_a.rx.rejects[i] > 0) {
            u64s(v, sizeof(v), st->chan_a.rx.rejects[i]);
            ctl_reply_row(r, "agent-monitor", ipc_reject_name((enum ipc_reject)i), v, (char *)NULL);
        }
    }
    OPENSSL_cleanse(st, sizeof(*st));
    free(st);
    pm_stats_rows(r, &cmd, page); /* per intercept and per analyzer */
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
        {"show mirror log [last <n> | from <seq>]", CTL_F_MIRROR,
         "Show the secure mirror log: the newest 1000 entries, the newest N, or 1000 from SEQ on",
         c_show_mirror_log},
        {"clear mirror log", CTL_F_MIRROR, "Clear the secure mirror log", c_clear_mirror_log},
        {"show snmp secure-log [last <n> | from <seq>]", CTL_F_MIRROR,
         "Show the SNMP secure audit log: the newest 1000 entries, the newest N, or 1000 from SEQ "
         "on",
         c_show_secure_log},
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
        {"show mirror statistics [page <n>]", CTL_F_MIRROR,
         "Show the capture sources' counters, the processes and the paths between them, and "
         "per intercept and per analyzer what was mirrored and lost (50 a page)",
         c_show_mirror_statistics},
    };
    cmd = *ctx;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (ctl_server_add_command(s, table[i].words, table[i].flags, table[i].help, table[i].fn,
                                   NULL, err, errlen) < 0)
            return -1;
    if (rtconf_register(s, err, errlen) < 0)
        return -1;
    return pm_trigger_commands_register(s, ctx, err, errlen);
}
