/*
 * test_supervise.c - src/daemon/supervise.c with a real child (the
 * pm_childtest program, built next to this one's directory): the descriptors
 * and environment it receives, restarts with their backoff on a fake clock,
 * causes and counters, and sv_stop_all()'s escalation to SIGKILL, which
 * touches no process the set did not start.  Waits are poll()s on the
 * descriptors with a bound; no sleep decides an outcome.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/supervise.h"

#define WAIT_MS 20000 /* bound for a child's report or death: a busy, sanitized machine */

static char child_exe[PATH_MAX];
static uint64_t fake_now = 100000;

static uint64_t fake_clock(void *arg)
{
    (void)arg;
    return fake_now;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the event log ----------------------------------------------------------------------------
 */

static char events[4096];

static void on_event(void *arg, const struct sv_child *c, enum sv_event ev, const char *detail)
{
    (void)arg;
    static const char *names[] = {"started", "died", "failed"};
    size_t len = strlen(events);
    snprintf(events + len, sizeof(events) - len, "%s %s%s%s;", sv_child_name(c), names[ev],
             detail ? ": " : "", detail ? detail : "");
}

/* ---- talking to pm_childtest ------------------------------------------------------------------
 */

/* Reads from fd until a line equal to `last` arrived; the text into buf. */
static void read_until(int fd, const char *last, char *buf, size_t len)
{
    size_t used = 0;
    char want[64];
    snprintf(want, sizeof(want), "%s\n", last);
    uint64_t end = mono_ms() + WAIT_MS;
    buf[0] = '\0';
    for (;;) {
        size_t wl = strlen(want);
        if (used >= wl && strcmp(buf + used - wl, want) == 0 &&
            (used == wl || buf[used - wl - 1] == '\n'))
            return;
        uint64_t now = mono_ms();
        CHECK(now < end);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        CHECK(poll(&p, 1, (int)(end - now)) >= 0);
        if (!(p.revents & POLLIN))
            continue;
        CHECK(used + 1 < len);
        ssize_t r = read(fd, buf + used, len - used - 1);
        CHECK(r > 0);
        used += (size_t)r;
        buf[used] = '\0';
    }
}

static void say(int fd, const char *cmd)
{
    CHECK(write(fd, cmd, strlen(cmd)) == (ssize_t)strlen(cmd));
}

/* Polls the set's signalfd until sv_reap() has reaped n children. */
static void reap(struct sv_set *set, int n)
{
    uint64_t end = mono_ms() + WAIT_MS;
    int got = 0;
    while (got < n) {
        uint64_t now = mono_ms();
        CHECK(now < end);
        struct pollfd p = {.fd = sv_set_fd(set), .events = POLLIN};
        CHECK(poll(&p, 1, (int)(end - now)) >= 0);
        got += sv_reap(set);
    }
    CHECK(got == n);
}

static unsigned long long ino_of(int fd)
{
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    return (unsigned long long)st.st_ino;
}

static int move_high(int fd)
{
    int hi = fcntl(fd, F_DUPFD_CLOEXEC, 100);
    CHECK(hi >= 100);
    close(fd);
    return hi;
}

/* Moves what this process inherited on fd (ctest leaves its log open on 3)
 * out of the way, keeping it open. */
static void vacate(int fd)
{
    if (fcntl(fd, F_GETFD) >= 0)
        (void)move_high(fd);
    CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
}

/* ---- descriptors, environment, signals, then restarts and backoff ---------------------------- */

static void test_child_and_restarts(void)
{
    /* The sources sit on the target numbers, crossed: the socket the child
     * must get at 3 is at 4 here, the pipe it must get at 4 is at 3. */
    int sp[2], pp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    CHECK(pipe2(pp, O_CLOEXEC) == 0);
    int mine = move_high(sp[0]), sock = move_high(sp[1]);
    int pipe_r = move_high(pp[0]), pipe_w = move_high(pp[1]);
    vacate(3);
    vacate(4);
    CHECK(dup3(pipe_r, 3, O_CLOEXEC) == 3);
    CHECK(dup3(sock, 4, O_CLOEXEC) == 4);
    close(pipe_r);
    close(sock);
    unsigned long long sock_ino = ino_of(4), pipe_ino = ino_of(3);

    char err[256];
    struct sv_set *set = sv_set_new(err, sizeof(err));
    CHECK(set);
    sv_set_clock(set, fake_clock, NULL);
    sv_set_events(set, on_event, NULL);

    /* What must not reach the child: a descriptor without O_CLOEXEC (low and
     * high), an environment variable, an ignored and a blocked signal. */
    int stray = open("/dev/null", O_RDONLY);
    CHECK(stray >= 0);
    CHECK(dup2(stray, 300) == 300);
    CHECK(setenv("PM_TEST_SECRET", "s3cret", 1) == 0);
    signal(SIGPIPE, SIG_IGN);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    CHECK(sigprocmask(SIG_BLOCK, &usr1, NULL) == 0);

    char *argv[] = {"pm_childtest", "--child", "test", NULL};
    char *envp[] = {"PM_CHILD_MODE=test", NULL};
    struct sv_child *c = sv_child_new(set, "cap", child_exe, argv, err, sizeof(err));
    CHECK(c);
    int fds[] = {4, 3};
    CHECK(sv_child_set_fds(c, fds, 2, err, sizeof(err)) == 0);
    CHECK(sv_child_set_env(c, envp, err, sizeof(err)) == 0);
    CHECK(sv_child_pid(c) == 0);
    CHECK(sv_next_timeout_ms(set) == -1);
    CHECK(sv_child_start(c, err, sizeof(err)) == 0);
    pid_t pid1 = sv_child_pid(c);
    CHECK(pid1 > 0);
    CHECK(sv_child_restarts(c) == 0);

    char rep[8192];
    read_until(mine, "ready", rep, sizeof(rep));
    /* exactly 3 = the socket and 4 = the pipe above 2 */
    int n_above = 0;
    for (char *l = strtok(rep, "\n"); l; l = strtok(NULL, "\n")) {
        int fd;
        unsigned long long ino;
        char s[64];
        if (sscanf(l, "fd %d %llu", &fd, &ino) == 2) {
            if (fd < 3)
                continue;
            n_above++;
            CHECK(fd == 3 || fd == 4);
            CHECK(ino == (fd == 3 ? sock_ino : pipe_ino));
        } else if (sscanf(l, "env %63s", s) == 1) {
            CHECK(strcmp(s, "PM_CHILD_MODE=test") == 0);
            n_above += 100;
        } else if (strncmp(l, "blocked ", 8) == 0 || strncmp(l, "ignored ", 8) == 0) {
            fprintf(stderr, "child: %s\n", l);
            CHECK(!"a signal blocked or ignored in the child");
        }
    }
    CHECK(n_above == 102); /* two descriptors, one environment string */

    /* exit 3 -> cause, the first backoff (1 s), nothing before it is due */
    say(mine, "exit 3\n");
    reap(set, 1);
    CHECK(sv_child_pid(c) == 0);
    CHECK(strcmp(sv_child_last_cause(c), "exited with status 3") == 0);
    CHECK(sv_child_last_backoff_ms(c) == 1000);
    CHECK(sv_next_timeout_ms(set) == 1000);
    fake_now += 999;
    CHECK(sv_restart_due(set) == 0);
    CHECK(sv_next_timeout_ms(set) == 1);
    CHECK(sv_child_pid(c) == 0);
    fake_now += 1;
    CHECK(sv_next_timeout_ms(set) == 0);
    CHECK(sv_restart_due(set) == 1);
    CHECK(sv_child_pid(c) > 0 && sv_child_pid(c) != pid1);
    CHECK(sv_child_restarts(c) == 1);
    CHECK(sv_next_timeout_ms(set) == -1);
    read_until(mine, "ready", rep, sizeof(rep));

    /* a crash (SIGSYS, as seccomp kills) -> 2 s */
    say(mine, "crash\n");
    reap(set, 1);
    CHECK(strcmp(sv_child_last_cause(c), "killed by SIGSYS") == 0 ||
          strcmp(sv_child_last_cause(c), "killed by SIGSYS (core dumped)") == 0);
    CHECK(sv_child_last_backoff_ms(c) == 2000);
    fake_now += 1999;
    CHECK(sv_restart_due(set) == 0);
    fake_now += 1;
    CHECK(sv_restart_due(set) == 1);
    CHECK(sv_child_restarts(c) == 2);
    read_until(mine, "ready", rep, sizeof(rep));

    /* -> 4 s */
    say(mine, "exit 0\n");
    reap(set, 1);
    CHECK(strcmp(sv_child_last_cause(c), "exited with status 0") == 0);
    CHECK(sv_child_last_backoff_ms(c) == 4000);
    CHECK(sv_next_timeout_ms(set) == 4000);
    fake_now += 4000;
    CHECK(sv_restart_due(set) == 1);
    CHECK(sv_child_restarts(c) == 3);
    read_until(mine, "ready", rep, sizeof(rep));

    /* up just under 60 s: still doubling (8 s) */
    fake_now += SV_STABLE_MS - 1;
    say(mine, "exit 1\n");
    reap(set, 1);
    CHECK(sv_child_last_backoff_ms(c) == 8000);
    fake_now += 8000;
    CHECK(sv_restart_due(set) == 1);
    read_until(mine, "ready", rep, sizeof(rep));

    /* up 60 s: back to 1 s */
    fake_now += SV_STABLE_MS;
    say(mine, "exit 1\n");
    reap(set, 1);
    CHECK(sv_child_last_backoff_ms(c) == 1000);
    CHECK(sv_next_timeout_ms(set) == 1000);
    fake_now += 1000;
    CHECK(sv_restart_due(set) == 1);
    CHECK(sv_child_restarts(c) == 5);
    read_until(mine, "ready", rep, sizeof(rep));

    /* the cap: crash it repeatedly, restarting at once each time it is due */
    unsigned prev = 1000;
    for (int i = 0; i < 8; i++) {
        say(mine, "crash\n");
        reap(set, 1);
        unsigned b = sv_child_last_backoff_ms(c);
        CHECK(b == (prev * 2 > SV_BACKOFF_MAX_MS ? SV_BACKOFF_MAX_MS : prev * 2));
        prev = b;
        fake_now += b;
        CHECK(sv_restart_due(set) == 1);
        read_until(mine, "ready", rep, sizeof(rep));
    }
    CHECK(prev == SV_BACKOFF_MAX_MS);
    CHECK(sv_child_restarts(c) == 13);

    CHECK(strncmp(events,
                  "cap started;cap died: exited with status 3;cap started;cap died: killed by "
                  "SIGSYS",
                  strlen("cap started;cap died: exited with status 3;cap started;cap died: "
                         "killed by SIGSYS")) == 0);

    CHECK(sv_stop_all(set, WAIT_MS) == 0);
    CHECK(strcmp(sv_child_last_cause(c), "killed by SIGTERM") == 0);
    sv_set_free(set);
    close(mine);
    close(pipe_w);
    close(3);
    close(4);
    close(stray);
    close(300);
    signal(SIGPIPE, SIG_DFL);
    CHECK(sigprocmask(SIG_UNBLOCK, &usr1, NULL) == 0);
    unsetenv("PM_TEST_SECRET");
}

/* ---- a fresh pair of descriptors for every start (the monitor's channels) --------------------
 */

struct fresh {
    int mine;  /* our end of the current start's pair */
    int calls; /* prestart calls */
    int fail;  /* make the next prestart fail */
};

static int prestart(void *arg, struct sv_child *c, char *err, size_t errlen)
{
    struct fresh *f = arg;
    int sp[2];
    f->calls++;
    if (f->fail) {
        f->fail = 0;
        snprintf(err, errlen, "no pair this time");
        return -1;
    }
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == 0);
    CHECK(sv_child_set_fds(c, &sp[1], 1, err, errlen) == 0);
    close(sp[1]); /* the set holds its own duplicate */
    if (f->mine >= 0)
        close(f->mine);
    f->mine = sp[0];
    return 0;
}

/* Reads until EOF (the only other holder of the pair, the child, is gone). */
static void read_eof(int fd)
{
    char buf[4096];
    uint64_t end = mono_ms() + WAIT_MS;
    for (;;) {
        uint64_t now = mono_ms();
        CHECK(now < end);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        CHECK(poll(&p, 1, (int)(end - now)) >= 0);
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t r = read(fd, buf, sizeof(buf));
        CHECK(r >= 0);
        if (r == 0)
            return;
    }
}

static void test_prestart_fresh_fds(void)
{
    char err[256];
    char rep[8192];
    struct fresh f = {.mine = -1};
    events[0] = '\0';
    struct sv_set *set = sv_set_new(err, sizeof(err));
    CHECK(set);
    sv_set_events(set, on_event, NULL);
    sv_set_clock(set, fake_clock, NULL);
    char *argv[] = {"pm_childtest", "--child", "test", NULL};
    struct sv_child *c = sv_child_new(set, "fresh", child_exe, argv, err, sizeof(err));
    CHECK(c);
    sv_child_set_prestart(c, prestart, &f);

    /* a failing prestart: no fork */
    f.fail = 1;
    CHECK(sv_child_start(c, err, sizeof(err)) == -1);
    CHECK(strcmp(err, "no pair this time") == 0 && sv_child_pid(c) == 0);
    CHECK(f.calls == 1 && sv_child_starts(c) == 0);

    sigset_t before, after;
    sigemptyset(&before);
    sigemptyset(&after);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &before) == 0);
    CHECK(sv_child_start(c, err, sizeof(err)) == 0);
    CHECK(sigprocmask(SIG_SETMASK, NULL, &after) == 0);
    for (int sig = 1; sig < NSIG; sig++) /* restored after the fork */
        CHECK(sigismember(&before, sig) == sigismember(&after, sig));
    CHECK(f.calls == 2 && sv_child_starts(c) == 1);
    sv_child_drop_fds(c);
    int first = f.mine;
    read_until(first, "ready", rep, sizeof(rep));

    /* it dies: its end is held by nobody else, so ours reads EOF */
    say(first, "exit 2\n");
    read_eof(first);
    reap(set, 1);

    /* the restart gets a new pair from the prestart */
    fake_now += sv_child_last_backoff_ms(c);
    f.fail = 1; /* ...not this time: retried after the backoff */
    CHECK(sv_restart_due(set) == 0);
    CHECK(strstr(events, "fresh failed: no pair this time") != NULL);
    fake_now += sv_child_last_backoff_ms(c);
    CHECK(sv_restart_due(set) == 1);
    CHECK(f.mine != first || f.calls == 4);
    sv_child_drop_fds(c);
    read_until(f.mine, "ready", rep, sizeof(rep));
    CHECK(sv_child_starts(c) == 2 && sv_child_restarts(c) == 1);
    CHECK(sv_stop_all(set, WAIT_MS) == 0);
    read_eof(f.mine);
    close(f.mine);
    sv_set_free(set);
}

/* ---- exec failure -----------------------------------------------------------------------------
 */

static void test_exec_failure(void)
{
    char err[256];
    struct sv_set *set = sv_set_new(err, sizeof(err));
    CHECK(set);
    char *argv[] = {"nothing", NULL};
    struct sv_child *c = sv_child_new(set, "x", "/nonexistent/pm_nothing", argv, err, sizeof(err));
    CHECK(c);
    err[0] = '\0';
    CHECK(sv_child_start(c, err, sizeof(err)) == -1);
    CHECK(strstr(err, "cannot execute /nonexistent/pm_nothing") != NULL);
    CHECK(sv_child_pid(c) == 0);
    int bad = 1000;
    CHECK(sv_child_set_fds(c, &bad, 1, err, sizeof(err)) == -1);
    sv_set_free(set);
}

/* ---- stop: SIGTERM, then SIGKILL within the bound; nothing else signalled ---------------------
 */

static pid_t foreign(int code)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        if (code >= 0)
            _exit(code);
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no orphan when a check fails */
        for (;;)
            pause();
    }
    return pid;
}

static void test_stop_all(void)
{
    char err[256];
    events[0] = '\0';
    struct sv_set *set = sv_set_new(err, sizeof(err));
    CHECK(set);
    sv_set_events(set, on_event, NULL);
    sv_set_clock(set, fake_clock, NULL);

    int a[2], b[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a) == 0);
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) == 0);
    char *argv[] = {"pm_childtest", NULL};
    struct sv_child *hang = sv_child_new(set, "hang", child_exe, argv, err, sizeof(err));
    struct sv_child *calm = sv_child_new(set, "calm", child_exe, argv, err, sizeof(err));
    CHECK(hang && calm);
    CHECK(sv_child_set_fds(hang, &a[1], 1, err, sizeof(err)) == 0);
    CHECK(sv_child_set_fds(calm, &b[1], 1, err, sizeof(err)) == 0);
    CHECK(sv_child_start(hang, err, sizeof(err)) == 0);
    CHECK(sv_child_start(calm, err, sizeof(err)) == 0);
    char rep[8192];
    read_until(a[0], "ready", rep, sizeof(rep));
    read_until(b[0], "ready", rep, sizeof(rep));
    say(a[0], "hang\n");
    read_until(a[0], "hanging", rep, sizeof(rep));

    /* Children of this process the set did not start: one alive, one
     * already a zombie.  sv_reap() must not reap the zombie. */
    pid_t alive = foreign(-1);
    pid_t zombie = foreign(7);
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    CHECK(waitid(P_PID, (id_t)zombie, &si, WEXITED | WNOWAIT) == 0); /* it has exited */
    CHECK(sv_reap(set) == 0);

    uint64_t t0 = mono_ms();
    CHECK(sv_stop_all(set, 500) == 1);
    uint64_t took = mono_ms() - t0;
    CHECK(took >= 500);          /* hang got its chance after SIGTERM */
    CHECK(took < WAIT_MS + 500); /* and did not hold the stop up */
    CHECK(sv_child_pid(hang) == 0 && sv_child_pid(calm) == 0);
    CHECK(strcmp(sv_child_last_cause(hang), "killed by SIGKILL") == 0);
    CHECK(strcmp(sv_child_last_cause(calm), "killed by SIGTERM") == 0);

    /* no restart after a stop */
    CHECK(sv_next_timeout_ms(set) == -1);
    fake_now += 10 * SV_BACKOFF_MAX_MS;
    CHECK(sv_restart_due(set) == 0);
    CHECK(sv_child_restarts(hang) == 0 && sv_child_restarts(calm) == 0);

    /* the others: untouched and unreaped */
    int st;
    CHECK(waitpid(alive, &st, WNOHANG) == 0);
    CHECK(waitpid(zombie, &st, WNOHANG) == zombie);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7);
    CHECK(kill(alive, SIGKILL) == 0);
    CHECK(waitpid(alive, &st, 0) == alive);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

    sv_set_free(set);
    close(a[0]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
}

static void test_child_mode(void)
{
    char *a[] = {"pmirrord", "--child", "capture", NULL};
    char *b[] = {"pmirrord", "-f", "capture", NULL};
    char *c[] = {"pmirrord", "--child", NULL};
    CHECK(sv_child_mode(3, a) && strcmp(sv_child_mode(3, a), "capture") == 0);
    CHECK(sv_child_mode(3, b) == NULL);
    CHECK(sv_child_mode(2, c) == NULL);
}

/* ---- SIGCHLD ignored by whoever started us: the set resets it, children are still reaped -----
 */

static void test_sigchld_ignored(void)
{
    char err[256];
    CHECK(signal(SIGCHLD, SIG_IGN) != SIG_ERR); /* inherited across execve(2) in real life */
    struct sv_set *set = sv_set_new(err, sizeof(err));
    CHECK(set);
    char *argv[] = {"true", NULL};
    struct sv_child *c = sv_child_new(set, "t", "/bin/true", argv, err, sizeof(err));
    CHECK(c);
    CHECK(sv_child_start(c, err, sizeof(err)) == 0);
    reap(set, 1);
    CHECK(strcmp(sv_child_last_cause(c), "exited with status 0") == 0);
    CHECK(sv_child_pid(c) == 0);
    CHECK(sv_stop_all(set, 100) == 0); /* nothing left to signal */
    sv_set_free(set);
}

int main(void)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    CHECK(n > 0);
    self[n] = '\0';
    /* build/tests/test_supervise -> build/pm_childtest */
    snprintf(child_exe, sizeof(child_exe), "%s/../pm_childtest", dirname(self));
    CHECK(access(child_exe, X_OK) == 0);

    test_child_mode();
    test_exec_failure();
    test_child_and_restarts();
    test_stop_all();
    test_prestart_fresh_fds();
    test_sigchld_ignored();
    return 0;
}
