/*
 * cap_offline.c - `capture pcap:FILE` sources (cap_source.h).
 *
 * The file is opened by the privileged side and arrives as a descriptor
 * (cap_source_set_fd): it is fdopen()ed and given to pcap_fopen_offline, with
 * timestamps in microseconds whatever the file holds (pcap or pcapng, µs or
 * ns).  It is read once, never rewound.
 *
 * Backpressure: a packet the callback refuses (CAP_PKT_FULL) stays pending and
 * is delivered first at the next dispatch; libpcap keeps the buffer of the
 * last pcap_next_ex() valid until the next call, so nothing is copied and
 * nothing is dropped.
 *
 * `pace recorded`: the first packet is delivered at once and fixes the origin;
 * packet i is due at origin + (ts_i - ts_0) on CLOCK_MONOTONIC.  A timestamp
 * earlier than its predecessor's is due at once.  The poll timeout says when
 * the next one is due.  With `pace fast` (the default) the poll timeout is 0
 * while packets are left, and each dispatch reads one batch.
 *
 * At the end of the file the source goes to CAP_STATE_EOF and closes the
 * file; a read error (a truncated file) does the same, with the error as the
 * reason.
 */
#include "cap_priv.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pmirrord/errbuf.h"

int cap_offline_open(struct cap_source *src, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    struct stat sb;
    const char *name = src->spec.src;

    if (src->file_fd < 0)
        return pm_err(err, errlen, "capture pcap:%s: no descriptor was passed for the file", name);
    if (fstat(src->file_fd, &sb) == 0 && S_ISREG(sb.st_mode))
        src->size = (uint64_t)sb.st_size;
    FILE *fp = fdopen(src->file_fd, "rb");
    if (fp == NULL)
        return pm_err(err, errlen, "capture pcap:%s: fdopen: %s", name, strerror(errno));
    src->file_fd = -1; /* fp owns it now */
    src->p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    if (src->p == NULL) {
        fclose(fp);
        return pm_err(err, errlen, "capture pcap:%s: %s", name, ebuf);
    }
    if (cap_filter(src, err, errlen) < 0) {
        pcap_close(src->p);
        src->p = NULL;
        return -1;
    }
    src->dlt = pcap_datalink(src->p);
    src->activations++;
    cap_set_state(src, CAP_STATE_UP, CAP_CAUSE_OPENED,
                  "capture pcap:%s: reading, %s, %llu bytes, pace %s", name,
                  pcap_datalink_val_to_name(src->dlt), (unsigned long long)src->size,
                  src->spec.pace == CAP_PACE_RECORDED ? "recorded" : "fast");
    return 0;
}

void cap_offline_close(struct cap_source *src)
{
    if (src->p != NULL) {
        pcap_close(src->p); /* fclose: the descriptor too */
        src->p = NULL;
    }
    src->pending = 0;
}

static int64_t pkt_us(const struct pcap_pkthdr *h)
{
    return (int64_t)h->ts.tv_sec * 1000000 + h->ts.tv_usec;
}

/* Microseconds until the pending packet is due (<= 0: due now). */
static int64_t due_in(const struct cap_source *src, int64_t now)
{
    if (src->spec.pace != CAP_PACE_RECORDED || src->t0_mono_us == 0)
        return 0;
    int64_t gap = pkt_us(src->hdr) - src->t0_pkt_us;
    return src->t0_mono_us + gap - now;
}

static void end_of_file(struct cap_source *src, const char *why)
{
    FILE *fp = pcap_file(src->p);
    off_t off = fp != NULL ? ftello(fp) : -1;
    if (off >= 0)
        src->offset = (uint64_t)off;
    cap_offline_close(src);
    cap_set_state(src, CAP_STATE_EOF, CAP_CAUSE_END, "capture pcap:%s: %s after %llu packets",
                  src->spec.src, why, (unsigned long long)src->packets);
}

int cap_offline_dispatch(struct cap_source *src)
{
    int taken = 0;
    char why[PCAP_ERRBUF_SIZE + 16];

    while (taken < src->batch && src->state == CAP_STATE_UP) {
        if (!src->pending) {
            int rc = pcap_next_ex(src->p, &src->hdr, &src->data);
            if (rc == PCAP_ERROR_BREAK) {
                end_of_file(src, "end of file");
                break;
            }
            if (rc < 0) {
                snprintf(why, sizeof(why), "read error (%s)", pcap_geterr(src->p));
                end_of_file(src, why);
                break;
            }
            if (rc == 0) /* a filter refused it (files never time out) */
                continue;
            src->pending = 1;
            FILE *fp = pcap_file(src->p);
            off_t off = fp != NULL ? ftello(fp) : -1;
            if (off >= 0)
                src->offset = (uint64_t)off;
        }
        int64_t now = cap_mono_us();
        if (src->spec.pace == CAP_PACE_RECORDED) {
            if (src->t0_mono_us == 0) {
                src->t0_mono_us = now;
                src->t0_pkt_us = pkt_us(src->hdr);
            } else if (due_in(src, now) > 0) {
                break;
            }
        }
        struct cap_packet pkt = {
            .dlt = src->dlt,
            .ts_sec = src->hdr->ts.tv_sec,
            .ts_usec = (uint32_t)src->hdr->ts.tv_usec,
            .caplen = src->hdr->caplen < src->spec.snaplen ? src->hdr->caplen : src->spec.snaplen,
            .wirelen = src->hdr->len,
            .data = src->data,
        };
        if (src->on_packet(src->arg, src, &pkt) == CAP_PKT_FULL)
            break;
        src->pending = 0;
        taken++;
        src->packets++;
        src->bytes += pkt.caplen;
        src->last_ts_sec = pkt.ts_sec;
        src->last_ts_usec = pkt.ts_usec;
    }
    return taken;
}

int cap_offline_timeout(const struct cap_source *src)
{
    if (!src->pending)
        return 0;
    int64_t us = due_in(src, cap_mono_us());
    if (us <= 0)
        return 0;
    return (int)((us + 999) / 1000);
}
