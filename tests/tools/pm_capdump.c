/*
 * pm_capdump.c - runs capture sources (src/capture) from `capture` directive
 * words and prints what they deliver.  Used by tests/integration/test_capsrc.py
 * and by hand; not installed.
 *
 *   pm_capdump [-l LATENCY_MS] [-r auto|immediate|block] [-b BATCH] [-x HEXBYTES]
 *              [-F N] [-e] [--sandbox USER] SPEC...
 *
 * Each SPEC is one argument holding the words after `capture`, split as the
 * configuration file splits them ("..." groups a word):
 *   pm_capdump 'veth0 role signalling filter "udp port 1812"' 'pcap:/tmp/x.pcap pace recorded'
 * A pcap:FILE is opened here and its descriptor passed, as the monitor will.
 *
 * Output, one line each, flushed:
 *   ready
 *   pkt SRC DLT CAPLEN WIRELEN TS_SEC.TS_USEC HEXPREFIX [super]
 *   state SRC up|down|missing|eof cause=CAUSE REASON
 *   warn SRC REASON
 *   stats SRC state=S cause=C packets=N bytes=N kernel_drops=N if_drops=N backlog_drops=N
 *         super=N reopens=N last=SEC.USEC offset=N size=N
 * SRC is the first word of its SPEC.  Stats are printed on SIGUSR1 and at exit
 * (SIGTERM, SIGINT, or with -e when every source has reached eof).
 * -F N: the callback answers "full" to every Nth packet (backpressure test).
 *
 * --sandbox USER: the capture process's sandbox (src/capture/sandbox.c,
 * docs/sandbox.md) in its order: pcap files opened, privileges dropped to
 * USER (nobody with a warning if it does not exist), link watcher and
 * sources opened, then the seccomp filter.  Prints
 *   sandbox user=UID gid=GID eff=HEX bnd=HEX nnp=N seccomp=N landlock=ABI
 * (and `warn sandbox REASON` for the fallback user or a kernel without
 * Landlock) before `ready`.
 * Test only: --trigger ACTION (repeatable; the Nth SIGUSR2 runs the Nth action):
 *   read:FILE   open FILE read-only and read it; prints `trigger read FILE ok|ERROR`
 *   write:FILE  open FILE for writing (seccomp: SIGSYS)
 *   exec:PROG   execve PROG (seccomp: SIGSYS)
 */
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config/conf_lex.h"
#include "pmirrord/cap_linkwatch.h"
#include "pmirrord/cap_source.h"
#include "pmirrord/sandbox.h"

#define MAX_SOURCES  16
#define MAX_TRIGGERS 8

struct dump {
    struct cap_source *src[MAX_SOURCES];
    char name[MAX_SOURCES][CAP_SRC_MAX + 8];
    int n;
    unsigned hexbytes;
    unsigned long full_every, calls;
};

static volatile sig_atomic_t got_usr1, got_usr2, got_term;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        got_usr1 = 1;
    else if (sig == SIGUSR2)
        got_usr2++;
    else
        got_term = 1;
}

static const char *name_of(struct dump *d, struct cap_source *src)
{
    for (int i = 0; i < d->n; i++)
        if (d->src[i] == src)
            return d->name[i];
    return "?";
}

static int on_packet(void *arg, struct cap_source *src, const struct cap_packet *pkt)
{
    struct dump *d = arg;
    if (d->full_every && ++d->calls % d->full_every == 0)
        return CAP_PKT_FULL;
    char hex[2 * 256 + 1];
    unsigned n = pkt->caplen < d->hexbytes ? pkt->caplen : d->hexbytes;
    for (unsigned i = 0; i < n; i++)
        snprintf(hex + 2 * i, 3, "%02x", pkt->data[i]);
    hex[2 * n] = '\0';
    printf("pkt %s %d %u %u %lld.%06u %s%s\n", name_of(d, src), pkt->dlt, pkt->caplen, pkt->wirelen,
           (long long)pkt->ts_sec, pkt->ts_usec, n ? hex : "-",
           (pkt->flags & CAP_PKT_SUPER) ? " super" : "");
    fflush(stdout);
    return CAP_PKT_TAKEN;
}

static void on_event(void *arg, struct cap_source *src, enum cap_event ev, const char *reason)
{
    struct dump *d = arg;
    if (ev == CAP_EV_STATE)
        printf("state %s %s cause=%s %s\n", name_of(d, src), cap_state_name(cap_source_state(src)),
               cap_cause_name(cap_source_cause(src)), reason);
    else
        printf("warn %s %s\n", name_of(d, src), reason);
    fflush(stdout);
}

static void on_link(void *arg, enum cap_link what, unsigned ifindex, const char *ifname,
                    unsigned ifflags)
{
    struct dump *d = arg;
    for (int i = 0; i < d->n; i++)
        cap_source_link(d->src[i], what, ifindex, ifname, ifflags);
}

static void print_stats(struct dump *d)
{
    for (int i = 0; i < d->n; i++) {
        struct cap_stats st;
        cap_source_stats(d->src[i], &st);
        printf("stats %s state=%s cause=%s packets=%llu bytes=%llu kernel_drops=%llu if_drops=%llu "
               "backlog_drops=%llu super=%llu reopens=%llu last=%lld.%06u offset=%llu size=%llu\n",
               d->name[i], cap_state_name(st.state), cap_cause_name(st.cause),
               (unsigned long long)st.packets, (unsigned long long)st.bytes,
               (unsigned long long)st.kernel_drops, (unsigned long long)st.if_drops,
               (unsigned long long)st.backlog_drops, (unsigned long long)st.super_packets,
               (unsigned long long)st.reopens, (long long)st.last_ts_sec, st.last_ts_usec,
               (unsigned long long)st.offset, (unsigned long long)st.size);
    }
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr, "usage: pm_capdump [-l LATENCY_MS] [-r auto|immediate|block] [-b BATCH] "
                    "[-x HEXBYTES] [-F N] [-e] [--sandbox USER] SPEC...\n");
    return 2;
}

/* Test only: something the sandbox forbids or the user may not do. */
static void run_trigger(const char *action)
{
    if (!strncmp(action, "read:", 5)) {
        char buf[64];
        int fd = open(action + 5, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;
        printf("trigger read %s %s\n", action + 5, n >= 0 ? "ok" : strerror(errno));
        if (fd >= 0)
            close(fd);
    } else if (!strncmp(action, "write:", 6)) {
        int fd = open(action + 6, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        printf("trigger write %s %s\n", action + 6, fd >= 0 ? "ok" : strerror(errno));
        if (fd >= 0)
            close(fd);
    } else if (!strncmp(action, "exec:", 5)) {
        char *const argv[] = {(char *)(action + 5), NULL};
        execve(action + 5, argv, argv + 1);
        printf("trigger exec %s %s\n", action + 5, strerror(errno));
    } else {
        printf("trigger %s unknown\n", action);
    }
    fflush(stdout);
}

static int enter_sandbox_early(const char *user)
{
    char err[512];
    int rc = sbx_drop_privileges(user, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "pm_capdump: %s\n", err);
        return -1;
    }
    if (rc > 0)
        printf("warn sandbox %s\n", err);
    return 0;
}

static int enter_sandbox_late(void)
{
    char err[512];
    struct sbx_status st;
    int rc = sbx_apply_seccomp(0, err, sizeof(err));
    if (rc > 0)
        printf("warn sandbox %s\n", err);
    if (rc < 0 || sbx_status(&st, err, sizeof(err)) < 0) {
        fprintf(stderr, "pm_capdump: %s\n", err);
        return -1;
    }
    printf("sandbox user=%u gid=%u eff=%llx bnd=%llx nnp=%d seccomp=%d landlock=%d\n",
           (unsigned)st.euid, (unsigned)st.egid, (unsigned long long)st.cap_eff,
           (unsigned long long)st.cap_bnd, st.no_new_privs, st.seccomp, st.landlock);
    return 0;
}

static int add_source(struct dump *d, const char *arg, unsigned latency, enum cap_ring ring,
                      int batch)
{
    char err[512], line[CAP_SRC_MAX + CAP_FILTER_MAX + 256];
    char *words[CONF_MAX_WORDS];
    struct cap_spec spec;

    if (d->n == MAX_SOURCES || strlen(arg) >= sizeof(line)) {
        fprintf(stderr, "pm_capdump: too many sources or spec too long\n");
        return -1;
    }
    memcpy(line, arg, strlen(arg) + 1);
    int nw = conf_split(line, words, CONF_MAX_WORDS, err, sizeof(err));
    if (nw < 0 || cap_spec_parse((const char *const *)words, nw, &spec, err, sizeof(err)) < 0) {
        fprintf(stderr, "pm_capdump: %s\n", err);
        return -1;
    }
    snprintf(d->name[d->n], sizeof(d->name[d->n]), "%s%s", spec.offline ? "pcap:" : "", spec.src);
    struct cap_source *src = cap_source_new(&spec, on_packet, on_event, d, err, sizeof(err));
    if (src == NULL || cap_source_set_latency(src, latency, err, sizeof(err)) < 0 ||
        cap_source_set_ring(src, ring, err, sizeof(err)) < 0 ||
        cap_source_set_batch(src, batch, err, sizeof(err)) < 0) {
        fprintf(stderr, "pm_capdump: %s\n", err);
        cap_source_free(src);
        return -1;
    }
    if (spec.offline) {
        int fd = open(spec.src, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || cap_source_set_fd(src, fd, err, sizeof(err)) < 0) {
            fprintf(stderr, "pm_capdump: %s: %s\n", spec.src, fd < 0 ? strerror(errno) : err);
            cap_source_free(src);
            return -1;
        }
    }
    d->src[d->n++] = src;
    return 0;
}

int main(int argc, char **argv)
{
    static struct dump d = {.hexbytes = 64};
    unsigned latency = CAP_LATENCY_MS_DEFAULT;
    enum cap_ring ring = CAP_RING_AUTO;
    int batch = CAP_BATCH_DEFAULT, exit_on_eof = 0, opt, ntriggers = 0;
    const char *sandbox_user = NULL, *triggers[MAX_TRIGGERS];
    char err[512];
    static const struct option longopts[] = {
        {"sandbox", required_argument, NULL, 'S'},
        {"trigger", required_argument, NULL, 'T'},
        {NULL, 0, NULL, 0},
    };

    while ((opt = getopt_long(argc, argv, "l:r:b:x:F:e", longopts, NULL)) != -1) {
        switch (opt) {
        case 'S':
            sandbox_user = optarg;
            break;
        case 'T':
            if (ntriggers == MAX_TRIGGERS)
                return usage();
            triggers[ntriggers++] = optarg;
            break;
        case 'l':
            latency = (unsigned)strtoul(optarg, NULL, 10);
            break;
        case 'r':
            if (!strcmp(optarg, "immediate"))
                ring = CAP_RING_IMMEDIATE;
            else if (!strcmp(optarg, "block"))
                ring = CAP_RING_BLOCK;
            else if (strcmp(optarg, "auto"))
                return usage();
            break;
        case 'b':
            batch = atoi(optarg);
            break;
        case 'x':
            d.hexbytes = (unsigned)strtoul(optarg, NULL, 10);
            if (d.hexbytes > 256)
                d.hexbytes = 256;
            break;
        case 'F':
            d.full_every = strtoul(optarg, NULL, 10);
            break;
        case 'e':
            exit_on_eof = 1;
            break;
        default:
            return usage();
        }
    }
    if (optind == argc)
        return usage();
    for (int i = optind; i < argc; i++)
        if (add_source(&d, argv[i], latency, ring, batch) < 0)
            return 1;

    sigset_t block, empty;
    sigemptyset(&block);
    sigemptyset(&empty);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, NULL);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    /* pcap files are open (as the monitor will pass them); drop to the user
     * before opening anything else, so CAP_NET_RAW alone must suffice. */
    if (sandbox_user != NULL && enter_sandbox_early(sandbox_user) < 0)
        return 1;

    /* Link watcher first, so an interface created while the sources open
     * is not missed. */
    struct cap_linkwatch *lw = cap_linkwatch_open(err, sizeof(err));
    if (lw == NULL) {
        fprintf(stderr, "pm_capdump: %s\n", err);
        return 1;
    }
    for (int i = 0; i < d.n; i++) {
        if (cap_source_activate(d.src[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "pm_capdump: %s\n", err);
            return 1;
        }
    }
    if (sandbox_user != NULL && enter_sandbox_late() < 0)
        return 1;
    printf("ready\n");
    fflush(stdout);

    int rc = 0, triggered = 0;
    while (!got_term) {
        struct pollfd fds[MAX_SOURCES + 1];
        int nfds = 0, timeout = -1, eofs = 0;
        fds[nfds++] = (struct pollfd){.fd = cap_linkwatch_fd(lw), .events = POLLIN};
        for (int i = 0; i < d.n; i++) {
            int fd = cap_source_pollfd(d.src[i]);
            int t = cap_source_poll_timeout(d.src[i]);
            if (fd >= 0)
                fds[nfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
            if (t >= 0 && (timeout < 0 || t < timeout))
                timeout = t;
            eofs += cap_source_state(d.src[i]) == CAP_STATE_EOF;
        }
        if (exit_on_eof && eofs == d.n)
            break;
        struct timespec ts = {timeout / 1000, (long)(timeout % 1000) * 1000000};
        int n = ppoll(fds, (nfds_t)nfds, timeout >= 0 ? &ts : NULL, &empty);
        if (n < 0 && errno != EINTR) {
            perror("pm_capdump: ppoll");
            rc = 1;
            break;
        }
        if (got_usr1) {
            got_usr1 = 0;
            print_stats(&d);
        }
        while (triggered < got_usr2 && triggered < ntriggers)
            run_trigger(triggers[triggered++]);
        if (n > 0 && fds[0].revents) {
            if (cap_linkwatch_read(lw, on_link, &d, err, sizeof(err)) < 0)
                fprintf(stderr, "pm_capdump: %s\n", err);
        }
        for (int i = 0; i < d.n; i++) {
            if (cap_source_dispatch(d.src[i], err, sizeof(err)) < 0)
                fprintf(stderr, "pm_capdump: %s\n", err);
        }
    }
    print_stats(&d);
    for (int i = 0; i < d.n; i++)
        cap_source_free(d.src[i]);
    cap_linkwatch_free(lw);
    return rc;
}
