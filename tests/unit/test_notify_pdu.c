/*
 * test_notify_pdu.c - the notification varbind lists (src/agent/notify_pdu.c)
 * and the secure-log summary line.
 *
 * Expected OIDs, ASN.1 types and object order are written out by hand from
 * docs/mirror-mib.md/§1.3 with numeric sub-identifiers; two varbinds are also
 * checked as BER bytes written by hand (X.690), encoded by Net-SNMP's
 * snmp_build_var_op().
 */
#include "agent/notify_pdu.h"

#include <net-snmp/agent/net-snmp-agent-includes.h>

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "trap_lists.h"

/* ASN.1 type of each column (docs/mirror-mib.md syntax). */
static u_char want_type(int col)
{
    switch (col) {
    case 1:  /* Identifier */
    case 2:  /* SessionIdentifier */
    case 12: /* PolicyId */
    case 14: /* RouterId */
        return ASN_UNSIGNED;
    case 4:  /* TriggerType */
    case 5:  /* ConfigurationSource */
    case 6:  /* ErrorCause */
    case 8:  /* ApplicationName */
    case 15: /* Direction */
    case 17: /* TerminationReason */
        return ASN_INTEGER;
    case 3:  /* Trigger */
    case 7:  /* ErrorString */
    case 10: /* UserName */
    case 11: /* PolicyName */
    case 13: /* DateAndTime */
        return ASN_OCTET_STR;
    case 9:  /* AnalyzerAddress */
    case 16: /* TargetIpAddress */
        return ASN_IPADDRESS;
    }
    CHECK(!"unknown column");
    return 0;
}

static const oid mib[] = {1, 3, 6, 1, 4, 1, 4874, 2, 2, 77};

static int oid_is(const netsnmp_variable_list *v, const oid *want, size_t n)
{
    return v->name_length == n && memcmp(v->name, want, n * sizeof(oid)) == 0;
}

/* Every field filled to the MIB maximum, with distinct values. */
static void full_event(struct pm_event *ev, enum pm_trap t)
{
    memset(ev, 0, sizeof(*ev));
    ev->trap = t;
    ev->when.tv_sec = 1700000000; /* 2023-11-14 22:13:20 UTC */
    ev->when.tv_nsec = 500000000;
    ev->config_source = 1;
    ev->trigger_type = 3;
    memset(ev->trigger, 'T', 255);
    ev->router_id = 14;
    memset(ev->user_name, 'U', 64);
    ev->mirror_id = 4000000001u;
    ev->session_id = 2;
    ev->error_cause = 6;
    ev->application = 0;
    memset(ev->error_string, 'E', 255);
    memset(ev->policy_name, 'P', 40);
    ev->policy_id = 12;
    ev->direction = 1;
    ev->target_ip = htobe32(0xc0000201);   /* 192.0.2.1 */
    ev->analyzer_ip = htobe32(0xc6336407); /* 198.51.100.7 */
    ev->termination_reason = 22;
}

static void check_value(const netsnmp_variable_list *v, int col, const struct pm_event *ev)
{
    static const u_char dt[11] = {0x07, 0xe7, 11, 14, 22, 13, 20, 5, '+', 0, 0};

    switch (col) {
    case 1:
        CHECK((unsigned long)*v->val.integer == 4000000001ul);
        break;
    case 2:
        CHECK(*v->val.integer == 2);
        break;
    case 3:
        CHECK(v->val_len == 255 && v->val.string[0] == 'T' && v->val.string[254] == 'T');
        break;
    case 4:
        CHECK(*v->val.integer == 3);
        break;
    case 5:
        CHECK(*v->val.integer == 1);
        break;
    case 6:
        CHECK(*v->val.integer == 6);
        break;
    case 7:
        CHECK(v->val_len == 255 && v->val.string[254] == 'E');
        break;
    case 8:
        CHECK(*v->val.integer == 0);
        break;
    case 9:
        CHECK(v->val_len == 4 && memcmp(v->val.string, "\xc6\x33\x64\x07", 4) == 0);
        break;
    case 10:
        CHECK(v->val_len == 64 && v->val.string[63] == 'U');
        break;
    case 11:
        CHECK(v->val_len == 40 && v->val.string[39] == 'P');
        break;
    case 12:
        CHECK(*v->val.integer == 12);
        break;
    case 13:
        CHECK(v->val_len == 11 && memcmp(v->val.string, dt, 11) == 0);
        break;
    case 14:
        CHECK(*v->val.integer == 14);
        break;
    case 15:
        CHECK(*v->val.integer == 1);
        break;
    case 16:
        CHECK(v->val_len == 4 && memcmp(v->val.string, "\xc0\x00\x02\x01", 4) == 0);
        break;
    case 17:
        CHECK(*v->val.integer == 22);
        break;
    }
    (void)ev;
}

static void test_all_traps(void)
{
    static const oid sysuptime[] = {1, 3, 6, 1, 2, 1, 1, 3, 0};
    static const oid trapoid[] = {1, 3, 6, 1, 6, 3, 1, 1, 4, 1, 0};

    for (int t = 1; t <= 10; t++) {
        struct pm_event ev;
        netsnmp_variable_list *vl, *v;
        oid want_trap[12], want_obj[13];
        size_t count = 0;

        full_event(&ev, (enum pm_trap)t);
        vl = pm_notify_varbinds(&ev);
        CHECK(vl != NULL);
        for (v = vl; v != NULL; v = v->next_variable)
            count++;
        CHECK(count == 2 + (size_t)want_lists[t][0]);

        v = vl;
        CHECK(oid_is(v, sysuptime, 9));
        CHECK(v->type == ASN_TIMETICKS);
        /* main() set the agent's uptime to 1234.56 s a moment ago. */
        CHECK(*v->val.integer >= 123456 && *v->val.integer < 123456 + 500);
        v = v->next_variable;
        CHECK(oid_is(v, trapoid, 11));
        CHECK(v->type == ASN_OBJECT_ID);
        memcpy(want_trap, mib, sizeof(mib));
        want_trap[10] = 3;                     /* juniPacketMirrorTraps */
        want_trap[11] = 0;                     /* juniPacketMirrorTrapPrefix */
        CHECK(v->val_len == 13 * sizeof(oid)); /* .77.3.0.<t> */
        CHECK(memcmp(v->val.objid, want_trap, sizeof(want_trap)) == 0);
        CHECK(v->val.objid[12] == (oid)t);
        v = v->next_variable;
        for (int i = 1; i <= want_lists[t][0]; i++, v = v->next_variable) {
            int col = want_lists[t][i];

            memcpy(want_obj, mib, sizeof(mib));
            want_obj[10] = 3;
            want_obj[11] = 1;
            want_obj[12] = (oid)col;
            CHECK(v->name_length == 14); /* .77.3.1.<col>.0 */
            CHECK(memcmp(v->name, want_obj, sizeof(want_obj)) == 0);
            CHECK(v->name[13] == 0);
            if (v->type != want_type(col))
                fprintf(stderr, "trap %d col %d: type 0x%02x\n", t, col, v->type);
            CHECK(v->type == want_type(col));
            check_value(v, col, &ev);
        }
        CHECK(v == NULL);
        snmp_free_varbind(vl);
    }
}

static const netsnmp_variable_list *find_col(const netsnmp_variable_list *v, int col)
{
    for (; v != NULL; v = v->next_variable)
        if (v->name_length == 14 && v->name[9] == 77 && v->name[12] == (oid)col)
            return v;
    CHECK(!"column not in list");
    return NULL;
}

static void test_string_cuts(void)
{
    struct pm_event ev;
    netsnmp_variable_list *vl;

    /* Buffers without their NUL (a producer bug) are cut at the MIB limit. */
    full_event(&ev, PM_TRAP_RADIUS_FAILURE);
    memset(ev.trigger, 'T', sizeof(ev.trigger));
    memset(ev.user_name, 'U', sizeof(ev.user_name));
    memset(ev.error_string, 'E', sizeof(ev.error_string));
    vl = pm_notify_varbinds(&ev);
    CHECK(vl != NULL);
    CHECK(find_col(vl, 3)->val_len == 255);
    CHECK(find_col(vl, 10)->val_len == 64);
    CHECK(find_col(vl, 7)->val_len == 255);
    snmp_free_varbind(vl);

    full_event(&ev, PM_TRAP_CLI_FAILURE);
    memset(ev.policy_name, 'P', sizeof(ev.policy_name));
    vl = pm_notify_varbinds(&ev);
    CHECK(find_col(vl, 11)->val_len == 40);
    snmp_free_varbind(vl);

    /* A two-octet UTF-8 character across the 64-octet UserName limit. */
    full_event(&ev, PM_TRAP_RADIUS_FAILURE);
    memset(ev.user_name, 'u', 63);
    ev.user_name[63] = (char)0xc3;
    ev.user_name[64] = (char)0xa9;
    vl = pm_notify_varbinds(&ev);
    CHECK(find_col(vl, 10)->val_len == 63);
    snmp_free_varbind(vl);

    /* Empty UserName / PolicyName / Trigger go out as zero-length strings. */
    full_event(&ev, PM_TRAP_RADIUS_FAILURE);
    ev.user_name[0] = '\0';
    ev.trigger[0] = '\0';
    vl = pm_notify_varbinds(&ev);
    CHECK(vl != NULL);
    CHECK(find_col(vl, 10)->type == ASN_OCTET_STR && find_col(vl, 10)->val_len == 0);
    CHECK(find_col(vl, 3)->val_len == 0);
    snmp_free_varbind(vl);

    /* Bad input gives NULL, not a partial list. */
    full_event(&ev, 0);
    CHECK(pm_notify_varbinds(&ev) == NULL);
    full_event(&ev, 11);
    CHECK(pm_notify_varbinds(&ev) == NULL);
    full_event(&ev, PM_TRAP_SESSION_START);
    ev.when.tv_nsec = -5;
    CHECK(pm_notify_varbinds(&ev) == NULL);
}

/*
 * BER of two varbinds, bytes by hand (X.690 §8.19 OID; RFC 2578 §7.1.11
 * Unsigned32 = Gauge32 [APPLICATION 2] 0x42, IpAddress [APPLICATION 0] 0x40).
 * Net-SNMP's forward encoder always writes the varbind SEQUENCE length in the
 * three-octet long form (82 00 nn), which BER allows (X.690 §8.1.3.5).
 */
static void test_ber(void)
{
    static const u_char want_rid[] = {0x30, 0x82, 0x00, 0x13, /* SEQUENCE, 19 */
                                      0x06, 0x0e, 0x2b, 0x06, 0x01, 0x04,
                                      0x01, 0xa6, 0x0a, 0x02,             /* 1.3.6.1.4.1.4874.2 */
                                      0x02, 0x4d, 0x03, 0x01, 0x0e, 0x00, /* .2.77.3.1.14.0 */
                                      0x42, 0x01, 0x05};                  /* Gauge32 5 */
    static const u_char want_aa[] = {
        0x30, 0x82, 0x00, 0x16, 0x06, 0x0e, 0x2b, 0x06, 0x01, 0x04,
        0x01, 0xa6, 0x0a, 0x02, 0x02, 0x4d, 0x03, 0x01, 0x09, 0x00, /* .2.77.3.1.9.0 */
        0x40, 0x04, 0xc6, 0x33, 0x64, 0x07};                        /* IpAddress 198.51.100.7 */
    struct pm_event ev;
    netsnmp_variable_list *vl;
    const netsnmp_variable_list *v;
    u_char buf[64];
    size_t left;

    full_event(&ev, PM_TRAP_ANALYZER_UNREACHABLE);
    ev.router_id = 5;
    vl = pm_notify_varbinds(&ev);
    CHECK(vl != NULL);

    v = find_col(vl, 14);
    left = sizeof(buf);
    CHECK(snmp_build_var_op(buf, v->name, (size_t *)&v->name_length, v->type, v->val_len,
                            v->val.string, &left) != NULL);
    CHECK(sizeof(buf) - left == sizeof(want_rid));
    CHECK(memcmp(buf, want_rid, sizeof(want_rid)) == 0);

    v = find_col(vl, 9);
    left = sizeof(buf);
    CHECK(snmp_build_var_op(buf, v->name, (size_t *)&v->name_length, v->type, v->val_len,
                            v->val.string, &left) != NULL);
    CHECK(sizeof(buf) - left == sizeof(want_aa));
    CHECK(memcmp(buf, want_aa, sizeof(want_aa)) == 0);
    snmp_free_varbind(vl);
}

static void test_summary(void)
{
    struct pm_event ev;
    char buf[2048], small[16];
    size_t n;

    memset(&ev, 0, sizeof(ev));
    ev.trap = PM_TRAP_ANALYZER_UNREACHABLE;
    ev.when.tv_sec = 1700000000;
    ev.when.tv_nsec = 500000000;
    ev.analyzer_ip = htobe32(0xc6336407);
    ev.router_id = 7;
    memset(buf, 'X', sizeof(buf));
    n = pm_notify_summary(&ev, buf, sizeof(buf));
    CHECK(strcmp(buf, "AnalyzerUnreachable DateAndTime=2023-11-14,22:13:20.5,+0:0 "
                      "AnalyzerAddress=198.51.100.7 RouterId=7") == 0);
    CHECK(n == strlen(buf));

    /* Truncation: snprintf-style return, always terminated. */
    memset(small, 'X', sizeof(small));
    n = pm_notify_summary(&ev, small, sizeof(small));
    CHECK(n == strlen(buf));
    CHECK(strlen(small) == sizeof(small) - 1);
    CHECK(strncmp(small, buf, sizeof(small) - 1) == 0);

    /* Strings are quoted and escaped; the line never breaks. */
    full_event(&ev, PM_TRAP_RADIUS_FAILURE);
    strcpy(ev.user_name, "a\"b\\c\nd");
    strcpy(ev.trigger, "eth0");
    strcpy(ev.error_string, "");
    n = pm_notify_summary(&ev, buf, sizeof(buf));
    CHECK(n == strlen(buf));
    CHECK(strchr(buf, '\n') == NULL);
    CHECK(strstr(buf, "RadiusBasedMirroringFailure DateAndTime=") == buf);
    CHECK(strstr(buf, " UserName=\"a\\\"b\\\\c\\x0ad\" ") != NULL);
    CHECK(strstr(buf, " Trigger=\"eth0\" ") != NULL);
    CHECK(strstr(buf, " Identifier=4000000001 ") != NULL);
    CHECK(strstr(buf, " ErrorString=\"\"") != NULL);
    CHECK(strstr(buf, "PolicyName") == NULL); /* not in trap 1 */

    /* Strings at the MIB maxima come out whole: 255-octet Trigger and
     * ErrorString, 64-octet UserName, each ending in a marker. */
    full_event(&ev, PM_TRAP_RADIUS_FAILURE);
    ev.trigger[254] = 'Z';
    ev.user_name[63] = 'Y';
    ev.error_string[254] = 'X';
    char big[PM_NOTIFY_SUMMARY_MAX], want[300];
    n = pm_notify_summary(&ev, big, sizeof(big));
    CHECK(n == strlen(big));
    snprintf(want, sizeof(want), " Trigger=\"%.254sZ\" ", ev.trigger);
    CHECK(strstr(big, want) != NULL);
    snprintf(want, sizeof(want), " UserName=\"%.63sY\" ", ev.user_name);
    CHECK(strstr(big, want) != NULL);
    snprintf(want, sizeof(want), " ErrorString=\"%.254sX\"", ev.error_string);
    CHECK(strstr(big, want) != NULL);

    /* PM_NOTIFY_SUMMARY_MAX holds the longest line: every string octet escaped. */
    full_event(&ev, PM_TRAP_SESSION_END);
    memset(ev.trigger, 0x01, 255);
    memset(ev.policy_name, 0x01, 40);
    n = pm_notify_summary(&ev, big, sizeof(big));
    CHECK(n < sizeof(big));
    full_event(&ev, PM_TRAP_RADIUS_FAILURE);
    memset(ev.trigger, 0x01, 255);
    memset(ev.user_name, 0x01, 64);
    memset(ev.error_string, 0x01, 255);
    n = pm_notify_summary(&ev, big, sizeof(big));
    CHECK(n < sizeof(big));
    CHECK(n == strlen(big));
    CHECK(strstr(big, " UserName=\"\\x01") != NULL);
}

int main(void)
{
    CHECK(setenv("TZ", "UTC", 1) == 0);
    tzset();
    netsnmp_set_agent_uptime(123456); /* hundredths of a second */
    test_all_traps();
    test_string_cuts();
    test_ber();
    test_summary();
    printf("test_notify_pdu: ok\n");
    return 0;
}
