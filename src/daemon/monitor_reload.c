/*
 * monitor_reload.c - the monitor's side of a reload (monitor_reload.h,
 * docs/reload.md).
 *
 * SIGHUP: the whole file is read and validated again exactly as at start
 * (conf_load_lines() and pm_monitor_check()).  A file that does not validate
 * draws one line, "reload rejected: FILE:LINE: message; the running
 * configuration stays", and nothing is sent.  Otherwise, per child, the
 * digests of its lines (in order, line numbers aside) are compared with those
 * of what it runs: equal, nothing is sent ("reload: agent: unchanged"); else
 * a reload slice (conf_slice.h) whose unchanged lines travel as SHA-256
 * digests only.  The child answers STATUS RELOADED or RELOAD_FAILED, logged
 * as "reload: agent: TEXT"; when every child answered (or MON_RELOAD_MS
 * passed) "reload done" and sd_notify READY=1.  A SIGHUP during a reload is
 * queued: one more reload follows.
 */
#include "monitor_reload.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "monitor.h"
#include "pmirrord/conf.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"
#include "pmirrord/sdnotify.h"

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void mon_rl_init(struct mon_rl *r, const char *path, struct mon_rl_child *agent,
                 struct mon_rl_child *capture, mon_rl_chan_fn chan, void *arg)
{
    memset(r, 0, sizeof(*r));
    r->path = path;
    r->child[0] = agent;
    r->child[1] = capture;
    r->chan = chan;
    r->arg = arg;
}

void mon_rl_free(struct mon_rl *r)
{
    for (int i = 0; i < 2; i++) {
        if (r->child[i] == NULL)
            continue;
        conf_digests_free(&r->child[i]->dg);
        conf_digests_free(&r->child[i]->next);
    }
}

void mon_rl_started(struct mon_rl *r, struct mon_rl_child *c, struct conf_digests *dg)
{
    (void)r;
    conf_digests_free(&c->dg);
    c->dg = *dg;
    c->known = 1;
    c->late = 0; /* a new process: it owes nothing */
    dg->d = NULL;
    dg->n = 0;
}

static void finish(struct mon_rl *r)
{
    char st[160];
    log_info("mon", "reload done");
    snprintf(st, sizeof(st), "running: configuration reloaded (%u of %u answered, %u refused)",
             r->answered, r->sent, r->failed);
    sdn_ready(r->sent == 0 ? "running: configuration reloaded (nothing changed)" : st);
    r->active = 0;
    if (r->queued) {
        r->queued = 0;
        log_info("mon", "reload: another SIGHUP came meanwhile: reloading again");
        mon_rl_sighup(r);
    }
}

static int awaited(const struct mon_rl *r)
{
    return r->child[0]->waiting || r->child[1]->waiting;
}

/* One child: nothing, or its reload slice. */
static void reload_child(struct mon_rl *r, struct mon_rl_child *c, const struct conf_slice *all)
{
    char err[512];
    struct ipc_chan *ch = r->chan(r->arg, c);
    if (ch == NULL) {
        log_info("mon", "reload: %s: not running; it reads the file at its next start", c->name);
        return;
    }
    struct conf_digests dg;
    if (conf_slice_digests(all, c->dest, &dg) < 0) {
        log_warnx("mon", "reload: %s: out of memory; nothing sent", c->name);
        return;
    }
    if (c->known && conf_digests_equal(&dg, &c->dg)) {
        log_info("mon", "reload: %s: unchanged", c->name);
        conf_digests_free(&dg);
        return;
    }
    size_t nsame = 0;
    if (conf_slice_send_reload(ch, all, c->dest, c->known ? &c->dg : NULL, &nsame, err,
                               sizeof(err)) < 0) {
        /* what was queued is dropped by the child at the next BEGIN */
        log_warnx("mon", "reload: %s: %s; it runs what it ran", c->name, err);
        conf_digests_free(&dg);
        return;
    }
    (void)ipc_chan_flush(ch); /* the rest with the loop's POLLOUT */
    log_debug("reload", "%s: a reload slice of %zu line(s), %zu unchanged sent as digests", c->name,
              dg.n, nsame);
    conf_digests_free(&c->next);
    c->next = dg;
    c->waiting = 1;
    r->sent++;
}

void mon_rl_sighup(struct mon_rl *r)
{
    if (r->active) {
        if (!r->queued)
            log_info("mon", "SIGHUP during a reload: one more reload after it");
        r->queued = 1;
        return;
    }
    r->reloads++;
    r->active = 1;
    r->sent = r->answered = r->failed = r->unanswered = 0;
    sdn_reloading();
    log_info("mon", "SIGHUP: reloading %s", r->path);

    char err[1024];
    struct pm_conf c;
    struct conf_slice *all = conf_slice_read(r->path, &c, err, sizeof(err));
    if (all != NULL && pm_monitor_check(&c, err, sizeof(err)) < 0) {
        conf_slice_free(all);
        all = NULL;
        conf_free(&c);
    }
    if (all == NULL) {
        OPENSSL_cleanse(&c, sizeof(c));
        r->rejected++;
        log_error("mon", "reload rejected: %s; the running configuration stays", err);
        r->active = 0;
        sdn_ready("running: reload rejected, the running configuration stays");
        if (r->queued) { /* the file may have been fixed meanwhile */
            r->queued = 0;
            mon_rl_sighup(r);
        }
        return;
    }
    conf_free(&c);
    OPENSSL_cleanse(&c, sizeof(c)); /* the mirror secret's hash */
    for (int i = 0; i < 2; i++)
        reload_child(r, r->child[i], all);
    conf_slice_free(all); /* wipes every line */
    r->deadline = now_ms() + MON_RELOAD_MS;
    if (!awaited(r))
        finish(r);
}

int mon_rl_status(struct mon_rl *r, struct mon_rl_child *c, const struct ipc_status *st)
{
    if (st->state != IPC_STATUS_RELOADED && st->state != IPC_STATUS_RELOAD_FAILED)
        return 0;
    if (c->late > 0) {
        /* The channel is in order: the first answers are those of the slices
         * whose wait timed out, not the one under way (taking one for it
         * would record digests of lines the child may not run). */
        c->late--;
        log_warnx("mon", "reload: %s: a late answer to an earlier reload slice ignored", c->name);
        return 1;
    }
    if (!c->waiting) {
        log_warnx("mon", "reload: %s: an answer to no reload slice ignored", c->name);
        return 1;
    }
    c->waiting = 0;
    r->answered++;
    if (st->state == IPC_STATUS_RELOADED) {
        conf_digests_free(&c->dg);
        c->dg = c->next; /* what it runs now */
        c->next = (struct conf_digests){0};
        c->known = 1;
        log_info("mon", "reload: %s: %s", c->name, st->text[0] ? st->text : "applied");
    } else {
        conf_digests_free(&c->next); /* it runs what it ran */
        r->failed++;
        log_error("mon", "reload: %s: refused: %s; its running configuration stays", c->name,
                  st->text[0] ? st->text : "no reason given");
    }
    if (r->active && !awaited(r))
        finish(r);
    return 1;
}

void mon_rl_gone(struct mon_rl *r, struct mon_rl_child *c)
{
    c->late = 0;
    if (!c->waiting)
        return;
    c->waiting = 0;
    conf_digests_free(&c->next);
    r->unanswered++;
    log_warnx("mon", "reload: %s: ended before it answered; its next start reads the file",
              c->name);
    if (r->active && !awaited(r))
        finish(r);
}

int mon_rl_timeout_ms(const struct mon_rl *r)
{
    if (!r->active || !awaited(r))
        return -1;
    uint64_t now = now_ms();
    return now >= r->deadline ? 0 : (int)(r->deadline - now);
}

void mon_rl_tick(struct mon_rl *r)
{
    if (!r->active || !awaited(r) || now_ms() < r->deadline)
        return;
    for (int i = 0; i < 2; i++) {
        struct mon_rl_child *c = r->child[i];
        if (!c->waiting)
            continue;
        c->waiting = 0;
        c->known = 0; /* it may run either: the next reload sends every line in full */
        c->late++;    /* its answer, if it comes, is not the next reload's */
        conf_digests_free(&c->next);
        r->unanswered++;
        log_warnx("mon", "reload: %s: no answer within %u s", c->name, MON_RELOAD_MS / 1000);
    }
    finish(r);
}
