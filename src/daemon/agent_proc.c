/*
 * agent_proc.c - the agent process (agent_proc.h, docs/process-model.md).
 *
 * Start-up: log -> chan A on fd 3 (HELLO) -> the configuration slice and the
 * control socket from the monitor (at most AGENT_PROC_SLICE_MS) -> the
 * locked-memory figure -> drop to AGENT_PROC_USER (CAP_IPC_LOCK kept only
 * when RLIMIT_MEMLOCK is below the figure: a container whose root may not
 * raise it) -> limit, harden, lock -> secure rings -> event queue -> agent
 * (Net-SNMP, the AgentX socket through the monitor) -> notifications ->
 * control server on the descriptor given -> intake of chan C on fd 4, the
 * intercept table pushed -> STATUS READY.  Shutdown is the reverse and
 * zeroises the rings; a start-up failure sends STATUS FAILED and exits 1.
 *
 * Threads: this one is the agent thread (Net-SNMP, chan A: ipc_chan has no
 * lock and only this thread touches chan A); the control server and its
 * worker; the intake (the only writer of chan C).  The control thread reads
 * the intake for `show mirror statistics` under ap.mu, which the agent
 * thread holds while it replaces the intake.
 */
#include "agent_proc.h"
#include "ready.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent/agent.h"
#include "agent/notify.h"
#include "agent_list.h"
#include "agent_reload.h"
#include "commands.h"
#include "agent_chan.h"
#include "memlock.h"
#include "mirror_stats.h"
#include "trig_table.h"
#include "rtconf.h"
#include "pmirrord/agent_call.h"
#include "pmirrord/audit.h"
#include "pmirrord/conf.h"
#include "pmirrord/escape.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/ipc.h"
#include "pmirrord/icpt_table.h"
#include "pmirrord/ipc_intake.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/sandbox.h"
#include "pmirrord/securemem.h"
#include "pmirrord/slog_ring.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PM_SANITIZED 1
#else
#define PM_SANITIZED 0
#endif

#define FD_CHAN_A       3
#define FD_CHAN_C       4
#define PENDING_MAX     64   /* records kept for the loop while a PRIV_REQ waits */
#define CHAN_A_BURST    32   /* messages read per wake-up */
#define STATUS_FLUSH_MS 1000 /* STATUS FAILED: how long to wait for it to leave */

static volatile sig_atomic_t stop_requested;
static int sig_pipe[2] = {-1, -1};

enum phase { PH_SLICE, PH_START, PH_RUN };

static struct {
    enum phase phase;
    struct ipc_chan *chan_a;
    int ctl_fd; /* the control socket from the slice, until the server owns it */

    /* records for the loop that arrived while the agent thread waited */
    struct ipc_rec *pending[PENDING_MAX];
    size_t npending;
    int pending_fd; /* eventfd: pending[] is not empty */

    /* the PRIV_REQ being waited for */
    int waiting, wait_done, wait_fd, wait_errno;
    uint32_t wait_id, next_id;
    char wait_text[256];
    int agentx_failing; /* 0 connected, 1 failing, 2 failing and said (once per outage) */
    int running;

    struct slog_ring *audit_ring, *mirror_ring;
    struct pm_evq *evq;
    struct ctl_server *ctl;
    int agent_up, notify_up, calls_up;
    int chan_a_eof;

    pthread_mutex_t mu; /* guards what follows (the control thread reads it) */
    struct intake *intake;
    uint64_t table_gen;
    uint64_t chan_replacements;
    struct pm_mirror_totals before;
    int have_proc[PM_PROC_N];
    struct ipc_stats proc[PM_PROC_N];
    struct timespec proc_at[PM_PROC_N];
    uint64_t monitor_unexpected, pending_drops;
    uint64_t priv_requests, priv_fds, priv_fails, priv_timeouts;
    struct ipc_chan_stats chan_a_stats; /* refreshed by the agent thread */

    /* the trigger table (the control thread changes it) and the intercepts kept */
    struct trig_table trig;
    int trig_up;
    struct icpt_table *icpt;
} ap = {
    .ctl_fd = -1,
    .pending_fd = -1,
    .wait_fd = -1,
    .mu = PTHREAD_MUTEX_INITIALIZER,
};

static void lock(void)
{
    pthread_mutex_lock(&ap.mu);
}

static void unlock(void)
{
    pthread_mutex_unlock(&ap.mu);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_signal(int sig)
{
    int saved = errno;
    stop_requested = 1;
    ssize_t w = write(sig_pipe[1], "x", 1); /* wake the agent loop */
    (void)w;
    errno = saved;
}

static void on_sig_pipe(int fd, void *arg)
{
    char buf[16];
    while (read(fd, buf, sizeof(buf)) > 0)
        ;
}

static int setup_signals(void)
{
    struct sigaction sa;
    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGQUIT, &sa, NULL) < 0)
        return -1;
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* ---- chan A: sending ------------------------------------------------------------------------ */

/* Sends what is queued on chan A, waiting at most ms for room. */
static void chan_a_flush(int ms)
{
    int64_t until = now_ms() + ms;
    for (;;) {
        int r = ipc_chan_flush(ap.chan_a);
        if (r <= 0)
            return;
        int64_t left = until - now_ms();
        if (left <= 0)
            return;
        struct pollfd pfd = {.fd = ipc_chan_fd(ap.chan_a), .events = POLLOUT};
        (void)poll(&pfd, 1, (int)left);
    }
}

static void chan_a_put(const struct ipc_rec *r)
{
    char err[160];
    if (ipc_chan_put(ap.chan_a, r, err, sizeof(err)) < 0)
        log_warnx("main", "cannot queue %s for the monitor: %s", ipc_type_name(r->type),
                  err[0] ? err : "path full");
}

static void send_status(uint8_t state, const char *text)
{
    struct ipc_rec *r = calloc(1, sizeof(*r));
    char err[160];
    if (r == NULL)
        return;
    r->type = IPC_STATUS;
    r->u.status.state = state;
    snprintf(r->u.status.text, sizeof(r->u.status.text), "%s", text != NULL ? text : "");
    if (ipc_chan_put(ap.chan_a, r, err, sizeof(err)) < 0) {
        /* a text the encoder refuses (not UTF-8): the state alone */
        r->u.status.text[0] = '\0';
        if (ipc_chan_put(ap.chan_a, r, err, sizeof(err)) < 0)
            log_warnx("main", "cannot send STATUS to the monitor: %s", err);
    }
    free(r);
    chan_a_flush(STATUS_FLUSH_MS);
}

static void send_hello(void)
{
    struct ipc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = IPC_HELLO;
    r.u.hello.version = IPC_VERSION;
    r.u.hello.role = IPC_ROLE_AGENT;
    r.u.hello.pid = (uint32_t)getpid();
    chan_a_put(&r);
    (void)ipc_chan_flush(ap.chan_a);
}

/* ---- chan A: receiving ---------------------------------------------------------------------- */

static void loop_record(struct ipc_rec *rec);
static void refresh_chan_a_stats(void);

static void queue_pending(struct ipc_rec *rec)
{
    if (rec->type == IPC_LIST_PAGE || ap.npending == PENDING_MAX) {
        lock();
        ap.pending_drops++;
        unlock();
        return; /* an FD's descriptor is closed by the channel */
    }
    struct ipc_rec *copy = malloc(sizeof(*copy));
    if (copy == NULL) {
        lock();
        ap.pending_drops++;
        unlock();
        return;
    }
    memcpy(copy, rec, sizeof(*copy));
    if (rec->type == IPC_FD)
        rec->u.fd.fd = -1; /* the copy owns it now */
    ap.pending[ap.npending++] = copy;
}

static void on_chan_a_rec(struct ipc_rec *rec, void *arg)
{
    if (ap.phase == PH_SLICE) {
        if (rec->type == IPC_CONFIG) {
            agent_chan_start_rec(rec); /* agent_chan.c */
            return;
        }
        if (rec->type == IPC_FD && rec->u.fd.purpose == IPC_FD_START_LOG) {
            daemon_adopt_log_fd(rec->u.fd.fd); /* start-up lines to the terminal too */
            rec->u.fd.fd = -1;
            return;
        }
        if (rec->type == IPC_FD && rec->u.fd.purpose == IPC_FD_CONTROL_LISTEN) {
            if (ap.ctl_fd >= 0) {
                agent_chan_start_bad("two control-socket descriptors");
                return;
            }
            ap.ctl_fd = rec->u.fd.fd;
            rec->u.fd.fd = -1;
            return;
        }
    }
    if (ap.waiting) {
        if (rec->type == IPC_FD && rec->u.fd.purpose == IPC_FD_AGENTX &&
            rec->u.fd.id == ap.wait_id) {
            ap.wait_fd = rec->u.fd.fd;
            rec->u.fd.fd = -1;
            ap.wait_done = 1;
            return;
        }
        if (rec->type == IPC_PRIV_FAIL && rec->u.priv_fail.request_id == ap.wait_id) {
            ap.wait_errno = rec->u.priv_fail.err_no != 0 ? (int)rec->u.priv_fail.err_no : EIO;
            snprintf(ap.wait_text, sizeof(ap.wait_text), "%.200s", rec->u.priv_fail.text);
            ap.wait_done = 1;
            return;
        }
    }
    if (ap.phase == PH_RUN && !ap.waiting && ap.npending == 0) {
        loop_record(rec);
        return;
    }
    queue_pending(rec); /* for the loop, in order */
}

/* Reads what chan A has (at most CHAN_A_BURST messages).  0 at end of file. */
static int chan_a_read(void)
{
    for (int i = 0; i < CHAN_A_BURST; i++) {
        int r = ipc_chan_recv(ap.chan_a, on_chan_a_rec, NULL);
        if (r == 1)
            continue;
        if (r == 0)
            return 0;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            break;
        log_warn("main", "reading from the monitor");
        return 0;
    }
    return 1;
}

static void monitor_gone(void)
{
    if (!ap.chan_a_eof)
        log_info("main", "the monitor closed its channel; stopping");
    ap.chan_a_eof = 1;
    stop_requested = 1;
    ssize_t w = write(sig_pipe[1], "x", 1);
    (void)w;
}

/* ---- the capture channel -------------------------------------------------------------------- */

static void add_totals(const struct intake_counts *c)
{
    struct pm_mirror_totals *t = &ap.before;
    t->events += c->events;
    t->event_drops += c->event_drops;
    t->mlogs += c->mlogs;
    t->records += c->chan.rx.records;
    t->unexpected += c->unexpected_total;
    t->trigger_acks += c->trigger_acks;
    for (unsigned i = 0; i <= IPC_TYPE_MAX; i++)
        t->tx_full_drops += c->chan.tx_full_drops[i];
    t->tx_errors += c->chan.tx_errors;
    for (unsigned i = 0; i < IPC_REJ_NREASONS; i++)
        t->rejects[i] += c->chan.rx.rejects[i];
}

/* The whole trigger table, to the capture process (under ap.mu: the intake
 * is not replaced meanwhile). */
static void push_table_locked(struct intake *in)
{
    char err[160];
    size_t n = 0;
    struct ipc_trigger *t = ap.trig_up ? trig_table_ipc(&ap.trig, &n) : NULL;
    if (t == NULL && n > 0) {
        log_warnx("event", "cannot push the trigger table: out of memory");
        return;
    }
    uint64_t gen = ++ap.table_gen;
    if (in != NULL && intake_push_table(in, gen, t, n, err, sizeof(err)) < 0)
        log_warnx("event", "cannot push the trigger table: %s", err);
    if (t != NULL) {
        OPENSSL_cleanse(t, n * sizeof(*t));
        free(t);
    }
}

static void push_table(struct intake *in)
{
    lock();
    push_table_locked(in);
    unlock();
}

/* The control thread changed the trigger table. */
static void triggers_changed(void *arg)
{
    lock();
    push_table_locked(ap.intake);
    unlock();
}

/* `show mirror subscribers` (control thread): the request goes through the
 * intake of the capture process connected now. */
static int list_send(const struct ipc_list_req *req, char *err, size_t errlen)
{
    lock();
    int rc = ap.intake == NULL ? -1 : intake_list_req(ap.intake, req, err, errlen);
    if (ap.intake == NULL)
        snprintf(err, errlen, "no capture process is connected");
    unlock();
    return rc;
}

static int list_request(const char *list, const char *filter, uint32_t offset, uint32_t max_rows,
                        int timeout_ms, struct pm_list_out *out, char *err, size_t errlen,
                        void *arg)
{
    (void)arg;
    return agent_list_request(list_send, list, filter, offset, max_rows, timeout_ms, out, err,
                              errlen);
}

/* A new chan C (fd): a new intake on it, the old one stopped, the table pushed
 * again.  The STATS table starts empty: sources of the old process are gone. */
static int start_intake(int fd, char *err, size_t errlen)
{
    struct intake *in = intake_new(fd, ap.evq, ap.mirror_ring, err, errlen);
    if (in == NULL) {
        close(fd);
        return -1;
    }
    if (intake_send_hello(in, 0, err, errlen) < 0) {
        intake_free(in);
        return -1;
    }
    intake_set_intercepts(in, ap.icpt); /* after the table: the intercepts kept */
    intake_set_handler(in, agent_list_on_page, NULL);
    push_table(in);
    if (intake_start(in, err, errlen) < 0) {
        intake_free(in);
        return -1;
    }
    lock();
    struct intake *old = ap.intake;
    ap.intake = in;
    if (old != NULL) {
        struct intake_counts c;
        intake_get_counts(old, &c);
        add_totals(&c);
        ap.chan_replacements++;
    }
    /* Stopped under the lock: the control thread reads the counters of one
     * intake or the other, never of a freed one. */
    intake_free(old);
    unlock();
    return 0;
}

static void on_peer_chan(int fd)
{
    char err[256];
    if (start_intake(fd, err, sizeof(err)) < 0) {
        log_error("event", "cannot take the new capture channel: %s", err);
        return;
    }
    log_info("event", "the capture process restarted: new capture channel taken");
    slog_ring_appendf(ap.mirror_ring, "capture process restarted: new channel, trigger table "
                                      "and RADIUS-provisioned intercepts sent again");
}

/* A counter of a STATS record, and the cause named by "last cause: ...". */
static uint64_t stat_value(const struct ipc_stats *st, const char *name)
{
    for (size_t i = 0; i < st->ncounters; i++)
        if (strcmp(st->counters[i].name, name) == 0)
            return st->counters[i].value;
    return 0;
}

static const char *stat_cause(const struct ipc_stats *st)
{
    for (size_t i = 0; i < st->ncounters; i++)
        if (strncmp(st->counters[i].name, "last cause: ", 12) == 0)
            return st->counters[i].name + 12;
    return "unknown cause";
}

/*
 * The secure trail of the processes' lives: a death of the capture process
 * (its events in flight are lost), and, in a new agent, that the agent
 * before it died (both secure logs and the events it held are gone).
 */
static void trail_deaths(int k, const struct ipc_stats *st)
{
    uint64_t deaths = stat_value(st, "deaths");
    char cause[IPC_NAME_MAX * 4 + 1];
    const char *c = stat_cause(st);
    pm_escape(cause, sizeof(cause), c, strlen(c)); /* the monitor's text; escaped anyway */
    if (k == PM_PROC_AGENT && !ap.have_proc[k] && deaths > 0)
        slog_ring_appendf(ap.mirror_ring,
                          "agent process restarted (the previous one: %s); the secure logs, "
                          "run-time trap hosts and events in flight before it were lost",
                          cause);
    if (k == PM_PROC_CAPTURE && ap.have_proc[k] && deaths > stat_value(&ap.proc[k], "deaths"))
        slog_ring_appendf(ap.mirror_ring,
                          "capture process died (%s); events in flight lost; the monitor "
                          "starts it again",
                          cause);
}

static void on_monitor_stats(const struct ipc_stats *st)
{
    int k = strcmp(st->source, "process:agent") == 0     ? PM_PROC_AGENT
            : strcmp(st->source, "process:capture") == 0 ? PM_PROC_CAPTURE
                                                         : -1;
    if (k >= 0 && ap.mirror_ring != NULL)
        trail_deaths(k, st);
    lock();
    if (k < 0) {
        ap.monitor_unexpected++;
    } else {
        ap.proc[k] = *st;
        ap.have_proc[k] = 1;
        clock_gettime(CLOCK_MONOTONIC, &ap.proc_at[k]);
    }
    unlock();
}

/* A record from the monitor on the loop (agent thread). */
static void loop_record(struct ipc_rec *rec)
{
    switch (rec->type) {
    case IPC_FD:
        if (rec->u.fd.purpose == IPC_FD_PEER_CHAN) {
            int fd = rec->u.fd.fd;
            rec->u.fd.fd = -1;
            on_peer_chan(fd);
            return;
        }
        break; /* a late AgentX answer, or nothing for us: closed by the channel */
    case IPC_STATS:
        on_monitor_stats(&rec->u.stats);
        return;
    case IPC_HELLO:
        return;
    case IPC_HEARTBEAT: /* the monitor asks (docs/systemd.md): this loop answers */
        if (ipc_chan_heartbeat(ap.chan_a, rec->u.heartbeat.seq) < 0)
            log_debug("main", "a HEARTBEAT answer not sent: the monitor's channel is full");
        (void)ipc_chan_flush(ap.chan_a);
        return;
    case IPC_CONFIG: { /* a reload slice (agent_chan.c) */
        uint8_t state;
        static char text[IPC_MLOG_MAX + 1];
        if (agent_chan_config(rec, &state, text, sizeof(text)) == 1)
            send_status(state, text);
        return;
    }
    default:
        break;
    }
    lock();
    ap.monitor_unexpected++;
    unlock();
    log_debug("main", "a %s record from the monitor, unused", ipc_type_name(rec->type));
}

static void drain_pending(void)
{
    for (size_t i = 0; i < ap.npending; i++) {
        struct ipc_rec *r = ap.pending[i];
        loop_record(r);
        if (r->type == IPC_FD && r->u.fd.fd >= 0)
            close(r->u.fd.fd);
        OPENSSL_cleanse(r, sizeof(*r));
        free(r);
        ap.pending[i] = NULL;
    }
    ap.npending = 0;
}

/* Frees (and wipes) what is left, unhandled: at shutdown. */
static void discard_pending(void)
{
    for (size_t i = 0; i < ap.npending; i++) {
        struct ipc_rec *r = ap.pending[i];
        if (r->type == IPC_FD && r->u.fd.fd >= 0)
            close(r->u.fd.fd);
        OPENSSL_cleanse(r, sizeof(*r));
        free(r);
        ap.pending[i] = NULL;
    }
    ap.npending = 0;
}

static void on_pending(int fd, void *arg)
{
    uint64_t v;
    if (read(fd, &v, sizeof(v)) < 0) {
        /* EAGAIN: spurious */
    }
    drain_pending();
}

static void wake_pending(void)
{
    uint64_t one = 1;
    if (ap.npending > 0 && write(ap.pending_fd, &one, sizeof(one)) < 0) {
        /* cannot overflow */
    }
}

static void on_chan_a(int fd, void *arg)
{
    drain_pending(); /* first: records keep their order */
    if (ipc_chan_pending(ap.chan_a))
        (void)ipc_chan_flush(ap.chan_a);
    if (chan_a_read() == 0)
        monitor_gone();
    refresh_chan_a_stats();
}

/* ---- the AgentX socket, opened by the monitor ----------------------------------------------- */

static int priv_connect(void *arg, char *err, size_t errlen)
{
    struct ipc_rec r;
    char e[160];
    int fd = -1, result_errno = 0;

    memset(&r, 0, sizeof(r));
    r.type = IPC_PRIV_REQ;
    r.u.priv_req.request_id = ++ap.next_id;
    r.u.priv_req.what = IPC_PRIV_AGENTX;
    lock();
    ap.priv_requests++;
    unlock();
    if (ap.chan_a_eof || ipc_chan_put(ap.chan_a, &r, e, sizeof(e)) < 0 ||
        ipc_chan_flush(ap.chan_a) < 0) {
        snprintf(err, errlen, "cannot ask the monitor for the AgentX socket");
        errno = EPIPE;
        return -1;
    }
    ap.waiting = 1;
    ap.wait_done = 0;
    ap.wait_id = r.u.priv_req.request_id;
    ap.wait_fd = -1;
    ap.wait_errno = 0;
    ap.wait_text[0] = '\0';
    int64_t until = now_ms() + AGENT_PROC_PRIV_MS;
    while (!ap.wait_done) {
        int64_t left = until - now_ms();
        if (left <= 0) {
            result_errno = ETIMEDOUT;
            snprintf(err, errlen, "the monitor did not answer within %d ms", AGENT_PROC_PRIV_MS);
            lock();
            ap.priv_timeouts++;
            unlock();
            break;
        }
        struct pollfd pfd = {.fd = ipc_chan_fd(ap.chan_a),
                             .events =
                                 (short)(POLLIN | (ipc_chan_pending(ap.chan_a) ? POLLOUT : 0))};
        int pr = poll(&pfd, 1, (int)left);
        if (pr < 0 && errno != EINTR) {
            result_errno = errno;
            snprintf(err, errlen, "poll: %s", strerror(errno));
            break;
        }
        if (pr <= 0)
            continue;
        if ((pfd.revents & POLLOUT) != 0)
            (void)ipc_chan_flush(ap.chan_a);
        if ((pfd.revents & ~POLLOUT) != 0 && chan_a_read() == 0) {
            monitor_gone();
            result_errno = EPIPE;
            snprintf(err, errlen, "the monitor is gone");
            break;
        }
    }
    ap.waiting = 0;
    wake_pending();
    refresh_chan_a_stats();
    if (ap.wait_done && ap.wait_fd >= 0) {
        fd = ap.wait_fd;
        ap.wait_fd = -1;
        lock();
        ap.priv_fds++;
        unlock();
        if (ap.agentx_failing > 1)
            log_info("agentx", "the monitor connected to the AgentX master again");
        ap.agentx_failing = 0;
        return fd;
    }
    if (ap.wait_done) {
        result_errno = ap.wait_errno;
        snprintf(err, errlen, "%s", ap.wait_text[0] ? ap.wait_text : strerror(ap.wait_errno));
        lock();
        ap.priv_fails++;
        unlock();
    }
    /* Once per outage; a master simply absent is the transport's to say. */
    if (ap.running && ap.agentx_failing < 2 && result_errno != ENOENT &&
        result_errno != ECONNREFUSED) {
        log_warnx("agentx", "no AgentX connection: %s", err);
        ap.agentx_failing = 2; /* said */
    } else if (ap.agentx_failing == 0) {
        ap.agentx_failing = 1;
    }
    errno = result_errno != 0 ? result_errno : EIO;
    return -1;
}

/* ---- start-up ------------------------------------------------------------------------------- */

static int read_slice(struct pm_conf *conf, char *err, size_t errlen)
{
    int64_t until = now_ms() + AGENT_PROC_SLICE_MS;
    ap.phase = PH_SLICE;
    char why[256];
    while (agent_chan_start_state(why, sizeof(why)) == 0) {
        int64_t left = until - now_ms();
        if (stop_requested) {
            snprintf(err, errlen, "stopped while waiting for the configuration");
            goto fail;
        }
        if (left <= 0) {
            snprintf(err, errlen, "no configuration from the monitor within %d s",
                     AGENT_PROC_SLICE_MS / 1000);
            goto fail;
        }
        struct pollfd pfd[2] = {{.fd = ipc_chan_fd(ap.chan_a), .events = POLLIN},
                                {.fd = sig_pipe[0], .events = POLLIN}};
        if (poll(pfd, 2, (int)left) <= 0)
            continue;
        if (pfd[0].revents != 0 && chan_a_read() == 0) {
            ap.chan_a_eof = 1;
            snprintf(err, errlen, "the monitor closed its channel before the configuration");
            goto fail;
        }
    }
    if (agent_chan_start_state(why, sizeof(why)) < 0) {
        snprintf(err, errlen, "configuration slice from the monitor: %s", why);
        goto fail;
    }
    if (ap.ctl_fd < 0) {
        snprintf(err, errlen, "the monitor sent no control socket");
        goto fail;
    }
    ap.phase = PH_START;
    return agent_chan_start_load(conf, err, errlen); /* its lines kept for reloads */
fail:
    ap.phase = PH_START;
    agent_chan_start_clear();
    return -1;
}

static void on_ctl_event(const struct ctl_event *ev, void *arg)
{
    if (ev->kind == CTL_EV_ENABLE_OK) {
        pm_mirrorlog_operator(ev->peer.uid, ev->peer.gid, ev->peer.pid, "mirror-enable");
        return;
    }
    pm_mirrorlog_refusal(ev->peer.uid, ev->peer.gid, ev->peer.pid, ev->why);
    log_warnx("ctl", "control socket: a request was refused (see the mirror log)");
}

static void on_agent_call(int fd, void *arg)
{
    pm_agent_call_service();
}

/* show mirror statistics (control thread) */
static int mirror_stats(struct pm_mirror_stats *out, void *arg)
{
    memset(out, 0, sizeof(*out));
    clock_gettime(CLOCK_MONOTONIC, &out->now);
    out->agent_pid = getpid();
    lock();
    if (ap.intake != NULL) {
        out->have_intake = 1;
        out->state = intake_state(ap.intake);
        intake_get_counts(ap.intake, &out->counts);
        intake_peer(ap.intake, &out->peer);
        out->nsources = intake_stats_snapshot(ap.intake, out->sources, INTAKE_SOURCES_MAX);
    }
    out->chan_replacements = ap.chan_replacements;
    out->before = ap.before;
    out->table_generation = ap.table_gen;
    out->chan_a = ap.chan_a_stats;
    for (int k = 0; k < PM_PROC_N; k++) {
        out->have_proc[k] = ap.have_proc[k];
        out->proc[k] = ap.proc[k];
        out->proc_at[k] = ap.proc_at[k];
    }
    out->monitor_unexpected = ap.monitor_unexpected;
    out->pending_drops = ap.pending_drops;
    out->priv_requests = ap.priv_requests;
    out->priv_fds = ap.priv_fds;
    out->priv_fails = ap.priv_fails;
    out->priv_timeouts = ap.priv_timeouts;
    unlock();
    return 0;
}

/* Chan A's counters for the control thread, refreshed on the agent thread. */
static void refresh_chan_a_stats(void)
{
    struct ipc_chan_stats st;
    ipc_chan_get_stats(ap.chan_a, &st);
    lock();
    ap.chan_a_stats = st;
    unlock();
}

static int start_ctl(const struct pm_conf *c, char *err, size_t errlen)
{
    ap.ctl = ctl_server_new_from_fd(ap.ctl_fd, c->control_socket,
                                    c->control_group[0] ? c->control_group : NULL,
                                    c->mirror_secret[0] ? c->mirror_secret : NULL, err, errlen);
    if (ap.ctl == NULL)
        return -1;
    ap.ctl_fd = -1; /* the server's now */
    ctl_server_set_event_cb(ap.ctl, on_ctl_event, ap.mirror_ring);
    struct pm_commands_ctx cc = {
        ap.audit_ring,    ap.mirror_ring, mirror_stats, NULL, ap.trig_up ? &ap.trig : NULL,
        triggers_changed, ap.icpt,        list_request, NULL};
    if (pm_commands_register(ap.ctl, &cc, err, errlen) < 0)
        return -1;
    return ctl_server_start(ap.ctl, err, errlen);
}

static void teardown(void)
{
    agent_chan_free(); /* the running lines: passphrases */
    if (ap.calls_up) {
        agent_unwatch_fd(pm_agent_call_fd());
        pm_agent_call_shutdown();
    }
    ctl_server_free(ap.ctl);
    ap.ctl = NULL;
    if (ap.ctl_fd >= 0)
        close(ap.ctl_fd);
    ap.ctl_fd = -1;
    lock();
    intake_free(ap.intake); /* before the queue and the ring it writes to */
    ap.intake = NULL;
    unlock();
    agent_reload_shutdown();
    icpt_table_free(ap.icpt); /* wiped */
    ap.icpt = NULL;
    rtconf_stop(); /* before the trigger table it reads */
    if (ap.trig_up)
        trig_table_free(&ap.trig);
    ap.trig_up = 0;
    if (ap.notify_up)
        notify_shutdown();
    if (ap.agent_up)
        agent_shutdown();
    agent_set_connector(NULL, NULL);
    ap.calls_up = ap.notify_up = ap.agent_up = 0;
    pm_event_set_queue(NULL);
    pm_evq_free(ap.evq);
    ap.evq = NULL;
    pm_audit_init(NULL);
    pm_mirrorlog_init(NULL);
    slog_ring_free(ap.audit_ring); /* zeroised before unmap */
    slog_ring_free(ap.mirror_ring);
    ap.audit_ring = ap.mirror_ring = NULL;
    discard_pending();
}

static int run(struct pm_conf *conf, char *err, size_t errlen)
{
    size_t need = pm_memlock_needed(conf);
    if (agent_drop_privileges(need, err, errlen) < 0)
        return -1;
    int lim = pm_memlock_limit(need, err, errlen);
    if (lim < 0)
        return -1;
    if (lim > 0)
        log_info("main", "%s", err);
    if (pm_harden_process(err, errlen) < 0 || pm_lock_all(err, errlen) < 0)
        return -1;

    ap.audit_ring = slog_ring_new(conf->secure_log_size, PM_AUDIT_ENTRY_MAX, err, errlen);
    if (ap.audit_ring == NULL)
        return -1;
    ap.mirror_ring = slog_ring_new(conf->mirror_log_size, PM_MIRROR_ENTRY_MAX, err, errlen);
    if (ap.mirror_ring == NULL)
        return -1;
    pm_audit_init(ap.audit_ring);
    pm_audit_set_enabled(conf->secure_log);
    pm_mirrorlog_init(ap.mirror_ring);

    ap.evq = pm_evq_new(conf->event_queue_size, err, errlen);
    if (ap.evq == NULL)
        return -1;
    pm_event_set_queue(ap.evq);

    agent_set_connector(priv_connect, NULL);
    if (agent_init(conf, err, errlen) < 0)
        return -1;
    ap.agent_up = 1;
    /* runtime.conf, in persistentDir (agent_init() made it), before the hosts and triggers */
    if (rtconf_start(conf, err, errlen) < 0)
        return -1;
    if (agent_watch_fd(sig_pipe[0], on_sig_pipe, NULL) < 0 ||
        agent_watch_fd(ipc_chan_fd(ap.chan_a), on_chan_a, NULL) < 0 ||
        agent_watch_fd(ap.pending_fd, on_pending, NULL) < 0) {
        snprintf(err, errlen, "cannot watch the signal pipe and the monitor's channel");
        return -1;
    }
    if (notify_init(conf, ap.evq, err, errlen) < 0)
        return -1;
    ap.notify_up = 1;
    if (pm_agent_call_init(err, errlen) < 0)
        return -1;
    if (agent_watch_fd(pm_agent_call_fd(), on_agent_call, NULL) < 0) {
        pm_agent_call_shutdown();
        snprintf(err, errlen, "cannot watch the agent call fd");
        return -1;
    }
    ap.calls_up = 1;
    if (trig_table_init(&ap.trig, conf, err, errlen) < 0)
        return -1;
    ap.trig_up = 1;
    rtconf_set_triggers(&ap.trig);
    if ((ap.icpt = icpt_table_new(0, 0)) == NULL) {
        snprintf(err, errlen, "out of memory for the intercept table");
        return -1;
    }
    if (start_ctl(conf, err, errlen) < 0)
        return -1;
    if (start_intake(FD_CHAN_C, err, errlen) < 0)
        return -1;
    struct agent_reload_ctx rctx = {&ap.trig, triggers_changed, NULL, ap.ctl};
    if (agent_reload_init(conf, &rctx, err, errlen) < 0) /* what a reload compares with */
        return -1;
    /* The configuration holds passphrases: keep it no longer than needed. */
    conf_free(conf);
    OPENSSL_cleanse(conf, sizeof(*conf)); /* the mirror secret's hash too */
    return 0;
}

static int parse_args(int argc, char **argv, int *foreground, const char **debug)
{
    /* argv: PROG --child agent [-f] [-D TOKENS] */
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "-f") == 0)
            *foreground = 1;
        else if (strcmp(argv[i], "-D") == 0 && i + 1 < argc)
            *debug = argv[++i];
        else
            return -1;
    }
    return 0;
}

int pm_agent_proc_main(int argc, char **argv, const struct pm_daemon_hooks *hooks)
{
    char err[1024] = "";
    int foreground = 0, rc = 0;
    const char *debug = NULL;
    struct pm_conf conf;
    int conf_loaded = 0;

    (void)hooks;
    /* ps, top and pgrep tell the processes apart (all three are /proc/self/exe) */
    (void)prctl(PR_SET_NAME, "pmirrord-agent", 0, 0, 0);
    if (mallopt(M_ARENA_MAX, 1) != 1 && !PM_SANITIZED) {
        fprintf(stderr, "pmirrord: agent: mallopt(M_ARENA_MAX, 1) failed\n");
        return 1;
    }
    if (argc < 3 || parse_args(argc, argv, &foreground, &debug) < 0) {
        fprintf(stderr, "pmirrord: usage: pmirrord --child agent [-f] [-D TOKENS]\n");
        return 2;
    }
    log_init("pmirrord", foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG);
    if (debug != NULL && log_set_debug(debug, err, sizeof(err)) < 0) {
        log_error("main", "-D: %s", err);
        return 2;
    }
    if (fcntl(FD_CHAN_A, F_SETFD, FD_CLOEXEC) < 0 || fcntl(FD_CHAN_C, F_SETFD, FD_CLOEXEC) < 0) {
        log_error("main", "the agent process needs its channels on fd 3 and 4");
        return 1;
    }
    if (setup_signals() < 0) {
        log_error("main", "signals: %s", strerror(errno));
        return 1;
    }
    ap.pending_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    ap.chan_a = ipc_chan_new(FD_CHAN_A, 0, NULL, NULL, err, sizeof(err));
    if (ap.pending_fd < 0 || ap.chan_a == NULL) {
        log_error("main", "the monitor's channel: %s", err[0] ? err : strerror(errno));
        return 1;
    }
    send_hello();

    if (read_slice(&conf, err, sizeof(err)) < 0)
        goto fail;
    conf_loaded = 1;
    if (run(&conf, err, sizeof(err)) < 0)
        goto fail;
    conf_loaded = 0; /* run() freed it once everything had started */

    ap.phase = PH_RUN;
    ap.running = 1;
    send_status(IPC_STATUS_READY, NULL);
    daemon_release();
    refresh_chan_a_stats();
    wake_pending(); /* what came with the slice or during the AgentX connect */
    log_info("main", "pmirrord %s agent process started", PM_VERSION);
    agent_run(&stop_requested);
    log_info("main", "agent process stopping");
    goto out;

fail:
    daemon_release(); /* the monitor says why, once */
    log_error("main", "agent process cannot start: %s", err);
    if (!ap.chan_a_eof)
        send_status(IPC_STATUS_FAILED, err);
    if (conf_loaded)
        conf_free(&conf);
    OPENSSL_cleanse(&conf, sizeof(conf));
    rc = 1;
out:
    ap.running = 0;
    teardown();
    ipc_chan_free(ap.chan_a);
    ap.chan_a = NULL;
    close(ap.pending_fd);
    ap.pending_fd = -1;
    log_close();
    return rc;
}
