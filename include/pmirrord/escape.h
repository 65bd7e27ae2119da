/*
 * escape.h - render untrusted octets (a subscriber's User-Name, a trigger) as
 * one printable line: '"' and '\' are backslash-escaped, C0 controls, DEL and
 * UTF-8-encoded C1 controls (U+0080..U+009F) become \xNN, and so do the octets
 * of bidi controls and invisible characters (U+061C, U+200B..U+200F,
 * U+2028..U+202E, U+2060..U+2064, U+2066..U+2069, U+FEFF); so does every octet
 * that is not part of well-formed UTF-8 (RFC 3629: overlong forms, surrogates,
 * code points above U+10FFFF, stray or truncated sequences, a raw 0x9b CSI); other
 * UTF-8 is kept.
 * What an operator's terminal shows can then never be driven or reordered by a
 * subscriber.
 */
#ifndef PMIRRORD_ESCAPE_H
#define PMIRRORD_ESCAPE_H

#include <stddef.h>

/* Escapes in[0..inlen) into out (always NUL-terminated when outlen > 0);
 * returns the length the whole result needs, like snprintf().  A result cut
 * to fit ends between units: never inside an escape (a lone backslash would
 * swallow a caller's closing quote) or a UTF-8 sequence. */
size_t pm_escape(char *out, size_t outlen, const char *in, size_t inlen);

/* The same for a line whose values are quoted and escaped already (a canonical
 * rule, a row or mirror-log line pm_escape() built in another process): '"'
 * and '\' are kept, so the line is not escaped twice; every other octet is
 * treated as pm_escape() does, so nothing in it can drive a terminal. */
size_t pm_escape_text(char *out, size_t outlen, const char *in, size_t inlen);

#endif
