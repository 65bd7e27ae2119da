/*
 * pkt_segment.h - GRO/TSO super-packets split back into wire packets.
 *
 * A capture on a host whose interface aggregates received TCP segments
 * (GRO, LRO) or hands large segments to the hardware to cut (TSO, GSO) sees
 * IP packets larger than the interface's MTU: several wire packets in one.
 * The mediation device must get the packets as they were on the wire, so a
 * TCP super-packet (IPv4 without options or with, IPv6 without extension
 * headers) is cut here as the kernel's GSO would cut it: each segment the
 * headers of the first, the IP total/payload length, the IPv4 identifier
 * (incremented per segment) and header checksum, the TCP sequence number
 * (advanced by the payload before it), the flags (FIN, PSH only on the last;
 * CWR only on the first) and the TCP checksum recomputed.  Anything else
 * larger than the MTU (UDP GRO, IPv6 extension headers, a packet whose
 * headers alone exceed the MTU) is not split: PSEG_UNSPLIT, the caller
 * counts it and mirrors it as it is (docs/capture-sources.md says to turn
 * offloads off on data sources).
 *
 * A codec: no state, no allocation; the segments are written one at a time
 * into the caller's buffer and handed to the callback.
 */
#ifndef PMIRRORD_PKT_SEGMENT_H
#define PMIRRORD_PKT_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define PSEG_MTU_MIN 576u /* an MTU below this is not used to split */

enum pseg_rc {
    PSEG_FITS = 0,    /* len <= mtu (or mtu unknown, 0): nothing to do */
    PSEG_SPLIT = 1,   /* split: the callback had every segment */
    PSEG_UNSPLIT = 2, /* larger than the MTU and not splittable: mirror as is */
};

/* One segment (seg[0..len), a whole IP packet); return 0 to go on, -1 to stop. */
typedef int (*pseg_fn)(void *arg, const uint8_t *seg, size_t len);

/* ip[0..len): an IP packet (4 or 6 by its first nibble), cut to its total
 * length; mtu: the interface's.  buf: at least mtu octets, for one segment.
 * *nseg: segments handed to fn. */
enum pseg_rc pkt_segment(const uint8_t *ip, size_t len, unsigned mtu, uint8_t *buf, size_t buflen,
                         pseg_fn fn, void *arg, size_t *nseg);

#endif
