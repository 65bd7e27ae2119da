/*
 * dhcp_pcapcheck.c - runs the frames of a pcap file through pkt_decode()
 * and the DHCP tracker as the capture process does (UDP port 67 or 68,
 * IPv4), and prints one line per fact and the counters at the end, in the
 * format tests/dhcp/dhcp_pcap.py expects:
 *
 *   dhcp_pcapcheck SERVER[,SERVER...] FILE.pcap [UNTIL]
 *
 * UNTIL (seconds of the packet clock): a last dh_tick() there, so leases
 * that end before it expire.  Test tool only: it reads the file with
 * libpcap, which the tracker never calls.
 */
#include "pmirrord/dhcp_conf.h"
#include "pmirrord/dhcp_track.h"
#include "pmirrord/pkt_decode.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_hex(const char *name, const struct sig_str *s)
{
    printf(" %s=", name);
    if (s->len == 0)
        printf("-");
    for (unsigned i = 0; i < s->len; i++)
        printf("%02x", s->v[i]);
}

static void put_ip(const char *name, uint32_t a)
{
    char b[INET_ADDRSTRLEN];
    struct in_addr ia = {a};
    inet_ntop(AF_INET, &ia, b, sizeof(b));
    printf(" %s=%s", name, b);
}

static void on_fact(const struct sig_fact *f, void *arg)
{
    static const char *const kind[] = {[SIG_DHCP_ACK] = "ack",
                                       [SIG_DHCP_RELEASE] = "release",
                                       [SIG_DHCP_DECLINE] = "decline",
                                       [SIG_DHCP_EXPIRE] = "expire"};
    (void)arg;
    const char *k = f->kind >= SIG_DHCP_ACK && f->kind <= SIG_DHCP_EXPIRE ? kind[f->kind] : "?";
    printf("fact %s ts=%lld.%06u", k, (long long)f->ts_sec, (unsigned)f->ts_usec);
    put_ip("ip", f->id.framed_ip);
    put_ip("peer", f->id.peer_ip);
    const uint8_t *m = f->id.chaddr;
    printf(" chaddr=%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
    put_hex("circuit", &f->id.circuit);
    put_hex("remote", &f->id.remote);
    put_hex("opt82", &f->id.opt82);
    printf(" lease=%u\n", (unsigned)f->lease_s);
}

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: dhcp_pcapcheck SERVER[,SERVER...] FILE.pcap [UNTIL]\n");
        return 2;
    }
    struct dh_conf c;
    char err[PCAP_ERRBUF_SIZE + 200], line[512];
    conf_dhcp_init(&c, 0);
    for (char *s = strtok(argv[1], ","); s != NULL; s = strtok(NULL, ",")) {
        snprintf(line, sizeof(line), "dhcpServer %s", s);
        if (conf_dhcp_line(&c, line, err, sizeof(err)) != 1) {
            fprintf(stderr, "dhcp_pcapcheck: %s\n", err);
            return 2;
        }
    }
    struct dhcp_track *t = dh_new(&c, on_fact, NULL, err, sizeof(err));
    pcap_t *pc = t != NULL ? pcap_open_offline(argv[2], err) : NULL;
    if (pc == NULL) {
        fprintf(stderr, "dhcp_pcapcheck: %s\n", err);
        return 1;
    }
    int dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *p;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &p)) == 1) {
        struct pkt_view v;
        if (pkt_decode(dlt, p, h->caplen, h->len, &v) != 0 || v.proto != IPPROTO_UDP ||
            !(v.flags & PKT_F_PORTS))
            continue;
        if (v.sport == 67 || v.sport == 68 || v.dport == 67 || v.dport == 68)
            dh_input(t, &v, (int64_t)h->ts.tv_sec, (uint32_t)h->ts.tv_usec);
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "dhcp_pcapcheck: %s\n", pcap_geterr(pc));
        return 1;
    }
    if (argc == 4)
        dh_tick(t, strtoll(argv[3], NULL, 10));
    struct dh_stats s;
    dh_get_stats(t, &s);
    printf("stats parsed=%llu malformed=%llu untrusted=%llu acks=%llu renewals=%llu "
           "releases=%llu declines=%llu expired=%llu bindings=%llu full=%llu facts=%llu\n",
           (unsigned long long)s.parsed, (unsigned long long)s.malformed,
           (unsigned long long)s.untrusted, (unsigned long long)s.acks,
           (unsigned long long)s.renewals, (unsigned long long)s.releases,
           (unsigned long long)s.declines, (unsigned long long)s.expired,
           (unsigned long long)s.bindings, (unsigned long long)s.full, (unsigned long long)s.facts);
    dh_free(t);
    pcap_close(pc);
    return 0;
}
