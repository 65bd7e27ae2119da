/*
 * test_ipc_intake.c - the agent's intake thread (src/event/ipc_intake.c) on a
 * real ipc_socketpair(): a producer built with ipc_chan sends HELLO, EVENT,
 * MLOG, STATS, HEARTBEAT, a type the agent does not expect and junk; the
 * events come out of the pm_evq field by field, the MLOG text sits escaped in
 * the mirror ring, statistics and peer data are readable, a full queue gives
 * counted drops and one "path full" ring entry per episode, end of file is
 * reported, and intake_free() returns promptly while the thread waits.
 */
#include "pmirrord/ipc_intake.h"
#include "pmirrord/conf.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pause_ms(void)
{
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
}

/* Polls the intake's counters until cond holds (5 s at most). */
#define WAIT_FOR(in, c, cond)                                                                      \
    do {                                                                                           \
        double until_ = mono() + 5.0;                                                              \
        for (;;) {                                                                                 \
            intake_get_counts((in), &(c));                                                         \
            if (cond)                                                                              \
                break;                                                                             \
            CHECK(mono() < until_);                                                                \
            pause_ms();                                                                            \
        }                                                                                          \
    } while (0)

struct fixture {
    struct pm_evq *q;
    struct slog_ring *ring;
    struct ipc_chan *prod;
    struct intake *in;
};

static void setup(struct fixture *f, size_t qcap)
{
    char err[256] = "";
    int sv[2];
    CHECK(ipc_socketpair(sv, 0, err, sizeof(err)) == 0);
    f->q = pm_evq_new(qcap, err, sizeof(err));
    CHECK(f->q != NULL);
    f->ring = slog_ring_new(100, 2048, err, sizeof(err));
    if (f->ring == NULL)
        fprintf(stderr, "slog_ring_new: %s\n", err);
    CHECK(f->ring != NULL);
    f->prod = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    CHECK(f->prod != NULL);
    f->in = intake_new(sv[1], f->q, f->ring, err, sizeof(err));
    CHECK(f->in != NULL);
    CHECK(intake_state(f->in) == INTAKE_IDLE);
    CHECK(intake_start(f->in, err, sizeof(err)) == 0);
    CHECK(intake_state(f->in) == INTAKE_RUNNING);
}

static void teardown(struct fixture *f)
{
    intake_free(f->in);
    if (f->prod != NULL)
        ipc_chan_free(f->prod);
    slog_ring_free(f->ring);
    pm_evq_free(f->q);
}

static void put(struct fixture *f, const struct ipc_rec *r)
{
    char err[256] = "";
    int rc = ipc_chan_put(f->prod, r, err, sizeof(err));
    if (rc != 0)
        fprintf(stderr, "ipc_chan_put: %s\n", err);
    CHECK(rc == 0);
}

static void flush(struct fixture *f)
{
    while (ipc_chan_flush(f->prod) == 1)
        pause_ms();
    CHECK(!ipc_chan_pending(f->prod));
}

static void event_rec(struct ipc_rec *r, uint32_t n)
{
    memset(r, 0, sizeof(*r));
    r->type = IPC_EVENT;
    struct pm_event *e = &r->u.event;
    e->trap = PM_TRAP_SESSION_FAILED;
    e->when.tv_sec = 1700000000 + n;
    e->when.tv_nsec = 123456789;
    e->config_source = 2;
    e->trigger_type = 7;
    snprintf(e->trigger, sizeof(e->trigger), "trigger-%u", n);
    e->router_id = 0x01020304;
    snprintf(e->user_name, sizeof(e->user_name), "user%u@isp", n);
    e->mirror_id = n;
    e->session_id = 0x7fff0000u + n;
    e->error_cause = 9;
    e->application = 0;
    snprintf(e->error_string, sizeof(e->error_string), "error %u", n);
    snprintf(e->policy_name, sizeof(e->policy_name), "pol-%u", n);
    e->policy_id = 4000000000u;
    e->direction = 1;
    e->target_ip = 0x0a000001;
    e->analyzer_ip = 0xc0000202;
    e->termination_reason = 22;
}

static void same_event(const struct pm_event *a, const struct pm_event *b)
{
    CHECK(a->trap == b->trap);
    CHECK(a->when.tv_sec == b->when.tv_sec && a->when.tv_nsec == b->when.tv_nsec);
    CHECK(a->config_source == b->config_source);
    CHECK(a->trigger_type == b->trigger_type);
    CHECK(strcmp(a->trigger, b->trigger) == 0);
    CHECK(a->router_id == b->router_id);
    CHECK(strcmp(a->user_name, b->user_name) == 0);
    CHECK(a->mirror_id == b->mirror_id);
    CHECK(a->session_id == b->session_id);
    CHECK(a->error_cause == b->error_cause);
    CHECK(a->application == b->application);
    CHECK(strcmp(a->error_string, b->error_string) == 0);
    CHECK(strcmp(a->policy_name, b->policy_name) == 0);
    CHECK(a->policy_id == b->policy_id);
    CHECK(a->direction == b->direction);
    CHECK(a->target_ip == b->target_ip);
    CHECK(a->analyzer_ip == b->analyzer_ip);
    CHECK(a->termination_reason == b->termination_reason);
}

#define MAXENT 16
struct ring_copy {
    size_t n;
    char text[MAXENT][2048];
};

static int copy_entry(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    struct ring_copy *c = arg;
    (void)seq;
    (void)ts;
    CHECK(c->n < MAXENT);
    snprintf(c->text[c->n++], sizeof(c->text[0]), "%s", text);
    return 0;
}

static void ring_read(struct fixture *f, struct ring_copy *c)
{
    c->n = 0;
    slog_ring_foreach(f->ring, copy_entry, c);
}

/* A message the producer's encoder would refuse: an MLOG whose text holds ESC. */
static void send_esc_mlog(struct fixture *f)
{
    uint8_t msg[IPC_BATCH_HDR + IPC_REC_HDR + 256];
    struct ipc_rec r;
    char err[256];
    memset(&r, 0, sizeof(r));
    r.type = IPC_MLOG;
    snprintf(r.u.mlog.text, sizeof(r.u.mlog.text), "ESC?[31m");
    ssize_t n =
        ipc_rec_encode(&r, msg + IPC_BATCH_HDR, sizeof(msg) - IPC_BATCH_HDR, err, sizeof(err));
    CHECK(n > 0);
    uint8_t *q = memmem(msg + IPC_BATCH_HDR, (size_t)n, "ESC?", 4);
    CHECK(q != NULL);
    q[3] = 0x1b;
    ipc_batch_header(msg, 1, (uint32_t)(IPC_BATCH_HDR + (size_t)n));
    CHECK(send(ipc_chan_fd(f->prod), msg, IPC_BATCH_HDR + (size_t)n, 0) ==
          (ssize_t)(IPC_BATCH_HDR + (size_t)n));
}

static void test_dispatch(void)
{
    struct fixture f;
    struct ipc_rec r;
    struct intake_counts c;
    struct intake_peer p;

    setup(&f, 64);

    memset(&r, 0, sizeof(r));
    r.type = IPC_HELLO;
    r.u.hello.version = IPC_VERSION;
    r.u.hello.role = IPC_ROLE_CAPTURE;
    r.u.hello.pid = 4242;
    r.u.hello.generation = 7;
    put(&f, &r);
    struct ipc_rec sent[3];
    for (uint32_t i = 0; i < 3; i++) {
        event_rec(&sent[i], 100 + i);
        put(&f, &sent[i]);
    }
    /* U+202E RIGHT-TO-LEFT OVERRIDE, a quote and a backslash */
    memset(&r, 0, sizeof(r));
    r.type = IPC_MLOG;
    r.u.mlog.sec = 1700000000;
    snprintf(r.u.mlog.text, sizeof(r.u.mlog.text),
             "sub \xe2\x80\xae"
             "evil \"q\" a\\b");
    put(&f, &r);
    memset(&r, 0, sizeof(r));
    r.type = IPC_STATS;
    snprintf(r.u.stats.source, sizeof(r.u.stats.source), "eth0");
    r.u.stats.ncounters = 2;
    snprintf(r.u.stats.counters[0].name, sizeof(r.u.stats.counters[0].name), "packets");
    r.u.stats.counters[0].value = 123456789012ull;
    snprintf(r.u.stats.counters[1].name, sizeof(r.u.stats.counters[1].name), "kernel_drops");
    r.u.stats.counters[1].value = 5;
    put(&f, &r);
    CHECK(ipc_chan_heartbeat(f.prod, 99) == 0);
    /* valid, but not for the agent's intake */
    memset(&r, 0, sizeof(r));
    r.type = IPC_LIST_REQ;
    r.u.list_req.request_id = 3;
    snprintf(r.u.list_req.list, sizeof(r.u.list_req.list), "sessions");
    r.u.list_req.max_rows = 1;
    put(&f, &r);
    flush(&f);
    /* junk: not a batch at all, and a record with ESC in its text */
    CHECK(send(ipc_chan_fd(f.prod), "garbage, not PMIP", 17, 0) == 17);
    send_esc_mlog(&f);

    WAIT_FOR(f.in, c, c.chan.rx.rejects[IPC_REJ_TEXT] == 1);
    CHECK(c.events == 3 && c.event_drops == 0 && c.full_episodes == 0);
    CHECK(c.mlogs == 1 && c.stats == 1 && c.heartbeats == 1 && c.hellos == 1);
    CHECK(c.unexpected[IPC_LIST_REQ] == 1 && c.unexpected_total == 1);
    CHECK(c.chan.rx.rejects[IPC_REJ_MAGIC] == 1 || c.chan.rx.rejects[IPC_REJ_SHORT] == 1);
    CHECK(c.chan.rx.records == 8);

    struct pm_event out[8];
    CHECK(pm_evq_pop(f.q, out, 8) == 3);
    for (int i = 0; i < 3; i++)
        same_event(&out[i], &sent[i].u.event);

    struct ring_copy *rc = calloc(1, sizeof(*rc));
    CHECK(rc != NULL);
    ring_read(&f, rc);
    CHECK(rc->n == 1);
    /* the capture process quotes its values itself (pm_escape): '"' and '\\' are
     * kept, bidi and controls escaped (pm_escape_text) */
    CHECK(strcmp(rc->text[0], "capture: sub \\xe2\\x80\\xaeevil \"q\" a\\b") == 0);
    free(rc);

    struct intake_source src[2];
    CHECK(intake_stats_snapshot(f.in, src, 2) == 1);
    CHECK(strcmp(src[0].name, "eth0") == 0 && src[0].ncounters == 2 && src[0].updates == 1);
    CHECK(strcmp(src[0].counters[0].name, "packets") == 0);
    CHECK(src[0].counters[0].value == 123456789012ull);
    CHECK(strcmp(src[0].counters[1].name, "kernel_drops") == 0 && src[0].counters[1].value == 5);
    CHECK(src[0].updated.tv_sec != 0 || src[0].updated.tv_nsec != 0);

    intake_peer(f.in, &p);
    CHECK(p.hello_seen && p.pid == 4242 && p.generation == 7 && p.role == IPC_ROLE_CAPTURE);
    CHECK(p.version == IPC_VERSION);
    CHECK(p.heartbeat_seen && p.heartbeat_seq == 99 && p.heartbeat_mono_ms > 0);
    CHECK(p.heartbeat_at.tv_sec != 0 || p.heartbeat_at.tv_nsec != 0);
    CHECK(intake_state(f.in) == INTAKE_RUNNING);
    teardown(&f);
}

static void stats_rec(struct ipc_rec *r, const char *source, size_t ncounters, uint64_t base)
{
    memset(r, 0, sizeof(*r));
    r->type = IPC_STATS;
    snprintf(r->u.stats.source, sizeof(r->u.stats.source), "%s", source);
    r->u.stats.ncounters = ncounters;
    for (size_t i = 0; i < ncounters; i++) {
        snprintf(r->u.stats.counters[i].name, sizeof(r->u.stats.counters[i].name), "c%zu", i);
        r->u.stats.counters[i].value = base + i;
    }
}

/* The table of sources is bounded; a STATS record replaces its source's counters. */
static void test_stats_bounds(void)
{
    struct fixture f;
    struct ipc_rec r;
    struct intake_counts c;
    char name[32];

    setup(&f, 8);
    for (unsigned i = 0; i < INTAKE_SOURCES_MAX + 1; i++) {
        snprintf(name, sizeof(name), "src%u", i);
        stats_rec(&r, name, 1, i);
        put(&f, &r);
    }
    stats_rec(&r, "src0", INTAKE_COUNTERS_MAX + 8, 1000); /* more counters than kept */
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.stats + c.stats_sources_full == INTAKE_SOURCES_MAX + 2);
    CHECK(c.stats == INTAKE_SOURCES_MAX + 1 && c.stats_sources_full == 1);
    CHECK(c.stats_counters_cut == 8);
    struct intake_source *src = calloc(INTAKE_SOURCES_MAX + 1, sizeof(*src));
    CHECK(src != NULL);
    CHECK(intake_stats_snapshot(f.in, src, INTAKE_SOURCES_MAX + 1) == INTAKE_SOURCES_MAX);
    CHECK(strcmp(src[0].name, "src0") == 0 && src[0].updates == 2);
    CHECK(src[0].ncounters == INTAKE_COUNTERS_MAX);
    CHECK(src[0].counters[0].value == 1000);
    CHECK(src[0].counters[INTAKE_COUNTERS_MAX - 1].value == 1000 + INTAKE_COUNTERS_MAX - 1);
    CHECK(strcmp(src[63].name, "src63") == 0 && src[63].counters[0].value == 63);
    /* a STATS without counters drops its source's row (a reload removed it):
     * room for another; an unknown name is no row */
    stats_rec(&r, "src5", 0, 0);
    put(&f, &r);
    stats_rec(&r, "never-seen", 0, 0);
    put(&f, &r);
    stats_rec(&r, "src64", 1, 64);
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.stats == INTAKE_SOURCES_MAX + 4);
    CHECK(intake_stats_snapshot(f.in, src, INTAKE_SOURCES_MAX + 1) == INTAKE_SOURCES_MAX);
    CHECK(strcmp(src[5].name, "src6") == 0 && strcmp(src[62].name, "src63") == 0);
    CHECK(strcmp(src[63].name, "src64") == 0 && src[63].counters[0].value == 64);
    free(src);
    teardown(&f);
}

/* A flood of mirror-log entries from the capture process: INTAKE_MLOG_BURST
 * written, the rest counted, and summed up in one entry once room is back,
 * so the operators' entries of the ring are not pushed out. */
static int count_entry(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    int *n = arg;
    (void)seq;
    (void)ts;
    if (strstr(text, "entries suppressed (more than 10 a second)") != NULL)
        n[1]++;
    n[0]++;
    return 0;
}

static void test_mlog_flood(void)
{
    struct fixture f;
    struct ipc_rec r;
    struct intake_counts c;
    setup(&f, 8);
    for (int i = 0; i < 3 * INTAKE_MLOG_BURST; i++) {
        memset(&r, 0, sizeof(r));
        r.type = IPC_MLOG;
        snprintf(r.u.mlog.text, sizeof(r.u.mlog.text), "flood %d", i);
        put(&f, &r);
    }
    flush(&f);
    WAIT_FOR(f.in, c, c.mlogs + c.mlog_suppressed == 3 * INTAKE_MLOG_BURST);
    CHECK(c.mlogs <= INTAKE_MLOG_BURST + 2 && c.mlog_suppressed >= 2 * INTAKE_MLOG_BURST - 2);
    int n[2] = {0, 0};
    slog_ring_foreach(f.ring, count_entry, n);
    CHECK(n[0] == (int)c.mlogs && n[1] == 0);
    /* a quarter of a second later there is room for the summary and one more */
    struct timespec ts = {0, 250000000L};
    nanosleep(&ts, NULL); /* the budget is time itself: not a wait for an event */
    memset(&r, 0, sizeof(r));
    r.type = IPC_MLOG;
    snprintf(r.u.mlog.text, sizeof(r.u.mlog.text), "after");
    put(&f, &r);
    flush(&f);
    uint64_t before = c.mlogs;
    WAIT_FOR(f.in, c, c.mlogs == before + 1);
    n[0] = n[1] = 0;
    slog_ring_foreach(f.ring, count_entry, n);
    CHECK(n[1] == 1);
    teardown(&f);
}

/* A full event queue: drops counted, one ring entry per episode, when it ends. */
static void test_path_full(void)
{
    struct fixture f;
    struct ipc_rec r;
    struct intake_counts c;
    struct pm_event out[16];
    struct ring_copy *rc = calloc(1, sizeof(*rc));
    CHECK(rc != NULL);

    setup(&f, 4);
    for (uint32_t i = 0; i < 10; i++) {
        event_rec(&r, i);
        put(&f, &r);
    }
    flush(&f);
    WAIT_FOR(f.in, c, c.events + c.event_drops == 10);
    CHECK(c.events == 4 && c.event_drops == 6 && c.full_episodes == 1);
    CHECK(pm_evq_dropped(f.q) == 6);
    ring_read(&f, rc);
    CHECK(rc->n == 0); /* the episode goes on */
    CHECK(pm_evq_pop(f.q, out, 16) == 4);
    CHECK(out[0].mirror_id == 0 && out[3].mirror_id == 3); /* the oldest are kept */

    event_rec(&r, 10); /* room again: the episode ends */
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.events == 5);
    ring_read(&f, rc);
    CHECK(rc->n == 1 && strcmp(rc->text[0], "event path full: 6 dropped") == 0);

    for (uint32_t i = 11; i < 20; i++) { /* 3 fit, 6 dropped: a second episode */
        event_rec(&r, i);
        put(&f, &r);
    }
    flush(&f);
    WAIT_FOR(f.in, c, c.events + c.event_drops == 20);
    CHECK(c.events == 8 && c.event_drops == 12 && c.full_episodes == 2);
    ring_read(&f, rc);
    CHECK(rc->n == 1);
    intake_free(f.in); /* stopping ends the episode */
    f.in = NULL;
    ring_read(&f, rc);
    CHECK(rc->n == 2 && strcmp(rc->text[1], "event path full: 6 dropped") == 0);
    free(rc);
    teardown(&f);
}

/* The peer closes its end: the thread ends with INTAKE_EOF and says so. */
static void test_eof(void)
{
    struct fixture f;
    struct ipc_rec r;
    struct intake_counts c;

    setup(&f, 8);
    event_rec(&r, 1);
    put(&f, &r);
    flush(&f);
    ipc_chan_free(f.prod);
    f.prod = NULL;
    struct pollfd pfd = {.fd = intake_done_fd(f.in), .events = POLLIN};
    CHECK(poll(&pfd, 1, 5000) == 1);
    CHECK(intake_state(f.in) == INTAKE_EOF);
    intake_get_counts(f.in, &c);
    CHECK(c.events == 1 && c.error_errno == 0);
    teardown(&f);
}

/* Nothing arrives: intake_free() still stops the thread at once. */
static void test_free_blocked(void)
{
    struct fixture f;

    setup(&f, 8);
    struct pollfd pfd = {.fd = intake_done_fd(f.in), .events = POLLIN};
    CHECK(poll(&pfd, 1, 50) == 0); /* the thread waits */
    double t0 = mono();
    intake_free(f.in);
    f.in = NULL;
    CHECK(mono() - t0 < 1.0);
    teardown(&f);
}

/* What the producer side (the capture process) reads back. */
struct table_rx {
    size_t n;
    uint16_t flags[8];
    uint64_t gen[8];
    struct ipc_trigger entry[8];
    size_t other;
    uint64_t hello_gen;
    uint8_t hello_role;
};

static void on_table_rec(struct ipc_rec *r, void *arg)
{
    struct table_rx *t = arg;
    if (r->type != IPC_TRIGGER_SET || t->n == 8) {
        if (r->type == IPC_HELLO && t->other == 0 && t->n == 0) {
            t->hello_gen = r->u.hello.generation;
            t->hello_role = r->u.hello.role;
        }
        t->other++;
        return;
    }
    t->flags[t->n] = r->flags;
    t->gen[t->n] = r->u.trigger_set.generation;
    t->entry[t->n] = r->u.trigger_set.entry;
    t->n++;
}

/* Reads from the producer's end until want records came (5 s at most). */
static void table_read(struct fixture *f, struct table_rx *t, size_t want)
{
    double until = mono() + 5.0;
    while (t->n + t->other < want) {
        struct pollfd pfd = {.fd = ipc_chan_fd(f->prod), .events = POLLIN};
        CHECK(mono() < until);
        if (mono() >= until)
            return;
        if (poll(&pfd, 1, 100) == 1)
            CHECK(ipc_chan_recv(f->prod, on_table_rec, t) == 1);
    }
}

static void trigger_entry(struct ipc_trigger *e, uint32_t mirror_id)
{
    memset(e, 0, sizeof(*e));
    e->config_source = 3;
    e->rule.type = TRIG_INTERFACE;
    snprintf(e->rule.text, sizeof(e->rule.text), "eth%u", mirror_id);
    e->rule.value_len = strlen(e->rule.text);
    memcpy(e->rule.value, e->rule.text, e->rule.value_len);
    e->rule.mirror_id = mirror_id;
    e->rule.analyzer.family = 4;
    memcpy(e->rule.analyzer.addr, "\xc6\x12\x00\x09", 4); /* 198.18.0.9 */
    e->rule.analyzer.port = 4789;
}

/* intake_push_table(): the thread sends the table (an empty one as one
 * BEGIN|END|EMPTY record), acknowledgements are counted, a stale one too. */
static void test_push_table(void)
{
    struct fixture f;
    struct intake_counts c;
    struct ipc_rec r;
    char err[256];
    struct table_rx t;

    setup(&f, 8);
    memset(&t, 0, sizeof(t));
    CHECK(intake_push_table(f.in, 1, NULL, 0, err, sizeof(err)) == 0);
    table_read(&f, &t, 1);
    CHECK(t.n == 1 && t.other == 0);
    CHECK(t.flags[0] == (IPC_F_BEGIN | IPC_F_END | IPC_F_EMPTY) && t.gen[0] == 1);
    WAIT_FOR(f.in, c, c.tables_sent == 1);
    CHECK(c.tables_pushed == 1 && c.table_records == 1 && c.table_generation == 1);
    CHECK(c.trigger_acks == 0);

    memset(&r, 0, sizeof(r));
    r.type = IPC_TRIGGER_ACK;
    r.u.trigger_ack.generation = 1;
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.trigger_acks == 1);
    CHECK(c.ack_generation == 1 && c.ack_entries == 0 && c.trigger_acks_stale == 0);
    CHECK(c.unexpected_total == 0);

    struct ipc_trigger tab[3];
    for (uint32_t i = 0; i < 3; i++)
        trigger_entry(&tab[i], 10 + i);
    memset(&t, 0, sizeof(t));
    CHECK(intake_push_table(f.in, 2, tab, 3, err, sizeof(err)) == 0);
    memset(tab, 0, sizeof(tab)); /* copied: the caller's array is free again */
    table_read(&f, &t, 3);
    CHECK(t.n == 3);
    CHECK(t.flags[0] == IPC_F_BEGIN && t.flags[1] == 0 && t.flags[2] == IPC_F_END);
    for (uint32_t i = 0; i < 3; i++) {
        CHECK(t.gen[i] == 2 && t.entry[i].rule.mirror_id == 10 + i);
        CHECK(t.entry[i].rule.analyzer.family == 4 && t.entry[i].rule.analyzer.port == 4789);
        CHECK(memcmp(t.entry[i].rule.analyzer.addr, "\xc6\x12\x00\x09", 4) == 0);
    }
    WAIT_FOR(f.in, c, c.tables_sent == 2);
    CHECK(c.table_records == 4 && c.table_generation == 2);

    /* an answer to the old table is counted as stale */
    put(&f, &r);
    r.u.trigger_ack.generation = 2;
    r.u.trigger_ack.entries = 3;
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.trigger_acks == 3);
    CHECK(c.trigger_acks_stale == 1 && c.ack_generation == 2 && c.ack_entries == 3);
    teardown(&f);
}

/* A table pushed before the thread starts is sent when it does. */
static void test_push_before_start(void)
{
    char err[256] = "";
    int sv[2];
    struct fixture f;
    struct table_rx t;
    memset(&t, 0, sizeof(t));
    CHECK(ipc_socketpair(sv, 0, err, sizeof(err)) == 0);
    f.q = pm_evq_new(8, err, sizeof(err));
    f.ring = slog_ring_new(100, 2048, err, sizeof(err));
    f.prod = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    f.in = intake_new(sv[1], f.q, f.ring, err, sizeof(err));
    CHECK(f.q != NULL && f.ring != NULL && f.prod != NULL && f.in != NULL);
    CHECK(intake_send_hello(f.in, 5, err, sizeof(err)) == 0);
    CHECK(intake_push_table(f.in, 7, NULL, 0, err, sizeof(err)) == 0);
    CHECK(intake_push_table(f.in, 8, NULL, 0, err, sizeof(err)) == 0); /* replaces 7 */
    CHECK(intake_start(f.in, err, sizeof(err)) == 0);
    table_read(&f, &t, 2);
    CHECK(t.other == 1 && t.hello_gen == 5 && t.hello_role == IPC_ROLE_AGENT); /* HELLO first */
    CHECK(t.n == 1 && t.gen[0] == 8);
    CHECK(intake_send_hello(f.in, 5, err, sizeof(err)) == -1); /* the thread writes now */
    struct intake_counts c;
    WAIT_FOR(f.in, c, c.tables_sent == 1);
    CHECK(c.tables_pushed == 2 && c.tables_replaced == 1);
    teardown(&f);
}

/* ---- intercepts and listings ---------------------------------------------------------- */

static void icpt_rec(struct ipc_rec *r, unsigned flags, uint32_t mirror_id, const char *user)
{
    memset(r, 0, sizeof(*r));
    r->type = IPC_INTERCEPT;
    r->flags = (uint16_t)flags;
    struct pm_intercept *ic = &r->u.intercept.ic;
    ic->mirror_id = mirror_id;
    ic->session_id = 100 + mirror_id;
    ic->analyzer.family = 4;
    memcpy(ic->analyzer.addr, "\x7f\0\0\x09", 4);
    ic->analyzer.port = 30030;
    ic->direction = TRIG_DIR_BOTH;
    ic->trigger_type = 3;
    snprintf(ic->trigger, sizeof(ic->trigger), "%s", user);
    ic->id.user.len = (uint8_t)strlen(user);
    memcpy(ic->id.user.v, user, ic->id.user.len);
    ic->id.user.v[0] = 0; /* an identity may begin with NUL */
    ic->since_sec = 1700000000;
}

struct rx_all {
    size_t n, restores, tables;
    uint32_t mirror[1100];
    uint16_t flags[1100];
    uint32_t list_id;
    char filter[IPC_FILTER_MAX + 1];
    size_t lists;
};

static void on_rx_all(struct ipc_rec *r, void *arg)
{
    struct rx_all *x = arg;
    if (r->type == IPC_TRIGGER_SET)
        x->tables++;
    if (r->type == IPC_INTERCEPT && x->restores < 1100) {
        x->mirror[x->restores] = r->u.intercept.ic.mirror_id;
        x->flags[x->restores] = r->flags;
        x->restores++;
    }
    if (r->type == IPC_LIST_REQ) {
        x->lists++;
        x->list_id = r->u.list_req.request_id;
        snprintf(x->filter, sizeof(x->filter), "%s", r->u.list_req.filter);
    }
    x->n++;
}

/* Reads until cond holds (5 s at most). */
#define RX_UNTIL(f, x, cond)                                                                       \
    do {                                                                                           \
        double until_ = mono() + 5.0;                                                              \
        while (!(cond)) {                                                                          \
            struct pollfd pfd_ = {.fd = ipc_chan_fd((f)->prod), .events = POLLIN};                 \
            CHECK(mono() < until_);                                                                \
            if (poll(&pfd_, 1, 100) == 1)                                                          \
                CHECK(ipc_chan_recv((f)->prod, on_rx_all, (x)) == 1);                              \
        }                                                                                          \
    } while (0)

static size_t pages_seen;
static char page_row[64];

static void on_page(const struct ipc_rec *r, void *arg)
{
    CHECK(r->type == IPC_LIST_PAGE && arg == &pages_seen);
    if (r->u.list_page.nrows > 0)
        snprintf(page_row, sizeof(page_row), "%.*s", (int)r->u.list_page.rows[0].len,
                 r->u.list_page.rows[0].s);
    pages_seen++;
}

struct ring_count {
    const char *text;
    int n;
};

static int ring_count_visit(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    struct ring_count *rc = arg;
    if (strstr(text, rc->text) != NULL)
        rc->n++;
    return 0;
}

/* How many entries of the ring hold text. */
static int ring_has(struct slog_ring *ring, const char *text)
{
    struct ring_count rc = {text, 0};
    slog_ring_foreach(ring, ring_count_visit, &rc);
    return rc.n;
}

static void setup_icpt(struct fixture *f, struct icpt_table *t)
{
    char err[256] = "";
    int sv[2];
    CHECK(ipc_socketpair(sv, 0, err, sizeof(err)) == 0);
    f->q = pm_evq_new(8, err, sizeof(err));
    f->ring = slog_ring_new(100, 2048, err, sizeof(err));
    f->prod = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    f->in = intake_new(sv[1], f->q, f->ring, err, sizeof(err));
    CHECK(f->q != NULL && f->ring != NULL && f->prod != NULL && f->in != NULL);
    intake_set_intercepts(f->in, t);
    intake_set_handler(f->in, on_page, &pages_seen);
}

/* UP/DOWN keep the table; a new intake sends it back as RESTORE after the
 * trigger table, once; LIST_REQ goes out, LIST_PAGE comes to the handler. */
static void test_intercepts(void)
{
    struct fixture f;
    struct intake_counts c;
    struct icpt_counts ic;
    struct ipc_rec r;
    char err[256];
    struct icpt_table *t = icpt_table_new(3, 0);
    CHECK(t != NULL);

    setup_icpt(&f, t);
    CHECK(intake_start(f.in, err, sizeof(err)) == 0);
    icpt_rec(&r, IPC_F_ICPT_UP, 1, "alice");
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_UP, 2, "bob");
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_UP, 1, "alice"); /* the same: replaced */
    r.u.intercept.ic.session_id = 77;
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_DOWN, 3, "carol"); /* not held */
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_UP, 3, "carol");
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_UP, 4, "dave"); /* full */
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_DOWN, 2, "bob");
    put(&f, &r);
    icpt_rec(&r, IPC_F_ICPT_RESTORE, 9, "eve"); /* not the capture process's to send */
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.intercept_ups + c.intercept_downs + c.unexpected_total >= 8);
    CHECK(c.intercept_ups == 5 && c.intercept_downs == 2 && c.intercept_drops == 2);
    CHECK(c.unexpected[IPC_INTERCEPT] == 1);
    CHECK(ring_has(f.ring, "intercept table full") == 1);
    icpt_table_counts(t, &ic);
    CHECK(ic.n == 2 && ic.ups == 4 && ic.replaced == 1 && ic.downs == 1 && ic.unknown == 1);
    CHECK(ic.drops == 1 && ic.bytes > 0);
    struct pm_intercept got;
    uint64_t s1 = icpt_table_next(t, 0, &got);
    CHECK(s1 > 0 && got.mirror_id == 1 && got.session_id == 77 && got.id.user.len == 5);
    CHECK(got.id.user.v[0] == 0 && memcmp(got.id.user.v + 1, "lice", 4) == 0);
    uint64_t s2 = icpt_table_next(t, s1, &got);
    CHECK(s2 > s1 && got.mirror_id == 3 && icpt_table_next(t, s2, &got) == 0);
    teardown(&f);

    /* a new capture channel: the table, then the intercepts, once */
    struct rx_all x;
    memset(&x, 0, sizeof(x));
    setup_icpt(&f, t);
    CHECK(intake_push_table(f.in, 5, NULL, 0, err, sizeof(err)) == 0);
    CHECK(intake_start(f.in, err, sizeof(err)) == 0);
    RX_UNTIL(&f, &x, x.restores == 2);
    CHECK(x.tables == 1 && x.n == 3); /* TRIGGER_SET first, then two RESTOREs */
    CHECK(x.mirror[0] == 1 && x.mirror[1] == 3);
    CHECK(x.flags[0] == IPC_F_ICPT_RESTORE && x.flags[1] == IPC_F_ICPT_RESTORE);
    CHECK(intake_push_table(f.in, 6, NULL, 0, err, sizeof(err)) == 0);
    RX_UNTIL(&f, &x, x.tables == 2);
    WAIT_FOR(f.in, c, c.tables_sent == 2);
    CHECK(c.restores_sent == 2 && c.restores_failed == 0);

    /* a listing: LIST_REQ out, LIST_PAGE to the handler */
    struct ipc_list_req lr;
    memset(&lr, 0, sizeof(lr));
    lr.request_id = 42;
    snprintf(lr.list, sizeof(lr.list), "subscribers");
    snprintf(lr.filter, sizeof(lr.filter), "alice");
    lr.max_rows = 10;
    CHECK(intake_list_req(f.in, &lr, err, sizeof(err)) == 0);
    RX_UNTIL(&f, &x, x.lists == 1);
    CHECK(x.list_id == 42 && strcmp(x.filter, "alice") == 0);
    memset(&r, 0, sizeof(r));
    r.type = IPC_LIST_PAGE;
    r.u.list_page.request_id = 42;
    r.u.list_page.nrows = 1;
    r.u.list_page.rows[0].s = "row one";
    r.u.list_page.rows[0].len = 7;
    put(&f, &r);
    flush(&f);
    WAIT_FOR(f.in, c, c.list_pages == 1);
    CHECK(pages_seen == 1 && strcmp(page_row, "row one") == 0 && c.list_reqs == 1);
    teardown(&f);
    icpt_table_free(t);
}

/* More intercepts than the channel's backlog holds: all restored, in order. */
static void test_restore_paced(void)
{
    struct fixture f;
    struct intake_counts c;
    struct ipc_rec r;
    char err[256], name[64];
    struct icpt_table *t = icpt_table_new(1000, 0);
    CHECK(t != NULL);
    for (uint32_t i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "user-%04u-padding-padding-padding", i);
        icpt_rec(&r, IPC_F_ICPT_UP, i, name);
        CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    }
    icpt_rec(&r, IPC_F_ICPT_UP, 5000, "one too many");
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == -1);
    static struct rx_all x;
    memset(&x, 0, sizeof(x));
    setup_icpt(&f, t);
    CHECK(intake_push_table(f.in, 1, NULL, 0, err, sizeof(err)) == 0);
    CHECK(intake_start(f.in, err, sizeof(err)) == 0);
    RX_UNTIL(&f, &x, x.restores == 1000);
    for (uint32_t i = 0; i < 1000; i++)
        CHECK(x.mirror[i] == i);
    WAIT_FOR(f.in, c, c.restores_sent == 1000);
    CHECK(c.restores_failed == 0 && c.chan.tx_full_drops[IPC_INTERCEPT] == 0);
    teardown(&f);
    icpt_table_free(t);
}

/* n rules of the longest kind: a VALUE of 253 octets, written in hex. */
static struct ipc_trigger *big_table(uint32_t n)
{
    struct ipc_trigger *tab = calloc(n, sizeof(*tab));
    CHECK(tab != NULL);
    for (uint32_t i = 0; i < n; i++) {
        struct pm_trigger *q = &tab[i].rule;
        tab[i].config_source = 2;
        q->type = TRIG_ACCT_SID;
        q->value_len = TRIG_VALUE_MAX;
        memset(q->value, 'a', q->value_len);
        memcpy(q->value, &i, sizeof(i));
        memcpy(q->text, "0x", 2);
        for (size_t k = 0; k < q->value_len; k++)
            snprintf(q->text + 2 + 2 * k, 3, "%02x", q->value[k]);
        q->mirror_id = i;
        q->analyzer.family = 4;
        memcpy(q->analyzer.addr, "\xc6\x12\x00\x09", 4);
        q->analyzer.port = 4789;
        q->direction = TRIG_DIR_BOTH;
    }
    return tab;
}

/* The largest table the configuration allows (maxTriggers 10000, every VALUE
 * 253 octets written in hex): far more than the channel's backlog holds, sent
 * whole, paced by the channel's room, and the intercepts restored after it. */
static void test_push_big_table(void)
{
    enum { N = PM_MAX_TRIGGERS_MAX };
    struct fixture f;
    struct intake_counts c;
    struct ipc_rec r;
    char err[256];
    struct icpt_table *t = icpt_table_new(0, 0);
    CHECK(t != NULL);
    icpt_rec(&r, IPC_F_ICPT_UP, 77, "restored after the table");
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    struct ipc_trigger *tab = big_table(N);
    static struct rx_all x;
    memset(&x, 0, sizeof(x));
    setup_icpt(&f, t);
    CHECK(intake_push_table(f.in, 1, tab, N, err, sizeof(err)) == 0);
    free(tab);
    CHECK(intake_start(f.in, err, sizeof(err)) == 0);
    RX_UNTIL(&f, &x, x.tables == N && x.restores == 1);
    CHECK(x.mirror[0] == 77);
    WAIT_FOR(f.in, c, c.tables_sent == 1 && c.restores_sent == 1);
    CHECK(c.tables_failed == 0 && c.table_records == N);
    CHECK(c.chan.tx_full_drops[IPC_TRIGGER_SET] == 0);

    /* a newer table while one is on its way (no reader: it waits on the
     * channel's room) takes its place: counted as replaced, not failed */
    tab = big_table(N);
    CHECK(intake_push_table(f.in, 2, tab, N, err, sizeof(err)) == 0);
    struct pollfd on_way = {.fd = ipc_chan_fd(f.prod), .events = POLLIN};
    CHECK(poll(&on_way, 1, 5000) == 1); /* its first records are out */
    CHECK(intake_push_table(f.in, 3, tab, 1, err, sizeof(err)) == 0);
    free(tab);
    /* (whether table 2 was still on its way when table 3 came depends on the
     * socket's buffer: as root it may have fitted whole; either way nothing
     * fails and table 3 is the last one sent) */
    RX_UNTIL(&f, &x,
             (intake_get_counts(f.in, &c),
              c.tables_sent + c.tables_replaced == 3 && c.table_generation == 3));
    CHECK(c.tables_failed == 0 && c.table_generation == 3);
    teardown(&f);
    icpt_table_free(t);
}

/* The byte bound: entries are as long as what they hold, and a removal makes room. */
static void test_icpt_bytes(void)
{
    struct ipc_rec r;
    struct icpt_counts c;
    icpt_rec(&r, IPC_F_ICPT_UP, 1, "a");
    struct icpt_table *probe = icpt_table_new(0, 0);
    CHECK(probe != NULL && icpt_table_up(probe, &r.u.intercept.ic) == 0);
    icpt_table_counts(probe, &c);
    size_t one = c.bytes; /* an entry with a one-octet User-Name */
    CHECK(one > 0 && one < 300);
    icpt_table_free(probe);

    struct icpt_table *t = icpt_table_new(100, 3 * one + one / 2);
    CHECK(t != NULL);
    for (uint32_t i = 1; i <= 3; i++) {
        icpt_rec(&r, IPC_F_ICPT_UP, i, "a");
        CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    }
    icpt_rec(&r, IPC_F_ICPT_UP, 4, "a");
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == -1); /* bytes, not count */
    icpt_rec(&r, IPC_F_ICPT_UP, 2, "a");              /* a replacement of the same size fits */
    r.u.intercept.ic.session_id = 5;
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 1);
    icpt_rec(&r, IPC_F_ICPT_UP, 3, "a longer user name than before"); /* another key */
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == -1);
    icpt_rec(&r, IPC_F_ICPT_DOWN, 1, "a");
    CHECK(icpt_table_down(t, &r.u.intercept.ic) == 0);
    CHECK(icpt_table_down(t, &r.u.intercept.ic) == -1);
    icpt_rec(&r, IPC_F_ICPT_UP, 4, "a");
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    icpt_table_counts(t, &c);
    CHECK(c.n == 3 && c.bytes == 3 * one && c.drops == 2 && c.downs == 1 && c.unknown == 1);
    struct pm_intercept got;
    uint64_t s = icpt_table_next(t, 0, &got);
    CHECK(got.mirror_id == 2 && got.session_id == 5); /* kept its place, took the new value */
    s = icpt_table_next(t, s, &got);
    CHECK(got.mirror_id == 3);
    s = icpt_table_next(t, s, &got);
    CHECK(got.mirror_id == 4 && icpt_table_next(t, s, &got) == 0);
    icpt_table_free(t);
    icpt_table_free(NULL);
}

/* A session learns identities after its intercept began (Acct-Session-Id and the
 * framed address at Accounting-Start): its DOWN carries more than its UP and still
 * removes the entry; one that differs where both have a value, or another mirror
 * ID, does not. */
static void test_icpt_down_learnt(void)
{
    struct ipc_rec r;
    struct icpt_counts c;
    struct icpt_table *t = icpt_table_new(0, 0);
    CHECK(t != NULL);
    icpt_rec(&r, IPC_F_ICPT_UP, 7, "zoe");
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    icpt_rec(&r, IPC_F_ICPT_DOWN, 7, "zoe");
    struct sig_ident *id = &r.u.intercept.ic.id;
    memcpy(id->acct_sid.v, "s-1", 3);
    id->acct_sid.len = 3;
    id->framed_ip = 0x61d512c6; /* 198.18.213.97, network order */
    struct ipc_rec other = r;
    other.u.intercept.ic.mirror_id = 8; /* another intercept */
    CHECK(icpt_table_down(t, &other.u.intercept.ic) == -1);
    other = r;
    memcpy(other.u.intercept.ic.id.user.v, "zoy", 3); /* another name */
    CHECK(icpt_table_down(t, &other.u.intercept.ic) == -1);
    CHECK(icpt_table_down(t, &r.u.intercept.ic) == 0);
    icpt_table_counts(t, &c);
    CHECK(c.n == 0 && c.bytes == 0 && c.downs == 1 && c.unknown == 2);
    icpt_table_free(t);
}

/* Only the entry's empty identities match anything: a DOWN without an identity
 * the entry has (one holding little more than the mirror ID) names another
 * intercept, and of two entries a DOWN fits, the more specific one ends (not the
 * first added: the other, still running, would not be restored to a new capture
 * process). */
static void test_icpt_down_not_wider(void)
{
    struct ipc_rec r, down;
    struct icpt_counts c;
    struct pm_intercept got;
    struct icpt_table *t = icpt_table_new(0, 0);
    CHECK(t != NULL);
    icpt_rec(&r, IPC_F_ICPT_UP, 7, "zoe");
    r.u.intercept.ic.id.framed_ip = 0x61d512c6;
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    icpt_rec(&down, IPC_F_ICPT_DOWN, 7, "zoe"); /* no framed address */
    CHECK(icpt_table_down(t, &down.u.intercept.ic) == -1);
    memset(down.u.intercept.ic.id.user.v, 0, sizeof(down.u.intercept.ic.id.user.v));
    down.u.intercept.ic.id.user.len = 0; /* the mirror ID alone */
    CHECK(icpt_table_down(t, &down.u.intercept.ic) == -1);
    icpt_table_counts(t, &c);
    CHECK(c.n == 1 && c.unknown == 2);
    icpt_table_free(t);

    /* a session with the name only, added first; one with its framed address */
    t = icpt_table_new(0, 0);
    CHECK(t != NULL);
    icpt_rec(&r, IPC_F_ICPT_UP, 7, "zoe");
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    r.u.intercept.ic.id.framed_ip = 0x61d512c6;
    CHECK(icpt_table_up(t, &r.u.intercept.ic) == 0);
    icpt_rec(&down, IPC_F_ICPT_DOWN, 7, "zoe"); /* the second one's end, Acct-Session-Id learnt */
    down.u.intercept.ic.id.framed_ip = 0x61d512c6;
    memcpy(down.u.intercept.ic.id.acct_sid.v, "s-2", 3);
    down.u.intercept.ic.id.acct_sid.len = 3;
    CHECK(icpt_table_down(t, &down.u.intercept.ic) == 0);
    CHECK(icpt_table_next(t, 0, &got) > 0);
    CHECK(got.id.framed_ip == 0); /* the first session's entry stays */
    icpt_table_counts(t, &c);
    CHECK(c.n == 1 && c.downs == 1);
    icpt_table_free(t);
}

int main(void)
{
    alarm(30); /* a thread that ignores its stop would hang the test: fail it instead */
    test_dispatch();
    test_stats_bounds();
    test_mlog_flood();
    test_path_full();
    test_eof();
    test_free_blocked();
    test_push_table();
    test_push_before_start();
    test_intercepts();
    test_restore_paced();
    test_push_big_table();
    test_icpt_bytes();
    test_icpt_down_learnt();
    test_icpt_down_not_wider();
    printf("ok\n");
    return 0;
}
