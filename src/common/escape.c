/*
 * escape.c - see escape.h.
 */
#include "pmirrord/escape.h"

#include <stdio.h>

/*
 * Length of the UTF-8 encoding at in[0..len) of a character that changes the
 * order or the visibility of what a terminal shows (Unicode TR #9 bidi controls,
 * zero-width and invisible format characters, line and paragraph separators;
 * CVE-2021-42574 "Trojan Source"), or 0:
 *   U+061C                 D8 9C
 *   U+200B..U+200F         E2 80 8B..8F
 *   U+2028..U+202E         E2 80 A8..AE
 *   U+2060..U+2064         E2 81 A0..A4
 *   U+2066..U+2069         E2 81 A6..A9
 *   U+FEFF                 EF BB BF
 */
static size_t invisible_len(const unsigned char *in, size_t len)
{
    if (len >= 2 && in[0] == 0xd8 && in[1] == 0x9c)
        return 2;
    if (len < 3)
        return 0;
    if (in[0] == 0xe2 && in[1] == 0x80 &&
        ((in[2] >= 0x8b && in[2] <= 0x8f) || (in[2] >= 0xa8 && in[2] <= 0xae)))
        return 3;
    if (in[0] == 0xe2 && in[1] == 0x81 &&
        ((in[2] >= 0xa0 && in[2] <= 0xa4) || (in[2] >= 0xa6 && in[2] <= 0xa9)))
        return 3;
    if (in[0] == 0xef && in[1] == 0xbb && in[2] == 0xbf)
        return 3;
    return 0;
}

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
        size_t inv = c >= 0xd8 ? invisible_len((const unsigned char *)in + i, inlen - i) : 0;
        if (inv > 0) {
            for (size_t k = 0; k < inv; k++) {
                snprintf(hex, sizeof(hex), "\\x%02x", (unsigned char)in[i + k]);
                put(out, outlen, &n, hex, 4);
            }
            i += inv - 1;
        } else if (c == '"' || c == '\\') {
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
