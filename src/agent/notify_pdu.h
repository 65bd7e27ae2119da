/*
 * notify_pdu.h - the varbind list of a Juniper-PACKET-MIRROR-MIB
 * notification, built from a pm_event (agent thread only: Net-SNMP).
 *
 * The list is what send_v2trap()/netsnmp_send_traps() expect:
 *   sysUpTime.0      1.3.6.1.2.1.1.3.0       TimeTicks (agent uptime)
 *   snmpTrapOID.0    1.3.6.1.6.3.1.1.4.1.0   OID 1.3.6.1.4.1.4874.2.2.77.3.0.<trap>
 *   then the OBJECTS of the notification in MIB order (pm_trap_def()), each
 *   as 1.3.6.1.4.1.4874.2.2.77.3.1.<obj>.0
 *
 * Decisions:
 * - The objects are accessible-for-notify scalars; RFC 2578 §8.1 requires an
 *   object *instance* per OBJECTS entry, and a scalar's only instance is .0
 *   (the form Net-SNMP's own notifications use, docs/netsnmp-notes.md).
 * - Unsigned32 -> ASN_UNSIGNED (Gauge32, 0x42); enumerations -> ASN_INTEGER;
 *   DisplayString -> ASN_OCTET_STR cut to the SIZE maximum (255/64/40) with
 *   pm_display_cut(); IpAddress -> ASN_IPADDRESS (4 octets, network order);
 *   DateAndTime -> ASN_OCTET_STR of 11 octets (local time + UTC offset).
 * - An empty UserName or PolicyName (MIB SIZE(1..64)/(1..40)) is sent as a
 *   zero-length string.  Dropping the notification would lose a mandated
 *   report, and inventing a placeholder would put false data in it; a
 *   receiver that validates sizes sees the truth (the value was unknown).
 * - The event is not range-checked here: call pm_event_check() first.
 */
#ifndef PMIRRORD_AGENT_NOTIFY_PDU_H
#define PMIRRORD_AGENT_NOTIFY_PDU_H

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>

#include <stddef.h>

#include "pmirrord/pm_event.h"

/*
 * Full varbind list for ev (2 + pm_trap_def(ev->trap)->nobjs entries), to be
 * freed with snmp_free_varbind().  NULL on allocation failure, an unknown
 * trap or an unconvertible time.
 */
netsnmp_variable_list *pm_notify_varbinds(const struct pm_event *ev);

/*
 * A buffer this size holds any summary whole: the longest notification
 * carries 574 string octets (Trigger 255, UserName 64, ErrorString 255), and
 * escaping writes at most 4 characters per octet (\xNN).
 */
#define PM_NOTIFY_SUMMARY_MAX 4096

/*
 * One line for the secure audit log:
 *   SessionStart DateAndTime=2024-1-2,3:4:5.6,+5:30 ConfigurationSource=0 ...
 * Object names without the juniPacketMirror prefix, in varbind order;
 * strings in double quotes with '"', '\\' and non-printable octets escaped
 * (\xNN), so the line never breaks.  Always NUL-terminates buf (len > 0);
 * returns the length the whole line needs, like snprintf(): a return
 * >= len means it was cut.  Holds subscriber data: secure log only.
 */
size_t pm_notify_summary(const struct pm_event *ev, char *buf, size_t len);

#endif
