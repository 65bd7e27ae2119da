/*
 * cap_exclude.c - the BPF expression of the data path's own datagrams
 * (cap_exclude.h), set on the sources that carry static mirrors.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "pmirrord/cap_exclude.h"
#include "pmirrord/errbuf.h"

static int same_addr(const struct trig_analyzer *a, const struct trig_analyzer *b)
{
    return a->family == b->family && memcmp(a->addr, b->addr, a->family == 4 ? 4 : 16) == 0;
}

/* Appends the formatted text; 0, or -1 when out is full. */
__attribute__((format(printf, 4, 5))) static int put(char *out, size_t outlen, size_t *len,
                                                     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(out + *len, outlen - *len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= outlen - *len)
        return -1;
    *len += (size_t)k;
    return 0;
}

int cx_build(const struct cx_dest *d, size_t n, char *out, size_t outlen, char *err, size_t errlen)
{
    size_t len = 0;
    char a[INET6_ADDRSTRLEN];
    if (outlen == 0)
        return pm_err(err, errlen, "no room for the exclusion");
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const struct cx_dest *x = &d[i];
        int v6 = x->an.family == 6;
        if ((x->an.family != 4 && !v6) || x->sport == 0 ||
            inet_ntop(v6 ? AF_INET6 : AF_INET, x->an.addr, a, sizeof(a)) == NULL)
            continue;
        int dup = 0, frag_said = 0;
        for (size_t j = 0; j < i && !dup; j++) {
            if (!same_addr(&d[j].an, &x->an) || d[j].sport == 0)
                continue;
            frag_said = 1;
            dup = d[j].an.port == x->an.port && d[j].sport == x->sport;
        }
        if (dup)
            continue;
        if (len > 0 && put(out, outlen, &len, " or ") < 0)
            goto full;
        if (put(out, outlen, &len, "(%sudp and dst host %s and dst port %u and src port %u)",
                v6 ? "ip6 and " : "", a, (unsigned)x->an.port, (unsigned)x->sport) < 0)
            goto full;
        if (frag_said)
            continue;
        if (v6 ? put(out, outlen, &len, " or (ip6 and dst host %s and ip6[6] == 44)", a)
               : put(out, outlen, &len, " or (ip and dst host %s and ip[6:2] & 0x1fff != 0)", a))
            goto full;
    }
    return 0;
full:
    out[0] = '\0';
    return pm_err(err, errlen, "the exclusion of %zu analyzers does not fit in %zu octets", n,
                  outlen);
}
