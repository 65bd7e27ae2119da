/*
 * agent_reload.h - the agent's side of a reload (docs/reload.md).
 */
#ifndef PMIRRORD_AGENT_RELOAD_H
#define PMIRRORD_AGENT_RELOAD_H

#include <stddef.h>

struct pm_conf;
struct trig_table;
struct ctl_server;

/* What a reload changes besides the trap hosts (notify.h), given once at
 * the start (agent_reload_init()). */
struct agent_reload_ctx {
    struct trig_table *trig;       /* NULL: no trigger table */
    void (*push_table)(void *arg); /* the trigger table to the capture process */
    void *push_arg;
    struct ctl_server *ctl; /* mirrorSecret */
};

/*
 * At the start, on the agent thread, with the configuration it started
 * with (before it is freed): remembers what a reload compares (values, the
 * mirror secret's digest, never a passphrase) and the locked-memory budget
 * of the trap host queues.  0, or -1 with err.
 */
int agent_reload_init(const struct pm_conf *c, const struct agent_reload_ctx *ctx, char *err,
                      size_t errlen) __attribute__((warn_unused_result));
void agent_reload_shutdown(void);

/*
 * Applies a reload slice parsed into next (conf_load_buffer of the rebuilt
 * text): only what differs from the running configuration.  Unchanged trap
 * hosts keep their queues, unchanged triggers their intercepts; run-time
 * changes made through pmirrorctl are not the file's and stay.  0 with what
 * changed in summary (counts and directive names, never an identity,
 * analyzer, mirror ID or passphrase; the monitor logs it), or -1 with err:
 * nothing was changed.  Called on the agent's main loop thread; next is
 * taken on success (it becomes the running configuration) and left to the
 * caller (conf_free) on failure.
 */
int agent_reload_apply(struct pm_conf *next, char *summary, size_t slen, char *err, size_t errlen);

#endif
