/*
 * test_escape.c - pm_escape(): what a subscriber controls cannot drive a terminal.
 */
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
    /* truncation: NUL-terminated, returns the full length */
    char small[4];
    CHECK(pm_escape(small, sizeof(small), "\x1b\x1b", 2) == 8);
    CHECK(strlen(small) == 3);
    return 0;
}
