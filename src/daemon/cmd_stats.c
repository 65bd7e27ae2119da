/*
 * cmd_stats.c - the mirroring rows of `show mirror statistics [page N]`
 * (commands.c prints the channel and process counters before them): one
 * row per intercept, then one per analyzer, as the capture process keeps
 * them (LIST_REQ list "statistics", docs/ipc-protocol.md; the row formats
 * are in docs/jmirror.md, "Loss evidence").  The rows name mirror IDs and
 * analyzers: the command is CTL_F_MIRROR, hidden before mirror-enable.
 */
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config/conf_lex.h"
#include "pmirrord/ctl_server.h"
#include "pmirrord/escape.h"

#define STATS_WAIT_MS 1000 /* the control thread waits: shorter than a listing of sessions */
#define STATS_PAGE    50   /* rows of at most 511 octets (MS_ROW_MAX): a page fits one LIST_PAGE */

int pm_stats_page_arg(struct ctl_reply *r, int argc, char **argv, unsigned long *page)
{
    *page = 1;
    if (argc == 0)
        return 0;
    if (strcasecmp(argv[0], "page") == 0) {
        if (argc != 2 || conf_uint(argv[1], 1, 1000000, page) < 0) {
            ctl_reply_error(r, "show mirror statistics: page is a number from 1");
            return -1;
        }
        return 0;
    }
    char word[4 * 64 + 1];
    pm_escape(word, sizeof(word), argv[0], strnlen(argv[0], 64));
    ctl_reply_error(r, "show mirror statistics: unexpected word \"%s%s\"", word,
                    strlen(argv[0]) > 64 ? "..." : "");
    return -1;
}

void pm_stats_rows(struct ctl_reply *r, const struct pm_commands_ctx *ctx, unsigned long page)
{
    char err[300];
    if (ctx->list == NULL) {
        ctl_reply_kv(r, "mirroring_error|Mirroring statistics", "%s",
                     "no capture process: this daemon does not run one");
        return;
    }
    struct pm_list_out *out = calloc(1, sizeof(*out));
    if (out == NULL) {
        ctl_reply_kv(r, "mirroring_error|Mirroring statistics", "%s", "out of memory");
        return;
    }
    int rc = ctx->list("statistics", "", (uint32_t)((page - 1) * STATS_PAGE), STATS_PAGE,
                       STATS_WAIT_MS, out, err, sizeof(err), ctx->agent_arg);
    if (rc < 0) {
        /* the counters above are still worth showing */
        ctl_reply_kv(r, "mirroring_error|Mirroring statistics", "%s", err);
    } else {
        if (out->has_count)
            ctl_reply_kv_int(r, "mirroring_entries|Intercept and analyzer entries",
                             (long long)out->count);
        ctl_reply_kv_int(r, "mirroring_page|Mirroring page", (long long)page);
        ctl_reply_kv_bool(r, "mirroring_more|More mirroring pages", out->more, "true", "false");
        ctl_reply_table(r, "mirroring", "row|Intercepts and analyzers", (char *)NULL);
        for (size_t i = 0; i < out->nrows && i < IPC_ROWS_MAX; i++) {
            char esc[4 * IPC_ROW_MAX + 1];
            /* another process's text: made terminal-safe */
            pm_escape_text(esc, sizeof(esc), out->rows[i], strnlen(out->rows[i], IPC_ROW_MAX));
            ctl_reply_row(r, esc, (char *)NULL);
            OPENSSL_cleanse(esc, sizeof(esc));
        }
    }
    OPENSSL_cleanse(out, sizeof(*out));
    free(out);
}
