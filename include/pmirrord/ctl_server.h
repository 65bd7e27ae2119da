/*
 * ctl_server.h - the control socket: a local request/response server for pmirrorctl.
 *
 * The server owns one thread that polls the listening AF_UNIX socket, its
 * clients and a stop pipe.  Every peer is checked with SO_PEERCRED when it
 * connects: root, or a process whose effective or supplementary groups
 * (SO_PEERGROUPS) include the control group, is admitted; anyone else gets a
 * REFUSED frame, the connection is closed and the event callback runs.  Of
 * CTL_MAX_CLIENTS connections one is kept for root, and a uid other than 0
 * holds at most CTL_MAX_PER_UID; a client whose replies wait unread for
 * CTL_SEND_TIMEOUT_MS is closed (requests are not read while a reply waits).
 *
 * Commands are registered before ctl_server_start() and run on the server
 * thread: a handler must lock whatever it shares with other threads and must
 * not block for long (every client waits for it).
 *
 * Mirror commands (CTL_F_MIRROR) are invisible until the session has run
 * `mirror-enable <secret>`: they are missing from help and completion and
 * are answered byte for byte like an unknown command.  The secret is checked
 * against a PBKDF2 hash string (secret.h) on a worker thread, one at a time,
 * while other clients are served.  After each failure the uid's answer and
 * its next mirror-enable are held for 1 s, 2 s, 4 s ... up to 30 s (per uid,
 * reset by its success; CTL_ENABLE_MAX_UIDS uids are tracked one by one, the
 * others share one hold).
 *
 * Wire protocol: docs/control-protocol.md; framing: pmirrord/ctl_wire.h.
 *
 * Lifecycle: ctl_server_new(), ctl_server_set_*(), ctl_server_add_command()...,
 * ctl_server_start(), ... ctl_server_free() (stops the thread, unlinks the socket).
 */
#ifndef PMIRRORD_CTL_SERVER_H
#define PMIRRORD_CTL_SERVER_H

#include <stddef.h>
#include <sys/types.h>

#include "pmirrord/log.h"

#define CTL_DEFAULT_SOCKET  "/run/pmirrord/pmirrord.sock"
#define CTL_MAX_CLIENTS     16
#define CTL_F_MIRROR        0x1u /* visible and callable only after mirror-enable */
#define CTL_BACKOFF_BASE_MS 1000u
#define CTL_BACKOFF_CAP_MS  30000u
#define CTL_IDLE_TIMEOUT_MS 900000u /* 15 min without a request closes a session */
#define CTL_SEND_TIMEOUT_MS 10000u  /* output pending without progress this long closes */
#define CTL_MAX_PER_UID     4u      /* connections of one uid other than 0 */
#define CTL_ENABLE_COALESCE 16u     /* failed mirror-enable of a uid summarised in one event */
#define CTL_ENABLE_MAX_UIDS 64u     /* uids whose failures are tracked one by one */

struct ctl_server;
struct ctl_reply;

/* Who sent a request: SO_PEERCRED of the connection. */
struct ctl_peer {
    uid_t uid;
    gid_t gid;
    pid_t pid;
};

/*
 * A command handler.  argv holds the words that follow the command's own
 * words (argv[argc] == NULL); they may be modified.  Return 0 for success,
 * -1 for failure (set a message with ctl_reply_error(), or a generic one is
 * sent).
 */
typedef int (*ctl_cmd_fn)(struct ctl_reply *r, int argc, char **argv, void *arg);

/* What the event callback is told (ctl_server_set_event_cb()). */
enum ctl_event_kind {
    CTL_EV_REFUSED,         /* a peer was not admitted */
    CTL_EV_ENABLE_FAILED,   /* mirror-enable with a wrong secret: the first of a run */
    CTL_EV_ENABLE_REPEATED, /* `count` further failures of peer.uid since the last report */
    CTL_EV_ENABLE_OK,       /* mirror-enable succeeded */
};

struct ctl_event {
    enum ctl_event_kind kind;
    struct ctl_peer peer; /* REPEATED: the uid, and gid/pid of its last attempt */
    unsigned count;       /* REPEATED: failures summarised; otherwise 1 */
    const char *why;      /* in plain words, for the log */
};

typedef void (*ctl_event_fn)(const struct ctl_event *ev, void *arg);

/*
 * path: socket path (NULL: CTL_DEFAULT_SOCKET); group: control group name
 * (NULL: root only); secret_hash: mirror secret hash string (NULL: mirror-enable
 * always fails).  Checks the arguments (group exists, hash well formed) but
 * touches no file.  Returns NULL with err filled.
 */
struct ctl_server *ctl_server_new(const char *path, const char *group, const char *secret_hash,
                                  char *err, size_t errlen);

/*
 * The same over a socket that is already bound and listening (the monitor
 * binds it, docs/process-model.md): lfd must be a listening AF_UNIX stream
 * socket (it is made non-blocking and close-on-exec).  path names it in
 * messages only: the server never binds, changes (mode, owner) or unlinks
 * anything.  On success the server owns lfd (closed by ctl_server_free());
 * NULL with err filled and the caller keeps it.
 */
struct ctl_server *ctl_server_new_from_fd(int lfd, const char *path, const char *group,
                                          const char *secret_hash, char *err, size_t errlen);

/*
 * Called for every refused peer, the first failed mirror-enable of a uid, a
 * summary of its further failures (every CTL_ENABLE_COALESCE of them, and when
 * it succeeds or its backoff expires) and every successful mirror-enable.
 * Runs on the server thread.  The daemon writes these to the secure mirror log.
 */
void ctl_server_set_event_cb(struct ctl_server *s, ctl_event_fn cb, void *arg);
/* A new mirror secret hash (a reload; NULL: mirror-enable is refused from
 * now on), any thread, also while the server runs.  Clients already enabled
 * stay so.  0, or -1 with err (the old hash stays). */
int ctl_server_set_secret(struct ctl_server *s, const char *secret_hash, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Close a connection whose queued output makes no progress this long
 * (0 = CTL_SEND_TIMEOUT_MS; tests shorten it). */
void ctl_server_set_send_timeout(struct ctl_server *s, unsigned ms);

/* Connections one uid other than 0 may hold (0 = CTL_MAX_PER_UID). */
void ctl_server_set_uid_limit(struct ctl_server *s, unsigned n);

/* Close sessions idle this long (0 = CTL_IDLE_TIMEOUT_MS; tests shorten it). */
void ctl_server_set_idle_timeout(struct ctl_server *s, unsigned ms);

/* Backoff after failed mirror-enable (tests shorten it).  0 = defaults. */
void ctl_server_set_backoff(struct ctl_server *s, unsigned base_ms, unsigned cap_ms);

/*
 * Register a command.  words: literal words, whitespace-separated, optionally
 * followed by argument placeholders starting with '<' or '[' that only
 * appear in help ("trap-host add <address> [port]").  The request matches the
 * command with the longest run of literal words equal to its first words.
 * Returns 0, or -1 with err filled (duplicate, built-in name, too many words,
 * after start).
 */
int ctl_server_add_command(struct ctl_server *s, const char *words, unsigned flags,
                           const char *help, ctl_cmd_fn fn, void *arg, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Check the socket's ancestor directories (pm_check_ancestors(): no symbolic
 * link, nobody but root or us can write, sticky allowed), create the socket
 * directory if missing (0750, group = control group), remove a stale socket (one nobody answers
 * on), bind, listen, chmod 0660, chown to the control group, start the thread.  Returns 0, or -1
 * with err filled.
 */
int ctl_server_start(struct ctl_server *s, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/* Stops the thread, closes every client, unlinks the socket, frees.  NULL is fine. */
void ctl_server_free(struct ctl_server *s);

/*
 * Reply helpers for handlers.  Each call adds one item; the server renders
 * the items in order as text, or as one JSON object for "@json" requests:
 *
 *   ctl_reply_printf   free text          text: as is       JSON: "text": "<all text>"
 *   ctl_reply_kv       key: value         text: aligned     JSON: "key": "value"
 *   ctl_reply_kv_int   key: number        text: aligned     JSON: "key": 42
 *   ctl_reply_table +  a named table      text: columns     JSON: "name": [{"col": "v",...},...]
 *   ctl_reply_row      (strings, NULL-terminated)
 *   ctl_reply_kv_bool  key: word          text: the word    JSON: "key": true
 *   ctl_reply_error    failure message    text: "% msg\n"   JSON: {"status":"error","error":"msg"}
 *
 * A JSON success body is {"status":"ok", <kv and tables in order>, "text": ...}.
 * Out-of-memory is remembered and turns the reply into an error.
 *
 * Every key, table name and column is written "json_key|Text heading": text
 * shows the heading, JSON the stable snake_case key ("queue_size|Maximum
 * QueueSize"; without '|' the key is the heading).  A leading '#' makes the
 * value a JSON number: the integer its text begins with ("#severity|Severity"
 * with the text "3 - error" gives 3); a leading '?' a JSON boolean (text
 * "true" or "false").  Text that does not fit becomes null.
 */
int ctl_reply_is_json(const struct ctl_reply *r);
/* The credentials of the client whose request this reply answers. */
const struct ctl_peer *ctl_reply_peer(const struct ctl_reply *r);
void ctl_reply_printf(struct ctl_reply *r, const char *fmt, ...) PM_PRINTF(2, 3);
void ctl_reply_kv(struct ctl_reply *r, const char *key, const char *fmt, ...) PM_PRINTF(3, 4);
void ctl_reply_kv_int(struct ctl_reply *r, const char *key, long long v);
void ctl_reply_kv_bool(struct ctl_reply *r, const char *key, int v, const char *text_true,
                       const char *text_false);
void ctl_reply_table(struct ctl_reply *r, const char *name, ...) __attribute__((sentinel));
void ctl_reply_row(struct ctl_reply *r, ...) __attribute__((sentinel));
void ctl_reply_error(struct ctl_reply *r, const char *fmt, ...) PM_PRINTF(2, 3);

#endif
