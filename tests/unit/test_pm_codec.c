/*
 * test_pm_codec.c - src/event/pm_codec.c: RFC 2579 DateAndTime octets,
 * DisplayString cutting at UTF-8 boundaries, the MIB tables and trap names,
 * pm_event_check.
 *
 * Expected DateAndTime bytes are written by hand from `date -d @1700000000`
 * (2023-11-14 22:13:20 UTC); expected varbind lists are written with the
 * MIB's numeric sub-identifiers (docs/mirror-mib.md, §1.3), not with pm_codec.h's
 * enum, so a wrong enum value is caught too.
 */
#include "pmirrord/pm_codec.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "trap_lists.h"

static void set_tz(const char *tz)
{
    CHECK(setenv("TZ", tz, 1) == 0);
    tzset();
}

static void check_dt(const char *tz, long nsec, const uint8_t want[11])
{
    struct timespec ts = {1700000000, nsec};
    uint8_t out[11];

    set_tz(tz);
    memset(out, 0xee, sizeof(out));
    CHECK(pm_dateandtime(&ts, out) == 11);
    for (int i = 0; i < 11; i++) {
        if (out[i] != want[i]) {
            fprintf(stderr, "TZ=%s octet %d: got %u want %u\n", tz, i + 1, out[i], want[i]);
            CHECK(out[i] == want[i]);
        }
    }
}

static void test_dateandtime(void)
{
    /* 2023 = 0x07e7 */
    static const uint8_t utc[11] = {0x07, 0xe7, 11, 14, 22, 13, 20, 1, '+', 0, 0};
    static const uint8_t kolkata[11] = {0x07, 0xe7, 11, 15, 3, 43, 20, 1, '+', 5, 30};
    static const uint8_t newyork[11] = {0x07, 0xe7, 11, 14, 17, 13, 20, 9, '-', 5, 0};
    static const uint8_t zero_ds[11] = {0x07, 0xe7, 11, 14, 22, 13, 20, 0, '+', 0, 0};
    struct timespec bad = {1700000000, 1000000000L};
    uint8_t out[11];

    check_dt("UTC", 123456789L, utc);
    check_dt("UTC", 99999999L, zero_ds);
    check_dt("Asia/Kolkata", 123456789L, kolkata);
    check_dt("America/New_York", 999999999L, newyork);
    /* UTC+14 is outside RFC 2579's 0..13 hours: written as UTC instead. */
    check_dt("Pacific/Kiritimati", 123456789L, utc);

    CHECK(pm_dateandtime(&bad, out) == 0);
    bad.tv_nsec = -1;
    CHECK(pm_dateandtime(&bad, out) == 0);
    set_tz("UTC");
}

/* Fills a malloc'd buffer of exactly n octets (ASan catches any overrun). */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n);

    CHECK(p != NULL);
    memcpy(p, s, n);
    return p;
}

static size_t cut_of(const char *prefix_char, size_t k, const char *seq, size_t tail, size_t max)
{
    char buf[600];
    size_t n = 0;

    for (size_t i = 0; i < k; i++)
        buf[n++] = prefix_char[0];
    memcpy(buf + n, seq, strlen(seq));
    n += strlen(seq);
    for (size_t i = 0; i < tail; i++)
        buf[n++] = 'z';
    buf[n] = '\0';
    return pm_display_cut(buf, max);
}

static void test_display_cut(void)
{
    static const size_t limits[] = {255, 64, 40};
    /* 2-, 3- and 4-octet UTF-8: e-acute, euro sign, U+1F600 */
    static const char *const seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    char big[600];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';

    for (size_t l = 0; l < 3; l++) {
        size_t max = limits[l];

        /* ASCII: exact boundaries. */
        big[max - 1] = '\0';
        CHECK(pm_display_cut(big, max) == max - 1);
        big[max - 1] = 'a';
        big[max] = '\0';
        CHECK(pm_display_cut(big, max) == max);
        big[max] = 'a';
        big[max + 1] = '\0';
        CHECK(pm_display_cut(big, max) == max);
        big[max + 1] = 'a';
        CHECK(pm_display_cut(big, max) == max);

        /* A producer already cut the string inside a character: the
         * incomplete tail is dropped, never sent as half a character. */
        for (size_t s = 0; s < 3; s++) {
            char tmp[16];
            size_t sl = strlen(seqs[s]);
            for (size_t part = 1; part < sl; part++) {
                snprintf(tmp, sizeof(tmp), "ab%.*s", (int)part, seqs[s]);
                CHECK(pm_display_cut(tmp, max) == 2);
            }
            snprintf(tmp, sizeof(tmp), "ab%s", seqs[s]);
            CHECK(pm_display_cut(tmp, max) == 2 + sl);
        }

        /* Never reads past max + 1 octets, even without a NUL. */
        char *p = exact(big, max + 1);
        CHECK(pm_display_cut(p, max) == max);
        free(p);

        /* A multi-octet sequence at every position around the boundary. */
        for (size_t s = 0; s < 3; s++) {
            size_t sl = strlen(seqs[s]);

            for (size_t k = max - 6; k <= max + 1; k++) {
                size_t got = cut_of("a", k, seqs[s], 3, max);
                size_t want;

                if (k + sl <= max)
                    want = (k + sl + 3 <= max) ? k + sl + 3 : max; /* sequence fits */
                else if (k < max)
                    want = k; /* sequence straddles: cut before it */
                else
                    want = max; /* sequence starts at or after max */
                if (got != want)
                    fprintf(stderr, "max %zu seq %zu k %zu: got %zu want %zu\n", max, sl, k, got,
                            want);
                CHECK(got == want);
            }
        }

        /* Invalid UTF-8 (only continuation octets): cut at max, no overrun. */
        char cont[300];
        memset(cont, 0x80, sizeof(cont));
        p = exact(cont, max + 1);
        CHECK(pm_display_cut(p, max) == max);
        free(p);
    }
    CHECK(pm_display_cut("", 64) == 0);
    CHECK(pm_display_cut("\xc3\xa9", 1) == 0);
    CHECK(pm_display_cut("\xc3\xa9", 0) == 0);
}

static void test_tables(void)
{
    static const char *const names[] = {
        NULL,
        "RadiusBasedMirroringFailure",
        "CliTriggerBasedMirroringFailure",
        "InterfaceDeleted",
        "AnalyzerUnreachable",
        "SessionStart",
        "SessionEnd",
        "InterfaceSessionActivated",
        "InterfaceSessionDeactivated",
        "SessionReject",
        "SessionFailed",
    };
    CHECK(pm_trap_name(0) == NULL);
    CHECK(pm_trap_name(11) == NULL);
    CHECK(pm_trap_name((enum pm_trap) - 1) == NULL);
    for (int t = 1; t <= 10; t++) {
        CHECK(pm_trap_name((enum pm_trap)t) != NULL);
        CHECK(strcmp(pm_trap_name((enum pm_trap)t), names[t]) == 0);
    }

    CHECK(pm_trap_def(0) == NULL);
    CHECK(pm_trap_def(11) == NULL);
    CHECK(pm_obj_def(0) == NULL);
    CHECK(pm_obj_def(18) == NULL);
    for (int t = 1; t <= 10; t++) {
        const struct pm_trap_def *d = pm_trap_def((enum pm_trap)t);

        CHECK(d != NULL);
        CHECK((int)d->trap == t);
        CHECK(d->nobjs == (size_t)want_lists[t][0]);
        for (size_t i = 0; i < d->nobjs; i++) {
            if ((int)d->objs[i] != want_lists[t][i + 1])
                fprintf(stderr, "trap %d varbind %zu: got %d want %d\n", t, i + 3, (int)d->objs[i],
                        want_lists[t][i + 1]);
            CHECK((int)d->objs[i] == want_lists[t][i + 1]);
        }
    }

    /* Types and ranges (docs/mirror-mib.md). */
    static const struct {
        int obj;
        enum pm_type type;
        uint32_t lo, hi;
        const char *name;
    } want[] = {
        {1, PM_TYPE_UNSIGNED32, 0, 0, "Identifier"},
        {2, PM_TYPE_UNSIGNED32, 0, 0, "SessionIdentifier"},
        {3, PM_TYPE_DISPLAY_STRING, 0, 255, "Trigger"},
        {4, PM_TYPE_ENUM, 0, 8, "TriggerType"},
        {5, PM_TYPE_ENUM, 0, 3, "ConfigurationSource"},
        {6, PM_TYPE_ENUM, 0, 9, "ErrorCause"},
        {7, PM_TYPE_DISPLAY_STRING, 0, 255, "ErrorString"},
        {8, PM_TYPE_ENUM, 0, 0, "ApplicationName"},
        {9, PM_TYPE_IPADDRESS, 4, 4, "AnalyzerAddress"},
        {10, PM_TYPE_DISPLAY_STRING, 1, 64, "UserName"},
        {11, PM_TYPE_DISPLAY_STRING, 1, 40, "PolicyName"},
        {12, PM_TYPE_UNSIGNED32, 0, 0, "PolicyId"},
        {13, PM_TYPE_DATE_AND_TIME, 11, 11, "DateAndTime"},
        {14, PM_TYPE_UNSIGNED32, 0, 0, "RouterId"},
        {15, PM_TYPE_ENUM, 0, 1, "Direction"},
        {16, PM_TYPE_IPADDRESS, 4, 4, "TargetIpAddress"},
        {17, PM_TYPE_ENUM, 0, 22, "TerminationReason"},
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const struct pm_obj_def *d = pm_obj_def((enum pm_obj)want[i].obj);

        CHECK(d != NULL);
        CHECK((int)d->obj == want[i].obj);
        CHECK(d->type == want[i].type);
        CHECK(d->lo == want[i].lo && d->hi == want[i].hi);
        CHECK(strcmp(d->name, want[i].name) == 0);
    }
}

static void valid_event(struct pm_event *ev, enum pm_trap t)
{
    memset(ev, 0, sizeof(*ev));
    ev->trap = t;
    ev->when.tv_sec = 1700000000;
    ev->trigger_type = 8;
    ev->config_source = 3;
    ev->error_cause = 9;
    ev->direction = 1;
    ev->termination_reason = 22;
    strcpy(ev->user_name, "alice");
    strcpy(ev->policy_name, "pol");
}

static void test_check(void)
{
    struct pm_event ev;
    char err[256];

    for (int t = 1; t <= 10; t++) {
        valid_event(&ev, (enum pm_trap)t);
        err[0] = '\0';
        CHECK(pm_event_check(&ev, err, sizeof(err)) == 0);
    }
    valid_event(&ev, 0);
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    CHECK(strstr(err, "1..10") != NULL);
    valid_event(&ev, 11);
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);

    valid_event(&ev, PM_TRAP_SESSION_START);
    ev.trigger_type = 9;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    CHECK(strstr(err, "TriggerType") != NULL);
    ev.trigger_type = -1;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    /* AnalyzerUnreachable does not carry TriggerType: not looked at. */
    ev.trap = PM_TRAP_ANALYZER_UNREACHABLE;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == 0);

    valid_event(&ev, PM_TRAP_SESSION_END);
    ev.termination_reason = 23;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    CHECK(strstr(err, "TerminationReason") != NULL);
    ev.trap = PM_TRAP_SESSION_START; /* does not carry TRM */
    CHECK(pm_event_check(&ev, err, sizeof(err)) == 0);

    valid_event(&ev, PM_TRAP_CLI_FAILURE);
    ev.error_cause = 10;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    valid_event(&ev, PM_TRAP_RADIUS_FAILURE);
    ev.application = 1;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    valid_event(&ev, PM_TRAP_RADIUS_FAILURE);
    ev.config_source = 4;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    valid_event(&ev, PM_TRAP_INTERFACE_DELETED);
    ev.direction = 2;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);

    /* Strings must end inside their buffer; the message never shows them. */
    valid_event(&ev, PM_TRAP_RADIUS_FAILURE);
    memset(ev.user_name, 'x', sizeof(ev.user_name));
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
    CHECK(strstr(err, "UserName") != NULL);
    CHECK(strstr(err, "xxx") == NULL);
    valid_event(&ev, PM_TRAP_SESSION_START);
    memset(ev.trigger, 'x', sizeof(ev.trigger));
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);

    /* Empty UserName/PolicyName is accepted (sent as zero-length). */
    valid_event(&ev, PM_TRAP_RADIUS_FAILURE);
    ev.user_name[0] = '\0';
    CHECK(pm_event_check(&ev, err, sizeof(err)) == 0);

    valid_event(&ev, PM_TRAP_SESSION_START);
    ev.when.tv_nsec = 1000000000L;
    CHECK(pm_event_check(&ev, err, sizeof(err)) == -1);
}

static void test_values(void)
{
    struct pm_event ev;
    struct pm_value v;

    valid_event(&ev, PM_TRAP_SESSION_START);
    ev.mirror_id = 4000000000u;
    ev.target_ip = htobe32(0x0a000001); /* 10.0.0.1 in network order */
    CHECK(pm_event_value(&ev, PM_OBJ_IDENTIFIER, &v) == 0);
    CHECK(v.type == PM_TYPE_UNSIGNED32 && v.u == 4000000000u);
    CHECK(pm_event_value(&ev, PM_OBJ_TARGET_IP, &v) == 0);
    CHECK(v.len == 4 && v.oct[0] == 10 && v.oct[1] == 0 && v.oct[2] == 0 && v.oct[3] == 1);
    CHECK(pm_event_value(&ev, PM_OBJ_TRIGGER_TYPE, &v) == 0);
    CHECK(v.type == PM_TYPE_ENUM && v.i == 8);
    CHECK(pm_event_value(&ev, PM_OBJ_USER_NAME, &v) == 0);
    CHECK(v.len == 5 && memcmp(v.s, "alice", 5) == 0);
    CHECK(pm_event_value(&ev, PM_OBJ_DATE_AND_TIME, &v) == 0);
    CHECK(v.len == 11);
    CHECK(pm_event_value(&ev, 0, &v) == -1);
    CHECK(pm_event_value(&ev, 18, &v) == -1);
}

int main(void)
{
    test_dateandtime();
    test_display_cut();
    test_tables();
    test_check();
    test_values();
    printf("test_pm_codec: ok\n");
    return 0;
}
