/*
 * agentx_addr.c - the agentXSocket address and a bounded connect (agentx_addr.h).
 */
#include "pmirrord/agentx_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

static int parse_tcp(const char *spec, const char *s, struct agentx_addr *a, char *err,
                     size_t errlen)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    size_t n;
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (e == NULL || (e[1] != '\0' && e[1] != ':'))
            goto bad;
        n = (size_t)(e - s - 1);
        port = e[1] == ':' ? e + 2 : NULL;
        s++;
    } else {
        const char *c = strchr(s, ':');
        if (c != NULL && strchr(c + 1, ':') != NULL)
            goto bad; /* IPv6 without brackets */
        n = c != NULL ? (size_t)(c - s) : strlen(s);
        port = c != NULL ? c + 1 : NULL;
    }
    if (n == 0 || n >= sizeof(host))
        goto bad;
    memcpy(host, s, n);
    host[n] = '\0';
    unsigned long p = AGENTX_DEFAULT_PORT;
    if (port != NULL) {
        char *end;
        if (*port < '0' || *port > '9')
            goto bad;
        errno = 0;
        p = strtoul(port, &end, 10);
        if (*end != '\0' || errno != 0 || p == 0 || p > 65535)
            goto bad;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        a->len = sizeof(*in4);
        return 0;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        a->len = sizeof(*in6);
        return 0;
    }
bad:
    return pm_err(err, errlen,
                  "agentXSocket \"%.200s\": a TCP master must be a numeric address, "
                  "tcp:A.B.C.D[:PORT] or tcp:[IPv6][:PORT] (names are not resolved)",
                  spec);
}

int agentx_addr_parse(const char *spec, struct agentx_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof(*a));
    if (strncmp(spec, "tcp:", 4) == 0)
        return parse_tcp(spec, spec + 4, a, err, errlen);
    const char *path = strncmp(spec, "unix:", 5) == 0 ? spec + 5 : spec;
    struct sockaddr_un *un = (struct sockaddr_un *)&a->ss;
    if (path[0] != '/' || strlen(path) >= sizeof(un->sun_path))
        return pm_err(err, errlen,
                      "agentXSocket \"%.200s\": neither a unix socket path (at most %zu bytes) "
                      "nor tcp:ADDRESS[:PORT]",
                      spec, sizeof(un->sun_path) - 1);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, strlen(path) + 1);
    a->len = (socklen_t)sizeof(*un);
    return 0;
}

static int fail(int fd, int e, char *err, size_t errlen, const char *what)
{
    if (fd >= 0)
        close(fd);
    pm_err(err, errlen, "%s", what);
    errno = e;
    return -1;
}

int agentx_connect(const struct agentx_addr *a, int timeout_ms, char *err, size_t errlen)
{
    /* Root connects for the unprivileged agent: only to a socket, never
     * through a symbolic link put in the master's place. */
    if (a->ss.ss_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)&a->ss;
        struct stat st;
        if (un->sun_path[0] != '\0' && lstat(un->sun_path, &st) == 0 && !S_ISSOCK(st.st_mode))
            return fail(-1, ENOTSOCK, err, errlen,
                        S_ISLNK(st.st_mode) ? "a symbolic link, not the master's socket"
                                            : "not a socket");
    }
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(-1, errno, err, errlen, strerror(errno));
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
        int e = errno;
        if (e == EAGAIN) /* unix socket, backlog full (connect(2)) */
            return fail(fd, e, err, errlen,
                        "its backlog is full: the master does not accept connections");
        if (e != EINPROGRESS)
            return fail(fd, e, err, errlen, strerror(e));
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int r, left = timeout_ms;
        for (;;) {
            r = poll(&pfd, 1, left);
            if (r >= 0 || errno != EINTR)
                break;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            left = timeout_ms -
                   (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
            if (left < 0)
                left = 0;
        }
        if (r == 0) {
            char msg[96];
            snprintf(msg, sizeof(msg),
                     "no connection within %d ms: the master does not accept connections",
                     timeout_ms);
            return fail(fd, ETIMEDOUT, err, errlen, msg);
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return fail(fd, errno, err, errlen, strerror(errno));
        if (soerr != 0)
            return fail(fd, soerr, err, errlen, strerror(soerr));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
        return fail(fd, errno, err, errlen, strerror(errno));
    return fd;
}
