/*
 * conf_mirror.h - the jmirror sender's directives (capture process,
 * docs/jmirror.md, README "Configuration reference"):
 *
 *   mirrorSource ADDRESS      source address of the datagrams, at most one
 *                             IPv4 and one IPv6 (default: the kernel's choice)
 *   mirrorDscp N              DSCP of the datagrams, 0..63 (default 0)
 *   mirrorInterface IFNAME    the analyzers are reached through IFNAME only
 *                             (SO_BINDTODEVICE)
 *   analyzerHoldDown SECONDS  an unreachable analyzer is up again after this
 *                             long without an error, 1..3600 (default 10)
 *   mirrorGso on|off          equal datagrams to one analyzer leave as UDP GSO
 *                             trains (default off: a capture on a virtual
 *                             link would see a train as one packet)
 *
 * Parsed by conf.c for the whole file (the monitor's check) and by the
 * capture process from its slice (conf_slice.h), which also gets the
 * analyzer ports of the file's `mirror` rules under the internal key
 * CONF_SLICE_KEY_PORTS (conf_mirror_ports_*()).
 */
#ifndef PMIRRORD_CONF_MIRROR_H
#define PMIRRORD_CONF_MIRROR_H

#include <stddef.h>
#include <stdint.h>

#define CONF_HOLD_DOWN_DEFAULT 10u
#define CONF_HOLD_DOWN_MAX     3600u
#define CONF_DSCP_MAX          63
#define CONF_MIRROR_PORTS_MAX  16 /* = JM_PORTS_MAX (jm_send.h) */
#define CONF_MIRROR_WHERE_MAX  272

struct pm_mirror_conf {
    int has_src4, has_src6;
    uint8_t src4[4]; /* network order */
    uint8_t src6[16];
    char src4_where[CONF_MIRROR_WHERE_MAX]; /* "file:line" of the mirrorSource line */
    char src6_where[CONF_MIRROR_WHERE_MAX];
    int dscp;                                 /* -1: not set */
    char ifname[16];                          /* "" none */
    char ifname_where[CONF_MIRROR_WHERE_MAX]; /* "file:line" of the mirrorInterface line */
    unsigned hold_down;                       /* analyzerHoldDown, s */
    int gso;                                  /* mirrorGso */
};

void conf_mirror_defaults(struct pm_mirror_conf *m);
/* One of the four directives' words (argv[0] the directive); where =
 * "file:line" of the line.  0, or -1 with one sentence in err (no FILE:LINE:
 * the caller adds it). */
int conf_mirror_parse(struct pm_mirror_conf *m, int argc, char **argv, const char *where, char *err,
                      size_t errlen) __attribute__((warn_unused_result));

/* The analyzer ports of the `mirror` rules: "P1 P2 ..." (distinct, file
 * order, at most CONF_MIRROR_PORTS_MAX) ... */
size_t conf_mirror_ports_format(const uint16_t *ports, size_t n, char *buf, size_t cap);
/* ... and back: 0 with *n set, or -1 (not such a list). */
int conf_mirror_ports_parse(const char *s, uint16_t *ports, size_t max, size_t *n);
/* Adds port (host order) to ports[0..*n) unless there or full (max). */
void conf_mirror_ports_add(uint16_t *ports, size_t *n, size_t max, uint16_t port);

#endif
