/*
 * fuzz_codec.c - libFuzzer target for the notification codec
 * (src/event/pm_codec.c, src/agent/notify_pdu.c).
 *
 * The first byte picks what the rest of the input is:
 *   % 3 == 0  max (2 bytes) + a string for pm_display_cut(), in a heap buffer
 *             of exactly max + 1 bytes without a NUL when the string is that
 *             long (ASan catches a read past max + 1);
 *   % 3 == 1  a zone (1 byte) + a struct timespec for pm_dateandtime();
 *   % 3 == 2  flags (1 byte) + the bytes of a struct pm_event, for
 *             pm_event_check(), pm_notify_summary() and, when the check
 *             passes, pm_notify_varbinds().
 */
#include "agent/notify_pdu.h"
#include "pmirrord/pm_codec.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_codec: property failed: %s: ", #cond);                           \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Octets of the UTF-8 sequence lead byte c starts, 1 if c is no lead byte. */
static size_t seqlen(unsigned char c)
{
    return (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 1;
}

static void fuzz_cut(const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    size_t max = (size_t)(data[0] | data[1] << 8) % 600;
    data += 2;
    size -= 2;
    size_t alloc = size >= max + 1 ? max + 1 : size + 1;
    unsigned char *s = malloc(alloc);
    if (s == NULL)
        return;
    memcpy(s, data, alloc <= size ? alloc : size);
    if (alloc > size)
        s[size] = '\0';

    size_t r = pm_display_cut((const char *)s, max);
    size_t len = strnlen((const char *)s, max + 1);
    size_t end = len < max ? len : max;
    CHECK(r <= max && r <= end, "cut %zu, max %zu, length %zu", r, max, len);
    CHECK(r + 3 >= end, "cut %zu, %zu octets available", r, end);
    /* Never inside a sequence that is complete in the input. */
    for (size_t p = 0; p < r; p++) {
        size_t k = seqlen(s[p]), c = 1;
        if (k == 1 || p + k > len)
            continue;
        while (c < k && (s[p + c] & 0xc0) == 0x80)
            c++;
        CHECK(c < k || r >= p + k, "cut %zu splits the %zu-octet sequence at %zu", r, k, p);
    }
    /* Shorter than end only to drop a sequence that does not fit. */
    if (r < end)
        CHECK(seqlen(s[r]) > 1 && r + seqlen(s[r]) > end, "needless cut %zu < %zu", r, end);
    free(s);
}

static const char *const zones[] = {
    "UTC0",
    "Europe/Amsterdam",
    "Asia/Kolkata",
    "America/St_Johns",
    "Pacific/Kiribati",
    "Pacific/Chatham",
    "America/Los_Angeles",
    "Africa/Monrovia",
    "Australia/Lord_Howe",
    "Asia/Manila",
};

static void fuzz_dateandtime(const uint8_t *data, size_t size)
{
    struct timespec ts;
    int64_t sec;
    int64_t nsec;
    if (size < 1 + sizeof(sec) + sizeof(nsec))
        return;
    setenv("TZ", zones[data[0] % (sizeof(zones) / sizeof(zones[0]))], 1);
    tzset();
    memcpy(&sec, data + 1, sizeof(sec));
    memcpy(&nsec, data + 1 + sizeof(sec), sizeof(nsec));
    if (data[0] & 0x80)
        nsec = (int64_t)((uint64_t)nsec % 1000000000u); /* help it past the nsec check */
    ts.tv_sec = (time_t)sec;
    ts.tv_nsec = (long)nsec;

    uint8_t o[11];
    size_t n = pm_dateandtime(&ts, o);
    if (n == 0)
        return;
    CHECK(n == 11, "length %zu", n);
    CHECK(o[2] >= 1 && o[2] <= 12, "month %u", o[2]);
    CHECK(o[3] >= 1 && o[3] <= 31, "day %u", o[3]);
    CHECK(o[4] <= 23 && o[5] <= 59 && o[6] <= 60 && o[7] <= 9, "time %u:%u:%u.%u", o[4], o[5], o[6],
          o[7]);
    CHECK(o[8] == '+' || o[8] == '-', "direction %u", o[8]);
    CHECK(o[9] <= 13 && o[10] <= 59, "offset %u:%u", o[9], o[10]);
    CHECK(ts.tv_nsec >= 0 && ts.tv_nsec <= 999999999L, "nsec %ld accepted", (long)ts.tv_nsec);
    CHECK(o[7] == ts.tv_nsec / 100000000L, "deci-seconds %u", o[7]);
    /* The octets name the same instant (a zone offset's seconds are not expressible). */
    struct tm tm = {0};
    tm.tm_year = ((o[0] << 8) | o[1]) - 1900;
    tm.tm_mon = o[2] - 1;
    tm.tm_mday = o[3];
    tm.tm_hour = o[4];
    tm.tm_min = o[5];
    tm.tm_sec = o[6];
    int64_t back = (int64_t)timegm(&tm);
    int64_t off = (int64_t)o[9] * 3600 + o[10] * 60;
    back = o[8] == '-' ? back + off : back - off;
    CHECK(back - (int64_t)ts.tv_sec < 60 && (int64_t)ts.tv_sec - back < 60,
          "%lld written as %u-%u-%u,%u:%u:%u,%c%u:%u", (long long)ts.tv_sec, (o[0] << 8) | o[1],
          o[2], o[3], o[4], o[5], o[6], o[8], o[9], o[10]);
}

static void check_summary(const struct pm_event *ev, size_t small)
{
    static char big[16384];
    size_t n = pm_notify_summary(ev, big, sizeof(big));
    CHECK(n < sizeof(big) && strlen(big) == n, "summary length %zu", n);
    CHECK(n < PM_NOTIFY_SUMMARY_MAX, "summary of %zu octets does not fit PM_NOTIFY_SUMMARY_MAX", n);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)big[i] >= 0x20 && big[i] != 0x7f, "octet 0x%02x at %zu",
              (unsigned char)big[i], i);
    small %= n + 2;
    char *b = malloc(small ? small : 1); /* exact size */
    if (b == NULL)
        return;
    CHECK(pm_notify_summary(ev, b, small) == n, "a cut summary reports another length");
    if (small > 0) {
        size_t kept = n < small - 1 ? n : small - 1;
        /* a cut ends between units (escape.h): at most one unit short (\xNN, or a
         * UTF-8 sequence of up to 4 octets) of what fits */
        size_t got = strnlen(b, small);
        CHECK(got <= kept && kept - got < 4 && memcmp(b, big, got) == 0,
              "cut summary is not a prefix (%zu of %zu octets)", got, kept);
    }
    free(b);
}

static void check_varbinds(const struct pm_event *ev)
{
    const struct pm_trap_def *td = pm_trap_def(ev->trap);
    netsnmp_variable_list *vl = pm_notify_varbinds(ev);
    uint8_t dt[11];
    if (vl == NULL) {
        /* Only a time outside DateAndTime (year > 65535...) may fail here. */
        CHECK(pm_dateandtime(&ev->when, dt) == 0, "no varbinds for a valid event");
        return;
    }
    size_t count = 0;
    for (netsnmp_variable_list *v = vl; v != NULL; v = v->next_variable, count++) {
        if (count < 2)
            continue;
        CHECK(count - 2 < td->nobjs, "more varbinds than objects");
        const struct pm_obj_def *d = pm_obj_def(td->objs[count - 2]);
        CHECK(v->name_length == PM_MIB_ARCS_LEN + 4 && v->name[PM_MIB_ARCS_LEN + 2] == d->obj,
              "varbind %zu names another object", count);
        switch (d->type) {
        case PM_TYPE_DISPLAY_STRING:
            CHECK(v->type == ASN_OCTET_STR && v->val_len <= d->hi, "%s: %zu octets", d->name,
                  v->val_len);
            break;
        case PM_TYPE_DATE_AND_TIME:
            CHECK(v->type == ASN_OCTET_STR && v->val_len == 11, "%s", d->name);
            break;
        case PM_TYPE_IPADDRESS:
            CHECK(v->type == ASN_IPADDRESS && v->val_len == 4, "%s", d->name);
            break;
        case PM_TYPE_ENUM:
            CHECK(v->type == ASN_INTEGER && *v->val.integer >= (long)d->lo &&
                      *v->val.integer <= (long)d->hi,
                  "%s", d->name);
            break;
        case PM_TYPE_UNSIGNED32:
            CHECK(v->type == ASN_UNSIGNED, "%s", d->name);
            break;
        }
    }
    CHECK(count == 2 + td->nobjs, "%zu varbinds for %zu objects", count, td->nobjs);
    snmp_free_varbind(vl);
}

static void fuzz_event(const uint8_t *data, size_t size)
{
    struct pm_event ev;
    if (size < 2)
        return;
    uint8_t flags = data[0];
    size_t small = data[1];
    data += 2;
    size -= 2;
    memset(&ev, 0, sizeof(ev));
    memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
    if (flags & 1) { /* terminated strings */
        ev.trigger[sizeof(ev.trigger) - 1] = '\0';
        ev.user_name[sizeof(ev.user_name) - 1] = '\0';
        ev.error_string[sizeof(ev.error_string) - 1] = '\0';
        ev.policy_name[sizeof(ev.policy_name) - 1] = '\0';
    }
    if (flags & 2) /* a known notification */
        ev.trap = (enum pm_trap)(1 + (unsigned)ev.trap % 10);
    if (flags & 4) { /* enumerations and time in range */
        ev.config_source = (int)((unsigned)ev.config_source % 4);
        ev.trigger_type = (int)((unsigned)ev.trigger_type % 9);
        ev.error_cause = (int)((unsigned)ev.error_cause % 10);
        ev.application = 0;
        ev.direction = (int)((unsigned)ev.direction % 2);
        ev.termination_reason = (int)((unsigned)ev.termination_reason % 23);
        ev.when.tv_nsec = (long)((unsigned long)ev.when.tv_nsec % 1000000000UL);
        if (flags & 8)
            ev.when.tv_sec = (time_t)((uint64_t)ev.when.tv_sec % 4102444800u); /* < 2100 */
    }
    setenv("TZ", "UTC0", 1);
    tzset();

    char err[256];
    int rc = pm_event_check(&ev, err, sizeof(err));
    const struct pm_trap_def *td = pm_trap_def(ev.trap);
    if (rc < 0) {
        CHECK(err[0] != '\0' && strlen(err) < sizeof(err), "no reason given");
    } else {
        CHECK(td != NULL, "trap %d accepted", (int)ev.trap);
        for (size_t i = 0; i < td->nobjs; i++) {
            const struct pm_obj_def *d = pm_obj_def(td->objs[i]);
            const char *s = NULL;
            size_t sz = 0;
            switch (d->obj) {
            case PM_OBJ_TRIGGER:
                s = ev.trigger, sz = sizeof(ev.trigger);
                break;
            case PM_OBJ_USER_NAME:
                s = ev.user_name, sz = sizeof(ev.user_name);
                break;
            case PM_OBJ_ERROR_STRING:
                s = ev.error_string, sz = sizeof(ev.error_string);
                break;
            case PM_OBJ_POLICY_NAME:
                s = ev.policy_name, sz = sizeof(ev.policy_name);
                break;
            default:
                break;
            }
            CHECK(s == NULL || memchr(s, '\0', sz) != NULL, "%s accepted unterminated", d->name);
        }
    }
    check_summary(&ev, small);
    if (rc == 0)
        check_varbinds(&ev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    switch (data[0] % 3) {
    case 0:
        fuzz_cut(data + 1, size - 1);
        break;
    case 1:
        fuzz_dateandtime(data + 1, size - 1);
        break;
    default:
        fuzz_event(data + 1, size - 1);
        break;
    }
    return 0;
}
