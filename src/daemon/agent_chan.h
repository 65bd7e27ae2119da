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
struct pm_conf;

/* ---- the start slice (before the agent runs) ---- */
/* A CONFIG record of the start slice. */
void agent_chan_start_rec(const struct ipc_rec *rec);
/* The start slice is refused (the first reason is kept). */
void agent_chan_start_bad(const char *why);
/* 0 while more is expected, 1 once END came, -1 refused (why). */
int agent_chan_start_state(char *why, size_t whylen);
/* Parses the complete start slice (conf_slice_load(): FILE:LINE errors) and
 * keeps its lines as the running lines.  0, or -1 with err (the slice wiped). */
int agent_chan_start_load(struct pm_conf *conf, char *err, size_t errlen);
/* Wipes and frees an unfinished start slice. */
void agent_chan_start_clear(void);

/* ---- after start-up ---- */
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
