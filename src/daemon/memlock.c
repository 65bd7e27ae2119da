/*
 * memlock.c - the locked-memory budget (see memlock.h and
 * docs/memory-locking.md, which gives the same formula for operators).
 *
 * Under mlockall(MCL_FUTURE) every mapping is charged in full against
 * RLIMIT_MEMLOCK when it is made (mm/mmap.c, mlock_future_ok()), touched or
 * not: the library images, the heap as it grows, each thread's stack.
 */
#include "memlock.h"

#include <unistd.h>

#include "pmirrord/conf.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/thread.h"

/* A secure log slot: sequence, timestamp and length before the text
 * (slog_ring.c), rounded up; 48 bytes bound it. */
#define SLOT_OVERHEAD 48u
/* A queued notification: the shared event copy, its reference count,
 * malloc's header and the queue's slot pointer. */
#define QUEUE_ITEM_OVERHEAD 64u
/* A trap host: its Net-SNMP session and transport, and up to 64 informs in
 * flight, each a PDU with its encoded packet (traphost.c). */
#define HOST_OVERHEAD (512u * 1024)
/* A control reply holds at most a copy of a ring, escaped (JSON: "\u00XX"
 * for one byte) and framed: 8 bytes per ring byte bound it. */
#define REPLY_EXPANSION 8u
#define REPLY_MAX       (4u * 1024 * 1024)
/* glibc puts the guard page and the thread's TLS in the stack mapping. */
#define STACK_OVERHEAD (16u * 1024)

static size_t page_round(size_t n)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    return (n + page - 1) / page * page;
}

size_t pm_memlock_needed(const struct pm_conf *c)
{
    size_t audit = page_round((size_t)c->secure_log_size * (PM_AUDIT_ENTRY_MAX + SLOT_OVERHEAD));
    size_t mirror = page_round((size_t)c->mirror_log_size * (PM_MIRROR_ENTRY_MAX + SLOT_OVERHEAD));
    size_t evq = page_round((size_t)c->event_queue_size * sizeof(struct pm_event));
    size_t hosts = 0;
    for (size_t i = 0; i < c->nhosts; i++)
        hosts += (size_t)c->hosts[i].queue_size * (sizeof(struct pm_event) + QUEUE_ITEM_OVERHEAD) +
                 HOST_OVERHEAD;
    size_t stacks = PM_THREADS_MAX * ((size_t)PM_THREAD_STACK + STACK_OVERHEAD);
    size_t reply = REPLY_EXPANSION * (audit > mirror ? audit : mirror) + 64u * 1024;
    if (reply > REPLY_MAX)
        reply = REPLY_MAX;
    size_t replies = CTL_MAX_CLIENTS * reply;
    return page_round(PM_MEMLOCK_MARGIN + audit + mirror + evq + hosts + stacks + replies);
}
