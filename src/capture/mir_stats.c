/*
 * mir_stats.c - per intercept and per analyzer accounting of the data path,
 * the analyzers' reachability with its hold-down, loss episodes
 * (mir_stats.h; docs/jmirror.md "Loss evidence", "Analyzer reachability").
 *
 * Two fixed tables sized at ms_new(): intercept entries keyed by (mirror
 * ID, session ID, analyzer) and analyzer entries keyed by the analyzer;
 * each with an open-addressing index (linear probing, a keyed hash, deletion
 * by backward shift: no tombstones).  A handle is an entry's slot number
 * and the slot's generation: a datagram's outcome comes back at the next
 * flush, after ms_tick() may have freed its intercept's entry and ms_icpt()
 * given the slot to another intercept (another mirror ID, another analyzer);
 * the stale handle then finds nothing instead of that intercept.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <openssl/crypto.h>

#include "pmirrord/log.h"
#include "pmirrord/mir_stats.h"
#include "pmirrord/pkt_dedupe.h"

#define IX_ICPT_SLOTS   8192u /* twice MS_ICPT_MAX, a power of two */
#define IX_AN_SLOTS     2048u /* twice MS_ANALYZER_MAX */
#define ACTIVE_EVERY_MS 1000  /* how often inactive intercepts are looked for */
#define MLOG_MAX        512
#define H_SLOT_BITS     12u /* MS_ICPT_MAX slots */
#define H_SLOT_MASK     ((1u << H_SLOT_BITS) - 1)
#define H_GENS          ((UINT32_MAX >> H_SLOT_BITS) - 1) /* no handle is MS_NONE */

_Static_assert(MS_ICPT_MAX == 1u << H_SLOT_BITS, "a handle's slot bits");

struct icpt_ent {
    struct ms_icpt_stats s;
    uint32_t an; /* analyzer entry */
    int used;
    int ep_open; /* a loss episode */
    int64_t ep_first_ms, ep_last_ms;
    uint64_t ep_lost[MS_LOSS_KINDS];
};

struct an_ent {
    struct ms_analyzer_stats s;
    int used;
    uint32_t refs;      /* intercept entries that point here */
    uint32_t router_id; /* of the last intercept that sent to it */
    int sent_since_err; /* a datagram sent since the last unreachable error */
    uint64_t down_sent; /* this outage: datagrams sent, refused */
    uint64_t down_refused;
};

struct mir_stats {
    struct ms_hooks h;
    unsigned hold_down_s;
    uint8_t key[16];
    struct icpt_ent *ic; /* MS_ICPT_MAX */
    struct an_ent *an;   /* MS_ANALYZER_MAX */
    uint32_t *ix_ic;     /* slot + 1, 0 empty */
    uint32_t *ix_an;
    uint32_t *free_ic; /* stacks of free entries */
    uint32_t *free_an;
    uint32_t *gen_ic; /* each intercept slot's generation: + 1 when freed */
    uint32_t nfree_ic, nfree_an;
    uint64_t unattributed;
    /* totals since ms_new (entries come and go; STATS counters only grow) */
    uint64_t tot_lost[MS_LOSS_KINDS], tot_fragmented, tot_split, tot_unsplit, tot_outages;
    int64_t next_active_ms;
    uint32_t last_ic; /* the entry found last: a run of one intercept's packets skips the hash */
    uint32_t an_made; /* analyzer entries created since ms_new (ms_analyzers_made) */
};

/* ---- keys and indexes ------------------------------------------------------------------- */

static size_t an_addr_len(const struct trig_analyzer *a)
{
    return a->family == 6 ? 16 : 4;
}

static int an_same(const struct trig_analyzer *a, const struct trig_analyzer *b)
{
    return a->family == b->family && a->port == b->port &&
           memcmp(a->addr, b->addr, an_addr_len(a)) == 0;
}

static size_t an_key(const struct trig_analyzer *a, uint8_t *k)
{
    k[0] = (uint8_t)a->family;
    k[1] = (uint8_t)(a->port >> 8);
    k[2] = (uint8_t)a->port;
    memcpy(k + 3, a->addr, an_addr_len(a));
    return 3 + an_addr_len(a);
}

static uint32_t hash_an(const struct mir_stats *m, const struct trig_analyzer *a)
{
    uint8_t k[32];
    size_t n = an_key(a, k);
    return (uint32_t)pkt_siphash24(m->key, k, n);
}

static uint32_t hash_ic(const struct mir_stats *m, uint32_t mid, uint32_t sid,
                        const struct trig_analyzer *a)
{
    uint8_t k[40];
    memcpy(k, &mid, 4);
    memcpy(k + 4, &sid, 4);
    size_t n = 8 + an_key(a, k + 8);
    return (uint32_t)pkt_siphash24(m->key, k, n);
}

static int ic_is(const struct icpt_ent *e, uint32_t mid, uint32_t sid,
                 const struct trig_analyzer *a)
{
    return e->s.mirror_id == mid && e->s.session_id == sid && an_same(&e->s.analyzer, a);
}

/* The index position of entry ent (which is in the index). */
static uint32_t ix_pos(const uint32_t *ix, uint32_t slots, uint32_t h, uint32_t ent)
{
    uint32_t i = h & (slots - 1);
    while (ix[i] != ent + 1)
        i = (i + 1) & (slots - 1);
    return i;
}

/* Backward-shift deletion at position i; hash_of gives an entry's home. */
static void ix_del(const struct mir_stats *m, uint32_t *ix, uint32_t slots, uint32_t i,
                   uint32_t (*home)(const struct mir_stats *, uint32_t))
{
    uint32_t mask = slots - 1, j = i;
    ix[i] = 0;
    for (;;) {
        j = (j + 1) & mask;
        if (ix[j] == 0)
            return;
        uint32_t k = home(m, ix[j] - 1) & mask;
        /* the entry at j may move to i when its home is not in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            ix[i] = ix[j];
            ix[j] = 0;
            i = j;
        }
    }
}

static uint32_t home_ic(const struct mir_stats *m, uint32_t ent)
{
    const struct ms_icpt_stats *s = &m->ic[ent].s;
    return hash_ic(m, s->mirror_id, s->session_id, &s->analyzer);
}

static uint32_t home_an(const struct mir_stats *m, uint32_t ent)
{
    return hash_an(m, &m->an[ent].s.analyzer);
}

static uint32_t find_an(const struct mir_stats *m, const struct trig_analyzer *a)
{
    uint32_t mask = IX_AN_SLOTS - 1;
    for (uint32_t i = hash_an(m, a) & mask; m->ix_an[i] != 0; i = (i + 1) & mask)
        if (an_same(&m->an[m->ix_an[i] - 1].s.analyzer, a))
            return m->ix_an[i] - 1;
    return MS_NONE;
}

static uint32_t find_ic(const struct mir_stats *m, uint32_t mid, uint32_t sid,
                        const struct trig_analyzer *a)
{
    uint32_t mask = IX_ICPT_SLOTS - 1;
    for (uint32_t i = hash_ic(m, mid, sid, a) & mask; m->ix_ic[i] != 0; i = (i + 1) & mask)
        if (ic_is(&m->ic[m->ix_ic[i] - 1], mid, sid, a))
            return m->ix_ic[i] - 1;
    return MS_NONE;
}

static int an_valid(const struct trig_analyzer *a)
{
    return a != NULL && (a->family == 4 || a->family == 6);
}

static void put_an(struct mir_stats *m, uint32_t x);
static void fmt_an(const struct trig_analyzer *a, char *buf, size_t cap);
static void fmt_time(int64_t ms, char *buf, size_t cap);
static void mlogf(struct mir_stats *m, const char *fmt, ...) PM_PRINTF(2, 3);

/*
 * A full analyzer table: an entry no intercept refers to any more is one
 * whose outage is held (ms_tick frees the others), which it would be until
 * a datagram went to it, that is forever.  One of them gives way (its outage
 * written to the mirror log), else a churn of intercepts to analyzers that
 * went down left the table full and every new analyzer unattributed, never
 * found unreachable.  0 when one was freed.
 */
static int evict_held_an(struct mir_stats *m)
{
    for (uint32_t i = 0; i < MS_ANALYZER_MAX; i++) {
        struct an_ent *a = &m->an[i];
        if (!a->used || a->refs != 0)
            continue;
        char s[64], t1[40], t2[40];
        fmt_an(&a->s.analyzer, s, sizeof(s));
        fmt_time(a->s.down_since_ms, t1, sizeof(t1));
        fmt_time(a->s.last_err_ms, t2, sizeof(t2));
        mlogf(m,
              "analyzer %s forgotten while unreachable (no intercept mirrors to it, the "
              "analyzer table is full): unreachable from %s, last error %s, %llu datagram(s) "
              "sent while unreachable, %llu refused",
              s, t1, t2, (unsigned long long)(a->down_sent + a->down_refused),
              (unsigned long long)a->down_refused);
        put_an(m, i);
        return 0;
    }
    return -1;
}

/* The analyzer's entry, created when missing (MS_NONE: table full). */
static uint32_t get_an(struct mir_stats *m, const struct trig_analyzer *a)
{
    uint32_t x = find_an(m, a);
    if (x != MS_NONE || (m->nfree_an == 0 && evict_held_an(m) < 0))
        return x;
    x = m->free_an[--m->nfree_an];
    struct an_ent *e = &m->an[x];
    memset(e, 0, sizeof(*e));
    e->used = 1;
    m->an_made++;
    e->s.analyzer.family = a->family;
    memcpy(e->s.analyzer.addr, a->addr, an_addr_len(a));
    e->s.analyzer.port = a->port;
    uint32_t mask = IX_AN_SLOTS - 1, i = hash_an(m, a) & mask;
    while (m->ix_an[i] != 0)
        i = (i + 1) & mask;
    m->ix_an[i] = x + 1;
    return x;
}

static void put_an(struct mir_stats *m, uint32_t x)
{
    struct an_ent *e = &m->an[x];
    ix_del(m, m->ix_an, IX_AN_SLOTS, ix_pos(m->ix_an, IX_AN_SLOTS, home_an(m, x), x), home_an);
    OPENSSL_cleanse(e, sizeof(*e));
    m->free_an[m->nfree_an++] = x;
}

/* ---- text ------------------------------------------------------------------------------- */

/* ISO 8601 UTC with milliseconds from capture-clock milliseconds. */
static void fmt_time(int64_t ms, char *buf, size_t cap)
{
    struct tm tm;
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    char ts[32];
    if (gmtime_r(&t, &tm) == NULL || strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        snprintf(ts, sizeof(ts), "%lld", (long long)t);
    snprintf(buf, cap, "%s.%03dZ", ts, frac);
}

static void fmt_an(const struct trig_analyzer *a, char *buf, size_t cap)
{
    if (trig_analyzer_format(a, buf, cap) < 0)
        snprintf(buf, cap, "?");
}

static void mlogf(struct mir_stats *m, const char *fmt, ...)
{
    char buf[MLOG_MAX];
    va_list ap;
    if (m->h.mlog == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    m->h.mlog(m->h.arg, buf);
    OPENSSL_cleanse(buf, sizeof(buf));
}

/* ---- life ------------------------------------------------------------------------------- */

struct mir_stats *ms_new(unsigned hold_down_s, const struct ms_hooks *h)
{
    struct mir_stats *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return NULL;
    m->ic = calloc(MS_ICPT_MAX, sizeof(*m->ic));
    m->an = calloc(MS_ANALYZER_MAX, sizeof(*m->an));
    m->ix_ic = calloc(IX_ICPT_SLOTS, sizeof(*m->ix_ic));
    m->ix_an = calloc(IX_AN_SLOTS, sizeof(*m->ix_an));
    m->free_ic = calloc(MS_ICPT_MAX, sizeof(*m->free_ic));
    m->free_an = calloc(MS_ANALYZER_MAX, sizeof(*m->free_an));
    m->gen_ic = calloc(MS_ICPT_MAX, sizeof(*m->gen_ic));
    if (m->ic == NULL || m->an == NULL || m->ix_ic == NULL || m->ix_an == NULL ||
        m->free_ic == NULL || m->free_an == NULL || m->gen_ic == NULL ||
        getrandom(m->key, sizeof(m->key), 0) != (ssize_t)sizeof(m->key)) {
        ms_free(m);
        return NULL;
    }
    if (h != NULL)
        m->h = *h;
    ms_set_hold_down(m, hold_down_s);
    /* handed out lowest first: rows come in creation order while nothing is freed */
    for (uint32_t i = 0; i < MS_ICPT_MAX; i++)
        m->free_ic[i] = MS_ICPT_MAX - 1 - i;
    for (uint32_t i = 0; i < MS_ANALYZER_MAX; i++)
        m->free_an[i] = MS_ANALYZER_MAX - 1 - i;
    m->nfree_ic = MS_ICPT_MAX;
    m->last_ic = MS_NONE;
    m->nfree_an = MS_ANALYZER_MAX;
    return m;
}

void ms_free(struct mir_stats *m)
{
    if (m == NULL)
        return;
    if (m->ic != NULL)
        OPENSSL_cleanse(m->ic, MS_ICPT_MAX * sizeof(*m->ic));
    if (m->an != NULL)
        OPENSSL_cleanse(m->an, MS_ANALYZER_MAX * sizeof(*m->an));
    free(m->ic);
    free(m->an);
    free(m->ix_ic);
    free(m->ix_an);
    free(m->free_ic);
    free(m->free_an);
    free(m->gen_ic);
    OPENSSL_cleanse(m, sizeof(*m));
    free(m);
}

void ms_set_hold_down(struct mir_stats *m, unsigned hold_down_s)
{
    m->hold_down_s = hold_down_s == 0 ? MS_HOLD_DOWN_DEFAULT : hold_down_s;
}

uint32_t ms_icpt(struct mir_stats *m, uint32_t mirror_id, uint32_t session_id,
                 const struct trig_analyzer *an, uint32_t router_id, unsigned src_idx,
                 int64_t now_ms)
{
    if (!an_valid(an)) {
        m->unattributed++;
        return MS_NONE;
    }
    uint32_t x = m->last_ic;
    if (x == MS_NONE || !ic_is(&m->ic[x], mirror_id, session_id, an))
        x = find_ic(m, mirror_id, session_id, an);
    if (x == MS_NONE) {
        uint32_t a = m->nfree_ic > 0 ? get_an(m, an) : MS_NONE;
        if (a == MS_NONE) {
            m->unattributed++;
            return MS_NONE;
        }
        x = m->free_ic[--m->nfree_ic];
        struct icpt_ent *e = &m->ic[x];
        memset(e, 0, sizeof(*e));
        e->used = 1;
        e->an = a;
        m->an[a].refs++;
        e->s.mirror_id = mirror_id;
        e->s.session_id = session_id;
        e->s.analyzer = m->an[a].s.analyzer;
        e->s.first_ms = now_ms;
        uint32_t mask = IX_ICPT_SLOTS - 1, i = hash_ic(m, mirror_id, session_id, an) & mask;
        while (m->ix_ic[i] != 0)
            i = (i + 1) & mask;
        m->ix_ic[i] = x + 1;
    }
    struct icpt_ent *e = &m->ic[x];
    m->last_ic = x;
    e->s.router_id = router_id;
    e->s.src_idx = src_idx;
    e->s.last_ms = now_ms;
    m->an[e->an].router_id = router_id;
    return x | m->gen_ic[x] << H_SLOT_BITS;
}

/* The entry of handle h while it is the one h was given for. */
static struct icpt_ent *ent(struct mir_stats *m, uint32_t h)
{
    uint32_t x = h & H_SLOT_MASK;
    if (h == MS_NONE || !m->ic[x].used || m->gen_ic[x] != h >> H_SLOT_BITS)
        return NULL;
    return &m->ic[x];
}

/* ---- loss episodes ---------------------------------------------------------------------- */

static void episode_close(struct mir_stats *m, struct icpt_ent *e)
{
    if (!e->ep_open)
        return;
    uint64_t sum = 0;
    for (int k = 0; k < MS_LOSS_KINDS; k++)
        sum += e->ep_lost[k];
    char a[64], t1[40], t2[40];
    fmt_an(&e->s.analyzer, a, sizeof(a));
    fmt_time(e->ep_first_ms, t1, sizeof(t1));
    fmt_time(e->ep_last_ms, t2, sizeof(t2));
    mlogf(m,
          "loss: mirror ID %u session ID %u to %s: %llu packet(s) not mirrored from %s to %s "
          "(source drops %llu, send errors %llu, analyzer unreachable %llu, snapped %llu, "
          "other %llu)",
          (unsigned)e->s.mirror_id, (unsigned)e->s.session_id, a, (unsigned long long)sum, t1, t2,
          (unsigned long long)e->ep_lost[MS_LOSS_SOURCE],
          (unsigned long long)e->ep_lost[MS_LOSS_SEND],
          (unsigned long long)e->ep_lost[MS_LOSS_UNREACH],
          (unsigned long long)e->ep_lost[MS_LOSS_SNAPPED],
          (unsigned long long)e->ep_lost[MS_LOSS_OTHER]);
    e->ep_open = 0;
    memset(e->ep_lost, 0, sizeof(e->ep_lost));
}

static void count_loss(struct mir_stats *m, struct icpt_ent *e, enum ms_loss why, uint64_t n,
                       int64_t now_ms)
{
    if (n == 0 || (unsigned)why >= MS_LOSS_KINDS)
        return;
    if (e->ep_open && now_ms - e->ep_last_ms >= MS_EPISODE_GAP_S * 1000)
        episode_close(m, e);
    if (!e->ep_open) {
        e->ep_open = 1;
        e->ep_first_ms = now_ms;
    }
    e->ep_last_ms = now_ms;
    e->ep_lost[why] += n;
    e->s.lost[why] += n;
    m->tot_lost[why] += n;
}

/* ---- outcomes --------------------------------------------------------------------------- */

void ms_sent(struct mir_stats *m, uint32_t h, size_t bytes, int fragmented, int64_t now_ms)
{
    struct icpt_ent *e = ent(m, h);
    if (e == NULL)
        return; /* its packet was counted by ms_icpt (unattributed) */
    struct an_ent *a = &m->an[e->an];
    /* a datagram sent within a second of the last error may have gone
     * unanswered only because the analyzer's host rate-limits its ICMP
     * errors (about one a second): it proves nothing */
    if (!a->s.down || now_ms - a->s.last_err_ms >= MS_PROBE_MS)
        a->sent_since_err = 1;
    if (fragmented) {
        e->s.fragmented++;
        a->s.fragmented++;
        m->tot_fragmented++;
    }
    if (a->s.down) {
        a->s.lost_while_down++;
        a->down_sent++;
        count_loss(m, e, MS_LOSS_UNREACH, 1, now_ms);
        return;
    }
    e->s.packets++;
    e->s.bytes += bytes;
    a->s.packets++;
    a->s.bytes += bytes;
}

void ms_lost(struct mir_stats *m, uint32_t h, enum ms_loss why, uint64_t n, int64_t now_ms)
{
    struct icpt_ent *e = ent(m, h);
    if (e == NULL)
        return;
    if (why == MS_LOSS_SEND)
        e->s.send_errors += n;
    count_loss(m, e, why, n, now_ms);
}

static int unreach_errno(int err)
{
    return err == EHOSTUNREACH || err == ENETUNREACH || err == ECONNREFUSED;
}

/* An unreachable error for analyzer entry x: DOWN (once per outage). */
static void unreach(struct mir_stats *m, uint32_t x, uint32_t router_id, int err, int64_t now_ms)
{
    struct an_ent *a = &m->an[x];
    a->s.unreachable_errors++;
    a->s.last_err_ms = now_ms;
    a->sent_since_err = 0;
    if (a->s.down)
        return;
    a->s.down = 1;
    a->s.down_since_ms = now_ms;
    a->s.outages++;
    m->tot_outages++;
    a->down_sent = 0;
    a->down_refused = 0;
    char s[64];
    fmt_an(&a->s.analyzer, s, sizeof(s));
    mlogf(m, "analyzer %s unreachable (%s): AnalyzerUnreachable raised", s, strerror(err));
    if (m->h.unreachable != NULL)
        m->h.unreachable(m->h.arg, &a->s.analyzer, router_id, err);
}

void ms_send_failed(struct mir_stats *m, uint32_t h, int err, int64_t now_ms)
{
    struct icpt_ent *e = ent(m, h);
    if (e == NULL)
        return;
    struct an_ent *a = &m->an[e->an];
    a->s.send_errors++;
    e->s.send_errors++;
    count_loss(m, e, MS_LOSS_SEND, 1, now_ms);
    if (unreach_errno(err))
        unreach(m, e->an, e->s.router_id, err, now_ms);
    if (a->s.down) {
        a->s.lost_while_down++;
        a->down_refused++;
    }
}

void ms_split(struct mir_stats *m, uint32_t h, int split)
{
    struct icpt_ent *e = ent(m, h);
    if (e == NULL)
        return;
    if (split) {
        e->s.split++;
        m->tot_split++;
    } else {
        e->s.unsplit++;
        m->tot_unsplit++;
    }
}

/*
 * The destination of an error-queue entry is the one in the datagram the
 * ICMP error quotes: anyone who can send ICMP to this host and guess a
 * jmirror socket's port chooses it.  So only an analyzer with an entry (an
 * intercept sends to it, or its outage is still held) is taken DOWN: a
 * quoted address of no analyzer of ours creates nothing (else a flood of
 * forged errors fills the analyzer table, real analyzers go unattributed,
 * and each forged address raises AnalyzerUnreachable and a mirror-log
 * entry).  Fragmentation needed / packet too big (EMSGSIZE) says nothing of
 * reachability: the sockets let the kernel fragment (IP_PMTUDISC_DONT).
 */
void ms_icmp(struct mir_stats *m, const struct trig_analyzer *an, int err, int64_t now_ms)
{
    if (!an_valid(an) || err == EMSGSIZE)
        return;
    uint32_t x = find_an(m, an);
    if (x != MS_NONE)
        unreach(m, x, m->an[x].router_id, err, now_ms);
}

void ms_source_drops(struct mir_stats *m, unsigned src_idx, uint64_t n, int64_t now_ms)
{
    if (n == 0)
        return;
    for (uint32_t i = 0; i < MS_ICPT_MAX; i++) {
        struct icpt_ent *e = &m->ic[i];
        if (e->used && e->s.src_idx == src_idx && now_ms - e->s.last_ms <= MS_EPISODE_GAP_S * 1000)
            count_loss(m, e, MS_LOSS_SOURCE, n, now_ms);
    }
}

uint32_t ms_analyzers_made(const struct mir_stats *m)
{
    return m->an_made;
}

void ms_set_path_mtu(struct mir_stats *m, const struct trig_analyzer *an, unsigned mtu)
{
    uint32_t x = an_valid(an) ? find_an(m, an) : MS_NONE;
    if (x != MS_NONE)
        m->an[x].s.path_mtu = mtu;
}

void ms_note_mtu(struct mir_stats *m, uint32_t h, unsigned mtu)
{
    struct icpt_ent *e = ent(m, h);
    if (e != NULL && mtu != 0)
        m->an[e->an].s.path_mtu = mtu;
}

/* ---- time ------------------------------------------------------------------------------- */

static void icpt_release(struct mir_stats *m, uint32_t x)
{
    struct icpt_ent *e = &m->ic[x];
    episode_close(m, e);
    uint32_t a = e->an;
    ix_del(m, m->ix_ic, IX_ICPT_SLOTS, ix_pos(m->ix_ic, IX_ICPT_SLOTS, home_ic(m, x), x), home_ic);
    OPENSSL_cleanse(e, sizeof(*e));
    m->gen_ic[x] = m->gen_ic[x] + 1 < H_GENS ? m->gen_ic[x] + 1 : 0; /* its handles are stale */
    m->free_ic[m->nfree_ic++] = x;
    if (m->last_ic == x)
        m->last_ic = MS_NONE;
    if (m->an[a].refs > 0)
        m->an[a].refs--;
}

static void due_min(int64_t *due, int64_t at)
{
    if (*due < 0 || at < *due)
        *due = at;
}

int ms_tick(struct mir_stats *m, int64_t now_ms)
{
    int64_t due = -1, hold = (int64_t)m->hold_down_s * 1000, gap = MS_EPISODE_GAP_S * 1000;
    int look = m->h.active != NULL && now_ms >= m->next_active_ms;
    if (look)
        m->next_active_ms = now_ms + ACTIVE_EVERY_MS;
    int any = 0;
    for (uint32_t i = 0; i < MS_ICPT_MAX; i++) {
        struct icpt_ent *e = &m->ic[i];
        if (!e->used)
            continue;
        if (look && !m->h.active(m->h.arg, e->s.mirror_id, e->s.session_id)) {
            icpt_release(m, i);
            continue;
        }
        any = 1;
        if (e->ep_open && now_ms - e->ep_last_ms >= gap)
            episode_close(m, e);
        if (e->ep_open)
            due_min(&due, e->ep_last_ms + gap);
    }
    for (uint32_t i = 0; i < MS_ANALYZER_MAX; i++) {
        struct an_ent *a = &m->an[i];
        if (!a->used)
            continue;
        if (a->s.down && a->sent_since_err && now_ms - a->s.last_err_ms >= hold) {
            char s[64], t1[40], t2[40];
            fmt_an(&a->s.analyzer, s, sizeof(s));
            fmt_time(a->s.down_since_ms, t1, sizeof(t1));
            fmt_time(now_ms, t2, sizeof(t2));
            mlogf(m,
                  "analyzer %s reachable again: unreachable from %s to %s, %llu datagram(s) sent "
                  "while unreachable, %llu refused",
                  s, t1, t2, (unsigned long long)(a->down_sent + a->down_refused),
                  (unsigned long long)a->down_refused);
            a->s.down = 0;
        }
        if (!a->s.down && a->refs == 0) {
            put_an(m, i);
            continue;
        }
        /* down without a datagram since the error: recovery waits for one */
        if (a->s.down)
            due_min(&due, a->sent_since_err ? a->s.last_err_ms + hold : now_ms + 1000);
    }
    if (any && m->h.active != NULL)
        due_min(&due, m->next_active_ms);
    if (due < 0)
        return -1;
    int64_t d = due - now_ms;
    return d < 0 ? 0 : d > 60000 ? 60000 : (int)d;
}

/* ---- show mirror statistics ------------------------------------------------------------- */

static void icpt_row(const struct ms_icpt_stats *s, char *row, size_t cap)
{
    char a[64];
    uint64_t sum = 0;
    for (int k = 0; k < MS_LOSS_KINDS; k++)
        sum += s->lost[k];
    fmt_an(&s->analyzer, a, sizeof(a));
    snprintf(row, cap,
             "intercept mid=%u sid=%u analyzer=%s packets=%llu bytes=%llu lost=%llu "
             "lost-source=%llu lost-send=%llu lost-unreachable=%llu lost-snapped=%llu "
             "lost-other=%llu fragmented=%llu split=%llu unsplit=%llu",
             (unsigned)s->mirror_id, (unsigned)s->session_id, a, (unsigned long long)s->packets,
             (unsigned long long)s->bytes, (unsigned long long)sum,
             (unsigned long long)s->lost[MS_LOSS_SOURCE], (unsigned long long)s->lost[MS_LOSS_SEND],
             (unsigned long long)s->lost[MS_LOSS_UNREACH],
             (unsigned long long)s->lost[MS_LOSS_SNAPPED],
             (unsigned long long)s->lost[MS_LOSS_OTHER], (unsigned long long)s->fragmented,
             (unsigned long long)s->split, (unsigned long long)s->unsplit);
}

static void an_row(const struct ms_analyzer_stats *s, char *row, size_t cap)
{
    char a[64];
    fmt_an(&s->analyzer, a, sizeof(a));
    snprintf(row, cap,
             "analyzer %s state=%s packets=%llu bytes=%llu send-errors=%llu "
             "unreachable-errors=%llu lost-while-down=%llu fragmented=%llu outages=%llu "
             "path-mtu=%u",
             a, s->down ? "down" : "up", (unsigned long long)s->packets,
             (unsigned long long)s->bytes, (unsigned long long)s->send_errors,
             (unsigned long long)s->unreachable_errors, (unsigned long long)s->lost_while_down,
             (unsigned long long)s->fragmented, (unsigned long long)s->outages, s->path_mtu);
}

size_t ms_list(const struct mir_stats *m, uint32_t offset, size_t max, char rows[][MS_ROW_MAX],
               int *more)
{
    size_t n = 0;
    uint32_t seen = 0;
    if (more != NULL)
        *more = 0;
    for (uint32_t i = 0; i < MS_ICPT_MAX + MS_ANALYZER_MAX; i++) {
        int is_ic = i < MS_ICPT_MAX;
        if (is_ic ? !m->ic[i].used : !m->an[i - MS_ICPT_MAX].used)
            continue;
        if (seen++ < offset)
            continue;
        if (n == max) {
            if (more != NULL)
                *more = 1;
            break;
        }
        if (is_ic)
            icpt_row(&m->ic[i].s, rows[n++], MS_ROW_MAX);
        else
            an_row(&m->an[i - MS_ICPT_MAX].s, rows[n++], MS_ROW_MAX);
    }
    return n;
}

size_t ms_count_icpt(const struct mir_stats *m)
{
    return MS_ICPT_MAX - m->nfree_ic;
}

size_t ms_count_analyzers(const struct mir_stats *m)
{
    return MS_ANALYZER_MAX - m->nfree_an;
}

uint64_t ms_unattributed(const struct mir_stats *m)
{
    return m->unattributed;
}

void ms_totals(const struct mir_stats *m, uint64_t lost[MS_LOSS_KINDS], uint64_t *fragmented,
               uint64_t *split, uint64_t *unsplit, uint64_t *outages)
{
    memcpy(lost, m->tot_lost, sizeof(m->tot_lost));
    *fragmented = m->tot_fragmented;
    *split = m->tot_split;
    *unsplit = m->tot_unsplit;
    *outages = m->tot_outages;
}
