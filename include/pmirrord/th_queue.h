/*
 * th_queue.h - the JUNOSe per-trap-host notification queue, as a data
 * structure that knows nothing about SNMP.
 *
 * Semantics from Juniper-SNMP-MIB juniSnmpTrapHostTable (docs/mirror-mib.md):
 *   QueueSize       32..2147483647, default 32
 *   QueueFull       dropLastIn(0): a full queue discards the new item and
 *                   keeps the oldest (default); dropFirstIn(1): it discards
 *                   the oldest queued item and enqueues the new one
 *   QueueDrainRate  notifications per second, 0 = unlimited (default)
 *   QueueFullDiscards  counted here; Sends, BadEncodingDiscards and
 *                   NoResponseDiscards belong to the sender (traphost.c),
 *                   which alone knows how a send ended.
 *
 * The drain rate is a token bucket: one token per 1/rate seconds, at most
 * `burst` tokens saved up while idle (burst 1 = strict pacing, so at most
 * `rate` items leave in any one-second window).  Time is the caller's
 * CLOCK_MONOTONIC in nanoseconds, passed in, so tests can use a fake clock.
 * Arm the sender's timer at thq_next_due_ns(): a bucket that is already full
 * earns nothing, so time by which a pop comes late is not made up later.
 *
 * Items are opaque pointers.  Ownership: thq_push() always takes the item;
 * it is either queued or handed to the release callback before thq_push()
 * returns.  thq_pop() gives the item back to the caller.  Items still queued
 * at thq_flush() or thq_free(), and items discarded when the capacity is
 * lowered, go to the release callback.  (A reference-counted event lets one
 * copy sit in several hosts' queues.)
 *
 * Create, set, use: thq_new() gives the JUNOSe defaults; the setters may be
 * called again at any time (an SNMP SET or a config reload).
 *
 * Not thread-safe: used only on the agent thread.
 */
#ifndef PMIRRORD_TH_QUEUE_H
#define PMIRRORD_TH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define THQ_DEFAULT_CAPACITY 32u
#define THQ_MIN_CAPACITY     32u
#define THQ_MAX_CAPACITY     2147483647u
/* Upper bound on burst; keeps the bucket arithmetic inside int64_t. */
#define THQ_MAX_BURST 1000000u

/* juniSnmpTrapHostQueueFull values. */
enum thq_full {
    THQ_DROP_LAST_IN = 0,
    THQ_DROP_FIRST_IN = 1,
};

/* What thq_push() did. */
enum thq_push_result {
    THQ_NOMEM = -1,        /* ring could not grow: new item released */
    THQ_QUEUED = 0,        /* queued, nothing discarded */
    THQ_DISCARDED_NEW = 1, /* full, dropLastIn: the new item was released */
    THQ_DISCARDED_OLD = 2, /* full, dropFirstIn: the oldest was released, new one queued */
};

typedef void (*thq_release_fn)(void *item, void *arg);

struct thq_stats {
    uint64_t enqueued;            /* items that entered the queue */
    uint64_t dequeued;            /* items handed to the sender by thq_pop() */
    uint64_t queue_full_discards; /* juniSnmpTrapHostQueueFullDiscards */
    uint64_t nomem_discards;      /* new items released because the ring could not grow */
    uint64_t flushed;             /* items released by thq_flush() */
    size_t high_water;            /* most items ever queued at once */
};

struct thq;

/* JUNOSe defaults: capacity 32, dropLastIn, unlimited.  release may be NULL. */
struct thq *thq_new(thq_release_fn release, void *arg);
/* Releases every queued item. */
void thq_free(struct thq *q);

/* 32..2147483647.  Lowering it below the queued count discards the excess
 * as a full queue would (dropLastIn: newest, dropFirstIn: oldest). */
int thq_set_capacity(struct thq *q, uint32_t capacity, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int thq_set_full_method(struct thq *q, enum thq_full method, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* per_sec 0 = unlimited; burst 1..THQ_MAX_BURST (ignored when unlimited).
 * Resets the bucket to full. */
int thq_set_drain_rate(struct thq *q, uint32_t per_sec, uint32_t burst, char *err, size_t errlen)
    __attribute__((warn_unused_result));

uint32_t thq_capacity(const struct thq *q);
enum thq_full thq_full_method(const struct thq *q);
uint32_t thq_drain_rate(const struct thq *q);
size_t thq_count(const struct thq *q);

/* Takes ownership of item (see above).  Returns an enum thq_push_result. */
int thq_push(struct thq *q, void *item);
/* Oldest item, still owned by the queue; NULL when empty. */
void *thq_peek(const struct thq *q);
/* Removes the oldest item and gives it to the caller; NULL when empty.
 * Spends one drain-rate token (call thq_ready() first to respect the rate). */
void *thq_pop(struct thq *q);

/* How many items may be popped now (all of them when the rate is 0). */
size_t thq_ready(struct thq *q, int64_t now_ns);
/* When the next item may be popped: now_ns if one is ready, a later
 * CLOCK_MONOTONIC time if the rate holds it back, -1 if the queue is empty. */
int64_t thq_next_due_ns(struct thq *q, int64_t now_ns);

/* Releases every queued item; returns how many. */
size_t thq_flush(struct thq *q);
void thq_get_stats(const struct thq *q, struct thq_stats *st);

#endif
