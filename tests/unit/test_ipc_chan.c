/*
 * test_ipc_chan.c - the inter-process channel (src/ipc/ipc_chan.c) on real
 * SOCK_SEQPACKET socketpairs: batching, the bounded backlog and path-full
 * drops against a peer that does not read, descriptor passing (a pipe
 * written through the received descriptor), unannounced and surplus
 * descriptors closed, oversized messages refused, end of file, EPIPE
 * without SIGPIPE, and ipc_socketpair()'s buffer sizes.
 */
#include "pmirrord/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "free_watch.h"

#define MAXGOT 20000
static struct ipc_rec *got; /* MAXGOT records, heap */
static size_t ngot;

static void collect(struct ipc_rec *rec, void *arg)
{
    CHECK(ngot < MAXGOT);
    got[ngot++] = *rec;
}

static void pair(int sv[2], int bufsize)
{
    char err[256] = "";
    int r = ipc_socketpair(sv, bufsize, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "ipc_socketpair: %s\n", err);
    CHECK(r == 0);
}

static struct ipc_chan *chan(int fd, size_t backlog, ipc_full_fn fn, void *arg)
{
    char err[256] = "";
    struct ipc_chan *ch = ipc_chan_new(fd, backlog, fn, arg, err, sizeof(err));
    if (ch == NULL)
        fprintf(stderr, "ipc_chan_new: %s\n", err);
    CHECK(ch != NULL);
    return ch;
}

static void event_rec(struct ipc_rec *r, uint32_t n)
{
    memset(r, 0, sizeof(*r));
    r->type = IPC_EVENT;
    r->u.event.trap = PM_TRAP_SESSION_START;
    r->u.event.mirror_id = n;
    snprintf(r->u.event.trigger, sizeof(r->u.event.trigger), "trigger-%u", n);
}

/* Reads every message waiting on ch; returns how many. */
static int drain(struct ipc_chan *ch)
{
    int n = 0, r;
    while ((r = ipc_chan_recv(ch, collect, NULL)) == 1)
        n++;
    CHECK(r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK));
    return n;
}

static void test_round_trip(void)
{
    int sv[2];
    struct ipc_rec r;
    struct ipc_chan_stats st;
    char err[256];

    pair(sv, 0);
    struct ipc_chan *a = chan(sv[0], 0, NULL, NULL), *b = chan(sv[1], 0, NULL, NULL);
    CHECK(ipc_chan_fd(a) == sv[0]);
    CHECK(ipc_chan_flush(a) == 0 && !ipc_chan_pending(a)); /* nothing queued */
    memset(&r, 0, sizeof(r));
    r.type = IPC_HELLO;
    r.u.hello.version = IPC_VERSION;
    r.u.hello.role = IPC_ROLE_CAPTURE;
    r.u.hello.pid = (uint32_t)getpid();
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    event_rec(&r, 1);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    CHECK(ipc_chan_heartbeat(a, 77) == 0);
    CHECK(ipc_chan_pending(a));
    /* nothing is sent before a flush */
    ngot = 0;
    CHECK(ipc_chan_recv(b, collect, NULL) == -1 && errno == EAGAIN);
    CHECK(ipc_chan_flush(a) == 0 && !ipc_chan_pending(a));
    CHECK(drain(b) == 1 && ngot == 3); /* one message, three records */
    CHECK(got[0].type == IPC_HELLO && got[0].u.hello.pid == (uint32_t)getpid());
    CHECK(got[1].type == IPC_EVENT && strcmp(got[1].u.event.trigger, "trigger-1") == 0);
    CHECK(got[2].type == IPC_HEARTBEAT && got[2].u.heartbeat.seq == 77);
    CHECK(got[2].u.heartbeat.mono_ms > 0);
    ipc_chan_get_stats(a, &st);
    CHECK(st.tx_batches == 1 && st.tx_records == 3 && st.backlog_bytes == 0);
    CHECK(st.tx_bytes > 0 && st.backlog_peak == st.tx_bytes);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx.batches == 1 && st.rx.records == 3);

    /* an invalid record is refused at put, counted, and nothing is queued */
    event_rec(&r, 2);
    r.u.event.direction = 7;
    err[0] = '\0';
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == -1 && err[0] != '\0');
    CHECK(strstr(err, "direction") != NULL);
    CHECK(!ipc_chan_pending(a));
    /* FD records only with a descriptor, descriptors only with FD records */
    memset(&r, 0, sizeof(r));
    r.type = IPC_FD;
    r.u.fd.purpose = IPC_FD_AGENTX;
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == -1);
    event_rec(&r, 3);
    CHECK(ipc_chan_put_fd(a, &r, 0, err, sizeof(err)) == -1);
    ipc_chan_get_stats(a, &st);
    CHECK(st.tx_invalid == 3);

    /* many records: several full batches, all in order */
    for (uint32_t i = 0; i < 3000; i++) {
        event_rec(&r, i);
        CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    }
    ngot = 0;
    int msgs = 0;
    while (ipc_chan_pending(a)) {
        CHECK(ipc_chan_flush(a) >= 0);
        msgs += drain(b);
    }
    CHECK(ngot == 3000 && msgs > 1);
    for (uint32_t i = 0; i < 3000; i++)
        CHECK(got[i].type == IPC_EVENT && got[i].u.event.mirror_id == i);
    ipc_chan_free(a);
    ipc_chan_free(b);
}

/* A socket whose send buffer is smaller than IPC_MSG_MAX: batches stay below it
 * (else sendmsg fails with EMSGSIZE and every batch would be lost). */
static void test_small_sndbuf(void)
{
    int sv[2], sz = 4096;
    struct ipc_rec r;
    char err[256];

    CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
    struct ipc_chan *a = chan(sv[0], 0, NULL, NULL), *b = chan(sv[1], 0, NULL, NULL);
    for (uint32_t i = 0; i < 500; i++) {
        event_rec(&r, i);
        CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    }
    memset(&r, 0, sizeof(r));
    r.type = IPC_MLOG;
    memset(r.u.mlog.text, 'x', IPC_MLOG_MAX);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    ngot = 0;
    while (ipc_chan_pending(a)) {
        CHECK(ipc_chan_flush(a) >= 0);
        drain(b);
    }
    CHECK(ngot == 501 && got[499].u.event.mirror_id == 499 && got[500].type == IPC_MLOG);
    ipc_chan_free(a);
    ipc_chan_free(b);
}

static int full_begin, full_end;
static uint64_t full_dropped;

static void on_full(enum ipc_full_state s, unsigned type, uint64_t dropped, void *arg)
{
    CHECK(arg == &full_begin);
    if (s == IPC_FULL_BEGIN) {
        CHECK(type == IPC_EVENT && dropped == 0);
        full_begin++;
    } else {
        CHECK(s == IPC_FULL_END);
        full_end++;
        full_dropped = dropped;
    }
}

/* A peer that does not read: the backlog grows to its bound, then records drop. */
static void test_backlog(void)
{
    const size_t bound = 200 * 1024;
    int sv[2];
    struct ipc_rec r;
    struct ipc_chan_stats st;
    char err[256];
    uint32_t accepted = 0, dropped = 0;

    pair(sv, 4096); /* small: the socket fills after a few batches */
    struct ipc_chan *a = chan(sv[0], bound, on_full, &full_begin);
    struct ipc_chan *b = chan(sv[1], 0, NULL, NULL);
    alarm(30); /* a blocking send would hang here */
    for (uint32_t i = 0; i < 20000; i++) {
        event_rec(&r, i);
        if (ipc_chan_put(a, &r, err, sizeof(err)) == 0) {
            CHECK(dropped == 0); /* no record accepted after the first drop */
            accepted++;
        } else {
            CHECK(strstr(err, "path full") != NULL);
            dropped++;
        }
        CHECK(ipc_chan_flush(a) >= 0);
        ipc_chan_get_stats(a, &st);
        CHECK(st.backlog_bytes <= bound);
    }
    CHECK(dropped > 0 && accepted > 0);
    CHECK(ipc_chan_flush(a) == 1 && ipc_chan_pending(a)); /* still waiting */
    ipc_chan_get_stats(a, &st);
    CHECK(st.tx_full_drops[IPC_EVENT] == dropped);
    CHECK(st.backlog_peak <= bound && st.backlog_peak > bound - 2 * IPC_MSG_MAX / 10);
    CHECK(st.backlog_bytes > 0);
    CHECK(full_begin == 1 && full_end == 0);

    /* the peer reads: everything accepted arrives, in order, then the path reopens */
    ngot = 0;
    while (ipc_chan_pending(a)) {
        CHECK(ipc_chan_flush(a) >= 0);
        drain(b);
    }
    CHECK(ngot == accepted);
    for (uint32_t i = 0; i < accepted; i++)
        CHECK(got[i].u.event.mirror_id == i);
    ipc_chan_get_stats(a, &st);
    CHECK(st.backlog_bytes == 0 && st.tx_records == accepted);
    event_rec(&r, 99999);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    CHECK(full_begin == 1 && full_end == 1 && full_dropped == dropped);
    alarm(0);
    ipc_chan_free(a);
    ipc_chan_free(b);
}

static struct ipc_rec fd_rec_got;
static int fd_got = -1;

static void take_fd(struct ipc_rec *rec, void *arg)
{
    if (rec->type == IPC_FD && arg != NULL) {
        fd_rec_got = *rec;
        fd_got = rec->u.fd.fd;
        rec->u.fd.fd = -1;
    }
    collect(rec, NULL);
}

static void test_fd_passing(void)
{
    int sv[2], p[2];
    struct ipc_rec r;
    struct ipc_chan_stats st;
    char err[256], buf[16];

    pair(sv, 0);
    struct ipc_chan *a = chan(sv[0], 0, NULL, NULL), *b = chan(sv[1], 0, NULL, NULL);
    CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0); /* a leaked write end: EAGAIN, not a hang */
    memset(&r, 0, sizeof(r));
    r.type = IPC_FD;
    r.u.fd.purpose = IPC_FD_PCAP_FILE;
    r.u.fd.id = 4;
    strcpy(r.u.fd.name, "trace.pcap");
    CHECK(ipc_chan_put_fd(a, &r, p[1], err, sizeof(err)) == 0);
    close(p[1]); /* the channel holds its own duplicate until sent */
    CHECK(ipc_chan_flush(a) == 0);
    ngot = 0;
    CHECK(ipc_chan_recv(b, take_fd, "take") == 1);
    CHECK(ngot == 1 && fd_got >= 0);
    CHECK(fd_rec_got.u.fd.purpose == IPC_FD_PCAP_FILE && fd_rec_got.u.fd.id == 4);
    CHECK(strcmp(fd_rec_got.u.fd.name, "trace.pcap") == 0);
    CHECK(fcntl(fd_got, F_GETFD) & FD_CLOEXEC); /* MSG_CMSG_CLOEXEC */
    CHECK(write(fd_got, "through", 7) == 7);
    CHECK(read(p[0], buf, sizeof(buf)) == 7 && memcmp(buf, "through", 7) == 0);
    close(fd_got);
    /* every write end is closed now: the sender's duplicate went with the batch */
    CHECK(read(p[0], buf, sizeof(buf)) == 0);
    close(p[0]);
    ipc_chan_get_stats(a, &st);
    CHECK(st.tx_fds == 1);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx_fds == 1 && st.rx.fds_closed == 0);

    /* IPC_FDS_MAX descriptors fit one batch; one more starts the next */
    int fds[IPC_FDS_MAX + 1];
    for (unsigned i = 0; i <= IPC_FDS_MAX; i++) {
        fds[i] = open("/dev/null", O_WRONLY | O_CLOEXEC);
        CHECK(ipc_chan_put_fd(a, &r, fds[i], err, sizeof(err)) == 0);
        close(fds[i]);
    }
    CHECK(ipc_chan_flush(a) == 0);
    ngot = 0;
    CHECK(drain(b) == 2 && ngot == IPC_FDS_MAX + 1);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx_fds == 1 + IPC_FDS_MAX + 1 && st.rx.fds_closed == 0); /* all announced */
    CHECK(st.rx.rejects[IPC_REJ_FD_MISSING] == 0);
    ipc_chan_free(a);
    ipc_chan_free(b);
}

/* Sends msg with descriptors fds[0..n) on fd, as a peer that ignores the protocol. */
static void raw_send(int fd, const void *msg, size_t len, const int *fds, size_t n)
{
    char cbuf[CMSG_SPACE(sizeof(int) * 64)];
    struct iovec iov = {.iov_base = (void *)msg, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n > 0) {
        memset(cbuf, 0, sizeof(cbuf));
        mh.msg_control = cbuf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    CHECK(sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)len);
}

/* One record of type HELLO or FD as a batch, encoded by the codec. */
static size_t one(uint8_t *out, unsigned type)
{
    struct ipc_rec r;
    char err[256];
    memset(&r, 0, sizeof(r));
    r.type = (uint16_t)type;
    if (type == IPC_HELLO) {
        r.u.hello.version = 1;
        r.u.hello.role = IPC_ROLE_MONITOR;
        r.u.hello.pid = 1;
    } else {
        r.u.fd.purpose = IPC_FD_CONTROL_LISTEN;
    }
    ssize_t n = ipc_rec_encode(&r, out + IPC_BATCH_HDR, 1024, err, sizeof(err));
    CHECK(n > 0);
    ipc_batch_header(out, 1, (uint32_t)(IPC_BATCH_HDR + n));
    return IPC_BATCH_HDR + (size_t)n;
}

static void test_unannounced_fds(void)
{
    int sv[2], p[2], w[20];
    uint8_t m[1024];
    struct ipc_chan_stats st;
    char c;

    pair(sv, 0);
    struct ipc_chan *b = chan(sv[1], 0, NULL, NULL);
    CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0); /* a leaked write end: EAGAIN, not a hang */
    for (int i = 0; i < 20; i++)
        w[i] = p[1];

    /* a HELLO with two descriptors it does not announce */
    raw_send(sv[0], m, one(m, IPC_HELLO), w, 2);
    ngot = 0;
    CHECK(ipc_chan_recv(b, collect, NULL) == 1 && ngot == 1 && got[0].type == IPC_HELLO);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx.fds_closed == 2 && st.rx_fds == 2);

    /* an FD record with two descriptors: one taken, the surplus closed */
    raw_send(sv[0], m, one(m, IPC_FD), w, 2);
    fd_got = -1;
    CHECK(ipc_chan_recv(b, take_fd, "take") == 1 && fd_got >= 0);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx.fds_closed == 3);
    close(fd_got);

    /* more descriptors than the receiver makes room for: the kernel cuts
     * them (MSG_CTRUNC), the batch is refused and what came is closed */
    raw_send(sv[0], m, one(m, IPC_FD), w, 20);
    ngot = 0;
    CHECK(ipc_chan_recv(b, collect, NULL) == 1 && ngot == 0);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx.rejects[IPC_REJ_LENGTH] == 1);

    /* a refused batch (bad magic) closes its descriptors too */
    one(m, IPC_FD);
    m[0] = 'X';
    raw_send(sv[0], m, 40, w, 1);
    CHECK(ipc_chan_recv(b, collect, NULL) == 1 && ngot == 0);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx.rejects[IPC_REJ_MAGIC] == 1);

    /* no copy of the write end is left open in this process but ours */
    close(p[1]);
    CHECK(read(p[0], &c, 1) == 0);
    close(p[0]);

    /* a message longer than IPC_MSG_MAX is cut by the kernel (MSG_TRUNC): refused */
    static uint8_t big[IPC_MSG_MAX + 100];
    memset(big, 0, sizeof(big));
    ipc_batch_header(big, 1, sizeof(big));
    int sz = 4 * (int)sizeof(big);
    CHECK(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)) == 0);
    raw_send(sv[0], big, sizeof(big), NULL, 0);
    CHECK(ipc_chan_recv(b, collect, NULL) == 1 && ngot == 0);
    ipc_chan_get_stats(b, &st);
    CHECK(st.rx.rejects[IPC_REJ_LENGTH] == 2);

    /* the peer closes: end of file */
    close(sv[0]);
    CHECK(ipc_chan_recv(b, collect, NULL) == 0);
    ipc_chan_free(b);
}

static void test_peer_gone(void)
{
    int sv[2];
    struct ipc_rec r;
    struct ipc_chan_stats st;
    char err[256];

    pair(sv, 0);
    struct ipc_chan *a = chan(sv[0], 0, NULL, NULL);
    close(sv[1]);
    event_rec(&r, 1);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    /* EPIPE, and no SIGPIPE (default action here: it would kill the test).
     * Linux raises none for SEQPACKET; MSG_NOSIGNAL makes sure of it. */
    CHECK(ipc_chan_flush(a) == -1 && errno == EPIPE);
    ipc_chan_get_stats(a, &st);
    CHECK(st.tx_errors == 1 && !ipc_chan_pending(a) && st.backlog_bytes == 0);
    ipc_chan_free(a);
}

/* As nobody (no CAP_NET_ADMIN): the *FORCE options fail with EPERM and the plain
 * ones apply, capped at net.core.wmem_max / rmem_max (socket(7)). */
static long wmem_max(void)
{
    FILE *f = fopen("/proc/sys/net/core/wmem_max", "r");
    long v = 0;

    CHECK(f != NULL && fscanf(f, "%ld", &v) == 1 && v > 0);
    fclose(f);
    return v;
}

static void fallback_child(int want)
{
    long wmax = wmem_max();
    int status;

    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int sv[2], v;
        socklen_t l = sizeof(v);
        char err[256] = "";
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(2);
        if (ipc_socketpair(sv, want, err, sizeof(err)) < 0) {
            fprintf(stderr, "as nobody: %s\n", err);
            _exit(3);
        }
        if (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l) < 0)
            _exit(4);
        /* the kernel doubles what it accepts: 2 * min(want, wmem_max) */
        _exit(v == 2 * (want < wmax ? want : wmax) ? 0 : 5);
    }
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_socketpair(void)
{
    int sv[2], v, type;
    socklen_t l = sizeof(v);
    /* above net.core.wmem_max (Debian: 212992), so that only *FORCE reaches it */
    const int want = wmem_max() < (16 << 20) ? (int)wmem_max() * 2 : 32 << 20;

    pair(sv, want);
    for (int i = 0; i < 2; i++) {
        CHECK(fcntl(sv[i], F_GETFD) & FD_CLOEXEC);
        l = sizeof(type);
        CHECK(getsockopt(sv[i], SOL_SOCKET, SO_TYPE, &type, &l) == 0 && type == SOCK_SEQPACKET);
        l = sizeof(v);
        CHECK(getsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &v, &l) == 0);
        /* socket(7): the kernel doubles the value; *FORCE ignores wmem_max */
        if (geteuid() == 0)
            CHECK(v >= 2 * want);
        else
            CHECK(v > 0);
        l = sizeof(v);
        CHECK(getsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &v, &l) == 0);
        if (geteuid() == 0)
            CHECK(v >= 2 * want);
        close(sv[i]);
    }
    if (geteuid() == 0)
        fallback_child(want);
}

static int secret_seen;

static void check_secret(struct ipc_rec *rec, void *arg)
{
    if (rec->type == IPC_CONFIG && strcmp(rec->u.config.value, arg) == 0)
        secret_seen++;
}

/* A CONFIG value (a RADIUS secret, later) is in no heap block when it is freed:
 * batches are wiped once sent and when freed unsent, the channel when freed. */
static void test_secrets_wiped(void)
{
    static const char secret[] = "Rad1usSecretNeedle";
    int sv[2];
    struct ipc_rec r;
    char err[256];

    memset(&r, 0, sizeof(r));
    r.type = IPC_CONFIG;
    strcpy(r.u.config.key, "secret");
    strcpy(r.u.config.value, secret);

    pair(sv, 0);
    free_watch_start(secret);
    struct ipc_chan *a = chan(sv[0], 0, NULL, NULL), *b = chan(sv[1], 0, NULL, NULL);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0);
    CHECK(ipc_chan_flush(a) == 0); /* sent: the batch is kept as the spare */
    CHECK(ipc_chan_recv(b, check_secret, (void *)secret) == 1 && secret_seen == 2);
    CHECK(ipc_chan_put(a, &r, err, sizeof(err)) == 0); /* left unsent */
    ipc_chan_free(a);
    ipc_chan_free(b);
    free_watch_stop();
    CHECK(!free_watch_seen());
}

/* Descriptors open in this process (a leak check around the tests). */
static int open_fds(void)
{
    int n = 0;
    for (int fd = 0; fd < 1024; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            n++;
    return n;
}

int main(void)
{
    int fds_before = open_fds();
    signal(SIGALRM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    got = calloc(MAXGOT, sizeof(*got));
    CHECK(got != NULL);
    test_round_trip();
    test_small_sndbuf();
    test_backlog();
    test_fd_passing();
    test_unannounced_fds();
    test_peer_gone();
    test_socketpair();
    test_secrets_wiped();
    free(got);
    CHECK(open_fds() == fds_before);
    printf("test_ipc_chan: ok\n");
    return 0;
}
