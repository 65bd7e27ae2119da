/*
 * conf_sess.h - the session table's directive (capture process):
 *
 *   maxSubscribers N      sessions tracked at once, 1..10000000, default 1000000
 *
 * Parsed by conf.c for the whole file (the monitor's check) and by the
 * capture process from its slice (conf_slice.h); the value sizes the session
 * table (sess_table.h, st_new()).
 */
#ifndef PMIRRORD_CONF_SESS_H
#define PMIRRORD_CONF_SESS_H

#include <stddef.h>

#define CONF_MAX_SUBSCRIBERS_DEFAULT 1000000u
#define CONF_MAX_SUBSCRIBERS_MAX     10000000u

/* maxSubscribers's words (argv[0] = "maxSubscribers"): 0 with *out set, or -1
 * with one sentence in err (no FILE:LINE: the caller adds it). */
int conf_parse_max_subscribers(int argc, char **argv, unsigned *out, char *err, size_t errlen)
    __attribute__((warn_unused_result));

#endif
