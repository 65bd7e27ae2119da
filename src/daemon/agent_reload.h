/*
 * agent_reload.h - the agent's side of a reload (docs/reload.md).
 */
#ifndef PMIRRORD_AGENT_RELOAD_H
#define PMIRRORD_AGENT_RELOAD_H

#include <stddef.h>

struct pm_conf;

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
