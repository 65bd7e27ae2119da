/*
 * th_queue.c - JUNOSe per-trap-host queue: bounded FIFO of opaque items,
 * the two queue-full methods, and a token-bucket drain-rate limiter
 * (semantics in th_queue.h; the MIB facts in docs/mirror-mib.md).
 *
 * The ring of pointers grows on demand (doubling, up to the capacity), since
 * the MIB allows a capacity of 2^31 - 1 that nobody wants allocated upfront.
 *
 * Bucket arithmetic is in integers: one token is NS_PER_S "credit units",
 * and every elapsed nanosecond adds `rate` units.  So a token takes exactly
 * 1e9 / rate ns, with no rounding drift for rates that do not divide 1e9.
 */
#include "pmirrord/th_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS_PER_S   1000000000LL
#define THQ_ALLOC0 32u

struct thq {
    void **ring;
    size_t alloc; /* slots in ring (may exceed cap after the capacity is lowered) */
    size_t head;  /* index of the oldest item */
    size_t count;
    uint32_t cap;
    enum thq_full method;
    thq_release_fn release;
    void *release_arg;

    /* Drain rate (token bucket); rate 0 = unlimited. */
    uint32_t rate;
    uint32_t burst;
    int64_t credit;  /* in units of 1/NS_PER_S token; may go negative (debt) */
    int64_t last_ns; /* time of the last refill (the bucket starts full, so the
                      * first refill's dt does not matter) */

    struct thq_stats st;
};

static void release_item(struct thq *q, void *item)
{
    if (q->release != NULL)
        q->release(item, q->release_arg);
}

struct thq *thq_new(thq_release_fn release, void *arg)
{
    struct thq *q = calloc(1, sizeof(*q));

    if (q == NULL)
        return NULL;
    q->alloc = THQ_ALLOC0;
    q->ring = calloc(q->alloc, sizeof(*q->ring));
    if (q->ring == NULL) {
        free(q);
        return NULL;
    }
    q->cap = THQ_DEFAULT_CAPACITY;
    q->method = THQ_DROP_LAST_IN;
    q->release = release;
    q->release_arg = arg;
    q->burst = 1;
    return q;
}

void thq_free(struct thq *q)
{
    if (q == NULL)
        return;
    while (q->count > 0)
        release_item(q, thq_pop(q));
    free(q->ring);
    free(q);
}

/* Removes and returns the newest item (the tail). */
static void *take_newest(struct thq *q)
{
    size_t i = (q->head + q->count - 1) % q->alloc;
    void *item = q->ring[i];

    q->ring[i] = NULL;
    q->count--;
    return item;
}

/* Removes and returns the oldest item (the head), without any accounting. */
static void *take_oldest(struct thq *q)
{
    void *item = q->ring[q->head];

    q->ring[q->head] = NULL;
    q->head = (q->head + 1) % q->alloc;
    q->count--;
    return item;
}

int thq_set_capacity(struct thq *q, uint32_t capacity, char *err, size_t errlen)
{
    if (capacity < THQ_MIN_CAPACITY || capacity > THQ_MAX_CAPACITY) {
        snprintf(err, errlen, "trap host queue size %u is outside %u..%u", capacity,
                 THQ_MIN_CAPACITY, THQ_MAX_CAPACITY);
        return -1;
    }
    q->cap = capacity;
    while (q->count > q->cap) {
        void *item = q->method == THQ_DROP_LAST_IN ? take_newest(q) : take_oldest(q);

        q->st.queue_full_discards++;
        release_item(q, item);
    }
    return 0;
}

int thq_set_full_method(struct thq *q, enum thq_full method, char *err, size_t errlen)
{
    if (method != THQ_DROP_LAST_IN && method != THQ_DROP_FIRST_IN) {
        snprintf(err, errlen,
                 "trap host queue-full method %d is neither dropLastIn(0) nor "
                 "dropFirstIn(1)",
                 (int)method);
        return -1;
    }
    q->method = method;
    return 0;
}

int thq_set_drain_rate(struct thq *q, uint32_t per_sec, uint32_t burst, char *err, size_t errlen)
{
    if (per_sec != 0 && (burst < 1 || burst > THQ_MAX_BURST)) {
        snprintf(err, errlen, "trap host drain burst %u is outside 1..%u", burst, THQ_MAX_BURST);
        return -1;
    }
    q->rate = per_sec;
    q->burst = per_sec != 0 ? burst : 1;
    q->credit = (int64_t)q->burst * NS_PER_S;
    return 0;
}

uint32_t thq_capacity(const struct thq *q)
{
    return q->cap;
}

enum thq_full thq_full_method(const struct thq *q)
{
    return q->method;
}

uint32_t thq_drain_rate(const struct thq *q)
{
    return q->rate;
}

size_t thq_count(const struct thq *q)
{
    return q->count;
}

/* Makes room for one more item in the ring; -1 if it cannot grow. */
static int ring_reserve(struct thq *q)
{
    size_t nalloc;
    void **nring;

    if (q->count < q->alloc)
        return 0;
    nalloc = q->alloc * 2;
    if (nalloc > q->cap)
        nalloc = q->cap;
    if (nalloc <= q->alloc)
        return -1; /* cannot happen: count < cap here */
    nring = calloc(nalloc, sizeof(*nring));
    if (nring == NULL)
        return -1;
    for (size_t i = 0; i < q->count; i++)
        nring[i] = q->ring[(q->head + i) % q->alloc];
    free(q->ring);
    q->ring = nring;
    q->alloc = nalloc;
    q->head = 0;
    return 0;
}

static void append(struct thq *q, void *item)
{
    q->ring[(q->head + q->count) % q->alloc] = item;
    q->count++;
    q->st.enqueued++;
    if (q->count > q->st.high_water)
        q->st.high_water = q->count;
}

int thq_push(struct thq *q, void *item)
{
    if (q->count >= q->cap) {
        q->st.queue_full_discards++;
        if (q->method == THQ_DROP_LAST_IN) {
            release_item(q, item);
            return THQ_DISCARDED_NEW;
        }
        release_item(q, take_oldest(q));
        append(q, item);
        return THQ_DISCARDED_OLD;
    }
    if (ring_reserve(q) < 0) {
        q->st.nomem_discards++;
        release_item(q, item);
        return THQ_NOMEM;
    }
    append(q, item);
    return THQ_QUEUED;
}

void *thq_peek(const struct thq *q)
{
    return q->count > 0 ? q->ring[q->head] : NULL;
}

void *thq_pop(struct thq *q)
{
    if (q->count == 0)
        return NULL;
    if (q->rate != 0) {
        /* A pop without a token (caller ignored thq_ready) runs into debt,
         * which later refills pay back; bounded so it cannot overflow. */
        if (q->credit > INT64_MIN / 2)
            q->credit -= NS_PER_S;
    }
    q->st.dequeued++;
    return take_oldest(q);
}

/* Adds the credit earned since the last refill, up to burst tokens. */
static void refill(struct thq *q, int64_t now_ns)
{
    int64_t full = (int64_t)q->burst * NS_PER_S;
    int64_t dt;

    dt = now_ns - q->last_ns;
    if (dt <= 0)
        return; /* the clock did not move (or the caller's went back) */
    q->last_ns = now_ns;
    if (q->credit >= full)
        return;
    /*
     * Compare with the time that fills the bucket before multiplying, so
     * dt * rate cannot overflow; below that, dt * rate <= full - credit.
     */
    if (dt > (full - q->credit) / q->rate)
        q->credit = full;
    else
        q->credit += dt * q->rate;
}

size_t thq_ready(struct thq *q, int64_t now_ns)
{
    size_t tokens;

    if (q->rate == 0)
        return q->count;
    refill(q, now_ns);
    if (q->credit < NS_PER_S)
        return 0;
    tokens = (size_t)(q->credit / NS_PER_S);
    return tokens < q->count ? tokens : q->count;
}

int64_t thq_next_due_ns(struct thq *q, int64_t now_ns)
{
    int64_t need;

    if (q->count == 0)
        return -1;
    if (q->rate == 0)
        return now_ns;
    refill(q, now_ns);
    if (q->credit >= NS_PER_S)
        return now_ns;
    need = NS_PER_S - q->credit;
    /* Round up, so that thq_ready() at that time sees a whole token. */
    return now_ns + (need + q->rate - 1) / q->rate;
}

size_t thq_flush(struct thq *q)
{
    size_t n = q->count;

    while (q->count > 0)
        release_item(q, take_oldest(q));
    q->st.flushed += n;
    return n;
}

void thq_get_stats(const struct thq *q, struct thq_stats *st)
{
    *st = q->st;
}
