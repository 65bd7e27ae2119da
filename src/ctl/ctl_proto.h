/*
 * ctl_proto.h - internal: the control server's request parser, without
 * sockets: where a request ends in the bytes a client sent, and what it asks
 * for (docs/control-protocol.md).  The server and tests/fuzz/fuzz_ctl_proto.c
 * both drive it.
 */
#ifndef PMIRRORD_CTL_PROTO_H
#define PMIRRORD_CTL_PROTO_H

#include <stddef.h>

#include "ctl_registry.h"
#include "pmirrord/ctl_wire.h"

#define CTL_LINE_MORE     (-1L) /* no LF yet: wait for more bytes */
#define CTL_LINE_TOO_LONG (-2L) /* the buffer is full and holds no LF */

/*
 * The first request in buf (len bytes received into a buffer of cap bytes):
 * returns its length without the LF and without a CR before the LF, and sets
 * *used to the bytes it takes, LF included.  buf is not modified.
 */
long ctl_find_request(const char *buf, size_t len, size_t cap, size_t *used);

/* Do the first len bytes of buf start with the word "@json"?  (For the answer
 * to a request too long to parse.) */
int ctl_request_wants_json(const char *buf, size_t len);

enum ctl_req_kind {
    CTL_REQ_EMPTY,     /* no words */
    CTL_REQ_MALFORMED, /* unbalanced quotes, too many words */
    CTL_REQ_UNKNOWN,   /* names no visible command */
    CTL_REQ_PREFIX,    /* whole words that start visible commands but name none */
    CTL_REQ_META,      /* @commands */
    CTL_REQ_ENABLE,    /* mirror-enable, in any spelling */
    CTL_REQ_COMMAND,   /* a visible command (built-in or registered) */
    CTL_REQ_EXTRA,     /* a visible command with more words than it takes: argv[0] is the
                        * first one too many */
};

struct ctl_request {
    enum ctl_req_kind kind;
    int json;                  /* "@json" came first */
    const struct ctl_cmd *cmd; /* COMMAND */
    int argc;                  /* COMMAND: its arguments; PREFIX: the words */
    char **argv;               /* argv[argc] == NULL */
    const char *secret;        /* ENABLE: the secret, possibly empty */
    size_t secret_len;
    char *words[CTL_MAX_WORDS + 1];
};

/*
 * Parses one request (a C string, without LF; split in place) for a session
 * (mirror: it has passed mirror-enable).  mirror-enable's secret is the rest
 * of the line after the keyword and its blanks, or its one quoted argument.
 */
void ctl_parse_request(const struct ctl_registry *reg, int mirror, char *line,
                       struct ctl_request *rq);

#endif
