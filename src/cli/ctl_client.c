/*
 * ctl_client.c - blocking client for the control socket (see ctl_client.h).
 */
#include "ctl_client.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>

/* Longer than the server's longest mirror-enable backoff (30 s). */
#define REPLY_TIMEOUT_S 120

static int read_some(struct cc *c, char *dst, size_t want, char *err, size_t errlen)
{
    size_t got = 0;
    if (c->rlen > 0) {
        got = c->rlen < want ? c->rlen : want;
        memcpy(dst, c->rbuf, got);
        memmove(c->rbuf, c->rbuf + got, c->rlen - got);
        c->rlen -= got;
    }
    while (got < want) {
        ssize_t n = recv(c->fd, dst + got, want - got, 0);
        if (n == 0) {
            snprintf(err, errlen, "the server closed the connection");
            return -1;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            snprintf(err, errlen, "read from the control socket: %s",
                     errno == EAGAIN ? "timed out" : strerror(errno));
            return -1;
        }
        got += (size_t)n;
    }
    return 0;
}

/* Reads "<STATUS> <len>\n" then the body. */
static int read_frame(struct cc *c, enum ctl_status *st, char **body, size_t *len, char *err,
                      size_t errlen)
{
    char hdr[CTL_MAX_HEADER];
    size_t n = 0;
    for (;;) {
        if (n + 1 >= sizeof hdr) {
            snprintf(err, errlen, "malformed answer from the server");
            return -1;
        }
        if (read_some(c, hdr + n, 1, err, errlen) < 0)
            return -1;
        if (hdr[n++] == '\n')
            break;
    }
    hdr[n] = '\0';
    if (ctl_frame_parse_header(hdr, st, len) < 0) {
        snprintf(err, errlen, "malformed answer from the server");
        return -1;
    }
    *body = malloc(*len + 1);
    if (*body == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (read_some(c, *body, *len, err, errlen) < 0) {
        free(*body);
        *body = NULL;
        return -1;
    }
    (*body)[*len] = '\0';
    return 0;
}

int cc_connect(struct cc *c, const char *path, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        snprintf(err, errlen, "%s: socket path too long", path);
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        /* The socket is 0660 root:controlGroup in a 0750 directory (README). */
        int e = errno;
        snprintf(err, errlen, "cannot connect to %s: %s%s", path, strerror(e),
                 e == EACCES ? ": are you root or a member of the control group (controlGroup "
                               "in pmirrord.conf)?"
                             : "");
        cc_close(c);
        return -1;
    }
    /* The credentials the server had at listen() (socket(7), SO_PEERCRED). */
    struct ucred uc;
    socklen_t ulen = sizeof uc;
    if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &uc, &ulen) == 0 && ulen == sizeof uc) {
        c->peer_known = 1;
        c->peer_uid = uc.uid;
    }
    struct timeval tv = {REPLY_TIMEOUT_S, 0};
    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    enum ctl_status st;
    char *body = NULL;
    size_t len;
    if (read_frame(c, &st, &body, &len, err, errlen) < 0) {
        cc_close(c);
        return -1;
    }
    int rc = 0;
    if (st == CTL_ST_REFUSED) {
        snprintf(err, errlen, "%s: refused: %.*s", path, (int)strcspn(body, "\n"), body);
        rc = -2;
    } else if (st != CTL_ST_HELLO) {
        snprintf(err, errlen, "%s: unexpected greeting", path);
        rc = -1;
    }
    free(body);
    if (rc < 0)
        cc_close(c);
    return rc;
}

int cc_request(struct cc *c, const char *line, enum ctl_status *st, char **body, size_t *len,
               char *err, size_t errlen)
{
    size_t l = strlen(line);
    if (l + 1 > CTL_MAX_REQUEST || memchr(line, '\n', l) != NULL) {
        snprintf(err, errlen, "request too long or has a line break");
        return -1;
    }
    char buf[CTL_MAX_REQUEST];
    memcpy(buf, line, l);
    buf[l] = '\n';
    size_t off = 0;
    while (off < l + 1) {
        ssize_t n = send(c->fd, buf + off, l + 1 - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            OPENSSL_cleanse(buf, sizeof buf);
            snprintf(err, errlen, "write to the control socket: %s", strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    OPENSSL_cleanse(buf, sizeof buf); /* may hold a secret */
    return read_frame(c, st, body, len, err, errlen);
}

int cc_check_server(const struct cc *c, const struct cc_trust *t, const char *path, char *err,
                    size_t errlen)
{
    if (!c->peer_known) {
        snprintf(err, errlen,
                 "%s: cannot tell who serves this socket (SO_PEERCRED): not sending the secret",
                 path);
        return -1;
    }
    if (c->peer_uid == 0)
        return 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->uid[i] == c->peer_uid)
            return 0;
    const struct passwd *pw = t->n == 0 && t->fallback != NULL ? getpwnam(t->fallback) : NULL;
    if (pw != NULL && pw->pw_uid == c->peer_uid)
        return 0;
    char trusted[300];
    snprintf(trusted, sizeof trusted, "root%s%s", t->n > 0 || pw != NULL ? " or " : "",
             t->n > 0     ? t->names
             : pw != NULL ? t->fallback
                          : "");
    pw = getpwuid(c->peer_uid);
    snprintf(err, errlen,
             "%s is served by uid %u (%s), not by %s: not sending the secret. If pmirrord runs "
             "as that user, say so with --server-user USER",
             path, (unsigned)c->peer_uid, pw != NULL ? pw->pw_name : "no such user", trusted);
    return -1;
}

void cc_close(struct cc *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}
