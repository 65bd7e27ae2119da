/*
 * ip_allow.c - `pmirrord -n -c FILE --ip-allow`: a systemd drop-in with the
 * IPAddressAllow= lines the configuration needs (docs/systemd.md).
 *
 * The unit denies every IP address but localhost (IPAddressDeny=any,
 * IPAddressAllow=localhost); the processes' inet sockets reach only:
 *   trap hosts (trapHost: the agent's notifications and their answers),
 *   analyzers of the file's `mirror` rules (the capture process's jmirror),
 *   the AgentX master when agentXSocket is tcp:ADDRESS.
 * RADIUS and DHCP are read from packet sockets (AF_PACKET), which systemd's
 * address filter (cgroup inet hooks) does not see: the RADIUS peers are named
 * in comments only.  Trap hosts and analyzers that arrive later (pmirrorctl,
 * runtime.conf, RADIUS lawful-intercept attributes; SNMP sets none) are not
 * in the file: their prefixes must be added by hand.  Loopback addresses
 * are already allowed and not repeated.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "ip_allow.h"
#include "pmirrord/conf.h"
#include "pmirrord/radius_conf.h"
#include "pmirrord/trigger.h"

#define IPA_MAX 512 /* distinct addresses printed */

struct ipa_set {
    struct {
        int family;
        uint8_t addr[16];
        uint8_t plen;
    } a[IPA_MAX];
    size_t n;
};

static int loopback(int family, const uint8_t *addr)
{
    static const uint8_t v6lo[16] = {[15] = 1};
    return family == 4 ? addr[0] == 127 : memcmp(addr, v6lo, 16) == 0;
}

/* 1 if new (then printed by the caller), 0 if already there or loopback.
 * Past IPA_MAX addresses a line is printed unchecked (repeated perhaps, which
 * systemd accepts): left out, its analyzer would be unreachable. */
static int ipa_add(struct ipa_set *s, int family, const uint8_t *addr, unsigned plen)
{
    size_t len = family == 4 ? 4 : 16;
    if (loopback(family, addr))
        return 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->a[i].family == family && s->a[i].plen == plen &&
            memcmp(s->a[i].addr, addr, len) == 0)
            return 0;
    if (s->n >= IPA_MAX)
        return 1;
    s->a[s->n].family = family;
    memset(s->a[s->n].addr, 0, sizeof(s->a[s->n].addr));
    memcpy(s->a[s->n].addr, addr, len);
    s->a[s->n].plen = (uint8_t)plen;
    s->n++;
    return 1;
}

static void put(FILE *out, struct ipa_set *s, int family, const uint8_t *addr, unsigned plen)
{
    char text[INET6_ADDRSTRLEN];
    if (!ipa_add(s, family, addr, plen) ||
        inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, text, sizeof(text)) == NULL)
        return;
    if (plen == (family == 4 ? 32u : 128u))
        fprintf(out, "IPAddressAllow=%s\n", text);
    else
        fprintf(out, "IPAddressAllow=%s/%u\n", text, plen);
}

/* udp:A.B.C.D:PORT, udp6:[X::Y]:PORT, tcp:..., or as written: the address. */
static int host_of(const char *spec, int *family, uint8_t *addr)
{
    char buf[160];
    const char *p = strchr(spec, ':');
    if (p != NULL && (strncmp(spec, "udp", 3) == 0 || strncmp(spec, "tcp", 3) == 0))
        spec = p + 1;
    snprintf(buf, sizeof(buf), "%s", spec);
    char *h = buf;
    if (h[0] == '[') {
        char *end = strchr(h, ']');
        if (end == NULL)
            return -1;
        *end = '\0';
        h++;
    } else {
        char *colon = strchr(h, ':');
        if (colon != NULL && strchr(colon + 1, ':') == NULL)
            *colon = '\0'; /* A.B.C.D:PORT */
    }
    if (inet_pton(AF_INET, h, addr) == 1) {
        *family = 4;
        return 0;
    }
    if (inet_pton(AF_INET6, h, addr) == 1) {
        *family = 6;
        return 0;
    }
    return -1;
}

int pm_ip_allow_print(const struct pm_conf *c, FILE *out)
{
    static struct ipa_set set;
    uint8_t addr[16];
    int family;
    memset(&set, 0, sizeof(set));

    fprintf(out,
            "# IPAddressAllow= for %s, written by pmirrord --ip-allow (docs/systemd.md).\n"
            "# It names the analyzers of the file's mirror rules: keep it readable by root only:\n"
            "#   pmirrord -n -c FILE --ip-allow > ip-allow.conf\n"
            "#   install -D -m 0600 ip-allow.conf "
            "/etc/systemd/system/pmirrord.service.d/ip-allow.conf\n"
            "#   systemctl daemon-reload && systemctl restart pmirrord\n"
            "# Loaded, these lines are readable by every local user (systemctl show):\n"
            "# where analyzers are secret, allow their prefixes instead (docs/systemd.md).\n"
            "# Trap hosts and analyzers given later (pmirrorctl, runtime.conf, RADIUS\n"
            "# lawful-intercept attributes) are not in the file: add their prefixes as\n"
            "# further IPAddressAllow= lines.\n"
            "[Service]\n",
            c->path);
    fprintf(out, "# trap hosts (trapHost)\n");
    for (size_t i = 0; i < c->nhosts; i++) {
        if (host_of(c->hosts[i].transport, &family, addr) == 0)
            put(out, &set, family, addr, family == 4 ? 32 : 128);
        else
            fprintf(out, "# %s: trapHost not a numeric address: add its addresses yourself\n",
                    c->hosts[i].where);
    }
    fprintf(out, "# analyzers of the mirror rules\n");
    for (size_t i = 0; i < c->ntriggers; i++) {
        const struct trig_analyzer *a = &c->triggers[i].rule.analyzer;
        if (a->family == 4 || a->family == 6)
            put(out, &set, a->family, a->addr, a->family == 4 ? 32 : 128);
    }
    if (strncmp(c->agentx_socket, "tcp:", 4) == 0) {
        fprintf(out, "# the AgentX master (agentXSocket)\n");
        if (host_of(c->agentx_socket, &family, addr) == 0)
            put(out, &set, family, addr, family == 4 ? 32 : 128);
    }
    if (c->radius != NULL && c->radius->npeers > 0)
        fprintf(out,
                "# RADIUS peers (%u): read from packet sockets, which IPAddressAllow= does\n"
                "# not filter; no line needed\n",
                c->radius->npeers);
    return 0;
}
