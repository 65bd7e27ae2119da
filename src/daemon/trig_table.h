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

#endif
