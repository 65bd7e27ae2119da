/*
 * jm_send.h - the jmirror sender: each mirrored IP packet leaves as one UDP
 * datagram to its analyzer, an 8-octet header first (2-bit version 0, 30-bit
 * mirror ID, 32-bit session ID, network order), then the packet from its IP
 * header on, cut to its IP total length (docs/jmirror.md).
 *
 * The sockets (one per family) are opened by jm_new() before the capture
 * sandbox is installed; the sandbox lets the process send on them and on
 * nothing else (docs/sandbox.md).  One datagram per call here.
 */
#ifndef PMIRRORD_JM_SEND_H
#define PMIRRORD_JM_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "pmirrord/trigger.h"

#define JM_HDR_LEN 8

struct jm_stats {
    uint64_t sent, bytes; /* datagrams and their octets (UDP payload) */
    uint64_t send_errors; /* sendto failed */
    uint64_t too_big;     /* larger than a UDP datagram can carry */
    uint64_t no_socket;   /* the analyzer's family has no socket */
};

struct jm_sender;

struct jm_sender *jm_new(char *err, size_t errlen);
void jm_free(struct jm_sender *s);
/* The descriptors the sandbox must let through (-1 where a family has none). */
void jm_fds(const struct jm_sender *s, int *fd4, int *fd6);
/* The local UDP port (network order) of the family's socket (4 or 6), 0 none:
 * the data path recognises the datagrams it sent itself by it. */
uint16_t jm_local_port(const struct jm_sender *s, int family);

/* Writes the 8-octet header (version 0). */
void jm_header(uint8_t out[JM_HDR_LEN], uint32_t mirror_id, uint32_t session_id);

/* Sends ip[0..len) (an IP packet, already cut to its total length) to a.
 * 0 sent; -1 not sent (counted by reason; errno kept). */
int jm_send(struct jm_sender *s, const struct trig_analyzer *a, uint32_t mirror_id,
            uint32_t session_id, const uint8_t *ip, size_t len);

void jm_get_stats(const struct jm_sender *s, struct jm_stats *out);

#endif
