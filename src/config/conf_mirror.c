/*
 * conf_mirror.c - the jmirror sender's directives (conf_mirror.h, README
 * "Configuration reference", docs/jmirror.md).
 */
#include "pmirrord/conf_mirror.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf_lex.h"
#include "pmirrord/errbuf.h"

void conf_mirror_defaults(struct pm_mirror_conf *m)
{
    memset(m, 0, sizeof(*m));
    m->dscp = -1;
    m->hold_down = CONF_HOLD_DOWN_DEFAULT;
}

static int source(struct pm_mirror_conf *m, const char *a, const char *where, char *err,
                  size_t errlen)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, a, b) == 1) {
        if (m->has_src4)
            return pm_err(err, errlen, "mirrorSource: an IPv4 source is already set at %s",
                          m->src4_where);
        memcpy(m->src4, b, 4);
        m->has_src4 = 1;
        snprintf(m->src4_where, sizeof(m->src4_where), "%s", where);
        return 0;
    }
    if (inet_pton(AF_INET6, a, b) == 1) {
        if (m->has_src6)
            return pm_err(err, errlen, "mirrorSource: an IPv6 source is already set at %s",
                          m->src6_where);
        memcpy(m->src6, b, 16);
        m->has_src6 = 1;
        snprintf(m->src6_where, sizeof(m->src6_where), "%s", where);
        return 0;
    }
    return pm_err(err, errlen, "mirrorSource: \"%.60s\" is not a numeric IPv4 or IPv6 address", a);
}

int conf_mirror_parse(struct pm_mirror_conf *m, int argc, char **argv, const char *where, char *err,
                      size_t errlen)
{
    unsigned long v;
    if (argc != 2)
        return pm_err(err, errlen, "%s takes 1 argument, %d given", argv[0], argc - 1);
    const char *a = argv[1];
    if (strcasecmp(argv[0], "mirrorSource") == 0)
        return source(m, a, where, err, errlen);
    if (strcasecmp(argv[0], "mirrorDscp") == 0) {
        if (conf_uint(a, 0, CONF_DSCP_MAX, &v) < 0)
            return pm_err(err, errlen, "mirrorDscp: \"%.40s\" is not a number from 0 to %d", a,
                          CONF_DSCP_MAX);
        m->dscp = (int)v;
        return 0;
    }
    if (strcasecmp(argv[0], "mirrorInterface") == 0) {
        /* IFNAMSIZ is 16 with the NUL; as the kernel's dev_valid_name() */
        size_t n = strlen(a);
        if (n == 0 || n >= sizeof(m->ifname) || strcmp(a, ".") == 0 || strcmp(a, "..") == 0 ||
            strpbrk(a, "/: \t") != NULL)
            return pm_err(err, errlen,
                          "mirrorInterface: \"%.40s\" is not an interface name (1-15 characters, "
                          "no '/', ':' or space)",
                          a);
        memcpy(m->ifname, a, n + 1);
        snprintf(m->ifname_where, sizeof(m->ifname_where), "%s", where);
        return 0;
    }
    if (strcasecmp(argv[0], "analyzerHoldDown") == 0) {
        if (conf_uint(a, 1, CONF_HOLD_DOWN_MAX, &v) < 0)
            return pm_err(err, errlen, "analyzerHoldDown: \"%.40s\" is not a number from 1 to %u",
                          a, CONF_HOLD_DOWN_MAX);
        m->hold_down = (unsigned)v;
        return 0;
    }
    if (strcasecmp(argv[0], "mirrorGso") == 0) {
        if (conf_onoff(a, &m->gso) < 0)
            return pm_err(err, errlen,
                          "mirrorGso: \"%.40s\" is not yes/no, on/off, true/false or "
                          "enable/disable",
                          a);
        return 0;
    }
    return pm_err(err, errlen, "%.40s: not a jmirror directive", argv[0]);
}

void conf_mirror_ports_add(uint16_t *ports, size_t *n, size_t max, uint16_t port)
{
    for (size_t i = 0; i < *n; i++)
        if (ports[i] == port)
            return;
    if (*n < max && port != 0)
        ports[(*n)++] = port;
}

size_t conf_mirror_ports_format(const uint16_t *ports, size_t n, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        int w = snprintf(buf + len, cap - len, "%s%u", i ? " " : "", (unsigned)ports[i]);
        if (w < 0 || (size_t)w >= cap - len) {
            buf[len] = '\0';
            break;
        }
        len += (size_t)w;
    }
    return len;
}

int conf_mirror_ports_parse(const char *s, uint16_t *ports, size_t max, size_t *n)
{
    *n = 0;
    while (*s != '\0') {
        if (*s == ' ') {
            s++;
            continue;
        }
        char w[8];
        size_t l = strcspn(s, " ");
        unsigned long v;
        if (l >= sizeof(w))
            return -1;
        memcpy(w, s, l);
        w[l] = '\0';
        if (conf_uint(w, 1, 65535, &v) < 0 || *n == max)
            return -1;
        ports[(*n)++] = (uint16_t)v;
        s += l;
    }
    return 0;
}
