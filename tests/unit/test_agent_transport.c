/*
 * test_agent_transport.c - agentXSocket checks (src/agent/agent_transport.c): unix paths
 * pass, a TCP master must be a numeric address (names would be resolved on
 * the agent thread, blocking it).
 */
#include "agent/agent.h"

#include <string.h>

#include "check.h"

static int ok(const char *spec)
{
    char err[256] = "";
    int r = agent_socket_check(spec, err, sizeof(err));
    CHECK(r == 0 || strstr(err, spec) != NULL); /* the error names the value */
    return r == 0;
}

int main(void)
{
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
