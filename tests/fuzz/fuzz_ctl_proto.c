/*
 * fuzz_ctl_proto.c - libFuzzer target for the control server's request
 * parser (src/ctl/ctl_proto.c, ctl_registry.c, ctl_wire.c;
 * docs/control-protocol.md).
 *
 * The input is what a client sends.  It is cut into requests by
 * ctl_find_request() in a window of CTL_MAX_REQUEST bytes, as the server's
 * input buffer does, and each request goes through ctl_parse_request() twice,
 * for a session before and after mirror-enable, against a registry with the
 * built-in commands and visible and hidden test commands.  Properties:
 * - a request lies inside the window and its LF; no CR or LF is left in it;
 * - a matched command is visible to the session, its arguments lie inside the
 *   line, in order, argv[argc] is NULL;
 * - before mirror-enable, a request that names a hidden command is answered
 *   exactly like an unknown one (CTL_REQ_UNKNOWN), and an incomplete one lists
 *   no hidden word;
 * - mirror-enable's secret lies inside the line; a request that
 *   ctl_request_wants_json() (used for "request too long") is parsed as JSON;
 * - ctl_split_words(): words lie inside the line, in order, without overlap,
 *   an unquoted word holds no blank; ctl_quote_word() of the words, split
 *   again, gives the same words;
 * - a line that parses as a response header is rebuilt identically by
 *   ctl_frame_header() (the client side).
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

static int h_any(struct ctl_reply *r, int argc, char **argv, void *arg)
{
    return 0;
}

static struct ctl_registry *registry(void)
{
    static struct ctl_registry reg;
    static int ready;
    if (!ready) {
        static const struct {
            const char *words;
            unsigned flags;
        } cmds[] = {
            {"show things", 0},
            {"show version", 0},
            {"show mirror log", CTL_F_MIRROR},
            {"trap-host add <address> [port]", 0},
            {"no snmp secure-log", CTL_F_MIRROR},
            {"clear mirror log", CTL_F_MIRROR},
        };
        char err[256];
        CHECK(ctl_registry_init(&reg, err, sizeof err) == 0, "%s", err);
        for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
            CHECK(ctl_registry_add(&reg, cmds[i].words, cmds[i].flags, "x", h_any, NULL, CTL_B_NONE,
                                   err, sizeof err) == 0,
                  "%s", err);
        ready = 1;
    }
    return &reg;
}

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

static void check_words(const char *orig, size_t n)
{
    char *line = malloc(n + 1); /* exact size: ASan sees a read past the NUL */
    if (line == NULL)
        return;
    memcpy(line, orig, n + 1);
    size_t slen = strlen(line);
    char *argv[CTL_MAX_WORDS + 1];
    int argc = ctl_split_words(line, argv, CTL_MAX_WORDS);
    CHECK(argc >= -1 && argc <= CTL_MAX_WORDS, "argc %d", argc);
    const char *prev_end = line;
    for (int i = 0; i < argc; i++) {
        size_t wl = strlen(argv[i]);
        CHECK(argv[i] >= prev_end && argv[i] + wl <= line + slen, "word %d outside the line", i);
        prev_end = argv[i] + wl + 1;
        /* An unquoted word carries no blank; a quoted one starts with '"' in
         * the original at or after the word's own position. */
        if (strpbrk(argv[i], " \t\r\n") != NULL || wl == 0) {
            const char *q = memchr(orig + (argv[i] - line), '"', slen - (size_t)(argv[i] - line));
            CHECK(q != NULL, "word %d \"%s\" has a blank but was not quoted", i, argv[i]);
        }
    }
    if (argc > 0)
        check_roundtrip(argv, argc);
    free(line);
}

/* Parses a copy of orig (n bytes + NUL) for a session; returns the request kind. */
static enum ctl_req_kind parse(const char *orig, size_t n, int mirror, int *hidden_cmd, int *json)
{
    const struct ctl_registry *reg = registry();
    char *line = malloc(n + 1);
    if (line == NULL)
        return CTL_REQ_EMPTY;
    memcpy(line, orig, n + 1);
    size_t slen = strlen(line);
    struct ctl_request rq;
    ctl_parse_request(reg, mirror, line, &rq);
    *hidden_cmd = 0;
    switch (rq.kind) {
    case CTL_REQ_COMMAND:
        CHECK(rq.cmd != NULL && ctl_cmd_visible(rq.cmd, mirror), "invisible command matched");
        *hidden_cmd = (rq.cmd->flags & CTL_F_MIRROR) != 0;
        /* fall through */
    case CTL_REQ_PREFIX:
        CHECK(rq.argc >= 0 && rq.argv[rq.argc] == NULL, "argv not terminated");
        for (int i = 0; i < rq.argc; i++)
            CHECK(rq.argv[i] >= line && rq.argv[i] + strlen(rq.argv[i]) <= line + slen &&
                      (i == 0 || rq.argv[i] > rq.argv[i - 1]),
                  "argument %d outside the line or out of order", i);
        if (rq.kind == CTL_REQ_PREFIX) {
            struct sbuf next = {0};
            CHECK(ctl_registry_next_words(reg, mirror, rq.argc, rq.argv, &next) > 0,
                  "prefix without next words");
            sbuf_add(&next, "", 1);
            /* hidden words: "mirror" (show mirror log), "snmp", "clear" */
            if (!mirror && !next.oom)
                CHECK(strstr(next.p, ": one of: mirror") == NULL &&
                          strstr(next.p, "snmp") == NULL && strncmp(next.p, "clear", 5) != 0,
                      "hidden word listed: %s", next.p);
            sbuf_free(&next);
        }
        break;
    case CTL_REQ_ENABLE:
        CHECK(rq.secret != NULL && rq.secret >= line && rq.secret + rq.secret_len <= line + slen &&
                  strlen(rq.secret) == rq.secret_len,
              "secret outside the line");
        break;
    default:
        break;
    }
    enum ctl_req_kind k = rq.kind;
    *json = rq.json;
    free(line);
    return k;
}

/* One request of n bytes (without its LF and the one CR before it), as the server parses it. */
static void one_request(const uint8_t *p, size_t n)
{
    char *orig = malloc(n + 1);
    if (orig == NULL)
        return;
    memcpy(orig, p, n);
    orig[n] = '\0'; /* the server's line is a C string */
    CHECK(memchr(orig, '\n', n) == NULL, "LF inside a request");
    check_header(orig);
    check_words(orig, n);
    int hidden0, hidden1, json0, json1;
    enum ctl_req_kind k0 = parse(orig, n, 0, &hidden0, &json0);
    enum ctl_req_kind k1 = parse(orig, n, 1, &hidden1, &json1);
    CHECK(json0 == json1, "JSON depends on the session");
    if (ctl_request_wants_json(orig, n))
        CHECK(json0, "an @json request not parsed as JSON");
    CHECK(!hidden0, "hidden command matched before mirror-enable");
    if (hidden1)
        CHECK(k0 == CTL_REQ_UNKNOWN, "hidden command not answered like an unknown one (%d)",
              (int)k0);
    if (k0 == CTL_REQ_ENABLE || k1 == CTL_REQ_ENABLE)
        CHECK(k0 == k1, "mirror-enable depends on the session");
    free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off = 0;
    while (off < size) {
        size_t window = size - off < CTL_MAX_REQUEST ? size - off : CTL_MAX_REQUEST;
        size_t used = 0;
        long n = ctl_find_request((const char *)data + off, window, CTL_MAX_REQUEST, &used);
        if (n == CTL_LINE_MORE || n == CTL_LINE_TOO_LONG)
            return 0; /* the server waits, or says "request too long" and closes */
        CHECK(n >= 0 && used >= (size_t)n + 1 && used <= window && data[off + used - 1] == '\n',
              "request of %ld bytes, %zu used", n, used);
        /* exactly one CR before the LF is taken off (docs/control-protocol.md) */
        int cr = used >= 2 && data[off + used - 2] == '\r';
        CHECK(used == (size_t)n + 1 + (size_t)cr, "%zu used for a request of %ld", used, n);
        one_request(data + off, (size_t)n);
        off += used;
    }
    return 0;
}
