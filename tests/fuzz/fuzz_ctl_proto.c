/*
 * fuzz_ctl_proto.c - libFuzzer target for the control-protocol parser
 * (src/ctl/ctl_proto.c; docs/control-protocol.md).
 *
 * The input is what a client sends: it is cut into request lines the way
 * ctl_server.c's service() does (LF ends a request, a CR before it is
 * dropped, a line that does not fit CTL_MAX_REQUEST is refused), and each
 * line goes through ctl_split_words() in a buffer of its exact size.  The
 * same lines are also read as response headers (ctl_frame_parse_header(),
 * the client side).  Properties:
 * - words lie inside the line, in order, without overlap, and an unquoted
 *   word holds no blank;
 * - ctl_quote_word() of the words, split again, gives the same words;
 * - a header that parses is rebuilt identically by ctl_frame_header().
 */
#include "ctl/ctl_proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_ctl_proto: property failed: %s: ", #cond);                       \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_roundtrip(char **argv, int argc)
{
    char line[CTL_MAX_REQUEST] = "";
    for (int i = 0; i < argc; i++)
        if (ctl_quote_word(line, sizeof(line), argv[i]) < 0)
            return; /* does not fit: nothing to compare */
    CHECK(strlen(line) < sizeof(line), "quoted line not terminated");
    char *again[CTL_MAX_WORDS];
    int n = ctl_split_words(line, again, CTL_MAX_WORDS);
    CHECK(n == argc, "%d words quoted, %d read back from \"%s\"", argc, n, line);
    for (int i = 0; i < argc; i++)
        CHECK(strcmp(again[i], argv[i]) == 0, "word %d \"%s\" read back as \"%s\"", i, argv[i],
              again[i]);
}

static void check_header(const char *line)
{
    enum ctl_status st;
    size_t len;
    if (ctl_frame_parse_header(line, &st, &len) < 0)
        return;
    CHECK((int)st >= CTL_ST_HELLO && st <= CTL_ST_BYE, "status %d", (int)st);
    CHECK(len <= CTL_MAX_RESPONSE, "length %zu", len);
    char hdr[CTL_MAX_HEADER];
    size_t n = ctl_frame_header(hdr, st, len);
    CHECK(n > 0 && n < CTL_MAX_HEADER && hdr[n - 1] == '\n', "header \"%s\"", hdr);
    enum ctl_status st2;
    size_t len2;
    CHECK(ctl_frame_parse_header(hdr, &st2, &len2) == 0 && st2 == st && len2 == len,
          "\"%s\" does not parse back", hdr);
}

/* One request line of n bytes (no LF), as service() hands it to handle_line(). */
static void one_request(const uint8_t *p, size_t n)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    char *line = malloc(n + 1); /* exact size: ASan sees a read past the NUL */
    char *orig = malloc(n + 1);
    if (line == NULL || orig == NULL) {
        free(line);
        free(orig);
        return;
    }
    memcpy(line, p, n);
    line[n] = '\0';
    memcpy(orig, line, n + 1);
    check_header(orig);

    size_t slen = strlen(line); /* the server's line is a C string */
    char *argv[CTL_MAX_WORDS + 1];
    int argc = ctl_split_words(line, argv, CTL_MAX_WORDS);
    CHECK(argc >= -1 && argc <= CTL_MAX_WORDS, "argc %d", argc);
    if (argc > 0) {
        const char *prev_end = line;
        for (int i = 0; i < argc; i++) {
            size_t wl = strlen(argv[i]);
            CHECK(argv[i] >= prev_end && argv[i] + wl <= line + slen, "word %d outside the line",
                  i);
            prev_end = argv[i] + wl + 1;
            /* An unquoted word carries no blank; a quoted one starts with '"'
             * in the original at or after the word's own position. */
            if (strpbrk(argv[i], " \t\r\n") != NULL || wl == 0) {
                const char *q =
                    memchr(orig + (argv[i] - line), '"', slen - (size_t)(argv[i] - line));
                CHECK(q != NULL, "word %d \"%s\" has a blank but was not quoted", i, argv[i]);
            }
        }
        check_roundtrip(argv, argc);
    }
    free(line);
    free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t n = nl ? (size_t)(nl - (data + off)) : size - off;
        if (n + 1 > CTL_MAX_REQUEST)
            return 0; /* "request too long": the server closes */
        one_request(data + off, n);
        off += n + 1;
    }
    return 0;
}
