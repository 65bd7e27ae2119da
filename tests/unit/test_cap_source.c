/*
 * test_cap_source.c - cap_spec_parse(): the words of the `capture` directive,
 * their defaults per role and every refusal; and what a source does without a
 * network (misuse, a pcap file written here byte by byte, backpressure).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "pmirrord/cap_source.h"
#include "capture/cap_priv.h"

static struct cap_spec spec;
static char err[512];

static int parse(const char *line)
{
    char buf[2048];
    const char *words[64];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", line);
    /* '|' separates words here, so a filter can hold spaces */
    for (char *save = NULL, *w = strtok_r(buf, "|", &save); w != NULL && n < 64;
         w = strtok_r(NULL, "|", &save))
        words[n++] = w;
    err[0] = '\0';
    static char keep[2048];
    memcpy(keep, buf, sizeof(buf));
    for (int i = 0; i < n; i++)
        words[i] = keep + (words[i] - buf);
    return cap_spec_parse(words, n, &spec, err, sizeof(err));
}

static int refused(const char *line, const char *needle)
{
    if (parse(line) != -1)
        return 0;
    if (strstr(err, needle) == NULL) {
        fprintf(stderr, "for \"%s\": \"%s\" lacks \"%s\"\n", line, err, needle);
        return 0;
    }
    return 1;
}

static void test_parse(void)
{
    /* defaults: role both = the data defaults */
    CHECK(parse("eth0") == 0);
    CHECK(!strcmp(spec.src, "eth0") && !spec.offline);
    CHECK(spec.role == CAP_ROLE_BOTH && spec.buffer_mib == 8 && spec.snaplen == 262144);
    CHECK(spec.filter[0] == '\0' && spec.pace == CAP_PACE_FAST);
    CHECK(parse("eth0|role|signalling") == 0);
    CHECK(spec.role == CAP_ROLE_SIGNALLING && spec.buffer_mib == 2 && spec.snaplen == 65535);
    CHECK(parse("eth0|role|data") == 0);
    CHECK(spec.role == CAP_ROLE_DATA && spec.buffer_mib == 8 && spec.snaplen == 262144);
    CHECK(parse("eth0|role|both") == 0 && spec.role == CAP_ROLE_BOTH);

    /* every option, any order */
    CHECK(parse("bond0.100|filter|udp port 1812 or udp port 67|snaplen|1500|role|signalling|"
                "buffer|64") == 0);
    CHECK(!strcmp(spec.src, "bond0.100") && spec.buffer_mib == 64 && spec.snaplen == 1500);
    CHECK(!strcmp(spec.filter, "udp port 1812 or udp port 67"));
    CHECK(spec.role == CAP_ROLE_SIGNALLING);
    CHECK(parse("eth0|buffer|1|snaplen|64") == 0 && spec.buffer_mib == 1 && spec.snaplen == 64);
    CHECK(parse("eth0|buffer|1024|snaplen|262144") == 0);

    /* pcap files */
    CHECK(parse("pcap:/var/lib/pmirrord/radius.pcap") == 0);
    CHECK(spec.offline && !strcmp(spec.src, "/var/lib/pmirrord/radius.pcap"));
    CHECK(spec.pace == CAP_PACE_FAST && spec.snaplen == 262144);
    CHECK(parse("pcap:x.pcap|pace|recorded|role|signalling") == 0);
    CHECK(spec.pace == CAP_PACE_RECORDED && spec.snaplen == 65535);
    CHECK(parse("pcap:x.pcap|pace|fast") == 0 && spec.pace == CAP_PACE_FAST);

    /* refusals name the source and say what is wrong */
    CHECK(refused("", "needs a source"));
    CHECK(parse("") == -1);
    CHECK(refused("pcap:", "needs a file name"));
    CHECK(refused("a/b", "not an interface name"));
    CHECK(refused("sixteen-chars-xx", "not an interface name"));
    CHECK(parse("fifteen-chars-x") == 0);
    CHECK(refused("eth0|buffer", "eth0: buffer needs a value"));
    CHECK(refused("eth0|buffer|0", "eth0: buffer \"0\" is not 1..1024 MiB"));
    CHECK(refused("eth0|buffer|1025", "is not 1..1024"));
    CHECK(refused("eth0|buffer|-1", "is not 1..1024"));
    CHECK(refused("eth0|buffer|2M", "is not 1..1024"));
    CHECK(refused("eth0|buffer|99999999999999999999999", "is not 1..1024"));
    CHECK(refused("eth0|snaplen|63", "snaplen \"63\" is not 64..262144"));
    CHECK(refused("eth0|snaplen|262145", "is not 64..262144"));
    CHECK(refused("eth0|role|voice", "role \"voice\" is not signalling, data or both"));
    CHECK(refused("eth0|role|data|role|data", "role given twice"));
    CHECK(refused("eth0|buffer|2|buffer|2", "buffer given twice"));
    CHECK(refused("eth0|filter|udp|filter|tcp", "filter given twice"));
    CHECK(refused("eth0|promisc|on", "unknown option \"promisc\""));
    CHECK(refused("eth0|pace|recorded", "pace is for pcap:FILE sources only"));
    CHECK(refused("pcap:x|pace|slow", "pace \"slow\" is not recorded or fast"));
    CHECK(refused("pcap:x|buffer|4", "buffer is for interfaces"));
    char big[CAP_FILTER_MAX + 32];
    memset(big, 'a', sizeof(big));
    memcpy(big, "eth0|filter|", 12);
    big[sizeof(big) - 1] = '\0';
    CHECK(refused(big, "filter longer than 1023 bytes"));

    char buf[256];
    CHECK(parse("eth0|filter|udp port 1812|role|signalling") == 0);
    cap_spec_format(&spec, buf, sizeof(buf));
    CHECK(!strcmp(buf, "capture eth0 buffer 2 snaplen 65535 filter \"udp port 1812\" role "
                       "signalling"));
    CHECK(!strcmp(cap_state_name(CAP_STATE_MISSING), "missing"));
    CHECK(!strcmp(cap_role_name(CAP_ROLE_DATA), "data"));
    CHECK(!strcmp(cap_cause_name(CAP_CAUSE_DELETED), "deleted"));
    CHECK(!strcmp(cap_cause_name(CAP_CAUSE_NOT_UP), "not-up"));
    CHECK(!strcmp(cap_cause_name((enum cap_cause)99), "?"));
}

/* A classic pcap file (microseconds, Ethernet) of n frames of len bytes,
 * timestamps 1.000000, 1.100000, ... written by hand. */
static int write_pcap(const char *path, int n, uint32_t len)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    uint32_t gh[6] = {0xa1b2c3d4, 2 | (4u << 16), 0, 0, 65535, 1};
    fwrite(gh, sizeof(gh), 1, f);
    for (int i = 0; i < n; i++) {
        uint32_t rh[4] = {1 + (uint32_t)i / 10, (uint32_t)(i % 10) * 100000, len, len};
        uint8_t frame[256];
        memset(frame, i, sizeof(frame));
        fwrite(rh, sizeof(rh), 1, f);
        fwrite(frame, len, 1, f);
    }
    return fclose(f);
}

struct sink {
    int seen, taken, full_every;
    uint8_t first[32];
    int64_t ts_sec[32];
    uint32_t ts_usec[32];
    enum cap_state last_state;
    int events;
};

static int on_packet(void *arg, struct cap_source *src, const struct cap_packet *pkt)
{
    struct sink *s = arg;
    if (s->full_every && ++s->seen % s->full_every == 0)
        return CAP_PKT_FULL;
    CHECK(pkt->dlt == 1 && pkt->caplen == 100 && pkt->wirelen == 100);
    if (s->taken < 32) {
        s->first[s->taken] = pkt->data[0];
        s->ts_sec[s->taken] = pkt->ts_sec;
        s->ts_usec[s->taken] = pkt->ts_usec;
    }
    s->taken++;
    return CAP_PKT_TAKEN;
}

static void on_event(void *arg, struct cap_source *src, enum cap_event ev, const char *reason)
{
    struct sink *s = arg;
    s->events++;
    if (ev == CAP_EV_STATE)
        s->last_state = cap_source_state(src);
    CHECK(strstr(reason, "capture") != NULL);
}

static void test_offline(const char *path, int full_every)
{
    struct sink s = {.full_every = full_every};
    CHECK(parse("pcap:/dev/null") == 0);
    snprintf(spec.src, sizeof(spec.src), "%s", path);
    struct cap_source *src = cap_source_new(&spec, on_packet, on_event, &s, err, sizeof(err));
    CHECK(src != NULL);
    CHECK(cap_source_dispatch(src, err, sizeof(err)) == -1); /* not activated */
    CHECK(strstr(err, "before activation") != NULL);
    CHECK(cap_source_activate(src, err, sizeof(err)) == -1); /* no descriptor */
    CHECK(strstr(err, "no descriptor") != NULL && strstr(err, path) != NULL);
    cap_source_free(src);

    src = cap_source_new(&spec, on_packet, on_event, &s, err, sizeof(err));
    CHECK(cap_source_set_batch(src, 4, err, sizeof(err)) == 0);
    CHECK(cap_source_set_batch(src, 0, err, sizeof(err)) == -1);
    CHECK(cap_source_set_fd(src, open(path, O_RDONLY), err, sizeof(err)) == 0);
    CHECK(cap_source_activate(src, err, sizeof(err)) == 0);
    CHECK(s.last_state == CAP_STATE_UP && cap_source_pollfd(src) == -1);
    CHECK(cap_source_poll_timeout(src) == 0);
    int loops = 0;
    while (cap_source_state(src) == CAP_STATE_UP && loops++ < 100)
        CHECK(cap_source_dispatch(src, err, sizeof(err)) <= 4);
    CHECK(s.last_state == CAP_STATE_EOF && cap_source_poll_timeout(src) == -1);
    CHECK(cap_source_cause(src) == CAP_CAUSE_END);
    CHECK(s.taken == 25); /* every packet once, in order, even with "full" answers */
    for (int i = 0; i < 25; i++)
        CHECK(s.first[i] == i);
    CHECK(s.ts_sec[11] == 2 && s.ts_usec[11] == 100000);
    struct cap_stats st;
    cap_source_stats(src, &st);
    CHECK(st.packets == 25 && st.bytes == 2500 && st.backlog_drops == 0);
    CHECK(st.size == 24 + 25 * 116 && st.offset == st.size);
    CHECK(st.last_ts_sec == 3 && st.last_ts_usec == 400000);
    cap_source_free(src);
}

/* A filter no link type takes is a configuration error (FILE:LINE at the
 * caller); one that compiles for another link type only fails activation,
 * naming the source. */
static void test_bad_filter(const char *path)
{
    struct sink s = {0};
    CHECK(refused("pcap:/dev/null|filter|udp port ((", "filter \"udp port ((\": can't parse"));
    CHECK(refused("eth0|filter|udp port 99999", "port 99999"));
    CHECK(parse("pcap:/dev/null|filter|udp port 1812") == 0);
    /* "ifindex" exists on Linux cooked v2 (an `any` capture) only: accepted
     * here, refused when the Ethernet file below is activated */
    CHECK(parse("pcap:/dev/null|filter|ifindex 1") == 0);
    snprintf(spec.src, sizeof(spec.src), "%s", path);
    struct cap_source *src = cap_source_new(&spec, on_packet, on_event, &s, err, sizeof(err));
    CHECK(cap_source_set_fd(src, open(path, O_RDONLY), err, sizeof(err)) == 0);
    CHECK(cap_source_activate(src, err, sizeof(err)) == -1);
    CHECK(strstr(err, "filter") != NULL && strstr(err, path) != NULL);
    CHECK(cap_source_state(src) == CAP_STATE_INIT && s.taken == 0);
    cap_source_free(src);
}

/* cap_source_set_exclude(): "(FILTER) and not (EXCLUDE)" at activation, and
 * set again on a source that is up; one that does not compile leaves the
 * source's filter as it was. */
static void test_exclude(const char *path)
{
    struct sink s = {0};
    CHECK(parse("pcap:/dev/null|filter|ether[0] < 20") == 0);
    snprintf(spec.src, sizeof(spec.src), "%s", path);
    struct cap_source *src = cap_source_new(&spec, on_packet, on_event, &s, err, sizeof(err));
    CHECK(cap_source_set_exclude(src, "ether[0] == 3 or ether[0] == 4", err, sizeof(err)) == 0);
    CHECK(cap_source_set_fd(src, open(path, O_RDONLY), err, sizeof(err)) == 0);
    CHECK(cap_source_activate(src, err, sizeof(err)) == 0);
    for (int loops = 0; cap_source_state(src) == CAP_STATE_UP && loops < 100; loops++)
        (void)cap_source_dispatch(src, err, sizeof(err));
    CHECK(s.taken == 18 && s.first[2] == 2 && s.first[3] == 5 && s.first[17] == 19);
    cap_source_free(src);

    struct sink t = {0};
    CHECK(parse("pcap:/dev/null") == 0);
    snprintf(spec.src, sizeof(spec.src), "%s", path);
    src = cap_source_new(&spec, on_packet, on_event, &t, err, sizeof(err));
    CHECK(cap_source_set_batch(src, 5, err, sizeof(err)) == 0);
    CHECK(cap_source_set_fd(src, open(path, O_RDONLY), err, sizeof(err)) == 0);
    CHECK(cap_source_activate(src, err, sizeof(err)) == 0);
    CHECK(cap_source_dispatch(src, err, sizeof(err)) == 5 && t.taken == 5);
    /* up: set now */
    CHECK(cap_source_set_exclude(src, "ether[0] >= 10 and ether[0] < 15", err, sizeof(err)) == 0);
    /* refused: the one before stays */
    err[0] = '\0';
    CHECK(cap_source_set_exclude(src, "udp port ((", err, sizeof(err)) == -1);
    CHECK(strstr(err, "filter") != NULL && strstr(err, path) != NULL);
    char big[CAP_EXCLUDE_MAX + 1];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK(cap_source_set_exclude(src, big, err, sizeof(err)) == -1);
    CHECK(cap_source_dispatch(src, err, sizeof(err)) == 5 && t.first[9] == 9);
    CHECK(cap_source_dispatch(src, err, sizeof(err)) == 5 && t.first[10] == 15);
    /* removed: every frame again */
    CHECK(cap_source_set_exclude(src, "ether[0] == 20", err, sizeof(err)) == 0);
    CHECK(cap_source_set_exclude(src, "", err, sizeof(err)) == 0);
    CHECK(cap_source_dispatch(src, err, sizeof(err)) == 5 && t.first[15] == 20);
    for (int loops = 0; cap_source_state(src) == CAP_STATE_UP && loops < 100; loops++)
        (void)cap_source_dispatch(src, err, sizeof(err));
    CHECK(t.taken == 20 && t.first[19] == 24);
    cap_source_free(src);
}

/* An interface that does not exist is a state, not an error (as root; the
 * test suite runs as root). */
static void test_missing(void)
{
    struct sink s = {0};
    CHECK(parse("pmnoexist0|role|signalling") == 0);
    struct cap_source *src = cap_source_new(&spec, on_packet, on_event, &s, err, sizeof(err));
    CHECK(cap_source_activate(src, err, sizeof(err)) == 0);
    CHECK(cap_source_state(src) == CAP_STATE_MISSING && s.last_state == CAP_STATE_MISSING);
    CHECK(cap_source_cause(src) == CAP_CAUSE_ABSENT && s.events == 1);
    CHECK(cap_source_pollfd(src) == -1 && cap_source_poll_timeout(src) == -1);
    CHECK(cap_source_dispatch(src, err, sizeof(err)) == 0);
    CHECK(cap_source_activate(src, err, sizeof(err)) == -1); /* twice */
    /* a DELLINK or another name changes nothing; its own name is tried again */
    cap_source_link(src, CAP_LINK_DEL, 7, "pmnoexist0", 0);
    cap_source_link(src, CAP_LINK_NEW, 7, "other0", 0);
    cap_source_link(src, CAP_LINK_NEW, 7, "pmnoexist0", 0);
    CHECK(cap_source_state(src) == CAP_STATE_MISSING && s.events == 1);
    struct cap_stats st;
    cap_source_stats(src, &st);
    CHECK(st.state == CAP_STATE_MISSING && st.reopens == 0 && strstr(st.reason, "pmnoexist0"));
    cap_source_free(src);
}

static void test_live_misuse(void)
{
    struct sink s = {0};
    CHECK(parse("eth0") == 0);
    struct cap_source *src = cap_source_new(&spec, on_packet, on_event, &s, err, sizeof(err));
    CHECK(cap_source_set_fd(src, 0, err, sizeof(err)) == -1);
    CHECK(strstr(err, "eth0") != NULL);
    CHECK(cap_source_set_latency(src, 0, err, sizeof(err)) == -1);
    CHECK(cap_source_set_latency(src, 1001, err, sizeof(err)) == -1);
    CHECK(cap_source_set_latency(src, 5, err, sizeof(err)) == 0);
    CHECK(cap_source_pollfd(src) == -1 && cap_source_poll_timeout(src) == -1);
    cap_source_free(src);
}

/* A live Ethernet frame's direction by its addresses: from the interface's
 * own address sent, else received; from and to it (a forged source: this
 * host sends no frame to itself) received, so a sender on the link cannot
 * keep its frames out of an ingress mirror.  Cooked captures by packet type. */
static void test_frame_dir(void)
{
    static struct cap_source src; /* large */
    memset(&src, 0, sizeof(src));
    static const uint8_t own[6] = {0x02, 0, 0, 0, 0, 0x01}, peer[6] = {0x02, 0, 0, 0, 0, 0x02};
    uint8_t f[14] = {0};
    struct pcap_pkthdr h = {.caplen = sizeof(f), .len = sizeof(f)};
    src.dlt = DLT_EN10MB;
    memcpy(src.mac, own, 6);
    src.has_mac = 1;
    memcpy(f, peer, 6); /* to the peer, from us: sent */
    memcpy(f + 6, own, 6);
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_OUT);
    memset(f, 0xff, 6); /* broadcast from us: sent */
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_OUT);
    memcpy(f, own, 6); /* to us "from us": forged, received */
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_IN);
    memcpy(f + 6, peer, 6); /* to us from the peer: received */
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_IN);
    memset(src.mac, 0, 6); /* the loopback: from and to 0, sent as before */
    memset(f, 0, 12);
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_OUT);
    memcpy(src.mac, own, 6);
    h.caplen = 11;
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_UNKNOWN);
    h.caplen = sizeof(f);
    src.has_mac = 0;
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_UNKNOWN);
    src.dlt = DLT_LINUX_SLL;
    f[0] = 0;
    f[1] = 4; /* PACKET_OUTGOING */
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_OUT);
    f[1] = 0; /* PACKET_HOST */
    CHECK(cap_frame_dir(&src, &h, f) == CAP_DIR_IN);
}

int main(void)
{
    test_frame_dir();
    char path[] = "/tmp/test_cap_source.XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    test_parse();
    CHECK(write_pcap(path, 25, 100) == 0);
    test_offline(path, 0);
    test_offline(path, 3);
    test_bad_filter(path);
    test_exclude(path);
    test_missing();
    test_live_misuse();
    unlink(path);
    return 0;
}
