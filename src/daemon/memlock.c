/*
 * memlock.c - the locked-memory budget (see memlock.h and
 * docs/memory-locking.md, which gives the same formula for operators).
 *
 * Under mlockall(MCL_FUTURE) every mapping is charged in full against
 * RLIMIT_MEMLOCK when it is made (mm/mmap.c, mlock_future_ok()), touched or
 * not: the library images, the heap as it grows, each thread's stack.
 */
#include "memlock.h"
#include "rtconf.h"
#include "trig_table.h"

#include <linux/capability.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "commands.h"
#include "pmirrord/conf.h"
#include "pmirrord/icpt_table.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/ctl_wire.h"
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
/*
 * Control replies.  The big ones are the secure logs' pages (src/daemon/
 * commands.c, LOG_PAGE and LOG_PAGE_BYTES: keep these in step): at most 1000
 * entries, and no more entry text than 512 KiB plus the one entry that crosses
 * that line.  Entry text is one printable line (escape.h): JSON doubles at
 * most its '"' and '\' (RFC 8259 §7); a row adds its sequence number, time
 * and JSON keys, and an audited SNMP value may hold a few white-space
 * controls that JSON spells \u000d, six octets for one: ROW_OVERHEAD bounds
 * both.  Other replies and the text form are smaller.
 */
#define PAGE_ENTRIES   1000u
#define PAGE_TEXT      (512u * 1024)
#define JSON_EXPANSION 2u
#define ROW_OVERHEAD   640u
#define REPLY_OTHER    (64u * 1024)
/* The largest reply the protocol sends, framed. */
#define REPLY_MAX (CTL_MAX_RESPONSE + CTL_MAX_HEADER)
/* glibc puts the guard page and the thread's TLS in the stack mapping. */
#define STACK_OVERHEAD (16u * 1024)

/* An sbuf (ctl_reply.c) grows from 256 bytes by doubling: its allocation. */
static size_t sbuf_cap(size_t n)
{
    size_t cap = 256;
    while (cap < n + 1)
        cap *= 2;
    return cap;
}

/* The largest control reply for a ring of `entries` slots of `entry_max` bytes. */
static size_t reply_bound(unsigned entries, size_t entry_max)
{
    size_t text = (size_t)entries * (entry_max - 1);
    if (text > PAGE_TEXT + entry_max)
        text = PAGE_TEXT + entry_max;
    size_t rows = entries < PAGE_ENTRIES ? entries : PAGE_ENTRIES;
    size_t n = JSON_EXPANSION * text + rows * ROW_OVERHEAD + REPLY_OTHER;
    return n < REPLY_MAX ? n : REPLY_MAX;
}

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
    size_t hosts = 0, item = sizeof(struct pm_event) + QUEUE_ITEM_OVERHEAD;
    for (size_t i = 0; i < c->nhosts; i++)
        hosts += (size_t)c->hosts[i].queue_size * item + HOST_OVERHEAD;
    if (c->nhosts < PM_MAX_TRAPHOSTS)
        hosts += (PM_MAX_TRAPHOSTS - c->nhosts) * (PM_RUNTIME_QUEUE_MAX * item + HOST_OVERHEAD);
    size_t stacks = PM_THREADS_MAX * ((size_t)PM_THREAD_STACK + STACK_OVERHEAD);
    size_t ra = reply_bound(c->secure_log_size, PM_AUDIT_ENTRY_MAX);
    size_t rm = reply_bound(c->mirror_log_size, PM_MIRROR_ENTRY_MAX);
    size_t reply = sbuf_cap(ra > rm ? ra : rm);
    /* Each client holds at most one reply until it has read it (ctl_server.c
     * reads no request while output is pending).  Commands run one at a time
     * on the control thread; while one is rendered, its items, the text
     * rendering and the growing buffer (old and new copy) exist as well. */
    size_t replies = CTL_MAX_CLIENTS * reply + 3 * reply;
    /* The trigger table; during a reload also the file's rules as parsed
     * (pm_conf.triggers, and its copy while the parser grows it) and then
     * the new table trig_table_reload() builds while both still exist: three
     * at once.  And three copies of it: the TRIGGER_SET entries being
     * pushed, the intake's, `show mirror triggers`'. */
    size_t mt = c->max_triggers != 0 ? c->max_triggers : TRIG_DEFAULT_MAX;
    size_t triggers = 2 * page_round(mt * sizeof(struct trig_entry)) +
                      page_round(mt * sizeof(struct pm_conf_trigger)) +
                      3 * page_round(mt * sizeof(struct ipc_trigger));
    /* The RADIUS-provisioned intercepts (icpt_table.h), and one page of
     * `show mirror subscribers`. */
    size_t icpt = ICPT_TABLE_BYTES + (size_t)ICPT_TABLE_MAX * ICPT_ENTRY_OVERHEAD +
                  page_round(sizeof(struct pm_list_out));
    /* persistRuntimeChanges (rtconf.c): the kept `no ...` lines and run-time
     * trap host lines, and the file's text while it is written (one line per
     * trigger, removal and host). */
    size_t rtc = 0;
    if (c->persist_runtime) {
        size_t lines = (mt > TRIG_DEFAULT_MAX ? mt : TRIG_DEFAULT_MAX) + PM_MAX_TRAPHOSTS;
        rtc = page_round(lines * RTCONF_LINE_MAX) + page_round(PM_MAX_TRAPHOSTS * RTCONF_LINE_MAX) +
              page_round((lines + mt + PM_MAX_TRAPHOSTS) * (RTCONF_LINE_MAX + 1));
    }
    return page_round(PM_MEMLOCK_MARGIN + audit + mirror + evq + hosts + stacks + replies +
                      triggers + icpt + rtc);
}

int pm_memlock_cap_ipc_lock(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    memset(d, 0, sizeof(d));
    if (syscall(SYS_capget, &h, d) == -1)
        return 0;
    return (d[CAP_IPC_LOCK / 32].effective & (1u << (CAP_IPC_LOCK % 32))) != 0;
}
