/*
 * ctl_client.h - pmirrorctl's side of the control protocol
 * (docs/control-protocol.md): connect, send one request line, read one frame.
 */
#ifndef PMIRRORCTL_CTL_CLIENT_H
#define PMIRRORCTL_CTL_CLIENT_H

#include <stddef.h>

#include "pmirrord/ctl_wire.h"

struct cc {
    int fd;
    char rbuf[CTL_MAX_HEADER]; /* bytes read past a header line */
    size_t rlen;
};

/*
 * Connects and reads the greeting.  Returns 0 when admitted; -1 when the
 * socket cannot be reached; -2 when the server refused us (err then holds
 * its message).
 */
int cc_connect(struct cc *c, const char *path, char *err, size_t errlen);

/*
 * Sends `line` (no LF inside) and reads the answer.  *body is malloc'd and
 * NUL-terminated; the caller frees it.  Returns 0, or -1 with err filled
 * (connection lost, malformed answer).
 */
int cc_request(struct cc *c, const char *line, enum ctl_status *st, char **body, size_t *len,
               char *err, size_t errlen);

void cc_close(struct cc *c);

#endif
