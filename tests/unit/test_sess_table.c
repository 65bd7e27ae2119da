/*
 * test_sess_table.c - the session table (sess_table.h): every lookup, IPv6
 * longest-prefix match with nested prefixes, updates that re-index, address
 * stealing, zeroised identities, the maxSubscribers limit, iteration with
 * deletion, st_memory(); and the maxSubscribers directive.
 */
#include "check.h"
#include "free_watch.h"
#include "pmirrord/conf.h"
#include "pmirrord/conf_sess.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/sess_table.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_str(struct sig_str *s, const char *v)
{
    s->len = (uint8_t)strlen(v);
    memcpy(s->v, v, s->len);
}

static uint32_t ip4(const char *a)
{
    struct in_addr x;
    CHECK(inet_pton(AF_INET, a, &x) == 1);
    return x.s_addr;
}

static void ip6(const char *a, uint8_t out[16])
{
    CHECK(inet_pton(AF_INET6, a, out) == 1);
}

static void add_prefix(struct sig_ident *id, const char *a, unsigned len)
{
    CHECK(id->nprefix6 < SIG_PREFIX6_MAX);
    ip6(a, id->prefix6[id->nprefix6].addr);
    id->prefix6[id->nprefix6].len = (uint8_t)len;
    id->nprefix6++;
}

static struct sess *find6(struct sess_table *t, const char *a)
{
    uint8_t x[16];
    ip6(a, x);
    return st_find_ip6(t, x);
}

static int has(const struct sess *s, enum st_field f, const char *v)
{
    const uint8_t *p;
    size_t n = st_get(s, f, &p);
    return n == strlen(v) && memcmp(p, v, n) == 0;
}

static struct sess *mk(struct sess_table *t, const struct sig_ident *id, struct sess **stolen)
{
    char err[160];
    struct sess *s = st_create(t, id, stolen, err, sizeof(err));
    if (s == NULL)
        fprintf(stderr, "st_create: %s\n", err);
    CHECK(s != NULL);
    return s;
}

static void test_lookups(void)
{
    char err[160];
    struct sess_table *t = st_new(100, err, sizeof(err));
    CHECK(t != NULL);
    CHECK(st_max(t) == 100 && st_count(t) == 0);
    CHECK(st_find_ip4(t, ip4("10.0.0.1")) == NULL);
    CHECK(find6(t, "2001:db8::1") == NULL);

    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    set_str(&id.user, "alice@example.net");
    set_str(&id.csid, "00-11-22-33-44-55");
    set_str(&id.acct_sid, "0000ABCD");
    set_str(&id.circuit, "eth 1/0/1:100");
    set_str(&id.remote, "remote-1");
    id.nas_ip = ip4("198.18.0.1");
    id.has_nas_port = 1;
    id.nas_port = 17;
    id.framed_ip = ip4("100.64.0.10");
    id.has_framed_ip6 = 1;
    ip6("2001:db8:1::10", id.framed_ip6);
    add_prefix(&id, "2001:db8:100::", 56);
    id.has_chaddr = 1;
    memcpy(id.chaddr, "\x02\x00\x5e\x00\x00\x01", 6);
    struct sess *stolen = (struct sess *)1;
    struct sess *a = mk(t, &id, &stolen);
    CHECK(stolen == NULL);
    CHECK(st_count(t) == 1);
    CHECK(a->framed_ip == id.framed_ip && a->has_ip6 && a->nprefix6 == 1 && a->has_chaddr);
    CHECK(a->nas_ip == id.nas_ip && a->has_nas_port && a->nas_port == 17);
    CHECK(has(a, ST_USER, "alice@example.net") && has(a, ST_CSID, "00-11-22-33-44-55"));
    CHECK(has(a, ST_ACCT_SID, "0000ABCD") && has(a, ST_CIRCUIT, "eth 1/0/1:100"));
    CHECK(has(a, ST_REMOTE, "remote-1"));
    const uint8_t *v;
    CHECK(st_get(a, ST_OPT82, &v) == 0 && st_get(a, ST_NAS_ID, &v) == 0);
    const struct sig_prefix6 *p;
    CHECK(st_prefixes6(a, &p) == 1 && p[0].len == 56);

    CHECK(st_find_ip4(t, ip4("100.64.0.10")) == a);
    CHECK(st_find_ip4(t, ip4("100.64.0.11")) == NULL);
    CHECK(st_find_ip4(t, 0) == NULL);
    CHECK(find6(t, "2001:db8:1::10") == a);
    CHECK(find6(t, "2001:db8:1::11") == NULL);
    CHECK(find6(t, "2001:db8:100:ff:1:2:3:4") == a);
    CHECK(find6(t, "2001:db8:101::1") == NULL);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"0000ABCD", 8) == a);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"0000ABCE", 8) == NULL);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"0000ABC", 7) == NULL);
    CHECK(st_find_chaddr(t, (const uint8_t *)"\x02\x00\x5e\x00\x00\x01") == a);
    CHECK(st_find_chaddr(t, (const uint8_t *)"\x02\x00\x5e\x00\x00\x02") == NULL);

    struct sig_ident q;
    memset(&q, 0, sizeof(q));
    set_str(&q.user, "alice@example.net");
    q.nas_ip = id.nas_ip;
    q.has_nas_port = 1;
    q.nas_port = 17;
    CHECK(st_find_nas_key(t, &q) == a);
    q.nas_port = 18;
    CHECK(st_find_nas_key(t, &q) == NULL);
    q.nas_port = 17;
    set_str(&q.user, "alice@example.ne");
    CHECK(st_find_nas_key(t, &q) == NULL);
    q.has_nas_port = 0; /* incomplete key */
    set_str(&q.user, "alice@example.net");
    CHECK(st_find_nas_key(t, &q) == NULL);

    /* NAS-Identifier and NAS-Port-Id when the NAS sends no address and port */
    struct sig_ident id2;
    memset(&id2, 0, sizeof(id2));
    set_str(&id2.user, "bob");
    set_str(&id2.nas_id, "bras-7");
    set_str(&id2.nas_port_id, "ge-1/0/0.100");
    struct sess *b = mk(t, &id2, NULL);
    CHECK(st_find_nas_key(t, &id2) == b);
    set_str(&id2.nas_port_id, "ge-1/0/0.101");
    CHECK(st_find_nas_key(t, &id2) == NULL);

    /* a length past the array is cut to it, never read beyond */
    struct sig_ident big;
    memset(&big, 0, sizeof(big));
    memset(big.user.v, 'x', sizeof(big.user.v));
    big.user.len = 255;
    struct sess *c = mk(t, &big, NULL);
    CHECK(st_get(c, ST_USER, &v) == SIG_STR_MAX);

    struct sig_ident all;
    st_ident(a, &all);
    CHECK(all.user.len == id.user.len && memcmp(all.user.v, id.user.v, id.user.len) == 0);
    CHECK(all.framed_ip == id.framed_ip && all.nprefix6 == 1 && all.prefix6[0].len == 56);
    CHECK(all.has_framed_ip6 && memcmp(all.framed_ip6, id.framed_ip6, 16) == 0);
    CHECK(all.nas_ip == id.nas_ip && all.nas_port == 17 && all.has_chaddr);
    st_free(t);
}

static void test_lpm(void)
{
    char err[160];
    struct sess_table *t = st_new(100, err, sizeof(err));
    CHECK(t != NULL);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    add_prefix(&id, "2001:db8:aa00::", 56);
    struct sess *s56 = mk(t, &id, NULL);
    memset(&id, 0, sizeof(id));
    add_prefix(&id, "2001:db8:aa00:5::", 64);
    struct sess *s64 = mk(t, &id, NULL);
    memset(&id, 0, sizeof(id));
    add_prefix(&id, "2001:db8:aa00:5:ab00::", 72); /* longer than /64: the hashed keys */
    struct sess *s72 = mk(t, &id, NULL);
    memset(&id, 0, sizeof(id));
    id.has_framed_ip6 = 1;
    ip6("2001:db8:aa00:5:ab00::1", id.framed_ip6);
    struct sess *s128 = mk(t, &id, NULL);
    memset(&id, 0, sizeof(id));
    add_prefix(&id, "2001:db8::", 32);
    add_prefix(&id, "2001:db9:1:2:3::", 80);
    struct sess *s32 = mk(t, &id, NULL);

    CHECK(find6(t, "2001:db8:aa00:5:ab00::1") == s128);
    CHECK(find6(t, "2001:db8:aa00:5:ab00::2") == s72);
    CHECK(find6(t, "2001:db8:aa00:5:ac00::2") == s64);
    CHECK(find6(t, "2001:db8:aa00:6::1") == s56);
    CHECK(find6(t, "2001:db8:aa00:ff:ffff:ffff:ffff:ffff") == s56);
    CHECK(find6(t, "2001:db8:aa01::1") == s32);
    CHECK(find6(t, "2001:db9:1:2:3::77") == s32);
    CHECK(find6(t, "2001:db9:1:2:4::77") == NULL);
    CHECK(find6(t, "2001:db7::1") == NULL);
    /* a prefix shorter than ST_PREFIX6_MIN is not a subscriber's: not kept */
    memset(&id, 0, sizeof(id));
    add_prefix(&id, "2000::", 3);
    add_prefix(&id, "2001:db8::", 31);
    struct sess *swide = mk(t, &id, NULL);
    CHECK(swide != NULL && st_prefixes6(swide, &(const struct sig_prefix6 *){NULL}) == 0);
    CHECK(find6(t, "2001:db7::1") == NULL);
    CHECK(find6(t, "2400::1") == NULL);
    st_destroy(t, swide);
    /* a prefix with bits set past its length is stored masked */
    memset(&id, 0, sizeof(id));
    add_prefix(&id, "2001:db8:cc00::ffff", 48);
    struct sess *sm = mk(t, &id, NULL);
    const struct sig_prefix6 *p;
    CHECK(st_prefixes6(sm, &p) == 1 && p[0].addr[15] == 0);
    CHECK(find6(t, "2001:db8:cc00:1::") == sm);

    /* removing the inner ones uncovers the outer */
    st_destroy(t, s128);
    CHECK(find6(t, "2001:db8:aa00:5:ab00::1") == s72);
    st_destroy(t, s72);
    CHECK(find6(t, "2001:db8:aa00:5:ab00::1") == s64);
    st_destroy(t, s64);
    CHECK(find6(t, "2001:db8:aa00:5:ab00::1") == s56);
    st_destroy(t, s56);
    CHECK(find6(t, "2001:db8:aa00:5:ab00::1") == s32);
    st_destroy(t, s32);
    CHECK(find6(t, "2001:db8:aa00:5:ab00::1") == NULL);
    st_free(t);
}

static void test_update(void)
{
    char err[160];
    struct sess_table *t = st_new(100, err, sizeof(err));
    CHECK(t != NULL);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    set_str(&id.user, "carol-old-name");
    id.nas_ip = ip4("198.18.0.2");
    id.has_nas_port = 1;
    id.nas_port = 5;
    id.framed_ip = ip4("100.64.1.1");
    struct sess *s = mk(t, &id, NULL);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"S1", 2) == NULL);

    /* the Accounting-Start brings the Acct-Session-Id, a new address and a prefix */
    struct sig_ident u;
    memset(&u, 0, sizeof(u));
    set_str(&u.acct_sid, "S1");
    u.framed_ip = ip4("100.64.1.2");
    add_prefix(&u, "2001:db8:77::", 64);
    CHECK(st_update(t, s, &u, err, sizeof(err)) == 0);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"S1", 2) == s);
    CHECK(st_find_ip4(t, ip4("100.64.1.1")) == NULL);
    CHECK(st_find_ip4(t, ip4("100.64.1.2")) == s && s->framed_ip == ip4("100.64.1.2"));
    CHECK(find6(t, "2001:db8:77::5") == s && s->nprefix6 == 1);
    CHECK(has(s, ST_USER, "carol-old-name")); /* kept: u carries none */
    CHECK(st_find_nas_key(t, &id) == s);

    /* a new user name: the old block is wiped when replaced, the NAS key re-indexed */
    memset(&u, 0, sizeof(u));
    set_str(&u.user, "carol-new-name");
    set_str(&u.acct_sid, "S2");
    add_prefix(&u, "2001:db8:78::", 56);
    free_watch_start("carol-old-name");
    CHECK(st_update(t, s, &u, err, sizeof(err)) == 0);
    free_watch_stop();
    CHECK(!free_watch_seen());
    CHECK(has(s, ST_USER, "carol-new-name") && has(s, ST_ACCT_SID, "S2"));
    CHECK(st_find_acct_sid(t, (const uint8_t *)"S1", 2) == NULL);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"S2", 2) == s);
    CHECK(st_find_nas_key(t, &id) == NULL);
    set_str(&id.user, "carol-new-name");
    CHECK(st_find_nas_key(t, &id) == s);
    CHECK(s->nprefix6 == 2); /* the new prefix added, the old kept */
    CHECK(find6(t, "2001:db8:77::5") == s && find6(t, "2001:db8:78:ff::1") == s);
    CHECK(st_find_ip4(t, ip4("100.64.1.2")) == s);
    st_free(t);
}

static void test_steal(void)
{
    char err[160];
    struct sess_table *t = st_new(100, err, sizeof(err));
    CHECK(t != NULL);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    set_str(&id.user, "dave");
    id.framed_ip = ip4("100.64.2.1");
    add_prefix(&id, "2001:db8:5::", 64);
    add_prefix(&id, "2001:db8:6::", 56);
    struct sess *a = mk(t, &id, NULL);

    memset(&id, 0, sizeof(id));
    set_str(&id.user, "erin");
    id.framed_ip = ip4("100.64.2.1");
    struct sess *stolen = NULL;
    struct sess *b = mk(t, &id, &stolen);
    CHECK(stolen == a);
    CHECK(st_find_ip4(t, ip4("100.64.2.1")) == b);
    CHECK(a->framed_ip == 0 && has(a, ST_USER, "dave")); /* keeps its identities */
    CHECK(find6(t, "2001:db8:5::1") == a);

    memset(&id, 0, sizeof(id));
    set_str(&id.user, "frank");
    add_prefix(&id, "2001:db8:5::", 64);
    struct sess *c = mk(t, &id, &stolen);
    CHECK(stolen == a);
    CHECK(find6(t, "2001:db8:5::1") == c);
    const struct sig_prefix6 *p;
    CHECK(st_prefixes6(a, &p) == 1 && p[0].len == 56 && a->nprefix6 == 1);
    CHECK(has(a, ST_USER, "dave"));
    CHECK(find6(t, "2001:db8:6:1::1") == a);

    /* destroying the loser leaves the winner's entries alone */
    st_destroy(t, a);
    CHECK(st_find_ip4(t, ip4("100.64.2.1")) == b);
    CHECK(find6(t, "2001:db8:5::1") == c);
    CHECK(find6(t, "2001:db8:6:1::1") == NULL);
    /* st_update moves an address too */
    memset(&id, 0, sizeof(id));
    id.framed_ip = ip4("100.64.2.1");
    CHECK(st_update(t, c, &id, err, sizeof(err)) == 0);
    CHECK(st_find_ip4(t, ip4("100.64.2.1")) == c && b->framed_ip == 0);
    st_destroy(t, b);
    CHECK(st_find_ip4(t, ip4("100.64.2.1")) == c);
    st_free(t);
}

/* Keys sessions may share: the newest is found, the one before once it goes. */
static void test_shared_keys(void)
{
    char err[160];
    struct sess_table *t = st_new(1000, err, sizeof(err));
    CHECK(t != NULL);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    set_str(&id.user, "gina");
    set_str(&id.acct_sid, "SHARED");
    id.nas_ip = ip4("198.18.0.9");
    id.has_nas_port = 1;
    id.nas_port = 3;
    id.has_chaddr = 1;
    memcpy(id.chaddr, "\x02\x00\x00\x00\x00\x09", 6);
    struct sess *a = mk(t, &id, NULL);
    struct sess *b = mk(t, &id, NULL);
    struct sess *c = mk(t, &id, NULL);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"SHARED", 6) == c);
    CHECK(st_find_nas_key(t, &id) == c && st_find_chaddr(t, id.chaddr) == c);
    /* an update makes a the newest */
    struct sig_ident u;
    memset(&u, 0, sizeof(u));
    set_str(&u.csid, "x");
    CHECK(st_update(t, a, &u, err, sizeof(err)) == 0);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"SHARED", 6) == a);
    CHECK(st_find_nas_key(t, &id) == a && st_find_chaddr(t, id.chaddr) == a);
    st_destroy(t, a);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"SHARED", 6) == c);
    CHECK(st_find_nas_key(t, &id) == c && st_find_chaddr(t, id.chaddr) == c);
    st_destroy(t, c);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"SHARED", 6) == b);
    CHECK(st_find_nas_key(t, &id) == b && st_find_chaddr(t, id.chaddr) == b);
    /* and through growth of the tables (the runs keep their order) */
    struct sess *d = mk(t, &id, NULL);
    memset(&u, 0, sizeof(u));
    for (uint32_t i = 0; i < 400; i++) { /* 256 slots to start with */
        char sid[16];
        snprintf(sid, sizeof(sid), "S%u", (unsigned)i);
        set_str(&u.acct_sid, sid);
        u.has_chaddr = 1;
        memcpy(u.chaddr, &i, 4);
        u.chaddr[5] = 0x77;
        mk(t, &u, NULL);
    }
    CHECK(st_find_acct_sid(t, (const uint8_t *)"SHARED", 6) == d);
    CHECK(st_find_chaddr(t, id.chaddr) == d);
    st_destroy(t, d);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"SHARED", 6) == b);
    CHECK(st_find_chaddr(t, id.chaddr) == b);
    st_free(t);
}

static void test_destroy_wipes(void)
{
    char err[160];
    struct sess_table *t = st_new(10, err, sizeof(err));
    CHECK(t != NULL);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    set_str(&id.user, "secret-subscriber-name");
    set_str(&id.acct_sid, "secret-acct-session");
    id.framed_ip = ip4("100.64.3.3");
    struct sess *s = mk(t, &id, NULL);
    free_watch_start("secret-subscriber-name");
    st_destroy(t, s);
    free_watch_stop();
    CHECK(!free_watch_seen());
    /* the slot itself is wiped too (it stays mapped, in the table's chunk) */
    const uint8_t *raw = (const uint8_t *)s;
    int zero = 1;
    for (size_t i = 0; i < offsetof(struct sess, router_id); i++)
        zero &= raw[i] == 0;
    CHECK(zero && s->framed_ip == 0 && s->priv == NULL);
    CHECK(st_find_ip4(t, ip4("100.64.3.3")) == NULL);
    CHECK(st_find_acct_sid(t, (const uint8_t *)"secret-acct-session", 19) == NULL);
    CHECK(st_count(t) == 0);

    /* st_free() wipes every identity left */
    s = mk(t, &id, NULL);
    free_watch_start("secret-acct-session");
    st_free(t);
    free_watch_stop();
    CHECK(!free_watch_seen());
}

static void test_limit(void)
{
    char err[160];
    CHECK(st_new(0, err, sizeof(err)) == NULL);
    struct sess_table *t = st_new(3, err, sizeof(err));
    CHECK(t != NULL);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    struct sess *s[3];
    for (int i = 0; i < 3; i++) {
        id.framed_ip = htonl(0x64400000u + (uint32_t)i);
        s[i] = mk(t, &id, NULL);
    }
    id.framed_ip = htonl(0x64400010u);
    err[0] = '\0';
    CHECK(st_create(t, &id, NULL, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "maxSubscribers") != NULL);
    CHECK(st_count(t) == 3 && st_find_ip4(t, id.framed_ip) == NULL);
    st_destroy(t, s[1]);
    struct sess *n = mk(t, &id, NULL);
    CHECK(n == s[1]); /* the slot is reused */
    CHECK(st_find_ip4(t, id.framed_ip) == n && st_count(t) == 3);
    st_free(t);
}

static void test_iterate(void)
{
    char err[160];
    enum { N = 10000 };
    struct sess_table *t = st_new(N, err, sizeof(err));
    CHECK(t != NULL);
    size_t m0 = st_memory(t);
    struct sig_ident id;
    memset(&id, 0, sizeof(id));
    for (uint32_t i = 0; i < N; i++) {
        id.framed_ip = htonl(0x0a000000u + i);
        char name[32];
        snprintf(name, sizeof(name), "user-%u", (unsigned)i);
        set_str(&id.user, name);
        mk(t, &id, NULL);
    }
    size_t m1 = st_memory(t);
    CHECK(m1 > m0 + N * sizeof(struct sess));
    CHECK(m1 < m0 + N * 400); /* sessions, identities and indexes */
    /* destroy every even address while iterating, the one just returned */
    size_t seen = 0;
    for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s)) {
        seen++;
        if ((ntohl(s->framed_ip) & 1) == 0)
            st_destroy(t, s);
    }
    CHECK(seen == N && st_count(t) == N / 2);
    seen = 0;
    for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s)) {
        CHECK((ntohl(s->framed_ip) & 1) == 1);
        CHECK(st_find_ip4(t, s->framed_ip) == s);
        seen++;
    }
    CHECK(seen == N / 2);
    for (uint32_t i = 0; i < N; i++)
        CHECK((st_find_ip4(t, htonl(0x0a000000u + i)) != NULL) == (i & 1));
    CHECK(st_memory(t) < m1); /* the identities went */
    st_free(t);
}

/* Random creates (with stealing) and destroys against a model of who owns
 * each address: exercises growth and backward-shift deletion. */
static void test_model(void)
{
    char err[160];
    enum { POOL = 3000, STEPS = 60000, MAXS = 2000 };
    struct sess_table *t = st_new(MAXS, err, sizeof(err));
    CHECK(t != NULL);
    static struct sess *owner[POOL];
    static struct sess *live[MAXS];
    size_t nlive = 0;
    uint32_t rnd = 12345;
    for (int step = 0; step < STEPS; step++) {
        rnd = rnd * 1103515245u + 12345u;
        uint32_t r = rnd >> 8;
        if (nlive < MAXS && (r % 3 != 0 || nlive == 0)) {
            uint32_t a = r % POOL;
            struct sig_ident id;
            memset(&id, 0, sizeof(id));
            id.framed_ip = htonl(0x0b000000u + a * 7919u);
            struct sess *stolen;
            struct sess *s = mk(t, &id, &stolen);
            CHECK(stolen == owner[a]);
            owner[a] = s;
            live[nlive++] = s;
        } else {
            size_t k = r % nlive;
            struct sess *s = live[k];
            live[k] = live[--nlive];
            for (uint32_t a = 0; a < POOL; a++)
                if (owner[a] == s)
                    owner[a] = NULL;
            st_destroy(t, s);
        }
        if (step % 997 == 0 || step == STEPS - 1)
            for (uint32_t a = 0; a < POOL; a++)
                CHECK(st_find_ip4(t, htonl(0x0b000000u + a * 7919u)) == owner[a]);
    }
    CHECK(st_count(t) == nlive);
    st_free(t);
}

static uint32_t lcg(uint32_t *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

/* The longest match by brute force over every session's fields. */
static struct sess *lpm_brute(struct sess_table *t, const uint8_t a[16])
{
    struct sess *best = NULL;
    int best_len = -1;
    for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s)) {
        if (s->has_ip6 && memcmp(s->ip6, a, 16) == 0)
            return s;
        const struct sig_prefix6 *p;
        unsigned n = st_prefixes6(s, &p);
        for (unsigned i = 0; i < n; i++) {
            unsigned full = p[i].len / 8, rest = p[i].len % 8;
            if (memcmp(p[i].addr, a, full) != 0)
                continue;
            if (rest != 0 && ((p[i].addr[full] ^ a[full]) & (0xff00u >> rest)) != 0)
                continue;
            CHECK((int)p[i].len != best_len); /* one owner per prefix */
            if ((int)p[i].len > best_len) {
                best_len = p[i].len;
                best = s;
            }
        }
    }
    return best;
}

/* Random nested prefixes and addresses in a small space, created, updated
 * and destroyed; every lookup agrees with the brute force over the fields
 * (so stealing keeps the fields and the indexes in step). */
static void test_model6(void)
{
    char err[160];
    static const uint8_t lens[] = {40, 48, 56, 60, 64, 72, 127};
    struct sess_table *t = st_new(400, err, sizeof(err));
    CHECK(t != NULL);
#define RND() lcg(&rnd)
    uint32_t rnd = 777;
    unsigned hits = 0, misses = 0;
    /* addresses under 2001:db8::/32 whose bits 32..79 and the last octet vary a little */
    for (int step = 0; step < 6000; step++) {
        uint32_t r = RND();
        struct sig_ident id;
        memset(&id, 0, sizeof(id));
        unsigned np = r % 3;
        for (unsigned i = 0; i < np; i++) {
            uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
            a[4] = (uint8_t)(RND() % 2);
            a[6] = (uint8_t)(RND() % 2 ? 0x80 : 0);
            a[7] = (uint8_t)(RND() % 4 * 16);
            a[8] = (uint8_t)(RND() % 2);
            a[15] = (uint8_t)(RND() % 2);
            memcpy(id.prefix6[i].addr, a, 16);
            id.prefix6[i].len = lens[RND() % sizeof(lens)];
        }
        id.nprefix6 = np;
        if (RND() % 4 == 0) {
            uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8, (uint8_t)(RND() % 2)};
            a[15] = (uint8_t)(RND() % 4);
            id.has_framed_ip6 = 1;
            memcpy(id.framed_ip6, a, 16);
        }
        size_t n = st_count(t);
        if (n > 0 && (RND() % 3 == 0 || n == st_max(t))) {
            /* destroy or update a random one */
            size_t k = RND() % n;
            struct sess *s = st_next(t, NULL);
            while (k-- > 0)
                s = st_next(t, s);
            if (RND() % 2)
                st_destroy(t, s);
            else
                CHECK(st_update(t, s, &id, err, sizeof(err)) == 0);
        } else {
            mk(t, &id, NULL);
        }
        if (step % 50 == 0)
            for (int q = 0; q < 64; q++) {
                uint8_t a[16] = {0x20, 0x01, 0x0d, 0xb8};
                a[4] = (uint8_t)(RND() % 3); /* 2: outside every prefix */
                a[6] = (uint8_t)(RND() % 2 ? 0x80 : 0);
                a[7] = (uint8_t)(RND() % 4 * 16 + RND() % 2);
                a[8] = (uint8_t)(RND() % 2);
                a[9] = (uint8_t)(RND() % 2 ? 0x40 : 0);
                a[15] = (uint8_t)(RND() % 4);
                struct sess *f = st_find_ip6(t, a);
                CHECK(f == lpm_brute(t, a));
                hits += f != NULL;
                misses += f == NULL;
            }
        /* whoever has an address in its fields is the one found by it */
        for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s))
            CHECK(!s->has_ip6 || st_find_ip6(t, s->ip6) == s);
    }
#undef RND
    fprintf(stderr, "test_model6: %u lookups found a session, %u none\n", hits, misses);
    CHECK(hits > 2000 && misses > 1000);
    st_free(t);
}

static void test_directive(void)
{
    struct pm_conf c;
    char err[300];
    CHECK(conf_directive_dest("maxSubscribers") == CONF_DEST_CAPTURE);
    const char *ok = "maxSubscribers 250000\n";
    CHECK(conf_load_buffer("t.conf", ok, strlen(ok), &c, err, sizeof(err)) == 0);
    CHECK(c.max_subscribers == 250000);
    conf_free(&c);
    CHECK(conf_load_buffer("t.conf", "", 0, &c, err, sizeof(err)) == 0);
    CHECK(c.max_subscribers == CONF_MAX_SUBSCRIBERS_DEFAULT && c.max_subscribers == ST_DEFAULT_MAX);
    conf_free(&c);
    const char *bad[] = {"maxSubscribers 0\n", "maxSubscribers 10000001\n", "maxSubscribers\n",
                         "maxSubscribers 5 6\n", "maxSubscribers -1\n"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(conf_load_buffer("t.conf", bad[i], strlen(bad[i]), &c, err, sizeof(err)) < 0);
        CHECK(strncmp(err, "t.conf:1: maxSubscribers", 24) == 0);
    }
    /* the capture process's side: its slice line, parsed by the same code */
    CHECK(conf_slice_line_for(CONF_DEST_CAPTURE, "maxSubscribers", "maxSubscribers 7"));
    CHECK(!conf_slice_line_for(CONF_DEST_AGENT, "maxSubscribers", "maxSubscribers 7"));
    struct conf_slice *cs = conf_slice_new();
    CHECK(cs != NULL);
    CHECK(conf_slice_add(cs, 4, "maxSubscribers 7", 16, err, sizeof(err)) == 0);
    CHECK(conf_slice_load(cs, "/etc/pmirrord/pmirrord.conf", &c, err, sizeof(err)) == 0);
    CHECK(c.max_subscribers == 7);
    conf_free(&c);
    conf_slice_free(cs);
    cs = conf_slice_new();
    CHECK(conf_slice_add(cs, 9, "maxSubscribers 0x10", 19, err, sizeof(err)) == 0);
    CHECK(conf_slice_load(cs, "/etc/pmirrord/pmirrord.conf", &c, err, sizeof(err)) < 0);
    CHECK(strncmp(err, "/etc/pmirrord/pmirrord.conf:9: maxSubscribers", 45) == 0);
    conf_slice_free(cs);
    unsigned v = 0;
    char *argv[] = {"maxSubscribers", "10000000"};
    CHECK(conf_parse_max_subscribers(2, argv, &v, err, sizeof(err)) == 0 && v == 10000000);
}

int main(void)
{
    test_lookups();
    test_lpm();
    test_update();
    test_steal();
    test_shared_keys();
    test_destroy_wipes();
    test_limit();
    test_iterate();
    test_model();
    test_model6();
    test_directive();
    puts("test_sess_table: ok");
    return 0;
}
