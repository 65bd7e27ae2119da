/*
 * icpt_table.h - the agent's table of RADIUS-provisioned intercepts
 * (intercept.h): kept from the capture process's INTERCEPT UP and DOWN
 * records and handed back to a new capture process as RESTORE records
 * (docs/ipc-protocol.md, docs/sessions.md "Restart").
 *
 * Compact: each entry is held as its encoded INTERCEPT record (only the
 * identities present), behind a key made of its mirror ID and identities.
 * Bounded by a number of entries and a number of bytes, both inside the
 * agent's locked-memory figure (docs/memory-locking.md); an UP beyond either
 * is dropped and counted.  Entries are wiped when removed.  One mutex: any
 * thread may call any function.
 */
#ifndef PMIRRORD_ICPT_TABLE_H
#define PMIRRORD_ICPT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/intercept.h"

#define ICPT_TABLE_MAX      4096u      /* intercepts kept */
#define ICPT_TABLE_BYTES    (2u << 20) /* bytes of entries (keys and records) */
#define ICPT_ENTRY_OVERHEAD 64u        /* per entry beyond its bytes: header, malloc, pointer */

struct icpt_counts {
    uint64_t ups;      /* UP records applied (added or replaced) */
    uint64_t replaced; /* ... of them for an intercept already held */
    uint64_t downs;    /* DOWN records that removed one */
    uint64_t unknown;  /* DOWN records for one not held */
    uint64_t drops;    /* UP records refused: the table is full (or out of memory) */
    size_t n;          /* entries now */
    size_t bytes;      /* their bytes now */
};

struct icpt_table;

/* max entries, max_bytes of entries (0: the defaults above).  NULL when out of memory. */
struct icpt_table *icpt_table_new(size_t max, size_t max_bytes);
/* Wipes every entry and frees.  NULL is fine. */
void icpt_table_free(struct icpt_table *t);

/* An intercept began: added, or replaces the one with the same key.  0 added,
 * 1 replaced, -1 dropped (full, out of memory, or it does not encode). */
int icpt_table_up(struct icpt_table *t, const struct pm_intercept *ic);
/* It ended: 0 removed, -1 not held. */
int icpt_table_down(struct icpt_table *t, const struct pm_intercept *ic);

void icpt_table_counts(const struct icpt_table *t, struct icpt_counts *out);

/*
 * Entries in the order they were added (a replacement keeps its place):
 * copies the first entry whose sequence number is greater than after into
 * *ic and returns its sequence number (> 0), or 0 when there is none.  A
 * caller walks the table with after = 0, then the number returned, without
 * holding anything between calls; entries added meanwhile come at the end.
 */
uint64_t icpt_table_next(struct icpt_table *t, uint64_t after, struct pm_intercept *ic);
/* The sequence number of the newest entry (0: none): what a restore to a new
 * capture process stops at, since whatever comes later is that process's own. */
uint64_t icpt_table_last_seq(struct icpt_table *t);

#endif
