/*
 * ctl_wire.h - control-socket framing, shared by the server (src/ctl/) and
 * the client (pmirrorctl).  docs/control-protocol.md is the reference.
 *
 * Request:  one line of text, at most CTL_MAX_REQUEST bytes including the LF.
 *           An optional first word "@json" asks for a JSON body.
 * Response: "<STATUS> <length>\n" followed by exactly <length> bytes of body.
 */
#ifndef PMIRRORD_CTL_WIRE_H
#define PMIRRORD_CTL_WIRE_H

#include <stddef.h>

#define CTL_PROTO_VERSION 1
#define CTL_MAX_REQUEST   4096u              /* bytes, including the LF */
#define CTL_MAX_RESPONSE  (4u * 1024 * 1024) /* body bytes */
#define CTL_MAX_HEADER    32u                /* "REFUSED 4194304\n" and room */
#define CTL_MAX_WORDS     32                 /* words in one request */
#define CTL_JSON_PREFIX   "@json"
#define CTL_META_COMMANDS "@commands"

enum ctl_status {
    CTL_ST_HELLO = 0, /* greeting after an admitted connect */
    CTL_ST_OK,        /* command succeeded */
    CTL_ST_ERR,       /* command failed, unknown command, malformed request */
    CTL_ST_DENIED,    /* mirror-enable: wrong secret */
    CTL_ST_REFUSED,   /* peer not admitted (or server full); the server closes */
    CTL_ST_BYE,       /* answer to exit; the server closes */
};

const char *ctl_status_name(enum ctl_status st);

/* Writes "<STATUS> <len>\n" into buf (CTL_MAX_HEADER bytes); returns its length. */
size_t ctl_frame_header(char *buf, enum ctl_status st, size_t len);

/*
 * Parses a header line (without or with the LF).  Returns 0 and fills st/len,
 * or -1 if the line is not a valid header or len > CTL_MAX_RESPONSE.
 */
int ctl_frame_parse_header(const char *line, enum ctl_status *st, size_t *len);

/*
 * Splits a request line in place into words: blanks separate words; a word
 * may be double-quoted, with \" and \\ escapes inside the quotes.  Returns the
 * number of words, or -1 (unterminated quote, more than max words).
 */
int ctl_split_words(char *line, char **argv, int max);

/*
 * Appends `word` to buf (size cap, NUL-terminated), quoting it if it holds a
 * blank, a quote, a backslash or is empty.  Returns 0, or -1 if it does not fit.
 */
int ctl_quote_word(char *buf, size_t cap, const char *word);

#endif
