/*
 * ctl_server.c - the control socket's thread: accept, peer check, connection
 * limits, buffers and the poll loop (see ctl_server.h and
 * docs/control-protocol.md).  Requests are parsed by ctl_proto.c against the
 * commands of ctl_registry.c; mirror-enable is ctl_auth.c's.
 *
 * conn = one accepted client; nb = "not before", a CLOCK_MONOTONIC time in ms
 * before which the poll loop neither reads from nor writes to a client.
 */
#include "pmirrord/ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl_auth.h"
#include "ctl_proto.h"
#include "ctl_registry.h"
#include "ctl_reply.h"
#include "ctl_socket.h"
#include "pmirrord/ctl_wire.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/escape.h"
#include "pmirrord/secret.h"
#include "pmirrord/securemem.h"
#include "pmirrord/thread.h"

/* The reply to anything that does not name a visible command: constant bytes. */
#define MSG_UNKNOWN  "Unknown command. Type 'help' for a list of commands."
#define MSG_DENIED   "Access denied."
#define MSG_REFUSED  "Permission denied."
#define MSG_BUSY     "Too many control connections."
#define MSG_BUSY_UID "Too many control connections from this user."
#define MSG_TOO_LONG "Request too long."
#define GREETING     "pmirrord control protocol 1\n"

struct conn {
    int fd;
    struct ctl_peer peer;
    int mirror;      /* session has passed mirror-enable */
    int closing;     /* close once out is flushed */
    int enabling;    /* a mirror-enable is being checked: nothing else until its answer */
    int enable_json; /* ... and was asked for in JSON */
    uint64_t ticket; /* ... under this ticket */
    int wait_auth;   /* a mirror-enable waits for the worker or the uid's other attempt */
    int kick;        /* service this connection in the current round */
    int64_t nb;
    int64_t last;     /* last byte in or out: idle sessions are closed */
    int64_t progress; /* last send progress, or when output became pending */
    size_t inlen;
    char in[CTL_MAX_REQUEST];
    struct sbuf out;
    size_t outoff;
};

/*
 * Refusals for want of room (busy, per-uid limit) reach the ordinary log once
 * per uid, then as one count per REFUSE_LOG_MS: a client looping connect()
 * cannot flood syslog.  REFUSE_UIDS uids are counted one by one, the others
 * together in one more entry.
 */
#define REFUSE_LOG_MS 60000
#define REFUSE_UIDS   16
struct refusals {
    int used;
    uid_t uid;       /* the last one, for the shared entry */
    int64_t since;   /* start of the current interval */
    unsigned count;  /* refusals in it not logged yet */
    const char *why; /* the last reason */
};

struct ctl_server {
    char *path;
    char *group;
    gid_t gid;
    int has_group;
    struct ctl_registry reg;
    struct ctl_auth *auth;
    ctl_event_fn event_cb;
    void *event_arg;
    unsigned idle_ms; /* close a session idle this long (exec-timeout) */
    unsigned send_ms; /* close a session whose output does not drain for this long */
    unsigned uid_limit;
    int64_t accept_nb; /* out of fds: do not poll the listener before this */
    uint64_t tickets;
    int lfd;
    int wake[2];
    dev_t sock_dev;
    ino_t sock_ino;
    int bound, started;
    int adopted; /* lfd was given (ctl_server_new_from_fd): never bound, changed or unlinked here */
    pthread_t thr;
    struct conn *conns[CTL_MAX_CLIENTS];
    struct refusals refused[REFUSE_UIDS + 1]; /* the last: every other uid */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration ---- */

struct ctl_server *ctl_server_new(const char *path, const char *group, const char *secret_hash,
                                  char *err, size_t errlen)
{
    struct ctl_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    s->lfd = s->wake[0] = s->wake[1] = -1;
    s->idle_ms = CTL_IDLE_TIMEOUT_MS;
    s->send_ms = CTL_SEND_TIMEOUT_MS;
    s->uid_limit = CTL_MAX_PER_UID;
    if (path == NULL)
        path = CTL_DEFAULT_SOCKET;
    if (path[0] != '/' || strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        pm_err(err, errlen, "controlSocket \"%s\": must be an absolute path under %zu bytes", path,
               sizeof(((struct sockaddr_un *)0)->sun_path));
        goto fail;
    }
    if ((s->path = strdup(path)) == NULL)
        goto oom;
    if (group != NULL) {
        struct group gr, *res = NULL;
        char buf[4096];
        int rc = getgrnam_r(group, &gr, buf, sizeof buf, &res);
        if (res == NULL) {
            pm_err(err, errlen, "controlGroup \"%s\": %s", group,
                   rc ? strerror(rc) : "no such group");
            goto fail;
        }
        s->gid = gr.gr_gid;
        s->has_group = 1;
        if ((s->group = strdup(group)) == NULL)
            goto oom;
    }
    if (secret_hash != NULL) {
        char e[200];
        if (secret_check(secret_hash, e, sizeof e) < 0) {
            pm_err(err, errlen, "mirrorSecret: %s", e);
            goto fail;
        }
    }
    if ((s->auth = ctl_auth_new(secret_hash, err, errlen)) == NULL ||
        ctl_registry_init(&s->reg, err, errlen) < 0)
        goto fail;
    return s;
oom:
    pm_err(err, errlen, "out of memory");
fail:
    ctl_server_free(s);
    return NULL;
}

struct ctl_server *ctl_server_new_from_fd(int lfd, const char *path, const char *group,
                                          const char *secret_hash, char *err, size_t errlen)
{
    int v = 0, type = 0, dom = 0;
    socklen_t l = sizeof(v), lt = sizeof(type), ld = sizeof(dom);
    if (lfd < 0 || getsockopt(lfd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0 ||
        getsockopt(lfd, SOL_SOCKET, SO_TYPE, &type, &lt) < 0 ||
        getsockopt(lfd, SOL_SOCKET, SO_DOMAIN, &dom, &ld) < 0 || v == 0 || type != SOCK_STREAM ||
        dom != AF_UNIX) {
        pm_err(err, errlen, "control socket descriptor %d is not a listening unix stream socket",
               lfd);
        return NULL;
    }
    int fl = fcntl(lfd, F_GETFL);
    if (fl < 0 || fcntl(lfd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(lfd, F_SETFD, FD_CLOEXEC) < 0) {
        pm_err(err, errlen, "control socket descriptor: fcntl: %s", strerror(errno));
        return NULL;
    }
    struct ctl_server *s = ctl_server_new(path, group, secret_hash, err, errlen);
    if (s == NULL)
        return NULL;
    s->lfd = lfd;
    s->adopted = 1;
    return s;
}

int ctl_server_set_secret(struct ctl_server *s, const char *secret_hash, char *err, size_t errlen)
{
    char e[200];
    if (secret_hash != NULL && secret_check(secret_hash, e, sizeof e) < 0)
        return pm_err(err, errlen, "mirrorSecret: %s", e);
    if (ctl_auth_set_hash(s->auth, secret_hash) < 0)
        return pm_err(err, errlen, "out of memory");
    return 0;
}

void ctl_server_set_event_cb(struct ctl_server *s, ctl_event_fn cb, void *arg)
{
    s->event_cb = cb;
    s->event_arg = arg;
    ctl_auth_set_events(s->auth, cb, arg);
}

void ctl_server_set_idle_timeout(struct ctl_server *s, unsigned ms)
{
    s->idle_ms = ms ? ms : CTL_IDLE_TIMEOUT_MS;
}

void ctl_server_set_send_timeout(struct ctl_server *s, unsigned ms)
{
    s->send_ms = ms ? ms : CTL_SEND_TIMEOUT_MS;
}

void ctl_server_set_uid_limit(struct ctl_server *s, unsigned n)
{
    s->uid_limit = n ? n : CTL_MAX_PER_UID;
}

void ctl_server_set_backoff(struct ctl_server *s, unsigned base_ms, unsigned cap_ms)
{
    ctl_auth_set_backoff(s->auth, base_ms, cap_ms);
}

int ctl_server_add_command(struct ctl_server *s, const char *words, unsigned flags,
                           const char *help, ctl_cmd_fn fn, void *arg, char *err, size_t errlen)
{
    if (s->started)
        return pm_err(err, errlen, "control commands must be added before the server starts");
    return ctl_registry_add(&s->reg, words, flags, help, fn, arg, CTL_B_NONE, err, errlen);
}

/* ---- connections ---- */

static void send_frame_now(int fd, enum ctl_status st, const char *body)
{
    char buf[CTL_MAX_HEADER + 128];
    size_t n = ctl_frame_header(buf, st, strlen(body));
    size_t b = strlen(body);
    if (n + b < sizeof buf) {
        memcpy(buf + n, body, b);
        /* a fresh socket's send buffer is empty: this does not block or split */
        (void)!send(fd, buf, n + b, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
}

/*
 * Is there room for one more connection of uid?  One slot of CTL_MAX_CLIENTS
 * is kept for root, and every other uid holds at most uid_limit: a group
 * member who fills its share cannot lock out root or the other members.
 */
static const char *no_room(const struct ctl_server *s, uid_t uid, int *slot)
{
    unsigned others = 0, mine = 0;
    *slot = -1;
    for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
        const struct conn *c = s->conns[i];
        if (c == NULL) {
            if (*slot < 0)
                *slot = i;
            continue;
        }
        others += c->peer.uid != 0;
        mine += c->peer.uid == uid;
    }
    if (*slot < 0 || (uid != 0 && others >= CTL_MAX_CLIENTS - 1))
        return MSG_BUSY;
    if (uid != 0 && mine >= s->uid_limit)
        return MSG_BUSY_UID;
    return NULL;
}

static void refused_flush(struct ctl_server *s, struct refusals *r, int64_t now)
{
    if (r->count == 0)
        return;
    long long secs = (now - r->since + 999) / 1000;
    if (r == &s->refused[REFUSE_UIDS])
        log_warnx("ctl",
                  "refused %u further control connections of other uids in %lld s (the last "
                  "of uid %u: %s)",
                  r->count, secs, (unsigned)r->uid, r->why);
    else
        log_warnx("ctl", "refused %u further control connections of uid %u in %lld s: %s", r->count,
                  (unsigned)r->uid, secs, r->why);
    r->count = 0;
    r->since = now;
}

/* Logs a refusal for want of room, or counts it (see struct refusals). */
static void log_refusal(struct ctl_server *s, uid_t uid, const char *why)
{
    int64_t now = now_ms();
    struct refusals *r = NULL, *fr = NULL;
    for (int i = 0; i < REFUSE_UIDS; i++) {
        struct refusals *e = &s->refused[i];
        if (e->used && now - e->since >= REFUSE_LOG_MS) {
            refused_flush(s, e, now);
            e->used = 0; /* quiet for an interval: forgotten */
        }
        if (e->used && e->uid == uid)
            r = e;
        else if (!e->used && fr == NULL)
            fr = e;
    }
    if (r == NULL && fr != NULL) {
        *fr = (struct refusals){1, uid, now, 0, why};
        log_warnx("ctl",
                  "refusing a control connection of uid %u: %s (further refusals of this uid "
                  "are counted and logged every %d s)",
                  (unsigned)uid, why, REFUSE_LOG_MS / 1000);
        return;
    }
    if (r == NULL) {
        r = &s->refused[REFUSE_UIDS];
        if (!r->used) {
            *r = (struct refusals){1, uid, now, 0, why};
            log_warnx("ctl",
                      "refusing a control connection of uid %u: %s (further refusals of uids "
                      "not counted one by one are counted together, logged every %d s)",
                      (unsigned)uid, why, REFUSE_LOG_MS / 1000);
            return;
        }
    }
    r->uid = uid;
    r->why = why;
    r->count++;
    if (now - r->since >= REFUSE_LOG_MS)
        refused_flush(s, r, now);
}

/* Logs the counts whose interval is over; returns when the next one is due, or -1. */
static int64_t refused_tick(struct ctl_server *s, int64_t now, int final)
{
    int64_t next = -1;
    for (int i = 0; i <= REFUSE_UIDS; i++) {
        struct refusals *e = &s->refused[i];
        if (!e->used)
            continue;
        if (final || now - e->since >= REFUSE_LOG_MS) {
            int quiet = e->count == 0;
            refused_flush(s, e, now);
            if (quiet || final)
                e->used = 0;
        }
        if (e->used && e->count > 0)
            next = next < 0 || e->since + REFUSE_LOG_MS < next ? e->since + REFUSE_LOG_MS : next;
    }
    return next;
}

static void accept_one(struct ctl_server *s)
{
    int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            /* The connection stays pending and the listener readable: back
             * off instead of spinning on poll() and flooding the log. */
            log_warn("ctl", "accept (pausing 100 ms)");
            s->accept_nb = now_ms() + 100;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                   errno != ECONNABORTED) {
            log_warn("ctl", "accept");
        }
        return;
    }
    struct ucred uc;
    socklen_t len = sizeof uc;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0) {
        log_warn("ctl", "SO_PEERCRED");
        close(fd);
        return;
    }
    char why[160];
    int ok = uc.uid == 0;
    if (!ok && !s->has_group)
        snprintf(why, sizeof why, "not root, and no control group is configured");
    else if (!ok && !(ok = ctl_peer_in_group(fd, &uc, s->gid)))
        snprintf(why, sizeof why, "not root and not a member of control group \"%s\"", s->group);
    if (!ok) {
        send_frame_now(fd, CTL_ST_REFUSED, "% " MSG_REFUSED "\n");
        close(fd);
        if (s->event_cb) {
            struct ctl_event ev = {CTL_EV_REFUSED, {uc.uid, uc.gid, uc.pid}, 1, why};
            s->event_cb(&ev, s->event_arg);
        }
        return;
    }
    int slot;
    const char *busy = no_room(s, uc.uid, &slot);
    struct conn *c = busy == NULL ? calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        log_refusal(s, uc.uid, busy ? busy : "out of memory");
        char body[96];
        snprintf(body, sizeof body, "%% %s\n", busy ? busy : MSG_BUSY);
        send_frame_now(fd, CTL_ST_REFUSED, body);
        close(fd);
        return;
    }
    c->fd = fd;
    c->last = c->progress = now_ms();
    c->peer.uid = uc.uid;
    c->peer.gid = uc.gid;
    c->peer.pid = uc.pid;
    s->conns[slot] = c;
    char hdr[CTL_MAX_HEADER];
    sbuf_add(&c->out, hdr, ctl_frame_header(hdr, CTL_ST_HELLO, strlen(GREETING)));
    sbuf_addstr(&c->out, GREETING);
    log_debug("ctl", "control client uid %u pid %d connected", (unsigned)uc.uid, (int)uc.pid);
}

static void conn_close(struct ctl_server *s, int i)
{
    struct conn *c = s->conns[i];
    close(c->fd);
    sbuf_free(&c->out);
    OPENSSL_cleanse(c, sizeof *c);
    free(c);
    s->conns[i] = NULL;
}

/* ---- replies ---- */

/* Replies this long take over the output buffer when nothing else is queued. */
#define QUEUE_SWAP_MIN 4096
/* An output buffer grown over this is freed (wiped) once sent. */
#define OUT_KEEP_MAX (64 * 1024)

static void queue(struct conn *c, int json, enum ctl_status st, struct sbuf *body)
{
    char hdr[CTL_MAX_HEADER];
    if (body->oom || body->len > CTL_MAX_RESPONSE) {
        struct sbuf e = {0};
        ctl_reply_render_error(json, "error", body->oom ? "Out of memory." : "Reply too large.",
                               &e);
        sbuf_free(body);
        *body = e;
        st = CTL_ST_ERR;
    }
    size_t hl = ctl_frame_header(hdr, st, body->len);
    if (c->out.len == 0) {
        int64_t now = now_ms();
        c->progress = c->nb > now ? c->nb : now; /* a held answer is not a stalled one */
    }
    if (c->out.len == 0 && body->len >= QUEUE_SWAP_MIN) {
        /* Nothing else queued: the body's buffer becomes the output, the header moved
         * in front of it, instead of a second copy of up to CTL_MAX_RESPONSE bytes. */
        size_t len = body->len;
        sbuf_add(body, hdr, hl); /* room for the header (the buffer grows if it must) */
        if (!body->oom) {
            memmove(body->p + hl, body->p, len);
            memcpy(body->p, hdr, hl);
            sbuf_free(&c->out); /* wiped */
            c->out = *body;
            c->outoff = 0;
            memset(body, 0, sizeof *body);
            return;
        }
        body->oom = 0; /* fall back to copying; it fails the same way if memory is short */
        body->len = len;
    }
    sbuf_add(&c->out, hdr, hl);
    sbuf_add(&c->out, body->p ? body->p : "", body->len);
    sbuf_free(body);
    if (c->out.oom)
        c->closing = 1; /* cannot answer: hang up rather than desynchronise */
}

static void queue_error(struct conn *c, int json, enum ctl_status st, const char *msg)
{
    struct sbuf b = {0};
    ctl_reply_render_error(json, st == CTL_ST_DENIED ? "denied" : "error", msg, &b);
    queue(c, json, st, &b);
}

static void queue_simple(struct conn *c, int json, enum ctl_status st, const char *json_body,
                         const char *text_body)
{
    struct sbuf b = {0};
    sbuf_addstr(&b, json ? json_body : text_body);
    queue(c, json, st, &b);
}

/* ---- requests ---- */

static void run_command(struct ctl_server *s, struct conn *c, const struct ctl_request *rq)
{
    const struct ctl_cmd *cmd = rq->cmd;
    int json = rq->json;
    struct sbuf b = {0};
    switch (cmd->builtin) {
    case CTL_B_HELP:
        if (ctl_registry_help(&s->reg, c->mirror, json, rq->argc, rq->argv, 0, &b) < 0)
            queue_error(c, json, CTL_ST_ERR, MSG_UNKNOWN);
        else
            queue(c, json, CTL_ST_OK, &b);
        return;
    case CTL_B_EXIT:
    case CTL_B_QUIT:
        queue_simple(c, json, CTL_ST_BYE, "{\"status\":\"bye\"}\n", "");
        c->closing = 1;
        return;
    case CTL_B_DISABLE:
    case CTL_B_MDISABLE:
        c->mirror = 0;
        queue_simple(c, json, CTL_ST_OK, "{\"status\":\"ok\",\"mirror\":\"disabled\"}\n",
                     "Mirror mode disabled.\n");
        return;
    case CTL_B_ENABLE: /* the parser turns it into CTL_REQ_ENABLE */
    case CTL_B_NONE:
        break;
    }
    struct ctl_reply r;
    ctl_reply_init(&r, json);
    r.peer = c->peer;
    int rc = cmd->fn(&r, rq->argc, rq->argv, cmd->arg);
    if (rc < 0 && !r.failed)
        ctl_reply_error(&r, "Command failed.");
    ctl_reply_render(&r, "ok", &b);
    enum ctl_status st = r.failed || r.oom ? CTL_ST_ERR : CTL_ST_OK;
    ctl_reply_clear(&r);
    queue(c, json, st, &b);
}

/* mirror-enable: hands the secret to the worker; 0 if it must stay buffered for now. */
static int start_enable(struct ctl_server *s, struct conn *c, const struct ctl_request *rq)
{
    int64_t until;
    uint64_t ticket = s->tickets + 1;
    if (!ctl_auth_may_try(s->auth, c->peer.uid, now_ms(), &until) ||
        ctl_auth_submit(s->auth, ticket, &c->peer, rq->secret, rq->secret_len) < 0) {
        if (until)
            c->nb = until; /* this uid is held */
        else
            c->wait_auth = 1; /* kicked when an attempt finishes */
        return 0;
    }
    s->tickets = ticket;
    c->enabling = 1;
    c->ticket = ticket;
    c->enable_json = rq->json;
    return 1;
}

/* One request (n bytes at raw); returns 0 if it must stay buffered. */
static int handle_request(struct ctl_server *s, struct conn *c, const char *raw, size_t n)
{
    char line[CTL_MAX_REQUEST];
    struct ctl_request rq;
    memcpy(line, raw, n);
    line[n] = '\0';
    ctl_parse_request(&s->reg, c->mirror, line, &rq);
    int consumed = 1, json = rq.json;
    struct sbuf b = {0};
    switch (rq.kind) {
    case CTL_REQ_EMPTY:
        queue_simple(c, json, CTL_ST_OK, "{\"status\":\"ok\"}\n", "");
        break;
    case CTL_REQ_MALFORMED:
        queue_error(c, json, CTL_ST_ERR,
                    "Malformed request (unbalanced quotes or too many words).");
        break;
    case CTL_REQ_UNKNOWN:
        queue_error(c, json, CTL_ST_ERR, MSG_UNKNOWN);
        break;
    case CTL_REQ_PREFIX: {
        struct sbuf msg = {0};
        ctl_registry_next_words(&s->reg, c->mirror, rq.argc, rq.argv, &msg);
        sbuf_add(&msg, "", 1);
        queue_error(c, json, CTL_ST_ERR, msg.oom ? "Out of memory." : msg.p);
        sbuf_free(&msg);
        break;
    }
    case CTL_REQ_META:
        if (ctl_registry_help(&s->reg, c->mirror, json, 0, rq.argv, 1, &b) < 0)
            queue_error(c, json, CTL_ST_ERR, MSG_UNKNOWN);
        else
            queue(c, json, CTL_ST_OK, &b);
        break;
    case CTL_REQ_ENABLE:
        consumed = start_enable(s, c, &rq);
        break;
    case CTL_REQ_COMMAND:
        run_command(s, c, &rq);
        break;
    case CTL_REQ_EXTRA: {
        /* "show snmp trap: unexpected word "extra"", the word made terminal-safe and cut */
        char word[4 * 64 + 1];
        pm_escape(word, sizeof word, rq.argv[0], strnlen(rq.argv[0], 64));
        struct sbuf msg = {0};
        for (int k = 0; k < rq.cmd->nwords; k++)
            sbuf_printf(&msg, "%s%s", k ? " " : "", rq.cmd->words[k]);
        sbuf_printf(&msg, ": unexpected word \"%s%s\"", word, strlen(rq.argv[0]) > 64 ? "..." : "");
        sbuf_add(&msg, "", 1);
        queue_error(c, json, CTL_ST_ERR, msg.oom ? "Out of memory." : msg.p);
        sbuf_free(&msg);
        break;
    }
    }
    OPENSSL_cleanse(line, sizeof line);
    OPENSSL_cleanse(&rq, sizeof rq);
    return consumed;
}

/* Sends what is queued; returns -1 if the connection is dead. */
static int flush(struct conn *c)
{
    while (c->outoff < c->out.len) {
        ssize_t n =
            send(c->fd, c->out.p + c->outoff, c->out.len - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->outoff += (size_t)n;
        c->progress = now_ms();
    }
    if (c->out.cap > OUT_KEEP_MAX) {
        sbuf_free(&c->out); /* a large reply's buffer is not kept for the session */
    } else {
        OPENSSL_cleanse(c->out.p, c->out.len);
        c->out.len = 0;
    }
    c->outoff = 0;
    return 0;
}

/*
 * Sends queued output, then answers buffered requests one at a time while
 * nothing is queued: a client that does not read its replies is not read
 * from either.  Returns -1 if the connection must be closed now.
 */
static int service(struct ctl_server *s, struct conn *c)
{
    for (;;) {
        if (c->nb > now_ms())
            return 0;
        c->nb = 0;
        if (flush(c) < 0)
            return -1;
        if (c->out.len > 0)
            return 0; /* wait for POLLOUT */
        if (c->closing)
            return -1;
        if (c->enabling)
            return 0; /* answered when the worker is done */
        size_t used = 0;
        long n = ctl_find_request(c->in, c->inlen, sizeof c->in, &used);
        if (n == CTL_LINE_MORE)
            return 0;
        if (n == CTL_LINE_TOO_LONG) {
            queue_error(c, ctl_request_wants_json(c->in, c->inlen), CTL_ST_ERR, MSG_TOO_LONG);
            OPENSSL_cleanse(c->in, sizeof c->in);
            c->inlen = 0;
            c->closing = 1;
            continue;
        }
        c->wait_auth = 0;
        if (!handle_request(s, c, c->in, (size_t)n))
            return 0; /* held: stays buffered */
        memmove(c->in, c->in + used, c->inlen - used);
        c->inlen -= used;
        OPENSSL_cleanse(c->in + c->inlen, sizeof c->in - c->inlen);
    }
}

static int readable(struct conn *c)
{
    size_t room = sizeof c->in - c->inlen;
    if (room == 0)
        return 0;
    ssize_t n = recv(c->fd, c->in + c->inlen, room, MSG_DONTWAIT);
    if (n == 0)
        return -1;
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0 : -1;
    c->inlen += (size_t)n;
    return 0;
}

/* Finished mirror-enable attempts: answer their clients, wake the waiting ones. */
static void collect_auth(struct ctl_server *s)
{
    uint64_t ticket;
    int ok;
    int64_t hold;
    while (ctl_auth_collect(s->auth, now_ms(), &ticket, &ok, &hold) == 1) {
        for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
            struct conn *c = s->conns[i];
            if (c == NULL)
                continue;
            if (c->wait_auth)
                c->kick = 1;
            if (!c->enabling || c->ticket != ticket)
                continue;
            c->enabling = 0;
            c->kick = 1;
            c->mirror = ok;
            if (ok) {
                queue_simple(c, c->enable_json, CTL_ST_OK,
                             "{\"status\":\"ok\",\"mirror\":\"enabled\"}\n",
                             "Mirror mode enabled.\n");
            } else {
                c->nb = hold; /* the answer waits too */
                queue_error(c, c->enable_json, CTL_ST_DENIED, MSG_DENIED);
            }
        }
    }
}

/* ---- thread ---- */

static int64_t earliest(int64_t a, int64_t b)
{
    return a < 0 || (b >= 0 && b < a) ? b : a;
}

static void *server_main(void *arg)
{
    struct ctl_server *s = arg;
    struct pollfd pfd[3 + CTL_MAX_CLIENTS];
    int idx[3 + CTL_MAX_CLIENTS];

    for (;;) {
        pm_stack_scrub(); /* the last pass's commands and replies (docs/hygiene.md) */
        int64_t now = now_ms();
        int64_t next = earliest(ctl_auth_tick(s->auth, now), refused_tick(s, now, 0));
        nfds_t n = 0;
        pfd[n].fd = s->wake[0];
        pfd[n++].events = POLLIN;
        pfd[n].fd = s->lfd;
        pfd[n++].events = s->accept_nb > now ? 0 : POLLIN;
        if (s->accept_nb > now)
            next = earliest(next, s->accept_nb);
        pfd[n].fd = ctl_auth_fd(s->auth);
        pfd[n++].events = POLLIN;
        for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
            struct conn *c = s->conns[i];
            if (c == NULL)
                continue;
            /* A session that sends nothing holds a slot of CTL_MAX_CLIENTS:
             * close it after idle_ms, like a router's exec-timeout; one whose
             * replies are not read, after send_ms without progress. */
            if (c->nb > now)
                next = earliest(next, c->nb);
            else if (c->out.len > 0)
                next = earliest(next, c->progress + s->send_ms);
            else if (!c->enabling && !c->wait_auth)
                next = earliest(next, c->last + s->idle_ms);
            if (c->nb > now) {
                pfd[n].events = 0; /* still told about POLLHUP */
            } else if (c->out.len > 0) {
                pfd[n].events = POLLOUT;
            } else {
                pfd[n].events = c->enabling || c->wait_auth ? 0 : POLLIN;
            }
            pfd[n].fd = c->fd;
            idx[n++] = i;
        }
        int timeout = next < 0 ? -1 : next > now ? (int)(next - now) : 0;
        int rc = poll(pfd, n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_warn("ctl", "poll");
            struct timespec ts = {0, 100 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        if (pfd[0].revents)
            break;
        if (pfd[1].revents & POLLIN)
            accept_one(s);
        if (pfd[2].revents & POLLIN)
            collect_auth(s);
        now = now_ms();
        for (nfds_t k = 3; k < n; k++) {
            int i = idx[k];
            struct conn *c = s->conns[i];
            short re = pfd[k].revents;
            int dead = 0;
            if (re & POLLIN)
                dead = readable(c) < 0;
            else if (re & (POLLERR | POLLHUP | POLLNVAL))
                dead = 1;
            if (!dead && (re || c->kick || (c->nb && c->nb <= now))) {
                c->kick = 0;
                dead = service(s, c) < 0;
            }
            if (re)
                c->last = now;
            else if (!dead && c->nb <= now && c->out.len == 0 && !c->enabling && !c->wait_auth &&
                     now - c->last >= s->idle_ms)
                dead = 1;
            if (!dead && c->out.len > 0 && c->nb <= now && now - c->progress >= s->send_ms) {
                log_warnx("ctl", "closing the control connection of uid %u: replies not read",
                          (unsigned)c->peer.uid);
                dead = 1;
            }
            if (dead)
                conn_close(s, i);
        }
    }
    refused_tick(s, now_ms(), 1);
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        if (s->conns[i])
            conn_close(s, i);
    return NULL;
}

int ctl_server_start(struct ctl_server *s, char *err, size_t errlen)
{
    if (s->started)
        return pm_err(err, errlen, "control server already started");
    if (!s->adopted) {
        s->lfd =
            ctl_sock_listen(s->path, s->has_group, s->gid, &s->sock_dev, &s->sock_ino, err, errlen);
        if (s->lfd < 0)
            return -1;
        s->bound = 1;
    }
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return pm_err(err, errlen, "pipe: %s", strerror(errno));
    if (ctl_auth_start(s->auth, err, errlen) < 0)
        return -1;
    /* the thread takes no signals: the daemon's main thread handles them */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pm_thread_create(&s->thr, server_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return pm_err(err, errlen, "pthread_create: %s", strerror(rc));
    s->started = 1;
    log_info("ctl", "control socket %s ready", s->path);
    return 0;
}

void ctl_server_free(struct ctl_server *s)
{
    if (s == NULL)
        return;
    if (s->started) {
        (void)!write(s->wake[1], "x", 1);
        pthread_join(s->thr, NULL);
    }
    ctl_auth_free(s->auth);
    if (s->lfd >= 0)
        close(s->lfd);
    for (int i = 0; i < 2; i++)
        if (s->wake[i] >= 0)
            close(s->wake[i]);
    struct stat st;
    /* unlink only our own node, not one a newer instance has put there */
    if (s->bound && lstat(s->path, &st) == 0 && st.st_dev == s->sock_dev &&
        st.st_ino == s->sock_ino)
        unlink(s->path);
    ctl_registry_free(&s->reg);
    free(s->path);
    free(s->group);
    free(s);
}
