/*
 * mir_stats.h - what the data path did for each intercept and each
 * analyzer: packets and bytes mirrored, packets not mirrored (loss
 * evidence, by cause), fragments, super-packets; each analyzer's
 * reachability with its hold-down; the loss episodes written to the mirror
 * log (docs/jmirror.md "Loss evidence" and "Analyzer reachability").
 *
 * jmirror carries no sequence number, so the mediation device cannot see a
 * gap: every packet of an active intercept that was not mirrored is counted
 * here against that intercept, and each episode (losses with no more than
 * MS_EPISODE_GAP_S seconds between them) becomes one mirror-log entry with
 * its counts and its time window when it closes.
 *
 * Analyzer states: UP -> (an unreachable error: ICMP on the error queue,
 * EHOSTUNREACH/ENETUNREACH/ECONNREFUSED on a send) -> DOWN: the `unreachable`
 * hook once (the caller raises AnalyzerUnreachable, once per analyzer per
 * outage).  While DOWN, datagrams still go (the path can come back at any
 * time) but each is counted as lost (`unreachable`) against its intercept.
 * DOWN -> UP when no unreachable error has been seen for hold_down seconds
 * (analyzerHoldDown) and a datagram has been sent MS_PROBE_MS or more after the last error: one
 * mirror-log entry "reachable again" with the outage's window and counts.
 *
 * One thread (the capture loop); no lock; no allocation per packet (the
 * tables are sized at ms_new()).  Entries are keyed by (mirror ID, session
 * ID, analyzer); an entry whose intercept is no longer active (the
 * `active` hook, asked at ms_tick()) is closed (its open episode written)
 * and freed.  Intercept data (mirror IDs, analyzers) appears only in the
 * mirror-log text and the `show mirror statistics` rows, never in a log line.
 */
#ifndef PMIRRORD_MIR_STATS_H
#define PMIRRORD_MIR_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/trigger.h"

#define MS_HOLD_DOWN_DEFAULT 10u  /* analyzerHoldDown, seconds */
#define MS_EPISODE_GAP_S     2    /* a loss episode closes after this long without loss */
#define MS_ICPT_MAX          4096 /* intercept entries (packets beyond: counted, unattributed) */
#define MS_ANALYZER_MAX      1024
#define MS_NONE              UINT32_MAX /* no entry (table full) */
#define MS_PROBE_MS                                                                                \
    1000 /* recovery needs a datagram sent this long after the last                                \
          * error (ICMP errors are rate-limited, about 1/s) */

/* Why a packet of an intercept was not mirrored. */
enum ms_loss {
    MS_LOSS_SOURCE = 0,  /* kernel or ring drop on the capture source (attributed) */
    MS_LOSS_SEND = 1,    /* the kernel refused the datagram (buffer full, ...) */
    MS_LOSS_UNREACH = 2, /* sent while the analyzer was unreachable */
    MS_LOSS_SNAPPED = 3, /* cut by the snap length: never sent as if whole */
    MS_LOSS_OTHER = 4,   /* too big, no socket for the family */
    MS_LOSS_KINDS = 5,
};

struct ms_icpt_stats {
    uint32_t mirror_id, session_id;
    struct trig_analyzer analyzer;
    uint32_t router_id;
    unsigned src_idx;        /* the capture source its last packet came from */
    uint64_t packets, bytes; /* mirrored: datagrams sent and their UDP payload octets */
    uint64_t lost[MS_LOSS_KINDS];
    uint64_t send_errors;      /* datagrams refused by the kernel (= lost[MS_LOSS_SEND]) */
    uint64_t fragmented;       /* datagrams larger than the path MTU (fragmented by the kernel) */
    uint64_t split, unsplit;   /* GRO/TSO super-packets split back into wire packets; not split */
    int64_t first_ms, last_ms; /* capture clock of the first and last packet */
};

struct ms_analyzer_stats {
    struct trig_analyzer analyzer;
    int down;                /* in an outage */
    uint64_t packets, bytes; /* datagrams sent while UP, UDP payload octets */
    uint64_t send_errors, unreachable_errors, lost_while_down, fragmented;
    uint64_t outages;  /* AnalyzerUnreachable raised */
    unsigned path_mtu; /* last known (0 unknown) */
    int64_t down_since_ms, last_err_ms;
};

struct ms_hooks {
    /* one mirror-log entry (full values; the text is the whole entry) */
    void (*mlog)(void *arg, const char *text);
    /* an analyzer became unreachable (raise AnalyzerUnreachable once):
     * router_id of the intercept whose datagram found it out */
    void (*unreachable)(void *arg, const struct trig_analyzer *an, uint32_t router_id, int err);
    /* is the intercept (mirror_id, session_id) still active? (engine) */
    int (*active)(void *arg, uint32_t mirror_id, uint32_t session_id);
    void *arg;
};

struct mir_stats;

struct mir_stats *ms_new(unsigned hold_down_s, const struct ms_hooks *h);
void ms_free(struct mir_stats *m); /* zeroises */
void ms_set_hold_down(struct mir_stats *m, unsigned hold_down_s);

/* The entry of an intercept's copy to analyzer an (found or created);
 * MS_NONE when the table is full (counted: ms_unattributed()).  now_ms:
 * capture clock.  The handle stays valid until ms_tick() frees the entry;
 * after that it finds nothing, also when the slot has gone to another
 * intercept (a generation in the handle). */
uint32_t ms_icpt(struct mir_stats *m, uint32_t mirror_id, uint32_t session_id,
                 const struct trig_analyzer *an, uint32_t router_id, unsigned src_idx,
                 int64_t now_ms);

/* Outcomes, per datagram (h: from ms_icpt; MS_NONE ignored: ms_icpt counted
 * its packet as unattributed).  A datagram sent while its analyzer is DOWN
 * counts as lost (MS_LOSS_UNREACH), not in packets and bytes. */
void ms_sent(struct mir_stats *m, uint32_t h, size_t bytes, int fragmented, int64_t now_ms);
void ms_lost(struct mir_stats *m, uint32_t h, enum ms_loss why, uint64_t n, int64_t now_ms);
/* A send refused with errno err: counted against h; an unreachable errno
 * also takes h's analyzer DOWN (see above). */
void ms_send_failed(struct mir_stats *m, uint32_t h, int err, int64_t now_ms);
void ms_split(struct mir_stats *m, uint32_t h, int split);
/* An ICMP error for analyzer an (error queue): DOWN as above. */
void ms_icmp(struct mir_stats *m, const struct trig_analyzer *an, int err, int64_t now_ms);
/* Packets the kernel or the ring dropped on capture source src_idx: counted
 * (MS_LOSS_SOURCE) against every intercept whose last packet came from that
 * source within the last MS_EPISODE_GAP_S seconds (an upper bound: which
 * packets were dropped cannot be known). */
void ms_source_drops(struct mir_stats *m, unsigned src_idx, uint64_t n, int64_t now_ms);
void ms_set_path_mtu(struct mir_stats *m, const struct trig_analyzer *an, unsigned mtu);
/* The same through an intercept's handle (O(1), per datagram): an analyzer
 * entry made again after its intercepts ended learns the MTU the data path
 * still remembers. */
void ms_note_mtu(struct mir_stats *m, uint32_t h, unsigned mtu);
/* Analyzer entries created so far: an entry is created with path MTU 0, so a caller that
 * memoises the MTU it last set must set it again when this changes. */
uint32_t ms_analyzers_made(const struct mir_stats *m);

/* Hold-downs, episodes, inactive entries.  Returns ms until the next is due
 * (-1 none). */
int ms_tick(struct mir_stats *m, int64_t now_ms);

/*
 * `show mirror statistics`: rows of text, first one per intercept, then one
 * per analyzer, from offset, at most max rows of at most MS_ROW_MAX - 1
 * octets (the longest row, every counter at its largest and an IPv6
 * analyzer, fits: none is cut); *more says whether rows follow.  Row
 * formats are in docs/jmirror.md.
 */
#define MS_ROW_MAX 512
size_t ms_list(const struct mir_stats *m, uint32_t offset, size_t max, char rows[][MS_ROW_MAX],
               int *more);

size_t ms_count_icpt(const struct mir_stats *m);
size_t ms_count_analyzers(const struct mir_stats *m);
uint64_t ms_unattributed(const struct mir_stats *m);
/* Totals over all entries, for STATS "jmirror" (lost by kind, fragmented, split, unsplit). */
void ms_totals(const struct mir_stats *m, uint64_t lost[MS_LOSS_KINDS], uint64_t *fragmented,
               uint64_t *split, uint64_t *unsplit, uint64_t *outages);

#endif
