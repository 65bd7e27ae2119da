/*
 * pkt_internal.h - what the decoder's files share (not an API).
 *
 * Every decoding step works on offsets into v->frame: `end` is the end of
 * the captured bytes it may read, `wend` the end of the bytes on the wire
 * (>= end; larger only when a snap length cut the frame).  A step reads
 * only below `end` and reports PKT_E_TRUNCATED when what it needs lies
 * between `end` and `wend`, and a malformed header when it lies past `wend`.
 */
#ifndef PMIRRORD_CAPTURE_PKT_INTERNAL_H
#define PMIRRORD_CAPTURE_PKT_INTERNAL_H

#include "pmirrord/pkt_decode.h"

#include <stddef.h>
#include <stdint.h>

static inline uint16_t pkt_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t pkt_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The link layer of v->dlt, then whatever it carries (pkt_l2.c). */
int pkt_l2_decode(struct pkt_view *v);

/* An IP packet at off; want 4 or 6 when the link layer named the version, 0 for raw IP. */
int pkt_ip_decode(struct pkt_view *v, int want, size_t off, size_t end, size_t wend);

#endif
