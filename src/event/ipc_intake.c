/*
 * ipc_intake.c - the agent's intake thread for records from the capture
 * process (ipc_intake.h; the records in docs/ipc-protocol.md).
 *
 * The thread owns the channel; everything it learns is kept under one mutex
 * for the accessors.  The escape buffer lives in the (heap) intake, not on
 * the thread's small stack, and is wiped after each use: MLOG text may name
 * intercepted subscribers.
 */
#include "pmirrord/ipc_intake.h"
#include "pmirrord/escape.h"
#include "pmirrord/securemem.h"
#include "pmirrord/thread.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Messages read per wake-up before the stop eventfd is looked at again. */
#define INTAKE_BURST 64
/* RESTORE records queued per round, and per flush within it. */
#define RESTORE_ROUND 256
#define RESTORE_FLUSH 32

#define CAPTURE_PREFIX "capture: "

struct intake {
    struct ipc_chan *ch;
    struct pm_evq *q;
    struct slog_ring *ring;
    int stop_fd, done_fd;
    int push_fd; /* eventfd: a table waits in `table` (intake_push_table) */
    pthread_t thr;
    int started;

    /* the thread's own: a drop episode in progress */
    int in_episode;
    uint64_t episode_drops;
    /* the thread's own: MLOG budget (the capture process must not be able to
     * push the operators' entries out of the mirror log) */
    double mlog_tokens;
    struct timespec mlog_at;
    uint64_t mlog_held; /* suppressed since the last entry written */

    pthread_mutex_t mu; /* guards what follows */
    enum intake_state state;
    struct intake_counts counts;
    struct intake_peer peer;
    size_t nsources;
    struct intake_source *sources[INTAKE_SOURCES_MAX]; /* allocated on first use */
    /* the table handed over by intake_push_table(), not yet sent */
    int table_pending;
    uint64_t table_gen;
    struct ipc_trigger *table;
    size_t table_n;
    uint64_t last_gen_sent; /* the generation of the last table sent */
    int list_pending;
    struct ipc_list_req list_req; /* intake_list_req(), not yet sent */

    /* set before the start */
    struct icpt_table *icpt;
    intake_rec_fn handler;
    void *handler_arg;
    /* the thread's own: the RESTORE walk after the first table */
    int restore_due, restore_active;
    uint64_t restore_after;
    uint64_t restore_last;  /* the newest entry when this channel began: later ones are its own */
    uint64_t restore_total; /* RESTORE records queued on this channel (the mirror-log line) */
    int icpt_full;          /* an episode of UP records the table refused, said once */
    /* the thread's own: the table being sent, paced by the channel's room (a
     * table may be far larger than the backlog: maxTriggers long rules) */
    struct ipc_trigger *tx_table;
    size_t tx_n, tx_next, tx_sent;
    uint64_t tx_gen;
    int tx_active;

    struct ipc_rec txrec; /* the thread's: one TRIGGER_SET being queued */

    /* "capture: " and the escaped text (at most 4 octets per input octet) */
    char esc[sizeof(CAPTURE_PREFIX) + 4 * IPC_MLOG_MAX + 1];
};

static void lock(const struct intake *in)
{
    pthread_mutex_lock((pthread_mutex_t *)&in->mu);
}

static void unlock(const struct intake *in)
{
    pthread_mutex_unlock((pthread_mutex_t *)&in->mu);
}

static void now(struct timespec *ts)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
}

/* An episode of drops ends: one mirror-log entry for all of it. */
static void episode_end(struct intake *in)
{
    if (!in->in_episode)
        return;
    slog_ring_appendf(in->ring, "event path full: %llu dropped",
                      (unsigned long long)in->episode_drops);
    in->in_episode = 0;
    in->episode_drops = 0;
}

static void on_event(struct intake *in, const struct pm_event *ev)
{
    if (pm_evq_push(in->q, ev) == 0) {
        episode_end(in);
        lock(in);
        in->counts.events++;
        unlock(in);
        return;
    }
    lock(in);
    in->counts.event_drops++;
    if (!in->in_episode)
        in->counts.full_episodes++;
    unlock(in);
    in->in_episode = 1;
    in->episode_drops++;
}

/* At most INTAKE_MLOG_BURST entries at once, INTAKE_MLOG_PER_S a second after
 * that; what is over is counted and said in one entry when room is back. */
static int mlog_budget(struct intake *in)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (in->mlog_at.tv_sec == 0 && in->mlog_at.tv_nsec == 0)
        in->mlog_tokens = INTAKE_MLOG_BURST;
    else
        in->mlog_tokens += ((double)(now.tv_sec - in->mlog_at.tv_sec) +
                            (double)(now.tv_nsec - in->mlog_at.tv_nsec) / 1e9) *
                           INTAKE_MLOG_PER_S;
    if (in->mlog_tokens > INTAKE_MLOG_BURST)
        in->mlog_tokens = INTAKE_MLOG_BURST;
    in->mlog_at = now;
    if (in->mlog_tokens < (in->mlog_held > 0 ? 2.0 : 1.0)) {
        in->mlog_held++;
        lock(in);
        in->counts.mlog_suppressed++;
        unlock(in);
        return 0;
    }
    if (in->mlog_held > 0) {
        slog_ring_appendf(in->ring,
                          CAPTURE_PREFIX "%llu entries suppressed (more than %d a second)",
                          (unsigned long long)in->mlog_held, INTAKE_MLOG_PER_S);
        in->mlog_tokens -= 1.0;
        in->mlog_held = 0;
    }
    in->mlog_tokens -= 1.0;
    return 1;
}

static void on_mlog(struct intake *in, const struct ipc_mlog *m)
{
    if (!mlog_budget(in))
        return;
    size_t pre = strlen(CAPTURE_PREFIX);
    memcpy(in->esc, CAPTURE_PREFIX, pre);
    /* the capture process quotes and escapes its values: not escaped twice */
    pm_escape_text(in->esc + pre, sizeof(in->esc) - pre, m->text,
                   strnlen(m->text, sizeof(m->text)));
    slog_ring_append(in->ring, in->esc);
    OPENSSL_cleanse(in->esc, sizeof(in->esc));
    lock(in);
    in->counts.mlogs++;
    unlock(in);
}

static struct intake_source *source_find(struct intake *in, const char *name)
{
    for (size_t i = 0; i < in->nsources; i++)
        if (strcmp(in->sources[i]->name, name) == 0)
            return in->sources[i];
    if (in->nsources == INTAKE_SOURCES_MAX)
        return NULL;
    struct intake_source *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    snprintf(s->name, sizeof(s->name), "%s", name);
    in->sources[in->nsources++] = s;
    return s;
}

/* A STATS record without counters: the source is gone (a reload removed it), its row too. */
static void source_drop(struct intake *in, const char *name)
{
    for (size_t i = 0; i < in->nsources; i++) {
        if (strcmp(in->sources[i]->name, name) != 0)
            continue;
        OPENSSL_cleanse(in->sources[i], sizeof(*in->sources[i]));
        free(in->sources[i]);
        memmove(&in->sources[i], &in->sources[i + 1],
                (in->nsources - i - 1) * sizeof(in->sources[0]));
        in->nsources--;
        return;
    }
}

/* A STATS record is the source's whole set of counters: it replaces the last. */
static void on_stats(struct intake *in, const struct ipc_stats *st)
{
    lock(in);
    if (st->ncounters == 0) {
        source_drop(in, st->source);
        in->counts.stats++;
        unlock(in);
        return;
    }
    struct intake_source *s = source_find(in, st->source);
    if (s == NULL) {
        in->counts.stats_sources_full++;
        unlock(in);
        return;
    }
    size_t n = st->ncounters < INTAKE_COUNTERS_MAX ? st->ncounters : INTAKE_COUNTERS_MAX;
    memcpy(s->counters, st->counters, n * sizeof(s->counters[0]));
    s->ncounters = n;
    in->counts.stats_counters_cut += st->ncounters - n;
    now(&s->updated);
    s->updates++;
    in->counts.stats++;
    unlock(in);
}

/* INTERCEPT UP / DOWN from the capture process; RESTORE is ours to send. */
static void on_intercept(struct intake *in, const struct ipc_rec *rec)
{
    int bad = 0;
    if (in->icpt == NULL || (rec->flags & IPC_F_ICPT_RESTORE))
        bad = -1;
    else if (rec->flags & IPC_F_ICPT_UP) {
        bad = icpt_table_up(in->icpt, &rec->u.intercept.ic) < 0;
        if (bad && !in->icpt_full) /* one mirror-log entry per episode */
            slog_ring_appendf(in->ring, "intercept table full: a RADIUS-provisioned intercept "
                                        "is not kept for a restart of the capture process");
        in->icpt_full = bad;
    } else
        bad = icpt_table_down(in->icpt, &rec->u.intercept.ic) < 0;
    lock(in);
    if (bad < 0) {
        in->counts.unexpected[IPC_INTERCEPT]++;
        in->counts.unexpected_total++;
    } else {
        if (rec->flags & IPC_F_ICPT_UP)
            in->counts.intercept_ups++;
        else
            in->counts.intercept_downs++;
        if (bad)
            in->counts.intercept_drops++;
    }
    unlock(in);
}

static void dispatch(struct ipc_rec *rec, void *arg)
{
    struct intake *in = arg;

    switch (rec->type) {
    case IPC_EVENT:
        on_event(in, &rec->u.event);
        break;
    case IPC_MLOG:
        on_mlog(in, &rec->u.mlog);
        break;
    case IPC_STATS:
        on_stats(in, &rec->u.stats);
        break;
    case IPC_HEARTBEAT:
        lock(in);
        in->peer.heartbeat_seen = 1;
        in->peer.heartbeat_seq = rec->u.heartbeat.seq;
        in->peer.heartbeat_mono_ms = rec->u.heartbeat.mono_ms;
        now(&in->peer.heartbeat_at);
        in->counts.heartbeats++;
        unlock(in);
        break;
    case IPC_HELLO:
        lock(in);
        in->peer.hello_seen = 1;
        in->peer.version = rec->u.hello.version;
        in->peer.role = rec->u.hello.role;
        in->peer.pid = rec->u.hello.pid;
        in->peer.generation = rec->u.hello.generation;
        now(&in->peer.hello_at);
        in->counts.hellos++;
        unlock(in);
        break;
    case IPC_TRIGGER_ACK:
        lock(in);
        in->counts.trigger_acks++;
        in->counts.ack_generation = rec->u.trigger_ack.generation;
        in->counts.ack_entries = rec->u.trigger_ack.entries;
        if (rec->u.trigger_ack.generation != in->last_gen_sent)
            in->counts.trigger_acks_stale++;
        unlock(in);
        break;
    case IPC_INTERCEPT:
        on_intercept(in, rec);
        break;
    case IPC_LIST_PAGE:
        if (in->handler != NULL) {
            lock(in);
            in->counts.list_pages++;
            unlock(in);
            in->handler(rec, in->handler_arg);
            break;
        }
        /* fall through */
    default:
        lock(in);
        if (rec->type <= IPC_TYPE_MAX)
            in->counts.unexpected[rec->type]++;
        in->counts.unexpected_total++;
        unlock(in);
        break;
    }
}

static void chan_stats(struct intake *in)
{
    struct ipc_chan_stats st;
    ipc_chan_get_stats(in->ch, &st);
    lock(in);
    in->counts.chan = st;
    unlock(in);
}

static void finish(struct intake *in, enum intake_state st, int e)
{
    uint64_t one = 1;
    episode_end(in);
    chan_stats(in);
    lock(in);
    in->state = st;
    in->counts.error_errno = e;
    unlock(in);
    if (write(in->done_fd, &one, sizeof(one)) < 0) {
        /* an eventfd write fails only on counter overflow: cannot happen once */
    }
}

static void free_table(struct ipc_trigger *t, size_t n)
{
    if (t == NULL)
        return;
    OPENSSL_cleanse(t, n * sizeof(*t));
    free(t);
}

/* The table being sent is done: ok, or cut short (path full or an invalid
 * entry, counted by the channel). */
static void table_done(struct intake *in, int ok)
{
    free_table(in->tx_table, in->tx_n);
    in->tx_table = NULL;
    in->tx_active = 0;
    if (ok && in->restore_due && in->icpt != NULL) { /* the intercepts follow the table */
        in->restore_due = 0;
        in->restore_active = 1;
        in->restore_after = 0;
    }
    lock(in);
    in->counts.table_records += in->tx_sent;
    if (ok) {
        in->counts.tables_sent++;
        in->counts.table_generation = in->tx_gen;
        in->last_gen_sent = in->tx_gen;
    } else {
        in->counts.tables_failed++;
    }
    unlock(in);
    in->tx_n = in->tx_next = in->tx_sent = 0;
}

/* The next records of the table being sent, as TRIGGER_SET records of its
 * generation: BEGIN on the first, END on the last, or one BEGIN|END|EMPTY
 * record.  Stops while the channel has a backlog (the loop flushes it on
 * POLLOUT and calls again), so a table larger than the backlog goes whole. */
static void table_some(struct intake *in)
{
    char err[160];
    struct ipc_rec *r = &in->txrec;
    size_t n = in->tx_n, total = n > 0 ? n : 1;
    while (in->tx_next < total) {
        size_t i = in->tx_next;
        memset(r, 0, sizeof(*r));
        r->type = IPC_TRIGGER_SET;
        r->u.trigger_set.generation = in->tx_gen;
        if (n == 0)
            r->flags = IPC_F_BEGIN | IPC_F_END | IPC_F_EMPTY;
        else {
            r->flags = (uint16_t)((i == 0 ? IPC_F_BEGIN : 0) | (i + 1 == n ? IPC_F_END : 0));
            r->u.trigger_set.entry = in->tx_table[i];
        }
        int rc = ipc_chan_put(in->ch, r, err, sizeof(err));
        OPENSSL_cleanse(r, sizeof(*r));
        if (rc < 0) {
            (void)ipc_chan_flush(in->ch);
            table_done(in, 0);
            return;
        }
        in->tx_next++;
        in->tx_sent++;
        if (in->tx_sent % RESTORE_FLUSH == 0 && ipc_chan_flush(in->ch) != 0)
            return; /* a backlog (or an error, seen at read): resumed later */
    }
    (void)ipc_chan_flush(in->ch); /* a backlog is sent on POLLOUT; an error shows at read */
    table_done(in, 1);
}

/* A table handed over by intake_push_table() replaces one still being sent
 * (the capture process refuses a BEGIN..BEGIN run and takes the new one). */
static void send_table(struct intake *in)
{
    uint64_t v;
    if (read(in->push_fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: nothing new */
    }
    lock(in);
    if (!in->table_pending) {
        unlock(in);
        return;
    }
    struct ipc_trigger *t = in->table;
    size_t n = in->table_n;
    uint64_t gen = in->table_gen;
    in->table = NULL;
    in->table_n = 0;
    in->table_pending = 0;
    unlock(in);
    if (in->tx_active) { /* cut short by this newer one */
        free_table(in->tx_table, in->tx_n);
        in->tx_table = NULL;
        in->tx_active = 0;
        lock(in);
        in->counts.table_records += in->tx_sent;
        in->counts.tables_replaced++;
        unlock(in);
    }
    in->tx_table = t;
    in->tx_n = n;
    in->tx_gen = gen;
    in->tx_next = in->tx_sent = 0;
    in->tx_active = 1;
    if (!ipc_chan_pending(in->ch))
        table_some(in);
}

/* Up to RESTORE_ROUND intercepts as RESTORE records, stopping while the
 * channel has a backlog (the loop flushes it on POLLOUT and calls again). */
static void restore_some(struct intake *in)
{
    char err[160];
    struct ipc_rec *r = &in->txrec;
    size_t sent = 0;
    int failed = 0;
    for (int i = 0; i < RESTORE_ROUND; i++) {
        memset(r, 0, sizeof(*r));
        uint64_t seq = icpt_table_next(in->icpt, in->restore_after, &r->u.intercept.ic);
        if (seq == 0 || seq > in->restore_last) {
            in->restore_active = 0;
            /* Mirroring of these resumes without a notification: the
             * operator can see that it did, and what (show mirror triggers) */
            if (in->restore_total > 0 && in->ring != NULL)
                slog_ring_appendf(in->ring,
                                  "%llu RADIUS-provisioned intercept(s) handed back to a new "
                                  "capture process; they mirror again without a new "
                                  "notification (show mirror triggers lists them)",
                                  (unsigned long long)in->restore_total);
            break;
        }
        r->type = IPC_INTERCEPT;
        r->flags = IPC_F_ICPT_RESTORE;
        int rc = ipc_chan_put(in->ch, r, err, sizeof(err));
        OPENSSL_cleanse(r, sizeof(*r));
        in->restore_after = seq;
        if (rc < 0) {
            failed = 1;
            in->restore_active = 0;
            break;
        }
        sent++;
        in->restore_total++;
        if (sent % RESTORE_FLUSH == 0 && ipc_chan_flush(in->ch) != 0)
            break; /* a backlog (or an error, seen at read) */
    }
    OPENSSL_cleanse(r, sizeof(*r));
    (void)ipc_chan_flush(in->ch);
    lock(in);
    in->counts.restores_sent += sent;
    in->counts.restores_failed += (uint64_t)failed;
    unlock(in);
}

static void send_list_req(struct intake *in)
{
    char err[160];
    lock(in);
    if (!in->list_pending) {
        unlock(in);
        return;
    }
    struct ipc_rec *r = &in->txrec;
    memset(r, 0, sizeof(*r));
    r->type = IPC_LIST_REQ;
    r->u.list_req = in->list_req;
    in->list_pending = 0;
    OPENSSL_cleanse(&in->list_req, sizeof(in->list_req));
    unlock(in);
    int rc = ipc_chan_put(in->ch, r, err, sizeof(err));
    OPENSSL_cleanse(r, sizeof(*r));
    (void)ipc_chan_flush(in->ch);
    if (rc == 0) {
        lock(in);
        in->counts.list_reqs++;
        unlock(in);
    }
}

static void *intake_main(void *arg)
{
    struct intake *in = arg;
    struct pollfd pfd[3] = {
        {.fd = ipc_chan_fd(in->ch), .events = POLLIN},
        {.fd = in->stop_fd, .events = POLLIN},
        {.fd = in->push_fd, .events = POLLIN},
    };

    for (;;) {
        if (in->tx_active && !ipc_chan_pending(in->ch))
            table_some(in); /* the table first, the intercepts after it */
        else if (in->restore_active && !ipc_chan_pending(in->ch))
            restore_some(in);
        pfd[0].events = (short)(POLLIN | (ipc_chan_pending(in->ch) ? POLLOUT : 0));
        int wait = (in->tx_active || in->restore_active) && !ipc_chan_pending(in->ch) ? 0 : -1;
        if (poll(pfd, 3, wait) < 0) {
            if (errno == EINTR)
                continue;
            finish(in, INTAKE_ERROR, errno);
            return NULL;
        }
        if (pfd[1].revents != 0) {
            finish(in, INTAKE_STOPPED, 0);
            return NULL;
        }
        if (pfd[2].revents != 0) {
            send_table(in);
            send_list_req(in);
        }
        if ((pfd[0].revents & POLLOUT) != 0)
            (void)ipc_chan_flush(in->ch);
        if ((pfd[0].revents & ~POLLOUT) == 0) {
            chan_stats(in);
            continue;
        }
        for (int i = 0; i < INTAKE_BURST; i++) {
            int r = ipc_chan_recv(in->ch, dispatch, in);
            if (r == 1)
                continue;
            if (r == 0) {
                finish(in, INTAKE_EOF, 0);
                return NULL;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                break;
            finish(in, INTAKE_ERROR, errno);
            return NULL;
        }
        pm_stack_scrub(); /* decoded records, escaped mirror-log text (docs/hygiene.md) */
        chan_stats(in);
    }
}

struct intake *intake_new(int fd, struct pm_evq *q, struct slog_ring *mirror_ring, char *err,
                          size_t errlen)
{
    if (q == NULL || mirror_ring == NULL) {
        snprintf(err, errlen, "intake: no event queue or mirror ring");
        return NULL;
    }
    struct intake *in = calloc(1, sizeof(*in));
    if (in == NULL) {
        snprintf(err, errlen, "intake: out of memory");
        return NULL;
    }
    in->q = q;
    in->ring = mirror_ring;
    in->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    in->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    in->push_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (in->stop_fd < 0 || in->done_fd < 0 || in->push_fd < 0) {
        snprintf(err, errlen, "intake: eventfd: %s", strerror(errno));
        goto fail;
    }
    if (pthread_mutex_init(&in->mu, NULL) != 0) {
        snprintf(err, errlen, "intake: mutex");
        goto fail;
    }
    in->ch = ipc_chan_new(fd, 0, NULL, NULL, err, errlen);
    if (in->ch == NULL) {
        pthread_mutex_destroy(&in->mu);
        goto fail;
    }
    in->state = INTAKE_IDLE;
    return in;
fail:
    if (in->stop_fd >= 0)
        close(in->stop_fd);
    if (in->done_fd >= 0)
        close(in->done_fd);
    if (in->push_fd >= 0)
        close(in->push_fd);
    free(in);
    return NULL;
}

int intake_start(struct intake *in, char *err, size_t errlen)
{
    if (in->started) {
        snprintf(err, errlen, "intake: already started");
        return -1;
    }
    lock(in);
    in->state = INTAKE_RUNNING;
    unlock(in);
    int rc = pm_thread_create(&in->thr, intake_main, in);
    if (rc != 0) {
        lock(in);
        in->state = INTAKE_IDLE;
        unlock(in);
        snprintf(err, errlen, "intake: pthread_create: %s", strerror(rc));
        return -1;
    }
    in->started = 1;
    return 0;
}

void intake_free(struct intake *in)
{
    uint64_t one = 1;

    if (in == NULL)
        return;
    if (in->started) {
        if (write(in->stop_fd, &one, sizeof(one)) < 0) {
            /* cannot fail: the counter is written once */
        }
        pthread_join(in->thr, NULL);
    }
    ipc_chan_free(in->ch);
    close(in->stop_fd);
    close(in->done_fd);
    close(in->push_fd);
    free_table(in->table, in->table_n);
    free_table(in->tx_table, in->tx_n); /* one cut short by the end of the thread */
    for (size_t i = 0; i < in->nsources; i++) {
        OPENSSL_cleanse(in->sources[i], sizeof(*in->sources[i]));
        free(in->sources[i]);
    }
    pthread_mutex_destroy(&in->mu);
    OPENSSL_cleanse(in, sizeof(*in));
    free(in);
}

enum intake_state intake_state(const struct intake *in)
{
    lock(in);
    enum intake_state st = in->state;
    unlock(in);
    return st;
}

int intake_done_fd(const struct intake *in)
{
    return in->done_fd;
}

void intake_get_counts(const struct intake *in, struct intake_counts *out)
{
    lock(in);
    *out = in->counts;
    unlock(in);
}

void intake_peer(const struct intake *in, struct intake_peer *out)
{
    lock(in);
    *out = in->peer;
    unlock(in);
}

size_t intake_stats_snapshot(const struct intake *in, struct intake_source *out, size_t max)
{
    lock(in);
    size_t n = in->nsources;
    for (size_t i = 0; i < n && i < max; i++)
        out[i] = *in->sources[i];
    unlock(in);
    return n;
}

int intake_send_hello(struct intake *in, uint64_t generation, char *err, size_t errlen)
{
    struct ipc_rec r;
    if (in->started) {
        snprintf(err, errlen, "intake: HELLO goes before the thread starts");
        return -1;
    }
    memset(&r, 0, sizeof(r));
    r.type = IPC_HELLO;
    r.u.hello.version = IPC_VERSION;
    r.u.hello.role = IPC_ROLE_AGENT;
    r.u.hello.pid = (uint32_t)getpid();
    r.u.hello.generation = generation;
    if (ipc_chan_put(in->ch, &r, err, errlen) < 0)
        return -1;
    if (ipc_chan_flush(in->ch) < 0) {
        snprintf(err, errlen, "intake: sending HELLO: %s", strerror(errno));
        return -1;
    }
    return 0; /* a backlog is sent by the thread (POLLOUT) */
}

void intake_set_intercepts(struct intake *in, struct icpt_table *t)
{
    in->icpt = t;
    in->restore_due = t != NULL;
    in->restore_last = t != NULL ? icpt_table_last_seq(t) : 0;
}

void intake_set_handler(struct intake *in, intake_rec_fn fn, void *arg)
{
    in->handler = fn;
    in->handler_arg = arg;
}

int intake_list_req(struct intake *in, const struct ipc_list_req *req, char *err, size_t errlen)
{
    uint64_t one = 1;
    lock(in);
    if (in->state != INTAKE_RUNNING && in->state != INTAKE_IDLE) {
        unlock(in);
        snprintf(err, errlen, "no capture process is connected");
        return -1;
    }
    in->list_req = *req;
    in->list_pending = 1;
    unlock(in);
    if (write(in->push_fd, &one, sizeof(one)) < 0) {
        /* cannot overflow: the thread reads it at each wake-up */
    }
    return 0;
}

int intake_push_table(struct intake *in, uint64_t generation, const struct ipc_trigger *entries,
                      size_t n, char *err, size_t errlen)
{
    uint64_t one = 1;
    struct ipc_trigger *copy = NULL;
    if (n > 0) {
        copy = calloc(n, sizeof(*copy));
        if (copy == NULL) {
            snprintf(err, errlen, "intake: out of memory for a table of %zu entries", n);
            return -1;
        }
        memcpy(copy, entries, n * sizeof(*copy));
    }
    lock(in);
    if (in->table_pending) {
        free_table(in->table, in->table_n);
        in->counts.tables_replaced++;
    }
    in->table = copy;
    in->table_n = n;
    in->table_gen = generation;
    in->table_pending = 1;
    in->counts.tables_pushed++;
    unlock(in);
    if (write(in->push_fd, &one, sizeof(one)) < 0) {
        /* cannot overflow: the thread reads it at each wake-up */
    }
    return 0;
}
