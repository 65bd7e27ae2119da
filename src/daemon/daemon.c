/*
 * daemon.c - pmirrord: command line, configuration, start-up and shutdown.
 *
 *   pmirrord [-f] [-n] [-c FILE] [-D token,...] [-p PIDFILE]
 *
 * Threads: the calling thread becomes the agent thread (the only one that
 * calls Net-SNMP); the control socket has its own thread (ctl_server.h);
 * producers of events (capture threads, test hooks) push into the event
 * queue, whose eventfd the agent loop watches.
 *
 * Start-up order: config -> harden -> secure rings -> event queue -> agent
 * (Net-SNMP) -> notifications -> control socket.  Shutdown is the reverse,
 * and zeroises the rings.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/notify.h"
#include "commands.h"
#include "pmirrord/agent_call.h"
#include "pmirrord/audit.h"
#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/daemon.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/securemem.h"
#include "pmirrord/slog_ring.h"

static volatile sig_atomic_t stop_requested;
static int sig_pipe[2] = {-1, -1};

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

static int usage(void)
{
    fprintf(stderr, "usage: pmirrord [-f] [-n] [-c FILE] [-D token,...] [-p PIDFILE]\n"
                    "  -c FILE   configuration file (default " PM_CONF_DEFAULT_PATH ")\n"
                    "  -f        stay in the foreground and log to stderr\n"
                    "  -n        check the configuration and exit\n"
                    "  -D LIST   debug output for these subsystems (or \"all\")\n"
                    "  -p FILE   write the process ID to FILE\n");
    return 2;
}

static int write_pidfile(const char *path)
{
    char tmp[PM_PATH_MAX + 8];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) < 0)
        return -1;
    return 0;
}

static int setup_signals(void)
{
    struct sigaction sa;
    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0)
        return -1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: select() returns EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGQUIT, &sa, NULL) < 0)
        return -1;
    /* No reload: a restart applies a new configuration.  SIGHUP must not end
     * the daemon without zeroising the rings. */
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Control-socket events go to the secure mirror log (arg: its ring). */
static void on_ctl_event(const struct ctl_event *ev, void *arg)
{
    if (ev->kind == CTL_EV_ENABLE_OK) {
        slog_ring_appendf(arg, "control uid=%ld gid=%ld pid=%ld: %s", (long)ev->peer.uid,
                          (long)ev->peer.gid, (long)ev->peer.pid, ev->why);
        return;
    }
    pm_mirrorlog_refusal(ev->peer.uid, ev->peer.gid, ev->peer.pid, ev->why);
    /* The ordinary log may say that something was refused, not who tried what. */
    log_warnx("ctl", "control socket: a request was refused (see the mirror log)");
}

struct daemon_state {
    struct slog_ring *audit_ring, *mirror_ring;
    struct pm_evq *evq;
    struct ctl_server *ctl;
    int agent_up, notify_up, calls_up;
};

static void on_agent_call(int fd, void *arg)
{
    pm_agent_call_service();
}

static void teardown(struct daemon_state *d)
{
    /* A control command may be waiting for the agent thread (this one):
     * fail it first, or joining the control thread would never return. */
    if (d->calls_up) {
        agent_unwatch_fd(pm_agent_call_fd());
        pm_agent_call_shutdown();
    }
    ctl_server_free(d->ctl);
    if (d->notify_up)
        notify_shutdown();
    if (d->agent_up)
        agent_shutdown();
    pm_event_set_queue(NULL);
    pm_evq_free(d->evq);
    pm_audit_init(NULL);
    pm_mirrorlog_init(NULL);
    slog_ring_free(d->audit_ring); /* zeroised before unmap */
    slog_ring_free(d->mirror_ring);
    memset(d, 0, sizeof(*d));
}

static int start_ctl(struct daemon_state *d, const struct pm_conf *c, char *err, size_t errlen)
{
    d->ctl = ctl_server_new(c->control_socket, c->control_group[0] ? c->control_group : NULL,
                            c->mirror_secret[0] ? c->mirror_secret : NULL, err, errlen);
    if (d->ctl == NULL)
        return -1;
    ctl_server_set_event_cb(d->ctl, on_ctl_event, d->mirror_ring);
    struct pm_commands_ctx cc = {d->audit_ring, d->mirror_ring};
    if (pm_commands_register(d->ctl, &cc, err, errlen) < 0)
        return -1;
    return ctl_server_start(d->ctl, err, errlen);
}

int pm_daemon_main(int argc, char **argv, const struct pm_daemon_hooks *hooks)
{
    const char *conf_path = PM_CONF_DEFAULT_PATH, *debug = NULL, *pidfile = NULL;
    int foreground = 0, check_only = 0, ch, rc = 0;
    char err[1024];
    struct pm_conf conf;
    struct daemon_state d;

    memset(&d, 0, sizeof(d));
    optind = 1;
    while ((ch = getopt(argc, argv, "c:fnD:p:hV")) != -1) {
        switch (ch) {
        case 'c':
            conf_path = optarg;
            break;
        case 'f':
            foreground = 1;
            break;
        case 'n':
            check_only = 1;
            break;
        case 'D':
            debug = optarg;
            break;
        case 'p':
            pidfile = optarg;
            break;
        case 'V':
            printf("pmirrord %s\n", PM_VERSION);
            return 0;
        default:
            return usage();
        }
    }
    if (optind != argc)
        return usage();

    log_init("pmirrord", LOG_TARGET_STDERR);
    if (debug != NULL && log_set_debug(debug, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: -D: %s\n", err);
        return 2;
    }
    if (conf_load(conf_path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: %s\n", err);
        return 2;
    }
    if (conf.control_group[0] != '\0' && getgrnam(conf.control_group) == NULL) {
        fprintf(stderr, "pmirrord: %s: controlGroup \"%s\" does not exist\n", conf_path,
                conf.control_group);
        conf_free(&conf);
        return 2;
    }
    if (check_only) {
        printf("%s: configuration OK\n", conf_path);
        conf_free(&conf);
        return 0;
    }

    if (!foreground) {
        if (daemon(0, 0) < 0) {
            fprintf(stderr, "pmirrord: daemon: %s\n", strerror(errno));
            conf_free(&conf);
            return 1;
        }
        log_init("pmirrord", LOG_TARGET_SYSLOG);
    }
    /* No core dumps, no ptrace by others: the secure logs are in this process. */
    if (pm_harden_process(err, sizeof(err)) < 0)
        log_warnx("main", "%s", err);
    if (setup_signals() < 0)
        fatal("main", "signals");
    if (pidfile != NULL && write_pidfile(pidfile) < 0)
        fatal("main", "cannot write pidfile %s", pidfile);

    d.audit_ring =
        slog_ring_new(conf.secure_log_size, SLOG_RING_DEFAULT_ENTRY_MAX * 4, err, sizeof(err));
    if (d.audit_ring == NULL)
        goto fail;
    d.mirror_ring =
        slog_ring_new(conf.mirror_log_size, SLOG_RING_DEFAULT_ENTRY_MAX * 2, err, sizeof(err));
    if (d.mirror_ring == NULL)
        goto fail;
    pm_audit_init(d.audit_ring);
    pm_audit_set_enabled(conf.secure_log);
    pm_mirrorlog_init(d.mirror_ring);

    d.evq = pm_evq_new(conf.event_queue_size, err, sizeof(err));
    if (d.evq == NULL)
        goto fail;
    pm_event_set_queue(d.evq);

    if (agent_init(&conf, err, sizeof(err)) < 0)
        goto fail;
    d.agent_up = 1;
    if (agent_watch_fd(sig_pipe[0], on_sig_pipe, NULL) < 0) {
        snprintf(err, sizeof(err), "cannot watch the signal pipe");
        goto fail;
    }
    if (notify_init(&conf, d.evq, err, sizeof(err)) < 0)
        goto fail;
    d.notify_up = 1;
    if (pm_agent_call_init(err, sizeof(err)) < 0)
        goto fail;
    if (agent_watch_fd(pm_agent_call_fd(), on_agent_call, NULL) < 0) {
        pm_agent_call_shutdown();
        snprintf(err, sizeof(err), "cannot watch the agent call fd");
        goto fail;
    }
    d.calls_up = 1;
    if (start_ctl(&d, &conf, err, sizeof(err)) < 0)
        goto fail;
    if (hooks != NULL && hooks->started != NULL && hooks->started(&conf, hooks->arg) != 0) {
        snprintf(err, sizeof(err), "start-up hook failed");
        goto fail;
    }
    /* The configuration holds passphrases: keep it no longer than needed. */
    conf_free(&conf);

    log_info("main", "pmirrord %s started", PM_VERSION);
    agent_run(&stop_requested);
    log_info("main", "stopping");
    if (hooks != NULL && hooks->stopping != NULL)
        hooks->stopping(hooks->arg);
    goto out;

fail:
    log_warnx("main", "%s", err);
    conf_free(&conf);
    rc = 1;
out:
    teardown(&d);
    if (pidfile != NULL)
        unlink(pidfile);
    log_close();
    return rc;
}
