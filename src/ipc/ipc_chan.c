/*
 * ipc_chan.c - a batched, non-blocking record channel over one end of an
 * AF_UNIX SOCK_SEQPACKET socketpair (docs/ipc-protocol.md, "Channel").
 *
 * SOCK_SEQPACKET keeps message boundaries (one sendmsg = one batch = one
 * recvmsg) and is reliable and ordered.  For a socketpair the kernel's only
 * limit on queued messages is the sender's SO_SNDBUF (unix_dgram_sendmsg()
 * skips the max_dgram_qlen check when the peer is connected back to us), so
 * ipc_socketpair() sizes that; when it is full sendmsg(MSG_DONTWAIT) fails
 * with EAGAIN and the batch waits in a backlog bounded in bytes.  Beyond the
 * bound records are dropped and counted per type: nothing here ever blocks.
 *
 * While batches wait, new records go into the open batch until it is full,
 * so a slow peer receives few large messages instead of many small ones.
 * Descriptors for IPC_FD records are dup'd into the batch and sent with it
 * as one SCM_RIGHTS control message; the dups are closed once sent.
 */
#include "pmirrord/ipc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#define IPC_BACKLOG_DEFAULT (1024u * 1024u)
#define IPC_SNDBUF_SLACK    64u /* > the 32 octets unix_dgram_sendmsg() keeps back */

struct batch {
    struct batch *next;
    size_t len;
    uint16_t count;
    unsigned nfds;
    int fds[IPC_FDS_MAX];
    uint8_t buf[IPC_MSG_MAX];
};

struct ipc_chan {
    int fd;
    size_t batch_max; /* IPC_MSG_MAX, or less for a small SO_SNDBUF */
    size_t backlog_max;
    struct batch *head, *tail; /* closed batches, oldest first */
    struct batch *cur;         /* the open batch, or NULL */
    struct batch *spare;       /* one sent batch kept for reuse */
    int full;                  /* dropping records since full_dropped was reset */
    uint64_t full_dropped;
    ipc_full_fn full_fn;
    void *full_arg;
    struct ipc_chan_stats st;
    uint8_t scratch[IPC_REC_HDR + IPC_REC_MAX];
    uint8_t rx[IPC_MSG_MAX];
};

struct ipc_chan *ipc_chan_new(int fd, size_t backlog, ipc_full_fn full_fn, void *full_arg,
                              char *err, size_t errlen)
{
    struct ipc_chan *ch;

    if (fd < 0) {
        snprintf(err, errlen, "ipc: no socket");
        return NULL;
    }
    ch = calloc(1, sizeof(*ch));
    if (ch == NULL) {
        snprintf(err, errlen, "ipc: out of memory");
        return NULL;
    }
    ch->fd = fd;
    /* unix_dgram_sendmsg() refuses (EMSGSIZE) a message longer than
     * sk_sndbuf - 32, which SO_SNDBUF reads back; keep batches below it. */
    int sndbuf = 0;
    socklen_t sl = sizeof(sndbuf);
    ch->batch_max = IPC_MSG_MAX;
    if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &sl) == 0 && sndbuf > 0 &&
        (size_t)sndbuf < IPC_MSG_MAX + IPC_SNDBUF_SLACK)
        ch->batch_max = (size_t)sndbuf > IPC_BATCH_HDR + IPC_SNDBUF_SLACK + 256
                            ? (size_t)sndbuf - IPC_SNDBUF_SLACK
                            : IPC_BATCH_HDR + 256;
    if (backlog == 0)
        backlog = IPC_BACKLOG_DEFAULT;
    ch->backlog_max = backlog < IPC_MSG_MAX ? IPC_MSG_MAX : backlog;
    ch->full_fn = full_fn;
    ch->full_arg = full_arg;
    return ch;
}

static void batch_free(struct batch *b)
{
    if (b == NULL)
        return;
    for (unsigned i = 0; i < b->nfds; i++)
        close(b->fds[i]);
    OPENSSL_cleanse(b->buf, b->len);
    free(b);
}

int ipc_chan_release(struct ipc_chan *ch)
{
    if (ch == NULL)
        return -1;
    int fd = ch->fd;
    while (ch->head != NULL) {
        struct batch *b = ch->head;
        ch->head = b->next;
        batch_free(b);
    }
    batch_free(ch->cur);
    batch_free(ch->spare);
    OPENSSL_cleanse(ch, sizeof(*ch));
    free(ch);
    return fd;
}

void ipc_chan_free(struct ipc_chan *ch)
{
    int fd = ipc_chan_release(ch);
    if (fd >= 0)
        close(fd);
}

int ipc_chan_fd(const struct ipc_chan *ch)
{
    return ch->fd;
}

int ipc_chan_pending(const struct ipc_chan *ch)
{
    return ch->head != NULL || (ch->cur != NULL && ch->cur->count > 0);
}

void ipc_chan_get_stats(const struct ipc_chan *ch, struct ipc_chan_stats *out)
{
    *out = ch->st;
}

static struct batch *batch_new(struct ipc_chan *ch)
{
    struct batch *b = ch->spare;

    if (b != NULL)
        ch->spare = NULL;
    else if ((b = malloc(sizeof(*b))) == NULL)
        return NULL;
    b->next = NULL;
    b->len = IPC_BATCH_HDR;
    b->count = 0;
    b->nfds = 0;
    return b;
}

/* Moves the open batch to the send queue. */
static void close_cur(struct ipc_chan *ch)
{
    struct batch *b = ch->cur;

    if (b == NULL || b->count == 0)
        return;
    ipc_batch_header(b->buf, b->count, (uint32_t)b->len);
    if (ch->tail != NULL)
        ch->tail->next = b;
    else
        ch->head = b;
    ch->tail = b;
    ch->cur = NULL;
}

static void set_backlog(struct ipc_chan *ch, size_t bytes)
{
    ch->st.backlog_bytes = bytes;
    if (bytes > ch->st.backlog_peak)
        ch->st.backlog_peak = bytes;
}

static int drop(struct ipc_chan *ch, unsigned type)
{
    ch->st.tx_full_drops[type]++;
    ch->full_dropped++;
    if (!ch->full) {
        ch->full = 1;
        if (ch->full_fn != NULL)
            ch->full_fn(IPC_FULL_BEGIN, type, 0, ch->full_arg);
    }
    return -1;
}

static int put(struct ipc_chan *ch, const struct ipc_rec *rec, int fd, char *err, size_t errlen)
{
    ssize_t n = ipc_rec_encode(rec, ch->scratch, sizeof(ch->scratch), err, errlen);
    size_t need;
    int dupfd = -1;

    if (n < 0) {
        ch->st.tx_invalid++;
        return -1;
    }
    if (IPC_BATCH_HDR + (size_t)n > ch->batch_max) {
        OPENSSL_cleanse(ch->scratch, (size_t)n);
        snprintf(err, errlen, "ipc: %s record of %zd octets does not fit the socket's buffer",
                 ipc_type_name(rec->type), n);
        ch->st.tx_invalid++;
        return -1;
    }
    /* A record that starts a new batch brings that batch's header along. */
    int fresh = ch->cur == NULL || ch->cur->len + (size_t)n > ch->batch_max ||
                ch->cur->count == IPC_BATCH_RECS || (fd >= 0 && ch->cur->nfds == IPC_FDS_MAX);
    need = (size_t)n + (fresh ? IPC_BATCH_HDR : 0);
    if (ch->st.backlog_bytes + need > ch->backlog_max) {
        OPENSSL_cleanse(ch->scratch, (size_t)n);
        snprintf(err, errlen, "ipc: path full, %s record dropped", ipc_type_name(rec->type));
        return drop(ch, rec->type);
    }
    if (fd >= 0 && (dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 3)) < 0) {
        OPENSSL_cleanse(ch->scratch, (size_t)n);
        snprintf(err, errlen, "ipc: dup of an FD record's descriptor: %s", strerror(errno));
        ch->st.tx_errors++;
        return -1;
    }
    if (fresh) {
        struct batch *b;
        close_cur(ch);
        if ((b = batch_new(ch)) == NULL) {
            OPENSSL_cleanse(ch->scratch, (size_t)n);
            if (dupfd >= 0)
                close(dupfd);
            snprintf(err, errlen, "ipc: out of memory, %s record dropped",
                     ipc_type_name(rec->type));
            return drop(ch, rec->type);
        }
        ch->cur = b;
    }
    memcpy(ch->cur->buf + ch->cur->len, ch->scratch, (size_t)n);
    OPENSSL_cleanse(ch->scratch, (size_t)n);
    ch->cur->len += (size_t)n;
    ch->cur->count++;
    if (dupfd >= 0)
        ch->cur->fds[ch->cur->nfds++] = dupfd;
    set_backlog(ch, ch->st.backlog_bytes + need);
    if (ch->full) {
        ch->full = 0;
        if (ch->full_fn != NULL)
            ch->full_fn(IPC_FULL_END, rec->type, ch->full_dropped, ch->full_arg);
        ch->full_dropped = 0;
    }
    return 0;
}

int ipc_chan_put(struct ipc_chan *ch, const struct ipc_rec *rec, char *err, size_t errlen)
{
    if (rec->type == IPC_FD) {
        snprintf(err, errlen, "ipc: an FD record goes with its descriptor (ipc_chan_put_fd)");
        ch->st.tx_invalid++;
        return -1;
    }
    return put(ch, rec, -1, err, errlen);
}

int ipc_chan_put_fd(struct ipc_chan *ch, const struct ipc_rec *rec, int fd, char *err,
                    size_t errlen)
{
    if (rec->type != IPC_FD || fd < 0) {
        snprintf(err, errlen, "ipc: ipc_chan_put_fd needs an FD record and a descriptor");
        ch->st.tx_invalid++;
        return -1;
    }
    return put(ch, rec, fd, err, errlen);
}

int ipc_chan_heartbeat(struct ipc_chan *ch, uint64_t seq)
{
    struct ipc_rec rec;
    struct timespec ts;
    char err[128];

    clock_gettime(CLOCK_MONOTONIC, &ts);
    memset(&rec, 0, offsetof(struct ipc_rec, u) + sizeof(rec.u.heartbeat));
    rec.type = IPC_HEARTBEAT;
    rec.u.heartbeat.seq = seq;
    rec.u.heartbeat.mono_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return put(ch, &rec, -1, err, sizeof(err));
}

/* 0 sent, 1 socket full, -1 error (batch dropped). */
static int send_batch(struct ipc_chan *ch, struct batch *b)
{
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
    } cm;
    struct iovec iov = {.iov_base = b->buf, .iov_len = b->len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    ssize_t n;

    if (b->nfds > 0) {
        memset(&cm, 0, sizeof(cm));
        mh.msg_control = cm.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * b->nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * b->nfds);
        memcpy(CMSG_DATA(c), b->fds, sizeof(int) * b->nfds);
    }
    do
        n = sendmsg(ch->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 1;
    if (n < 0) {
        ch->st.tx_errors++;
        return -1;
    }
    ch->st.tx_batches++;
    ch->st.tx_records += b->count;
    ch->st.tx_bytes += b->len;
    ch->st.tx_fds += b->nfds;
    return 0;
}

int ipc_chan_flush(struct ipc_chan *ch)
{
    for (;;) {
        if (ch->head == NULL) {
            if (ch->cur == NULL || ch->cur->count == 0)
                return 0;
            close_cur(ch); /* only now: while blocked, the open batch keeps filling */
        }
        struct batch *b = ch->head;
        int r = send_batch(ch, b);
        if (r == 1)
            return 1;
        int saved = errno;
        ch->head = b->next;
        if (ch->head == NULL)
            ch->tail = NULL;
        set_backlog(ch, ch->st.backlog_bytes - b->len);
        for (unsigned i = 0; i < b->nfds; i++)
            close(b->fds[i]);
        b->nfds = 0;
        OPENSSL_cleanse(b->buf, b->len);
        b->len = 0;
        if (ch->spare == NULL)
            ch->spare = b;
        else
            free(b);
        if (r < 0) {
            errno = saved;
            return -1;
        }
    }
}

int ipc_chan_recv(struct ipc_chan *ch, ipc_rec_fn fn, void *arg)
{
    union {
        struct cmsghdr h;
        /* room for more than IPC_FDS_MAX, so a surplus is seen (and closed) */
        char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX * 2)];
    } cm;
    struct iovec iov = {.iov_base = ch->rx, .iov_len = sizeof(ch->rx)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf, .msg_controllen = sizeof(cm)};
    int fds[IPC_FDS_MAX * 2];
    size_t nfds = 0;
    ssize_t n;

    do
        n = recvmsg(ch->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (nfds < sizeof(fds) / sizeof(fds[0])) {
                fds[nfds++] = fd;
            } else {
                close(fd);
                ch->st.rx.fds_closed++;
            }
        }
    }
    ch->st.rx_fds += nfds;
    if (n == 0 && nfds == 0)
        return 0; /* end of file: SEQPACKET peers never send empty messages here */
    ch->st.rx_bytes += (uint64_t)n;
    if (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) {
        /* Longer than IPC_MSG_MAX, or descriptors the kernel had to drop. */
        ch->st.rx.rejects[IPC_REJ_LENGTH]++;
        for (size_t i = 0; i < nfds; i++)
            close(fds[i]);
        ch->st.rx.fds_closed += nfds;
    } else {
        ipc_batch_parse(ch->rx, (size_t)n, fds, nfds, fn, arg, &ch->st.rx);
    }
    OPENSSL_cleanse(ch->rx, (size_t)n);
    return 1;
}

/* SO_xxxBUFFORCE needs CAP_NET_ADMIN; without it the plain option, capped by
 * net.core.{w,r}mem_max (socket(7)). */
static int set_buf(int fd, int force, int plain, int size)
{
    if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) == 0)
        return 0;
    return setsockopt(fd, SOL_SOCKET, plain, &size, sizeof(size));
}

int ipc_socketpair(int sv[2], int bufsize, char *err, size_t errlen)
{
    if (bufsize > 0 && bufsize < IPC_SOCKBUF_MIN)
        bufsize = IPC_SOCKBUF_MIN;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "ipc: socketpair: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < 2 && bufsize > 0; i++) {
        if (set_buf(sv[i], SO_SNDBUFFORCE, SO_SNDBUF, bufsize) < 0 ||
            set_buf(sv[i], SO_RCVBUFFORCE, SO_RCVBUF, bufsize) < 0) {
            snprintf(err, errlen, "ipc: socket buffer of %d bytes: %s", bufsize, strerror(errno));
            close(sv[0]);
            close(sv[1]);
            return -1;
        }
    }
    return 0;
}
