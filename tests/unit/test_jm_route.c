/*
 * test_jm_route.c - jm_route_mtu() against the kernel's routing table:
 * 127.0.0.1 answers the loopback MTU (sysfs); then, in a network namespace
 * of its own (unshare(CLONE_NEWNET), root), a veth of MTU 1400,
 * routes with `mtu 1280` (IPv4 and IPv6) and without, an unroutable
 * destination (0, within the bounded wait), the cache and jm_route_flush(),
 * answers of another exchange skipped,
 * and mirrorInterface by name.
 */
#include "pmirrord/jm_route.h"

#include "check.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct trig_analyzer an(const char *addr)
{
    struct trig_analyzer a = {.port = 30030};
    a.family = inet_pton(AF_INET, addr, a.addr) == 1 ? 4 : 6;
    if (a.family == 6)
        CHECK(inet_pton(AF_INET6, addr, a.addr) == 1);
    return a;
}

static void sh(const char *cmd)
{
    if (system(cmd) != 0) {
        fprintf(stderr, "test_jm_route: failed: %s\n", cmd);
        exit(1);
    }
}

static unsigned mtu_of(struct jm_route *r, const char *addr, int64_t t)
{
    struct trig_analyzer a = an(addr);
    return jm_route_mtu(r, &a, t);
}

/* A request on the jm_route socket whose answer nobody reads: the next
 * exchange finds it first and must skip it (its sequence number). */
static void stale_request(struct jm_route *r, const char *dst)
{
    struct {
        struct nlmsghdr h;
        struct rtmsg rt;
        struct rtattr a;
        uint8_t addr[4];
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = sizeof req;
    req.h.nlmsg_type = RTM_GETROUTE;
    req.h.nlmsg_flags = NLM_F_REQUEST;
    req.h.nlmsg_seq = 7;
    req.rt.rtm_family = AF_INET;
    req.rt.rtm_dst_len = 32;
    req.a.rta_type = RTA_DST;
    req.a.rta_len = RTA_LENGTH(4);
    CHECK(inet_pton(AF_INET, dst, req.addr) == 1);
    CHECK(send(jm_route_fd(r), &req, sizeof req, 0) == (ssize_t)sizeof req);
}

static void test_loopback(void)
{
    FILE *f = fopen("/sys/class/net/lo/mtu", "r");
    unsigned want = 0;
    CHECK(f != NULL && fscanf(f, "%u", &want) == 1 && want > 0);
    fclose(f);
    char err[256];
    struct jm_route *r = jm_route_new(NULL, err, sizeof err);
    CHECK(r != NULL);
    CHECK(mtu_of(r, "127.0.0.1", now()) == want);
    CHECK(mtu_of(r, "127.0.0.2", now()) == want);
    jm_route_free(r);
    CHECK(jm_route_new("an-interface-name-too-long", err, sizeof err) == NULL);
    CHECK(strstr(err, "interface name") != NULL);
}

static void test_netns(void)
{
    CHECK(unshare(CLONE_NEWNET) == 0);
    sh("ip link set lo up && ip link add jmr0 type veth peer name jmr1"
       " && ip link set jmr1 up && ip link set jmr0 mtu 1400 up"
       " && ip addr add 198.18.5.1/24 dev jmr0"
       " && ip route add 198.18.6.0/24 via 198.18.5.2 mtu 1280"
       " && ip -6 addr add 2001:db8:5::1/64 dev jmr0 nodad"
       " && ip -6 route add 2001:db8:6::/64 via 2001:db8:5::2 mtu 1280");
    char err[256];
    struct jm_route *r = jm_route_new("", err, sizeof err);
    CHECK(r != NULL);
    int64_t t = now();
    CHECK(mtu_of(r, "198.18.6.7", t) == 1280); /* the route's MTU metric */
    CHECK(mtu_of(r, "198.18.5.9", t) == 1400); /* no metric: the interface's */
    CHECK(mtu_of(r, "2001:db8:6::7", t) == 1280);
    CHECK(mtu_of(r, "2001:db8:5::9", t) == 1400);
    CHECK(mtu_of(r, "127.0.0.1", t) == 65536);

    /* a stale answer (about lo, no MTU metric) queued before ours: skipped */
    stale_request(r, "127.0.0.9");
    stale_request(r, "198.18.5.9");
    CHECK(mtu_of(r, "198.18.6.8", t) == 1280);
    CHECK(mtu_of(r, "198.18.5.8", t) == 1400);

    /* no route here (no default route in this namespace): 0, at once */
    int64_t t0 = now();
    CHECK(mtu_of(r, "198.51.100.1", t0) == 0);
    CHECK(mtu_of(r, "2001:db8:99::1", t0) == 0);
    CHECK(now() - t0 < JMR_WAIT_MS);

    /* cached for JMR_CACHE_MS, forgotten by jm_route_flush() */
    sh("ip route change 198.18.6.0/24 via 198.18.5.2 mtu 1300");
    CHECK(mtu_of(r, "198.18.6.7", t + 1) == 1280);
    CHECK(mtu_of(r, "198.18.6.7", t + JMR_CACHE_MS) == 1300);
    sh("ip route change 198.18.6.0/24 via 198.18.5.2 mtu 1320");
    CHECK(mtu_of(r, "198.18.6.7", t + JMR_CACHE_MS + 1) == 1300);
    jm_route_flush(r);
    CHECK(mtu_of(r, "198.18.6.7", t + JMR_CACHE_MS + 2) == 1320);

    /* more destinations than the cache holds: still right */
    for (unsigned i = 0; i < JMR_CACHE_MAX + 20; i++) {
        char a[32];
        snprintf(a, sizeof a, "198.18.6.%u", i % 250 + 1);
        if (i >= 250)
            snprintf(a, sizeof a, "198.18.5.%u", i % 250 + 2);
        CHECK(mtu_of(r, a, t + JMR_CACHE_MS + 3 + i) == (i >= 250 ? 1400u : 1320u));
    }
    jm_route_free(r);

    /* mirrorInterface: its MTU whatever the route; an unknown one: 0 */
    r = jm_route_new("jmr0", err, sizeof err);
    CHECK(r != NULL);
    CHECK(mtu_of(r, "198.18.6.7", t) == 1400);
    CHECK(mtu_of(r, "127.0.0.1", t) == 1400);
    sh("ip link set jmr0 mtu 1450");
    CHECK(mtu_of(r, "127.0.0.1", t + 1) == 1400);
    CHECK(mtu_of(r, "127.0.0.1", t + JMR_CACHE_MS + 1) == 1450);
    jm_route_free(r);
    r = jm_route_new("jmr-none", err, sizeof err);
    CHECK(r != NULL);
    t0 = now();
    CHECK(mtu_of(r, "198.18.6.7", t0) == 0);
    CHECK(now() - t0 < JMR_WAIT_MS);
    jm_route_free(r);
}

int main(void)
{
    test_loopback();
    if (geteuid() == 0) {
        test_netns();
    } else if (getenv("CI") != NULL) {
        CHECK(!"the namespace checks need root, and CI must not skip them");
    } else {
        printf("test_jm_route: not root, namespace checks skipped\n");
    }
    return 0;
}
