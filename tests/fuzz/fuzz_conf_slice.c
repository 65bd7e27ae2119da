/*
 * fuzz_conf_slice.c - libFuzzer target for a child's receive path of a
 * reload slice (src/config/conf_slice.c: conf_slice_rec() with running lines
 * set, the SAME records resolved by SHA-256, then conf_slice_load()).
 *
 * The running slice is fixed: six lines, agent and capture directives (one
 * with a passphrase).  The input is a list of CONFIG records, each:
 *   byte 0   flags: bit 0 BEGIN, 1 END, 2 SAME (the others mapped to 0x0080,
 *            a flag no CONFIG carries)
 *   byte 1   key: an index into a small table (directives of either process,
 *            "reload", "file", "end", "mirror-ports", unknown)
 *   byte 2   line number (0..255)
 *   byte 3   value: with SAME and bit 7 clear, the digest of running line
 *            (byte & 7) in hex (6, 7: of no line); else a length N, and the
 *            next N octets are the value (no NUL)
 * The receiver's destination (agent or capture) is the first input byte's
 * bit 0.  Properties: no crash; conf_slice_rec() answers 1 at most once;
 * once complete, every line held is either a record's own value or the text
 * of a running line, its directive is the destination's, line numbers only
 * grow, SAME lines counted are at most the lines; conf_slice_load() either
 * parses or fails with "fuzz.conf:LINE:" naming a line the slice holds or 0.
 */
#include "pmirrord/conf.h"
#include "pmirrord/conf_slice.h"
#include "pmirrord/ipc.h"
#include "pmirrord/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_conf_slice: property failed: %s: ", #cond);                      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define NAME "fuzz.conf"

static const char *const running_lines[] = {
    "agentXSocket /tmp/fuzz-agentx",
    "trapHost 127.0.0.1 user u auth SHA-256 fuzz-passphrase-1 priv AES fuzz-passphrase-2",
    "eventQueueSize 64",
    "capture pcap:/tmp/fuzz.pcap",
    "signallingLatency 25",
    "trapEnable true",
};
#define NRUN (sizeof(running_lines) / sizeof(running_lines[0]))

static const char *const keys[] = {
    "reload",
    "file",
    "end",
    "trapHost",
    "eventQueueSize",
    "capture",
    "signallingLatency",
    "agentXSocket",
    "trapEnable",
    "mirror",
    "no",
    "mirror-ports",
    "bogus",
    "CAPTURE",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static struct conf_slice *running[2];

static void quiet_sink(int prio, const char *token, const char *msg, void *arg)
{
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    log_set_sink(quiet_sink, NULL);
    for (int d = 0; d < 2; d++) {
        running[d] = conf_slice_new();
        unsigned dest = d == 0 ? CONF_DEST_AGENT : CONF_DEST_CAPTURE;
        uint32_t no = 1;
        for (size_t i = 0; i < NRUN; i++) {
            char key[32];
            sscanf(running_lines[i], "%31s", key);
            if (conf_directive_dest(key) & dest)
                CHECK(conf_slice_add(running[d], no++, running_lines[i], strlen(running_lines[i]),
                                     err, sizeof(err)) == 0,
                      "%s", err);
        }
    }
    return 0;
}

/* Is text one of the running lines, or one of the values the input sent? */
static int known_text(const char *text, char (*sent)[IPC_CONFIG_MAX + 1], size_t nsent)
{
    for (size_t i = 0; i < NRUN; i++)
        if (strcmp(text, running_lines[i]) == 0)
            return 1;
    for (size_t i = 0; i < nsent; i++)
        if (strcmp(text, sent[i]) == 0)
            return 1;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct ipc_rec rec;
    static char sent[64][IPC_CONFIG_MAX + 1];
    size_t nsent = 0;
    char err[512];
    if (size < 1)
        return 0;
    int d = data[0] & 1;
    unsigned dest = d == 0 ? CONF_DEST_AGENT : CONF_DEST_CAPTURE;
    struct conf_slice *s = conf_slice_new();
    conf_slice_set_dest(s, dest);
    conf_slice_set_running(s, running[d]);
    size_t at = 1;
    int done = 0, failed = 0;
    while (at + 4 <= size && !failed && nsent < 64) {
        const uint8_t *h = data + at;
        at += 4;
        memset(&rec, 0, sizeof(rec));
        rec.type = IPC_CONFIG;
        rec.flags = (uint16_t)((h[0] & 1 ? IPC_F_BEGIN : 0) | (h[0] & 2 ? IPC_F_END : 0) |
                               (h[0] & 4 ? IPC_F_SAME : 0) | (h[0] & 8 ? 0x0080 : 0));
        snprintf(rec.u.config.key, sizeof(rec.u.config.key), "%s", keys[h[1] % NKEYS]);
        rec.u.config.line = h[2];
        if ((rec.flags & IPC_F_SAME) && !(h[3] & 0x80)) {
            uint8_t dg[CONF_DIGEST_LEN];
            unsigned k = h[3] & 7;
            const char *t = k < NRUN ? running_lines[k] : "no such line";
            conf_line_digest(t, strlen(t), dg);
            conf_digest_hex(dg, rec.u.config.value);
        } else {
            size_t n = h[3] & 0x7f;
            if (n > size - at)
                n = size - at;
            size_t w = 0;
            for (size_t i = 0; i < n; i++)
                if (data[at + i] != '\0')
                    rec.u.config.value[w++] = (char)data[at + i];
            rec.u.config.value[w] = '\0';
            at += n;
        }
        snprintf(sent[nsent++], sizeof(sent[0]), "%s", rec.u.config.value);
        int r = conf_slice_rec(s, &rec, err, sizeof(err));
        if (r < 0)
            failed = 1;
        else if (r == 1) {
            CHECK(!done, "END answered twice");
            done = 1;
        }
    }
    if (done && !failed) {
        CHECK(conf_slice_complete(s), "complete");
        CHECK(conf_slice_same(s) <= conf_slice_lines(s), "same %zu > lines %zu", conf_slice_same(s),
              conf_slice_lines(s));
        uint32_t last = 0, no;
        const char *text;
        size_t len;
        for (size_t i = 0; (no = conf_slice_line_at(s, i, &text, &len)) != 0; i++) {
            CHECK(strlen(text) == len, "length");
            CHECK(no > last, "line %u after %u", no, last);
            last = no;
            CHECK(known_text(text, sent, nsent), "a line from nowhere");
            char key[64] = "";
            sscanf(text, " %63s", key);
            CHECK(conf_directive_dest(key) & dest, "another process's line: %s", key);
        }
        struct pm_conf c;
        if (conf_slice_load(s, NULL, &c, err, sizeof(err)) == 0)
            conf_free(&c);
        else
            CHECK(strncmp(err, NAME ":", strlen(NAME) + 1) == 0 || strstr(err, ": ") != NULL,
                  "error without the name: %s", err);
    }
    conf_slice_free(s);
    return 0;
}
