/*
 * ipc.h - the record protocol between pmirrord's processes (monitor, agent,
 * capture) and the channel that carries it over an AF_UNIX SOCK_SEQPACKET
 * socketpair.  Every byte is described in docs/ipc-protocol.md.
 *
 * Codec (src/ipc/ipc_msg.c): typed records <-> wire bytes.  One SEQPACKET
 * message is one batch: a 12-octet header and records; a record is an
 * 8-octet header and a body of TLV fields.  The receiver treats every byte
 * as untrusted: a framing error rejects the batch, a schema error rejects
 * the record, each counted by reason (enum ipc_reject); nothing aborts.
 *
 * Channel (src/ipc/ipc_chan.c): records are queued into a batch, sent with
 * MSG_DONTWAIT; while the socket is full, batches wait in a backlog bounded
 * in bytes, and beyond it records are dropped and counted ("path full").
 * Nothing blocks.  Descriptors travel as SCM_RIGHTS, each announced by an
 * FD record of the same message.
 *
 * Buffers that held record bytes are wiped (OPENSSL_cleanse) after they are
 * sent or parsed: records may carry intercept data and secrets.
 */
#ifndef PMIRRORD_IPC_H
#define PMIRRORD_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "pmirrord/pm_event.h"
#include "pmirrord/intercept.h"

#define IPC_MAGIC0      0x50 /* "PMIP" */
#define IPC_MAGIC1      0x4d
#define IPC_MAGIC2      0x49
#define IPC_MAGIC3      0x50
#define IPC_VERSION     1
#define IPC_BATCH_HDR   12
#define IPC_REC_HDR     8
#define IPC_TLV_HDR     4
#define IPC_MSG_MAX     65536u /* a whole message, header included */
#define IPC_REC_MAX     32768u /* a record's body */
#define IPC_BATCH_RECS  1024u  /* records in one batch */
#define IPC_FDS_MAX     8u     /* descriptors in one message */
#define IPC_SOCKBUF_MIN 131072 /* least socket buffer ipc_socketpair() sets */
#define IPC_TAGS_MAX    64u    /* schema tags are 1..63 */
#define IPC_NAME_MAX    63u    /* STATS source and counter names, LIST names, CONFIG keys */
#define IPC_MLOG_MAX    4095u
#define IPC_CONFIG_MAX  4095u
#define IPC_ROW_MAX     1024u
#define IPC_ROWS_MAX    128u
#define IPC_COUNTER_MAX 128u
#define IPC_FDNAME_MAX  255u
#define IPC_TRIG_MAX    255u /* TriggerString, as the MIB's DisplayString */
#define IPC_POLICY_MAX  40u  /* PolicyName */
#define IPC_FILTER_MAX  255u /* LIST_REQ filter */

enum ipc_type {
    IPC_HELLO = 1,
    IPC_EVENT = 2,
    IPC_MLOG = 3,
    IPC_STATS = 4,
    IPC_TRIGGER_SET = 5,
    IPC_TRIGGER_ACK = 6,
    IPC_HEARTBEAT = 7,
    IPC_LIST_REQ = 8,
    IPC_LIST_PAGE = 9,
    IPC_CONFIG = 10,
    IPC_FD = 11,
    IPC_STATUS = 12,    /* child -> monitor: ready, or failed to start (and why) */
    IPC_PRIV_REQ = 13,  /* agent -> monitor: open something only root can (AgentX socket) */
    IPC_PRIV_FAIL = 14, /* monitor -> agent: that request failed (errno and a sentence) */
    IPC_INTERCEPT = 15, /* capture -> agent: an intercept began/ended; agent -> capture: restore */
};
#define IPC_TYPE_MIN 1
#define IPC_TYPE_MAX 15

/* Record flags (the record header's flags field); other bits must be 0. */
#define IPC_F_BEGIN 0x0001 /* TRIGGER_SET, CONFIG: first record of a table/slice */
#define IPC_F_END   0x0002 /* TRIGGER_SET, CONFIG: last record of a table/slice */
#define IPC_F_EMPTY 0x0004 /* TRIGGER_SET: carries no entry (an empty table) */
/* INTERCEPT: exactly one of these */
#define IPC_F_ICPT_UP      0x0008 /* capture -> agent: a RADIUS-provisioned intercept began */
#define IPC_F_ICPT_DOWN    0x0010 /* capture -> agent: it ended */
#define IPC_F_ICPT_RESTORE 0x0020 /* agent -> capture: one the agent kept, to take back */
/* CONFIG (reload slice only): the line is unchanged since the child's running
 * slice; value is the lowercase hex SHA-256 of its text (conf_slice.h). */
#define IPC_F_SAME 0x0040

enum ipc_role { IPC_ROLE_MONITOR = 1, IPC_ROLE_AGENT = 2, IPC_ROLE_CAPTURE = 3 };

enum ipc_fd_purpose {
    IPC_FD_CONTROL_LISTEN = 1, /* the bound, listening control socket */
    IPC_FD_AGENTX = 2,         /* a connected AgentX master socket */
    IPC_FD_PCAP_FILE = 3,      /* an offline capture file opened for reading */
    IPC_FD_PEER_CHAN = 4,      /* one end of a socketpair to the other child (agent <-> capture) */
    IPC_FD_TEST_FIFO = 5,      /* test builds only: the pm_evtestd FIFO, opened read-write */
    IPC_FD_START_LOG = 6,      /* the pipe to the command that started the daemon, until ready */
};
#define IPC_FD_PURPOSE_MAX 6

/* STATUS states */
enum ipc_status_state {
    IPC_STATUS_READY = 1,
    IPC_STATUS_FAILED = 2,
    IPC_STATUS_RELOADED = 3, /* child -> monitor: a reload slice applied; text: what changed */
    IPC_STATUS_RELOAD_FAILED =
        4, /* child -> monitor: refused, the running config stays; text: why */
};
/* PRIV_REQ: what the agent asks the monitor to open */
enum ipc_priv_what { IPC_PRIV_AGENTX = 1 };
#define IPC_PRIV_WHAT_MAX 1

/* Why a batch or a record was refused; docs/ipc-protocol.md, "Validation". */
enum ipc_reject {
    /* the whole batch */
    IPC_REJ_SHORT = 0, /* fewer octets than a batch header */
    IPC_REJ_MAGIC,     /* not "PMIP" */
    IPC_REJ_VERSION,   /* another protocol version */
    IPC_REJ_LENGTH,    /* header length != message length, or > IPC_MSG_MAX, or cut */
    IPC_REJ_FRAMING,   /* a record header or body runs past the batch */
    IPC_REJ_COUNT,     /* records found != record count (or count 0 or too big) */
    /* one record */
    IPC_REJ_TYPE,       /* unknown record type */
    IPC_REJ_FLAGS,      /* a flag the type does not define */
    IPC_REJ_REC_SIZE,   /* body longer than IPC_REC_MAX */
    IPC_REJ_TLV,        /* a field runs past the record body */
    IPC_REJ_DUPLICATE,  /* a tag twice (where it is not a list) */
    IPC_REJ_REPEAT,     /* a list tag more often than allowed */
    IPC_REJ_MISSING,    /* a required tag absent */
    IPC_REJ_WIDTH,      /* integer or address field of the wrong length */
    IPC_REJ_RANGE,      /* integer or enumeration outside its range */
    IPC_REJ_TEXT,       /* text not UTF-8 or with a control character */
    IPC_REJ_SIZE,       /* text (or a counter name) too long or too short */
    IPC_REJ_SEMANTIC,   /* a rule across fields (docs: per type) */
    IPC_REJ_FD_MISSING, /* an FD record without its descriptor */
    IPC_REJ_NREASONS,   /* number of reasons, not a reason */
};

/* A string slice into a message (valid during the callback only). */
struct ipc_slice {
    const char *s;
    size_t len;
};

struct ipc_hello {
    uint16_t version;
    uint8_t role; /* enum ipc_role */
    uint32_t pid;
    uint64_t generation;
};

struct ipc_mlog {
    int64_t sec; /* CLOCK_REALTIME */
    uint32_t nsec;
    char text[IPC_MLOG_MAX + 1];
};

struct ipc_counter {
    char name[IPC_NAME_MAX + 1];
    uint64_t value;
};

struct ipc_stats {
    char source[IPC_NAME_MAX + 1];
    size_t ncounters;
    struct ipc_counter counters[IPC_COUNTER_MAX];
};

/* One trigger table entry: a `mirror` rule (trigger.h) and where it came from. */
struct ipc_trigger {
    uint8_t config_source; /* MIB ConfigurationSource: cliTrigger(2), cliStatic(3) */
    struct pm_trigger rule;
};

struct ipc_trigger_set {
    uint64_t generation;
    struct ipc_trigger entry; /* unused with IPC_F_EMPTY */
};

/* INTERCEPT (intercept.h); the flag says UP, DOWN or RESTORE. */
struct ipc_intercept {
    struct pm_intercept ic;
};

struct ipc_trigger_ack {
    uint64_t generation;
    uint32_t entries;
};

struct ipc_heartbeat {
    uint64_t seq;
    uint64_t mono_ms; /* CLOCK_MONOTONIC of the sender, milliseconds */
    /* The capture process's answer to the monitor (docs/systemd.md): its live
     * interface sources and the longest time one of them went without a
     * packet or an idle poll.  Absent elsewhere. */
    int has_sources;
    uint32_t sources;
    uint64_t quiet_ms;
};

struct ipc_list_req {
    uint32_t request_id;
    char list[IPC_NAME_MAX + 1]; /* which listing: "subscribers", "sources"... */
    uint32_t offset;
    uint32_t max_rows;
    char filter[IPC_FILTER_MAX + 1]; /* "" when none: the listing says what it means */
};

struct ipc_list_page {
    uint32_t request_id;
    uint32_t offset;
    uint8_t more; /* 1: rows after these */
    int has_total;
    uint32_t total; /* rows in the whole listing (after the filter) */
    int has_count;
    uint32_t count; /* what the listing counts before the filter (e.g. sessions held) */
    size_t nrows;
    struct ipc_slice rows[IPC_ROWS_MAX];
};

struct ipc_config {
    char key[IPC_NAME_MAX + 1];
    char value[IPC_CONFIG_MAX + 1]; /* may be a secret: wiped after the callback */
    uint32_t line;                  /* config file line, 0 if none */
};

struct ipc_fd {
    uint16_t purpose; /* enum ipc_fd_purpose */
    uint32_t id;      /* which source etc., 0 if none */
    char name[IPC_FDNAME_MAX + 1];
    int fd; /* receive side: the descriptor (see ipc_rec_fn) */
};

struct ipc_status {
    uint8_t state;               /* enum ipc_status_state */
    char text[IPC_MLOG_MAX + 1]; /* FAILED: why ("" if nothing to say) */
};
struct ipc_priv_req {
    uint32_t request_id;
    uint16_t what; /* enum ipc_priv_what */
};
struct ipc_priv_fail {
    uint32_t request_id;
    uint32_t err_no; /* errno of the failed open, 0 if none */
    char text[IPC_MLOG_MAX + 1];
};
struct ipc_rec {
    uint16_t type; /* enum ipc_type */
    uint16_t flags;
    union {
        struct ipc_hello hello;
        struct pm_event event;
        struct ipc_mlog mlog;
        struct ipc_stats stats;
        struct ipc_trigger_set trigger_set;
        struct ipc_trigger_ack trigger_ack;
        struct ipc_heartbeat heartbeat;
        struct ipc_list_req list_req;
        struct ipc_list_page list_page;
        struct ipc_config config;
        struct ipc_fd fd;
        struct ipc_status status;
        struct ipc_priv_req priv_req;
        struct ipc_priv_fail priv_fail;
        struct ipc_intercept intercept;
    } u;
};

/* Receive counters (the codec adds to them; the channel keeps one). */
struct ipc_rx_counts {
    uint64_t batches; /* messages whose framing was valid */
    uint64_t records; /* records handed to the callback */
    uint64_t rejects[IPC_REJ_NREASONS];
    uint64_t fds_closed; /* descriptors not announced, or of a refused record */
};

/*
 * Called once per valid record.  For IPC_FD the callback owns rec->u.fd.fd
 * only if it sets it to -1 in rec ("taken"); otherwise it is closed after the
 * callback returns.  The record is wiped after the callback.
 */
typedef void (*ipc_rec_fn)(struct ipc_rec *rec, void *arg);

/* ---- codec (ipc_msg.c) --------------------------------------------------- */

/* "SHORT", "DUPLICATE"...; NULL when out of range. */
const char *ipc_reject_name(enum ipc_reject r);
/* "HELLO", "EVENT"...; NULL when unknown. */
const char *ipc_type_name(unsigned type);

/*
 * Encodes one record (header and body) into out.  The record is checked
 * against its schema exactly as a receiver would (an encoder bug or a bad
 * value never reaches the wire).  Returns the octets written, or -1 with a
 * sentence in err (never a string's contents: err may be logged).
 */
ssize_t ipc_rec_encode(const struct ipc_rec *rec, uint8_t *out, size_t outlen, char *err,
                       size_t errlen) __attribute__((warn_unused_result));

/* Writes a batch header for count records and len octets in all. */
void ipc_batch_header(uint8_t out[IPC_BATCH_HDR], uint16_t count, uint32_t len);

/*
 * Validates one message and hands every valid record to fn.  fds[0..nfds)
 * are the descriptors that came with it: the k-th FD record takes fds[k];
 * descriptors no valid FD record takes are closed and counted.  Returns the
 * number of records handed to fn, or -1 if the batch was refused (counted in
 * c->rejects; every descriptor closed).  Does not wipe msg.
 */
int ipc_batch_parse(const uint8_t *msg, size_t len, const int *fds, size_t nfds, ipc_rec_fn fn,
                    void *arg, struct ipc_rx_counts *c);

/* ---- channel (ipc_chan.c) ------------------------------------------------ */

struct ipc_chan;

/* Path-full notices: BEGIN on the first record dropped, END (with the number
 * dropped meanwhile) when a record is queued again. */
enum ipc_full_state { IPC_FULL_BEGIN = 1, IPC_FULL_END = 2 };
typedef void (*ipc_full_fn)(enum ipc_full_state st, unsigned type, uint64_t dropped, void *arg);

struct ipc_chan_stats {
    uint64_t tx_batches, tx_records, tx_bytes, tx_fds;
    uint64_t tx_full_drops[IPC_TYPE_MAX + 1]; /* path full, per record type */
    uint64_t tx_invalid;                      /* records the encoder refused */
    uint64_t tx_errors;                       /* send failures other than a full socket */
    size_t backlog_bytes;                     /* queued, not yet sent (the path's depth) */
    size_t backlog_peak;
    uint64_t rx_bytes, rx_fds;
    struct ipc_rx_counts rx;
};

/*
 * A channel over fd (one end of ipc_socketpair(); the channel owns it and
 * closes it in ipc_chan_free()).  backlog: bytes that may wait while the
 * socket is full (at least IPC_MSG_MAX is used).  full_fn may be NULL.
 * Batches are kept below the socket's SO_SNDBUF as read here (the kernel
 * refuses a SEQPACKET message longer than the send buffer with EMSGSIZE).
 */
struct ipc_chan *ipc_chan_new(int fd, size_t backlog, ipc_full_fn full_fn, void *full_arg,
                              char *err, size_t errlen);
void ipc_chan_free(struct ipc_chan *ch);
int ipc_chan_fd(const struct ipc_chan *ch);

/*
 * Queues a record into the current batch (starting a new one when it is
 * full).  0 queued; -1 dropped: path full (counted, full_fn told) or invalid
 * (err filled).  Never blocks, never sends: see ipc_chan_flush().
 */
int ipc_chan_put(struct ipc_chan *ch, const struct ipc_rec *rec, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* The same for an IPC_FD record: fd is duplicated (the caller keeps its own). */
int ipc_chan_put_fd(struct ipc_chan *ch, const struct ipc_rec *rec, int fd, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/*
 * Sends queued batches (MSG_DONTWAIT | MSG_NOSIGNAL) until the socket is
 * full.  Returns 0 when nothing is left, 1 when a backlog remains (poll for
 * POLLOUT and flush again), -1 on a socket error (errno; e.g. EPIPE when the
 * peer is gone).
 */
int ipc_chan_flush(struct ipc_chan *ch);
/* 1 while batches wait to be sent. */
int ipc_chan_pending(const struct ipc_chan *ch);

/*
 * Reads one message (MSG_DONTWAIT | MSG_CMSG_CLOEXEC) and hands its valid
 * records to fn.  Returns 1 when a message was read (valid or not), 0 at
 * end of file (peer closed), -1 with errno (EAGAIN: nothing to read).
 */
int ipc_chan_recv(struct ipc_chan *ch, ipc_rec_fn fn, void *arg);

/* Queues a HEARTBEAT with seq and the current CLOCK_MONOTONIC. */
int ipc_chan_heartbeat(struct ipc_chan *ch, uint64_t seq) __attribute__((warn_unused_result));

void ipc_chan_get_stats(const struct ipc_chan *ch, struct ipc_chan_stats *out);

/*
 * A SOCK_SEQPACKET | SOCK_CLOEXEC socketpair.  With bufsize > 0 both ends'
 * SO_SNDBUF and SO_RCVBUF are set to it (at least IPC_SOCKBUF_MIN, so that
 * a batch of IPC_MSG_MAX fits), with the *FORCE variants when
 * privileged (CAP_NET_ADMIN, i.e. root) so net.core.wmem_max does not cap
 * it, and the plain options otherwise.  0, or -1 with err filled.
 */
int ipc_socketpair(int sv[2], int bufsize, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
