/*
 * agent_transport.c - the AgentX connection to the master, opened without blocking.
 *
 * Net-SNMP 5.9.3's own "tcp" transport resolves the host name and calls a
 * blocking connect() (snmpTCPDomain.c: "So this can block").  A master whose
 * accept queue is full drops our SYN, on loopback too, and connect() then
 * waits for the kernel's SYN retransmissions: the agent thread, and with it
 * start-up and every AgentX request, stood still for 25 s.  Its "unix"
 * transport blocks too: connect() on a unix stream socket whose backlog is
 * full waits until the master accepts, and a hung master collects one queued
 * connection per reconnect attempt until it is full.
 *
 * So pmirrord registers transport domains of its own under private prefixes
 * and points the subagent at them: a TCP address must be numeric (nothing is
 * resolved), the socket is non-blocking while it connects, and poll() bounds
 * the connect by the same timeout as every other AgentX call (agent.c sets
 * "[snmp] timeout"); a unix socket with a full backlog fails at once (EAGAIN,
 * see connect(2)).  Once connected the socket is blocking again and is
 * handled by the library's stream send/receive functions.  A master that
 * does not accept counts as absent: the library tries again at the next
 * agentXPingInterval tick.
 *
 * A blocking socket lets a master that stops reading (while it still sends
 * requests) stop the agent thread in send() once the socket buffer is full.
 * Sends and receives are therefore bounded by SO_SNDTIMEO/SO_RCVTIMEO
 * (socket(7)) to the AgentX timeout, and a send that times out or goes out
 * only in part ends the connection: the AgentX stream (RFC 2741 §6.1) is
 * lost once a PDU is cut, and the library closes the session at the EOF
 * that shutdown() gives the next read, then reconnects as after a master
 * restart.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/snmpSocketBaseDomain.h>
#include <net-snmp/library/snmpTCPBaseDomain.h>
#include <net-snmp/library/snmpTCPDomain.h>
#include <net-snmp/library/snmpTCPIPv6Domain.h>
#include <net-snmp/library/snmpUnixDomain.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "agent_priv.h"
#include "pmirrord/log.h"

#define AGENTX_TCP_PORT 705 /* RFC 2741 §8.1 */

/* Only keys in the library's list of domains; never sent anywhere. */
static const oid pm_tcp_domain_oid[] = {0, 0, 4874, 77, 1};
static const oid pm_unix_domain_oid[] = {0, 0, 4874, 77, 2};
/* The transports' own domains (RFC 3419 transportDomain...). */
static const oid tcp4_domain[] = {TRANSPORT_DOMAIN_TCP_IP};
static const oid tcp6_domain[] = {TRANSPORT_DOMAIN_TCP_IPV6};
static const oid local_domain[] = {TRANSPORT_DOMAIN_LOCAL};
static netsnmp_tdomain pm_tcp_domain, pm_unix_domain;
static char last_error[160];
static agent_connect_fn connector; /* the monitor opens the socket (agent_set_connector) */
static void *connector_arg;

struct tcp_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* "unix:/path" or "/path" -> the path, or NULL. */
static const char *unix_path(const char *spec)
{
    if (strncmp(spec, "unix:", 5) == 0)
        spec += 5;
    return spec[0] == '/' ? spec : NULL;
}

/* "A.B.C.D[:PORT]" or "[IPv6][:PORT]", numeric only. */
static int parse_addr(const char *s, struct tcp_addr *a)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    size_t n;

    memset(a, 0, sizeof(*a));
    if (s[0] == '[') {
        const char *e = strchr(s, ']');
        if (e == NULL || (e[1] != '\0' && e[1] != ':'))
            return -1;
        n = (size_t)(e - s - 1);
        port = e[1] == ':' ? e + 2 : NULL;
        s++;
    } else {
        const char *c = strchr(s, ':');
        n = c != NULL ? (size_t)(c - s) : strlen(s);
        port = c != NULL ? c + 1 : NULL;
    }
    if (n == 0 || n >= sizeof(host))
        return -1;
    memcpy(host, s, n);
    host[n] = '\0';

    unsigned long p = AGENTX_TCP_PORT;
    if (port != NULL) {
        char *end;
        if (*port < '0' || *port > '9')
            return -1;
        errno = 0;
        p = strtoul(port, &end, 10);
        if (*end != '\0' || errno != 0 || p == 0 || p > 65535)
            return -1;
    }
    struct sockaddr_in *in4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        a->len = sizeof(*in4);
    } else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        a->len = sizeof(*in6);
    } else {
        return -1;
    }
    return 0;
}

int agent_socket_check(const char *spec, char *err, size_t errlen)
{
    struct tcp_addr a;
    struct sockaddr_un un;
    if (strncmp(spec, "tcp:", 4) != 0) {
        const char *path = unix_path(spec);
        if (path == NULL || strlen(path) >= sizeof(un.sun_path)) {
            snprintf(err, errlen,
                     "agentXSocket \"%s\": neither a unix socket path (at most %zu bytes) nor "
                     "tcp:ADDRESS[:PORT]",
                     spec, sizeof(un.sun_path) - 1);
            return -1;
        }
        return 0;
    }
    if (parse_addr(spec + 4, &a) < 0) {
        snprintf(err, errlen,
                 "agentXSocket \"%s\": a TCP master must be a numeric address, "
                 "tcp:A.B.C.D[:PORT] or tcp:[IPv6][:PORT] (names are not resolved)",
                 spec);
        return -1;
    }
    return 0;
}

static char *stream_fmtaddr(netsnmp_transport *t, const void *data, int len)
{
    char host[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
    const struct sockaddr_storage *ss = t != NULL ? t->remote : NULL;
    if (ss == NULL)
        return strdup("?");
    if (ss->ss_family == AF_UNIX) {
        return strdup(((const struct sockaddr_un *)ss)->sun_path);
    } else if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in4->sin_addr, host, sizeof(host));
        snprintf(buf, sizeof(buf), "tcp:%s:%u", host, ntohs(in4->sin_port));
    } else {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        snprintf(buf, sizeof(buf), "tcp:[%s]:%u", host, ntohs(in6->sin6_port));
    }
    return strdup(buf);
}

static int connected(int fd);

/* Connected socket, or -1 with last_error set; waits at most timeout_ms. */
static int connect_bounded(const struct tcp_addr *a, int timeout_ms)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(last_error, sizeof(last_error), "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
        if (errno == EAGAIN) {
            /* Unix socket, backlog full (connect(2)): the master is there but stuck. */
            snprintf(last_error, sizeof(last_error),
                     "its backlog is full: the master does not accept connections");
            close(fd);
            return -1;
        }
        if (errno == ENOENT || errno == ECONNREFUSED) {
            last_error[0] = '\0'; /* simply absent */
            close(fd);
            return -1;
        }
        if (errno != EINPROGRESS) {
            snprintf(last_error, sizeof(last_error), "%s", strerror(errno));
            close(fd);
            return -1;
        }
        struct pollfd pfd = {.fd = fd, .events = POLLOUT};
        int r;
        do
            r = poll(&pfd, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        if (r == 0) {
            /* A full accept queue drops the SYN: the master is there but stuck. */
            snprintf(last_error, sizeof(last_error),
                     "no connection within %d ms: the master does not accept connections",
                     timeout_ms);
            close(fd);
            return -1;
        }
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        if (r < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
            if (soerr == ECONNREFUSED)
                last_error[0] = '\0'; /* simply absent */
            else
                snprintf(last_error, sizeof(last_error), "%s", strerror(r < 0 ? errno : soerr));
            close(fd);
            return -1;
        }
    }
    return connected(fd);
}

/* A connected socket as the library's stream code wants it, or -1 (closed,
 * last_error set). */
static int connected(int fd)
{
    /* The library's stream code expects a blocking socket once it is connected;
     * bounded, so that a master that stops reading cannot hold the agent thread. */
    struct timeval tv = {AGENT_TIMEOUT_S, 0};
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
        snprintf(last_error, sizeof(last_error), "socket options: %s", strerror(errno));
        close(fd);
        return -1;
    }
    last_error[0] = '\0';
    return fd;
}

void agent_set_connector(agent_connect_fn fn, void *arg)
{
    connector = fn;
    connector_arg = arg;
}

/* The socket from the connector: a connected stream socket, or -1 with last_error. */
static int connect_via(void)
{
    char why[sizeof(last_error)] = "";
    errno = 0;
    int fd = connector(connector_arg, why, sizeof(why));
    if (fd < 0) {
        if (errno == ENOENT || errno == ECONNREFUSED)
            last_error[0] = '\0'; /* simply absent */
        else
            snprintf(last_error, sizeof(last_error), "%s", why[0] ? why : strerror(errno));
        return -1;
    }
    int type = 0;
    socklen_t l = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 || type != SOCK_STREAM) {
        snprintf(last_error, sizeof(last_error), "the descriptor given is not a stream socket");
        close(fd);
        return -1;
    }
    return connected(fd);
}

/* netsnmp_tcpbase_send(), but a send cut short by SO_SNDTIMEO ends the connection. */
static int stream_send(netsnmp_transport *t, const void *buf, int size, void **opaque, int *olength)
{
    int rc = netsnmp_tcpbase_send(t, buf, size, opaque, olength);
    if (rc != size && t->sock >= 0) {
        int e = errno;
        if (rc >= 0 || e == EAGAIN || e == EWOULDBLOCK) {
            log_warnx("agentx", "the AgentX master has not read for %d s; dropping the connection",
                      AGENT_TIMEOUT_S);
            shutdown(t->sock, SHUT_RDWR);
        }
        errno = e;
    }
    return rc;
}

static netsnmp_transport *stream_create(const struct tcp_addr *a, const oid *domain, int domain_len)
{
    netsnmp_transport *t = SNMP_MALLOC_TYPEDEF(netsnmp_transport);
    if (t == NULL)
        return NULL;
    t->remote = netsnmp_memdup(&a->ss, sizeof(a->ss));
    if (t->remote == NULL) {
        free(t);
        return NULL;
    }
    t->remote_length = (int)a->len;
    t->sock = connector != NULL ? connect_via() : connect_bounded(a, AGENT_TIMEOUT_S * 1000);
    if (t->sock < 0) {
        netsnmp_transport_free(t);
        return NULL;
    }
    t->domain = domain;
    t->domain_length = domain_len;
    t->flags = NETSNMP_TRANSPORT_FLAG_STREAM;
    t->msgMaxSize = SNMP_MAX_PACKET_LEN;
    t->f_recv = netsnmp_tcpbase_recv;
    t->f_send = stream_send;
    t->f_close = netsnmp_socketbase_close;
    t->f_fmtaddr = stream_fmtaddr;
    return t;
}

static netsnmp_transport *tcp_create(const char *str, int local, const char *default_target)
{
    struct tcp_addr a;
    if (local || str == NULL || parse_addr(str, &a) < 0) {
        snprintf(last_error, sizeof(last_error), "not a numeric TCP address");
        return NULL;
    }
    if (a.ss.ss_family == AF_INET6)
        return stream_create(&a, tcp6_domain, OID_LENGTH(tcp6_domain));
    return stream_create(&a, tcp4_domain, OID_LENGTH(tcp4_domain));
}

static netsnmp_transport *unix_create(const char *str, int local, const char *default_target)
{
    struct tcp_addr a;
    struct sockaddr_un *un = (struct sockaddr_un *)&a.ss;
    memset(&a, 0, sizeof(a));
    if (local || str == NULL || str[0] != '/' || strlen(str) >= sizeof(un->sun_path)) {
        snprintf(last_error, sizeof(last_error), "not a unix socket path");
        return NULL;
    }
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, str, strlen(str) + 1);
    a.len = sizeof(*un);
    return stream_create(&a, local_domain, OID_LENGTH(local_domain));
}

static int register_domain(netsnmp_tdomain *d, const oid *name, size_t len, const char *prefix,
                           netsnmp_transport *(*create)(const char *, int, const char *))
{
    if (d->prefix != NULL)
        return 0;
    d->name = name;
    d->name_length = len;
    /* Freed by the library (netsnmp_clear_tdomain_list) at snmp_shutdown(). */
    d->prefix = calloc(2, sizeof(char *));
    if (d->prefix == NULL)
        return -1;
    d->prefix[0] = prefix;
    d->f_create_from_tstring_new = create;
    return netsnmp_tdomain_register(d) ? 0 : -1;
}

int agent_transport_register(void)
{
    netsnmp_session dummy;
    /* The library builds its list of domains once, on its first use: let it
     * do so now, or it would be built after ours are in it. */
    snmp_sess_init(&dummy);
    if (register_domain(&pm_tcp_domain, pm_tcp_domain_oid, OID_LENGTH(pm_tcp_domain_oid),
                        AGENT_TCP_PREFIX, tcp_create) < 0 ||
        register_domain(&pm_unix_domain, pm_unix_domain_oid, OID_LENGTH(pm_unix_domain_oid),
                        AGENT_UNIX_PREFIX, unix_create) < 0)
        return -1;
    return 0;
}

void agent_transport_unregistered(void)
{
    pm_tcp_domain.prefix = NULL; /* freed by snmp_shutdown() */
    pm_unix_domain.prefix = NULL;
}

const char *agent_transport_last_error(void)
{
    return last_error;
}

/* The AgentX socket string for the library: through our transports. */
void agent_transport_spec(const char *conf_socket, char *buf, size_t len)
{
    if (strncmp(conf_socket, "tcp:", 4) == 0)
        snprintf(buf, len, "%s:%s", AGENT_TCP_PREFIX, conf_socket + 4);
    else
        snprintf(buf, len, "%s:%s", AGENT_UNIX_PREFIX, unix_path(conf_socket));
}
