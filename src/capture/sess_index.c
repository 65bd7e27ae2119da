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

/*
 * The two tables differ only in their key's width, their slot function and
 * their load (ix8_reserve, ix16_reserve), so one definition makes both:
 * IX_TABLE(ix8, slot8, uint32_t) and IX_TABLE(ix16, slot16, uint64_t).
 */
#define IX_TABLE(IX, SLOT, KEY)                                                                    \
    void IX##_free(struct IX *x)                                                                   \
    {                                                                                              \
        if (x->bits != 0)                                                                          \
            munmap(x->s, IX##_bytes(x));                                                           \
        x->s = NULL;                                                                               \
        x->bits = 0;                                                                               \
    }                                                                                              \
                                                                                                   \
    size_t IX##_bytes(const struct IX *x)                                                          \
    {                                                                                              \
        return x->bits != 0 ? sizeof(struct SLOT) << x->bits : 0;                                  \
    }                                                                                              \
                                                                                                   \
    /* From an empty slot on, so that no run is cut at the table's end and                         \
     * entries of one key keep their order. */                                                     \
    static int IX##_resize(struct IX *x, unsigned bits)                                            \
    {                                                                                              \
        struct SLOT *ns = map_zero(sizeof(*ns) << bits);                                           \
        if (ns == NULL)                                                                            \
            return -1;                                                                             \
        struct IX nx = *x;                                                                         \
        nx.s = ns;                                                                                 \
        nx.bits = bits;                                                                            \
        uint32_t mask = (1u << bits) - 1;                                                          \
        size_t cap = x->bits != 0 ? (size_t)1 << x->bits : 0, start = 0;                           \
        while (start < cap && x->s[start].v != 0)                                                  \
            start++;                                                                               \
        for (size_t j = 0; j < cap; j++) {                                                         \
            size_t i = (start + j) & (cap - 1);                                                    \
            if (x->s[i].v == 0)                                                                    \
                continue;                                                                          \
            uint32_t pos = IX##_pos(&nx, x->s[i].k);                                               \
            while (ns[pos].v != 0)                                                                 \
                pos = (pos + 1) & mask;                                                            \
            ns[pos] = x->s[i];                                                                     \
        }                                                                                          \
        IX##_free(x);                                                                              \
        *x = nx;                                                                                   \
        return 0;                                                                                  \
    }                                                                                              \
                                                                                                   \
    /* Backward-shift deletion of slot i: each later entry of the run moves back                   \
     * into the hole unless its home slot lies after the hole. */                                  \
    static void IX##_del_at(struct IX *x, uint32_t i)                                              \
    {                                                                                              \
        uint32_t mask = (1u << x->bits) - 1, j = i;                                                \
        for (;;) {                                                                                 \
            j = (j + 1) & mask;                                                                    \
            if (x->s[j].v == 0)                                                                    \
                break;                                                                             \
            uint32_t home = IX##_pos(x, x->s[j].k);                                                \
            if (((j - home) & mask) >= ((j - i) & mask)) {                                         \
                x->s[i] = x->s[j];                                                                 \
                i = j;                                                                             \
            }                                                                                      \
        }                                                                                          \
        x->s[i].k = 0;                                                                             \
        x->s[i].v = 0;                                                                             \
        x->count--;                                                                                \
    }                                                                                              \
                                                                                                   \
    void IX##_put(struct IX *x, KEY k, uint32_t v)                                                 \
    {                                                                                              \
        uint32_t mask = (1u << x->bits) - 1, pos = IX##_pos(x, k);                                 \
        while (x->s[pos].v != 0)                                                                   \
            pos = (pos + 1) & mask;                                                                \
        x->s[pos].k = k;                                                                           \
        x->s[pos].v = v;                                                                           \
        x->count++;                                                                                \
    }                                                                                              \
                                                                                                   \
    void IX##_del(struct IX *x, KEY k, uint32_t v)                                                 \
    {                                                                                              \
        if (x->bits == 0)                                                                          \
            return;                                                                                \
        uint32_t mask = (1u << x->bits) - 1;                                                       \
        for (uint32_t pos = IX##_pos(x, k); x->s[pos].v != 0; pos = (pos + 1) & mask)              \
            if (x->s[pos].k == k && x->s[pos].v == v)                                              \
                return IX##_del_at(x, pos);                                                        \
    }

IX_TABLE(ix8, slot8, uint32_t)
IX_TABLE(ix16, slot16, uint64_t)

/* Growth past 3/4 load for 32-bit keys, 1/2 for the IPv6 tables (sess_index.h). */
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
