/*
 * pkt_pcapcheck.c - decodes every frame of a pcap file with pkt_decode()
 * and prints one line per frame, in the format tests/decode/scapy_decode.py
 * expects, so that frames scapy built are checked against the values scapy
 * was given.  Fragments go through one ip_reasm table; a completed datagram
 * prints a second line, "reasm <len> " + the decode of the whole packet.
 *
 *   pkt_pcapcheck FILE.pcap
 *
 * Test tool only: it reads the file with libpcap (pcap_open_offline), which
 * the decoder itself never calls.
 */
#include "pmirrord/ip_reasm.h"
#include "pmirrord/pkt_decode.h"

#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_mac(const char *name, int ok, const uint8_t *m)
{
    if (ok)
        printf(" %s=%02x:%02x:%02x:%02x:%02x:%02x", name, m[0], m[1], m[2], m[3], m[4], m[5]);
    else
        printf(" %s=-", name);
}

static void print_view(int rc, const struct pkt_view *v)
{
    printf("rc=%s", pkt_reason_name(rc));
    put_mac("mac", (v->flags & PKT_F_SRCMAC) != 0, v->src_mac);
    put_mac("dmac", (v->flags & PKT_F_DSTMAC) != 0, v->dst_mac);
    if (v->dlt == DLT_LINUX_SLL || v->dlt == DLT_LINUX_SLL2)
        printf(" sll=%u/%u", v->sll_pkttype, (unsigned)v->sll_ifindex);
    else
        printf(" sll=-");
    printf(" vlans=");
    if (v->nvlan == 0)
        printf("-");
    for (unsigned i = 0; i < v->nvlan; i++)
        printf("%s%04x/%u", i ? "," : "", v->vlan_tpid[i], v->vlan_tci[i] & 0x0fffu);
    if (v->flags & PKT_F_PPPOE)
        printf(" pppoe=%u/%04x", v->pppoe_sid, v->ppp_proto);
    else
        printf(" pppoe=%s", (v->flags & PKT_F_PPPOE_DISC) ? "disc" : "-");
    printf(" fam=%d", v->family);
    if (v->family == PKT_FAM_NONE) {
        printf(" src=- dst=- ttl=- proto=- ext=- frag=- ports=- ulen=- pay=-\n");
        return;
    }
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    int af = v->family == PKT_FAM_IPV4 ? AF_INET : AF_INET6;
    inet_ntop(af, v->src, s, sizeof(s));
    inet_ntop(af, v->dst, d, sizeof(d));
    printf(" src=%s dst=%s ttl=%u proto=%u ext=%u", s, d, v->ttl, v->proto, v->n_ext);
    if (v->flags & PKT_F_FRAG)
        printf(" frag=%u/%d/%x", (unsigned)v->frag_off, (v->flags & PKT_F_MF) ? 1 : 0,
               (unsigned)v->frag_id);
    else
        printf(" frag=-");
    if (v->flags & PKT_F_PORTS)
        printf(" ports=%u>%u", v->sport, v->dport);
    else
        printf(" ports=-");
    if ((v->flags & PKT_F_PORTS) && v->proto == 17)
        printf(" ulen=%u", v->udp_len);
    else
        printf(" ulen=-");
    printf(" pay=%zu:", v->payload_len);
    for (size_t i = 0; i < v->payload_len && i < 8; i++)
        printf("%02x", v->payload[i]);
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: pkt_pcapcheck FILE.pcap\n");
        return 2;
    }
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(argv[1], err);
    if (pc == NULL) {
        fprintf(stderr, "pkt_pcapcheck: %s\n", err);
        return 1;
    }
    int dlt = pcap_datalink(pc);
    struct reasm *r = reasm_new(16, 1 << 20, 30000);
    static uint8_t out[REASM_MAX_PACKET + 64];
    struct pcap_pkthdr *h;
    const u_char *p;
    int rc;
    while ((rc = pcap_next_ex(pc, &h, &p)) == 1) {
        struct pkt_view v;
        int drc = pkt_decode(dlt, p, h->caplen, h->len, &v);
        print_view(drc, &v);
        if (drc != 0)
            continue;
        uint64_t now = (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
        size_t n = 0;
        int rr = reasm_add(r, &v, now, out, sizeof(out), &n);
        if (rr == REASM_COMPLETE) {
            struct pkt_view w;
            printf("reasm %zu ", n);
            print_view(pkt_decode(DLT_RAW, out, n, n, &w), &w);
        } else if (rr < 0) {
            printf("reasm %s\n", reasm_result_name(rr));
        }
    }
    if (rc != PCAP_ERROR_BREAK) {
        fprintf(stderr, "pkt_pcapcheck: %s\n", pcap_geterr(pc));
        return 1;
    }
    reasm_free(r);
    pcap_close(pc);
    return 0;
}
