/*
 * cap_slice.c - the capture process's configuration slice and descriptors,
 * read from the monitor's channel at start-up (docs/process-model.md,
 * "Configuration slices"; docs/ipc-protocol.md, CONFIG and FD):
 *
 *   CONFIG BEGIN key "file" value PATH
 *   CONFIG key DIRECTIVE value LINE-AS-WRITTEN line N      (capture, signallingLatency,
 *                                  the RADIUS, DHCP and session directives)
 *   FD purpose pcap-file name SRC (as written in `pcap:SRC`) + the descriptor
 *   FD purpose test-fifo (test builds only)               + the descriptor
 *   CONFIG END key "end"
 *
 * Every record is untrusted: a slice out of order is refused as a whole.
 * Values are wiped once parsed.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cap_proc_priv.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/daemon.h"
#include "pmirrord/errbuf.h"
#include "pmirrord/log.h"
#include "pmirrord/securemem.h"

struct slice_ctx {
    struct cp_slice *sl;
    const struct pm_daemon_hooks *hooks;
};

static void slice_bad(struct cp_slice *sl, const char *why)
{
    if (!sl->bad)
        snprintf(sl->err, sizeof(sl->err), "configuration slice refused: %s", why);
    sl->bad = 1;
}

static void on_config(struct cp_slice *sl, const struct ipc_config *c, unsigned flags)
{
    if (flags & IPC_F_BEGIN) {
        if (sl->begun || strcmp(c->key, "file") != 0)
            return slice_bad(sl, "a BEGIN record twice, or without key \"file\"");
        sl->begun = 1;
        size_t n = strnlen(c->value, sizeof(sl->file) - 1);
        memcpy(sl->file, c->value, n);
        sl->file[n] = '\0';
    }
    if (!sl->begun || sl->ended)
        return slice_bad(sl, "a CONFIG record outside BEGIN..END");
    if (flags & IPC_F_END) {
        if (strcmp(c->key, "end") != 0 && !(flags & IPC_F_BEGIN))
            return slice_bad(sl, "an END record without key \"end\"");
        sl->ended = 1;
        return;
    }
    if (flags & IPC_F_BEGIN)
        return;
    if (sl->nlines == CP_SLICE_LINES)
        return slice_bad(sl, "too many lines");
    char *v = strdup(c->value);
    if (v == NULL)
        return slice_bad(sl, "out of memory");
    snprintf(sl->line[sl->nlines].key, sizeof(sl->line[0].key), "%s", c->key);
    sl->line[sl->nlines].value = v;
    sl->line[sl->nlines].line = c->line;
    sl->nlines++;
}

static void on_fd(struct slice_ctx *x, struct ipc_fd *f)
{
    struct cp_slice *sl = x->sl;
    switch (f->purpose) {
    case IPC_FD_TEST_FIFO:
        if (x->hooks == NULL || x->hooks->capture_test_start == NULL) {
            log_warnx(CP_TOKEN, "a test-fifo descriptor refused: this is not a test build");
            return; /* closed by the channel */
        }
        break;
    case IPC_FD_PCAP_FILE:
    case IPC_FD_PEER_CHAN:
    case IPC_FD_START_LOG:
        break;
    default:
        log_warnx(CP_TOKEN, "a descriptor of purpose %u refused: not for the capture process",
                  (unsigned)f->purpose);
        return;
    }
    if (sl->nfds == sizeof(sl->fd) / sizeof(sl->fd[0])) {
        log_warnx(CP_TOKEN, "too many descriptors with the slice; one closed");
        return;
    }
    sl->fd[sl->nfds].purpose = f->purpose;
    snprintf(sl->fd[sl->nfds].name, sizeof(sl->fd[0].name), "%s", f->name);
    sl->fd[sl->nfds].fd = f->fd;
    sl->nfds++;
    f->fd = -1; /* taken */
}

static void on_rec(struct ipc_rec *rec, void *arg)
{
    struct slice_ctx *x = arg;
    if (rec->type == IPC_CONFIG)
        on_config(x->sl, &rec->u.config, rec->flags);
    else if (rec->type == IPC_FD)
        on_fd(x, &rec->u.fd);
    else
        log_debug(CP_TOKEN, "a %s record from the monitor before the slice ended: ignored",
                  ipc_type_name(rec->type));
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int cp_slice_read(struct ipc_chan *chan_b, int timeout_ms, const struct pm_daemon_hooks *hooks,
                  const volatile sig_atomic_t *stop, struct cp_slice *sl, char *err, size_t errlen)
{
    struct slice_ctx x = {sl, hooks};
    int64_t deadline = mono_ms() + timeout_ms;
    sigset_t empty;
    sigemptyset(&empty);

    while (!sl->ended && !sl->bad) {
        if (stop != NULL && *stop)
            return pm_err(err, errlen, "stopped (a signal) before the slice came");
        int64_t left = deadline - mono_ms();
        if (left <= 0)
            return pm_err(err, errlen, "no configuration slice from the monitor within %d s",
                          timeout_ms / 1000);
        struct pollfd pfd = {.fd = ipc_chan_fd(chan_b), .events = POLLIN};
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000};
        int n = ppoll(&pfd, 1, &ts, &empty); /* SIGTERM is blocked but here and in the loop */
        if (n < 0 && errno != EINTR)
            return pm_err(err, errlen, "poll on the monitor channel: %s", strerror(errno));
        if (n <= 0)
            continue;
        for (;;) {
            int rc = ipc_chan_recv(chan_b, on_rec, &x);
            if (rc == 0)
                return pm_err(err, errlen, "the monitor closed its channel before the slice ended");
            if (rc < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                return pm_err(err, errlen, "reading the monitor channel: %s", strerror(errno));
            }
            if (sl->ended || sl->bad)
                break;
        }
    }
    /* Descriptors belong before END; a monitor that sent them in a message of
     * their own right after it is still heard (what is already queued). */
    while (!sl->bad && ipc_chan_recv(chan_b, on_rec, &x) > 0)
        ;
    if (sl->bad)
        return pm_err(err, errlen, "%s", sl->err);
    return 0;
}

void cp_slice_clear(struct cp_slice *sl)
{
    for (size_t i = 0; i < sl->nlines; i++) {
        OPENSSL_cleanse(sl->line[i].value, strlen(sl->line[i].value));
        free(sl->line[i].value);
    }
    for (size_t i = 0; i < sl->nfds; i++)
        if (sl->fd[i].fd >= 0)
            close(sl->fd[i].fd);
    OPENSSL_cleanse(sl, sizeof(*sl));
}

/* FILE:LINE of the directives a reload cannot apply (cap_reload.c reports them). */
static void note_where(struct cp_conf *out, const char *file, const char *key, uint32_t line)
{
    static const char *const keys[] = {"mirrorDscp", "mirrorGso", "maxSubscribers", "mirrorSource",
                                       "mirrorInterface"};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        if (strcasecmp(key, keys[k]) != 0)
            continue;
        size_t i;
        for (i = 0; i < out->nrwhere && strcmp(out->rwhere[i].key, keys[k]) != 0; i++)
            ;
        if (i == CP_RWHERE_MAX)
            return;
        if (i == out->nrwhere)
            out->nrwhere++;
        snprintf(out->rwhere[i].key, sizeof(out->rwhere[i].key), "%s", keys[k]);
        snprintf(out->rwhere[i].where, sizeof(out->rwhere[i].where), "%s:%u", file, line);
    }
}

/*
 * The slice's lines parsed by the configuration parser itself (conf_slice.h):
 * the same checks as the monitor's, errors naming FILE:LINE as in the file.
 */
/* The capture slice's lines (not the ports line) as a conf_slice. */
static struct conf_slice *lines_of(const struct cp_slice *sl, char *err, size_t errlen)
{
    struct conf_slice *cs = conf_slice_new();
    int rc = 0;
    if (cs == NULL) {
        pm_err(err, errlen, "configuration slice: out of memory");
        return NULL;
    }
    for (size_t i = 0; i < sl->nlines && rc == 0; i++) {
        if (strcmp(sl->line[i].key, CONF_SLICE_KEY_PORTS) == 0) /* not a directive */
            continue;
        /* Only the capture process's directives, each under its own key. */
        if (!conf_slice_line_for(CONF_DEST_CAPTURE, sl->line[i].key, sl->line[i].value))
            rc = pm_err(err, errlen, "%s:%u: not a directive of the capture process's slice",
                        sl->file, sl->line[i].line);
        else
            rc = conf_slice_add(cs, sl->line[i].line, sl->line[i].value, strlen(sl->line[i].value),
                                err, errlen);
    }
    if (rc < 0) {
        conf_slice_free(cs);
        return NULL;
    }
    return cs;
}

/* A new slice whose text goes into arena k (if there is one). */
static struct conf_slice *slice_in(struct cap_proc *p, int k)
{
    struct conf_slice *cs = conf_slice_new();
    if (cs != NULL && p->rl_arena[k] != NULL)
        (void)conf_slice_set_arena(cs, p->rl_arena[k], CP_RL_ARENA);
    return cs;
}

int cp_slice_keep(struct cap_proc *p, const struct cp_slice *sl, char *err, size_t errlen)
{
    /* Before the sandbox (mlock): the running lines hold the RADIUS secrets'
     * lines, kept out of swap and core dumps like the secrets themselves. */
    for (int k = 0; k < 2; k++) {
        char why[256];
        if (p->rl_arena[k] == NULL &&
            (p->rl_arena[k] = pm_secure_alloc(CP_RL_ARENA, "reload lines", why, sizeof(why))) ==
                NULL) {
            log_warnx(CP_TOKEN, "%s; the configuration lines kept for reloads are not locked", why);
            break;
        }
    }
    if (p->rl_arena[1] == NULL) { /* both or none */
        pm_secure_free(p->rl_arena[0], CP_RL_ARENA);
        p->rl_arena[0] = NULL;
    }
    p->rl_cur = 0;
    struct conf_slice *cs = lines_of(sl, err, errlen);
    if (cs == NULL)
        return -1;
    /* copied into the locked arena: the heap copy wiped */
    struct conf_slice *kept = slice_in(p, 0);
    int rc = kept == NULL ? pm_err(err, errlen, "configuration slice: out of memory")
                          : conf_slice_copy(kept, cs, err, errlen);
    conf_slice_free(cs);
    if (rc < 0) {
        conf_slice_free(kept);
        return -1;
    }
    conf_slice_free(p->running);
    p->running = kept;
    return 0;
}

/* The parse shared by a start and a reload: cs's lines (file for FILE:LINE)
 * and the analyzer ports line (NULL: none). */
static int conf_from_lines(const struct conf_slice *cs, const char *file, const char *ports,
                           struct cp_conf *out, char *err, size_t errlen)
{
    struct pm_conf c;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    out->latency_ms = CAP_LATENCY_MS_DEFAULT;
    if (ports != NULL &&
        conf_mirror_ports_parse(ports, out->ports, CONF_MIRROR_PORTS_MAX, &out->nports) < 0)
        return pm_err(err, errlen, "%s: the analyzer ports of the slice are not a list of ports",
                      file);
    rc = conf_slice_load(cs, file, &c, err, errlen);
    if (rc < 0)
        return -1;
    if (c.ncaptures > CAP_PROC_SOURCES_MAX) {
        conf_free(&c);
        return pm_err(err, errlen, "more than %d capture sources", CAP_PROC_SOURCES_MAX);
    }
    for (size_t i = 0; i < c.ncaptures; i++) {
        out->spec[i] = c.captures[i].spec;
        snprintf(out->where[i], sizeof(out->where[0]), "%s", c.captures[i].where);
    }
    out->nspec = c.ncaptures;
    snprintf(out->file, sizeof(out->file), "%s", file);
    for (size_t i = 0; i < conf_slice_lines(cs); i++) {
        const char *t;
        size_t len, k = 0;
        char key[24];
        uint32_t no = conf_slice_line_at(cs, i, &t, &len);
        while (k < len && (t[k] == ' ' || t[k] == '\t'))
            t++, len--;
        while (k < len && k < sizeof(key) - 1 && t[k] != ' ' && t[k] != '\t')
            key[k] = t[k], k++;
        key[k] = '\0';
        note_where(out, file, key, no);
    }
    out->latency_ms = c.signalling_latency;
    out->mirror = c.mirror; /* mirrorSource, mirrorDscp, mirrorInterface, analyzerHoldDown */
    rc = cp_sess_conf(&c, out, err, errlen); /* RADIUS, DHCP, sessions */
    conf_free(&c);
    return rc;
}

int cp_conf_from_slice(const struct cp_slice *sl, struct cp_conf *out, char *err, size_t errlen)
{
    const char *ports = NULL;
    for (size_t i = 0; i < sl->nlines; i++)
        if (strcmp(sl->line[i].key, CONF_SLICE_KEY_PORTS) == 0)
            ports = sl->line[i].value;
    struct conf_slice *cs = lines_of(sl, err, errlen);
    if (cs == NULL) {
        memset(out, 0, sizeof(*out));
        return -1;
    }
    int rc = conf_from_lines(cs, sl->file, ports, out, err, errlen);
    conf_slice_free(cs); /* wipes its copy of every line */
    return rc;
}

/* ---- reload slices (docs/reload.md) ------------------------------------------------------- */

void cp_reload_free(struct cap_proc *p)
{
    conf_slice_free(p->running);
    conf_slice_free(p->rl);
    p->running = p->rl = NULL;
    p->rl_refusing = 0;
    for (int k = 0; k < 2; k++) {
        pm_secure_free(p->rl_arena[k], CP_RL_ARENA);
        p->rl_arena[k] = NULL;
    }
}

static void reload_answer(struct cap_proc *p, uint8_t state, const char *text)
{
    static struct ipc_rec rec;
    char err[256];
    memset(&rec, 0, sizeof(rec));
    rec.type = IPC_STATUS;
    rec.u.status.state = state;
    snprintf(rec.u.status.text, sizeof(rec.u.status.text), "%s", text);
    for (char *c = rec.u.status.text; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    if (ipc_chan_put(p->chan_b, &rec, err, sizeof(err)) < 0)
        log_warnx(CP_TOKEN, "reload: STATUS not sent: %s", err);
    else
        (void)ipc_chan_flush(p->chan_b); /* a backlog leaves with the loop */
    OPENSSL_cleanse(&rec, sizeof(rec));
}

static void reload_refused(struct cap_proc *p)
{
    conf_slice_free(p->rl);
    p->rl = NULL;
    p->rl_refusing = 0;
    p->reload_failed++;
    log_warnx(CP_TOKEN, "reload slice refused: %s", p->rl_why);
    reload_answer(p, IPC_STATUS_RELOAD_FAILED, p->rl_why);
}

static void reload_apply(struct cap_proc *p)
{
    static struct cp_conf next; /* large: not on the stack */
    char summary[1024] = "", err[512] = "";
    size_t same = conf_slice_same(p->rl);
    p->reload_same += same;
    log_info(CP_TOKEN, "reload slice: %zu line(s), %zu unchanged (taken by digest)",
             conf_slice_lines(p->rl), same);
    if (conf_from_lines(p->rl, conf_slice_name(p->rl), conf_slice_ports(p->rl), &next, p->rl_why,
                        sizeof(p->rl_why)) < 0) {
        cp_conf_clear(&next);
        OPENSSL_cleanse(&next, sizeof(next));
        return reload_refused(p);
    }
    /* next is taken (the running configuration afterwards) or cleared */
    int rc = cp_reload_apply(p, &next, summary, sizeof(summary), err, sizeof(err));
    OPENSSL_cleanse(&next, sizeof(next));
    if (rc < 0) {
        snprintf(p->rl_why, sizeof(p->rl_why), "%s", err[0] ? err : "not applied");
        return reload_refused(p);
    }
    conf_slice_free(p->running); /* its lines are the running ones now */
    p->running = p->rl;
    p->rl = NULL;
    p->rl_cur = 1 - p->rl_cur; /* and their arena */
    p->reloads++;
    reload_answer(p, IPC_STATUS_RELOADED, summary[0] ? summary : "applied");
}

void cp_reload_rec(struct cap_proc *p, const struct ipc_rec *rec)
{
    int end = (rec->flags & IPC_F_END) != 0;
    if ((rec->flags & IPC_F_BEGIN) && (p->rl != NULL || p->rl_refusing)) {
        /* a slice the monitor could not finish (its channel was full): it
         * waits for no answer to it; the new one replaces it */
        log_warnx(CP_TOKEN, "an unfinished reload slice dropped: a new one begins");
        conf_slice_free(p->rl);
        p->rl = NULL;
        p->rl_refusing = 0;
    }
    if (p->rl_refusing) { /* the rest of a refused slice */
        if (end)
            reload_refused(p);
        return;
    }
    if (p->rl == NULL) {
        if (!(rec->flags & IPC_F_BEGIN)) { /* no slice open: nothing to answer */
            p->b_unexpected++;
            log_debug(CP_TOKEN, "a CONFIG record outside a reload slice ignored");
            return;
        }
        if (p->running == NULL || (p->rl = slice_in(p, 1 - p->rl_cur)) == NULL) {
            snprintf(p->rl_why, sizeof(p->rl_why), "%s",
                     p->running == NULL ? "no running configuration lines" : "out of memory");
            p->rl_refusing = 1;
            if (end)
                reload_refused(p);
            return;
        }
        conf_slice_set_dest(p->rl, CONF_DEST_CAPTURE); /* never an agent secret */
        conf_slice_set_running(p->rl, p->running);
    }
    if (!(rec->flags & (IPC_F_BEGIN | IPC_F_END)) &&
        conf_slice_lines(p->rl) + (conf_slice_ports(p->rl) != NULL) >= CP_SLICE_LINES) {
        /* the start slice's bound (cp_slice_read()): a reload must not take
         * what a restart of this process would refuse */
        snprintf(p->rl_why, sizeof(p->rl_why), "%s: more than %d lines in the slice",
                 conf_slice_name(p->rl), CP_SLICE_LINES);
        p->rl_refusing = 1;
        return;
    }
    int r = conf_slice_rec(p->rl, rec, p->rl_why, sizeof(p->rl_why));
    if (r < 0) {
        p->rl_refusing = 1;
        if (end)
            reload_refused(p);
    } else if (r == 1) {
        reload_apply(p);
    }
}
