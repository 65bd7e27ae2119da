/*
 * free_watch.h - lets a unit test see a heap block as it is at the moment it
 * is freed, to check that secrets and subscriber data were wiped first.
 * Include it in one test program only: without AddressSanitizer it defines
 * free() and realloc() itself (glibc's are reached as __libc_free and
 * __libc_realloc).
 *
 *   free_watch_start("needle");  ...code under test...  free_watch_stop();
 *   CHECK(!free_watch_seen());   -- no freed block contained "needle"
 *
 * With AddressSanitizer the allocator calls a hook just before it frees a
 * block (__sanitizer_install_malloc_and_free_hooks).
 */
#ifndef PMIRRORD_TESTS_FREE_WATCH_H
#define PMIRRORD_TESTS_FREE_WATCH_H

#include <stddef.h>
#include <string.h>

static const void *fw_needle;
static size_t fw_needle_len;
static int fw_seen;

static void fw_check(const void *p, size_t n)
{
    if (fw_needle == NULL || p == NULL)
        return;
    const unsigned char *b = p;
    for (size_t i = 0; i + fw_needle_len <= n; i++)
        if (memcmp(b + i, fw_needle, fw_needle_len) == 0)
            fw_seen = 1;
}

#if defined(__SANITIZE_ADDRESS__)
/* sanitizer/allocator_interface.h (not shipped with Debian's gcc 12) */
int __sanitizer_install_malloc_and_free_hooks(void (*m)(const volatile void *, size_t),
                                              void (*f)(const volatile void *));
size_t __sanitizer_get_allocated_size(const volatile void *p);
static void fw_on_free(const volatile void *p)
{
    fw_check((const void *)p, __sanitizer_get_allocated_size(p));
}
static void fw_on_malloc(const volatile void *p, size_t n)
{
}
static void fw_install(void)
{
    __sanitizer_install_malloc_and_free_hooks(fw_on_malloc, fw_on_free);
}
#else
#include <malloc.h>
extern void *__libc_malloc(size_t n);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);
void free(void *p)
{
    if (p != NULL)
        fw_check(p, malloc_usable_size(p));
    __libc_free(p);
}
/* glibc's realloc() frees a moved block internally, not through free(). */
void *realloc(void *p, size_t n)
{
    if (p == NULL || fw_needle == NULL)
        return __libc_realloc(p, n);
    size_t old = malloc_usable_size(p);
    unsigned char *copy = __libc_malloc(old);
    if (copy != NULL)
        memcpy(copy, p, old);
    void *q = __libc_realloc(p, n);
    if (copy != NULL) {
        if (q != NULL && q != p)
            fw_check(copy, old);
        memset(copy, 0, old);
        __libc_free(copy);
    }
    return q;
}
static void fw_install(void)
{
}
#endif

/* Watch for blocks freed with these bytes in them. */
static inline void free_watch_bytes(const void *needle, size_t len)
{
    fw_install();
    fw_needle_len = len;
    fw_needle = needle;
    fw_seen = 0;
}

static inline void free_watch_start(const char *needle)
{
    free_watch_bytes(needle, strlen(needle));
}

static inline void free_watch_stop(void)
{
    fw_needle = NULL;
}

static inline int free_watch_seen(void)
{
    return fw_seen;
}

#endif
