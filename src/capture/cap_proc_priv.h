/*
 * cap_proc_priv.h - what the files of the capture process share
 * (cap_proc.c: start-up and loop; cap_slice.c: the configuration slice;
 * cap_frames.c: per-frame work; cap_report.c: records to the agent).
 * Private to src/capture.
 */
#ifndef PMIRRORD_CAP_PROC_PRIV_H
#define PMIRRORD_CAP_PROC_PRIV_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "pmirrord/cap_proc.h"
#include "pmirrord/cap_source.h"
#include "pmirrord/conf_mirror.h"
#include "pmirrord/dhcp_track.h"
#include "pmirrord/ipc.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/mir_stats.h"
#include "pmirrord/pkt_decode.h"

struct pm_daemon_hooks;
struct cap_linkwatch;
struct pkt_dedupe;
struct reasm;
struct radius_track;
struct dhcp_track;
struct sess_engine;
struct jm_sender;
struct jm_route;
struct mir_stats;
struct pollfd;
struct rt_conf;
struct conf_slice;

#define CP_TOKEN        "capture"
#define CP_DEDUPE_SLOTS 65536
#define CP_DEDUPE_MS    50
#define CP_REASM_DGRAMS 1024
#define CP_REASM_BYTES  (4u << 20)
#define CP_REASM_MS     10000
#define CP_TRIG_MAX     65536 /* entries in one trigger table */
#define CP_CHAN_BACKLOG (1u << 20)
#define CP_SLICE_LINES  4096 /* radiusClient lines of a secrets file included */
/* The room for a slice's text kept for reloads (twice, locked): every line
 * and its NUL, a multiple of the page size. */
#define CP_RL_ARENA  (CONF_SLICE_BYTES_MAX + CP_SLICE_LINES)
#define CP_JM_TO_MAX 64 /* analyzers remembered as destinations of our own datagrams */
/* Mirror-log entries sent to the agent: at most CP_MLOG_BURST at once, then
 * CP_MLOG_PER_S a second, a little under the agent's own budget
 * (INTAKE_MLOG_BURST, INTAKE_MLOG_PER_S), so that it never has to suppress
 * one; lines beyond it wait (several to an entry) in a queue of
 * CP_MLOG_QUEUE octets, and what does not fit there is counted and said. */
#define CP_MLOG_BURST 48
#define CP_MLOG_PER_S 8
#define CP_MLOG_QUEUE (8u << 20)
#define CP_TABLE_WAIT_MS                                                                           \
    3000                 /* pcap sources wait this long at most for the first trigger table        \
                          */
#define CP_LIST_ROWS 100 /* rows of one LIST_PAGE: 100 * 256 octets fit a record */
#define CP_STATS_ROWS                                                                              \
    50 /* `show mirror statistics` rows of one LIST_PAGE: 50 * MS_ROW_MAX fit a record */

/* One `capture` directive and what became of it. */
struct cp_source {
    struct cap_proc *proc;
    struct cap_spec spec;
    char where[CAP_SRC_MAX + 16]; /* "file:line" of the directive */
    char name[IPC_NAME_MAX + 1];  /* "src:" + SRC, cut to 63 octets */
    struct cap_source *src;       /* NULL: a pcap file already read (not sent again) */
    uint64_t malformed, radius, dhcp, duplicates;
    int down;            /* its interface is gone (se_interface_down told) */
    unsigned mtu;        /* live: the interface's, super-packets are cut to it (0 unknown) */
    uint64_t drops_seen; /* kernel + interface + backlog drops already counted (cap_mirror.c) */
};

/* The configuration the capture process uses (from its slice). */
struct cp_conf {
    struct cap_spec spec[CAP_PROC_SOURCES_MAX];
    char where[CAP_PROC_SOURCES_MAX][CAP_SRC_MAX + 16];
    size_t nspec;
    unsigned latency_ms; /* signallingLatency */
    /* sessions (cap_sessions.c) */
    struct rt_conf *rt;       /* RADIUS peers and secrets; NULL none (freed by cp_conf_clear) */
    struct dh_conf dh;        /* dhcpServer; max_bindings = maxSubscribers */
    uint32_t max_subscribers; /* maxSubscribers */
    unsigned session_start_timeout; /* sessionStartTimeout, seconds */
    /* jmirror (cap_mirror.c) */
    struct pm_mirror_conf mirror;          /* mirrorSource, mirrorDscp, ... */
    uint16_t ports[CONF_MIRROR_PORTS_MAX]; /* analyzer ports of the `mirror` rules */
    size_t nports;
    int dry_run; /* bench: datagrams built, not sent (jm_opts.dry_run) */
};

/* A descriptor received with the slice. */
struct cp_fd {
    uint16_t purpose;
    char name[IPC_FDNAME_MAX + 1];
    int fd;
};

/* The slice as received: CONFIG records and FD records between BEGIN and END. */
struct cp_slice {
    char file[256]; /* the configuration file, for FILE:LINE */
    struct {
        char key[IPC_NAME_MAX + 1];
        char *value; /* wiped and freed by cp_slice_clear() */
        uint32_t line;
    } line[CP_SLICE_LINES];
    size_t nlines;
    struct cp_fd fd[IPC_FDS_MAX * 8];
    size_t nfds;
    int begun, ended, bad;
    char err[256]; /* what was wrong with it */
};

struct cap_proc {
    const struct pm_daemon_hooks *hooks;
    int test_build;          /* hooks with a test producer: sig_digest is computed */
    struct ipc_chan *chan_b; /* monitor */
    struct ipc_chan *chan_c; /* agent; NULL while it is being restarted */
    struct cp_source src[CAP_PROC_SOURCES_MAX];
    size_t nsrc;
    unsigned latency_ms;
    struct cap_linkwatch *lw;
    struct pkt_dedupe *dedupe;
    struct reasm *reasm;
    struct cap_clock clock;
    int test_fd;        /* IPC_FD_TEST_FIFO, -1 none; handed to the hook */
    int sandboxed;      /* the seccomp filter is in place */
    int hold_offline;   /* pcap sources wait for the first trigger table */
    int64_t hold_until; /* CLOCK_MONOTONIC ms: they wait no longer */
    int stop;

    /* counters of STATS "capture" */
    uint64_t decoded, malformed, duplicates, radius, dhcp, reasm_completed, reasm_dropped;
    uint64_t nochan_drops;    /* records not sent: no agent channel */
    uint64_t chan_c_replaced; /* peer-chan descriptors taken */
    uint64_t b_unexpected;    /* records from the monitor not expected */
    uint64_t c_unexpected;    /* records from the agent not expected */
    uint64_t trig_tables, trig_acks, trig_rejects, trig_entries;
    uint64_t events_sent, events_dropped;
    uint64_t sig_digest;
    uint64_t hb_seq;
    int full_pending; /* chan C path-full episode ended: log it */
    uint64_t full_dropped;

    /* mirror-log queue (cap_report.c) */
    char *mlq;                /* CP_MLOG_QUEUE octets: lines, each ending in NUL */
    size_t mlq_head, mlq_len; /* a ring */
    double ml_tokens;
    int64_t ml_at_ms;
    uint64_t mlog_lines, mlog_entries, mlog_dropped, mlog_dropped_said;

    /* sessions and mirroring (cap_sessions.c) */
    struct radius_track *rt;
    struct dhcp_track *dh;
    struct sess_engine *se;
    uint64_t timer_due_ms; /* capture clock: the next tracker/engine timer */

    /* the data path (cap_mirror.c) */
    struct jm_sender *jm;
    struct mir_stats *ms;
    struct jm_route *jmr;  /* NULL: the path MTU is not known */
    int jm_fd[JM_FDS_MAX]; /* the sender's sockets: polled for POLLERR */
    size_t jm_nfds;
    /* analyzers datagrams were sent to lately (cp_own_datagram): a ring */
    struct trig_analyzer jm_to[CP_JM_TO_MAX];
    size_t jm_nto, jm_to_next;
    unsigned super_mtu; /* the frame being handled is a super-packet: its source's MTU */
    int64_t mir_now_ms; /* capture clock of the work under way (for the hooks) */
    struct trig_analyzer mtu_memo_an; /* the last path MTU asked */
    unsigned mtu_memo, mtu_memo_uses;
    int64_t mtu_memo_at;
    uint32_t mtu_memo_made; /* ms_analyzers_made() when the memo was set */
    uint64_t mir_packets, mir_copies, mir_snapped, mir_own, mir_failed;
    uint64_t mir_split, mir_unsplit, mir_source_drops, mir_unreach_raised, mir_unreach_dropped;
    uint64_t mir_before_start; /* copies not made: the frame is older than its intercept */
    int64_t frame_us;          /* the timestamp of the frame under way (cp_frame), us */
    int mirror_gso;            /* mirrorGso: the path MTU goes with each queued datagram */
    uint64_t icpt_up, icpt_down, icpt_not_sent, icpt_restored, icpt_refused, icpt_reannounced;
    uint64_t list_reqs, list_unknown;
    uint64_t excl_set, excl_failed; /* exclusions set on sources (cap_static.c) */

    /* trigger table (docs/ipc-protocol.md, TRIGGER_SET) */
    struct ipc_trigger *trig; /* in force */
    size_t ntrig;
    struct ipc_trigger *tnew; /* being collected */
    size_t ntnew, tnew_cap;
    uint64_t tnew_gen;
    int tnew_open; /* a BEGIN seen, no END yet */
    int tnew_bad;  /* the table being collected is refused at its END */

    /* reload (cap_slice.c, docs/reload.md) */
    struct conf_slice *running; /* the slice's lines it runs (wiped when freed) */
    struct conf_slice *rl;      /* a reload slice being collected */
    char *rl_arena[2];          /* locked room for the lines' text: running's, rl's */
    int rl_cur;                 /* which arena running uses */
    int rl_refusing;            /* a record of it was refused: the rest is dropped until END */
    char rl_why[512];
    uint64_t reloads, reload_failed, reload_same; /* STATS capture */
};

/* cap_slice.c */
/* Reads the slice (at most timeout_ms, or until *stop is set by a signal). */
int cp_slice_read(struct ipc_chan *chan_b, int timeout_ms, const struct pm_daemon_hooks *hooks,
                  const volatile sig_atomic_t *stop, struct cp_slice *sl, char *err, size_t errlen);
void cp_slice_clear(struct cp_slice *sl);
int cp_conf_from_slice(const struct cp_slice *sl, struct cp_conf *out, char *err, size_t errlen);
/* After a start: the slice's lines (not the ports line) kept as p->running. */
int cp_slice_keep(struct cap_proc *p, const struct cp_slice *sl, char *err, size_t errlen);
/* A CONFIG record from the monitor after start-up: a reload slice collected,
 * resolved (SAME lines from p->running), parsed by cp_conf_from_slice()'s
 * parser, applied by cp_reload_apply() and answered (STATUS RELOADED or
 * RELOAD_FAILED on chan B). */
void cp_reload_rec(struct cap_proc *p, const struct ipc_rec *rec);
/* Wipes and frees p->running and p->rl. */
void cp_reload_free(struct cap_proc *p);

/* cap_reload.c: a reload slice parsed into next (cp_conf_from_slice) is
 * applied: only what differs from the running configuration.  0 with what
 * changed in summary (counts and directive names, no identity, address or
 * secret; the monitor logs it), or -1 with err: nothing was changed.  next is
 * taken (the running configuration afterwards) or cleared. */
int cp_reload_apply(struct cap_proc *p, struct cp_conf *next, char *summary, size_t slen, char *err,
                    size_t errlen);

/* cap_frames.c */
int cp_on_packet(void *arg, struct cap_source *src, const struct cap_packet *pkt);
/* iface_dir: TRIG_DIR_INGRESS or TRIG_DIR_EGRESS on the source's interface, -1 not known. */
void cp_frame(struct cap_proc *p, struct cp_source *s, int dlt, const uint8_t *data, size_t caplen,
              size_t wirelen, int64_t ts_sec, uint32_t ts_usec, int iface_dir);
int cp_radius_port(uint16_t port);
int cp_dhcp_port(uint16_t port);

/* cap_sessions.c */
/* The session configuration from the parsed slice; takes c->radius. */
struct pm_conf;
int cp_sess_conf(struct pm_conf *c, struct cp_conf *out, char *err, size_t errlen);
void cp_conf_clear(struct cp_conf *c);
/* Before the sandbox: trackers, engine, jmirror sender, rad_crypto_init(). */
int cp_sess_start(struct cap_proc *p, const struct cp_conf *c, char *err, size_t errlen);
void cp_sess_free(struct cap_proc *p);
/* RADIUS (radius 1) or DHCP, decoded and reassembled. */
void cp_sess_signalling(struct cap_proc *p, const struct pkt_view *v, int radius, int64_t ts_sec,
                        uint32_t ts_usec);
/* Does the RADIUS tracker want this UDP packet (a configured peer's port)? */
int cp_sess_radius_wants(struct cap_proc *p, const struct pkt_view *v);
/* Timers at capture-clock time now_ms; also from cp_frame when a pcap clock passes them. */
void cp_sess_timers(struct cap_proc *p, uint64_t now_ms);
void cp_sess_stats(struct cap_proc *p);
void cp_sess_interface(struct cap_proc *p, struct cp_source *s, int up);
void cp_sess_triggers(struct cap_proc *p);
void cp_sess_restore(struct cap_proc *p, const struct pm_intercept *ic);
/* A new agent channel: every RADIUS-provisioned intercept as INTERCEPT UP again. */
void cp_sess_reannounce(struct cap_proc *p);
void cp_sess_list(struct cap_proc *p, const struct ipc_list_req *req);

/* cap_mirror.c */
/* Before the sandbox (from cp_sess_start): accounting (ms_new, analyzerHoldDown), the
 * path-MTU socket (mirrorInterface), the sender's sockets (jm_opts from c). */
int cp_mirror_start(struct cap_proc *p, const struct cp_conf *c, char *err, size_t errlen);
void cp_mirror_free(struct cap_proc *p);
/* The data path: one decoded IP packet (a fragment as it is) of source s,
 * queued for its targets; iface_dir as cp_frame's (a static mirror's
 * direction); super_mtu: a GRO/TSO super-packet to cut to this MTU (0: not
 * one); now_ms: the capture clock (cap_clock_now_ms(), read once per frame). */
void cp_mirror(struct cap_proc *p, struct cp_source *s, const struct pkt_view *v, int iface_dir,
               unsigned super_mtu, int64_t now_ms);
/* Sends the batch (after each cap_source_dispatch() and before the loop sleeps). */
void cp_mirror_flush(struct cap_proc *p);
/* The sender's sockets, events 0 (POLLERR: the error queue); returns how many. */
size_t cp_mirror_pollfds(const struct cap_proc *p, struct pollfd *fds, size_t max);
/* One of them had POLLERR: every error queue read. */
void cp_mirror_errors(struct cap_proc *p);
/* Hold-downs, episodes (capture clock); ms until due, -1 none. */
int cp_mirror_timers(struct cap_proc *p, uint64_t now_ms);
/* Once a second: source drops, timers. */
void cp_mirror_tick(struct cap_proc *p);
/* s's kernel + interface + ring drops are now total: the new ones since the
 * last call count against the intercepts last seen on s (ms_source_drops). */
void cp_mirror_source_drops(struct cap_proc *p, struct cp_source *s, uint64_t total, int64_t now);
void cp_mirror_stats(struct cap_proc *p);
/* Is v a datagram this process sent to analyzer a, or to any analyzer it
 * sent to lately (never mirrored: a datagram to one target's analyzer may
 * match another target, whose copy may match the first, and so on)? */
int cp_own_datagram(const struct cap_proc *p, const struct pkt_view *v,
                    const struct trig_analyzer *a);

/* cap_static.c */
/* The trigger table changed: each source named by a static mirror excludes
 * our datagrams to every static mirror's analyzer (cap_exclude.h); the
 * others none. */
void cp_static_exclude(struct cap_proc *p);

/* cap_report.c */
/* One mirror-log line, through the queue and its budget. */
void cp_mlog(struct cap_proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Sends what the budget allows of the queue (the loop, each turn); at_exit: say what is left. */
void cp_mlog_drain(struct cap_proc *p, int at_exit);
int cp_mlog_init(struct cap_proc *p);
void cp_mlog_free(struct cap_proc *p);
void cp_send_stats(struct cap_proc *p);
void cp_send_heartbeat(struct cap_proc *p);
int cp_event_sink(const struct pm_event *ev, void *arg);
void cp_chan_full(enum ipc_full_state st, unsigned type, uint64_t dropped, void *arg);
void cp_on_chan_c(struct ipc_rec *rec, void *arg);
void cp_trig_free(struct cap_proc *p);
/* Queues rec on chan C; counted as dropped when there is no chan C. */
int cp_put_c(struct cap_proc *p, const struct ipc_rec *rec);

#endif
