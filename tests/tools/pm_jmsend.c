/*
 * pm_jmsend.c - sends mirrored packets with the jmirror sender
 * (src/capture/jm_send.c) for tests/integration/test_jmirror.py, which
 * checks that tshark decodes them as jmirror:
 *
 *   pm_jmsend [-s] [-l LENGTH] ANALYZER MIRROR-ID SESSION-ID [COUNT]
 *
 * ANALYZER is ADDRESS:PORT or [ADDR]:PORT.  Each
 * datagram carries a fixed inner packet: IPv4/UDP 198.18.0.1:12345 ->
 * 198.18.0.2:53 for an IPv4 analyzer, IPv6/UDP 2001:db8::1 -> 2001:db8::2
 * for an IPv6 one; -l: that packet padded to LENGTH octets (its IP and UDP
 * lengths say so; a 1500-octet packet makes a datagram the kernel must
 * fragment on an Ethernet MTU).  -s: send from inside the capture sandbox
 * (sbx_set_datagram_fds, sbx_apply_seccomp), as the capture process does.
 * The analyzer's port is a configured one (a socket bound to it, source
 * port = destination port, when it is free).  The datagrams are queued and
 * leave in batches (jm_queue, jm_flush).  Exit 0 when every datagram was
 * sent.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pmirrord/jm_send.h"
#include "pmirrord/sandbox.h"
#include "pmirrord/trigger.h"

static const uint8_t pkt4[] = {0x45, 0x00, 0x00, 0x21, 0x12, 0x34, 0x00, 0x00, 0x40, 0x11, 0x00,
                               0x00, 198,  18,   0,    1,    198,  18,   0,    2,    0x30, 0x39,
                               0x00, 0x35, 0x00, 0x0d, 0x00, 0x00, 'h',  'e',  'l',  'l',  'o'};

/* ADDRESS:PORT or [ADDR]:PORT (a test tool's own reading, not the daemon's). */
static int analyzer_parse(const char *s, struct trig_analyzer *a)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", s);
    char *colon = strrchr(buf, ':');
    if (colon == NULL)
        return -1;
    *colon = '\0';
    memset(a, 0, sizeof(*a));
    a->port = (uint16_t)atoi(colon + 1);
    if (buf[0] == '[') {
        size_t n = strlen(buf);
        if (n < 3 || buf[n - 1] != ']')
            return -1;
        buf[n - 1] = '\0';
        a->family = 6;
        return inet_pton(AF_INET6, buf + 1, a->addr) == 1 ? 0 : -1;
    }
    a->family = 4;
    return inet_pton(AF_INET, buf, a->addr) == 1 ? 0 : -1;
}

static void on_result(void *arg, const struct jm_result *r)
{
    int *failed = arg;
    *failed += r->err != 0;
}

int main(int argc, char **argv)
{
    char err[256];
    int sandbox = 0, opt;
    size_t length = 0;
    while ((opt = getopt(argc, argv, "sl:")) != -1) {
        if (opt == 's')
            sandbox = 1;
        else if (opt == 'l')
            length = (size_t)strtoul(optarg, NULL, 10);
        else
            return 2;
    }
    if (argc - optind < 3 || length > 65000) {
        fprintf(stderr,
                "usage: pm_jmsend [-s] [-l LENGTH] ANALYZER MIRROR-ID SESSION-ID [COUNT]\n");
        return 2;
    }
    struct trig_analyzer a;
    if (analyzer_parse(argv[optind], &a) < 0) {
        fprintf(stderr, "pm_jmsend: not ADDRESS:PORT or [ADDR]:PORT\n");
        return 2;
    }
    uint32_t mid = (uint32_t)strtoul(argv[optind + 1], NULL, 0);
    uint32_t sid = (uint32_t)strtoul(argv[optind + 2], NULL, 0);
    int count = argc - optind > 3 ? atoi(argv[optind + 3]) : 1;
    int failed = 0;
    struct jm_opts o = {.dscp = -1, .ports = {a.port}, .nports = 1};
    struct jm_hooks h = {.result = on_result, .arg = &failed};
    struct jm_sender *s = jm_new(&o, &h, err, sizeof(err));
    if (s == NULL) {
        fprintf(stderr, "pm_jmsend: %s\n", err);
        return 1;
    }
    if (sandbox) {
        int fds[JM_FDS_MAX];
        size_t nfds = jm_fds(s, fds, JM_FDS_MAX);
        if (sbx_set_datagram_fds(fds, nfds, err, sizeof(err)) < 0 ||
            sbx_apply_seccomp(0, err, sizeof(err)) < 0) {
            fprintf(stderr, "pm_jmsend: %s\n", err);
            return 1;
        }
    }
    uint8_t pkt6[40 + 8 + 5] = {0x60, 0, 0, 0, 0, 13, 17, 64, 0x20, 0x01, 0x0d, 0xb8};
    pkt6[23] = 1;
    memcpy(pkt6 + 24, "\x20\x01\x0d\xb8", 4);
    pkt6[39] = 2;
    memcpy(pkt6 + 40, "\x30\x39\x00\x35\x00\x0d\x00\x00hello", 13);
    static uint8_t pkt[65536];
    size_t len = a.family == 4 ? sizeof(pkt4) : sizeof(pkt6);
    memcpy(pkt, a.family == 4 ? pkt4 : pkt6, len);
    if (length > len) { /* padded: IP and UDP lengths set to match */
        for (size_t k = len; k < length; k++)
            pkt[k] = (uint8_t)k;
        size_t ihl = a.family == 4 ? 20 : 40, udp = length - ihl;
        size_t ipl = a.family == 4 ? length : udp;
        pkt[a.family == 4 ? 2 : 4] = (uint8_t)(ipl >> 8);
        pkt[a.family == 4 ? 3 : 5] = (uint8_t)ipl;
        pkt[ihl + 4] = (uint8_t)(udp >> 8);
        pkt[ihl + 5] = (uint8_t)udp;
        len = length;
    }
    for (int i = 0; i < count; i++)
        (void)jm_queue(s, &a, mid, sid, pkt, len, (uint32_t)i);
    jm_flush(s); /* each outcome through on_result() */
    if (failed)
        fprintf(stderr, "pm_jmsend: %d datagram(s) not sent\n", failed);
    fflush(NULL);
    _exit(failed ? 1 : 0); /* sandboxed: no exit handlers (LeakSanitizer forks) */
}
