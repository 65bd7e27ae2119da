/*
 * slog_ring.c - the volatile secure log ring (see slog_ring.h).
 *
 * Layout: one anonymous private mapping of capacity slots, each
 *   [ seq | timespec | len | text[entry_max] ]  rounded up to 16 bytes,
 * the mapping rounded up to whole pages.  The control block (indices,
 * counters, mutex) is on the heap: it holds no entry bytes.
 *
 * Invariant: a slot that holds no entry is all zero bytes, and in a slot
 * that holds one every byte after the text's NUL is zero.  mmap() gives
 * zero pages; eviction and clear restore zero with OPENSSL_cleanse();
 * truncation zeroes what vsnprintf() wrote past the UTF-8 boundary.
 */
#include "pmirrord/slog_ring.h"
#include "pmirrord/securemem.h"
#include "slog_ring_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/crypto.h>

struct slot {
    uint64_t seq;
    struct timespec ts;
    uint32_t len; /* strlen(text) */
    char text[];  /* entry_max bytes */
};

struct slog_ring {
    pthread_mutex_t mtx;
    unsigned char *mem; /* the mapping */
    size_t memlen;      /* page-rounded */
    size_t stride;      /* bytes per slot */
    size_t capacity;
    size_t entry_max;
    size_t head;  /* next slot to write */
    size_t count; /* live entries */
    uint64_t next_seq;
    uint64_t overflows;
};

#define SLOT_ALIGN 16

static struct slot *slot_at(const struct slog_ring *r, size_t i)
{
    return (struct slot *)(void *)(r->mem + i * r->stride);
}

/*
 * Length of the longest prefix of s[0..len) that does not end inside a
 * UTF-8 sequence.  Only the tail is inspected: a lead byte whose sequence
 * is incomplete is dropped with its continuation bytes.  Bytes that are not
 * UTF-8 at all are kept as they are.
 */
static size_t utf8_trim(const unsigned char *s, size_t len)
{
    size_t i = len, cont = 0;
    while (i > 0 && cont < 4 && (s[i - 1] & 0xC0) == 0x80) {
        i--;
        cont++;
    }
    if (i == 0)
        return len;
    unsigned char lead = s[i - 1];
    size_t need;
    if (lead < 0x80)
        need = 1;
    else if ((lead & 0xE0) == 0xC0)
        need = 2;
    else if ((lead & 0xF0) == 0xE0)
        need = 3;
    else if ((lead & 0xF8) == 0xF0)
        need = 4;
    else
        return len;
    return cont + 1 < need ? i - 1 : len;
}

struct slog_ring *slog_ring_new(size_t capacity, size_t entry_max, char *err, size_t errlen)
{
    if (capacity < 1 || capacity > SLOG_RING_MAX_CAPACITY) {
        snprintf(err, errlen, "secure log capacity %zu out of range 1..%d", capacity,
                 SLOG_RING_MAX_CAPACITY);
        return NULL;
    }
    if (entry_max < 2 || entry_max > SLOG_RING_MAX_ENTRY) {
        snprintf(err, errlen, "secure log entry size %zu out of range 2..%d", entry_max,
                 SLOG_RING_MAX_ENTRY);
        return NULL;
    }
    long pg = sysconf(_SC_PAGESIZE);
    size_t page = pg > 0 ? (size_t)pg : 4096;
    size_t stride = (sizeof(struct slot) + entry_max + SLOT_ALIGN - 1) & ~(size_t)(SLOT_ALIGN - 1);
    size_t memlen = (capacity * stride + page - 1) / page * page; /* bounded by the checks */

    struct slog_ring *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        snprintf(err, errlen, "secure log: out of memory");
        return NULL;
    }
    void *mem = pm_secure_alloc(memlen, "secure log", err, errlen);
    if (mem == NULL) {
        free(r);
        return NULL;
    }
    int rc = pthread_mutex_init(&r->mtx, NULL);
    if (rc != 0) {
        snprintf(err, errlen, "secure log: pthread_mutex_init: %s", strerror(rc));
        pm_secure_free(mem, memlen);
        free(r);
        return NULL;
    }
    r->mem = mem;
    r->memlen = memlen;
    r->stride = stride;
    r->capacity = capacity;
    r->entry_max = entry_max;
    r->next_seq = 1;
    return r;
}

void slog_ring_free(struct slog_ring *r)
{
    if (r == NULL)
        return;
    pm_secure_free(r->mem, r->memlen); /* zeroised, unlocked, unmapped */
    pthread_mutex_destroy(&r->mtx);
    free(r);
}

/* Lock held.  Returns the slot for a new entry, evicting the oldest. */
static struct slot *take_slot(struct slog_ring *r)
{
    struct slot *s = slot_at(r, r->head);
    if (r->count == r->capacity) {
        OPENSSL_cleanse(s, r->stride);
        r->overflows++;
    } else {
        r->count++;
    }
    r->head = (r->head + 1) % r->capacity;
    s->seq = r->next_seq++;
    clock_gettime(CLOCK_REALTIME, &s->ts);
    return s;
}

void slog_ring_append(struct slog_ring *r, const char *text)
{
    pthread_mutex_lock(&r->mtx);
    struct slot *s = take_slot(r);
    size_t n = strnlen(text, r->entry_max);
    if (n >= r->entry_max)
        n = utf8_trim((const unsigned char *)text, r->entry_max - 1);
    memcpy(s->text, text, n);
    s->text[n] = '\0';
    s->len = (uint32_t)n;
    pthread_mutex_unlock(&r->mtx);
}

void slog_ring_appendf(struct slog_ring *r, const char *fmt, ...)
{
    va_list ap;
    pthread_mutex_lock(&r->mtx);
    struct slot *s = take_slot(r);
    va_start(ap, fmt);
    int n = vsnprintf(s->text, r->entry_max, fmt, ap);
    va_end(ap);
    size_t len;
    if (n < 0) {
        /* Encoding error: whatever was written goes. */
        OPENSSL_cleanse(s->text, r->entry_max);
        len = 0;
    } else if ((size_t)n >= r->entry_max) {
        len = utf8_trim((const unsigned char *)s->text, r->entry_max - 1);
        OPENSSL_cleanse(s->text + len, r->entry_max - len); /* keeps the invariant */
    } else {
        len = (size_t)n;
    }
    s->len = (uint32_t)len;
    pthread_mutex_unlock(&r->mtx);
}

size_t slog_ring_count(const struct slog_ring *r)
{
    struct slog_ring *w = (struct slog_ring *)r;
    pthread_mutex_lock(&w->mtx);
    size_t n = w->count;
    pthread_mutex_unlock(&w->mtx);
    return n;
}

size_t slog_ring_capacity(const struct slog_ring *r)
{
    return r->capacity; /* immutable */
}

size_t slog_ring_entry_max(const struct slog_ring *r)
{
    return r->entry_max; /* immutable */
}

uint64_t slog_ring_overflows(const struct slog_ring *r)
{
    struct slog_ring *w = (struct slog_ring *)r;
    pthread_mutex_lock(&w->mtx);
    uint64_t n = w->overflows;
    pthread_mutex_unlock(&w->mtx);
    return n;
}

void slog_ring_clear(struct slog_ring *r)
{
    pthread_mutex_lock(&r->mtx);
    OPENSSL_cleanse(r->mem, r->memlen);
    r->head = 0;
    r->count = 0;
    r->overflows = 0;
    pthread_mutex_unlock(&r->mtx);
}

void slog_ring_foreach(struct slog_ring *r, slog_visit_fn fn, void *arg)
{
    pthread_mutex_lock(&r->mtx);
    size_t i = (r->head + r->capacity - r->count) % r->capacity;
    for (size_t k = 0; k < r->count; k++) {
        const struct slot *s = slot_at(r, i);
        if (fn(s->seq, &s->ts, s->text, arg) != 0)
            break;
        i = (i + 1) % r->capacity;
    }
    pthread_mutex_unlock(&r->mtx);
}

const void *slog_ring_mem(const struct slog_ring *r, size_t *len)
{
    *len = r->memlen;
    return r->mem;
}
