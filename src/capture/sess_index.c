/*
 * sess_index.c - open-addressing hash tables for the session table's
 * indexes (sess_index.h).
 */
#include "sess_index.h"

#include <sys/mman.h>

#define IX_MIN_BITS 8

static void *map_zero(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* Table size for n entries at no more than num/4 load, never smaller than now. */
static unsigned bits_for(unsigned bits, size_t n, unsigned num)
{
    if (bits < IX_MIN_BITS)
        bits = IX_MIN_BITS;
    while (n * 4 > ((size_t)num << bits))
        bits++;
    return bits;
}

static int ix8_resize(struct ix8 *x, unsigned bits)
{
    struct slot8 *ns = map_zero(sizeof(*ns) << bits);
    if (ns == NULL)
        return -1;
    struct ix8 nx = *x;
    nx.s = ns;
    nx.bits = bits;
    uint32_t mask = (1u << bits) - 1;
    for (size_t i = 0; x->bits != 0 && i < ((size_t)1 << x->bits); i++) {
        if (x->s[i].v == 0)
            continue;
        uint32_t pos = ix8_pos(&nx, x->s[i].k);
        while (ns[pos].v != 0)
            pos = (pos + 1) & mask;
        ns[pos] = x->s[i];
    }
    ix8_free(x);
    *x = nx;
    return 0;
}

static int ix16_resize(struct ix16 *x, unsigned bits)
{
    struct slot16 *ns = map_zero(sizeof(*ns) << bits);
    if (ns == NULL)
        return -1;
    struct ix16 nx = *x;
    nx.s = ns;
    nx.bits = bits;
    uint32_t mask = (1u << bits) - 1;
    for (size_t i = 0; x->bits != 0 && i < ((size_t)1 << x->bits); i++) {
        if (x->s[i].v == 0)
            continue;
        uint32_t pos = ix16_pos(&nx, x->s[i].k);
        while (ns[pos].v != 0)
            pos = (pos + 1) & mask;
        ns[pos] = x->s[i];
    }
    ix16_free(x);
    *x = nx;
    return 0;
}

int ix8_reserve(struct ix8 *x, size_t extra)
{
    unsigned b = bits_for(x->bits, x->count + extra, 3);
    return b == x->bits ? 0 : ix8_resize(x, b);
}

int ix16_reserve(struct ix16 *x, size_t extra)
{
    unsigned b = bits_for(x->bits, x->count + extra, 2);
    return b == x->bits ? 0 : ix16_resize(x, b);
}

/* Backward-shift deletion of slot i: each later entry of the run moves back
 * into the hole unless its home slot lies after the hole. */
static void ix8_del_at(struct ix8 *x, uint32_t i)
{
    uint32_t mask = (1u << x->bits) - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (x->s[j].v == 0)
            break;
        uint32_t home = ix8_pos(x, x->s[j].k);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            x->s[i] = x->s[j];
            i = j;
        }
    }
    x->s[i].k = 0;
    x->s[i].v = 0;
    x->count--;
}

static void ix16_del_at(struct ix16 *x, uint32_t i)
{
    uint32_t mask = (1u << x->bits) - 1, j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (x->s[j].v == 0)
            break;
        uint32_t home = ix16_pos(x, x->s[j].k);
        if (((j - home) & mask) >= ((j - i) & mask)) {
            x->s[i] = x->s[j];
            i = j;
        }
    }
    x->s[i].k = 0;
    x->s[i].v = 0;
    x->count--;
}

void ix8_put(struct ix8 *x, uint32_t k, uint32_t v)
{
    uint32_t mask = (1u << x->bits) - 1, pos = ix8_pos(x, k);
    while (x->s[pos].v != 0)
        pos = (pos + 1) & mask;
    x->s[pos].k = k;
    x->s[pos].v = v;
    x->count++;
}

void ix16_put(struct ix16 *x, uint64_t k, uint32_t v)
{
    uint32_t mask = (1u << x->bits) - 1, pos = ix16_pos(x, k);
    while (x->s[pos].v != 0)
        pos = (pos + 1) & mask;
    x->s[pos].k = k;
    x->s[pos].v = v;
    x->count++;
}

void ix8_del(struct ix8 *x, uint32_t k, uint32_t v)
{
    if (x->bits == 0)
        return;
    uint32_t mask = (1u << x->bits) - 1;
    for (uint32_t pos = ix8_pos(x, k); x->s[pos].v != 0; pos = (pos + 1) & mask)
        if (x->s[pos].k == k && x->s[pos].v == v)
            return ix8_del_at(x, pos);
}

void ix16_del(struct ix16 *x, uint64_t k, uint32_t v)
{
    if (x->bits == 0)
        return;
    uint32_t mask = (1u << x->bits) - 1;
    for (uint32_t pos = ix16_pos(x, k); x->s[pos].v != 0; pos = (pos + 1) & mask)
        if (x->s[pos].k == k && x->s[pos].v == v)
            return ix16_del_at(x, pos);
}

void ix8_free(struct ix8 *x)
{
    if (x->bits != 0)
        munmap(x->s, ix8_bytes(x));
    x->s = NULL;
    x->bits = 0;
}

void ix16_free(struct ix16 *x)
{
    if (x->bits != 0)
        munmap(x->s, ix16_bytes(x));
    x->s = NULL;
    x->bits = 0;
}

size_t ix8_bytes(const struct ix8 *x)
{
    return x->bits != 0 ? sizeof(struct slot8) << x->bits : 0;
}

size_t ix16_bytes(const struct ix16 *x)
{
    return x->bits != 0 ? sizeof(struct slot16) << x->bits : 0;
}
