/*
 * test_slog_ring.c - the secure log ring (src/slog/slog_ring.c) and process
 * hardening (src/slog/securemem.c).
 *
 * Usage: test_slog_ring [capacity]   (default SLOG_RING_DEFAULT_CAPACITY)
 */
#include "pmirrord/securemem.h"
#include "pmirrord/slog_ring.h"

#include <errno.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "slog/slog_ring_priv.h"

static size_t opt_capacity = SLOG_RING_DEFAULT_CAPACITY;

static struct slog_ring *new_ring(size_t cap, size_t emax)
{
    char err[256] = "";
    struct slog_ring *r = slog_ring_new(cap, emax, err, sizeof(err));
    if (r == NULL)
        fprintf(stderr, "slog_ring_new(%zu, %zu): %s\n", cap, emax, err);
    CHECK(r != NULL);
    return r;
}

/* ---- collecting entries through foreach ---- */

#define MAXCOL 256

struct collect {
    size_t n;
    size_t stop_after; /* 0: never */
    uint64_t seq[MAXCOL];
    char text[MAXCOL][128];
    struct timespec ts[MAXCOL];
};

static int collect_fn(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    struct collect *c = arg;
    if (c->n == MAXCOL)
        return 1;
    c->seq[c->n] = seq;
    c->ts[c->n] = *ts;
    snprintf(c->text[c->n], sizeof(c->text[0]), "%s", text);
    c->n++;
    return c->stop_after != 0 && c->n >= c->stop_after;
}

static size_t nonzero_bytes(const struct slog_ring *r)
{
    size_t len, n = 0;
    const unsigned char *m = slog_ring_mem(r, &len);
    for (size_t i = 0; i < len; i++)
        n += m[i] != 0;
    return n;
}

static int mem_contains_n(const struct slog_ring *r, const void *s, size_t n)
{
    size_t len;
    const void *m = slog_ring_mem(r, &len);
    return memmem(m, len, s, n) != NULL;
}

static int mem_contains(const struct slog_ring *r, const char *s)
{
    return mem_contains_n(r, s, strlen(s));
}

/* ---- tests ---- */

static void test_args(void)
{
    char err[256] = "";
    CHECK(slog_ring_new(0, 256, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "capacity") != NULL);
    CHECK(slog_ring_new(10, 1, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "entry size") != NULL);
    CHECK(slog_ring_new(SLOG_RING_MAX_CAPACITY + 1, 256, err, sizeof(err)) == NULL);
}

/* The (capacity+1)th entry evicts the oldest. */
static void test_evict(size_t cap)
{
    struct slog_ring *r = new_ring(cap, SLOG_RING_DEFAULT_ENTRY_MAX);
    CHECK(slog_ring_capacity(r) == cap);
    CHECK(slog_ring_count(r) == 0);
    for (size_t i = 1; i <= cap; i++)
        slog_ring_appendf(r, "entry %zu", i);
    CHECK(slog_ring_count(r) == cap);
    CHECK(slog_ring_overflows(r) == 0);

    slog_ring_appendf(r, "entry %zu", cap + 1);
    CHECK(slog_ring_count(r) == cap);
    CHECK(slog_ring_overflows(r) == 1);

    struct collect *c = calloc(1, sizeof(*c));
    CHECK(c != NULL);
    slog_ring_foreach(r, collect_fn, c);
    CHECK(c->n == (cap < MAXCOL ? cap : MAXCOL));
    for (size_t k = 0; k < c->n; k++) {
        char want[64];
        snprintf(want, sizeof(want), "entry %zu", k + 2); /* entry 1 is gone */
        CHECK(c->seq[k] == k + 2);
        CHECK(strcmp(c->text[k], want) == 0);
        if (k > 0) {
            CHECK(c->ts[k].tv_sec > c->ts[k - 1].tv_sec ||
                  (c->ts[k].tv_sec == c->ts[k - 1].tv_sec &&
                   c->ts[k].tv_nsec >= c->ts[k - 1].tv_nsec));
        }
    }
    CHECK(c->ts[0].tv_sec > 1600000000); /* CLOCK_REALTIME, not monotonic */

    /* foreach stops when the callback says so */
    memset(c, 0, sizeof(*c));
    c->stop_after = 1;
    slog_ring_foreach(r, collect_fn, c);
    CHECK(c->n == 1);

    for (size_t i = 0; i < 2 * cap; i++)
        slog_ring_append(r, "more");
    CHECK(slog_ring_overflows(r) == 1 + 2 * cap);
    free(c);
    slog_ring_free(r);
}

static void test_capacity_one(void)
{
    struct slog_ring *r = new_ring(1, 64);
    struct collect c = {0};
    slog_ring_append(r, "first");
    slog_ring_append(r, "second");
    CHECK(slog_ring_count(r) == 1);
    CHECK(slog_ring_overflows(r) == 1);
    slog_ring_foreach(r, collect_fn, &c);
    CHECK(c.n == 1 && c.seq[0] == 2 && strcmp(c.text[0], "second") == 0);
    CHECK(!mem_contains(r, "first"));
    slog_ring_free(r);
}

static void test_truncation(void)
{
    /* entry_max 8: at most 7 bytes of text. */
    struct slog_ring *r = new_ring(4, 8);
    struct collect c = {0};
    slog_ring_append(r, "abcdefghij");     /* plain ASCII: 7 bytes kept */
    slog_ring_append(r, "abcde\xc3\xa9z"); /* "abcdeéz": é ends at byte 7, fits */
    slog_ring_append(r, "abcdef\xc3\xa9"); /* é would straddle byte 7: dropped */
    slog_ring_appendf(r, "%s%s", "abcde", "\xe2\x82\xac!"); /* € would straddle: dropped */
    slog_ring_foreach(r, collect_fn, &c);
    CHECK(c.n == 4);
    CHECK(strcmp(c.text[0], "abcdefg") == 0);
    CHECK(strcmp(c.text[1], "abcde\xc3\xa9") == 0);
    CHECK(strcmp(c.text[2], "abcdef") == 0);
    CHECK(strcmp(c.text[3], "abcde") == 0);
    /* the bytes vsnprintf wrote past the cut must not linger after the NUL */
    CHECK(mem_contains_n(r, "abcde\0\0\0", 8));
    CHECK(mem_contains_n(r, "abcdef\0\0", 8));
    slog_ring_free(r);

    /* 4-byte sequence: U+1F600 F0 9F 98 80, entry_max 6 keeps 5 bytes */
    r = new_ring(2, 6);
    memset(&c, 0, sizeof(c));
    slog_ring_appendf(r, "ab%s", "\xf0\x9f\x98\x80");
    slog_ring_appendf(r, "a%s", "\xf0\x9f\x98\x80");
    slog_ring_foreach(r, collect_fn, &c);
    CHECK(c.n == 2);
    CHECK(strcmp(c.text[0], "ab") == 0);
    CHECK(strcmp(c.text[1], "a\xf0\x9f\x98\x80") == 0);
    slog_ring_free(r);
}

static void test_appendf(void)
{
    struct slog_ring *r = new_ring(3, 128);
    struct collect c = {0};
    slog_ring_appendf(r, "mirror %u analyzer %s:%d user %s", 42u, "192.0.2.7", 1812, "bob@isp");
    slog_ring_foreach(r, collect_fn, &c);
    CHECK(c.n == 1);
    CHECK(strcmp(c.text[0], "mirror 42 analyzer 192.0.2.7:1812 user bob@isp") == 0);
    slog_ring_free(r);
}

#define MARKER "SUBSCRIBER-MARKER-7f3a9c-alice@example.net-10.11.12.13"

/* An overwritten entry leaves no trace; a clear leaves only zero bytes. */
static void test_zeroise(void)
{
    struct slog_ring *r = new_ring(4, 256);
    CHECK(nonzero_bytes(r) == 0);
    slog_ring_append(r, MARKER);
    slog_ring_append(r, "x");
    slog_ring_append(r, "y");
    slog_ring_append(r, "z");
    CHECK(mem_contains(r, MARKER)); /* the scan can see it */
    slog_ring_append(r, "w");       /* evicts the marker with a shorter entry */
    /* any 8-byte piece of the marker past the new entry's text */
    CHECK(!mem_contains(r, MARKER + 2));
    CHECK(!mem_contains(r, MARKER + sizeof(MARKER) - 9));

    slog_ring_append(r, MARKER);
    slog_ring_appendf(r, "%s", MARKER);
    CHECK(slog_ring_count(r) == 4);
    slog_ring_clear(r);
    CHECK(slog_ring_count(r) == 0);
    CHECK(slog_ring_overflows(r) == 0);
    CHECK(nonzero_bytes(r) == 0);

    /* usable after a clear; seq keeps increasing */
    struct collect c = {0};
    slog_ring_append(r, "after");
    slog_ring_foreach(r, collect_fn, &c);
    CHECK(c.n == 1 && c.seq[0] == 8 && strcmp(c.text[0], "after") == 0);
    slog_ring_free(r);
}

static long vm_lck_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof(line), f) != NULL)
        if (sscanf(line, "VmLck: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

/* VmFlags of the mapping that holds addr, or "" */
static void vm_flags(const void *addr, char *out, size_t outlen)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    CHECK(f != NULL);
    char line[512];
    int in = 0;
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2) {
            unsigned long a = (unsigned long)(uintptr_t)addr;
            in = lo <= a && a < hi;
            continue;
        }
        if (in && strncmp(line, "VmFlags:", 8) == 0) {
            snprintf(out, outlen, "%s", line + 8);
            break;
        }
    }
    fclose(f);
}

static void test_locked_dontdump(void)
{
    long before = vm_lck_kb();
    CHECK(before >= 0);
    struct slog_ring *r = new_ring(100, 1024); /* ~100 KiB */
    long after = vm_lck_kb();
    CHECK(after - before >= 100);

    size_t len;
    const void *m = slog_ring_mem(r, &len);
    char flags[512];
    vm_flags(m, flags, sizeof(flags));
    CHECK(flags[0] != '\0');
    CHECK(strstr(flags, " dd") != NULL); /* VM_DONTDUMP */
    CHECK(strstr(flags, " lo") != NULL); /* VM_LOCKED */
    slog_ring_free(r);
    CHECK(vm_lck_kb() == before);
}

/*
 * RLIMIT_MEMLOCK only binds without CAP_IPC_LOCK, so run as "nobody" in a
 * child: a soft limit below the hard one is raised; a hard limit too small
 * gives NULL and an error naming the limit.
 */
static void test_memlock_limit(void)
{
    if (geteuid() != 0) {
        CHECK(getenv("CI") == NULL); /* CI runs as root and must not skip this */
        printf("memlock limit: skipped (not root)\n");
        return;
    }
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        struct rlimit rl = {64 * 1024, 4 * 1024 * 1024};
        CHECK(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
        CHECK(setgid(65534) == 0 && setuid(65534) == 0);
        char err[256] = "";
        /* ~1 MiB: needs the soft limit raised */
        struct slog_ring *r = slog_ring_new(1000, 1000, err, sizeof(err));
        if (r == NULL)
            fprintf(stderr, "child: %s\n", err);
        CHECK(r != NULL);
        CHECK(getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur > 64 * 1024);
        slog_ring_free(r);
        /* ~8 MiB: over the hard limit */
        r = slog_ring_new(8000, 1000, err, sizeof(err));
        CHECK(r == NULL);
        CHECK(strstr(err, "RLIMIT_MEMLOCK") != NULL);
        _exit(0);
    }
    int st;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_harden(void)
{
    char err[256] = "";
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 1);
    CHECK(pm_harden_process(err, sizeof(err)) == 0);
    CHECK(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_CORE, &rl) == 0);
    CHECK(rl.rlim_cur == 0 && rl.rlim_max == 0);
}

/* ---- threads ---- */

#define NTHREADS   4
#define PER_THREAD 10000

struct targ {
    struct slog_ring *r;
    int id;
    atomic_int *stop;
};

static void *writer(void *p)
{
    struct targ *a = p;
    for (int i = 0; i < PER_THREAD; i++)
        slog_ring_appendf(a->r, "t%d %d", a->id, i);
    return NULL;
}

static int check_order_fn(uint64_t seq, const struct timespec *ts, const char *text, void *arg)
{
    uint64_t *prev = arg;
    CHECK(seq > *prev);
    CHECK(text[0] == 't');
    *prev = seq;
    return 0;
}

static void *reader(void *p)
{
    struct targ *a = p;
    while (!*a->stop) {
        uint64_t prev = 0;
        slog_ring_foreach(a->r, check_order_fn, &prev);
        (void)slog_ring_count(a->r);
    }
    return NULL;
}

static void test_threads(void)
{
    struct slog_ring *r = new_ring(SLOG_RING_DEFAULT_CAPACITY, 64);
    pthread_t th[NTHREADS], rd;
    struct targ a[NTHREADS], ra;
    atomic_int stop = 0;
    ra.r = r;
    ra.id = -1;
    ra.stop = &stop;
    CHECK(pthread_create(&rd, NULL, reader, &ra) == 0);
    for (int i = 0; i < NTHREADS; i++) {
        a[i].r = r;
        a[i].id = i;
        a[i].stop = &stop;
        CHECK(pthread_create(&th[i], NULL, writer, &a[i]) == 0);
    }
    for (int i = 0; i < NTHREADS; i++)
        CHECK(pthread_join(th[i], NULL) == 0);
    stop = 1;
    CHECK(pthread_join(rd, NULL) == 0);

    size_t cap = SLOG_RING_DEFAULT_CAPACITY;
    CHECK(slog_ring_count(r) == cap);
    CHECK(slog_ring_overflows(r) == NTHREADS * PER_THREAD - cap);
    struct collect *c = calloc(1, sizeof(*c));
    CHECK(c != NULL);
    slog_ring_foreach(r, collect_fn, c);
    CHECK(c->n == cap);
    /* the last cap seqs, each once, in order; per thread, i increases */
    int last[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        last[i] = -1;
    for (size_t k = 0; k < c->n; k++) {
        CHECK(c->seq[k] == (uint64_t)(NTHREADS * PER_THREAD - cap + 1 + k));
        int t, i;
        CHECK(sscanf(c->text[k], "t%d %d", &t, &i) == 2);
        CHECK(t >= 0 && t < NTHREADS && i > last[t]);
        last[t] = i;
    }
    free(c);
    slog_ring_free(r);
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        char *end;
        unsigned long v = strtoul(argv[1], &end, 10);
        if (*end != '\0' || v == 0 || v > SLOG_RING_MAX_CAPACITY) {
            fprintf(stderr, "usage: %s [capacity 1..%d]\n", argv[0], SLOG_RING_MAX_CAPACITY);
            return 2;
        }
        opt_capacity = v;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    test_args();
    test_evict(opt_capacity);
    test_evict(1);
    test_evict(7);
    test_capacity_one();
    test_truncation();
    test_appendf();
    test_zeroise();
    test_locked_dontdump();
    test_memlock_limit();
    test_threads();
    test_harden(); /* last: irreversible */
    printf("test_slog_ring: all passed (capacity %zu)\n", opt_capacity);
    return 0;
}
