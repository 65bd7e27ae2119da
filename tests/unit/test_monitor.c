/*
 * test_monitor.c - the monitor (src/daemon/monitor.c) with fake children.
 *
 * This program is its own children: the monitor starts /proc/self/exe
 * --child agent|capture, and main() below then plays that child instead of
 * the real agent or capture process.  The fakes read their slice and
 * descriptors on fd 3 exactly as the real ones must, report what they got on
 * stdout (one line each, inherited from the monitor), talk to each other over
 * fd 4 (a HEARTBEAT carrying the sender's PID) and to the monitor (PRIV_REQ
 * agentx, STATUS).  The test checks: each slice holds only its process's
 * directives; the agent gets the listening control socket and a connected
 * AgentX socket; the capture process gets the pcap file (first start only);
 * SIGKILL of either child restarts it with fresh channels (the survivor gets
 * a peer-chan descriptor and hears the new process); the agent hears the
 * restart counts; SIGTERM stops everything and removes the control socket and
 * the pidfile; a child's FAILED fails the start-up with its reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/daemon.h"
#include "pmirrord/ipc.h"
#include "pmirrord/supervise.h"

#define WAIT_MS 30000

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the fake children --------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if (n > (int)sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    ssize_t w = write(1, line, (size_t)n);
    (void)w;
}

struct fake {
    const char *mode;
    struct conf_slice *slice;
    int slice_err;
    int listen_fd, agentx_fd, test_fd;
    int npcap;
    char pcap_head[8];
    int agentx_answer; /* 1 fd, -errno fail */
    struct ipc_chan *mon, *peer;
};

static void peer_rec(struct ipc_rec *rec, void *arg)
{
    struct fake *f = arg;
    if (rec->type == IPC_HEARTBEAT)
        say("%s peer-heartbeat %llu", f->mode, (unsigned long long)rec->u.heartbeat.seq);
}

static struct ipc_chan *chan_on(int fd)
{
    char err[256];
    struct ipc_chan *ch = ipc_chan_new(fd, 0, NULL, NULL, err, sizeof(err));
    if (ch == NULL) {
        say("chan: %s", err);
        exit(3);
    }
    return ch;
}

static void peer_hello(struct fake *f)
{
    if (ipc_chan_heartbeat(f->peer, (uint64_t)getpid()) == 0)
        ipc_chan_flush(f->peer);
}

static void mon_rec(struct ipc_rec *rec, void *arg)
{
    struct fake *f = arg;
    char err[256];
    if (rec->type == IPC_CONFIG) {
        if (conf_slice_rec(f->slice, rec, err, sizeof(err)) < 0) {
            say("%s slice-error %s", f->mode, err);
            f->slice_err = 1;
        }
        return;
    }
    if (rec->type == IPC_STATS) {
        char line[400];
        int n = snprintf(line, sizeof(line), "%s stats %s", f->mode, rec->u.stats.source);
        for (size_t i = 0; i < rec->u.stats.ncounters && n < (int)sizeof(line) - 80; i++)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%llu",
                          rec->u.stats.counters[i].name,
                          (unsigned long long)rec->u.stats.counters[i].value);
        say("%s", line);
        return;
    }
    if (rec->type == IPC_PRIV_FAIL) {
        f->agentx_answer = -(int)rec->u.priv_fail.err_no - 1;
        say("%s agentx-fail id=%u errno=%u %s", f->mode, rec->u.priv_fail.request_id,
            rec->u.priv_fail.err_no, rec->u.priv_fail.text);
        return;
    }
    if (rec->type != IPC_FD)
        return;
    int fd = rec->u.fd.fd;
    switch (rec->u.fd.purpose) {
    case IPC_FD_CONTROL_LISTEN:
        f->listen_fd = fd;
        break;
    case IPC_FD_AGENTX:
        f->agentx_fd = fd;
        f->agentx_answer = 1;
        say("%s agentx-fd id=%u", f->mode, rec->u.fd.id);
        break;
    case IPC_FD_PCAP_FILE:
        f->npcap++;
        if (pread(fd, f->pcap_head, 4, 0) != 4)
            f->pcap_head[0] = '\0';
        close(fd);
        fd = -1;
        rec->u.fd.fd = -1;
        return;
    case IPC_FD_TEST_FIFO:
        f->test_fd = fd;
        break;
    case IPC_FD_PEER_CHAN:
        say("%s peer-chan", f->mode);
        ipc_chan_free(f->peer);
        f->peer = chan_on(fd);
        peer_hello(f);
        break;
    default:
        return;
    }
    rec->u.fd.fd = -1; /* taken */
}

static void put_status(struct fake *f, int state, const char *text)
{
    struct ipc_rec r;
    char err[256];
    memset(&r, 0, sizeof(r));
    r.type = IPC_STATUS;
    r.u.status.state = (uint8_t)state;
    snprintf(r.u.status.text, sizeof(r.u.status.text), "%s", text);
    if (ipc_chan_put(f->mon, &r, err, sizeof(err)) < 0 || ipc_chan_flush(f->mon) < 0)
        exit(4);
}

/* Reads fd 3 (and fd 4) until done() or the bound. */
static void pump(struct fake *f, int (*done)(struct fake *), int ms)
{
    uint64_t end = mono_ms() + (uint64_t)ms;
    while (!done || !done(f)) {
        uint64_t now = mono_ms();
        if (done && now >= end) {
            say("%s timeout", f->mode);
            exit(5);
        }
        struct pollfd p[2] = {{.fd = ipc_chan_fd(f->mon), .events = POLLIN},
                              {.fd = f->peer ? ipc_chan_fd(f->peer) : -1, .events = POLLIN}};
        if (poll(p, 2, done ? (int)(end - now) : -1) < 0 && errno != EINTR)
            exit(6);
        if (p[0].revents & (POLLIN | POLLHUP)) {
            if (ipc_chan_recv(f->mon, mon_rec, f) == 0)
                exit(0); /* the monitor is gone */
        }
        if (f->peer && (p[1].revents & (POLLIN | POLLHUP))) {
            if (ipc_chan_recv(f->peer, peer_rec, f) == 0) {
                ipc_chan_free(f->peer); /* its peer died: wait for a peer-chan */
                f->peer = NULL;
            }
        }
    }
}

static int slice_done(struct fake *f)
{
    return conf_slice_complete(f->slice) || f->slice_err;
}

static int agentx_done(struct fake *f)
{
    return f->agentx_answer != 0;
}

static int fake_child(const char *mode)
{
    struct fake f = {.mode = mode, .listen_fd = -1, .agentx_fd = -1, .test_fd = -1};
    char err[512];
    f.slice = conf_slice_new();
    f.mon = chan_on(3);
    f.peer = chan_on(4);
    pump(&f, slice_done, WAIT_MS);
    struct pm_conf c;
    if (f.slice_err || conf_slice_load(f.slice, NULL, &c, err, sizeof(err)) < 0) {
        say("%s slice-load-failed %s", mode, err);
        put_status(&f, IPC_STATUS_FAILED, err);
        return 1;
    }
    int is_agent = strcmp(mode, "agent") == 0;
    say("%s slice pid=%ld lines=%zu hosts=%zu captures=%zu latency=%u listen=%d pcaps=%d "
        "head=%.4s fifo=%d",
        mode, (long)getpid(), conf_slice_lines(f.slice), c.nhosts, c.ncaptures,
        c.signalling_latency, f.listen_fd >= 0, f.npcap, f.npcap ? f.pcap_head : "-",
        f.test_fd >= 0);
    int fail = 0;
    for (size_t i = 0; i < c.ncaptures; i++)
        fail |= strcmp(c.captures[i].spec.src, "failme") == 0;
    conf_free(&c);
    if (fail) {
        put_status(&f, IPC_STATUS_FAILED, "failme: no such interface");
        return 1;
    }
    if (is_agent) {
        struct ipc_rec r;
        memset(&r, 0, sizeof(r));
        r.type = IPC_PRIV_REQ;
        r.u.priv_req.request_id = 7;
        r.u.priv_req.what = IPC_PRIV_AGENTX;
        if (ipc_chan_put(f.mon, &r, err, sizeof(err)) < 0 || ipc_chan_flush(f.mon) < 0)
            return 7;
        pump(&f, agentx_done, WAIT_MS);
        if (f.agentx_fd >= 0 && write(f.agentx_fd, "agentx", 6) != 6)
            say("agent agentx-write-failed");
    }
    /* more requests than the monitor answers in a second (agent); a request
     * the capture process may not make */
    for (uint32_t id = 100; id < (is_agent ? 105u : 101u); id++) {
        struct ipc_rec r;
        memset(&r, 0, sizeof(r));
        r.type = IPC_PRIV_REQ;
        r.u.priv_req.request_id = id;
        r.u.priv_req.what = IPC_PRIV_AGENTX;
        if (ipc_chan_put(f.mon, &r, err, sizeof(err)) < 0 || ipc_chan_flush(f.mon) < 0)
            return 7;
    }
    peer_hello(&f);
    put_status(&f, IPC_STATUS_READY, "");
    say("%s ready pid=%ld", mode, (long)getpid());
    pump(&f, NULL, 0);
    return 0;
}

/* ---- the test ------------------------------------------------------------------- */

static char dir[] = "/tmp/test_monitor.XXXXXX";
static char conf_path[96], pid_path[96], sock_path[96], master_path[96], pcap_path[96];
static int out_fd = -1; /* the monitor's stdout and stderr */
static char out[1 << 16];
static size_t out_len;

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    CHECK(fd >= 0);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(fchmod(fd, mode) == 0);
    close(fd);
}

/* The test producer's descriptor (pm_daemon_hooks.monitor_test_fd). */
static int test_fifo_fd(char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    close(p[1]);
    return p[0];
}

static const struct pm_daemon_hooks hooks = {.monitor_test_fd = test_fifo_fd};

/* A failed CHECK exits: the monitor it started (and its children) must not
 * outlive the test.  atexit(), in the test process only. */
static pid_t main_pid, last_monitor;

static void stop_leftovers(void)
{
    if (getpid() != main_pid)
        return;
    if (last_monitor > 0)
        kill(last_monitor, SIGTERM);
    FILE *f = fopen(pid_path, "r");
    long pid = 0;
    if (f != NULL) {
        if (fscanf(f, "%ld", &pid) != 1)
            pid = 0;
        fclose(f);
    }
    char cmd[64] = "", path[64];
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    f = pid > 0 ? fopen(path, "r") : NULL;
    if (f != NULL) {
        if (fgets(cmd, sizeof(cmd), f) == NULL)
            cmd[0] = '\0';
        fclose(f);
    }
    if (strstr(cmd, "test_monitor") != NULL) /* the detached monitor this test started */
        kill((pid_t)pid, SIGTERM);
}

static pid_t start_monitor(int foreground, const struct pm_daemon_hooks *h)
{
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    out_len = 0;
    out[0] = '\0';
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], 1);
        dup2(p[1], 2);
        char *fg[] = {"test_monitor", "-f", "-c", conf_path, "-p", pid_path, NULL};
        char *bg[] = {"test_monitor", "-c", conf_path, "-p", pid_path, NULL};
        exit(foreground ? pm_daemon_main(6, fg, h) : pm_daemon_main(5, bg, h));
    }
    close(p[1]);
    out_fd = p[0];
    last_monitor = pid;
    return pid;
}

/* Reads the monitor's output until it holds a line containing each of the
 * given strings after offset `from`; returns the offset after the last. */
static size_t wait_for(size_t from, const char *what)
{
    uint64_t end = mono_ms() + WAIT_MS;
    for (;;) {
        char *hit = strstr(out + from, what);
        if (hit != NULL)
            return (size_t)(hit - out) + strlen(what);
        uint64_t now = mono_ms();
        if (now >= end) {
            fprintf(stderr, "never saw \"%s\"; output:\n%s\n", what, out);
            CHECK(!"timeout");
        }
        struct pollfd p = {.fd = out_fd, .events = POLLIN};
        CHECK(poll(&p, 1, (int)(end - now)) >= 0);
        if (!(p.revents & (POLLIN | POLLHUP)))
            continue;
        CHECK(out_len + 1 < sizeof(out));
        ssize_t r = read(out_fd, out + out_len, sizeof(out) - out_len - 1);
        if (r <= 0) {
            fprintf(stderr, "end of output before \"%s\":\n%s\n", what, out);
            CHECK(!"eof");
        }
        out_len += (size_t)r;
        out[out_len] = '\0';
    }
}

static long pid_after(const char *line_start)
{
    const char *p = strstr(out, line_start);
    const char *last = NULL;
    while (p != NULL) {
        last = p;
        p = strstr(p + 1, line_start);
    }
    CHECK(last != NULL);
    return strtol(last + strlen(line_start), NULL, 10);
}

static void drain_until_eof(void)
{
    for (;;) {
        struct pollfd p = {.fd = out_fd, .events = POLLIN};
        CHECK(poll(&p, 1, WAIT_MS) == 1);
        if (out_len + 1 >= sizeof(out))
            out_len = 0;
        ssize_t r = read(out_fd, out + out_len, sizeof(out) - out_len - 1);
        if (r <= 0)
            break;
        out_len += (size_t)r;
        out[out_len] = '\0';
    }
}

static int wait_exit(pid_t pid)
{
    int st;
    uint64_t end = mono_ms() + WAIT_MS;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        CHECK(r >= 0);
        if (r == pid)
            break;
        CHECK(mono_ms() < end);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* polling a PID: there is no descriptor to wait on */
    }
    CHECK(WIFEXITED(st));
    return WEXITSTATUS(st);
}

static void test_run_restart_stop(void)
{
    char conf[2048];
    snprintf(conf, sizeof(conf),
             "agentXSocket unix:%s\n"
             "persistentDir %s/persist\n"
             "controlSocket %s\n"
             "trapHost 198.18.0.1 user u1 auth SHA-256 \"sekrit-passphrase-1\" priv AES-128 "
             "\"sekrit-passphrase-2\"\n"
             "capture pcap:%s role signalling\n"
             "signallingLatency 20\n",
             master_path, dir, sock_path, pcap_path);
    write_file(conf_path, conf, 0600);
    write_file(pcap_path, "\xd4\xc3\xb2\xa1-not-really", 0600);
    /* the AgentX master */
    int master = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", master_path);
    CHECK(bind(master, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(master, 8) == 0);

    /* left by a single-process pmirrord (root): given to the agent's user */
    char persist[160], left[200];
    snprintf(persist, sizeof(persist), "%s/persist", dir);
    snprintf(left, sizeof(left), "%s/pmirrord-agent.conf", persist);
    CHECK(mkdir(persist, 0700) == 0);
    write_file(left, "pmTrapEnable 1\n", 0600);

    pid_t mon = start_monitor(1, &hooks);
    size_t at = wait_for(0, "] info: pmirrord " PM_VERSION " started");
    wait_for(0, "agent ready pid=");
    wait_for(0, "capture ready pid=");
    CHECK(strstr(out, "agent slice pid=") != NULL);
    /* the agent's slice: its four lines, the trap host, no capture source */
    CHECK(strstr(out, "lines=4 hosts=1 captures=0 latency=10 listen=1 pcaps=0 head=- fifo=0"));
    CHECK(strstr(out, "lines=2 hosts=0 captures=1 latency=20 listen=0 pcaps=1 head=\xd4\xc3\xb2\xa1"
                      " fifo=1"));
    CHECK(strstr(out, "agent agentx-fd id=7") != NULL);
    /* 7 answered; of the burst 100..104 at most the first: a connect at most
     * every 250 ms (counted from the end of the last one), 4 a second */
    wait_for(0, "agent agentx-fail id=101 errno=11 too many requests");
    wait_for(0, "agent agentx-fail id=102 errno=11");
    wait_for(0, "agent agentx-fail id=103 errno=11");
    wait_for(0, "agent agentx-fail id=104 errno=11");
    /* the capture process's request is counted, never answered */
    CHECK(strstr(out, "capture agentx") == NULL);
    int ax = accept(master, NULL, NULL);
    CHECK(ax >= 0);
    char buf[8];
    CHECK(read(ax, buf, 6) == 6 && memcmp(buf, "agentx", 6) == 0);
    close(ax);
    struct stat st;
    CHECK(lstat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK(lstat(pid_path, &st) == 0);
    snprintf(buf, sizeof(buf), "%s", "x");
    struct passwd *pw = getpwnam("pmirrord");
    if (pw == NULL)
        pw = getpwnam("nobody");
    CHECK(pw != NULL);
    CHECK(stat(persist, &st) == 0 && S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700);
    CHECK(st.st_uid == pw->pw_uid);
    CHECK(stat(left, &st) == 0 && st.st_uid == pw->pw_uid);
    /* the two children hear each other over chan C */
    long agent1 = pid_after("agent ready pid="), cap1 = pid_after("capture ready pid=");
    char want[256];
    snprintf(want, sizeof(want), "agent peer-heartbeat %ld", cap1);
    wait_for(0, want);
    snprintf(want, sizeof(want), "capture peer-heartbeat %ld", agent1);
    wait_for(0, want);

    /* the capture process dies: a new one, without the pcap file; the agent
     * gets its end of the new chan C and the counts */
    at = out_len;
    CHECK(kill((pid_t)cap1, SIGKILL) == 0);
    at = wait_for(at, "capture process killed by SIGKILL");
    wait_for(at, "capture ready pid=");
    long cap2 = pid_after("capture ready pid=");
    CHECK(cap2 != cap1);
    CHECK(strstr(out + at, "captures=1 latency=20 listen=0 pcaps=0 head=- fifo=1") != NULL);
    wait_for(at, "agent peer-chan");
    snprintf(want, sizeof(want), "agent peer-heartbeat %ld", cap2);
    wait_for(at, want);
    snprintf(want, sizeof(want),
             "agent stats process:capture starts=2 restarts=1 deaths=1 pid=%ld running=1 last "
             "cause: killed by SIGKILL=1",
             cap2);
    wait_for(at, want);

    /* the agent dies: a new one with its slice; the capture process gets
     * its end of the new chan C; the new agent hears the counts */
    at = out_len;
    CHECK(kill((pid_t)agent1, SIGKILL) == 0);
    at = wait_for(at, "agent process killed by SIGKILL");
    wait_for(at, "agent ready pid=");
    long agent2 = pid_after("agent ready pid=");
    CHECK(agent2 != agent1);
    wait_for(at, "capture peer-chan");
    snprintf(want, sizeof(want), "capture peer-heartbeat %ld", agent2);
    wait_for(at, want);
    wait_for(at, "agent stats process:agent starts=2 restarts=1");
    wait_for(at, "agent stats process:capture starts=2 restarts=1");

    /* a file that no longer validates delays the restart, with its FILE:LINE */
    char bad[2200];
    snprintf(bad, sizeof(bad), "%s", conf);
    char *lat = strstr(bad, "signallingLatency 20");
    CHECK(lat != NULL);
    memcpy(lat, "signallingLatency 0 ", 20);
    write_file(conf_path, bad, 0600);
    at = out_len;
    CHECK(kill((pid_t)cap2, SIGKILL) == 0);
    snprintf(want, sizeof(want), "cannot start the capture process: %s:6: signallingLatency",
             conf_path);
    at = wait_for(at, want);
    CHECK(strstr(out + at, "capture ready pid=") == NULL);
    write_file(conf_path, conf, 0600);
    wait_for(at, "capture ready pid=");
    cap2 = pid_after("capture ready pid=");

    /* SIGTERM: children stopped, control socket and pidfile removed, status 0 */
    CHECK(kill(mon, SIGTERM) == 0);
    CHECK(wait_exit(mon) == 0);
    drain_until_eof();
    if (getenv("TEST_MONITOR_VERBOSE") != NULL)
        fprintf(stderr, "%s", out);
    CHECK(kill((pid_t)agent2, 0) == -1 && errno == ESRCH);
    CHECK(kill((pid_t)cap2, 0) == -1 && errno == ESRCH);
    CHECK(lstat(sock_path, &st) == -1 && errno == ENOENT);
    CHECK(lstat(pid_path, &st) == -1 && errno == ENOENT);
    close(out_fd);
    close(master);
    unlink(master_path);
}

/* Both children die at once: whichever starts first keeps its new chan C end
 * for the other, and the two new processes hear each other. */
static void test_both_die(void)
{
    char conf[1024], want[128];
    snprintf(conf, sizeof(conf),
             "agentXSocket unix:%s\npersistentDir %s/persist\ncontrolSocket %s\n"
             "capture eth0\n",
             master_path, dir, sock_path);
    write_file(conf_path, conf, 0600);
    pid_t mon = start_monitor(1, NULL);
    wait_for(0, "] info: pmirrord " PM_VERSION " started");
    wait_for(0, "agent ready pid=");
    wait_for(0, "capture ready pid=");
    long agent1 = pid_after("agent ready pid="), cap1 = pid_after("capture ready pid=");
    size_t at = out_len;
    CHECK(kill((pid_t)agent1, SIGKILL) == 0 && kill((pid_t)cap1, SIGKILL) == 0);
    wait_for(at, "agent process killed by SIGKILL");
    wait_for(at, "capture process killed by SIGKILL");
    wait_for(at, "agent ready pid=");
    wait_for(at, "capture ready pid=");
    long agent2 = pid_after("agent ready pid="), cap2 = pid_after("capture ready pid=");
    CHECK(agent2 != agent1 && cap2 != cap1);
    snprintf(want, sizeof(want), "agent peer-heartbeat %ld", cap2);
    wait_for(at, want);
    snprintf(want, sizeof(want), "capture peer-heartbeat %ld", agent2);
    wait_for(at, want);
    CHECK(kill(mon, SIGTERM) == 0);
    CHECK(wait_exit(mon) == 0);
    close(out_fd);
}

/* A child's FAILED fails the start-up: status 1, its reason on stderr. */
static void test_child_failed(void)
{
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "agentXSocket unix:%s\npersistentDir %s/persist\ncontrolSocket %s\n"
             "capture failme\n",
             master_path, dir, sock_path);
    write_file(conf_path, conf, 0600);
    pid_t mon = start_monitor(1, NULL);
    wait_for(0, "[main] error: cannot start: capture process: failme: no such interface");
    CHECK(wait_exit(mon) == 1);
    close(out_fd);
    /* detached: the waiting parent prints the reason and exits 1 */
    mon = start_monitor(0, NULL);
    wait_for(0, "pmirrord: capture process: failme: no such interface");
    CHECK(wait_exit(mon) == 1);
    close(out_fd);
    struct stat st;
    CHECK(lstat(sock_path, &st) == -1 && errno == ENOENT);
    CHECK(lstat(pid_path, &st) == -1 && errno == ENOENT);
}

/* Detached: the parent returns 0 once both children are ready; SIGTERM to
 * the daemon (its PID from the pidfile) removes the socket and pidfile. */
static void test_background(void)
{
    char conf[1024];
    snprintf(conf, sizeof(conf),
             "agentXSocket unix:%s\npersistentDir %s/persist\ncontrolSocket %s\n"
             "capture eth0\n",
             master_path, dir, sock_path);
    write_file(conf_path, conf, 0600);
    pid_t parent = start_monitor(0, NULL);
    CHECK(wait_exit(parent) == 0);
    struct stat st;
    CHECK(lstat(sock_path, &st) == 0 && S_ISSOCK(st.st_mode));
    char buf[32] = "";
    int fd = open(pid_path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && read(fd, buf, sizeof(buf) - 1) > 0);
    close(fd);
    pid_t daemon = (pid_t)strtol(buf, NULL, 10);
    CHECK(daemon > 1 && kill(daemon, SIGTERM) == 0);
    uint64_t end = mono_ms() + WAIT_MS;
    while (lstat(pid_path, &st) == 0) { /* removed last, after the children stopped */
        CHECK(mono_ms() < end);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL); /* not our child: nothing to wait on */
    }
    CHECK(lstat(sock_path, &st) == -1 && errno == ENOENT);
    close(out_fd);
}

int main(int argc, char **argv)
{
    const char *mode = sv_child_mode(argc, argv);
    if (mode != NULL)
        return fake_child(mode);
    main_pid = getpid();
    atexit(stop_leftovers);
    if (geteuid() != 0) {
        printf("test_monitor: skipped (needs root: the monitor binds and chowns as root)\n");
        return 0;
    }
    CHECK(mkdtemp(dir) != NULL);
    CHECK(chmod(dir, 0755) == 0); /* the agent's user reaches persistentDir in it */
    snprintf(conf_path, sizeof(conf_path), "%s/pmirrord.conf", dir);
    snprintf(pid_path, sizeof(pid_path), "%s/pmirrord.pid", dir);
    snprintf(sock_path, sizeof(sock_path), "%s/run/ctl.sock", dir);
    snprintf(master_path, sizeof(master_path), "%s/master", dir);
    snprintf(pcap_path, sizeof(pcap_path), "%s/in.pcap", dir);
    signal(SIGPIPE, SIG_IGN);
    test_run_restart_stop();
    test_both_die();
    test_child_failed();
    test_background();
    printf("test_monitor: OK\n");
    return 0;
}
