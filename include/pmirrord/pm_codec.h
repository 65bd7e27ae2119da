/*
 * pm_codec.h - Juniper-PACKET-MIRROR-MIB as data, and the value encodings
 * its notification objects need (docs/mirror-mib.md).
 *
 * Pure C, no Net-SNMP: the agent side (src/agent/notify_pdu.c) turns these
 * tables into varbinds; tests and the secure log use them directly.
 *
 * Abbreviations (docs/mirror-mib.md): DT=DateAndTime, CS=ConfigurationSource,
 * TT=TriggerType, TR=Trigger, RID=RouterId, UN=UserName, MID=Identifier,
 * SID=SessionIdentifier, EC=ErrorCause, AN=ApplicationName, ES=ErrorString,
 * PN=PolicyName, PID=PolicyId, DIR=Direction, TIP=TargetIpAddress,
 * AA=AnalyzerAddress, TRM=TerminationReason.
 */
#ifndef PMIRRORD_PM_CODEC_H
#define PMIRRORD_PM_CODEC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "pmirrord/pm_event.h"

/* juniPacketMirrorMIB = 1.3.6.1.4.1.4874.2.2.77, as a C initializer list. */
#define PM_MIB_ARCS     1, 3, 6, 1, 4, 1, 4874, 2, 2, 77
#define PM_MIB_ARCS_LEN 10
/* Notifications are PM_MIB.3.0.<trap>, their objects PM_MIB.3.1.<obj>. */
#define PM_MIB_TRAPS_ARC   3
#define PM_MIB_TRAPPFX_ARC 0
#define PM_MIB_OBJECTS_ARC 1

/* The notification objects; the value is the last sub-identifier under .77.3.1. */
enum pm_obj {
    PM_OBJ_IDENTIFIER = 1,          /* MID, Unsigned32 */
    PM_OBJ_SESSION_ID = 2,          /* SID, Unsigned32 */
    PM_OBJ_TRIGGER = 3,             /* TR, DisplayString (0..255) */
    PM_OBJ_TRIGGER_TYPE = 4,        /* TT, INTEGER 0..8 */
    PM_OBJ_CONFIG_SOURCE = 5,       /* CS, INTEGER 0..3 */
    PM_OBJ_ERROR_CAUSE = 6,         /* EC, INTEGER 0..9 */
    PM_OBJ_ERROR_STRING = 7,        /* ES, DisplayString (0..255) */
    PM_OBJ_APPLICATION = 8,         /* AN, INTEGER 0 */
    PM_OBJ_ANALYZER_ADDRESS = 9,    /* AA, IpAddress */
    PM_OBJ_USER_NAME = 10,          /* UN, DisplayString (1..64) */
    PM_OBJ_POLICY_NAME = 11,        /* PN, DisplayString (1..40) */
    PM_OBJ_POLICY_ID = 12,          /* PID, Unsigned32 */
    PM_OBJ_DATE_AND_TIME = 13,      /* DT, DateAndTime (11 octets here) */
    PM_OBJ_ROUTER_ID = 14,          /* RID, Unsigned32 */
    PM_OBJ_DIRECTION = 15,          /* DIR, INTEGER 0..1 */
    PM_OBJ_TARGET_IP = 16,          /* TIP, IpAddress */
    PM_OBJ_TERMINATION_REASON = 17, /* TRM, INTEGER 0..22 */
};
#define PM_OBJ_MIN 1
#define PM_OBJ_MAX 17

/* SNMP type class of an object (what the varbind carries). */
enum pm_type {
    PM_TYPE_UNSIGNED32 = 1, /* Unsigned32 (encoded as Gauge32, tag 0x42) */
    PM_TYPE_ENUM,           /* INTEGER enumeration, range lo..hi */
    PM_TYPE_DISPLAY_STRING, /* OCTET STRING, size lo..hi */
    PM_TYPE_IPADDRESS,      /* IpAddress, 4 octets network order */
    PM_TYPE_DATE_AND_TIME,  /* OCTET STRING, RFC 2579 DateAndTime */
};

struct pm_obj_def {
    enum pm_obj obj;
    const char *name; /* without the juniPacketMirror prefix: "UserName" */
    const char *abbr; /* docs/mirror-mib.md abbreviation: "UN" */
    enum pm_type type;
    uint32_t lo, hi; /* enum range, or DisplayString SIZE; 0,0 otherwise */
};

/* Longest varbind list of a notification (SessionEnd, SessionFailed). */
#define PM_TRAP_MAX_OBJS 13

struct pm_trap_def {
    enum pm_trap trap; /* also the last sub-identifier under .77.3.0 */
    size_t nobjs;
    enum pm_obj objs[PM_TRAP_MAX_OBJS]; /* OBJECTS clause, in order */
};

/* NULL when out of range. */
const struct pm_obj_def *pm_obj_def(enum pm_obj o);
/* The notification's MIB name without "juniPacketMirror", for logs, the
 * configuration and the CLI: "SessionStart" etc.; NULL when out of range. */
const char *pm_trap_name(enum pm_trap t);
const struct pm_trap_def *pm_trap_def(enum pm_trap t);

/*
 * RFC 2579 DateAndTime, 11 octets: year (2, big-endian), month, day, hour,
 * minutes, seconds, deci-seconds, direction from UTC ('+'/'-'), hours and
 * minutes from UTC.  Local time (localtime_r + tm_gmtoff, so TZ matters).
 * RFC 2579 allows only 0..13 hours from UTC; for a zone further away
 * (UTC+14, Kiribati) the time is written in UTC with "+0:00" instead, which
 * stays exact.  Returns 11, or 0 if ts cannot be converted (bad tv_nsec,
 * year outside 0..65535, localtime_r failure).
 */
size_t pm_dateandtime(const struct timespec *ts, uint8_t out[11]);

/*
 * Length to which the NUL-terminated UTF-8 string s must be cut to fit a
 * DisplayString of at most max octets without splitting a multi-byte
 * sequence.  Reads at most max + 1 bytes of s.  Bytes that are not valid
 * UTF-8 are left alone (they are never "split", just counted).
 */
size_t pm_display_cut(const char *s, size_t max);

/*
 * One object's value taken from an event, ready to encode.  Strings point
 * into the event and len is already cut with pm_display_cut(); IpAddress and
 * DateAndTime are the wire octets.
 */
struct pm_value {
    enum pm_type type;
    uint32_t u;      /* PM_TYPE_UNSIGNED32 */
    int i;           /* PM_TYPE_ENUM */
    const char *s;   /* PM_TYPE_DISPLAY_STRING */
    size_t len;      /* octets in s, or in oct[] */
    uint8_t oct[11]; /* PM_TYPE_IPADDRESS (4), PM_TYPE_DATE_AND_TIME (11) */
};

/* 0, or -1 if o is out of range or ev->when cannot be converted. */
int pm_event_value(const struct pm_event *ev, enum pm_obj o, struct pm_value *v);

/*
 * Checks an event before it is encoded: trap in range, every enumeration the
 * trap carries inside the MIB's range, every string NUL-terminated inside its
 * buffer.  Fields the trap does not carry are not looked at.  An empty
 * UserName or PolicyName (MIB SIZE(1..n)) is accepted: see notify_pdu.h.
 * 0 when valid; -1 with a sentence in err otherwise (names the object and an
 * out-of-range number, never a string's contents: err may reach the
 * ordinary log).
 */
int pm_event_check(const struct pm_event *ev, char *err, size_t errlen);

#endif
