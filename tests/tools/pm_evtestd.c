/*
 * pm_evtestd.c - pmirrord's own core plus one test hook: events read from a
 * FIFO are raised through pm_event_raise() inside the capture process, as
 * the capture side raises them (the hooks of daemon.h).  Used by the
 * integration tests and benchmarks; not installed.
 *
 *   PM_EVTEST_FIFO=/path/fifo pm_evtestd -f -c pmirrord.conf ...
 *   pm_evtestd --child capture [-f] [-D TOKENS]   (as the monitor starts it)
 *
 * One event per line, key=value words (values percent-decoded; "*N:c" means
 * N times the character c):
 *   trap=5 mid=1 sid=2 trigger=alice tt=3 cs=0 rid=1 user=alice ec=0 app=0
 *   err=text policy=spl_1 pid=7 dir=0 tip=198.18.0.5 aa=198.18.0.9 trm=1
 *   count=N   raise N copies, mid incremented each time
 *   rate=R    at R per second (default: as fast as possible)
 *   violate=execve   alone on a line: the capture process calls execve(), which
 *             its seccomp filter forbids: it dies of SIGSYS (test_procmodel.py)
 * After each line: "evtest: raised N event(s), M dropped by the queue".  The
 * producer stands for traffic, which never outruns the path to the agent by
 * a whole burst: when the path is full it waits (1 ms, then tries again)
 * instead of dropping, so M is 0 unless a `drop` word asks for the drops
 * (`drop=1`: an event refused by the path is dropped and counted in M).  The
 * agent's own event queue counts its drops (eventQueueSize) as always.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <linux/if_ether.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pmirrord/cap_proc.h"
#include "pmirrord/daemon.h"
#include "pmirrord/log.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/supervise.h"

static void decode(const char *in, char *out, size_t outlen)
{
    size_t o = 0;
    if (in[0] == '*') {
        unsigned long n = strtoul(in + 1, NULL, 10);
        const char *c = strchr(in, ':');
        char ch = c != NULL && c[1] ? c[1] : 'x';
        for (unsigned long i = 0; i < n && o + 1 < outlen; i++)
            out[o++] = ch;
        out[o] = '\0';
        return;
    }
    for (size_t i = 0; in[i] && o + 1 < outlen; i++) {
        if (in[i] == '%' && isxdigit((unsigned char)in[i + 1]) &&
            isxdigit((unsigned char)in[i + 2])) {
            char hex[3] = {in[i + 1], in[i + 2], 0};
            out[o++] = (char)strtoul(hex, NULL, 16);
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

/* Cut to the event's field size: the fields are bounded by the MIB's limits + 1. */
static void copy(char *dst, size_t dstlen, const char *src)
{
    size_t n = strlen(src);
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int parse_drop;    /* the drop word of the line parse_line() read */
static int parse_violate; /* violate=execve: a forbidden system call on demand */

static int parse_line(char *line, struct pm_event *ev, unsigned long *count, double *rate)
{
    char val[1024];
    memset(ev, 0, sizeof(*ev));
    parse_drop = 0;
    parse_violate = 0;
    *count = 1;
    *rate = 0;
    for (char *save = NULL, *w = strtok_r(line, " \t\r\n", &save); w != NULL;
         w = strtok_r(NULL, " \t\r\n", &save)) {
        char *eq = strchr(w, '=');
        if (eq == NULL)
            return -1;
        *eq = '\0';
        decode(eq + 1, val, sizeof(val));
        unsigned long u = strtoul(val, NULL, 10);
        long l = strtol(val, NULL, 10);
        if (!strcmp(w, "trap"))
            ev->trap = (enum pm_trap)l;
        else if (!strcmp(w, "mid"))
            ev->mirror_id = (uint32_t)u;
        else if (!strcmp(w, "sid"))
            ev->session_id = (uint32_t)u;
        else if (!strcmp(w, "trigger"))
            copy(ev->trigger, sizeof(ev->trigger), val);
        else if (!strcmp(w, "tt"))
            ev->trigger_type = (int)l;
        else if (!strcmp(w, "cs"))
            ev->config_source = (int)l;
        else if (!strcmp(w, "rid"))
            ev->router_id = (uint32_t)u;
        else if (!strcmp(w, "user"))
            copy(ev->user_name, sizeof(ev->user_name), val);
        else if (!strcmp(w, "ec"))
            ev->error_cause = (int)l;
        else if (!strcmp(w, "app"))
            ev->application = (int)l;
        else if (!strcmp(w, "err"))
            copy(ev->error_string, sizeof(ev->error_string), val);
        else if (!strcmp(w, "policy"))
            copy(ev->policy_name, sizeof(ev->policy_name), val);
        else if (!strcmp(w, "pid"))
            ev->policy_id = (uint32_t)u;
        else if (!strcmp(w, "dir"))
            ev->direction = (int)l;
        else if (!strcmp(w, "tip"))
            inet_pton(AF_INET, val, &ev->target_ip);
        else if (!strcmp(w, "aa"))
            inet_pton(AF_INET, val, &ev->analyzer_ip);
        else if (!strcmp(w, "trm"))
            ev->termination_reason = (int)l;
        else if (!strcmp(w, "count"))
            *count = u;
        else if (!strcmp(w, "rate"))
            *rate = strtod(val, NULL);
        else if (!strcmp(w, "drop"))
            parse_drop = u != 0;
        else if (!strcmp(w, "violate") && !strcmp(val, "execve"))
            parse_violate = 1;
        else if (!strcmp(w, "violate") && !strcmp(val, "inject"))
            parse_violate = 2;
        else
            return -1;
    }
    return 0;
}

/*
 * The producer, inside the capture process (docs/process-model.md): the
 * monitor opens the FIFO read-write (so it never reaches end of file) and
 * passes it as a test-fifo descriptor; the capture process's loop polls it
 * and calls evt_run() when it is readable or when the next paced event is
 * due.  Under the seccomp filter: no file is opened here, nothing sleeps.
 */
#define EVT_BUF 65536

static struct {
    int fd;
    char buf[EVT_BUF];
    size_t len;
    /* the line being raised */
    int busy;
    struct pm_event ev;
    unsigned long count, done, dropped;
    int drop;    /* drop=1: a full path drops (counted) instead of waiting */
    int blocked; /* the path was full: the next try is due in 1 ms */
    double blocked_at;
    double rate;
    struct timespec start;
} evt = {.fd = -1};

static int monitor_fd(char *err, size_t errlen)
{
    const char *path = getenv("PM_EVTEST_FIFO");
    if (path == NULL) {
        snprintf(err, errlen, "evtest: PM_EVTEST_FIFO is not set");
        return -1;
    }
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        snprintf(err, errlen, "evtest: %s: %s", path, strerror(errno));
    return fd;
}

static int evt_start(int fd, void *arg)
{
    (void)arg;
    evt.fd = fd;
    log_info("main", "evtest: reading events from the FIFO");
    return 0;
}

static double elapsed(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - evt.start.tv_sec) +
           (double)(now.tv_nsec - evt.start.tv_nsec) / 1e9;
}

/* Raises what of the current line is due; logs the line's result at its end. */
static void raise_due(void)
{
    while (evt.done < evt.count) {
        if (evt.rate > 0 && (double)evt.done / evt.rate > elapsed())
            return;
        clock_gettime(CLOCK_REALTIME, &evt.ev.when);
        if (pm_event_raise(&evt.ev) < 0) {
            if (!evt.drop) {
                evt.blocked = 1; /* the path is full: try again in 1 ms */
                evt.blocked_at = elapsed();
                return;
            }
            evt.dropped++;
        }
        evt.blocked = 0;
        evt.ev.mirror_id++;
        evt.done++;
    }
    log_info("main", "evtest: raised %lu event(s), %lu dropped by the queue",
             evt.count - evt.dropped, evt.dropped);
    evt.busy = 0;
}

/* Starts the next complete line of the buffer; 0 when there is none. */
static int next_line(void)
{
    char *nl = memchr(evt.buf, '\n', evt.len);
    if (nl == NULL) {
        if (evt.len == sizeof(evt.buf)) { /* a line longer than the buffer */
            log_warnx("main", "evtest: bad line");
            evt.len = 0;
        }
        return 0;
    }
    *nl = '\0';
    size_t used = (size_t)(nl - evt.buf) + 1;
    if (parse_line(evt.buf, &evt.ev, &evt.count, &evt.rate) < 0) {
        log_warnx("main", "evtest: bad line");
    } else if (parse_violate == 2) {
        /* A frame sent from a capture socket: the filter lets the process
         * write only to its channels, stderr and syslog (docs/sandbox.md). */
        uint8_t frame[60] = {0};
        int s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
        log_info("main", "evtest: writing a frame to a capture socket, which the filter forbids");
        if (s < 0 || write(s, frame, sizeof(frame)) < 0)
            log_warnx("main", "evtest: the frame was not written: %s", strerror(errno));
        if (s >= 0)
            close(s);
    } else if (parse_violate) {
        /* A system call outside the capture process's allowlist (docs/sandbox.md):
         * the filter kills the process with SIGSYS before execve() runs anything;
         * without the filter /bin/true would replace it and exit 0. */
        char *const args[] = {"/bin/true", NULL};
        log_info("main", "evtest: calling execve(), which the seccomp filter forbids");
        execve(args[0], args, args + 1);
        log_warnx("main", "evtest: execve() returned: %s", strerror(errno));
    } else {
        evt.busy = 1;
        evt.done = evt.dropped = 0;
        evt.drop = parse_drop;
        evt.blocked = 0;
        clock_gettime(CLOCK_MONOTONIC, &evt.start);
    }
    memmove(evt.buf, evt.buf + used, evt.len - used);
    evt.len -= used;
    return 1;
}

static int evt_pollfd(void *arg)
{
    (void)arg;
    return evt.busy ? -1 : evt.fd;
}

static int evt_timeout(void *arg)
{
    (void)arg;
    if (!evt.busy)
        return memchr(evt.buf, '\n', evt.len) != NULL ? 0 : -1;
    if (evt.blocked)
        return elapsed() - evt.blocked_at >= 0.001 ? 0 : 1;
    double wait = (double)evt.done / evt.rate - elapsed();
    return evt.rate <= 0 || wait <= 0 ? 0 : (int)(wait * 1000) + 1;
}

static void evt_run(void *arg)
{
    (void)arg;
    if (!evt.busy && evt.len < sizeof(evt.buf)) {
        ssize_t n = read(evt.fd, evt.buf + evt.len, sizeof(evt.buf) - evt.len);
        if (n > 0)
            evt.len += (size_t)n;
    }
    for (;;) {
        if (evt.busy) {
            raise_due();
            if (evt.busy)
                return; /* the rest is paced: evt_timeout() says when */
        }
        if (!next_line())
            return;
    }
}

/* -h: what pm_evtestd adds to pmirrord (the words parse_line() takes). */
static const char evtest_usage[] =
    "\n"
    "pm_evtestd is pmirrord plus a test hook (tests and benchmarks only; not installed):\n"
    "  PM_EVTEST_FIFO=PATH  required: a FIFO (mkfifo), opened by the monitor and read by\n"
    "                       the capture process; each line written to it raises events\n"
    "                       through pm_event_raise() there (EVENT records to the agent)\n"
    "Event line: key=value words separated by blanks; a value is percent-decoded (%20),\n"
    "or *N:c for N times the character c; numbers are decimal, unknown keys refuse the line:\n"
    "  trap=1-10     notification (5 SessionStart, ... as in the MIB)\n"
    "  mid=N sid=N   mirror and session identifiers      rid=N  router ID\n"
    "  trigger=S tt=N cs=N   trigger, trigger type, configuration source\n"
    "  user=S ec=N app=N err=S   user name, error cause, application, error string\n"
    "  policy=S pid=N dir=N  policy name, policy ID, direction\n"
    "  tip=A.B.C.D aa=A.B.C.D  target and analyzer IPv4 addresses    trm=N  termination\n"
    "  count=N       raise N copies, mid incremented each time (default 1)\n"
    "  rate=R        at R per second (default: as fast as possible)\n"
    "  drop=1        a full path to the agent drops (counted) instead of waiting\n"
    "  violate=inject  alone: the capture process writes a frame to a capture socket\n"
    "  violate=execve  alone: the capture process calls execve(), forbidden by its\n"
    "                seccomp filter, and dies of SIGSYS (tests of the restart)\n"
    "e.g.  echo 'trap=5 mid=7 sid=9 user=alice tt=3 trigger=alice' > \"$PM_EVTEST_FIFO\"\n";

int main(int argc, char **argv)
{
    struct pm_daemon_hooks hooks = {
        .monitor_test_fd = monitor_fd,
        .capture_test_start = evt_start,
        .capture_test_pollfd = evt_pollfd,
        .capture_test_timeout = evt_timeout,
        .capture_test_run = evt_run,
        .usage = evtest_usage,
    };
    /* pm_daemon_main() dispatches `--child capture` too once the monitor is
     * in (docs/process-model.md); this keeps `pm_evtestd --child capture`
     * working on its own (tests/integration/test_cap_proc.py). */
    const char *mode = sv_child_mode(argc, argv);
    if (mode != NULL && strcmp(mode, "capture") == 0)
        return pm_capture_proc_main(argc, argv, &hooks);
    return pm_daemon_main(argc, argv, &hooks);
}
