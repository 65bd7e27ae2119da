/*
 * fuzz_sess_table.c - libFuzzer target for the session table
 * (src/capture/sess_table.c, sess_index.c): the input is a program of
 * operations on one table of at most 24 sessions, with identities drawn
 * from small pools so that keys collide, addresses are stolen and prefixes
 * nest.
 *
 * Each operation is one byte (op % 8: 0-2 st_create, 3-4 st_update of the
 * live session picked by the next byte, 5 st_destroy of one, 6 lookups of an
 * address built from the next bytes, 7 a walk that destroys every other
 * session); create and update read an identity: a byte of field flags, then
 * one byte per field present (its length and pool).  A byte beyond the end
 * reads as 0.
 *
 * Properties (abort() when one fails), after every operation:
 *   - st_count() is the number of live sessions, never more than
 *     st_max(); st_create() fails exactly when the table is full, saying
 *     "maxSubscribers";
 *   - st_next() visits each live session once;
 *   - a session's Framed-IP-Address finds it, its Framed-IPv6-Address finds
 *     it, each of its prefixes' first address finds it or a session with a
 *     longer prefix holding that address, and its chaddr, Acct-Session-Id
 *     and NAS key find a session with the same key;
 *   - st_find_ip6() of any address is the longest match by brute force over
 *     every session's fields;
 *   - every identity is at most 253 octets and st_ident() gives back what
 *     st_get() and st_prefixes6() give.
 */
#include "pmirrord/sess_table.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_sess_table: property failed: %s: ", #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define MAXS 24

struct in {
    const uint8_t *p;
    size_t n, off;
};

static uint8_t next(struct in *in)
{
    return in->off < in->n ? in->p[in->off++] : 0;
}

static void pool_str(struct sig_str *s, uint8_t b)
{
    static const char *const pool[] = {"a", "b", "alice", "bob@example.net", "ab"};
    if ((b & 0x30) == 0x30) {                 /* long ones: up to the limit, and past it */
        s->len = (uint8_t)(240 + (b & 0x0f)); /* 254, 255: longer than the array */
        memset(s->v, 'x', SIG_STR_MAX);
        return;
    }
    const char *v = pool[b % 5];
    s->len = (uint8_t)strlen(v);
    memcpy(s->v, v, s->len);
}

static void pool_ip6(uint8_t a[16], uint8_t b)
{
    static const uint8_t base[16] = {0x20, 0x01, 0x0d, 0xb8};
    memcpy(a, base, 16);
    a[5] = (uint8_t)(b & 1);
    a[6] = (uint8_t)((b >> 1) & 1 ? 0x80 : 0);
    a[7] = (uint8_t)((b >> 2) & 1);
    a[8] = (uint8_t)((b >> 3) & 1 ? 0x40 : 0);
    a[15] = (uint8_t)((b >> 4) & 3);
}

static void read_ident(struct in *in, struct sig_ident *id)
{
    static const uint8_t lens[] = {32, 48, 56, 63, 64, 65, 72, 128};
    memset(id, 0, sizeof(*id));
    uint8_t f = next(in), g = next(in);
    if (f & 1)
        pool_str(&id->user, next(in));
    if (f & 2)
        pool_str(&id->acct_sid, next(in));
    if (f & 4)
        pool_str(&id->nas_id, next(in));
    if (f & 8)
        pool_str(&id->nas_port_id, next(in));
    if (f & 16)
        pool_str(&id->circuit, next(in));
    if (f & 32)
        id->framed_ip = 0x0a000000u + (next(in) & 7);
    if (f & 64) {
        id->has_framed_ip6 = 1;
        pool_ip6(id->framed_ip6, next(in));
    }
    if (f & 128) {
        id->has_chaddr = 1;
        memset(id->chaddr, next(in) & 3, 6);
    }
    if (g & 1)
        id->nas_ip = 0xc6120000u + (next(in) & 1);
    if (g & 2) {
        id->has_nas_port = 1;
        id->nas_port = next(in) & 3;
    }
    id->nprefix6 = (g >> 2) % (SIG_PREFIX6_MAX + 2); /* more than fit: cut to the array */
    for (unsigned i = 0; i < id->nprefix6 && i < SIG_PREFIX6_MAX; i++) {
        uint8_t b = next(in);
        pool_ip6(id->prefix6[i].addr, b);
        id->prefix6[i].len = (b & 0x80) ? 0 : lens[next(in) % 8]; /* 0: not a prefix */
    }
}

static int holds(const uint8_t *p, unsigned len, const uint8_t a[16])
{
    unsigned full = len / 8, rest = len % 8;
    if (memcmp(p, a, full) != 0)
        return 0;
    return rest == 0 || ((p[full] ^ a[full]) & (0xff00u >> rest)) == 0;
}

static int match_len(const struct sess *s, const uint8_t a[16])
{
    int best = -1;
    if (s->has_ip6 && memcmp(s->ip6, a, 16) == 0)
        best = 128;
    const struct sig_prefix6 *p;
    unsigned n = st_prefixes6(s, &p);
    for (unsigned i = 0; i < n; i++)
        if (holds(p[i].addr, p[i].len, a) && (int)p[i].len > best)
            best = p[i].len;
    return best;
}

static void check_lpm(struct sess_table *t, const uint8_t a[16])
{
    struct sess *f = st_find_ip6(t, a), *owner = NULL;
    int best = -1, nbest = 0;
    for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s)) {
        int m = match_len(s, a);
        if (m > best) {
            best = m;
            nbest = 0;
            owner = s;
        }
        nbest += m >= 0 && m == best;
    }
    CHECK(best < 0 || nbest == 1, "%d sessions hold /%d of the address", nbest, best);
    CHECK(f == owner, "found %p, the longest /%d is %p's", (void *)f, best, (void *)owner);
}

static int same(const struct sess *a, const struct sess *b, enum st_field f)
{
    const uint8_t *x, *y;
    size_t n = st_get(a, f, &x), m = st_get(b, f, &y);
    return n == m && (n == 0 || memcmp(x, y, n) == 0);
}

static void check_all(struct sess_table *t, struct sess **live, size_t nlive)
{
    CHECK(st_count(t) == nlive && nlive <= st_max(t), "count %zu, %zu live", st_count(t), nlive);
    size_t seen = 0;
    for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s)) {
        int known = 0;
        for (size_t i = 0; i < nlive; i++)
            known |= live[i] == s;
        CHECK(known, "st_next() gave a session that is not live");
        seen++;
        if (s->framed_ip != 0)
            CHECK(st_find_ip4(t, s->framed_ip) == s, "IPv4");
        if (s->has_ip6)
            CHECK(st_find_ip6(t, s->ip6) == s, "Framed-IPv6-Address");
        if (s->has_chaddr) {
            struct sess *o = st_find_chaddr(t, s->chaddr);
            CHECK(o != NULL && memcmp(o->chaddr, s->chaddr, 6) == 0, "chaddr");
        }
        const struct sig_prefix6 *p;
        unsigned np = st_prefixes6(s, &p);
        CHECK(np == s->nprefix6 && np <= SIG_PREFIX6_MAX, "prefix count");
        for (unsigned i = 0; i < np; i++) {
            CHECK(p[i].len >= 1 && p[i].len <= 128, "prefix length %u", p[i].len);
            struct sess *o = st_find_ip6(t, p[i].addr);
            CHECK(o == s || match_len(o, p[i].addr) > (int)p[i].len, "prefix /%u", p[i].len);
        }
        const uint8_t *v;
        size_t n = st_get(s, ST_ACCT_SID, &v);
        if (n > 0) {
            struct sess *o = st_find_acct_sid(t, v, n);
            CHECK(o != NULL && same(o, s, ST_ACCT_SID), "Acct-Session-Id");
        }
        struct sig_ident id;
        st_ident(s, &id);
        for (int f = 0; f < ST_NFIELDS; f++)
            CHECK(st_get(s, f, &v) <= SIG_STR_MAX, "field %d too long", f);
        CHECK(id.framed_ip == s->framed_ip && id.nprefix6 == np, "st_ident");
        struct sess *o = st_find_nas_key(t, &id);
        if (o != NULL)
            CHECK(same(o, s, ST_USER) && o->nas_ip == s->nas_ip, "NAS key");
        else
            CHECK(id.user.len == 0 || (id.nas_ip == 0 && id.nas_id.len == 0) ||
                      (!id.has_nas_port && id.nas_port_id.len == 0),
                  "a complete NAS key finds nothing");
    }
    CHECK(seen == nlive, "st_next() visited %zu of %zu", seen, nlive);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[160];
    struct sess_table *t = st_new(MAXS - 4, err, sizeof(err));
    CHECK(t != NULL, "st_new: %s", err);
    struct sess *live[MAXS];
    size_t nlive = 0;
    struct in in = {data, size, 0};
    while (in.off < in.n) {
        uint8_t op = next(&in) % 8;
        struct sig_ident id;
        if (op <= 2) {
            read_ident(&in, &id);
            struct sess *stolen = NULL;
            struct sess *s = st_create(t, &id, &stolen, err, sizeof(err));
            if (nlive == st_max(t)) {
                CHECK(s == NULL && strstr(err, "maxSubscribers") != NULL, "over the limit");
            } else {
                CHECK(s != NULL, "st_create: %s", err);
                CHECK(stolen != s, "stole from itself");
                live[nlive++] = s;
            }
        } else if (op <= 5 && nlive > 0) {
            size_t k = next(&in) % nlive;
            if (op == 5) {
                st_destroy(t, live[k]);
                live[k] = live[--nlive];
            } else {
                read_ident(&in, &id);
                CHECK(st_update(t, live[k], &id, err, sizeof(err)) == 0, "st_update: %s", err);
            }
        } else if (op == 6) {
            uint8_t a[16];
            pool_ip6(a, next(&in));
            a[9] = next(&in) & 0x80;
            check_lpm(t, a);
            uint32_t a4 = 0x0a000000u + (next(&in) & 15);
            struct sess *s = st_find_ip4(t, a4);
            CHECK(s == NULL || s->framed_ip == a4, "IPv4 lookup");
        } else if (op == 7) {
            int odd = 0;
            for (struct sess *s = st_next(t, NULL); s != NULL; s = st_next(t, s))
                if ((odd ^= 1) != 0) {
                    for (size_t i = 0; i < nlive; i++)
                        if (live[i] == s) {
                            live[i] = live[--nlive];
                            break;
                        }
                    st_destroy(t, s);
                }
        }
        check_all(t, live, nlive);
    }
    st_free(t);
    return 0;
}
