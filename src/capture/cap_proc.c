/*
 * cap_proc.c - the capture process (cap_proc.h, docs/process-model.md):
 * start-up in the sandbox's order (docs/sandbox.md, "Order of use") and the
 * poll loop over the sources, the link watcher, the monitor's channel (fd 3,
 * chan B), the agent's channel (fd 4, chan C) and the test producer.
 *
 * Records sent: on chan B one STATUS (READY, or FAILED with the reason); on
 * chan C EVENT, MLOG, STATS (one per source, "src:" + SRC, and "capture"),
 * HEARTBEAT once a second, TRIGGER_ACK for each TRIGGER_SET table.
 * Received: on chan B the slice (cap_slice.c), then FD peer-chan (a new chan
 * C after the agent restarted); end of file = the monitor is gone: exit.
 * On chan C TRIGGER_SET; end of file = the agent is gone: go on, dropping
 * and counting what would be sent until a new chan C arrives.
 */
#include "pmirrord/cap_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cap_proc_priv.h"
#include "pmirrord/cap_linkwatch.h"
#include "pmirrord/daemon.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/ip_reasm.h"
#include "pmirrord/jm_route.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/log.h"
#include "pmirrord/pkt_dedupe.h"
#include "pmirrord/sandbox.h"

_Static_assert(SBX_DGRAM_FDS_MAX >= JM_FDS_MAX, "the sandbox lets every jmirror socket send");

#define CP_FD_MONITOR   3
#define CP_FD_AGENT     4
#define CP_FD_START_LOG 5 /* the start-up pipe, else a copy of fd 3 holding the number */

/*
 * Fixed descriptor numbers (docs/sandbox.md): the filter lets the process
 * write only to stderr, fds 3-5 and its syslog connection, so those numbers
 * must never be taken by a capture socket.  A freed number is filled with a
 * copy of the monitor channel instead of being closed.
 */
static int syslog_fd = -1;

static void hold_fd(int n)
{
    (void)dup3(CP_FD_MONITOR, n, O_CLOEXEC);
}
#define CP_TICK_MS       1000
#define CP_EXIT_FLUSH_MS 1000

static struct cap_proc cp; /* large (sources, specs): not on the stack */
static volatile sig_atomic_t cp_got_term;

static void on_term(int sig)
{
    (void)sig;
    cp_got_term = 1;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- sources ------------------------------------------------------------------------------- */

static void on_source_event(void *arg, struct cap_source *src, enum cap_event ev,
                            const char *reason)
{
    struct cp_source *s = arg;
    struct cap_proc *p = s->proc;
    if (ev == CAP_EV_STATE) {
        enum cap_state st = cap_source_state(src);
        enum cap_cause cause = cap_source_cause(src);
        log_msg(st == CAP_STATE_UP || st == CAP_STATE_EOF ? LOG_INFO : LOG_WARNING, CP_TOKEN,
                "source %s: %s (%s)", s->name + 4, cap_state_name(st), cap_cause_name(cause));
        cp_mlog(p, "source %s %s: %s", s->name + 4, cap_state_name(st), reason);
        /* an interface gone: InterfaceDeleted for the sessions last seen there
         * and the static mirrors on it (sessions survive); back: they resume */
        if (st == CAP_STATE_DOWN && (cause == CAP_CAUSE_DELETED || cause == CAP_CAUSE_ERROR ||
                                     cause == CAP_CAUSE_REPLACED || cause == CAP_CAUSE_GONE))
            cp_sess_interface(p, s, 0);
        else if (st == CAP_STATE_UP)
            cp_sess_interface(p, s, 1);
    } else {
        log_warnx(CP_TOKEN, "source %s: %s", s->name + 4, reason);
        cp_mlog(p, "source %s warning: %s", s->name + 4, reason);
    }
}

static void on_link(void *arg, enum cap_link what, unsigned ifindex, const char *ifname,
                    unsigned ifflags)
{
    struct cap_proc *p = arg;
    for (size_t i = 0; i < p->nsrc; i++)
        if (p->src[i].src != NULL)
            cap_source_link(p->src[i].src, what, ifindex, ifname, ifflags);
}

/* The descriptor the monitor sent for pcap:FILE (named FILE or pcap:FILE), taken; or -1. */
static int take_pcap_fd(struct cp_slice *sl, const char *file)
{
    for (size_t i = 0; i < sl->nfds; i++) {
        const char *n = sl->fd[i].name;
        if (sl->fd[i].purpose != IPC_FD_PCAP_FILE || sl->fd[i].fd < 0)
            continue;
        if (!strncmp(n, "pcap:", 5))
            n += 5;
        if (!strcmp(n, file)) {
            int fd = sl->fd[i].fd;
            sl->fd[i].fd = -1;
            return fd;
        }
    }
    return -1;
}

/* "src:" + SRC as written (pcap:FILE), cut to 63 octets at a UTF-8 boundary. */
static void source_name(struct cp_source *s)
{
    char full[CAP_SRC_MAX + 16];
    size_t n = (size_t)snprintf(full, sizeof(full), "src:%s%s", s->spec.offline ? "pcap:" : "",
                                s->spec.src);
    if (n > IPC_NAME_MAX) {
        n = IPC_NAME_MAX;
        while (n > 4 && ((unsigned char)full[n] & 0xc0) == 0x80)
            n--;
    }
    memcpy(s->name, full, n);
    s->name[n] = '\0';
}

static int open_sources(struct cap_proc *p, const struct cp_conf *c, struct cp_slice *sl, char *err,
                        size_t errlen)
{
    char e[512];
    int live = 0;
    p->latency_ms = c->latency_ms;
    for (size_t i = 0; i < c->nspec; i++) {
        struct cp_source *s = &p->src[p->nsrc++];
        s->proc = p;
        s->spec = c->spec[i];
        snprintf(s->where, sizeof(s->where), "%s", c->where[i]);
        source_name(s);
        live += !s->spec.offline;
        int fd = -1;
        if (s->spec.offline && (fd = take_pcap_fd(sl, s->spec.src)) < 0) {
            /* a restarted capture process: the file was read by an earlier one */
            log_info(CP_TOKEN, "source %s: already read (a file is read once per daemon lifetime)",
                     s->name + 4);
            cp_mlog(p, "source %s eof: already read by an earlier capture process", s->name + 4);
            continue;
        }
        s->src = cap_source_new(&s->spec, cp_on_packet, on_source_event, s, e, sizeof(e));
        if (s->src == NULL || cap_source_set_latency(s->src, c->latency_ms, e, sizeof(e)) < 0 ||
            (fd >= 0 && cap_source_set_fd(s->src, fd, e, sizeof(e)) < 0)) {
            if (s->src == NULL && fd >= 0)
                close(fd);
            return pm_err(err, errlen, "%s: %s", s->where, e);
        }
    }
    p->clock.offline_only = live == 0;
    return 0;
}

static int activate_sources(struct cap_proc *p, char *err, size_t errlen)
{
    char e[512];
    for (size_t i = 0; i < p->nsrc; i++)
        if (p->src[i].src != NULL && cap_source_activate(p->src[i].src, e, sizeof(e)) < 0)
            return pm_err(err, errlen, "%s: %s", p->src[i].where, e);
    return 0;
}

/* ---- channels ------------------------------------------------------------------------------ */

static void drop_chan_c(struct cap_proc *p, const char *why)
{
    if (p->chan_c == NULL)
        return;
    log_warnx(CP_TOKEN,
              "the agent's channel %s: what would be sent to it is dropped and "
              "counted until a new one arrives",
              why);
    ipc_chan_free(p->chan_c);
    p->chan_c = NULL;
    hold_fd(CP_FD_AGENT);
}

static void new_chan_c(struct cap_proc *p, int fd, int replacing)
{
    char err[256];
    if (p->chan_c != NULL) {
        ipc_chan_free(p->chan_c);
        p->chan_c = NULL;
        hold_fd(CP_FD_AGENT);
    }
    if (fd != CP_FD_AGENT) { /* always at the number the filter lets us write */
        if (dup3(fd, CP_FD_AGENT, O_CLOEXEC) < 0) {
            log_warn(CP_TOKEN, "a new agent channel refused: dup3");
            close(fd);
            return;
        }
        close(fd);
        fd = CP_FD_AGENT;
    }
    struct ipc_chan *ch = ipc_chan_new(fd, CP_CHAN_BACKLOG, cp_chan_full, p, err, sizeof(err));
    if (ch == NULL) {
        log_warnx(CP_TOKEN, "a new agent channel refused: %s", err);
        hold_fd(CP_FD_AGENT);
        return;
    }
    p->chan_c = ch;
    /* Who we are, first on every channel (the agent shows it; informational:
     * the monitor's process:capture statistics are what to trust). */
    struct ipc_rec h;
    memset(&h, 0, sizeof(h));
    h.type = IPC_HELLO;
    h.u.hello.version = IPC_VERSION;
    h.u.hello.role = IPC_ROLE_CAPTURE;
    h.u.hello.pid = (uint32_t)getpid();
    h.u.hello.generation = p->chan_c_replaced + 1;
    if (ipc_chan_put(ch, &h, err, sizeof(err)) < 0)
        log_warnx(CP_TOKEN, "cannot queue HELLO for the agent: %s", err);
    if (replacing) {
        p->chan_c_replaced++;
        log_info(CP_TOKEN, "a new channel to the agent");
        cp_sess_reannounce(p); /* a restarted agent's intercept table starts empty */
    }
}

static void on_chan_b(struct ipc_rec *rec, void *arg)
{
    struct cap_proc *p = arg;
    if (rec->type == IPC_FD && rec->u.fd.purpose == IPC_FD_PEER_CHAN) {
        new_chan_c(p, rec->u.fd.fd, 1);
        rec->u.fd.fd = -1; /* taken (closed by new_chan_c on failure) */
        return;
    }
    if (rec->type == IPC_CONFIG) { /* a reload slice (cap_slice.c) */
        cp_reload_rec(p, rec);
        return;
    }
    p->b_unexpected++;
    log_debug(CP_TOKEN, "an unexpected %s record from the monitor", ipc_type_name(rec->type));
}

static void send_status(struct ipc_chan *chan_b, int state, const char *text)
{
    static struct ipc_rec rec;
    char err[256];
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_STATUS;
    rec.u.status.state = (uint8_t)state;
    snprintf(rec.u.status.text, sizeof(rec.u.status.text), "%s", text);
    for (char *c = rec.u.status.text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (ipc_chan_put(chan_b, &rec, err, sizeof(err)) < 0) {
        log_warnx(CP_TOKEN, "STATUS not sent: %s", err);
        return;
    }
    /* a fresh socketpair has room: one try, then a short wait */
    int64_t until = mono_ms() + CP_EXIT_FLUSH_MS;
    while (ipc_chan_flush(chan_b) == 1 && mono_ms() < until) {
        struct pollfd pfd = {.fd = ipc_chan_fd(chan_b), .events = POLLOUT};
        (void)poll(&pfd, 1, 100);
    }
}

/* The pipe to the command that started a detached daemon (IPC_FD_START_LOG):
 * start-up messages are echoed there until ready (docs/process-model.md). */
static int start_log_fd = -1;

static void start_log_echo(int prio, const char *token, const char *msg, void *arg)
{
    (void)arg;
    if (start_log_fd >= 0)
        log_pipe_write(start_log_fd, prio, token, msg);
}

static void start_log_release(void)
{
    log_set_echo(NULL, NULL);
    if (start_log_fd >= 0)
        hold_fd(CP_FD_START_LOG); /* closes the pipe, keeps the number */
    start_log_fd = -1;
}

/* Start-up failed: tell the monitor why, log it, and exit 1. */
static int fail(struct cap_proc *p, const char *why)
{
    start_log_release(); /* the monitor says why, once */
    log_error(CP_TOKEN, "%s", why);
    if (p->chan_b != NULL)
        send_status(p->chan_b, IPC_STATUS_FAILED, why);
    return 1;
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* Reads what is queued on ch; returns 0 at end of file or on an error, 1 otherwise. */
static int drain(struct ipc_chan *ch, ipc_rec_fn fn, void *arg, struct ipc_chan **replaced)
{
    for (int i = 0; i < 64; i++) {
        int rc = ipc_chan_recv(ch, fn, arg);
        if (rc == 0)
            return 0;
        if (rc < 0)
            return errno == EAGAIN || errno == EINTR ? 1 : 0;
        if (replaced != NULL && *replaced != ch)
            return 1; /* the callback replaced the channel: stop reading the old one */
    }
    return 1;
}

static void flush_all(struct cap_proc *p)
{
    if (p->full_pending) {
        p->full_pending = 0;
        cp_mlog(p, "path to the agent full: %llu record(s) dropped",
                (unsigned long long)p->full_dropped);
        p->full_dropped = 0;
    }
    cp_mlog_drain(p, 0);
    if (p->chan_c != NULL && ipc_chan_flush(p->chan_c) < 0 && errno != EAGAIN)
        drop_chan_c(p, "is closed");
    if (ipc_chan_flush(p->chan_b) < 0 && errno != EAGAIN) {
        log_info(CP_TOKEN, "the monitor's channel is closed: stopping");
        p->stop = 1;
    }
}

static int min_timeout(int a, int b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

static void tick(struct cap_proc *p)
{
    uint64_t now = cap_clock_now_ms(&p->clock);
    reasm_expire(p->reasm, now);
    if (now >= p->timer_due_ms)
        cp_sess_timers(p, now);
    cp_mirror_tick(p); /* source drops, hold-downs, loss episodes */
    cp_send_stats(p);
    cp_send_heartbeat(p);
}

/* A pcap source is not read until the agent's first trigger table is in
 * force (at most CP_TABLE_WAIT_MS): the configuration's rules then apply
 * from the file's first packet, as they would on a router that was
 * configured before the traffic came. */
static int held(const struct cap_proc *p, const struct cp_source *s)
{
    return p->hold_offline && s->spec.offline;
}

static int run_loop(struct cap_proc *p)
{
    const struct pm_daemon_hooks *h = p->hooks;
    int test = h != NULL && h->capture_test_start != NULL && p->test_fd >= 0;
    int64_t next_tick = mono_ms() + CP_TICK_MS;
    char err[512];

    for (size_t i = 0; i < p->nsrc && p->chan_c != NULL; i++)
        if (p->src[i].src != NULL && p->src[i].spec.offline)
            p->hold_offline = 1;
    p->hold_until = mono_ms() + CP_TABLE_WAIT_MS;
    sigset_t empty;
    sigemptyset(&empty);

    while (!p->stop && !cp_got_term) {
        struct pollfd fds[CAP_PROC_SOURCES_MAX + 5 + JM_FDS_MAX];
        nfds_t n = 0;
        int ib, ic = -1, ilw, it = -1, ijm, timeout;
        ib = (int)n;
        fds[n++] = (struct pollfd){ipc_chan_fd(p->chan_b), POLLIN, 0};
        if (ipc_chan_pending(p->chan_b))
            fds[ib].events |= POLLOUT;
        if (p->chan_c != NULL) {
            ic = (int)n;
            fds[n++] = (struct pollfd){ipc_chan_fd(p->chan_c), POLLIN, 0};
            if (ipc_chan_pending(p->chan_c))
                fds[ic].events |= POLLOUT;
        }
        ilw = (int)n;
        fds[n++] = (struct pollfd){cap_linkwatch_fd(p->lw), POLLIN, 0};
        timeout = (int)(next_tick - mono_ms());
        if (timeout < 0)
            timeout = 0;
        if (p->mlq_len > 0) /* mirror-log lines wait for the budget */
            timeout = min_timeout(timeout, 1000 / CP_MLOG_PER_S);
        if (p->hold_offline && (p->trig_tables > 0 || mono_ms() >= p->hold_until)) {
            p->hold_offline = 0; /* the first trigger table is in force (or none came) */
            log_debug(CP_TOKEN, "pcap sources: reading (%s)",
                      p->trig_tables > 0 ? "the trigger table is in force" : "no table came");
        }
        if (p->hold_offline)
            timeout = min_timeout(timeout, (int)(p->hold_until - mono_ms()));
        for (size_t i = 0; i < p->nsrc; i++) {
            if (p->src[i].src == NULL || held(p, &p->src[i]))
                continue;
            int fd = cap_source_pollfd(p->src[i].src);
            if (fd >= 0)
                fds[n++] = (struct pollfd){fd, POLLIN, 0};
            timeout = min_timeout(timeout, cap_source_poll_timeout(p->src[i].src));
        }
        if (test) {
            int fd = h->capture_test_pollfd != NULL ? h->capture_test_pollfd(h->arg) : -1;
            if (fd >= 0) {
                it = (int)n;
                fds[n++] = (struct pollfd){fd, POLLIN, 0};
            }
            if (h->capture_test_timeout != NULL)
                timeout = min_timeout(timeout, h->capture_test_timeout(h->arg));
        }
        ijm = (int)n; /* the jmirror sockets: POLLERR, an ICMP error queued */
        size_t njm = cp_mirror_pollfds(p, fds + n, JM_FDS_MAX);
        n += (nfds_t)njm;
        cp_mirror_flush(p); /* nothing waits in the batch while the loop sleeps */
        struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000};
        int rc = ppoll(fds, n, &ts, &empty);
        if (rc < 0 && errno != EINTR) {
            log_warn(CP_TOKEN, "ppoll");
            return 1;
        }
        if (rc > 0 && fds[ib].revents & (POLLIN | POLLHUP | POLLERR)) {
            if (!drain(p->chan_b, on_chan_b, p, NULL)) {
                log_info(CP_TOKEN, "the monitor closed its channel: stopping");
                p->stop = 1;
            }
        }
        if (rc > 0 && ic >= 0 && p->chan_c != NULL &&
            fds[ic].revents & (POLLIN | POLLHUP | POLLERR)) {
            struct ipc_chan *before = p->chan_c;
            if (!drain(before, cp_on_chan_c, p, &p->chan_c) && p->chan_c == before)
                drop_chan_c(p, "is closed (the agent is gone)");
        }
        if (rc > 0 && fds[ilw].revents) {
            if (cap_linkwatch_read(p->lw, on_link, p, err, sizeof(err)) < 0)
                log_warnx(CP_TOKEN, "%s", err);
        }
        for (size_t i = 0; rc > 0 && i < njm; i++)
            if (fds[ijm + (int)i].revents & POLLERR) {
                cp_mirror_errors(p); /* reads every socket's queue */
                break;
            }
        cap_clock_pass(&p->clock); /* one clock reading for the frames of this pass */
        for (size_t i = 0; i < p->nsrc; i++) {
            if (p->src[i].src != NULL && !held(p, &p->src[i]) &&
                cap_source_dispatch(p->src[i].src, err, sizeof(err)) < 0)
                log_warnx(CP_TOKEN, "%s", err);
            cp_mirror_flush(p); /* a pass over a ring block: its datagrams leave now */
        }
        if (test) {
            int due = h->capture_test_timeout != NULL ? h->capture_test_timeout(h->arg) : -1;
            if ((it >= 0 && rc > 0 && fds[it].revents) || due == 0)
                h->capture_test_run(h->arg);
        }
        if (mono_ms() >= next_tick) {
            tick(p);
            next_tick = mono_ms() + CP_TICK_MS;
        }
        cp_mirror_flush(p); /* nothing waits in the batch while the loop sleeps */
        flush_all(p);
    }
    return 0;
}

/* At exit: the last statistics, and a short wait for the agent to take them. */
static void final_flush(struct cap_proc *p)
{
    cp_mirror_flush(p);
    tick(p);
    flush_all(p);
    cp_mlog_drain(p, 1);
    int64_t until = mono_ms() + CP_EXIT_FLUSH_MS;
    while (p->chan_c != NULL && ipc_chan_pending(p->chan_c) && mono_ms() < until) {
        struct pollfd pfd = {ipc_chan_fd(p->chan_c), POLLOUT, 0};
        (void)poll(&pfd, 1, 100);
        if (ipc_chan_flush(p->chan_c) < 0 && errno != EAGAIN)
            break;
    }
}

static void cleanup(struct cap_proc *p)
{
    pm_event_set_sink(NULL, NULL);
    for (size_t i = 0; i < p->nsrc; i++)
        cap_source_free(p->src[i].src);
    cap_linkwatch_free(p->lw);
    pkt_dedupe_free(p->dedupe);
    reasm_free(p->reasm);
    cp_trig_free(p);
    cp_sess_free(p);
    cp_mlog_free(p);
    cp_reload_free(p); /* the running lines: RADIUS secrets */
    if (p->chan_c != NULL)
        ipc_chan_free(p->chan_c);
    if (p->chan_b != NULL)
        ipc_chan_free(p->chan_b);
    log_close();
}

/* ---- start-up ------------------------------------------------------------------------------ */

static int usage(void)
{
    fprintf(stderr, "usage: pmirrord --child capture [-f] [-D TOKENS]\n"
                    "(started by pmirrord itself, with its channels at descriptors 3 and 4)\n");
    return 2;
}

static void log_sandbox(void)
{
    struct sbx_status st;
    char err[256];
    if (sbx_status(&st, err, sizeof(err)) < 0) {
        log_warnx(CP_TOKEN, "%s", err);
        return;
    }
    /* No uid here: the log must not look like it names a control-socket peer. */
    log_info(CP_TOKEN, "sandbox: capabilities %#llx, no_new_privs %d, seccomp %d, landlock %d",
             (unsigned long long)st.cap_eff, st.no_new_privs, st.seccomp, st.landlock);
}

static int start(struct cap_proc *p, struct cp_slice *sl)
{
    char err[1024];
    static struct cp_conf conf;

    /* 0. The monitor's channel, to report a failure (it reads nothing yet). */
    p->chan_b = ipc_chan_new(CP_FD_MONITOR, CP_CHAN_BACKLOG, NULL, NULL, err, sizeof(err));
    if (p->chan_b == NULL) {
        log_error(CP_TOKEN, "the monitor's channel (fd %d): %s", CP_FD_MONITOR, err);
        return 1;
    }

    /* 1. Privileges first: nothing is read as root. */
    if (geteuid() != 0) {
        log_warnx(CP_TOKEN, "not started as root: privileges not dropped; only pcap files "
                            "can be captured");
    } else {
        int rc = sbx_drop_privileges(CAP_PROC_USER, err, sizeof(err));
        if (rc < 0)
            return fail(p, err);
        if (rc > 0)
            log_warnx(CP_TOKEN, "%s", err);
    }

    /* 2. The agent's channel, the slice and its descriptors. */
    if (fcntl(CP_FD_AGENT, F_GETFD) < 0)
        log_warnx(CP_TOKEN, "no agent channel at fd %d", CP_FD_AGENT);
    else
        new_chan_c(p, CP_FD_AGENT, 0);
    int rc =
        cp_slice_read(p->chan_b, CAP_PROC_SLICE_MS, p->hooks, &cp_got_term, sl, err, sizeof(err));
    if (rc < 0)
        return fail(p, err);
    for (size_t i = 0; i < sl->nfds; i++) {
        if (sl->fd[i].purpose == IPC_FD_PEER_CHAN) {
            new_chan_c(p, sl->fd[i].fd, 1);
            sl->fd[i].fd = -1;
        } else if (sl->fd[i].purpose == IPC_FD_START_LOG && start_log_fd < 0) {
            if (dup3(sl->fd[i].fd, CP_FD_START_LOG, O_CLOEXEC) == CP_FD_START_LOG) {
                start_log_fd = CP_FD_START_LOG;
                log_set_echo(start_log_echo, NULL);
            }
        } else if (sl->fd[i].purpose == IPC_FD_TEST_FIFO && p->test_fd < 0) {
            p->test_fd = sl->fd[i].fd;
            sl->fd[i].fd = -1;
        }
    }
    rc = cp_conf_from_slice(sl, &conf, err, sizeof(err));
    if (rc == 0)
        rc = open_sources(p, &conf, sl, err, sizeof(err));
    /* 2b. Sessions: trackers (RADIUS secrets), engine, jmirror sockets. */
    if (rc == 0)
        rc = cp_sess_start(p, &conf, err, sizeof(err));
    if (rc == 0) /* its lines, for the SAME lines of a reload */
        rc = cp_slice_keep(p, sl, err, sizeof(err));
    cp_conf_clear(&conf);
    OPENSSL_cleanse(&conf, sizeof(conf));
    cp_slice_clear(sl); /* closes the descriptors no source took */
    if (rc < 0)
        return fail(p, err);

    /* 3. Link watcher before the sources, decoders, then activation. */
    p->lw = cap_linkwatch_open(err, sizeof(err));
    if (p->lw == NULL)
        return fail(p, err);
    p->dedupe = pkt_dedupe_new(CP_DEDUPE_SLOTS, CP_DEDUPE_MS, NULL);
    p->reasm = reasm_new(CP_REASM_DGRAMS, CP_REASM_BYTES, CP_REASM_MS);
    if (p->dedupe == NULL || p->reasm == NULL)
        return fail(p, "capture: out of memory (dedupe, reassembly)");
    if (activate_sources(p, err, sizeof(err)) < 0)
        return fail(p, err);

    /* 4. Libraries that read files at start, then the sandbox. */
    if (OPENSSL_init_crypto(0, NULL) != 1)
        return fail(p, "capture: OpenSSL initialisation failed");
    tzset();
    int outs[] = {2, CP_FD_MONITOR, CP_FD_AGENT, CP_FD_START_LOG};
    /* the jmirror sockets: open for the process's life */
    if (sbx_set_output_fds(outs, 4, err, sizeof(err)) < 0 ||
        sbx_set_datagram_fds(p->jm_fd, p->jm_nfds, err, sizeof(err)) < 0)
        return fail(p, err);
    (void)sbx_set_send_only_fd(syslog_fd); /* glibc's syslog() uses send() alone */
    if (p->jmr != NULL)                    /* the path MTU's rtnetlink queries (jm_route.h) */
        (void)sbx_set_route_fd(jm_route_fd(p->jmr));
    rc = sbx_apply_seccomp(0, err, sizeof(err));
    if (rc < 0)
        return fail(p, err);
    p->sandboxed = 1;
    if (rc > 0)
        log_warnx(CP_TOKEN, "%s", err);
    log_sandbox();

    /* 5. The test producer (test builds), events to chan C, then ready. */
    if (p->test_fd >= 0) {
        int fd = p->test_fd;
        if (p->hooks->capture_test_start(fd, p->hooks->arg) != 0)
            return fail(p, "capture: the test producer did not start");
    }
    pm_event_set_sink(cp_event_sink, p);
    log_info(CP_TOKEN, "ready: %zu source(s)", p->nsrc);
    send_status(p->chan_b, IPC_STATUS_READY, "");
    start_log_release();
    return 0;
}

int pm_capture_proc_main(int argc, char **argv, const struct pm_daemon_hooks *hooks)
{
    static struct cp_slice slice;
    struct cap_proc *p = &cp;
    int foreground = 0, opt;
    const char *debug = NULL;
    char err[512];

    memset(p, 0, sizeof(*p));
    /* ps, top and pgrep tell the processes apart (all three are /proc/self/exe) */
    (void)prctl(PR_SET_NAME, "pmirrord-cap", 0, 0, 0);
    p->hooks = hooks;
    p->test_fd = -1;
    p->test_build = hooks != NULL && hooks->capture_test_start != NULL;
    if (cp_mlog_init(p) < 0) {
        fprintf(stderr, "pmirrord-capture: out of memory\n");
        return 1;
    }
    optind = 3; /* after PROG --child capture */
    while (argc >= 3 && (opt = getopt(argc, argv, "fD:")) != -1) {
        if (opt == 'f')
            foreground = 1;
        else if (opt == 'D')
            debug = optarg;
        else
            return usage();
    }
    if (argc < 3 || optind != argc)
        return usage();
    /* fd 5 held before syslog takes a number; syslog's is the next free one */
    hold_fd(CP_FD_START_LOG);
    int next = fcntl(2, F_DUPFD_CLOEXEC, 0);
    if (next >= 0)
        close(next);
    log_init("pmirrord-capture", foreground ? LOG_TARGET_STDERR : LOG_TARGET_SYSLOG);
    struct stat lst;
    if (!foreground && next >= 0 && fstat(next, &lst) == 0 && S_ISSOCK(lst.st_mode))
        syslog_fd = next;
    if (debug != NULL && log_set_debug(debug, err, sizeof(err)) < 0) {
        log_error(CP_TOKEN, "%s", err);
        return 2;
    }

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct sigaction sa = {.sa_handler = on_term};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = start(p, &slice);
    if (rc == 0) {
        rc = run_loop(p);
        final_flush(p);
        log_info(CP_TOKEN, "stopped");
    } else {
        cp_slice_clear(&slice);
        if (p->test_fd >= 0)
            close(p->test_fd);
    }
    cleanup(p);
    if (p->sandboxed) {
        /* Not back to main(): exit handlers may need what the filter forbids
         * (LeakSanitizer's check at exit runs clone and ptrace: SIGSYS). */
        fflush(NULL);
        _exit(rc);
    }
    return rc;
}
