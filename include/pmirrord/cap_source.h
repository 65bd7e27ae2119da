/*
 * cap_source.h - one capture source: a live interface or a pcap file, read
 * with libpcap and handed to a callback as raw frames (no decoding here).
 *
 * The configuration directive (docs/capture-sources.md):
 *
 *   capture SRC [buffer MIB] [snaplen N] [filter "BPF"] [role signalling|data|both]
 *               [pace recorded|fast]
 *
 * SRC is an interface name or `pcap:FILE`; `pace` is for `pcap:` sources only.
 *
 * Two-phase object, as libpcap's own: cap_source_new() from a parsed spec,
 * the setters, then cap_source_activate().  Descriptors are opened only at
 * activation (a live source reopens its handle by itself when its interface
 * comes back), so a sandbox can be installed between new() and activate()
 * as long as its allowlist has the calls listed in docs/capture-sources.md.
 *
 * Single-threaded: no function here creates a thread, and a source is used
 * from one thread, the one that runs the poll loop: cap_source_pollfd() and
 * cap_source_poll_timeout() say what to wait for, cap_source_dispatch() reads
 * a bounded batch.  Interface appearance and removal come from the link
 * watcher (cap_linkwatch.h) through cap_source_link().
 *
 * Every function that can fail returns -1 and fills err with one sentence
 * naming the source.  Nothing here logs: warnings and state changes go to the
 * event callback, which the caller turns into log lines and mirror-log entries.
 */
#ifndef PMIRRORD_CAP_SOURCE_H
#define PMIRRORD_CAP_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#define CAP_SRC_MAX     256  /* interface name or file path, with NUL */
#define CAP_FILTER_MAX  1024 /* BPF expression, with NUL */
#define CAP_EXCLUDE_MAX 8192 /* cap_source_set_exclude()'s expression, with NUL */
#define CAP_REASON_MAX  256

/* Defaults (docs/capture-sources.md explains the choice). */
#define CAP_BUFFER_MIB_SIGNALLING 2u
#define CAP_BUFFER_MIB_DATA       8u /* role data and role both */
#define CAP_BUFFER_MIB_MAX        1024u
#define CAP_SNAPLEN_SIGNALLING    65535u
#define CAP_SNAPLEN_DATA          262144u /* role data and role both */
#define CAP_SNAPLEN_MIN           64u
#define CAP_SNAPLEN_MAX           262144u
#define CAP_LATENCY_MS_DEFAULT    10u /* signallingLatency */
#define CAP_DATA_TIMEOUT_MS       50u /* TPACKET_V3 block timeout of role data */
/* signalling and both: the block timeout is half the latency (at least 1 ms) */
#define CAP_BATCH_DEFAULT 64 /* packets per cap_source_dispatch() */

enum cap_role {
    CAP_ROLE_BOTH = 0,
    CAP_ROLE_SIGNALLING = 1,
    CAP_ROLE_DATA = 2,
};

enum cap_pace {
    CAP_PACE_FAST = 0,     /* as fast as the callback takes packets */
    CAP_PACE_RECORDED = 1, /* the file's timestamp gaps, on CLOCK_MONOTONIC */
};

/* How a live source is read (cap_source_set_ring; AUTO follows the role). */
enum cap_ring {
    CAP_RING_AUTO = 0,      /* signalling: IMMEDIATE; both and data: BLOCK */
    CAP_RING_IMMEDIATE = 1, /* pcap immediate mode: TPACKET_V2, a wake-up per packet */
    CAP_RING_BLOCK = 2,     /* TPACKET_V3: latency/2 block timeout (data: 50 ms) */
};

struct cap_spec {
    char src[CAP_SRC_MAX]; /* interface name, or the FILE of pcap:FILE */
    int offline;           /* 1 for pcap:FILE */
    enum cap_role role;
    unsigned buffer_mib; /* ring size (live sources) */
    unsigned snaplen;
    char filter[CAP_FILTER_MAX]; /* "" = none */
    enum cap_pace pace;
};

enum cap_state {
    CAP_STATE_INIT = 0, /* created, not activated */
    CAP_STATE_UP,       /* capturing (or reading the file) */
    CAP_STATE_DOWN,     /* interface deleted or capture error; reopens when it returns */
    CAP_STATE_MISSING,  /* interface absent at activation; opens when it appears */
    CAP_STATE_EOF,      /* pcap file read to the end */
};

/* Why the state last changed, for consumers that must not parse the reason:
 * the InterfaceDeleted notification is due on DELETED, ERROR, REPLACED and GONE. */
enum cap_cause {
    CAP_CAUSE_NONE = 0,
    CAP_CAUSE_OPENED,   /* -> up */
    CAP_CAUSE_ABSENT,   /* -> missing: no such interface at activation */
    CAP_CAUSE_NOT_UP,   /* -> down: the interface exists but is not up at activation */
    CAP_CAUSE_DELETED,  /* -> down: RTM_DELLINK */
    CAP_CAUSE_ERROR,    /* -> down: libpcap read error (ENETDOWN, ENODEV...) */
    CAP_CAUSE_REPLACED, /* -> down, then up: same name, new ifindex, DELLINK missed */
    CAP_CAUSE_GONE,     /* -> down: found absent after lost link notifications */
    CAP_CAUSE_END,      /* -> eof: end of the pcap file or a read error in it */
};

enum cap_event {
    CAP_EV_STATE = 1, /* the state changed: cap_source_state(); reason says why */
    CAP_EV_WARN = 2,  /* a warning about the source (super-packets, libpcap warnings) */
};

/* One frame as libpcap gave it; data is valid only during the callback. */
struct cap_packet {
    int dlt; /* DLT_* of the handle */
    int64_t ts_sec;
    uint32_t ts_usec;
    uint32_t caplen;
    uint32_t wirelen;
    unsigned flags; /* CAP_PKT_* */
    int dir;        /* CAP_DIR_*: how the frame crossed the interface */
    const uint8_t *data;
};
/* A frame's direction on its interface (docs/capture-sources.md
 * "Direction"): Ethernet by its source address (the interface's own: sent),
 * a cooked capture by its packet type; a pcap file or another link type does
 * not say. */
#define CAP_DIR_UNKNOWN 0
#define CAP_DIR_IN      1    /* received on the interface */
#define CAP_DIR_OUT     2    /* sent on it */
#define CAP_PKT_SUPER   0x1u /* wirelen > MTU + link header: a GRO/LRO/TSO super-packet */

/* The packet callback's answer. */
#define CAP_PKT_TAKEN 0
/* "Stop, I'm full": the packet was NOT taken and the batch ends.  A pcap file
 * keeps the packet and delivers it again first at the next dispatch (no loss);
 * a live ring cannot wait, so the packet is counted in backlog_drops. */
#define CAP_PKT_FULL 1

struct cap_source;

typedef int (*cap_packet_fn)(void *arg, struct cap_source *src, const struct cap_packet *pkt);
typedef void (*cap_event_fn)(void *arg, struct cap_source *src, enum cap_event ev,
                             const char *reason);

struct cap_stats {
    enum cap_state state;
    enum cap_cause cause;        /* of the last state change */
    char reason[CAP_REASON_MAX]; /* of the last state change or warning */
    uint64_t packets;            /* frames handed to the callback and taken */
    uint64_t bytes;              /* their captured bytes */
    uint64_t kernel_drops;       /* pcap_stats ps_drop, summed over reopenings */
    uint64_t if_drops;           /* pcap_stats ps_ifdrop, summed over reopenings */
    uint64_t backlog_drops;      /* live frames refused by the callback (CAP_PKT_FULL) */
    uint64_t super_packets;      /* CAP_PKT_SUPER frames */
    uint64_t reopens;            /* activations after the first */
    int64_t last_ts_sec;         /* timestamp of the last packet (0 = none) */
    uint32_t last_ts_usec;
    int mtu;         /* live: at the last activation (0 = unknown) */
    int immediate;   /* live: 1 = immediate mode (TPACKET_V2), 0 = TPACKET_V3 blocks */
    uint64_t offset; /* pcap file: bytes read so far */
    uint64_t size;   /* pcap file: its size (0 = not a regular file) */
    int excluding;   /* an exclusion is set (cap_source_set_exclude) */
};

/* Parses the words after `capture` (words[0] is SRC).  A quoted filter arrives
 * as one word without its quotes.  No FILE:LINE prefix: the caller adds it. */
int cap_spec_parse(const char *const *words, int nwords, struct cap_spec *out, char *err,
                   size_t errlen);
/* Formats a spec back into directive words (for logs and `show`). */
void cap_spec_format(const struct cap_spec *spec, char *buf, size_t buflen);
const char *cap_role_name(enum cap_role role);
const char *cap_state_name(enum cap_state state);

struct cap_source *cap_source_new(const struct cap_spec *spec, cap_packet_fn on_packet,
                                  cap_event_fn on_event, void *arg, char *err, size_t errlen);
/* Closes the handle (and the file's descriptor). */
void cap_source_free(struct cap_source *src);
/* The callbacks' argument from now on (the owner moved its record). */
void cap_source_set_arg(struct cap_source *src, void *arg);

/* signallingLatency in ms (1..1000, default 10): the longest a frame of a
 * signalling/both source may wait before the callback sees it. */
int cap_source_set_latency(struct cap_source *src, unsigned ms, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int cap_source_set_ring(struct cap_source *src, enum cap_ring ring, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Packets per cap_source_dispatch() (1..4096, default 64). */
int cap_source_set_batch(struct cap_source *src, int batch, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* pcap:FILE sources: the descriptor the privileged side opened (taken over:
 * closed by cap_source_free(), also when activation fails). */
int cap_source_set_fd(struct cap_source *src, int fd, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* A BPF expression the source must never deliver (the data path's own
 * datagrams to the analyzers of static mirrors on this interface,
 * docs/jmirror.md): the filter set is "(FILTER) and not (expr)", or "not
 * (expr)" without a FILTER; "" removes it.  Set now when the source is up
 * (the old filter stays if the new one does not compile: -1 with err) and
 * at every activation.  May be called inside the sandbox. */
int cap_source_set_exclude(struct cap_source *src, const char *expr, char *err, size_t errlen);

/* Opens the handle.  A live interface that does not exist is not an error:
 * the source goes to CAP_STATE_MISSING (event with a warning) and returns 0.
 * -1 for a bad filter, a refused capture (permissions), a file that is not
 * pcap, ... */
int cap_source_activate(struct cap_source *src, char *err, size_t errlen);

/* What to poll: the selectable descriptor (POLLIN) or -1 (none: not up, or a
 * pcap file, which is driven by the timeout alone). */
int cap_source_pollfd(const struct cap_source *src);
/* The longest the caller may wait before the next cap_source_dispatch(), in ms
 * from now: -1 = no limit, 0 = now (a pcap file with packets left).  A
 * TPACKET_V3 source returns its block timeout; a paced file the next packet's
 * due time.  After a CAP_PKT_FULL answer the caller itself decides when it has
 * room again: a pcap file still says 0. */
int cap_source_poll_timeout(const struct cap_source *src);
/* Reads at most one batch.  Returns the number of frames taken (>= 0).  A
 * capture error puts the source DOWN (event), returns 0: it is not the
 * caller's error.  -1 only for misuse (not activated). */
int cap_source_dispatch(struct cap_source *src, char *err, size_t errlen);

/* Link changes from cap_linkwatch: a NEWLINK for this source's name reopens a
 * MISSING or DOWN source; a DELLINK for its interface puts it DOWN at once. */
enum cap_link {
    CAP_LINK_NEW = 1,
    CAP_LINK_DEL = 2,
    CAP_LINK_RESYNC = 3, /* notifications were lost: check by name */
};
void cap_source_link(struct cap_source *src, enum cap_link what, unsigned ifindex,
                     const char *ifname, unsigned ifflags);

enum cap_state cap_source_state(const struct cap_source *src);
enum cap_cause cap_source_cause(const struct cap_source *src);
const char *cap_cause_name(enum cap_cause cause);
const struct cap_spec *cap_source_spec(const struct cap_source *src);
/* Fills st; for an UP live source it asks libpcap for fresh drop counters. */
void cap_source_stats(struct cap_source *src, struct cap_stats *st);

#endif
