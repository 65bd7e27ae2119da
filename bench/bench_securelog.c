/*
 * bench_securelog.c - cost of one secure log append (src/slog/slog_ring.c).
 *
 * Goal: median and p99 per append <= 1 us, with a full ring so
 * every append evicts and zeroises the oldest entry.
 *
 * Each case runs N appends of ~200-byte entries into a full 100-entry ring,
 * timed two ways with CLOCK_MONOTONIC:
 *   batch  - batches of BATCH appends, time / BATCH: per-entry cost with the
 *            timer's own cost amortised;
 *   single - every append timed alone: the real tail (p99), but each sample
 *            includes one clock_gettime() (see the "timer" row).
 * Baselines, same run, same text: snprintf()/memcpy() into a static
 * 100 x 256 array, no lock, no zeroise.  CPU time is getrusage() user+sys
 * over the case divided by the number of appends.
 *
 * Usage: bench_securelog [appends]   (default 200000)
 */
#include "pmirrord/slog_ring.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define CAP       SLOG_RING_DEFAULT_CAPACITY
#define ENTRY_MAX SLOG_RING_DEFAULT_ENTRY_MAX
#define BATCH     100
#define GOAL_NS   1000.0

/* ~200 bytes once formatted, like a "show mirror log" line. */
#define FMT                                                                                        \
    "mirror %u started: trigger radius acct-session-id %08x user %s calling-station %s "           \
    "nas-port %u analyzer %s:%u intercept-id %u header jmirror "                                   \
    "dscp %u"
#define ARGS(i)                                                                                    \
    (unsigned)(i), (unsigned)(i)*2654435761u, "alice.subscriber@broadband.example.net",            \
        "00-11-22-33-44-55", (unsigned)(i) % 4096, "192.0.2.17", 30030u, 100000u + (unsigned)(i),  \
        (unsigned)(i) % 64

static char base_slots[CAP][ENTRY_MAX];
static char pre_text[ENTRY_MAX];

enum kind { K_BASE_SNPRINTF, K_APPENDF, K_BASE_MEMCPY, K_APPEND, K_TIMER };

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void op(enum kind k, struct slog_ring *r, size_t i)
{
    switch (k) {
    case K_BASE_SNPRINTF:
        snprintf(base_slots[i % CAP], ENTRY_MAX, FMT, ARGS(i));
        break;
    case K_APPENDF:
        slog_ring_appendf(r, FMT, ARGS(i));
        break;
    case K_BASE_MEMCPY:
        memcpy(base_slots[i % CAP], pre_text, strlen(pre_text) + 1);
        break;
    case K_APPEND:
        slog_ring_append(r, pre_text);
        break;
    case K_TIMER:
        break;
    }
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double pct(double *v, size_t n, double p)
{
    qsort(v, n, sizeof(*v), cmp_dbl);
    size_t idx = (size_t)(p * (double)(n - 1) + 0.5);
    return v[idx];
}

static double cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e9 +
            (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e3);
}

struct result {
    double med, p99, cpu;
};

static struct result run(enum kind k, struct slog_ring *r, size_t n, int single, double *buf)
{
    struct result res;
    for (size_t i = 0; i < 10000; i++) /* warm caches, branch predictors */
        op(k, r, i);
    double c0 = cpu_ns();
    size_t ns = 0;
    if (single) {
        for (size_t i = 0; i < n; i++) {
            uint64_t t0 = now_ns();
            op(k, r, i);
            uint64_t t1 = now_ns();
            buf[ns++] = (double)(t1 - t0);
        }
    } else {
        for (size_t i = 0; i + BATCH <= n; i += BATCH) {
            uint64_t t0 = now_ns();
            for (size_t j = i; j < i + BATCH; j++)
                op(k, r, j);
            uint64_t t1 = now_ns();
            buf[ns++] = (double)(t1 - t0) / BATCH;
        }
    }
    res.cpu = (cpu_ns() - c0) / (double)n;
    res.med = pct(buf, ns, 0.50);
    res.p99 = pct(buf, ns, 0.99);
    return res;
}

int main(int argc, char **argv)
{
    size_t n = 200000;
    if (argc > 1)
        n = strtoul(argv[1], NULL, 10);
    if (n < 10 * BATCH) {
        fprintf(stderr, "usage: %s [appends >= %d]\n", argv[0], 10 * BATCH);
        return 2;
    }
    char err[256];
    struct slog_ring *r = slog_ring_new(CAP, ENTRY_MAX, err, sizeof(err));
    if (r == NULL) {
        fprintf(stderr, "bench_securelog: %s\n", err);
        return 1;
    }
    double *buf = malloc(n * sizeof(*buf));
    if (buf == NULL) {
        fprintf(stderr, "bench_securelog: out of memory\n");
        return 1;
    }
    int len = snprintf(pre_text, sizeof(pre_text), FMT, ARGS(123456));
    for (size_t i = 0; i < CAP; i++) /* full: every measured append evicts */
        slog_ring_append(r, pre_text);

    static const struct {
        enum kind k;
        enum kind base;
        const char *name;
    } cases[] = {
        {K_TIMER, K_TIMER, "timer (clock_gettime pair)"},
        {K_BASE_SNPRINTF, K_BASE_SNPRINTF, "baseline snprintf->static"},
        {K_APPENDF, K_BASE_SNPRINTF, "slog_ring_appendf"},
        {K_BASE_MEMCPY, K_BASE_MEMCPY, "baseline memcpy->static"},
        {K_APPEND, K_BASE_MEMCPY, "slog_ring_append"},
    };
    enum { NCASES = sizeof(cases) / sizeof(cases[0]) };
    struct result res[2][NCASES];

    printf("bench_securelog: %zu appends per case, entry %d bytes, ring %d x %d, batch %d\n", n,
           len, CAP, ENTRY_MAX, BATCH);
    printf("%-28s %-6s %10s %10s %9s %10s %s\n", "case", "timing", "median ns", "p99 ns", "x base",
           "cpu ns/op", "goal");
    int ok = 1;
    for (int single = 0; single <= 1; single++) {
        for (int c = 0; c < NCASES; c++) {
            if (cases[c].k == K_TIMER && !single)
                continue;
            res[single][c] = run(cases[c].k, r, n, single, buf);
        }
        for (int c = 0; c < NCASES; c++) {
            if (cases[c].k == K_TIMER && !single)
                continue;
            const struct result *x = &res[single][c];
            double bmed = 0;
            for (int b = 0; b < NCASES; b++)
                if (cases[b].k == cases[c].base)
                    bmed = res[single][b].med;
            const char *goal = "";
            if (cases[c].k == K_APPENDF || cases[c].k == K_APPEND) {
                int pass = x->med <= GOAL_NS && x->p99 <= GOAL_NS;
                goal = pass ? "ok (<= 1 us)" : "MISSED (> 1 us)";
                ok &= pass;
            }
            char ratio[16] = "-";
            if (cases[c].k != K_TIMER && bmed > 0)
                snprintf(ratio, sizeof(ratio), "%.2f", x->med / bmed);
            printf("%-28s %-6s %10.1f %10.1f %9s %10.1f %s\n", cases[c].name,
                   single ? "single" : "batch", x->med, x->p99, ratio, x->cpu, goal);
        }
    }
    printf("ring after run: count %zu, overflows %llu\n", slog_ring_count(r),
           (unsigned long long)slog_ring_overflows(r));
    free(buf);
    slog_ring_free(r);
    return ok ? 0 : 3;
}
