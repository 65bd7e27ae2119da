/*
 * monitor_reload.h - the monitor's side of a reload (SIGHUP; docs/reload.md):
 * the file re-read and validated, per child a reload slice when its lines
 * changed (conf_slice.h), the children's answers awaited and logged.
 * Daemon-private.
 */
#ifndef PMIRRORD_DAEMON_MONITOR_RELOAD_H
#define PMIRRORD_DAEMON_MONITOR_RELOAD_H

#include <stdint.h>

#include "pmirrord/conf_slice.h"

struct ipc_chan;
struct ipc_status;

#define MON_RELOAD_MS 10000 /* a child's answer to a reload slice, at most */

/* Per child: the digests of the lines it runs. */
struct mon_rl_child {
    const char *name;         /* "agent", "capture" */
    unsigned dest;            /* CONF_DEST_* */
    struct conf_digests dg;   /* what it runs: its start slice, or the last reload it took */
    struct conf_digests next; /* sent in the reload under way, until it answers */
    int known;                /* dg is what it runs (0: an answer never came; all in full) */
    int waiting;              /* a reload slice sent, no answer yet */
    unsigned late;            /* answers still owed to slices whose wait timed out */
    int skipped;              /* not running (or not ready) at the reload */
};

/* Returns the child's channel if it runs and is ready, else NULL. */
typedef struct ipc_chan *(*mon_rl_chan_fn)(void *arg, struct mon_rl_child *c);

struct mon_rl {
    const char *path; /* the configuration file */
    struct mon_rl_child *child[2];
    mon_rl_chan_fn chan;
    void *arg;
    int active;        /* a reload under way */
    int queued;        /* another SIGHUP came meanwhile: one more reload after */
    uint64_t deadline; /* CLOCK_MONOTONIC ms: the answers are awaited until then */
    unsigned sent, answered, failed, unanswered;
    uint64_t reloads, rejected; /* since start */
};

void mon_rl_init(struct mon_rl *r, const char *path, struct mon_rl_child *agent,
                 struct mon_rl_child *capture, mon_rl_chan_fn chan, void *arg);
void mon_rl_free(struct mon_rl *r);
/* Every start of a child: the digests of the whole slice it was sent (taken). */
void mon_rl_started(struct mon_rl *r, struct mon_rl_child *c, struct conf_digests *dg);
/* SIGHUP. */
void mon_rl_sighup(struct mon_rl *r);
/* A STATUS RELOADED or RELOAD_FAILED from c.  1 if it was one (handled). */
int mon_rl_status(struct mon_rl *r, struct mon_rl_child *c, const struct ipc_status *st);
/* c died (or its channel was lost): no answer will come. */
void mon_rl_gone(struct mon_rl *r, struct mon_rl_child *c);
/* Milliseconds until the answers' deadline, -1 when nothing is awaited. */
int mon_rl_timeout_ms(const struct mon_rl *r);
/* The deadline check (call after every poll). */
void mon_rl_tick(struct mon_rl *r);

#endif
