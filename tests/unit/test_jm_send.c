/*
 * test_jm_send.c - the jmirror sender (src/capture/jm_send.c): the header's
 * bits, a datagram received on a 127.0.0.x socket and on ::1 as sent
 * (header, then the IP packet), the counters, and sending from inside the
 * capture sandbox (docs/sandbox.md): the jmirror sockets send, any other
 * socket naming an address kills the process.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/sandbox.h"

static void test_header(void)
{
    uint8_t h[JM_HDR_LEN];
    static const uint8_t want1[] = {0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x90};
    jm_header(h, 0x300, 0x90); /* domain example: handle 0000030000000090 */
    CHECK(memcmp(h, want1, 8) == 0);
    jm_header(h, 0x3fffffffu, 0xfedcba98u);
    static const uint8_t want2[] = {0x3f, 0xff, 0xff, 0xff, 0xfe, 0xdc, 0xba, 0x98};
    CHECK(memcmp(h, want2, 8) == 0);
    /* the two version bits are always 0, whatever the caller passes */
    jm_header(h, 0xffffffffu, 0);
    CHECK((h[0] & 0xc0) == 0 && h[0] == 0x3f && h[3] == 0xff);
}

/* A receiving socket on addr (127.0.0.x or ::1), its port in *port. */
static int listener(int af, const char *addr, uint16_t *port)
{
    int fd = socket(af, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof(ss));
    if (af == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        CHECK(inet_pton(AF_INET, addr, &a->sin_addr) == 1);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        CHECK(inet_pton(AF_INET6, addr, &a->sin6_addr) == 1);
        sl = sizeof(*a);
    }
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || getsockname(fd, (struct sockaddr *)&ss, &sl)) {
        close(fd);
        return -1;
    }
    *port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    struct timeval tv = {2, 0};
    CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
    return fd;
}

static struct trig_analyzer analyzer(int family, const char *addr, uint16_t port)
{
    struct trig_analyzer a;
    memset(&a, 0, sizeof(a));
    a.family = family;
    a.port = port;
    CHECK(inet_pton(family == 4 ? AF_INET : AF_INET6, addr, a.addr) == 1);
    return a;
}

/* A small IPv4/UDP packet (the mirrored one): 20 + 8 + 5 octets. */
static const uint8_t pkt4[] = {0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00,
                               0x00, 198,  18,   0,    1,    198,  18,   0,    2,    0x30, 0x39,
                               0x00, 0x35, 0x00, 0x0d, 0x00, 0x00, 'h',  'e',  'l',  'l',  'o'};

static void test_send4(struct jm_sender *s)
{
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", &port);
    CHECK(rx >= 0);
    struct trig_analyzer a = analyzer(4, "127.0.0.9", port);
    CHECK(jm_send(s, &a, 0x300, 0x90, pkt4, sizeof(pkt4)) == 0);
    uint8_t buf[2048];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    ssize_t n = recvfrom(rx, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
    CHECK(n == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    static const uint8_t hdr[] = {0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x90};
    CHECK(memcmp(buf, hdr, 8) == 0);
    CHECK(memcmp(buf + 8, pkt4, sizeof(pkt4)) == 0);
    /* from the sender's own bound port (the data path recognises its own datagrams by it) */
    CHECK(from.sin_port == jm_local_port(s, 4) && jm_local_port(s, 4) != 0);
    close(rx);
}

static void test_send6(struct jm_sender *s)
{
    int fd4, fd6;
    jm_fds(s, &fd4, &fd6);
    uint16_t port;
    int rx = fd6 >= 0 ? listener(AF_INET6, "::1", &port) : -1;
    if (rx < 0) {
        fprintf(stderr, "test_jm_send: no IPv6 loopback here; the IPv6 case is skipped\n");
        return;
    }
    uint8_t pkt6[40 + 8 + 3] = {0x60, 0, 0, 0, 0, 11, 17, 64};
    pkt6[8 + 15] = 1;  /* ::1 */
    pkt6[24 + 15] = 2; /* ::2 */
    memcpy(pkt6 + 48, "abc", 3);
    struct trig_analyzer a = analyzer(6, "::1", port);
    CHECK(jm_send(s, &a, 7, 0xdeadbeefu, pkt6, sizeof(pkt6)) == 0);
    uint8_t buf[2048];
    ssize_t n = recv(rx, buf, sizeof(buf), 0);
    CHECK(n == (ssize_t)(JM_HDR_LEN + sizeof(pkt6)));
    static const uint8_t hdr[] = {0, 0, 0, 7, 0xde, 0xad, 0xbe, 0xef};
    CHECK(memcmp(buf, hdr, 8) == 0 && memcmp(buf + 8, pkt6, sizeof(pkt6)) == 0);
    close(rx);
}

static void test_refusals(struct jm_sender *s)
{
    static uint8_t big[65536];
    struct jm_stats before, after;
    jm_get_stats(s, &before);
    struct trig_analyzer a = analyzer(4, "127.0.0.9", 9);
    CHECK(jm_send(s, &a, 1, 1, big, 65500) == -1);
    struct trig_analyzer none = a;
    none.family = 0;
    CHECK(jm_send(s, &none, 1, 1, pkt4, sizeof(pkt4)) == -1);
    jm_get_stats(s, &after);
    CHECK(after.too_big == before.too_big + 1);
    CHECK(after.no_socket == before.no_socket + 1);
    CHECK(after.sent == before.sent);
}

/* In a child: the sandbox with the sender's sockets let through.  Returns
 * the child's exit status, or 1000 + the signal that ended it. */
static int sandboxed(struct jm_sender *s, int rx_port, int other_fd)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        char err[256];
        int fds[2];
        jm_fds(s, &fds[0], &fds[1]);
        if (sbx_set_datagram_fds(fds, 2, err, sizeof(err)) < 0 ||
            sbx_apply_seccomp(0, err, sizeof(err)) < 0)
            _exit(99);
        struct trig_analyzer a = analyzer(4, "127.0.0.9", (uint16_t)rx_port);
        if (jm_send(s, &a, 5, 6, pkt4, sizeof(pkt4)) != 0)
            _exit(2);
        if (other_fd >= 0) { /* any other socket naming an address: SIGSYS */
            struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9)};
            to.sin_addr.s_addr = htonl(0x7f000009);
            (void)sendto(other_fd, "x", 1, 0, (struct sockaddr *)&to, sizeof(to));
            _exit(3);
        }
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    return WIFSIGNALED(st) ? 1000 + WTERMSIG(st) : WEXITSTATUS(st);
}

static void test_sandbox(struct jm_sender *s)
{
    uint16_t port;
    int rx = listener(AF_INET, "127.0.0.9", &port);
    CHECK(rx >= 0);
    CHECK(sandboxed(s, port, -1) == 0);
    uint8_t buf[256];
    CHECK(recv(rx, buf, sizeof(buf), 0) == (ssize_t)(JM_HDR_LEN + sizeof(pkt4)));
    CHECK(buf[3] == 5 && buf[7] == 6);
    int other = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(other >= 0);
    CHECK(sandboxed(s, port, other) == 1000 + SIGSYS);
    close(other);
    close(rx);
}

int main(void)
{
    char err[256];
    test_header();
    struct jm_sender *s = jm_new(err, sizeof(err));
    if (s == NULL)
        fprintf(stderr, "%s\n", err);
    CHECK(s != NULL);
    test_send4(s);
    test_send6(s);
    test_refusals(s);
    test_sandbox(s);
    struct jm_stats st;
    jm_get_stats(s, &st);
    CHECK(st.sent >= 2 && st.send_errors == 0);
    jm_free(s);
    return 0;
}
