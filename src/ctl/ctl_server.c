/*
 * ctl_server.c - the control socket's thread: accept, peer check, framing,
 * command dispatch, mirror-enable with backoff (see ctl_server.h and
 * docs/control-protocol.md).
 *
 * conn = one accepted client; nb = "not before", a CLOCK_MONOTONIC time in ms
 * before which the poll loop neither reads from nor writes to a client.
 */
#include "pmirrord/ctl_server.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
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

#include "ctl_proto.h"
#include "pmirrord/errbuf.h"
#include "ctl_reply.h"
#include "ctl_socket.h"
#include "pmirrord/secret.h"
#include "pmirrord/thread.h"

#define MAX_COMMANDS 256

/* The reply to anything that does not name a visible command: constant bytes. */
#define MSG_UNKNOWN  "Unknown command. Type 'help' for a list of commands."
#define MSG_DENIED   "Access denied."
#define MSG_REFUSED  "Permission denied."
#define MSG_BUSY     "Too many control connections."
#define MSG_TOO_LONG "Request too long."
#define GREETING     "pmirrord control protocol 1\n"

enum builtin { B_NONE, B_HELP, B_EXIT, B_QUIT, B_DISABLE, B_MDISABLE, B_ENABLE };

struct cmd {
    char *spec; /* as registered, for help */
    char *wbuf; /* storage of words[] */
    char *words[CTL_MAX_WORDS];
    int nwords;
    unsigned flags;
    char *help;
    ctl_cmd_fn fn;
    void *arg;
    enum builtin builtin;
};

struct conn {
    int fd;
    uid_t uid;
    gid_t gid;
    pid_t pid;
    int mirror;  /* session has passed mirror-enable */
    int closing; /* close once out is flushed */
    int64_t nb;
    int64_t last; /* last byte in or out: idle sessions are closed */
    size_t inlen;
    char in[CTL_MAX_REQUEST];
    struct sbuf out;
    size_t outoff;
};

struct ctl_server {
    char *path;
    char *group;
    gid_t gid;
    int has_group;
    char *hash;
    struct cmd *cmds;
    size_t ncmds;
    ctl_refusal_fn refusal_cb;
    void *refusal_arg;
    unsigned base_ms, cap_ms;
    unsigned idle_ms;  /* close a session idle this long (exec-timeout) */
    int64_t accept_nb; /* out of fds: do not poll the listener before this */
    unsigned fails;    /* consecutive failed mirror-enable, all clients */
    int64_t enable_nb; /* no mirror-enable is evaluated before this */
    int lfd;
    int wake[2];
    dev_t sock_dev;
    ino_t sock_ino;
    int bound, started;
    pthread_t thr;
    struct conn *conns[CTL_MAX_CLIENTS];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- configuration ---- */

static int add_cmd(struct ctl_server *s, const char *spec, unsigned flags, const char *help,
                   ctl_cmd_fn fn, void *arg, enum builtin b, char *err, size_t errlen)
{
    if (s->started)
        return pm_err(err, errlen, "control commands must be added before the server starts");
    if (s->ncmds == MAX_COMMANDS)
        return pm_err(err, errlen, "too many control commands");
    struct cmd c = {0};
    c.spec = strdup(spec);
    c.wbuf = strdup(spec);
    c.help = strdup(help ? help : "");
    if (!c.spec || !c.wbuf || !c.help)
        goto oom;
    char *argv[CTL_MAX_WORDS];
    int n = ctl_split_words(c.wbuf, argv, CTL_MAX_WORDS);
    if (n <= 0) {
        pm_err(err, errlen, "control command \"%s\": no words or too many", spec);
        goto fail;
    }
    for (int i = 0; i < n && argv[i][0] != '<' && argv[i][0] != '['; i++)
        c.words[c.nwords++] = argv[i];
    if (c.nwords == 0 || (b == B_NONE && fn == NULL)) {
        pm_err(err, errlen, "control command \"%s\": no literal word or no handler", spec);
        goto fail;
    }
    for (size_t i = 0; i < s->ncmds; i++) {
        struct cmd *o = &s->cmds[i];
        int same = o->nwords == c.nwords;
        for (int k = 0; same && k < c.nwords; k++)
            same = strcmp(o->words[k], c.words[k]) == 0;
        if (same) {
            pm_err(err, errlen, "control command \"%s\" already exists", spec);
            goto fail;
        }
    }
    struct cmd *nc = realloc(s->cmds, (s->ncmds + 1) * sizeof *nc);
    if (nc == NULL)
        goto oom;
    s->cmds = nc;
    c.flags = flags;
    c.fn = fn;
    c.arg = arg;
    c.builtin = b;
    s->cmds[s->ncmds++] = c;
    return 0;
oom:
    pm_err(err, errlen, "out of memory");
fail:
    free(c.spec);
    free(c.wbuf);
    free(c.help);
    return -1;
}

struct ctl_server *ctl_server_new(const char *path, const char *group, const char *secret_hash,
                                  char *err, size_t errlen)
{
    struct ctl_server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        pm_err(err, errlen, "out of memory");
        return NULL;
    }
    s->lfd = s->wake[0] = s->wake[1] = -1;
    s->base_ms = CTL_BACKOFF_BASE_MS;
    s->idle_ms = CTL_IDLE_TIMEOUT_MS;
    s->cap_ms = CTL_BACKOFF_CAP_MS;
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
        if ((s->hash = strdup(secret_hash)) == NULL)
            goto oom;
    }
    static const struct {
        const char *spec, *help;
        unsigned flags;
        enum builtin b;
    } builtins[] = {
        {"help [command]", "List the commands available now", 0, B_HELP},
        {"exit", "Close this control session", 0, B_EXIT},
        {"quit", "Close this control session", 0, B_QUIT},
        {"mirror-enable <secret>", "Unlock the mirror commands for this session", 0, B_ENABLE},
        {"mirror-disable", "Lock the mirror commands again", CTL_F_MIRROR, B_MDISABLE},
        {"disable", "Lock the mirror commands again", CTL_F_MIRROR, B_DISABLE},
    };
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (add_cmd(s, builtins[i].spec, builtins[i].flags, builtins[i].help, NULL, NULL,
                    builtins[i].b, err, errlen) < 0)
            goto fail;
    }
    return s;
oom:
    pm_err(err, errlen, "out of memory");
fail:
    ctl_server_free(s);
    return NULL;
}

void ctl_server_set_refusal_cb(struct ctl_server *s, ctl_refusal_fn cb, void *arg)
{
    s->refusal_cb = cb;
    s->refusal_arg = arg;
}

void ctl_server_set_idle_timeout(struct ctl_server *s, unsigned ms)
{
    s->idle_ms = ms ? ms : CTL_IDLE_TIMEOUT_MS;
}

void ctl_server_set_backoff(struct ctl_server *s, unsigned base_ms, unsigned cap_ms)
{
    s->base_ms = base_ms ? base_ms : CTL_BACKOFF_BASE_MS;
    s->cap_ms = cap_ms ? cap_ms : CTL_BACKOFF_CAP_MS;
}

int ctl_server_add_command(struct ctl_server *s, const char *words, unsigned flags,
                           const char *help, ctl_cmd_fn fn, void *arg, char *err, size_t errlen)
{
    return add_cmd(s, words, flags, help, fn, arg, B_NONE, err, errlen);
}

static void report(struct ctl_server *s, uid_t uid, gid_t gid, pid_t pid, const char *why)
{
    if (s->refusal_cb)
        s->refusal_cb(uid, gid, pid, why, s->refusal_arg);
}

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
        report(s, uc.uid, uc.gid, uc.pid, why);
        return;
    }
    int slot = -1;
    for (int i = 0; i < CTL_MAX_CLIENTS && slot < 0; i++)
        if (s->conns[i] == NULL)
            slot = i;
    struct conn *c = slot >= 0 ? calloc(1, sizeof *c) : NULL;
    if (c == NULL) {
        log_warnx("ctl", "refusing a control connection: %s",
                  slot < 0 ? "too many clients" : "out of memory");
        send_frame_now(fd, CTL_ST_REFUSED, "% " MSG_BUSY "\n");
        close(fd);
        return;
    }
    c->fd = fd;
    c->last = now_ms();
    c->uid = uc.uid;
    c->gid = uc.gid;
    c->pid = uc.pid;
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

/* ---- requests ---- */

static void queue(struct conn *c, enum ctl_status st, struct sbuf *body)
{
    char hdr[CTL_MAX_HEADER];
    if (body->oom || body->len > CTL_MAX_RESPONSE) {
        struct sbuf e = {0};
        ctl_reply_render_error(0, "error", body->oom ? "Out of memory." : "Reply too large.", &e);
        sbuf_free(body);
        *body = e;
        st = CTL_ST_ERR;
    }
    sbuf_add(&c->out, hdr, ctl_frame_header(hdr, st, body->len));
    sbuf_add(&c->out, body->p ? body->p : "", body->len);
    sbuf_free(body);
    if (c->out.oom)
        c->closing = 1; /* cannot answer: hang up rather than desynchronise */
}

static void queue_error(struct conn *c, int json, enum ctl_status st, const char *msg)
{
    struct sbuf b = {0};
    ctl_reply_render_error(json, st == CTL_ST_DENIED ? "denied" : "error", msg, &b);
    queue(c, st, &b);
}

static int visible(const struct conn *c, const struct cmd *cmd)
{
    return !(cmd->flags & CTL_F_MIRROR) || c->mirror;
}

/* The visible command with the longest run of literal words matching argv. */
static struct cmd *match(struct ctl_server *s, const struct conn *c, int argc, char **argv)
{
    struct cmd *best = NULL;
    for (size_t i = 0; i < s->ncmds; i++) {
        struct cmd *cmd = &s->cmds[i];
        if (cmd->nwords > argc || !visible(c, cmd) || (best && best->nwords >= cmd->nwords))
            continue;
        int k = 0;
        while (k < cmd->nwords && strcmp(cmd->words[k], argv[k]) == 0)
            k++;
        if (k == cmd->nwords)
            best = cmd;
    }
    return best;
}

static int by_spec(const void *a, const void *b)
{
    return strcmp((*(struct cmd *const *)a)->spec, (*(struct cmd *const *)b)->spec);
}

/* help [words...]: visible commands whose words start with the given ones. */
static void do_help(struct ctl_server *s, struct conn *c, int json, int argc, char **argv, int meta)
{
    struct cmd *list[MAX_COMMANDS];
    size_t n = 0;
    for (size_t i = 0; i < s->ncmds; i++) {
        struct cmd *cmd = &s->cmds[i];
        int ok = visible(c, cmd) && argc <= cmd->nwords;
        for (int k = 0; ok && k < argc; k++)
            ok = k + 1 < argc ? strcmp(cmd->words[k], argv[k]) == 0
                              : strncmp(cmd->words[k], argv[k], strlen(argv[k])) == 0;
        if (ok)
            list[n++] = cmd;
    }
    if (n == 0) {
        queue_error(c, json, CTL_ST_ERR, MSG_UNKNOWN);
        return;
    }
    qsort(list, n, sizeof list[0], by_spec);
    struct ctl_reply r;
    struct sbuf b = {0};
    ctl_reply_init(&r, json);
    if (meta) {
        /* @commands: literal words only, one command a line, for completion */
        for (size_t i = 0; i < n; i++) {
            for (int k = 0; k < list[i]->nwords; k++)
                sbuf_printf(&b, "%s%s", k ? " " : "", list[i]->words[k]);
            sbuf_add(&b, "\n", 1);
        }
        queue(c, CTL_ST_OK, &b);
        return;
    }
    if (json) {
        ctl_reply_table(&r, "commands", "command", "help", (char *)NULL);
        for (size_t i = 0; i < n; i++)
            ctl_reply_row(&r, list[i]->spec, list[i]->help, (char *)NULL);
    } else {
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            w = strlen(list[i]->spec) > w ? strlen(list[i]->spec) : w;
        for (size_t i = 0; i < n; i++)
            ctl_reply_printf(&r, "  %-*s  %s\n", (int)w, list[i]->spec, list[i]->help);
    }
    ctl_reply_render(&r, "ok", &b);
    ctl_reply_clear(&r);
    queue(c, CTL_ST_OK, &b);
}

/* Skips "@json" and returns the start of "mirror-enable ...", or NULL. */
static const char *enable_request(const char *line, int *json)
{
    const char *p = line + strspn(line, " \t");
    *json = 0;
    if (strncmp(p, CTL_JSON_PREFIX, strlen(CTL_JSON_PREFIX)) == 0 &&
        strchr(" \t", p[strlen(CTL_JSON_PREFIX)]) != NULL && p[strlen(CTL_JSON_PREFIX)]) {
        *json = 1;
        p += strlen(CTL_JSON_PREFIX);
        p += strspn(p, " \t");
    }
    static const char kw[] = "mirror-enable";
    if (strncmp(p, kw, sizeof kw - 1) == 0 &&
        (p[sizeof kw - 1] == '\0' || p[sizeof kw - 1] == ' ' || p[sizeof kw - 1] == '\t'))
        return p + sizeof kw - 1;
    return NULL;
}

/* Does this request ask for mirror-enable, in any spelling (quoted words too)? */
static int wants_enable(const char *line)
{
    int json;
    if (enable_request(line, &json) != NULL)
        return 1;
    char copy[CTL_MAX_REQUEST], *argv[CTL_MAX_WORDS];
    snprintf(copy, sizeof copy, "%s", line);
    int argc = ctl_split_words(copy, argv, CTL_MAX_WORDS);
    int skip = argc > 0 && strcmp(argv[0], CTL_JSON_PREFIX) == 0;
    int yes = argc > skip && strcmp(argv[skip], "mirror-enable") == 0;
    OPENSSL_cleanse(copy, sizeof copy);
    return yes;
}

static void do_enable(struct ctl_server *s, struct conn *c, int json, const char *rest)
{
    rest += strspn(rest, " \t");
    size_t len = strlen(rest);
    int ok = s->hash != NULL && len > 0 && secret_verify(s->hash, rest, len) == 1;
    if (ok) {
        s->fails = 0;
        c->mirror = 1;
        struct ctl_reply r;
        struct sbuf b = {0};
        ctl_reply_init(&r, json);
        if (json)
            ctl_reply_kv(&r, "mirror", "enabled");
        else
            ctl_reply_printf(&r, "Mirror mode enabled.\n");
        ctl_reply_render(&r, "ok", &b);
        ctl_reply_clear(&r);
        queue(c, CTL_ST_OK, &b);
        return;
    }
    if (s->fails < 31)
        s->fails++;
    uint64_t d = (uint64_t)s->base_ms << (s->fails - 1 < 20 ? s->fails - 1 : 20);
    if (d > s->cap_ms)
        d = s->cap_ms;
    s->enable_nb = now_ms() + (int64_t)d;
    c->mirror = 0;
    c->nb = s->enable_nb; /* the answer waits too */
    char why[96];
    snprintf(why, sizeof why, "mirror-enable: wrong secret (%u consecutive failures)", s->fails);
    report(s, c->uid, c->gid, c->pid, why);
    queue_error(c, json, CTL_ST_DENIED, MSG_DENIED);
}

static void run_command(struct ctl_server *s, struct conn *c, int json, struct cmd *cmd, int argc,
                        char **argv)
{
    switch (cmd->builtin) {
    case B_HELP:
        do_help(s, c, json, argc, argv, 0);
        return;
    case B_EXIT:
    case B_QUIT: {
        struct sbuf b = {0};
        if (json)
            sbuf_addstr(&b, "{\"status\":\"bye\"}\n");
        queue(c, CTL_ST_BYE, &b);
        c->closing = 1;
        return;
    }
    case B_DISABLE:
    case B_MDISABLE: {
        struct sbuf b = {0};
        c->mirror = 0;
        sbuf_addstr(&b, json ? "{\"status\":\"ok\",\"mirror\":\"disabled\"}\n"
                             : "Mirror mode disabled.\n");
        queue(c, CTL_ST_OK, &b);
        return;
    }
    case B_ENABLE: /* usually handled before tokenising; here if quoted */
        do_enable(s, c, json, argc == 1 ? argv[0] : "");
        return;
    case B_NONE:
        break;
    }
    struct ctl_reply r;
    struct sbuf b = {0};
    ctl_reply_init(&r, json);
    r.peer = (struct ctl_peer){c->uid, c->gid, c->pid};
    char *saved = argv[argc];
    argv[argc] = NULL;
    int rc = cmd->fn(&r, argc, argv, cmd->arg);
    argv[argc] = saved;
    if (rc < 0 && !r.failed)
        ctl_reply_error(&r, "Command failed.");
    ctl_reply_render(&r, "ok", &b);
    enum ctl_status st = r.failed || r.oom ? CTL_ST_ERR : CTL_ST_OK;
    ctl_reply_clear(&r);
    queue(c, st, &b);
}

static void handle_line(struct ctl_server *s, struct conn *c, char *line)
{
    int json;
    const char *rest = enable_request(line, &json);
    if (rest != NULL) {
        do_enable(s, c, json, rest);
        return;
    }
    char *argv[CTL_MAX_WORDS + 1];
    int argc = ctl_split_words(line, argv, CTL_MAX_WORDS);
    int skip = 0;
    if (argc > 0 && strcmp(argv[0], CTL_JSON_PREFIX) == 0)
        json = skip = 1;
    if (argc < 0) {
        queue_error(c, json, CTL_ST_ERR,
                    "Malformed request (unbalanced quotes or too many words).");
        return;
    }
    argc -= skip;
    char **av = argv + skip;
    av[argc] = NULL;
    if (argc == 0) {
        struct sbuf b = {0};
        if (json)
            sbuf_addstr(&b, "{\"status\":\"ok\"}\n");
        queue(c, CTL_ST_OK, &b);
        return;
    }
    if (strcmp(av[0], CTL_META_COMMANDS) == 0) {
        do_help(s, c, json, 0, av, 1);
        return;
    }
    struct cmd *cmd = match(s, c, argc, av);
    if (cmd == NULL) {
        queue_error(c, json, CTL_ST_ERR, MSG_UNKNOWN);
        return;
    }
    run_command(s, c, json, cmd, argc - cmd->nwords, av + cmd->nwords);
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
    }
    OPENSSL_cleanse(c->out.p, c->out.len);
    c->out.len = c->outoff = 0;
    return 0;
}

/*
 * Sends queued output, then answers buffered requests one at a time while
 * nothing is queued.  Returns -1 if the connection must be closed now.
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
        char *nl = memchr(c->in, '\n', c->inlen);
        if (nl == NULL) {
            if (c->inlen < sizeof c->in)
                return 0;
            queue_error(c, 0, CTL_ST_ERR, MSG_TOO_LONG);
            OPENSSL_cleanse(c->in, sizeof c->in);
            c->inlen = 0;
            c->closing = 1;
            continue;
        }
        *nl = '\0';
        if (nl > c->in && nl[-1] == '\r')
            nl[-1] = '\0';
        if (s->enable_nb > now_ms() && wants_enable(c->in)) {
            *nl = '\n'; /* keep it buffered until the backoff has passed */
            c->nb = s->enable_nb;
            return 0;
        }
        size_t used = (size_t)(nl - c->in) + 1;
        handle_line(s, c, c->in);
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

/* ---- thread ---- */

static void *server_main(void *arg)
{
    struct ctl_server *s = arg;
    struct pollfd pfd[2 + CTL_MAX_CLIENTS];
    int idx[2 + CTL_MAX_CLIENTS];

    for (;;) {
        int64_t now = now_ms(), next = -1;
        nfds_t n = 0;
        pfd[n].fd = s->wake[0];
        pfd[n++].events = POLLIN;
        pfd[n].fd = s->lfd;
        pfd[n++].events = s->accept_nb > now ? 0 : POLLIN;
        if (s->accept_nb > now)
            next = s->accept_nb;
        for (int i = 0; i < CTL_MAX_CLIENTS; i++) {
            struct conn *c = s->conns[i];
            if (c == NULL)
                continue;
            /* A session that sends nothing holds a slot of CTL_MAX_CLIENTS:
             * close it after idle_ms, like a router's exec-timeout. */
            int64_t idle_at = c->last + s->idle_ms;
            next = next < 0 || idle_at < next ? idle_at : next;
            if (c->nb > now) {
                next = next < 0 || c->nb < next ? c->nb : next;
                pfd[n].events = 0; /* still told about POLLHUP */
            } else {
                pfd[n].events = c->out.len > 0 ? POLLOUT : POLLIN;
            }
            pfd[n].fd = c->fd;
            idx[n++] = i;
        }
        int timeout = next < 0 ? -1 : (int)(next - now);
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
        now = now_ms();
        for (nfds_t k = 2; k < n; k++) {
            int i = idx[k];
            struct conn *c = s->conns[i];
            short re = pfd[k].revents;
            int dead = 0;
            if (re & POLLIN)
                dead = readable(c) < 0;
            else if (re & (POLLERR | POLLHUP | POLLNVAL))
                dead = 1;
            if (!dead && (re || (c->nb && c->nb <= now)))
                dead = service(s, c) < 0;
            if (re)
                c->last = now;
            else if (!dead && c->nb <= now && c->out.len == 0 && now - c->last >= s->idle_ms)
                dead = 1;
            if (dead)
                conn_close(s, i);
        }
    }
    for (int i = 0; i < CTL_MAX_CLIENTS; i++)
        if (s->conns[i])
            conn_close(s, i);
    return NULL;
}

int ctl_server_start(struct ctl_server *s, char *err, size_t errlen)
{
    if (s->started)
        return pm_err(err, errlen, "control server already started");
    s->lfd =
        ctl_sock_listen(s->path, s->has_group, s->gid, &s->sock_dev, &s->sock_ino, err, errlen);
    if (s->lfd < 0)
        return -1;
    s->bound = 1;
    if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return pm_err(err, errlen, "pipe: %s", strerror(errno));
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
    for (size_t i = 0; i < s->ncmds; i++) {
        free(s->cmds[i].spec);
        free(s->cmds[i].wbuf);
        free(s->cmds[i].help);
    }
    free(s->cmds);
    free(s->path);
    free(s->group);
    if (s->hash) {
        OPENSSL_cleanse(s->hash, strlen(s->hash));
        free(s->hash);
    }
    free(s);
}
