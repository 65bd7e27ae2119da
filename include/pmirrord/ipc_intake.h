/*
 * ipc_intake.h - the agent's intake of records from the capture process.
 *
 * One thread (pm_thread_create) polls the channel's socket and a stop
 * eventfd, reads batches with ipc_chan_recv() (every record already
 * validated against its schema, docs/ipc-protocol.md) and dispatches them:
 *   EVENT     -> pm_evq_push(); a full queue drops the event (counted) and
 *                each episode of drops leaves one mirror-log entry
 *                "event path full: N dropped" when it ends (the next event
 *                queued, or the intake stopping);
 *   MLOG      -> the mirror ring, as "capture: " and the text escaped with
 *                pm_escape() (the capture process is not trusted), at most
 *                INTAKE_MLOG_BURST at once and INTAKE_MLOG_PER_S a second,
 *                so that it cannot push the operators' entries out of the
 *                ring; more are counted and summed up in one entry;
 *   STATS     -> a bounded table of sources (intake_stats_snapshot());
 *   HEARTBEAT -> last-seen time; HELLO -> the peer's pid and generation;
 *   TRIGGER_ACK -> counted, its generation kept (intake_push_table());
 *   INTERCEPT UP/DOWN -> the intercept table (intake_set_intercepts());
 *   LIST_PAGE -> the handler (intake_set_handler()), else unexpected;
 *   others    -> counted as unexpected per type (an FD record's descriptor
 *                is closed by the channel).
 * The thread never calls Net-SNMP and never waits for the agent thread: the
 * queue and the ring never block.  End of file (the peer closed or died) or
 * a socket error ends the thread; intake_state() tells which, and
 * intake_done_fd() becomes readable so an owner can poll for it (and restart
 * the capture process).
 *
 * Every accessor may be called from any thread (one mutex).
 */
#ifndef PMIRRORD_IPC_INTAKE_H
#define PMIRRORD_IPC_INTAKE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pmirrord/icpt_table.h"
#include "pmirrord/ipc.h"
#include "pmirrord/pm_event.h"
#include "pmirrord/slog_ring.h"

#define INTAKE_SOURCES_MAX  64u /* STATS sources kept; more are counted, not kept */
#define INTAKE_COUNTERS_MAX 64u /* counters kept per source; more are counted, not kept */
#define INTAKE_MLOG_BURST   64  /* mirror-log entries from the capture process at once, */
#define INTAKE_MLOG_PER_S   10  /* then per second; more are counted and summed up */

enum intake_state {
    INTAKE_IDLE = 0,    /* not started */
    INTAKE_RUNNING = 1, /* the thread reads the channel */
    INTAKE_EOF = 2,     /* the peer closed its end: the thread has ended */
    INTAKE_ERROR = 3,   /* a socket error (intake_counts.error_errno): ended */
    INTAKE_STOPPED = 4, /* stopped by intake_free() */
};

struct intake_source {
    char name[IPC_NAME_MAX + 1];
    size_t ncounters;
    struct ipc_counter counters[INTAKE_COUNTERS_MAX];
    struct timespec updated; /* CLOCK_MONOTONIC of the last STATS record */
    uint64_t updates;
};

struct intake_peer {
    int hello_seen;
    uint16_t version;
    uint8_t role; /* enum ipc_role */
    uint32_t pid;
    uint64_t generation;
    struct timespec hello_at; /* CLOCK_MONOTONIC */
    int heartbeat_seen;
    uint64_t heartbeat_seq;
    uint64_t heartbeat_mono_ms;   /* the sender's clock */
    struct timespec heartbeat_at; /* CLOCK_MONOTONIC, ours: the last-seen time */
};

struct intake_counts {
    uint64_t events;             /* pushed into the event queue */
    uint64_t event_drops;        /* the queue was full */
    uint64_t full_episodes;      /* runs of consecutive drops */
    uint64_t mlogs;              /* appended to the mirror ring */
    uint64_t mlog_suppressed;    /* over INTAKE_MLOG_BURST / INTAKE_MLOG_PER_S */
    uint64_t stats;              /* STATS records stored */
    uint64_t stats_sources_full; /* STATS of a new source beyond INTAKE_SOURCES_MAX */
    uint64_t stats_counters_cut; /* counters beyond INTAKE_COUNTERS_MAX */
    uint64_t heartbeats;
    uint64_t hellos;
    uint64_t unexpected[IPC_TYPE_MAX + 1]; /* per record type */
    uint64_t unexpected_total;
    /* the intercept table (intake_push_table) and its acknowledgements */
    uint64_t tables_pushed;      /* handed to the thread */
    uint64_t tables_replaced;    /* replaced by a newer one before they were sent whole */
    uint64_t tables_sent;        /* every record queued on the channel */
    uint64_t tables_failed;      /* a record was refused (path full): the table is incomplete */
    uint64_t table_records;      /* TRIGGER_SET records queued */
    uint64_t table_generation;   /* generation of the last table sent whole */
    uint64_t trigger_acks;       /* TRIGGER_ACK records received */
    uint64_t trigger_acks_stale; /* ... naming another generation than the last sent */
    uint64_t ack_generation;     /* the last TRIGGER_ACK's generation and entries */
    uint32_t ack_entries;
    /* intercepts (intake_set_intercepts) and listings (intake_list_req) */
    uint64_t intercept_ups;     /* INTERCEPT UP records received */
    uint64_t intercept_downs;   /* INTERCEPT DOWN records received */
    uint64_t intercept_drops;   /* UP refused by the table (full), DOWN for none held */
    uint64_t restores_sent;     /* INTERCEPT RESTORE records queued */
    uint64_t restores_failed;   /* restores cut short (path full) */
    uint64_t list_reqs;         /* LIST_REQ records queued */
    uint64_t list_pages;        /* LIST_PAGE records received */
    int error_errno;            /* INTAKE_ERROR: the errno of the failed read */
    struct ipc_chan_stats chan; /* rx.rejects[]: refused batches/records by reason */
};

struct intake;

/*
 * A channel over fd (one end of ipc_socketpair()); on success the intake owns
 * fd, on failure (NULL, err filled) the caller keeps it.  q and mirror_ring
 * must outlive the intake.
 */
struct intake *intake_new(int fd, struct pm_evq *q, struct slog_ring *mirror_ring, char *err,
                          size_t errlen);
/* Starts the thread.  0, or -1 with err filled. */
int intake_start(struct intake *in, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Stops and joins the thread (promptly, whatever the peer does), writes a
 * pending "path full" entry, closes the channel.  NULL is accepted. */
void intake_free(struct intake *in);

enum intake_state intake_state(const struct intake *in);
/* An eventfd, readable once the thread has ended (EOF, error or stop). */
int intake_done_fd(const struct intake *in);
void intake_get_counts(const struct intake *in, struct intake_counts *out);
void intake_peer(const struct intake *in, struct intake_peer *out);
/* Queues HELLO (role agent, our pid, generation) on the channel, the first
 * record of the agent's side; before intake_start() only (then the thread
 * alone writes).  0, or -1 with err. */
int intake_send_hello(struct intake *in, uint64_t generation, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/*
 * Hands the whole intercept table to the thread, which sends it on the
 * channel (it alone writes to it) as TRIGGER_SET records of generation: BEGIN
 * on the first, END on the last, or one BEGIN|END|EMPTY record when n is 0
 * (docs/ipc-protocol.md).  The entries are copied (and wiped once sent); a
 * table the thread has not sent yet is replaced.  The capture process answers
 * TRIGGER_ACK (intake_counts: trigger_acks, ack_generation).  Any thread; the
 * thread need not be started yet.  0, or -1 with err (out of memory).
 */
int intake_push_table(struct intake *in, uint64_t generation, const struct ipc_trigger *entries,
                      size_t n, char *err, size_t errlen) __attribute__((warn_unused_result));
/*
 * The agent's intercept table t (must outlive the intake): INTERCEPT UP and
 * DOWN records from the capture process update it, and after the first table
 * this intake sends (intake_push_table()), every intercept t holds follows as
 * an INTERCEPT RESTORE record, paced by the channel's room.  Before
 * intake_start() only.
 */
void intake_set_intercepts(struct intake *in, struct icpt_table *t);
/* Records the intake does not handle itself (LIST_PAGE) go to fn, on the
 * intake thread, during which the record (rows included) is valid.  Before
 * intake_start() only. */
typedef void (*intake_rec_fn)(const struct ipc_rec *rec, void *arg);
void intake_set_handler(struct intake *in, intake_rec_fn fn, void *arg);
/* Queues a LIST_REQ for the thread to send (one waits at a time: a newer one
 * replaces it).  0, or -1 with err when the intake has ended. */
int intake_list_req(struct intake *in, const struct ipc_list_req *req, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Copies up to max sources (in order of first appearance) into out; returns
 * how many there are (which may exceed max). */
size_t intake_stats_snapshot(const struct intake *in, struct intake_source *out, size_t max);

#endif
