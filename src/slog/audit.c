/*
 * audit.c - SNMP secure audit log entries (see audit.h).
 *
 * The ordinary log never sees these; it may only count them.
 */
#include "pmirrord/audit.h"
#include "pmirrord/slog_ring.h"

#include <stdatomic.h>
#include <stddef.h>

static struct slog_ring *audit_ring;
static atomic_int audit_on;

void pm_audit_init(struct slog_ring *ring)
{
    audit_ring = ring;
}

void pm_audit_set_enabled(int on)
{
    atomic_store(&audit_on, on ? 1 : 0);
}

int pm_audit_enabled(void)
{
    return audit_ring != NULL && atomic_load(&audit_on);
}

void pm_audit_pdu(const char *op, const char *oid, const char *value, const char *result)
{
    if (!pm_audit_enabled())
        return;
    if (value == NULL)
        slog_ring_appendf(audit_ring, "%s %s: %s", op, oid, result);
    else if (op[0] == 'S') /* SET: the value asked for */
        slog_ring_appendf(audit_ring, "%s %s to %s: %s", op, oid, value, result);
    else
        slog_ring_appendf(audit_ring, "%s %s = %s: %s", op, oid, value, result);
}

void pm_audit_notify(const char *what, const char *host, const char *summary)
{
    if (!pm_audit_enabled())
        return;
    slog_ring_appendf(audit_ring, "snmpTrap %s host=%s %s", what, host, summary);
}
