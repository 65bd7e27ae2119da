/*
 * pm_codec.c - Juniper-PACKET-MIRROR-MIB objects and notifications as
 * tables, RFC 2579 DateAndTime, and DisplayString cutting.
 *
 * Sources: the MIB text (repo DotZero24/pysnmp-mibs,
 * mibs/junose/Juniper-PACKET-MIRROR-MIB, LAST-UPDATED 200910280940Z) as
 * summarised in docs/mirror-mib.md (objects, and the OBJECTS clause of
 * each notification, in order).  Abbreviations as in
 * pm_codec.h.
 */
#include "pmirrord/pm_codec.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>

#define U32(o, n, a)                                                                               \
    {                                                                                              \
        o, n, a, PM_TYPE_UNSIGNED32, 0, 0                                                          \
    }
#define ENUM(o, n, a, l, h)                                                                        \
    {                                                                                              \
        o, n, a, PM_TYPE_ENUM, l, h                                                                \
    }
#define STR(o, n, a, l, h)                                                                         \
    {                                                                                              \
        o, n, a, PM_TYPE_DISPLAY_STRING, l, h                                                      \
    }
#define IPA(o, n, a)                                                                               \
    {                                                                                              \
        o, n, a, PM_TYPE_IPADDRESS, 4, 4                                                           \
    }

/* Indexed by enum pm_obj; SIZE and enum ranges from docs/mirror-mib.md */
static const struct pm_obj_def obj_defs[PM_OBJ_MAX + 1] = {
    [PM_OBJ_IDENTIFIER] = U32(PM_OBJ_IDENTIFIER, "Identifier", "MID"),
    [PM_OBJ_SESSION_ID] = U32(PM_OBJ_SESSION_ID, "SessionIdentifier", "SID"),
    /* DisplayString without its own SIZE: the TC's 0..255 (RFC 2579). */
    [PM_OBJ_TRIGGER] = STR(PM_OBJ_TRIGGER, "Trigger", "TR", 0, 255),
    [PM_OBJ_TRIGGER_TYPE] = ENUM(PM_OBJ_TRIGGER_TYPE, "TriggerType", "TT", 0, 8),
    [PM_OBJ_CONFIG_SOURCE] = ENUM(PM_OBJ_CONFIG_SOURCE, "ConfigurationSource", "CS", 0, 3),
    [PM_OBJ_ERROR_CAUSE] = ENUM(PM_OBJ_ERROR_CAUSE, "ErrorCause", "EC", 0, 9),
    [PM_OBJ_ERROR_STRING] = STR(PM_OBJ_ERROR_STRING, "ErrorString", "ES", 0, 255),
    [PM_OBJ_APPLICATION] = ENUM(PM_OBJ_APPLICATION, "ApplicationName", "AN", 0, 0),
    [PM_OBJ_ANALYZER_ADDRESS] = IPA(PM_OBJ_ANALYZER_ADDRESS, "AnalyzerAddress", "AA"),
    [PM_OBJ_USER_NAME] = STR(PM_OBJ_USER_NAME, "UserName", "UN", 1, 64),
    [PM_OBJ_POLICY_NAME] = STR(PM_OBJ_POLICY_NAME, "PolicyName", "PN", 1, 40),
    [PM_OBJ_POLICY_ID] = U32(PM_OBJ_POLICY_ID, "PolicyId", "PID"),
    [PM_OBJ_DATE_AND_TIME] = {PM_OBJ_DATE_AND_TIME, "DateAndTime", "DT", PM_TYPE_DATE_AND_TIME, 11,
                              11},
    [PM_OBJ_ROUTER_ID] = U32(PM_OBJ_ROUTER_ID, "RouterId", "RID"),
    [PM_OBJ_DIRECTION] = ENUM(PM_OBJ_DIRECTION, "Direction", "DIR", 0, 1),
    [PM_OBJ_TARGET_IP] = IPA(PM_OBJ_TARGET_IP, "TargetIpAddress", "TIP"),
    /* 0..22: 1..22 are RADIUS Acct-Terminate-Cause (docs/mirror-mib.md). */
    [PM_OBJ_TERMINATION_REASON] =
        ENUM(PM_OBJ_TERMINATION_REASON, "TerminationReason", "TRM", 0, 22),
};

/* Short local names for the OBJECTS lists below. */
#define DT  PM_OBJ_DATE_AND_TIME
#define CS  PM_OBJ_CONFIG_SOURCE
#define TT  PM_OBJ_TRIGGER_TYPE
#define TR  PM_OBJ_TRIGGER
#define RID PM_OBJ_ROUTER_ID
#define UN  PM_OBJ_USER_NAME
#define MID PM_OBJ_IDENTIFIER
#define SID PM_OBJ_SESSION_ID
#define EC  PM_OBJ_ERROR_CAUSE
#define AN  PM_OBJ_APPLICATION
#define ES  PM_OBJ_ERROR_STRING
#define PN  PM_OBJ_POLICY_NAME
#define PID PM_OBJ_POLICY_ID
#define DIR PM_OBJ_DIRECTION
#define TIP PM_OBJ_TARGET_IP
#define AA  PM_OBJ_ANALYZER_ADDRESS
#define TRM PM_OBJ_TERMINATION_REASON

/* The session traps share their first twelve objects (docs/mirror-mib.md, notification 5). */
#define SESSION12 DT, CS, TT, TR, RID, MID, SID, PN, PID, DIR, TIP, AA

/*
 * Note the ordering quirk of the MIB: in notification 1 UN comes before
 * MID/SID, in notifications 3..10 MID/SID come right after RID.
 */
static const struct pm_trap_def trap_defs[PM_TRAP_MAX + 1] = {
    [PM_TRAP_RADIUS_FAILURE] = {PM_TRAP_RADIUS_FAILURE,
                                11,
                                {DT, CS, TT, TR, RID, UN, MID, SID, EC, AN, ES}},
    [PM_TRAP_CLI_FAILURE] = {PM_TRAP_CLI_FAILURE, 10, {DT, CS, TT, TR, RID, PN, PID, EC, AN, ES}},
    [PM_TRAP_INTERFACE_DELETED] = {PM_TRAP_INTERFACE_DELETED,
                                   10,
                                   {DT, CS, TT, TR, RID, MID, SID, PN, PID, DIR}},
    [PM_TRAP_ANALYZER_UNREACHABLE] = {PM_TRAP_ANALYZER_UNREACHABLE, 3, {DT, AA, RID}},
    [PM_TRAP_SESSION_START] = {PM_TRAP_SESSION_START, 12, {SESSION12}},
    [PM_TRAP_SESSION_END] = {PM_TRAP_SESSION_END, 13, {SESSION12, TRM}},
    [PM_TRAP_IFSESS_ACTIVATED] = {PM_TRAP_IFSESS_ACTIVATED, 12, {SESSION12}},
    [PM_TRAP_IFSESS_DEACTIVATED] = {PM_TRAP_IFSESS_DEACTIVATED, 12, {SESSION12}},
    [PM_TRAP_SESSION_REJECT] = {PM_TRAP_SESSION_REJECT,
                                10,
                                {DT, CS, TT, TR, RID, MID, SID, PN, PID, DIR}},
    [PM_TRAP_SESSION_FAILED] = {PM_TRAP_SESSION_FAILED, 13, {SESSION12, TRM}},
};

/* Indexed by enum pm_trap: the MIB names without "juniPacketMirror". */
static const char *const trap_names[PM_TRAP_MAX + 1] = {
    [PM_TRAP_RADIUS_FAILURE] = "RadiusBasedMirroringFailure",
    [PM_TRAP_CLI_FAILURE] = "CliTriggerBasedMirroringFailure",
    [PM_TRAP_INTERFACE_DELETED] = "InterfaceDeleted",
    [PM_TRAP_ANALYZER_UNREACHABLE] = "AnalyzerUnreachable",
    [PM_TRAP_SESSION_START] = "SessionStart",
    [PM_TRAP_SESSION_END] = "SessionEnd",
    [PM_TRAP_IFSESS_ACTIVATED] = "InterfaceSessionActivated",
    [PM_TRAP_IFSESS_DEACTIVATED] = "InterfaceSessionDeactivated",
    [PM_TRAP_SESSION_REJECT] = "SessionReject",
    [PM_TRAP_SESSION_FAILED] = "SessionFailed",
};

const char *pm_trap_name(enum pm_trap t)
{
    if ((int)t < PM_TRAP_MIN || (int)t > PM_TRAP_MAX)
        return NULL;
    return trap_names[t];
}

const struct pm_obj_def *pm_obj_def(enum pm_obj o)
{
    if ((int)o < PM_OBJ_MIN || (int)o > PM_OBJ_MAX)
        return NULL;
    return &obj_defs[o];
}

const struct pm_trap_def *pm_trap_def(enum pm_trap t)
{
    if ((int)t < PM_TRAP_MIN || (int)t > PM_TRAP_MAX)
        return NULL;
    return &trap_defs[t];
}

/*
 * RFC 2579 DateAndTime: octets 1-2 year (network order), 3 month, 4 day,
 * 5 hour, 6 minutes, 7 seconds (0..60, 60 for a leap second), 8 deci-seconds,
 * 9 '+'/'-', 10 hours from UTC (0..13), 11 minutes from UTC (0..59).
 */
size_t pm_dateandtime(const struct timespec *ts, uint8_t out[11])
{
    struct tm tm;
    time_t t = ts->tv_sec;
    long off, aoff, year;

    if (ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000L)
        return 0;
    if (localtime_r(&t, &tm) == NULL)
        return 0;
    off = tm.tm_gmtoff;
    aoff = off < 0 ? -off : off;
    if (aoff / 3600 > 13) {
        /* Not representable (UTC+14): write UTC, which is still exact. */
        if (gmtime_r(&t, &tm) == NULL)
            return 0;
        off = aoff = 0;
    }
    year = (long)tm.tm_year + 1900;
    if (year < 0 || year > 65535)
        return 0;
    out[0] = (uint8_t)(year >> 8);
    out[1] = (uint8_t)(year & 0xff);
    out[2] = (uint8_t)(tm.tm_mon + 1);
    out[3] = (uint8_t)tm.tm_mday;
    out[4] = (uint8_t)tm.tm_hour;
    out[5] = (uint8_t)tm.tm_min;
    out[6] = (uint8_t)tm.tm_sec;
    out[7] = (uint8_t)(ts->tv_nsec / 100000000L);
    out[8] = off < 0 ? '-' : '+';
    out[9] = (uint8_t)(aoff / 3600);
    out[10] = (uint8_t)((aoff % 3600) / 60);
    return 11;
}

/* Octets in the UTF-8 sequence that lead byte c starts (1 for anything else). */
static size_t utf8_seqlen(unsigned char c)
{
    if ((c & 0xe0) == 0xc0)
        return 2;
    if ((c & 0xf0) == 0xe0)
        return 3;
    if ((c & 0xf8) == 0xf0)
        return 4;
    return 1;
}

size_t pm_display_cut(const char *s, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t len = strnlen(s, max + 1);
    size_t end = len <= max ? len : max;

    /*
     * Walk back from end over continuation octets (10xxxxxx, at most 3: the
     * longest UTF-8 tail) to the lead byte, and cut before it when its
     * sequence reaches past end: either past the SIZE limit, or past the end
     * of a string a producer already cut in the middle of a character.
     * Stray continuation octets are invalid anyway: they are kept.
     */
    for (size_t k = 1; k <= 4 && k <= end; k++) {
        size_t p = end - k;

        if ((u[p] & 0xc0) == 0x80)
            continue;
        if (p + utf8_seqlen(u[p]) > end)
            return p;
        break;
    }
    return end;
}

/* The string field that object o is taken from, and its buffer size. */
static const char *ev_string(const struct pm_event *ev, enum pm_obj o, size_t *size)
{
    switch (o) {
    case PM_OBJ_TRIGGER:
        *size = sizeof(ev->trigger);
        return ev->trigger;
    case PM_OBJ_ERROR_STRING:
        *size = sizeof(ev->error_string);
        return ev->error_string;
    case PM_OBJ_USER_NAME:
        *size = sizeof(ev->user_name);
        return ev->user_name;
    case PM_OBJ_POLICY_NAME:
        *size = sizeof(ev->policy_name);
        return ev->policy_name;
    default:
        *size = 0;
        return NULL;
    }
}

static int ev_enum(const struct pm_event *ev, enum pm_obj o)
{
    switch (o) {
    case PM_OBJ_TRIGGER_TYPE:
        return ev->trigger_type;
    case PM_OBJ_CONFIG_SOURCE:
        return ev->config_source;
    case PM_OBJ_ERROR_CAUSE:
        return ev->error_cause;
    case PM_OBJ_APPLICATION:
        return ev->application;
    case PM_OBJ_DIRECTION:
        return ev->direction;
    case PM_OBJ_TERMINATION_REASON:
        return ev->termination_reason;
    default:
        return -1;
    }
}

static uint32_t ev_unsigned(const struct pm_event *ev, enum pm_obj o)
{
    switch (o) {
    case PM_OBJ_IDENTIFIER:
        return ev->mirror_id;
    case PM_OBJ_SESSION_ID:
        return ev->session_id;
    case PM_OBJ_POLICY_ID:
        return ev->policy_id;
    case PM_OBJ_ROUTER_ID:
        return ev->router_id;
    default:
        return 0;
    }
}

int pm_event_value(const struct pm_event *ev, enum pm_obj o, struct pm_value *v)
{
    const struct pm_obj_def *d = pm_obj_def(o);
    size_t size;

    if (d == NULL)
        return -1;
    memset(v, 0, sizeof(*v));
    v->type = d->type;
    switch (d->type) {
    case PM_TYPE_UNSIGNED32:
        v->u = ev_unsigned(ev, o);
        return 0;
    case PM_TYPE_ENUM:
        v->i = ev_enum(ev, o);
        return 0;
    case PM_TYPE_DISPLAY_STRING:
        v->s = ev_string(ev, o, &size);
        /* The buffer may lack its NUL (pm_event_check catches that). */
        v->len = pm_display_cut(v->s, d->hi < size - 1 ? d->hi : size - 1);
        return 0;
    case PM_TYPE_IPADDRESS:
        /* Already network byte order: the in-memory octets are the wire octets. */
        memcpy(v->oct, o == PM_OBJ_TARGET_IP ? &ev->target_ip : &ev->analyzer_ip, 4);
        v->len = 4;
        return 0;
    case PM_TYPE_DATE_AND_TIME:
        v->len = pm_dateandtime(&ev->when, v->oct);
        return v->len == 0 ? -1 : 0;
    }
    return -1;
}

int pm_event_check(const struct pm_event *ev, char *err, size_t errlen)
{
    const struct pm_trap_def *td = pm_trap_def(ev->trap);

    if (td == NULL) {
        snprintf(err, errlen, "notification number %d is not one of 1..10", (int)ev->trap);
        return -1;
    }
    /* Every string, carried by this trap or not: the mirror log and the audit
     * summary print them all. */
    static const struct {
        size_t off, size;
        const char *name;
    } strs[] = {
        {offsetof(struct pm_event, trigger), PM_EV_TRIGGER_MAX, "Trigger"},
        {offsetof(struct pm_event, user_name), PM_EV_USER_MAX, "UserName"},
        {offsetof(struct pm_event, error_string), PM_EV_ERRSTR_MAX, "ErrorString"},
        {offsetof(struct pm_event, policy_name), PM_EV_POLICY_MAX, "PolicyName"},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (memchr((const char *)ev + strs[i].off, '\0', strs[i].size) == NULL) {
            snprintf(err, errlen, "%s: %s is not NUL-terminated", pm_trap_name(ev->trap),
                     strs[i].name);
            return -1;
        }
    for (size_t i = 0; i < td->nobjs; i++) {
        const struct pm_obj_def *d = pm_obj_def(td->objs[i]);
        const char *s;
        size_t size;
        int e;

        switch (d->type) {
        case PM_TYPE_ENUM:
            e = ev_enum(ev, d->obj);
            if (e < (int)d->lo || e > (int)d->hi) {
                snprintf(err, errlen, "%s: %s is %d, outside %u..%u", pm_trap_name(ev->trap),
                         d->name, e, d->lo, d->hi);
                return -1;
            }
            break;
        case PM_TYPE_DISPLAY_STRING:
            s = ev_string(ev, d->obj, &size);
            if (memchr(s, '\0', size) == NULL) {
                snprintf(err, errlen, "%s: %s is not NUL-terminated", pm_trap_name(ev->trap),
                         d->name);
                return -1;
            }
            break;
        case PM_TYPE_DATE_AND_TIME:
            if (ev->when.tv_nsec < 0 || ev->when.tv_nsec >= 1000000000L) {
                snprintf(err, errlen, "%s: event time has tv_nsec outside 0..999999999",
                         pm_trap_name(ev->trap));
                return -1;
            }
            break;
        default:
            break;
        }
    }
    return 0;
}
