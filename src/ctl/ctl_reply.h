/*
 * ctl_reply.h - internal: reply items collected by handlers and their text or
 * JSON rendering (the public helpers are in pmirrord/ctl_server.h), plus the
 * growable byte buffer the control server and the client share.
 */
#ifndef PMIRRORD_CTL_REPLY_H
#define PMIRRORD_CTL_REPLY_H

#include <stddef.h>

#include "pmirrord/ctl_server.h"

struct sbuf {
    char *p;
    size_t len, cap;
    int oom;
};

void sbuf_add(struct sbuf *b, const void *data, size_t n);
void sbuf_addstr(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) PM_PRINTF(2, 3);
/* Appends s as a JSON string literal (quotes included); invalid UTF-8 becomes U+FFFD. */
void sbuf_json_str(struct sbuf *b, const char *s);
/* Wipes (OPENSSL_cleanse) and frees. */
void sbuf_free(struct sbuf *b);

struct reply_item;

struct ctl_reply {
    int json;
    struct ctl_peer peer;
    int failed;
    int oom;
    char *error;
    struct reply_item *items;
    size_t nitems, cap;
};

void ctl_reply_init(struct ctl_reply *r, int json);
/* Wipes and frees every item. */
void ctl_reply_clear(struct ctl_reply *r);
/*
 * Renders the reply body into out.  status_word is the JSON "status" of a
 * successful reply ("ok", "bye"); a failed reply renders as an error.
 */
void ctl_reply_render(const struct ctl_reply *r, const char *status_word, struct sbuf *out);
/* A failure body with a fixed JSON status ("error", "denied"). */
void ctl_reply_render_error(int json, const char *status_word, const char *msg, struct sbuf *out);

#endif
