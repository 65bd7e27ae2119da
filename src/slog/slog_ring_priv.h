/*
 * slog_ring_priv.h - what tests and benchmarks may see of a secure ring beyond
 * its API (slog_ring.h).  Not for the daemon.
 */
#ifndef PMIRRORD_SLOG_RING_PRIV_H
#define PMIRRORD_SLOG_RING_PRIV_H

#include <stddef.h>

#include "pmirrord/slog_ring.h"

/* The whole slot region (page-rounded), for scanning what is left in it. */
const void *slog_ring_mem(const struct slog_ring *r, size_t *len);

#endif
