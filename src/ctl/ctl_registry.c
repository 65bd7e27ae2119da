/*
 * ctl_registry.c - the control server's commands: registration, matching,
 * help and completion lists (see ctl_registry.h, docs/control-protocol.md).
 */
#include "ctl_registry.h"

#include <stdlib.h>
#include <string.h>

#include "pmirrord/errbuf.h"

int ctl_registry_add(struct ctl_registry *reg, const char *spec, unsigned flags, const char *help,
                     ctl_cmd_fn fn, void *arg, enum ctl_builtin b, char *err, size_t errlen)
{
    if (reg->ncmds == CTL_MAX_COMMANDS)
        return pm_err(err, errlen, "too many control commands");
    struct ctl_cmd c = {0};
    c.spec = strdup(spec);
    c.wbuf = strdup(spec);
    c.help = strdup(help ? help : "");
    if (!c.spec || !c.wbuf || !c.help)
        goto oom;
    char *argv[CTL_MAX_WORDS];
    int n = ctl_split_words(c.wbuf, argv, CTL_MAX_WORDS);
    if (n <= 0) {
        pm_err(err, errlen, "control command \"%s\": no words or too many", spec);
        goto fail;
    }
    for (int i = 0; i < n && argv[i][0] != '<' && argv[i][0] != '['; i++)
        c.words[c.nwords++] = argv[i];
    /* "[last <n> | from <seq>]" allows 2 words, "<address>" 1, "[options...]" any number */
    int alt = 0;
    for (int i = c.nwords; i < n && c.max_args >= 0; i++) {
        if (strstr(argv[i], "...") != NULL) {
            c.max_args = -1;
        } else if (strcmp(argv[i], "|") == 0) {
            c.max_args = alt > c.max_args ? alt : c.max_args;
            alt = 0;
        } else {
            alt++;
        }
    }
    if (c.max_args >= 0 && alt > c.max_args)
        c.max_args = alt;
    if (c.nwords == 0 || (b == CTL_B_NONE && fn == NULL)) {
        pm_err(err, errlen, "control command \"%s\": no literal word or no handler", spec);
        goto fail;
    }
    for (size_t i = 0; i < reg->ncmds; i++) {
        struct ctl_cmd *o = &reg->cmds[i];
        int same = o->nwords == c.nwords;
        for (int k = 0; same && k < c.nwords; k++)
            same = strcmp(o->words[k], c.words[k]) == 0;
        if (same) {
            pm_err(err, errlen, "control command \"%s\" already exists", spec);
            goto fail;
        }
    }
    struct ctl_cmd *nc = realloc(reg->cmds, (reg->ncmds + 1) * sizeof *nc);
    if (nc == NULL)
        goto oom;
    reg->cmds = nc;
    c.flags = flags;
    c.fn = fn;
    c.arg = arg;
    c.builtin = b;
    reg->cmds[reg->ncmds++] = c;
    return 0;
oom:
    pm_err(err, errlen, "out of memory");
fail:
    free(c.spec);
    free(c.wbuf);
    free(c.help);
    return -1;
}

int ctl_registry_init(struct ctl_registry *reg, char *err, size_t errlen)
{
    static const struct {
        const char *spec, *help;
        unsigned flags;
        enum ctl_builtin b;
    } builtins[] = {
        {"help [command]", "List the commands available now", 0, CTL_B_HELP},
        {"exit", "Close this control session", 0, CTL_B_EXIT},
        {"quit", "Close this control session", 0, CTL_B_QUIT},
        {"mirror-enable", "Unlock the mirror commands for this session (prompts for the secret)", 0,
         CTL_B_ENABLE},
        {"mirror-disable", "Lock the mirror commands again", CTL_F_MIRROR, CTL_B_MDISABLE},
        {"disable", "Lock the mirror commands again", CTL_F_MIRROR, CTL_B_DISABLE},
    };
    memset(reg, 0, sizeof *reg);
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (ctl_registry_add(reg, builtins[i].spec, builtins[i].flags, builtins[i].help, NULL, NULL,
                             builtins[i].b, err, errlen) < 0) {
            ctl_registry_free(reg);
            return -1;
        }
    }
    return 0;
}

void ctl_registry_free(struct ctl_registry *reg)
{
    for (size_t i = 0; i < reg->ncmds; i++) {
        free(reg->cmds[i].spec);
        free(reg->cmds[i].wbuf);
        free(reg->cmds[i].help);
    }
    free(reg->cmds);
    memset(reg, 0, sizeof *reg);
}

int ctl_cmd_visible(const struct ctl_cmd *cmd, int mirror)
{
    return !(cmd->flags & CTL_F_MIRROR) || mirror;
}

const struct ctl_cmd *ctl_registry_match(const struct ctl_registry *reg, int mirror, int argc,
                                         char *const *argv)
{
    const struct ctl_cmd *best = NULL;
    for (size_t i = 0; i < reg->ncmds; i++) {
        const struct ctl_cmd *cmd = &reg->cmds[i];
        if (cmd->nwords > argc || !ctl_cmd_visible(cmd, mirror) ||
            (best && best->nwords >= cmd->nwords))
            continue;
        int k = 0;
        while (k < cmd->nwords && strcmp(cmd->words[k], argv[k]) == 0)
            k++;
        if (k == cmd->nwords)
            best = cmd;
    }
    return best;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t ctl_registry_next_words(const struct ctl_registry *reg, int mirror, int argc,
                               char *const *argv, struct sbuf *out)
{
    const char *next[CTL_MAX_COMMANDS];
    size_t n = 0;
    for (size_t i = 0; i < reg->ncmds; i++) {
        const struct ctl_cmd *cmd = &reg->cmds[i];
        int ok = ctl_cmd_visible(cmd, mirror) && cmd->nwords > argc;
        for (int k = 0; ok && k < argc; k++)
            ok = strcmp(cmd->words[k], argv[k]) == 0;
        if (ok)
            next[n++] = cmd->words[argc];
    }
    if (n == 0)
        return 0;
    qsort(next, n, sizeof next[0], by_str);
    for (int k = 0; k < argc; k++)
        sbuf_printf(out, "%s%s", k ? " " : "", argv[k]);
    sbuf_addstr(out, ": one of: ");
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(next[i], next[i - 1]) == 0)
            continue;
        sbuf_printf(out, "%s%s", distinct ? ", " : "", next[i]);
        distinct++;
    }
    return distinct;
}

static int by_spec(const void *a, const void *b)
{
    return strcmp((*(const struct ctl_cmd *const *)a)->spec,
                  (*(const struct ctl_cmd *const *)b)->spec);
}

int ctl_registry_help(const struct ctl_registry *reg, int mirror, int json, int argc,
                      char *const *argv, int meta, struct sbuf *out)
{
    const struct ctl_cmd *list[CTL_MAX_COMMANDS];
    size_t n = 0;
    for (size_t i = 0; i < reg->ncmds; i++) {
        const struct ctl_cmd *cmd = &reg->cmds[i];
        int ok = ctl_cmd_visible(cmd, mirror) && argc <= cmd->nwords;
        for (int k = 0; ok && k < argc; k++)
            ok = k + 1 < argc ? strcmp(cmd->words[k], argv[k]) == 0
                              : strncmp(cmd->words[k], argv[k], strlen(argv[k])) == 0;
        if (ok)
            list[n++] = cmd;
    }
    if (n == 0)
        return -1;
    qsort(list, n, sizeof list[0], by_spec);
    if (meta) {
        /* @commands: literal words only, one command a line, for completion */
        for (size_t i = 0; i < n; i++) {
            for (int k = 0; k < list[i]->nwords; k++)
                sbuf_printf(out, "%s%s", k ? " " : "", list[i]->words[k]);
            sbuf_add(out, "\n", 1);
        }
        return 0;
    }
    struct ctl_reply r;
    ctl_reply_init(&r, json);
    if (json) {
        ctl_reply_table(&r, "commands", "command", "help", (char *)NULL);
        for (size_t i = 0; i < n; i++)
            ctl_reply_row(&r, list[i]->spec, list[i]->help, (char *)NULL);
    } else {
        size_t w = 0;
        for (size_t i = 0; i < n; i++)
            w = strlen(list[i]->spec) > w ? strlen(list[i]->spec) : w;
        for (size_t i = 0; i < n; i++)
            ctl_reply_printf(&r, "  %-*s  %s\n", (int)w, list[i]->spec, list[i]->help);
    }
    ctl_reply_render(&r, "ok", out);
    ctl_reply_clear(&r);
    return 0;
}
