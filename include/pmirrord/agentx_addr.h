/*
 * agentx_addr.h - the agentXSocket address (README "Configuration
 * reference") and a connect to it bounded in time, without Net-SNMP: the
 * monitor opens the AgentX socket for the unprivileged agent (PRIV_REQ,
 * docs/process-model.md "The AgentX socket").
 *
 *   PATH | unix:PATH       a unix stream socket (absolute path)
 *   tcp:A.B.C.D[:PORT]     numeric IPv4; PORT 705 (RFC 2741 §8.1) by default
 *   tcp:[IPv6][:PORT]      numeric IPv6 in brackets (RFC 3986 §3.2.2)
 *
 * Host names are never resolved (the same rules as src/agent/agent_transport.c).
 */
#ifndef PMIRRORD_AGENTX_ADDR_H
#define PMIRRORD_AGENTX_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

#define AGENTX_DEFAULT_PORT 705

struct agentx_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* 0, or -1 with one sentence in err. */
int agentx_addr_parse(const char *spec, struct agentx_addr *a, char *err, size_t errlen)
    __attribute__((warn_unused_result));

/*
 * A connected stream socket (blocking, close-on-exec), or -1 with errno and a
 * sentence in err: ENOENT or ECONNREFUSED when no master listens, EAGAIN when
 * a unix socket's backlog is full, ETIMEDOUT when nothing answered within
 * timeout_ms (a full TCP accept queue drops the SYN).
 */
int agentx_connect(const struct agentx_addr *a, int timeout_ms, char *err, size_t errlen);

#endif
