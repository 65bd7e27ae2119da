/*
 * test_agent_transport.c - agentXSocket checks (src/agent/agent_transport.c): unix paths
 * pass, a TCP master must be a numeric address (names would be resolved on
 * the agent thread, blocking it).
 */
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include "agent/agent.h"
#include "agent/agent_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/ipc.h"

static int ok(const char *spec)
{
    char err[256] = "";
    int r = agent_socket_check(spec, err, sizeof(err));
    CHECK(r == 0 || strstr(err, spec) != NULL); /* the error names the value */
    return r == 0;
}

/*
 * A fake monitor: the connector gets its socket as the agent process does, an
 * FD record with an SCM_RIGHTS descriptor on a SEQPACKET channel.
 */
struct fake {
    int mode; /* 0 pass a stream socket, 1 fail with fail_errno, 2 pass a datagram socket */
    int fail_errno;
    int master; /* our end of the "master" connection */
    int calls;
    struct ipc_chan *mon, *agent;
    int got;
};

static void take_fd(struct ipc_rec *r, void *arg)
{
    struct fake *f = arg;
    if (r->type == IPC_FD && r->u.fd.purpose == IPC_FD_AGENTX) {
        f->got = r->u.fd.fd;
        r->u.fd.fd = -1;
    }
}

static int fake_connector(void *arg, char *err, size_t errlen)
{
    struct fake *f = arg;
    char e[200];
    int sp[2];
    f->calls++;
    if (f->mode == 1) {
        snprintf(err, errlen, "monitor: connect: %s", strerror(f->fail_errno));
        errno = f->fail_errno;
        return -1;
    }
    CHECK(socketpair(AF_UNIX, (f->mode == 2 ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0, sp) ==
          0);
    struct ipc_rec r;
    memset(&r, 0, sizeof(r));
    r.type = IPC_FD;
    r.u.fd.purpose = IPC_FD_AGENTX;
    r.u.fd.id = 1;
    CHECK(ipc_chan_put_fd(f->mon, &r, sp[0], e, sizeof(e)) == 0);
    close(sp[0]);
    CHECK(ipc_chan_flush(f->mon) == 0);
    f->got = -1;
    CHECK(ipc_chan_recv(f->agent, take_fd, f) == 1);
    f->master = sp[1];
    return f->got;
}

static void test_connector(void)
{
    char e[200];
    int sv[2];
    struct fake f = {.master = -1};
    CHECK(ipc_socketpair(sv, 0, e, sizeof(e)) == 0);
    f.mon = ipc_chan_new(sv[0], 0, NULL, NULL, e, sizeof(e));
    f.agent = ipc_chan_new(sv[1], 0, NULL, NULL, e, sizeof(e));
    CHECK(f.mon != NULL && f.agent != NULL);
    CHECK(agent_transport_register() == 0);
    agent_set_connector(fake_connector, &f);

    /* the descriptor passed is the transport's socket: bytes reach the "master" */
    netsnmp_transport *t =
        netsnmp_tdomain_transport(AGENT_UNIX_PREFIX ":/nonexistent/agentx", 0, AGENT_UNIX_PREFIX);
    CHECK(t != NULL && f.calls == 1);
    if (t != NULL) {
        CHECK(t->sock >= 0 && (fcntl(t->sock, F_GETFL) & O_NONBLOCK) == 0);
        CHECK((fcntl(t->sock, F_GETFD) & FD_CLOEXEC) != 0);
        void *opaque = NULL;
        int olen = 0;
        CHECK(t->f_send(t, "ping", 4, &opaque, &olen) == 4);
        char buf[8];
        CHECK(read(f.master, buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0);
        CHECK(agent_transport_last_error()[0] == '\0');
        netsnmp_transport_free(t);
    }
    close(f.master);

    /* the monitor could not: the connect fails with its reason */
    f.mode = 1;
    f.fail_errno = EACCES;
    t = netsnmp_tdomain_transport(AGENT_UNIX_PREFIX ":/nonexistent/agentx", 0, AGENT_UNIX_PREFIX);
    CHECK(t == NULL && f.calls == 2);
    CHECK(strstr(agent_transport_last_error(), "Permission denied") != NULL);
    /* a master that is simply absent is no error worth a sentence */
    f.fail_errno = ECONNREFUSED;
    t = netsnmp_tdomain_transport(AGENT_UNIX_PREFIX ":/nonexistent/agentx", 0, AGENT_UNIX_PREFIX);
    CHECK(t == NULL && f.calls == 3 && agent_transport_last_error()[0] == '\0');
    /* not a stream socket: refused */
    f.mode = 2;
    t = netsnmp_tdomain_transport(AGENT_UNIX_PREFIX ":/nonexistent/agentx", 0, AGENT_UNIX_PREFIX);
    CHECK(t == NULL && f.calls == 4);
    CHECK(strstr(agent_transport_last_error(), "not a stream socket") != NULL);
    close(f.master);

    /* without a connector the transport connects itself (nothing listens there) */
    agent_set_connector(NULL, NULL);
    t = netsnmp_tdomain_transport(AGENT_UNIX_PREFIX ":/nonexistent/agentx", 0, AGENT_UNIX_PREFIX);
    CHECK(t == NULL && f.calls == 4);
    ipc_chan_free(f.mon);
    ipc_chan_free(f.agent);
}

int main(void)
{
    test_connector();
    CHECK(ok("/var/agentx/master"));
    CHECK(ok("unix:/run/agentx.sock"));
    CHECK(ok("tcp:127.0.0.1:705"));
    CHECK(ok("tcp:127.0.0.1"));
    CHECK(ok("tcp:[::1]:705"));
    CHECK(ok("tcp:[::1]"));
    CHECK(ok("tcp:198.18.0.1:65535"));

    CHECK(!ok("tcp:localhost:705"));
    CHECK(!ok("tcp:localhost"));
    CHECK(!ok("tcp:agentx.example:705"));
    CHECK(!ok("tcp:127.0.0.1:0"));
    CHECK(!ok("tcp:127.0.0.1:65536"));
    CHECK(!ok("tcp:127.0.0.1:70x"));
    CHECK(!ok("tcp:127.0.0.1:"));
    CHECK(!ok("tcp:"));
    CHECK(!ok("tcp::705"));
    CHECK(!ok("tcp:[::1"));
    CHECK(!ok("tcp:[::1]x"));
    CHECK(!ok("tcp:::1:705")); /* IPv6 needs brackets */
    CHECK(!ok("tcp:127.0.0.1:-1"));
    CHECK(!ok("relative/agentx.sock"));
    CHECK(!ok("unix:relative"));
    CHECK(!ok("udp:127.0.0.1:705"));
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    CHECK(!ok(longpath));
    return 0;
}
