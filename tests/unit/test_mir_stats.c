/*
 * test_mir_stats.c - the data path's accounting (src/capture/mir_stats.c):
 * every counter, the analyzer's outage (AnalyzerUnreachable once per
 * outage, the hold-down, recovery only after a datagram), the mirror-log
 * text of outages and loss episodes, episodes split by a gap, source drops
 * attributed to the intercepts of that source, inactive entries freed,
 * full tables, `show mirror statistics` rows and paging.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "check.h"
#include "pmirrord/mir_stats.h"

#define T0 1795795801250ll /* 2026-11-27T16:10:01.250Z */

static char mlog[64][512];
static int nmlog;
static int nunreach;
static struct trig_analyzer unreach_an;
static uint32_t unreach_rid;
static int unreach_err;
static uint32_t inactive_mid = UINT32_MAX; /* this mirror ID is no longer active */

static void on_mlog(void *arg, const char *text)
{
    (void)arg;
    CHECK(nmlog < 64);
    snprintf(mlog[nmlog++], sizeof(mlog[0]), "%s", text);
}

static void on_unreach(void *arg, const struct trig_analyzer *an, uint32_t rid, int err)
{
    (void)arg;
    nunreach++;
    unreach_an = *an;
    unreach_rid = rid;
    unreach_err = err;
}

static int on_active(void *arg, uint32_t mid, uint32_t sid)
{
    (void)arg;
    (void)sid;
    return mid != inactive_mid;
}

static const struct ms_hooks hooks = {on_mlog, on_unreach, on_active, NULL};

static void reset(void)
{
    nmlog = 0;
    nunreach = 0;
    inactive_mid = UINT32_MAX;
}

static struct trig_analyzer an4(const char *ip, uint16_t port)
{
    struct trig_analyzer a = {.family = 4, .port = port};
    CHECK(inet_pton(AF_INET, ip, a.addr) == 1);
    return a;
}

static struct trig_analyzer an6(const char *ip, uint16_t port)
{
    struct trig_analyzer a = {.family = 6, .port = port};
    CHECK(inet_pton(AF_INET6, ip, a.addr) == 1);
    return a;
}

/* All rows, from offset 0. */
static size_t rows_of(const struct mir_stats *m, char rows[][MS_ROW_MAX], size_t max)
{
    int more = -1;
    size_t n = ms_list(m, 0, max, rows, &more);
    CHECK(more == 0);
    return n;
}

static void test_counters(void)
{
    reset();
    struct mir_stats *m = ms_new(0, &hooks);
    CHECK(m != NULL);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    uint32_t h = ms_icpt(m, 77, 5, &a, 9, 0, T0);
    CHECK(h != MS_NONE);
    CHECK(ms_icpt(m, 77, 5, &a, 9, 0, T0 + 1) == h); /* found again */
    CHECK(ms_count_icpt(m) == 1 && ms_count_analyzers(m) == 1);
    for (int i = 0; i < 119; i++)
        ms_sent(m, h, 128, 0, T0 + 1);
    ms_sent(m, h, 128, 1, T0 + 1); /* fragmented by the kernel: mirrored and counted */
    ms_lost(m, h, MS_LOSS_SNAPPED, 2, T0 + 2);
    ms_lost(m, h, MS_LOSS_OTHER, 1, T0 + 2);
    ms_send_failed(m, h, ENOBUFS, T0 + 3); /* not an unreachable error */
    ms_split(m, h, 1);
    ms_split(m, h, 1);
    ms_split(m, h, 0);
    ms_note_mtu(m, h, 9000);
    ms_note_mtu(m, h, 0); /* unknown: kept */
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], " path-mtu=9000") != NULL);
    ms_set_path_mtu(m, &a, 1500);
    CHECK(nunreach == 0);
    CHECK(rows_of(m, rows, 4) == 2);
    CHECK(strcmp(rows[0], "intercept mid=77 sid=5 analyzer=127.0.0.2:30030 packets=120 "
                          "bytes=15360 lost=4 lost-source=0 lost-send=1 lost-unreachable=0 "
                          "lost-snapped=2 lost-other=1 fragmented=1 split=2 unsplit=1") == 0);
    CHECK(strcmp(rows[1], "analyzer 127.0.0.2:30030 state=up packets=120 bytes=15360 "
                          "send-errors=1 unreachable-errors=0 lost-while-down=0 fragmented=1 "
                          "outages=0 path-mtu=1500") == 0);
    uint64_t lost[MS_LOSS_KINDS], frag, split, unsplit, outages;
    ms_totals(m, lost, &frag, &split, &unsplit, &outages);
    CHECK(lost[MS_LOSS_SOURCE] == 0 && lost[MS_LOSS_SEND] == 1 && lost[MS_LOSS_UNREACH] == 0);
    CHECK(lost[MS_LOSS_SNAPPED] == 2 && lost[MS_LOSS_OTHER] == 1);
    CHECK(frag == 1 && split == 2 && unsplit == 1 && outages == 0);
    CHECK(ms_unattributed(m) == 0);
    /* the episode (snapped, other, send) closes after MS_EPISODE_GAP_S without loss */
    CHECK(ms_tick(m, T0 + 1000) >= 0);
    CHECK(nmlog == 0);
    ms_tick(m, T0 + 3 + MS_EPISODE_GAP_S * 1000);
    CHECK(nmlog == 1);
    CHECK(strcmp(mlog[0], "loss: mirror ID 77 session ID 5 to 127.0.0.2:30030: 4 packet(s) not "
                          "mirrored from 2026-11-27T16:10:01.252Z to 2026-11-27T16:10:01.253Z "
                          "(source drops 0, send errors 1, analyzer unreachable 0, snapped 2, "
                          "other 1)") == 0);
    /* ms_free with an entry: no mirror-log entry (it only zeroises) */
    ms_free(m);
    CHECK(nmlog == 1);
}

static void test_outage(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    uint32_t h = ms_icpt(m, 77, 5, &a, 42, 0, T0);
    for (int i = 0; i < 10; i++)
        ms_sent(m, h, 100, 0, T0);
    /* refused: DOWN, the hook once, the mirror-log entry */
    ms_send_failed(m, h, ECONNREFUSED, T0);
    CHECK(nunreach == 1 && unreach_rid == 42 && unreach_err == ECONNREFUSED);
    CHECK(unreach_an.family == 4 && unreach_an.port == 30030);
    CHECK(nmlog == 1);
    CHECK(strcmp(mlog[0], "analyzer 127.0.0.2:30030 unreachable (Connection refused): "
                          "AnalyzerUnreachable raised") == 0);
    /* repeated errors while down raise nothing */
    ms_icmp(m, &a, ECONNREFUSED, T0 + 500);
    ms_send_failed(m, h, EHOSTUNREACH, T0 + 1000);
    ms_send_failed(m, h, ECONNREFUSED, T0 + 1500);
    CHECK(nunreach == 1 && nmlog == 1);
    /* datagrams still go while down, each lost (unreachable) */
    for (int i = 0; i < 54; i++)
        ms_sent(m, h, 100, 0, T0 + 1600);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 2);
    CHECK(strcmp(rows[0], "intercept mid=77 sid=5 analyzer=127.0.0.2:30030 packets=10 bytes=1000 "
                          "lost=57 lost-source=0 lost-send=3 lost-unreachable=54 lost-snapped=0 "
                          "lost-other=0 fragmented=0 split=0 unsplit=0") == 0);
    CHECK(strcmp(rows[1], "analyzer 127.0.0.2:30030 state=down packets=10 bytes=1000 "
                          "send-errors=3 unreachable-errors=4 lost-while-down=57 fragmented=0 "
                          "outages=1 path-mtu=0") == 0);
    /* no recovery inside the hold-down (10 s from the last error, T0 + 1500); the loss
     * episode closed (2 s without loss) */
    int d = ms_tick(m, T0 + 11000);
    CHECK(d > 0 && d <= 1000); /* the datagrams of T0 + 1600 came too soon after the error */
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=down") != NULL);
    CHECK(nmlog == 2);
    CHECK(strcmp(mlog[1], "loss: mirror ID 77 session ID 5 to 127.0.0.2:30030: 57 packet(s) not "
                          "mirrored from 2026-11-27T16:10:01.250Z to 2026-11-27T16:10:02.850Z "
                          "(source drops 0, send errors 3, analyzer unreachable 54, snapped 0, "
                          "other 0)") == 0);
    /* an ICMP error restarts the hold-down, and no datagram has been sent since: no
     * recovery however long it stays so */
    ms_icmp(m, &a, ECONNREFUSED, T0 + 11400);
    CHECK(nunreach == 1);
    /* a datagram within a second of the error proves nothing (ICMP errors are
     * rate-limited): still down */
    ms_sent(m, h, 100, 0, T0 + 11400 + MS_PROBE_MS - 1);
    ms_tick(m, T0 + 30000);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=down") != NULL);
    CHECK(nmlog == 3 && strstr(mlog[2], ": 1 packet(s) not mirrored") != NULL); /* its episode */
    /* a datagram (lost: the analyzer is still down when it leaves), then the recovery at
     * the next tick */
    ms_sent(m, h, 100, 0, T0 + 30000);
    ms_tick(m, T0 + 30250);
    CHECK(nmlog == 4);
    CHECK(strcmp(mlog[3], "analyzer 127.0.0.2:30030 reachable again: unreachable from "
                          "2026-11-27T16:10:01.250Z to 2026-11-27T16:10:31.500Z, 59 datagram(s) "
                          "sent while unreachable, 3 refused") == 0);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=up") != NULL);
    ms_sent(m, h, 100, 0, T0 + 30300);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[0], "packets=11 ") != NULL);
    /* a second outage: raised again, once */
    ms_icmp(m, &a, EHOSTUNREACH, T0 + 40000);
    ms_icmp(m, &a, EHOSTUNREACH, T0 + 40001);
    CHECK(nunreach == 2 && unreach_rid == 42 && unreach_err == EHOSTUNREACH);
    CHECK(strstr(mlog[nmlog - 1], "unreachable (No route to host): AnalyzerUnreachable raised"));
    uint64_t lost[MS_LOSS_KINDS], frag, split, unsplit, outages;
    ms_totals(m, lost, &frag, &split, &unsplit, &outages);
    CHECK(outages == 2 && lost[MS_LOSS_UNREACH] == 56 && lost[MS_LOSS_SEND] == 3);
    ms_free(m);
}

/* analyzerHoldDown: the outage ends hold_down seconds after the last error, not before. */
static void test_hold_down(void)
{
    reset();
    struct mir_stats *m = ms_new(3, &hooks);
    struct trig_analyzer a = an6("::1", 30030);
    uint32_t h = ms_icpt(m, 3, 4, &a, 7, 0, T0);
    ms_icmp(m, &a, ECONNREFUSED, T0);
    CHECK(nunreach == 1 && unreach_rid == 7 && unreach_an.family == 6);
    CHECK(strcmp(mlog[0], "analyzer [::1]:30030 unreachable (Connection refused): "
                          "AnalyzerUnreachable raised") == 0);
    ms_sent(m, h, 10, 0, T0 + MS_PROBE_MS); /* a second after the error: it counts */
    CHECK(ms_tick(m, T0 + 2999) == 1);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=down") != NULL);
    ms_tick(m, T0 + 3000);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=up") != NULL);
    CHECK(nmlog == 3 &&
          strncmp(mlog[1], "loss: mirror ID 3 session ID 4 to [::1]:30030: 1 ", 49) == 0);
    CHECK(strcmp(mlog[2], "analyzer [::1]:30030 reachable again: unreachable from "
                          "2026-11-27T16:10:01.250Z to 2026-11-27T16:10:04.250Z, 1 datagram(s) "
                          "sent while unreachable, 0 refused") == 0);
    /* changed at run time (a new configuration) */
    ms_set_hold_down(m, 1);
    ms_icmp(m, &a, EHOSTUNREACH, T0 + 10000);
    ms_sent(m, h, 10, 0, T0 + 10000 + MS_PROBE_MS);
    ms_tick(m, T0 + 10999);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=down") != NULL);
    ms_tick(m, T0 + 11000);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=up outages=") == NULL);
    CHECK(strstr(rows[1], "state=up") != NULL && strstr(rows[1], "outages=2 ") != NULL);
    CHECK(nunreach == 2);
    ms_free(m);
}

static void test_episodes(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.3", 40000);
    uint32_t h = ms_icpt(m, 1, 2, &a, 0, 0, T0);
    ms_lost(m, h, MS_LOSS_SEND, 1, T0);
    ms_lost(m, h, MS_LOSS_OTHER, 1, T0 + 1000);
    ms_lost(m, h, MS_LOSS_SNAPPED, 1, T0 + 2999); /* within the gap of the last loss */
    CHECK(nmlog == 0);
    /* more than the gap later: the first episode is written, a second opens */
    ms_lost(m, h, MS_LOSS_SEND, 4, T0 + 5000);
    CHECK(nmlog == 1);
    CHECK(strcmp(mlog[0], "loss: mirror ID 1 session ID 2 to 127.0.0.3:40000: 3 packet(s) not "
                          "mirrored from 2026-11-27T16:10:01.250Z to 2026-11-27T16:10:04.249Z "
                          "(source drops 0, send errors 1, analyzer unreachable 0, snapped 1, "
                          "other 1)") == 0);
    int d = ms_tick(m, T0 + 6000);
    CHECK(nmlog == 1 && d > 0 && d <= 1000);
    CHECK(ms_tick(m, T0 + 6999) >= 0);
    CHECK(nmlog == 1);
    ms_tick(m, T0 + 7000); /* T0 + 5000 + MS_EPISODE_GAP_S: closed by the tick */
    CHECK(nmlog == 2);
    CHECK(strcmp(mlog[1], "loss: mirror ID 1 session ID 2 to 127.0.0.3:40000: 4 packet(s) not "
                          "mirrored from 2026-11-27T16:10:06.250Z to 2026-11-27T16:10:06.250Z "
                          "(source drops 0, send errors 4, analyzer unreachable 0, snapped 0, "
                          "other 0)") == 0);
    ms_free(m);
}

static void test_source_drops(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    uint32_t old = ms_icpt(m, 10, 1, &a, 0, 1, T0);         /* source 1, long ago */
    uint32_t now1 = ms_icpt(m, 11, 1, &a, 0, 1, T0 + 9000); /* source 1, recently */
    uint32_t now2 = ms_icpt(m, 12, 1, &a, 0, 2, T0 + 9500); /* source 2 */
    uint32_t moved = ms_icpt(m, 13, 1, &a, 0, 1, T0 + 9000);
    CHECK(ms_icpt(m, 13, 1, &a, 0, 2, T0 + 9600) == moved); /* its last packet: source 2 */
    ms_source_drops(m, 1, 7, T0 + 10000);
    ms_source_drops(m, 1, 0, T0 + 10000); /* nothing */
    char rows[8][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 8) == 5);
    CHECK(old == 0 && now1 == 1 && now2 == 2 && moved == 3); /* rows in creation order */
    CHECK(strstr(rows[0], "mid=10 ") && strstr(rows[0], " lost=0 lost-source=0 "));
    CHECK(strstr(rows[1], "mid=11 ") && strstr(rows[1], " lost=7 lost-source=7 "));
    CHECK(strstr(rows[2], "mid=12 ") && strstr(rows[2], " lost=0 lost-source=0 "));
    CHECK(strstr(rows[3], "mid=13 ") && strstr(rows[3], " lost=0 lost-source=0 "));
    ms_source_drops(m, 2, 3, T0 + 11000);
    CHECK(rows_of(m, rows, 8) == 5);
    CHECK(strstr(rows[2], " lost=3 lost-source=3 ") && strstr(rows[3], " lost=3 lost-source=3 "));
    uint64_t lost[MS_LOSS_KINDS], frag, split, unsplit, outages;
    ms_totals(m, lost, &frag, &split, &unsplit, &outages);
    CHECK(lost[MS_LOSS_SOURCE] == 13);
    ms_tick(m, T0 + 20000);
    CHECK(nmlog == 3);
    CHECK(strcmp(mlog[0], "loss: mirror ID 11 session ID 1 to 127.0.0.2:30030: 7 packet(s) not "
                          "mirrored from 2026-11-27T16:10:11.250Z to 2026-11-27T16:10:11.250Z "
                          "(source drops 7, send errors 0, analyzer unreachable 0, snapped 0, "
                          "other 0)") == 0);
    ms_free(m);
}

/* An analyzer entry freed with its last intercept and made again starts with path-mtu=0;
 * ms_analyzers_made() tells the caller that memoises the MTU (cap_mirror.c) to set it again:
 * the demo showed path-mtu=0 after a CoA turned an intercept off and on. */
static void test_analyzers_made(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    CHECK(ms_analyzers_made(m) == 0);
    CHECK(ms_icpt(m, 30, 1, &a, 0, 0, T0) != MS_NONE);
    ms_set_path_mtu(m, &a, 1500);
    CHECK(ms_icpt(m, 31, 1, &a, 0, 0, T0) != MS_NONE);
    CHECK(ms_analyzers_made(m) == 1);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 3 && strstr(rows[2], " path-mtu=1500") != NULL);
    inactive_mid = 30;
    ms_tick(m, T0 + 1200);
    inactive_mid = 31;
    ms_tick(m, T0 + 2200);
    CHECK(ms_count_analyzers(m) == 0);
    inactive_mid = UINT32_MAX;
    CHECK(ms_icpt(m, 30, 2, &a, 0, 0, T0 + 2300) != MS_NONE);
    CHECK(ms_analyzers_made(m) == 2);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], " path-mtu=0") != NULL);
    ms_free(m);
}

static void test_inactive(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030), b = an4("127.0.0.4", 30030);
    uint32_t h1 = ms_icpt(m, 20, 1, &a, 0, 0, T0);
    uint32_t h2 = ms_icpt(m, 21, 1, &a, 0, 0, T0);
    uint32_t h3 = ms_icpt(m, 22, 1, &b, 0, 0, T0);
    CHECK(h1 != MS_NONE && h2 != MS_NONE && h3 != MS_NONE);
    ms_lost(m, h1, MS_LOSS_OTHER, 2, T0 + 100);
    ms_tick(m, T0 + 200);
    CHECK(ms_count_icpt(m) == 3 && ms_count_analyzers(m) == 2 && nmlog == 0);
    /* mirror ID 20 ended: closed (its open episode written) and freed; its analyzer
     * stays for mirror ID 21 */
    inactive_mid = 20;
    ms_tick(m, T0 + 1200);
    CHECK(ms_count_icpt(m) == 2 && ms_count_analyzers(m) == 2);
    CHECK(nmlog == 1);
    CHECK(strcmp(mlog[0], "loss: mirror ID 20 session ID 1 to 127.0.0.2:30030: 2 packet(s) not "
                          "mirrored from 2026-11-27T16:10:01.350Z to 2026-11-27T16:10:01.350Z "
                          "(source drops 0, send errors 0, analyzer unreachable 0, snapped 0, "
                          "other 2)") == 0);
    /* mirror ID 22 ended while its analyzer is down: the analyzer entry stays for its
     * outage; ID 21 ended: its analyzer (up) goes with it */
    ms_send_failed(m, h3, ENETUNREACH, T0 + 1300);
    CHECK(nunreach == 1);
    inactive_mid = 22;
    ms_tick(m, T0 + 2300);
    CHECK(ms_count_icpt(m) == 1 && ms_count_analyzers(m) == 2);
    inactive_mid = 21;
    ms_tick(m, T0 + 3300);
    CHECK(ms_count_icpt(m) == 0 && ms_count_analyzers(m) == 1);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 1);
    CHECK(strncmp(rows[0], "analyzer 127.0.0.4:30030 state=down ", 36) == 0);
    /* the freed entry's totals stay in the totals */
    uint64_t lost[MS_LOSS_KINDS], frag, split, unsplit, outages;
    ms_totals(m, lost, &frag, &split, &unsplit, &outages);
    CHECK(lost[MS_LOSS_OTHER] == 2 && lost[MS_LOSS_SEND] == 1 && outages == 1);
    /* a handle of a freed entry is ignored */
    ms_sent(m, h1, 100, 0, T0 + 3400);
    ms_lost(m, h1, MS_LOSS_SEND, 1, T0 + 3400);
    /* a new intercept to the analyzer that is down: its datagrams are lost until the
     * recovery, which frees nothing (an intercept uses it) */
    inactive_mid = UINT32_MAX;
    uint32_t h4 = ms_icpt(m, 23, 1, &b, 0, 0, T0 + 20000);
    CHECK(h4 != MS_NONE && ms_count_analyzers(m) == 1);
    ms_sent(m, h4, 100, 0, T0 + 20000);
    ms_tick(m, T0 + 20001);
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=up") != NULL);
    CHECK(strstr(rows[0], "lost-unreachable=1 ") != NULL);
    ms_free(m);
}

static void test_full(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    for (uint32_t i = 0; i < MS_ICPT_MAX; i++)
        CHECK(ms_icpt(m, i, 1, &a, 0, 0, T0) == i);
    CHECK(ms_count_icpt(m) == MS_ICPT_MAX);
    CHECK(ms_icpt(m, MS_ICPT_MAX, 1, &a, 0, 0, T0) == MS_NONE);
    CHECK(ms_unattributed(m) == 1);
    CHECK(ms_icpt(m, 7, 1, &a, 0, 0, T0) == 7); /* existing entries are still found */
    ms_sent(m, MS_NONE, 100, 0, T0);            /* ignored */
    ms_lost(m, MS_NONE, MS_LOSS_SEND, 1, T0);
    ms_send_failed(m, MS_NONE, ECONNREFUSED, T0);
    ms_split(m, MS_NONE, 1);
    CHECK(nunreach == 0 && ms_unattributed(m) == 1);
    /* every other one ended: room again, found and freed through the index */
    inactive_mid = UINT32_MAX;
    ms_free(m);

    reset();
    m = ms_new(10, &hooks);
    struct trig_analyzer b = an4("127.0.0.2", 1);
    for (uint32_t i = 0; i < MS_ANALYZER_MAX; i++) {
        b.port = (uint16_t)(1 + i);
        CHECK(ms_icpt(m, 1, 1, &b, 0, 0, T0) != MS_NONE);
    }
    CHECK(ms_count_analyzers(m) == MS_ANALYZER_MAX);
    b.port = 65000;
    CHECK(ms_icpt(m, 1, 1, &b, 0, 0, T0) == MS_NONE);
    CHECK(ms_unattributed(m) == 1);
    ms_free(m);
}

static int drop_odd(void *arg, uint32_t mid, uint32_t sid)
{
    (void)arg;
    (void)sid;
    return mid % 2 == 0;
}

/* Many entries freed and found again: the index's deletion keeps every
 * other entry reachable. */
static void test_index(void)
{
    reset();
    struct ms_hooks hk = hooks;
    hk.active = drop_odd;
    struct mir_stats *m = ms_new(10, &hk);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    uint32_t h[MS_ICPT_MAX];
    for (uint32_t i = 0; i < MS_ICPT_MAX; i++)
        h[i] = ms_icpt(m, i, 9, &a, 0, 0, T0);
    ms_tick(m, T0 + 1000);
    CHECK(ms_count_icpt(m) == MS_ICPT_MAX / 2);
    for (uint32_t i = 0; i < MS_ICPT_MAX; i += 2)
        CHECK(ms_icpt(m, i, 9, &a, 0, 0, T0 + 1000) == h[i]);
    for (uint32_t i = 1; i < MS_ICPT_MAX; i += 2)
        CHECK(ms_icpt(m, i, 9, &a, 0, 0, T0 + 1000) != MS_NONE);
    CHECK(ms_count_icpt(m) == MS_ICPT_MAX && ms_unattributed(m) == 0);
    ms_free(m);
}

/* An intercept ends between its datagrams' queueing and their flush, and its
 * entry's slot goes to a new intercept to another analyzer before the flush:
 * the old datagrams' outcomes are not counted for the new intercept, nor do
 * they take its analyzer down. */
static void test_stale_handle(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030), b = an4("127.0.0.4", 30030);
    uint32_t old = ms_icpt(m, 20, 1, &a, 0, 0, T0);
    CHECK(old != MS_NONE);
    inactive_mid = 20;
    ms_tick(m, T0 + 1000);
    CHECK(ms_count_icpt(m) == 0);
    uint32_t h = ms_icpt(m, 21, 1, &b, 0, 0, T0 + 1000);
    CHECK(h != MS_NONE && h != old);
    ms_sent(m, old, 100, 1, T0 + 1001);
    ms_lost(m, old, MS_LOSS_OTHER, 1, T0 + 1001);
    ms_split(m, old, 1);
    ms_send_failed(m, old, EHOSTUNREACH, T0 + 1001);
    CHECK(nunreach == 0);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 2);
    CHECK(strcmp(rows[0], "intercept mid=21 sid=1 analyzer=127.0.0.4:30030 packets=0 bytes=0 "
                          "lost=0 lost-source=0 lost-send=0 lost-unreachable=0 lost-snapped=0 "
                          "lost-other=0 fragmented=0 split=0 unsplit=0") == 0);
    CHECK(strncmp(rows[1], "analyzer 127.0.0.4:30030 state=up packets=0 ", 44) == 0);
    ms_sent(m, h, 100, 0, T0 + 1002); /* its own handle counts */
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[0], " packets=1 bytes=100 ") != NULL);
    ms_free(m);
}

/* Forged ICMP errors (the quoted destination is the sender's choice): an
 * address no intercept sends to creates no analyzer entry, raises nothing and
 * writes no mirror-log entry; fragmentation needed takes no analyzer down. */
static void test_icmp_forged(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030);
    uint32_t h = ms_icpt(m, 77, 5, &a, 0, 0, T0);
    CHECK(h != MS_NONE);
    for (uint32_t i = 0; i < 2 * MS_ANALYZER_MAX; i++) {
        struct trig_analyzer f = {.family = 4, .port = (uint16_t)(1000 + i)};
        memcpy(f.addr, &i, 4);
        ms_icmp(m, &f, EHOSTUNREACH, T0 + 1);
    }
    CHECK(ms_count_analyzers(m) == 1 && nunreach == 0 && nmlog == 0);
    ms_icmp(m, &a, EMSGSIZE, T0 + 2);
    CHECK(nunreach == 0 && nmlog == 0);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 2 && strstr(rows[1], "state=up") != NULL);
    /* a new intercept to another analyzer still gets its entry */
    struct trig_analyzer b = an4("127.0.0.4", 30030);
    CHECK(ms_icpt(m, 78, 5, &b, 0, 0, T0 + 3) != MS_NONE && ms_unattributed(m) == 0);
    /* the analyzer of ours: down, once */
    ms_icmp(m, &a, ECONNREFUSED, T0 + 4);
    CHECK(nunreach == 1 && nmlog == 1);
    ms_free(m);
}

/* The longest rows (largest IDs and counters, an IPv6 analyzer of 39
 * characters) are whole: no counter cut short. */
static void test_long_rows(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe", 65535);
    uint32_t h = ms_icpt(m, UINT32_MAX, UINT32_MAX, &a, 0, 0, T0);
    CHECK(h != MS_NONE);
    ms_sent(m, h, (size_t)1000000000000000000ull, 0, T0);
    for (int k = 0; k < MS_LOSS_KINDS; k++)
        ms_lost(m, h, (enum ms_loss)k, 1000000000000000000ull, T0);
    ms_split(m, h, 1);
    char rows[4][MS_ROW_MAX];
    CHECK(rows_of(m, rows, 4) == 2);
    const char *tail = "lost-other=1000000000000000000 fragmented=0 split=1 unsplit=0";
    CHECK(strlen(rows[0]) > strlen(tail) &&
          strcmp(rows[0] + strlen(rows[0]) - strlen(tail), tail) == 0);
    CHECK(strstr(rows[0], "lost=5000000000000000000 ") != NULL);
    CHECK(strstr(rows[1], " path-mtu=0") != NULL);
    ms_free(m);
}

static char last_mlog[512];
static int nlast_mlog;

static void on_mlog_last(void *arg, const char *text)
{
    (void)arg;
    nlast_mlog++;
    snprintf(last_mlog, sizeof(last_mlog), "%s", text);
}

static int drop_below_5000(void *arg, uint32_t mid, uint32_t sid)
{
    (void)arg;
    (void)sid;
    return mid >= 5000;
}

/* Intercepts to analyzers that went down, then ended: each analyzer's outage
 * is held, and once they fill the table one gives way for a new analyzer
 * (its outage in the mirror log) instead of the new one going unattributed
 * and never being found unreachable. */
static void test_held_full(void)
{
    reset();
    struct ms_hooks hk = hooks;
    hk.mlog = NULL; /* more entries than on_mlog keeps */
    hk.active = drop_below_5000;
    struct mir_stats *m = ms_new(10, &hk);
    struct trig_analyzer b = an4("127.0.0.2", 1);
    for (uint32_t i = 0; i < MS_ANALYZER_MAX; i++) {
        b.port = (uint16_t)(1 + i);
        uint32_t h = ms_icpt(m, i, 1, &b, 0, 0, T0);
        CHECK(h != MS_NONE);
        ms_send_failed(m, h, ECONNREFUSED, T0 + 1);
    }
    CHECK(nunreach == MS_ANALYZER_MAX);
    ms_tick(m, T0 + 1000); /* every intercept ended; the outages are held */
    CHECK(ms_count_icpt(m) == 0 && ms_count_analyzers(m) == MS_ANALYZER_MAX);
    ms_free(m);
    /* the same with the mirror log: one held analyzer gives way, said once */
    reset();
    hk.mlog = on_mlog_last;
    m = ms_new(10, &hk);
    for (uint32_t i = 0; i < MS_ANALYZER_MAX; i++) {
        b.port = (uint16_t)(1 + i);
        ms_send_failed(m, ms_icpt(m, i, 1, &b, 0, 0, T0), ECONNREFUSED, T0 + 1);
    }
    ms_tick(m, T0 + 1000); /* each ended intercept's loss episode written */
    nlast_mlog = 0;
    b.port = 65000;
    uint32_t h = ms_icpt(m, 5000, 1, &b, 0, 0, T0 + 2000);
    CHECK(h != MS_NONE && ms_unattributed(m) == 0);
    CHECK(ms_count_analyzers(m) == MS_ANALYZER_MAX);
    CHECK(nlast_mlog == 1);
    CHECK(strncmp(last_mlog, "analyzer 127.0.0.2:", 19) == 0);
    CHECK(strstr(last_mlog, " forgotten while unreachable (no intercept mirrors to it, the "
                            "analyzer table is full): unreachable from 2026-11-27T16:10:01.251Z, "
                            "last error 2026-11-27T16:10:01.251Z, 1 datagram(s) sent while "
                            "unreachable, 1 refused") != NULL);
    ms_send_failed(m, h, ECONNREFUSED, T0 + 2001); /* the new analyzer is found down */
    CHECK(nunreach == MS_ANALYZER_MAX + 1);
    /* with every analyzer in use, a new one is still unattributed */
    for (uint32_t i = 0; i < MS_ANALYZER_MAX - 1; i++) {
        b.port = (uint16_t)(1 + i);
        CHECK(ms_icpt(m, 6000 + i, 1, &b, 0, 0, T0 + 3000) != MS_NONE);
    }
    b.port = 65001;
    CHECK(ms_icpt(m, 9000, 1, &b, 0, 0, T0 + 3000) == MS_NONE && ms_unattributed(m) == 1);
    ms_free(m);
}

static void test_list(void)
{
    reset();
    struct mir_stats *m = ms_new(10, &hooks);
    struct trig_analyzer a = an4("127.0.0.2", 30030), v6 = an6("2001:db8::1", 30030);
    uint32_t h1 = ms_icpt(m, 77, 5, &a, 0, 0, T0);
    uint32_t h2 = ms_icpt(m, 78, 6, &v6, 0, 0, T0);
    uint32_t h3 = ms_icpt(m, 79, 7, &v6, 0, 0, T0);
    ms_sent(m, h1, 10, 0, T0);
    ms_sent(m, h2, 20, 0, T0);
    ms_sent(m, h3, 30, 0, T0);
    ms_set_path_mtu(m, &v6, 1280);
    char rows[8][MS_ROW_MAX];
    int more = -1;
    CHECK(ms_list(m, 0, 2, rows, &more) == 2 && more == 1);
    CHECK(strncmp(rows[0], "intercept mid=77 ", 17) == 0);
    CHECK(strcmp(rows[1], "intercept mid=78 sid=6 analyzer=[2001:db8::1]:30030 packets=1 "
                          "bytes=20 lost=0 lost-source=0 lost-send=0 lost-unreachable=0 "
                          "lost-snapped=0 lost-other=0 fragmented=0 split=0 unsplit=0") == 0);
    CHECK(ms_list(m, 2, 2, rows, &more) == 2 && more == 1);
    CHECK(strncmp(rows[0], "intercept mid=79 ", 17) == 0);
    CHECK(strncmp(rows[1], "analyzer 127.0.0.2:30030 state=up packets=1 bytes=10 ", 52) == 0);
    CHECK(ms_list(m, 4, 2, rows, &more) == 1 && more == 0);
    CHECK(strcmp(rows[0], "analyzer [2001:db8::1]:30030 state=up packets=2 bytes=50 "
                          "send-errors=0 unreachable-errors=0 lost-while-down=0 fragmented=0 "
                          "outages=0 path-mtu=1280") == 0);
    CHECK(ms_list(m, 5, 2, rows, &more) == 0 && more == 0);
    CHECK(ms_list(m, 0, 0, rows, &more) == 0 && more == 1);
    ms_free(m);
    /* empty */
    m = ms_new(10, &hooks);
    CHECK(ms_list(m, 0, 8, rows, &more) == 0 && more == 0);
    CHECK(ms_tick(m, T0) == -1);
    ms_free(m);
    ms_free(NULL);
}

int main(void)
{
    test_counters();
    test_outage();
    test_hold_down();
    test_episodes();
    test_source_drops();
    test_inactive();
    test_analyzers_made();
    test_full();
    test_index();
    test_stale_handle();
    test_icmp_forged();
    test_long_rows();
    test_held_full();
    test_list();
    return 0;
}
