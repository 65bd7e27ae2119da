/*
 * supervise.c - fork/exec, reaping and restart backoff of the monitor's
 * children (see include/pmirrord/supervise.h).
 *
 * Between fork() and execve() the child may call only async-signal-safe
 * functions (POSIX.1-2008 XSH 2.4.3): the code below sticks to dup/fcntl/
 * close/open/getdents64/sigaction/sigprocmask/prctl/write/_exit, and uses no
 * malloc (everything it needs was prepared in the parent).
 */
#include "pmirrord/supervise.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/close_range.h>

#include "pmirrord/errbuf.h"

#define SV_MAX_FDS 64u

enum sv_state { SV_IDLE, SV_RUNNING, SV_WAITING, SV_STOPPED };

struct sv_child {
    struct sv_set *set;
    struct sv_child *next;
    char *name;
    char *exe;
    char **argv;
    char **envp;
    int fds[SV_MAX_FDS]; /* our duplicates of the owner's descriptors */
    size_t nfds;
    sv_prestart_fn prestart;
    void *prestart_arg;
    enum sv_state state;
    pid_t pid;
    uint64_t started_ms;
    uint64_t due_ms;     /* SV_WAITING: when to start again */
    unsigned backoff_ms; /* the next wait */
    unsigned last_backoff_ms;
    unsigned starts;
    char cause[64];
};

struct sv_set {
    int sigfd;
    bool stopping;
    struct sv_child *children;
    sv_event_fn event_fn;
    void *event_arg;
    sv_clock_fn clock_fn;
    void *clock_arg;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t now_ms(const struct sv_set *set)
{
    return set->clock_fn ? set->clock_fn(set->clock_arg) : mono_ms();
}

static void emit(struct sv_child *c, enum sv_event ev, const char *detail)
{
    if (c->set->event_fn)
        c->set->event_fn(c->set->event_arg, c, ev, detail);
}

static void strv_free(char **v)
{
    if (!v)
        return;
    for (size_t i = 0; v[i]; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(char *const v[])
{
    size_t n = 0;
    while (v && v[n])
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        out[i] = strdup(v[i]);
        if (!out[i]) {
            strv_free(out);
            return NULL;
        }
    }
    return out;
}

struct sv_set *sv_set_new(char *err, size_t errlen)
{
    /* SIGCHLD set to SIG_IGN (or SA_NOCLDWAIT) by whoever started us survives
     * execve(2), and then the kernel reaps our children itself: waitpid() says
     * ECHILD and a dead child's PID could be reused by a stranger. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    if (sigaction(SIGCHLD, &dfl, NULL) != 0) {
        pm_err(err, errlen, "cannot reset SIGCHLD: %s", strerror(errno));
        return NULL;
    }
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) != 0) {
        pm_err(err, errlen, "cannot block SIGCHLD: %s", strerror(errno));
        return NULL;
    }
    struct sv_set *set = calloc(1, sizeof(*set));
    if (!set) {
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    set->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (set->sigfd < 0) {
        pm_err(err, errlen, "signalfd: %s", strerror(errno));
        free(set);
        return NULL;
    }
    return set;
}

void sv_set_free(struct sv_set *set)
{
    if (!set)
        return;
    struct sv_child *c = set->children;
    while (c) {
        struct sv_child *next = c->next;
        sv_child_drop_fds(c);
        free(c->name);
        free(c->exe);
        strv_free(c->argv);
        strv_free(c->envp);
        free(c);
        c = next;
    }
    close(set->sigfd);
    free(set);
}

void sv_set_events(struct sv_set *set, sv_event_fn fn, void *arg)
{
    set->event_fn = fn;
    set->event_arg = arg;
}

void sv_set_clock(struct sv_set *set, sv_clock_fn fn, void *arg)
{
    set->clock_fn = fn;
    set->clock_arg = arg;
}

int sv_set_fd(const struct sv_set *set)
{
    return set->sigfd;
}

struct sv_child *sv_child_new(struct sv_set *set, const char *name, const char *exe,
                              char *const argv[], char *err, size_t errlen)
{
    if (!argv || !argv[0]) {
        pm_err(err, errlen, "child %s: argv needs at least argv[0]", name);
        return NULL;
    }
    struct sv_child *c = calloc(1, sizeof(*c));
    if (!c) {
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    char *const noenv[] = {NULL};
    c->name = strdup(name);
    c->exe = strdup(exe);
    c->argv = strv_dup(argv);
    c->envp = strv_dup(noenv);
    if (!c->name || !c->exe || !c->argv || !c->envp) {
        free(c->name);
        free(c->exe);
        strv_free(c->argv);
        strv_free(c->envp);
        free(c);
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    c->set = set;
    c->backoff_ms = SV_BACKOFF_MIN_MS;
    c->next = set->children;
    set->children = c;
    return c;
}

int sv_child_set_fds(struct sv_child *c, const int *fds, size_t n, char *err, size_t errlen)
{
    int dup[SV_MAX_FDS];
    if (n > SV_MAX_FDS)
        return pm_err(err, errlen, "child %s: %zu descriptors, at most %u", c->name, n, SV_MAX_FDS);
    for (size_t i = 0; i < n; i++)
        if (fds[i] < 0 || fcntl(fds[i], F_GETFD) < 0)
            return pm_err(err, errlen, "child %s: descriptor %d is not open", c->name, fds[i]);
    /* Duplicates, not numbers: the owner may close or reuse its own. */
    for (size_t i = 0; i < n; i++) {
        dup[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (dup[i] < 0) {
            int e = errno;
            for (size_t j = 0; j < i; j++)
                close(dup[j]);
            return pm_err(err, errlen, "child %s: cannot duplicate descriptor %d: %s", c->name,
                          fds[i], strerror(e));
        }
    }
    sv_child_drop_fds(c);
    memcpy(c->fds, dup, n * sizeof(*dup));
    c->nfds = n;
    return 0;
}

void sv_child_drop_fds(struct sv_child *c)
{
    for (size_t i = 0; i < c->nfds; i++)
        close(c->fds[i]);
    c->nfds = 0;
}

void sv_child_set_prestart(struct sv_child *c, sv_prestart_fn fn, void *arg)
{
    c->prestart = fn;
    c->prestart_arg = arg;
}

int sv_child_set_env(struct sv_child *c, char *const envp[], char *err, size_t errlen)
{
    char **v = strv_dup(envp);
    if (!v)
        return pm_err(err, errlen, "out of memory");
    strv_free(c->envp);
    c->envp = v;
    return 0;
}

/* ---- in the child, between fork and execve -------------------------------- */

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

/* Closes every descriptor >= lo except keep, by /proc/self/fd (no malloc:
 * getdents64 into a stack buffer; restarts after each batch since closing
 * changes the directory). */
static int close_from_walk(int lo, int keep)
{
    for (;;) {
        int dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
            return -1;
        char buf[4096];
        int closed = 0;
        long n;
        while ((n = syscall(SYS_getdents64, dfd, buf, sizeof(buf))) > 0) {
            for (long off = 0; off < n;) {
                struct linux_dirent64 *d = (struct linux_dirent64 *)(void *)(buf + off);
                off += d->d_reclen;
                int fd = 0;
                const char *p = d->d_name;
                if (*p < '0' || *p > '9')
                    continue;
                for (; *p >= '0' && *p <= '9'; p++)
                    fd = fd * 10 + (*p - '0');
                if (fd >= lo && fd != keep && fd != dfd) {
                    close(fd);
                    closed++;
                }
            }
        }
        close(dfd);
        if (!closed)
            return 0;
    }
}

/* Every descriptor >= lo is closed, at the latest by execve(): close_range(2)
 * with CLOSE_RANGE_CLOEXEC (Linux 5.11) marks them all, keep (the status pipe,
 * close-on-exec already) included; else the /proc walk closes them.  -1 when
 * neither works: the caller must not exec with descriptors open. */
static int close_from(int lo, int keep)
{
    if (syscall(SYS_close_range, (unsigned)lo, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
        return 0;
    return close_from_walk(lo, keep);
}

static void child_fail(int statfd, int e)
{
    ssize_t r = write(statfd, &e, sizeof(e));
    (void)r;
    _exit(127);
}

static void child_exec(const struct sv_child *c, int statfd, pid_t parent)
{
    int n = (int)c->nfds;
    int top = 3 + n; /* lowest descriptor number nobody wants */
    int moved[SV_MAX_FDS];

    /* The status pipe and every source go above the targets first, so a
     * source that already sits on a target number is not overwritten. */
    statfd = fcntl(statfd, F_DUPFD_CLOEXEC, top);
    if (statfd < 0)
        _exit(127);
    for (int i = 0; i < n; i++) {
        moved[i] = fcntl(c->fds[i], F_DUPFD_CLOEXEC, top);
        if (moved[i] < 0)
            child_fail(statfd, errno);
    }
    for (int i = 0; i < n; i++) /* dup2 leaves the new descriptor without O_CLOEXEC */
        if (dup2(moved[i], 3 + i) < 0)
            child_fail(statfd, errno);
    if (close_from(top, statfd) < 0)
        child_fail(statfd, errno ? errno : EBADF);

    sigset_t none;
    sigemptyset(&none);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            sigaction(s, &dfl, NULL); /* fails harmlessly for the numbers libc reserves */
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
        child_fail(statfd, errno);
    if (getppid() != parent) /* the monitor died before PR_SET_PDEATHSIG took effect */
        _exit(127);
    if (sigprocmask(SIG_SETMASK, &none, NULL) != 0)
        child_fail(statfd, errno);
    /* A session of its own: no controlling terminal, so a compromised child
     * cannot push input into the terminal of `pmirrord -f` (TIOCSTI). */
    if (setsid() < 0)
        child_fail(statfd, errno);

    execve(c->exe, c->argv, c->envp);
    child_fail(statfd, errno);
}

/* ---- in the monitor -------------------------------------------------------- */

int sv_child_start(struct sv_child *c, char *err, size_t errlen)
{
    if (c->state == SV_RUNNING)
        return pm_err(err, errlen, "child %s is already running", c->name);
    if (c->prestart != NULL && c->prestart(c->prestart_arg, c, err, errlen) < 0)
        return -1;
    int st[2];
    if (pipe2(st, O_CLOEXEC) != 0)
        return pm_err(err, errlen, "child %s: pipe: %s", c->name, strerror(errno));
    pid_t parent = getpid();
    /* Every signal blocked across fork(): no handler of the monitor may run
     * in the child before child_exec() has reset them all. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        sigprocmask(SIG_SETMASK, &old, NULL);
        close(st[0]);
        close(st[1]);
        return pm_err(err, errlen, "child %s: fork: %s", c->name, strerror(e));
    }
    if (pid == 0) {
        close(st[0]);
        child_exec(c, st[1], parent);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(st[1]);
    int e = 0;
    ssize_t r;
    do
        r = read(st[0], &e, sizeof(e));
    while (r < 0 && errno == EINTR);
    close(st[0]);
    if (r > 0) { /* execve (or the set-up before it) failed: the child exits 127 */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return pm_err(err, errlen, "child %s: cannot execute %s: %s", c->name, c->exe, strerror(e));
    }
    c->pid = pid;
    c->state = SV_RUNNING;
    c->started_ms = now_ms(c->set);
    c->starts++;
    emit(c, SV_EV_STARTED, NULL);
    return 0;
}

static void describe(char *buf, size_t len, int status)
{
    if (WIFEXITED(status)) {
        snprintf(buf, len, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *abbr = sigabbrev_np(WTERMSIG(status));
        if (abbr)
            snprintf(buf, len, "killed by SIG%s%s", abbr,
                     WCOREDUMP(status) ? " (core dumped)" : "");
        else
            snprintf(buf, len, "killed by signal %d%s", WTERMSIG(status),
                     WCOREDUMP(status) ? " (core dumped)" : "");
    } else {
        snprintf(buf, len, "ended with wait status 0x%x", (unsigned)status);
    }
}

static void schedule(struct sv_child *c, uint64_t now)
{
    if (c->set->stopping) {
        c->state = SV_STOPPED;
        return;
    }
    c->state = SV_WAITING;
    c->last_backoff_ms = c->backoff_ms;
    c->due_ms = now + c->backoff_ms;
    c->backoff_ms = c->backoff_ms * 2u > SV_BACKOFF_MAX_MS ? SV_BACKOFF_MAX_MS : c->backoff_ms * 2u;
}

static void died(struct sv_child *c, int status)
{
    uint64_t now = now_ms(c->set);
    describe(c->cause, sizeof(c->cause), status);
    c->pid = 0;
    if (now - c->started_ms >= SV_STABLE_MS)
        c->backoff_ms = SV_BACKOFF_MIN_MS;
    schedule(c, now);
    emit(c, SV_EV_DIED, c->cause);
}

/* A child someone else reaped (it can only happen if SIGCHLD was ignored
 * after sv_set_new()): its status is unknown, it is restarted like a dead one. */
static void lost(struct sv_child *c)
{
    uint64_t now = now_ms(c->set);
    snprintf(c->cause, sizeof(c->cause), "lost: reaped by someone else");
    c->pid = 0;
    schedule(c, now);
    emit(c, SV_EV_DIED, c->cause);
}

static void drain_sigfd(int fd)
{
    struct signalfd_siginfo si[8];
    while (read(fd, si, sizeof(si)) > 0)
        ;
}

int sv_reap(struct sv_set *set)
{
    int n = 0;
    drain_sigfd(set->sigfd);
    for (struct sv_child *c = set->children; c; c = c->next) {
        if (c->state != SV_RUNNING)
            continue;
        int status;
        pid_t r;
        do
            r = waitpid(c->pid, &status, WNOHANG);
        while (r < 0 && errno == EINTR);
        if (r == c->pid) {
            died(c, status);
            n++;
        } else if (r < 0 && errno == ECHILD) {
            lost(c); /* no longer our child: never signal that PID again */
            n++;
        }
    }
    return n;
}

int sv_restart_due(struct sv_set *set)
{
    int n = 0;
    if (set->stopping)
        return 0;
    uint64_t now = now_ms(set);
    for (struct sv_child *c = set->children; c; c = c->next) {
        if (c->state != SV_WAITING || now < c->due_ms)
            continue;
        char err[256];
        if (sv_child_start(c, err, sizeof(err)) == 0) {
            n++;
        } else {
            schedule(c, now); /* first: the event can tell the next wait */
            emit(c, SV_EV_START_FAILED, err);
        }
    }
    return n;
}

int sv_next_timeout_ms(const struct sv_set *set)
{
    if (set->stopping)
        return -1;
    uint64_t now = now_ms(set);
    int64_t best = -1;
    for (const struct sv_child *c = set->children; c; c = c->next) {
        if (c->state != SV_WAITING)
            continue;
        int64_t left = c->due_ms > now ? (int64_t)(c->due_ms - now) : 0;
        if (best < 0 || left < best)
            best = left;
    }
    return (int)best;
}

static int running(const struct sv_set *set)
{
    int n = 0;
    for (const struct sv_child *c = set->children; c; c = c->next)
        n += c->state == SV_RUNNING;
    return n;
}

/* Reaps until no child of set runs or the monotonic time `end` (ms) has come. */
static void reap_until(struct sv_set *set, uint64_t end)
{
    sv_reap(set);
    while (running(set)) {
        uint64_t now = mono_ms();
        if (now >= end)
            break;
        struct pollfd p = {.fd = set->sigfd, .events = POLLIN};
        poll(&p, 1, (int)(end - now));
        sv_reap(set);
    }
}

int sv_stop_all(struct sv_set *set, int timeout_ms)
{
    set->stopping = true;
    sv_reap(set); /* whoever is gone or lost is not signalled */
    for (struct sv_child *c = set->children; c; c = c->next) {
        if (c->state == SV_RUNNING)
            kill(c->pid, SIGTERM); /* not yet reaped: still our child */
        else
            c->state = SV_STOPPED;
    }
    reap_until(set, mono_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0));
    int killed = 0;
    for (struct sv_child *c = set->children; c; c = c->next) {
        if (c->state != SV_RUNNING)
            continue;
        kill(c->pid, SIGKILL);
        killed++;
    }
    /* Bounded too: a child stuck in the kernel (uninterruptible sleep on a
     * dead NFS server...) dies only when the kernel lets it. */
    reap_until(set, mono_ms() + SV_KILL_WAIT_MS);
    return killed;
}

const char *sv_child_name(const struct sv_child *c)
{
    return c->name;
}

pid_t sv_child_pid(const struct sv_child *c)
{
    return c->state == SV_RUNNING ? c->pid : 0;
}

unsigned sv_child_starts(const struct sv_child *c)
{
    return c->starts;
}

unsigned sv_child_restarts(const struct sv_child *c)
{
    return c->starts > 0 ? c->starts - 1 : 0;
}

const char *sv_child_last_cause(const struct sv_child *c)
{
    return c->cause;
}

unsigned sv_child_last_backoff_ms(const struct sv_child *c)
{
    return c->last_backoff_ms;
}

const char *sv_child_mode(int argc, char *const argv[])
{
    if (argc >= 3 && strcmp(argv[1], "--child") == 0 && argv[2][0] != '\0')
        return argv[2];
    return NULL;
}
