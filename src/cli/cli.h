/*
 * cli.h - pieces of pmirrorctl shared between its one-shot and interactive modes.
 */
#ifndef PMIRRORCTL_CLI_H
#define PMIRRORCTL_CLI_H

#include <stddef.h>

#include "ctl_client.h"

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
 * length, or -1 (EOF, too long, terminal error).  The caller wipes buf.
 */
long cli_read_secret(const char *prompt, char *buf, size_t cap);

/* Prints an answer body: to stdout, or for a text-mode error to stderr. */
void cli_print(int json, int st, const char *body, size_t len);

/* Maps an answer status to an exit status. */
int cli_exit_status(int st);

/* The interactive loop; returns the exit status. */
int cli_interactive(struct cc *c, const char *path, int json);

#endif
