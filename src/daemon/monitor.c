/*
 * monitor.c - pmirrord's privileged parent (docs/process-model.md).
 *
 * Start-up, after the configuration was validated and the process detached
 * (daemon.c): pidfile (the instance lock), RLIMIT_MEMLOCK while root (the
 * children inherit it), harden and lock; the children's accounts;
 * persistentDir given to the agent's user; the control socket bound; the
 * pcap files opened; then the agent and the capture process are started.
 *
 * Every start of a child (the first and every restart) runs prestart() before
 * the fork: the configuration is read and validated again, a new socketpair
 * for the child's monitor channel (chan A for the agent, B for the capture
 * process) and a new chan C to the other child are made, and the child's
 * records are queued on its channel:
 *
 *   HELLO (role monitor, generation = this start's number)
 *   CONFIG BEGIN, CONFIG lines, FD records, CONFIG END   (conf_slice.h)
 *     agent:   FD control-listen
 *     capture: FD pcap-file per pcap:FILE source (first start only),
 *              FD test-fifo (test builds)
 *   STATS process:agent, process:capture (to the agent; after every start
 *              and every death)
 *
 * The child gets its channel end at fd 3 and its end of chan C at fd 4; the
 * other end of chan C goes to the other child, if it runs, as FD peer-chan on
 * its monitor channel, else it waits for that child's next start.  A file
 * that no longer validates delays the restart (logged with FILE:LINE).
 *
 * The monitor then expects on each channel: HELLO (optional), STATUS READY or
 * FAILED; from the agent, PRIV_REQ (agentx) at any time.  READY from both
 * makes the daemon ready; FAILED or a death before that fails the start-up.
 * Every record is untrusted: anything else is counted and ignored.
 */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "memlock.h"
#include "monitor_reload.h"
#include "pidfile.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ctl_listen.h"
#include "pmirrord/daemon.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"
#include "pmirrord/sandbox.h"
#include "pmirrord/sdnotify.h"
#include "pmirrord/securemem.h"
#include "pmirrord/supervise.h"
#include "ready.h"

struct monitor;

struct mon_proc {
    const char *name; /* "agent", "capture" */
    unsigned dest;    /* CONF_DEST_* */
    uint8_t role;     /* enum ipc_role */
    struct monitor *m;
    struct mon_proc *other;
    struct sv_child *sv;
    struct ipc_chan *ch;   /* our end of its monitor channel (this start's) */
    int peer_give;         /* this start's chan C end for the other child, until sent */
    int peer_pending;      /* a chan C end made at the other's start, for our next start */
    int ready;             /* STATUS READY of this start */
    uint64_t priv_next_ms; /* no PRIV_REQ connect before this (monotonic ms) */
    unsigned status_seen;  /* STATUS records of this start */
    int eof;               /* its channel reached the end */
    uint64_t deaths;
    uint64_t unexpected;        /* records a monitor does not take from it */
    uint64_t unexpected_logged; /* the count at this start: a wrong HELLO logged once */
    uint64_t priv_window_ms;    /* PRIV_REQ rate: the current one-second window */
    unsigned priv_in_window;
    struct mon_rl_child rl; /* the digests of the lines it runs (monitor_reload.h) */
};

struct pcap_fd {
    int fd;
    uint32_t id; /* the capture directive's position, 1.. */
    char name[IPC_FDNAME_MAX + 1];
};

struct monitor {
    const struct mon_options *o;
    const struct pm_daemon_hooks *hooks;
    struct sv_set *set;
    struct mon_proc agent, capture;
    struct ctl_listen ctl;
    struct pcap_fd *pcaps;
    size_t npcaps;
    int pcaps_sent; /* a pcap file is read once per daemon lifetime */
    int test_fd;
    int sigfd;
    char agentx[PM_PATH_MAX]; /* agentXSocket of the agent's current slice */
    char *envp[8];
    int ready;    /* daemon_ready() said */
    int failed;   /* start-up failed: why */
    int stopping; /* a stop signal came */
    char why[IPC_MLOG_MAX + 64];
    uint64_t start_ms;
    struct mon_rl rl; /* SIGHUP (monitor_reload.c) */
    int hup_at_ready; /* a SIGHUP during start-up: a reload once both are ready */
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void fail_start(struct monitor *m, const char *fmt, ...) PM_PRINTF(2, 3);
static void fail_start(struct monitor *m, const char *fmt, ...)
{
    if (m->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m->why, sizeof(m->why), fmt, ap);
    va_end(ap);
    m->failed = 1;
}

/* ---- records to the children ------------------------------------------------ */

static int put(struct ipc_chan *ch, const struct ipc_rec *r, const char *what)
{
    char err[256];
    if (ipc_chan_put(ch, r, err, sizeof(err)) == 0)
        return 0;
    log_warnx("mon", "cannot send %s: %s", what, err);
    return -1;
}

static int put_fd(struct ipc_chan *ch, uint16_t purpose, uint32_t id, const char *name, int fd,
                  char *err, size_t errlen)
{
    struct ipc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = IPC_FD;
    r.u.fd.purpose = purpose;
    r.u.fd.id = id;
    if (name != NULL)
        snprintf(r.u.fd.name, sizeof(r.u.fd.name), "%s", name);
    return ipc_chan_put_fd(ch, &r, fd, err, errlen);
}

static void flush(struct mon_proc *p)
{
    if (p->ch != NULL && ipc_chan_flush(p->ch) < 0 && errno != EPIPE && errno != ECONNRESET)
        log_warn("mon", "%s channel", p->name);
}

/* STATS process:NAME to the agent: its starts, restarts and deaths, and the
 * last cause as a counter's name ("last cause: killed by SIGSYS" = deaths). */
static void send_stats(struct monitor *m, struct mon_proc *p)
{
    static struct ipc_rec r; /* 9 KiB: not on the stack */
    if (m->agent.ch == NULL || p->sv == NULL)
        return;
    memset(&r, 0, sizeof(r));
    r.type = IPC_STATS;
    snprintf(r.u.stats.source, sizeof(r.u.stats.source), "process:%s", p->name);
    struct ipc_counter *c = r.u.stats.counters;
    snprintf(c[0].name, sizeof(c[0].name), "starts");
    c[0].value = sv_child_starts(p->sv);
    snprintf(c[1].name, sizeof(c[1].name), "restarts");
    c[1].value = sv_child_restarts(p->sv);
    snprintf(c[2].name, sizeof(c[2].name), "deaths");
    c[2].value = p->deaths;
    /* the PID as the monitor knows it (the one to trust), 0 while not running */
    snprintf(c[3].name, sizeof(c[3].name), "pid");
    c[3].value = (uint64_t)sv_child_pid(p->sv);
    snprintf(c[4].name, sizeof(c[4].name), "running");
    c[4].value = sv_child_pid(p->sv) != 0;
    r.u.stats.ncounters = 5;
    const char *cause = sv_child_last_cause(p->sv);
    if (cause[0] != '\0') {
        snprintf(c[5].name, sizeof(c[5].name), "last cause: %.50s", cause);
        c[5].value = p->deaths;
        r.u.stats.ncounters = 6;
    }
    (void)put(m->agent.ch, &r, "process statistics to the agent");
}

/* ---- one start of a child ----------------------------------------------------- */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void discard_start(struct mon_proc *p)
{
    ipc_chan_free(p->ch);
    p->ch = NULL;
    close_fd(&p->peer_give);
    sv_child_drop_fds(p->sv);
}

/* Detached and not ready yet: the child's start-up messages reach the
 * terminal that started the daemon too (README "Running pmirrord"). */
static int put_start_log(struct monitor *m, struct mon_proc *p, char *err, size_t errlen)
{
    if (m->ready || daemon_ready_fd() < 0)
        return 0;
    return put_fd(p->ch, IPC_FD_START_LOG, 0, "start-log", daemon_ready_fd(), err, errlen);
}

/* The descriptors of the slice (after its lines, before END). */
static int put_slice_fds(struct monitor *m, struct mon_proc *p, char *err, size_t errlen)
{
    if (p == &m->agent)
        return put_fd(p->ch, IPC_FD_CONTROL_LISTEN, 0, m->ctl.path, m->ctl.fd, err, errlen) < 0 ||
                       put_start_log(m, p, err, errlen) < 0
                   ? -1
                   : 0;
    if (!m->pcaps_sent)
        for (size_t i = 0; i < m->npcaps; i++)
            if (put_fd(p->ch, IPC_FD_PCAP_FILE, m->pcaps[i].id, m->pcaps[i].name, m->pcaps[i].fd,
                       err, errlen) < 0)
                return -1;
    if (m->test_fd >= 0 &&
        put_fd(p->ch, IPC_FD_TEST_FIFO, 0, "test-fifo", m->test_fd, err, errlen) < 0)
        return -1;
    return put_start_log(m, p, err, errlen);
}

static int prestart(void *arg, struct sv_child *c, char *err, size_t errlen)
{
    struct mon_proc *p = arg;
    struct monitor *m = p->m;
    int mon[2] = {-1, -1}, peer[2] = {-1, -1};
    struct pm_conf conf;
    (void)c;

    discard_start(p); /* a start that failed after its prestart */
    if (ipc_socketpair(mon, MON_CHAN_BUF, err, errlen) < 0)
        return -1;
    if (p->peer_pending >= 0) { /* made at the other child's start */
        peer[0] = p->peer_pending;
        p->peer_pending = -1;
    } else if (ipc_socketpair(peer, MON_PEER_BUF, err, errlen) < 0) {
        goto fail;
    }
    p->ch = ipc_chan_new(mon[0], MON_CHAN_BACKLOG, NULL, NULL, err, errlen);
    mon[0] = -1;
    if (p->ch == NULL)
        goto fail;

    struct ipc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = IPC_HELLO;
    r.u.hello.version = IPC_VERSION;
    r.u.hello.role = IPC_ROLE_MONITOR;
    r.u.hello.pid = (uint32_t)getpid();
    r.u.hello.generation = sv_child_starts(p->sv) + 1;
    if (ipc_chan_put(p->ch, &r, err, errlen) < 0)
        goto fail;
    /* The file as it is now: a restarted child gets what is on disk, and
     * the digests of what it got are kept for the next reload. */
    struct conf_digests dg = {0};
    if (conf_slice_send_digests(p->ch, m->o->conf_path, p->dest, &conf, &dg, err, errlen) < 0)
        goto fail;
    mon_rl_started(&m->rl, &p->rl, &dg);
    if (p == &m->agent)
        snprintf(m->agentx, sizeof(m->agentx), "%s", conf.agentx_socket);
    conf_free(&conf);
    OPENSSL_cleanse(&conf, sizeof(conf)); /* the mirror secret's hash */
    if (put_slice_fds(m, p, err, errlen) < 0 || conf_slice_send_end(p->ch, err, errlen) < 0)
        goto fail;

    int fds[2] = {mon[1], peer[0]};
    if (sv_child_set_fds(p->sv, fds, 2, err, errlen) < 0)
        goto fail;
    close_fd(&mon[1]);
    close_fd(&peer[0]);
    p->peer_give = peer[1];
    return 0;
fail:
    close_fd(&mon[0]);
    close_fd(&mon[1]);
    close_fd(&peer[0]);
    close_fd(&peer[1]);
    ipc_chan_free(p->ch);
    p->ch = NULL;
    return -1;
}

/* After the fork: the other end of the new chan C to the other child. */
static void started(struct monitor *m, struct mon_proc *p)
{
    struct mon_proc *o = p->other;
    char err[256];
    sv_child_drop_fds(p->sv); /* only the child holds its ends now */
    p->ready = 0;
    p->eof = 0;
    p->status_seen = 0;
    p->unexpected_logged = p->unexpected; /* (re)armed: one log line per start */
    log_info("mon", "%s process started (pid %ld, start %u)", p->name, (long)sv_child_pid(p->sv),
             sv_child_starts(p->sv));
    if (p->peer_give >= 0) {
        if (o->ch != NULL && sv_child_pid(o->sv) > 0) {
            if (put_fd(o->ch, IPC_FD_PEER_CHAN, 0, p->name, p->peer_give, err, sizeof(err)) < 0)
                log_warnx("mon", "cannot send the %s process its new channel to the %s process: %s",
                          o->name, p->name, err);
            close_fd(&p->peer_give);
            flush(o);
        } else { /* kept for the other's next start */
            close_fd(&o->peer_pending);
            o->peer_pending = p->peer_give;
            p->peer_give = -1;
        }
    }
    flush(p);
    send_stats(m, &m->agent);
    send_stats(m, &m->capture);
    flush(&m->agent);
}

static void on_rec(struct ipc_rec *rec, void *arg);

/* A child's channel for a reload slice: only while it runs and is ready. */
static struct ipc_chan *reload_chan(void *arg, struct mon_rl_child *c)
{
    struct monitor *m = arg;
    struct mon_proc *p = c == &m->agent.rl ? &m->agent : &m->capture;
    if (p->ch == NULL || p->eof || !p->ready || sv_child_pid(p->sv) == 0)
        return NULL;
    return p->ch;
}

static struct mon_proc *proc_of(struct monitor *m, const struct sv_child *c)
{
    return c == m->agent.sv ? &m->agent : &m->capture;
}

static void on_sv_event(void *arg, const struct sv_child *c, enum sv_event ev, const char *detail)
{
    struct monitor *m = arg;
    struct mon_proc *p = proc_of(m, c);
    switch (ev) {
    case SV_EV_STARTED:
        started(m, p);
        break;
    case SV_EV_START_FAILED:
        discard_start(p);
        log_error("mon", "cannot start the %s process: %s; trying again in %u ms", p->name, detail,
                  sv_child_last_backoff_ms(p->sv));
        break;
    case SV_EV_DIED:
        /* What it said before it died first: a FAILED status and its reason. */
        for (int i = 0; i < 256 && p->ch != NULL && ipc_chan_recv(p->ch, on_rec, p) == 1; i++)
            ;
        ipc_chan_free(p->ch);
        p->ch = NULL;
        p->deaths++;
        mon_rl_gone(&m->rl, &p->rl);
        if (m->stopping)
            break;
        if (!m->ready) {
            fail_start(m, "%s process: %s", p->name, detail);
            break;
        }
        log_warnx("mon", "%s process %s; starting it again in %u ms", p->name, detail,
                  sv_child_last_backoff_ms(p->sv));
        p->ready = 0;
        send_stats(m, p);
        flush(&m->agent);
        break;
    }
}

/* ---- records from the children ------------------------------------------------ */

static void maybe_ready(struct monitor *m)
{
    if (m->ready || !m->agent.ready || !m->capture.ready)
        return;
    m->ready = 1;
    log_info("mon", "agent pid %ld, capture pid %ld", (long)sv_child_pid(m->agent.sv),
             (long)sv_child_pid(m->capture.sv));
    log_info("main", "pmirrord %s started", PM_VERSION);
    daemon_ready();
    sdn_ready("running: agent and capture process ready");
    if (m->hup_at_ready) {
        m->hup_at_ready = 0;
        mon_rl_sighup(&m->rl);
    }
}

static void on_rec(struct ipc_rec *rec, void *arg)
{
    struct mon_proc *p = arg;
    struct monitor *m = p->m;
    switch (rec->type) {
    case IPC_HELLO:
        if (rec->u.hello.role != p->role) {
            if (p->unexpected++ == p->unexpected_logged) /* a child says what it likes: */
                log_warnx("mon", "%s process says it is role %u", p->name, rec->u.hello.role);
        }
        return;
    case IPC_STATUS:
        if (mon_rl_status(&m->rl, &p->rl, &rec->u.status))
            return;                 /* an answer to a reload slice */
        if (p->status_seen++ > 0) { /* one STATUS per start; more is only counted */
            p->unexpected++;
            return;
        }
        if (rec->u.status.state == IPC_STATUS_READY) {
            if (!p->ready)
                log_info("mon", "%s process ready", p->name);
            p->ready = 1;
            maybe_ready(m);
        } else if (!m->ready) {
            fail_start(m, "%s process: %s", p->name,
                       rec->u.status.text[0] ? rec->u.status.text : "failed to start");
        } else {
            log_error("mon", "%s process cannot start: %s", p->name, rec->u.status.text);
        }
        return;
    case IPC_PRIV_REQ:
        if (p != &m->agent) { /* the capture process asks nothing: counted, unanswered */
            p->unexpected++;
            return;
        }
        if (rec->u.priv_req.what != IPC_PRIV_AGENTX) {
            p->unexpected++;
            mon_priv_fail(p->ch, rec->u.priv_req.request_id, EPERM, "request refused");
            return;
        }
        /* Each connect may wait MON_AGENTX_MS: an agent asking in a loop
         * must not hold the monitor (signals, restarts) for long. */
        uint64_t now = mono_ms();
        if (now - p->priv_window_ms >= 1000) {
            p->priv_window_ms = now;
            p->priv_in_window = 0;
        }
        /* And never two connects closer than 250 ms apart, counted from the
         * end of the last one: a master that drops SYNs (1 s a connect)
         * cannot keep the monitor in connect() more than 80 % of the time. */
        if (++p->priv_in_window > MON_PRIV_PER_S || now < p->priv_next_ms) {
            mon_priv_fail(p->ch, rec->u.priv_req.request_id, EAGAIN,
                          "too many requests: at most " PM_STR(MON_PRIV_PER_S) " a second");
            return;
        }
        mon_priv_agentx(p->ch, rec->u.priv_req.request_id, m->agentx);
        p->priv_next_ms = mono_ms() + 250;
        return;
    default:
        /* An FD record's descriptor is closed by the channel. */
        p->unexpected++;
        log_debug("mon", "%s process: unexpected %s record ignored", p->name,
                  ipc_type_name(rec->type) ? ipc_type_name(rec->type) : "?");
        return;
    }
}

static void read_chan(struct mon_proc *p)
{
    int r;
    for (int i = 0; i < 64 && p->ch != NULL; i++) { /* bounded: the other one waits */
        r = ipc_chan_recv(p->ch, on_rec, p);
        if (r == 0 || (r < 0 && errno == ECONNRESET)) {
            p->eof = 1; /* its death follows (SIGCHLD) */
            return;
        }
        if (r < 0) {
            if (errno != EAGAIN && errno != EINTR)
                log_warn("mon", "%s channel", p->name);
            break;
        }
    }
    flush(p);
}

/* ---- set-up --------------------------------------------------------------------- */

/* The children's accounts: only the agent's is needed here (persistentDir);
 * each child resolves and drops to its own (sandbox.h). */
static void resolve_users(uid_t *uid, gid_t *gid)
{
    char err[256];
    *uid = geteuid();
    *gid = getegid();
    if (geteuid() != 0) {
        log_warnx("mon",
                  "not started as root: privileges cannot be separated; both children run as "
                  "uid %u, and the capture process reads only pcap files",
                  (unsigned)geteuid());
        return;
    }
    int r = sbx_resolve_user(MON_AGENT_USER, uid, gid, err, sizeof(err));
    if (r < 0) {
        log_warnx("mon", "agent user: %s", err);
        *uid = geteuid();
        *gid = getegid();
    } else if (r == 1) {
        log_warnx("mon", "agent user: %s", err);
    }
    uid_t cu;
    gid_t cg;
    int rc = sbx_resolve_user(MON_CAPTURE_USER, &cu, &cg, err, sizeof(err));
    if (rc != 0)
        log_warnx("mon", "capture user: %s", err);
    if (r != 0 || rc != 0)
        log_warnx("mon",
                  "without both accounts the agent and the capture process may share a "
                  "user, which weakens their separation: create %s and %s (README, "
                  "\"Build and install\")",
                  MON_AGENT_USER, MON_CAPTURE_USER);
}

/* Every pcap:FILE source, opened once as root, before any child. */
static int open_pcaps(struct monitor *m, const struct pm_conf *c, char *err, size_t errlen)
{
    m->pcaps = calloc(c->ncaptures > 0 ? c->ncaptures : 1, sizeof(*m->pcaps));
    if (m->pcaps == NULL)
        return pm_err(err, errlen, "out of memory");
    for (size_t i = 0; i < c->ncaptures; i++) {
        const struct cap_spec *s = &c->captures[i].spec;
        if (!s->offline)
            continue;
        int fd = mon_open_pcap(c->captures[i].where, s->src, err, errlen);
        if (fd < 0)
            return -1;
        struct pcap_fd *pf = &m->pcaps[m->npcaps++];
        pf->fd = fd;
        pf->id = (uint32_t)(i + 1);
        snprintf(pf->name, sizeof(pf->name), "pcap:%.*s", (int)(sizeof(pf->name) - 6), s->src);
    }
    return 0;
}

static int setup_signals(struct monitor *m, char *err, size_t errlen)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
        return pm_err(err, errlen, "signals: %s", strerror(errno));
    m->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m->sigfd < 0)
        return pm_err(err, errlen, "signalfd: %s", strerror(errno));
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

static void on_signals(struct monitor *m)
{
    struct signalfd_siginfo si;
    while (read(m->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
        if (si.ssi_signo == SIGHUP) {
            if (m->stopping)
                continue;
            if (m->ready) {
                mon_rl_sighup(&m->rl);
            } else {
                log_info("mon", "SIGHUP during start-up: a reload once both processes are ready");
                m->hup_at_ready = 1;
            }
            continue;
        }
        if (!m->stopping)
            log_info("mon", "SIG%s: stopping", sigabbrev_np((int)si.ssi_signo));
        m->stopping = 1;
    }
}

static const char *const pass_env[] = {"ASAN_OPTIONS", "LSAN_OPTIONS", "UBSAN_OPTIONS"};

static int make_child(struct monitor *m, struct mon_proc *p, char *err, size_t errlen)
{
    char *argv[8];
    int n = 0;
    argv[n++] = (char *)m->o->argv0;
    argv[n++] = "--child";
    argv[n++] = (char *)p->name;
    if (m->o->foreground)
        argv[n++] = "-f";
    if (m->o->debug != NULL) {
        argv[n++] = "-D";
        argv[n++] = (char *)m->o->debug;
    }
    argv[n] = NULL;
    p->sv = sv_child_new(m->set, p->name, "/proc/self/exe", argv, err, errlen);
    if (p->sv == NULL)
        return -1;
    sv_child_set_prestart(p->sv, prestart, p);
    return sv_child_set_env(p->sv, m->envp, err, errlen);
}

static void make_env(struct monitor *m)
{
    size_t n = 0;
    for (size_t i = 0; i < sizeof(pass_env) / sizeof(pass_env[0]); i++) {
        const char *v = getenv(pass_env[i]);
        if (v == NULL)
            continue;
        size_t len = strlen(pass_env[i]) + strlen(v) + 2;
        char *s = malloc(len);
        if (s == NULL)
            continue;
        snprintf(s, len, "%s=%s", pass_env[i], v);
        m->envp[n++] = s;
    }
    m->envp[n] = NULL;
}

/* ---- the loop ------------------------------------------------------------------- */

static void poll_once(struct monitor *m)
{
    struct pollfd pf[4];
    struct mon_proc *procs[2] = {&m->agent, &m->capture};
    int np = 0, idx[2] = {-1, -1};
    pf[np++] = (struct pollfd){.fd = m->sigfd, .events = POLLIN};
    pf[np++] = (struct pollfd){.fd = sv_set_fd(m->set), .events = POLLIN};
    for (int i = 0; i < 2; i++) {
        struct mon_proc *p = procs[i];
        if (p->ch == NULL || p->eof || sv_child_pid(p->sv) == 0)
            continue;
        idx[i] = np;
        pf[np++] = (struct pollfd){.fd = ipc_chan_fd(p->ch),
                                   .events = POLLIN | (ipc_chan_pending(p->ch) ? POLLOUT : 0)};
    }
    int timeout = sv_next_timeout_ms(m->set);
    int rl_left = mon_rl_timeout_ms(&m->rl);
    if (rl_left >= 0 && (timeout < 0 || rl_left < timeout))
        timeout = rl_left;
    if (!m->ready) {
        uint64_t now = mono_ms(), end = m->start_ms + MON_START_MS;
        int left = now >= end ? 0 : (int)(end - now);
        if (timeout < 0 || left < timeout)
            timeout = left;
    }
    int r = poll(pf, (nfds_t)np, timeout);
    if (r < 0 && errno != EINTR) {
        log_warn("mon", "poll");
        return;
    }
    if (pf[0].revents & POLLIN)
        on_signals(m);
    if (pf[1].revents & POLLIN)
        sv_reap(m->set);
    for (int i = 0; i < 2; i++) {
        if (idx[i] < 0)
            continue;
        if (pf[idx[i]].revents & (POLLIN | POLLHUP | POLLERR))
            read_chan(procs[i]);
        if (pf[idx[i]].revents & POLLOUT)
            flush(procs[i]);
    }
    if (!m->stopping && sv_next_timeout_ms(m->set) == 0)
        sv_restart_due(m->set);
    mon_rl_tick(&m->rl);
    if (!m->ready && mono_ms() >= m->start_ms + MON_START_MS)
        fail_start(m, "%s process: no STATUS within %u s", !m->agent.ready ? "agent" : "capture",
                   MON_START_MS / 1000);
}

static int first_starts(struct monitor *m, char *err, size_t errlen)
{
    char why[1024];
    if (sv_child_start(m->agent.sv, why, sizeof(why)) < 0) {
        discard_start(&m->agent);
        return pm_err(err, errlen, "agent process: %s", why);
    }
    if (sv_child_start(m->capture.sv, why, sizeof(why)) < 0) {
        discard_start(&m->capture);
        return pm_err(err, errlen, "capture process: %s", why);
    }
    return 0;
}

static void teardown(struct monitor *m)
{
    if (m->set != NULL) {
        int killed = sv_stop_all(m->set, MON_STOP_MS);
        if (killed > 0)
            log_warnx("mon", "%d child process%s needed SIGKILL", killed, killed > 1 ? "es" : "");
    }
    struct mon_proc *procs[2] = {&m->agent, &m->capture};
    for (int i = 0; i < 2; i++) {
        ipc_chan_free(procs[i]->ch);
        procs[i]->ch = NULL;
        close_fd(&procs[i]->peer_give);
        close_fd(&procs[i]->peer_pending);
    }
    sv_set_free(m->set);
    m->set = NULL;
    mon_rl_free(&m->rl);
    ctl_listen_close(&m->ctl);
    for (size_t i = 0; i < m->npcaps; i++)
        if (m->pcaps[i].fd >= 0)
            close(m->pcaps[i].fd);
    free(m->pcaps);
    if (m->test_fd >= 0)
        close(m->test_fd);
    if (m->sigfd >= 0)
        close(m->sigfd);
    for (size_t i = 0; m->envp[i] != NULL; i++)
        free(m->envp[i]);
    pidfile_remove();
}

int pm_monitor_run(struct pm_conf *conf, const struct mon_options *o,
                   const struct pm_daemon_hooks *hooks)
{
    static struct monitor mon;
    struct monitor *m = &mon;
    char err[1024];
    int rc = 0;
    uid_t auid;
    gid_t agid;

    memset(m, 0, sizeof(*m));
    m->o = o;
    m->hooks = hooks;
    m->test_fd = -1;
    m->sigfd = -1;
    m->ctl.fd = -1;
    m->agent = (struct mon_proc){.name = "agent",
                                 .dest = CONF_DEST_AGENT,
                                 .role = IPC_ROLE_AGENT,
                                 .m = m,
                                 .other = &m->capture};
    m->capture = (struct mon_proc){.name = "capture",
                                   .dest = CONF_DEST_CAPTURE,
                                   .role = IPC_ROLE_CAPTURE,
                                   .m = m,
                                   .other = &m->agent};
    m->agent.rl = (struct mon_rl_child){.name = "agent", .dest = CONF_DEST_AGENT};
    m->capture.rl = (struct mon_rl_child){.name = "capture", .dest = CONF_DEST_CAPTURE};
    mon_rl_init(&m->rl, o->conf_path, &m->agent.rl, &m->capture.rl, reload_chan, m);
    m->agent.peer_give = m->agent.peer_pending = -1;
    m->capture.peer_give = m->capture.peer_pending = -1;
    make_env(m);
    sdn_init(); /* before any child: they never see NOTIFY_SOCKET */
    sdn_status("starting");

    /* The instance lock before anything else that can fail. */
    if (o->pidfile != NULL && pidfile_write(o->pidfile, err, sizeof(err)) < 0)
        goto fail;
    /* While root: the children inherit the limit (the agent locks its memory). */
    int lim = pm_memlock_limit(o->memlock, err, sizeof(err));
    if (lim < 0)
        goto fail;
    if (lim > 0)
        log_msg(geteuid() == 0 && pm_memlock_cap_ipc_lock() ? LOG_INFO : LOG_WARNING, "mon", "%s",
                err);
    if (pm_harden_process(err, sizeof(err)) < 0 || pm_lock_all(err, sizeof(err)) < 0)
        goto fail;
    /* Before any child: SIGCHLD and the stop signals through signalfds. */
    if ((m->set = sv_set_new(err, sizeof(err))) == NULL || setup_signals(m, err, sizeof(err)) < 0)
        goto fail;
    sv_set_events(m->set, on_sv_event, m);

    resolve_users(&auid, &agid);
    if (mon_persistent_dir(conf, auid, agid, err, sizeof(err)) < 0)
        goto fail;
    if (ctl_listen_open(&m->ctl, conf->control_socket,
                        conf->control_group[0] ? conf->control_group : NULL, err, sizeof(err)) < 0)
        goto fail;
    if (open_pcaps(m, conf, err, sizeof(err)) < 0)
        goto fail;
    /* The passphrases are no longer needed here: every start reads the file again. */
    conf_free(conf);
    OPENSSL_cleanse(conf, sizeof(*conf));
    if (hooks != NULL && hooks->monitor_test_fd != NULL &&
        (m->test_fd = hooks->monitor_test_fd(err, sizeof(err))) < 0)
        goto fail;

    if (make_child(m, &m->agent, err, sizeof(err)) < 0 ||
        make_child(m, &m->capture, err, sizeof(err)) < 0)
        goto fail;
    m->start_ms = mono_ms();
    if (first_starts(m, err, sizeof(err)) < 0)
        goto fail;
    m->pcaps_sent = 1; /* a restarted capture process does not read them again */
    for (size_t i = 0; i < m->npcaps; i++) { /* queued (duplicated) for it: ours go */
        close(m->pcaps[i].fd);
        m->pcaps[i].fd = -1;
    }

    while (!m->stopping && !m->failed)
        poll_once(m);
    if (m->failed) {
        snprintf(err, sizeof(err), "%.1000s", m->why);
        goto fail;
    }
    if (!m->ready) /* asked to stop: a clean stop, but the starting parent hears why */
        daemon_failed("stopped by a signal during start-up");
    log_info("mon", "stopping");
    sdn_stopping();
    goto out;

fail:
    daemon_failed(err);
    log_error("main", "cannot start: %s", err);
    conf_free(conf);
    OPENSSL_cleanse(conf, sizeof(*conf));
    rc = 1;
out:
    m->stopping = 1;
    teardown(m);
    return rc;
}
