/*
 * bench_capture_latency.c - how long a signalling frame waits between the
 * wire and the capture callback (src/capture), with TPACKET_V2 immediate mode
 * and with TPACKET_V3 blocks retired after the latency, idle and under load.
 *
 *   bench_capture_latency [-n PROBES] [-p PROBES_PER_S] [-r immediate|block]
 *                         [-l LATENCY_MS] [-f "BPF"] [-L FRAME_BYTES] [-R ROLE]
 *                         [-s SNAPLEN] [-B BUFFER_MIB] CAPIF SENDIF
 *
 * CAPIF and SENDIF are the two ends of a veth pair in one namespace (see
 * bench/capture_latency, which creates it).  A child process sends probe
 * frames on SENDIF through a packet socket (no routing): UDP to port 1812 with
 * the CLOCK_MONOTONIC send time in the payload; the capture source on CAPIF
 * takes the time again in the callback.  With -L a second child floods
 * FRAME_BYTES-sized UDP frames to port 9 with sendmmsg() as fast as it can.
 * The source is `capture CAPIF role ROLE [snaplen N] [buffer MIB] [filter BPF]`
 * (ROLE signalling by default), so the role's defaults apply.
 * Prints one line: mode, probes seen, latency p50/p99/max in µs, load frames
 * captured, kernel drops, and the capture process's CPU time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pmirrord/cap_source.h"

#define PROBE_MAGIC 0x706d6c61u /* "pmla" */
#define PROBE_PORT  1812
#define LOAD_PORT   9

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Ethernet broadcast / IPv4 198.18.99.2 -> 198.18.99.1 / UDP, no checksum. */
static size_t build_frame(uint8_t *f, size_t len, uint16_t dport)
{
    memset(f, 0, len);
    memset(f, 0xff, 6);
    memcpy(f + 6, "\x02\x00\x00\x00\x00\x02", 6);
    f[12] = 0x08;
    uint8_t *ip = f + 14;
    uint16_t iplen = (uint16_t)(len - 14);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[8] = 64;
    ip[9] = 17;
    memcpy(ip + 12, "\xc6\x12\x63\x02\xc6\x12\x63\x01", 8);
    uint32_t sum = 0;
    for (int i = 0; i < 20; i += 2)
        sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    ip[10] = (uint8_t)(~sum >> 8);
    ip[11] = (uint8_t)~sum;
    uint8_t *udp = ip + 20;
    udp[0] = 0x9c;
    udp[2] = (uint8_t)(dport >> 8);
    udp[3] = (uint8_t)dport;
    udp[4] = (uint8_t)((iplen - 20) >> 8);
    udp[5] = (uint8_t)(iplen - 20);
    return len;
}

static int packet_socket(const char *ifname)
{
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(ifname)};
    if (sll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void probe_child(const char *ifname, int n, int rate)
{
    uint8_t f[14 + 20 + 8 + 16];
    int fd = packet_socket(ifname);
    if (fd < 0)
        _exit(1);
    build_frame(f, sizeof(f), PROBE_PORT);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < n; i++) {
        long step = 1000000000L / rate;
        next.tv_nsec += step;
        while (next.tv_nsec >= 1000000000L) {
            next.tv_nsec -= 1000000000L;
            next.tv_sec++;
        }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
        uint32_t magic = htonl(PROBE_MAGIC);
        int64_t t = now_ns();
        memcpy(f + 42, &magic, 4);
        memcpy(f + 46, &i, 4);
        memcpy(f + 50, &t, 8);
        if (send(fd, f, sizeof(f), 0) < 0)
            _exit(1);
    }
    _exit(0);
}

static void load_child(const char *ifname, size_t len)
{
    static uint8_t f[1600];
    struct mmsghdr msgs[64];
    struct iovec iov = {f, len};
    int fd = packet_socket(ifname);
    if (fd < 0)
        _exit(1);
    build_frame(f, len, LOAD_PORT);
    for (int i = 0; i < 64; i++)
        msgs[i] = (struct mmsghdr){.msg_hdr = {.msg_iov = &iov, .msg_iovlen = 1}};
    for (;;)
        if (sendmmsg(fd, msgs, 64, 0) < 0 && errno != ENOBUFS && errno != EAGAIN)
            _exit(1);
}

struct result {
    int64_t *lat_ns;
    int nlat, cap;
    uint64_t load;
};

static int on_packet(void *arg, struct cap_source *src, const struct cap_packet *pkt)
{
    struct result *r = arg;
    int64_t t = now_ns();
    uint32_t magic;
    if (pkt->caplen >= 58 && pkt->data[36] == (PROBE_PORT >> 8) &&
        pkt->data[37] == (PROBE_PORT & 0xff)) {
        memcpy(&magic, pkt->data + 42, 4);
        if (ntohl(magic) == PROBE_MAGIC && r->nlat < r->cap) {
            int64_t sent;
            memcpy(&sent, pkt->data + 50, 8);
            r->lat_ns[r->nlat++] = t - sent;
        }
    } else {
        r->load++;
    }
    return CAP_PKT_TAKEN;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int n = 300, rate = 100, opt;
    unsigned latency = CAP_LATENCY_MS_DEFAULT;
    size_t load_len = 0;
    const char *filter = NULL, *role = "signalling", *snaplen = NULL, *buffer = NULL;
    enum cap_ring ring = CAP_RING_IMMEDIATE;
    char err[512];

    while ((opt = getopt(argc, argv, "n:p:r:l:f:L:R:s:B:")) != -1) {
        switch (opt) {
        case 'n':
            n = atoi(optarg);
            break;
        case 'p':
            rate = atoi(optarg);
            break;
        case 'r':
            ring = !strcmp(optarg, "block") ? CAP_RING_BLOCK : CAP_RING_IMMEDIATE;
            break;
        case 'l':
            latency = (unsigned)atoi(optarg);
            break;
        case 'f':
            filter = optarg;
            break;
        case 'L':
            load_len = (size_t)atoi(optarg);
            break;
        case 'R':
            role = optarg;
            break;
        case 's':
            snaplen = optarg;
            break;
        case 'B':
            buffer = optarg;
            break;
        default:
            return 2;
        }
    }
    if (argc - optind != 2 || n < 1 || rate < 1 ||
        (load_len && (load_len < 60 || load_len > 1514))) {
        fprintf(stderr, "usage: bench_capture_latency [-n PROBES] [-p PROBES_PER_S] "
                        "[-r immediate|block] [-l LATENCY_MS] [-f BPF] [-L 60..1514] [-R ROLE] "
                        "[-s SNAPLEN] [-B BUFFER_MIB] CAPIF SENDIF\n");
        return 2;
    }
    const char *words[16] = {argv[optind], "role", role};
    int nw = 3;
    if (filter != NULL) {
        words[nw++] = "filter";
        words[nw++] = filter;
    }
    if (snaplen != NULL) {
        words[nw++] = "snaplen";
        words[nw++] = snaplen;
    }
    if (buffer != NULL) {
        words[nw++] = "buffer";
        words[nw++] = buffer;
    }
    struct cap_spec spec;
    if (cap_spec_parse(words, nw, &spec, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    struct result r = {.cap = n};
    r.lat_ns = calloc((size_t)n, sizeof(*r.lat_ns));
    struct cap_source *src = cap_source_new(&spec, on_packet, NULL, &r, err, sizeof(err));
    if (r.lat_ns == NULL || src == NULL || cap_source_set_ring(src, ring, err, sizeof(err)) < 0 ||
        cap_source_set_latency(src, latency, err, sizeof(err)) < 0 ||
        cap_source_set_batch(src, 256, err, sizeof(err)) < 0 ||
        cap_source_activate(src, err, sizeof(err)) < 0 || cap_source_state(src) != CAP_STATE_UP) {
        fprintf(stderr, "bench_capture_latency: %s\n", src ? err : "setup failed");
        return 1;
    }

    pid_t loader = -1;
    if (load_len) {
        loader = fork();
        if (loader == 0)
            load_child(argv[optind + 1], load_len);
        struct timespec settle = {0, 200000000};
        nanosleep(&settle, NULL);
    }
    struct rusage ru0, ru1;
    getrusage(RUSAGE_SELF, &ru0);
    pid_t prober = fork();
    if (prober == 0)
        probe_child(argv[optind + 1], n, rate);

    int64_t end = 0;
    for (;;) {
        int status;
        if (end == 0 && waitpid(prober, &status, WNOHANG) == prober)
            end = now_ns() + 200000000; /* drain what is still in flight */
        if (end != 0 && now_ns() > end)
            break;
        struct pollfd pfd = {.fd = cap_source_pollfd(src), .events = POLLIN};
        int t = cap_source_poll_timeout(src);
        if (t < 0 || t > 50)
            t = 50; /* to notice the prober's end */
        poll(&pfd, 1, t);
        cap_source_dispatch(src, err, sizeof(err));
    }
    getrusage(RUSAGE_SELF, &ru1);
    if (loader > 0) {
        kill(loader, SIGKILL);
        waitpid(loader, NULL, 0);
    }
    struct cap_stats st;
    cap_source_stats(src, &st);
    qsort(r.lat_ns, (size_t)r.nlat, sizeof(*r.lat_ns), cmp64);
    double cpu = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec -
                          ru0.ru_stime.tv_sec) +
                 (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec -
                          ru0.ru_stime.tv_usec) /
                     1e6;
    double secs = (double)n / rate + 0.2;
    printf("%-9s %s buf=%uM snap=%u lat=%u filter=%-3s load=%-4zu probes=%d/%d p50=%.0fus "
           "p99=%.0fus max=%.0fus "
           "load_pkts=%llu (%.0f/s) kdrops=%llu cpu=%.0f%%\n",
           st.immediate ? "immediate" : "v3-block", cap_role_name(spec.role), spec.buffer_mib,
           spec.snaplen, latency, filter ? "yes" : "no", load_len, r.nlat, n,
           r.nlat ? (double)r.lat_ns[r.nlat / 2] / 1e3 : -1.0,
           r.nlat ? (double)r.lat_ns[(r.nlat * 99) / 100] / 1e3 : -1.0,
           r.nlat ? (double)r.lat_ns[r.nlat - 1] / 1e3 : -1.0, (unsigned long long)r.load,
           (double)r.load / secs, (unsigned long long)st.kernel_drops, 100.0 * cpu / secs);
    cap_source_free(src);
    free(r.lat_ns);
    return r.nlat == n ? 0 : 3;
}
