/*
 * daemon.c - pmirrord: command line, configuration, start-up and shutdown.
 *
 *   pmirrord [-f] [-n] [-c FILE] [-D token,...] [-p PIDFILE] | -h | -V
 *
 * Threads: the calling thread becomes the agent thread (the only one that
 * calls Net-SNMP); the control socket has its own thread (ctl_server.h);
 * producers of events (capture threads, test hooks) push into the event
 * queue, whose eventfd the agent loop watches.  Every thread is made with
 * pm_thread_create() (thread.h).
 *
 * Start-up order: config -> fork (without -f; ready.h) -> pidfile (locked:
 * the instance lock) -> memory limit, harden, lock everything -> secure
 * rings -> event queue -> agent (Net-SNMP) -> notifications -> control
 * socket -> ready.  Shutdown is the reverse, and zeroises the rings.  Any
 * failure before "ready" stops the daemon with status 1 and its reason on
 * stderr (docs/memory-locking.md for the locked-memory budget).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "agent/agent.h"
#include "agent/notify.h"
#include "agent_proc.h"
#include "commands.h"
#include "memlock.h"
#include "pmirrord/agent_call.h"
#include "pmirrord/audit.h"
#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/daemon.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/fsutil.h"
#include "pmirrord/log.h"
#include "pmirrord/mirrorlog.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/securemem.h"
#include "pmirrord/slog_ring.h"
#include "pmirrord/supervise.h"
#include "ready.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PM_SANITIZED 1 /* the sanitizer's allocator replaces glibc's malloc */
#else
#define PM_SANITIZED 0
#endif

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

static void usage(FILE *out, const struct pm_daemon_hooks *hooks)
{
    char tokens[256];
    log_tokens(tokens, sizeof(tokens));
    fprintf(out,
            "usage: pmirrord [-f] [-n] [-c FILE] [-D TOKEN,...] [-p PIDFILE]\n"
            "       pmirrord -h | --help | -V\n"
            "  -c FILE     configuration file (default " PM_CONF_DEFAULT_PATH ")\n"
            "  -f          stay in the foreground and log to stderr\n"
            "  -n          check the configuration, print the locked memory it needs, exit\n"
            "  -D TOKENS   debug output for these subsystems, comma-separated, or \"all\":\n"
            "              %s\n"
            "  -p PIDFILE  write the process ID to PIDFILE (and hold a lock on it)\n"
            "  -h, --help  print this help and exit\n"
            "  -V          print the version and exit\n"
            "Without -f pmirrord runs in the background once it has started (logging to\n"
            "syslog, facility daemon; start-up messages also here), and exits non-zero\n"
            "with the reason if it cannot start.\n",
            tokens);
    if (hooks != NULL && hooks->usage != NULL)
        fputs(hooks->usage, out);
}

/* -n: warnings as plainly as errors ("pmirrord: warning: FILE:LINE: ..."). */
static void plain_sink(int prio, const char *token, const char *msg, void *arg)
{
    (void)token;
    (void)arg;
    if (prio == LOG_DEBUG)
        fprintf(stderr, "pmirrord: debug: %s\n", msg);
    else if (prio == LOG_INFO || prio == LOG_NOTICE)
        fprintf(stderr, "pmirrord: %s\n", msg);
    else
        fprintf(stderr, "pmirrord: %s: %s\n", log_prio_name(prio), msg);
}

/*
 * persistentDir is created at start-up (mode 0700), but not its parents: a
 * missing parent is a configuration error, named before anything starts.
 */
static int check_persistent_dir(const struct pm_conf *c, char *err, size_t errlen)
{
    char where[PM_PATH_MAX + 32], parent[PM_PATH_MAX];
    struct stat st;
    if (c->persistent_dir_where[0] != '\0')
        snprintf(where, sizeof(where), "%s: persistentDir", c->persistent_dir_where);
    else
        snprintf(where, sizeof(where), "persistentDir (default)");
    if (stat(c->persistent_dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        snprintf(err, errlen, "%s: %s is not a directory", where, c->persistent_dir);
        return -1;
    }
    if (errno != ENOENT && errno != ENOTDIR) {
        snprintf(err, errlen, "%s: %s: %s", where, c->persistent_dir, strerror(errno));
        return -1;
    }
    snprintf(parent, sizeof(parent), "%s", c->persistent_dir);
    size_t n = strlen(parent);
    while (n > 1 && parent[n - 1] == '/') /* "/var/lib/pmirrord/" */
        parent[--n] = '\0';
    char *slash = strrchr(parent, '/');
    if (slash == parent)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    if (stat(parent, &st) < 0) {
        snprintf(err, errlen,
                 "%s: the parent directory %s of %s does not exist (%s); create it first: "
                 "pmirrord creates only %s itself",
                 where, parent, c->persistent_dir, strerror(errno), c->persistent_dir);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: the parent %s of %s is not a directory", where, parent,
                 c->persistent_dir);
        return -1;
    }
    return 0;
}

/*
 * The pidfile is written by root, at a path the operator chose: never follow
 * a symbolic link, never write into anything but a regular file (O_NONBLOCK:
 * a FIFO must not hang us).
 * Scripts stop the daemon by signalling the PID in it, as root: whoever can
 * change that file can have any process signalled.  So
 *  - its directories must pass pm_open_parent() (fsutil.h): each exists, is
 *    no symbolic link, is owned by root or us, and is writable by nobody else
 *    unless sticky; the file is opened in the directory so checked (openat);
 *  - the file must be ours (st_uid == geteuid()), not group- or
 *    other-writable, and have no other name (st_nlink == 1): a file someone
 *    else created, or a hard link to one, is refused rather than reused.
 * Not create-under-a-temporary-name-and-rename(): the lock below must be on
 * the inode the path names.  A second daemon that renamed its own file over
 * the path would lock a fresh inode and never see the first one's lock, so
 * two instances could run.  The file is reused in place instead, and these
 * checks make sure that nobody else can write it.
 *
 * It is also the instance lock: flock(2) on it is held for the daemon's
 * lifetime (the descriptor stays open), so a second pmirrord with the same
 * pidfile refuses to start before it touches anything, and a stale file left
 * by a killed daemon is simply taken over.  At exit it is removed only if the
 * path still names our file and the file still holds our PID.
 */
static struct {
    int fd;
    char path[PATH_MAX];
} pidf = {-1, ""};

/* The PID written in the file open on fd, or 0. */
static long pidfile_pid(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end;
    long pid = strtol(buf, &end, 10);
    return end != buf && (*end == '\n' || *end == '\0') && pid > 0 ? pid : 0;
}

/* Whether st, the pidfile at path, is one that only we can write. */
static int pidfile_trusted(const char *path, const struct stat *st, char *err, size_t errlen)
{
    if (!S_ISREG(st->st_mode))
        return pm_err(err, errlen, "pidfile %.512s is not a regular file", path);
    if (st->st_uid != geteuid())
        return pm_err(err, errlen,
                      "pidfile %.512s is owned by uid %u, not by uid %u (pmirrord's): its "
                      "owner could write any PID into it; remove it, or give -p a path in "
                      "a directory only root or uid %u can write",
                      path, (unsigned)st->st_uid, (unsigned)geteuid(), (unsigned)geteuid());
    if (st->st_nlink != 1)
        return pm_err(err, errlen,
                      "pidfile %.512s has %lu links: another name for the file would keep the "
                      "PID written; remove it",
                      path, (unsigned long)st->st_nlink);
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
        return pm_err(err, errlen,
                      "pidfile %.512s is writable by group or others (mode %04o); remove it", path,
                      (unsigned)(st->st_mode & 07777));
    return 0;
}

static int write_pidfile(const char *path, char *err, size_t errlen)
{
    char why[600];
    struct stat st;
    const char *base;
    int dirfd = pm_open_parent(path, &base, why, sizeof(why));
    if (dirfd < 0)
        return pm_err(err, errlen, "pidfile %.512s: %s", path, why);
    /* Refused before open(): O_CREAT on another user's file in a sticky
     * directory may fail with a bare EACCES (fs.protected_regular). */
    if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISLNK(st.st_mode) &&
        pidfile_trusted(path, &st, err, errlen) < 0) {
        close(dirfd);
        return -1;
    }
    /* In the directory checked, not at the path again: it cannot have been
     * created or swapped in since. */
    int fd = openat(dirfd, base, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0644);
    int open_errno = errno;
    close(dirfd);
    errno = open_errno;
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(err, errlen, "pidfile %.512s is a symbolic link; refusing to write through it",
                     path);
        else
            snprintf(err, errlen, "cannot write pidfile %.512s: %s", path, strerror(errno));
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
    /* Again on what was opened: the path may have changed since lstat(). */
    if (fstat(fd, &st) < 0) {
        snprintf(err, errlen, "pidfile %.512s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (pidfile_trusted(path, &st, err, errlen) < 0) {
        close(fd);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        long other = pidfile_pid(fd);
        close(fd);
        if (e != EWOULDBLOCK) {
            snprintf(err, errlen, "cannot lock pidfile %.512s: %s", path, strerror(e));
            return -1;
        }
        if (other > 0)
            snprintf(err, errlen,
                     "pidfile %.512s is locked by a running pmirrord, PID %ld; stop it first "
                     "(kill %ld) or give this one another -p PIDFILE",
                     path, other, other);
        else
            snprintf(err, errlen,
                     "pidfile %.512s is locked by another running pmirrord; stop it first or "
                     "give this one another -p PIDFILE",
                     path);
        return -1;
    }
    if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write pidfile %.512s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    pidf.fd = fd;
    snprintf(pidf.path, sizeof(pidf.path), "%s", path);
    return 0;
}

/* Remove the pidfile if it is still ours, then drop the lock. */
static void remove_pidfile(void)
{
    struct stat ours, now;
    if (pidf.fd < 0)
        return;
    if (fstat(pidf.fd, &ours) == 0 && lstat(pidf.path, &now) == 0 && ours.st_dev == now.st_dev &&
        ours.st_ino == now.st_ino && pidfile_pid(pidf.fd) == (long)getpid())
        unlink(pidf.path);
    close(pidf.fd);
    pidf.fd = -1;
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
        pm_mirrorlog_operator(ev->peer.uid, ev->peer.gid, ev->peer.pid, "mirror-enable");
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
    struct pm_commands_ctx cc = {d->audit_ring, d->mirror_ring, NULL, NULL};
    if (pm_commands_register(d->ctl, &cc, err, errlen) < 0)
        return -1;
    return ctl_server_start(d->ctl, err, errlen);
}

static void release_conf(void *arg)
{
    conf_free(arg);
}

/* A pidfile given relative to the start directory still names the same file
 * after the daemon moved to "/". */
static int absolute_path(const char *in, char *out, size_t outlen)
{
    char cwd[PATH_MAX];
    if (in[0] == '/')
        return snprintf(out, outlen, "%s", in) < (int)outlen ? 0 : -1;
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return -1;
    return snprintf(out, outlen, "%s/%s", cwd, in) < (int)outlen ? 0 : -1;
}

/* Everything after the configuration, in the process that will run. */
static int run(struct pm_conf *conf, size_t memlock, const char *pidfile,
               const struct pm_daemon_hooks *hooks)
{
    char err[1024];
    int rc = 0;
    struct daemon_state d;

    memset(&d, 0, sizeof(d));
    /* The instance lock before anything else that can fail: a second
     * pmirrord must stop here, with the first one's pidfile untouched. */
    if (pidfile != NULL && write_pidfile(pidfile, err, sizeof(err)) < 0)
        goto fail;
    /* The limit first, while still root; then nothing can be dumped or traced,
     * and nothing of the process, now or later, can be swapped. */
    int lim = pm_memlock_limit(memlock, err, sizeof(err));
    if (lim < 0)
        goto fail;
    /* Root that may not raise the hard limit (a container without
     * CAP_SYS_RESOURCE) but holds CAP_IPC_LOCK is not held to it: worth
     * knowing, not a warning (docs/memory-locking.md). */
    if (lim > 0)
        log_msg(geteuid() == 0 && pm_memlock_cap_ipc_lock() ? LOG_INFO : LOG_WARNING, "main", "%s",
                err);
    if (pm_harden_process(err, sizeof(err)) < 0 || pm_lock_all(err, sizeof(err)) < 0)
        goto fail;
    if (setup_signals() < 0) {
        snprintf(err, sizeof(err), "signals: %s", strerror(errno));
        goto fail;
    }

    d.audit_ring = slog_ring_new(conf->secure_log_size, PM_AUDIT_ENTRY_MAX, err, sizeof(err));
    if (d.audit_ring == NULL)
        goto fail;
    d.mirror_ring = slog_ring_new(conf->mirror_log_size, PM_MIRROR_ENTRY_MAX, err, sizeof(err));
    if (d.mirror_ring == NULL)
        goto fail;
    pm_audit_init(d.audit_ring);
    pm_audit_set_enabled(conf->secure_log);
    pm_mirrorlog_init(d.mirror_ring);

    d.evq = pm_evq_new(conf->event_queue_size, err, sizeof(err));
    if (d.evq == NULL)
        goto fail;
    pm_event_set_queue(d.evq);

    if (agent_init(conf, err, sizeof(err)) < 0)
        goto fail;
    d.agent_up = 1;
    if (agent_watch_fd(sig_pipe[0], on_sig_pipe, NULL) < 0) {
        snprintf(err, sizeof(err), "cannot watch the signal pipe");
        goto fail;
    }
    if (notify_init(conf, d.evq, err, sizeof(err)) < 0)
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
    if (start_ctl(&d, conf, err, sizeof(err)) < 0)
        goto fail;
    /* The configuration holds passphrases: keep it no longer than needed. */
    conf_free(conf);

    log_info("main", "pmirrord %s started", PM_VERSION);
    daemon_ready();
    agent_run(&stop_requested);
    log_info("main", "stopping");
    goto out;

fail:
    /* The parent prints the reason once, from daemon_failed(). */
    daemon_failed(err);
    log_error("main", "cannot start: %s", err);
    conf_free(conf);
    rc = 1;
out:
    teardown(&d);
    remove_pidfile();
    return rc;
}

int pm_daemon_main(int argc, char **argv, const struct pm_daemon_hooks *hooks)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *conf_path = PM_CONF_DEFAULT_PATH, *debug = NULL, *pidfile = NULL;
    char pidpath[PATH_MAX];
    int foreground = 0, check_only = 0, ch, rc;
    char err[1024];
    struct pm_conf conf;

    /* A child of the monitor (docs/process-model.md): PROG --child MODE ... */
    const char *mode = sv_child_mode(argc, argv);
    if (mode != NULL && strcmp(mode, "agent") == 0)
        return pm_agent_proc_main(argc, argv, hooks);

    /* Before any thread: one malloc arena for every thread.  Each further
     * glibc arena reserves a 64 MiB region (HEAP_MAX_SIZE, 128 MiB while it is
     * being aligned), all of it charged to RLIMIT_MEMLOCK under mlockall()
     * (docs/memory-locking.md). */
    if (mallopt(M_ARENA_MAX, 1) != 1 && !PM_SANITIZED) {
        fprintf(stderr, "pmirrord: mallopt(M_ARENA_MAX, 1) failed\n");
        return 1;
    }
    optind = 1;
    while ((ch = getopt_long(argc, argv, "c:fnD:p:hV", longopts, NULL)) != -1) {
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
        case 'h':
            usage(stdout, hooks);
            return 0;
        case 'V':
            printf("pmirrord %s\n", PM_VERSION);
            return 0;
        default:
            usage(stderr, hooks);
            return 2;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "pmirrord: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr, hooks);
        return 2;
    }
    if (pidfile != NULL) {
        if (absolute_path(pidfile, pidpath, sizeof(pidpath)) < 0) {
            fprintf(stderr, "pmirrord: -p %s: path too long\n", pidfile);
            return 2;
        }
        pidfile = pidpath;
    }

    log_init("pmirrord", LOG_TARGET_STDERR);
    if (check_only)
        log_set_sink(plain_sink, NULL);
    if (debug != NULL && log_set_debug(debug, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: -D: %s\n", err);
        return 2;
    }
    if (conf_load(conf_path, &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: %s\n", err);
        return 2;
    }
    if (check_persistent_dir(&conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "pmirrord: %s\n", err);
        conf_free(&conf);
        return 2;
    }
    size_t memlock = pm_memlock_needed(&conf);
    if (check_only) {
        printf("%s: configuration OK\nmemlock: %zu bytes needed\n", conf_path, memlock);
        conf_free(&conf);
        return 0;
    }

    if (!foreground) {
        if (daemon_detach(release_conf, &conf, err, sizeof(err)) < 0) {
            /* In the child if fork() succeeded: the parent hears it. */
            fprintf(stderr, "pmirrord: %s\n", err);
            daemon_failed(err);
            conf_free(&conf);
            return 1;
        }
        log_init("pmirrord", LOG_TARGET_SYSLOG);
        /* Start-up messages also reach the terminal that ran pmirrord: a
         * host without syslog would lose them (README "Running pmirrord"). */
        log_set_echo(daemon_forward_log, NULL);
    }
    rc = run(&conf, memlock, pidfile, hooks);
    log_close();
    return rc;
}
