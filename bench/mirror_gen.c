/*
 * mirror_gen.c - the traffic generator of bench/mirror: small UDP datagrams
 * of one source address (the targeted subscriber) to one destination, as
 * fast as this machine sends them, for a fixed time.
 *
 *   mirror_gen -d DST_IPV4 [-p PORT] [-t SECONDS] [-s PAYLOAD] [-b BATCH] [-r PPS]
 *
 * -r paces the batches to PPS datagrams per second on average (bench/soak:
 * a steady load rather than the most the machine can send).
 * One connected UDP socket, sendmmsg() of BATCH (64) datagrams of PAYLOAD
 * (18) octets, so each is a 60-octet Ethernet frame; the first 8 payload
 * octets carry a sequence number.  A send the kernel refuses (ENOBUFS, a
 * full queue) is counted and not retried.  Prints one line:
 *   sent N errors E seconds S pps R
 * and exits 0 (1 on a bad argument or a socket error).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define GEN_BATCH_MAX   256
#define GEN_PAYLOAD_MAX 1472

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
    fprintf(
        stderr,
        "usage: mirror_gen -d DST_IPV4 [-p PORT] [-t SECONDS] [-s PAYLOAD] [-b BATCH] [-r PPS]\n");
    exit(1);
}

int main(int argc, char **argv)
{
    const char *dst = NULL;
    int port = 9, batch = 64;
    size_t payload = 18;
    double secs = 3.0, pps = 0;
    int c;
    while ((c = getopt(argc, argv, "d:p:t:s:b:r:")) != -1) {
        switch (c) {
        case 'd':
            dst = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 't':
            secs = atof(optarg);
            break;
        case 's':
            payload = (size_t)atoi(optarg);
            break;
        case 'b':
            batch = atoi(optarg);
            break;
        case 'r':
            pps = atof(optarg);
            break;
        default:
            usage();
        }
    }
    if (dst == NULL || port <= 0 || port > 65535 || secs <= 0 || payload < 8 ||
        payload > GEN_PAYLOAD_MAX || batch < 1 || batch > GEN_BATCH_MAX || pps < 0)
        usage();
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, dst, &sin.sin_addr) != 1)
        usage();
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
        perror("mirror_gen: socket");
        return 1;
    }
    int sndbuf = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    static uint8_t buf[GEN_BATCH_MAX][GEN_PAYLOAD_MAX];
    static struct iovec iov[GEN_BATCH_MAX];
    static struct mmsghdr msg[GEN_BATCH_MAX];
    for (int i = 0; i < batch; i++) {
        memset(buf[i], 0x5a, payload);
        iov[i].iov_base = buf[i];
        iov[i].iov_len = payload;
        msg[i].msg_hdr.msg_iov = &iov[i];
        msg[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t seq = 0, sent = 0, errors = 0;
    double t0 = now_s(), t = t0, end = t0 + secs;
    while (t < end) {
        for (int i = 0; i < batch; i++) {
            uint64_t s = seq + (uint64_t)i;
            memcpy(buf[i], &s, sizeof(s));
        }
        int n = sendmmsg(fd, msg, (unsigned)batch, 0);
        if (n > 0) {
            sent += (uint64_t)n;
            seq += (uint64_t)n;
        }
        if (n < batch) {
            if (n < 0 && errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED &&
                errno != EINTR) {
                perror("mirror_gen: sendmmsg");
                return 1;
            }
            errors++; /* the first datagram not taken */
            seq++;
        }
        t = now_s();
        if (pps > 0) {
            double due = t0 + (double)(sent + errors) / pps; /* when the next batch may go */
            if (due > t) {
                struct timespec ts = {(time_t)(due - t),
                                      (long)((due - t - (double)(time_t)(due - t)) * 1e9)};
                nanosleep(&ts, NULL);
                t = now_s();
            }
        }
    }
    double dt = t - t0;
    printf("sent %llu errors %llu seconds %.3f pps %.0f\n", (unsigned long long)sent,
           (unsigned long long)errors, dt, (double)sent / dt);
    close(fd);
    return 0;
}
