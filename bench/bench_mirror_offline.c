/*
 * bench_mirror_offline.c - the offline `bench` mode of bench/mirror: a pcap
 * file of small UDP packets of one targeted subscriber, read, classified and
 * encapsulated into jmirror datagrams that are built but not sent
 * (jm_opts.dry_run), in packets per second per core (getrusage CPU time),
 * beside a plain libpcap read (pcap_next_ex loop) of the same file.
 *
 *   bench_mirror_offline [-n PACKETS] [-r RUNS] [-b BLOCK] [-f FILE]
 *
 * The packets go through the capture process's own per-frame code: cp_frame()
 * (decode, dedupe, classify) -> cp_mirror() (session lookup, jm_queue()),
 * with a cap_proc set up as tests/unit/test_cap_proc.c does (no channels, no
 * sandbox; cp_conf.dry_run set, so cp_sess_start() opens the sender with
 * jm_opts.dry_run and the per-intercept accounting runs as it does live);
 * the subscriber's intercept comes from an Access-Accept fact with the LI
 * VSAs handed to the session engine.  cp_mirror_flush() runs after every
 * BLOCK (64) frames, as the capture loop flushes after each pass over a ring
 * block.
 * The file (Ethernet, 198.18.1.1 -> 198.18.2.2, 18-octet UDP payload: 60-octet
 * frames) is written first, not timed, and removed at the end unless -f names it.
 * Goal: >= 2 Mpps per core through the mirror path.  Exit status 3 if missed.
 */
#include <arpa/inet.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "capture/cap_proc_priv.h"
#include "pmirrord/ip_reasm.h"
#include "pmirrord/jm_send.h"
#include "pmirrord/pkt_dedupe.h"
#include "pmirrord/sess_engine.h"
#include "pmirrord/sig_fact.h"

#define GOAL_PPS 2e6
#define SUB_IP   0xc6120101u /* 198.18.1.1 */
#define PEER_IP  0xc6120202u /* 198.18.2.2 */
#define AN_IP    0xc6120302u /* 198.18.3.2 */

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static size_t frame(uint8_t *f, uint32_t seq)
{
    memset(f, 0, 60);
    static const uint8_t dst[6] = {2, 0, 0, 0, 0, 2}, src[6] = {2, 0, 0, 0, 0, 1};
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    ip[3] = 46; /* 20 + 8 + 18 */
    ip[4] = (uint8_t)(seq >> 8);
    ip[5] = (uint8_t)seq;
    ip[8] = 64;
    ip[9] = 17;
    uint32_t s = htonl(SUB_IP), d = htonl(PEER_IP);
    memcpy(ip + 12, &s, 4);
    memcpy(ip + 16, &d, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    uint8_t *u = ip + 20;
    u[0] = 0x9c, u[1] = 0x40; /* 40000 */
    u[3] = 9;
    u[5] = 26; /* no UDP checksum (0): allowed for IPv4 */
    memcpy(u + 8, &seq, 4);
    return 60;
}

static int write_file(const char *path, long n)
{
    pcap_t *pd = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *w = pd ? pcap_dump_open(pd, path) : NULL;
    if (w == NULL) {
        fprintf(stderr, "bench_mirror_offline: %s: %s\n", path, pd ? pcap_geterr(pd) : "pcap");
        return -1;
    }
    uint8_t f[64];
    struct pcap_pkthdr h;
    memset(&h, 0, sizeof(h));
    h.ts.tv_sec = 1700000001;
    for (long i = 0; i < n; i++) {
        h.caplen = h.len = (bpf_u_int32)frame(f, (uint32_t)i);
        h.ts.tv_usec = (suseconds_t)(i % 1000000);
        pcap_dump((u_char *)w, &h, f);
    }
    pcap_dump_close(w);
    pcap_close(pd);
    return 0;
}

static pcap_t *open_file(const char *path)
{
    char e[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, e);
    if (pc == NULL)
        fprintf(stderr, "bench_mirror_offline: %s\n", e);
    return pc;
}

/* The plain read: every record touched (its length summed), nothing else. */
static long plain(const char *path, double *cpu)
{
    pcap_t *pc = open_file(path);
    if (pc == NULL)
        return -1;
    struct pcap_pkthdr *h;
    const u_char *d;
    long n = 0;
    unsigned long sum = 0;
    double c0 = cpu_s();
    while (pcap_next_ex(pc, &h, &d) == 1) {
        sum += h->caplen + d[h->caplen - 1];
        n++;
    }
    *cpu = cpu_s() - c0;
    pcap_close(pc);
    if (sum == 1)
        puts(""); /* keeps the loop's reads */
    return n;
}

static struct cap_proc P;

static int proc_setup(char *err, size_t errlen)
{
    static struct cp_conf c;
    memset(&P, 0, sizeof(P));
    memset(&c, 0, sizeof(c));
    if (cp_mlog_init(&P) != 0)
        return snprintf(err, errlen, "mirror log queue"), -1;
    P.clock.offline_only = 1;
    P.timer_due_ms = UINT64_MAX;
    P.dedupe = pkt_dedupe_new(CP_DEDUPE_SLOTS, CP_DEDUPE_MS, NULL);
    P.reasm = reasm_new(CP_REASM_DGRAMS, CP_REASM_BYTES, CP_REASM_MS);
    P.nsrc = 1;
    struct cp_source *s = &P.src[0];
    s->proc = &P;
    snprintf(s->spec.src, sizeof(s->spec.src), "pcap:bench");
    snprintf(s->name, sizeof(s->name), "src:bench");
    s->spec.role = CAP_ROLE_DATA;
    c.max_subscribers = 1000;
    c.session_start_timeout = 30;
    c.dh.max_bindings = 1000;
    c.mirror.dscp = -1;
    c.dry_run = 1; /* jm_opts.dry_run: built into the batch, counted, not sent */
    if (cp_sess_start(&P, &c, err, errlen) != 0)
        return -1;

    struct sig_fact f;
    memset(&f, 0, sizeof(f));
    f.kind = SIG_ACCESS_ACCEPT;
    f.ts_sec = 1700000000;
    f.id.user.len = 9;
    memcpy(f.id.user.v, "bench-sub", 9);
    f.id.nas_ip = f.id.peer_ip = htonl(0xc6120001);
    f.id.framed_ip = htonl(SUB_IP);
    f.li.present = 1;
    f.li.action = SIG_LI_ON;
    f.li.has_handle = 1;
    f.li.handle_len = 8;
    f.li.mirror_id = 1;
    f.li.has_sid = 1;
    f.li.session_id = 1;
    f.li.has_analyzer = 1;
    uint32_t an = htonl(AN_IP);
    memcpy(f.li.analyzer, &an, 4);
    f.li.has_port = 1;
    f.li.port = JM_DEFAULT_PORT;
    se_on_fact(&f, P.se);
    return 0;
}

/* Through cp_frame: decoded, classified, looked up, encapsulated, not sent. */
static long mirrored(const char *path, long block, double *cpu, uint64_t *built)
{
    pcap_t *pc = open_file(path);
    if (pc == NULL)
        return -1;
    struct jm_stats j0, j1;
    jm_get_stats(P.jm, &j0);
    struct pcap_pkthdr *h;
    const u_char *d;
    long n = 0;
    double c0 = cpu_s();
    while (pcap_next_ex(pc, &h, &d) == 1) {
        cp_frame(&P, &P.src[0], DLT_EN10MB, d, h->caplen, h->len, (int64_t)h->ts.tv_sec,
                 (uint32_t)h->ts.tv_usec, -1 /* a pcap file: direction not known */);
        if (++n % block == 0)
            cp_mirror_flush(&P);
    }
    cp_mirror_flush(&P);
    *cpu = cpu_s() - c0;
    pcap_close(pc);
    jm_get_stats(P.jm, &j1);
    *built = j1.built - j0.built;
    return n;
}

int main(int argc, char **argv)
{
    long n = 2000000, runs = 5, block = 64;
    const char *file = NULL;
    int c;
    while ((c = getopt(argc, argv, "n:r:b:f:")) != -1) {
        switch (c) {
        case 'n':
            n = atol(optarg);
            break;
        case 'r':
            runs = atol(optarg);
            break;
        case 'b':
            block = atol(optarg);
            break;
        case 'f':
            file = optarg;
            break;
        default:
            fprintf(stderr,
                    "usage: bench_mirror_offline [-n PACKETS] [-r RUNS] [-b BLOCK] [-f FILE]\n");
            return 1;
        }
    }
    if (n < 1 || runs < 1 || block < 1)
        return 1;
    char tmp[] = "/tmp/bench_mirror_offline.XXXXXX";
    const char *path = file;
    if (path == NULL) {
        int fd = mkstemp(tmp);
        if (fd < 0)
            return perror("mkstemp"), 1;
        close(fd);
        path = tmp;
    }
    if (write_file(path, n) != 0)
        return 1;
    char err[256];
    if (proc_setup(err, sizeof(err)) != 0) {
        fprintf(stderr, "bench_mirror_offline: %s\n", err);
        return 1;
    }
    printf("bench_mirror_offline: %ld packets (60-octet Ethernet frames, one targeted "
           "subscriber), %ld runs, cp_mirror_flush every %ld\n",
           n, runs, block);
    printf("%-4s %-40s %10s %8s %10s %10s\n", "run", "path", "packets", "cpu_s", "Mpps/core",
           "built");
    double pbest[64], mbest[64];
    int rc = 0;
    long nr = runs < 64 ? runs : 64;
    for (long r = 0; r < nr; r++) {
        double cp = 0, cm = 0;
        uint64_t built = 0;
        long a = plain(path, &cp), b = mirrored(path, block, &cm, &built);
        if (a != n || b != n) {
            fprintf(stderr, "bench_mirror_offline: read %ld and %ld of %ld\n", a, b, n);
            rc = 1;
            break;
        }
        pbest[r] = (double)n / cp / 1e6;
        mbest[r] = (double)n / cm / 1e6;
        printf("%-4ld %-40s %10ld %8.3f %10.2f %10s\n", r + 1, "plain libpcap read (baseline)", n,
               cp, pbest[r], "-");
        printf("%-4ld %-40s %10ld %8.3f %10.2f %10llu\n", r + 1,
               "read+classify+encapsulate (dry run)", n, cm, mbest[r], (unsigned long long)built);
        if (built != (uint64_t)n) {
            fprintf(stderr, "bench_mirror_offline: %llu datagrams built for %ld packets\n",
                    (unsigned long long)built, n);
            rc = 1;
        }
    }
    if (rc == 0) {
        /* medians */
        for (long i = 0; i < nr; i++)
            for (long k = i + 1; k < nr; k++) {
                if (pbest[k] < pbest[i]) {
                    double t = pbest[i];
                    pbest[i] = pbest[k], pbest[k] = t;
                }
                if (mbest[k] < mbest[i]) {
                    double t = mbest[i];
                    mbest[i] = mbest[k], mbest[k] = t;
                }
            }
        double pm = pbest[nr / 2], mm = mbest[nr / 2];
        printf("median Mpps per core: plain read %.2f, mirror path %.2f (%.2f of the plain read)\n",
               pm, mm, mm / pm);
        printf("goal: mirror path >= %.1f Mpps per core: %s\n", GOAL_PPS / 1e6,
               mm * 1e6 >= GOAL_PPS ? "ok" : "MISSED");
        if (mm * 1e6 < GOAL_PPS)
            rc = 3;
    }
    if (file == NULL)
        unlink(path);
    cp_sess_free(&P);
    cp_mlog_free(&P);
    pkt_dedupe_free(P.dedupe);
    reasm_free(P.reasm);
    return rc;
}
