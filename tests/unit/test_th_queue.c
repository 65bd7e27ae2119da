/*
 * test_th_queue.c - the JUNOSe per-host queue (src/event/th_queue.c):
 * dropLastIn / dropFirstIn, counters, item ownership, capacity limits and
 * the drain-rate token bucket on a fake clock.
 */
#include "pmirrord/th_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define NS     1000000000LL
#define NITEMS 4096

/* Items are slots of this array; release marks them. */
static int items[NITEMS];
static int released[NITEMS];
static size_t nreleased;

static void release(void *item, void *arg)
{
    int *p = item;

    CHECK(arg == (void *)items);
    CHECK(released[p - items] == 0); /* released at most once */
    released[p - items] = 1;
    nreleased++;
}

static void reset_items(void)
{
    for (int i = 0; i < NITEMS; i++)
        items[i] = i;
    memset(released, 0, sizeof(released));
    nreleased = 0;
}

static struct thq *new_q(uint32_t cap, enum thq_full m)
{
    char err[256] = "";
    struct thq *q = thq_new(release, items);

    CHECK(q != NULL);
    CHECK(thq_capacity(q) == THQ_DEFAULT_CAPACITY);
    CHECK(thq_full_method(q) == THQ_DROP_LAST_IN);
    CHECK(thq_drain_rate(q) == 0);
    CHECK(thq_set_capacity(q, cap, err, sizeof(err)) == 0);
    CHECK(thq_set_full_method(q, m, err, sizeof(err)) == 0);
    return q;
}

static int idx(void *item)
{
    return (int)((int *)item - items);
}

static void test_limits(void)
{
    char err[256] = "";
    struct thq *q = thq_new(NULL, NULL);

    CHECK(q != NULL);
    CHECK(thq_set_capacity(q, 31, err, sizeof(err)) == -1);
    CHECK(strstr(err, "32") != NULL);
    CHECK(thq_set_capacity(q, 0, err, sizeof(err)) == -1);
    CHECK(thq_set_capacity(q, 2147483648u, err, sizeof(err)) == -1);
    CHECK(thq_capacity(q) == 32);
    CHECK(thq_set_capacity(q, 32, err, sizeof(err)) == 0);
    CHECK(thq_set_capacity(q, 2147483647u, err, sizeof(err)) == 0); /* allocated lazily */
    CHECK(thq_set_full_method(q, (enum thq_full)2, err, sizeof(err)) == -1);
    CHECK(thq_set_drain_rate(q, 10, 0, err, sizeof(err)) == -1);
    CHECK(thq_set_drain_rate(q, 10, THQ_MAX_BURST + 1, err, sizeof(err)) == -1);
    CHECK(thq_set_drain_rate(q, 0, 0, err, sizeof(err)) == 0);
    CHECK(thq_peek(q) == NULL && thq_pop(q) == NULL);
    CHECK(thq_next_due_ns(q, 5) == -1);
    thq_free(q);
}

static void test_drop_last_in(void)
{
    struct thq *q;
    struct thq_stats st;

    reset_items();
    q = new_q(32, THQ_DROP_LAST_IN);
    for (int i = 0; i < 32; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    for (int i = 32; i < 50; i++)
        CHECK(thq_push(q, &items[i]) == THQ_DISCARDED_NEW);
    CHECK(thq_count(q) == 32);
    /* The newcomers were released, the oldest 32 kept. */
    for (int i = 0; i < 50; i++)
        CHECK(released[i] == (i >= 32));
    thq_get_stats(q, &st);
    CHECK(st.enqueued == 32);
    CHECK(st.queue_full_discards == 18);
    CHECK(st.queue_full_discards == nreleased);
    CHECK(st.high_water == 32);
    CHECK(idx(thq_peek(q)) == 0);
    for (int i = 0; i < 32; i++) {
        void *it = thq_pop(q);

        CHECK(idx(it) == i);
        CHECK(!released[i]); /* pop hands the item over, not to release */
    }
    CHECK(thq_pop(q) == NULL);
    thq_get_stats(q, &st);
    CHECK(st.dequeued == 32);
    thq_free(q);
    CHECK(nreleased == 18);
}

static void test_drop_first_in(void)
{
    struct thq *q;
    struct thq_stats st;

    reset_items();
    q = new_q(32, THQ_DROP_FIRST_IN);
    for (int i = 0; i < 32; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    for (int i = 32; i < 50; i++)
        CHECK(thq_push(q, &items[i]) == THQ_DISCARDED_OLD);
    CHECK(thq_count(q) == 32);
    /* The oldest 18 were released, the newest 32 kept. */
    for (int i = 0; i < 50; i++)
        CHECK(released[i] == (i < 18));
    thq_get_stats(q, &st);
    CHECK(st.enqueued == 50);
    CHECK(st.queue_full_discards == 18);
    CHECK(st.queue_full_discards == nreleased);
    for (int i = 18; i < 50; i++)
        CHECK(idx(thq_pop(q)) == i);
    CHECK(thq_count(q) == 0);
    thq_free(q);
}

static void test_growth_and_shrink(void)
{
    char err[256];
    struct thq *q;
    struct thq_stats st;

    /* Ring grows past its first allocation, across a wrapped head. */
    reset_items();
    q = new_q(1000, THQ_DROP_LAST_IN);
    for (int i = 0; i < 20; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    for (int i = 0; i < 10; i++)
        CHECK(idx(thq_pop(q)) == i);
    for (int i = 20; i < 1010; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    CHECK(thq_count(q) == 1000);
    CHECK(thq_push(q, &items[1010]) == THQ_DISCARDED_NEW);
    for (int i = 10; i < 500; i++)
        CHECK(idx(thq_pop(q)) == i);

    /* Lowering the capacity discards as a full queue would. */
    CHECK(thq_set_capacity(q, 100, err, sizeof(err)) == 0); /* dropLastIn: newest go */
    CHECK(thq_count(q) == 100);
    CHECK(idx(thq_peek(q)) == 500);
    CHECK(released[1009] && released[600] && !released[599]);
    CHECK(thq_set_full_method(q, THQ_DROP_FIRST_IN, err, sizeof(err)) == 0);
    CHECK(thq_set_capacity(q, 40, err, sizeof(err)) == 0); /* dropFirstIn: oldest go */
    CHECK(thq_count(q) == 40);
    CHECK(idx(thq_peek(q)) == 560);
    thq_get_stats(q, &st);
    CHECK(st.queue_full_discards == nreleased);
    CHECK(st.high_water == 1000);
    CHECK(thq_flush(q) == 40);
    CHECK(thq_count(q) == 0);
    thq_get_stats(q, &st);
    CHECK(st.flushed == 40);
    CHECK(st.queue_full_discards + st.flushed == nreleased);
    thq_free(q);
}

/* Fills q so it never runs dry during a rate test. */
static void top_up(struct thq *q, int *next)
{
    while (thq_count(q) < 32)
        CHECK(thq_push(q, &items[(*next)++ % NITEMS]) == THQ_QUEUED);
}

/* Steps a fake clock by step_ns for secs seconds, popping whatever is ready;
 * returns the number popped in each whole second in per_sec[]. */
static void run_clock(struct thq *q, int64_t t0, int64_t step_ns, int secs, int *per_sec)
{
    int next = 0;

    memset(per_sec, 0, sizeof(int) * (size_t)secs);
    for (int64_t t = t0; t < t0 + secs * NS; t += step_ns) {
        size_t r;

        top_up(q, &next);
        r = thq_ready(q, t);
        for (size_t i = 0; i < r; i++)
            CHECK(thq_pop(q) != NULL);
        per_sec[(t - t0) / NS] += (int)r;
    }
}

static void test_drain_rate(void)
{
    char err[256];
    struct thq *q;
    int per_sec[10];

    /* 10/s, burst 1: exactly 10 leave in every second, 100 ms apart. */
    reset_items();
    q = new_q(32, THQ_DROP_LAST_IN);
    CHECK(thq_set_drain_rate(q, 10, 1, err, sizeof(err)) == 0);
    CHECK(thq_drain_rate(q) == 10);
    run_clock(q, 5 * NS, NS / 1000, 10, per_sec);
    for (int s = 0; s < 10; s++) {
        if (per_sec[s] != 10)
            fprintf(stderr, "second %d: %d ready\n", s, per_sec[s]);
        CHECK(per_sec[s] == 10);
    }
    thq_free(q);

    /* Rates that do not divide 1e9, with the clock driven by next_due as the
     * agent's timer would be: exactly rate * 10 leave in 10 s. */
    for (uint32_t rate = 3; rate <= 7; rate += 4) {
        int next = 0, n = 0;
        int64_t t = 0;

        reset_items();
        q = new_q(32, THQ_DROP_LAST_IN);
        CHECK(thq_set_drain_rate(q, rate, 1, err, sizeof(err)) == 0);
        for (;;) {
            top_up(q, &next);
            t = thq_next_due_ns(q, t);
            if (t >= 10 * NS)
                break;
            CHECK(thq_ready(q, t) == 1);
            CHECK(thq_pop(q) != NULL);
            CHECK(thq_ready(q, t) == 0);
            n++;
        }
        if (n != (int)rate * 10)
            fprintf(stderr, "rate %u: %d in 10 s\n", rate, n);
        CHECK(n == (int)rate * 10);
        thq_free(q);
    }

    /* next_due says exactly when the next one may go. */
    reset_items();
    q = new_q(32, THQ_DROP_LAST_IN);
    CHECK(thq_set_drain_rate(q, 10, 1, err, sizeof(err)) == 0);
    CHECK(thq_next_due_ns(q, 1000) == -1); /* empty */
    CHECK(thq_push(q, &items[0]) == THQ_QUEUED);
    CHECK(thq_push(q, &items[1]) == THQ_QUEUED);
    CHECK(thq_next_due_ns(q, 1000) == 1000);
    CHECK(thq_ready(q, 1000) == 1);
    CHECK(thq_pop(q) != NULL);
    CHECK(thq_ready(q, 1000) == 0);
    CHECK(thq_next_due_ns(q, 1000) == 1000 + NS / 10);
    CHECK(thq_ready(q, 1000 + NS / 10 - 1) == 0);
    CHECK(thq_ready(q, 1000 + NS / 10) == 1);
    thq_free(q);

    /* burst 5: after idling, five go at once, then the rate holds. */
    reset_items();
    q = new_q(32, THQ_DROP_LAST_IN);
    CHECK(thq_set_drain_rate(q, 10, 5, err, sizeof(err)) == 0);
    CHECK(thq_ready(q, 0) == 0); /* empty; starts the clock */
    for (int i = 0; i < 20; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    CHECK(thq_ready(q, 60 * NS) == 5);
    for (int i = 0; i < 5; i++)
        CHECK(thq_pop(q) != NULL);
    CHECK(thq_ready(q, 60 * NS) == 0);
    CHECK(thq_ready(q, 60 * NS + NS / 10) == 1);
    thq_free(q);

    /* High rates: the bucket still holds at most burst tokens, and a long
     * idle time does not overflow the arithmetic. */
    reset_items();
    q = new_q(32, THQ_DROP_LAST_IN);
    CHECK(thq_set_drain_rate(q, 1000000000u, 1, err, sizeof(err)) == 0);
    for (int i = 0; i < 10; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    CHECK(thq_ready(q, 0) == 1);
    CHECK(thq_pop(q) != NULL);
    CHECK(thq_ready(q, 0) == 0);
    CHECK(thq_next_due_ns(q, 0) == 1);
    CHECK(thq_ready(q, 3) == 1);
    CHECK(thq_set_drain_rate(q, 4294967295u, THQ_MAX_BURST, err, sizeof(err)) == 0);
    CHECK(thq_ready(q, 0) == 9);
    CHECK(thq_pop(q) != NULL);
    CHECK(thq_ready(q, INT64_MAX / 2) == 8);
    CHECK(thq_flush(q) == 8);
    reset_items();
    for (int i = 0; i < 32; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    CHECK(thq_ready(q, INT64_MAX - 1) == 32);
    thq_free(q);

    /* 0 = unlimited: everything is ready at once, due now. */
    reset_items();
    q = new_q(64, THQ_DROP_LAST_IN);
    CHECK(thq_set_drain_rate(q, 10, 1, err, sizeof(err)) == 0);
    CHECK(thq_set_drain_rate(q, 0, 0, err, sizeof(err)) == 0);
    for (int i = 0; i < 64; i++)
        CHECK(thq_push(q, &items[i]) == THQ_QUEUED);
    CHECK(thq_ready(q, 0) == 64);
    CHECK(thq_next_due_ns(q, 77) == 77);
    for (int i = 0; i < 64; i++)
        CHECK(thq_pop(q) != NULL);
    CHECK(thq_ready(q, 0) == 0);
    thq_free(q);
}

int main(void)
{
    test_limits();
    test_drop_last_in();
    test_drop_first_in();
    test_growth_and_shrink();
    test_drain_rate();
    printf("test_th_queue: ok\n");
    return 0;
}
