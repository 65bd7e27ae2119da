/*
 * trig_table.h - the agent's trigger table: the `mirror` rules of the
 * configuration and of `pmirrorctl mirror ...`, each with where it came from,
 * bounded by maxTriggers.  The agent pushes it whole to the capture process
 * (TRIGGER_SET, docs/ipc-protocol.md) at every start of a capture process and
 * after every change.  Daemon-private.  One mutex: the control thread changes
 * it, the agent thread reads it.  Entries are wiped when removed.
 */
#ifndef PMIRRORD_DAEMON_TRIG_TABLE_H
#define PMIRRORD_DAEMON_TRIG_TABLE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "pmirrord/conf.h"
#include "pmirrord/ipc.h"
#include "pmirrord/trigger.h"

#define TRIG_WHERE_CTL "pmirrorctl"

struct trig_entry {
    struct pm_trigger rule;
    char where[PM_PATH_MAX + 16]; /* "file:line", or "pmirrorctl" */
};

struct trig_table {
    pthread_mutex_t mu;
    struct trig_entry *v; /* max entries, allocated once */
    size_t n, max;
    uint64_t changes; /* adds and removals since the start */
    size_t cap;       /* entries allocated at the start (maxTriggers then): max <= cap */
};

enum { TRIG_ADD_OK = 0, TRIG_ADD_DUP = -1, TRIG_ADD_FULL = -2 };

/* The configuration's rules (c->triggers, within c->max_triggers).  0, or -1 with err. */
int trig_table_init(struct trig_table *t, const struct pm_conf *c, char *err, size_t errlen)
    __attribute__((warn_unused_result));
void trig_table_free(struct trig_table *t);

/* TRIG_ADD_OK; TRIG_ADD_DUP (trig_same() with an entry: its where copied into
 * dup_where); TRIG_ADD_FULL (maxTriggers reached). */
int trig_table_add(struct trig_table *t, const struct pm_trigger *r, const char *where,
                   char *dup_where, size_t dup_len);
/* Removes every entry d matches; returns how many. */
size_t trig_table_del(struct trig_table *t, const struct pm_trigger_del *d);

/* A copy of the entries (calloc'd, the caller wipes and frees it; NULL with
 * *n = 0 when empty or out of memory: *n tells which). */
struct trig_entry *trig_table_copy(struct trig_table *t, size_t *n, size_t *max);
/* The entries as TRIGGER_SET entries (config source cliStatic(3) for an
 * interface rule, cliTrigger(2) for the others), calloc'd as above. */
struct ipc_trigger *trig_table_ipc(struct trig_table *t, size_t *n);

/*
 * Reload (docs/reload.md): the entries of the file `file` (where "FILE:LINE")
 * become v[0..n-1] (in file order), other entries (pmirrorctl) stay, and the
 * limit becomes max.  A rule of v equal in every setting to a file entry
 * keeps its place (only its where changes); a file entry with no equal in v
 * goes; a rule of v with no equal entry is added at the end, unless a kept
 * pmirrorctl entry is the same rule (trig_same: it stays the operator's).
 * All or nothing: -1 with err (nothing changed) if max is above cap or the
 * table would hold more than max.  *changed: 1 if the rules (not only
 * their where) differ, so the table is pushed.
 */
struct trig_reload_counts {
    size_t added, removed, unchanged, kept_ctl;
};
/* note (may be NULL) is told of every entry added (1) or removed (0) once
 * the reload is certain, under the table's lock. */
typedef void (*trig_note_fn)(void *arg, int added, const struct trig_entry *e);
int trig_table_reload(struct trig_table *t, const char *file, const struct pm_conf_trigger *v,
                      size_t n, size_t max, struct trig_reload_counts *counts, int *changed,
                      trig_note_fn note, void *note_arg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Settings and rule the same (what the capture process compares). */
int trig_rule_equal(const struct pm_trigger *a, const struct pm_trigger *b);

#endif
