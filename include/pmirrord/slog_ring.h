/*
 * slog_ring.h - the volatile secure log ring ("show snmp secure-log",
 * "show mirror log").
 *
 * A ring of fixed capacity (chosen at start-up) holding short text entries
 * that may name mirrored subscribers, triggers, analyzers and mirror IDs.
 * Those entries live only here:
 *   - all slots sit in one anonymous mapping that is mlock()ed (never
 *     swapped), marked MADV_DONTDUMP (left out of core dumps) and, where the
 *     kernel has it, MADV_WIPEONFORK (a forked child sees zeroes);
 *   - a full ring overwrites its oldest entry and counts the eviction; the
 *     evicted slot is zeroised (OPENSSL_cleanse) before it is reused;
 *   - slog_ring_clear() and slog_ring_free() zeroise every slot.  The daemon
 *     must call slog_ring_free() on its exit path;
 *   - nothing in this module writes an entry anywhere (no file, no log, no
 *     stderr).  Never pass entry text to log.h.
 * Call pm_harden_process() (securemem.h) at start-up as well.
 *
 * Entries are truncated to entry_max - 1 bytes, never in the middle of a
 * UTF-8 sequence.  Each entry carries a CLOCK_REALTIME timestamp and a
 * sequence number that increases by one per append for the life of the ring
 * (slog_ring_clear() does not reset it).
 *
 * All functions are thread-safe (one mutex per ring).
 */
#ifndef PMIRRORD_SLOG_RING_H
#define PMIRRORD_SLOG_RING_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pmirrord/log.h" /* PM_PRINTF */

#define SLOG_RING_DEFAULT_CAPACITY  100
#define SLOG_RING_DEFAULT_ENTRY_MAX 256 /* bytes, including the NUL */
#define SLOG_RING_MAX_CAPACITY      65536
#define SLOG_RING_MAX_ENTRY         65536

struct slog_ring;

/*
 * capacity: 1..SLOG_RING_MAX_CAPACITY entries; entry_max: 2..SLOG_RING_MAX_ENTRY
 * bytes including the terminating NUL.  Returns NULL and fills err when the
 * arguments are out of range or the memory cannot be mapped, locked or
 * excluded from core dumps.  If mlock() fails with ENOMEM and the soft
 * RLIMIT_MEMLOCK is below the hard one, the soft limit is raised (at most to
 * the hard limit) and mlock() retried once.
 */
struct slog_ring *slog_ring_new(size_t capacity, size_t entry_max, char *err, size_t errlen);
/* Zeroise, unlock and unmap.  NULL is accepted. */
void slog_ring_free(struct slog_ring *r);

void slog_ring_append(struct slog_ring *r, const char *text);
/* Formats directly into the slot: no heap, no intermediate buffer. */
void slog_ring_appendf(struct slog_ring *r, const char *fmt, ...) PM_PRINTF(2, 3);

size_t slog_ring_count(const struct slog_ring *r);
size_t slog_ring_capacity(const struct slog_ring *r);
size_t slog_ring_entry_max(const struct slog_ring *r);
/* Entries evicted by overwrite since creation or the last clear. */
uint64_t slog_ring_overflows(const struct slog_ring *r);

/* Zeroise all slots; count and overflow counter go back to 0. */
void slog_ring_clear(struct slog_ring *r);

/*
 * Visit the entries oldest first; stops early when fn returns non-zero.
 * fn runs with the ring's lock held: it must not call any slog_ring_*
 * function on the same ring (deadlock), and text/ts point into locked memory
 * that is only valid during the call.  Copy what you need into a buffer you
 * will zeroise yourself; never into the ordinary log.
 */
typedef int (*slog_visit_fn)(uint64_t seq, const struct timespec *ts, const char *text, void *arg);
void slog_ring_foreach(struct slog_ring *r, slog_visit_fn fn, void *arg);

#endif
