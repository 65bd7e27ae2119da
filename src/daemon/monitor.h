/*
 * monitor.h - pmirrord's privileged parent (docs/process-model.md): starts
 * the agent and the capture process, hands them their configuration slices
 * and descriptors, answers the agent's PRIV_REQ, restarts a child that dies.
 * It never parses a packet and never calls Net-SNMP.  Daemon-private.
 */
#ifndef PMIRRORD_DAEMON_MONITOR_H
#define PMIRRORD_DAEMON_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct pm_conf;
struct pm_daemon_hooks;
struct ipc_chan;
struct ipc_heartbeat;

#define MON_AGENT_USER   "pmirrord"
#define MON_CAPTURE_USER "pmirrord-capture"
#define MON_CHAN_BUF     (256 * 1024)  /* chan A and B socket buffers */
#define MON_PEER_BUF     (1024 * 1024) /* chan C: events, statistics, trigger tables */
#define MON_STOP_MS      5000          /* SIGTERM to the children, then SIGKILL */
#define MON_START_MS     60000         /* longest wait for both children's STATUS at start-up */
#define MON_AGENTX_MS    1000          /* connect to the AgentX master for PRIV_REQ */
#define MON_CHAN_BACKLOG (1024 * 1024) /* bytes a monitor channel may hold unsent */
#define MON_PRIV_PER_S   4             /* PRIV_REQ answered per second; more get EAGAIN */
#define MON_HB_MS        2000          /* HEARTBEAT to each ready child (docs/systemd.md) */
#define PM_STR_(x)       #x
#define PM_STR(x)        PM_STR_(x)

struct mon_options {
    const char *conf_path;
    const char *pidfile; /* absolute, or NULL */
    const char *debug;   /* -D tokens, or NULL */
    const char *argv0;   /* the children's argv[0] */
    int foreground;      /* -f: the children get -f as well */
    size_t memlock;      /* pm_memlock_needed() of the configuration */
};

/*
 * Runs the monitor with the configuration already validated (c; freed here
 * as soon as it is not needed) until SIGTERM/SIGINT/SIGQUIT.  Returns the
 * exit status: 0 stopped cleanly, 1 start-up failed (the reason went to
 * daemon_failed() and, with -f, to stderr).
 */
/*
 * What the monitor will need at start-up, checked without changing anything
 * (pmirrord -n and before the start): every pcap:FILE is a regular file with
 * one name, and, run as root, persistentDir can be the agent's (owned by root
 * or its user, only pmirrord's files in it, every directory above it
 * searchable by that user).  0, or -1 with "FILE:LINE: ..." in err.
 */
int pm_monitor_check(const struct pm_conf *c, char *err, size_t errlen);
/* monitor_files.c: persistentDir created if missing (0700) and, run as root,
 * given to uid/gid after pm_monitor_check()'s checks on what was opened.  0,
 * or -1 with "FILE:LINE: ..." in err. */
int mon_persistent_dir(const struct pm_conf *c, uid_t uid, gid_t gid, char *err, size_t errlen);
/* monitor_files.c: a pcap:FILE opened for reading (blocking), or -1 with err
 * naming where (FILE:LINE) when it is not a regular file with one name. */
int mon_open_pcap(const char *where, const char *path, char *err, size_t errlen);
int pm_monitor_run(struct pm_conf *c, const struct mon_options *o,
                   const struct pm_daemon_hooks *hooks);

/* monitor_priv.c: answers one PRIV_REQ of the agent on ch (an FD record
 * purpose agentx with id = request_id, or a PRIV_FAIL), for the AgentX
 * master at spec (the configuration's agentXSocket). */
void mon_priv_agentx(struct ipc_chan *ch, unsigned request_id, const char *spec);
/* A PRIV_FAIL for request_id. */
void mon_priv_fail(struct ipc_chan *ch, unsigned request_id, int err_no, const char *text);

/* monitor_hb.c: heartbeats to one child (one start of it) and systemd's
 * watchdog (docs/systemd.md).  Times are CLOCK_MONOTONIC milliseconds. */
struct mon_hb {
    int live;              /* asked: the child said READY in this start */
    uint64_t since_ms;     /* when it said READY */
    uint64_t asked_seq;    /* the last HEARTBEAT sent */
    uint64_t answered_seq; /* the last one answered */
    uint64_t answer_ms;    /* when, 0 not yet */
    int has_sources;       /* the capture process's answer: */
    uint32_t sources;      /*   live interface sources */
    uint64_t quiet_ms;     /*   the longest one went without a packet or an idle poll */
    uint64_t bad;          /* answers to nothing asked (counted, ignored) */
};
struct mon_wd_child {
    const char *name; /* "agent", "capture" */
    int capture;      /* its answer says how its sources are */
    int ready;        /* running and READY in this start */
    const struct mon_hb *hb;
};
/* After sdn_init(): the intervals from WATCHDOG_USEC. */
void mon_wd_init(uint64_t now_ms);
/* How long poll() may wait for the next heartbeat or feed. */
int mon_wd_timeout_ms(uint64_t now_ms);
/* 1 when heartbeats are due now (then not again before the next interval). */
int mon_hb_due(uint64_t now_ms);
void mon_hb_start(struct mon_hb *h, uint64_t now_ms); /* the child said READY */
void mon_hb_stop(struct mon_hb *h);                   /* it died */
/* Queues a HEARTBEAT on ch if the child is asked (0), -1 if the channel refused it. */
int mon_hb_ask(struct ipc_chan *ch, struct mon_hb *h);
/* The child's HEARTBEAT: 0 taken, -1 answers nothing asked (counted in h->bad). */
int mon_hb_answer(struct mon_hb *h, const struct ipc_heartbeat *a, uint64_t now_ms);
/* Feeds WATCHDOG=1 when due and every child is healthy (ready: the daemon
 * is; before, it feeds unconditionally); logs "sd" once when it stops. */
void mon_wd_check(const struct mon_wd_child *c, size_t n, int ready, uint64_t now_ms);

#endif
