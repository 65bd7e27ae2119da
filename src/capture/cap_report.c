/*
 * cap_report.c - the capture process's side of chan C, the channel to the
 * agent (docs/process-model.md, "Running"; docs/ipc-protocol.md):
 *   sends EVENT (pm_event_raise() in this process), MLOG, STATS, HEARTBEAT,
 *         TRIGGER_ACK, INTERCEPT UP/DOWN, LIST_PAGE;
 *   takes TRIGGER_SET tables (BEGIN ... END, or one EMPTY record), INTERCEPT
 *         RESTORE, LIST_REQ.
 * Nothing waits: a full path drops and counts; without an agent channel
 * (the agent is being restarted) everything is dropped and counted, but
 * mirror-log lines, which wait in a bounded queue drained at the agent's
 * budget.
 */
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cap_proc_priv.h"
#include "pmirrord/log.h"

/* A burst (a producer call raising thousands, a login storm in a pcap file)
 * does not wait for the loop's flush: what the socket takes now leaves the
 * backlog room. */
static void flush_if_deep(struct cap_proc *p)
{
    if (p->chan_c != NULL && ipc_chan_pending(p->chan_c)) {
        struct ipc_chan_stats cs;
        ipc_chan_get_stats(p->chan_c, &cs);
        if (cs.backlog_bytes >= CP_CHAN_BACKLOG / 4)
            (void)ipc_chan_flush(p->chan_c);
    }
}

int cp_put_c(struct cap_proc *p, const struct ipc_rec *rec)
{
    char err[256];
    if (p->chan_c == NULL) {
        p->nochan_drops++;
        return -1;
    }
    flush_if_deep(p);
    if (ipc_chan_put(p->chan_c, rec, err, sizeof(err)) < 0) {
        if (err[0] != '\0')
            log_warnx(CP_TOKEN, "a %s record not sent: %s", ipc_type_name(rec->type), err);
        return -1;
    }
    return 0;
}

/* ---- the mirror log ------------------------------------------------------------------------ */

int cp_mlog_init(struct cap_proc *p)
{
    p->mlq = calloc(1, CP_MLOG_QUEUE);
    p->ml_tokens = CP_MLOG_BURST;
    return p->mlq != NULL ? 0 : -1;
}

void cp_mlog_free(struct cap_proc *p)
{
    if (p->mlq != NULL) {
        /* identities: what was sent is wiped already, what is left now (the
         * rest of the 8 MiB was never touched: not made resident here) */
        OPENSSL_cleanse(p->mlq + p->mlq_head, p->mlq_len);
        free(p->mlq);
    }
    p->mlq = NULL;
    p->mlq_head = p->mlq_len = 0;
}

static int64_t ml_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Queues one line (n octets, no NUL), or counts it dropped when the queue is full. */
static void mlq_put(struct cap_proc *p, const char *line, size_t n)
{
    if (p->mlq == NULL || n + 1 > CP_MLOG_QUEUE - p->mlq_len) {
        p->mlog_dropped++;
        return;
    }
    if (p->mlq_head + p->mlq_len + n + 1 > CP_MLOG_QUEUE) { /* to the front */
        memmove(p->mlq, p->mlq + p->mlq_head, p->mlq_len);
        /* the old copy's part beyond the new one (what was sent is wiped already) */
        OPENSSL_cleanse(p->mlq + p->mlq_len, p->mlq_head);
        p->mlq_head = 0;
    }
    memcpy(p->mlq + p->mlq_head + p->mlq_len, line, n);
    p->mlq[p->mlq_head + p->mlq_len + n] = '\0';
    p->mlq_len += n + 1;
    p->mlog_lines++;
}

void cp_mlog(struct cap_proc *p, const char *fmt, ...)
{
    static char line[IPC_MLOG_MAX + 1]; /* one thread */
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    /* text: no control characters (the schema refuses them) */
    size_t n = 0;
    for (char *c = line; *c; c++, n++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (n > 0)
        mlq_put(p, line, n);
    OPENSSL_cleanse(line, n);
    cp_mlog_drain(p, 0);
}

/* Sends one entry: as many queued lines as fit, " | " between them.  0 sent,
 * -1 not (no agent channel, or the path is full): the lines stay queued. */
static int mlog_entry(struct cap_proc *p)
{
    static struct ipc_rec rec; /* large; one thread */
    struct timespec ts;
    size_t used = 0, taken = 0;

    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_MLOG;
    clock_gettime(CLOCK_REALTIME, &ts);
    rec.u.mlog.sec = ts.tv_sec;
    rec.u.mlog.nsec = (uint32_t)ts.tv_nsec;
    while (taken < p->mlq_len) {
        const char *l = p->mlq + p->mlq_head + taken;
        size_t n = strlen(l), sep = used > 0 ? 3 : 0;
        if (used + sep + n > IPC_MLOG_MAX) {
            if (used > 0)
                break;
            n = IPC_MLOG_MAX; /* cannot happen: a line is at most IPC_MLOG_MAX */
        }
        memcpy(rec.u.mlog.text + used, " | ", sep);
        memcpy(rec.u.mlog.text + used + sep, l, n);
        used += sep + n;
        taken += strlen(l) + 1;
    }
    rec.u.mlog.text[used] = '\0';
    int rc = p->chan_c != NULL ? cp_put_c(p, &rec) : -1;
    OPENSSL_cleanse(&rec, sizeof(rec));
    if (rc < 0)
        return -1;
    OPENSSL_cleanse(p->mlq + p->mlq_head, taken);
    p->mlq_head += taken;
    p->mlq_len -= taken;
    if (p->mlq_len == 0)
        p->mlq_head = 0;
    p->mlog_entries++;
    return 0;
}

void cp_mlog_drain(struct cap_proc *p, int at_exit)
{
    int64_t now = ml_now_ms();
    if (p->ml_at_ms != 0)
        p->ml_tokens += (double)(now - p->ml_at_ms) * CP_MLOG_PER_S / 1000.0;
    if (p->ml_tokens > CP_MLOG_BURST)
        p->ml_tokens = CP_MLOG_BURST;
    p->ml_at_ms = now;
    if (p->mlog_dropped > p->mlog_dropped_said && p->mlq != NULL) {
        /* said as a line of its own, in order, once there is room again */
        char line[128];
        int n = snprintf(line, sizeof(line),
                         "mirror log: %llu line(s) dropped (more than the capture process "
                         "can hold for the agent)",
                         (unsigned long long)(p->mlog_dropped - p->mlog_dropped_said));
        if ((size_t)n + 1 <= CP_MLOG_QUEUE - p->mlq_len) {
            p->mlog_dropped_said = p->mlog_dropped;
            mlq_put(p, line, (size_t)n);
            p->mlog_lines--; /* not a line of anybody's */
        }
    }
    while (p->mlq_len > 0 && p->ml_tokens >= 1.0 && mlog_entry(p) == 0)
        p->ml_tokens -= 1.0;
    if (at_exit && p->mlq_len > 0) {
        uint64_t left = 0;
        for (size_t i = 0; i < p->mlq_len; i++)
            left += p->mlq[p->mlq_head + i] == '\0';
        log_warnx(CP_TOKEN, "%llu mirror-log line(s) not sent to the agent at exit",
                  (unsigned long long)left);
    }
}

int cp_event_sink(const struct pm_event *ev, void *arg)
{
    struct cap_proc *p = arg;
    struct ipc_rec rec = {.type = IPC_EVENT};
    rec.u.event = *ev;
    int rc = cp_put_c(p, &rec);
    OPENSSL_cleanse(&rec, sizeof(rec));
    if (rc < 0) {
        p->events_dropped++;
        return -1;
    }
    p->events_sent++;
    return 0;
}

void cp_chan_full(enum ipc_full_state st, unsigned type, uint64_t dropped, void *arg)
{
    struct cap_proc *p = arg;
    if (st == IPC_FULL_BEGIN) {
        log_warnx(CP_TOKEN, "the path to the agent is full: records dropped (first: %s)",
                  ipc_type_name(type));
    } else {
        /* written from the loop, not from inside ipc_chan_put() */
        p->full_pending = 1;
        p->full_dropped += dropped;
    }
}

static void counter(struct ipc_stats *s, const char *name, uint64_t v)
{
    if (s->ncounters == IPC_COUNTER_MAX)
        return;
    snprintf(s->counters[s->ncounters].name, sizeof(s->counters[0].name), "%s", name);
    s->counters[s->ncounters].value = v;
    s->ncounters++;
}

static void source_stats(struct cap_proc *p, struct cp_source *s, struct ipc_stats *o)
{
    struct cap_stats st;
    memset(&st, 0, sizeof(st));
    if (s->src != NULL)
        cap_source_stats(s->src, &st);
    else
        st.state = CAP_STATE_EOF; /* a pcap file read by an earlier capture process */
    snprintf(o->source, sizeof(o->source), "%s", s->name);
    counter(o, "packets", st.packets);
    counter(o, "bytes", st.bytes);
    counter(o, "kernel_drops", st.kernel_drops);
    counter(o, "if_drops", st.if_drops);
    counter(o, "ring_drops", st.backlog_drops);
    counter(o, "super_packets", st.super_packets);
    counter(o, "reopens", st.reopens);
    counter(o, "malformed", s->malformed);
    counter(o, "radius", s->radius);
    counter(o, "dhcp", s->dhcp);
    counter(o, "duplicates", s->duplicates);
    counter(o, "last_ts_sec", st.last_ts_sec > 0 ? (uint64_t)st.last_ts_sec : 0);
    counter(o, "offset", st.offset);
    counter(o, "size", st.size);
    counter(o, "state", (uint64_t)st.state);
    counter(o, "excluding", (uint64_t)st.excluding);
    (void)p;
}

static void proc_stats(struct cap_proc *p, struct ipc_stats *o)
{
    struct ipc_chan_stats cs;
    uint64_t full = 0;
    memset(&cs, 0, sizeof(cs));
    if (p->chan_c != NULL)
        ipc_chan_get_stats(p->chan_c, &cs);
    for (unsigned t = 0; t <= IPC_TYPE_MAX; t++)
        full += cs.tx_full_drops[t];
    snprintf(o->source, sizeof(o->source), "capture");
    counter(o, "decoded", p->decoded);
    counter(o, "malformed", p->malformed);
    counter(o, "duplicates", p->duplicates);
    counter(o, "radius", p->radius);
    counter(o, "dhcp", p->dhcp);
    counter(o, "reasm", p->reasm_completed);
    counter(o, "reasm_dropped", p->reasm_dropped);
    counter(o, "chan_tx_drops", full);
    counter(o, "chan_backlog", cs.backlog_bytes);
    counter(o, "chan_backlog_peak", cs.backlog_peak);
    uint64_t rej = 0;
    for (int r = 0; r < IPC_REJ_NREASONS; r++)
        rej += cs.rx.rejects[r];
    counter(o, "chan_rx_rejects", rej);
    counter(o, "nochan_drops", p->nochan_drops);
    counter(o, "chan_replaced", p->chan_c_replaced);
    counter(o, "trigger_tables", p->trig_tables);
    counter(o, "trigger_acks", p->trig_acks);
    counter(o, "trigger_rejects", p->trig_rejects);
    counter(o, "trigger_entries", p->ntrig);
    counter(o, "exclusions_set", p->excl_set);
    counter(o, "exclusions_failed", p->excl_failed);
    counter(o, "events_sent", p->events_sent);
    counter(o, "events_dropped", p->events_dropped);
    counter(o, "unexpected", p->b_unexpected + p->c_unexpected);
    counter(o, "mlog_lines", p->mlog_lines);
    counter(o, "mlog_entries", p->mlog_entries);
    counter(o, "mlog_dropped", p->mlog_dropped);
    counter(o, "mlog_queued", p->mlq_len);
    counter(o, "reloads", p->reloads);
    counter(o, "reload_failed", p->reload_failed);
    counter(o, "reload_same_lines", p->reload_same);
    if (p->test_build)
        counter(o, "sig_digest", p->sig_digest);
}

void cp_send_stats(struct cap_proc *p)
{
    static struct ipc_rec rec; /* 9 KiB; one thread */
    for (size_t i = 0; i < p->nsrc; i++) {
        memset(&rec, 0, sizeof(rec));
        rec.type = IPC_STATS;
        source_stats(p, &p->src[i], &rec.u.stats);
        (void)cp_put_c(p, &rec);
    }
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_STATS;
    proc_stats(p, &rec.u.stats);
    (void)cp_put_c(p, &rec);
    OPENSSL_cleanse(&rec, sizeof(rec));
    cp_sess_stats(p);
}

void cp_send_heartbeat(struct cap_proc *p)
{
    p->hb_seq++;
    if (p->chan_c == NULL)
        p->nochan_drops++;
    else if (ipc_chan_heartbeat(p->chan_c, p->hb_seq) < 0)
        log_debug(CP_TOKEN, "a HEARTBEAT dropped: the path to the agent is full");
}

/* ---- trigger tables ------------------------------------------------------------------------ */

static void trig_wipe(struct ipc_trigger *t, size_t n)
{
    if (t != NULL) {
        OPENSSL_cleanse(t, n * sizeof(*t));
        free(t);
    }
}

static void tnew_drop(struct cap_proc *p)
{
    trig_wipe(p->tnew, p->tnew_cap);
    p->tnew = NULL;
    p->ntnew = p->tnew_cap = 0;
    p->tnew_open = p->tnew_bad = 0;
}

void cp_trig_free(struct cap_proc *p)
{
    tnew_drop(p);
    trig_wipe(p->trig, p->ntrig);
    p->trig = NULL;
    p->ntrig = 0;
}

static void trig_ack(struct cap_proc *p, uint64_t gen, uint32_t entries)
{
    struct ipc_rec rec = {.type = IPC_TRIGGER_ACK};
    rec.u.trigger_ack.generation = gen;
    rec.u.trigger_ack.entries = entries;
    if (cp_put_c(p, &rec) == 0)
        p->trig_acks++;
}

static int tnew_add(struct cap_proc *p, const struct ipc_trigger *t)
{
    if (p->ntnew == CP_TRIG_MAX)
        return -1;
    if (p->ntnew == p->tnew_cap) {
        size_t cap = p->tnew_cap ? p->tnew_cap * 2 : 16;
        struct ipc_trigger *n = calloc(cap, sizeof(*n));
        if (n == NULL)
            return -1;
        if (p->ntnew > 0)
            memcpy(n, p->tnew, p->ntnew * sizeof(*n));
        trig_wipe(p->tnew, p->tnew_cap);
        p->tnew = n;
        p->tnew_cap = cap;
    }
    p->tnew[p->ntnew++] = *t;
    return 0;
}

static void on_trigger_set(struct cap_proc *p, const struct ipc_trigger_set *ts, unsigned flags)
{
    if (flags & IPC_F_BEGIN) {
        if (p->tnew_open) { /* the previous table never ended: refused */
            p->trig_rejects++;
            log_warnx(CP_TOKEN, "a trigger table without its END record: refused");
        }
        tnew_drop(p);
        p->tnew_open = 1;
        p->tnew_gen = ts->generation;
    } else if (!p->tnew_open || ts->generation != p->tnew_gen) {
        p->trig_rejects++;
        log_warnx(CP_TOKEN, "a trigger table record outside BEGIN..END: refused");
        return;
    }
    if (flags & IPC_F_EMPTY) {
        if ((flags & (IPC_F_BEGIN | IPC_F_END)) != (IPC_F_BEGIN | IPC_F_END))
            p->tnew_bad = 1; /* EMPTY is a whole table in one record */
    } else if (!p->tnew_bad && tnew_add(p, &ts->entry) < 0) {
        p->tnew_bad = 1;
    }
    if (!(flags & IPC_F_END))
        return;
    p->trig_tables++;
    if (p->tnew_bad) {
        p->trig_rejects++;
        log_warnx(CP_TOKEN,
                  "a trigger table refused (inconsistent or more than %d entries); "
                  "the previous one stays in force",
                  CP_TRIG_MAX);
        tnew_drop(p);
        return;
    }
    trig_wipe(p->trig, p->ntrig);
    p->trig = p->tnew;
    p->ntrig = p->ntnew;
    /* entries past ntrig are zero (calloc): wiping ntrig of them is enough */
    p->tnew = NULL;
    p->ntnew = p->tnew_cap = 0;
    p->tnew_open = 0;
    p->trig_entries = p->ntrig;
    cp_sess_triggers(p);
    trig_ack(p, p->tnew_gen, (uint32_t)p->ntrig);
}

void cp_on_chan_c(struct ipc_rec *rec, void *arg)
{
    struct cap_proc *p = arg;
    switch (rec->type) {
    case IPC_TRIGGER_SET:
        on_trigger_set(p, &rec->u.trigger_set, rec->flags);
        break;
    case IPC_INTERCEPT:
        if (rec->flags & IPC_F_ICPT_RESTORE)
            cp_sess_restore(p, &rec->u.intercept.ic);
        else
            p->c_unexpected++;
        break;
    case IPC_LIST_REQ:
        cp_sess_list(p, &rec->u.list_req);
        break;
    case IPC_HELLO:
    case IPC_HEARTBEAT:
        break;
    default:
        p->c_unexpected++;
        log_debug(CP_TOKEN, "an unexpected %s record from the agent", ipc_type_name(rec->type));
        break;
    }
}
