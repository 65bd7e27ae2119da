/*
 * pm_evq.c - the bounded multi-producer queue between event producers
 * (capture threads) and the agent thread (pm_event.h).
 *
 * A mutex guards a ring of pm_event copies allocated once.  The eventfd is
 * the consumer's wake-up: it is written (counter 0 -> 1) when the queue goes
 * from empty to non-empty and read (counter -> 0) when a pop empties it.
 * Both happen under the mutex, so "eventfd readable" == "queue non-empty"
 * and the agent loop can hand the fd to Net-SNMP's register_readfd() or its
 * own poll() (level-triggered).  Producers never block: when the ring is
 * full the new event is dropped and counted (the oldest are kept; a later
 * per-host queue applies the configured JUNOSe discard policy).
 */
#include "pmirrord/pm_event.h"
#include "pmirrord/securemem.h"
#include "pmirrord/log.h"
#include "pm_evq_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* An upper bound so a typo in the configuration cannot ask for gigabytes. */
#define PM_EVQ_MAX_CAPACITY (1u << 20)

struct pm_evq {
    pthread_mutex_t mu;
    struct pm_event *ring; /* pm_secure_alloc(): locked, not in core dumps */
    size_t ring_len;
    size_t cap;
    size_t head;  /* index of the oldest event */
    size_t count; /* events queued */
    int efd;
    _Atomic uint64_t dropped;
};

static _Atomic(struct pm_evq *) pm_event_queue;
/*
 * The pointer alone is not enough: a producer that loaded it could still be
 * inside pm_evq_push() when the daemon frees the queue.  Producers hold the
 * read lock for one push (which never blocks); teardown takes the write lock,
 * so after pm_event_set_queue(NULL) returns no producer touches the queue.
 */
static pthread_rwlock_t pm_event_lock = PTHREAD_RWLOCK_INITIALIZER;
/* pm_event_set_sink(): written under the write lock, read under the read lock. */
static pm_event_sink_fn pm_event_sink;
static void *pm_event_sink_arg;

struct pm_evq *pm_evq_new(size_t capacity, char *err, size_t errlen)
{
    struct pm_evq *q;
    int rc;

    if (capacity == 0 || capacity > PM_EVQ_MAX_CAPACITY) {
        snprintf(err, errlen, "event queue capacity %zu is outside 1..%u", capacity,
                 PM_EVQ_MAX_CAPACITY);
        return NULL;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        snprintf(err, errlen, "event queue: out of memory");
        return NULL;
    }
    /* Queued events carry subscriber identities: locked, undumpable pages. */
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    q->ring_len = (capacity * sizeof(*q->ring) + page - 1) / page * page;
    q->ring = pm_secure_alloc(q->ring_len, "event queue", err, errlen);
    if (q->ring == NULL) {
        free(q);
        return NULL;
    }
    q->cap = capacity;
    atomic_init(&q->dropped, 0);
    q->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (q->efd < 0) {
        snprintf(err, errlen, "event queue: eventfd: %s", strerror(errno));
        pm_secure_free(q->ring, q->ring_len);
        free(q);
        return NULL;
    }
    rc = pthread_mutex_init(&q->mu, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "event queue: pthread_mutex_init: %s", strerror(rc));
        close(q->efd);
        pm_secure_free(q->ring, q->ring_len);
        free(q);
        return NULL;
    }
    return q;
}

void pm_evq_free(struct pm_evq *q)
{
    if (q == NULL)
        return;
    /* Do not leave the global pointing at freed memory. */
    struct pm_evq *expected = q;
    pthread_rwlock_wrlock(&pm_event_lock);
    atomic_compare_exchange_strong(&pm_event_queue, &expected, NULL);
    pthread_rwlock_unlock(&pm_event_lock);
    pthread_mutex_destroy(&q->mu);
    close(q->efd);
    /* Events may hold subscriber data: do not leave it in freed heap. */
    pm_secure_free(q->ring, q->ring_len); /* zeroised first */
    free(q);
}

int pm_evq_fd(const struct pm_evq *q)
{
    return q->efd;
}

int pm_evq_push(struct pm_evq *q, const struct pm_event *ev)
{
    int rc = 0;

    pthread_mutex_lock(&q->mu);
    if (q->count == q->cap) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        rc = -1;
    } else {
        q->ring[(q->head + q->count) % q->cap] = *ev;
        if (q->count++ == 0) {
            uint64_t one = 1;

            /*
             * The counter is 0 here (the pop that emptied the ring read it),
             * so this cannot block or overflow; any error is a broken fd.
             */
            if (write(q->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
                fatal("event", "event queue: eventfd write");
        }
    }
    pthread_mutex_unlock(&q->mu);
    return rc;
}

size_t pm_evq_pop(struct pm_evq *q, struct pm_event *out, size_t max)
{
    size_t n;

    pthread_mutex_lock(&q->mu);
    n = q->count < max ? q->count : max;
    for (size_t i = 0; i < n; i++) {
        struct pm_event *slot = &q->ring[(q->head + i) % q->cap];

        out[i] = *slot;
        explicit_bzero(slot, sizeof(*slot));
    }
    q->head = (q->head + n) % q->cap;
    q->count -= n;
    if (n > 0 && q->count == 0) {
        uint64_t v;

        /* Reset the counter so poll() stops reporting the fd readable. */
        if (read(q->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
            fatal("event", "event queue: eventfd read");
    }
    pthread_mutex_unlock(&q->mu);
    return n;
}

uint64_t pm_evq_dropped(const struct pm_evq *q)
{
    return atomic_load_explicit(&q->dropped, memory_order_relaxed);
}

void pm_event_set_queue(struct pm_evq *q)
{
    pthread_rwlock_wrlock(&pm_event_lock);
    atomic_store(&pm_event_queue, q);
    pthread_rwlock_unlock(&pm_event_lock);
}

void pm_event_set_sink(pm_event_sink_fn fn, void *arg)
{
    pthread_rwlock_wrlock(&pm_event_lock);
    pm_event_sink = fn;
    pm_event_sink_arg = arg;
    pthread_rwlock_unlock(&pm_event_lock);
}

int pm_event_raise(const struct pm_event *ev)
{
    int rc = -1;

    pthread_rwlock_rdlock(&pm_event_lock);
    struct pm_evq *q = atomic_load(&pm_event_queue);
    if (pm_event_sink != NULL)
        rc = pm_event_sink(ev, pm_event_sink_arg);
    else if (q != NULL)
        rc = pm_evq_push(q, ev);
    pthread_rwlock_unlock(&pm_event_lock);
    return rc;
}

const void *pm_evq_mem(const struct pm_evq *q, size_t *len)
{
    *len = q->ring_len;
    return q->ring;
}
