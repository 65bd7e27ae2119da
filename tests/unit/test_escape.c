/*
 * test_escape.c - pm_escape(): what a subscriber controls cannot drive a terminal.
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "pmirrord/escape.h"

static const char *esc(const char *in, size_t inlen)
{
    static char out[256];
    pm_escape(out, sizeof(out), in, inlen);
    return out;
}

int main(void)
{
    CHECK(strcmp(esc("alice", 5), "alice") == 0);
    CHECK(strcmp(esc("a\"b\\c", 5), "a\\\"b\\\\c") == 0);
    CHECK(strcmp(esc("x\x1b[2Jy", 6), "x\\x1b[2Jy") == 0);    /* ESC */
    CHECK(strcmp(esc("l1\nl2\r", 6), "l1\\x0al2\\x0d") == 0); /* no forged rows */
    CHECK(strcmp(esc("\x7f", 1), "\\x7f") == 0);
    CHECK(strcmp(esc("\xc2\x9b"
                     "1m",
                     4),
                 "\\xc2\\x9b1m") == 0);                       /* UTF-8 C1 CSI */
    CHECK(strcmp(esc("caf\xc3\xa9", 5), "caf\xc3\xa9") == 0); /* UTF-8 kept */
    CHECK(strcmp(esc("a\0b", 3), "a\\x00b") == 0);
    /* Bidi controls and invisible characters (UTF-8 of U+200B..U+200F, U+202A..U+202E,
     * U+2066..U+2069, and U+061C, U+2028/U+2029, U+2060..U+2064, U+FEFF): they reorder
     * or hide what the terminal shows ("Trojan Source", CVE-2021-42574). */
    static const struct {
        const char *in, *out;
    } inv[] = {
        {"\xe2\x80\x8b", "\\xe2\\x80\\x8b"}, /* U+200B zero width space */
        {"\xe2\x80\x8c", "\\xe2\\x80\\x8c"}, /* U+200C ZWNJ */
        {"\xe2\x80\x8d", "\\xe2\\x80\\x8d"}, /* U+200D ZWJ */
        {"\xe2\x80\x8e", "\\xe2\\x80\\x8e"}, /* U+200E LRM */
        {"\xe2\x80\x8f", "\\xe2\\x80\\x8f"}, /* U+200F RLM */
        {"\xe2\x80\xaa", "\\xe2\\x80\\xaa"}, /* U+202A LRE */
        {"\xe2\x80\xab", "\\xe2\\x80\\xab"}, /* U+202B RLE */
        {"\xe2\x80\xac", "\\xe2\\x80\\xac"}, /* U+202C PDF */
        {"\xe2\x80\xad", "\\xe2\\x80\\xad"}, /* U+202D LRO */
        {"\xe2\x80\xae", "\\xe2\\x80\\xae"}, /* U+202E RLO */
        {"\xe2\x81\xa6", "\\xe2\\x81\\xa6"}, /* U+2066 LRI */
        {"\xe2\x81\xa7", "\\xe2\\x81\\xa7"}, /* U+2067 RLI */
        {"\xe2\x81\xa8", "\\xe2\\x81\\xa8"}, /* U+2068 FSI */
        {"\xe2\x81\xa9", "\\xe2\\x81\\xa9"}, /* U+2069 PDI */
        {"\xd8\x9c", "\\xd8\\x9c"},          /* U+061C ALM */
        {"\xe2\x80\xa8", "\\xe2\\x80\\xa8"}, /* U+2028 line separator */
        {"\xe2\x80\xa9", "\\xe2\\x80\\xa9"}, /* U+2029 paragraph separator */
        {"\xe2\x81\xa0", "\\xe2\\x81\\xa0"}, /* U+2060 word joiner */
        {"\xe2\x81\xa4", "\\xe2\\x81\\xa4"}, /* U+2064 invisible plus */
        {"\xef\xbb\xbf", "\\xef\\xbb\\xbf"}, /* U+FEFF zero width no-break space */
        /* neighbours stay as they are */
        {"\xe2\x80\x8a", "\xe2\x80\x8a"}, /* U+200A hair space */
        {"\xe2\x80\x90", "\xe2\x80\x90"}, /* U+2010 hyphen */
        {"\xe2\x80\xa7", "\xe2\x80\xa7"}, /* U+2027 hyphenation point */
        {"\xe2\x80\xaf", "\xe2\x80\xaf"}, /* U+202F narrow no-break space */
        {"\xe2\x81\x9f", "\xe2\x81\x9f"}, /* U+205F medium mathematical space */
        {"\xe2\x81\xaa", "\xe2\x81\xaa"}, /* U+206A (deprecated format char, kept) */
        {"\xd8\x9b", "\xd8\x9b"},         /* U+061B Arabic semicolon */
        {"\xef\xbb\xbe", "\xef\xbb\xbe"}, /* U+FEFE */
        /* an incomplete sequence is not UTF-8: escaped byte by byte */
        {"\xe2\x80", "\\xe2\\x80"},
    };
    for (size_t i = 0; i < sizeof(inv) / sizeof(inv[0]); i++) {
        char in[16], want[64];
        snprintf(in, sizeof(in), "a%sb", inv[i].in);
        snprintf(want, sizeof(want), "a%sb", inv[i].out);
        if (strcmp(esc(in, strlen(in)), want) != 0)
            fprintf(stderr, "#%zu: got \"%s\" want \"%s\"\n", i, esc(in, strlen(in)), want);
        CHECK(strcmp(esc(in, strlen(in)), want) == 0);
    }
    /* Bytes that are not part of well-formed UTF-8 (RFC 3629): each one escaped */
    static const struct {
        const char *in, *out;
    } bad[] = {
        {"\x9b", "\\x9b"}, /* raw 8-bit CSI */
        {"\x9b"
         "31m",
         "\\x9b"
         "31m"},                                      /* ... with its parameters */
        {"\x85", "\\x85"},                            /* raw NEL */
        {"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
        {"\xc1\x9b", "\\xc1\\x9b"},                   /* overlong ESC-like */
        {"\xe0\x80\x9b", "\\xe0\\x80\\x9b"},          /* overlong 3-byte */
        {"\xf0\x80\x80\x9b", "\\xf0\\x80\\x80\\x9b"}, /* overlong 4-byte */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* U+D800 surrogate */
        {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},          /* U+DFFF surrogate */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* U+110000 */
        {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"}, /* lead byte 0xf5 */
        {"\xff", "\\xff"},
        {"\xc3", "\\xc3"}, /* truncated at the end */
        {"\xc3"
         "A",
         "\\xc3"
         "A"}, /* lead without continuation */
        {"\xe2\x80"
         "A",
         "\\xe2\\x80"
         "A"},
        {"\xa9", "\\xa9"}, /* lone continuation */
        /* C1 controls U+0080..U+009F in UTF-8, all of them */
        {"\xc2\x80", "\\xc2\\x80"},
        {"\xc2\x85", "\\xc2\\x85"},
        {"\xc2\x9f", "\\xc2\\x9f"},
        /* well-formed neighbours are kept */
        {"\xc2\xa0", "\xc2\xa0"},                 /* U+00A0 */
        {"\xed\x9f\xbf", "\xed\x9f\xbf"},         /* U+D7FF */
        {"\xee\x80\x80", "\xee\x80\x80"},         /* U+E000 */
        {"\xe0\xa0\x80", "\xe0\xa0\x80"},         /* U+0800 */
        {"\xf0\x90\x80\x80", "\xf0\x90\x80\x80"}, /* U+10000 */
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"}, /* U+10FFFF */
        {"\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"}, /* U+1F600 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char in[16], want[64];
        snprintf(in, sizeof(in), "a%sb", bad[i].in);
        snprintf(want, sizeof(want), "a%sb", bad[i].out);
        if (strcmp(esc(in, strlen(in)), want) != 0)
            fprintf(stderr, "bad #%zu: got \"%s\" want \"%s\"\n", i, esc(in, strlen(in)), want);
        CHECK(strcmp(esc(in, strlen(in)), want) == 0);
    }
    /* RLO inside a name: shown escaped, never reversed */
    CHECK(strcmp(esc("x\xe2\x80\xaetxt.exe", 11), "x\\xe2\\x80\\xaetxt.exe") == 0);
    /* truncation: NUL-terminated, returns the full length */
    char small[4];
    CHECK(pm_escape(small, sizeof(small), "\x1b\x1b", 2) == 8);
    CHECK(strlen(small) == 0); /* never half an escape */
    /* ... nor a lone backslash that would swallow a caller's closing quote */
    CHECK(pm_escape(small, sizeof(small), "ab\"c", 4) == 5 && strcmp(small, "ab") == 0);
    CHECK(pm_escape(small, sizeof(small),
                    "a\xc3\xa9"
                    "b",
                    4) == 4 &&
          strcmp(small, "a\xc3\xa9") == 0);
    CHECK(pm_escape(small, sizeof(small), "ab\xc3\xa9", 4) == 4 && strcmp(small, "ab") == 0);
    CHECK(pm_escape(small, sizeof(small), "abc", 3) == 3 && strcmp(small, "abc") == 0);
    CHECK(pm_escape(small, 0, "abc", 3) == 3);

    /* pm_escape_text: a line pm_escape() already quoted is not escaped twice, but
     * controls, bidi and broken UTF-8 still are */
    char t[128];
    const char *line = "* active user=\"a \\\"b\" intercepts=1";
    pm_escape_text(t, sizeof(t), line, strlen(line));
    CHECK(strcmp(t, line) == 0);
    pm_escape_text(t, sizeof(t), "u=\"\x1b[2J\xe2\x80\xae\xff\"", 12);
    CHECK(strcmp(t, "u=\"\\x1b[2J\\xe2\\x80\\xae\\xff\"") == 0);
    return 0;
}
