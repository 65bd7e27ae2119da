/*
 * cap_exclude.h - the BPF expression that keeps the data path's own
 * datagrams out of a capture source (cap_source_set_exclude()): a static
 * mirror of an interface through which its analyzer is reached would
 * otherwise capture every datagram it sends and mirror it again, a loop
 * (docs/capture-sources.md "Exclusion").
 */
#ifndef PMIRRORD_CAP_EXCLUDE_H
#define PMIRRORD_CAP_EXCLUDE_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/trigger.h"

/* A destination of our datagrams and the local port they leave from (host
 * order; 0: no socket, nothing is sent there). */
struct cx_dest {
    struct trig_analyzer an;
    uint16_t sport;
};

/*
 * Writes into out the expression matching the datagrams to d[0..n) and every
 * later fragment of them, each destination once:
 *   IPv4  (udp and dst host A and dst port P and src port S)
 *         or (ip and dst host A and ip[6:2] & 0x1fff != 0)
 *   IPv6  (ip6 and udp and dst host A and dst port P and src port S)
 *         or (ip6 and dst host A and ip6[6] == 44)
 * joined with " or "; "" when there is none.  A later fragment carries no
 * ports (RFC 791, RFC 8200 section 4.5), so every one to an analyzer is
 * excluded.  0, or -1 with err when it does not fit in outlen.
 */
int cx_build(const struct cx_dest *d, size_t n, char *out, size_t outlen, char *err, size_t errlen);

#endif
