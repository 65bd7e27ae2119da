/*
 * cap_priv.h - the capture source's fields, shared by cap_source.c (live
 * interfaces, common code) and cap_offline.c (pcap files).  Private to
 * src/capture.
 */
#ifndef PMIRRORD_CAP_PRIV_H
#define PMIRRORD_CAP_PRIV_H

#include <pcap/pcap.h>

#include "pmirrord/cap_source.h"

struct cap_source {
    struct cap_spec spec;
    cap_packet_fn on_packet;
    cap_event_fn on_event;
    void *arg;
    unsigned latency_ms;
    enum cap_ring ring;
    int batch;

    pcap_t *p;
    int pollfd; /* pcap_get_selectable_fd(), -1 when closed or offline */
    int dlt;
    int activations; /* successful opens */
    enum cap_state state;
    enum cap_cause cause;
    char reason[CAP_REASON_MAX];
    char exclude[CAP_EXCLUDE_MAX]; /* cap_source_set_exclude(); "" none */

    /* live */
    unsigned ifindex;      /* of the open handle */
    unsigned lost_ifindex; /* of the interface we went DOWN on */
    int mtu;
    uint8_t mac[6]; /* the interface's own address (Ethernet): a frame from it was sent */
    int has_mac;
    int filtered;         /* the handle has a filter set (cap_filter) */
    uint32_t super_limit; /* wirelen above this is a super-packet; 0 = unknown */
    int super_warned;
    int immediate;
    uint64_t kdrops_base, ifdrops_base; /* closed handles' counters */

    /* offline */
    int file_fd; /* from cap_source_set_fd(), until pcap owns it */
    int pending; /* hdr/data hold a packet not yet taken */
    struct pcap_pkthdr *hdr;
    const u_char *data;
    int64_t t0_mono_us, t0_pkt_us; /* pace recorded: first packet's clocks */
    uint64_t offset, size;

    /* counters */
    uint64_t packets, bytes, backlog_drops, super_packets;
    int64_t last_ts_sec;
    uint32_t last_ts_usec;
};

/* cap_source.c */
void cap_set_state(struct cap_source *src, enum cap_state st, enum cap_cause cause, const char *fmt,
                   ...) __attribute__((format(printf, 4, 5)));
void cap_warn(struct cap_source *src, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cap_filter(struct cap_source *src, char *err, size_t errlen);
/* A live frame's direction, CAP_DIR_* (docs/capture-sources.md "Direction"). */
int cap_frame_dir(const struct cap_source *src, const struct pcap_pkthdr *h, const u_char *b);
int64_t cap_mono_us(void);

/* cap_offline.c */
int cap_offline_open(struct cap_source *src, char *err, size_t errlen);
int cap_offline_dispatch(struct cap_source *src);
int cap_offline_timeout(const struct cap_source *src);
void cap_offline_close(struct cap_source *src);

#endif
