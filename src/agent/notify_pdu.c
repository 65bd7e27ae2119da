/*
 * notify_pdu.c - builds the varbinds of the ten Juniper-PACKET-MIRROR-MIB
 * notifications, and their one-line secure-log summary.  The order and the
 * types come from pm_codec.c's tables; decisions are in notify_pdu.h.
 */
#include "notify_pdu.h"

#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pmirrord/escape.h"
#include "pmirrord/pm_codec.h"

/* SNMPv2-MIB (RFC 3418): sysUpTime.0 and snmpTrapOID.0. */
static const oid sysuptime_oid[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
static const oid snmptrapoid_oid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};

/* Appends one object instance (…77.3.1.<obj>.0) with its value. */
static int add_object(netsnmp_variable_list **vl, const struct pm_event *ev, enum pm_obj o)
{
    oid name[] = {PM_MIB_ARCS, PM_MIB_TRAPS_ARC, PM_MIB_OBJECTS_ARC, (oid)o, 0};
    struct pm_value v;
    u_char type;
    const void *val;
    size_t vlen;

    if (pm_event_value(ev, o, &v) < 0)
        return -1;
    switch (v.type) {
    case PM_TYPE_UNSIGNED32:
        type = ASN_UNSIGNED; /* Unsigned32 and Gauge32 share tag 0x42 (RFC 2578 §7.1.11) */
        val = &v.u;
        vlen = sizeof(v.u);
        break;
    case PM_TYPE_ENUM:
        type = ASN_INTEGER;
        val = &v.i;
        vlen = sizeof(v.i);
        break;
    case PM_TYPE_DISPLAY_STRING:
        type = ASN_OCTET_STR;
        val = v.s;
        vlen = v.len;
        break;
    case PM_TYPE_IPADDRESS:
        type = ASN_IPADDRESS;
        val = v.oct;
        vlen = v.len;
        break;
    case PM_TYPE_DATE_AND_TIME:
        type = ASN_OCTET_STR;
        val = v.oct;
        vlen = v.len;
        break;
    default:
        return -1;
    }
    /* A zero-length value makes a zero-length OCTET STRING (snmp_set_var_value). */
    if (snmp_varlist_add_variable(vl, name, OID_LENGTH(name), type, val, vlen) == NULL)
        return -1;
    return 0;
}

netsnmp_variable_list *pm_notify_varbinds(const struct pm_event *ev)
{
    const struct pm_trap_def *td = pm_trap_def(ev->trap);
    netsnmp_variable_list *vl = NULL;
    oid trap_oid[] = {PM_MIB_ARCS, PM_MIB_TRAPS_ARC, PM_MIB_TRAPPFX_ARC, 0};
    /* TimeTicks counts modulo 2^32 (RFC 2578 §7.1.8); u_long is 64-bit here. */
    u_long uptime = netsnmp_get_agent_uptime() & 0xffffffffUL;

    if (td == NULL)
        return NULL;
    trap_oid[OID_LENGTH(trap_oid) - 1] = (oid)td->trap;
    if (snmp_varlist_add_variable(&vl, sysuptime_oid, OID_LENGTH(sysuptime_oid), ASN_TIMETICKS,
                                  &uptime, sizeof(uptime)) == NULL)
        goto fail;
    if (snmp_varlist_add_variable(&vl, snmptrapoid_oid, OID_LENGTH(snmptrapoid_oid), ASN_OBJECT_ID,
                                  trap_oid, sizeof(trap_oid)) == NULL)
        goto fail;
    for (size_t i = 0; i < td->nobjs; i++) {
        if (add_object(&vl, ev, td->objs[i]) < 0)
            goto fail;
    }
    return vl;
fail:
    snmp_free_varbind(vl);
    return NULL;
}

/*
 * The summary is written straight into the caller's fixed buffer: nothing
 * passes through a smaller intermediate one, and what does not fit is only
 * counted (like snprintf), so the caller can tell a cut line.
 */
struct line_out {
    char *buf;
    size_t len;
    size_t used; /* would-be length */
};

static char *lo_room(struct line_out *b, size_t *room)
{
    *room = b->used < b->len ? b->len - b->used : 0;
    return *room > 0 ? b->buf + b->used : NULL;
}

static void lo_printf(struct line_out *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void lo_printf(struct line_out *b, const char *fmt, ...)
{
    size_t room;
    char *at = lo_room(b, &room);
    va_list ap;

    va_start(ap, fmt);
    int n = vsnprintf(at, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->used += (size_t)n;
}

static void lo_quoted(struct line_out *b, const char *s, size_t n)
{
    size_t room;
    char *at;

    lo_printf(b, "\"");
    at = lo_room(b, &room);
    b->used += pm_escape(at != NULL ? at : b->buf, room, s, n);
    lo_printf(b, "\"");
}

size_t pm_notify_summary(const struct pm_event *ev, char *buf, size_t len)
{
    const struct pm_trap_def *td = pm_trap_def(ev->trap);
    struct line_out b = {buf, len, 0};

    if (td == NULL) {
        lo_printf(&b, "unknown-notification-%d", (int)ev->trap);
    } else {
        lo_printf(&b, "%s", pm_trap_name(td->trap));
        for (size_t i = 0; i < td->nobjs; i++) {
            const struct pm_obj_def *d = pm_obj_def(td->objs[i]);
            struct pm_value v;

            lo_printf(&b, " %s=", d->name);
            if (pm_event_value(ev, d->obj, &v) < 0) {
                lo_printf(&b, "?");
                continue;
            }
            switch (v.type) {
            case PM_TYPE_UNSIGNED32:
                lo_printf(&b, "%u", v.u);
                break;
            case PM_TYPE_ENUM:
                lo_printf(&b, "%d", v.i);
                break;
            case PM_TYPE_DISPLAY_STRING:
                lo_quoted(&b, v.s, v.len);
                break;
            case PM_TYPE_IPADDRESS:
                lo_printf(&b, "%u.%u.%u.%u", v.oct[0], v.oct[1], v.oct[2], v.oct[3]);
                break;
            case PM_TYPE_DATE_AND_TIME:
                /* RFC 2579 DISPLAY-HINT "2d-1d-1d,1d:1d:1d.1d,1a1d:1d" */
                lo_printf(&b, "%u-%u-%u,%u:%u:%u.%u,%c%u:%u", (v.oct[0] << 8) | v.oct[1], v.oct[2],
                          v.oct[3], v.oct[4], v.oct[5], v.oct[6], v.oct[7], v.oct[8], v.oct[9],
                          v.oct[10]);
                break;
            }
        }
    }
    if (len > 0)
        buf[b.used < len ? b.used : len - 1] = '\0';
    return b.used;
}
