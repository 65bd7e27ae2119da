/*
 * trigger_rule.c - the small pure functions on parsed mirror triggers
 * (trigger.h): type names, rule identity, warrant windows, the MIB's view
 * of a direction.  Parsing and formatting are in trigger_parse.c.
 */
#include "pmirrord/trigger.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *label;   /* the MIB's TriggerType label */
    const char *keyword; /* JUNOSe's CLI keyword */
} names[TRIG_TYPE_MAX + 1] = {
    [TRIG_INTERFACE] = {"interfaceString", "interface"},
    [TRIG_IP] = {"ipAddress", "ip-address"},
    [TRIG_NAS_PORT_ID] = {"nasPortId", "nas-port-id"},
    [TRIG_USERNAME] = {"username", "username"},
    [TRIG_CSID] = {"callingStationId", "calling-station-id"},
    [TRIG_ACCT_SID] = {"acctSessionId", "acct-session-id"},
    [TRIG_OPT82] = {"dhcpOption82", "dhcp-option-82"},
    [TRIG_CIRCUIT] = {"agentCircuitId", "agent-circuit-id"},
    [TRIG_REMOTE] = {"agentRemoteId", "agent-remote-id"},
};

const char *trig_type_label(enum trig_type t)
{
    if ((int)t < 0 || t > TRIG_TYPE_MAX)
        return NULL;
    return names[t].label;
}

int trig_type_parse(const char *word)
{
    for (int t = 0; t <= TRIG_TYPE_MAX; t++)
        if (strcasecmp(word, names[t].label) == 0 || strcasecmp(word, names[t].keyword) == 0)
            return t;
    return -1;
}

static int same_value(enum trig_type ta, const uint8_t *va, size_t la, int fa, const uint8_t *ia,
                      unsigned pa, enum trig_type tb, const uint8_t *vb, size_t lb, int fb,
                      const uint8_t *ib, unsigned pb)
{
    if (ta != tb)
        return 0;
    if (ta == TRIG_IP)
        return fa == fb && pa == pb && memcmp(ia, ib, fa == 4 ? 4 : 16) == 0;
    return la == lb && memcmp(va, vb, la) == 0;
}

int trig_same(const struct pm_trigger *a, const struct pm_trigger *b)
{
    if (a->mirror_id != b->mirror_id)
        return 0;
    if (a->type == TRIG_INTERFACE || b->type == TRIG_INTERFACE)
        return a->type == b->type && strcmp(a->text, b->text) == 0;
    return same_value(a->type, a->value, a->value_len, a->ip_family, a->ip, a->ip_plen, b->type,
                      b->value, b->value_len, b->ip_family, b->ip, b->ip_plen);
}

int trig_del_matches(const struct pm_trigger_del *d, const struct pm_trigger *t)
{
    if (d->has_mirror_id && d->mirror_id != t->mirror_id)
        return 0;
    if (d->type == TRIG_INTERFACE || t->type == TRIG_INTERFACE)
        return d->type == t->type && d->value_len == strlen(t->text) &&
               memcmp(d->value, t->text, d->value_len) == 0;
    return same_value(d->type, d->value, d->value_len, d->ip_family, d->ip, d->ip_plen, t->type,
                      t->value, t->value_len, t->ip_family, t->ip, t->ip_plen);
}

int trig_window_open(const struct pm_trigger *t, int64_t now)
{
    if (t->from != 0 && now < t->from)
        return 0;
    if (t->until != 0 && now >= t->until)
        return 0;
    return 1;
}

int trig_mib_direction(enum trig_dir d)
{
    return d == TRIG_DIR_EGRESS ? 1 : 0;
}

int trig_analyzer_format(const struct trig_analyzer *a, char *buf, size_t cap)
{
    char ip[INET6_ADDRSTRLEN];
    if (inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr, ip, sizeof(ip)) == NULL)
        return -1;
    int n = snprintf(buf, cap, a->family == 6 ? "[%s]:%u" : "%s:%u", ip, (unsigned)a->port);
    return n < 0 || (size_t)n >= cap ? -1 : n;
}
