/*
 * test_agentx_addr.c - agentXSocket addresses and the bounded connect
 * (src/common/agentx_addr.c): the forms README documents, names refused, a
 * unix and a TCP master on loopback reached, an absent one reported with its
 * errno.
 */
#include "pmirrord/agentx_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"

static void test_parse(void)
{
    struct agentx_addr a;
    char err[512];
    CHECK(agentx_addr_parse("/var/agentx/master", &a, err, sizeof(err)) == 0);
    CHECK(a.ss.ss_family == AF_UNIX &&
          strcmp(((struct sockaddr_un *)&a.ss)->sun_path, "/var/agentx/master") == 0);
    CHECK(agentx_addr_parse("unix:/x/y", &a, err, sizeof(err)) == 0 && a.ss.ss_family == AF_UNIX);
    CHECK(agentx_addr_parse("tcp:127.0.0.1", &a, err, sizeof(err)) == 0);
    CHECK(a.ss.ss_family == AF_INET && ntohs(((struct sockaddr_in *)&a.ss)->sin_port) == 705);
    CHECK(agentx_addr_parse("tcp:127.0.0.2:7050", &a, err, sizeof(err)) == 0);
    CHECK(ntohs(((struct sockaddr_in *)&a.ss)->sin_port) == 7050);
    CHECK(agentx_addr_parse("tcp:[::1]:706", &a, err, sizeof(err)) == 0);
    CHECK(a.ss.ss_family == AF_INET6 && ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port) == 706);
    const char *bad[] = {"relative/path", "unix:relative", "tcp:localhost:705",
                         "tcp::705",      "tcp:::1",       "tcp:[::1",
                         "tcp:1.2.3.4:0", "tcp:1.2.3.4:x", "tcp:1.2.3.4:65536"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        CHECK(agentx_addr_parse(bad[i], &a, err, sizeof(err)) == -1);
        CHECK(strstr(err, "agentXSocket") != NULL);
    }
}

static void test_connect(void)
{
    char dir[] = "/tmp/test_agentx_addr.XXXXXX", path[96], spec[160], err[512];
    struct agentx_addr a;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(path, sizeof(path), "%s/master", dir);
    snprintf(spec, sizeof(spec), "unix:%s", path);
    CHECK(agentx_addr_parse(spec, &a, err, sizeof(err)) == 0);
    CHECK(agentx_connect(&a, 1000, err, sizeof(err)) == -1 && errno == ENOENT);

    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    CHECK(bind(l, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(l, 4) == 0);
    int fd = agentx_connect(&a, 1000, err, sizeof(err));
    CHECK(fd >= 0);
    int c = accept(l, NULL, NULL);
    CHECK(c >= 0 && write(fd, "hi", 2) == 2);
    char buf[4];
    CHECK(read(c, buf, 2) == 2 && memcmp(buf, "hi", 2) == 0);
    close(c);
    close(fd);
    close(l);
    unlink(path);
    rmdir(dir);

    /* TCP on loopback: a port we listen on, then the same port closed */
    int t = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(in);
    CHECK(bind(t, (struct sockaddr *)&in, sizeof(in)) == 0 && listen(t, 4) == 0);
    CHECK(getsockname(t, (struct sockaddr *)&in, &sl) == 0);
    snprintf(spec, sizeof(spec), "tcp:127.0.0.1:%u", ntohs(in.sin_port));
    CHECK(agentx_addr_parse(spec, &a, err, sizeof(err)) == 0);
    fd = agentx_connect(&a, 1000, err, sizeof(err));
    CHECK(fd >= 0);
    close(fd);
    close(t);
    CHECK(agentx_connect(&a, 1000, err, sizeof(err)) == -1 && errno == ECONNREFUSED);
    CHECK(strlen(err) > 0);
}

int main(void)
{
    test_parse();
    test_connect();
    printf("test_agentx_addr: OK\n");
    return 0;
}
