/*
 * agent_chan.h - the agent's configuration records from the monitor after
 * start-up: the running slice's lines kept, reload slices collected, resolved,
 * parsed and handed to agent_reload_apply() (docs/reload.md).  Agent thread
 * only.  Daemon-private.
 */
#ifndef PMIRRORD_AGENT_CHAN_H
#define PMIRRORD_AGENT_CHAN_H

#include <stddef.h>
#include <stdint.h>

struct conf_slice;
struct ipc_rec;

/* The start slice, kept as the running lines (taken; wiped at agent_chan_free). */
void agent_chan_keep(struct conf_slice *running);
/*
 * A CONFIG record on the loop.  Returns 1 when an answer is due: *state is
 * IPC_STATUS_RELOADED or IPC_STATUS_RELOAD_FAILED and text what to say;
 * 0 when more is expected (or the record was dropped, counted).
 */
int agent_chan_config(const struct ipc_rec *rec, uint8_t *state, char *text, size_t tlen);
/* Wipes and frees the running lines and a slice being collected. */
void agent_chan_free(void);

struct agent_chan_counts {
    uint64_t reloads, reload_failed, same_lines, stray;
};
void agent_chan_counts(struct agent_chan_counts *out);

#endif
