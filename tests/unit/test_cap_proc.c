/*
 * test_cap_proc.c - the parts of the capture process (src/capture/cap_proc*.c,
 * cap_slice.c, cap_frames.c, cap_report.c) that need no child process: the
 * slice's directives, the clock, per-frame counting (decode, dedupe,
 * classification), trigger tables and their acknowledgements, the event
 * sink.  The process itself: tests/integration/test_cap_proc.py.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "capture/cap_proc_priv.h"
#include "check.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/daemon.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/log.h"
#include "pmirrord/mir_stats.h"
#include "pmirrord/ip_reasm.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/log.h"
#include "pmirrord/mir_stats.h"
#include "pmirrord/pkt_dedupe.h"
#include "pmirrord/sess_engine.h"

static void add_line(struct cp_slice *sl, uint32_t n, const char *key, const char *text)
{
    snprintf(sl->line[sl->nlines].key, sizeof(sl->line[0].key), "%s", key);
    sl->line[sl->nlines].value = strdup(text);
    sl->line[sl->nlines].line = n;
    sl->nlines++;
}

static void test_conf(void)
{
    static struct cp_slice sl;
    static struct cp_conf c;
    char err[512];

    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 3, "capture", "capture\teth1 role signalling filter \"udp port 1812\"");
    add_line(&sl, 5, "capture", "capture pcap:/tmp/x.pcap pace recorded");
    add_line(&sl, 9, "signallingLatency", "signallingLatency 25");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == 0);
    CHECK(c.nspec == 2 && c.latency_ms == 25);
    CHECK(!strcmp(c.spec[0].src, "eth1") && c.spec[0].role == CAP_ROLE_SIGNALLING);
    CHECK(!strcmp(c.spec[0].filter, "udp port 1812"));
    CHECK(c.spec[1].offline && !strcmp(c.spec[1].src, "/tmp/x.pcap"));
    CHECK(!strcmp(c.where[1], "/etc/p.conf:5"));
    cp_slice_clear(&sl);

    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 7, "capture", "capture eth1 role nonsense");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == -1);
    CHECK(!strncmp(err, "/etc/p.conf:7: ", 15));
    cp_slice_clear(&sl);

    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 2, "signallingLatency", "signallingLatency 0");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == -1);
    CHECK(strstr(err, "/etc/p.conf:2: signallingLatency") == err);
    cp_slice_clear(&sl);

    /* the key must be the line's directive */
    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 4, "capture", "signallingLatency 5");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == -1);
    cp_slice_clear(&sl);

    /* nothing: defaults */
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == 0);
    CHECK(c.nspec == 0 && c.latency_ms == CAP_LATENCY_MS_DEFAULT);
    CHECK(c.nports == 0 && c.mirror.hold_down == 10 && c.mirror.dscp == -1);

    /* the jmirror directives and the analyzer ports of the mirror rules */
    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 2, "mirrorSource", "mirrorSource 127.0.0.5");
    add_line(&sl, 3, "mirrorDscp", "mirrorDscp 46");
    add_line(&sl, 4, "mirrorInterface", "mirrorInterface lo");
    add_line(&sl, 6, "analyzerHoldDown", "analyzerHoldDown 2");
    add_line(&sl, 0, CONF_SLICE_KEY_PORTS, "30030 4000");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == 0);
    CHECK(c.mirror.has_src4 && c.mirror.src4[3] == 5 && !c.mirror.has_src6);
    CHECK(c.mirror.dscp == 46 && !strcmp(c.mirror.ifname, "lo") && c.mirror.hold_down == 2);
    CHECK(c.nports == 2 && c.ports[0] == 30030 && c.ports[1] == 4000);
    cp_slice_clear(&sl);
    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 2, "mirrorSource", "mirrorSource 127.0.0.5");
    add_line(&sl, 5, "mirrorSource", "mirrorSource 127.0.0.6");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == -1);
    CHECK(!strcmp(err, "/etc/p.conf:5: mirrorSource: an IPv4 source is already set at "
                       "/etc/p.conf:2"));
    cp_slice_clear(&sl);
    snprintf(sl.file, sizeof(sl.file), "/etc/p.conf");
    add_line(&sl, 0, CONF_SLICE_KEY_PORTS, "30030 x");
    CHECK(cp_conf_from_slice(&sl, &c, err, sizeof(err)) == -1);
    cp_slice_clear(&sl);
}

static void test_clock(void)
{
    struct cap_clock c = {.offline_only = 1};
    cap_clock_packet(&c, 1700000000, 250000);
    CHECK(cap_clock_now_ms(&c) == UINT64_C(1700000000250));
    c.offline_only = 0;
    CHECK(cap_clock_now_ms(&c) > UINT64_C(1700000000250)); /* the real time: later */
}

/* Ethernet + IPv4 + UDP frame with sport/dport and a few payload bytes. */
static size_t udp_frame(uint8_t *f, uint16_t sport, uint16_t dport, uint8_t id)
{
    static const uint8_t hdr[] = {
        2,    0,  0, 0,  0,   1,  2, 0, 0,  0,  0, 2, 0x08, 0x00, /* Ethernet */
        0x45, 0,  0, 32, 0,   0,  0, 0, 64, 17, 0, 0,             /* IPv4, 32 octets */
        198,  18, 0, 2,  198, 18, 0, 9,                           /* addresses */
    };
    memcpy(f, hdr, sizeof(hdr));
    f[19] = id; /* identification: distinct packets */
    uint8_t *u = f + sizeof(hdr);
    u[0] = (uint8_t)(sport >> 8), u[1] = (uint8_t)sport;
    u[2] = (uint8_t)(dport >> 8), u[3] = (uint8_t)dport;
    u[4] = 0, u[5] = 12, u[6] = 0, u[7] = 0;
    memcpy(u + 8, "abcd", 4);
    return sizeof(hdr) + 12;
}

static void test_frames(void)
{
    static struct cap_proc p;
    struct cp_source s1 = {.proc = &p}, s2 = {.proc = &p};
    uint8_t f[128];
    size_t n;

    memset(&p, 0, sizeof(p));
    p.test_build = 1;
    p.clock.offline_only = 1;
    p.nsrc = 2; /* copies are dropped only across sources */
    p.dedupe = pkt_dedupe_new(1024, 50, NULL);
    p.reasm = reasm_new(16, 1 << 16, 1000);
    CHECK(p.dedupe != NULL && p.reasm != NULL);

    n = udp_frame(f, 40000, 1812, 1);
    cp_frame(&p, &s1, DLT_EN10MB, f, n, n, 1700000000, 0, -1);
    uint64_t d1 = p.sig_digest;
    CHECK(s1.radius == 1 && d1 != 0);
    cp_frame(&p, &s2, DLT_EN10MB, f, n, n, 1700000000, 1000, -1); /* the same packet, 1 ms later */
    CHECK(s2.duplicates == 1 && s2.radius == 0 && p.sig_digest == d1);
    n = udp_frame(f, 68, 67, 2);
    cp_frame(&p, &s2, DLT_EN10MB, f, n, n, 1700000000, 2000, -1);
    CHECK(s2.dhcp == 1 && p.dhcp == 1 && p.sig_digest != d1);
    n = udp_frame(f, 40000, 9999, 3);
    cp_frame(&p, &s2, DLT_EN10MB, f, n, n, 1700000000, 3000, -1);
    CHECK(p.radius == 1 && p.dhcp == 1 && p.decoded == 4);          /* the duplicate too */
    cp_frame(&p, &s1, DLT_EN10MB, f, 16, 16, 1700000000, 4000, -1); /* IPv4 header cut */
    CHECK(s1.malformed == 1 && p.malformed == 1);
    for (uint16_t port = 1; port != 0; port++)
        CHECK(cp_radius_port(port) ==
              (port == 1812 || port == 1813 || port == 1645 || port == 1646 || port == 3799));
    CHECK(cp_dhcp_port(67) && cp_dhcp_port(68) && !cp_dhcp_port(546));
    pkt_dedupe_free(p.dedupe);
    reasm_free(p.reasm);
}

/* What the process sent on chan C, read from the other end. */
struct got {
    unsigned acks, events, stats;
    uint64_t gen;
    uint32_t entries;
};

static void on_got(struct ipc_rec *rec, void *arg)
{
    struct got *g = arg;
    if (rec->type == IPC_TRIGGER_ACK) {
        g->acks++;
        g->gen = rec->u.trigger_ack.generation;
        g->entries = rec->u.trigger_ack.entries;
    } else if (rec->type == IPC_EVENT) {
        g->events++;
    } else if (rec->type == IPC_STATS) {
        g->stats++;
    }
}

static void pump(struct cap_proc *p, struct ipc_chan *peer, struct got *g)
{
    CHECK(ipc_chan_flush(p->chan_c) >= 0);
    while (ipc_chan_recv(peer, on_got, g) > 0)
        ;
}

static void trig(struct cap_proc *p, unsigned flags, uint64_t gen, const char *who)
{
    static struct ipc_rec rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_TRIGGER_SET;
    rec.flags = (uint16_t)flags;
    rec.u.trigger_set.generation = gen;
    struct pm_trigger *t = &rec.u.trigger_set.entry.rule;
    snprintf(t->text, sizeof(t->text), "%s", who);
    t->type = TRIG_USERNAME;
    t->value_len = strlen(who);
    memcpy(t->value, who, t->value_len);
    t->analyzer.family = 4;
    t->analyzer.port = 1;
    cp_on_chan_c(&rec, p);
}

static void test_triggers_and_sink(void)
{
    static struct cap_proc p;
    int sv[2];
    char err[256];
    struct got g = {0};

    memset(&p, 0, sizeof(p));
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    p.chan_c = ipc_chan_new(sv[0], CP_CHAN_BACKLOG, cp_chan_full, &p, err, sizeof(err));
    struct ipc_chan *peer = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(p.chan_c != NULL && peer != NULL);

    trig(&p, IPC_F_BEGIN | IPC_F_END | IPC_F_EMPTY, 1, "");
    pump(&p, peer, &g);
    CHECK(g.acks == 1 && g.gen == 1 && g.entries == 0);
    trig(&p, IPC_F_BEGIN, 2, "alice");
    trig(&p, 0, 2, "bob");
    trig(&p, IPC_F_END, 2, "carol");
    pump(&p, peer, &g);
    CHECK(g.acks == 2 && g.gen == 2 && g.entries == 3 && p.ntrig == 3);
    CHECK(!strcmp(p.trig[1].rule.text, "bob"));
    /* outside BEGIN..END, another generation, EMPTY in the middle: refused, no ack */
    trig(&p, 0, 3, "x");
    trig(&p, IPC_F_BEGIN, 4, "x");
    trig(&p, IPC_F_END, 5, "y");
    trig(&p, IPC_F_EMPTY, 4, "");
    trig(&p, IPC_F_END, 4, "z");
    pump(&p, peer, &g);
    CHECK(g.acks == 2 && p.ntrig == 3 && p.trig_rejects == 3);

    /* events: into chan C; without a chan C, dropped and counted (-1) */
    struct pm_event ev = {.trap = PM_TRAP_SESSION_START, .mirror_id = 5};
    pm_event_set_sink(cp_event_sink, &p);
    CHECK(pm_event_raise(&ev) == 0);
    cp_send_stats(&p);
    pump(&p, peer, &g);
    CHECK(g.events == 1 && g.stats == 1 && p.events_sent == 1);
    ipc_chan_free(p.chan_c);
    p.chan_c = NULL;
    CHECK(pm_event_raise(&ev) == -1);
    CHECK(p.events_dropped == 1 && p.nochan_drops == 1);
    pm_event_set_sink(NULL, NULL);

    cp_trig_free(&p);
    CHECK(p.trig == NULL && p.ntrig == 0);
    ipc_chan_free(peer);
}

/* The monitor's side of a slice: records put on mon, read by cp_slice_read(). */
static void put_config(struct ipc_chan *mon, unsigned flags, const char *key, const char *value,
                       uint32_t line)
{
    static struct ipc_rec rec;
    char err[256];
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_CONFIG;
    rec.flags = (uint16_t)flags;
    snprintf(rec.u.config.key, sizeof(rec.u.config.key), "%s", key);
    snprintf(rec.u.config.value, sizeof(rec.u.config.value), "%s", value);
    rec.u.config.line = line;
    CHECK(ipc_chan_put(mon, &rec, err, sizeof(err)) == 0);
}

static void put_fd(struct ipc_chan *mon, unsigned purpose, const char *name, int fd)
{
    static struct ipc_rec rec;
    char err[256];
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_FD;
    rec.u.fd.purpose = (uint16_t)purpose;
    snprintf(rec.u.fd.name, sizeof(rec.u.fd.name), "%s", name);
    CHECK(ipc_chan_put_fd(mon, &rec, fd, err, sizeof(err)) == 0);
}

static int dummy_start(int fd, void *arg)
{
    (void)fd, (void)arg;
    return 0;
}

static void test_slice_read(void)
{
    static struct cp_slice sl;
    struct pm_daemon_hooks test_hooks = {.capture_test_start = dummy_start};
    int sv[2], pfd[2];
    char err[512], c;

    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    struct ipc_chan *mon = ipc_chan_new(sv[0], 0, NULL, NULL, err, sizeof(err));
    struct ipc_chan *me = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(mon != NULL && me != NULL);

    /* pmirrord itself (no hooks): a test-fifo descriptor is closed, a pcap one kept */
    CHECK(pipe(pfd) == 0);
    put_config(mon, IPC_F_BEGIN, "file", "/etc/p.conf", 0);
    put_config(mon, 0, "capture", "capture pcap:/tmp/x.pcap", 4);
    put_fd(mon, IPC_FD_PCAP_FILE, "/tmp/x.pcap", pfd[0]);
    put_fd(mon, IPC_FD_TEST_FIFO, "", pfd[1]);
    put_config(mon, IPC_F_END, "end", "", 0);
    CHECK(ipc_chan_flush(mon) == 0);
    close(pfd[1]);
    CHECK(cp_slice_read(me, 1000, NULL, NULL, &sl, err, sizeof(err)) == 0);
    CHECK(!strcmp(sl.file, "/etc/p.conf") && sl.nlines == 1 && sl.line[0].line == 4);
    CHECK(sl.nfds == 1 && sl.fd[0].purpose == IPC_FD_PCAP_FILE);
    CHECK(read(pfd[0], &c, 1) == 0); /* no write end left anywhere: the fifo's copy was closed */
    cp_slice_clear(&sl);
    close(pfd[0]);

    /* a test build takes it */
    CHECK(pipe(pfd) == 0);
    put_config(mon, IPC_F_BEGIN | IPC_F_END, "file", "/etc/p.conf", 0);
    put_fd(mon, IPC_FD_TEST_FIFO, "", pfd[1]);
    CHECK(ipc_chan_flush(mon) == 0);
    CHECK(cp_slice_read(me, 1000, &test_hooks, NULL, &sl, err, sizeof(err)) == 0);
    CHECK(sl.nfds == 1 && sl.fd[0].purpose == IPC_FD_TEST_FIFO);
    cp_slice_clear(&sl);
    close(pfd[0]);
    close(pfd[1]);

    /* out of order: a line before BEGIN */
    put_config(mon, 0, "capture", "capture eth0", 2);
    put_config(mon, IPC_F_BEGIN, "file", "/etc/p.conf", 0);
    put_config(mon, IPC_F_END, "end", "", 0);
    CHECK(ipc_chan_flush(mon) == 0);
    CHECK(cp_slice_read(me, 1000, NULL, NULL, &sl, err, sizeof(err)) == -1);
    CHECK(strstr(err, "outside BEGIN..END") != NULL);
    cp_slice_clear(&sl);
    while (ipc_chan_recv(me, on_got, &(struct got){0}) > 0)
        ;

    /* nothing within the time */
    CHECK(cp_slice_read(me, 100, NULL, NULL, &sl, err, sizeof(err)) == -1);
    CHECK(strstr(err, "no configuration slice") != NULL);
    cp_slice_clear(&sl);

    /* the monitor gone */
    ipc_chan_free(mon);
    CHECK(cp_slice_read(me, 1000, NULL, NULL, &sl, err, sizeof(err)) == -1);
    CHECK(strstr(err, "closed its channel") != NULL);
    cp_slice_clear(&sl);
    ipc_chan_free(me);
}

/* Mirror-log lines: sent at once within the budget, then queued and packed
 * several to an entry; queued without an agent channel; past the queue,
 * dropped, counted and said. */
static char logged[8192]; /* log lines, while a test looks at them */

static void on_log_line(int prio, const char *token, const char *msg, void *arg)
{
    (void)prio;
    (void)token;
    (void)arg;
    size_t n = strlen(logged);
    snprintf(logged + n, sizeof(logged) - n, "%s\n", msg);
}

static char mtext[1 << 16];
static size_t nmlog;
static uint64_t said_dropped;

static void on_mlog_rec(struct ipc_rec *rec, void *arg)
{
    (void)arg;
    if (rec->type != IPC_MLOG)
        return;
    nmlog++;
    for (const char *d = rec->u.mlog.text; (d = strstr(d, "mirror log: ")) != NULL; d++)
        said_dropped += strtoull(d + 12, NULL, 10);
    if (rec->u.mlog.text[0] == 'x')
        return; /* the queue-filling lines */
    size_t n = strlen(mtext);
    snprintf(mtext + n, sizeof(mtext) - n, "%s\n", rec->u.mlog.text);
}

static void mpump(struct cap_proc *p, struct ipc_chan *peer)
{
    CHECK(ipc_chan_flush(p->chan_c) >= 0);
    while (ipc_chan_recv(peer, on_mlog_rec, NULL) > 0)
        ;
}

static void test_mlog_queue(void)
{
    static struct cap_proc p;
    int sv[2];
    char err[256];

    memset(&p, 0, sizeof(p));
    CHECK(cp_mlog_init(&p) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    p.chan_c = ipc_chan_new(sv[0], CP_CHAN_BACKLOG, cp_chan_full, &p, err, sizeof(err));
    struct ipc_chan *peer = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(p.chan_c != NULL && peer != NULL);

    for (int i = 0; i < 200; i++)
        cp_mlog(&p, "line %d\tend", i); /* control characters become spaces */
    mpump(&p, peer);
    CHECK(nmlog == CP_MLOG_BURST && p.mlog_entries == CP_MLOG_BURST);
    CHECK(p.mlog_lines == 200 && p.mlq_len > 0 && p.mlog_dropped == 0);
    p.ml_at_ms -= 1000 / CP_MLOG_PER_S; /* one entry's worth of time passes */
    cp_mlog_drain(&p, 0);
    mpump(&p, peer);
    CHECK(nmlog == CP_MLOG_BURST + 1 && p.mlq_len == 0); /* 152 lines in one entry */
    CHECK(strstr(mtext, "line 47 end\nline 48 end | line 49 end | ") != NULL);
    CHECK(strstr(mtext, " | line 199 end\n") != NULL);

    /* no agent channel: kept, not dropped; sent when a channel is back */
    struct ipc_chan *c = p.chan_c;
    p.chan_c = NULL;
    p.ml_at_ms -= 10000;
    cp_mlog(&p, "while the agent restarts");
    CHECK(p.mlq_len > 0 && p.mlog_dropped == 0);
    p.chan_c = c;
    cp_mlog_drain(&p, 0);
    mpump(&p, peer);
    CHECK(p.mlq_len == 0 && strstr(mtext, "while the agent restarts\n") != NULL);

    /* the queue full: dropped, counted, then said in the log in order */
    p.ml_tokens = 0;
    p.ml_at_ms = INT64_MAX / 2; /* no time passes */
    static char big[IPC_MLOG_MAX];
    memset(big, 'x', sizeof(big) - 1);
    size_t fits = CP_MLOG_QUEUE / sizeof(big);
    for (size_t i = 0; i < fits + 5; i++)
        cp_mlog(&p, "%s", big);
    CHECK(p.mlog_dropped >= 5);
    while (p.mlq_len > 0) {
        p.ml_tokens = 1.0;
        p.ml_at_ms = 0;
        cp_mlog_drain(&p, 0);
        mpump(&p, peer);
    }
    cp_mlog_drain(&p, 0);
    mpump(&p, peer);
    CHECK(p.mlog_dropped_said == p.mlog_dropped && said_dropped == p.mlog_dropped);

    cp_mlog_free(&p);
    ipc_chan_free(p.chan_c);
    ipc_chan_free(peer);
}

/* LIST_REQ without an engine, or for a listing nobody keeps: an empty last page. */
static void on_page(struct ipc_rec *rec, void *arg)
{
    if (rec->type == IPC_LIST_PAGE)
        *(struct ipc_list_page *)arg = rec->u.list_page;
}

static void test_list_unknown(void)
{
    static struct cap_proc p;
    static struct ipc_rec rec;
    int sv[2];
    char err[256];
    struct ipc_list_page pg;

    memset(&p, 0, sizeof(p));
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    p.chan_c = ipc_chan_new(sv[0], CP_CHAN_BACKLOG, cp_chan_full, &p, err, sizeof(err));
    struct ipc_chan *peer = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(p.chan_c != NULL && peer != NULL);
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_LIST_REQ;
    rec.u.list_req.request_id = 77;
    rec.u.list_req.offset = 3;
    rec.u.list_req.max_rows = 10;
    snprintf(rec.u.list_req.list, sizeof(rec.u.list_req.list), "nonsense");
    cp_on_chan_c(&rec, &p);
    memset(&pg, 0xff, sizeof(pg));
    CHECK(ipc_chan_flush(p.chan_c) >= 0);
    while (ipc_chan_recv(peer, on_page, &pg) > 0)
        ;
    CHECK(pg.request_id == 77 && pg.offset == 3 && pg.nrows == 0 && pg.more == 0);
    CHECK(p.list_reqs == 1 && p.list_unknown == 1);
    ipc_chan_free(p.chan_c);
    ipc_chan_free(peer);
}

/* LIST_REQ "statistics" (`show mirror statistics`): the rows of p->ms, an
 * empty page while there is none. */
struct stat_page {
    struct ipc_list_page pg;
    char rows[4][MS_ROW_MAX];
};

static void on_stat_page(struct ipc_rec *rec, void *arg)
{
    struct stat_page *sp = arg;
    if (rec->type != IPC_LIST_PAGE)
        return;
    sp->pg = rec->u.list_page;
    for (size_t i = 0; i < rec->u.list_page.nrows && i < 4; i++)
        snprintf(sp->rows[i], sizeof(sp->rows[i]), "%.*s", (int)rec->u.list_page.rows[i].len,
                 rec->u.list_page.rows[i].s);
}

static void stat_req(struct cap_proc *p, struct ipc_chan *peer, uint32_t offset, uint32_t max,
                     struct stat_page *sp)
{
    static struct ipc_rec rec;
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_LIST_REQ;
    rec.u.list_req.request_id = 40 + offset;
    rec.u.list_req.offset = offset;
    rec.u.list_req.max_rows = max;
    snprintf(rec.u.list_req.list, sizeof(rec.u.list_req.list), "statistics");
    cp_on_chan_c(&rec, p);
    memset(sp, 0, sizeof(*sp));
    CHECK(ipc_chan_flush(p->chan_c) >= 0);
    while (ipc_chan_recv(peer, on_stat_page, sp) > 0)
        ;
    CHECK(sp->pg.request_id == 40 + offset && sp->pg.offset == offset);
}

static void test_list_statistics(void)
{
    static struct cap_proc p;
    int sv[2];
    char err[256];
    static struct stat_page sp;

    memset(&p, 0, sizeof(p));
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    p.chan_c = ipc_chan_new(sv[0], CP_CHAN_BACKLOG, cp_chan_full, &p, err, sizeof(err));
    struct ipc_chan *peer = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(p.chan_c != NULL && peer != NULL);
    stat_req(&p, peer, 0, 50, &sp); /* no accounting yet: empty, known */
    CHECK(sp.pg.nrows == 0 && sp.pg.more == 0 && sp.pg.has_count && sp.pg.count == 0);
    CHECK(p.list_reqs == 1 && p.list_unknown == 0);

    p.ms = ms_new(10, NULL);
    CHECK(p.ms != NULL);
    struct trig_analyzer a = {.family = 4, .addr = {127, 0, 0, 2}, .port = 30030};
    uint32_t h = ms_icpt(p.ms, 77, 5, &a, 0, 0, 1700000000000);
    ms_sent(p.ms, h, 128, 0, 1700000000000);
    stat_req(&p, peer, 0, 50, &sp);
    CHECK(sp.pg.nrows == 2 && sp.pg.more == 0 && sp.pg.count == 2);
    CHECK(sp.pg.has_total && sp.pg.total == 2);
    CHECK(strcmp(sp.rows[0], "intercept mid=77 sid=5 analyzer=127.0.0.2:30030 packets=1 bytes=128 "
                             "lost=0 lost-source=0 lost-send=0 lost-unreachable=0 lost-snapped=0 "
                             "lost-other=0 fragmented=0 split=0 unsplit=0") == 0);
    CHECK(strncmp(sp.rows[1], "analyzer 127.0.0.2:30030 state=up packets=1 bytes=128 ", 54) == 0);
    stat_req(&p, peer, 0, 1, &sp); /* pages */
    CHECK(sp.pg.nrows == 1 && sp.pg.more == 1 && !sp.pg.has_total);
    stat_req(&p, peer, 1, 1, &sp);
    CHECK(sp.pg.nrows == 1 && sp.pg.more == 0 && strncmp(sp.rows[0], "analyzer ", 9) == 0);
    ms_free(p.ms);
    ipc_chan_free(p.chan_c);
    ipc_chan_free(peer);
}

/* The data path never mirrors the datagrams the process sent itself. */
static void test_own_datagram(void)
{
    static struct cap_proc p;
    struct pkt_view v;
    struct trig_analyzer a = {.family = 4, .addr = {127, 0, 0, 61}, .port = 30030};

    char err[256];
    memset(&p, 0, sizeof(p));
    p.jm = jm_new(NULL, NULL, err, sizeof(err));
    CHECK(p.jm != NULL);
    uint16_t ours = jm_source_port(p.jm, &a), other = (uint16_t)(ours + 1);
    while (jm_is_local_port(p.jm, 4, other))
        other++;
    memset(&v, 0, sizeof(v));
    v.family = PKT_FAM_IPV4;
    v.proto = IPPROTO_UDP;
    v.flags = PKT_F_PORTS;
    memcpy(v.src, (uint8_t[]){127, 0, 0, 1}, 4);
    memcpy(v.dst, a.addr, 4);
    v.sport = ours;
    v.dport = 30030;
    CHECK(cp_own_datagram(&p, &v, &a));
    v.sport = other; /* another sender to the same analyzer */
    CHECK(!cp_own_datagram(&p, &v, &a));
    v.sport = ours;
    v.dport = 30031;
    CHECK(!cp_own_datagram(&p, &v, &a));
    v.dport = 30030;
    v.dst[3] = 62; /* elsewhere */
    CHECK(!cp_own_datagram(&p, &v, &a));
    v.dst[3] = 61;
    v.flags = PKT_F_FRAG; /* a later fragment (no ports) to the analyzer */
    CHECK(cp_own_datagram(&p, &v, &a));
    v.proto = IPPROTO_TCP;
    CHECK(!cp_own_datagram(&p, &v, &a));
    v.proto = IPPROTO_UDP;
    v.family = PKT_FAM_IPV6; /* the analyzer is IPv4 */
    CHECK(!cp_own_datagram(&p, &v, &a));

    /* a datagram to target A's analyzer that matched target B (whose
     * analyzer is b): still ours, never mirrored to b (A's traffic at B's
     * analyzer, and maybe a loop) */
    struct trig_analyzer b = {.family = 4, .addr = {127, 0, 0, 62}, .port = 30040};
    v.family = PKT_FAM_IPV4;
    v.flags = PKT_F_PORTS;
    v.sport = ours;
    v.dport = 30030;
    CHECK(!cp_own_datagram(&p, &v, &b)); /* A's analyzer never sent to: not known */
    p.jm_to[0] = a;
    p.jm_nto = 1;
    CHECK(cp_own_datagram(&p, &v, &b) && cp_own_datagram(&p, &v, NULL));
    v.sport = other; /* someone else's datagram to A's analyzer */
    CHECK(!cp_own_datagram(&p, &v, &b) && !cp_own_datagram(&p, &v, NULL));
    v.flags = PKT_F_FRAG; /* a later fragment to A's analyzer */
    CHECK(cp_own_datagram(&p, &v, &b));
    jm_free(p.jm);
}

/* The wiring end to end without a process: an Access-Accept fact with LI
 * VSAs starts a RADIUS-provisioned intercept (INTERCEPT UP and an EVENT on
 * chan C), the subscriber's packets come out as jmirror datagrams at the
 * analyzer, a snapped one does not, the Stop ends it (INTERCEPT DOWN);
 * RESTORE and LIST_REQ reach the engine; STATS of the four new sources. */
struct wired {
    unsigned up, down, events, pages, unreach;
    uint32_t an_ip;
    uint32_t mid, sid;
    size_t rows;
    int sources; /* bit 0 radius, 1 dhcp, 2 sessions, 3 jmirror */
};

static void on_wired(struct ipc_rec *rec, void *arg)
{
    struct wired *g = arg;
    if (rec->type == IPC_INTERCEPT) {
        if (rec->flags & IPC_F_ICPT_UP)
            g->up++;
        if (rec->flags & IPC_F_ICPT_DOWN)
            g->down++;
        g->mid = rec->u.intercept.ic.mirror_id;
        g->sid = rec->u.intercept.ic.session_id;
    } else if (rec->type == IPC_EVENT) {
        g->events++;
        if (rec->u.event.trap == PM_TRAP_ANALYZER_UNREACHABLE) {
            g->unreach++;
            g->an_ip = rec->u.event.analyzer_ip;
        }
    } else if (rec->type == IPC_LIST_PAGE) {
        g->pages++;
        g->rows = rec->u.list_page.nrows;
    } else if (rec->type == IPC_MLOG) {
        on_mlog_rec(rec, NULL);
    } else if (rec->type == IPC_STATS) {
        static const char *const names[] = {"radius", "dhcp", "sessions", "jmirror"};
        for (int i = 0; i < 4; i++)
            if (!strcmp(rec->u.stats.source, names[i]))
                g->sources |= 1 << i;
    }
}

static void sstr(struct sig_str *x, const char *v)
{
    x->len = (uint8_t)strlen(v);
    memcpy(x->v, v, x->len);
}

static struct sig_fact alice(enum sig_kind k)
{
    struct sig_fact f;
    memset(&f, 0, sizeof(f));
    f.kind = k;
    f.ts_sec = 1700000000;
    sstr(&f.id.user, "alice");
    sstr(&f.id.acct_sid, "1234567890123");
    f.id.nas_ip = htonl(0xc6120001); /* 198.18.0.1 */
    f.id.peer_ip = htonl(0xc6120001);
    f.id.framed_ip = htonl(0xc6120002); /* 198.18.0.2: udp_frame()'s source */
    return f;
}

/* Every log line (syslog's sink) of test_wired, to prove analyzers stay out. */
static char wlog[1 << 14];

static void wired_log(int prio, const char *token, const char *msg, void *arg)
{
    (void)prio;
    (void)arg;
    size_t n = strlen(wlog);
    snprintf(wlog + n, sizeof(wlog) - n, "%s: %s\n", token, msg);
}

static void test_wired(void)
{
    static struct cap_proc p;
    static struct cp_conf c;
    static struct ipc_rec rec;
    int sv[2];
    char err[256];
    struct wired g = {0};
    struct cp_source *s;

    memset(&p, 0, sizeof(p));
    memset(&c, 0, sizeof(c));
    CHECK(cp_mlog_init(&p) == 0);
    wlog[0] = mtext[0] = '\0';
    log_set_sink(wired_log, NULL);
    p.clock.offline_only = 1;
    p.dedupe = pkt_dedupe_new(1024, 50, NULL);
    p.reasm = reasm_new(16, 1 << 16, 1000);
    p.nsrc = 1;
    s = &p.src[0];
    s->proc = &p;
    snprintf(s->spec.src, sizeof(s->spec.src), "eth9");
    snprintf(s->name, sizeof(s->name), "src:eth9");
    s->spec.role = CAP_ROLE_BOTH;
    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    p.chan_c = ipc_chan_new(sv[0], CP_CHAN_BACKLOG, cp_chan_full, &p, err, sizeof(err));
    struct ipc_chan *peer = ipc_chan_new(sv[1], 0, NULL, NULL, err, sizeof(err));
    CHECK(p.chan_c != NULL && peer != NULL);
    c.max_subscribers = 1000;
    c.session_start_timeout = 30;
    c.dh.max_bindings = 1000;
    CHECK(cp_sess_start(&p, &c, err, sizeof(err)) == 0);
    pm_event_set_sink(cp_event_sink, &p);

    /* the analyzer */
    int rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in an = {.sin_family = AF_INET};
    an.sin_addr.s_addr = htonl(0x7f00003e); /* 127.0.0.62 */
    socklen_t al = sizeof(an);
    CHECK(rx >= 0 && bind(rx, (struct sockaddr *)&an, sizeof(an)) == 0);
    CHECK(getsockname(rx, (struct sockaddr *)&an, &al) == 0);
    struct timeval tv = {2, 0};
    CHECK(setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);

    struct sig_fact f = alice(SIG_ACCESS_ACCEPT);
    f.li.present = 1;
    f.li.action = SIG_LI_ON;
    f.li.has_handle = 1;
    f.li.handle_len = 8;
    f.li.mirror_id = 0x300;
    f.li.has_sid = 1;
    f.li.session_id = 0x90;
    f.li.has_analyzer = 1;
    memcpy(f.li.analyzer, &an.sin_addr, 4);
    f.li.has_port = 1;
    f.li.port = ntohs(an.sin_port);
    se_on_fact(&f, p.se);
    CHECK(ipc_chan_flush(p.chan_c) >= 0);
    while (ipc_chan_recv(peer, on_wired, &g) > 0)
        ;
    CHECK(g.up == 1 && g.mid == 0x300 && g.sid == 0x90 && g.events >= 1);

    uint8_t fr[128], buf[256];
    size_t n = udp_frame(fr, 5000, 53, 1);
    /* a frame stamped before the Access-Accept (read late from a ring
     * block): sent before the intercept began, so not its packet */
    cp_frame(&p, s, DLT_EN10MB, fr, n, n, 1699999999, 999999, -1);
    CHECK(p.mir_before_start == 1 && jm_pending(p.jm) == 0);
    /* the analyzer's port was learnt after start (RADIUS): its datagrams leave
     * from the fallback socket, said in the mirror log, not in a log line (the
     * port of a new intercept's analyzer, and when it started) */
    logged[0] = '\0';
    log_set_sink(on_log_line, NULL);
    uint64_t ml0 = p.mlog_lines + p.mlog_dropped;
    cp_frame(&p, s, DLT_EN10MB, fr, n, n, 1700000001, 0, -1);
    /* batched: nothing leaves before the flush (after the pass over a ring block) */
    CHECK(jm_pending(p.jm) == 1);
    CHECK(recv(rx, buf, sizeof(buf), MSG_DONTWAIT) == -1 && errno == EAGAIN);
    cp_mirror_flush(&p);
    log_set_sink(NULL, NULL);
    char port[16];
    snprintf(port, sizeof(port), "%u", (unsigned)ntohs(an.sin_port));
    CHECK(strstr(logged, port) == NULL);
    CHECK(p.mlog_lines + p.mlog_dropped == ml0 + 1);
    CHECK(jm_pending(p.jm) == 0);
    ssize_t got = recv(rx, buf, sizeof(buf), 0);
    CHECK(got == (ssize_t)(8 + n - 14));
    static const uint8_t hdr[] = {0, 0, 3, 0, 0, 0, 0, 0x90};
    CHECK(memcmp(buf, hdr, 8) == 0 && memcmp(buf + 8, fr + 14, n - 14) == 0);
    /* its port (RADIUS's, not configured) left from the fallback socket: said
     * in the mirror log, never in a log line */
    char pt[32];
    snprintf(pt, sizeof(pt), "UDP port %u ", (unsigned)ntohs(an.sin_port));
    cp_mlog_drain(&p, 0);
    CHECK(ipc_chan_flush(p.chan_c) >= 0);
    while (ipc_chan_recv(peer, on_wired, &g) > 0)
        ;
    CHECK(strstr(mtext, pt) != NULL);
    CHECK(strstr(wlog, "UDP port") == NULL && strstr(wlog, "127.0.0.62") == NULL);
    /* cut by the snap length: counted, not sent */
    n = udp_frame(fr, 5000, 53, 2);
    cp_frame(&p, s, DLT_EN10MB, fr, n - 4, n, 1700000001, 1000, -1);
    CHECK(p.mir_snapped == 1 && p.mir_copies == 1 && jm_pending(p.jm) == 0);
    /* accounted per intercept: one sent, one lost (snapped) */
    uint64_t lost[MS_LOSS_KINDS] = {0}, frag, split, unsplit, outages;
    ms_totals(p.ms, lost, &frag, &split, &unsplit, &outages);
    CHECK(lost[MS_LOSS_SNAPPED] == 1 && lost[MS_LOSS_SEND] == 0 && frag == 0 && outages == 0);
    static char mrows[8][MS_ROW_MAX];
    int more = 1;
    CHECK(ms_list(p.ms, 0, 8, mrows, &more) == 2 && !more); /* the intercept, its analyzer */
    CHECK(strstr(mrows[0], "intercept mid=768 sid=144 analyzer=127.0.0.62:") == mrows[0]);
    CHECK(strstr(mrows[0], " packets=1 bytes=40 lost=1 ") != NULL);
    CHECK(strstr(mrows[0], " lost-snapped=1 ") != NULL);
    CHECK(strstr(mrows[1], "analyzer 127.0.0.62:") == mrows[1]);
    CHECK(strstr(mrows[1], " state=up packets=1 bytes=40 ") != NULL);
    /* a GRO super-packet (TCP, 3000 octets of payload) on a source of MTU 1500:
     * cut back into three wire packets, each its own datagram */
    static uint8_t sp[14 + 40 + 3000];
    memcpy(sp, fr, 14);
    static const uint8_t iph[] = {0x45, 0, 0x0b, 0xe0, 0, 7, 0x40, 0,  64, 6,
                                  0,    0, 198,  18,   0, 2, 198,  18, 0,  9}; /* total 3040, DF */
    memcpy(sp + 14, iph, sizeof(iph));
    uint8_t *tcp = sp + 14 + 20;
    memset(tcp, 0, 20);
    tcp[0] = 0x13, tcp[1] = 0x88, tcp[3] = 80;         /* 5000 -> 80 */
    tcp[4] = 0, tcp[5] = 0, tcp[6] = 0x10, tcp[7] = 0; /* seq 4096 */
    tcp[12] = 0x50, tcp[13] = 0x18;                    /* ACK PSH */
    tcp[14] = 0xff, tcp[15] = 0xff;
    for (size_t i = 0; i < 3000; i++)
        sp[54 + i] = (uint8_t)i;
    s->mtu = 1500;
    struct cap_packet cpk = {.dlt = DLT_EN10MB,
                             .ts_sec = 1700000001,
                             .ts_usec = 1500,
                             .caplen = sizeof(sp),
                             .wirelen = sizeof(sp),
                             .flags = CAP_PKT_SUPER,
                             .data = sp};
    CHECK(cp_on_packet(s, NULL, &cpk) == CAP_PKT_TAKEN);
    CHECK(jm_pending(p.jm) == 3 && p.mir_split == 1);
    cp_mirror_flush(&p);
    static uint8_t big[2048];
    size_t want[3] = {8 + 1500, 8 + 1500, 8 + 40 + 80}, off = 0;
    for (int i = 0; i < 3; i++) {
        got = recv(rx, big, sizeof(big), 0);
        CHECK(got == (ssize_t)want[i] && memcmp(big, hdr, 8) == 0);
        size_t pl = (size_t)got - 8 - 40;
        CHECK(memcmp(big + 8 + 40, sp + 54 + off, pl) == 0); /* the payload in order */
        CHECK((big[8 + 33] & 0x08) == (i == 2 ? 0x08 : 0));  /* PSH only on the last */
        off += pl;
    }
    CHECK(off == 3000 && p.mir_copies == 4);
    ms_totals(p.ms, lost, &frag, &split, &unsplit, &outages);
    CHECK(split == 1 && unsplit == 0 && lost[MS_LOSS_SNAPPED] == 1);
    s->mtu = 0;
    /* drops on the intercept's source count against it (only the new ones) */
    cp_mirror_source_drops(&p, s, 5, INT64_C(1700000002000));
    cp_mirror_source_drops(&p, s, 5, INT64_C(1700000002500));
    cp_mirror_source_drops(&p, &p.src[1], 7, INT64_C(1700000002500)); /* another source */
    ms_totals(p.ms, lost, &frag, &split, &unsplit, &outages);
    CHECK(lost[MS_LOSS_SOURCE] == 5 && p.mir_source_drops == 12);
    /* the analyzer goes away: the port unreachable comes back on the error
     * queue (POLLERR), the analyzer is down, AnalyzerUnreachable once */
    close(rx);
    for (uint8_t k = 5; k < 7; k++) {
        n = udp_frame(fr, 5000, 53, k);
        cp_frame(&p, s, DLT_EN10MB, fr, n, n, 1700000001, 3000u + k, -1);
        cp_mirror_flush(&p);
        struct pollfd pf[JM_FDS_MAX];
        size_t np = cp_mirror_pollfds(&p, pf, JM_FDS_MAX);
        CHECK(np >= 1 && pf[0].events == 0);
        if (poll(pf, np, 2000) > 0)
            cp_mirror_errors(&p);
    }
    CHECK(ms_list(p.ms, 0, 8, mrows, &more) == 2);
    CHECK(strstr(mrows[1], " state=down ") != NULL);
    CHECK(ipc_chan_flush(p.chan_c) >= 0);
    while (ipc_chan_recv(peer, on_wired, &g) > 0)
        ;
    CHECK(g.unreach == 1 && g.an_ip == an.sin_addr.s_addr);
    /* a signalling-only source mirrors nothing */
    s->spec.role = CAP_ROLE_SIGNALLING;
    n = udp_frame(fr, 5000, 53, 3);
    cp_frame(&p, s, DLT_EN10MB, fr, n, n, 1700000001, 2000, -1);
    CHECK(p.mir_packets == 5); /* not even looked up */
    s->spec.role = CAP_ROLE_BOTH;

    /* show mirror subscribers; a restore of what is already up is refused */
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_LIST_REQ;
    rec.u.list_req.request_id = 5;
    rec.u.list_req.max_rows = 50;
    snprintf(rec.u.list_req.list, sizeof(rec.u.list_req.list), "subscribers");
    cp_on_chan_c(&rec, &p);
    struct pm_intercept ic;
    memset(&ic, 0, sizeof(ic));
    ic.id = f.id;
    ic.mirror_id = 0x300;
    ic.session_id = 0x90;
    ic.analyzer.family = 4;
    memcpy(ic.analyzer.addr, &an.sin_addr, 4);
    ic.analyzer.port = ntohs(an.sin_port);
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_INTERCEPT;
    rec.flags = IPC_F_ICPT_RESTORE;
    rec.u.intercept.ic = ic;
    cp_on_chan_c(&rec, &p);
    CHECK(p.icpt_restored + p.icpt_refused == 1);
    /* a restarted agent: told about the intercept again */
    cp_sess_reannounce(&p);
    CHECK(p.icpt_reannounced == 1);

    /* the Stop ends it */
    f = alice(SIG_ACCT_STOP);
    f.ts_sec += 60;
    f.has_term_cause = 1;
    f.term_cause = 1;
    f.has_session_time = 1;
    f.session_time = 60;
    se_on_fact(&f, p.se);
    cp_send_stats(&p);
    CHECK(ipc_chan_flush(p.chan_c) >= 0);
    while (ipc_chan_recv(peer, on_wired, &g) > 0)
        ;
    CHECK(g.pages == 1 && g.rows == 1);
    CHECK(g.up == 2 && g.down == 1 && g.sources == 15);
    uint64_t copies = p.mir_copies + p.mir_failed;
    n = udp_frame(fr, 5000, 53, 4); /* no longer a target */
    cp_frame(&p, s, DLT_EN10MB, fr, n, n, 1700000100, 0, -1);
    cp_mirror_flush(&p); /* as the loop does after each pass */
    CHECK(p.mir_copies + p.mir_failed == copies);

    /* no analyzer in any log line, the unreachable one's included */
    CHECK(strstr(wlog, "127.0.0.62") == NULL && strstr(wlog, "UDP port") == NULL);
    log_set_sink(NULL, NULL);
    pm_event_set_sink(NULL, NULL);
    cp_sess_free(&p);
    cp_mlog_free(&p);
    pkt_dedupe_free(p.dedupe);
    reasm_free(p.reasm);
    ipc_chan_free(p.chan_c);
    ipc_chan_free(peer);
}

int main(void)
{
    test_conf();
    test_clock();
    test_frames();
    test_triggers_and_sink();
    test_slice_read();
    test_mlog_queue();
    test_list_unknown();
    test_list_statistics();
    test_own_datagram();
    test_wired();
    printf("test_cap_proc: ok\n");
    return 0;
}
