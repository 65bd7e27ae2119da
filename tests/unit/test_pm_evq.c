/*
 * test_pm_evq.c - the producer/agent event queue (src/event/pm_evq.c):
 * capacity, drop counting, eventfd readability, FIFO order, many producers,
 * pm_event_raise(), and that a popped slot keeps nothing of its event.
 */
#include "pmirrord/pm_event.h"

#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "event/pm_evq_priv.h"

static int readable(int fd, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);

    CHECK(n >= 0);
    return n == 1 && (p.revents & POLLIN);
}

static struct pm_evq *new_q(size_t cap)
{
    char err[256] = "";
    struct pm_evq *q = pm_evq_new(cap, err, sizeof(err));

    if (q == NULL)
        fprintf(stderr, "pm_evq_new(%zu): %s\n", cap, err);
    CHECK(q != NULL);
    return q;
}

static struct pm_event ev_n(uint32_t n)
{
    struct pm_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_SESSION_START;
    ev.mirror_id = n;
    return ev;
}

static void test_capacity_and_fd(void)
{
    char err[256] = "";
    struct pm_evq *q;
    struct pm_event out[8];

    CHECK(pm_evq_new(0, err, sizeof(err)) == NULL);
    CHECK(err[0] != '\0');

    q = new_q(4);
    CHECK(pm_evq_fd(q) >= 0);
    CHECK(!readable(pm_evq_fd(q), 0));
    CHECK(pm_evq_pop(q, out, 8) == 0);
    CHECK(pm_evq_dropped(q) == 0);

    for (uint32_t i = 0; i < 4; i++) {
        struct pm_event ev = ev_n(i);

        CHECK(pm_evq_push(q, &ev) == 0);
        CHECK(readable(pm_evq_fd(q), 0));
    }
    for (uint32_t i = 4; i < 7; i++) {
        struct pm_event ev = ev_n(i);

        CHECK(pm_evq_push(q, &ev) == -1);
    }
    CHECK(pm_evq_dropped(q) == 3);

    /* The oldest are kept, in order; the fd stays readable until empty. */
    CHECK(pm_evq_pop(q, out, 3) == 3);
    CHECK(out[0].mirror_id == 0 && out[1].mirror_id == 1 && out[2].mirror_id == 2);
    CHECK(readable(pm_evq_fd(q), 0));
    CHECK(pm_evq_pop(q, out, 8) == 1);
    CHECK(out[0].mirror_id == 3);
    CHECK(!readable(pm_evq_fd(q), 0));

    /* Wrap around the ring several times. */
    for (uint32_t round = 0; round < 5; round++) {
        for (uint32_t i = 0; i < 3; i++) {
            struct pm_event ev = ev_n(round * 10 + i);

            CHECK(pm_evq_push(q, &ev) == 0);
        }
        CHECK(readable(pm_evq_fd(q), 0));
        CHECK(pm_evq_pop(q, out, 8) == 3);
        for (uint32_t i = 0; i < 3; i++)
            CHECK(out[i].mirror_id == round * 10 + i);
        CHECK(!readable(pm_evq_fd(q), 0));
    }
    CHECK(pm_evq_dropped(q) == 3);
    pm_evq_free(q);
}

static void test_raise(void)
{
    struct pm_evq *q = new_q(2);
    struct pm_event ev = ev_n(7), out[2];

    pm_event_set_queue(NULL);
    CHECK(pm_event_raise(&ev) == -1);
    pm_event_set_queue(q);
    CHECK(pm_event_raise(&ev) == 0);
    CHECK(pm_event_raise(&ev) == 0);
    CHECK(pm_event_raise(&ev) == -1);
    CHECK(pm_evq_dropped(q) == 1);
    CHECK(pm_evq_pop(q, out, 2) == 2 && out[1].mirror_id == 7);
    pm_evq_free(q); /* also unsets the global queue */
    CHECK(pm_event_raise(&ev) == -1);
}

/* The capture process's sink: raise goes to it instead of the queue, and
 * its answer (-1: path full) is raise's. */
static int sink_calls;
static int sink(const struct pm_event *ev, void *arg)
{
    sink_calls++;
    return ev->mirror_id == *(uint32_t *)arg ? 0 : -1;
}

static void test_sink(void)
{
    struct pm_evq *q = new_q(2);
    struct pm_event ev = ev_n(7), out[2];
    uint32_t want = 7;

    pm_event_set_queue(q);
    pm_event_set_sink(sink, &want);
    CHECK(pm_event_raise(&ev) == 0 && sink_calls == 1);
    ev.mirror_id = 8;
    CHECK(pm_event_raise(&ev) == -1 && sink_calls == 2);
    CHECK(pm_evq_pop(q, out, 2) == 0 && pm_evq_dropped(q) == 0);
    pm_event_set_sink(NULL, NULL);
    CHECK(pm_event_raise(&ev) == 0 && sink_calls == 2);
    CHECK(pm_evq_pop(q, out, 2) == 1 && out[0].mirror_id == 8);
    pm_evq_free(q);
}

static int q_contains(const struct pm_evq *q, const char *s)
{
    size_t len;
    const void *m = pm_evq_mem(q, &len);
    return memmem(m, len, s, strlen(s)) != NULL;
}

static size_t q_nonzero(const struct pm_evq *q)
{
    size_t len, n = 0;
    const unsigned char *m = pm_evq_mem(q, &len);
    for (size_t i = 0; i < len; i++)
        n += m[i] != 0;
    return n;
}

/* Queued events carry subscriber identities: pop must leave nothing of them in the ring. */
static void test_pop_wipes(void)
{
    struct pm_evq *q = new_q(4);
    struct pm_event a = ev_n(0x5a5a5a5a), b = ev_n(0x6b6b6b6b), out[2];

    snprintf(a.trigger, sizeof(a.trigger), "trigger-of-subscriber-A");
    snprintf(a.user_name, sizeof(a.user_name), "user-A@isp.example");
    snprintf(b.trigger, sizeof(b.trigger), "trigger-of-subscriber-B");
    snprintf(b.user_name, sizeof(b.user_name), "user-B@isp.example");
    CHECK(q_nonzero(q) == 0);
    for (int round = 0; round < 3; round++) { /* 3 x 2 events: the ring wraps */
        CHECK(pm_evq_push(q, &a) == 0);
        CHECK(pm_evq_push(q, &b) == 0);
        /* the scan sees queued events */
        CHECK(q_contains(q, "trigger-of-subscriber-A") && q_contains(q, "user-B@isp.example"));
        CHECK(pm_evq_pop(q, out, 1) == 1 && out[0].mirror_id == a.mirror_id);
        CHECK(!q_contains(q, "trigger-of-subscriber-A"));
        CHECK(!q_contains(q, "user-A@isp.example"));
        CHECK(q_contains(q, "trigger-of-subscriber-B"));
        CHECK(pm_evq_pop(q, out, 2) == 1 && out[0].mirror_id == b.mirror_id);
        CHECK(!q_contains(q, "user-B@isp.example"));
        CHECK(q_nonzero(q) == 0); /* IDs, addresses and times too */
    }
    pm_evq_free(q);
}

#define PRODUCERS    4
#define PER_PRODUCER 20000

struct producer {
    struct pm_evq *q;
    uint32_t id;
    uint32_t accepted;
    uint32_t refused;
};

static void *produce(void *arg)
{
    struct producer *p = arg;

    for (uint32_t i = 0; i < PER_PRODUCER; i++) {
        struct pm_event ev = ev_n(i);

        ev.session_id = p->id;
        /* Give the consumer a chance, so both outcomes happen. */
        if (i % 16 == 0)
            sched_yield();
        if (pm_event_raise(&ev) == 0)
            __atomic_add_fetch(&p->accepted, 1, __ATOMIC_RELEASE);
        else
            __atomic_add_fetch(&p->refused, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

static void test_many_producers(void)
{
    struct pm_evq *q = new_q(256);
    struct producer prod[PRODUCERS];
    pthread_t th[PRODUCERS];
    uint32_t got[PRODUCERS] = {0};
    int64_t last[PRODUCERS];
    uint64_t received = 0, accepted = 0, refused = 0;
    struct pm_event out[16];

    pm_event_set_queue(q);
    for (int i = 0; i < PRODUCERS; i++) {
        prod[i] = (struct producer){q, (uint32_t)i, 0, 0};
        last[i] = -1;
        CHECK(pthread_create(&th[i], NULL, produce, &prod[i]) == 0);
    }
    /* Consume like the agent loop: wait on the fd, pop in small batches. */
    for (;;) {
        /* Read "all pushed" before looking at the fd, so an empty queue then
         * really is the end. */
        uint64_t sum = 0;
        int finished;
        size_t n;

        for (int i = 0; i < PRODUCERS; i++)
            sum += __atomic_load_n(&prod[i].accepted, __ATOMIC_ACQUIRE) +
                   __atomic_load_n(&prod[i].refused, __ATOMIC_ACQUIRE);
        finished = sum == (uint64_t)PRODUCERS * PER_PRODUCER;
        if (!readable(pm_evq_fd(q), finished ? 0 : 200)) {
            if (finished)
                break;
            continue;
        }
        n = pm_evq_pop(q, out, 16);
        /* Readable means non-empty: a spurious wake-up would be a bug. */
        CHECK(n > 0);
        for (size_t i = 0; i < n; i++) {
            uint32_t id = out[i].session_id;

            CHECK(id < PRODUCERS);
            /* Per-producer FIFO: sequence numbers only go up. */
            CHECK((int64_t)out[i].mirror_id > last[id]);
            last[id] = out[i].mirror_id;
            got[id]++;
            received++;
        }
    }
    for (int i = 0; i < PRODUCERS; i++) {
        CHECK(pthread_join(th[i], NULL) == 0);
        CHECK(got[i] == prod[i].accepted);
        accepted += prod[i].accepted;
        refused += prod[i].refused;
    }
    CHECK(pm_evq_pop(q, out, 16) == 0);
    CHECK(!readable(pm_evq_fd(q), 0));
    CHECK(received == accepted);
    CHECK(accepted + refused == (uint64_t)PRODUCERS * PER_PRODUCER);
    CHECK(pm_evq_dropped(q) == refused);
    printf("many producers: %llu accepted, %llu dropped\n", (unsigned long long)accepted,
           (unsigned long long)refused);
    pm_event_set_queue(NULL);
    pm_evq_free(q);
}

int main(void)
{
    test_capacity_and_fd();
    test_raise();
    test_sink();
    test_pop_wipes();
    test_many_producers();
    printf("test_pm_evq: ok\n");
    return 0;
}
