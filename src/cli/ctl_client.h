/*
 * ctl_client.h - pmirrorctl's side of the control protocol
 * (docs/control-protocol.md): connect, send one request line, read one frame.
 */
#ifndef PMIRRORCTL_CTL_CLIENT_H
#define PMIRRORCTL_CTL_CLIENT_H

#include <stddef.h>
#include <sys/types.h>

#include "pmirrord/ctl_wire.h"

/*
 * Who may serve the socket pmirrorctl hands a secret to: uid 0 and the users
 * in uid[]; with none there, the account `fallback` if the system has one
 * (looked up only when the server is not root: NSS costs a process start).
 */
#define CC_MAX_SERVER_UIDS 8
struct cc_trust {
    uid_t uid[CC_MAX_SERVER_UIDS];
    size_t n;
    const char *fallback;
    char names[256]; /* "pmirrord or 999", for messages */
};

struct cc {
    int fd;
    int peer_known;            /* SO_PEERCRED answered */
    uid_t peer_uid;            /* the server's uid when it called listen() (socket(7)) */
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

/*
 * Before a secret or a passphrase goes out: 0 when the server is uid 0 or a
 * uid in t; -1 with err filled otherwise (a control socket path is only as
 * trustworthy as its directories: someone else's listener must not collect
 * the mirror secret).
 */
int cc_check_server(const struct cc *c, const struct cc_trust *t, const char *path, char *err,
                    size_t errlen);

void cc_close(struct cc *c);

#endif
