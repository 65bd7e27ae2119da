/*
 * conf_slice.h - a child's part of the configuration, sent by the monitor as
 * CONFIG records (docs/process-model.md "Configuration slices",
 * docs/ipc-protocol.md CONFIG).
 *
 * Sender (the monitor): conf_slice_send() reads and validates the file with
 * conf_load_lines() (conf.h), then queues on the child's monitor channel
 *
 *   CONFIG flags BEGIN   key "file"       value PATH           line 0
 *   CONFIG               key DIRECTIVE    value the line text  line N   (one per line)
 *   ... the caller's FD records (ipc_chan_put_fd) ...
 *   CONFIG flags END     key "end"        value ""             line 0   (conf_slice_send_end)
 *
 * END means "everything for this start has been sent": the FD records come
 * before it.  The lines of the other process never leave the monitor.
 *
 * Receiver (a child): conf_slice_new(), then conf_slice_rec() for every
 * CONFIG record (it answers when END has come), then conf_slice_load(), which
 * rebuilds the text with every line at its own number (blank lines between)
 * and parses it with conf_load_buffer() under the file's name: an error names
 * the same FILE:LINE as in the file.  conf_slice_free() wipes every line
 * (they hold USM passphrases, the mirror secret's hash, RADIUS secrets).
 *
 * Every record is untrusted input: out-of-order, duplicate or oversized lines
 * are refused with a sentence in err, never fatal.
 */
#ifndef PMIRRORD_CONF_SLICE_H
#define PMIRRORD_CONF_SLICE_H

#include <stddef.h>
#include <stdint.h>

struct conf_slice;
struct ipc_chan;
struct ipc_rec;
struct pm_conf;

#define CONF_SLICE_LINES_MAX 100000u    /* highest line number accepted */
#define CONF_SLICE_BYTES_MAX (1u << 20) /* text of all lines */
#define CONF_SLICE_KEY_FILE  "file"     /* BEGIN record's key */
#define CONF_SLICE_KEY_END   "end"      /* END record's key */
/* The capture slice's last line (line 0, no directive): the analyzer ports of
 * the file's `mirror` rules, "P1 P2 ..." (conf_mirror.h); absent without rules. */
#define CONF_SLICE_KEY_PORTS "mirror-ports"

/*
 * Reload (SIGHUP; docs/reload.md).  The monitor keeps, per child, the
 * SHA-256 of every line it last sent (struct conf_digests: no text, no
 * secret).  On a reload that validates it queues, for a child whose lines
 * differ (as a list in order, line numbers aside; otherwise nothing at all):
 *
 *   CONFIG flags BEGIN   key "reload"     value PATH                 line 0
 *   CONFIG               key DIRECTIVE    value the line text        line N   (new or changed)
 *   CONFIG flags SAME    key DIRECTIVE    value hex SHA-256 of text  line N   (unchanged)
 *   CONFIG flags END     key "end"        value ""                   line 0
 *
 * so an unchanged line, a passphrase's for instance, is never sent again.
 * The child keeps its running slice's lines, finds each SAME line's text by
 * its digest (an unknown digest refuses the reload), parses the new text
 * with the same parser and applies only the difference, then answers
 * STATUS RELOADED (text: what changed, counts only) or RELOAD_FAILED (why;
 * its running configuration stays).  A child restarted later gets the whole
 * file again, as at every start.
 */
#define CONF_SLICE_KEY_RELOAD "reload" /* a reload slice's BEGIN key */
#define CONF_DIGEST_LEN       32u
struct conf_digests {
    uint8_t (*d)[CONF_DIGEST_LEN];
    size_t n;
};
/* SHA-256 of a line's text (len octets). */
void conf_line_digest(const char *text, size_t len, uint8_t out[CONF_DIGEST_LEN]);
void conf_digests_free(struct conf_digests *cd);
/* 1 if a and b hold the same digests in the same order. */
int conf_digests_equal(const struct conf_digests *a, const struct conf_digests *b);
/* Lowercase hex, 64 digits and a NUL. */
void conf_digest_hex(const uint8_t d[CONF_DIGEST_LEN], char out[CONF_DIGEST_LEN * 2 + 1]);

/*
 * Monitor, reload: the whole file read and validated once with
 * conf_load_lines() into a slice that holds every line with its directive
 * and destination (and the analyzer ports of the `mirror` rules); c receives
 * the parsed configuration (the caller conf_free()s it).  NULL with
 * "FILE:LINE: message" in err.  conf_slice_free() it.
 */
struct conf_slice *conf_slice_read(const char *path, struct pm_conf *c, char *err, size_t errlen);
/* The digests, in order, of the lines of all that go to dest (the capture
 * slice's ports line counts as one: "mirror-ports P1 P2 ...").  0, or -1 (out
 * of memory).  conf_digests_free() it. */
int conf_slice_digests(const struct conf_slice *all, unsigned dest, struct conf_digests *out);
/* Queues the reload slice for dest on ch: BEGIN "reload", each line of dest
 * (SAME with its digest when prev holds that digest, else its text), the
 * ports line (always as text), END.  nsame (may be NULL): SAME records sent.
 * 0, or -1 with err. */
int conf_slice_send_reload(struct ipc_chan *ch, const struct conf_slice *all, unsigned dest,
                           const struct conf_digests *prev, size_t *nsame, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * Child, reload: with a running slice set, conf_slice_rec() takes a reload
 * slice (BEGIN key "reload") and resolves each SAME record's text from
 * running's lines by digest (an unknown digest, or a text that is not a line
 * of the record's directive and of this process, refuses the slice).  Without
 * it, BEGIN must be "file" and SAME is refused.  running must outlive s's
 * conf_slice_rec() calls.
 */
void conf_slice_set_running(struct conf_slice *s, const struct conf_slice *running);
/* The lines' text goes into arena (len octets; e.g. pm_secure_alloc()'s
 * locked memory) instead of the heap: a line that does not fit is refused.
 * Before the first line only (else -1).  The arena stays the caller's; the
 * text in it is wiped by conf_slice_free(). */
int conf_slice_set_arena(struct conf_slice *s, void *arena, size_t len);
/* Adds src's lines (and its name) to dst.  0, or -1 with err. */
int conf_slice_copy(struct conf_slice *dst, const struct conf_slice *src, char *err, size_t errlen)
    __attribute__((warn_unused_result));
int conf_slice_is_reload(const struct conf_slice *s);
/* Lines taken from SAME records. */
size_t conf_slice_same(const struct conf_slice *s);
/* The CONF_SLICE_KEY_PORTS line's value as received, NULL if none came. */
const char *conf_slice_ports(const struct conf_slice *s);

struct conf_slice *conf_slice_new(void);
/* Only directives going to dest (enum conf_dest, conf.h) are accepted by
 * conf_slice_rec(): a child refuses another process's lines (secrets). */
void conf_slice_set_dest(struct conf_slice *s, unsigned dest);
/* 1 if text, a line sent under the directive name key, is a line of key
 * (its first word) and key goes to dest (0: any known directive). */
int conf_slice_line_for(unsigned dest, const char *key, const char *text);
/* Wipes every line and frees. NULL is allowed. */
void conf_slice_free(struct conf_slice *s);

/* Adds the text of line number `line` (1..CONF_SLICE_LINES_MAX, strictly
 * greater than the last one added; len octets, no NUL or newline in it).
 * 0, or -1 with a sentence in err. */
int conf_slice_add(struct conf_slice *s, uint32_t line, const char *text, size_t len, char *err,
                   size_t errlen) __attribute__((warn_unused_result));

/*
 * Feeds one received record (any type: what is not CONFIG returns 0 and is
 * left alone).  BEGIN takes the file name (and must come first), a line
 * record is conf_slice_add()ed, END completes the slice.  Returns 1 when END
 * has arrived, 0 when more is expected, -1 with a sentence in err for a
 * record out of place (the slice is then unusable: the child reports FAILED).
 */
int conf_slice_rec(struct conf_slice *s, const struct ipc_rec *rec, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* 1 once END has been fed. */
int conf_slice_complete(const struct conf_slice *s);
/* The file name from BEGIN ("" before it). */
const char *conf_slice_name(const struct conf_slice *s);
/* Number of lines held. */
size_t conf_slice_lines(const struct conf_slice *s);

/*
 * Parses the slice with conf_load_buffer(name, ...) (name NULL: the BEGIN
 * record's file name).  Same return and err as conf_load_buffer(): 0, or -1
 * with "FILE:LINE: message" (c then freed).  The rebuilt text is wiped.
 */
int conf_slice_load(const struct conf_slice *s, const char *name, struct pm_conf *c, char *err,
                    size_t errlen) __attribute__((warn_unused_result));

/*
 * Monitor: reads path with conf_load_lines() (every check of conf_load(),
 * FILE:LINE errors) and queues BEGIN and the lines whose directive goes to
 * dest (enum conf_dest, conf.h) on ch.  Nothing is queued if the file does
 * not validate.  c (may be NULL) receives the whole parsed configuration (the
 * caller conf_free()s it).  The caller then adds its FD records and calls
 * conf_slice_send_end().  Flushing is the caller's.  0, or -1 with err.
 */
int conf_slice_send(struct ipc_chan *ch, const char *path, unsigned dest, struct pm_conf *c,
                    char *err, size_t errlen) __attribute__((warn_unused_result));
/* conf_slice_send(), and the digests of the lines sent (dg, may be NULL:
 * conf_slice_digests(); the monitor keeps them for the next reload). */
int conf_slice_send_digests(struct ipc_chan *ch, const char *path, unsigned dest, struct pm_conf *c,
                            struct conf_digests *dg, char *err, size_t errlen)
    __attribute__((warn_unused_result));
/* Queues the END record. */
int conf_slice_send_end(struct ipc_chan *ch, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
