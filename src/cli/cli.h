/*
 * cli.h - pieces of pmirrorctl shared between its one-shot and interactive modes.
 */
#ifndef PMIRRORCTL_CLI_H
#define PMIRRORCTL_CLI_H

#include <stddef.h>

#include "ctl_client.h"
#include "pmirrord/conf.h"

/* The account pmirrord runs as when the system has one (trusted by default). */
#define CLI_DAEMON_USER "pmirrord"

/* Exit statuses (documented in pmirrorctl --help and docs/control-protocol.md). */
enum {
    EX_CTL_OK = 0,
    EX_CTL_CMD = 1, /* command error or unknown command */
    EX_CTL_USAGE = 2,
    EX_CTL_CONNECT = 3, /* cannot connect, refused, connection lost */
    EX_CTL_SECRET = 4,  /* wrong mirror secret */
};

/*
 * Reads a secret: with no echo from the terminal if stdin is one (prompting
 * on stderr), else one line from stdin.  Strips the line end.  Returns its
 * length, or -1 (EOF, too long, terminal error); a line too long for buf is
 * read to its end first.  A signal that ends the process during the no-echo
 * prompt restores the terminal first.  The caller wipes buf.
 */
long cli_read_secret(const char *prompt, char *buf, size_t cap);

/* Prints an answer body: to stdout, or for a text-mode error to stderr. */
void cli_print(int json, int st, const char *body, size_t len);

/* Maps an answer status to an exit status. */
int cli_exit_status(int st);

/* What pmirrorctl knows about the session: the socket and who may serve it. */
struct cli_session {
    const char *path;
    int json;
    struct cc_trust trust;
};

/* The interactive loop; returns the exit status. */
int cli_interactive(struct cc *c, const struct cli_session *s);

/* Requests that carry a secret (passphrase.c); an "@json" first word is skipped. */
enum cli_secret_kind {
    CLI_SECRET_NONE,
    CLI_SECRET_ENABLE,   /* mirror-enable [secret] */
    CLI_SECRET_TRAPHOST, /* trap-host add ... auth PROTO PASS priv PROTO PASS */
};
enum cli_secret_kind cli_secret_kind(int argc, char **argv);

/* Where the passphrases of a trap-host add request are. */
#define CLI_TH_MAX_PASS 2
/* USM passphrases: at least 8 characters (RFC 3414 §11.2), at most what the daemon's
 * trapHost parser keeps (struct pm_traphost_conf, pmirrord/conf.h) */
#define CLI_PASS_MIN       8
#define CLI_PASS_MAX_CHARS (sizeof(((struct pm_traphost_conf *)0)->auth_pass) - 1)
#define CLI_PASS_MAX       (CLI_PASS_MAX_CHARS + 3) /* buffer: room to see "too long" */
/* mirror secrets hash-secret accepts: at least this many characters */
#define CLI_SECRET_MIN 8
enum cli_pass_how {
    CLI_PASS_OMITTED, /* "auth SHA-256" then a keyword or the end: read it */
    CLI_PASS_DASH,    /* "auth SHA-256 -": read it */
    CLI_PASS_GIVEN,   /* the passphrase itself is among the words */
};
struct cli_th {
    int n;
    struct cli_th_slot {
        const char *what; /* "auth" or "priv" */
        int proto;        /* index of the PROTO word the passphrase follows */
        enum cli_pass_how how;
    } slot[CLI_TH_MAX_PASS];
};

/* 1 and th filled if the words are a trap-host add request, else 0. */
int cli_th_scan(int argc, char **argv, struct cli_th *th);
/* Does the request hold a passphrase itself?  How many are to be read? */
int cli_th_given(const struct cli_th *th);
int cli_th_to_read(const struct cli_th *th);
/*
 * Builds the request line from the words (prefix, e.g. "@json", first if not
 * NULL), with every passphrase that is "-" or omitted read by
 * cli_read_secret() in the order of the words.  0, or -1 with err filled (no
 * passphrase read, too long); line is wiped on error and the caller wipes it
 * after use.
 */
int cli_th_line(int argc, char **argv, const struct cli_th *th, const char *prefix, char *line,
                size_t cap, char *err, size_t errlen);

#endif
