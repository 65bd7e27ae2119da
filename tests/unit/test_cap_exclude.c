/*
 * test_cap_exclude.c - the BPF text that keeps our own datagrams out of a
 * source carrying static mirrors (cap_exclude.h): its exact text per family,
 * each destination once, later fragments once per address, destinations
 * without a socket left out, a text that does not fit refused; and that
 * libpcap compiles it for an Ethernet link.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <string.h>

#include "check.h"
#include "pmirrord/cap_exclude.h"
#include "pmirrord/cap_source.h"

static struct cx_dest dest(const char *addr, uint16_t port, uint16_t sport)
{
    struct cx_dest d;
    memset(&d, 0, sizeof(d));
    d.an.family = strchr(addr, ':') != NULL ? 6 : 4;
    CHECK(inet_pton(d.an.family == 6 ? AF_INET6 : AF_INET, addr, d.an.addr) == 1);
    d.an.port = port;
    d.sport = sport;
    return d;
}

static int compiles(const char *text)
{
    pcap_t *p = pcap_open_dead(DLT_EN10MB, 65535);
    struct bpf_program prog;
    int ok = pcap_compile(p, &prog, text, 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (ok)
        pcap_freecode(&prog);
    pcap_close(p);
    return ok;
}

int main(void)
{
    static char out[CAP_EXCLUDE_MAX];
    char err[256];
    struct cx_dest d[6] = {
        dest("198.18.0.2", 30030, 30030), dest("2001:db8::7", 4000, 4000),
        dest("198.18.0.2", 30030, 30030), /* the same again */
        dest("198.18.0.2", 999, 41234),   /* another port, the fallback socket */
        dest("198.18.0.9", 30030, 0),     /* no socket: nothing sent there */
        dest("2001:db8::7", 4000, 4000),
    };
    CHECK(cx_build(d, 0, out, sizeof(out), err, sizeof(err)) == 0 && out[0] == '\0');
    CHECK(cx_build(d, 1, out, sizeof(out), err, sizeof(err)) == 0);
    CHECK(!strcmp(out, "(udp and dst host 198.18.0.2 and dst port 30030 and src port 30030) or "
                       "(ip and dst host 198.18.0.2 and ip[6:2] & 0x1fff != 0)"));
    CHECK(compiles(out));
    CHECK(cx_build(d, 6, out, sizeof(out), err, sizeof(err)) == 0);
    CHECK(!strcmp(out, "(udp and dst host 198.18.0.2 and dst port 30030 and src port 30030) or "
                       "(ip and dst host 198.18.0.2 and ip[6:2] & 0x1fff != 0) or "
                       "(ip6 and udp and dst host 2001:db8::7 and dst port 4000 and src port "
                       "4000) or (ip6 and dst host 2001:db8::7 and ip6[6] == 44) or "
                       "(udp and dst host 198.18.0.2 and dst port 999 and src port 41234)"));
    CHECK(compiles(out));
    char small[64];
    err[0] = '\0';
    CHECK(cx_build(d, 2, small, sizeof(small), err, sizeof(err)) == -1);
    CHECK(small[0] == '\0' && strstr(err, "does not fit") != NULL);
    /* the family decides; an unknown one is left out */
    d[0].an.family = 5;
    CHECK(cx_build(d, 1, out, sizeof(out), err, sizeof(err)) == 0 && out[0] == '\0');
    return 0;
}
