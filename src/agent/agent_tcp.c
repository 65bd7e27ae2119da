/*
 * agent_tcp.c - the AgentX connection to a TCP master, opened without blocking.
 *
 * Net-SNMP 5.9.3's own "tcp" transport resolves the host name and calls a
 * blocking connect() (snmpTCPDomain.c: "So this can block").  A master whose
 * accept queue is full drops our SYN, on loopback too, and connect() then
 * waits for the kernel's SYN retransmissions: the agent thread, and with it
 * start-up and every AgentX request, stood still for 25 s.
 *
 * So pmirrord registers a transport domain of its own under a private prefix
 * and points the subagent at it: the address must be numeric (nothing is
 * resolved), the socket is non-blocking while it connects, and poll() bounds
 * the connect by the same timeout as every other AgentX call (agent.c sets
 * "[snmp] timeout").  Once connected the socket is blocking again and is
 * handled by the library's TCP send/receive functions, exactly like its own
 * "tcp" transport.  A master that does not answer in time counts as absent:
 * the library tries again at the next agentXPingInterval tick.
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/snmpSocketBaseDomain.h>
#include <net-snmp/library/snmpTCPBaseDomain.h>
#include <net-snmp/library/snmpTCPDomain.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "agent_priv.h"

#define AGENTX_TCP_PORT 705 /* RFC 2741 §8.1 */

/* Only a key in the library's list of domains; never sent anywhere. */
static const oid pm_tcp_domain_oid[] = {0, 0, 4874, 77, 1};
static netsnmp_tdomain pm_tcp_domain;
static char last_error[160];

struct tcp_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

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
    if (strncmp(spec, "tcp:", 4) != 0)
        return 0;
    if (parse_addr(spec + 4, &a) < 0) {
        snprintf(err, errlen,
                 "agentXSocket \"%s\": a TCP master must be a numeric address, "
                 "tcp:A.B.C.D[:PORT] or tcp:[IPv6][:PORT] (names are not resolved)",
                 spec);
        return -1;
    }
    return 0;
}

static char *tcp_fmtaddr(netsnmp_transport *t, const void *data, int len)
{
    char host[INET6_ADDRSTRLEN], buf[INET6_ADDRSTRLEN + 16];
    const struct sockaddr_storage *ss = t != NULL ? t->remote : NULL;
    if (ss == NULL)
        return strdup("tcp:?");
    if (ss->ss_family == AF_INET) {
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

/* Connected socket, or -1 with last_error set; waits at most timeout_ms. */
static int connect_bounded(const struct tcp_addr *a, int timeout_ms)
{
    int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(last_error, sizeof(last_error), "socket: %s", strerror(errno));
        return -1;
    }
    if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0) {
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
            snprintf(last_error, sizeof(last_error), "%s", strerror(r < 0 ? errno : soerr));
            close(fd);
            return -1;
        }
    }
    /* The library's stream code expects a blocking socket once it is connected. */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        snprintf(last_error, sizeof(last_error), "fcntl: %s", strerror(errno));
        close(fd);
        return -1;
    }
    last_error[0] = '\0';
    return fd;
}

static netsnmp_transport *tcp_create(const char *str, int local, const char *default_target)
{
    struct tcp_addr a;
    if (local || str == NULL || parse_addr(str, &a) < 0) {
        snprintf(last_error, sizeof(last_error), "not a numeric TCP address");
        return NULL;
    }
    netsnmp_transport *t = SNMP_MALLOC_TYPEDEF(netsnmp_transport);
    if (t == NULL)
        return NULL;
    t->remote = netsnmp_memdup(&a.ss, sizeof(a.ss));
    if (t->remote == NULL) {
        free(t);
        return NULL;
    }
    t->remote_length = (int)a.len;
    t->sock = connect_bounded(&a, AGENT_TIMEOUT_S * 1000);
    if (t->sock < 0) {
        netsnmp_transport_free(t);
        return NULL;
    }
    t->domain = netsnmp_snmpTCPDomain;
    t->domain_length = 8; /* OID_LENGTH of snmpTCPDomain, RFC 3430 */
    t->flags = NETSNMP_TRANSPORT_FLAG_STREAM;
    t->msgMaxSize = SNMP_MAX_PACKET_LEN;
    t->f_recv = netsnmp_tcpbase_recv;
    t->f_send = netsnmp_tcpbase_send;
    t->f_close = netsnmp_socketbase_close;
    t->f_fmtaddr = tcp_fmtaddr;
    return t;
}

int agent_tcp_register(void)
{
    netsnmp_session dummy;
    /* The library builds its list of domains once, on its first use: let it
     * do so now, or it would be built after ours is in it. */
    snmp_sess_init(&dummy);
    if (pm_tcp_domain.prefix != NULL)
        return 0;
    pm_tcp_domain.name = pm_tcp_domain_oid;
    pm_tcp_domain.name_length = OID_LENGTH(pm_tcp_domain_oid);
    /* Freed by the library (netsnmp_clear_tdomain_list) at snmp_shutdown(). */
    pm_tcp_domain.prefix = calloc(2, sizeof(char *));
    if (pm_tcp_domain.prefix == NULL)
        return -1;
    pm_tcp_domain.prefix[0] = AGENT_TCP_PREFIX;
    pm_tcp_domain.f_create_from_tstring_new = tcp_create;
    if (!netsnmp_tdomain_register(&pm_tcp_domain))
        return -1;
    return 0;
}

void agent_tcp_unregistered(void)
{
    pm_tcp_domain.prefix = NULL; /* freed by snmp_shutdown() */
}

const char *agent_tcp_last_error(void)
{
    return last_error;
}
