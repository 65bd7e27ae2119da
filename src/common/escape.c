/*
 * escape.c - see escape.h.
 */
#include "pmirrord/escape.h"

#include <stdio.h>

static void put(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++, (*n)++)
        if (*n + 1 < outlen)
            out[*n] = s[i];
}

size_t pm_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
    size_t n = 0;
    char hex[16];
    for (size_t i = 0; i < inlen; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == '"' || c == '\\') {
            hex[0] = '\\';
            hex[1] = (char)c;
            put(out, outlen, &n, hex, 2);
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(hex, sizeof(hex), "\\x%02x", c);
            put(out, outlen, &n, hex, 4);
        } else if (c == 0xc2 && i + 1 < inlen && (unsigned char)in[i + 1] >= 0x80 &&
                   (unsigned char)in[i + 1] <= 0x9f) {
            snprintf(hex, sizeof(hex), "\\xc2\\x%02x", (unsigned char)in[i + 1]);
            put(out, outlen, &n, hex, 8);
            i++;
        } else {
            put(out, outlen, &n, (const char *)&in[i], 1);
        }
    }
    if (outlen > 0)
        out[n < outlen ? n : outlen - 1] = '\0';
    return n;
}
