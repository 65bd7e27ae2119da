/*
 * escape.c - see escape.h.
 */
#include "pmirrord/escape.h"

#include <stdio.h>
#include <string.h>

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

/* One unit (an escape, a UTF-8 sequence, an octet) whole or not at all: a
 * result cut inside an escape would end in a lone backslash, which swallows
 * the quote a caller closes the value with.  *n counts what the whole result
 * needs.  Once a unit does not fit (*n + len >= outlen), *n stays at or past
 * outlen, so no later unit is written either: what out holds is a prefix,
 * NUL-terminated where the first unit that did not fit would have begun. */
static void put(char *out, size_t outlen, size_t *n, const char *s, size_t len)
{
    if (*n + len < outlen)
        memcpy(out + *n, s, len);
    else if (*n < outlen)
        out[*n] = '\0';
    *n += len;
}

/*
 * Length of the well-formed UTF-8 sequence at in[0..len) (RFC 3629 §4, Unicode
 * Table 3-7: no overlong forms, no surrogates U+D800..U+DFFF, nothing above
 * U+10FFFF), its code point in *cp; 0 if in[0] does not start one.
 */
static size_t utf8_len(const unsigned char *in, size_t len, unsigned *cp)
{
    unsigned c = in[0], lo = 0x80, hi = 0xbf;
    size_t n;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        *cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        *cp = c & 0x0f;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        *cp = c & 0x07;
        lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
    } else {
        return 0; /* a continuation byte, 0xc0/0xc1 (overlong), 0xf5..0xff */
    }
    if (len < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        unsigned b = in[k];
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
            return 0;
        *cp = *cp << 6 | (b & 0x3f);
    }
    return n;
}

static void put_hex(char *out, size_t outlen, size_t *n, const unsigned char *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t k = 0; k < len; k++) {
        char hex[4] = {'\\', 'x', digits[in[k] >> 4], digits[in[k] & 0xf]};
        put(out, outlen, n, hex, 4);
    }
}

static size_t escape(char *out, size_t outlen, const char *in, size_t inlen, int quotes)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t n = 0;
    for (size_t i = 0; i < inlen;) {
        unsigned cp;
        size_t l = utf8_len(u + i, inlen - i, &cp);
        if (l == 0) {
            put_hex(out, outlen, &n, u + i, 1); /* not UTF-8: a raw 0x9b is an 8-bit CSI */
            i++;
        } else if (quotes && (cp == '"' || cp == '\\')) {
            char e[2] = {'\\', (char)cp};
            put(out, outlen, &n, e, 2);
            i++;
        } else if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || invisible_len(u + i, l) == l) {
            put_hex(out, outlen, &n, u + i, l); /* C0, DEL, C1, bidi and invisible */
            i += l;
        } else {
            put(out, outlen, &n, in + i, l);
            i += l;
        }
    }
    if (outlen > 0 && n < outlen)
        out[n] = '\0';
    return n;
}

size_t pm_escape(char *out, size_t outlen, const char *in, size_t inlen)
{
    return escape(out, outlen, in, inlen, 1);
}

size_t pm_escape_text(char *out, size_t outlen, const char *in, size_t inlen)
{
    return escape(out, outlen, in, inlen, 0);
}
